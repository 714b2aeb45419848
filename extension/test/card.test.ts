import { describe, expect, it } from "vitest";

import { sparkScale } from "../src/panel/logic";
import { decodeCard, renderCard, scaleLabels, sparkline } from "../src/views/card";

describe("sparkline scale", () => {
  it("puts the min at the bottom and the max at the top of the box", () => {
    const s = sparkScale([3, 1, 2], 100, 20, 2)!;
    expect(s.min).toBe(1);
    expect(s.max).toBe(3);
    expect(s.flat).toBe(false);
    const ys = s.points.split(" ").map((p) => Number(p.split(",")[1]));
    expect(ys).toEqual([2, 18, 10]);
    const xs = s.points.split(" ").map((p) => Number(p.split(",")[0]));
    expect(xs).toEqual([2, 50, 98]);
  });

  it("draws a flat series as a level line, not stretched", () => {
    const s = sparkScale([0.5, 0.5, 0.5], 100, 20)!;
    expect(s.flat).toBe(true);
    expect(new Set(s.points.split(" ").map((p) => p.split(",")[1]))).toEqual(new Set(["10.0"]));
  });

  it("skips non-finite values and has no scale with none", () => {
    expect(sparkScale([NaN, Infinity], 100, 20)).toBeNull();
    expect(sparkScale([1, NaN, 2], 100, 20)!.n).toBe(2);
  });

  it("labels a tiny change with digits enough to see it", () => {
    expect(scaleLabels(1, 1.0005)).toEqual(["1", "1.0005"]);
    expect(scaleLabels(0.99951, 0.99952)).toEqual(["0.99951", "0.99952"]);
    expect(scaleLabels(2, 2)).toEqual(["2", "2"]);
  });

  it("shows min and max next to the line, or 'flat' for a level series", () => {
    const el = sparkline([1.0, 1.0002, 1.0005]);
    expect(el.querySelector(".nbt-spark-max")!.textContent).toBe("1.0005");
    expect(el.querySelector(".nbt-spark-min")!.textContent).toBe("1");
    expect(el.getAttribute("data-points")).toBe("3");
    expect(el.querySelector("polyline")).not.toBeNull();
    const flat = sparkline([4, 4]);
    expect(flat.querySelector(".nbt-spark-max")!.textContent).toBe("flat 4");
    expect(flat.querySelector(".nbt-spark-min")).toBeNull();
  });
});

describe("run card", () => {
  const raw = {
    run_id: "abc123",
    name: "fit <1>",
    status: "FINISHED",
    start_time: 1000,
    end_time: 3500,
    params: { lr: "0.01" },
    metrics: { loss: 0.25, odd: "NaN", "system/cpu": 3 },
    steps: { loss: 3 },
    history: { loss: [1, 0.5, "Infinity", 0.25] },
  };

  it("decodes the kernel's JSON (non-finite numbers spelled out)", () => {
    const data = decodeCard(raw);
    expect(Number.isNaN(data.metrics.odd)).toBe(true);
    expect(data.history.loss[2]).toBe(Infinity);
  });

  it("shows name, status, duration, params, and each metric with its sparkline and scale", () => {
    const el = renderCard(decodeCard(raw));
    expect(el.querySelector(".nbt-card-name")!.textContent).toBe("fit <1>");
    expect(el.querySelector(".nbt-status")!.textContent).toContain("FINISHED");
    expect(el.querySelector(".nbt-card-time")!.textContent).toBe("2.5 s");
    expect(el.querySelector(".nbt-card-params")!.textContent).toContain("lr=0.01");
    const keys = [...el.querySelectorAll("tr")].map((r) => r.getAttribute("data-key"));
    expect(keys).toEqual(["loss", "odd", "system/cpu"]); // the run's own metrics before system ones
    const loss = el.querySelector('tr[data-key="loss"]')!;
    expect(loss.querySelector(".nbt-spark-max")!.textContent).toBe("1");
    expect(loss.querySelector(".nbt-spark-min")!.textContent).toBe("0.25");
    expect(loss.querySelector(".nbt-card-step")!.textContent).toBe("step 3");
    expect(el.querySelector('tr[data-key="odd"] .nbt-card-value')!.textContent).toBe("\u2014");
  });
});
