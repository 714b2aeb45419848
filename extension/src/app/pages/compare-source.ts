// The compare page's cell-source diff: the cell two runs were made by (the cell/source.py that
// %%track logs), line by line, removed lines marked "-", added ones "+". With more than two runs,
// two pickers choose the pair; the pair is in the URL (?a=<id>&b=<id>).

import { Api } from "../../api";
import { h, runColor } from "../../views/common";
import { errorBox, loading } from "../page";
import { cellSource, lineDiff, LoadedRun, SOURCE_ARTIFACT } from "./compare-data";

/** the tag of a run made in a notebook cell (nbtrack/notebook/_context.py), whose source nbtrack logs */
const CELL_TAG = "nbtrack.cell_execution";

export interface SourceDiff {
  root: HTMLElement;
  dispose(): void;
}

function runPicker(label: string, runs: LoadedRun[], chosen: string, onChange: (id: string) => void): HTMLElement {
  const select = h("select", { class: `nbt-cmp-source-pick`, "aria-label": label }, ...runs.map((r) => h("option", { value: r.run_id, selected: r.run_id === chosen }, `${r.name} (${r.run_id.slice(0, 8)})${CELL_TAG in r.tags ? " \u00b7 from a cell" : ""}`)));
  select.addEventListener("change", () => onChange(select.value));
  return h("label", { class: "nbt-cmp-pick" }, label, " ", select);
}

function diffTable(a: LoadedRun, b: LoadedRun, sa: string, sb: string): HTMLElement {
  const lines = lineDiff(sa, sb);
  const added = lines.filter((l) => l.op === "+").length;
  const removed = lines.filter((l) => l.op === "-").length;
  const body = h("tbody", {});
  for (const l of lines) {
    const cls = l.op === "+" ? "nbt-cmp-add" : l.op === "-" ? "nbt-cmp-del" : "nbt-cmp-same";
    body.append(
      h("tr", { class: cls, "data-op": l.op },
        h("td", { class: "nbt-cmp-ln" }, l.a ?? ""),
        h("td", { class: "nbt-cmp-ln" }, l.b ?? ""),
        h("td", { class: "nbt-cmp-op", "aria-label": l.op === "+" ? "added" : l.op === "-" ? "removed" : "same" }, l.op),
        h("td", { class: "nbt-cmp-code" }, l.text || "\u00a0")),
    );
  }
  const summary = added || removed ? `${removed} line${removed === 1 ? "" : "s"} removed, ${added} added` : "the two cells are the same";
  const swatch = (r: LoadedRun): HTMLElement => h("span", { class: "nbt-chart-swatch", style: { background: runColor(r.run_id) } });
  return h("div", { class: "nbt-cmp-source-diff" },
    h("div", { class: "nbt-cmp-source-summary" }, h("span", { class: "nbt-cmp-del-mark" }, "-"), " ", swatch(a), a.name, "  \u2192  ", h("span", { class: "nbt-cmp-add-mark" }, "+"), " ", swatch(b), b.name, ": ", h("b", { class: "nbt-cmp-source-count" }, summary)),
    h("div", { class: "nbt-cmp-source-scroll" }, h("table", { class: "nbt-cmp-source-table" }, body)));
}

/** The section; `pair` is the URL's (a, b), `onPair` writes a new one back. */
export function sourceDiff(api: Api, runs: LoadedRun[], pair: [string | null, string | null], onPair: (a: string, b: string) => void, after: Promise<unknown> = Promise.resolve()): SourceDiff {
  const byId = new Map(runs.map((r) => [r.run_id, r]));
  // by default the first two runs made in a notebook cell (their cell source is logged)
  const fromCells = [...runs.filter((r) => CELL_TAG in r.tags), ...runs.filter((r) => !(CELL_TAG in r.tags))];
  let a = pair[0] && byId.has(pair[0]) ? pair[0] : fromCells[0].run_id;
  let b = pair[1] && byId.has(pair[1]) ? pair[1] : (fromCells.find((r) => r.run_id !== a) ?? runs[0]).run_id;
  const cache = new Map<string, Promise<string | null>>();
  const read = (id: string): Promise<string | null> => {
    let p = cache.get(id);
    if (!p) cache.set(id, (p = cellSource(api, byId.get(id)!)));
    return p;
  };
  const out = h("div", { class: "nbt-cmp-source-out" });
  const pickers = h("div", { class: "nbt-cmp-toolbar" });
  const root = h("div", { class: "nbt-cmp-source" }, pickers, out);
  let disposed = false;
  let generation = 0;

  const draw = async (): Promise<void> => {
    const mine = ++generation;
    out.replaceChildren(loading("Reading the cell sources…"));
    try {
      const [sa, sb] = await Promise.all([read(a), read(b)]);
      if (disposed || mine !== generation) return;
      const ra = byId.get(a)!;
      const rb = byId.get(b)!;
      if (sa === null || sb === null) {
        const none = [sa === null ? ra : null, sb === null ? rb : null].filter((r): r is LoadedRun => r !== null);
        const names = [...new Set(none.map((r) => r.name))].join(" and ");
        out.replaceChildren(h("div", { class: "nbt-app-empty nbt-cmp-source-none" },
          h("div", { class: "nbt-app-empty-title" }, `No cell source for ${names}`),
          h("div", { class: "nbt-app-empty-hint" }, "A run made in a ", h("code", {}, "%%track"), " cell keeps the cell as the artifact ", h("code", {}, SOURCE_ARTIFACT), "; pick two runs that have one.")));
        return;
      }
      out.replaceChildren(diffTable(ra, rb, sa, sb));
    } catch (e) {
      if (!disposed && mine === generation) out.replaceChildren(errorBox(e));
    }
  };

  const pick = (side: "a" | "b", id: string): void => {
    if (side === "a") a = id;
    else b = id;
    onPair(a, b);
    void draw();
  };
  if (runs.length > 2) {
    pickers.append(runPicker("Old (-)", runs, a, (id) => pick("a", id)), runPicker("New (+)", runs, b, (id) => pick("b", id)));
  }
  {
    const swap = h("button", { type: "button", class: "nbt-cmp-swap", title: "Swap old and new" }, "\u21c4 swap");
    swap.addEventListener("click", () => {
      [a, b] = [b, a];
      const selects = pickers.querySelectorAll("select");
      if (selects.length === 2) (selects[0].value = a), (selects[1].value = b);
      onPair(a, b);
      void draw();
    });
    pickers.append(swap);
  }
  out.append(loading("Reading the cell sources…"));
  void after.finally(() => !disposed && draw());
  return {
    root,
    dispose: () => {
      disposed = true;
    },
  };
}
