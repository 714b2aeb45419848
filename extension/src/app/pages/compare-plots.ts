// The compare page's plots: overlaid metric charts (views/chart.ts, one panel per chosen key),
// parallel coordinates (views/parcoords.ts; a brush sets the page's selection, which the diff
// table and the scatter show) and a scatter of any two columns (plotly, loaded on first use).

import { Api } from "../../api";
import { baseLayout, CONFIG, plotly, themeColors } from "../../plotly";
import { Selection } from "../../selection";
import { ChartData, seriesFromBuckets } from "../../views/chart-data";
import { drawMetricCharts, MetricCharts, settingsFrom } from "../../views/chart";
import { h, runColor, ViewContext } from "../../views/common";
import { CompareData, differs, metricValue } from "../../views/compare";
import { ParcoordsController, renderParcoords } from "../../views/parcoords";
import { WireFrame } from "../../wire";
import { errorBox, loading } from "../page";
import { Column, columnsOf, columnValues, defaultAxes, LoadedRun } from "./compare-data";

export interface Part {
  root: HTMLElement;
  dispose(): void;
  /** settles once the part is first drawn (or failed) */
  ready?: Promise<void>;
}

/** The page's colours for plotly (which takes no CSS variables): the theme's text and grid. */
function themed(extra: Record<string, any>): Record<string, any> {
  const { grid } = themeColors();
  const layout = baseLayout(extra);
  for (const axis of ["xaxis", "yaxis"]) layout[axis] = { gridcolor: grid, zeroline: false, automargin: true, ...(layout[axis] ?? {}) };
  return layout;
}

// -- metric charts ----------------------------------------------------------------------------

export const DEFAULT_CHART_KEYS = 4;

/** Keys of which no run has more than one point: a bar per run says more than a lone marker. */
export function singleValueKeys(frame: WireFrame | null, keys: string[]): string[] {
  const most = new Map<string, number>();
  for (const s of seriesFromBuckets(frame).values()) most.set(s.key, Math.max(most.get(s.key) ?? 0, s.points, s.x.length));
  return keys.filter((k) => (most.get(k) ?? 0) <= 1);
}

/** One bar chart per key: the runs' values side by side, each bar in its run's colour. */
async function drawBars(el: HTMLElement, runs: LoadedRun[], keys: string[]): Promise<HTMLElement[]> {
  const Plotly = await plotly();
  const plots: HTMLElement[] = [];
  for (const key of keys) {
    const plot = h("div", { class: "nbt-cmp-bars-plot" });
    el.append(h("div", { class: "nbt-cmp-bars", "data-key": key }, h("div", { class: "nbt-chart-title", title: key }, `${key} (one value per run)`), plot));
    const has = runs.filter((r) => metricValue(r.metrics[key]) !== null);
    const trace = {
      type: "bar",
      x: has.map((r) => r.name),
      y: has.map((r) => metricValue(r.metrics[key])),
      marker: { color: has.map((r) => runColor(r.run_id)) },
      customdata: has.map((r) => r.run_id),
      hovertemplate: "<b>%{x}</b>: %{y:.5~g}<extra></extra>",
    };
    await Plotly.newPlot(plot, [trace], themed({ height: 260, margin: { l: 56, r: 12, t: 6, b: 60 }, xaxis: { type: "category", automargin: true } }), CONFIG);
    plots.push(plot);
  }
  return plots;
}

/** A metric key picker (checkboxes in a disclosure) and the charts of the chosen keys. */
export function metricCharts(api: Api, runs: LoadedRun[], allKeys: string[], chosen: string[], ctx: ViewContext, onKeys: (keys: string[]) => void): Part {
  let keys = chosen.filter((k) => allKeys.includes(k));
  const summary = h("summary", {});
  const boxes = allKeys.map((k) => {
    const input = h("input", { type: "checkbox", value: k, class: "nbt-cmp-key" });
    input.checked = keys.includes(k);
    return { k, input, label: h("label", { class: "nbt-cmp-key-item", title: k }, input, k) };
  });
  const picker = h("details", { class: "nbt-cmp-keys" }, summary, h("div", { class: "nbt-cmp-key-list" }, boxes.map((b) => b.label)));
  const out = h("div", { class: "nbt-cmp-charts-out" });
  const root = h("div", { class: "nbt-cmp-charts" }, h("div", { class: "nbt-cmp-toolbar" }, picker), out);
  let charts: MetricCharts | null = null;
  let bars: HTMLElement[] = [];
  let disposed = false;
  let generation = 0;
  const label = (): void => {
    summary.textContent = `Metrics: ${keys.length} of ${allKeys.length} charted`;
  };

  const draw = async (): Promise<void> => {
    const mine = ++generation;
    charts?.dispose();
    charts = null;
    purgeBars();
    label();
    if (!keys.length) {
      out.replaceChildren(h("div", { class: "nbt-app-empty" }, h("div", { class: "nbt-app-empty-title" }, allKeys.length ? "No metric chosen" : "These runs logged no metrics"), h("div", { class: "nbt-app-empty-hint" }, allKeys.length ? "Tick metrics in the list above to chart them." : "Log one with nbtrack.log_metric(key, value, step=...).")));
      return;
    }
    out.replaceChildren(loading("Reading the metric histories…"));
    try {
      const res = await api.view<{ frame: WireFrame }>("metric-buckets", { run_ids: runs.map((r) => r.run_id), keys, x_axis: "step", buckets: 400 });
      if (disposed || mine !== generation) return;
      const single = singleValueKeys(res.frame, keys);
      const lines = keys.filter((k) => !single.includes(k));
      out.textContent = "";
      if (lines.length) {
        const data: ChartData = { runs: runs.map((r) => ({ run_id: r.run_id, name: r.name, status: r.status, start_time: r.start_time })), keys: lines, x_axis: "step", buckets: res.frame };
        const drawn = await drawMetricCharts(out, data, settingsFrom({ live: true }, data), ctx);
        if (disposed || mine !== generation) return drawn.dispose();
        charts = drawn;
      }
      if (single.length) {
        const grid = h("div", { class: "nbt-cmp-bars-grid" });
        out.append(grid);
        const drawn = await drawBars(grid, runs, single);
        if (disposed || mine !== generation) purge(drawn);
        else bars = drawn;
      }
    } catch (e) {
      if (!disposed && mine === generation) out.replaceChildren(errorBox(e));
    }
  };
  function purge(plots: HTMLElement[]): void {
    if (plots.length) void plotly().then((P) => plots.forEach((b) => P.purge(b)));
  }
  function purgeBars(): void {
    purge(bars);
    bars = [];
  }
  // the list closes on Escape and on a click outside it, as a menu does
  const close = (e: Event): void => {
    if (!picker.open) return;
    if (e instanceof KeyboardEvent ? e.key === "Escape" : !picker.contains(e.target as Node)) picker.open = false;
  };
  document.addEventListener("click", close);
  document.addEventListener("keydown", close);
  for (const b of boxes) {
    b.input.addEventListener("change", () => {
      keys = boxes.filter((x) => x.input.checked).map((x) => x.k);
      onKeys(keys);
      void draw();
    });
  }
  const ready = draw();
  return {
    root,
    ready,
    dispose: () => {
      disposed = true;
      document.removeEventListener("click", close);
      document.removeEventListener("keydown", close);
      charts?.dispose();
      purgeBars();
    },
  };
}

// -- parallel coordinates ---------------------------------------------------------------------

const PC_PARAMS = 8;
const PC_METRICS = 4;

/** Parallel coordinates of the params that differ and the first metrics; brushing sets `selection`. */
export function parallelCoordinates(api: Api, data: CompareData, metrics: string[], selection: Selection, after: Promise<unknown> = Promise.resolve()): Part {
  const runs = data.runs;
  const params = data.params.filter((k) => differs(runs.map((r) => r.params[k]))).slice(0, PC_PARAMS);
  const keys = metrics.slice(0, PC_METRICS);
  const out = h("div", { class: "nbt-cmp-pc-out" }, loading("Reading the runs' values…"));
  const root = h("div", { class: "nbt-cmp-pc" }, out);
  let pc: ParcoordsController | null = null;
  let disposed = false;
  const draw = async (): Promise<void> => {
    if (!params.length && !keys.length) {
      out.replaceChildren(h("div", { class: "nbt-app-empty" }, h("div", { class: "nbt-app-empty-title" }, "Nothing to draw"), h("div", { class: "nbt-app-empty-hint" }, "The runs have the same params and no metrics.")));
      return;
    }
    try {
      const ids = runs.map((r) => r.run_id);
      const experiments = [...new Set((runs as LoadedRun[]).map((r) => r.experiment_id))];
      const { frame } = await api.view<{ frame: WireFrame }>("runs-wide", { experiment_ids: experiments, params, metrics: keys, limit: ids.length, run_ids: ids });
      if (disposed) return;
      out.textContent = "";
      const spec = {
        view: "parallel_coordinates",
        version: 1,
        options: { experiment_ids: experiments, filter: "", run_ids: ids, params, metrics: keys, color: keys[0] ?? null, max_runs: ids.length, log_axes: "auto" },
        data: { frame, total: ids.length },
      };
      const drawn = await renderParcoords(out, spec, { api, selection, live: false });
      if (disposed) drawn.dispose();
      else pc = drawn;
    } catch (e) {
      if (!disposed) out.replaceChildren(errorBox(e));
    }
  };
  void after.finally(() => !disposed && draw());
  return {
    root,
    dispose: () => {
      disposed = true;
      pc?.dispose();
    },
  };
}

// -- scatter ----------------------------------------------------------------------------------

function columnPicker(label: string, cls: string, columns: Column[], chosen: string, onChange: (id: string) => void): HTMLElement {
  const group = (kind: "metric" | "param", title: string): HTMLElement =>
    h("optgroup", { label: title }, columns.filter((c) => c.kind === kind).map((c) => h("option", { value: c.id, selected: c.id === chosen }, c.key)));
  const select = h("select", { class: cls, "aria-label": label }, group("metric", "Metrics (latest)"), group("param", "Params"));
  select.addEventListener("change", () => onChange(select.value));
  return h("label", { class: "nbt-cmp-pick" }, label, " ", select);
}

/** A scatter of two columns (param or metric), one marker per run in its colour. */
export function scatter(data: CompareData, axes: [string | null, string | null], selection: Selection, onAxes: (x: string, y: string) => void, after: Promise<unknown> = Promise.resolve()): Part {
  const runs = data.runs;
  const columns = columnsOf(data);
  const ids = new Set(columns.map((c) => c.id));
  const [dx, dy] = defaultAxes(runs, columns);
  let x = axes[0] && ids.has(axes[0]) ? axes[0] : dx;
  let y = axes[1] && ids.has(axes[1]) ? axes[1] : dy;
  const plot = h("div", { class: "nbt-cmp-scatter-plot" });
  const note = h("div", { class: "nbt-cmp-note" });
  const root = h("div", { class: "nbt-cmp-scatter" });
  let Plotly: any = null;
  let disposed = false;
  let drawn = false;
  if (!columns.length) {
    root.append(h("div", { class: "nbt-app-empty" }, h("div", { class: "nbt-app-empty-title" }, "No params or metrics to plot"), h("div", { class: "nbt-app-empty-hint" }, "Log params and metrics on these runs to plot one against another.")));
    return { root, dispose() {} };
  }
  const byId = new Map(columns.map((c) => [c.id, c]));
  const title = (c: Column): string => `${c.key} (${c.kind === "metric" ? "metric" : "param"})`;

  const draw = async (): Promise<void> => {
    const cx = byId.get(x)!;
    const cy = byId.get(y)!;
    const vx = columnValues(runs, cx);
    const vy = columnValues(runs, cy);
    const picked = new Set(selection.runIds);
    const on = runs.map((r) => r.run_id).filter((_, i) => vx.values[i] !== null && vy.values[i] !== null);
    const both = runs.filter((r) => on.includes(r.run_id));
    const idx = both.map((r) => runs.indexOf(r));
    const trace = {
      type: "scatter",
      mode: "markers",
      x: idx.map((i) => vx.values[i]),
      y: idx.map((i) => vy.values[i]),
      text: both.map((r) => r.name),
      customdata: both.map((r) => r.run_id),
      hovertemplate: `<b>%{text}</b><br>${cx.key}: %{x}<br>${cy.key}: %{y}<extra></extra>`,
      marker: {
        size: 11,
        color: both.map((r) => runColor(r.run_id)),
        opacity: both.map((r) => (!picked.size || picked.has(r.run_id) ? 0.95 : 0.2)),
        line: { width: 1, color: "rgba(0,0,0,0.35)" },
      },
    };
    const layout = themed({
      height: 380,
      margin: { l: 64, r: 16, t: 12, b: 52 },
      hovermode: "closest",
      xaxis: { title: { text: title(cx) }, type: vx.numeric ? "linear" : "category" },
      yaxis: { title: { text: title(cy) }, type: vy.numeric ? "linear" : "category" },
    });
    const left = runs.length - both.length;
    note.textContent = left ? `${left} run${left === 1 ? "" : "s"} without both values not drawn` : `${both.length} runs`;
    Plotly = Plotly ?? (await plotly());
    if (disposed) return;
    await (drawn ? Plotly.react : Plotly.newPlot)(plot, [trace], layout, CONFIG);
    drawn = true;
    plot.dataset.x = x;
    plot.dataset.y = y;
  };
  const redraw = (): void => {
    void draw().catch((e) => !disposed && root.replaceChildren(errorBox(e)));
  };
  const swap = h("button", { type: "button", class: "nbt-cmp-swap", title: "Swap x and y" }, "\u21c4 swap");
  const xs = columnPicker("x", "nbt-cmp-x", columns, x, (v) => ((x = v), onAxes(x, y), redraw()));
  const ys = columnPicker("y", "nbt-cmp-y", columns, y, (v) => ((y = v), onAxes(x, y), redraw()));
  swap.addEventListener("click", () => {
    [x, y] = [y, x];
    xs.querySelector("select")!.value = x;
    ys.querySelector("select")!.value = y;
    onAxes(x, y);
    redraw();
  });
  root.append(h("div", { class: "nbt-cmp-toolbar" }, xs, ys, swap, note), plot);
  const unsubscribe = selection.subscribe(() => drawn && redraw());
  plot.append(loading("Drawing…"));
  void after.finally(() => {
    if (disposed) return;
    plot.textContent = "";
    redraw();
  });
  return {
    root,
    dispose: () => {
      disposed = true;
      unsubscribe();
      if (drawn && Plotly) Plotly.purge(plot);
    },
  };
}

