// The "compare" view: runs side by side (attributes, params, metrics, tags), rows whose values
// differ highlighted, the best value of each metric marked, "—" where a run has no value; below,
// the runs' metric histories overlaid, drawn by chart.ts's MetricCharts.

import { ChartData } from "./chart-data";
import { drawMetricCharts, MetricCharts, settingsFrom } from "./chart";
import { formatValue, h, isMissing, MISSING, RenderedView, runColor, ViewContext, ViewSpec } from "./common";
import { registerView } from "./index";

export interface CompareRun {
  run_id: string;
  name: string;
  status: string;
  start_time?: number | null;
  params: Record<string, string | null>;
  /** latest values; non-finite ones spelled "NaN", "Infinity", "-Infinity" as on the wire */
  metrics: Record<string, number | string | null>;
  tags: Record<string, string>;
}

/** What the kernel sends (nbtrack/ui/compare.py CompareView.data). */
export interface CompareData {
  runs: CompareRun[];
  params: string[];
  metrics: string[];
  tags: string[];
  /** metric key -> whether higher is better */
  higher: Record<string, boolean>;
  chart: ChartData | null;
}

const WORDS: Record<string, number> = { NaN: NaN, Infinity: Infinity, "-Infinity": -Infinity };

export function metricValue(v: unknown): number | null {
  if (v === null || v === undefined) return null;
  if (typeof v === "string") return v in WORDS ? WORDS[v] : Number(v);
  return Number(v);
}

/** True when the values are not all the same (a missing value counts as a value). */
export function differs(values: unknown[]): boolean {
  const seen = new Set(values.map((v) => (isMissing(v) ? "\u0000missing" : String(v))));
  return seen.size > 1;
}

/** The run with the best value of `key` (higher or lower is better), or null; NaN never wins. */
export function bestRun(data: CompareData, key: string): string | null {
  const higher = data.higher[key] ?? true;
  let best: string | null = null;
  let value = NaN;
  for (const run of data.runs) {
    const v = metricValue(run.metrics[key]);
    if (v === null || Number.isNaN(v)) continue;
    if (best === null || (higher ? v > value : v < value)) (best = run.run_id), (value = v);
  }
  return best;
}

function started(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return MISSING;
  const d = new Date(ms);
  const p = (n: number): string => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export interface CompareTableOptions {
  /** leave out params and tags that are the same everywhere */
  onlyDiffering?: boolean;
  /** with onlyDiffering, leave out metrics that are the same everywhere too (the web UI's compare) */
  metricsToo?: boolean;
  /** each run's name links there (the web UI's run page) */
  runHref?: (runId: string) => string;
}

/** The diff table; with `onlyDiffering`, params and tags that are the same everywhere are left out.
 *  Every cell of a run's column carries its `data-run`. */
export function compareTable(data: CompareData, options: boolean | CompareTableOptions = false): HTMLTableElement {
  const o: CompareTableOptions = typeof options === "boolean" ? { onlyDiffering: options } : options;
  const onlyDiffering = !!o.onlyDiffering;
  const n = data.runs.length;
  const head = h(
    "tr",
    {},
    h("th", {}),
    data.runs.map((r) =>
      h("th", { class: "nbt-compare-run", "data-run": r.run_id, title: r.run_id }, h("span", { class: "nbt-chart-swatch", style: { background: runColor(r.run_id) } }), o.runHref ? h("a", { href: o.runHref(r.run_id), class: "nbt-compare-link" }, r.name) : r.name, h("div", { class: "nbt-compare-id" }, r.run_id.slice(0, 8))),
    ),
  );
  const body = h("tbody", {});
  const section = (title: string): void => {
    body.append(h("tr", { class: "nbt-compare-section" }, h("td", { colspan: String(n + 1) }, title)));
  };
  const row = (label: string, values: unknown[], highlight: boolean, kind: string): void => {
    const cells = values.map((v, i) => h("td", { class: isMissing(v) ? "nbt-missing" : "", "data-run": data.runs[i].run_id }, formatValue(v)));
    body.append(h("tr", { class: `nbt-compare-row${highlight ? " nbt-differs" : ""}`, "data-kind": kind, "data-key": label }, h("th", { class: "nbt-compare-key" }, label), cells));
  };
  section("Attributes");
  row("status", data.runs.map((r) => r.status), false, "attr");
  row("started", data.runs.map((r) => started(r.start_time)), false, "attr");
  const paramDiff = data.params.filter((k) => differs(data.runs.map((r) => r.params[k])));
  section(`Params (${paramDiff.length} of ${data.params.length} differ)`);
  for (const k of data.params) {
    const d = paramDiff.includes(k);
    if (!onlyDiffering || d) row(k, data.runs.map((r) => r.params[k]), d, "param");
  }
  section("Metrics (latest value; \u2605 best)");
  for (const k of data.metrics) {
    const best = bestRun(data, k);
    const values = data.runs.map((r) => metricValue(r.metrics[k]));
    const arrow = data.higher[k] ?? true ? "\u2191" : "\u2193";
    const cells = data.runs.map((r, i) => {
      const v = values[i];
      const isBest = best === r.run_id;
      return h("td", { class: `${isMissing(v) ? "nbt-missing" : ""}${isBest ? " nbt-best" : ""}`.trim(), "data-run": r.run_id }, formatValue(v === null ? null : v), isBest ? " \u2605" : "");
    });
    if (onlyDiffering && o.metricsToo && !differs(values)) continue;
    body.append(h("tr", { class: `nbt-compare-row${differs(values) ? " nbt-differs" : ""}`, "data-kind": "metric", "data-key": k }, h("th", { class: "nbt-compare-key" }, `${k} ${arrow}`), cells));
  }
  if (data.tags.length) {
    const tagDiff = data.tags.filter((k) => differs(data.runs.map((r) => r.tags[k])));
    section(`Tags (${tagDiff.length} of ${data.tags.length} differ)`);
    for (const k of data.tags) {
      const d = tagDiff.includes(k);
      if (!onlyDiffering || d) row(k, data.runs.map((r) => r.tags[k]), d, "tag");
    }
  }
  return h("table", { class: "nbt-compare-table" }, h("thead", {}, head), body);
}

class CompareView implements RenderedView {
  charts: MetricCharts | null = null;
  readonly root = h("div", { class: "nbt-compare" });

  constructor(
    el: HTMLElement,
    private readonly data: CompareData,
  ) {
    const only = h("input", { type: "checkbox", class: "nbt-compare-only" });
    const wrap = h("div", { class: "nbt-compare-scroll" }, compareTable(data));
    only.addEventListener("change", () => wrap.replaceChildren(compareTable(this.data, only.checked)));
    this.root.append(h("label", { class: "nbt-chart-check" }, only, "only differing params and tags"), wrap);
    el.append(this.root);
  }

  async drawCharts(ctx: ViewContext, options: Record<string, any>): Promise<void> {
    if (!this.data.chart || !this.data.chart.keys.length) return;
    const el = h("div", { class: "nbt-compare-charts" });
    this.root.append(el);
    this.charts = await drawMetricCharts(el, this.data.chart, settingsFrom(options, this.data.chart), ctx);
  }

  resize(): void {
    this.charts?.resize();
  }

  dispose(): void {
    this.charts?.dispose();
    this.root.remove();
  }
}

registerView("compare", async (el: HTMLElement, spec: ViewSpec, ctx: ViewContext) => {
  const view = new CompareView(el, spec.data as CompareData);
  try {
    await view.drawCharts(ctx, {});
  } catch (e) {
    view.dispose();
    throw e;
  }
  return view;
});
