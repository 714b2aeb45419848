// Frames as the store's view operations send them (nbtrack/store/wire.py): column-major JSON,
// non-finite doubles spelled "NaN", "Infinity", "-Infinity" (inside lists: {"double": "NaN"});
// the frames a view saves in a notebook have packed columns (see Packed).

export interface WireFrame {
  columns: string[];
  dtypes: string[];
  /** a column is its values, or (as views save them in a notebook) one of the packed forms */
  data: (unknown[] | Packed)[];
}

/** nbtrack/store/wire.py's packed columns: exact, one string each, so a notebook stays small. */
export type Packed = { f64: string } | { same: number } | { dict: unknown[]; codes: string } | { json: string };

function bytes(b64: string): DataView {
  const text = atob(b64);
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return new DataView(out.buffer);
}

/** A column's plain values (doubles as numbers, NaN included), whichever form it came in. */
export function unpack(column: unknown[] | Packed | undefined, data: (unknown[] | Packed)[], depth = 0): unknown[] {
  if (column === undefined || column === null) return [];
  if (Array.isArray(column)) return column;
  if ("same" in column) return depth > data.length ? [] : unpack(data[column.same], data, depth + 1);
  if ("f64" in column) {
    const view = bytes(column.f64);
    const out: number[] = new Array(view.byteLength / 8);
    for (let i = 0; i < out.length; i++) out[i] = view.getFloat64(i * 8, true);
    return out;
  }
  if ("dict" in column) {
    const view = bytes(column.codes);
    const out: unknown[] = new Array(view.byteLength / 4);
    for (let i = 0; i < out.length; i++) {
      const code = view.getInt32(i * 4, true);
      out[i] = code < 0 ? null : column.dict[code];
    }
    return out;
  }
  if ("json" in column) return JSON.parse(column.json) as unknown[];
  return [];
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
    const values = unpack(frame.data[i], frame.data);
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
  const n = frame.columns.length ? cols[frame.columns[0]].length : 0;
  const out: Row[] = [];
  for (let r = 0; r < n; r++) {
    const row: Row = {};
    for (const name of frame.columns) row[name] = cols[name][r];
    out.push(row);
  }
  return out;
}
