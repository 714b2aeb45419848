// What every view shares: the spec a kernel (or the web UI) hands it, the context it draws in,
// run colours, number formatting and a small DOM helper.

import { Api } from "../api";
import { Selection } from "../selection";

/** The JSON of an `application/vnd.nbtrack.view+json` output (nbtrack/ui/_mime.py). */
export interface ViewSpec {
  view: string;
  version: number;
  /** the tracking URI the kernel used; the views refresh from it when it is reachable */
  tracking_uri?: string;
  /** the view's arguments, as given in Python */
  options: Record<string, any>;
  /** what the kernel read when the cell ran: the view draws it at once, even with no store */
  data: Record<string, any>;
  /** views naming the same id share their run selection */
  selection?: string;
}

export interface ViewContext {
  /** the store's REST API; null when the data in the spec is all there is (no server) */
  api: Api | null;
  selection: Selection;
  /** live views poll while runs are RUNNING; false in tests that want one frame */
  live: boolean;
  /** tell the host (the output area) about a message to show, e.g. "data from when the cell ran" */
  note?: (text: string) => void;
  /** where a run's name links to (the web UI's run page); none in a notebook */
  runLink?: (runId: string) => string;
  /** Enter on a focused table row (the web UI opens the run's page) */
  openRun?: (runId: string) => void;
}

export interface RenderedView {
  dispose(): void;
  /** called when the output area changes width */
  resize?(): void;
}

export type ViewRenderer = (el: HTMLElement, spec: ViewSpec, ctx: ViewContext) => RenderedView | Promise<RenderedView>;

/** D3 category10, as plotly's default colorway and the Python views. */
export const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

const assigned = new Map<string, string>();

/** One colour per run everywhere on the page: the next palette colour the first time it is asked. */
export function runColor(runId: string): string {
  let c = assigned.get(runId);
  if (!c) {
    c = PALETTE[assigned.size % PALETTE.length];
    assigned.set(runId, c);
  }
  return c;
}

/** The mark of a missing value, in tables, compare and cards. */
export const MISSING = "\u2014";

export function isMissing(v: unknown): boolean {
  return v === null || v === undefined || v === "" || (typeof v === "number" && Number.isNaN(v));
}

/** A number in at most `digits` significant digits, without trailing zeros; text as it is. */
export function formatValue(v: unknown, digits = 4): string {
  if (isMissing(v)) return MISSING;
  if (typeof v === "number") {
    if (!Number.isFinite(v)) return v > 0 ? "\u221e" : "-\u221e";
    if (Number.isInteger(v) && Math.abs(v) < 1e15) return String(v);
    const a = Math.abs(v);
    if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(digits - 1).replace(/\.?0+e/, "e");
    return String(Number(v.toPrecision(digits)));
  }
  return String(v);
}

type Child = Node | string | number | null | undefined | false | Child[];

/** `h("div", {class: "x", onclick: f}, "text", child)` */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, any> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") el.className = String(v);
    else if (k === "style" && typeof v === "object") Object.assign(el.style, v);
    else if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  const add = (c: Child): void => {
    if (c === null || c === undefined || c === false) return;
    if (Array.isArray(c)) c.forEach(add);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  };
  children.forEach(add);
  return el;
}
