// The "metric_chart" view: metric histories of runs overlaid, one plotly panel per key in a CSS
// grid (no subplot domains, so any number of keys), an HTML legend that wraps, controls for the
// x axis, smoothing, log y and the min/max band. Zooming fetches the detail of the visible range
// (metric-buckets); while a shown run is RUNNING, points logged since each line's cursor are
// appended (metric-points-after) until every run has ended or the view is disposed.
// compare.ts draws its charts with MetricCharts too.

import { baseLayout, CONFIG, plotly, themeColors } from "../plotly";
import { WireFrame } from "../wire";
import {
  appendPoints,
  ChartData,
  cursors,
  fromDisplay,
  gridColumns,
  pairKey,
  panelTraces,
  RunInfo,
  Series,
  seriesFromBuckets,
  toDisplay,
  X_LABELS,
  XAxis,
} from "./chart-data";
import { h, RenderedView, runColor, ViewContext, ViewSpec } from "./common";
import { registerView } from "./index";

export interface ChartSettings {
  x: XAxis;
  smoothing: number;
  log_y: boolean;
  band: boolean;
  live: boolean;
  buckets: number;
}

export const LIVE_INTERVAL_MS = 500;
const PANEL_HEIGHT = 260;

export function settingsFrom(options: Record<string, any>, data: ChartData): ChartSettings {
  return {
    x: (data.x_axis ?? options.x ?? "step") as XAxis,
    smoothing: Number(options.smoothing ?? 0) || 0,
    log_y: !!options.log_y,
    band: options.band ?? true,
    live: options.live ?? true,
    buckets: Number(options.buckets ?? 400) || 400,
  };
}

interface Panel {
  key: string;
  box: HTMLElement;
  plot: HTMLElement;
  zoom: [number, number] | null;
  timer?: ReturnType<typeof setTimeout>;
  drawn: boolean;
}

/** The charts of one view: build() lays out the DOM, draw() plots every panel. */
export class MetricCharts implements RenderedView {
  readonly root: HTMLElement;
  readonly panels: Panel[] = [];
  runs: RunInfo[];
  series: Map<string, Series>;
  private readonly hidden = new Set<string>();
  private readonly status = h("span", { class: "nbt-chart-status" });
  private readonly legend = h("div", { class: "nbt-chart-legend" });
  private readonly grid = h("div", { class: "nbt-chart-grid" });
  private Plotly: any = null;
  private revision = 0;
  private liveTimer: ReturnType<typeof setTimeout> | null = null;
  private observer: ResizeObserver | null = null;
  private resizeFrame = 0;
  private redrawFrame = 0;
  private disposed = false;
  polls = 0;

  constructor(
    el: HTMLElement,
    private readonly data: ChartData,
    readonly settings: ChartSettings,
    private readonly ctx: ViewContext,
  ) {
    this.runs = (data.runs ?? []).map((r) => ({ ...r }));
    this.series = seriesFromBuckets(data.buckets);
    this.root = h("div", { class: "nbt-chart" });
    el.append(this.root);
    this.build();
  }

  get keys(): string[] {
    return this.data.keys ?? [];
  }

  // -- DOM ------------------------------------------------------------------------------------
  private build(): void {
    const s = this.settings;
    const axes = h("span", { class: "nbt-chart-x", role: "group", title: "x axis" });
    for (const axis of ["step", "relative", "wall"] as XAxis[]) {
      const button = h("button", { class: "nbt-chart-xbutton", "data-axis": axis, type: "button", onclick: () => void this.setAxis(axis) }, axis);
      if (!this.ctx.api && axis !== s.x) {
        button.disabled = true;
        button.title = "needs the store: re-run the cell with JupyterLab's nbtrack extension serving it";
      }
      axes.append(button);
    }
    const value = h("span", { class: "nbt-chart-smoothing-value" }, s.smoothing.toFixed(2));
    const slider = h("input", { type: "range", min: "0", max: "0.99", step: "0.01", value: String(s.smoothing), class: "nbt-chart-smoothing" });
    slider.addEventListener("input", () => {
      s.smoothing = Number(slider.value);
      value.textContent = s.smoothing.toFixed(2);
      this.redrawAll();
    });
    const checkbox = (label: string, checked: boolean, on: (v: boolean) => void, cls: string): HTMLElement => {
      const input = h("input", { type: "checkbox", class: cls });
      input.checked = checked;
      input.addEventListener("change", () => on(input.checked));
      return h("label", { class: "nbt-chart-check" }, input, label);
    };
    const controls = h(
      "div",
      { class: "nbt-chart-controls" },
      axes,
      h("label", { class: "nbt-chart-check" }, "smoothing ", slider, value),
      checkbox("log y", s.log_y, (v) => ((s.log_y = v), this.redrawAll()), "nbt-chart-logy"),
      checkbox("min/max band", s.band, (v) => ((s.band = v), this.redrawAll()), "nbt-chart-band"),
      this.status,
    );
    this.root.append(controls, this.legend, this.grid);
    this.markAxis();
    this.buildLegend();
    if (!this.keys.length || !this.runs.length) {
      this.grid.append(h("div", { class: "nbt-chart-empty" }, this.runs.length ? "no metric history to show" : "select runs to chart them"));
    }
    for (const key of this.keys) {
      const plot = h("div", { class: "nbt-chart-plot" });
      const box = h("div", { class: "nbt-chart-panel", "data-key": key }, h("div", { class: "nbt-chart-title", title: key }, key), plot);
      this.grid.append(box);
      this.panels.push({ key, box, plot, zoom: null, drawn: false });
    }
    this.layoutGrid();
    this.updateStatus();
  }

  private markAxis(): void {
    for (const b of this.root.querySelectorAll<HTMLButtonElement>(".nbt-chart-xbutton")) {
      b.classList.toggle("nbt-active", b.dataset.axis === this.settings.x);
    }
  }

  private buildLegend(): void {
    this.legend.textContent = "";
    for (const run of this.runs) {
      const item = h(
        "span",
        { class: "nbt-chart-legend-item", title: `${run.name} (${run.run_id}, ${run.status})`, "data-run": run.run_id },
        h("span", { class: "nbt-chart-swatch", style: { background: runColor(run.run_id) } }),
        run.name,
      );
      item.classList.toggle("nbt-off", this.hidden.has(run.run_id));
      item.addEventListener("click", () => {
        if (this.hidden.has(run.run_id)) this.hidden.delete(run.run_id);
        else this.hidden.add(run.run_id);
        this.buildLegend();
        this.redrawAll();
      });
      this.legend.append(item);
    }
    if (this.data.hidden_runs) this.legend.append(h("span", { class: "nbt-chart-more" }, `+${this.data.hidden_runs} more runs not shown`));
  }

  private layoutGrid(): void {
    const width = this.root.clientWidth || this.root.parentElement?.clientWidth || 0;
    this.grid.style.gridTemplateColumns = `repeat(${gridColumns(this.panels.length, width)}, minmax(0, 1fr))`;
  }

  updateStatus(): void {
    let points = 0;
    let drawn = 0;
    for (const s of this.series.values()) (points += s.points), (drawn += s.x.length);
    const running = this.runs.filter((r) => r.status === "RUNNING").length;
    const parts = [`${this.runs.length} run${this.runs.length === 1 ? "" : "s"}`, `${points.toLocaleString()} points${drawn < points ? ` (drawn ${drawn.toLocaleString()})` : ""}`];
    if (running) parts.push(this.liveTimer !== null || this.polls ? `\u25cf live (${running} running)` : `${running} running`);
    this.status.textContent = parts.join(" \u00b7 ");
    this.status.classList.toggle("nbt-chart-live", running > 0 && this.liveTimer !== null);
  }

  // -- plotting --------------------------------------------------------------------------------
  private traces(panel: Panel): any[] {
    const s = this.settings;
    return panelTraces(panel.key, this.runs, this.series, { axis: s.x, smoothing: s.smoothing, band: s.band, hidden: this.hidden, color: runColor });
  }

  private layout(): Record<string, any> {
    const s = this.settings;
    const grid = themeColors().grid;
    return baseLayout({
      height: PANEL_HEIGHT,
      margin: { l: 56, r: 12, t: 6, b: 40 },
      showlegend: false,
      hovermode: "x unified",
      uirevision: `r${this.revision}`,
      xaxis: { type: s.x === "wall" ? "date" : "linear", title: { text: X_LABELS[s.x], standoff: 6 }, automargin: true, gridcolor: grid, zeroline: false },
      yaxis: { type: s.log_y ? "log" : "linear", automargin: true, gridcolor: grid, zeroline: false },
    });
  }

  async draw(): Promise<void> {
    if (!this.panels.length) return;
    this.Plotly = await plotly();
    if (this.disposed) return;
    for (const panel of this.panels) {
      if (this.disposed) return;
      await this.Plotly.newPlot(panel.plot, this.traces(panel), this.layout(), CONFIG);
      panel.drawn = true;
      (panel.plot as any).on("plotly_relayout", (ev: Record<string, any>) => this.onRelayout(panel, ev));
    }
    if (typeof ResizeObserver !== "undefined") {
      this.observer = new ResizeObserver(() => this.resize());
      this.observer.observe(this.root);
    }
    this.scheduleLive();
  }

  private redraw(panel: Panel): void {
    if (!this.Plotly || !panel.drawn || this.disposed) return;
    void this.Plotly.react(panel.plot, this.traces(panel), this.layout(), CONFIG);
  }

  redrawAll(): void {
    this.updateStatus();
    if (this.redrawFrame) return;
    const run = (): void => {
      this.redrawFrame = 0;
      for (const p of this.panels) this.redraw(p);
    };
    this.redrawFrame = typeof requestAnimationFrame !== "undefined" ? requestAnimationFrame(run) : (setTimeout(run, 16) as unknown as number);
  }

  resize(): void {
    if (this.resizeFrame || this.disposed) return;
    const run = (): void => {
      this.resizeFrame = 0;
      if (this.disposed) return;
      this.layoutGrid();
      for (const p of this.panels) if (p.drawn && this.Plotly) void this.Plotly.Plots.resize(p.plot);
    };
    this.resizeFrame = typeof requestAnimationFrame !== "undefined" ? requestAnimationFrame(run) : (setTimeout(run, 16) as unknown as number);
  }

  // -- the x axis and zoom ---------------------------------------------------------------------
  private async fetch(keys: string[], xRange: [number, number] | null): Promise<Map<string, Series>> {
    const api = this.ctx.api;
    if (!api) return new Map();
    const body: Record<string, unknown> = { run_ids: this.runs.map((r) => r.run_id), keys, x_axis: this.settings.x, buckets: this.settings.buckets };
    if (xRange) body.x_range = xRange;
    const res = await api.view<{ frame: WireFrame }>("metric-buckets", body);
    return seriesFromBuckets(res.frame);
  }

  /** Replace lines with fetched ones, keeping each line's live cursor where it was furthest. */
  private replace(keys: string[], fetched: Map<string, Series>): void {
    for (const run of this.runs) {
      for (const key of keys) {
        const k = pairKey(run.run_id, key);
        const old = this.series.get(k);
        const next = fetched.get(k);
        if (!next) {
          this.series.delete(k);
          continue;
        }
        if (old && (old.lastStep > next.lastStep || (old.lastStep === next.lastStep && old.lastTs > next.lastTs))) {
          next.lastStep = old.lastStep;
          next.lastTs = old.lastTs;
        }
        this.series.set(k, next);
      }
    }
  }

  async setAxis(axis: XAxis): Promise<void> {
    if (axis === this.settings.x || !this.ctx.api) return;
    const previous = this.settings.x;
    this.settings.x = axis;
    try {
      const fetched = await this.fetch(this.keys, null);
      this.series = new Map();
      this.replace(this.keys, fetched);
    } catch (e) {
      this.settings.x = previous;
      this.ctx.note?.(`nbtrack could not read the ${axis} axis: ${(e as Error).message}`);
      return;
    }
    this.revision += 1; // a new axis forgets the zoom
    for (const p of this.panels) p.zoom = null;
    this.markAxis();
    this.redrawAll();
  }

  private onRelayout(panel: Panel, ev: Record<string, any>): void {
    let target: [number, number] | null | undefined;
    if (ev["xaxis.autorange"]) target = null;
    else if (ev["xaxis.range[0]"] !== undefined && ev["xaxis.range[1]"] !== undefined) target = [ev["xaxis.range[0]"], ev["xaxis.range[1]"]];
    else if (Array.isArray(ev["xaxis.range"])) target = [ev["xaxis.range"][0], ev["xaxis.range"][1]];
    if (target === undefined || !this.ctx.api) return;
    const range = target && ([fromDisplay(target[0], this.settings.x), fromDisplay(target[1], this.settings.x)].sort((a, b) => a - b) as [number, number]);
    if (range === null && panel.zoom === null) return;
    if (panel.timer) clearTimeout(panel.timer);
    // a drag sends several relayouts: fetch once it settles
    panel.timer = setTimeout(() => void this.zoom(panel, range), 200);
  }

  async zoom(panel: Panel, range: [number, number] | null): Promise<void> {
    const axis = this.settings.x;
    try {
      const fetched = await this.fetch([panel.key], range);
      if (this.disposed || axis !== this.settings.x) return;
      panel.zoom = range;
      this.replace([panel.key], fetched);
      this.redraw(panel);
      this.updateStatus();
    } catch (e) {
      this.ctx.note?.(`nbtrack could not read the zoomed range: ${(e as Error).message}`);
    }
  }

  // -- live ------------------------------------------------------------------------------------
  private scheduleLive(): void {
    if (this.disposed || !this.settings.live || !this.ctx.live || !this.ctx.api) return;
    if (!this.runs.some((r) => r.status === "RUNNING")) {
      this.liveTimer = null;
      this.updateStatus();
      return;
    }
    this.liveTimer = setTimeout(() => void this.poll(), LIVE_INTERVAL_MS);
    this.updateStatus();
  }

  async poll(): Promise<void> {
    const api = this.ctx.api;
    if (!api || this.disposed) return;
    const limit = 20 * this.settings.buckets;
    const axis = this.settings.x;
    try {
      const res = await api.view<{ frame: WireFrame }>("metric-points-after", {
        cursors: cursors(this.series, this.runs.map((r) => r.run_id), this.keys),
        x_axis: axis,
        limit,
      });
      if (this.disposed) return;
      if (axis !== this.settings.x) return this.scheduleLive(); // the axis changed meanwhile: its lines are new
      this.polls += 1;
      const before = new Map([...this.series].map(([k, s]) => [k, s.x.length]));
      const added = appendPoints(this.series, res.frame);
      for (const run of this.runs) run.status = added.statuses.get(run.run_id) ?? run.status;
      const tooLong = [...this.series.values()].some((s) => s.x.length > 4 * this.settings.buckets);
      if (added.points >= limit || tooLong) {
        const fetched = await this.fetch(this.keys, null);
        this.replace(this.keys, fetched);
        this.redrawAll();
      } else if (added.points) {
        this.extend(added.added, added.created, before);
      }
      if (added.statuses.size && this.runs.every((r) => r.status !== "RUNNING")) this.redrawAll(); // final frame
    } catch (e) {
      this.ctx.note?.(`live updates stopped: ${(e as Error).message}`);
      this.liveTimer = null;
      this.updateStatus();
      return;
    }
    this.scheduleLive();
  }

  /** New points onto the drawn lines (Plotly.extendTraces); a panel whose lines change shape is redrawn. */
  private extend(added: Map<string, { x: number[]; y: number[] }>, created: string[], before: Map<string, number>): void {
    for (const panel of this.panels) {
      const lines: number[] = [];
      const xs: number[][] = [];
      const ys: number[][] = [];
      let rebuild = this.settings.smoothing > 0;
      this.runs.forEach((run, i) => {
        const k = pairKey(run.run_id, panel.key);
        const a = added.get(k);
        if (!a) return;
        // a new line, or a lone marker that becomes a line: draw the panel again
        if (created.includes(k) || (before.get(k) ?? 0) <= 1) rebuild = true;
        lines.push(4 * i + 2);
        xs.push(a.x.map((v) => toDisplay(v, this.settings.x)));
        ys.push(a.y);
      });
      if (!lines.length) continue;
      if (rebuild || !this.Plotly) this.redraw(panel);
      else void this.Plotly.extendTraces(panel.plot, { x: xs, y: ys }, lines);
    }
    this.updateStatus();
  }

  dispose(): void {
    this.disposed = true;
    if (this.liveTimer) clearTimeout(this.liveTimer);
    this.liveTimer = null;
    this.observer?.disconnect();
    for (const p of this.panels) {
      if (p.timer) clearTimeout(p.timer);
      if (p.drawn && this.Plotly) this.Plotly.purge(p.plot);
    }
    this.root.remove();
  }
}

/** Draw the charts of `data` into `el` (the metric_chart view, and compare's charts). */
export async function drawMetricCharts(el: HTMLElement, data: ChartData, settings: ChartSettings, ctx: ViewContext): Promise<MetricCharts> {
  const charts = new MetricCharts(el, data, settings, ctx);
  try {
    await charts.draw();
  } catch (e) {
    charts.dispose();
    throw e;
  }
  return charts;
}

registerView("metric_chart", (el: HTMLElement, spec: ViewSpec, ctx: ViewContext) => {
  const data = spec.data as ChartData;
  return drawMetricCharts(el, data, settingsFrom(spec.options ?? {}, data), ctx);
});
