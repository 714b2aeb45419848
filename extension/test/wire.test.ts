import { describe, expect, it } from "vitest";

import { columns, rows } from "../src/wire";
import { formatValue, MISSING } from "../src/views/common";

describe("wire frames", () => {
  it("decodes non-finite doubles in float columns and nested values", () => {
    const frame = { columns: ["x", "tags"], dtypes: ["float64", "object"], data: [[1.5, "NaN", "-Infinity"], [{ a: { double: "Infinity" } }, null, [1]]] };
    const cols = columns(frame);
    expect(cols.x[0]).toBe(1.5);
    expect(Number.isNaN(cols.x[1] as number)).toBe(true);
    expect(cols.x[2]).toBe(-Infinity);
    expect((cols.tags[0] as any).a).toBe(Infinity);
    expect(rows(frame)).toHaveLength(3);
  });
});

describe("formatValue", () => {
  it("marks missing values and trims numbers", () => {
    expect(formatValue(null)).toBe(MISSING);
    expect(formatValue(NaN)).toBe(MISSING);
    expect(formatValue(0.123456)).toBe("0.1235");
    expect(formatValue(3)).toBe("3");
    expect(formatValue(0.00001234)).toBe("1.234e-5");
  });
});
