import { describe, expect, it } from "vitest";

import { brushed, lineColours, luminance, SCALE } from "../src/views/parcoords-axes";
import { axisAt, axisXs, bucketColours, bucketOf, drawLines, fromPixel, interpolate, lineAlpha, linePixels, maskOf, nearestLine, Pen, toPixel } from "../src/views/parcoords-draw";
import { keptTicks } from "../src/views/parcoords-svg";

/** A Pen that records each stroke: its colour, alpha and the polylines in it. */
function recorder() {
  const strokes: { colour: string; alpha: number; lines: [number, number][][] }[] = [];
  let path: [number, number][][] = [];
  const pen: Pen = {
    strokeStyle: "",
    globalAlpha: 1,
    beginPath: () => (path = []),
    moveTo: (x, y) => path.push([[x, y]]),
    lineTo: (x, y) => path[path.length - 1].push([x, y]),
    stroke: () => strokes.push({ colour: String(pen.strokeStyle), alpha: pen.globalAlpha, lines: path }),
  };
  return { pen, strokes };
}

describe("layout", () => {
  it("spreads the axes between the margins, one axis in the middle", () => {
    expect(axisXs(3, 500, 50, 50)).toEqual([50, 250, 450]);
    expect(axisXs(1, 500, 50, 50)).toEqual([250]);
  });

  it("maps values to pixels and back, the range's low end at the bottom", () => {
    const range: [number, number] = [-1, 3];
    expect(toPixel(range, 20, 220, -1)).toBe(220);
    expect(toPixel(range, 20, 220, 3)).toBe(20);
    expect(fromPixel(range, 20, 220, toPixel(range, 20, 220, 1.7))).toBeCloseTo(1.7);
    const ys = linePixels([{ values: [0, 1], range: [0, 1] }, { values: [1, 0], range: [0, 2] }], 0, 100);
    expect(Array.from(ys)).toEqual([100, 50, 0, 100]); // run after run, one y per axis
  });

  it("finds the axis under the pointer within its brush strip", () => {
    expect(axisAt([50, 250, 450], 245)).toBe(1);
    expect(axisAt([50, 250, 450], 150)).toBe(-1);
  });
});

describe("colour buckets", () => {
  it("quantises lineColours' numbers: grey apart, the best run in the last (darkest) bucket", () => {
    const c = lineColours("val_loss", [0.9, 0.1, 0.5, null], [true, true, true, false]);
    const b = bucketOf(c.color, 32);
    expect(b[1]).toBe(31); // the lowest loss
    expect(b[0]).toBe(0);
    expect(b[2]).toBeGreaterThan(0);
    expect(b[2]).toBeLessThan(31);
    expect(b[3]).toBe(-1); // not in the selection made elsewhere
    const colours = bucketColours(SCALE, 32);
    expect(colours).toHaveLength(32);
    expect(luminance(colours[31])).toBeLessThan(luminance(colours[0]));
  });

  it("interpolates the scale between its stops", () => {
    expect(interpolate(SCALE, 0)).toBe(SCALE[0][1]);
    expect(interpolate(SCALE, 1)).toBe(SCALE[SCALE.length - 1][1]);
    expect(interpolate([[0, "#000000"], [1, "#ffffff"]], 0.5)).toBe("#808080");
  });

  it("makes lines lighter as there are more of them", () => {
    expect(lineAlpha(50)).toBeGreaterThan(lineAlpha(10_000));
    expect(lineAlpha(1_000_000)).toBeGreaterThanOrEqual(0.35);
  });
});

describe("drawing", () => {
  const xs = [10, 110, 210];
  const ys = new Float32Array([0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110]); // 4 runs x 3 axes
  const style = { grey: "#d9d9d9", greyAlpha: 0.35, alpha: 0.8 };
  const colours = ["#aaaaaa", "#555555", "#000000"];

  it("strokes one path per colour, grey first and the best colour last, every run once", () => {
    const { pen, strokes } = recorder();
    const drawn = drawLines(pen, xs, ys, Int16Array.from([2, 0, -1, 2]), null, colours, style);
    expect(drawn).toBe(4);
    expect(strokes.map((s) => s.colour)).toEqual(["#d9d9d9", "#aaaaaa", "#000000"]);
    expect(strokes[0].alpha).toBe(0.35);
    expect(strokes[2].lines).toEqual([[[10, 0], [110, 10], [210, 20]], [[10, 90], [110, 100], [210, 110]]]);
    expect(strokes.reduce((n, s) => n + s.lines.length, 0)).toBe(4);
  });

  it("greys the runs outside the brushes", () => {
    const { pen, strokes } = recorder();
    drawLines(pen, xs, ys, Int16Array.from([2, 0, 1, 2]), maskOf(4, [1]), colours, style);
    expect(strokes.map((s) => [s.colour, s.lines.length])).toEqual([["#d9d9d9", 3], ["#aaaaaa", 1]]);
  });

  it("draws nothing without runs or axes", () => {
    const { pen, strokes } = recorder();
    expect(drawLines(pen, [], new Float32Array(0), new Int16Array(0), null, colours, style)).toBe(0);
    expect(strokes).toEqual([]);
  });
});

describe("hit testing", () => {
  const xs = [0, 100, 200];
  // run 0 flat at 50; run 1 from 0 up to 100 between the first two axes; run 2 flat at 90
  const ys = new Float32Array([50, 50, 50, 0, 100, 100, 90, 90, 90]);

  it("finds the line nearest the pointer within a few pixels", () => {
    expect(nearestLine(xs, ys, 20, 51, 4)).toBe(0);
    expect(nearestLine(xs, ys, 50, 52, 4)).toBe(1); // run 1 passes 50 there, run 0 too: the nearer
    expect(nearestLine(xs, ys, 150, 88, 4)).toBe(2);
    expect(nearestLine(xs, ys, 150, 70, 4)).toBe(-1);
    expect(nearestLine(xs, ys, 400, 50, 4)).toBe(-1);
  });

  it("measures across a steep line, not straight down", () => {
    // run 1 climbs 100 px over 100 px: 3 px above it at x=20 is ~2.1 px away
    expect(nearestLine(xs, new Float32Array([0, 100, 100]), 20, 17, 2.5)).toBe(0);
  });

  it("skips the runs a filter leaves out", () => {
    expect(nearestLine(xs, ys, 20, 51, 4, (i) => i !== 0)).toBe(-1);
  });
});

describe("brushing", () => {
  it("ANDs the ranges of several axes and masks the runs inside", () => {
    const axes = [{ values: [0, 1, 2, 3] }, { values: [5, 5, 6, 6] }];
    const inside = brushed(axes, [[0.5, 3], [5.5, 7]]);
    expect(inside).toEqual([2, 3]);
    expect(Array.from(maskOf(4, inside)!)).toEqual([0, 0, 1, 1]);
    expect(maskOf(4, null)).toBeNull();
  });
});

describe("tick labels", () => {
  it("thins labels closer than the gap, keeping the dash", () => {
    const ys = [300, 100, 105, 110, 200, 295];
    const keep = keptTicks(ys, ["\u2014", "a", "b", "c", "d", "e"], "\u2014", 12);
    expect(keep).toEqual([true, true, false, false, true, false]);
  });
});
