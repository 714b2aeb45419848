import { describe, expect, it } from "vitest";

import { MISSING } from "../src/views/common";
import { brushed, brushedText, buildAxes, buildAxis, lineColours, luminance, SCALE, titleBoxes, wrapTitle } from "../src/views/parcoords-axes";

/** 66 runs as the sweep: 34 rf runs without learning_rate, 32 logreg runs without max_depth. */
function sweep() {
  const rows = [];
  for (let i = 0; i < 66; i++) {
    const rf = i < 34;
    rows.push({
      run_id: `r${i}`,
      "param:model": rf ? "rf" : "logreg",
      "param:learning_rate": rf ? null : String([0.001, 0.01, 0.1, 1][i % 4]),
      "param:max_depth": rf ? String(2 + (i % 5)) : null,
      "metric:val_loss": 0.2 + (i % 7) / 10,
      "metric:acc": i === 3 ? NaN : 0.5 + (i % 9) / 20,
    });
  }
  return rows;
}

describe("axes", () => {
  it("draws every run: a missing value sits at the axis' dash position below its range", () => {
    const rows = sweep();
    const axes = buildAxes(rows, ["learning_rate", "max_depth", "model"], ["val_loss", "acc"]);
    for (const a of axes) {
      expect(a.values).toHaveLength(66);
      expect(a.values.every((v) => Number.isFinite(v))).toBe(true);
    }
    const lr = axes[0];
    expect(lr.kind).toBe("log");
    expect(lr.missing).toBe(34);
    expect(lr.ticktext[0]).toBe(MISSING);
    expect(lr.missingAt!).toBeLessThan(Math.min(...lr.values.filter((v) => v !== lr.missingAt)));
    expect(lr.range[0]).toBeLessThan(lr.missingAt!);
    const depth = axes[1];
    expect(depth.missing).toBe(32);
    expect(depth.values.filter((v) => v === depth.missingAt)).toHaveLength(32);
    const acc = axes[4];
    expect(acc.missing).toBe(1);
    expect(acc.values[3]).toBe(acc.missingAt);
  });

  it("text params are categorical axes with ticked categories (and a dash for runs without one)", () => {
    const axis = buildAxis("param:optimizer", ["sgd", "adam", null, "adam"]);
    expect(axis.kind).toBe("categorical");
    expect(axis.ticktext).toEqual([MISSING, "adam", "sgd"]);
    expect(axis.values).toEqual([1, 0, -1, 0]);
    expect(axis.range[0]).toBeLessThan(-1);
  });

  it("an axis with no values at all still draws its runs", () => {
    const axis = buildAxis("metric:x", [null, NaN]);
    expect(axis.values.every((v) => v === axis.missingAt)).toBe(true);
  });
});

describe("colour", () => {
  it("gives the best run the darkest colour, whichever way the metric is better", () => {
    const scaleLum = SCALE.map(([, c]) => luminance(c));
    expect(scaleLum[scaleLum.length - 1]).toBe(Math.min(...scaleLum)); // the top end is the darkest
    expect(scaleLum[0]).toBeLessThan(luminance("#fde725")); // no viridis yellow on white
    const loss = lineColours("val_loss", [0.9, 0.1, 0.5]);
    expect(loss.color.indexOf(Math.max(...loss.color))).toBe(1); // lowest loss is best
    const acc = lineColours("acc", [0.9, 0.1, 0.5]);
    expect(acc.color.indexOf(Math.max(...acc.color))).toBe(0);
    expect(acc.colorbar.ticktext).toEqual(["0.1", "0.3", "0.5", "0.7", "0.9"]);
    expect(loss.colorbar.ticktext).toEqual(["0.9", "0.7", "0.5", "0.3", "0.1"]); // the dark end reads the best value
  });

  it("greys out runs outside a selection made elsewhere", () => {
    const c = lineColours("acc", [0.9, 0.1, 0.5], [false, true, false]);
    expect(c.color[0]).toBe(0);
    expect(c.color[2]).toBe(0);
    expect(c.color[1]).toBeGreaterThanOrEqual(0.1);
    expect(c.colorscale[0][1]).toBe(c.colorscale[1][1]);
  });
});

describe("titles", () => {
  const long = [
    "preprocessing.tokenizer.max_sequence_length",
    "optimizer_learning_rate_warmup_steps",
    "model/encoder/num_attention_heads",
    "dropout",
    "validation_cross_entropy_loss_ema",
    "a_single_extremely_long_identifier_without_any_separator_at_all_whatsoever",
  ];

  for (const width of [360, 700, 1400]) {
    it(`never overlap and are never cut at ${width}px`, () => {
      const n = long.length;
      const plot = width - 64 - 120;
      const x = long.map((_, i) => 64 + (i * plot) / (n - 1));
      const boxes = titleBoxes(long, x, width, 7.2);
      boxes.forEach((b, i) => {
        expect(b.left).toBeGreaterThanOrEqual(0);
        expect(b.left + b.width).toBeLessThanOrEqual(width);
        for (const line of b.lines) expect(line.length * 7.2).toBeLessThanOrEqual(b.width + 0.01);
        expect(b.lines.length).toBeLessThanOrEqual(3);
        if (i) expect(b.left).toBeGreaterThanOrEqual(boxes[i - 1].left + boxes[i - 1].width);
        expect(b.left).toBeLessThan(x[i]); // centred on its axis
        expect(b.left + b.width).toBeGreaterThan(x[i]);
      });
    });
  }

  it("wraps at separators and marks a title it had to shorten", () => {
    expect(wrapTitle("optimizer_learning_rate", 12).lines).toEqual(["optimizer_", "learning_", "rate"]);
    const w = wrapTitle("a_single_extremely_long_identifier_without_any_separator", 8);
    expect(w.shortened).toBe(true);
    expect(w.lines[2].endsWith("\u2026")).toBe(true);
    expect(wrapTitle("dropout", 20)).toEqual({ lines: ["dropout"], shortened: false });
  });
});

describe("brushing", () => {
  it("counts the runs inside every brushed range", () => {
    const axes = [{ values: [0, 1, 2, 3, 4] }, { values: [10, 10, 20, 20, 30] }];
    expect(brushed(axes, [undefined, undefined])).toBeNull();
    expect(brushed(axes, [[0.5, 3.5], undefined])).toEqual([1, 2, 3]);
    expect(brushed(axes, [[0.5, 3.5], [[15, 25]]])).toEqual([2, 3]);
    expect(brushed(axes, [[[0, 0.5], [3.5, 4]], undefined])).toEqual([0, 4]);
    expect(brushedText(12, 66)).toBe("12 of 66 runs in the brushed ranges");
    expect(brushedText(null, 66)).toContain("66 runs");
  });
});
