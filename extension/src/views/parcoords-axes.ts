// Parallel coordinates without plotly or the DOM: one axis per param and metric from runs-wide
// rows (a run lacking a value is drawn at the axis' "missing" position below its range, labelled
// "—", never dropped), categorical axes for text params, log axes over many decades, the line
// colours (the best end of the colour metric darkest, the most visible on white), the axis titles'
// boxes (wrapped, never overlapping, never cut) and the runs inside brushed ranges.

import { Row } from "../wire";
import { formatValue, isMissing, MISSING } from "./common";

export type AxisKind = "numeric" | "log" | "categorical";

export interface Axis {
  /** param:<key> or metric:<key> */
  column: string;
  /** the full title (the key, "(log)" for a log axis) */
  label: string;
  kind: AxisKind;
  /** one position per run (log10 on a log axis, the category's index on a categorical one) */
  values: number[];
  range: [number, number];
  tickvals: number[];
  ticktext: string[];
  /** where a run without a value is drawn (null: every run has one) */
  missingAt: number | null;
  missing: number;
}

const MAX_CATEGORIES = 50;

function naturalCompare(a: string, b: string): number {
  const x = Number(a);
  const y = Number(b);
  if (a.trim() !== "" && b.trim() !== "" && Number.isFinite(x) && Number.isFinite(y)) return x - y;
  return a.localeCompare(b, undefined, { numeric: true });
}

function asNumber(v: unknown): number {
  if (isMissing(v)) return NaN;
  if (typeof v === "number") return v;
  const text = String(v).trim();
  return text === "" ? NaN : Number(text);
}

// a spread of 100,000 numbers overflows the call stack
function minOf(xs: number[]): number {
  return xs.reduce((a, b) => (b < a ? b : a), Infinity);
}

function maxOf(xs: number[]): number {
  return xs.reduce((a, b) => (b > a ? b : a), -Infinity);
}

/** About five round tick values in [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(Number(t.toPrecision(12)));
  return out;
}

/** One axis of a column of runs-wide rows. */
export function buildAxis(column: string, raw: unknown[], logAxes: "auto" | boolean = "auto"): Axis {
  const [kind, ...rest] = column.split(":");
  const key = rest.join(":");
  const present = raw.filter((v) => !isMissing(v));
  const numbers = raw.map(asNumber);
  const textual = kind === "param" && present.some((v) => !Number.isFinite(asNumber(v)) && typeof v !== "number");
  if (textual) {
    const cats = [...new Set(present.map(String))].sort(naturalCompare).slice(0, MAX_CATEGORIES);
    const index = new Map(cats.map((c, i) => [c, i]));
    const values = raw.map((v) => (isMissing(v) ? -1 : (index.get(String(v)) ?? -1)));
    const missing = values.filter((v) => v === -1).length;
    const tickvals = cats.map((_, i) => i);
    const ticktext = cats.map((c) => (c.length > 14 ? c.slice(0, 13) + "\u2026" : c));
    if (missing) tickvals.unshift(-1), ticktext.unshift(MISSING);
    const lo = missing ? -1.4 : -0.5;
    const hi = Math.max(cats.length - 0.5, 0.5);
    return { column, label: key, kind: "categorical", values, range: [lo, hi], tickvals, ticktext, missingAt: missing ? -1 : null, missing };
  }
  const finite = numbers.filter((v) => Number.isFinite(v));
  let log = false;
  if (finite.length) {
    const min = minOf(finite);
    const max = maxOf(finite);
    log = logAxes === true ? min > 0 : logAxes === "auto" && min > 0 && max / min > 100;
  }
  const values = log ? numbers.map((v) => (v > 0 ? Math.log10(v) : NaN)) : numbers;
  const good = values.filter((v) => Number.isFinite(v));
  let lo = good.length ? minOf(good) : 0;
  let hi = good.length ? maxOf(good) : 1;
  let tickvals: number[];
  let ticktext: string[];
  if (log) {
    tickvals = [];
    for (let d = Math.floor(lo); d <= Math.ceil(hi); d++) tickvals.push(d);
    ticktext = tickvals.map((d) => `1e${d}`);
    lo = Math.min(lo, tickvals[0]);
    hi = Math.max(hi, tickvals[tickvals.length - 1]);
  } else {
    if (hi === lo) {
      const pad = Math.abs(lo) * 0.1 || 1;
      tickvals = [lo];
      lo -= pad;
      hi += pad;
    } else {
      tickvals = niceTicks(lo, hi);
    }
    ticktext = tickvals.map((v) => formatValue(v));
  }
  const span = hi - lo || 1;
  const missing = values.filter((v) => !Number.isFinite(v)).length;
  let missingAt: number | null = null;
  if (missing) {
    missingAt = lo - 0.14 * span;
    tickvals = [missingAt, ...tickvals];
    ticktext = [MISSING, ...ticktext];
  }
  const positions = values.map((v) => (Number.isFinite(v) ? v : (missingAt as number)));
  const range: [number, number] = [missingAt !== null ? missingAt - 0.04 * span : lo, hi];
  return { column, label: log ? `${key} (log)` : key, kind: log ? "log" : "numeric", values: positions, range, tickvals, ticktext, missingAt, missing };
}

/** Every axis, with titles told apart where a param and a metric share a key. */
export function buildAxes(rows: Row[], params: string[], metrics: string[], logAxes: "auto" | boolean = "auto"): Axis[] {
  const cols = [...params.map((k) => `param:${k}`), ...metrics.map((k) => `metric:${k}`)];
  const axes = cols.map((c) => buildAxis(c, rows.map((r) => r[c]), logAxes));
  const seen = new Map<string, number>();
  for (const a of axes) seen.set(a.label, (seen.get(a.label) ?? 0) + 1);
  for (const a of axes) if ((seen.get(a.label) ?? 0) > 1) a.label = `${a.column.split(":")[0]} ${a.label}`;
  return axes;
}

// -- colour ---------------------------------------------------------------------------------------
/** From the worst value (light, still visible on white) to the best (darkest): viridis without its
 *  yellow end, reversed so the best runs stand out. */
export const SCALE: [number, string][] = [
  [0, "#95d840"],
  [0.25, "#3cbb75"],
  [0.5, "#238a8d"],
  [0.75, "#3f4788"],
  [1, "#440154"],
];
export const GREY = "#d9d9d9";

const LOWER_IS_BETTER = ["loss", "error", "err", "mse", "mae", "rmse", "perplexity", "time", "latency"];

export function lowerIsBetter(metric: string): boolean {
  const name = metric.toLowerCase();
  return LOWER_IS_BETTER.some((w) => name.includes(w));
}

/** Relative luminance of a #rrggbb colour (0 black .. 1 white). */
export function luminance(hex: string): number {
  const c = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255).map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4));
  return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
}

export interface LineColours {
  /** one number per run in [0, 1]: 0 grey (not selected), 0.1 .. 1 worst .. best */
  color: number[];
  colorscale: [number, string][];
  cmin: number;
  cmax: number;
  showscale: boolean;
  /** the colour bar: the metric, which way is better, ticks at colour numbers (tickvals) */
  colorbar: { title: string; lower: boolean; tickvals: number[]; ticktext: string[] };
}

/** Line colours by a metric's raw values: the best run 1 (darkest), the worst 0.1; runs outside a
 *  selection made elsewhere (`selected` false) grey. */
export function lineColours(metric: string | null, raw: unknown[], selected: boolean[] | null = null): LineColours {
  const values = raw.map(asNumber);
  const finite = values.filter((v) => Number.isFinite(v));
  const lo = finite.length ? minOf(finite) : 0;
  const hi = finite.length ? maxOf(finite) : 1;
  const lower = metric ? lowerIsBetter(metric) : false;
  const goodness = (v: number): number => {
    if (!Number.isFinite(v)) return 0;
    const t = hi > lo ? (v - lo) / (hi - lo) : 1;
    return lower ? 1 - t : t;
  };
  const anySelected = !!selected && selected.some(Boolean) && !selected.every(Boolean);
  const color = values.map((v, i) => (anySelected && !selected![i] ? 0 : 0.1 + 0.9 * goodness(v)));
  const colorscale: [number, string][] = [[0, GREY], [0.0999, GREY], ...SCALE.map(([p, c]) => [0.1 + 0.9 * p, c] as [number, string])];
  const steps = [0, 0.25, 0.5, 0.75, 1];
  const ticktext = steps.map((t) => formatValue(lower ? hi - t * (hi - lo) : lo + t * (hi - lo)));
  return {
    color,
    colorscale,
    cmin: 0,
    cmax: 1,
    showscale: !!metric && finite.length > 0,
    colorbar: { title: metric ?? "", lower, tickvals: steps.map((t) => 0.1 + 0.9 * t), ticktext },
  };
}

// -- titles ---------------------------------------------------------------------------------------
export interface TitleBox {
  label: string;
  left: number;
  width: number;
  lines: string[];
  /** the box had to shorten the title (the full one shows on hover) */
  shortened: boolean;
}

const BREAK_AFTER = /([_./\-: ])/;

/** Split a title into lines of at most `maxChars`, at _ . / - : or spaces where possible. */
export function wrapTitle(label: string, maxChars: number, maxLines = 3): { lines: string[]; shortened: boolean } {
  const width = Math.max(3, maxChars);
  const parts = label.split(BREAK_AFTER).filter((p) => p !== "");
  const tokens: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    if (BREAK_AFTER.test(parts[i]) && tokens.length) tokens[tokens.length - 1] += parts[i];
    else tokens.push(parts[i]);
  }
  const lines: string[] = [];
  let cur = "";
  for (let tok of tokens) {
    while (tok.length > width) {
      if (cur) lines.push(cur), (cur = "");
      lines.push(tok.slice(0, width));
      tok = tok.slice(width);
    }
    if ((cur + tok).trimEnd().length <= width) cur += tok;
    else {
      if (cur) lines.push(cur.trimEnd());
      cur = tok;
    }
  }
  if (cur) lines.push(cur.trimEnd());
  if (lines.length <= maxLines) return { lines, shortened: false };
  const kept = lines.slice(0, maxLines);
  kept[maxLines - 1] = kept[maxLines - 1].slice(0, width - 1) + "\u2026";
  return { lines: kept, shortened: true };
}

/** Where each axis title goes: a box centred on its axis, as wide as the gap to its neighbours
 *  (so boxes never overlap), kept inside [0, containerWidth] (so nothing is cut), the title
 *  wrapped to fit (`charWidth` px per character). */
export function titleBoxes(labels: string[], axisX: number[], containerWidth: number, charWidth = 7.2, maxLines = 3): TitleBox[] {
  const n = labels.length;
  return labels.map((label, i) => {
    const leftGap = i > 0 ? (axisX[i] - axisX[i - 1]) / 2 : axisX[i];
    const rightGap = i < n - 1 ? (axisX[i + 1] - axisX[i]) / 2 : containerWidth - axisX[i];
    const half = Math.max(8, Math.min(leftGap, rightGap, 130) - 3);
    const left = Math.max(0, axisX[i] - half);
    const right = Math.min(containerWidth, axisX[i] + half);
    const width = Math.max(8, right - left);
    const { lines, shortened } = wrapTitle(label, Math.floor(width / charWidth), maxLines);
    return { label, left, width, lines, shortened };
  });
}

// -- brushing -------------------------------------------------------------------------------------
/** Indices of the runs inside every brushed range (null when nothing is brushed). */
export function brushed(axes: { values: number[] }[], ranges: unknown[]): number[] | null {
  let any = false;
  const n = axes[0]?.values.length ?? 0;
  let keep = new Array<boolean>(n).fill(true);
  axes.forEach((axis, j) => {
    let r = ranges[j] as any;
    if (!r || !Array.isArray(r) || !r.length) return;
    if (!Array.isArray(r[0])) r = [r];
    any = true;
    keep = keep.map((k, i) => k && (r as number[][]).some(([a, b]) => axis.values[i] >= Math.min(a, b) && axis.values[i] <= Math.max(a, b)));
  });
  if (!any) return null;
  return keep.flatMap((k, i) => (k ? [i] : []));
}

export function brushedText(inside: number | null, total: number): string {
  const runs = (n: number): string => `${n.toLocaleString()} run${n === 1 ? "" : "s"}`;
  if (inside === null) return `${runs(total)} \u00b7 drag along an axis to select runs`;
  return `${inside.toLocaleString()} of ${runs(total)} in the brushed ranges`;
}
