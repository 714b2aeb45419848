// The experiments page (#/experiments?q=...&view=deleted): the store's experiments, newest first,
// searched with MLflow's experiment filter (name LIKE 'a%' AND tags.team = 'x') or a plain word
// (the name contains it); created, renamed, deleted, restored and tagged in place through MLflow's
// endpoints, each error shown where it happened. Arrow keys move along the rows, Enter opens one.

import { h } from "../../views/common";
import { cellText } from "../../views/table-data";
import { empty, errorBox, link, loading, PageContext, slashFocuses } from "../page";
import { registerPage } from "../shell";

const VIEWS: Record<string, { label: string; viewType: string }> = {
  active: { label: "Active", viewType: "ACTIVE_ONLY" },
  deleted: { label: "Deleted", viewType: "DELETED_ONLY" },
  all: { label: "All", viewType: "ALL" },
};
// a filter names an attribute or a tag first (name LIKE ..., tags.team = ...) or compares
const SORTABLE: Record<string, string> = { name: "Name", creation_time: "Created", last_update_time: "Last update" };
const FILTER_START = /^\s*(name|tags?\.|`?attributes?\.|creation_time|last_update_time|experiment_id)\b/i;

/** The filter sent for what was typed: an MLflow filter as it is; a plain text, "name contains it". */
export function experimentFilter(text: string): string {
  const t = text.trim();
  if (!t) return "";
  if (FILTER_START.test(t) || /[=<>]/.test(t)) return t;
  return `name ILIKE '%${t.replace(/'/g, "''").replace(/[%_]/g, (c) => `\\${c}`)}%'`;
}

interface Experiment {
  experiment_id: string;
  name: string;
  creation_time?: number;
  last_update_time?: number;
  lifecycle_stage: string;
  tags?: { key: string; value: string }[];
}

function time(ms: number | undefined): string {
  return ms ? cellText("attr:start_time", Number(ms)) : "\u2014";
}

registerPage("experiments", async (el, route, ctx) => {
  ctx.setTitle("Experiments");
  const view = VIEWS[route.query.get("view") ?? ""] ? (route.query.get("view") as string) : "active";
  // ?sort=name, ?sort=last_update_time-asc...: a header click sorts through MLflow's order_by
  let [sortKey, sortDir] = (route.query.get("sort") ?? "creation_time").split("-");
  if (!SORTABLE[sortKey]) sortKey = "creation_time";
  let descending = sortKey === "name" ? sortDir === "desc" : sortDir !== "asc";
  const search = h("input", {
    type: "search",
    class: "nbt-app-exp-search",
    "aria-label": "Search experiments",
    placeholder: "search: churn, or name LIKE 'churn%' AND tags.team = 'ml'",
    value: route.query.get("q") ?? "",
  }) as HTMLInputElement;
  const lifecycle = h(
    "select",
    { class: "nbt-app-exp-view", "aria-label": "Which experiments" },
    ...Object.entries(VIEWS).map(([k, v]) => h("option", { value: k, selected: k === view }, v.label)),
  ) as HTMLSelectElement;
  const newButton = h("button", { type: "button", class: "nbt-app-primary nbt-app-exp-new" }, "New experiment");
  const createBox = h("div", { class: "nbt-app-exp-create", hidden: true });
  const list = h("div", { class: "nbt-app-exp-list" });
  // ticked experiments open together: one run table over all of them (#/experiments/a?ids=b,c)
  const ticked = new Set<string>();
  const together = h("button", { type: "button", class: "nbt-app-exp-together", disabled: true, title: "tick experiments to see their runs in one table" }, "Runs of ticked") as HTMLButtonElement;
  const updateTogether = (): void => {
    together.disabled = ticked.size === 0;
    together.textContent = ticked.size ? `Runs of ${ticked.size} ticked` : "Runs of ticked";
  };
  together.addEventListener("click", () => {
    const [first, ...rest] = shown.map((e) => e.experiment_id).filter((id) => ticked.has(id));
    if (first) ctx.navigate(`/experiments/${encodeURIComponent(first)}${rest.length ? `?ids=${rest.map(encodeURIComponent).join(",")}` : ""}`);
  });
  el.append(h("h1", {}, "Experiments"), h("div", { class: "nbt-app-toolbar" }, search, lifecycle, newButton, together), createBox, list);

  let request = 0;
  let more: string | null = null;
  let shown: Experiment[] = [];

  async function load(append = false): Promise<void> {
    const mine = ++request;
    if (!append) list.replaceChildren(loading("Loading experiments…"));
    const body: Record<string, unknown> = {
      max_results: 200,
      order_by: [`${sortKey} ${descending ? "DESC" : "ASC"}`, ...(sortKey === "name" ? [] : ["name ASC"])],
      view_type: VIEWS[lifecycle.value].viewType,
      filter: experimentFilter(search.value) || undefined,
      page_token: append ? more : undefined,
    };
    try {
      const res = await ctx.api.mlflow("POST", "experiments/search", body);
      if (mine !== request) return;
      more = res.next_page_token ?? null;
      shown = append ? [...shown, ...(res.experiments ?? [])] : (res.experiments ?? []);
      draw();
    } catch (e) {
      if (mine !== request) return;
      // a bad filter: the message under the box, the search stays as typed
      list.replaceChildren(errorBox(e));
    }
  }

  /** A column title; the sortable ones sort on a click (again: the other way). */
  function header(title: string): HTMLElement {
    const key = Object.keys(SORTABLE).find((k) => SORTABLE[k] === title);
    if (!key) return h("th", {}, title);
    const on = key === sortKey;
    return h(
      "th",
      { class: "nbt-app-sortable", "data-sort": key, "aria-sort": on ? (descending ? "descending" : "ascending") : "none" },
      h(
        "button",
        {
          type: "button",
          class: "nbt-app-sort",
          title: `sort by ${title.toLowerCase()}`,
          onclick: () => {
            if (on) descending = !descending;
            else [sortKey, descending] = [key, key !== "name"];
            keepQuery();
            void load();
          },
        },
        title + (on ? (descending ? " \u25bc" : " \u25b2") : ""),
      ),
    );
  }

  function firstRunHint(): HTMLElement {
    return empty(
      "No runs logged here yet?",
      "Log a first run from a notebook: ",
      h("code", {}, "%load_ext nbtrack"),
      " then a cell starting with ",
      h("code", {}, "%%track"),
      "; or from a script: ",
      h("code", {}, `MLFLOW_TRACKING_URI=${location.origin} python train.py`),
      " with ",
      h("code", {}, "mlflow.start_run()"),
      ". Or create an empty experiment with New experiment.",
    );
  }

  function draw(): void {
    if (!shown.length) {
      list.replaceChildren(
        search.value.trim() || lifecycle.value !== "active"
          ? empty("No experiment matches", "Clear the search, or pick another lifecycle (Active, Deleted, All).")
          : firstRunHint(),
      );
      return;
    }
    const pairs = shown.map((e) => row(e));
    const rows = pairs.map(([tr]) => tr);
    const table = h(
      "table",
      { class: "nbt-app-list nbt-app-exp-table" },
      h("thead", {}, h("tr", {}, h("th", { class: "nbt-app-exp-tick" }), ...["Name", "Id", "Created", "Last update", "Tags", "Lifecycle", ""].map((t) => header(t)))),
      h("tbody", {}, pairs.flat()),
    );
    if (rows[0]) rows[0].tabIndex = 0;
    list.replaceChildren(table);
    if (shown.length === 1 && shown[0].experiment_id === "0" && !search.value.trim() && lifecycle.value === "active") {
      // a fresh store: only the Default experiment, which every store has
      list.append(firstRunHint());
    }
    if (more) list.append(h("button", { type: "button", class: "nbt-app-exp-more", onclick: () => void load(true) }, "Show more experiments"));
  }

  /** An experiment's row and, under it, the row its errors and tag editor open in. */
  function row(e: Experiment): [HTMLTableRowElement, HTMLTableRowElement] {
    const deleted = e.lifecycle_stage === "deleted";
    const userTags = (e.tags ?? []).filter((t) => !t.key.startsWith("mlflow."));
    const note = h("td", { class: "nbt-app-row-note", colspan: 8 });
    const actions = h("td", { class: "nbt-app-exp-actions" });
    const nameCell = h("td", { class: "nbt-app-exp-name" }, h("a", { href: link(`/experiments/${encodeURIComponent(e.experiment_id)}`), tabindex: -1 }, e.name));
    const tick = h("input", { type: "checkbox", class: "nbt-app-exp-check", "aria-label": `tick ${e.name}`, tabindex: -1 }) as HTMLInputElement;
    tick.checked = ticked.has(e.experiment_id);
    tick.addEventListener("change", () => {
      if (tick.checked) ticked.add(e.experiment_id);
      else ticked.delete(e.experiment_id);
      updateTogether();
    });
    const tr = h(
      "tr",
      { class: `nbt-app-exp-row${deleted ? " nbt-app-deleted" : ""}`, tabindex: -1, "data-experiment-id": e.experiment_id },
      h("td", { class: "nbt-app-exp-tick" }, tick),
      nameCell,
      h("td", { class: "nbt-app-muted" }, e.experiment_id),
      h("td", {}, time(e.creation_time)),
      h("td", {}, time(e.last_update_time)),
      h("td", { class: "nbt-app-exp-tags" }, ...userTags.map((t) => h("span", { class: "nbt-app-tag" }, `${t.key}: ${t.value}`))),
      h("td", {}, deleted ? h("span", { class: "nbt-app-badge nbt-app-badge-deleted" }, "deleted") : "active"),
      actions,
    ) as HTMLTableRowElement;
    const extra = h("tr", { class: "nbt-app-exp-extra", hidden: true }, note) as HTMLTableRowElement;
    const fail = (err: unknown): void => {
      extra.hidden = false;
      note.replaceChildren(errorBox(err));
    };
    const act = async (path: string, body: Record<string, unknown>): Promise<boolean> => {
      try {
        await ctx.api.mlflow("POST", path, body);
        return true;
      } catch (err) {
        fail(err);
        return false;
      }
    };
    const button = (label: string, cls: string, onclick: () => void): HTMLElement => h("button", { type: "button", class: cls, onclick }, label);
    const showActions = (): void => {
      actions.replaceChildren(
        button("Rename", "nbt-app-exp-rename", rename),
        button("Tags", "nbt-app-exp-tags-edit", () => editTags()),
        deleted
          ? button("Restore", "nbt-app-exp-restore", async () => {
              if (await act("experiments/restore", { experiment_id: e.experiment_id })) await load();
            })
          : button("Delete", "nbt-app-danger nbt-app-exp-delete", confirmDelete),
      );
    };
    const confirmDelete = (): void => {
      actions.replaceChildren(
        h("span", {}, "Delete? "),
        button("Delete", "nbt-app-danger nbt-app-exp-confirm-delete", async () => {
          if (await act("experiments/delete", { experiment_id: e.experiment_id })) await load();
        }),
        button("Cancel", "nbt-app-exp-cancel", showActions),
      );
      (actions.querySelector(".nbt-app-exp-cancel") as HTMLElement).focus();
    };
    const rename = (): void => {
      const input = h("input", { type: "text", class: "nbt-app-exp-rename-input", value: e.name, "aria-label": "New name" }) as HTMLInputElement;
      const save = async (): Promise<void> => {
        const name = input.value.trim();
        if (!name || name === e.name) return showActions();
        if (await act("experiments/update", { experiment_id: e.experiment_id, new_name: name })) await load();
      };
      input.addEventListener("keydown", (k) => {
        k.stopPropagation();
        if (k.key === "Enter") void save();
        if (k.key === "Escape") showActions();
      });
      actions.replaceChildren(input, button("Save", "nbt-app-primary nbt-app-exp-save", () => void save()), button("Cancel", "nbt-app-exp-cancel", showActions));
      input.focus();
      input.select();
    };
    const editTags = (): void => {
      extra.hidden = false;
      const key = h("input", { type: "text", class: "nbt-app-tag-key", placeholder: "key", "aria-label": "Tag key" }) as HTMLInputElement;
      const value = h("input", { type: "text", class: "nbt-app-tag-value", placeholder: "value", "aria-label": "Tag value" }) as HTMLInputElement;
      const err = h("div", { class: "nbt-app-tag-error" });
      const set = async (): Promise<void> => {
        try {
          await ctx.api.mlflow("POST", "experiments/set-experiment-tag", { experiment_id: e.experiment_id, key: key.value.trim(), value: value.value });
          await load();
        } catch (x) {
          err.replaceChildren(errorBox(x));
        }
      };
      const remove = async (k: string): Promise<void> => {
        try {
          await ctx.api.mlflow("POST", "experiments/delete-experiment-tag", { experiment_id: e.experiment_id, key: k });
          await load();
        } catch (x) {
          err.replaceChildren(errorBox(x));
        }
      };
      for (const i of [key, value]) i.addEventListener("keydown", (k) => (k.stopPropagation(), k.key === "Enter" && void set()));
      note.replaceChildren(
        h(
          "div",
          { class: "nbt-app-tag-editor" },
          ...(e.tags ?? []).map((t) =>
            h("span", { class: "nbt-app-tag" }, `${t.key}: ${t.value} `, h("button", { type: "button", class: "nbt-app-tag-remove", title: `delete tag ${t.key}`, "aria-label": `delete tag ${t.key}`, onclick: () => void remove(t.key) }, "\u00d7")),
          ),
          key,
          value,
          h("button", { type: "button", class: "nbt-app-primary nbt-app-tag-set", onclick: () => void set() }, "Set tag"),
          h("button", { type: "button", onclick: () => ((extra.hidden = true), note.replaceChildren()) }, "Done"),
        ),
        err,
      );
      key.focus();
    };
    showActions();
    return [tr, extra];
  }

  list.addEventListener("keydown", (k) => {
    const tr = k.target as HTMLElement;
    if (!tr.matches?.("tr.nbt-app-exp-row")) return;
    const rows = [...list.querySelectorAll<HTMLElement>("tr.nbt-app-exp-row")];
    const i = rows.indexOf(tr);
    let next: HTMLElement | undefined;
    if (k.key === "ArrowDown") next = rows[i + 1];
    else if (k.key === "ArrowUp") next = i === 0 ? search : rows[i - 1];
    else if (k.key === "Home") next = rows[0];
    else if (k.key === "End") next = rows[rows.length - 1];
    else if (k.key === " ") {
      const box = tr.querySelector<HTMLInputElement>(".nbt-app-exp-check");
      if (box) {
        box.checked = !box.checked;
        box.dispatchEvent(new Event("change"));
      }
    } else if (k.key === "Enter") ctx.navigate(`/experiments/${encodeURIComponent(tr.dataset.experimentId ?? "")}`);
    else return;
    k.preventDefault();
    if (next) {
      tr.tabIndex = -1;
      if (next !== search) next.tabIndex = 0;
      next.focus();
    }
  });

  const keepQuery = (): void => {
    const defaultSort = sortKey === "creation_time" && descending;
    const sort = defaultSort ? null : `${sortKey}-${descending ? "desc" : "asc"}`;
    ctx.setQuery({ q: search.value.trim() || null, view: lifecycle.value === "active" ? null : lifecycle.value, sort });
  };
  let typing: ReturnType<typeof setTimeout> | null = null;
  search.addEventListener("input", () => {
    if (typing) clearTimeout(typing);
    typing = setTimeout(() => (keepQuery(), void load()), 250);
  });
  search.addEventListener("keydown", (k) => {
    if (k.key === "Enter") {
      if (typing) clearTimeout(typing);
      keepQuery();
      void load();
    } else if (k.key === "ArrowDown") {
      const first = list.querySelector<HTMLElement>("tr.nbt-app-exp-row");
      if (first) {
        k.preventDefault();
        first.tabIndex = 0;
        first.focus();
      }
    }
  });
  lifecycle.addEventListener("change", () => (keepQuery(), void load()));

  newButton.addEventListener("click", () => showCreate(ctx));
  function showCreate(ctx: PageContext): void {
    createBox.hidden = false;
    const name = h("input", { type: "text", class: "nbt-app-exp-create-name", placeholder: "name of the new experiment", "aria-label": "Name of the new experiment" }) as HTMLInputElement;
    const err = h("div", { class: "nbt-app-exp-create-error" });
    const create = async (): Promise<void> => {
      try {
        const res = await ctx.api.mlflow("POST", "experiments/create", { name: name.value.trim() });
        createBox.hidden = true;
        createBox.replaceChildren();
        ctx.navigate(`/experiments/${encodeURIComponent(res.experiment_id)}`);
      } catch (x) {
        err.replaceChildren(errorBox(x));
      }
    };
    name.addEventListener("keydown", (k) => {
      if (k.key === "Enter") void create();
      if (k.key === "Escape") createBox.hidden = true;
    });
    createBox.replaceChildren(
      h("div", { class: "nbt-app-toolbar" }, name, h("button", { type: "button", class: "nbt-app-primary nbt-app-exp-create-ok", onclick: () => void create() }, "Create"), h("button", { type: "button", onclick: () => (createBox.hidden = true) }, "Cancel")),
      err,
    );
    name.focus();
  }

  const unslash = slashFocuses(() => search);
  await load();
  return {
    dispose() {
      unslash();
      request++;
      if (typing) clearTimeout(typing);
    },
  };
});
