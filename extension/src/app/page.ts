// What the web UI's pages share: the route they were opened on, the context they draw in, and
// small helpers for the states every page has (loading, empty, error in place).

import { Api, ApiError } from "../api";
import { h } from "../views/common";

/** A parsed `#/...` location: `#/experiments/3/runs?filter=x` -> name "runs", params {id: "3"}. */
export interface Route {
  name: string;
  params: Record<string, string>;
  query: URLSearchParams;
  /** the hash as it was, without the leading "#" */
  path: string;
}

export interface PageContext {
  api: Api;
  /** go to another page (pushes history): `navigate("/runs/abc")` */
  navigate(path: string): void;
  /** change this page's query string without reloading it (replaces history): deep links stay true */
  setQuery(query: Record<string, string | null | undefined>): void;
  /** the document title's first part ("Runs of churn — nbtrack") */
  setTitle(title: string): void;
}

export interface Page {
  dispose(): void;
}

export type PageRenderer = (el: HTMLElement, route: Route, ctx: PageContext) => Page | Promise<Page>;

export const NO_PAGE: Page = { dispose() {} };

export function loading(text = "Loading…"): HTMLElement {
  return h("div", { class: "nbt-app-loading", role: "status" }, h("span", { class: "nbt-app-spinner" }), text);
}

/** An empty state that says what to do: a title and a hint (text or nodes). */
export function empty(title: string, ...hint: (Node | string)[]): HTMLElement {
  return h("div", { class: "nbt-app-empty" }, h("div", { class: "nbt-app-empty-title" }, title), h("div", { class: "nbt-app-empty-hint" }, ...hint));
}

/** An error shown where the content would be, with the server's message. */
export function errorBox(e: unknown): HTMLElement {
  const message = e instanceof ApiError ? `${e.message} (${e.errorCode})` : e instanceof Error ? e.message : String(e);
  return h("div", { class: "nbt-app-error", role: "alert" }, message);
}

/** `href` of an in-app link. */
export function link(path: string): string {
  return `#${path}`;
}

/** "/" focuses a page's search or filter box (as on GitHub), unless a field already has the keys;
 *  returns the listener's removal for the page's dispose. */
export function slashFocuses(box: () => HTMLElement | null): () => void {
  const onKey = (e: KeyboardEvent): void => {
    const t = e.target as HTMLElement | null;
    if (e.key !== "/" || e.ctrlKey || e.metaKey || e.altKey) return;
    if (t && (t.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(t.tagName))) return;
    const el = box();
    if (!el) return;
    e.preventDefault();
    el.focus();
  };
  document.addEventListener("keydown", onKey);
  return () => document.removeEventListener("keydown", onKey);
}
