import { describe, expect, it } from "vitest";

import { Api } from "../src/api";
import { MISSING, ViewContext } from "../src/views/common";
import { Selection } from "../src/selection";
import { renderTable } from "../src/views/table";
import { cellText, defaultColumns, groupNested, pageRows, TableRow } from "../src/views/table-data";
import { WireFrame } from "../src/wire";

function row(id: string, parent: string | null = null): TableRow {
  return { id, name: id, status: "FINISHED", start: 0, end: 0, user: "u", parent, values: {}, total: 0 };
}

/** A runs-page frame as store.runs_page sends it (nbtrack/store/wire.py). */
function page(runs: { id: string; name: string; status?: string; parent?: string; params?: Record<string, string>; metrics?: Record<string, number | string> }[]): WireFrame {
  const kinds: string[][] = [], keys: string[][] = [], nums: unknown[][] = [], texts: unknown[][] = [];
  for (const r of runs) {
    const k: string[] = [], kk: string[] = [], n: unknown[] = [], t: unknown[] = [];
    for (const [key, v] of Object.entries(r.params ?? {})) k.push("param"), kk.push(key), n.push(null), t.push(v);
    for (const [key, v] of Object.entries(r.metrics ?? {})) k.push("metric"), kk.push(key), n.push(v), t.push(null);
    if (r.parent) k.push("tag"), kk.push("mlflow.parentRunId"), n.push(null), t.push(r.parent);
    kinds.push(k), keys.push(kk), nums.push(n), texts.push(t);
  }
  const col = (f: (r: (typeof runs)[number], i: number) => unknown) => runs.map(f);
  return {
    columns: ["pos", "total", "n_cell", "run_id", "run_name", "status", "start_time", "end_time", "user_id", "kinds", "keys", "nums", "texts"],
    dtypes: ["int64", "int64", "int64", "str", "str", "str", "int64", "int64", "str", "object", "object", "object", "object"],
    data: [col((_, i) => i + 1), col(() => runs.length), col(() => 1), col((r) => r.id), col((r) => r.name), col((r) => r.status ?? "FINISHED"),
      col(() => 1_700_000_000_000), col(() => 1_700_000_005_000), col(() => "me"), kinds, keys, nums, texts],
  };
}

describe("nested runs", () => {
  it("puts children under their parents at any depth, in page order", () => {
    const rows = [row("c2", "p"), row("p"), row("g", "c1"), row("c1", "p"), row("q")];
    const tree = groupNested(rows);
    expect(tree.map((e) => [e.row.id, e.depth])).toEqual([["p", 0], ["c2", 1], ["c1", 1], ["g", 2], ["q", 0]]);
    expect(tree[0].children).toBe(3);
    expect(tree.find((e) => e.row.id === "c1")!.children).toBe(1);
  });

  it("keeps a child whose parent is not on the page at the top, marked as an orphan", () => {
    const tree = groupNested([row("a"), row("orphan", "elsewhere")]);
    expect(tree.map((e) => [e.row.id, e.depth, e.orphan])).toEqual([["a", 0, false], ["orphan", 0, true]]);
  });

  it("collapsing a run hides all its descendants but not the run", () => {
    const rows = [row("p"), row("c", "p"), row("g", "c"), row("x")];
    expect(groupNested(rows, new Set(["p"])).map((e) => e.row.id)).toEqual(["p", "x"]);
    expect(groupNested(rows, new Set(["c"])).map((e) => e.row.id)).toEqual(["p", "c", "x"]);
  });

  it("a cycle of parent tags loses no run", () => {
    const tree = groupNested([row("a", "b"), row("b", "a")]);
    expect(tree.map((e) => e.row.id).sort()).toEqual(["a", "b"]);
  });

  it("reads the parent from the mlflow.parentRunId tag of a runs page", () => {
    const rows = pageRows(page([{ id: "p1", name: "parent" }, { id: "k1", name: "kid", parent: "p1" }]));
    expect(rows.map((r) => r.parent)).toEqual([null, "p1"]);
  });
});

describe("cells", () => {
  it("shows a dash for a missing value, never nan or an empty cell", () => {
    const rows = pageRows(page([{ id: "a", name: "rf", params: { max_depth: "5" }, metrics: { acc: 0.9 } }, { id: "b", name: "logreg", params: { lr: "0.1" }, metrics: { acc: { double: "NaN" } as any } }]));
    expect(cellText("param:max_depth", rows[1].values["param:max_depth"])).toBe(MISSING);
    expect(cellText("param:lr", rows[0].values["param:lr"])).toBe(MISSING);
    expect(cellText("metric:acc", rows[0].values["metric:acc"])).toBe("0.9");
    expect(cellText("metric:acc", rows[1].values["metric:acc"])).toBe(MISSING);
    expect(cellText("attr:duration", rows[0].values["attr:duration"])).toBe("5.0 s");
  });

  it("shows params and metrics by default, the commonest first", () => {
    const cols = defaultColumns([
      { kind: "param", key: "lr", n: 3, numeric: true },
      { kind: "metric", key: "acc", n: 5, numeric: true },
      { kind: "tag", key: "team", n: 5, numeric: false },
    ]);
    expect(cols).toEqual(["attr:run_name", "attr:status", "attr:start_time", "attr:duration", "param:lr", "metric:acc"]);
  });
});

/** An Api on a fake server that answers runs-page from `handler` (the client code is the real one). */
function apiAnswering(handler: (body: any) => { status: number; json: unknown }): Api {
  return new Api({
    base: "/api",
    fetch: (async (_url: RequestInfo | URL, init?: RequestInit) => {
      const { status, json } = handler(JSON.parse(String(init?.body ?? "{}")));
      return new Response(JSON.stringify(json), { status, headers: { "Content-Type": "application/json" } });
    }) as typeof fetch,
  });
}

function spec(frame: WireFrame) {
  return {
    view: "runs_table",
    version: 1,
    options: { experiment_ids: ["1"], filter: "", sort: "attr:start_time", descending: true, page_size: 50, group_by_cell: false, columns: null },
    data: { page: frame, catalogue: [{ kind: "param", key: "lr", n: 1, numeric: true }, { kind: "metric", key: "acc", n: 2, numeric: true }] },
  };
}

describe("the table view", () => {
  const frame = page([
    { id: "p1", name: "sweep", metrics: { acc: 0.5 } },
    { id: "k1", name: "trial-1", parent: "p1", params: { lr: "0.1" }, metrics: { acc: 0.7 } },
  ]);

  it("keeps its rows and shows the store's error in place when a filter is bad", async () => {
    const problem = "Expected a value after '>'\n  metrics.acc >\n               ^";
    const api = apiAnswering((body) => (body.filter ? { status: 400, json: { error_code: "INVALID_PARAMETER_VALUE", message: problem } } : { status: 200, json: { frame } }));
    const el = document.createElement("div");
    const ctx: ViewContext = { api, selection: new Selection(), live: false };
    renderTable(el, spec(frame), ctx);
    const input = el.querySelector(".nbt-filter-input") as HTMLInputElement;
    input.value = "metrics.acc >";
    input.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter" }));
    await new Promise((r) => setTimeout(r, 20));
    const error = el.querySelector(".nbt-filter-error") as HTMLElement;
    expect(error.hidden).toBe(false);
    expect(error.textContent).toContain("Expected a value");
    expect(el.querySelectorAll(".nbt-row")).toHaveLength(2);
    expect(input.value).toBe("metrics.acc >"); // the text stays to be fixed
  });

  it("draws nested rows under their parent, collapses them, and ticks set the selection", () => {
    const el = document.body.appendChild(document.createElement("div"));
    const selection = new Selection();
    renderTable(el, spec(frame), { api: null, selection, live: false });
    const rows = [...el.querySelectorAll(".nbt-row")] as HTMLElement[];
    expect(rows.map((r) => [r.dataset.runId, r.dataset.depth])).toEqual([["p1", "0"], ["k1", "1"]]);
    expect(rows[0].querySelectorAll("td")[0].className).toContain("nbt-pin");
    const lrCol = [...el.querySelectorAll("th.nbt-th")].findIndex((th) => th.textContent === "lr");
    expect(rows[0].querySelectorAll("td")[lrCol + 1].textContent).toBe(MISSING);
    (el.querySelector(".nbt-twisty") as HTMLButtonElement).click();
    expect(el.querySelectorAll(".nbt-row")).toHaveLength(1);
    (el.querySelector(".nbt-row .nbt-check") as HTMLInputElement).click();
    expect(selection.runIds).toEqual(["p1"]);
  });
});

describe("the table's keyboard and its host hooks", () => {
  const frame = page([
    { id: "a", name: "first" },
    { id: "b", name: "second" },
    { id: "c", name: "third" },
  ]);
  const key = (el: Element, k: string) => el.dispatchEvent(new KeyboardEvent("keydown", { key: k, bubbles: true }));

  it("arrow keys move the focused row, space ticks it (focus kept), Enter opens it", () => {
    const el = document.body.appendChild(document.createElement("div"));
    const selection = new Selection();
    const opened: string[] = [];
    renderTable(el, spec(frame), { api: null, selection, live: false, openRun: (id) => opened.push(id) });
    const row = (id: string) => el.querySelector(`.nbt-row[data-run-id='${id}']`) as HTMLElement;
    expect(row("a").tabIndex).toBe(0); // one row is reachable with Tab
    expect(row("b").tabIndex).toBe(-1);
    row("a").focus();
    key(row("a"), "ArrowDown");
    expect(document.activeElement).toBe(row("b"));
    key(row("b"), " ");
    expect(selection.runIds).toEqual(["b"]);
    expect(document.activeElement).toBe(row("b")); // the redraw keeps the focus on the same run
    key(row("b"), "End");
    expect(document.activeElement).toBe(row("c"));
    key(row("c"), "Enter");
    expect(opened).toEqual(["c"]);
    el.remove();
  });

  it("links run names through runLink, and reports chosen columns through onState", () => {
    const el = document.body.appendChild(document.createElement("div"));
    const table = renderTable(el, spec(frame), { api: null, selection: new Selection(), live: false, runLink: (id) => `#/runs/${id}` });
    expect((el.querySelector(".nbt-row a.nbt-run-name") as HTMLAnchorElement).getAttribute("href")).toBe("#/runs/a");
    expect(table.state().columns).toBeNull(); // defaults: nothing to keep
    const states: unknown[] = [];
    table.onState = (s) => states.push(s.columns);
    (el.querySelector(".nbt-columns-btn") as HTMLButtonElement).click();
    const acc = [...el.querySelectorAll(".nbt-colchooser-item")].find((l) => l.textContent?.includes("acc"))!.querySelector("input") as HTMLInputElement;
    acc.checked = false;
    acc.dispatchEvent(new Event("change"));
    expect(states).toHaveLength(1);
    expect(states[0]).not.toContain("metric:acc");
    expect(el.querySelector(".nbt-pager-pages")!.textContent).toBe("page 1 of 1");
    el.remove();
  });
});
