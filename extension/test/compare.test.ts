import { describe, expect, it } from "vitest";

import { bestRun, CompareData, compareTable, differs, metricValue } from "../src/views/compare";
import { MISSING } from "../src/views/common";

function sample(): CompareData {
  const run = (id: string, lr: string | null, loss: number | string | null, acc: number | null, tag?: string) => ({
    run_id: id.padEnd(32, "0"),
    name: `run-${id}`,
    status: "FINISHED",
    start_time: Date.UTC(2026, 0, 1),
    params: { lr, seed: "7" },
    metrics: { loss, acc },
    tags: tag === undefined ? {} : { team: tag },
  });
  return {
    runs: [run("a", "0.1", 0.5, 0.7, "x"), run("b", "0.01", 0.2, null, "x"), run("c", null, "NaN", 0.9)],
    params: ["lr", "seed"],
    metrics: ["acc", "loss"],
    tags: ["team"],
    higher: { acc: true, loss: false },
    chart: null,
  };
}

const rowOf = (table: HTMLTableElement, key: string): HTMLTableRowElement => table.querySelector<HTMLTableRowElement>(`tr[data-key="${key}"]`)!;
const cells = (row: HTMLTableRowElement): string[] => [...row.querySelectorAll("td")].map((td) => td.textContent ?? "");

describe("compare diff table", () => {
  it("highlights rows whose values differ, missing counting as a value", () => {
    expect(differs(["1", "1"])).toBe(false);
    expect(differs(["1", null])).toBe(true);
    expect(differs([null, undefined, NaN])).toBe(false);
    const table = compareTable(sample());
    expect(rowOf(table, "lr").classList.contains("nbt-differs")).toBe(true);
    expect(rowOf(table, "seed").classList.contains("nbt-differs")).toBe(false);
    expect(rowOf(table, "team").classList.contains("nbt-differs")).toBe(true);
    expect(table.textContent).toContain("Params (1 of 2 differ)");
    const only = compareTable(sample(), true);
    expect(only.querySelector('tr[data-key="seed"]')).toBeNull();
    expect(only.querySelector('tr[data-key="lr"]')).not.toBeNull();
  });

  it("marks the best value of each metric, by direction; NaN and missing never win", () => {
    const d = sample();
    expect(bestRun(d, "loss")).toBe(d.runs[1].run_id); // lower is better, the NaN of run c is not 0
    expect(bestRun(d, "acc")).toBe(d.runs[2].run_id);
    expect(bestRun({ ...d, higher: { ...d.higher, loss: true } }, "loss")).toBe(d.runs[0].run_id);
    const table = compareTable(d);
    const loss = rowOf(table, "loss");
    expect(loss.querySelectorAll("td.nbt-best")).toHaveLength(1);
    expect(cells(loss)).toEqual(["0.5", "0.2 \u2605", MISSING]);
    expect(loss.querySelector("th")!.textContent).toBe("loss \u2193");
    expect(table.querySelectorAll("td.nbt-best")).toHaveLength(2);
  });

  it("shows \u2014 for missing values, never nan", () => {
    const table = compareTable(sample());
    expect(cells(rowOf(table, "acc"))).toEqual(["0.7", MISSING, "0.9 \u2605"]);
    expect(cells(rowOf(table, "lr"))).toEqual(["0.1", "0.01", MISSING]);
    expect(cells(rowOf(table, "team"))).toEqual(["x", "x", MISSING]);
    expect(table.textContent!.toLowerCase()).not.toContain("nan");
    expect(metricValue("Infinity")).toBe(Infinity);
    expect(metricValue(null)).toBeNull();
  });

  it("heads each column with the run's name, id and colour", () => {
    const table = compareTable(sample());
    const heads = [...table.querySelectorAll("thead th.nbt-compare-run")];
    expect(heads.map((th) => th.textContent)).toEqual(["run-aa0000000", "run-bb0000000", "run-cc0000000"]);
    expect(heads.every((th) => th.querySelector<HTMLElement>(".nbt-chart-swatch")!.style.background !== "")).toBe(true);
  });
});
