// The run page (#/runs/:runId?tab=overview|charts|artifacts): the run's name (renamed in place),
// status (polled while RUNNING), and three tabs kept in the URL, so a tab or a selected artifact
// (&path=) is a link that survives a reload. The tabs are run-overview.ts, run-charts.ts and
// run-artifacts.ts.

import "../../../style/app-run.css";

import { h } from "../../views/common";
import { errorBox, link, loading, Page } from "../page";
import { registerPage } from "../shell";
import { renderArtifacts } from "./run-artifacts";
import { renderCharts } from "./run-charts";
import { renderOverview } from "./run-overview";
import { RunState, statusBadge, tagsOf } from "./run-common";

const TABS = [
  { id: "overview", label: "Overview" },
  { id: "charts", label: "Charts" },
  { id: "artifacts", label: "Artifacts" },
] as const;
type TabId = (typeof TABS)[number]["id"];

export const POLL_MS = 2000;

registerPage("run", async (el, route, ctx) => {
  const runId = route.params.runId;
  el.append(loading("Loading the run…"));
  let run: any;
  try {
    run = (await ctx.api.mlflow("GET", "runs/get", { run_id: runId })).run;
  } catch (e) {
    el.replaceChildren(h("h1", {}, "Run ", h("code", {}, runId)), errorBox(e), h("a", { href: link("/experiments") }, "Go to the experiments"));
    return { dispose() {} };
  }
  let experiment: any = null;
  try {
    experiment = (await ctx.api.mlflow("GET", "experiments/get", { experiment_id: run.info.experiment_id })).experiment;
  } catch {
    experiment = null; // the header then shows the id only
  }
  const state: RunState = {
    api: ctx.api,
    run,
    experiment,
    listeners: new Set(),
    async refresh() {
      state.run = (await ctx.api.mlflow("GET", "runs/get", { run_id: runId })).run;
      for (const f of state.listeners) f();
    },
  };

  // -- the header: crumbs, name (rename), status ------------------------------------------------
  const crumbs = h("div", { class: "nbt-app-crumbs" });
  const title = h("h1", { class: "nbt-rp-name" });
  const badge = h("span", { class: "nbt-rp-status-slot" });
  const renameButton = h("button", { type: "button", class: "nbt-rp-rename", title: "Rename the run" }, "Rename");
  const head = h("div", { class: "nbt-rp-head" }, title, badge, renameButton);
  const headError = h("div", { class: "nbt-rp-head-error" });
  const deleted = h("div", { class: "nbt-rp-deleted", role: "status", hidden: true });
  const drawDeleted = (): void => {
    const gone = state.run.info.lifecycle_stage === "deleted";
    deleted.hidden = !gone;
    if (!gone) return deleted.replaceChildren();
    const restore = h("button", { type: "button", class: "nbt-rp-restore" }, "Restore");
    restore.addEventListener("click", async () => {
      restore.disabled = true;
      try {
        await ctx.api.mlflow("POST", "runs/restore", { run_id: runId });
        await state.refresh();
      } catch (e) {
        deleted.append(errorBox(e));
        restore.disabled = false;
      }
    });
    deleted.replaceChildren(h("span", {}, "This run is deleted: searches and the run table leave it out until it is restored."), restore);
  };
  const drawHead = (): void => {
    const r = state.run;
    const name = r.info.run_name || r.info.run_id;
    ctx.setTitle(`Run ${name}`);
    title.textContent = name;
    badge.replaceChildren(statusBadge(r.info.status));
    const parent = tagsOf(r)["mlflow.parentRunId"];
    crumbs.replaceChildren(
      h("a", { href: link("/experiments") }, "Experiments"),
      " / ",
      h("a", { href: link(`/experiments/${encodeURIComponent(r.info.experiment_id)}`), class: "nbt-rp-exp-link" }, state.experiment?.name ?? `experiment ${r.info.experiment_id}`),
      ...(parent ? [" / ", h("a", { href: link(`/runs/${encodeURIComponent(parent)}`), title: "the parent run" }, "parent run")] : []),
    );
  };
  renameButton.addEventListener("click", () => {
    const input = h("input", { type: "text", class: "nbt-rp-rename-input", value: state.run.info.run_name ?? "", "aria-label": "Run name" });
    const save = h("button", { type: "submit", class: "nbt-app-primary" }, "Save");
    const cancel = h("button", { type: "button" }, "Cancel");
    const form = h("form", { class: "nbt-rp-rename-form" }, input, save, cancel);
    const close = (): void => {
      form.replaceWith(head);
      headError.textContent = "";
    };
    cancel.addEventListener("click", close);
    input.addEventListener("keydown", (e) => e.key === "Escape" && close());
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const name = input.value.trim();
      if (!name) {
        headError.replaceChildren(errorBox("A run name cannot be empty."));
        return;
      }
      save.disabled = true;
      try {
        await ctx.api.mlflow("POST", "runs/update", { run_id: runId, run_name: name });
        await state.refresh();
        close();
      } catch (err) {
        headError.replaceChildren(errorBox(err));
        save.disabled = false;
      }
    });
    head.replaceWith(form);
    input.focus();
    input.select();
  });
  state.listeners.add(drawHead);
  state.listeners.add(drawDeleted);
  drawHead();
  drawDeleted();

  // -- tabs -------------------------------------------------------------------------------------
  const tabBar = h("div", { class: "nbt-rp-tabs", role: "tablist", "aria-label": "Run sections" });
  const body = h("div", { class: "nbt-rp-body", role: "tabpanel" });
  let current: Page | null = null;
  let shown: TabId | null = null;
  const tabOf = (q: URLSearchParams): TabId => {
    const t = q.get("tab");
    return TABS.some((x) => x.id === t) ? (t as TabId) : "overview";
  };
  const buttons = TABS.map((t) =>
    h("button", { type: "button", role: "tab", class: "nbt-rp-tab", "data-tab": t.id, id: `nbt-rp-tab-${t.id}`, onclick: () => show(t.id, true) }, t.label),
  );
  tabBar.append(...buttons);
  tabBar.addEventListener("keydown", (e) => {
    const i = TABS.findIndex((t) => t.id === shown);
    const next = e.key === "ArrowRight" ? i + 1 : e.key === "ArrowLeft" ? i - 1 : null;
    if (next === null) return;
    const t = TABS[(next + TABS.length) % TABS.length];
    show(t.id, true);
    buttons[TABS.indexOf(t)].focus();
  });
  const show = (tab: TabId, fromClick: boolean): void => {
    if (tab === shown) return;
    // another tab's state leaves the URL with it
    if (fromClick) ctx.setQuery({ tab: tab === "overview" ? null : tab, path: null, filter: null, x: null, logy: null, smoothing: null });
    current?.dispose();
    shown = tab;
    for (const b of buttons) {
      const on = b.dataset.tab === tab;
      b.classList.toggle("nbt-active", on);
      b.setAttribute("aria-selected", String(on));
      b.tabIndex = on ? 0 : -1;
    }
    body.setAttribute("aria-labelledby", `nbt-rp-tab-${tab}`);
    body.replaceChildren();
    const tabEl = h("div", { class: `nbt-rp-tab-${tab}` });
    body.append(tabEl);
    const r = tab === "charts" ? renderCharts : tab === "artifacts" ? renderArtifacts : renderOverview;
    current = r(tabEl, state, route.query, ctx);
  };

  el.replaceChildren(crumbs, head, headError, deleted, tabBar, body);
  show(tabOf(route.query), false);

  // -- live status: poll while the run is RUNNING -----------------------------------------------
  let timer: ReturnType<typeof setTimeout> | null = null;
  let disposed = false;
  const poll = async (): Promise<void> => {
    timer = null;
    try {
      if (!document.hidden) await state.refresh(); // a tab in the background asks nothing
    } catch (e) {
      console.warn("nbtrack: the run's status could not be refreshed", e);
    }
    schedule();
  };
  const schedule = (): void => {
    if (!disposed && state.run.info.status === "RUNNING" && timer === null) timer = setTimeout(() => void poll(), POLL_MS);
  };
  state.listeners.add(schedule);
  schedule();

  return {
    dispose() {
      disposed = true;
      if (timer) clearTimeout(timer);
      current?.dispose();
      state.listeners.clear();
    },
  };
});
