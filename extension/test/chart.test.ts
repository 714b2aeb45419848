import { describe, expect, it } from "vitest";

import { MetricCharts, settingsFrom } from "../src/views/chart";
import { appendPoints, ChartData, cursors, ema, fromDisplay, gridColumns, hoverTemplate, NO_CURSOR, pairKey, panelTraces, seriesFromBuckets, toDisplay } from "../src/views/chart-data";
import { runColor } from "../src/views/common";
import { Selection } from "../src/selection";
import { WireFrame } from "../src/wire";

const COLS = ["run_id", "key", "bucket", "n", "vmin", "vmax", "vmean", "xmean", "x_at_min", "x_at_max", "x0", "v0", "x1", "v1", "last_step", "last_ts"];
const DTYPES = ["str", "str", "int64", "Int64", "float64", "float64", "float64", "float64", "Int64", "Int64", "Int64", "float64", "Int64", "float64", "Int64", "Int64"];

/** A metric-buckets frame (column-major, as nbtrack/store/wire.py sends it) from row objects. */
function bucketFrame(rows: Record<string, unknown>[]): WireFrame {
  return { columns: COLS, dtypes: DTYPES, data: COLS.map((c) => rows.map((r) => (r[c] === undefined ? null : r[c]))) };
}

/** One bucket per step: every point is its own bucket (a short history). */
function pointRows(runId: string, key: string, values: (number | string)[], ts = 1000): Record<string, unknown>[] {
  return values.map((v, step) => ({ run_id: runId, key, bucket: step, n: 1, vmin: v, vmax: v, vmean: v, xmean: step, x_at_min: step, x_at_max: step, x0: step, v0: v, x1: step, v1: v, last_step: step, last_ts: ts + step }));
}

function data(keys: string[], rows: Record<string, unknown>[] = [], runs = ["a", "b"]): ChartData {
  return { runs: runs.map((r) => ({ run_id: r, name: `run ${r}`, status: "FINISHED" })), keys, x_axis: "step", buckets: bucketFrame(rows) };
}

const ctx = { api: null, selection: new Selection(), live: false };

describe("panel layout", () => {
  it("lays out one panel per key in a grid, for 1 to 12 keys", () => {
    for (let n = 1; n <= 12; n++) {
      const el = document.createElement("div");
      const keys = Array.from({ length: n }, (_, i) => `m${i}`);
      const charts = new MetricCharts(el, data(keys), settingsFrom({}, data(keys)), ctx);
      const panels = el.querySelectorAll(".nbt-chart-panel");
      expect(panels.length).toBe(n);
      expect([...panels].map((p) => p.querySelector(".nbt-chart-title")!.textContent)).toEqual(keys);
      expect(el.querySelectorAll(".nbt-chart-plot").length).toBe(n);
      expect(charts.root.querySelector(".nbt-chart-grid")!.getAttribute("style")).toMatch(/grid-template-columns: repeat\(1,/); // jsdom: width 0
      for (const width of [300, 800, 1200, 2400]) {
        const cols = gridColumns(n, width);
        expect(cols).toBeGreaterThanOrEqual(1);
        expect(cols).toBeLessThanOrEqual(Math.min(n, 3));
        expect(Math.ceil(n / cols) * cols).toBeGreaterThanOrEqual(n);
      }
      charts.dispose();
    }
    expect(gridColumns(1, 2400)).toBe(1); // one panel fills the width
    expect(gridColumns(4, 1200)).toBe(3);
    expect(gridColumns(4, 300)).toBe(1);
  });

  it("has an HTML legend entry per run, coloured as the run is everywhere on the page", () => {
    const el = document.createElement("div");
    const d = data(["loss"], [], ["a", "b", "c"]);
    new MetricCharts(el, { ...d, hidden_runs: 2 }, settingsFrom({}, d), ctx);
    const items = [...el.querySelectorAll<HTMLElement>(".nbt-chart-legend-item")];
    expect(items.map((i) => i.textContent)).toEqual(["run a", "run b", "run c"]);
    const swatch = items[1].querySelector<HTMLElement>(".nbt-chart-swatch")!;
    expect(swatch.style.background).not.toBe("");
    expect(el.querySelector(".nbt-chart-more")!.textContent).toContain("2 more runs");
    // without a store only the axis the data has can be shown
    const buttons = [...el.querySelectorAll<HTMLButtonElement>(".nbt-chart-xbutton")];
    expect(buttons.map((b) => b.disabled)).toEqual([false, true, true]);
  });
});

describe("series from wire data", () => {
  it("builds each (run, key) line from M4 buckets, in x order, without repeats", () => {
    const rows = [
      // bucket 0 of 4 points: first (0, 1), min at 2, max at 1, last (3, 0.5)
      { run_id: "a", key: "loss", bucket: 0, n: 4, vmin: 0.2, vmax: 2, vmean: 0.9, xmean: 1.5, x_at_min: 2, x_at_max: 1, x0: 0, v0: 1, x1: 3, v1: 0.5, last_step: 3, last_ts: 10 },
      // bucket 1 of one point (all four the same)
      { run_id: "a", key: "loss", bucket: 1, n: 1, vmin: 0.4, vmax: 0.4, vmean: 0.4, xmean: 4, x_at_min: 4, x_at_max: 4, x0: 4, v0: 0.4, x1: 4, v1: 0.4, last_step: 4, last_ts: 11 },
      ...pointRows("b", "loss", [3, "NaN", "Infinity"]),
    ];
    const series = seriesFromBuckets(bucketFrame(rows));
    const a = series.get(pairKey("a", "loss"))!;
    expect(a.x).toEqual([0, 1, 2, 3, 4]);
    expect(a.y).toEqual([1, 2, 0.2, 0.5, 0.4]);
    expect(a.points).toBe(5);
    expect([a.lastStep, a.lastTs]).toEqual([4, 11]);
    expect(a.meanY).toEqual([0.9, 0.4]);
    const b = series.get(pairKey("b", "loss"))!;
    expect(Number.isNaN(b.y[1])).toBe(true);
    expect(b.y[2]).toBe(Infinity);
    expect(series.size).toBe(2);
  });

  it("keeps the neighbours outside a zoomed range, so lines reach the edges", () => {
    const rows = [
      { run_id: "a", key: "k", bucket: -1, x1: 9, v1: 5, last_step: 9, last_ts: 1 },
      ...pointRows("a", "k", [1]).map((r) => ({ ...r, x0: 10, x1: 10, x_at_min: 10, x_at_max: 10, xmean: 10, last_step: 10 })),
      { run_id: "a", key: "k", bucket: -2, x0: 20, v0: 7, last_step: 20, last_ts: 2 },
    ];
    const s = seriesFromBuckets(bucketFrame(rows)).get(pairKey("a", "k"))!;
    expect(s.x).toEqual([9, 10, 20]);
    expect(s.y).toEqual([5, 1, 7]);
    expect(s.points).toBe(1);
  });

  it("appends live points after each line's cursor and reads the runs' statuses", () => {
    const series = seriesFromBuckets(bucketFrame(pointRows("a", "loss", [1, 0.5])));
    const cs = cursors(series, ["a", "b"], ["loss"]);
    expect(cs).toEqual([
      { run_id: "a", key: "loss", step: 1, timestamp: 1001 },
      { run_id: "b", key: "loss", step: NO_CURSOR, timestamp: NO_CURSOR },
    ]);
    const frame: WireFrame = {
      columns: ["what", "run_id", "key", "step", "timestamp", "value", "x", "status"],
      dtypes: ["str", "str", "str", "Int64", "Int64", "float64", "float64", "str"],
      data: [["p", "p", "p", "s", "s"], ["a", "a", "b", "a", "b"], ["loss", "loss", "loss", null, null], [2, 3, 0, null, null], [1002, 1003, 5, null, null], [0.25, 0.125, 9, null, null], [2, 3, 0, null, null], [null, null, null, "RUNNING", "FINISHED"]],
    };
    const added = appendPoints(series, frame);
    expect(added.points).toBe(3);
    expect(added.created).toEqual([pairKey("b", "loss")]);
    expect(added.statuses.get("a")).toBe("RUNNING");
    expect(added.statuses.get("b")).toBe("FINISHED");
    const a = series.get(pairKey("a", "loss"))!;
    expect(a.x).toEqual([0, 1, 2, 3]);
    expect([a.lastStep, a.lastTs]).toEqual([3, 1003]);
    expect(added.added.get(pairKey("a", "loss"))).toEqual({ x: [2, 3], y: [0.25, 0.125] });
  });
});

describe("traces", () => {
  const opts = { axis: "step" as const, smoothing: 0, band: true, color: runColor };

  it("draws a history of one point as a marker, longer ones as lines", () => {
    const series = seriesFromBuckets(bucketFrame([...pointRows("a", "acc", [0.9]), ...pointRows("b", "acc", [0.1, 0.2, 0.3])]));
    const d = data(["acc"]);
    const traces = panelTraces("acc", d.runs, series, opts);
    expect(traces).toHaveLength(8); // 4 per run: band low, band high, line, smoothed
    const [lineA, lineB] = [traces[2], traces[6]];
    expect(lineA.mode).toBe("markers");
    expect(lineA.x).toEqual([0]);
    expect(lineA.marker.size).toBeGreaterThanOrEqual(8);
    expect(lineB.mode).toBe("lines");
    expect(lineB.x).toEqual([0, 1, 2]);
    expect(lineA.line.color).toBe(runColor("a"));
    expect(traces[0].visible).toBe(false); // not downsampled: no band
    const smoothed = panelTraces("acc", d.runs, series, { ...opts, smoothing: 0.8 });
    expect(smoothed[2].opacity).toBe(1); // a lone point has no EMA over it: it stays as bright
    expect(smoothed[3].visible).toBe(false);
    expect(smoothed[6].opacity).toBeLessThan(1);
  });

  it("names the run, the step and the value in the hover", () => {
    const t = hoverTemplate("lr=0.1 <best>", "step");
    expect(t).toContain("lr=0.1 &lt;best&gt;");
    expect(t).toContain("step %{x}");
    expect(t).toContain("%{y");
    expect(hoverTemplate("r", "relative")).toContain(" s");
    const series = seriesFromBuckets(bucketFrame(pointRows("a", "acc", [1, 2])));
    const traces = panelTraces("acc", data(["acc"]).runs, series, opts);
    expect(traces[2].hovertemplate).toContain("run a");
    expect(traces.filter((t) => t.hoverinfo !== "skip")).toHaveLength(2); // one line per run hovers
  });

  it("smooths with the debiased EMA and fades the raw line", () => {
    expect(ema([1, 1, 1], 0.9)).toEqual([1, 1, 1]); // debiased: a constant stays constant
    const s = ema([0, 10], 0.5);
    expect(s[0]).toBe(0);
    expect(s[1]).toBeCloseTo((0.5 * 0.5 * 0 + 0.5 * 10) / (0.5 + 0.5 * 0.5) / 1, 10);
    expect(ema([1, 2, 3], 0)).toEqual([1, 2, 3]);
    const decaying = Array.from({ length: 50 }, (_, i) => 1 / (1 + i));
    const smoothed = ema(decaying, 0.8);
    expect(smoothed[49]).toBeGreaterThan(decaying[49]); // a decaying loss, smoothed, lags above
    const series = seriesFromBuckets(bucketFrame(pointRows("a", "loss", decaying)));
    const traces = panelTraces("loss", data(["loss"]).runs, series, { ...opts, smoothing: 0.8 });
    expect(traces[2].opacity).toBeLessThan(1);
    expect(traces[3].visible).toBe(true);
    expect(traces[3].y[49]).toBeCloseTo(smoothed[49], 12);
  });

  it("hides the runs the legend turned off", () => {
    const series = seriesFromBuckets(bucketFrame(pointRows("a", "k", [1, 2])));
    const traces = panelTraces("k", data(["k"]).runs, series, { ...opts, hidden: new Set(["a"]) });
    expect(traces[2].visible).toBe(false);
    expect(traces[6].visible).toBe(true);
  });

  it("converts x units both ways", () => {
    expect(toDisplay(1500, "relative")).toBe(1.5);
    expect(fromDisplay(1.5, "relative")).toBe(1500);
    expect(toDisplay(7, "step")).toBe(7);
    const ms = Date.UTC(2026, 0, 2, 3, 4, 5);
    const shown = toDisplay(ms, "wall");
    expect(fromDisplay(shown, "wall")).toBe(ms);
    expect(fromDisplay(new Date(shown).toISOString().replace("T", " ").replace("Z", ""), "wall")).toBe(ms);
  });
});

describe("live appends", () => {
  it("never share arrays between the series and the traces plotly holds", () => {
    const series = seriesFromBuckets(bucketFrame(pointRows("a", "loss", [1, 0.5])));
    const traces = panelTraces("loss", [{ run_id: "a", name: "a", status: "RUNNING" }], series, { axis: "step", smoothing: 0, band: true, color: runColor });
    const frame: WireFrame = {
      columns: ["what", "run_id", "key", "step", "timestamp", "value", "x", "status"],
      dtypes: ["str", "str", "str", "Int64", "Int64", "float64", "float64", "str"],
      data: [["p"], ["a"], ["loss"], [2], [5], [0.25], [2], [null]],
    };
    appendPoints(series, frame);
    // what extendTraces then adds to the drawn line is the only change to it
    for (const t of traces) {
      expect(t.x.length).toBe(t.y.length);
      expect(t.x).not.toBe(series.get(pairKey("a", "loss"))!.x);
    }
    expect(traces[2].y).toEqual([1, 0.5]);
  });
});
