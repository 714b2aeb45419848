// The registry views (nbtrack/ui/registry_view.py, nbtrack/ui/models_view.py):
//  - "registry_view": one registered model: its versions (stage, aliases, source run, signature,
//    tags, description), the history of stage changes and alias moves, and what each stage and
//    alias held at a chosen date (replayed from the history, as Client.get_registry_snapshot does);
//  - "models_view": MLflow 3 logged models of a run or of experiments, with their latest metrics,
//    params and tags.
// Both draw the kernel's data at once, then re-read the store through `ctx.api`
// (registered-models/get + model-versions/search; logged-models/search) when there is one.
// The history is nbtrack's own (MLflow's REST API has none), so it stays the kernel's.

import { Api } from "../api";
import { formatValue, h, MISSING, RenderedView, ViewContext, ViewSpec } from "./common";
import { registerView } from "./index";

// -- data -----------------------------------------------------------------------------------------

export interface VersionRow {
  version: number;
  stage: string;
  aliases: string[];
  run_id?: string | null;
  run_name?: string | null;
  signature?: string | null;
  tags: Record<string, string>;
  description: string;
  status?: string;
  source?: string | null;
  user_id?: string | null;
  creation_timestamp?: number | null;
  last_updated_timestamp?: number | null;
}

export interface HistoryEvent {
  timestamp: number;
  /** created | stage | alias | deleted | renamed */
  kind: string;
  version: number | null;
  from: string | null;
  to: string | null;
  alias?: string | null;
  user?: string | null;
}

export interface ModelInfo {
  name: string;
  description: string;
  tags: Record<string, string>;
  aliases: Record<string, number>;
  creation_timestamp?: number | null;
  last_updated_timestamp?: number | null;
}

export interface RegistryData {
  name: string;
  model: ModelInfo | null;
  versions: VersionRow[];
  history: HistoryEvent[];
  /** how many events the model has in all (the data carries the latest ones) */
  history_total?: number;
}

export interface Snapshot {
  /** version -> stage, for every version that existed then */
  stages: Map<number, string>;
  /** alias -> version */
  aliases: Map<string, number>;
}

/** The stages and aliases as they were at `at` (ms), replaying the history oldest first. */
export function snapshotAt(history: HistoryEvent[], at: number): Snapshot {
  const stages = new Map<number, string>();
  const aliases = new Map<string, number>();
  const events = [...history].sort((a, b) => a.timestamp - b.timestamp);
  for (const e of events) {
    if (e.timestamp > at) break;
    if ((e.kind === "created" || e.kind === "stage") && e.version !== null) stages.set(e.version, e.to ?? "None");
    else if (e.kind === "deleted" && e.version !== null) stages.delete(e.version);
    else if (e.kind === "alias" && e.alias) {
      if (e.to === null || e.to === undefined) aliases.delete(e.alias);
      else aliases.set(e.alias, Number(e.to));
    }
  }
  return { stages, aliases };
}

/** The versions in `stage` in a snapshot, highest first (the first is what models:/name/<stage> meant). */
export function versionsIn(snapshot: Snapshot, stage: string): number[] {
  const want = stage.toLowerCase();
  return [...snapshot.stages].filter(([, s]) => s.toLowerCase() === want).map(([v]) => v).sort((a, b) => b - a);
}

/**
 * Whether the history (the kernel's: REST has none) still ends in the stages and aliases shown,
 * false once a refresh found changes made after the cell ran.
 */
export function historyIsCurrent(data: RegistryData): boolean {
  const now = snapshotAt(data.history, Number.MAX_SAFE_INTEGER);
  if (now.stages.size !== data.versions.length) return false;
  for (const v of data.versions) if (now.stages.get(v.version) !== v.stage) return false;
  const aliases = data.model?.aliases ?? {};
  if (Object.keys(aliases).length !== now.aliases.size) return false;
  return Object.entries(aliases).every(([a, v]) => now.aliases.get(a) === v);
}

/** The last millisecond of a local calendar day "YYYY-MM-DD" (the state the day closed with). */
export function endOfDay(day: string): number {
  const [y, m, d] = day.split("-").map(Number);
  return new Date(y, m - 1, d + 1).getTime() - 1;
}

function pairs(items: any): Record<string, string> {
  const out: Record<string, string> = {};
  if (Array.isArray(items)) for (const t of items) if (t && t.key !== undefined) out[t.key] = String(t.value ?? "");
  return out;
}

function num(v: unknown): number | null {
  if (v === null || v === undefined || v === "") return null;
  const n = Number(v);
  return Number.isNaN(n) ? null : n;
}

/**
 * The registry data re-read from MLflow's REST answers (`registered-models/get`, `model-versions/search`),
 * keeping what REST does not carry from the kernel's data: signatures, run names and the history.
 */
export function registryFromApi(previous: RegistryData, model: any, versions: any[]): RegistryData {
  const before = new Map(previous.versions.map((v) => [v.version, v]));
  const aliases: Record<string, number> = {};
  for (const a of model?.aliases ?? []) aliases[a.alias] = Number(a.version);
  const rows: VersionRow[] = versions.map((mv) => {
    const version = Number(mv.version);
    const old = before.get(version);
    return {
      version,
      stage: mv.current_stage ?? "None",
      aliases: Array.isArray(mv.aliases) ? mv.aliases.map(String) : [],
      run_id: mv.run_id ?? null,
      run_name: old && old.run_id === (mv.run_id ?? null) ? old.run_name : null,
      signature: old?.signature ?? null,
      tags: pairs(mv.tags),
      description: mv.description ?? "",
      status: mv.status,
      source: mv.source ?? null,
      user_id: mv.user_id ?? null,
      creation_timestamp: num(mv.creation_timestamp),
      last_updated_timestamp: num(mv.last_updated_timestamp),
    };
  });
  rows.sort((a, b) => b.version - a.version);
  return {
    ...previous,
    model: model
      ? {
          name: model.name,
          description: model.description ?? "",
          tags: pairs(model.tags),
          aliases,
          creation_timestamp: num(model.creation_timestamp),
          last_updated_timestamp: num(model.last_updated_timestamp),
        }
      : previous.model,
    versions: rows,
  };
}

export interface ModelMetric {
  key: string;
  value: number | string;
  step: number;
  timestamp: number;
  dataset_name?: string | null;
}

export interface LoggedModelRow {
  model_id: string;
  experiment_id?: string;
  name: string;
  status: string;
  model_type?: string | null;
  source_run_id?: string | null;
  step?: number | null;
  creation_timestamp?: number | null;
  params: Record<string, string>;
  tags: Record<string, string>;
  metrics: ModelMetric[];
}

export interface ModelsData {
  title: string;
  experiment_ids: string[];
  models: LoggedModelRow[];
}

const WORDS: Record<string, number> = { NaN: NaN, Infinity: Infinity, "-Infinity": -Infinity };

function metricValue(v: number | string): number {
  return typeof v === "number" ? v : (WORDS[v] ?? Number(v));
}

/** The latest value of each metric key (greatest step, then timestamp), keyed "key (dataset)" when it has one. */
export function latestMetrics(metrics: ModelMetric[]): Map<string, ModelMetric> {
  const latest = new Map<string, ModelMetric>();
  for (const m of metrics) {
    const key = m.dataset_name ? `${m.key} (${m.dataset_name})` : m.key;
    const have = latest.get(key);
    if (!have || m.step > have.step || (m.step === have.step && m.timestamp >= have.timestamp)) latest.set(key, m);
  }
  return latest;
}

/** MLflow's LoggedModel JSON (`{info, data}`) as a row; `step` from the kernel's data (run outputs). */
export function loggedModelFromApi(m: any, step: number | null = null): LoggedModelRow {
  const info = m?.info ?? {};
  const data = m?.data ?? {};
  const status = String(info.status ?? "");
  return {
    model_id: info.model_id,
    experiment_id: info.experiment_id,
    name: info.name ?? "",
    status: status.includes("FAILED") ? "FAILED" : status.includes("PENDING") ? "PENDING" : status.includes("READY") ? "READY" : status,
    model_type: info.model_type ?? null,
    source_run_id: info.source_run_id ?? null,
    step,
    creation_timestamp: num(info.creation_timestamp_ms),
    params: pairs(data.params),
    tags: pairs(info.tags),
    metrics: (data.metrics ?? []).map((x: any) => ({
      key: x.key, value: x.value, step: Number(x.step ?? 0), timestamp: Number(x.timestamp ?? 0), dataset_name: x.dataset_name ?? null,
    })),
  };
}

/**
 * The models re-read from `logged-models/search`: searched models replace the kernel's, models the
 * search cannot find (a run's outputs from other experiments) stay as the kernel saw them; newest first.
 */
export function mergeModels(previous: LoggedModelRow[], found: any[], runId: string | null): LoggedModelRow[] {
  const steps = new Map(previous.map((m) => [m.model_id, m.step ?? null]));
  const rows = new Map<string, LoggedModelRow>();
  for (const m of found) {
    const row = loggedModelFromApi(m, steps.get(m?.info?.model_id) ?? null);
    if (runId && row.source_run_id !== runId && !steps.has(row.model_id)) continue;
    rows.set(row.model_id, row);
  }
  for (const m of previous) if (!rows.has(m.model_id)) rows.set(m.model_id, m);
  return [...rows.values()].sort((a, b) => (b.creation_timestamp ?? 0) - (a.creation_timestamp ?? 0));
}

// -- reading over REST (MLflow's registry endpoints and nbtrack's views/registry-*) ----------------

/** The registry's stages, in the order a promotion goes. */
export const STAGES = ["None", "Staging", "Production", "Archived"];

/** A filter's text literal: `'it''s'`. */
export function quoted(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/** Every version of a model (MLflow's model-versions/search, all pages), as MLflow's JSON. */
export async function searchAllVersions(api: Api, name: string): Promise<any[]> {
  const versions: any[] = [];
  let token: string | undefined;
  do {
    const page: any = await api.mlflow("GET", "model-versions/search", { filter: `name = ${quoted(name)}`, max_results: 1000, page_token: token });
    versions.push(...(page.model_versions ?? []));
    token = page.next_page_token;
  } while (token);
  return versions;
}

/** A model's recorded changes, oldest first (nbtrack's views/registry-history); of one version if given. */
export async function fetchHistory(api: Api, name: string, version?: number): Promise<{ events: HistoryEvent[]; total: number }> {
  return api.request("POST", "2.0/nbtrack/views/registry-history", version === undefined ? { name } : { name, version });
}

/** What each stage and alias held at `at` (ms), as the server replays it (views/registry-snapshot). */
export async function fetchSnapshot(api: Api, name: string, at: number): Promise<Snapshot> {
  const answer: any = await api.request("POST", "2.0/nbtrack/views/registry-snapshot", { name, at: Math.floor(at) });
  return {
    stages: new Map((answer.stages ?? []).map((s: any) => [Number(s.version), String(s.stage)])),
    aliases: new Map((answer.aliases ?? []).map((a: any) => [String(a.alias), Number(a.version)])),
  };
}

/** One column of an MLmodel signature (a column spec or a tensor spec), or a param. */
export interface SchemaItem {
  name?: string;
  type?: string;
  required?: boolean;
  "tensor-spec"?: { dtype?: string; shape?: number[] };
  default?: unknown;
  shape?: number[] | null;
}

export interface SignatureInfo {
  has_mlmodel: boolean;
  inputs: SchemaItem[] | null;
  outputs: SchemaItem[] | null;
  params: SchemaItem[] | null;
  flavors: string[];
  utc_time_created?: string | null;
  model_size_bytes?: number | null;
}

/** A version's signature and flavors from its MLmodel (nbtrack's views/model-version-signature). */
export async function fetchSignature(api: Api, name: string, version: number | string): Promise<SignatureInfo> {
  return api.request("POST", "2.0/nbtrack/views/model-version-signature", { name, version: String(version) });
}

function schemaType(item: SchemaItem): string {
  const tensor = item["tensor-spec"];
  if (item.type === "tensor" && tensor) return `tensor ${tensor.dtype ?? "?"} (${(tensor.shape ?? []).join(", ")})`;
  return item.type ?? "?";
}

/** A signature's part as a table: name, type, required (params: name, type, default). */
export function schemaTable(items: SchemaItem[], kind: "inputs" | "outputs" | "params"): HTMLTableElement {
  if (kind === "params") {
    return table(["name", "type", "default"], items.map((p) => [h("code", {}, p.name ?? ""), schemaType(p),
      p.default === undefined ? MISSING : h("code", {}, JSON.stringify(p.default))]), "nbt-reg-schema nbt-reg-schema-params");
  }
  return table(["#", "name", "type", "required"], items.map((c, i) => [String(i), c.name ? h("code", {}, c.name) : h("span", { class: "nbt-reg-muted" }, "(unnamed)"),
    schemaType(c), c.required === false ? "no" : "yes"]), `nbt-reg-schema nbt-reg-schema-${kind}`);
}

/** The history as a table, in the order given (newest first is what people read). */
export function historyTable(events: HistoryEvent[]): HTMLTableElement {
  return table(["when", "what", "change", "who"], events.map((e) => {
    const [what, change] = describeEvent(e);
    return [h("span", { class: "nbt-reg-nowrap" }, formatTime(e.timestamp)), what, change, e.user ?? ""];
  }), "nbt-reg-history");
}

// -- drawing --------------------------------------------------------------------------------------

const pad = (n: number): string => String(n).padStart(2, "0");

/** Local time as "YYYY-MM-DD HH:MM:SS", as the static copy prints it. */
export function formatTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "";
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

function day(ms: number): string {
  return formatTime(ms).slice(0, 10);
}

export function stageBadge(stage: string | null | undefined): HTMLElement | string {
  if (stage === null || stage === undefined) return MISSING;
  return h("span", { class: `nbt-reg-stage nbt-reg-stage-${stage.toLowerCase()}` }, stage);
}

export function chips(items: Record<string, string>, max = 8): HTMLElement {
  const entries = Object.entries(items);
  return h("span", { class: "nbt-reg-chips" },
    entries.slice(0, max).map(([k, v]) => h("code", { class: "nbt-reg-chip", title: `${k}=${v}` }, `${k}=${v}`)),
    entries.length > max ? h("span", { class: "nbt-reg-muted" }, ` +${entries.length - max} more`) : null);
}

function runLink(runId: string | null | undefined, label?: string | null): HTMLElement | string {
  if (!runId) return "";
  return h("a", { href: `#nbtrack-run-${runId}`, title: `run ${runId}`, class: "nbt-reg-run" }, label || h("code", {}, runId.slice(0, 8)));
}

/** A plain table of the registry views (thead of `head`, one row per entry of `rows`). */
export function table(head: string[], rows: (Node | string)[][], cls: string): HTMLTableElement {
  return h("table", { class: `nbt-reg-table ${cls}` },
    h("thead", {}, h("tr", {}, head.map((c) => h("th", {}, c)))),
    h("tbody", {}, rows.map((r) => h("tr", {}, r.map((c) => h("td", {}, c))))));
}

export function describeEvent(e: HistoryEvent): [string, Node | string] {
  if (e.kind === "alias") {
    const side = (v: string | null): string => (v === null || v === undefined ? "-" : `v${v}`);
    return [`@${e.alias ?? ""}`, `${side(e.from)} \u2192 ${side(e.to)}`];
  }
  if (e.kind === "renamed") return ["renamed", `${e.from ?? ""} \u2192 ${e.to ?? ""}`];
  const what = `v${e.version}` + (e.kind !== "stage" ? ` ${e.kind}` : "");
  return [what, h("span", {}, e.from ? stageBadge(e.from) : "-", " \u2192 ", e.to ? stageBadge(e.to) : "-")];
}

export const MAX_HISTORY_ROWS = 50;

/** The "as of" line: which versions each stage held, and where each alias pointed, at `at`. */
export function describeSnapshot(history: HistoryEvent[], at: number): string {
  const snap = snapshotAt(history, at);
  if (snap.stages.size === 0) return "no versions yet";
  const parts: string[] = [];
  for (const stage of ["Production", "Staging", "Archived"]) {
    const vs = versionsIn(snap, stage);
    parts.push(`${stage}: ${vs.length ? vs.map((v) => `v${v}`).join(", ") : MISSING}`);
  }
  const aliases = [...snap.aliases].sort(([a], [b]) => a.localeCompare(b)).map(([a, v]) => `@${a} \u2192 v${v}`);
  if (aliases.length) parts.push(aliases.join(", "));
  parts.push(`${snap.stages.size} version${snap.stages.size === 1 ? "" : "s"}`);
  return parts.join(" \u00b7 ");
}

function drawRegistry(root: HTMLElement, data: RegistryData, onRefresh: (() => void) | null): void {
  const model = data.model;
  const aliasText = model ? Object.entries(model.aliases).map(([a, v]) => `@${a}=v${v}`) : [];
  const head = h("div", { class: "nbt-reg-head" },
    h("b", { class: "nbt-reg-name" }, data.name),
    h("span", { class: "nbt-reg-muted" }, ` \u00b7 ${data.versions.length} version${data.versions.length === 1 ? "" : "s"}`),
    aliasText.map((a) => h("code", { class: "nbt-reg-alias" }, a)),
    onRefresh ? h("button", { class: "nbt-reg-refresh", title: "re-read the registry", onclick: onRefresh }, "\u21bb") : null);
  const parts: Node[] = [head];
  if (model?.description) parts.push(h("div", { class: "nbt-reg-muted nbt-reg-description" }, model.description));
  if (model && Object.keys(model.tags).length) parts.push(h("div", { class: "nbt-reg-muted" }, "tags ", chips(model.tags)));
  if (data.versions.length) {
    parts.push(table(["version", "stage", "aliases", "source run", "signature", "tags", "created", "description"],
      data.versions.map((v) => [
        h("b", {}, String(v.version)),
        stageBadge(v.stage),
        h("span", {}, v.aliases.map((a) => h("code", { class: "nbt-reg-alias" }, `@${a}`))),
        runLink(v.run_id, v.run_name),
        v.signature ? h("code", { class: "nbt-reg-signature" }, v.signature) : "",
        chips(v.tags),
        h("span", { class: "nbt-reg-nowrap" }, formatTime(v.creation_timestamp)),
        v.description,
      ]), "nbt-reg-versions"));
  } else {
    parts.push(h("div", { class: "nbt-reg-muted nbt-reg-empty" }, "no versions yet"));
  }
  if (data.history.length) {
    const first = Math.min(...data.history.map((e) => e.timestamp));
    const last = Math.max(Date.now(), ...data.history.map((e) => e.timestamp));
    const out = h("span", { class: "nbt-reg-asof-result" });
    const input = h("input", { type: "date", class: "nbt-reg-asof-date", min: day(first), max: day(last), value: day(last) });
    const update = (): void => {
      out.textContent = input.value ? describeSnapshot(data.history, endOfDay(input.value)) : "";
    };
    input.addEventListener("change", update);
    update();
    parts.push(h("div", { class: "nbt-reg-asof", title: "what each stage and alias held at the end of that day" },
      h("b", {}, "as of "), input, " ", out));
    const total = data.history_total ?? data.history.length;
    const shown = data.history.slice(-MAX_HISTORY_ROWS).reverse();
    parts.push(h("div", { class: "nbt-reg-subhead" }, h("b", {}, "history"),
      total > shown.length ? h("span", { class: "nbt-reg-muted" }, ` (last ${shown.length} of ${total})`) : null,
      historyIsCurrent(data) ? null
        : h("span", { class: "nbt-reg-muted nbt-reg-stale" }, " \u00b7 as of when the cell ran: the registry changed since (re-run the cell for its history)")));
    parts.push(historyTable(shown));
  }
  root.replaceChildren(...parts);
}

function drawModels(root: HTMLElement, data: ModelsData, onRefresh: (() => void) | null): void {
  const head = h("div", { class: "nbt-reg-head" },
    h("b", {}, data.title), h("span", { class: "nbt-reg-muted" }, ` \u00b7 ${data.models.length}`),
    onRefresh ? h("button", { class: "nbt-reg-refresh", title: "re-read the logged models", onclick: onRefresh }, "\u21bb") : null);
  if (!data.models.length) {
    root.replaceChildren(head, h("div", { class: "nbt-reg-muted nbt-reg-empty" }, "no logged models"));
    return;
  }
  const rows = data.models.map((m) => {
    const metrics: Record<string, string> = {};
    for (const [k, x] of latestMetrics(m.metrics)) metrics[k] = formatValue(metricValue(x.value));
    const tags = Object.fromEntries(Object.entries(m.tags).filter(([k]) => !k.startsWith("mlflow.")));
    return [
      h("span", {}, h("b", {}, m.name), h("br"), h("code", { class: "nbt-reg-muted nbt-reg-id" }, m.model_id)),
      h("span", { class: `nbt-reg-status nbt-reg-status-${m.status.toLowerCase()}` }, m.status),
      m.model_type ?? "",
      runLink(m.source_run_id),
      m.step === null || m.step === undefined ? "" : String(m.step),
      chips(metrics),
      chips(m.params),
      chips(tags),
      h("span", { class: "nbt-reg-nowrap" }, formatTime(m.creation_timestamp)),
    ];
  });
  root.replaceChildren(head, table(["model", "status", "type", "source run", "step", "metrics", "params", "tags", "created"], rows, "nbt-reg-models"));
}

// -- the two views --------------------------------------------------------------------------------

/** Run `load` now and on the refresh button; a failure keeps what is shown and says why. */
function refresher(api: Api | null, ctx: ViewContext, load: (api: Api) => Promise<void>): { refresh: (() => void) | null; disposed: () => boolean; dispose: () => void } {
  let gone = false;
  const refresh = api
    ? (): void => {
        load(api).catch((e: Error) => {
          if (!gone) ctx.note?.(`Showing the data from when the cell ran: the store could not be read (${e.message}).`);
        });
      }
    : null;
  return { refresh, disposed: () => gone, dispose: () => { gone = true; } };
}

export function renderRegistry(el: HTMLElement, spec: ViewSpec, ctx: ViewContext): RenderedView {
  let data = spec.data as RegistryData;
  const root = h("div", { class: "nbt-registry" });
  el.append(root);
  const r = refresher(ctx.api, ctx, async (api) => {
    const name = data.name;
    const model = await api.mlflow("GET", "registered-models/get", { name });
    const versions = await searchAllVersions(api, name);
    if (r.disposed()) return;
    data = registryFromApi(data, model.registered_model, versions);
    drawRegistry(root, data, r.refresh);
  });
  drawRegistry(root, data, r.refresh);
  r.refresh?.();
  return { dispose: () => { r.dispose(); root.remove(); } };
}

export function renderModels(el: HTMLElement, spec: ViewSpec, ctx: ViewContext): RenderedView {
  let data = spec.data as ModelsData;
  const runId: string | null = spec.options?.run_id ?? null;
  const root = h("div", { class: "nbt-models" });
  el.append(root);
  const r = refresher(data.experiment_ids?.length ? ctx.api : null, ctx, async (api) => {
    const found: any[] = [];
    let token: string | undefined;
    do {
      const body: Record<string, unknown> = { experiment_ids: data.experiment_ids, max_results: 200, page_token: token };
      if (runId) body.filter = `source_run_id = '${runId}'`;
      const page: any = await api.mlflow("POST", "logged-models/search", body);
      found.push(...(page.models ?? []));
      token = page.next_page_token;
    } while (token && found.length < 1000);
    if (r.disposed()) return;
    data = { ...data, models: mergeModels(data.models, found, runId) };
    drawModels(root, data, r.refresh);
  });
  drawModels(root, data, r.refresh);
  r.refresh?.();
  return { dispose: () => { r.dispose(); root.remove(); } };
}

registerView("registry_view", renderRegistry);
registerView("models_view", renderModels);
