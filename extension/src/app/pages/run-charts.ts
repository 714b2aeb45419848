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
const MAX_PANELS = 24; // charts drawn a group; the filter finds the others

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
  const latestOf = (): Map<string, any> => new Map<string, any>((state.run.data?.metrics ?? []).map((m: any) => [m.key, m]));
  let latest = latestOf();
  let keys = [...latest.keys()].sort();
  // what the URL says, kept here as it changes (the route's query object is replaced by setQuery)
  const view = {
    x: (["step", "relative", "wall"].includes(query.get("x") ?? "") ? query.get("x") : "step") as XAxis,
    logY: query.get("logy") === "1",
    smoothing: Math.min(0.99, Math.max(0, Number(query.get("smoothing") ?? 0) || 0)),
  };
  const note = h("div", { class: "nbt-rp-chart-note", role: "status" });
  const viewCtx: ViewContext = { api: state.api, selection: new Selection(), live: true, note: (t) => (note.textContent = t) };
  const filter = h("input", { type: "search", class: "nbt-rp-chart-filter", placeholder: "Filter metrics (words in the key)", "aria-label": "Filter metrics by key", value: query.get("filter") ?? "" });
  const count = h("span", { class: "nbt-rp-muted nbt-rp-chart-count" });
  const toolbar = h("div", { class: "nbt-app-toolbar" }, filter, count);
  const groups = h("div", { class: "nbt-rp-chart-groups" }, loading("Reading the metric histories…"));
  el.append(toolbar, note, groups);
  let disposers: (() => void)[] = [];
  let disposed = false;
  let generation = 0;
  let points: Map<string, number> | null = null; // points per key: a single one is a bar

  /** Keep the chart controls' state in the URL (the controls belong to the view). */
  const remember = (root: HTMLElement, c: MetricCharts): void => {
    root.addEventListener("click", (e) => {
      if (!(e.target as HTMLElement).closest(".nbt-chart-xbutton")) return;
      setTimeout(() => {
        view.x = c.settings.x;
        ctx.setQuery({ x: view.x === "step" ? null : view.x });
      }, 0);
    });
    root.addEventListener("change", () => {
      view.logY = c.settings.log_y;
      view.smoothing = c.settings.smoothing;
      ctx.setQuery({ logy: view.logY ? "1" : null, smoothing: view.smoothing ? String(view.smoothing) : null });
    });
  };

  const group = (title: string, cls: string, ...content: (Node | null)[]): HTMLElement => h("section", { class: `nbt-rp-section nbt-rp-chart-group ${cls}` }, h("h2", {}, title), ...content);
  const capped = (shown: number, all: number): HTMLElement | null => (shown < all ? h("div", { class: "nbt-rp-muted nbt-rp-chart-capped" }, `${shown} of ${all} charts drawn: type in the filter to find the others.`) : null);

  const buckets = async (ks: string[], n: number): Promise<WireFrame | null> => {
    const frames: WireFrame[] = [];
    for (let i = 0; i < ks.length; i += MAX_KEYS) {
      const res = await state.api.view<{ frame: WireFrame }>("metric-buckets", { run_ids: [runId], keys: ks.slice(i, i + MAX_KEYS), x_axis: view.x, buckets: n });
      frames.push(res.frame);
    }
    return concatFrames(frames);
  };

  const drawHistories = async (box: HTMLElement, ks: string[], frame: WireFrame | null, withUrl: boolean, mine: number): Promise<void> => {
    const data: ChartData = { runs: [{ run_id: runId, name: run.info.run_name || runId, status: state.run.info.status, start_time: run.info.start_time }], keys: ks, x_axis: view.x, buckets: onlyKeys(frame, ks) };
    const c = await drawMetricCharts(box, data, settingsFrom({ log_y: view.logY, smoothing: view.smoothing, live: true }, data), viewCtx);
    if (disposed || mine !== generation) return c.dispose();
    disposers.push(() => c.dispose());
    if (withUrl) remember(box, c);
  };

  const drawBars = async (box: HTMLElement, ks: string[], mine: number): Promise<void> => {
    const Plotly = await plotly();
    const css = getComputedStyle(document.documentElement);
    const theme = { grid: css.getPropertyValue("--jp-border-color3").trim() || "#ebebeb", text: css.getPropertyValue("--jp-ui-font-color1").trim() || "#2a3f5f" };
    const grid = h("div", { class: "nbt-chart-grid nbt-rp-bars" });
    grid.style.gridTemplateColumns = "repeat(auto-fill, minmax(220px, 1fr))";
    box.append(grid);
    for (const k of ks) {
      if (disposed || mine !== generation) return;
      const m = latest.get(k);
      const plot = h("div", { class: "nbt-rp-bar-plot" });
      grid.append(h("div", { class: "nbt-chart-panel nbt-rp-bar", "data-key": k }, h("div", { class: "nbt-chart-title", title: k }, k, h("span", { class: "nbt-rp-muted" }, ` ${formatValue(m.value, 6)}`)), plot));
      const trace = { type: "bar", x: [run.info.run_name || runId], y: [m.value], marker: { color: runColor(runId) }, hovertemplate: `${k}: %{y:.6~g}<extra></extra>`, width: [0.5] };
      const layout = baseLayout({ height: 180, margin: { l: 48, r: 8, t: 4, b: 28 }, showlegend: false, yaxis: { automargin: true, gridcolor: theme.grid, rangemode: "tozero" }, xaxis: { automargin: true } });
      layout.font = { ...layout.font, color: theme.text };
      await Plotly.newPlot(plot, [trace], layout, CONFIG);
      disposers.push(() => Plotly.purge(plot));
    }
  };

  const clear = (): void => {
    for (const d of disposers) d();
    disposers = [];
  };

  /** Draw the groups of the keys the filter matches (at most MAX_PANELS charts a group). */
  const draw = async (): Promise<void> => {
    const mine = ++generation;
    filter.hidden = keys.length < FILTER_FROM;
    if (!keys.length) {
      count.textContent = "";
      groups.replaceChildren(empty("No metrics to chart", "Log one from the run with ", h("code", {}, "nbtrack.log_metric(\"loss\", value, step=i)"), state.run.info.status === "RUNNING" ? "; this tab draws it as it arrives." : "."));
      return;
    }
    if (points === null) {
      // one bucket a key: how many points each has, to tell single values from histories
      const series = seriesFromBuckets(await buckets(keys, 1));
      points = new Map(keys.map((k) => [k, series.get(pairKey(runId, k))?.points ?? 0]));
    }
    if (disposed || mine !== generation) return;
    const words = filter.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
    const match = keys.filter((k) => words.every((w) => k.toLowerCase().includes(w)));
    count.textContent = words.length ? `${match.length} of ${keys.length} metrics` : `${keys.length} metric${keys.length === 1 ? "" : "s"}`;
    const single = (k: string): boolean => (points!.get(k) ?? 0) <= 1;
    const isSystem = (k: string): boolean => k.startsWith("system/");
    const lines = match.filter((k) => !isSystem(k) && !single(k));
    const bars = match.filter((k) => !isSystem(k) && single(k));
    const sysLines = match.filter((k) => isSystem(k) && !single(k));
    const sysBars = match.filter((k) => isSystem(k) && single(k));
    const [shownLines, shownBars, shownSysLines, shownSysBars] = [lines, bars, sysLines, sysBars].map((ks) => ks.slice(0, MAX_PANELS));
    const frame = await buckets([...shownLines, ...shownSysLines], 400);
    if (disposed || mine !== generation) return;
    clear();
    groups.textContent = "";
    if (!match.length) {
      groups.append(empty("No metric matches the filter", `None of the ${keys.length} keys holds every word of "${filter.value.trim()}".`));
      return;
    }
    if (lines.length) {
      const box = h("div");
      groups.append(group("Metrics", "nbt-rp-chart-lines", capped(shownLines.length, lines.length), box));
      await drawHistories(box, shownLines, frame, true, mine);
    }
    if (bars.length) {
      const box = h("div");
      groups.append(group(lines.length ? "Single values" : "Metrics (one value each)", "nbt-rp-chart-bars", h("div", { class: "nbt-rp-muted" }, "Metrics logged once, drawn as bars."), capped(shownBars.length, bars.length), box));
      await drawBars(box, shownBars, mine);
    }
    if (sysLines.length || sysBars.length) {
      const box = h("div");
      groups.append(group("System metrics", "nbt-rp-chart-system", capped(shownSysLines.length + shownSysBars.length, sysLines.length + sysBars.length), box));
      if (shownSysLines.length) await drawHistories(box, shownSysLines, frame, false, mine);
      if (shownSysBars.length) await drawBars(box, shownSysBars, mine);
    }
  };
  const redraw = (): void => {
    draw().catch((e) => {
      if (!disposed) groups.replaceChildren(errorBox(e));
    });
  };
  let typing: ReturnType<typeof setTimeout> | undefined;
  filter.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => {
      ctx.setQuery({ filter: filter.value.trim() || null });
      redraw();
    }, 250);
  });
  // a running run may log new keys: draw them as they arrive (the charts append the points of known ones)
  const onRefresh = (): void => {
    const now = latestOf();
    if (![...now.keys()].some((k) => !latest.has(k))) return;
    latest = now;
    keys = [...now.keys()].sort();
    points = null;
    redraw();
  };
  state.listeners.add(onRefresh);
  redraw();
  return {
    dispose() {
      state.listeners.delete(onRefresh);
      disposed = true;
      clearTimeout(typing);
      clear();
    },
  };
};
