// The run page's charts tab: one panel per metric key, drawn by the metric_chart view's
// MetricCharts (step / relative / wall time, smoothing, log y, zoom fetching detail, live while
// RUNNING). Keys with a single value are bars (a lone dot says little); system/ metrics are a
// group of their own. The x axis, log y, smoothing and the key filter are kept in the URL.

import { baseLayout, CONFIG, plotly } from "../../plotly";
import { Selection } from "../../selection";
import { WireFrame, unpack } from "../../wire";
import { ChartData, pairKey, seriesFromBuckets, XAxis } from "../../views/chart-data";
import { drawMetricCharts, MetricCharts, settingsFrom } from "../../views/chart";
import { formatValue, h, runColor, ViewContext } from "../../views/common";
import { empty, errorBox, loading } from "../page";
import { TabRenderer } from "./run-common";

const MAX_KEYS = 100; // per metric-buckets request (nbtrack/server/tracking/_views.py)
const FILTER_FROM = 5; // keys before the filter box shows

/** Frames of the same view operation, one after the other. */
function concatFrames(frames: WireFrame[]): WireFrame | null {
  if (!frames.length) return null;
  const first = frames[0];
  return {
    columns: first.columns,
    dtypes: first.dtypes,
    data: first.columns.map((name) => frames.flatMap((f) => {
      const i = f.columns.indexOf(name);
      return i < 0 ? [] : unpack(f.data[i], f.data);
    })),
  };
}

/** The rows of a frame whose `key` is one of `keys` (each group's charts count only their points). */
function onlyKeys(frame: WireFrame | null, keys: string[]): WireFrame | null {
  if (!frame) return null;
  const k = frame.columns.indexOf("key");
  if (k < 0) return frame;
  const want = new Set(keys);
  const cols = frame.data.map((c) => unpack(c, frame.data));
  const keep = cols[k].map((v, i) => (want.has(String(v)) ? i : -1)).filter((i) => i >= 0);
  return { columns: frame.columns, dtypes: frame.dtypes, data: cols.map((c) => keep.map((i) => c[i])) };
}

export const renderCharts: TabRenderer = (el, state, query, ctx) => {
  const run = state.run;
  const runId: string = run.info.run_id;
  const latest = new Map<string, any>((run.data?.metrics ?? []).map((m: any) => [m.key, m]));
  const keys = [...latest.keys()].sort();
  const disposers: (() => void)[] = [];
  let disposed = false;
  if (!keys.length) {
    el.append(empty("No metrics to chart", "Log one from the run with ", h("code", {}, "nbtrack.log_metric(\"loss\", value, step=i)"), "."));
    return { dispose() {} };
  }
  const note = h("div", { class: "nbt-rp-chart-note", role: "status" });
  const viewCtx: ViewContext = { api: state.api, selection: new Selection(), live: true, note: (t) => (note.textContent = t) };
  const axis = (["step", "relative", "wall"].includes(query.get("x") ?? "") ? query.get("x") : "step") as XAxis;
  const filter = h("input", { type: "search", class: "nbt-rp-chart-filter", placeholder: "Filter metrics", "aria-label": "Filter metrics by key", value: query.get("filter") ?? "" });
  const count = h("span", { class: "nbt-rp-muted nbt-rp-chart-count" });
  const toolbar = h("div", { class: "nbt-app-toolbar" }, keys.length >= FILTER_FROM ? filter : null, count);
  const groups = h("div", { class: "nbt-rp-chart-groups" }, loading("Reading the metric histories…"));
  el.append(toolbar, note, groups);
  const charts: MetricCharts[] = [];

  const applyFilter = (): void => {
    const words = filter.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
    let shown = 0;
    for (const p of el.querySelectorAll<HTMLElement>("[data-key]")) {
      const on = words.every((w) => (p.dataset.key ?? "").toLowerCase().includes(w));
      p.hidden = !on;
      if (on) shown++;
    }
    for (const g of el.querySelectorAll<HTMLElement>(".nbt-rp-chart-group")) {
      g.hidden = !g.querySelector("[data-key]:not([hidden])");
    }
    count.textContent = words.length ? `${shown} of ${keys.length} metrics` : `${keys.length} metric${keys.length === 1 ? "" : "s"}`;
    for (const c of charts) c.resize();
  };
  filter.addEventListener("input", () => {
    ctx.setQuery({ filter: filter.value.trim() || null });
    applyFilter();
  });

  /** Keep the chart controls' state in the URL (the controls belong to the view). */
  const remember = (root: HTMLElement, c: MetricCharts): void => {
    root.addEventListener("click", (e) => {
      const b = (e.target as HTMLElement).closest<HTMLElement>(".nbt-chart-xbutton");
      if (b) setTimeout(() => ctx.setQuery({ x: c.settings.x === "step" ? null : c.settings.x }), 0);
    });
    root.addEventListener("change", () => ctx.setQuery({ logy: c.settings.log_y ? "1" : null, smoothing: c.settings.smoothing ? String(c.settings.smoothing) : null }));
  };

  const group = (title: string, cls: string, ...content: Node[]): HTMLElement => h("section", { class: `nbt-rp-section nbt-rp-chart-group ${cls}` }, h("h2", {}, title), ...content);

  const drawHistories = async (box: HTMLElement, ks: string[], frame: WireFrame | null, withUrl: boolean): Promise<void> => {
    const data: ChartData = { runs: [{ run_id: runId, name: run.info.run_name || runId, status: state.run.info.status, start_time: run.info.start_time }], keys: ks, x_axis: axis, buckets: onlyKeys(frame, ks) };
    const settings = settingsFrom({ log_y: query.get("logy") === "1", smoothing: Number(query.get("smoothing") ?? 0) || 0, live: true }, data);
    const c = await drawMetricCharts(box, data, settings, viewCtx);
    if (disposed) return c.dispose();
    charts.push(c);
    disposers.push(() => c.dispose());
    if (withUrl) remember(box, c);
  };

  const drawBars = async (box: HTMLElement, ks: string[]): Promise<void> => {
    const Plotly = await plotly();
    if (disposed) return;
    const grid = h("div", { class: "nbt-chart-grid nbt-rp-bars" });
    grid.style.gridTemplateColumns = `repeat(auto-fill, minmax(220px, 1fr))`;
    box.append(grid);
    for (const k of ks) {
      const m = latest.get(k);
      const plot = h("div", { class: "nbt-rp-bar-plot" });
      grid.append(h("div", { class: "nbt-chart-panel nbt-rp-bar", "data-key": k }, h("div", { class: "nbt-chart-title", title: k }, k, h("span", { class: "nbt-rp-muted" }, ` ${formatValue(m.value, 6)}`)), plot));
      const trace = { type: "bar", x: [run.info.run_name || runId], y: [m.value], marker: { color: runColor(runId) }, hovertemplate: `${k}: %{y:.6~g}<extra></extra>`, width: [0.5] };
      await Plotly.newPlot(plot, [trace], baseLayout({ height: 180, margin: { l: 48, r: 8, t: 4, b: 28 }, showlegend: false, yaxis: { automargin: true, gridcolor: "#ebebeb", rangemode: "tozero" }, xaxis: { automargin: true } }), CONFIG);
      disposers.push(() => Plotly.purge(plot));
    }
  };

  const draw = async (): Promise<void> => {
    const frames: WireFrame[] = [];
    for (let i = 0; i < keys.length; i += MAX_KEYS) {
      const res = await state.api.view<{ frame: WireFrame }>("metric-buckets", { run_ids: [runId], keys: keys.slice(i, i + MAX_KEYS), x_axis: axis, buckets: 400 });
      frames.push(res.frame);
    }
    if (disposed) return;
    const frame = concatFrames(frames);
    const series = seriesFromBuckets(frame);
    const single = (k: string): boolean => {
      const s = series.get(pairKey(runId, k));
      return !s || (s.points <= 1 && s.x.length <= 1);
    };
    const system = keys.filter((k) => k.startsWith("system/"));
    const user = keys.filter((k) => !k.startsWith("system/"));
    const lines = user.filter((k) => !single(k));
    const bars = user.filter(single);
    const systemLines = system.filter((k) => !single(k));
    groups.textContent = "";
    if (lines.length) {
      const box = h("div");
      groups.append(group("Metrics", "nbt-rp-chart-lines", box));
      await drawHistories(box, lines, frame, true);
    }
    if (bars.length) {
      const box = h("div");
      groups.append(group(lines.length ? "Single values" : "Metrics (one value each)", "nbt-rp-chart-bars", h("div", { class: "nbt-rp-muted" }, "Metrics logged once, drawn as bars."), box));
      await drawBars(box, bars);
    }
    const sysKeys = [...systemLines, ...system.filter(single)];
    if (sysKeys.length) {
      const box = h("div");
      groups.append(group("System metrics", "nbt-rp-chart-system", box));
      if (systemLines.length) await drawHistories(box, systemLines, frame, false);
      if (systemLines.length < sysKeys.length) await drawBars(box, system.filter(single));
    }
    applyFilter();
  };
  draw().catch((e) => {
    if (!disposed) groups.replaceChildren(errorBox(e));
  });
  return {
    dispose() {
      disposed = true;
      for (const d of disposers) d();
    },
  };
};
