import { describe, expect, it } from "vitest";

import { columnValues, commonMetrics, compareData, defaultAxes, columnsOf, lineDiff, LoadedRun, runIdsOf } from "../src/app/pages/compare-data";
import { compareTable } from "../src/views/compare";

const run = (id: string, params: Record<string, string>, metrics: Record<string, number | string>, tags: Record<string, string> = {}): LoadedRun => ({
  run_id: id.padEnd(32, "0"),
  name: `run-${id}`,
  status: "FINISHED",
  start_time: 0,
  params,
  metrics,
  tags,
  experiment_id: "1",
  artifact_uri: `mlflow-artifacts:/1/${id}/artifacts`,
});

describe("the compare page's data", () => {
  it("reads the run ids of the URL without blanks or repeats", () => {
    expect(runIdsOf(new URLSearchParams("runs=a,b,,a, c"))).toEqual(["a", "b", "c"]);
    expect(runIdsOf(new URLSearchParams(""))).toEqual([]);
  });

  it("guesses each metric's direction from its name and puts system metrics last", () => {
    const runs = [run("a", { lr: "0.1" }, { val_loss: 1, acc: 0.5, "system/cpu": 3, f1: 1 }), run("b", { lr: "0.2" }, { val_loss: 2, acc: 0.6, "system/cpu": 4 })];
    const data = compareData(runs);
    expect(data.higher).toEqual({ acc: true, f1: true, "system/cpu": true, val_loss: false });
    expect(commonMetrics(runs)).toEqual(["acc", "val_loss", "system/cpu"]);
  });

  it("plots numeric params as numbers, text ones as categories, metrics first as y", () => {
    const runs = [run("a", { lr: "0.1", opt: "adam" }, { loss: 1 }), run("b", { lr: "0.2", opt: "sgd" }, { loss: "NaN" })];
    const cols = columnsOf(compareData(runs));
    expect(columnValues(runs, cols.find((c) => c.id === "param:lr")!)).toEqual({ values: [0.1, 0.2], numeric: true });
    expect(columnValues(runs, cols.find((c) => c.id === "param:opt")!)).toEqual({ values: ["adam", "sgd"], numeric: false });
    expect(columnValues(runs, cols.find((c) => c.id === "metric:loss")!).values).toEqual([1, null]);
    expect(defaultAxes(runs, cols)).toEqual(["param:lr", "metric:loss"]);
  });

  it("diffs two cell sources line by line", () => {
    const d = lineDiff("a\nb\nc\n", "a\nB\nc\nd\n");
    expect(d.map((l) => `${l.op}${l.text}`)).toEqual([" a", "-b", "+B", " c", "+d"]);
    expect(d.map((l) => [l.a, l.b])).toEqual([[1, 1], [2, null], [null, 2], [3, 3], [null, 4]]);
    expect(lineDiff("", "x")).toEqual([{ op: "+", text: "x", a: null, b: 1 }]);
  });

  it("the diff table links run names, tags every cell with its run and hides equal metrics too", () => {
    const runs = [run("a", { lr: "0.1", seed: "1" }, { loss: 1, same: 2 }), run("b", { lr: "0.2", seed: "1" }, { loss: 0.5, same: 2 })];
    const data = compareData(runs);
    const table = compareTable(data, { onlyDiffering: true, metricsToo: true, runHref: (id) => `#/runs/${id}` });
    expect(table.querySelector("thead a")!.getAttribute("href")).toBe(`#/runs/${runs[0].run_id}`);
    expect(table.querySelector('tr[data-key="same"]')).toBeNull();
    expect(table.querySelector('tr[data-key="seed"]')).toBeNull();
    expect(table.querySelector('tr[data-key="loss"] td.nbt-best')!.getAttribute("data-run")).toBe(runs[1].run_id);
    expect(compareTable(data, true).querySelector('tr[data-key="same"]')).not.toBeNull(); // the notebook's view keeps metrics
  });
});

describe("the compare page's bars", () => {
  it("draws as bars the keys of which no run has more than one point", async () => {
    const { singleValueKeys } = await import("../src/app/pages/compare-plots");
    const cols = ["run_id", "key", "bucket", "n", "x0", "v0", "x1", "v1", "xmean", "vmean", "vmin", "vmax", "x_at_min", "x_at_max", "last_step", "last_ts"];
    const rows = [
      ["a", "acc", 0, 1, 0, 0.8, 0, 0.8, 0, 0.8, 0.8, 0.8, 0, 0, 0, 1],
      ["b", "acc", 0, 1, 0, 0.9, 0, 0.9, 0, 0.9, 0.9, 0.9, 0, 0, 0, 1],
      ["a", "loss", 0, 5, 0, 1, 4, 0.2, 2, 0.5, 0.2, 1, 4, 0, 4, 5],
    ];
    const frame = { columns: cols, dtypes: cols.map(() => "object"), data: cols.map((_, j) => rows.map((r) => r[j])) };
    expect(singleValueKeys(frame, ["acc", "loss", "absent"])).toEqual(["acc", "absent"]);
  });
});
