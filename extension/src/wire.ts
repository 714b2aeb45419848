// Frames as the store's view operations send them (nbtrack/store/wire.py): column-major JSON,
// non-finite doubles spelled "NaN", "Infinity", "-Infinity" (inside lists: {"double": "NaN"}).

export interface WireFrame {
  columns: string[];
  dtypes: string[];
  data: unknown[][];
}

export type Row = Record<string, unknown>;

const WORDS: Record<string, number> = { NaN: NaN, Infinity: Infinity, "-Infinity": -Infinity };

function nested(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(nested);
  if (value !== null && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj);
    if (keys.length === 1 && keys[0] === "double" && typeof obj.double === "string") {
      return WORDS[obj.double] ?? obj.double;
    }
    const out: Record<string, unknown> = {};
    for (const k of keys) out[k] = nested(obj[k]);
    return out;
  }
  return value;
}

/** The frame's columns by name, with numbers decoded. */
export function columns(frame: WireFrame): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {};
  frame.columns.forEach((name, i) => {
    const values = frame.data[i] ?? [];
    const dtype = frame.dtypes[i] ?? "object";
    if (dtype.startsWith("float")) {
      out[name] = values.map((v) => (typeof v === "string" ? (WORDS[v] ?? v) : v === null ? NaN : v));
    } else if (dtype === "object") {
      out[name] = values.map(nested);
    } else {
      out[name] = values;
    }
  });
  return out;
}

/** The frame as one object per row. */
export function rows(frame: WireFrame): Row[] {
  const cols = columns(frame);
  const n = frame.data.length ? frame.data[0].length : 0;
  const out: Row[] = [];
  for (let r = 0; r < n; r++) {
    const row: Row = {};
    for (const name of frame.columns) row[name] = cols[name][r];
    out.push(row);
  }
  return out;
}
