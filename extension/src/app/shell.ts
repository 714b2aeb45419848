// The web UI's frame: the header (navigation, theme), the page area, and the page lifecycle. The
// page of the current `#/...` route is drawn into the page area; on the next route it is disposed
// first. Pages register themselves by route name (pages/*.ts), as views do (views/index.ts).

import { Api } from "../api";
import { h } from "../views/common";
import { signOutButton } from "./auth";
import { errorBox, link, NO_PAGE, Page, PageContext, PageRenderer, Route } from "./page";
import { parseRoute } from "./router";

const pages = new Map<string, PageRenderer>();

export function registerPage(name: string, renderer: PageRenderer): void {
  pages.set(name, renderer);
}

type Theme = "system" | "light" | "dark";
const THEME_KEY = "nbtrack.theme";

function applyTheme(theme: Theme): void {
  const dark = theme === "dark" || (theme === "system" && window.matchMedia?.("(prefers-color-scheme: dark)").matches);
  document.documentElement.dataset.theme = dark ? "dark" : "light";
}

function themeSwitch(): HTMLElement {
  const saved = (localStorage.getItem(THEME_KEY) as Theme | null) ?? "system";
  const select = h(
    "select",
    { class: "nbt-app-theme", "aria-label": "Theme", title: "Theme" },
    ...(["system", "light", "dark"] as Theme[]).map((t) => h("option", { value: t, selected: t === saved }, t === "system" ? "System theme" : t === "light" ? "Light" : "Dark")),
  );
  select.addEventListener("change", () => {
    localStorage.setItem(THEME_KEY, select.value);
    applyTheme(select.value as Theme);
  });
  applyTheme(saved);
  window.matchMedia?.("(prefers-color-scheme: dark)").addEventListener?.("change", () => applyTheme((localStorage.getItem(THEME_KEY) as Theme | null) ?? "system"));
  return select;
}

const NAV: { label: string; path: string; routes: string[] }[] = [
  { label: "Experiments", path: "/experiments", routes: ["experiments", "runs", "run", "compare"] },
  { label: "Models", path: "/models", routes: ["models", "model", "version"] },
];

export function startShell(root: HTMLElement, api: Api): { redraw: () => void } {
  const nav = h("nav", { class: "nbt-app-nav" }, ...NAV.map((n) => h("a", { href: link(n.path), "data-routes": n.routes.join(" ") }, n.label)));
  const main = h("main", { class: "nbt-app-main", id: "nbt-app-main" });
  root.append(
    h("header", { class: "nbt-app-header" }, h("a", { class: "nbt-app-brand", href: link("/experiments") }, "nbtrack"), nav, h("span", { class: "nbt-app-spacer" }), signOutButton(), themeSwitch()),
    main,
  );
  let current: Page = NO_PAGE;
  let generation = 0;

  const ctx = (route: Route): PageContext => ({
    api,
    navigate: (path) => {
      location.hash = path;
    },
    setQuery: (query) => {
      const q = new URLSearchParams(route.query);
      for (const [k, v] of Object.entries(query)) {
        if (v === null || v === undefined || v === "") q.delete(k);
        else q.set(k, v);
      }
      const pathname = route.path.split("?")[0];
      const s = q.toString();
      route.query = q;
      route.path = s ? `${pathname}?${s}` : pathname;
      history.replaceState(null, "", `#${route.path}`);
    },
    setTitle: (title) => {
      document.title = title ? `${title} — nbtrack` : "nbtrack";
    },
  });

  const show = async (): Promise<void> => {
    const mine = ++generation;
    current.dispose();
    current = NO_PAGE;
    main.textContent = "";
    const route = parseRoute(location.hash);
    for (const a of nav.querySelectorAll("a")) a.classList.toggle("nbt-app-active", !!route && (a.dataset.routes ?? "").split(" ").includes(route.name));
    const render = route && pages.get(route.name);
    if (!route || !render) {
      document.title = "Not found — nbtrack";
      main.append(h("div", { class: "nbt-app-empty" }, h("div", { class: "nbt-app-empty-title" }, "No such page"), h("a", { href: link("/experiments") }, "Go to the experiments")));
      return;
    }
    const el = h("div", { class: `nbt-app-page nbt-app-page-${route.name}`, "data-page": route.name });
    main.append(el);
    try {
      const page = await render(el, route, ctx(route));
      if (mine !== generation) page.dispose();
      else current = page;
    } catch (e) {
      console.warn("nbtrack: a page failed to draw", e);
      if (mine === generation) el.replaceChildren(errorBox(e));
    }
  };
  window.addEventListener("hashchange", () => void show());
  void show();
  return { redraw: () => void show() };
}
