// nbtrack's JupyterLab extension: the inline views of runs (a MIME renderer) and the runs
// side panel, both reading the store through the Jupyter server extension (nbtrack.jupyter).

import { JupyterFrontEnd, JupyterFrontEndPlugin } from "@jupyterlab/application";
import { INotebookTracker } from "@jupyterlab/notebook";
import { IRenderMimeRegistry } from "@jupyterlab/rendermime";
import { PageConfig, URLExt } from "@jupyterlab/coreutils";
import { ServerConnection } from "@jupyterlab/services";

import { Api } from "./api";
import { plotly } from "./plotly";
import { MIME_TYPE, rendererFactory, setHost } from "./mime";
import { activatePanel } from "./panel/index";
import "./views/all";

/** The Jupyter server extension's API for one store (`trackingUri`; "" = the notebook's default). */
export function jupyterApi(trackingUri?: string, notebookPath?: string): Api {
  const settings = ServerConnection.makeSettings();
  let base = URLExt.join(PageConfig.getBaseUrl(), "nbtrack", "api");
  if (notebookPath) base += `?notebook=${encodeURIComponent(notebookPath)}`;
  return new Api({
    base,
    store: trackingUri,
    fetch: (url: RequestInfo | URL, init?: RequestInit) => ServerConnection.makeRequest(String(url), init ?? {}, settings),
  });
}

const views: JupyterFrontEndPlugin<void> = {
  id: "nbtrack-labextension:views",
  description: "Draws nbtrack's views of runs (run tables, metric charts, parallel coordinates, compare, dashboards).",
  autoStart: true,
  requires: [IRenderMimeRegistry],
  optional: [INotebookTracker],
  activate: (app: JupyterFrontEnd, rendermime: IRenderMimeRegistry, tracker: INotebookTracker | null) => {
    setHost({ apiFor: (uri) => jupyterApi(uri) });
    // before the widget renderer (-10): an output that carries both draws as nbtrack's view
    rendermime.addFactory(rendererFactory, -20);
    // notebooks opened before this plugin activated have their own clone of the registry
    tracker?.widgetAdded.connect((_, panel) => {
      const own = panel.content.rendermime;
      if (!own.mimeTypes.includes(MIME_TYPE)) own.addFactory(rendererFactory, -20);
    });
    // plotly.js (a 4.5 MB chunk) is fetched and parsed while the browser is idle once a notebook
    // is open, so a notebook's first chart does not wait for it
    const idle = (f: () => void) =>
      "requestIdleCallback" in window ? (window as any).requestIdleCallback(f, { timeout: 5000 }) : setTimeout(f, 1000);
    let preloaded = false;
    const preload = () => {
      if (preloaded) return;
      preloaded = true;
      void app.restored.then(() => idle(() => void plotly()));
    };
    if (tracker) {
      if (tracker.size) preload();
      else tracker.widgetAdded.connect(preload);
    }
  },
};

const panel: JupyterFrontEndPlugin<void> = {
  id: "nbtrack-labextension:panel",
  description: "The nbtrack side panel: the notebook's store, its experiments and runs.",
  autoStart: true,
  requires: [INotebookTracker],
  activate: (app: JupyterFrontEnd, tracker: INotebookTracker) => activatePanel(app, tracker),
};

export default [views, panel];
