// The "dashboard" view: the runs table, a metric chart and parallel coordinates of one experiment,
// linked by one selection (ctx.selection): ticking rows or brushing axes charts those runs; with
// nothing selected the chart shows the table's first runs. The chart is the "metric_chart" view
// (chart.ts), drawn from the spec's data first and then from metric-buckets for other runs or
// another metric. A new filter in the table refilters parallel coordinates; while runs train
// (or every `refresh` seconds) the table polls runs-fingerprint and the other parts follow.

import { rows as frameRows, WireFrame } from "../wire";
import { Selection } from "../selection";
import { h, RenderedView, ViewContext, ViewSpec } from "./common";
import { registerView, viewRenderer } from "./index";
import { ParcoordsController, renderParcoords } from "./parcoords";
import { renderTable, TableController } from "./table";

interface Part {
  view: string;
  options: Record<string, any>;
  data: Record<string, any>;
}

export interface DashboardOptions {
  experiment_ids: string[];
  filter: string;
  refresh: number;
  chart_runs: number;
  metric: string | null;
  metrics: string[];
}

const CHART_DELAY_MS = 120;

/** The runs the chart shows: the selection (first `limit`), else the table's first runs. */
export function chartRuns(selected: string[], pageIds: string[], limit: number): string[] {
  return (selected.length ? selected : pageIds).slice(0, Math.max(1, limit));
}

async function renderDashboard(el: HTMLElement, spec: ViewSpec, ctx: ViewContext): Promise<RenderedView> {
  const opts = spec.options as DashboardOptions;
  const parts = (spec.data ?? {}) as Record<string, Part | null>;
  const sub = (p: Part): ViewSpec => ({ ...spec, view: p.view, options: p.options, data: p.data });
  let disposed = false;

  const header = h("div", { class: "nbt-dash-header" });
  const tableHost = h("div", { class: "nbt-dash-part nbt-dash-table" });
  const metricMenu = h("select", { class: "nbt-dash-metric", title: "the metric charted" }) as HTMLSelectElement;
  for (const m of opts.metrics ?? []) metricMenu.append(h("option", { value: m, selected: m === opts.metric }, m));
  const chartNote = h("span", { class: "nbt-dash-chart-note" });
  const chartHost = h("div", { class: "nbt-dash-chart-host" });
  const chartPart = h("div", { class: "nbt-dash-part nbt-dash-chart" }, h("div", { class: "nbt-dash-bar" }, h("label", {}, "metric ", metricMenu), chartNote), chartHost);
  const parcoordsHost = h("div", { class: "nbt-dash-part nbt-dash-parcoords" });
  const root = h("div", { class: "nbtrack-dashboard nbt-dashboard" }, header, tableHost, chartPart, parcoordsHost);
  el.append(root);

  const table: TableController | null = parts.table ? renderTable(tableHost, sub(parts.table), ctx, opts.refresh || 0) : null;
  let parcoords: ParcoordsController | null = null;
  if (parts.parcoords) parcoords = await renderParcoords(parcoordsHost, sub(parts.parcoords), ctx);

  // -- the chart ------------------------------------------------------------------------------
  let chart: RenderedView | null = null;
  let shown = { runs: [] as string[], metric: "" };
  let chartRequest = 0;
  let chartTimer: ReturnType<typeof setTimeout> | null = null;
  // the chart draws what the dashboard gives it; it does not follow the selection itself
  const chartCtx: ViewContext = { ...ctx, selection: new Selection() };

  // each chart draws into its own element, swapped in once drawn (no blank flash between runs)
  let lastRendered: HTMLElement | null = null;
  async function showChartInto(runIds: string[], metric: string, data: Record<string, any> | null): Promise<void> {
    const render = viewRenderer("metric_chart");
    const base = parts.chart;
    if (!render || !base) {
      chartNote.textContent = "The metric chart is not available in this nbtrack.";
      return;
    }
    const mine = ++chartRequest;
    let chartData = data;
    if (!chartData) {
      if (!ctx.api) return;
      try {
        const { frame } = await ctx.api.view("metric-buckets", { run_ids: runIds, keys: [metric], x_axis: "step", buckets: Number(base.options.buckets ?? 400), with_runs: true });
        chartData = { runs: runInfos(frame, runIds), keys: [metric], x_axis: "step", hidden_runs: 0, buckets: frame };
      } catch (e) {
        chartNote.textContent = `The chart could not be read: ${(e as Error).message}`;
        return;
      }
      if (mine !== chartRequest || disposed) return;
    }
    const host = h("div", { class: "nbt-dash-chart-view" });
    chartHost.append(host);
    let next: RenderedView | null = null;
    try {
      next = await render(host, { view: "metric_chart", version: spec.version, tracking_uri: spec.tracking_uri, options: { ...base.options, keys: [metric], x: "step" }, data: chartData }, chartCtx);
    } catch (e) {
      chartNote.textContent = `The chart could not be drawn: ${(e as Error).message}`;
    }
    if (!next || mine !== chartRequest || disposed) {
      next?.dispose();
      host.remove();
      return;
    }
    chart?.dispose();
    lastRendered?.remove();
    chart = next;
    lastRendered = host;
    shown = { runs: runIds, metric };
    const selected = ctx.selection.runIds.length;
    chartNote.textContent = selected > runIds.length ? `${runIds.length} of ${selected} selected runs charted` : selected ? "selected runs" : "the table's first runs (tick or brush runs to chart them)";
  }

  function pageIds(): string[] {
    return table ? table.pageRows().map((r) => r.id) : [];
  }

  function wantChart(): void {
    if (chartTimer) clearTimeout(chartTimer);
    chartTimer = setTimeout(() => {
      chartTimer = null;
      const runs = chartRuns(ctx.selection.runIds, pageIds(), opts.chart_runs || 10);
      const metric = metricMenu.value || opts.metric || "";
      if (!metric || (metric === shown.metric && runs.join() === shown.runs.join())) return;
      void showChartInto(runs, metric, null);
    }, CHART_DELAY_MS);
  }

  metricMenu.addEventListener("change", wantChart);
  const unsubscribe = ctx.selection.subscribe(() => wantChart());

  // -- header and the table's pages -----------------------------------------------------------
  let lastFilter = table?.filter ?? "";
  function updateHeader(): void {
    const rows = table?.pageRows() ?? [];
    const running = rows.filter((r) => r.status === "RUNNING").length;
    const now = new Date().toTimeString().slice(0, 8);
    header.textContent = "";
    header.append(
      h("b", {}, "nbtrack dashboard"),
      ` \u00b7 ${(table?.total() ?? 0).toLocaleString()} runs` + (running ? ` \u00b7 ${running} running` : ""),
      h("span", { class: "nbt-dash-updated" }, ` \u00b7 updated ${now}`),
    );
  }
  if (table) {
    table.onPage = () => {
      updateHeader();
      if (table.filter !== lastFilter) {
        lastFilter = table.filter;
        void parcoords?.refresh(table.filter);
      }
      if (!ctx.selection.runIds.length) wantChart();
    };
  }
  updateHeader();

  const initial = parts.chart?.data;
  const initialRuns = ((initial?.runs ?? []) as { run_id: string }[]).map((r) => r.run_id);
  if (parts.chart && initial && initialRuns.length) {
    await showChartInto(initialRuns, (initial.keys ?? [])[0] ?? opts.metric ?? "", initial);
  } else if (parts.chart) {
    chartNote.textContent = "No run has a metric to chart yet.";
  }

  return {
    resize: () => {
      chart?.resize?.();
      parcoords?.resize?.();
    },
    dispose: () => {
      disposed = true;
      if (chartTimer) clearTimeout(chartTimer);
      unsubscribe();
      table?.dispose();
      parcoords?.dispose();
      chart?.dispose();
    },
  };
}

/** The chart's run list from metric-buckets rows with_runs (bucket -3: name, status, start). */
function runInfos(frame: WireFrame, order: string[]): { run_id: string; name: string; status: string; start_time: number | null }[] {
  const info = new Map<string, { run_id: string; name: string; status: string; start_time: number | null }>();
  for (const r of frameRows(frame)) {
    if (Number(r.bucket) !== -3) continue;
    const id = String(r.run_id);
    info.set(id, { run_id: id, name: String(r.run_name ?? id.slice(0, 8)), status: String(r.status ?? ""), start_time: r.start_time === null || r.start_time === undefined ? null : Number(r.start_time) });
  }
  return order.filter((id) => info.has(id)).map((id) => info.get(id)!);
}

registerView("dashboard", renderDashboard);
