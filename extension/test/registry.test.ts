import { describe, expect, it } from "vitest";

import { Api } from "../src/api";
import { Selection } from "../src/selection";
import {
  describeSnapshot, endOfDay, HistoryEvent, historyIsCurrent, latestMetrics, loggedModelFromApi, mergeModels, registryFromApi, RegistryData,
  renderModels, renderRegistry, snapshotAt, versionsIn,
} from "../src/views/registry";
import { viewRenderer } from "../src/views/index";

const DAY = 86_400_000;
const T0 = new Date(2025, 5, 1, 12).getTime(); // 1 June 2025, noon local time

const HISTORY: HistoryEvent[] = [
  { timestamp: T0, kind: "created", version: 1, from: null, to: "None" },
  { timestamp: T0 + 1000, kind: "stage", version: 1, from: "None", to: "Production" },
  { timestamp: T0 + DAY, kind: "created", version: 2, from: null, to: "None" },
  { timestamp: T0 + DAY + 1, kind: "alias", version: null, from: null, to: "1", alias: "champion" },
  { timestamp: T0 + 2 * DAY, kind: "stage", version: 2, from: "None", to: "Production" },
  { timestamp: T0 + 2 * DAY + 1, kind: "stage", version: 1, from: "Production", to: "Archived" },
  { timestamp: T0 + 2 * DAY + 2, kind: "alias", version: null, from: "1", to: "2", alias: "champion" },
  { timestamp: T0 + 3 * DAY, kind: "deleted", version: 1, from: "Archived", to: null },
  { timestamp: T0 + 3 * DAY + 1, kind: "alias", version: null, from: "2", to: null, alias: "champion" },
];

const DATA: RegistryData = {
  name: "iris <v>",
  model: { name: "iris <v>", description: "the best", tags: { team: "a" }, aliases: { champion: 2 } },
  versions: [
    { version: 2, stage: "Production", aliases: ["champion"], run_id: "b".repeat(32), run_name: "second", signature: "(x: double) \u2192 (long)", tags: {}, description: "" },
    { version: 1, stage: "Archived", aliases: [], run_id: "a".repeat(32), run_name: "first", signature: null, tags: { owner: "ana" }, description: "v one" },
  ],
  history: HISTORY.slice(0, 7),
  history_total: 7,
};

const ctx = (api: Api | null = null, notes: string[] = []) => ({ api, selection: new Selection(), live: false, note: (t: string) => notes.push(t) });

describe("what the registry held at a date", () => {
  it("replays stages and aliases up to the moment asked", () => {
    expect([...snapshotAt(HISTORY, T0 - 1).stages]).toEqual([]);
    let s = snapshotAt(HISTORY, T0 + 1000);
    expect(versionsIn(s, "production")).toEqual([1]);
    s = snapshotAt(HISTORY, T0 + DAY + 1);
    expect(Object.fromEntries(s.aliases)).toEqual({ champion: 1 });
    s = snapshotAt(HISTORY, T0 + 2 * DAY + 2);
    expect(versionsIn(s, "Production")).toEqual([2]);
    expect(versionsIn(s, "Archived")).toEqual([1]);
    expect(s.aliases.get("champion")).toBe(2);
    s = snapshotAt(HISTORY, T0 + 4 * DAY);
    expect([...s.stages]).toEqual([[2, "Production"]]);
    expect(s.aliases.size).toBe(0);
  });

  it("reads a day as the state it closed with, whatever the order of the events", () => {
    const shuffled = [...HISTORY].reverse();
    const day = (ms: number) => { const d = new Date(ms); return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`; };
    expect(endOfDay(day(T0))).toBe(new Date(2025, 5, 2).getTime() - 1);
    expect(describeSnapshot(shuffled, endOfDay(day(T0)))).toBe("Production: v1 \u00b7 Staging: \u2014 \u00b7 Archived: \u2014 \u00b7 1 version");
    expect(describeSnapshot(shuffled, endOfDay(day(T0 + 2 * DAY)))).toBe(
      "Production: v2 \u00b7 Staging: \u2014 \u00b7 Archived: v1 \u00b7 @champion \u2192 v2 \u00b7 2 versions");
    expect(describeSnapshot(shuffled, T0 - 1)).toBe("no versions yet");
  });
});

describe("re-reading the registry through the REST API", () => {
  it("takes stages, aliases, tags from MLflow's JSON and keeps signatures, run names and history", () => {
    const model = { name: "iris <v>", creation_timestamp: 5, aliases: [{ alias: "prod", version: "3" }], tags: [{ key: "k", value: "v" }] };
    const versions = [
      { name: "iris <v>", version: "1", current_stage: "Archived", run_id: "a".repeat(32), creation_timestamp: 1 },
      { name: "iris <v>", version: "3", current_stage: "Staging", aliases: ["prod"], tags: [{ key: "t", value: "1" }], description: "new", creation_timestamp: 3 },
      { name: "iris <v>", version: "2", current_stage: "Production", run_id: "c".repeat(32), creation_timestamp: 2 },
    ];
    const got = registryFromApi(DATA, model, versions);
    expect(got.versions.map((v) => [v.version, v.stage, v.aliases])).toEqual([[3, "Staging", ["prod"]], [2, "Production", []], [1, "Archived", []]]);
    expect(got.versions[0].tags).toEqual({ t: "1" });
    expect(got.versions[1].signature).toBe("(x: double) \u2192 (long)");
    expect(got.versions[1].run_name).toBe(null); // another run now: its name is not known
    expect(got.versions[2].run_name).toBe("first");
    expect(got.model?.aliases).toEqual({ prod: 3 });
    expect(got.model?.tags).toEqual({ k: "v" });
    expect(got.history).toBe(DATA.history);
  });

  it("says when the history no longer ends in what a refresh found", () => {
    expect(historyIsCurrent(DATA)).toBe(true);
    const moved = { ...DATA, versions: DATA.versions.map((v) => (v.version === 2 ? { ...v, stage: "Archived" } : v)) };
    expect(historyIsCurrent(moved)).toBe(false);
    const realiased = { ...DATA, model: { ...DATA.model!, aliases: { champion: 1 } } };
    expect(historyIsCurrent(realiased)).toBe(false);
    const el = document.createElement("div");
    renderRegistry(el, { view: "registry_view", version: 1, options: {}, data: moved }, ctx());
    expect(el.querySelector(".nbt-reg-stale")?.textContent).toContain("changed since");
    const fresh = document.createElement("div");
    renderRegistry(fresh, { view: "registry_view", version: 1, options: {}, data: DATA }, ctx());
    expect(fresh.querySelector(".nbt-reg-stale")).toBeNull();
  });
});

describe("logged models", () => {
  const api = (id: string, status: string, ts: number, run = "r1") => ({
    info: { model_id: id, experiment_id: "1", name: `m-${id}`, status, creation_timestamp_ms: ts, source_run_id: run, tags: [{ key: "mlflow.user", value: "x" }, { key: "team", value: "a" }] },
    data: { params: [{ key: "alpha", value: "0.1" }], metrics: [{ key: "rmse", value: 0.5, step: 2, timestamp: 1 }, { key: "rmse", value: 0.9, step: 1, timestamp: 9 }] },
  });

  it("reads MLflow's status names and the latest value of each metric", () => {
    const row = loggedModelFromApi(api("a", "LOGGED_MODEL_UPLOAD_FAILED", 3), 4);
    expect([row.status, row.step, row.params.alpha, row.creation_timestamp]).toEqual(["FAILED", 4, "0.1", 3]);
    expect(loggedModelFromApi(api("a", "LOGGED_MODEL_PENDING", 3)).status).toBe("PENDING");
    const latest = latestMetrics([...row.metrics, { key: "rmse", value: "NaN", step: 0, timestamp: 99, dataset_name: "eval" }]);
    expect(latest.get("rmse")?.value).toBe(0.5);
    expect(latest.get("rmse (eval)")?.value).toBe("NaN");
  });

  it("merges a search into the kernel's models, keeping output steps and models the search cannot see", () => {
    const previous = [
      { ...loggedModelFromApi(api("a", "LOGGED_MODEL_PENDING", 1)), step: 5 },
      { ...loggedModelFromApi(api("x", "LOGGED_MODEL_READY", 2, "other")), step: 7 },
    ];
    const merged = mergeModels(previous, [api("a", "LOGGED_MODEL_READY", 1), api("b", "LOGGED_MODEL_READY", 3)], "r1");
    expect(merged.map((m) => [m.model_id, m.status, m.step])).toEqual([["b", "READY", null], ["x", "READY", 7], ["a", "READY", 5]]);
  });
});

describe("drawing", () => {
  it("registers both views", () => {
    expect(viewRenderer("registry_view")).toBe(renderRegistry);
    expect(viewRenderer("models_view")).toBe(renderModels);
  });

  it("draws versions, stages, aliases and the history from the spec alone", () => {
    const el = document.createElement("div");
    renderRegistry(el, { view: "registry_view", version: 1, options: { name: "iris <v>" }, data: DATA }, ctx());
    const rows = [...el.querySelectorAll(".nbt-reg-versions tbody tr")].map((tr) => [...tr.children].map((td) => td.textContent));
    expect(rows[0].slice(0, 5)).toEqual(["2", "Production", "@champion", "second", "(x: double) \u2192 (long)"]);
    expect(rows[1].slice(0, 4)).toEqual(["1", "Archived", "", "first"]);
    expect(el.querySelector(".nbt-reg-name")?.textContent).toBe("iris <v>"); // text, never markup
    expect(el.querySelector<HTMLAnchorElement>(".nbt-reg-run")?.getAttribute("href")).toBe(`#nbtrack-run-${"b".repeat(32)}`);
    expect(el.querySelectorAll(".nbt-reg-history tbody tr")).toHaveLength(7);
    expect(el.querySelector(".nbt-reg-history tbody tr td:nth-child(2)")?.textContent).toBe("@champion"); // newest first
    expect(el.querySelector(".nbt-reg-refresh")).toBeNull(); // no store to re-read
    const input = el.querySelector<HTMLInputElement>(".nbt-reg-asof-date")!;
    input.value = `${new Date(T0).getFullYear()}-06-01`;
    input.dispatchEvent(new Event("change"));
    expect(el.querySelector(".nbt-reg-asof-result")?.textContent).toContain("Production: v1");
  });

  it("re-reads through the API and keeps the kernel's data with a note when that fails", async () => {
    const calls: string[] = [];
    const fake = (answer: (url: string) => unknown, status = 200) => new Api({
      base: "/x", fetch: (async (url: string) => { calls.push(String(url)); return new Response(JSON.stringify(answer(String(url))), { status }); }) as any,
    });
    const ok = fake((url) => url.includes("registered-models/get")
      ? { registered_model: { name: "iris <v>", aliases: [] } }
      : { model_versions: [{ version: "2", current_stage: "Archived" }, { version: "3", current_stage: "Production" }] });
    const el = document.createElement("div");
    renderRegistry(el, { view: "registry_view", version: 1, options: {}, data: DATA }, ctx(ok));
    await new Promise((r) => setTimeout(r, 0));
    await new Promise((r) => setTimeout(r, 0));
    expect(calls.some((u) => u.includes("model-versions/search") && u.includes("filter=name+%3D+%27iris+%3Cv%3E%27"))).toBe(true);
    const stages = [...el.querySelectorAll(".nbt-reg-versions tbody tr td:nth-child(2)")].map((td) => td.textContent);
    expect(stages).toEqual(["Production", "Archived"]);

    const notes: string[] = [];
    const failing = fake(() => ({ error_code: "RESOURCE_DOES_NOT_EXIST", message: "gone" }), 404);
    const el2 = document.createElement("div");
    renderRegistry(el2, { view: "registry_view", version: 1, options: {}, data: DATA }, ctx(failing, notes));
    await new Promise((r) => setTimeout(r, 0));
    await new Promise((r) => setTimeout(r, 0));
    expect(notes[0]).toContain("gone");
    expect(el2.querySelectorAll(".nbt-reg-versions tbody tr")).toHaveLength(2);
  });

  it("draws logged models with their latest metrics and no mlflow.* tags", () => {
    const el = document.createElement("div");
    const model = { ...loggedModelFromApi({ info: { model_id: "m-1", name: "lin", status: "READY", tags: [{ key: "mlflow.x", value: "1" }, { key: "team", value: "a" }] },
      data: { metrics: [{ key: "rmse", value: 0.123456, step: 1, timestamp: 1 }] } }), step: 2 };
    renderModels(el, { view: "models_view", version: 1, options: { run_id: "r" }, data: { title: "logged models of run r", experiment_ids: ["1"], models: [model] } }, ctx());
    const cells = [...el.querySelectorAll(".nbt-reg-models tbody td")].map((td) => td.textContent);
    expect(cells.slice(0, 8)).toEqual(["linm-1", "READY", "", "", "2", "rmse=0.1235", "", "team=a"]);
    const empty = document.createElement("div");
    renderModels(empty, { view: "models_view", version: 1, options: {}, data: { title: "t", experiment_ids: [], models: [] } }, ctx());
    expect(empty.textContent).toContain("no logged models");
  });
});
