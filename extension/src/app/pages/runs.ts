// The runs page (#/experiments/:experimentId, more experiments with ?ids=1,2): the notebook's run
// table (views/table.ts) over the server's runs-page endpoint, with the experiment's name,
// description and tags above it. Filter, sort, page and chosen columns live in the URL (a reload or
// a shared link shows the same page); ticking 2-50 runs enables Compare.

import { ApiError } from "../../api";
import { Selection } from "../../selection";
import { h, ViewSpec } from "../../views/common";
import { renderTable, TableController, TableState } from "../../views/table";
import { catalogueOf, pageRows } from "../../views/table-data";
import { empty, errorBox, link, loading, PageContext, Route, slashFocuses } from "../page";
import { noteEditor } from "../note";
import { pathOf } from "../router";
import { registerPage } from "../shell";

const PAGE_SIZE = 50;
const PAGE_SIZES = [25, 50, 100, 200];
const MAX_COMPARE = 50;
const NOTE_TAG = "mlflow.note.content";

/** Column ids in the URL: "a,b,c", split before each kind prefix (a key may hold a comma). */
export function splitColumns(text: string | null): string[] | null {
  if (!text) return null;
  return text.split(/,(?=(?:attr|param|metric|tag):)/).filter(Boolean);
}

/** The experiment ids of the route: the path's id first, then those of ?ids= not already there. */
export function experimentIds(route: Route): string[] {
  const ids = [route.params.experimentId, ...(route.query.get("ids") ?? "").split(",")].map((s) => s.trim()).filter(Boolean);
  return [...new Set(ids)];
}

function header(experiments: any[], ids: string[], ctx: PageContext): HTMLElement {
  const tagsOf = (e: any): { key: string; value: string }[] => e.tags ?? [];
  const names = experiments.map((e) => e.name);
  const box = h("div", { class: "nbt-app-runs-header" });
  box.append(h("div", { class: "nbt-app-crumbs" }, h("a", { href: link("/experiments") }, "Experiments"), " / "));
  box.append(h("h1", {}, names.join(" + ") || ids.join(", ")));
  for (const e of experiments) {
    const note = tagsOf(e).find((t) => t.key === NOTE_TAG)?.value;
    const tags = tagsOf(e).filter((t) => !t.key.startsWith("mlflow."));
    const meta = h(
      "div",
      { class: "nbt-app-exp-meta", "data-experiment-id": e.experiment_id },
      experiments.length > 1 ? h("strong", {}, `${e.name} `) : null,
      h("span", { class: "nbt-app-muted" }, `id ${e.experiment_id}`),
      e.lifecycle_stage === "deleted" ? h("span", { class: "nbt-app-badge nbt-app-badge-deleted" }, "deleted") : null,
      ...tags.map((t) => h("span", { class: "nbt-app-tag", title: `tags.${t.key}` }, `${t.key}: ${t.value}`)),
    );
    box.append(meta);
    if (experiments.length === 1) {
      // one experiment: its description (markdown) edited in place, as a run's
      let text = note ?? "";
      box.append(noteEditor({
        cls: "nbt-app-exp-description",
        text: () => text,
        save: async (value) => {
          await ctx.api.mlflow("POST", "experiments/set-experiment-tag", { experiment_id: e.experiment_id, key: NOTE_TAG, value });
          text = value;
        },
        empty: "No description yet: say what this experiment is for (markdown works).",
      }));
    } else if (note) box.append(h("p", { class: "nbt-app-description" }, note));
  }
  return box;
}

function stateQuery(s: TableState): Record<string, string | null> {
  return {
    filter: s.filter || null,
    sort: s.sort === "attr:start_time" ? null : s.sort,
    asc: s.descending ? null : "1",
    offset: s.offset ? String(s.offset) : null,
    cols: s.columns ? s.columns.join(",") : null,
  };
}

async function firstPage(ctx: PageContext, body: Record<string, unknown>): Promise<{ frame: any; error: string | null; reset?: boolean }> {
  try {
    const { frame } = await ctx.api.view("runs-page", body);
    // a link past the last page (runs deleted since): its first page instead
    if (Number(body.offset) > 0 && !pageRows(frame).length) return { ...(await firstPage(ctx, { ...body, offset: 0 })), reset: true };
    return { frame, error: null };
  } catch (e) {
    // a bad filter in the link: the rows of no filter, the error where the filter is
    if (!(e instanceof ApiError) || e.errorCode !== "INVALID_PARAMETER_VALUE" || !body.filter) throw e;
    const { frame } = await ctx.api.view("runs-page", { ...body, filter: "", offset: 0 });
    return { frame, error: e.message, reset: true };
  }
}

registerPage("runs", async (el, route, ctx) => {
  const started = performance.now();
  const ids = experimentIds(route);
  const q = route.query;
  ctx.setTitle("Runs");
  el.append(loading("Loading runs…"));
  const options = {
    experiment_ids: ids,
    filter: q.get("filter") ?? "",
    sort: q.get("sort") || "attr:start_time",
    descending: q.get("asc") !== "1",
    offset: Math.max(0, Number(q.get("offset")) || 0),
    page_size: Math.max(1, Math.min(1000, Number(q.get("size")) || PAGE_SIZE)),
    group_by_cell: false,
    columns: splitColumns(q.get("cols")),
  };
  const body = { experiment_ids: ids, filter: options.filter, sort: options.sort, descending: options.descending, offset: options.offset, limit: options.page_size, catalogue: true };
  let experiments: any[];
  let page: { frame: any; error: string | null; reset?: boolean };
  try {
    [experiments, page] = await Promise.all([
      Promise.all(ids.map((id) => ctx.api.mlflow("GET", "experiments/get", { experiment_id: id }).then((r) => r.experiment))),
      firstPage(ctx, body),
    ]);
  } catch (e) {
    el.replaceChildren(h("div", { class: "nbt-app-crumbs" }, h("a", { href: link("/experiments") }, "Experiments"), " / "), errorBox(e));
    return { dispose() {} };
  }
  ctx.setTitle(`Runs of ${experiments.map((e) => e.name).join(" + ")}`);

  const selection = new Selection();
  const compare = h("button", { class: "nbt-app-primary nbt-app-compare", type: "button", disabled: true }, "Compare") as HTMLButtonElement;
  const hint = h("span", { class: "nbt-app-muted nbt-app-compare-hint" });
  const clear = h("button", { type: "button", class: "nbt-app-clear-selection", hidden: true, onclick: () => selection.set([]) }, "Clear selection");
  const updateCompare = (): void => {
    const n = selection.runIds.length;
    compare.disabled = n < 2 || n > MAX_COMPARE;
    compare.textContent = n ? `Compare ${n} runs` : "Compare";
    clear.hidden = n === 0;
    hint.textContent = n === 0 ? "tick 2\u201350 runs to compare them (space ticks the focused row)" : n === 1 ? "tick one more run to compare" : n > MAX_COMPARE ? `at most ${MAX_COMPARE} runs compare at once` : "";
  };
  compare.addEventListener("click", () => ctx.navigate(pathOf("/compare", {}, { runs: selection.runIds.join(",") })));
  const unsubscribe = selection.subscribe(updateCompare);
  updateCompare();

  const size = h(
    "select",
    { class: "nbt-app-page-size", "aria-label": "Runs per page", title: "runs per page" },
    ...PAGE_SIZES.map((n) => h("option", { value: String(n), selected: n === options.page_size }, `${n} per page`)),
  ) as HTMLSelectElement;
  // a new page size draws the page again from its first row (the URL keeps the size)
  size.addEventListener("change", () => {
    const q = new URLSearchParams(route.query);
    q.delete("offset");
    if (size.value === String(PAGE_SIZE)) q.delete("size");
    else q.set("size", size.value);
    ctx.navigate(`${route.path.split("?")[0]}?${q}`);
  });
  const tableEl = h("div", { class: "nbt-app-runs-table" });
  el.replaceChildren(header(experiments, ids, ctx), h("div", { class: "nbt-app-toolbar" }, compare, clear, hint, h("span", { class: "nbt-app-spacer" }), size), tableEl);
  const spec: ViewSpec = {
    view: "runs_table",
    version: 1,
    options: page.reset ? { ...options, offset: 0 } : options,
    // the catalogue rides on the first row of a page asked with catalogue: true
    data: { page: page.frame, catalogue: catalogueOf(page.frame) ?? [], error: page.error ? { problem: page.error, position: null, text: options.filter } : null },
  };
  const table: TableController = renderTable(tableEl, spec, {
    api: ctx.api,
    selection,
    live: true,
    runLink: (id) => link(`/runs/${encodeURIComponent(id)}`),
    openRun: (id) => ctx.navigate(`/runs/${encodeURIComponent(id)}`),
  });
  table.onState = (s) => ctx.setQuery(stateQuery(s));
  if (page.reset) ctx.setQuery({ offset: null });
  if (!table.total() && !options.filter) {
    tableEl.prepend(empty("No runs in this experiment yet", "Log one from a notebook with ", h("code", {}, "%%track"), ", or from a script with ", h("code", {}, `MLFLOW_TRACKING_URI=${location.origin}`), " and ", h("code", {}, "mlflow.start_run()"), "."));
  }
  const unslash = slashFocuses(() => tableEl.querySelector(".nbt-filter-input"));
  el.dataset.readyMs = String(Math.round(performance.now() - started));
  el.dataset.ready = "1";
  return {
    dispose() {
      unsubscribe();
      unslash();
      table.dispose();
    },
  };
});
