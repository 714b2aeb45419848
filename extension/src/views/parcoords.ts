// The "parallel_coordinates" view: the runs-wide rows in the spec's data as lines on a 2D canvas
// (one path per colour bucket: WebGL, as plotly's parcoords uses, costs seconds in a browser
// without a GPU), axes, ticks, brushes and the colour bar in SVG over it. A run without a value on
// an axis is drawn at that axis' "—" position (runs are never dropped), text params are
// categorical axes, titles are HTML boxes above the axes (wrapped, never overlapping, full name
// on hover), the colour metric's best end is the darkest, and every brush (drag along an axis)
// updates the count ("12 of 66 runs in the brushed ranges") and ctx.selection.

import { Row, rows as frameRows, WireFrame } from "../wire";
import { formatValue, h, MISSING, RenderedView, ViewContext, ViewSpec } from "./common";
import { registerView } from "./index";
import { Axis, brushed, brushedText, buildAxes, GREY, LineColours, lineColours, SCALE, titleBoxes } from "./parcoords-axes";
import { axisAt, axisXs, bucketColours, bucketOf, drawLines, fromPixel, lineAlpha, linePixels, maskOf, nearestLine, toPixel } from "./parcoords-draw";
import { axisGroup, colourBar, linePath, placeBrush, svg } from "./parcoords-svg";

export interface ParcoordsOptions {
  experiment_ids: string[];
  filter: string;
  run_ids: string[] | null;
  params: string[];
  metrics: string[];
  color: string | null;
  max_runs: number;
  log_axes: "auto" | boolean;
}

export interface ParcoordsController extends RenderedView {
  /** read the runs again (a dashboard's new filter) and redraw; brushes are cleared */
  refresh(filter?: string): Promise<void>;
  /** runs inside the brushed ranges, or null when nothing is brushed */
  brushedRunIds(): string[] | null;
}

/** What tests and the console can read and do: `document.querySelector(".nbt-parcoords").nbtParcoords`. */
export interface ParcoordsHook {
  dims: Pick<Axis, "label" | "column" | "kind" | "values" | "range" | "missingAt" | "tickvals" | "ticktext">[];
  /** brush axis j to [lo, hi] (axis units: log10 on a log axis, the index on a categorical one), or clear it */
  brush(j: number, range: [number, number] | null): void;
  ranges(): ([number, number] | null)[];
  brushed(): number[] | null;
  /** lines stroked by the last paint */
  lines(): number;
  /** where a value of axis j is on the screen (client coordinates) */
  pixel(j: number, value: number): { x: number; y: number };
}

const HEIGHT = 400;
const MARGIN = { l: 64, r: 120, b: 28 };
const LINE_PX = 15;
const HIT_PX = 4;
const CLICK_PX = 3;
const COLOURS = bucketColours(SCALE);

export async function renderParcoords(el: HTMLElement, spec: ViewSpec, ctx: ViewContext): Promise<ParcoordsController> {
  const opts = spec.options as ParcoordsOptions;
  let filter = opts.filter ?? "";
  let runs: Row[] = frameRows((spec.data?.frame as WireFrame) ?? { columns: [], dtypes: [], data: [] });
  let total = Number(spec.data?.total ?? runs.length);
  let axes: Axis[] = [];
  let ranges: ([number, number] | null)[] = [];
  let inside: number[] | null = null;
  let disposed = false;
  // what a paint reads: the layout (xs, ys) and the colours (bucket per run)
  let geo: { w: number; top: number; bottom: number; xs: number[]; ys: Float32Array } = { w: 0, top: 0, bottom: 0, xs: [], ys: new Float32Array(0) };
  let lc: LineColours | null = null;
  let bucket: Int16Array = new Int16Array(0);
  let shown: Uint8Array | null = null;
  let greyed = false;
  let stroked = 0;
  let lastWidth = 0;
  let frameRequest = 0;

  const count = h("div", { class: "nbt-parcoords-count" });
  const titles = h("div", { class: "nbt-parcoords-titles" });
  const canvas = h("canvas", { class: "nbt-parcoords-lines" });
  const layer = svg("svg", { class: "nbt-parcoords-axes" });
  const hover = svg("path", { class: "nbt-pc-hover" });
  const tip = h("div", { class: "nbt-pc-tip", hidden: true });
  const plot = h("div", { class: "nbt-parcoords-plot" }, canvas, layer, tip);
  const frame = h("div", { class: "nbt-parcoords-frame" }, titles, plot);
  const root = h("div", { class: "nbt-parcoords" }, count, frame);
  el.append(root);

  const runIds = (): string[] => runs.map((r) => String(r.run_id));
  const width = (): number => Math.max(320, Math.floor(root.clientWidth || el.clientWidth || 800));
  const axisGroups = (): SVGGElement[] => [...layer.querySelectorAll<SVGGElement>(".nbt-pc-axis")];

  function recolour(): void {
    const chosen = new Set(ctx.selection.runIds);
    const selected = !inside && chosen.size ? runIds().map((id) => chosen.has(id)) : null;
    const metric = opts.color ?? opts.metrics[0] ?? null;
    lc = lineColours(metric, runs.map((r) => (metric ? r[`metric:${metric}`] : null)), selected);
    bucket = bucketOf(lc.color);
    greyed = !!selected;
  }

  function layoutTitles(w: number): number {
    titles.textContent = "";
    const boxes = titleBoxes(axes.map((a) => a.label), axisXs(axes.length, w, MARGIN.l, MARGIN.r), w);
    let lines = 1;
    boxes.forEach((box, i) => {
      const a = axes[i];
      const more = a.missing ? ` \u00b7 ${a.missing} run${a.missing === 1 ? "" : "s"} without a value, drawn at \u2014` : "";
      const div = h("div", { class: "nbt-pc-title", title: `${a.column}${more}`, style: { left: `${box.left}px`, width: `${box.width}px` } });
      box.lines.forEach((line, j) => {
        if (j) div.append(h("br"));
        div.append(line);
      });
      lines = Math.max(lines, box.lines.length);
      titles.append(div);
    });
    const height = lines * LINE_PX + 4;
    titles.style.height = `${height}px`;
    return height;
  }

  /** Place everything for the current width: titles, axes, brushes, the colour bar, the canvas. */
  function layout(): void {
    const w = width();
    const top = layoutTitles(w) + 16;
    const bottom = HEIGHT - MARGIN.b;
    const xs = axisXs(axes.length, w, MARGIN.l, MARGIN.r);
    lastWidth = w;
    geo = { w, top, bottom, xs, ys: linePixels(axes, top, bottom) };
    const dpr = window.devicePixelRatio || 1;
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(HEIGHT * dpr);
    canvas.style.width = `${w}px`;
    canvas.style.height = `${HEIGHT}px`;
    layer.setAttribute("width", String(w));
    layer.setAttribute("height", String(HEIGHT));
    layer.textContent = "";
    axes.forEach((a, j) => layer.append(axisGroup(a, j, xs[j], top, bottom, MISSING)));
    if (lc?.showscale) layer.append(colourBar(lc, w - MARGIN.r + 36, top, bottom));
    layer.append(hover);
    axisGroups().forEach((g, j) => placeBrush(g, axes[j], ranges[j] ?? null, top, bottom));
    hideTip();
  }

  function paint(): void {
    if (frameRequest) cancelAnimationFrame(frameRequest); // painted now: not again at the next frame
    frameRequest = 0;
    const g = canvas.getContext("2d");
    if (!g || disposed) return;
    const dpr = canvas.width / Math.max(1, geo.w);
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, geo.w, HEIGHT);
    g.lineWidth = 1;
    g.lineJoin = "bevel";
    stroked = drawLines(g, geo.xs, geo.ys, bucket, shown, COLOURS, { grey: GREY, greyAlpha: 0.35, alpha: lineAlpha(runs.length) });
  }

  function schedulePaint(): void {
    if (!frameRequest && !disposed) frameRequest = requestAnimationFrame(paint);
  }

  function updateCount(): void {
    count.textContent = brushedText(inside ? inside.length : null, runs.length) + (total > runs.length ? ` (newest ${runs.length.toLocaleString()} of ${total.toLocaleString()}, max_runs=${opts.max_runs})` : "");
  }

  async function draw(): Promise<void> {
    axes = buildAxes(runs, opts.params ?? [], opts.metrics ?? [], opts.log_axes ?? "auto");
    ranges = axes.map(() => null);
    inside = null;
    shown = null;
    if (!axes.length || !runs.length) {
      layer.textContent = "";
      titles.textContent = "";
      canvas.width = 0;
      stroked = 0;
      count.textContent = runs.length ? "No params or metrics to draw." : "No runs to draw.";
      return;
    }
    recolour();
    layout();
    paint();
    updateCount();
  }

  // -- brushing -------------------------------------------------------------------------------
  /** The brushes changed: the runs inside them, the count, the lines (now or at the next frame). */
  function brushesChanged(now: boolean): void {
    inside = brushed(axes, ranges);
    shown = maskOf(runs.length, inside);
    if (inside && greyed) recolour(); // a brush replaces the selection made elsewhere
    updateCount();
    if (now) paint();
    else schedulePaint();
  }

  /** A brush is done: tell the other views, then draw the lines as the new selection has them. */
  function commit(): void {
    inside = brushed(axes, ranges);
    shown = maskOf(runs.length, inside);
    updateCount();
    const ids = runIds();
    ctx.selection.set(inside ? inside.map((i) => ids[i]) : [], controller);
    recolour();
    paint();
  }

  function setBrush(j: number, r: [number, number] | null): void {
    ranges[j] = r ? [Math.min(r[0], r[1]), Math.max(r[0], r[1])] : null;
    placeBrush(axisGroups()[j], axes[j], ranges[j], geo.top, geo.bottom);
  }

  function local(e: MouseEvent): { x: number; y: number } {
    const box = plot.getBoundingClientRect();
    return { x: e.clientX - box.left, y: e.clientY - box.top };
  }

  let drag: { j: number; y0: number; v0: number; start: [number, number] | null; moving: boolean; moved: boolean } | null = null;

  function onDown(e: PointerEvent): void {
    if (e.button !== 0 || !axes.length) return;
    const { x, y } = local(e);
    const j = axisAt(geo.xs, x);
    if (j < 0 || y < geo.top - 8 || y > geo.bottom + 8) return;
    e.preventDefault();
    const v0 = fromPixel(axes[j].range, geo.top, geo.bottom, y);
    const start = ranges[j];
    const tall = !!start && Math.abs(toPixel(axes[j].range, geo.top, geo.bottom, start[1]) - toPixel(axes[j].range, geo.top, geo.bottom, start[0])) > 6;
    drag = { j, y0: y, v0, start, moving: !!start && tall && v0 >= start[0] && v0 <= start[1], moved: false };
    hideTip();
    window.addEventListener("pointermove", onDrag);
    window.addEventListener("pointerup", onUp);
  }

  function onDrag(e: PointerEvent): void {
    if (!drag) return;
    const y = Math.min(geo.bottom, Math.max(geo.top, local(e).y));
    if (Math.abs(y - drag.y0) >= CLICK_PX) drag.moved = true;
    if (!drag.moved) return;
    const a = axes[drag.j];
    const v = fromPixel(a.range, geo.top, geo.bottom, y);
    if (drag.moving && drag.start) {
      const [lo, hi] = drag.start;
      const shift = Math.min(a.range[1] - hi, Math.max(a.range[0] - lo, v - drag.v0));
      setBrush(drag.j, [lo + shift, hi + shift]);
    } else setBrush(drag.j, [drag.v0, v]);
    brushesChanged(false);
  }

  function onUp(e: PointerEvent): void {
    window.removeEventListener("pointermove", onDrag);
    window.removeEventListener("pointerup", onUp);
    if (drag?.moved) onDrag(e); // where the pointer was let go
    const d = drag;
    drag = null;
    if (!d || disposed) return;
    if (!d.moved) {
      // a click outside the axis' range clears it; inside it (or on an axis without one) does nothing
      const r = ranges[d.j];
      if (!r || (d.v0 >= r[0] && d.v0 <= r[1])) return;
      setBrush(d.j, null);
    }
    commit();
  }

  // -- hover: the nearest line's run and values --------------------------------------------------
  let hoverAt: { x: number; y: number } | null = null;
  let hoverRequest = 0;

  function hideTip(): void {
    tip.hidden = true;
    hover.setAttribute("d", "");
  }

  function showHover(): void {
    hoverRequest = 0;
    if (!hoverAt || drag || !axes.length) return;
    const { x, y } = hoverAt;
    const onAxis = axisAt(geo.xs, x) >= 0 && y >= geo.top - 8 && y <= geo.bottom + 8;
    plot.style.cursor = onAxis ? "ns-resize" : "";
    if (onAxis) return hideTip();
    const coloured = (i: number): boolean => bucket[i] >= 0 && (!shown || !!shown[i]);
    let i = nearestLine(geo.xs, geo.ys, x, y, HIT_PX, coloured);
    if (i < 0) i = nearestLine(geo.xs, geo.ys, x, y, HIT_PX);
    if (i < 0) return hideTip();
    const r = runs[i];
    tip.textContent = "";
    tip.append(h("b", {}, String(r.run_name ?? String(r.run_id).slice(0, 8))));
    axes.forEach((a) => tip.append(h("div", {}, `${a.label.replace(/ \(log\)$/, "")}: ${formatValue(r[a.column])}`)));
    tip.hidden = false;
    tip.style.left = `${x + 14 + 240 > geo.w ? Math.max(0, x - 254) : x + 14}px`;
    tip.style.top = `${Math.min(y + 14, HEIGHT - 40)}px`;
    hover.setAttribute("d", linePath(geo.xs, geo.ys, i));
  }

  function onHover(e: PointerEvent): void {
    if (drag) return;
    hoverAt = local(e);
    if (!hoverRequest) hoverRequest = requestAnimationFrame(showHover);
  }

  plot.addEventListener("pointerdown", onDown);
  plot.addEventListener("pointermove", onHover);
  plot.addEventListener("pointerleave", () => {
    hoverAt = null;
    hideTip();
  });

  const unsubscribe = ctx.selection.subscribe((_ids, origin) => {
    if (origin === controller || disposed || !axes.length) return;
    // a selection made elsewhere replaces the brushed one: the brushes go
    axes.forEach((_, j) => setBrush(j, null));
    inside = null;
    shown = null;
    recolour();
    updateCount();
    schedulePaint();
  });

  const observer = typeof ResizeObserver === "undefined" ? null : new ResizeObserver(() => controller.resize?.());
  observer?.observe(root);

  const controller: ParcoordsController = {
    refresh: async (next?: string) => {
      if (next !== undefined) filter = next;
      if (!ctx.api) return;
      const { frame } = await ctx.api.view("runs-wide", {
        experiment_ids: opts.experiment_ids,
        filter,
        params: opts.params,
        metrics: opts.color && !opts.metrics.includes(opts.color) ? [...opts.metrics, opts.color] : opts.metrics,
        limit: opts.max_runs,
        run_ids: opts.run_ids ?? undefined,
      });
      if (disposed) return;
      runs = frameRows(frame);
      total = opts.run_ids ? opts.run_ids.length : Number(runs[0]?.total ?? 0);
      await draw();
    },
    brushedRunIds: () => (inside ? inside.map((i) => runIds()[i]) : null),
    resize: () => {
      const w = width();
      if (disposed || !axes.length || !runs.length || w === lastWidth) return;
      layout();
      schedulePaint();
    },
    dispose: () => {
      disposed = true;
      unsubscribe();
      observer?.disconnect();
      if (frameRequest) cancelAnimationFrame(frameRequest);
      if (hoverRequest) cancelAnimationFrame(hoverRequest);
      window.removeEventListener("pointermove", onDrag);
      window.removeEventListener("pointerup", onUp);
    },
  };

  const hook: ParcoordsHook = {
    get dims() {
      return axes.map(({ label, column, kind, values, range, missingAt, tickvals, ticktext }) => ({ label, column, kind, values, range, missingAt, tickvals, ticktext }));
    },
    brush: (j, r) => {
      setBrush(j, r);
      commit();
    },
    ranges: () => ranges.map((r) => (r ? [...r] : null)) as ([number, number] | null)[],
    brushed: () => (inside ? [...inside] : null),
    lines: () => stroked,
    pixel: (j, value) => {
      const box = plot.getBoundingClientRect();
      return { x: box.left + geo.xs[j], y: box.top + toPixel(axes[j].range, geo.top, geo.bottom, value) };
    },
  };
  (root as any).nbtParcoords = hook;

  await draw();
  return controller;
}

registerView("parallel_coordinates", renderParcoords);
