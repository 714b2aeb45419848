// The compare page (#/compare?runs=a,b,c): 2-50 runs side by side. The diff table (views/compare.ts:
// params, latest metrics and tags, rows that differ highlighted, the best value of each metric
// marked, "only differences"), overlaid metric charts, parallel coordinates whose brush highlights
// runs in the table and the scatter, a scatter of any two columns and the cell-source diff of two
// runs. What the reader chose (keys, axes, the pair, the toggle) is in the query string.
// A new `runs=` is a new route: the shell disposes this page and draws a fresh one.

import "../../../style/app-compare.css";
import { plotly } from "../../plotly";
import { Selection } from "../../selection";
import { h } from "../../views/common";
import { CompareData, compareTable } from "../../views/compare";
import { empty, errorBox, link, loading, Page, PageContext, Route } from "../page";
import { registerPage } from "../shell";
import { commonMetrics, compareData, Loaded, loadRuns, MAX_RUNS, runIdsOf } from "./compare-data";
import { DEFAULT_CHART_KEYS, metricCharts, parallelCoordinates, Part, scatter } from "./compare-plots";
import { sourceDiff } from "./compare-source";

const list = (v: string | null): string[] => (v ? v.split(",").filter(Boolean) : []);

function section(id: string, title: string, ...body: (Node | string)[]): HTMLElement {
  return h("section", { class: "nbt-cmp-section", "data-section": id, "aria-label": title }, h("h2", {}, title), ...body);
}

/** The diff table with its toggle, and the brushed runs (the page's selection) marked in it. */
function diffSection(data: CompareData, route: Route, ctx: PageContext, selection: Selection): Part {
  const only = h("input", { type: "checkbox", class: "nbt-cmp-only" });
  only.checked = route.query.get("only") === "1";
  const brushNote = h("div", { class: "nbt-cmp-brushed", hidden: true });
  const wrap = h("div", { class: "nbt-compare-scroll nbt-cmp-table-wrap" });
  const hiddenNote = h("span", { class: "nbt-cmp-note nbt-cmp-hidden-count" });
  let rows = -1;
  const draw = (): void => {
    const table = compareTable(data, { onlyDiffering: only.checked, metricsToo: true, runHref: (id) => link(`/runs/${id}`) });
    const shown = table.querySelectorAll("tr.nbt-compare-row").length;
    if (rows < 0) rows = only.checked ? compareTable(data).querySelectorAll("tr.nbt-compare-row").length : shown;
    hiddenNote.textContent = only.checked ? `${rows - shown} equal row${rows - shown === 1 ? "" : "s"} hidden` : "";
    // long values (commits, paths) are cut by the stylesheet: the whole value on hover
    for (const td of table.querySelectorAll<HTMLElement>("tbody td[data-run]")) if ((td.textContent ?? "").length > 32) td.title = td.textContent ?? "";
    wrap.replaceChildren(table);
    mark();
  };
  const mark = (): void => {
    const picked = new Set(selection.runIds);
    for (const cell of wrap.querySelectorAll<HTMLElement>("[data-run]")) {
      const id = cell.dataset.run!;
      cell.classList.toggle("nbt-cmp-in", picked.size > 0 && picked.has(id));
      cell.classList.toggle("nbt-cmp-out", picked.size > 0 && !picked.has(id));
    }
    brushNote.hidden = !picked.size;
    brushNote.replaceChildren(
      `${picked.size} of ${data.runs.length} runs in the brushed ranges of the parallel coordinates, highlighted below `,
      h("button", { type: "button", class: "nbt-cmp-clear", onclick: () => selection.set([]) }, "Clear"),
    );
  };
  only.addEventListener("change", () => {
    ctx.setQuery({ only: only.checked ? "1" : null });
    draw();
  });
  const unsubscribe = selection.subscribe(mark);
  draw();
  const root = section("diff", "Params, metrics and tags", h("div", { class: "nbt-cmp-toolbar" }, h("label", { class: "nbt-chart-check" }, only, "only differences"), hiddenNote, h("span", { class: "nbt-cmp-legend" }, h("span", { class: "nbt-cmp-legend-differs" }, "differs"), " \u2605 best (\u2191 higher is better, \u2193 lower)")), brushNote, wrap);
  return { root, dispose: unsubscribe };
}

function missingNotice(loaded: Loaded): HTMLElement | null {
  if (!loaded.missing.length) return null;
  return h("div", { class: "nbt-app-error nbt-cmp-missing", role: "alert" },
    `${loaded.missing.length} of the runs asked for could not be read; the others are compared:`,
    h("ul", {}, loaded.missing.map((m) => h("li", {}, h("code", {}, m.run_id), ": ", m.message))));
}

async function render(el: HTMLElement, route: Route, ctx: PageContext): Promise<Page> {
  const ids = runIdsOf(route.query);
  const parts: Part[] = [];
  let disposed = false;
  const page: Page = {
    dispose: () => {
      disposed = true;
      for (const p of parts) p.dispose();
    },
  };
  ctx.setTitle(`Compare ${ids.length} runs`);
  const back = h("a", { href: link("/experiments") }, "Experiments");
  el.append(h("div", { class: "nbt-app-crumbs" }, back), h("h1", {}, "Compare runs"));
  if (ids.length < 2) {
    el.append(empty(ids.length ? "One run is not a comparison" : "No runs to compare", "Tick 2 to 50 runs in an experiment's run table and press Compare, or give their ids: ", h("code", {}, "#/compare?runs=<id>,<id>"), "."));
    return page;
  }
  if (ids.length > MAX_RUNS) {
    el.append(empty(`${ids.length} runs are too many to compare`, `Compare takes 2 to ${MAX_RUNS} runs: narrow the selection (a filter or a brush in the run table) and compare again. `, h("a", { href: link(`/compare?runs=${ids.slice(0, MAX_RUNS).join(",")}`), class: "nbt-cmp-first" }, `Compare the first ${MAX_RUNS}`)));
    return page;
  }
  const wait = loading(`Reading ${ids.length} runs…`);
  el.append(wait);
  let loaded: Loaded;
  try {
    loaded = await loadRuns(ctx.api, ids);
  } catch (e) {
    wait.replaceWith(errorBox(e));
    return page;
  }
  if (disposed) return page;
  wait.remove();
  const notice = missingNotice(loaded);
  if (notice) el.append(notice);
  const runs = loaded.runs;
  if (runs.length < 2) {
    el.append(empty(runs.length ? "Only one of the runs exists" : "None of these runs exists", "Check the ids in the address, or pick runs again in an experiment's run table."));
    return page;
  }
  ctx.setTitle(`Compare ${runs.length} runs`);
  const experiments = [...new Set(runs.map((r) => r.experiment_id))];
  if (experiments.length === 1) back.after(" / ", h("a", { href: link(`/experiments/${experiments[0]}`) }, "Runs"));
  el.querySelector("h1")!.textContent = `Compare ${runs.length} runs`;

  const selection = new Selection();
  const data = compareData(runs);
  const common = commonMetrics(runs);
  const diff = diffSection(data, route, ctx, selection);
  parts.push(diff);
  const keys = route.query.has("keys") ? list(route.query.get("keys")) : common.filter((k) => !k.startsWith("system/")).slice(0, DEFAULT_CHART_KEYS);
  const viewCtx = { api: ctx.api, selection, live: true };
  const charts = metricCharts(ctx.api, runs, data.metrics, keys, viewCtx, (k) => ctx.setQuery({ keys: k.join(",") }));
  parts.push(charts);
  // the parts below the charts start once the charts are drawn: the first screen comes first
  const after = charts.ready ?? Promise.resolve();
  const pc = parallelCoordinates(ctx.api, data, common.filter((k) => !k.startsWith("system/")), selection, after);
  parts.push(pc);
  const sc = scatter(data, [route.query.get("x"), route.query.get("y")], selection, (x, y) => ctx.setQuery({ x, y }), after);
  parts.push(sc);
  const src = sourceDiff(ctx.api, runs, [route.query.get("a"), route.query.get("b")], (a, b) => ctx.setQuery({ a, b }), after);
  parts.push(src);

  const sections = [
    diff.root,
    section("charts", "Metric charts", charts.root),
    section("parcoords", "Parallel coordinates", h("div", { class: "nbt-cmp-hint" }, "Drag along an axis to brush a range; the runs inside every brushed range are highlighted in the table and the scatter."), pc.root),
    section("scatter", "Scatter", sc.root),
    section("source", "Cell source", src.root),
  ];
  const jump = h("nav", { class: "nbt-cmp-jump", "aria-label": "Sections" }, sections.map((s) => h("button", { type: "button", onclick: () => s.scrollIntoView({ behavior: "smooth", block: "start" }) }, s.querySelector("h2")!.textContent)));
  el.append(jump, ...sections);
  void plotly(); // fetched while the histories are read; parsed after the table is on the screen
  return page;
}

registerPage("compare", render);
