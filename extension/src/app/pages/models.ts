// The registry's list page (#/models?q=...&page=...&size=...): registered models with their latest
// version per stage, aliases, last update, tags and description; search (MLflow's registered-models
// filter, or plain text as `name ILIKE '%text%'`) with its error in place; paging by page token;
// keyboard navigation; a model created from the page. The model and version pages are
// models-model.ts and models-version.ts.

import "../../../style/app-models.css";
import "./models-model";
import "./models-version";

import { h, MISSING } from "../../views/common";
import { chips, formatTime, quoted, stageBadge } from "../../views/registry";
import { empty, errorBox, link, loading } from "../page";
import { registerPage } from "../shell";
import { act, errorSlot, keyNav, modelPath, versionPath } from "./models-common";

export const DEFAULT_PAGE_SIZE = 50;
/** the latest version per stage, most used first */
const SHOWN_ORDER = ["Production", "Staging", "None", "Archived"];
const SORTS: Record<string, { label: string; order_by: string[] }> = {
  name: { label: "Name A\u2192Z", order_by: ["name ASC"] },
  updated: { label: "Last updated", order_by: ["last_updated_timestamp DESC"] },
  created: { label: "Newest", order_by: ["creation_timestamp DESC"] },
};

/** The filter a search box's text means: plain text is a name match, anything else MLflow's grammar. */
export function filterOf(text: string): string {
  const t = text.trim();
  if (!t) return "";
  if (/\b(LIKE|ILIKE|IN)\b|[=<>!]|^\s*(name|tags\.|tag\.)/i.test(t)) return t;
  return `name ILIKE ${quoted(`%${t}%`)}`;
}

function pairs(items: any): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of Array.isArray(items) ? items : []) out[t.key] = String(t.value ?? "");
  return out;
}

function latestCell(m: any): HTMLElement {
  const latest: any[] = [...(m.latest_versions ?? [])].sort((a, b) => SHOWN_ORDER.indexOf(a.current_stage) - SHOWN_ORDER.indexOf(b.current_stage));
  if (!latest.length) return h("span", { class: "nbt-models-muted" }, "no versions");
  return h("span", { class: "nbt-models-latest" }, latest.map((v) =>
    h("a", { href: link(versionPath(m.name, v.version)), class: "nbt-models-latest-one", title: `latest version in ${v.current_stage}` },
      stageBadge(v.current_stage), ` v${v.version}`)));
}

function modelRow(m: any): HTMLElement {
  const aliases: any[] = m.aliases ?? [];
  const description = String(m.description ?? "").split("\n")[0];
  return h("tr", { "data-model": m.name },
    h("td", {}, h("a", { href: link(modelPath(m.name)), class: "nbt-models-name" }, m.name)),
    h("td", {}, latestCell(m)),
    h("td", {}, aliases.length ? aliases.map((a) => h("a", { href: link(versionPath(m.name, a.version)), class: "nbt-reg-alias" }, h("code", {}, `@${a.alias}\u2192v${a.version}`))) : MISSING),
    h("td", { class: "nbt-reg-nowrap" }, formatTime(m.last_updated_timestamp ?? m.creation_timestamp)),
    h("td", {}, chips(pairs(m.tags), 4)),
    h("td", { class: "nbt-models-description-cell", title: m.description ?? "" }, description || MISSING));
}

function emptyRegistry(): HTMLElement {
  return empty("No registered models yet",
    h("div", {}, "Register a logged model from Python: ", h("code", {}, 'nbtrack.register_model("runs:/<run_id>/model", "my-model")')),
    h("div", {}, "or when logging it: ", h("code", {}, 'nbtrack.sklearn.log_model(model, name="model", registered_model_name="my-model")')),
    h("div", {}, "or create an empty one here with ", h("b", {}, "New model"), "."));
}

function createForm(onCreated: (name: string) => void) {
  const name = h("input", { class: "nbt-models-new-name", placeholder: "model name", "aria-label": "New model name", required: true });
  const description = h("input", { class: "nbt-models-new-description", placeholder: "description (optional)", "aria-label": "New model description", size: 40 });
  const ok = h("button", { class: "nbt-app-primary", type: "submit" }, "Create");
  const cancel = h("button", { type: "button" }, "Cancel");
  const slot = errorSlot();
  const form = h("form", { class: "nbt-models-new", hidden: true }, h("div", { class: "nbt-app-toolbar" }, name, description, ok, cancel), slot);
  cancel.addEventListener("click", () => {
    form.hidden = true;
  });
  return Object.assign(form, { onCreated, nameInput: name, descriptionInput: description, ok, errors: slot });
}

registerPage("models", async (el, route, ctx) => {
  ctx.setTitle("Models");
  let disposed = false;
  const q = route.query.get("q") ?? "";
  const size = Math.max(1, Math.min(1000, Number(route.query.get("size")) || DEFAULT_PAGE_SIZE));
  // the tokens of the pages before this one (Previous); a reloaded deep link has only "First page"
  const before: string[] = [];
  let token = route.query.get("page") ?? "";

  const search = h("input", { type: "search", class: "nbt-models-search", placeholder: "Search: a name, or name LIKE 'iris%' / tags.team = 'x'", "aria-label": "Search models", size: 48 });
  search.value = q;
  const effective = h("div", { class: "nbt-models-muted nbt-models-effective" });
  const searchError = h("div", { class: "nbt-models-search-error" });
  const sortKey = SORTS[route.query.get("sort") ?? ""] ? route.query.get("sort")! : "name";
  const sort = h("select", { class: "nbt-models-sort", "aria-label": "Sort models" },
    Object.entries(SORTS).map(([k, s]) => h("option", { value: k, selected: k === sortKey }, s.label)));
  const newButton = h("button", { type: "button", class: "nbt-models-new-button" }, "New model");
  const form = createForm((name) => ctx.navigate(modelPath(name)));
  const body = h("div", { class: "nbt-models-body" }, loading());
  const pager = h("div", { class: "nbt-app-toolbar nbt-models-pager" });
  el.append(
    h("h1", {}, "Models"),
    h("div", { class: "nbt-app-toolbar" }, search, sort, h("span", { class: "nbt-app-spacer" }), newButton),
    effective, searchError, form, body, pager);

  newButton.addEventListener("click", () => {
    form.hidden = false;
    form.nameInput.focus();
  });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const name = form.nameInput.value.trim();
    if (!name) return;
    const description = form.descriptionInput.value;
    if (await act(form.ok, form.errors, () => ctx.api.mlflow("POST", "registered-models/create", description ? { name, description } : { name }))) form.onCreated(name);
  });

  let loaded = 0;
  let shownFilter: string | null = null;
  const load = async (): Promise<void> => {
    const mine = ++loaded;
    const filter = filterOf(search.value);
    effective.textContent = filter && filter !== search.value.trim() ? `filter: ${filter}` : "";
    if (!body.querySelector("table")) body.replaceChildren(loading());
    body.setAttribute("aria-busy", "true");
    try {
      const res = await ctx.api.mlflow("GET", "registered-models/search",
        { filter: filter || undefined, max_results: size, page_token: token || undefined, order_by: SORTS[sort.value].order_by });
      if (disposed || mine !== loaded) return;
      search.removeAttribute("aria-invalid");
      searchError.replaceChildren();
      shownFilter = filter;
      draw(res.registered_models ?? [], res.next_page_token ?? "");
    } catch (e) {
      if (disposed || mine !== loaded) return;
      // the error where the search is, the list as it was (MLflow's UI replaces it)
      search.setAttribute("aria-invalid", "true");
      searchError.replaceChildren(errorBox(e));
      if (shownFilter === null) body.replaceChildren();
    } finally {
      if (mine === loaded) body.removeAttribute("aria-busy");
    }
  };

  const draw = (models: any[], next: string): void => {
    if (!models.length) {
      body.replaceChildren(shownFilter ? empty("No models match", "Change the search, or clear it to see every model.") : token ? empty("No more models") : emptyRegistry());
    } else {
      const tbody = h("tbody", {}, models.map(modelRow));
      keyNav(tbody);
      body.replaceChildren(h("table", { class: "nbt-app-list nbt-models-list" },
        h("thead", {}, h("tr", {}, ["Name", "Latest versions", "Aliases", "Last updated", "Tags", "Description"].map((c) => h("th", {}, c)))),
        tbody));
    }
    const prev = h("button", { type: "button", class: "nbt-models-prev", disabled: !token }, before.length || !token ? "\u2190 Previous" : "\u2190 First page");
    const more = h("button", { type: "button", class: "nbt-models-next", disabled: !next }, "Next \u2192");
    prev.addEventListener("click", () => {
      token = before.pop() ?? "";
      ctx.setQuery({ page: token });
      void load();
    });
    more.addEventListener("click", () => {
      before.push(token);
      token = next;
      ctx.setQuery({ page: token });
      void load();
    });
    const count = `${models.length} model${models.length === 1 ? "" : "s"}${token || next ? " on this page" : ""}`;
    pager.replaceChildren(prev, more, h("span", { class: "nbt-models-muted nbt-models-count" }, count));
  };

  let timer: number | undefined;
  const searchNow = (): void => {
    window.clearTimeout(timer);
    token = "";
    before.length = 0;
    ctx.setQuery({ q: search.value.trim(), page: null, sort: sort.value === "name" ? null : sort.value });
    void load();
  };
  sort.addEventListener("change", searchNow);
  search.addEventListener("input", () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(searchNow, 350);
  });
  search.addEventListener("keydown", (e) => {
    if (e.key === "Enter") searchNow();
    else if (e.key === "ArrowDown") {
      body.querySelector<HTMLElement>("tbody tr")?.focus();
      e.preventDefault();
    }
  });
  const slash = (e: KeyboardEvent): void => {
    if (e.key === "/" && !(e.target instanceof HTMLInputElement || e.target instanceof HTMLTextAreaElement)) {
      search.focus();
      e.preventDefault();
    }
  };
  document.addEventListener("keydown", slash);
  await load();
  return {
    dispose() {
      disposed = true;
      window.clearTimeout(timer);
      document.removeEventListener("keydown", slash);
    },
  };
});
