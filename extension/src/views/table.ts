// The "runs_table" view: a page of runs from the spec's data, then paging, sorting and filtering
// through the store's runs-page operation. The Run column stays pinned while the table scrolls
// sideways, nested runs sit under their parents, a missing value is "—", a bad filter shows its
// error in place (the rows stay), and while a run on the page is RUNNING the table polls the
// cheap runs-fingerprint and refetches the page when it changes. Ticked rows are ctx.selection.

import { ApiError } from "../api";
import { WireFrame } from "../wire";
import { h, RenderedView, runColor, ViewContext, ViewSpec } from "./common";
import { registerView } from "./index";
import {
  allColumns,
  CatalogueEntry,
  catalogueOf,
  cellText,
  Column,
  defaultColumns,
  groupNested,
  isHiddenTag,
  pageRows,
  TableRow,
} from "./table-data";

export interface TableOptions {
  experiment_ids: string[];
  filter: string;
  sort: string;
  descending: boolean;
  page_size: number;
  group_by_cell: boolean;
  columns: string[] | null;
  /** the first row shown (the web UI restores it from its URL) */
  offset?: number;
}

/** What a host keeps of the table to restore it (the web UI's URL): columns only when chosen. */
export interface TableState {
  filter: string;
  sort: string;
  descending: boolean;
  offset: number;
  columns: string[] | null;
}

export interface TableData {
  page: WireFrame | null;
  catalogue: CatalogueEntry[];
  error?: { problem: string; position: number | null; text: string } | null;
}

/** What a dashboard holds of its table. */
export interface TableController extends RenderedView {
  readonly filter: string;
  /** the runs on the page, in display order */
  pageRows(): TableRow[];
  total(): number;
  refresh(catalogue?: boolean): Promise<void>;
  /** called after each page the table shows (new filter, sort, page, refresh) */
  onPage?: (table: TableController) => void;
  state(): TableState;
  /** called when the filter, sort, page or chosen columns change */
  onState?: (state: TableState) => void;
}

const POLL_MS = 2000;
const CELL_TAG = "nbtrack.cell_id";

export function renderTable(el: HTMLElement, spec: ViewSpec, ctx: ViewContext, pollAlways = 0): TableController {
  const opts = spec.options as TableOptions;
  const data = (spec.data ?? {}) as TableData;
  const state = {
    // a filter the store refused when the cell ran: the box keeps it, the rows are unfiltered
    filter: data.error ? "" : (opts.filter ?? ""),
    sort: opts.sort || "attr:start_time",
    descending: opts.descending ?? true,
    offset: Math.max(0, opts.offset ?? 0),
    limit: Math.max(1, opts.page_size || 50),
    rows: pageRows(data.page),
    catalogue: data.catalogue ?? [],
    visible: opts.columns ?? null,
    collapsed: new Set<string>(),
    seconds: 0,
  };
  // until the user picks columns, the defaults follow the catalogue (keys logged since appear)
  let chosen = !!opts.columns;
  if (!state.visible) state.visible = defaultColumns(state.catalogue);
  let focusedId: string | null = null;
  let request = 0;
  let fingerprint: string | null = null;
  let timer: ReturnType<typeof setInterval> | null = null;
  let disposed = false;

  const root = h("div", { class: "nbt-table" });
  const input = h("input", {
    class: "nbt-filter-input",
    type: "text",
    spellcheck: "false",
    placeholder: "filter: metrics.acc > 0.9 AND params.model = 'rf' (OR, NOT, parentheses work too)",
    value: opts.filter ?? "",
  }) as HTMLInputElement;
  const chips = h("div", { class: "nbt-chips" });
  const error = h("pre", { class: "nbt-filter-error", hidden: true });
  const info = h("span", { class: "nbt-table-info" });
  const live = h("span", { class: "nbt-live", hidden: true, title: "runs on this page are running: the table refreshes itself" }, "live");
  const chooser = h("div", { class: "nbt-colchooser", hidden: true });
  const columnsButton = h("button", { class: "nbt-btn nbt-columns-btn", type: "button", onclick: () => toggleChooser() }, "Columns");
  const thead = h("thead");
  const tbody = h("tbody");
  const scroll = h("div", { class: "nbt-table-scroll" }, h("table", { class: "nbt-grid" }, thead, tbody));
  const pager = h("div", { class: "nbt-pager" });
  root.append(
    h(
      "div",
      { class: "nbt-toolbar" },
      input,
      h("button", { class: "nbt-btn", type: "button", title: "clear the filter", onclick: () => applyFilter("") }, "\u00d7"),
      columnsButton,
      live,
      info,
    ),
    chips,
    error,
    chooser,
    scroll,
    pager,
  );
  el.append(root);

  // the tick column's width is known once the output is laid out (and may change with the font)
  const observer = typeof ResizeObserver === "undefined" ? null : new ResizeObserver(() => pinRunColumn());
  observer?.observe(root);
  scroll.addEventListener("scroll", () => pinRunColumn(), { passive: true });

  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter") void applyFilter(input.value);
  });

  const unsubscribe = ctx.selection.subscribe((_ids, origin) => {
    if (origin !== controller) drawBody();
  });

  function columns(): Column[] {
    const known = new Map(allColumns(state.catalogue).map((c) => [c.id, c]));
    return (state.visible ?? []).map((id) => known.get(id) ?? { id, label: id.split(":").slice(1).join(":"), kind: id.split(":")[0] });
  }

  function showError(text: string | null): void {
    error.hidden = !text;
    error.textContent = text ?? "";
  }

  function drawChips(): void {
    chips.textContent = "";
    if (state.filter) chips.append(h("span", { class: "nbt-chip", title: "the filter applied" }, state.filter));
  }

  function drawHead(): void {
    thead.textContent = "";
    const ids = state.rows.map((r) => r.id);
    const selected = new Set(ctx.selection.runIds);
    const all = ids.length > 0 && ids.every((id) => selected.has(id));
    const check = h("input", { type: "checkbox", class: "nbt-check-all", title: "tick every run on this page" }) as HTMLInputElement;
    check.checked = all;
    check.addEventListener("change", () => {
      const rest = ctx.selection.runIds.filter((id) => !ids.includes(id));
      ctx.selection.set(check.checked ? [...rest, ...ids] : rest, controller);
      drawBody();
    });
    const cells: HTMLElement[] = [h("th", { class: "nbt-th-check nbt-pin" }, check)];
    for (const c of columns()) {
      const arrow = c.id === state.sort ? (state.descending ? " \u25bc" : " \u25b2") : "";
      cells.push(
        h(
          "th",
          {
            class: `nbt-th nbt-kind-${c.kind}${c.id === "attr:run_name" ? " nbt-pin nbt-pin-run" : ""}`,
            "data-col": c.id,
            title: `${c.id} \u00b7 click to sort`,
            onclick: () => sortBy(c.id),
          },
          c.label + arrow,
        ),
      );
    }
    thead.append(h("tr", {}, cells));
  }

  function drawBody(): void {
    const hadFocus = !!document.activeElement && tbody.contains(document.activeElement);
    tbody.textContent = "";
    const cols = columns();
    const selected = new Set(ctx.selection.runIds);
    for (const entry of groupNested(state.rows, state.collapsed)) {
      const r = entry.row;
      const on = selected.has(r.id);
      const box = h("input", { type: "checkbox", class: "nbt-check" }) as HTMLInputElement;
      box.checked = on;
      box.addEventListener("change", () => {
        ctx.selection.toggle(r.id, controller);
        drawBody();
      });
      const checkCell = h("td", { class: "nbt-td-check nbt-pin" }, box);
      if (on) checkCell.style.boxShadow = `inset 4px 0 0 ${runColor(r.id)}`;
      const cells: HTMLElement[] = [checkCell];
      for (const c of cols) {
        if (c.id === "attr:run_name") cells.push(runCell(entry.row, entry.depth, entry.children, entry.orphan));
        else if (c.id === "attr:status") cells.push(h("td", { class: `nbt-td nbt-status nbt-status-${r.status.toLowerCase()}` }, r.status || "\u2014"));
        else {
          const v = r.values[c.id];
          cells.push(h("td", { class: `nbt-td${typeof v === "number" ? " nbt-num" : ""}` }, cellText(c.id, v)));
        }
      }
      tbody.append(
        h("tr", { class: `nbt-row${on ? " nbt-selected" : ""}${entry.depth ? " nbt-nested" : ""}`, "data-run-id": r.id, "data-depth": entry.depth, tabindex: -1, "aria-selected": String(on) }, cells),
      );
    }
    if (!state.rows.length) tbody.append(h("tr", {}, h("td", { class: "nbt-empty", colspan: cols.length + 1 }, "No runs match.")));
    const all = thead.querySelector(".nbt-check-all") as HTMLInputElement | null;
    if (all) all.checked = state.rows.length > 0 && state.rows.every((r) => selected.has(r.id));
    // one row is reachable with Tab (a roving tabindex); the focus survives a redraw
    const rowEls = [...tbody.querySelectorAll<HTMLElement>("tr.nbt-row")];
    const target = rowEls.find((tr) => tr.dataset.runId === focusedId) ?? rowEls[0];
    if (target) {
      target.tabIndex = 0;
      if (hadFocus) target.focus();
    }
    pinRunColumn();
  }

  /** Arrow keys (and Home/End) move the focused row, space ticks it, Enter opens the run. Keys
   *  typed in a row's checkbox or button stay theirs. */
  function onRowKey(e: KeyboardEvent): void {
    const tr = e.target as HTMLElement;
    if (!tr.matches?.("tr.nbt-row")) return;
    const rowEls = [...tbody.querySelectorAll<HTMLElement>("tr.nbt-row")];
    const i = rowEls.indexOf(tr);
    const id = tr.dataset.runId ?? "";
    let next: HTMLElement | undefined;
    if (e.key === "ArrowDown") next = rowEls[Math.min(i + 1, rowEls.length - 1)];
    else if (e.key === "ArrowUp") next = rowEls[Math.max(i - 1, 0)];
    else if (e.key === "Home") next = rowEls[0];
    else if (e.key === "End") next = rowEls[rowEls.length - 1];
    else if (e.key === " ") {
      ctx.selection.toggle(id, controller);
      drawBody();
    } else if (e.key === "Enter" && ctx.openRun) ctx.openRun(id);
    else return;
    e.preventDefault();
    e.stopPropagation();
    if (next && next !== tr) {
      tr.tabIndex = -1;
      next.tabIndex = 0;
      next.focus();
    }
  }
  tbody.addEventListener("keydown", onRowKey);
  tbody.addEventListener("focusin", (e) => {
    const tr = (e.target as HTMLElement).closest?.("tr.nbt-row") as HTMLElement | null;
    if (tr) focusedId = tr.dataset.runId ?? null;
  });

  /** The Run column sticks right after the tick column, whatever width the browser gave that. */
  function pinRunColumn(): void {
    const tick = thead.querySelector(".nbt-th-check") as HTMLElement | null;
    const left = tick?.offsetWidth ? `${tick.offsetWidth}px` : "";
    if (left && root.style.getPropertyValue("--nbt-pin-left") !== left) root.style.setProperty("--nbt-pin-left", left);
  }

  function runCell(r: TableRow, depth: number, children: number, orphan: boolean): HTMLElement {
    const td = h("td", { class: "nbt-td nbt-run nbt-pin nbt-pin-run", title: r.id });
    td.style.paddingLeft = `${6 + depth * 16}px`;
    if (children) {
      const open = !state.collapsed.has(r.id);
      td.append(
        h(
          "button",
          {
            class: "nbt-twisty",
            type: "button",
            "aria-expanded": String(open),
            title: `${open ? "collapse" : "expand"} ${children} nested run${children === 1 ? "" : "s"}`,
            onclick: () => {
              if (open) state.collapsed.add(r.id);
              else state.collapsed.delete(r.id);
              drawBody();
            },
          },
          open ? "\u25be" : "\u25b8",
        ),
      );
    } else if (depth) {
      td.append(h("span", { class: "nbt-twisty-space" }, "\u2514"));
    }
    if (orphan) td.append(h("span", { class: "nbt-orphan", title: `nested run of ${r.parent}, which is not on this page` }, "\u21b3 "));
    td.append(ctx.runLink ? h("a", { class: "nbt-run-name", href: ctx.runLink(r.id), tabindex: -1 }, r.name) : h("span", { class: "nbt-run-name" }, r.name));
    if (children && state.collapsed.has(r.id)) td.append(h("span", { class: "nbt-nested-count" }, ` +${children}`));
    return td;
  }

  function drawPager(): void {
    pager.textContent = "";
    const total = state.rows[0]?.total ?? 0;
    const first = total ? state.offset + 1 : 0;
    const last = state.offset + state.rows.length;
    const prev = h("button", { class: "nbt-btn", type: "button", disabled: state.offset === 0 || !ctx.api, onclick: () => go(state.offset - state.limit) }, "\u2039 prev");
    const next = h("button", { class: "nbt-btn", type: "button", disabled: last >= total || !ctx.api, onclick: () => go(state.offset + state.limit) }, "next \u203a");
    const pages = Math.max(1, Math.ceil(total / state.limit));
    const page = Math.floor(state.offset / state.limit) + 1;
    const firstPage = h("button", { class: "nbt-btn nbt-pager-first", type: "button", title: "first page", disabled: state.offset === 0 || !ctx.api, onclick: () => go(0) }, "\u00ab");
    const lastPage = h("button", { class: "nbt-btn nbt-pager-last", type: "button", title: "last page", disabled: last >= total || !ctx.api, onclick: () => go((pages - 1) * state.limit) }, "\u00bb");
    pager.append(
      firstPage,
      prev,
      h("span", { class: "nbt-pager-text" }, `${first.toLocaleString()}\u2013${last.toLocaleString()} of ${total.toLocaleString()} runs`),
      h("span", { class: "nbt-pager-pages" }, `page ${page.toLocaleString()} of ${pages.toLocaleString()}`),
      next,
      lastPage,
    );
    info.textContent = `${total.toLocaleString()} runs` + (state.seconds ? ` \u00b7 ${Math.round(state.seconds * 1000)} ms` : "");
  }

  function toggleChooser(): void {
    chooser.hidden = !chooser.hidden;
    if (chooser.hidden) return;
    chooser.textContent = "";
    const search = h("input", { type: "text", class: "nbt-colchooser-search", placeholder: "find a column" }) as HTMLInputElement;
    const list = h("div", { class: "nbt-colchooser-list" });
    const fill = (): void => {
      list.textContent = "";
      const q = search.value.toLowerCase();
      for (const c of allColumns(state.catalogue)) {
        if (q ? !c.id.toLowerCase().includes(q) : isHiddenTag(c)) continue;
        const box = h("input", { type: "checkbox" }) as HTMLInputElement;
        box.checked = (state.visible ?? []).includes(c.id);
        box.addEventListener("change", () => {
          const now = (state.visible ?? []).filter((id) => id !== c.id);
          state.visible = box.checked ? [...now, c.id] : now;
          chosen = true;
          drawHead();
          drawBody();
          controller.onState?.(controller.state());
        });
        list.append(h("label", { class: "nbt-colchooser-item" }, box, ` ${c.kind === "attr" ? "" : c.kind + " "}${c.label}`));
      }
    };
    search.addEventListener("input", fill);
    fill();
    chooser.append(search, list);
  }

  function draw(): void {
    drawChips();
    drawHead();
    drawBody();
    drawPager();
  }

  function sortBy(id: string): void {
    if (state.sort === id) state.descending = !state.descending;
    else {
      state.sort = id;
      state.descending = !(id === "attr:run_name" || id.startsWith("param:") || id.startsWith("tag:"));
    }
    state.offset = 0;
    if (!ctx.api) {
      sortLocally();
      draw();
      return;
    }
    void fetchPage();
  }

  function sortLocally(): void {
    const sign = state.descending ? -1 : 1;
    state.rows = [...state.rows].sort((a, b) => {
      const x = a.values[state.sort];
      const y = b.values[state.sort];
      if (x === y) return 0;
      if (x === null || x === undefined) return 1;
      if (y === null || y === undefined) return -1;
      return (typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y), undefined, { numeric: true })) * sign;
    });
  }

  function go(offset: number): void {
    state.offset = Math.max(0, offset);
    void fetchPage();
  }

  async function applyFilter(text: string): Promise<void> {
    input.value = text;
    if (!ctx.api) {
      showError("This table shows the runs from when the cell ran: no store to filter (run the cell again).");
      return;
    }
    const before = { filter: state.filter, offset: state.offset };
    state.filter = text.trim();
    state.offset = 0;
    const ok = await fetchPage(true);
    if (!ok) Object.assign(state, before); // the last good result stays, with its filter
  }

  /** Fetch the current page; false when the store refused it (the table stays as it was). */
  async function fetchPage(catalogue = false): Promise<boolean> {
    if (!ctx.api || disposed) return false;
    const mine = ++request;
    const started = performance.now();
    try {
      const body: Record<string, unknown> = {
        experiment_ids: opts.experiment_ids,
        filter: state.filter,
        sort: state.sort,
        descending: state.descending,
        offset: state.offset,
        limit: state.limit,
        catalogue,
      };
      if (opts.group_by_cell) body.group_by_tag = CELL_TAG;
      const { frame } = await ctx.api.view("runs-page", body);
      if (mine !== request || disposed) return false;
      const rows = pageRows(frame);
      if (!rows.length && state.offset > 0) {
        // past the end (runs were deleted or the filter narrowed): back to the first page
        state.offset = 0;
        return fetchPage(catalogue);
      }
      state.rows = rows;
      state.seconds = (performance.now() - started) / 1000;
      const cat = catalogueOf(frame);
      if (catalogue && cat) {
        state.catalogue = cat;
        if (!chosen) state.visible = defaultColumns(cat);
      }
      showError(null);
      draw();
      updateLive();
      controller.onPage?.(controller);
      controller.onState?.(controller.state());
      return true;
    } catch (e) {
      if (mine !== request || disposed) return false;
      const err = e as ApiError;
      showError(err.errorCode === "INVALID_PARAMETER_VALUE" ? err.message : `The store could not be read: ${err.message}`);
      return false;
    }
  }

  function anyRunning(): boolean {
    return state.rows.some((r) => r.status === "RUNNING" || r.status === "SCHEDULED");
  }

  function updateLive(): void {
    const wanted = ctx.live && !!ctx.api && !disposed && (anyRunning() || pollAlways > 0);
    live.hidden = !(wanted && anyRunning());
    if (wanted && !timer) timer = setInterval(() => void poll(), anyRunning() ? POLL_MS : Math.max(pollAlways, 0.5) * 1000);
    if (!wanted && timer) {
      clearInterval(timer);
      timer = null;
    }
  }

  async function poll(): Promise<void> {
    if (!ctx.api || disposed) return;
    try {
      const { fingerprint: fp } = await ctx.api.view<{ fingerprint: unknown[] }>("runs-fingerprint", { experiment_ids: opts.experiment_ids });
      const text = JSON.stringify(fp);
      if (fingerprint !== null && text !== fingerprint) await fetchPage(true);
      fingerprint = text;
    } catch {
      /* the server may be restarting: the next poll tries again */
    }
  }

  const controller: TableController = {
    get filter() {
      return state.filter;
    },
    pageRows: () => groupNested(state.rows).map((e) => e.row),
    total: () => state.rows[0]?.total ?? 0,
    state: () => ({ filter: state.filter, sort: state.sort, descending: state.descending, offset: state.offset, columns: chosen ? [...(state.visible ?? [])] : null }),
    refresh: async (catalogue = true) => {
      await fetchPage(catalogue);
    },
    dispose: () => {
      disposed = true;
      if (timer) clearInterval(timer);
      timer = null;
      unsubscribe();
      observer?.disconnect();
    },
  };

  draw();
  if (data.error) showError(`${data.error.problem}\n  ${data.error.text}` + (data.error.position ? `\n  ${" ".repeat(data.error.position - 1)}^` : ""));
  updateLive();
  if (timer) void poll();
  return controller;
}

registerView("runs_table", (el, spec, ctx) => renderTable(el, spec, ctx));
