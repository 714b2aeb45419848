// What the compare page reads and works out, without the DOM: the runs (MLflow's runs/get, one
// request per id so an unknown id fails alone), the diff table's data (views/compare.ts's
// CompareData), the columns a scatter can plot, and a line diff of two cell sources.

import { Api, ApiError } from "../../api";
import { CompareData, CompareRun, metricValue } from "../../views/compare";
import { lowerIsBetter } from "../../views/parcoords-axes";

export const MAX_RUNS = 50;
/** the artifact %%track writes the cell source to (nbtrack/notebook/_extension.py SOURCE_ARTIFACT) */
export const SOURCE_ARTIFACT = "cell/source.py";
/** tags the table leaves out: the name is the column's head already */
const HIDDEN_TAGS = new Set(["mlflow.runName"]);

export interface LoadedRun extends CompareRun {
  experiment_id: string;
  artifact_uri: string;
}

export interface Missing {
  run_id: string;
  message: string;
}

export interface Loaded {
  runs: LoadedRun[];
  missing: Missing[];
}

/** The run ids of `?runs=a,b,c`: trimmed, without blanks and repeats, in the order given. */
export function runIdsOf(query: URLSearchParams): string[] {
  const ids = (query.get("runs") ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  return [...new Set(ids)];
}

function runOf(raw: any): LoadedRun {
  const info = raw.info ?? {};
  const data = raw.data ?? {};
  const pairs = (list: any[] | undefined): Record<string, any> => Object.fromEntries((list ?? []).map((p) => [p.key, p.value]));
  const tags = pairs(data.tags);
  for (const k of HIDDEN_TAGS) delete tags[k];
  return {
    run_id: info.run_id,
    name: info.run_name || info.run_id.slice(0, 8),
    status: info.status,
    start_time: info.start_time ?? null,
    params: pairs(data.params),
    metrics: pairs(data.metrics),
    tags,
    experiment_id: String(info.experiment_id),
    artifact_uri: info.artifact_uri ?? "",
  };
}

/** Every run by id, in parallel; an id the server does not know is kept with its message. */
export async function loadRuns(api: Api, ids: string[]): Promise<Loaded> {
  const answers = await Promise.allSettled(ids.map((id) => api.mlflow("GET", "runs/get", { run_id: id })));
  const out: Loaded = { runs: [], missing: [] };
  answers.forEach((a, i) => {
    if (a.status === "fulfilled") out.runs.push(runOf(a.value.run));
    else {
      const e = a.reason;
      const message = e instanceof ApiError && e.status === 404 ? "no such run" : e instanceof Error ? e.message : String(e);
      out.missing.push({ run_id: ids[i], message });
    }
  });
  return out;
}

const sorted = (keys: Iterable<string>): string[] => [...new Set(keys)].sort((a, b) => a.localeCompare(b));

/** The diff table's data: every param, metric and tag key of any run; lower is better for loss, error... */
export function compareData(runs: LoadedRun[]): CompareData {
  const params = sorted(runs.flatMap((r) => Object.keys(r.params)));
  const metrics = sorted(runs.flatMap((r) => Object.keys(r.metrics)));
  const tags = sorted(runs.flatMap((r) => Object.keys(r.tags)));
  return { runs, params, metrics, tags, higher: Object.fromEntries(metrics.map((k) => [k, !lowerIsBetter(k)])), chart: null };
}

/** Metric keys every run has (system/ ones last), else every key: what the charts offer first. */
export function commonMetrics(runs: LoadedRun[]): string[] {
  const all = sorted(runs.flatMap((r) => Object.keys(r.metrics)));
  const common = all.filter((k) => runs.every((r) => k in r.metrics));
  const keys = common.length ? common : all;
  const system = (k: string): boolean => k.startsWith("system/");
  return [...keys.filter((k) => !system(k)), ...keys.filter(system)];
}

/** A column of the scatter: "param:lr" or "metric:loss". */
export interface Column {
  id: string;
  kind: "param" | "metric";
  key: string;
}

export function columnsOf(data: CompareData): Column[] {
  return [
    ...data.metrics.map((key) => ({ id: `metric:${key}`, kind: "metric" as const, key })),
    ...data.params.map((key) => ({ id: `param:${key}`, kind: "param" as const, key })),
  ];
}

/** A column's values, one per run: numbers where every present value is one, else text. */
export function columnValues(runs: CompareRun[], column: Column): { values: (number | string | null)[]; numeric: boolean } {
  if (column.kind === "metric") {
    return { values: runs.map((r) => { const v = metricValue(r.metrics[column.key]); return v === null || !Number.isFinite(v) ? null : v; }), numeric: true };
  }
  const raw = runs.map((r) => r.params[column.key] ?? null);
  const numeric = raw.every((v) => v === null || (v.trim() !== "" && Number.isFinite(Number(v))));
  return { values: raw.map((v) => (v === null ? null : numeric ? Number(v) : v)), numeric };
}

/** Columns whose values differ between the runs, metrics first: the scatter's default axes. */
export function defaultAxes(runs: CompareRun[], columns: Column[]): [string, string] {
  const varying = columns.filter((c) => new Set(columnValues(runs, c).values.map(String)).size > 1);
  const params = varying.filter((c) => c.kind === "param");
  const metrics = varying.filter((c) => c.kind === "metric");
  const x = params[0] ?? metrics[1] ?? columns[0];
  const y = metrics[0] ?? columns.find((c) => c.id !== x?.id) ?? x;
  return [x?.id ?? "", y?.id ?? ""];
}

export type DiffOp = " " | "-" | "+";

export interface DiffLine {
  op: DiffOp;
  text: string;
  /** 1-based line numbers in the old (a) and new (b) text; null on the side the line is not on */
  a: number | null;
  b: number | null;
}

/** A line diff of two texts (longest common subsequence; removed lines before the added ones). */
export function lineDiff(a: string, b: string): DiffLine[] {
  const split = (s: string): string[] => (s === "" ? [] : s.replace(/\n$/, "").split("\n"));
  const x = split(a);
  const y = split(b);
  const n = x.length;
  const m = y.length;
  // lcs[i][j] = the LCS length of x[i..] and y[j..]
  const lcs: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) lcs[i][j] = x[i] === y[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  const out: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && x[i] === y[j]) out.push({ op: " ", text: x[i], a: ++i, b: ++j });
    else if (i < n && (j >= m || lcs[i + 1][j] >= lcs[i][j + 1])) out.push({ op: "-", text: x[i], a: ++i, b: null });
    else out.push({ op: "+", text: y[j], a: null, b: ++j });
  }
  return out;
}

/** The URL of a run's artifact through the server's artifact proxy, or null when it serves none of it. */
export function artifactUrl(api: Api, run: LoadedRun, path: string): string | null {
  const m = /^mlflow-artifacts:\/(.*)$/.exec(run.artifact_uri);
  if (!m) return null;
  const root = m[1].replace(/^\/+/, "").replace(/\/+$/, "");
  const base = api.options.base.replace(/\/$/, "");
  return `${base}/2.0/mlflow-artifacts/artifacts/${root.split("/").map(encodeURIComponent).join("/")}/${path}`;
}

/** A run's cell source (the text %%track logged), or null when it has none; other failures throw.
 *  The folder is listed first: a run without one answers an empty list, not a 404 in the console. */
export async function cellSource(api: Api, run: LoadedRun): Promise<string | null> {
  const folder = SOURCE_ARTIFACT.split("/")[0];
  const listed = await api.mlflow("GET", "artifacts/list", { run_id: run.run_id, path: folder });
  if (!(listed.files ?? []).some((f: any) => f.path === SOURCE_ARTIFACT && !f.is_dir)) return null;
  const url = artifactUrl(api, run, SOURCE_ARTIFACT);
  if (!url) throw new Error(`this server does not serve the artifacts of run ${run.name} (${run.artifact_uri})`);
  const f = api.options.fetch ?? fetch;
  const res = await f(url, { headers: api.options.headers ?? {}, credentials: "same-origin" });
  if (!res.ok) throw new Error(`${SOURCE_ARTIFACT} of run ${run.name}: HTTP ${res.status}`);
  return res.text();
}
