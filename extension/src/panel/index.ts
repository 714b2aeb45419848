// The nbtrack side panel (left bar): built in src/panel/ (work in progress).

import { JupyterFrontEnd } from "@jupyterlab/application";
import { INotebookTracker } from "@jupyterlab/notebook";

export function activatePanel(app: JupyterFrontEnd, tracker: INotebookTracker): void {
  void app;
  void tracker;
}
