// Hash routes (`#/experiments/3/runs`): a link can be shared and reloaded, and the server needs no
// fallback route. Patterns are tried in order; `:name` matches one path segment.

import { Route } from "./page";

export interface RouteSpec {
  name: string;
  pattern: string;
}

export const ROUTES: RouteSpec[] = [
  { name: "experiments", pattern: "/experiments" },
  { name: "runs", pattern: "/experiments/:experimentId" },
  { name: "run", pattern: "/runs/:runId" },
  { name: "compare", pattern: "/compare" },
  { name: "models", pattern: "/models" },
  { name: "model", pattern: "/models/:name" },
  { name: "version", pattern: "/models/:name/versions/:version" },
];

export function parseRoute(hash: string, routes: RouteSpec[] = ROUTES): Route | null {
  let path = hash.replace(/^#/, "");
  if (path === "" || path === "/") path = "/experiments";
  const [pathname, search = ""] = path.split("?", 2);
  const parts = pathname.split("/").filter(Boolean);
  for (const spec of routes) {
    const want = spec.pattern.split("/").filter(Boolean);
    if (want.length !== parts.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < want.length; i++) {
      if (want[i].startsWith(":")) params[want[i].slice(1)] = decodeURIComponent(parts[i]);
      else if (want[i] !== parts[i]) ok = false;
    }
    if (ok) return { name: spec.name, params, query: new URLSearchParams(search), path };
  }
  return null;
}

/** The hash path of a page: `pathOf("/models/:name", {name: "a b"})` = "/models/a%20b". */
export function pathOf(pattern: string, params: Record<string, string> = {}, query?: Record<string, string | null | undefined>): string {
  let path = pattern.replace(/:([A-Za-z]+)/g, (_, k) => encodeURIComponent(params[k] ?? ""));
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== null && v !== undefined && v !== "") q.set(k, v);
  const s = q.toString();
  if (s) path += `?${s}`;
  return path;
}
