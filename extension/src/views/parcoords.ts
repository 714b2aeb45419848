// The "parallel_coordinates" view: plotly parcoords of the runs-wide rows in the spec's data. A
// run without a value on an axis is drawn at that axis' "—" position (runs are never dropped),
// text params are categorical axes, titles are HTML boxes above the axes (wrapped, never
// overlapping, full name on hover), the colour metric's best end is the darkest, and every
// brush updates the count ("12 of 66 runs in the brushed ranges") and ctx.selection.

import { CONFIG, baseLayout, plotly } from "../plotly";
import { Row, rows as frameRows, WireFrame } from "../wire";
import { h, RenderedView, ViewContext, ViewSpec } from "./common";
import { registerView } from "./index";
import { Axis, brushed, brushedText, buildAxes, dimension, GREY, lineColours, titleBoxes } from "./parcoords-axes";

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

const HEIGHT = 400;
const MARGIN = { l: 64, r: 120, b: 28 };
const LINE_PX = 15;

export async function renderParcoords(el: HTMLElement, spec: ViewSpec, ctx: ViewContext): Promise<ParcoordsController> {
  const opts = spec.options as ParcoordsOptions;
  let filter = opts.filter ?? "";
  let runs: Row[] = frameRows((spec.data?.frame as WireFrame) ?? { columns: [], dtypes: [], data: [] });
  let total = Number(spec.data?.total ?? runs.length);
  let axes: Axis[] = [];
  let inside: number[] | null = null;
  let own = false;
  let hooked = false;
  let disposed = false;

  const count = h("div", { class: "nbt-parcoords-count" });
  const titles = h("div", { class: "nbt-parcoords-titles" });
  const gd = h("div", { class: "nbt-parcoords-plot" });
  const root = h("div", { class: "nbt-parcoords" }, count, h("div", { class: "nbt-parcoords-frame" }, titles, gd));
  el.append(root);
  const Plotly = await plotly();
  (gd as any).nbtPlotly = Plotly; // for tests and the console: Plotly.restyle(gd, ...) brushes as a drag does

  const runIds = (): string[] => runs.map((r) => String(r.run_id));
  const width = (): number => Math.max(320, Math.floor(root.clientWidth || el.clientWidth || 800));

  function colours(): ReturnType<typeof lineColours> {
    const chosen = ctx.selection.runIds;
    const selected = !inside && chosen.length ? runIds().map((id) => chosen.includes(id)) : null;
    const metric = opts.color ?? opts.metrics[0] ?? null;
    return lineColours(metric, runs.map((r) => (metric ? r[`metric:${metric}`] : null)), selected);
  }

  function axisX(w: number): number[] {
    const n = axes.length;
    const plotW = w - MARGIN.l - MARGIN.r;
    return axes.map((_, i) => MARGIN.l + (n > 1 ? (i * plotW) / (n - 1) : plotW / 2));
  }

  function layoutTitles(w: number): number {
    titles.textContent = "";
    const boxes = titleBoxes(axes.map((a) => a.label), axisX(w), w);
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

  function trace(): Record<string, unknown> {
    const c = colours();
    return {
      type: "parcoords",
      dimensions: axes.map((a) => dimension(a)),
      line: { color: c.color, colorscale: c.colorscale, cmin: c.cmin, cmax: c.cmax, showscale: c.showscale, colorbar: c.colorbar },
      unselected: { line: { color: GREY, opacity: 0.35 } },
      labelfont: { size: 1 },
      tickfont: { size: 11 },
      rangefont: { size: 1, color: "rgba(0,0,0,0)" },
    };
  }

  function layout(): Record<string, unknown> {
    const w = width();
    const top = layoutTitles(w) + 16;
    return baseLayout({ width: w, height: HEIGHT, margin: { ...MARGIN, t: top } });
  }

  async function draw(): Promise<void> {
    axes = buildAxes(runs, opts.params ?? [], opts.metrics ?? [], opts.log_axes ?? "auto");
    inside = null;
    if (!axes.length || !runs.length) {
      gd.textContent = "";
      titles.textContent = "";
      count.textContent = runs.length ? "No params or metrics to draw." : "No runs to draw.";
      return;
    }
    own = true;
    try {
      await Plotly.react(gd, [trace()], layout(), CONFIG);
    } finally {
      own = false;
    }
    if (!hooked) (gd as any).on?.("plotly_restyle", onBrush);
    hooked = true;
    updateCount();
  }

  function ranges(): unknown[] {
    const dims = ((gd as any).data?.[0]?.dimensions ?? []) as { constraintrange?: unknown }[];
    return dims.map((d) => d.constraintrange);
  }

  function updateCount(): void {
    count.textContent = brushedText(inside ? inside.length : null, runs.length) + (total > runs.length ? ` (newest ${runs.length.toLocaleString()} of ${total.toLocaleString()}, max_runs=${opts.max_runs})` : "");
  }

  function onBrush(): void {
    if (own || disposed) return;
    inside = brushed(axes, ranges());
    updateCount();
    const ids = runIds();
    ctx.selection.set(inside ? inside.map((i) => ids[i]) : [], controller);
  }

  async function recolour(): Promise<void> {
    if (disposed || !axes.length || !(gd as any).data) return;
    const c = colours();
    own = true;
    try {
      await Plotly.restyle(gd, { "line.color": [c.color] }, [0]);
    } finally {
      own = false;
    }
  }

  const unsubscribe = ctx.selection.subscribe((_ids, origin) => {
    if (origin === controller) return;
    if (inside) {
      // a selection made elsewhere replaces the brushed one: the brushes go
      inside = null;
      void draw();
    } else void recolour();
  });

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
      if (disposed || !axes.length || !(gd as any).data) return;
      own = true;
      void Promise.resolve(Plotly.relayout(gd, layout())).finally(() => (own = false));
    },
    dispose: () => {
      disposed = true;
      unsubscribe();
      Plotly.purge(gd);
    },
  };

  await draw();
  return controller;
}

registerView("parallel_coordinates", renderParcoords);
