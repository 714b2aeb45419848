// The metric chart's data, without plotly or the DOM: lines from the store's M4 bucket rows
// (store.metric_buckets, as nbtrack/ui/_history.py assembles them), live points appended after
// each line's cursor, the debiased EMA, x units, the panel grid and the plotly traces of a panel.

import { rows, WireFrame } from "../wire";

export type XAxis = "step" | "relative" | "wall";

export const X_LABELS: Record<XAxis, string> = { step: "step", relative: "time since run start (s)", wall: "wall time" };

/** Below every real step: "all points" as a cursor (a safe integer, so JSON keeps it exact). */
export const NO_CURSOR = -Number.MAX_SAFE_INTEGER;

/** One (run, metric) line: its drawn points (x in stored units), band and bucket means. */
export interface Series {
  runId: string;
  key: string;
  x: number[];
  y: number[];
  bandX: number[];
  bandLo: number[];
  bandHi: number[];
  meanX: number[];
  meanY: number[];
  /** raw points the drawn ones stand for */
  points: number;
  lastStep: number;
  lastTs: number;
}

export interface RunInfo {
  run_id: string;
  name: string;
  status: string;
  start_time?: number | null;
}

/** What the kernel sends (nbtrack/ui/chart.py Histories.wire). */
export interface ChartData {
  runs: RunInfo[];
  keys: string[];
  x_axis: XAxis;
  hidden_runs?: number;
  buckets: WireFrame | null;
}

export const pairKey = (runId: string, key: string): string => `${runId}\u0000${key}`;

const num = (v: unknown): number => (v === null || v === undefined ? NaN : Number(v));

/** Every (run, key) line of a metric-buckets frame, keyed by pairKey. */
export function seriesFromBuckets(frame: WireFrame | null | undefined): Map<string, Series> {
  const out = new Map<string, Series>();
  if (!frame) return out;
  const groups = new Map<string, Record<string, unknown>[]>();
  for (const r of rows(frame)) {
    if (num(r.bucket) === -3 || r.key === null || r.key === undefined) continue; // run rows
    const k = pairKey(String(r.run_id), String(r.key));
    let g = groups.get(k);
    if (!g) groups.set(k, (g = []));
    g.push(r);
  }
  for (const [k, g] of groups) out.set(k, seriesFromRows(String(g[0].run_id), String(g[0].key), g));
  return out;
}

function seriesFromRows(runId: string, key: string, rs: Record<string, unknown>[]): Series {
  const s: Series = { runId, key, x: [], y: [], bandX: [], bandLo: [], bandHi: [], meanX: [], meanY: [], points: 0, lastStep: NO_CURSOR, lastTs: NO_CURSOR };
  const before = rs.filter((r) => num(r.bucket) === -1);
  const after = rs.filter((r) => num(r.bucket) === -2);
  const inner = rs.filter((r) => num(r.bucket) >= 0).sort((a, b) => num(a.bucket) - num(b.bucket));
  for (const r of before) s.x.push(num(r.x1)), s.y.push(num(r.v1));
  for (const r of inner) {
    // first, min, max, last point of the bucket, in x order, consecutive repeats dropped
    const pts: [number, number][] = [
      [num(r.x0), num(r.v0)],
      [num(r.x_at_min), num(r.vmin)],
      [num(r.x_at_max), num(r.vmax)],
      [num(r.x1), num(r.v1)],
    ];
    pts.sort((a, b) => a[0] - b[0]);
    for (const [x, y] of pts) {
      const n = s.x.length;
      if (n && s.x[n - 1] === x && Object.is(s.y[n - 1], y)) continue;
      s.x.push(x), s.y.push(y);
    }
    s.bandX.push(num(r.xmean)), s.bandLo.push(num(r.vmin)), s.bandHi.push(num(r.vmax));
    s.meanX.push(num(r.xmean)), s.meanY.push(num(r.vmean));
    s.points += num(r.n) || 0;
  }
  for (const r of after) s.x.push(num(r.x0)), s.y.push(num(r.v0));
  for (const r of rs) {
    const step = num(r.last_step);
    if (Number.isNaN(step)) continue;
    const ts = num(r.last_ts);
    if (step > s.lastStep || (step === s.lastStep && ts > s.lastTs)) (s.lastStep = step), (s.lastTs = ts);
  }
  return s;
}

/** The cursors of a live poll: every shown (run, key), after its last point. */
export function cursors(series: Map<string, Series>, runIds: string[], keys: string[]): { run_id: string; key: string; step: number; timestamp: number }[] {
  const out = [];
  for (const runId of runIds) {
    for (const key of keys) {
      const s = series.get(pairKey(runId, key));
      out.push({ run_id: runId, key, step: s ? s.lastStep : NO_CURSOR, timestamp: s ? s.lastTs : NO_CURSOR });
    }
  }
  return out;
}

export interface Appended {
  /** pairKey -> the points added to that line (x in stored units) */
  added: Map<string, { x: number[]; y: number[] }>;
  /** lines that did not exist before */
  created: string[];
  statuses: Map<string, string>;
  points: number;
}

/** Add a metric-points-after frame's points to their lines (creating lines that appear). */
export function appendPoints(series: Map<string, Series>, frame: WireFrame): Appended {
  const out: Appended = { added: new Map(), created: [], statuses: new Map(), points: 0 };
  for (const r of rows(frame)) {
    if (r.what === "s") {
      out.statuses.set(String(r.run_id), String(r.status));
      continue;
    }
    const k = pairKey(String(r.run_id), String(r.key));
    let s = series.get(k);
    if (!s) {
      s = { runId: String(r.run_id), key: String(r.key), x: [], y: [], bandX: [], bandLo: [], bandHi: [], meanX: [], meanY: [], points: 0, lastStep: NO_CURSOR, lastTs: NO_CURSOR };
      series.set(k, s);
      out.created.push(k);
    }
    const x = num(r.x);
    const y = num(r.value);
    s.x.push(x), s.y.push(y), s.bandX.push(x), s.bandLo.push(y), s.bandHi.push(y), s.meanX.push(x), s.meanY.push(y);
    s.points += 1;
    s.lastStep = num(r.step);
    s.lastTs = num(r.timestamp);
    let a = out.added.get(k);
    if (!a) out.added.set(k, (a = { x: [], y: [] }));
    a.x.push(x), a.y.push(y);
    out.points += 1;
  }
  return out;
}

/** TensorBoard's debiased EMA: s_i = w s_{i-1} + (1-w) y_i, divided by 1 - w^(i+1). NaN skipped. */
export function ema(y: number[], weight: number): number[] {
  if (!(weight > 0) || !y.length) return [...y];
  const w = Math.min(weight, 0.999);
  let acc = 0;
  let norm = 0;
  return y.map((v) => {
    if (!Number.isFinite(v)) return norm ? acc / norm : NaN;
    acc = w * acc + (1 - w) * v;
    norm = w * norm + (1 - w);
    return acc / norm;
  });
}

/** Stored x (a step, or ms) -> what the axis shows: seconds for relative, local clock ms for wall. */
export function toDisplay(x: number, axis: XAxis): number {
  if (axis === "relative") return x / 1000;
  if (axis === "wall") return x - new Date(x).getTimezoneOffset() * 60_000; // plotly draws ms as UTC
  return x;
}

/** The inverse of toDisplay, for a zoomed range (plotly gives date axes' ends as strings). */
export function fromDisplay(v: number | string, axis: XAxis): number {
  if (axis === "wall") {
    const shown = typeof v === "string" ? Date.parse(v.replace(" ", "T") + (/[zZ]|[+-]\d\d:?\d\d$/.test(v) ? "" : "Z")) : v;
    return shown + new Date(shown).getTimezoneOffset() * 60_000;
  }
  const n = Number(v);
  return axis === "relative" ? n * 1000 : n;
}

/** Columns of the panel grid: one panel fills the width; more share rows by the space there is. */
export function gridColumns(panels: number, width: number): number {
  if (panels <= 1) return 1;
  const fit = Math.max(1, Math.floor((width || 0) / 380));
  return Math.max(1, Math.min(panels, fit, 3));
}

export interface TraceOptions {
  axis: XAxis;
  smoothing: number;
  band: boolean;
  /** run ids the legend turned off */
  hidden?: Set<string>;
  color: (runId: string) => string;
}

function rgba(hex: string, alpha: number): string {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!m) return hex;
  return `rgba(${parseInt(m[1], 16)},${parseInt(m[2], 16)},${parseInt(m[3], 16)},${alpha})`;
}

/** The hover line of one run: name, x (step or time) and value, for plotly's "x unified" box. */
export function hoverTemplate(runName: string, axis: XAxis): string {
  const name = runName.replace(/[<>&]/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;" })[c] ?? c);
  const at = axis === "step" ? "step %{x}" : axis === "relative" ? "%{x:.1f} s" : "%{x|%H:%M:%S}";
  return `<b>${name}</b> · ${at}: %{y:.5~g}<extra></extra>`;
}

/** The traces of one panel (one key): per run, band low/high, the line (markers for a lone point), the EMA.
 *  Each trace's `meta` is [runId, role]; the line of run i is at index 4 i + 2. */
export function panelTraces(key: string, runs: RunInfo[], series: Map<string, Series>, o: TraceOptions): any[] {
  const traces: any[] = [];
  for (const run of runs) {
    const s = series.get(pairKey(run.run_id, key));
    const color = o.color(run.run_id);
    const visible = !o.hidden?.has(run.run_id);
    const x = (s?.x ?? []).map((v) => toDisplay(v, o.axis));
    // copies: plotly keeps (and extendTraces grows) the arrays it is given; the series grow on their own
    const y = [...(s?.y ?? [])];
    const lone = x.length === 1 || (s !== undefined && s.points <= 1 && x.length <= 1);
    const downsampled = s !== undefined && s.points > s.x.length;
    const bx = (s?.bandX ?? []).map((v) => toDisplay(v, o.axis));
    const showBand = visible && o.band && downsampled;
    const common = { type: "scatter", legendgroup: run.run_id, showlegend: false, name: run.name };
    traces.push({ ...common, meta: [run.run_id, "lo"], mode: "lines", x: bx, y: [...(s?.bandLo ?? [])], line: { width: 0, color }, hoverinfo: "skip", visible: showBand });
    traces.push({ ...common, meta: [run.run_id, "hi"], mode: "lines", x: bx, y: [...(s?.bandHi ?? [])], line: { width: 0, color }, fill: "tonexty", fillcolor: rgba(color, 0.15), hoverinfo: "skip", visible: showBand });
    const smooth = o.smoothing > 0 && s !== undefined && s.meanY.length > 1;
    traces.push({
      ...common,
      meta: [run.run_id, "line"],
      mode: lone ? "markers" : "lines",
      x,
      y,
      line: { width: 1.6, color },
      marker: { color, size: lone ? 9 : 5 },
      opacity: smooth ? 0.3 : 1, // faded only where the EMA is drawn over it (not a lone point)
      hovertemplate: hoverTemplate(run.name, o.axis),
      visible,
    });
    traces.push({
      ...common,
      meta: [run.run_id, "ema"],
      name: `${run.name} (smoothed)`,
      mode: "lines",
      x: smooth ? s.meanX.map((v) => toDisplay(v, o.axis)) : [],
      y: smooth ? ema(s.meanY, o.smoothing) : [],
      line: { width: 2, color },
      hoverinfo: "skip",
      visible: visible && smooth,
    });
  }
  return traces;
}
