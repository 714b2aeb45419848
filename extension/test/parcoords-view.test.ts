import { describe, expect, it } from "vitest";

import { Selection } from "../src/selection";
import type { ParcoordsHook } from "../src/views/parcoords";
import { renderParcoords } from "../src/views/parcoords";

// jsdom has no canvas: a 2D context that counts strokes
let strokes = 0;
const noop = (): void => undefined;
HTMLCanvasElement.prototype.getContext = function () {
  return { setTransform: noop, clearRect: noop, beginPath: noop, moveTo: noop, lineTo: noop, stroke: () => void strokes++ } as any;
} as any;

/** 6 runs: lr missing on two, loss lower is better. */
function spec() {
  const ids = ["a", "b", "c", "d", "e", "f"];
  return {
    view: "parallel_coordinates",
    version: 1,
    options: { experiment_ids: ["1"], filter: "", run_ids: null, params: ["model", "lr"], metrics: ["loss"], color: "loss", max_runs: 1000, log_axes: "auto" },
    data: {
      total: 6,
      frame: {
        columns: ["run_id", "run_name", "param:model", "param:lr", "metric:loss"],
        dtypes: ["str", "str", "str", "str", "float64"],
        data: [ids, ids.map((i) => `run-${i}`), ["rf", "rf", "lr", "lr", "lr", "rf"], [null, null, "0.1", "0.01", "0.1", "0.5"], [0.5, 0.4, 0.3, 0.2, 0.1, 0.6]],
      },
    },
  };
}

async function view() {
  const el = document.createElement("div");
  document.body.append(el);
  const selection = new Selection();
  const controller = await renderParcoords(el, spec() as any, { api: null, selection, live: false });
  const root = el.querySelector(".nbt-parcoords") as HTMLElement & { nbtParcoords: ParcoordsHook };
  return { el, root, hook: root.nbtParcoords, selection, controller };
}

describe("the parallel coordinates view", () => {
  it("draws an axis (ticks, the dash) and a title per column, and counts the runs", async () => {
    const { root, hook, controller } = await view();
    expect(hook.dims.map((d) => d.label)).toEqual(["model", "lr", "loss"]);
    expect(hook.dims.every((d) => d.values.length === 6 && d.values.every(Number.isFinite))).toBe(true);
    expect(root.querySelectorAll(".nbt-pc-axis")).toHaveLength(3);
    expect(root.querySelectorAll(".nbt-pc-title")).toHaveLength(3);
    expect(root.querySelector(".nbt-pc-axis[data-axis='1']")!.textContent).toContain("\u2014");
    expect(root.querySelector(".nbt-pc-colorbar")!.textContent).toContain("lower is better");
    expect(root.querySelector(".nbt-parcoords-count")!.textContent).toBe("6 runs \u00b7 drag along an axis to select runs");
    expect(hook.lines()).toBe(6);
    expect(strokes).toBeGreaterThan(0);
    controller.dispose();
  });

  it("a brush selects the runs inside it, for the linked views; clearing it clears them", async () => {
    const { root, hook, selection, controller } = await view();
    hook.brush(2, [0.15, 0.45]);
    expect(hook.brushed()).toEqual([1, 2, 3]);
    expect(selection.runIds).toEqual(["b", "c", "d"]);
    expect(controller.brushedRunIds()).toEqual(["b", "c", "d"]);
    expect(root.querySelector(".nbt-parcoords-count")!.textContent).toBe("3 of 6 runs in the brushed ranges");
    expect(root.querySelector(".nbt-pc-axis[data-axis='2'] .nbt-pc-brush")!.getAttribute("visibility")).toBe("visible");
    hook.brush(0, [0.5, 1.5]); // and model = rf (categories sort: lr 0, rf 1)
    expect(hook.brushed()).toEqual([1]);
    hook.brush(0, null);
    hook.brush(2, null);
    expect(hook.brushed()).toBeNull();
    expect(selection.runIds).toEqual([]);
    controller.dispose();
  });

  it("a selection made elsewhere clears the brushes", async () => {
    const { hook, selection, controller } = await view();
    hook.brush(2, [0.15, 0.45]);
    selection.set(["a"], "table");
    expect(hook.brushed()).toBeNull();
    expect(hook.ranges().every((r) => r === null)).toBe(true);
    controller.dispose();
  });
});
