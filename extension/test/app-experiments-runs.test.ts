import { describe, expect, it } from "vitest";

import { experimentFilter } from "../src/app/pages/experiments";
import { experimentIds, splitColumns } from "../src/app/pages/runs";
import { parseRoute } from "../src/app/router";

describe("the experiments page's search", () => {
  it("sends a plain text as 'name contains it', quotes and wildcards escaped", () => {
    expect(experimentFilter("churn")).toBe("name ILIKE '%churn%'");
    expect(experimentFilter("  nothing is here ")).toBe("name ILIKE '%nothing is here%'");
    expect(experimentFilter("bob's 50%_run")).toBe("name ILIKE '%bob''s 50\\%\\_run%'");
    expect(experimentFilter("")).toBe("");
  });

  it("sends an MLflow filter as it is", () => {
    expect(experimentFilter("name LIKE 'a%'")).toBe("name LIKE 'a%'");
    expect(experimentFilter("tags.team = 'ml'")).toBe("tags.team = 'ml'");
    expect(experimentFilter("creation_time > 5")).toBe("creation_time > 5");
  });
});

describe("the runs page's URL", () => {
  it("splits column ids before each kind, so a key may hold a comma", () => {
    expect(splitColumns("attr:run_name,param:a,b,metric:acc")).toEqual(["attr:run_name", "param:a,b", "metric:acc"]);
    expect(splitColumns(null)).toBeNull();
  });

  it("reads the path's experiment and those of ?ids=, once each", () => {
    expect(experimentIds(parseRoute("#/experiments/3?ids=1,3,2")!)).toEqual(["3", "1", "2"]);
    expect(experimentIds(parseRoute("#/experiments/7")!)).toEqual(["7"]);
  });
});
