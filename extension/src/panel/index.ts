// The nbtrack side panel (left bar) and the %%track toggle (command + notebook and cell toolbar buttons).

import { JupyterFrontEnd } from "@jupyterlab/application";
import { CommandToolbarButton } from "@jupyterlab/apputils";
import { PageConfig, URLExt } from "@jupyterlab/coreutils";
import { INotebookTracker, NotebookActions, NotebookPanel } from "@jupyterlab/notebook";
import { ServerConnection } from "@jupyterlab/services";
import { LabIcon } from "@jupyterlab/ui-components";

import nbtrackSvg from "../../style/icons/nbtrack.svg";
import { Api } from "../api";
import { hasTrack, toggleTrack } from "./logic";
import { PanelHost, RunsPanel, StoreInfo } from "./panel";

export const TOGGLE_TRACK = "nbtrack:toggle-track";
export const nbtrackIcon = new LabIcon({ name: "nbtrack:logo", svgstr: nbtrackSvg });

function nbtrackUrl(...parts: string[]): string {
  return URLExt.join(PageConfig.getBaseUrl(), "nbtrack", ...parts);
}

async function getJson(url: string, init: RequestInit = {}): Promise<any> {
  const settings = ServerConnection.makeSettings();
  const response = await ServerConnection.makeRequest(url, init, settings);
  const text = await response.text();
  let body: any = {};
  try {
    body = text ? JSON.parse(text) : {};
  } catch {
    body = { message: text };
  }
  if (!response.ok) throw new Error(body.message ?? `HTTP ${response.status}`);
  return body;
}

function host(app: JupyterFrontEnd, tracker: INotebookTracker): PanelHost {
  const settings = ServerConnection.makeSettings();
  const fetchFn = (url: RequestInfo | URL, init?: RequestInit): Promise<Response> => ServerConnection.makeRequest(String(url), init ?? {}, settings);
  return {
    notebookPath: () => tracker.currentWidget?.context.path ?? null,
    store: (path) => getJson(`${nbtrackUrl("store")}?notebook=${encodeURIComponent(path)}`) as Promise<StoreInfo>,
    api: (uri) => new Api({ base: nbtrackUrl("api"), store: uri, fetch: fetchFn }),
    artifactText: async (uri, runId, path) => {
      const q = new URLSearchParams({ run_id: runId, path });
      const body = await getJson(`${nbtrackUrl("artifact-text")}?${q}`, { headers: { "X-Nbtrack-Store": uri } });
      return String(body.text ?? "");
    },
    insertCell: (code) => {
      const current = tracker.currentWidget;
      if (!current) throw new Error("Open a notebook first: the cell goes below its active cell.");
      const nb = current.content;
      NotebookActions.insertBelow(nb);
      const cell = nb.activeCell;
      if (cell) {
        if (cell.model.type !== "code") NotebookActions.changeCellType(nb, "code");
        nb.activeCell?.model.sharedModel.setSource(code);
      }
      app.shell.activateById(current.id);
    },
    jumpToCell: async (path, cellId) => {
      let panel: NotebookPanel | undefined = tracker.find((w) => w.context.path === path);
      if (!panel) {
        const opened = await app.commands.execute("docmanager:open", { path });
        panel = opened instanceof NotebookPanel ? opened : tracker.find((w) => w.context.path === path);
      }
      if (!panel) return `Cannot open ${path}.`;
      await panel.context.ready;
      await panel.revealed;
      app.shell.activateById(panel.id);
      const nb = panel.content;
      const index = nb.widgets.findIndex((c) => c.model.id === cellId);
      if (index < 0) return `The cell that made this run is no longer in ${path}.`;
      nb.activeCellIndex = index;
      nb.deselectAll();
      await nb.scrollToCell(nb.widgets[index]);
      return null;
    },
  };
}

export function activatePanel(app: JupyterFrontEnd, tracker: INotebookTracker): void {
  const panel = new RunsPanel(host(app, tracker));
  panel.title.icon = nbtrackIcon;
  app.shell.add(panel, "left", { rank: 900 });
  tracker.currentChanged.connect(() => {
    if (panel.isVisible) panel.setNotebook(tracker.currentWidget?.context.path ?? null);
  });

  // One command, two buttons. The notebook toolbar's (below) is disabled on a markdown cell; the
  // cell toolbar's comes from schema/panel.json ("jupyter.lab.toolbars" > "Cell", args
  // {cellToolbar: true}) and is hidden there, as JupyterLab's own per-cell-type buttons are. The
  // cell toolbar is drawn on the active cell only, and a click in it keeps (or makes) that cell
  // active, so both act on `tracker.activeCell`.
  const isCode = () => tracker.activeCell?.model.type === "code";
  app.commands.addCommand(TOGGLE_TRACK, {
    label: "%%track",
    caption: "Add or remove %%track on the active cell: run it as a tracked run with a live card",
    icon: nbtrackIcon,
    isEnabled: isCode,
    isVisible: (args) => !args.cellToolbar || isCode(),
    isToggled: () => hasTrack(tracker.activeCell?.model.sharedModel.getSource() ?? ""),
    execute: () => {
      const cell = tracker.activeCell;
      if (!cell || cell.model.type !== "code") return;
      const shared = cell.model.sharedModel;
      shared.setSource(toggleTrack(shared.getSource()));
      app.commands.notifyCommandChanged(TOGGLE_TRACK);
    },
  });
  // the buttons show whether the active cell is tracked, also when %%track is typed or deleted
  type CellModel = NonNullable<INotebookTracker["activeCell"]>["model"];
  let watched: CellModel | null = null;
  let tracked = false;
  const onSource = () => {
    const now = hasTrack(watched?.sharedModel.getSource() ?? "");
    if (now !== tracked) {
      tracked = now;
      app.commands.notifyCommandChanged(TOGGLE_TRACK);
    }
  };
  tracker.activeCellChanged.connect(() => {
    watched?.contentChanged.disconnect(onSource);
    watched = tracker.activeCell?.model ?? null;
    watched?.contentChanged.connect(onSource);
    tracked = hasTrack(watched?.sharedModel.getSource() ?? "");
    app.commands.notifyCommandChanged(TOGGLE_TRACK);
  });
  app.docRegistry.addWidgetExtension("Notebook", {
    createNew: (nb: NotebookPanel) => {
      const button = new CommandToolbarButton({ commands: app.commands, id: TOGGLE_TRACK, label: "%%track" });
      button.addClass("nbt-toggle-track");
      nb.toolbar.insertItem(10, "nbtrack-toggle-track", button);
      return button;
    },
  });
}
