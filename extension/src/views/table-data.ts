// The runs table's data, without the DOM: rows of a runs-page frame (store.runs_page), the key
// catalogue, the default columns, cell text, and nested runs grouped under their parents.

import { WireFrame, rows as frameRows, unpack } from "../wire";
import { formatValue, isMissing, MISSING } from "./common";

/** The tag MLflow sets on a nested run. */
export const PARENT_TAG = "mlflow.parentRunId";

export interface TableRow {
  id: string;
  name: string;
  status: string;
  start: number | null;
  end: number | null;
  user: string;
  /** parent run id (tag mlflow.parentRunId), if nested */
  parent: string | null;
  /** by column id: attr:<name>, param:<key>, metric:<key>, tag:<key> */
  values: Record<string, unknown>;
  total: number;
}

export interface CatalogueEntry {
  kind: "param" | "metric" | "tag" | string;
  key: string;
  /** runs (among the matching) that have the key */
  n: number;
  numeric: boolean;
}

export interface Column {
  id: string;
  label: string;
  kind: string;
}

export const ATTRIBUTES: Column[] = [
  { id: "attr:run_name", label: "Run", kind: "attr" },
  { id: "attr:status", label: "Status", kind: "attr" },
  { id: "attr:start_time", label: "Started", kind: "attr" },
  { id: "attr:duration", label: "Duration", kind: "attr" },
  { id: "attr:user_id", label: "User", kind: "attr" },
  { id: "attr:run_id", label: "Run ID", kind: "attr" },
];

const HIDDEN_TAG_PREFIXES = ["mlflow.", "nbtrack."];

const num = (v: unknown): number | null => (v === null || v === undefined || v === "" ? null : Number(v));

/** One table row per run of a runs-page frame. */
export function pageRows(frame: WireFrame | null | undefined, now = Date.now()): TableRow[] {
  if (!frame || !frame.columns.length) return [];
  return frameRows(frame).map((r) => {
    const start = num(r.start_time);
    const end = num(r.end_time);
    const values: Record<string, unknown> = {
      "attr:run_id": r.run_id,
      "attr:run_name": r.run_name,
      "attr:status": r.status,
      "attr:start_time": start,
      "attr:user_id": r.user_id,
      "attr:duration": start === null ? null : (end ?? now) - start,
    };
    const kinds = (r.kinds as unknown[] | null) ?? [];
    const keys = (r.keys as unknown[] | null) ?? [];
    const nums = (r.nums as unknown[] | null) ?? [];
    const texts = (r.texts as unknown[] | null) ?? [];
    let parent: string | null = null;
    kinds.forEach((kind, i) => {
      const key = String(keys[i]);
      values[`${kind}:${key}`] = kind === "metric" ? nums[i] : texts[i];
      if (kind === "tag" && key === PARENT_TAG && texts[i]) parent = String(texts[i]);
    });
    return {
      id: String(r.run_id),
      name: isMissing(r.run_name) ? String(r.run_id).slice(0, 8) : String(r.run_name),
      status: String(r.status ?? ""),
      start,
      end,
      user: String(r.user_id ?? ""),
      parent,
      values,
      total: Number(r.total ?? 0),
    };
  });
}

/** The key catalogue a runs-page frame carries (asked with catalogue: true), from its first row. */
export function catalogueOf(frame: WireFrame | null | undefined): CatalogueEntry[] | null {
  if (!frame) return null;
  const i = frame.columns.indexOf("catalogue");
  if (i < 0) return null;
  const first = unpack(frame.data[i], frame.data)[0];
  return Array.isArray(first) ? (first as CatalogueEntry[]) : [];
}

/** Every column the chooser offers: the attributes, then params, metrics and tags by name. */
export function allColumns(catalogue: CatalogueEntry[]): Column[] {
  const order: Record<string, number> = { param: 0, metric: 1, tag: 2 };
  const keyed = [...catalogue].sort((a, b) => (order[a.kind] ?? 3) - (order[b.kind] ?? 3) || a.key.localeCompare(b.key));
  return [...ATTRIBUTES, ...keyed.map((c) => ({ id: `${c.kind}:${c.key}`, label: c.key, kind: c.kind }))];
}

/** Columns shown before the user picks: name, status, times, then the commonest params and metrics. */
export function defaultColumns(catalogue: CatalogueEntry[], limitEach = 40): string[] {
  const chosen = ["attr:run_name", "attr:status", "attr:start_time", "attr:duration"];
  for (const kind of ["param", "metric"]) {
    const common = catalogue
      .filter((c) => c.kind === kind)
      .sort((a, b) => b.n - a.n || a.key.localeCompare(b.key))
      .slice(0, limitEach)
      .map((c) => `${kind}:${c.key}`)
      .sort();
    chosen.push(...common);
  }
  return chosen;
}

export function isHiddenTag(column: Column): boolean {
  return column.kind === "tag" && HIDDEN_TAG_PREFIXES.some((p) => column.label.startsWith(p));
}

export function formatDuration(ms: number): string {
  const seconds = ms / 1000;
  if (seconds < 1) return `${Math.round(ms)} ms`;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  let minutes = Math.floor(seconds / 60);
  const sec = Math.floor(seconds) % 60;
  if (minutes < 60) return `${minutes}m ${String(sec).padStart(2, "0")}s`;
  const hours = Math.floor(minutes / 60);
  minutes %= 60;
  if (hours < 48) return `${hours}h ${String(minutes).padStart(2, "0")}m`;
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
}

function formatTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number): string => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** The text of one cell: "—" for a run without the value, never "nan" or an empty cell. */
export function cellText(columnId: string, value: unknown): string {
  if (isMissing(value)) return MISSING;
  if (columnId === "attr:start_time") return formatTime(Number(value));
  if (columnId === "attr:duration") return formatDuration(Number(value));
  if (typeof value === "number" && Number.isNaN(value)) return "NaN";
  return formatValue(value, 5);
}

export interface TreeEntry {
  row: TableRow;
  depth: number;
  /** runs nested under this one on the page */
  children: number;
  /** a nested run whose parent is not on this page */
  orphan: boolean;
}

/** The page's rows in tree order: each run followed by its nested runs (at any depth), in page
 *  order; a run whose parent is not on the page stays at the top level, marked as an orphan.
 *  Descendants of a collapsed run are left out. */
export function groupNested(page: TableRow[], collapsed: ReadonlySet<string> = new Set()): TreeEntry[] {
  const byId = new Map(page.map((r) => [r.id, r]));
  const kids = new Map<string, TableRow[]>();
  const roots: TableRow[] = [];
  for (const r of page) {
    if (r.parent && r.parent !== r.id && byId.has(r.parent) && !isAncestor(r.id, r.parent, byId)) {
      let list = kids.get(r.parent);
      if (!list) kids.set(r.parent, (list = []));
      list.push(r);
    } else {
      roots.push(r);
    }
  }
  const out: TreeEntry[] = [];
  const visit = (r: TableRow, depth: number): void => {
    const children = kids.get(r.id) ?? [];
    out.push({ row: r, depth, children: countDescendants(r.id, kids), orphan: depth === 0 && !!r.parent && r.parent !== r.id });
    if (collapsed.has(r.id)) return;
    for (const c of children) visit(c, depth + 1);
  };
  for (const r of roots) visit(r, 0);
  return out;
}

/** True when `candidate` is `id` itself or one of its ancestors through parent links on the page
 *  (a cycle of parent tags would otherwise hide its runs). */
function isAncestor(id: string, start: string, byId: Map<string, TableRow>): boolean {
  const seen = new Set<string>();
  let cur: string | null = start;
  while (cur && !seen.has(cur)) {
    if (cur === id) return true;
    seen.add(cur);
    cur = byId.get(cur)?.parent ?? null;
  }
  return false;
}

function countDescendants(id: string, kids: Map<string, TableRow[]>): number {
  let n = 0;
  const stack = [...(kids.get(id) ?? [])];
  while (stack.length) {
    const r = stack.pop()!;
    n++;
    stack.push(...(kids.get(r.id) ?? []));
  }
  return n;
}
