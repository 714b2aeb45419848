import { describe, expect, it } from "vitest";

import { columns, rows, WireFrame } from "../src/wire";

// written by nbtrack/store/wire.py's frame_to_wire(frame, packed=True) for a 16-row frame:
// run_id (two ids, dict-coded), v (doubles with -0.0, NaN, Infinity), w (the same as v),
// step (Int64 with a NULL, as JSON text), tags (dicts, as JSON text)
const PACKED: WireFrame = {
  columns: ["run_id", "v", "w", "step", "tags"],
  dtypes: ["str", "float64", "float64", "Int64", "object"],
  data: [
    { dict: ["a".repeat(32), "b".repeat(32)],
      codes: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAEAAAABAAAAAQAAAAEAAAABAAAAAQAAAA==" },
    { f64: "AAAAAAAAAICamZmZmZm5P5qZmZmZmck/NDMzMzMz0z+amZmZmZnZPwAAAAAAAPh/NDMzMzMz4z9nZmZmZmbmP5qZmZmZmek/zczMzMzM7D8AAAAAAADwf5qZmZmZmfE/NDMzMzMz8z/NzMzMzMz0P2dmZmZmZvY/AAAAAAAAAIA=" },
    { same: 1 },
    { json: "[0,1,2,null,4,5,6,7,8,9,10,11,12,13,14,15]" },
    { json: '[{"k":0},{"k":1},{"k":2},{"k":3},{"k":4},{"k":5},{"k":6},{"k":7},{"k":8},{"k":9},{"k":10},{"k":11},{"k":12},{"k":13},{"k":14},{"k":15}]' },
  ],
};

describe("packed frames", () => {
  it("decode exactly what Python packed", () => {
    const cols = columns(PACKED);
    expect(cols.run_id.slice(9, 11)).toEqual(["a".repeat(32), "b".repeat(32)]);
    const v = cols.v as number[];
    expect(Object.is(v[0], -0)).toBe(true);
    expect(v[1]).toBe(0.1 * 1);
    expect(Number.isNaN(v[5])).toBe(true);
    expect(v[10]).toBe(Infinity);
    expect(Object.is(v[15], -0)).toBe(true);
    expect(cols.w).toEqual(cols.v);
    expect(cols.step[3]).toBeNull();
    expect(cols.step[4]).toBe(4);
    expect(cols.tags[2]).toEqual({ k: 2 });
  });

  it("give rows like plain frames do", () => {
    const plain: WireFrame = { columns: ["a", "b"], dtypes: ["int64", "float64"], data: [[1, 2], [0.5, "NaN"]] };
    expect(rows(plain)).toEqual([{ a: 1, b: 0.5 }, { a: 2, b: NaN }]);
    const packed = rows(PACKED);
    expect(packed).toHaveLength(16);
    expect(packed[12]).toMatchObject({ run_id: "b".repeat(32), step: 12, tags: { k: 12 } });
  });
});
