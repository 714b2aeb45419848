// The SVG over the parallel coordinates' canvas: each axis with its ticks and tick labels (the
// "—" position of runs without a value among them), its brush rectangle, the line under the
// pointer and the colour bar (the metric, "lower/higher is better", its best end on top).

import { Axis, LineColours, SCALE } from "./parcoords-axes";
import { toPixel } from "./parcoords-draw";

const NS = "http://www.w3.org/2000/svg";
/** tick labels closer than this (px) are thinned out, "—" always kept */
const LABEL_GAP = 12;
let gradients = 0;

export function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number> = {}, text?: string): SVGElementTagNameMap[K] {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

/** Which tick labels to write: from the top down, each at least `gap` px from the last written,
 *  the missing mark always. */
export function keptTicks(ys: number[], labels: string[], missingMark: string, gap = LABEL_GAP): boolean[] {
  const order = ys.map((_, i) => i).sort((a, b) => ys[a] - ys[b]);
  const keep = ys.map((_, i) => labels[i] === missingMark);
  let last = -Infinity;
  for (const i of order) {
    if (keep[i]) continue;
    const clash = ys.some((y, k) => keep[k] && Math.abs(y - ys[i]) < gap);
    if (ys[i] - last >= gap && !clash) {
      keep[i] = true;
      last = ys[i];
    }
  }
  return keep;
}

/** One axis: its line, ticks and labels, and an empty brush rectangle (see placeBrush). */
export function axisGroup(axis: Axis, j: number, x: number, top: number, bottom: number, missingMark: string): SVGGElement {
  const g = svg("g", { class: "nbt-pc-axis", "data-axis": j, transform: `translate(${x},0)` });
  g.append(svg("line", { class: "nbt-pc-axis-line", x1: 0, x2: 0, y1: toPixel(axis.range, top, bottom, axis.range[0]), y2: top }));
  const ys = axis.tickvals.map((v) => toPixel(axis.range, top, bottom, v));
  const keep = keptTicks(ys, axis.ticktext, missingMark);
  ys.forEach((y, k) => {
    g.append(svg("line", { class: "nbt-pc-tick", x1: -4, x2: 0, y1: y, y2: y }));
    if (keep[k]) g.append(svg("text", { class: "nbt-pc-tick-label", x: -6, y, "text-anchor": "end", "dominant-baseline": "central" }, axis.ticktext[k]));
  });
  g.append(svg("rect", { class: "nbt-pc-brush", x: -7, width: 14, y: 0, height: 0, visibility: "hidden" }));
  return g;
}

/** Show an axis' brushed range [lo, hi] (data units) as its rectangle, or hide it (null). */
export function placeBrush(g: SVGGElement | undefined, axis: Axis, r: [number, number] | null, top: number, bottom: number): void {
  const rect = g?.querySelector(".nbt-pc-brush");
  if (!rect) return;
  if (!r) {
    rect.setAttribute("visibility", "hidden");
    return;
  }
  const y1 = toPixel(axis.range, top, bottom, Math.max(r[0], r[1]));
  const y2 = toPixel(axis.range, top, bottom, Math.min(r[0], r[1]));
  rect.setAttribute("y", String(Math.max(top - 2, y1)));
  rect.setAttribute("height", String(Math.max(2, Math.min(bottom + 2, y2) - Math.max(top - 2, y1))));
  rect.setAttribute("visibility", "visible");
}

/** The colour bar at x: dark (best) on top, with the metric's values and which way is better. */
export function colourBar(c: LineColours, x: number, top: number, bottom: number, maxChars = 15): SVGGElement {
  const id = `nbt-pc-grad-${++gradients}`;
  const g = svg("g", { class: "nbt-pc-colorbar", transform: `translate(${x},0)` });
  const grad = svg("linearGradient", { id, x1: 0, x2: 0, y1: 1, y2: 0 });
  for (const [p, colour] of SCALE) grad.append(svg("stop", { offset: p, "stop-color": colour }));
  const defs = svg("defs");
  defs.append(grad);
  const barTop = top + 26;
  g.append(defs, svg("rect", { x: 0, y: barTop, width: 12, height: Math.max(10, bottom - barTop), fill: `url(#${id})` }));
  const title = svg("text", { class: "nbt-pc-colorbar-title", x: 0, y: top });
  const name = c.colorbar.title;
  title.append(svg("title", {}, name));
  title.append(svg("tspan", { x: 0, dy: 0 }, name.length > maxChars ? name.slice(0, maxChars - 1) + "\u2026" : name), svg("tspan", { x: 0, dy: 13, class: "nbt-pc-colorbar-note" }, `${c.colorbar.lower ? "lower" : "higher"} is better`));
  g.append(title);
  c.colorbar.tickvals.forEach((v, k) => {
    const y = bottom - ((v - 0.1) / 0.9) * (bottom - barTop);
    g.append(svg("text", { class: "nbt-pc-tick-label", x: 16, y, "dominant-baseline": "central" }, c.colorbar.ticktext[k]));
  });
  return g;
}

/** The points of a run's line, for the hovered line's path. */
export function linePath(xs: number[], ys: Float32Array, i: number): string {
  const m = xs.length;
  return xs.map((x, j) => `${j ? "L" : "M"}${x.toFixed(1)},${ys[i * m + j].toFixed(1)}`).join("");
}
