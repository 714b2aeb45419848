// The run page's artifacts tab: the run's artifact tree (MLflow's artifacts/list, folders expanded
// lazily, arrow keys move through it) and a preview of the selected file (&path= in the URL):
// text, JSON and YAML, images, CSV/TSV/Parquet tables (read on the server by nbtrack's
// artifacts/table, first rows only), HTML in a sandbox without scripts, the MLmodel file with its
// signature as tables, notebooks as cells, and a download link for every file (the server's /get-artifact).

import { formatValue, h, MISSING } from "../../views/common";
import { columns, WireFrame } from "../../wire";
import { empty, errorBox, loading } from "../page";
import { markdown } from "./run-markdown";
import { artifactUrl, downloadLink, fetchArtifact, formatBytes, RunState, TabRenderer } from "./run-common";

export const TEXT_LIMIT = 2 * 1024 * 1024; // bytes shown as text, JSON, YAML or HTML
export const IMAGE_LIMIT = 20 * 1024 * 1024;
const TABLE_ROWS = 100;
const NOTEBOOK_LIMIT = 10 * 1024 * 1024; // notebooks carry their images
const MAX_CELLS = 300;
const MAX_LISTED = 500; // entries of one folder in the tree
const IMAGES = new Set(["png", "jpg", "jpeg", "gif", "svg", "webp", "bmp", "ico"]);
const TABLES = new Set(["csv", "tsv", "parquet", "pq"]);

type Kind = "mlmodel" | "image" | "json" | "yaml" | "html" | "table" | "notebook" | "text";

export function kindOf(path: string): Kind {
  const name = path.split("/").pop() ?? "";
  if (name === "MLmodel") return "mlmodel";
  const ext = name.includes(".") ? name.split(".").pop()!.toLowerCase() : "";
  if (IMAGES.has(ext)) return "image";
  if (TABLES.has(ext)) return "table";
  if (ext === "json") return "json";
  if (ext === "ipynb") return "notebook";
  if (ext === "yaml" || ext === "yml") return "yaml";
  if (ext === "html" || ext === "htm") return "html";
  return "text";
}

interface FileInfo {
  path: string;
  is_dir: boolean;
  file_size?: number;
}

// -- the MLmodel file ------------------------------------------------------------------------------
/** A field of a top-level YAML mapping as PyYAML writes MLmodel (`signature:\n  inputs: '[...]'`),
 *  single-quoted scalars folded over lines included; null when absent or null. */
export function yamlField(text: string, section: string, field: string): string | null {
  const lines = text.split(/\r?\n/);
  let i = lines.indexOf(`${section}:`);
  if (i < 0) return null;
  for (i++; i < lines.length && /^\s/.test(lines[i]); i++) {
    const m = /^ {2}([\w-]+):\s?(.*)$/.exec(lines[i]);
    if (!m || m[1] !== field) continue;
    const v = m[2].trim();
    if (!v.startsWith("'")) return v === "" || v === "null" || v === "~" ? null : v;
    let acc = v.slice(1);
    const closed = (s: string): boolean => {
      const q = /'+$/.exec(s.trimEnd());
      return !!q && q[0].length % 2 === 1;
    };
    for (let j = i + 1; !closed(acc) && j < lines.length; j++) acc += " " + lines[j].trim();
    return acc.trimEnd().replace(/'$/, "").replace(/''/g, "'");
  }
  return null;
}

/** The flavors of an MLmodel file (the keys under `flavors:`). */
export function flavorsOf(text: string): string[] {
  const lines = text.split(/\r?\n/);
  const out: string[] = [];
  let i = lines.indexOf("flavors:");
  if (i < 0) return out;
  for (i++; i < lines.length && /^\s/.test(lines[i]); i++) {
    const m = /^ {2}([\w.-]+):/.exec(lines[i]);
    if (m) out.push(m[1]);
  }
  return out;
}

function signatureTable(title: string, json: string | null, cls: string): HTMLElement {
  if (!json) return h("div", { class: `nbt-rp-muted ${cls}` }, `${title}: none`);
  let specs: any[];
  try {
    specs = JSON.parse(json);
  } catch {
    return h("div", { class: cls }, `${title}: `, h("code", {}, json));
  }
  if (!Array.isArray(specs)) specs = [specs];
  const typeOf = (s: any): string => {
    if (s.type === "tensor") return `tensor ${s["tensor-spec"]?.dtype ?? ""} ${JSON.stringify(s["tensor-spec"]?.shape ?? [])}`;
    if (s.type === "array") return `array<${s.items?.type ?? "?"}>`;
    return String(s.type ?? MISSING);
  };
  return h(
    "div",
    { class: cls },
    h("h3", {}, title),
    h(
      "table",
      { class: "nbt-app-list nbt-rp-signature" },
      h("thead", {}, h("tr", {}, h("th", {}, "Name"), h("th", {}, "Type"), h("th", {}, "Required"))),
      h("tbody", {}, ...specs.map((s, i) => h("tr", {}, h("td", {}, s.name ?? `[${i}]`), h("td", {}, h("code", {}, typeOf(s))), h("td", {}, s.required === false ? "no" : "yes")))),
    ),
  );
}

function mlmodelView(text: string): HTMLElement {
  const flavors = flavorsOf(text);
  const hasSignature = text.split(/\r?\n/).includes("signature:");
  return h(
    "div",
    { class: "nbt-rp-mlmodel" },
    h("div", {}, "Flavors: ", flavors.length ? flavors.map((f, i) => [i ? ", " : "", h("code", {}, f)]) : MISSING),
    hasSignature
      ? h("div", { class: "nbt-rp-signature-box" }, signatureTable("Inputs", yamlField(text, "signature", "inputs"), "nbt-rp-signature-inputs"), signatureTable("Outputs", yamlField(text, "signature", "outputs"), "nbt-rp-signature-outputs"), yamlField(text, "signature", "params") ? signatureTable("Params", yamlField(text, "signature", "params"), "nbt-rp-signature-params") : null)
      : h("div", { class: "nbt-rp-muted" }, "No signature: log the model with an input_example or signature= to record one."),
    h("details", {}, h("summary", {}, "The MLmodel file"), h("pre", { class: "nbt-rp-code" }, text)),
  );
}

// -- notebooks ---------------------------------------------------------------------------------------
const joined = (v: unknown): string => (Array.isArray(v) ? v.join("") : typeof v === "string" ? v : "");

/** A notebook drawn as cells: markdown (the description renderer), code with its execution count,
 *  and its outputs as text or PNG/JPEG images. HTML outputs show their text form (no markup runs). */
export function notebookView(nb: any): HTMLElement {
  const cells: any[] = Array.isArray(nb?.cells) ? nb.cells : [];
  const kernel = nb?.metadata?.kernelspec?.display_name ?? nb?.metadata?.language_info?.name ?? "";
  const out = h("div", { class: "nbt-rp-notebook" }, h("div", { class: "nbt-rp-muted nbt-rp-table-note" }, `Notebook · ${cells.length} cell${cells.length === 1 ? "" : "s"}${kernel ? ` · ${kernel}` : ""}${cells.length > MAX_CELLS ? ` (first ${MAX_CELLS} shown)` : ""}`));
  for (const cell of cells.slice(0, MAX_CELLS)) {
    const source = joined(cell.source);
    if (cell.cell_type === "markdown") {
      out.append(h("div", { class: "nbt-rp-nb-cell nbt-rp-nb-markdown" }, markdown(source)));
      continue;
    }
    const box = h("div", { class: `nbt-rp-nb-cell nbt-rp-nb-${cell.cell_type === "code" ? "code" : "raw"}` });
    const count = cell.cell_type === "code" ? `[${cell.execution_count ?? " "}]` : "";
    box.append(h("div", { class: "nbt-rp-nb-prompt" }, count), h("pre", { class: "nbt-rp-code" }, h("code", {}, source)));
    for (const o of Array.isArray(cell.outputs) ? cell.outputs : []) {
      const data = o.data ?? {};
      let node: Node | null = null;
      if (o.output_type === "stream") node = h("pre", { class: `nbt-rp-nb-output${o.name === "stderr" ? " nbt-rp-nb-stderr" : ""}` }, joined(o.text));
      else if (o.output_type === "error") node = h("pre", { class: "nbt-rp-nb-output nbt-rp-nb-stderr" }, `${o.ename}: ${o.evalue}`);
      else if (typeof data["image/png"] === "string" || typeof data["image/jpeg"] === "string") {
        const type = typeof data["image/png"] === "string" ? "image/png" : "image/jpeg";
        node = h("img", { class: "nbt-rp-nb-image", alt: "cell output", src: `data:${type};base64,${String(data[type]).replace(/\s/g, "")}` });
      } else if (data["text/plain"] !== undefined) node = h("pre", { class: "nbt-rp-nb-output" }, joined(data["text/plain"]));
      if (node) box.append(node);
    }
    out.append(box);
  }
  return out;
}

// -- previews ----------------------------------------------------------------------------------------
function yamlView(text: string): HTMLElement {
  const pre = h("pre", { class: "nbt-rp-code nbt-rp-yaml" });
  for (const line of text.split("\n")) {
    const m = /^(\s*(?:- )?)([^\s#:'"][^:#]*?)(:)(\s|$)(.*)$/.exec(line);
    if (/^\s*#/.test(line)) pre.append(h("span", { class: "nbt-rp-yaml-comment" }, line), "\n");
    else if (m) pre.append(m[1], h("span", { class: "nbt-rp-yaml-key" }, m[2]), m[3] + m[4] + m[5], "\n");
    else pre.append(line, "\n");
  }
  return pre;
}

function tableView(res: any): HTMLElement {
  const frame: WireFrame = res.frame;
  const cols = columns(frame);
  const n = frame.columns.length ? cols[frame.columns[0]].length : 0;
  const total = res.total_rows === null || res.total_rows === undefined ? null : Number(res.total_rows);
  const what = `${res.format.toUpperCase()} · ${total === null ? (res.truncated ? `first ${n} rows` : `${n} rows`) : n < total ? `first ${n} of ${total.toLocaleString()} rows` : `${n} rows`} · ${res.columns} column${res.columns === 1 ? "" : "s"}${res.columns > frame.columns.length ? ` (first ${frame.columns.length} shown)` : ""}`;
  const body = h("tbody");
  const numeric = frame.dtypes.map((d) => /^(u?int|float)/.test(d));
  for (let r = 0; r < n; r++) body.append(h("tr", {}, ...frame.columns.map((c, i) => h("td", { class: numeric[i] ? "nbt-rp-num-cell" : null }, formatValue(cols[c][r], 6)))));
  return h(
    "div",
    {},
    h("div", { class: "nbt-rp-muted nbt-rp-table-note" }, what),
    h("div", { class: "nbt-rp-table-scroll" }, h("table", { class: "nbt-app-list nbt-rp-preview-table" }, h("thead", {}, h("tr", {}, ...frame.columns.map((c, i) => h("th", { title: frame.dtypes[i], class: numeric[i] ? "nbt-rp-num-cell" : null }, c)))), body)),
  );
}


const CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:";

/** An HTML artifact made inert before the sandbox (sandbox="" already stops scripts, forms and
 *  same-origin): parsed where nothing loads (DOMParser), scripts, frames and external resources
 *  dropped (a preload scanner may fetch before a <meta> CSP applies), then a CSP on top. */
export function inertHtml(text: string): string {
  const doc = new DOMParser().parseFromString(text, "text/html");
  doc.querySelectorAll("script, iframe, frame, object, embed, base, link, meta[http-equiv]").forEach((e) => e.remove());
  for (const el of doc.querySelectorAll("[src], [srcset], [poster], [background], [data]")) {
    for (const attr of ["src", "srcset", "poster", "background", "data"]) {
      const v = el.getAttribute(attr);
      if (v !== null && !/^data:/i.test(v.trim())) el.removeAttribute(attr);
    }
  }
  const inert = (css: string): string => css.replace(/@import[^;]*;?/gi, "").replace(/url\(\s*(?!['"]?\s*data:)[^)]*\)/gi, "none");
  for (const st of doc.querySelectorAll("style")) st.textContent = inert(st.textContent ?? "");
  for (const el of doc.querySelectorAll<HTMLElement>("[style]")) el.setAttribute("style", inert(el.getAttribute("style") ?? ""));
  const meta = doc.createElement("meta");
  meta.httpEquiv = "Content-Security-Policy";
  meta.content = CSP;
  doc.head.prepend(meta);
  return `<!doctype html>${doc.documentElement.outerHTML}`;
}

async function preview(state: RunState, file: FileInfo, url: string, revoke: (() => void)[]): Promise<HTMLElement> {
  const kind = kindOf(file.path);
  const size = file.file_size ?? 0;
  if (kind === "table") {
    const res = await state.api.request<any>("POST", "2.0/nbtrack/artifacts/table", { run_id: state.run.info.run_id, path: file.path, limit: TABLE_ROWS });
    return tableView(res);
  }
  const limit = kind === "image" ? IMAGE_LIMIT : kind === "notebook" ? NOTEBOOK_LIMIT : TEXT_LIMIT;
  if (size > limit) return empty("Too large to preview", `${formatBytes(size)} is over the preview limit of ${formatBytes(limit)}: download the file instead.`);
  if (kind === "image") {
    // the bytes through the API's fetch (its token, if any), shown from a blob: URL freed with the preview
    const blob = await (await fetchArtifact(state.api, url)).blob();
    const typed = file.path.toLowerCase().endsWith(".svg") ? new Blob([blob], { type: "image/svg+xml" }) : blob;
    const src = URL.createObjectURL(typed);
    revoke.push(() => URL.revokeObjectURL(src));
    return h("div", { class: "nbt-rp-image" }, h("img", { src, alt: file.path, class: "nbt-rp-image-img" }));
  }
  const text = await (await fetchArtifact(state.api, url)).text();
  if (kind === "mlmodel") return mlmodelView(text);
  if (kind === "notebook") {
    try {
      return notebookView(JSON.parse(text));
    } catch {
      return h("div", {}, h("div", { class: "nbt-rp-muted" }, "Not a notebook nbtrack can read; shown as text."), h("pre", { class: "nbt-rp-code" }, text));
    }
  }
  if (kind === "html") {
    return h("div", {}, h("iframe", { class: "nbt-rp-html", sandbox: "", srcdoc: inertHtml(text), title: `${file.path} (HTML, scripts off)` }), h("div", { class: "nbt-rp-muted" }, "Scripts and network requests are off in this preview; download the file to open it in full."));
  }
  if (kind === "yaml") return yamlView(text);
  if (kind === "json") {
    try {
      return h("pre", { class: "nbt-rp-code nbt-rp-json" }, JSON.stringify(JSON.parse(text), null, 2));
    } catch {
      return h("div", {}, h("div", { class: "nbt-rp-muted" }, "Not valid JSON; shown as text."), h("pre", { class: "nbt-rp-code" }, text));
    }
  }
  if (text.slice(0, 8000).includes("\u0000")) return empty("Binary file", "nbtrack has no preview of this file type: download it.");
  return h("pre", { class: "nbt-rp-code nbt-rp-text" }, text);
}

// -- the tab -------------------------------------------------------------------------------------
export const renderArtifacts: TabRenderer = (el, state, query, ctx) => {
  const runId: string = state.run.info.run_id;
  const tree = h("ul", { class: "nbt-rp-tree", role: "tree", "aria-label": "Artifacts" });
  const pane = h("div", { class: "nbt-rp-preview" });
  const layout = h("div", { class: "nbt-rp-artifacts" }, h("div", { class: "nbt-rp-tree-box" }, tree), pane);
  el.append(loading("Listing the artifacts…"));
  let disposed = false;
  let generation = 0;
  const files = new Map<string, FileInfo>();
  const revoke: (() => void)[] = [];
  const freeBlobs = (): void => {
    for (const r of revoke.splice(0)) r();
  };
  const nodes = new Map<string, { li: HTMLElement; button: HTMLButtonElement; children?: HTMLElement; loaded: boolean; pending?: Promise<void> }>();

  const list = async (path: string): Promise<FileInfo[]> => {
    const res = await state.api.mlflow("GET", "artifacts/list", { run_id: runId, path: path || undefined });
    const out: FileInfo[] = res.files ?? [];
    // folders first, then by name
    return out.sort((a, b) => Number(b.is_dir) - Number(a.is_dir) || a.path.localeCompare(b.path));
  };

  const item = (f: FileInfo, depth: number): HTMLElement => {
    files.set(f.path, f);
    const name = f.path.split("/").pop() ?? f.path;
    const button = h(
      "button",
      { type: "button", class: `nbt-rp-tree-item ${f.is_dir ? "nbt-rp-tree-dir" : "nbt-rp-tree-file"}`, "data-path": f.path, style: { paddingLeft: `${6 + depth * 14}px` }, tabindex: "-1" },
      h("span", { class: "nbt-rp-tree-caret", "aria-hidden": "true" }, f.is_dir ? "\u25b8" : ""),
      h("span", { class: "nbt-rp-tree-name" }, name),
      f.is_dir ? null : h("span", { class: "nbt-rp-tree-size" }, formatBytes(f.file_size)),
    );
    const li = h("li", { role: "treeitem", "aria-expanded": f.is_dir ? "false" : null, "aria-selected": "false" }, button);
    const node = { li, button, loaded: false, children: undefined as HTMLElement | undefined, pending: undefined as Promise<void> | undefined };
    nodes.set(f.path, node);
    button.addEventListener("click", () => (f.is_dir ? void toggle(f.path) : select(f.path, true)));
    return li;
  };

  const fill = (ul: HTMLElement, fs: FileInfo[], depth: number): void => {
    ul.replaceChildren(...fs.slice(0, MAX_LISTED).map((f) => item(f, depth)));
    if (!fs.length) ul.append(h("li", { class: "nbt-rp-muted nbt-rp-tree-empty", role: "none" }, "(empty folder)"));
    if (fs.length > MAX_LISTED) ul.append(h("li", { class: "nbt-rp-muted nbt-rp-tree-empty", role: "none" }, `${(fs.length - MAX_LISTED).toLocaleString()} more not listed: download the run's artifacts to see them all.`));
  };

  const expand = async (path: string, open: boolean): Promise<void> => {
    const node = nodes.get(path);
    if (!node) return;
    if (open && !node.loaded) {
      if (node.pending) return node.pending; // a second click while the folder is listed
      node.children?.remove(); // a listing that failed before: try again
      const ul = h("ul", { role: "group" }, h("li", { class: "nbt-rp-muted", role: "none" }, "…"));
      node.children = ul;
      node.li.append(ul);
      node.pending = list(path).then(
        (fs) => {
          fill(ul, fs, path.split("/").length);
          node.loaded = true;
        },
        (e) => void ul.replaceChildren(h("li", { role: "none" }, errorBox(e))),
      );
      await node.pending;
      node.pending = undefined;
    }
    if (node.children) node.children.hidden = !open;
    node.li.setAttribute("aria-expanded", String(open));
    node.button.querySelector(".nbt-rp-tree-caret")!.textContent = open ? "\u25be" : "\u25b8";
  };
  const toggle = (path: string): Promise<void> => expand(path, nodes.get(path)?.li.getAttribute("aria-expanded") !== "true");

  const select = (path: string, fromClick: boolean): void => {
    const f = files.get(path);
    if (!f || f.is_dir) return;
    if (fromClick) ctx.setQuery({ path });
    for (const [p, n] of nodes) {
      const on = p === path;
      n.li.setAttribute("aria-selected", String(on));
      n.button.classList.toggle("nbt-active", on);
      n.button.tabIndex = on ? 0 : -1;
    }
    const mine = ++generation;
    const url = artifactUrl(state.api, runId, path);
    const name = path.split("/").pop() ?? path;
    const body = h("div", { class: "nbt-rp-preview-body" }, loading("Reading the file…"));
    pane.replaceChildren(
      h(
        "div",
        { class: "nbt-rp-preview-head" },
        h("code", { class: "nbt-rp-preview-path" }, path),
        h("span", { class: "nbt-rp-muted" }, formatBytes(f.file_size)),
        h("span", { class: "nbt-app-spacer" }),
        downloadLink(state.api, url, name),
      ),
      body,
    );
    freeBlobs();
    preview(state, f, url, revoke)
      .then((node) => mine === generation && !disposed && body.replaceChildren(node))
      .catch((e) => mine === generation && !disposed && body.replaceChildren(errorBox(e)));
  };

  // the tree's keys: up/down/Home/End move, right opens a folder, left closes it or goes to the parent
  tree.addEventListener("keydown", (e) => {
    const items = [...tree.querySelectorAll<HTMLButtonElement>(".nbt-rp-tree-item")].filter((b) => b.offsetParent !== null);
    const i = items.indexOf(document.activeElement as HTMLButtonElement);
    if (i < 0) return;
    const path = items[i].dataset.path!;
    const isDir = files.get(path)?.is_dir;
    const open = nodes.get(path)?.li.getAttribute("aria-expanded") === "true";
    const parent = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : null;
    let next: number | null = null;
    if (e.key === "ArrowDown") next = Math.min(items.length - 1, i + 1);
    else if (e.key === "ArrowUp") next = Math.max(0, i - 1);
    else if (e.key === "Home") next = 0;
    else if (e.key === "End") next = items.length - 1;
    else if (e.key === "ArrowRight" && isDir) void expand(path, true);
    else if (e.key === "ArrowLeft" && isDir && open) void expand(path, false);
    else if (e.key === "ArrowLeft" && parent !== null) next = items.findIndex((b) => b.dataset.path === parent); // to the folder
    else return;
    e.preventDefault();
    if (next !== null) items[next].focus();
  });

  (async () => {
    const top = await list("");
    if (disposed) return;
    if (!top.length) {
      el.replaceChildren(empty("No artifacts", "Log files from the run with ", h("code", {}, "nbtrack.log_artifact(path)"), ", ", h("code", {}, "log_text"), ", ", h("code", {}, "log_figure"), " or a model's ", h("code", {}, "log_model"), "."));
      return;
    }
    fill(tree, top, 0);
    el.replaceChildren(layout);
    const hint = h("div", { class: "nbt-app-empty" }, h("div", { class: "nbt-app-empty-hint" }, "Select a file to preview it (arrow keys move in the tree)."));
    const want = query.get("path");
    if (want) {
      const parts = want.split("/");
      for (let i = 1; i < parts.length; i++) await expand(parts.slice(0, i).join("/"), true);
      const f = files.get(want);
      if (f && !f.is_dir) select(want, false);
      else if (f) {
        await expand(want, true);
        pane.replaceChildren(hint);
      } else pane.replaceChildren(errorBox(`No artifact ${want} in this run.`));
    } else {
      pane.replaceChildren(hint);
    }
    const first = tree.querySelector<HTMLButtonElement>(".nbt-rp-tree-item.nbt-active") ?? tree.querySelector<HTMLButtonElement>(".nbt-rp-tree-item");
    if (first) first.tabIndex = 0;
  })().catch((e) => !disposed && el.replaceChildren(errorBox(e)));

  return {
    dispose() {
      disposed = true;
      freeBlobs();
    },
  };
};
