// A model version's page (#/models/:name/versions/:version?at=...): source run, stage transitions
// with the registry's rules (archive the versions already in Staging/Production), aliases set and
// deleted here, description, tags, the signature from its MLmodel, and its history with "what was
// where on <date>".

import { h, MISSING } from "../../views/common";
import { fetchSignature, formatTime, RegistryData, schemaTable, SignatureInfo, stageBadge, STAGES, VersionRow } from "../../views/registry";
import { errorBox, link, loading, PageContext } from "../page";
import { pathOf } from "../router";
import { registerPage } from "../shell";
import { act, confirmDialog, editableText, errorSlot, historySection, modelPath, runPath, section, tagsEditor, versionPath } from "./models-common";
import { loadModel } from "./models-model";

/** Stages `archive_existing_versions` applies to (MLflow refuses it for the others). */
const ARCHIVING = ["Staging", "Production"];

function stageForm(ctx: PageContext, data: RegistryData, v: VersionRow, done: () => void): HTMLElement {
  const name = data.name;
  const targets = STAGES.filter((s) => s !== v.stage);
  const select = h("select", { class: "nbt-models-stage-select", "aria-label": "New stage" }, targets.map((s) => h("option", { value: s }, s)));
  const archive = h("input", { type: "checkbox", class: "nbt-models-archive", checked: true });
  const archiveLabel = h("label", { class: "nbt-models-archive-label" }, archive, " ", h("span", {}));
  const go = h("button", { type: "submit", class: "nbt-app-primary nbt-models-transition" }, "Transition");
  const slot = errorSlot();
  const note = h("div", { class: "nbt-models-muted nbt-models-stage-note" });
  const update = (): void => {
    const target = select.value;
    const others = data.versions.filter((o) => o.version !== v.version && o.stage === target).map((o) => o.version);
    const listed = others.map((o) => `v${o}`).join(", ");
    const applies = ARCHIVING.includes(target);
    archiveLabel.hidden = !applies;
    archive.disabled = !applies;
    (archiveLabel.lastChild as HTMLElement).textContent = others.length
      ? `Archive the versions now in ${target} (${listed})`
      : `Archive the versions now in ${target} (none is)`;
    // what models:/<name>/<stage> will mean afterwards: the highest version in the stage
    if (applies && others.length && !archive.checked) {
      const highest = Math.max(v.version, ...others);
      note.textContent = `${listed} stay${others.length === 1 ? "s" : ""} in ${target} too; models:/${data.name}/${target} will mean v${highest}.`;
    } else note.textContent = "";
  };
  select.addEventListener("change", update);
  archive.addEventListener("change", update);
  update();
  const form = h("form", { class: "nbt-models-stage-form" },
    h("div", { class: "nbt-app-toolbar" }, "Now ", stageBadge(v.stage), " \u2192 ", select, archiveLabel, go), note, slot);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const body = { name, version: String(v.version), stage: select.value, archive_existing_versions: !archive.disabled && archive.checked };
    if (await act(go, slot, () => ctx.api.mlflow("POST", "model-versions/transition-stage", body))) done();
  });
  return form;
}

function aliasForm(ctx: PageContext, data: RegistryData, v: VersionRow, done: () => void): HTMLElement {
  const name = data.name;
  const slot = errorSlot();
  const mine = [...v.aliases].sort();
  const held = Object.entries(data.model?.aliases ?? {}).filter(([, n]) => n !== v.version);
  const chips = mine.map((alias) => {
    const del = h("button", { type: "button", class: "nbt-models-alias-delete", "aria-label": `Delete alias ${alias}`, title: `Delete @${alias}` }, "\u00d7");
    del.addEventListener("click", async () => {
      if (await act(del, slot, () => ctx.api.mlflow("DELETE", "registered-models/alias", { name, alias }))) done();
    });
    return h("span", { class: "nbt-models-alias-chip", "data-alias": alias }, h("code", { class: "nbt-reg-alias" }, `@${alias}`), del);
  });
  const input = h("input", { class: "nbt-models-alias-name", placeholder: "alias, e.g. champion", "aria-label": "Alias", list: "nbt-models-held-aliases" });
  const note = h("span", { class: "nbt-models-muted nbt-models-alias-note" });
  input.addEventListener("input", () => {
    const a = input.value.trim().replace(/^@/, "");
    const on = data.model?.aliases[a];
    note.textContent = on !== undefined && on !== v.version ? `@${a} is on v${on}: setting it here moves it to v${v.version}` : "";
  });
  const set = h("button", { type: "submit", class: "nbt-models-alias-set" }, "Set alias on this version");
  const form = h("form", { class: "nbt-app-toolbar" }, input, set, note,
    h("datalist", { id: "nbt-models-held-aliases" }, held.map(([a]) => h("option", { value: a }))));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const alias = input.value.trim().replace(/^@/, "");
    if (!alias) return;
    if (await act(set, slot, () => ctx.api.mlflow("POST", "registered-models/alias", { name, alias, version: String(v.version) }))) done();
  });
  return h("div", {},
    h("div", { class: "nbt-models-alias-chips" }, chips.length ? chips : h("span", { class: "nbt-models-muted" }, "No alias points at this version.")),
    held.length ? h("div", { class: "nbt-models-muted" }, "Other aliases: ", held.map(([a, n]) => [h("code", {}, `@${a}`), " \u2192 ", h("a", { href: link(versionPath(name, n)) }, `v${n}`), " "])) : null,
    form, slot);
}

function signatureBody(sig: SignatureInfo): Node[] {
  if (!sig.has_mlmodel) return [h("div", { class: "nbt-models-muted" }, "This version's files have no MLmodel.")];
  const out: Node[] = [];
  if (sig.flavors.length) out.push(h("div", { class: "nbt-models-muted nbt-models-flavors" }, "Flavors: ", sig.flavors.map((f, i) => [i ? ", " : "", h("code", {}, f)])));
  if (!sig.inputs && !sig.outputs) {
    out.push(h("div", { class: "nbt-models-muted nbt-models-no-signature" }, "No signature: log the model with ", h("code", {}, "input_example="), " or ", h("code", {}, "signature="), " to record its inputs and outputs."));
    return out;
  }
  const part = (title: string, items: any[] | null, kind: "inputs" | "outputs" | "params"): HTMLElement =>
    h("div", { class: `nbt-models-signature-part nbt-models-signature-${kind}` }, h("h3", {}, `${title} (${items ? items.length : 0})`),
      items ? schemaTable(items, kind) : h("div", { class: "nbt-models-muted" }, MISSING));
  out.push(h("div", { class: "nbt-models-signature" }, part("Inputs", sig.inputs, "inputs"), part("Outputs", sig.outputs, "outputs"),
    sig.params?.length ? part("Params", sig.params, "params") : null));
  return out;
}

/**
 * Where the version's files are among its source run's artifacts (the run page's artifacts tab
 * shows them): the logged model's name (MLflow 3) or the path of a runs:/ source, if the run has
 * an MLmodel there.
 */
async function runFilesPath(ctx: PageContext, v: VersionRow, modelId: string | null): Promise<string | null> {
  if (!v.run_id) return null;
  let path: string | null = null;
  const runs = /^runs:\/[^/]+\/(.+)$/.exec(v.source ?? "");
  if (runs) path = runs[1].replace(/\/+$/, "");
  else if (modelId) path = (await ctx.api.mlflow("GET", `logged-models/${encodeURIComponent(modelId)}`)).model?.info?.name ?? null;
  if (!path) return null;
  const listed = await ctx.api.mlflow("GET", "artifacts/list", { run_id: v.run_id, path });
  return (listed.files ?? []).some((f: any) => f.path === `${path}/MLmodel`) ? path : null;
}

function overview(data: RegistryData, v: VersionRow, model_id: string | null, runName: HTMLElement, files: HTMLElement): HTMLElement {
  const row = (k: string, value: Node | string): Node[] => [h("dt", {}, k), h("dd", {}, value)];
  return h("dl", { class: "nbt-models-overview" },
    row("Stage", stageBadge(v.stage)),
    row("Aliases", v.aliases.length ? h("span", {}, v.aliases.map((a) => h("code", { class: "nbt-reg-alias" }, `@${a}`))) : MISSING),
    row("Source run", v.run_id ? h("span", {}, h("a", { href: link(runPath(v.run_id)), class: "nbt-models-run-link" }, h("code", {}, v.run_id)), " ", runName) : MISSING),
    row("Source", v.source ? h("code", { class: "nbt-models-source" }, v.source) : MISSING),
    row("Logged model", model_id ? h("code", {}, model_id) : MISSING),
    row("Files", files),
    row("Status", v.status ?? MISSING),
    row("Created", `${formatTime(v.creation_timestamp)}${v.user_id ? ` by ${v.user_id}` : ""}`),
    row("Last updated", formatTime(v.last_updated_timestamp)),
    row("URI", h("code", {}, `models:/${data.name}/${v.version}`)));
}

registerPage("version", async (el, route, ctx) => {
  const name = route.params.name;
  const number = Number(route.params.version);
  ctx.setTitle(`${name} v${route.params.version}`);
  let disposed = false;
  const crumbs = h("div", { class: "nbt-app-crumbs" }, h("a", { href: link("/models") }, "Models"), " / ",
    h("a", { href: link(modelPath(name)) }, name), " / ", `Version ${route.params.version}`);
  const body = h("div", {}, loading());
  el.append(crumbs, body);
  // the signature does not change with stages and aliases: read once, kept across redraws
  const signature = h("div", { class: "nbt-models-signature-box" }, loading("Reading the MLmodel…"));
  fetchSignature(ctx.api, name, route.params.version)
    .then((sig) => { if (!disposed) signature.replaceChildren(...signatureBody(sig)); })
    .catch((e) => { if (!disposed) signature.replaceChildren(errorBox(e)); });

  const draw = async (): Promise<void> => {
    let data: RegistryData;
    let mv: any;
    try {
      [data, mv] = await Promise.all([loadModel(ctx, name), ctx.api.mlflow("GET", "model-versions/get", { name, version: route.params.version })]);
    } catch (e) {
      if (!disposed) body.replaceChildren(errorBox(e), h("a", { href: link(modelPath(name)) }, `Back to ${name}`));
      return;
    }
    if (disposed) return;
    const v = data.versions.find((x) => x.version === number);
    if (!v) {
      body.replaceChildren(errorBox(`${name} has no version ${route.params.version}.`));
      return;
    }
    const refresh = (): void => void draw();
    const runName = h("span", { class: "nbt-models-muted nbt-models-run-name" });
    if (v.run_id) {
      ctx.api.mlflow("GET", "runs/get", { run_id: v.run_id })
        .then((r) => { runName.textContent = r.run?.info?.run_name ? `(${r.run.info.run_name})` : ""; })
        .catch(() => { runName.textContent = "(the run is not in this store)"; });
    }
    const deleteSlot = errorSlot();
    const del = h("button", { type: "button", class: "nbt-app-danger nbt-models-delete-version" }, "Delete version");
    del.addEventListener("click", async () => {
      const sure = await confirmDialog(`Delete version ${v.version} of ${name}?`,
        [`Its files in the registry go${v.aliases.length ? ` and its aliases (${v.aliases.map((a) => "@" + a).join(", ")}) are removed` : ""}; its source run and logged model stay.`],
        "Delete the version", `${name}/${v.version}`);
      if (sure && await act(del, deleteSlot, () => ctx.api.mlflow("DELETE", "model-versions/delete", { name, version: String(v.version) }))) ctx.navigate(modelPath(name));
    });
    const modelId: string | null = mv.model_version?.model_id ?? null;
    const files = h("span", { class: "nbt-models-files" }, MISSING);
    runFilesPath(ctx, v, modelId)
      .then((path) => {
        if (path && v.run_id) files.replaceChildren(h("a", { href: link(pathOf("/runs/:runId", { runId: v.run_id }, { tab: "artifacts", path: `${path}/MLmodel` })) }, `${path}/ in the source run's artifacts`));
      })
      .catch((e) => console.warn("nbtrack: the version's files were not found in its source run", e)); // the row keeps its dash
    body.replaceChildren(
      h("div", { class: "nbt-models-title" }, h("h1", {}, `${name} \u00b7 version ${v.version}`), stageBadge(v.stage),
        v.aliases.map((a) => h("code", { class: "nbt-reg-alias" }, `@${a}`)), h("span", { class: "nbt-app-spacer" }), del),
      deleteSlot,
      h("div", { class: "nbt-models-columns" },
        h("div", { class: "nbt-models-column" },
          overview(data, v, modelId, runName, files),
          section("Stage", stageForm(ctx, data, v, refresh)),
          section("Aliases", aliasForm(ctx, data, v, refresh)),
          section("Description", editableText(v.description, "No description.", (description) =>
            ctx.api.mlflow("PATCH", "model-versions/update", { name, version: String(v.version), description }))),
          section("Signature", signature),
          section("Tags", tagsEditor(v.tags,
            (key, value) => ctx.api.mlflow("POST", "model-versions/set-tag", { name, version: String(v.version), key, value }),
            (key) => ctx.api.mlflow("DELETE", "model-versions/delete-tag", { name, version: String(v.version), key }), refresh))),
        h("div", { class: "nbt-models-column nbt-models-side" },
          historySection(ctx.api, name, v.version, route.query.get("at"), (at) => ctx.setQuery({ at })))));
  };
  await draw();
  return { dispose() { disposed = true; } };
});
