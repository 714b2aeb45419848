import { describe, expect, it } from "vitest";

import { compareCode, dashboardCode, formatElapsed, hasTrack, listNote, runTime, serverPath, toggleTrack } from "../src/panel/logic";

describe("elapsed time", () => {
  it("reads in seconds, then minutes, then hours", () => {
    expect(formatElapsed(0)).toBe("0.0 s");
    expect(formatElapsed(850)).toBe("0.8 s");
    expect(formatElapsed(59_999)).toBe("59.9 s"); // a clock truncates
    expect(formatElapsed(60_000)).toBe("1 min 00 s");
    expect(formatElapsed(65_000)).toBe("1 min 05 s");
    expect(formatElapsed(3_599_000)).toBe("59 min 59 s");
    expect(formatElapsed(3_600_000 + 7 * 60_000 + 30_000)).toBe("1 h 07 min");
    expect(formatElapsed(-5)).toBe("0.0 s");
    expect(formatElapsed(NaN)).toBe("0.0 s");
  });

  it("ticks while RUNNING and is the duration once ended", () => {
    expect(runTime(1000, null, "RUNNING", 6000)).toBe("5.0 s");
    expect(runTime(1000, 3000, "RUNNING", 6000)).toBe("5.0 s"); // a RUNNING run's end is not final
    expect(runTime(1000, 3000, "FINISHED", 60_000)).toBe("2.0 s");
    expect(runTime(null, 3000, "FINISHED", 60_000)).toBe("");
  });
});

describe("%%track toggle", () => {
  it("adds %%track as the first line and removes it again", () => {
    const code = "x = 1\nprint(x)";
    const on = toggleTrack(code);
    expect(on).toBe("%%track\nx = 1\nprint(x)");
    expect(hasTrack(on)).toBe(true);
    expect(toggleTrack(on)).toBe(code);
    expect(hasTrack(code)).toBe(false);
  });

  it("removes %%track with its arguments", () => {
    expect(toggleTrack("%%track --name fit --params lr,epochs\nfit()")).toBe("fit()");
    expect(toggleTrack("%%track\tfoo\nfit()")).toBe("fit()");
  });

  it("leaves other magics that start with the same letters", () => {
    expect(toggleTrack("%%tracking\nfit()")).toBe("%%track\n%%tracking\nfit()");
    expect(hasTrack("%%tracker")).toBe(false);
  });

  it("puts %%track above leading blank lines (a cell magic opens the cell) and finds it below them", () => {
    expect(toggleTrack("\n\n  \nfit()")).toBe("%%track\nfit()");
    expect(toggleTrack("\n\n%%track --name a\nfit()")).toBe("\n\nfit()");
    expect(hasTrack("\n\n%%track\nfit()")).toBe(true);
  });

  it("handles an empty cell", () => {
    expect(toggleTrack("")).toBe("%%track\n");
    expect(toggleTrack("%%track\n")).toBe("");
  });
});

describe("inserted code", () => {
  it("compares the ticked runs by id", () => {
    expect(compareCode(["a1b2", "c3d4"])).toBe('import nbtrack\n\nnbtrack.compare(["a1b2", "c3d4"])');
  });

  it("opens a dashboard filtered to the ticked runs of their experiment", () => {
    expect(dashboardCode(["a1", "b2"], "exp \"x\"")).toBe(
      'import nbtrack\n\nnbtrack.dashboard("exp \\"x\\"", filter="attributes.run_id IN (\'a1\', \'b2\')")',
    );
    expect(dashboardCode(["a1"])).toBe('import nbtrack\n\nnbtrack.dashboard(filter="attributes.run_id IN (\'a1\')")');
  });
});

describe("notebook paths", () => {
  it("turns the absolute path a run recorded into the server's path", () => {
    expect(serverPath("/srv/root/sub/nb.ipynb", "/srv/root")).toBe("sub/nb.ipynb");
    expect(serverPath("/srv/root/nb.ipynb", "/srv/root/")).toBe("nb.ipynb");
    expect(serverPath("sub/nb.ipynb", "/srv/root")).toBe("sub/nb.ipynb");
    expect(serverPath("/elsewhere/nb.ipynb", "/srv/root")).toBeNull();
    expect(serverPath("/srv/rootx/nb.ipynb", "/srv/root")).toBeNull();
    expect(serverPath("/a/nb.ipynb", "/")).toBe("a/nb.ipynb");
    expect(serverPath("", "/srv")).toBeNull();
  });
});

describe("the note under the run list", () => {
  it("says why the list is empty, and when it shows only the newest runs", () => {
    expect(listNote(0, false, "")).toBe("No runs yet in this store.");
    expect(listNote(0, false, "metrics.acc > 2")).toBe("No run matches this filter.");
    expect(listNote(3, false, "")).toBe("");
    expect(listNote(200, true, "")).toContain("newest 200 runs");
  });
});
