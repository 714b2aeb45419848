// A registered model's page (#/models/:name?at=...): description (editable), tags, aliases (set,
// move to another version, delete), the versions table, the history with "what was where on
// <date>", and rename / delete with a confirmation.

import { h, MISSING } from "../../views/common";
import { chips, formatTime, registryFromApi, RegistryData, searchAllVersions, stageBadge, VersionRow } from "../../views/registry";
import { errorBox, link, loading, PageContext } from "../page";
import { pathOf } from "../router";
import { registerPage } from "../shell";
import {
  act, confirmDialog, editableText, errorSlot, historySection, keyNav, modelPath, runPath, section, tagsEditor, versionPath,
} from "./models-common";

export async function loadModel(ctx: PageContext, name: string): Promise<RegistryData> {
  const [model, versions] = await Promise.all([
    ctx.api.mlflow("GET", "registered-models/get", { name }),
    searchAllVersions(ctx.api, name),
  ]);
  return registryFromApi({ name, model: null, versions: [], history: [] }, model.registered_model, versions);
}

/** The versions, newest first, with a tick per version to compare their source runs (#/compare). */
function versionsTable(ctx: PageContext, name: string, versions: VersionRow[]): HTMLElement {
  if (!versions.length) {
    return h("div", { class: "nbt-models-muted" }, "No versions yet: register one with ",
      h("code", {}, `nbtrack.register_model("runs:/<run_id>/model", ${JSON.stringify(name)})`), ".");
  }
  const compare = h("button", { type: "button", class: "nbt-models-compare", disabled: true, title: "Tick two or more versions with a source run" }, "Compare source runs");
  const ticked = (): string[] => [...new Set([...tbody.querySelectorAll<HTMLInputElement>("input.nbt-models-tick:checked")].map((c) => c.value))];
  const update = (): void => {
    const n = ticked().length;
    compare.disabled = n < 2;
    compare.textContent = n >= 2 ? `Compare ${n} source runs` : "Compare source runs";
  };
  compare.addEventListener("click", () => ctx.navigate(pathOf("/compare", {}, { runs: ticked().join(",") })));
  const tbody = h("tbody", {}, versions.map((v) => h("tr", { "data-version": String(v.version) },
    h("td", {}, v.run_id ? h("input", { type: "checkbox", class: "nbt-models-tick", value: v.run_id, "aria-label": `Compare version ${v.version}'s run`, onchange: update }) : ""),
    h("td", {}, h("a", { href: link(versionPath(name, v.version)), class: "nbt-models-version-link" }, `Version ${v.version}`)),
    h("td", {}, stageBadge(v.stage)),
    h("td", {}, v.aliases.length ? v.aliases.map((a) => h("code", { class: "nbt-reg-alias" }, `@${a}`)) : MISSING),
    h("td", {}, v.run_id ? h("a", { href: link(runPath(v.run_id)), class: "nbt-models-run-link", title: `run ${v.run_id}` }, h("code", {}, v.run_id.slice(0, 12))) : MISSING),
    h("td", { class: "nbt-reg-nowrap" }, formatTime(v.creation_timestamp)),
    h("td", {}, v.status ?? MISSING),
    h("td", {}, chips(v.tags, 4)),
    h("td", { class: "nbt-models-description-cell" }, v.description.split("\n")[0] || MISSING))));
  keyNav(tbody);
  tbody.addEventListener("keydown", (e) => {
    const row = document.activeElement as HTMLElement;
    if (e.key === " " && row?.parentElement === tbody) {
      row.querySelector<HTMLInputElement>("input.nbt-models-tick")?.click();
      e.preventDefault();
    }
  });
  return h("div", {},
    h("table", { class: "nbt-app-list nbt-models-versions" },
      h("thead", {}, h("tr", {}, ["", "Version", "Stage", "Aliases", "Source run", "Created", "Status", "Tags", "Description"].map((c) => h("th", {}, c)))),
      tbody),
    h("div", { class: "nbt-app-toolbar" }, compare, h("span", { class: "nbt-models-muted" }, "Space ticks the focused row.")));
}

function versionSelect(versions: VersionRow[], selected: number | null, label: string): HTMLSelectElement {
  return h("select", { "aria-label": label, class: "nbt-models-version-select" },
    versions.map((v) => h("option", { value: String(v.version), selected: v.version === selected }, `v${v.version} (${v.stage})`)));
}

/** The aliases: each with a version picker (moving it) and a delete button; a form to add one. */
function aliasesEditor(ctx: PageContext, data: RegistryData, done: () => void): HTMLElement {
  const name = data.name;
  const slot = errorSlot();
  const aliases = Object.entries(data.model?.aliases ?? {}).sort(([a], [b]) => a.localeCompare(b));
  const rows = aliases.map(([alias, version]) => {
    const move = versionSelect(data.versions, version, `Move @${alias} to version`);
    move.addEventListener("change", async () => {
      if (await act(null, slot, () => ctx.api.mlflow("POST", "registered-models/alias", { name, alias, version: move.value }))) done();
      else move.value = String(version);
    });
    const del = h("button", { type: "button", class: "nbt-models-alias-delete", title: `Delete @${alias}`, "aria-label": `Delete alias ${alias}` }, "\u00d7");
    del.addEventListener("click", async () => {
      if (await act(del, slot, () => ctx.api.mlflow("DELETE", "registered-models/alias", { name, alias }))) done();
    });
    return h("tr", { "data-alias": alias }, h("td", {}, h("code", { class: "nbt-reg-alias" }, `@${alias}`)),
      h("td", {}, h("a", { href: link(versionPath(name, version)) }, `v${version}`)), h("td", {}, move), h("td", {}, del));
  });
  const parts: Node[] = [aliases.length
    ? h("table", { class: "nbt-app-list nbt-models-aliases" }, h("thead", {}, h("tr", {}, h("th", {}, "Alias"), h("th", {}, "Version"), h("th", {}, "Move to"), h("th", {}, ""))), h("tbody", {}, rows))
    : h("div", { class: "nbt-models-muted" }, "No aliases. An alias names a version for its users: ", h("code", {}, `models:/${name}@champion`), ".")];
  if (data.versions.length) {
    const alias = h("input", { class: "nbt-models-alias-name", placeholder: "alias, e.g. champion", "aria-label": "Alias" });
    const target = versionSelect(data.versions, data.versions[0].version, "Version for the alias");
    const add = h("button", { type: "submit", class: "nbt-models-alias-set" }, "Set alias");
    const form = h("form", { class: "nbt-app-toolbar" }, alias, " \u2192 ", target, add);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const a = alias.value.trim().replace(/^@/, "");
      if (!a) return;
      if (await act(add, slot, () => ctx.api.mlflow("POST", "registered-models/alias", { name, alias: a, version: target.value }))) done();
    });
    parts.push(form);
  }
  parts.push(slot);
  return h("div", {}, ...parts);
}

function renameForm(ctx: PageContext, name: string): HTMLElement {
  const input = h("input", { class: "nbt-models-rename-input", "aria-label": "New name", value: name });
  const ok = h("button", { type: "submit", class: "nbt-app-primary nbt-models-rename-ok" }, "Rename");
  const cancel = h("button", { type: "button" }, "Cancel");
  const slot = errorSlot();
  const form = h("form", { class: "nbt-models-rename", hidden: true }, h("div", { class: "nbt-app-toolbar" }, h("span", {}, "New name:"), input, ok, cancel), slot);
  cancel.addEventListener("click", () => {
    form.hidden = true;
  });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const to = input.value.trim();
    if (!to || to === name) return;
    if (await act(ok, slot, () => ctx.api.mlflow("POST", "registered-models/rename", { name, new_name: to }))) ctx.navigate(modelPath(to));
  });
  return form;
}

registerPage("model", async (el, route, ctx) => {
  const name = route.params.name;
  ctx.setTitle(name);
  let disposed = false;
  const crumbs = h("div", { class: "nbt-app-crumbs" }, h("a", { href: link("/models") }, "Models"), " / ", name);
  const body = h("div", {}, loading());
  el.append(crumbs, body);

  const draw = async (): Promise<void> => {
    let data: RegistryData;
    try {
      data = await loadModel(ctx, name);
    } catch (e) {
      if (!disposed) body.replaceChildren(errorBox(e), h("a", { href: link("/models") }, "Back to the models"));
      return;
    }
    if (disposed) return;
    const model = data.model!;
    const refresh = (): void => void draw();
    const rename = renameForm(ctx, name);
    const renameButton = h("button", { type: "button", class: "nbt-models-rename-button" }, "Rename");
    renameButton.addEventListener("click", () => {
      rename.hidden = false;
      rename.querySelector("input")?.select();
    });
    const deleteSlot = errorSlot();
    const deleteButton = h("button", { type: "button", class: "nbt-app-danger nbt-models-delete-button" }, "Delete");
    deleteButton.addEventListener("click", async () => {
      const n = data.versions.length;
      const sure = await confirmDialog(`Delete ${name}?`,
        [`This deletes the model, its ${n} version${n === 1 ? "" : "s"}, their files in the registry and the history. The runs and their logged models stay.`],
        "Delete the model", name);
      if (sure && await act(deleteButton, deleteSlot, () => ctx.api.mlflow("DELETE", "registered-models/delete", { name }))) ctx.navigate("/models");
    });
    const at = route.query.get("at");
    body.replaceChildren(
      h("div", { class: "nbt-models-title" }, h("h1", {}, name), h("span", { class: "nbt-app-spacer" }), renameButton, deleteButton),
      rename, deleteSlot,
      h("div", { class: "nbt-models-muted nbt-models-meta" },
        `${data.versions.length} version${data.versions.length === 1 ? "" : "s"} \u00b7 created ${formatTime(model.creation_timestamp)} \u00b7 updated ${formatTime(model.last_updated_timestamp)} \u00b7 `,
        h("code", {}, `models:/${name}`)),
      section("Description", editableText(model.description, "No description.", (description) =>
        ctx.api.mlflow("PATCH", "registered-models/update", { name, description }))),
      section("Versions", versionsTable(ctx, name, data.versions)),
      h("div", { class: "nbt-models-columns" },
        h("div", { class: "nbt-models-column" },
          section("Aliases", aliasesEditor(ctx, data, refresh)),
          section("Tags", tagsEditor(model.tags,
            (key, value) => ctx.api.mlflow("POST", "registered-models/set-tag", { name, key, value }),
            (key) => ctx.api.mlflow("DELETE", "registered-models/delete-tag", { name, key }), refresh))),
        h("div", { class: "nbt-models-column nbt-models-side" },
          historySection(ctx.api, name, null, at, (value) => ctx.setQuery({ at: value })))));
  };
  await draw();
  return { dispose() { disposed = true; } };
});

