// What the run page's tabs share: the run as the REST API returned it, and small formatters.

import { Api } from "../../api";
import { h } from "../../views/common";
import { Page, PageContext } from "../page";

export interface RunState {
  api: Api;
  /** runs/get's `run`: {info, data: {metrics, params, tags}, inputs} */
  run: any;
  experiment: any | null;
  /** called after refresh() read the run again (rename, tag edits, live status) */
  listeners: Set<() => void>;
  refresh(): Promise<void>;
}

export type TabRenderer = (el: HTMLElement, state: RunState, query: URLSearchParams, ctx: PageContext) => Page;

export function tagsOf(run: any): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of run?.data?.tags ?? []) out[t.key] = t.value;
  return out;
}

export function statusBadge(status: string): HTMLElement {
  return h("span", { class: `nbt-rp-status nbt-rp-status-${String(status).toLowerCase()}`, "data-status": status }, status === "RUNNING" ? "\u25cf running" : String(status).toLowerCase());
}

export function formatTime(ms: number | null | undefined): string {
  if (!ms) return "\u2014";
  const d = new Date(Number(ms));
  const pad = (n: number): string => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function formatDuration(ms: number): string {
  if (!(ms >= 0)) return "\u2014";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s - m * 60)} s`;
  const hours = Math.floor(m / 60);
  return `${hours} h ${m - hours * 60} min`;
}

export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return "";
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(2)} GB`;
}

/** The download URL of a run artifact: the server's `/get-artifact` (MLflow's UI route), which
 *  reads the run's folder wherever it is (the mlflow-artifacts proxy serves one folder only). */
export function artifactUrl(api: Api, runId: string, path: string): string {
  const root = api.options.base.replace(/\/$/, "").replace(/\/api$/, "");
  return `${root}/get-artifact?run_id=${encodeURIComponent(runId)}&path=${encodeURIComponent(path)}`;
}

/** GET an artifact's bytes as the app's API calls go: with its headers (a server started with
 *  `--auth token` wants the bearer token, which an <img> or <a> cannot send). */
export async function fetchArtifact(api: Api, url: string): Promise<Response> {
  const f = api.options.fetch ?? fetch;
  const r = await f(url, { headers: { ...(api.options.headers ?? {}) }, credentials: "same-origin" });
  if (!r.ok) throw new Error(`the download answered HTTP ${r.status}`);
  return r;
}

/** Whether the API sends a header of its own (a token) that plain links would not. */
export function needsHeaders(api: Api): boolean {
  return Object.keys(api.options.headers ?? {}).some((k) => k.toLowerCase() === "authorization");
}

/** A download link: a plain link, or, when the API needs its token, one that fetches the file first. */
export function downloadLink(api: Api, url: string, name: string): HTMLAnchorElement {
  const a = h("a", { href: url, download: name, class: "nbt-rp-download" }, "Download");
  a.addEventListener("click", async (e) => {
    if (!needsHeaders(api)) return;
    e.preventDefault();
    const blob = await (await fetchArtifact(api, url)).blob();
    const objectUrl = URL.createObjectURL(blob);
    const tmp = h("a", { href: objectUrl, download: name });
    document.body.append(tmp);
    tmp.click();
    tmp.remove();
    setTimeout(() => URL.revokeObjectURL(objectUrl), 60_000);
  });
  return a;
}

/** The web page of a commit on GitHub, GitLab or Bitbucket, from the run's repoURL tag; null elsewhere. */
export function commitUrl(repoUrl: string | undefined, commit: string): string | null {
  if (!repoUrl || !/^[0-9a-f]{7,40}$/i.test(commit)) return null;
  const m = /^(?:https?:\/\/(?:[^@/]+@)?|ssh:\/\/git@|git@)(github\.com|gitlab\.com|bitbucket\.org)[:/]([\w.-]+\/[\w.-]+?)(?:\.git)?\/?$/.exec(repoUrl.trim());
  if (!m) return null;
  return `https://${m[1]}/${m[2]}/${m[1] === "bitbucket.org" ? "commits" : m[1] === "gitlab.com" ? "-/commit" : "commit"}/${commit}`;
}

/** A small button that copies `text` and says so. */
export function copyButton(text: () => string, what: string): HTMLButtonElement {
  const b = h("button", { type: "button", class: "nbt-rp-copy", title: `Copy ${what}`, "aria-label": `Copy ${what}` }, "Copy");
  b.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(text());
      b.textContent = "Copied";
    } catch {
      b.textContent = "Copy failed"; // no clipboard (an http:// page other than localhost)
    }
    setTimeout(() => (b.textContent = "Copy"), 1500);
  });
  return b;
}

/** A section of a tab: a heading and its content. */
export function section(title: string, cls: string, ...content: (Node | string | null)[]): HTMLElement {
  return h("section", { class: `nbt-rp-section ${cls}` }, h("h2", {}, title), ...content);
}
