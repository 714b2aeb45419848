// The "run_card" view: %%track's live card of one run (nbtrack/notebook/_card.py sends it).
// It draws the run as the kernel read it when the cell started, then, while the run is RUNNING,
// polls the Jupyter server (run-summaries + thin-history, about twice a second): the kernel is
// busy running the cell and cannot answer, the server can. It stops once the run has ended.

import { Api } from "../api";
import { runTime, sparkScale } from "../panel/logic";
import { rows, WireFrame } from "../wire";
import { formatValue, h, RenderedView, ViewContext, ViewSpec } from "./common";
import { registerView } from "./index";

export const POLL_MS = 500;
const SPARK_POINTS = 60;
const MAX_PARAMS = 12;
const MAX_METRICS = 8;
/** a full read of the run (params, new metric keys) every this many polls */
const FULL_EVERY = 4;

export interface CardData {
  run_id: string;
  name: string;
  status: string;
  experiment?: string;
  start_time?: number | null;
  end_time?: number | null;
  params: Record<string, string>;
  metrics: Record<string, number>;
  steps: Record<string, number>;
  history: Record<string, number[]>;
  error?: string | null;
  models?: [string, string, string][];
}

const WORDS: Record<string, number> = { NaN: NaN, Infinity: Infinity, "-Infinity": -Infinity };
const num = (v: unknown): number => (typeof v === "string" ? (WORDS[v] ?? Number(v)) : v === null || v === undefined ? NaN : Number(v));

/** The card's data as the kernel sent it (non-finite numbers spelled as the wire spells them). */
export function decodeCard(raw: Record<string, any>): CardData {
  const metrics: Record<string, number> = {};
  for (const [k, v] of Object.entries(raw.metrics ?? {})) metrics[k] = num(v);
  const history: Record<string, number[]> = {};
  for (const [k, v] of Object.entries(raw.history ?? {})) history[k] = (v as unknown[]).map(num);
  return {
    run_id: String(raw.run_id ?? ""),
    name: String(raw.name ?? raw.run_id ?? ""),
    status: String(raw.status ?? "RUNNING"),
    experiment: raw.experiment ?? "",
    start_time: raw.start_time ?? null,
    end_time: raw.end_time ?? null,
    params: { ...(raw.params ?? {}) },
    metrics,
    steps: { ...(raw.steps ?? {}) },
    history,
    error: raw.error ?? null,
    models: raw.models ?? [],
  };
}

/** Labels for a scale's ends with enough digits that a small change does not read as none. */
export function scaleLabels(min: number, max: number): [string, string] {
  for (let digits = 4; digits <= 12; digits++) {
    const lo = formatValue(min, digits);
    const hi = formatValue(max, digits);
    if (lo !== hi || min === max) return [lo, hi];
  }
  return [String(min), String(max)];
}

/** A sparkline with its scale: the max at its top right, the min at its bottom right. */
export function sparkline(values: number[], width = 120, height = 24): HTMLElement {
  const scale = sparkScale(values, width, height);
  if (!scale) return h("span", { class: "nbt-spark nbt-spark-empty" });
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("width", String(width));
  svg.setAttribute("height", String(height));
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  const line = document.createElementNS("http://www.w3.org/2000/svg", scale.n > 1 ? "polyline" : "circle");
  if (scale.n > 1) {
    line.setAttribute("points", scale.points);
    line.setAttribute("fill", "none");
  } else {
    const [x, y] = scale.points.split(",");
    line.setAttribute("cx", x);
    line.setAttribute("cy", y);
    line.setAttribute("r", "2");
  }
  line.setAttribute("class", "nbt-spark-line");
  svg.append(line);
  const [lo, hi] = scaleLabels(scale.min, scale.max);
  const labels = scale.flat
    ? h("span", { class: "nbt-spark-scale nbt-spark-flat", title: "every point has this value" }, h("span", { class: "nbt-spark-max" }, `flat ${hi}`))
    : h("span", { class: "nbt-spark-scale" }, h("span", { class: "nbt-spark-max", title: "max" }, hi), h("span", { class: "nbt-spark-min", title: "min" }, lo));
  return h("span", { class: "nbt-spark", "data-points": scale.n }, svg, labels);
}

export function statusClass(status: string): string {
  return `nbt-status nbt-status-${status.toLowerCase()}`;
}

function metricKeys(data: CardData): string[] {
  return Object.keys(data.metrics).sort((a, b) => Number(a.startsWith("system/")) - Number(b.startsWith("system/")) || (a < b ? -1 : a > b ? 1 : 0));
}

/** The card's DOM for one state of the run. */
export function renderCard(data: CardData, now = Date.now()): HTMLElement {
  const head = h(
    "div",
    { class: "nbt-card-head" },
    h("b", { class: "nbt-card-name" }, data.name),
    h("span", { class: statusClass(data.status) }, "\u25cf ", data.status),
    data.start_time ? h("span", { class: "nbt-card-time" }, runTime(data.start_time, data.end_time, data.status, now)) : null,
    data.experiment ? h("span", { class: "nbt-card-exp" }, `experiment ${data.experiment}`) : null,
    h("code", { class: "nbt-card-id" }, data.run_id),
  );
  const card = h("div", { class: `nbt-card nbt-card-${data.status.toLowerCase()}`, "data-run-id": data.run_id }, head);
  if (data.error) card.append(h("div", { class: "nbt-card-error" }, data.error));
  const params = Object.entries(data.params);
  if (params.length) {
    card.append(
      h(
        "div",
        { class: "nbt-card-params" },
        "params ",
        params.slice(0, MAX_PARAMS).map(([k, v]) => [h("code", {}, `${k}=${v.length > 40 ? v.slice(0, 39) + "\u2026" : v}`), " "]),
        params.length > MAX_PARAMS ? `\u2026 +${params.length - MAX_PARAMS}` : null,
      ),
    );
  }
  const keys = metricKeys(data);
  if (keys.length) {
    const table = h("table", { class: "nbt-card-metrics" });
    for (const key of keys.slice(0, MAX_METRICS)) {
      const hist = data.history[key] ?? [];
      const step = data.steps[key];
      table.append(
        h(
          "tr",
          { "data-key": key },
          h("td", { class: "nbt-card-key" }, key),
          h("td", { class: "nbt-card-value" }, h("b", {}, formatValue(data.metrics[key]))),
          h("td", {}, hist.length > 1 ? sparkline(hist) : null),
          h("td", { class: "nbt-card-step" }, step !== undefined && hist.length > 1 ? `step ${step}` : ""),
        ),
      );
    }
    if (keys.length > MAX_METRICS) table.append(h("tr", {}, h("td", { colspan: 4, class: "nbt-card-more" }, `+${keys.length - MAX_METRICS} more metrics`)));
    card.append(table);
  }
  if (data.models?.length) {
    card.append(h("div", { class: "nbt-card-models" }, "models ", data.models.map(([name, id, status]) => [h("code", { title: `models:/${id}` }, name), ` ${status.toLowerCase()} `])));
  }
  return card;
}

/** Reads the run's newest state through the API: its status, then its thinned histories. */
export async function refreshCard(api: Api, data: CardData, full: boolean): Promise<CardData> {
  const next: CardData = { ...data, metrics: { ...data.metrics }, steps: { ...data.steps }, history: { ...data.history } };
  const summary = await api.view("run-summaries", { run_ids: [data.run_id] });
  const row = rows(summary.frame)[0];
  // the kernel flushes a quarter of a second after it logs: a run that new is not in the store yet
  if (!row) return next;
  next.status = String(row.status ?? next.status);
  const ended = next.status !== "RUNNING";
  if (full || ended || Object.keys(next.metrics).length === 0) {
    const got = await api.mlflow("GET", "runs/get", { run_id: data.run_id });
    const run = got.run ?? {};
    next.status = run.info?.status ?? next.status;
    next.end_time = run.info?.end_time ?? next.end_time;
    next.name = run.info?.run_name || next.name;
    for (const p of run.data?.params ?? []) next.params[p.key] = p.value;
    for (const m of run.data?.metrics ?? []) next.metrics[m.key] = num(m.value);
    const error = (run.data?.tags ?? []).find((t: any) => t.key === "nbtrack.error");
    if (error) next.error = error.value;
  }
  const keys = metricKeys(next).slice(0, MAX_METRICS);
  if (keys.length) {
    const thin = await api.view<{ frame: WireFrame }>("thin-history", { run_id: data.run_id, keys, points: SPARK_POINTS });
    const byKey: Record<string, number[]> = {};
    for (const r of rows(thin.frame)) {
      const key = String(r.key);
      (byKey[key] ??= []).push(num(r.value));
      next.steps[key] = Number(r.step);
    }
    for (const [key, values] of Object.entries(byKey)) {
      next.history[key] = values;
      next.metrics[key] = values[values.length - 1];
    }
  }
  return next;
}

function renderRunCard(el: HTMLElement, spec: ViewSpec, ctx: ViewContext): RenderedView {
  let data = decodeCard(spec.data ?? {});
  let disposed = false;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let ticker: ReturnType<typeof setInterval> | null = null;
  let polls = 0;
  let failures = 0;
  el.classList.add("nbt-run-card");
  const draw = (): void => {
    el.replaceChildren(renderCard(data));
  };
  const stopTicker = (): void => {
    if (ticker) clearInterval(ticker);
    ticker = null;
  };
  const tick = (): void => {
    const time = el.querySelector(".nbt-card-time");
    if (time && data.start_time) time.textContent = runTime(data.start_time, data.end_time, data.status);
  };
  const poll = async (): Promise<void> => {
    timer = null;
    if (disposed || !ctx.api) return;
    try {
      data = await refreshCard(ctx.api, data, polls++ % FULL_EVERY === 0);
      failures = 0;
      if (disposed) return;
      draw();
    } catch (e) {
      failures++;
      if (failures === 5) ctx.note?.(`nbtrack cannot read this run from the Jupyter server (${(e as Error).message}); retrying.`);
    }
    if (disposed) return;
    if (data.status === "RUNNING") timer = setTimeout(poll, failures ? Math.min(10_000, POLL_MS * 2 ** failures) : POLL_MS);
    else stopTicker();
  };
  draw();
  if (data.status === "RUNNING" && ctx.live && ctx.api) {
    ticker = setInterval(tick, 1000);
    timer = setTimeout(poll, POLL_MS);
  }
  return {
    dispose: () => {
      disposed = true;
      if (timer) clearTimeout(timer);
      stopTicker();
    },
  };
}

registerView("run_card", renderRunCard);
