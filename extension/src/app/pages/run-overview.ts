// The run page's overview tab: what the run is (status, times, experiment, user, source notebook,
// git commit, parent and children), its description (MLflow's mlflow.note.content tag, edited in
// place), params, latest metrics (system/ metrics apart), tags (set and deleted here; mlflow.* and
// nbtrack.* system tags apart), dataset inputs, logged models and the %%track cell's source.

import { formatValue, h, MISSING } from "../../views/common";
import { errorBox, link } from "../page";
import { noteEditor } from "../note";
import { pathOf } from "../router";
import { artifactUrl, commitUrl, copyButton, fetchArtifact, formatDuration, formatTime, RunState, section, statusBadge, tagsOf, TabRenderer } from "./run-common";

const NOTE = "mlflow.note.content";
const CELL_SOURCE = "cell/source.py"; // nbtrack/notebook/_extension.py SOURCE_ARTIFACT
const isSystemTag = (k: string): boolean => k.startsWith("mlflow.") || k.startsWith("nbtrack.");

function kvTable(cls: string, rows: [string, Node | string][], keyHead = "Key", valueHead = "Value"): HTMLElement {
  return h(
    "table",
    { class: `nbt-app-list nbt-rp-kv ${cls}` },
    h("thead", {}, h("tr", {}, h("th", {}, keyHead), h("th", {}, valueHead))),
    h("tbody", {}, ...rows.map(([k, v]) => h("tr", { "data-key": k }, h("td", { class: "nbt-rp-key" }, k), h("td", { class: "nbt-rp-value" }, v)))),
  );
}

function gitCommit(tags: Record<string, string>): HTMLElement {
  const sha = tags["mlflow.source.git.commit"];
  const code = h("code", { title: sha }, sha.slice(0, 12));
  const url = commitUrl(tags["mlflow.source.git.repoURL"], sha);
  return url ? h("a", { href: url, target: "_blank", rel: "noopener noreferrer", class: "nbt-rp-commit-link" }, code) : code;
}

function about(state: RunState): HTMLElement {
  const { info } = state.run;
  const tags = tagsOf(state.run);
  const end = info.end_time ? Number(info.end_time) : info.status === "RUNNING" ? Date.now() : null;
  const rows: [string, Node | string | null][] = [
    ["Status", statusBadge(info.status)],
    ["Run id", h("span", { class: "nbt-rp-id" }, h("code", {}, info.run_id), copyButton(() => info.run_id, "the run id"))],
    ["Experiment", h("a", { href: link(`/experiments/${encodeURIComponent(info.experiment_id)}`) }, state.experiment?.name ?? info.experiment_id)],
    ["User", info.user_id || tags["mlflow.user"] || MISSING],
    ["Started", formatTime(info.start_time)],
    ["Ended", info.end_time ? formatTime(info.end_time) : info.status === "RUNNING" ? "still running" : MISSING],
    ["Duration", end && info.start_time ? formatDuration(end - Number(info.start_time)) + (info.status === "RUNNING" ? " so far" : "") : MISSING],
    ["Source", tags["mlflow.source.name"] ? h("span", { class: "nbt-rp-source" }, h("code", {}, tags["mlflow.source.name"]), tags["mlflow.source.type"] ? ` (${tags["mlflow.source.type"].toLowerCase()})` : "", tags["nbtrack.execution_count"] ? `, cell [${tags["nbtrack.execution_count"]}]` : "") : null],
    ["Git commit", tags["mlflow.source.git.commit"] ? h("span", { class: "nbt-rp-git" }, gitCommit(tags), tags["mlflow.source.git.branch"] ? ` on ${tags["mlflow.source.git.branch"]}` : "", tags["nbtrack.git.dirty"] === "true" ? " (uncommitted changes)" : "") : null],
    ["Parent run", tags["mlflow.parentRunId"] ? h("a", { href: link(`/runs/${encodeURIComponent(tags["mlflow.parentRunId"])}`), class: "nbt-rp-parent" }, tags["mlflow.parentRunId"]) : null],
    ["Lifecycle", info.lifecycle_stage === "deleted" ? "deleted" : null],
  ];
  return kvTable("nbt-rp-about", rows.filter((r): r is [string, Node | string] => r[1] !== null), "", "");
}

function description(state: RunState): HTMLElement {
  return noteEditor({
    cls: "nbt-rp-description",
    text: () => tagsOf(state.run)[NOTE] ?? "",
    save: async (text) => {
      await state.api.mlflow("POST", "runs/set-tag", { run_id: state.run.info.run_id, key: NOTE, value: text });
      await state.refresh();
    },
    empty: "No description yet. Markdown works: **bold**, `code`, lists, links.",
  });
}

function metricsTables(state: RunState, chartLink: (key: string) => string): HTMLElement {
  const metrics: any[] = [...(state.run.data?.metrics ?? [])].sort((a, b) => a.key.localeCompare(b.key));
  // runs/get's latest metrics carry no step of nbtrack's (RunData keeps values): the value only
  const row = (m: any): [string, Node] => [m.key, h("span", { class: "nbt-rp-metric-value" }, h("span", { class: "nbt-rp-num", title: String(m.value) }, formatValue(m.value, 6)), h("a", { href: chartLink(m.key), class: "nbt-rp-chart-link", title: `Chart ${m.key}` }, "chart"))];
  const user = metrics.filter((m) => !m.key.startsWith("system/"));
  const system = metrics.filter((m) => m.key.startsWith("system/"));
  const box = h("div", {});
  box.append(user.length ? kvTable("nbt-rp-metrics", user.map(row), "Metric", "Latest value") : h("div", { class: "nbt-rp-muted" }, "No metrics logged."));
  if (system.length) box.append(h("details", { class: "nbt-rp-system-metrics" }, h("summary", {}, `System metrics (${system.length})`), kvTable("nbt-rp-system-metrics-table", system.map(row), "Metric", "Latest value")));
  return box;
}

function params(state: RunState): HTMLElement {
  const ps: any[] = [...(state.run.data?.params ?? [])].sort((a, b) => a.key.localeCompare(b.key));
  if (!ps.length) return h("div", { class: "nbt-rp-muted" }, "No params logged.");
  return kvTable("nbt-rp-params", ps.map((p) => [p.key, h("span", { class: "nbt-rp-wrap" }, p.value)]), "Param", "Value");
}

function tagsSection(state: RunState): HTMLElement {
  const box = h("div", { class: "nbt-rp-tags" });
  const table = h("div");
  const err = h("div");
  const runId = state.run.info.run_id;
  const drawTable = (): void => {
    const tags = tagsOf(state.run);
    const keys = Object.keys(tags).sort();
    const user = keys.filter((k) => !isSystemTag(k));
    const system = keys.filter((k) => isSystemTag(k) && k !== NOTE);
    const edit = (k: string, v: string): HTMLElement =>
      h("button", {
        type: "button", class: "nbt-rp-tag-edit", title: `Change the tag ${k}`, "aria-label": `Change the tag ${k}`,
        onclick: () => {
          key.value = k;
          value.value = v;
          value.focus();
          value.select();
        },
      }, "\u270e");
    const del = (k: string): HTMLElement =>
      h("button", {
        type: "button", class: "nbt-rp-tag-delete", title: `Delete the tag ${k}`, "aria-label": `Delete the tag ${k}`,
        onclick: async (e: Event) => {
          (e.currentTarget as HTMLButtonElement).disabled = true;
          try {
            await state.api.mlflow("POST", "runs/delete-tag", { run_id: runId, key: k });
            await state.refresh();
            err.textContent = "";
          } catch (x) {
            err.replaceChildren(errorBox(x));
          }
        },
      }, "\u00d7");
    keepOpen(table, () => table.replaceChildren(
      user.length
        ? kvTable("nbt-rp-user-tags", user.map((k) => [k, h("span", { class: "nbt-rp-tag-value" }, h("span", { class: "nbt-rp-wrap" }, tags[k]), h("span", { class: "nbt-rp-tag-actions" }, edit(k, tags[k]), del(k)))]), "Tag", "Value")
        : h("div", { class: "nbt-rp-muted" }, "No tags. Add one below."),
      system.length
        ? h("details", { class: "nbt-rp-system-tags" }, h("summary", {}, `System tags (${system.length})`), kvTable("nbt-rp-system-tags-table", system.map((k) => [k, h("span", { class: "nbt-rp-wrap" }, tags[k])]), "Tag", "Value"))
        : "",
    ));
  };
  const key = h("input", { type: "text", class: "nbt-rp-tag-key", placeholder: "key", "aria-label": "Tag key", required: true });
  const value = h("input", { type: "text", class: "nbt-rp-tag-value-input", placeholder: "value", "aria-label": "Tag value" });
  const add = h("button", { type: "submit", class: "nbt-rp-tag-add" }, "Set tag");
  const form = h("form", { class: "nbt-app-toolbar nbt-rp-tag-form" }, key, value, add);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (!key.value.trim()) return;
    add.disabled = true;
    try {
      await state.api.mlflow("POST", "runs/set-tag", { run_id: runId, key: key.value.trim(), value: value.value });
      await state.refresh();
      key.value = value.value = "";
      err.textContent = "";
    } catch (x) {
      err.replaceChildren(errorBox(x));
    } finally {
      add.disabled = false;
    }
  });
  state.listeners.add(drawTable);
  drawTable();
  box.append(table, form, err);
  return box;
}

function children(state: RunState): HTMLElement {
  const box = h("div", { class: "nbt-rp-children" }, h("span", { class: "nbt-rp-muted" }, "Looking for child runs…"));
  const { run_id, experiment_id } = state.run.info;
  state.api
    .mlflow("POST", "runs/search", { experiment_ids: [experiment_id], filter: `tags.mlflow.parentRunId = '${run_id}'`, max_results: 200, order_by: ["attributes.start_time ASC"] })
    .then((res) => {
      const runs: any[] = res.runs ?? [];
      box.replaceChildren(
        runs.length
          ? h("ul", { class: "nbt-rp-children-list" }, ...runs.map((r) => h("li", {}, h("a", { href: link(`/runs/${encodeURIComponent(r.info.run_id)}`) }, r.info.run_name || r.info.run_id), " ", statusBadge(r.info.status))))
          : h("span", { class: "nbt-rp-muted" }, "No child runs (runs started with nested=True inside this one)."),
        runs.length ? h("a", { class: "nbt-rp-compare-children", href: link(pathOf("/compare", {}, { runs: [run_id, ...runs.slice(0, 49).map((r) => r.info.run_id)].join(",") })) }, `Compare this run and its ${runs.length > 49 ? "first 49 " : ""}child run${runs.length === 1 ? "" : "s"}`) : "",
      );
    })
    .catch((e) => box.replaceChildren(errorBox(e)));
  return box;
}

const clip = (text: string, n: number): string => (text.length > n ? `${text.slice(0, n - 1)}\u2026` : text);

function datasets(state: RunState): HTMLElement | null {
  const inputs: any[] = state.run.inputs?.dataset_inputs ?? [];
  if (!inputs.length) return null;
  return h(
    "table",
    { class: "nbt-app-list nbt-rp-datasets" },
    h("thead", {}, h("tr", {}, h("th", {}, "Dataset"), h("th", {}, "Context"), h("th", {}, "Digest"), h("th", {}, "Source"))),
    h("tbody", {}, ...inputs.map((d) => {
      const context = (d.tags ?? []).find((t: any) => t.key === "mlflow.data.context")?.value ?? MISSING;
      return h("tr", {}, h("td", {}, d.dataset?.name ?? MISSING), h("td", {}, context), h("td", {}, h("code", {}, d.dataset?.digest ?? "")), h("td", { class: "nbt-rp-wrap", title: d.dataset?.source ?? "" }, clip(`${d.dataset?.source_type ?? ""} ${d.dataset?.source ?? ""}`, 120)));
    })),
  );
}

function loggedModels(state: RunState, slot: HTMLElement): void {
  const { run_id, experiment_id } = state.run.info;
  state.api
    .mlflow("POST", "logged-models/search", { experiment_ids: [experiment_id], filter: `source_run_id = '${run_id}'`, max_results: 50 })
    .then((res) => {
      const models: any[] = res.models ?? [];
      if (!models.length) return;
      slot.replaceWith(section("Logged models", "nbt-rp-models-section", h("ul", { class: "nbt-rp-models" }, ...models.map((m) => h("li", {}, h("b", {}, m.info?.name ?? MISSING), " ", h("code", {}, m.info?.model_id ?? ""), m.info?.status ? h("span", { class: "nbt-rp-muted" }, ` ${String(m.info.status).toLowerCase().replace(/^logged_model_/, "").replace(/_/g, " ")}`) : null)))));
    })
    .catch((e) => console.warn("nbtrack: no logged models", e)); // optional: the section stays hidden
}

function registered(state: RunState, slot: HTMLElement): void {
  const runId = state.run.info.run_id;
  state.api
    .mlflow("GET", "model-versions/search", { filter: `run_id = '${runId}'`, max_results: 100 })
    .then((res) => {
      const versions: any[] = res.model_versions ?? [];
      if (!versions.length) return;
      slot.replaceWith(section("Registered as", "nbt-rp-registered-section", h("ul", { class: "nbt-rp-registered" }, ...versions.map((v) =>
        h("li", {}, h("a", { href: link(pathOf("/models/:name/versions/:version", { name: v.name, version: String(v.version) })) }, `${v.name} version ${v.version}`),
          v.current_stage && v.current_stage !== "None" ? h("span", { class: "nbt-rp-muted" }, ` ${v.current_stage}`) : null,
          (v.aliases ?? []).length ? h("span", { class: "nbt-rp-muted" }, ` @${v.aliases.join(", @")}`) : null)))));
    })
    .catch((e) => console.warn("nbtrack: no model versions", e)); // optional: the section stays hidden
}

function cellSource(state: RunState, slot: HTMLElement): void {
  const runId = state.run.info.run_id;
  state.api
    .mlflow("GET", "artifacts/list", { run_id: runId, path: "cell" })
    .then(async (res) => {
      if (!(res.files ?? []).some((f: any) => f.path === CELL_SOURCE)) return;
      const text = await (await fetchArtifact(state.api, artifactUrl(state.api, runId, CELL_SOURCE))).text();
      slot.replaceWith(section("Cell source", "nbt-rp-cell-section", h("div", { class: "nbt-rp-muted" }, "The notebook cell that ran this run (", h("code", {}, "%%track"), "), saved as the artifact ", h("code", {}, CELL_SOURCE), "."), h("div", { class: "nbt-rp-code-box" }, copyButton(() => text, "the cell source"), h("pre", { class: "nbt-rp-code nbt-rp-cell-source" }, h("code", {}, text)))));
    })
    .catch((e) => slot.replaceWith(section("Cell source", "nbt-rp-cell-section", errorBox(e))));
}

/** Replace a slot's content, keeping its <details> open or closed as the user left them. */
function keepOpen(slot: HTMLElement, draw: () => void): void {
  const open = [...slot.querySelectorAll("details")].map((d) => d.open);
  draw();
  slot.querySelectorAll("details").forEach((d, i) => (d.open = open[i] ?? d.open));
}

export const renderOverview: TabRenderer = (el, state) => {
  const before = new Set(state.listeners);
  const chartLink = (key: string): string => link(pathOf("/runs/:runId", { runId: state.run.info.run_id }, { tab: "charts", filter: key }));
  const aboutSlot = h("div", {}, about(state));
  const metricsSlot = h("div", {}, metricsTables(state, chartLink));
  const paramsSlot = h("div", {}, params(state));
  const keyFilter = h("input", { type: "search", class: "nbt-rp-key-filter", placeholder: "Filter params and metrics", "aria-label": "Filter params and metrics by key" });
  const filterKeys = (): void => {
    const words = keyFilter.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
    for (const tr of el.querySelectorAll<HTMLElement>(".nbt-rp-params tbody tr, .nbt-rp-metrics tbody tr, .nbt-rp-system-metrics-table tbody tr")) {
      tr.hidden = !words.every((w) => (tr.dataset.key ?? "").toLowerCase().includes(w));
    }
  };
  keyFilter.addEventListener("input", filterKeys);
  const many = (state.run.data?.params?.length ?? 0) + (state.run.data?.metrics?.length ?? 0) > 20;
  const modelsSlot = h("div", { hidden: true });
  const registeredSlot = h("div", { hidden: true });
  const cellSlot = h("div", { hidden: true });
  const ds = datasets(state);
  el.append(
    h(
      "div",
      { class: "nbt-rp-overview" },
      h(
        "div",
        { class: "nbt-rp-col" },
        section("About", "nbt-rp-about-section", aboutSlot),
        section("Description", "nbt-rp-description-section", description(state)),
        many ? h("div", { class: "nbt-app-toolbar" }, keyFilter) : null,
        section("Params", "nbt-rp-params-section", paramsSlot),
        section("Metrics", "nbt-rp-metrics-section", metricsSlot),
      ),
      h(
        "div",
        { class: "nbt-rp-col" },
        section("Tags", "nbt-rp-tags-section", tagsSection(state)),
        section("Child runs", "nbt-rp-children-section", children(state)),
        ds ? section("Dataset inputs", "nbt-rp-datasets-section", ds) : null,
        modelsSlot,
        registeredSlot,
      ),
    ),
    cellSlot,
  );
  loggedModels(state, modelsSlot);
  registered(state, registeredSlot);
  cellSource(state, cellSlot);
  const redraw = (): void => {
    aboutSlot.replaceChildren(about(state));
    keepOpen(metricsSlot, () => metricsSlot.replaceChildren(metricsTables(state, chartLink)));
    paramsSlot.replaceChildren(params(state));
    filterKeys();
  };
  state.listeners.add(redraw);
  return {
    dispose() {
      for (const f of [...state.listeners]) if (!before.has(f)) state.listeners.delete(f);
    },
  };
};
