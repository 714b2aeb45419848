// The side panel's widget: the current notebook's store, its experiments and runs (live while
// the panel shows), a filter box, a card of the clicked run, and actions on ticked runs. Every
// read goes through the Jupyter server extension, so it works with no kernel running.

import { Widget } from "@lumino/widgets";

import { Api, ApiError } from "../api";
import { rows, WireFrame } from "../wire";
import { formatValue, h, MISSING, runColor } from "../views/common";
import { sparkline, statusClass } from "../views/card";
import { compareCode, dashboardCode, listNote, runTime, serverPath } from "./logic";

export const PANEL_POLL_MS = 1000;
const MAX_RUNS = 200;
const CARD_KEYS = 20;
const SPARK_POINTS = 60;
export const SOURCE_ARTIFACT = "cell/source.py";
export const TAG_NOTEBOOK = "mlflow.source.name";
export const TAG_CELL = "nbtrack.cell_id";

export interface StoreInfo {
  tracking_uri: string;
  kind: string;
  exists: boolean;
  server_root?: string;
}

/** What the panel needs from JupyterLab (index.ts provides it; tests may give their own). */
export interface PanelHost {
  /** the path of the current notebook, or null */
  notebookPath(): string | null;
  store(notebookPath: string): Promise<StoreInfo>;
  api(trackingUri: string): Api;
  /** an artifact's text (the recorded cell source) */
  artifactText(trackingUri: string, runId: string, path: string): Promise<string>;
  insertCell(code: string): Promise<void> | void;
  jumpToCell(notebookPath: string, cellId: string): Promise<string | null>;
}

interface RunRow {
  run_id: string;
  run_name: string;
  status: string;
  start_time: number | null;
  end_time: number | null;
  experiment_id: string;
  metrics: Record<string, number>;
  params: Record<string, string>;
  tags: Record<string, string>;
}

function toRun(r: any): RunRow {
  const kv = (items: any[] | undefined): Record<string, any> => Object.fromEntries((items ?? []).map((x: any) => [x.key, x.value]));
  return {
    run_id: r.info.run_id,
    run_name: r.info.run_name || r.info.run_id.slice(0, 8),
    status: r.info.status,
    start_time: r.info.start_time ?? null,
    end_time: r.info.end_time ?? null,
    experiment_id: r.info.experiment_id,
    metrics: kv(r.data?.metrics),
    params: kv(r.data?.params),
    tags: kv(r.data?.tags),
  };
}

const num = (v: unknown): number => (typeof v === "string" ? ({ NaN: NaN, Infinity: Infinity, "-Infinity": -Infinity } as Record<string, number>)[v] ?? Number(v) : Number(v));

export class RunsPanel extends Widget {
  private path: string | null = null;
  private info: StoreInfo | null = null;
  private api: Api | null = null;
  private experiments: { experiment_id: string; name: string }[] = [];
  private experimentId = "";
  private filter = "";
  /** the last filter the store accepted: the list stays live on it while a bad one shows its error */
  private goodFilter = "";
  private badFilter: string | null = null;
  private runs: RunRow[] = [];
  private ticked = new Set<string>();
  private openRun: string | null = null;
  private openSignature = "";
  private listSignature = "";
  private timer: ReturnType<typeof setTimeout> | null = null;
  private polls = 0;
  private busy = false;
  private storeStale = true;

  private readonly storeEl = h("div", { class: "nbt-panel-store" });
  private readonly expSelect = h("select", { class: "nbt-panel-exp", title: "Experiment" });
  private readonly filterInput = h("input", { class: "nbt-panel-filter", type: "search", placeholder: "filter: metrics.acc > 0.9 and params.lr = '0.01'", spellcheck: "false" });
  private readonly filterError = h("div", { class: "nbt-panel-filter-error" });
  private readonly actions = h("div", { class: "nbt-panel-actions" });
  private readonly listEl = h("div", { class: "nbt-panel-runs" });
  private readonly cardEl = h("div", { class: "nbt-panel-card" });
  private readonly messageEl = h("div", { class: "nbt-panel-message" });
  private more = false; // the store holds more runs than the list shows

  constructor(private readonly host: PanelHost) {
    super();
    this.id = "nbtrack-panel";
    this.addClass("nbt-panel");
    this.title.caption = "nbtrack runs";
    this.expSelect.addEventListener("change", () => {
      this.experimentId = this.expSelect.value;
      this.refreshSoon();
    });
    this.filterInput.addEventListener("keydown", (e) => {
      if (e.key === "Enter") this.applyFilter();
    });
    this.filterInput.addEventListener("search", () => this.applyFilter());
    this.node.append(
      h("div", { class: "nbt-panel-head" }, h("span", { class: "nbt-panel-title" }, "nbtrack"), this.storeEl),
      h("div", { class: "nbt-panel-controls" }, this.expSelect, this.filterInput, this.filterError),
      this.messageEl,
      this.actions,
      this.listEl,
      this.cardEl,
    );
    this.renderActions();
  }

  /** Follow the notebook JupyterLab shows now (called when the current notebook changes). */
  setNotebook(path: string | null): void {
    if (path === this.path) return;
    this.path = path;
    this.storeStale = true; // a notebook of the same store keeps the list, the ticks and the card
    this.refreshSoon();
  }

  private reset(): void {
    this.info = null;
    this.api = null;
    this.runs = [];
    this.experiments = [];
    this.experimentId = "";
    this.expSelect.replaceChildren();
    delete this.expSelect.dataset.signature;
    this.ticked.clear();
    this.openRun = null;
    this.listSignature = this.openSignature = "";
    this.cardEl.replaceChildren();
    this.listEl.replaceChildren();
    this.renderActions();
  }

  private applyFilter(): void {
    this.filter = this.filterInput.value.trim();
    this.refreshSoon();
  }

  private refreshSoon(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.isVisible) void this.refresh();
  }

  protected onAfterShow(): void {
    this.setNotebook(this.host.notebookPath());
    this.refreshSoon();
  }

  protected onBeforeHide(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    super.dispose();
  }

  /** One poll: the store (until it exists), experiments now and then, the runs, the open card. */
  async refresh(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      await this.read();
    } catch (e) {
      this.message(`nbtrack cannot read the store: ${(e as Error).message}`);
    } finally {
      this.busy = false;
      if (this.isVisible && !this.isDisposed) {
        if (this.timer) clearTimeout(this.timer);
        this.timer = setTimeout(() => void this.refresh(), PANEL_POLL_MS);
      }
      this.tick();
    }
  }

  private async read(): Promise<void> {
    const path = this.path;
    if (path === null) {
      this.reset();
      this.storeEl.textContent = "";
      this.message("Open a notebook to see the runs of its store.");
      this.listEl.replaceChildren();
      return;
    }
    if (!this.info || !this.info.exists || this.storeStale) {
      const info = await this.host.store(path);
      if (path !== this.path) return;
      this.storeStale = false;
      if (info.tracking_uri !== this.info?.tracking_uri) {
        this.reset();
        this.api = this.host.api(info.tracking_uri);
        // shown right-aligned (rtl, the end of a long path matters); the marks keep its slashes in place
        this.storeEl.replaceChildren(h("code", { title: info.tracking_uri }, `\u200e${info.tracking_uri}\u200e`));
      }
      this.info = info;
    }
    const info = this.info;
    const api = this.api!;
    if (!info.exists) {
      this.listEl.replaceChildren();
      this.message(
        h("div", { class: "nbt-panel-empty" },
          h("b", {}, "No store yet. "),
          `This notebook's runs will go to ${info.tracking_uri}. Start one: put `,
          h("code", {}, "%%track"),
          " on the first line of a cell (the ",
          h("code", {}, "%%track"),
          " button in the notebook's toolbar does it) after ",
          h("code", {}, "%load_ext nbtrack"),
          ", or call ",
          h("code", {}, "nbtrack.start_run()"),
          ". They show here as they log."),
      );
      return;
    }
    if (this.polls++ % 5 === 0 || !this.experiments.length) await this.readExperiments(api);
    if (path !== this.path) return;
    const ids = this.experimentId ? [this.experimentId] : this.experiments.map((e) => e.experiment_id);
    if (!ids.length) {
      this.message("The store has no experiments yet.");
      return;
    }
    const filter = this.filter === this.badFilter ? this.goodFilter : this.filter;
    try {
      const found = await api.mlflow("POST", "runs/search", { experiment_ids: ids, filter, max_results: MAX_RUNS, order_by: ["attributes.start_time DESC"] });
      this.runs = (found.runs ?? []).map(toRun);
      this.more = Boolean(found.next_page_token); // never a silent cap: say when there are more
      this.goodFilter = filter;
      if (filter === this.filter) {
        this.filterError.textContent = "";
        this.filterInput.classList.remove("nbt-invalid");
      }
    } catch (e) {
      if (e instanceof ApiError && e.status === 400 && filter && filter === this.filter) {
        this.badFilter = filter; // asked once: the next polls read the last good filter's runs
        this.filterError.textContent = e.message; // the list stays as it was
        this.filterInput.classList.add("nbt-invalid");
      } else throw e;
    }
    if (path !== this.path) return;
    this.message(listNote(this.runs.length, this.more, this.filter));
    this.renderList();
    await this.renderCard(api);
  }

  private async readExperiments(api: Api): Promise<void> {
    const found = await api.mlflow("GET", "experiments/search", { max_results: 1000 });
    this.experiments = (found.experiments ?? []).map((e: any) => ({ experiment_id: e.experiment_id, name: e.name }));
    const options = [h("option", { value: "" }, `All experiments (${this.experiments.length})`), ...this.experiments.map((e) => h("option", { value: e.experiment_id }, e.name))];
    const signature = this.experiments.map((e) => e.experiment_id + e.name).join("|");
    if (this.expSelect.dataset.signature !== signature) {
      this.expSelect.replaceChildren(...options);
      this.expSelect.dataset.signature = signature;
      this.expSelect.value = this.experimentId;
    }
  }

  private message(content: string | Node): void {
    this.messageEl.replaceChildren(content);
    this.messageEl.hidden = content === "";
  }

  private tick(): void {
    const now = Date.now();
    for (const el of this.node.querySelectorAll<HTMLElement>("[data-start]")) {
      el.textContent = runTime(Number(el.dataset.start), el.dataset.end ? Number(el.dataset.end) : null, el.dataset.status ?? "", now);
    }
  }

  private renderList(): void {
    const signature = this.runs.map((r) => `${r.run_id}:${r.status}:${r.end_time}:${r.run_name}`).join("|") + `#${[...this.ticked].join(",")}#${this.openRun}`;
    if (signature === this.listSignature) return;
    this.listSignature = signature;
    const names = new Map(this.experiments.map((e) => [e.experiment_id, e.name]));
    const many = !this.experimentId && this.experiments.length > 1;
    this.listEl.replaceChildren(
      ...this.runs.map((r) => {
        const box = h("input", { type: "checkbox", class: "nbt-run-tick", title: "Tick to compare", checked: this.ticked.has(r.run_id) });
        box.addEventListener("click", (e) => e.stopPropagation());
        box.addEventListener("change", () => {
          if (box.checked) this.ticked.add(r.run_id);
          else this.ticked.delete(r.run_id);
          this.renderActions();
        });
        return h(
          "div",
          {
            class: `nbt-run${this.openRun === r.run_id ? " nbt-run-open" : ""}`,
            "data-run-id": r.run_id,
            title: r.run_id,
            onclick: () => this.open(r.run_id),
          },
          box,
          h("span", { class: "nbt-run-dot", style: { background: runColor(r.run_id) } }),
          h("span", { class: "nbt-run-name" }, r.run_name),
          many ? h("span", { class: "nbt-run-exp" }, names.get(r.experiment_id) ?? "") : null,
          h("span", { class: statusClass(r.status) }, r.status),
          h("span", { class: "nbt-run-time", "data-start": r.start_time ?? "", "data-end": r.end_time ?? "", "data-status": r.status }, runTime(r.start_time, r.end_time, r.status)),
        );
      }),
    );
  }

  private renderActions(): void {
    const ids = [...this.ticked];
    if (!ids.length) {
      this.actions.replaceChildren(h("span", { class: "nbt-panel-hint" }, "Tick runs to compare them; click one for its card."));
      return;
    }
    const experiment = (): string | undefined => {
      const exps = new Set(this.runs.filter((r) => this.ticked.has(r.run_id)).map((r) => r.experiment_id));
      if (exps.size !== 1) return undefined;
      return this.experiments.find((e) => e.experiment_id === [...exps][0])?.name;
    };
    this.actions.replaceChildren(
      h("span", { class: "nbt-panel-count" }, `${ids.length} ticked`),
      h("button", { class: "jp-mod-styled nbt-insert-compare", title: "Insert a cell below the active one", onclick: () => void this.host.insertCell(compareCode(ids)) }, "Insert compare"),
      h("button", { class: "jp-mod-styled nbt-insert-dashboard", title: "Insert a cell below the active one", onclick: () => void this.host.insertCell(dashboardCode(ids, experiment())) }, "Insert dashboard"),
      h("button", { class: "jp-mod-styled nbt-untick", onclick: () => { this.ticked.clear(); this.listSignature = ""; this.renderList(); this.renderActions(); } }, "Clear"),
    );
  }

  private open(runId: string): void {
    this.openRun = this.openRun === runId ? null : runId;
    this.openSignature = "";
    this.renderList();
    if (!this.openRun) this.cardEl.replaceChildren();
    else if (this.api) void this.renderCard(this.api);
  }

  /** The open run's card: read again only while it changes (RUNNING) or when first opened. */
  private async renderCard(api: Api): Promise<void> {
    const runId = this.openRun;
    if (!runId) return;
    const listed = this.runs.find((r) => r.run_id === runId);
    const signature = listed ? `${listed.status}:${listed.end_time}` : "";
    if (signature && signature === this.openSignature && listed?.status !== "RUNNING") return;
    this.openSignature = signature;
    const got = await api.mlflow("GET", "runs/get", { run_id: runId });
    const run = toRun(got.run);
    const keys = Object.keys(run.metrics).sort().slice(0, CARD_KEYS);
    const history: Record<string, number[]> = {};
    const steps: Record<string, number> = {};
    if (keys.length) {
      const thin = await api.view<{ frame: WireFrame }>("thin-history", { run_id: runId, keys, points: SPARK_POINTS });
      for (const r of rows(thin.frame)) {
        (history[String(r.key)] ??= []).push(num(r.value));
        steps[String(r.key)] = Number(r.step);
      }
    }
    let artifacts: { path: string; is_dir: boolean; file_size?: number }[] = [];
    try {
      artifacts = (await api.mlflow("GET", "artifacts/list", { run_id: runId })).files ?? [];
    } catch {
      artifacts = [];
    }
    if (this.openRun !== runId) return;
    this.cardEl.replaceChildren(this.card(run, keys, history, steps, artifacts));
  }

  private card(run: RunRow, keys: string[], history: Record<string, number[]>, steps: Record<string, number>, artifacts: { path: string; is_dir: boolean; file_size?: number }[]): HTMLElement {
    const notebook = serverPath(run.tags[TAG_NOTEBOOK] ?? "", this.info?.server_root ?? "");
    const cellId = run.tags[TAG_CELL];
    const status = h("div", { class: "nbt-panel-card-status" });
    const jump = h("button", {
      class: "jp-mod-styled nbt-jump",
      disabled: !(notebook && cellId),
      title: notebook && cellId ? `Show the cell in ${notebook}` : "The run recorded no notebook cell",
      onclick: async () => {
        status.textContent = (await this.host.jumpToCell(notebook!, cellId!)) ?? "";
      },
    }, "Jump to cell");
    const restore = h("button", {
      class: "jp-mod-styled nbt-restore",
      title: "Insert the cell's source as the run recorded it, below the active cell",
      onclick: async () => {
        try {
          const text = await this.host.artifactText(this.info!.tracking_uri, run.run_id, SOURCE_ARTIFACT);
          await this.host.insertCell(text.replace(/\n$/, ""));
          status.textContent = "";
        } catch (e) {
          status.textContent = `No recorded source: ${(e as Error).message}`;
        }
      },
    }, "Restore source");
    const params = Object.entries(run.params).sort(([a], [b]) => (a < b ? -1 : 1));
    const userTags = Object.entries(run.tags).filter(([k]) => !k.startsWith("mlflow.") && !k.startsWith("nbtrack.")).sort(([a], [b]) => (a < b ? -1 : 1));
    const systemTags = Object.entries(run.tags).filter(([k]) => k.startsWith("mlflow.") || k.startsWith("nbtrack.")).sort(([a], [b]) => (a < b ? -1 : 1));
    const kvTable = (items: [string, string][], cls: string): HTMLElement => h("table", { class: cls }, items.map(([k, v]) => h("tr", {}, h("td", { class: "nbt-k" }, k), h("td", { class: "nbt-v", title: v }, v))));
    return h(
      "div",
      { class: "nbt-panel-run", "data-run-id": run.run_id },
      h("div", { class: "nbt-panel-card-head" },
        h("span", { class: "nbt-run-dot", style: { background: runColor(run.run_id) } }),
        h("b", {}, run.run_name),
        h("span", { class: statusClass(run.status) }, run.status),
        h("span", { class: "nbt-run-time", "data-start": run.start_time ?? "", "data-end": run.end_time ?? "", "data-status": run.status }, runTime(run.start_time, run.end_time, run.status)),
        h("button", { class: "nbt-panel-close", title: "Close", onclick: () => this.open(run.run_id) }, "\u00d7"),
      ),
      h("code", { class: "nbt-panel-card-id" }, run.run_id),
      h("div", { class: "nbt-panel-card-buttons" }, jump, restore),
      status,
      h("h4", {}, `Params (${params.length})`),
      params.length ? kvTable(params, "nbt-panel-params") : h("div", { class: "nbt-none" }, MISSING),
      h("h4", {}, `Metrics (${Object.keys(run.metrics).length})`),
      keys.length
        ? h("table", { class: "nbt-panel-metrics" }, keys.map((k) => {
            const values = history[k] ?? [];
            return h("tr", { "data-key": k },
              h("td", { class: "nbt-k" }, k),
              h("td", { class: "nbt-v" }, h("b", {}, formatValue(run.metrics[k]))),
              h("td", {}, values.length > 1 ? sparkline(values, 72, 22) : null),
              h("td", { class: "nbt-step" }, steps[k] !== undefined && values.length > 1 ? `step ${steps[k]}` : ""));
          }))
        : h("div", { class: "nbt-none" }, MISSING),
      h("h4", {}, `Tags (${userTags.length})`),
      userTags.length ? kvTable(userTags, "nbt-panel-tags") : null,
      systemTags.length ? h("details", { class: "nbt-panel-systags" }, h("summary", {}, `${systemTags.length} recorded by nbtrack`), kvTable(systemTags, "nbt-panel-tags")) : null,
      h("h4", {}, `Artifacts (${artifacts.length})`),
      artifacts.length
        ? h("ul", { class: "nbt-panel-artifacts" }, artifacts.map((a) => this.artifactItem(run.run_id, a)))
        : h("div", { class: "nbt-none" }, MISSING),
    );
  }

  private artifactItem(runId: string, a: { path: string; is_dir: boolean; file_size?: number }): HTMLElement {
    const name = a.path.split("/").pop() ?? a.path;
    if (!a.is_dir) return h("li", { class: "nbt-artifact", title: a.path }, name, a.file_size !== undefined ? h("span", { class: "nbt-size" }, ` ${formatSize(a.file_size)}`) : null);
    const children = h("ul", {});
    let loaded = false;
    const item = h("li", { class: "nbt-artifact nbt-artifact-dir", title: a.path },
      h("span", {
        class: "nbt-artifact-toggle",
        onclick: async () => {
          item.classList.toggle("nbt-open");
          if (loaded || !this.api) return;
          loaded = true;
          const files = (await this.api.mlflow("GET", "artifacts/list", { run_id: runId, path: a.path })).files ?? [];
          children.replaceChildren(...files.map((f: any) => this.artifactItem(runId, f)));
        },
      }, `${name}/`),
      children);
    return item;
  }
}

export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
