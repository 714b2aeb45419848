// The renderer of `application/vnd.nbtrack.view+json` outputs: the view drawn from the data the
// output carries, then kept fresh (and live while runs train) through the REST API of the
// Jupyter server extension. It needs no kernel and no widget state, so a reopened notebook shows
// its views as they were; if a view cannot be drawn, the output's static copy shows, with why.

import { IRenderMime } from "@jupyterlab/rendermime-interfaces";
import { Widget } from "@lumino/widgets";

import { Api } from "./api";
import { selectionFor } from "./selection";
import { h, RenderedView, ViewSpec } from "./views/common";
import { viewRenderer } from "./views/index";

export const MIME_TYPE = "application/vnd.nbtrack.view+json";

/** Where the Jupyter server extension's API is, and how to call it (set by the plugin). */
export interface Host {
  apiFor(trackingUri: string | undefined): Api | null;
}

let host: Host = { apiFor: () => null };

export function setHost(next: Host): void {
  host = next;
}

export class ViewOutput extends Widget implements IRenderMime.IRenderer {
  private view: RenderedView | null = null;

  constructor(private readonly options: IRenderMime.IRendererOptions) {
    super();
    this.addClass("nbt-view-output");
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    this.disposeView();
    this.node.textContent = "";
    const spec = model.data[MIME_TYPE] as unknown as ViewSpec;
    const render = spec && viewRenderer(spec.view);
    const body = h("div", { class: "nbt-view" });
    this.node.append(body);
    if (!render) {
      this.showStatic(model, `nbtrack cannot draw a "${spec?.view}" view: update nbtrack (pip install -U nbtrack).`);
      return;
    }
    try {
      this.view = await render(body, spec, {
        api: host.apiFor(spec.tracking_uri),
        selection: selectionFor(spec.selection),
        live: true,
        note: (text) => this.note(text),
      });
    } catch (e) {
      console.warn("nbtrack: a view failed to draw; showing its static copy", e);
      body.remove();
      this.showStatic(model, `This view could not be drawn (${(e as Error).message}); its static copy from when the cell ran:`);
    }
  }

  private note(text: string): void {
    let el = this.node.querySelector(".nbt-view-note");
    if (!el) {
      el = h("div", { class: "nbt-view-note" });
      this.node.prepend(el);
    }
    el.textContent = text;
  }

  private showStatic(model: IRenderMime.IMimeModel, why: string): void {
    this.note(why);
    const html = model.data["text/html"];
    if (typeof html === "string") {
      const copy = h("div", { class: "nbt-static" });
      copy.innerHTML = this.options.sanitizer.sanitize(html);
      this.node.append(copy);
    }
  }

  protected onResize(): void {
    this.view?.resize?.();
  }

  protected onAfterShow(): void {
    this.view?.resize?.();
  }

  private disposeView(): void {
    this.view?.dispose();
    this.view = null;
  }

  dispose(): void {
    this.disposeView();
    super.dispose();
  }
}

export const rendererFactory: IRenderMime.IRendererFactory = {
  safe: true,
  mimeTypes: [MIME_TYPE],
  defaultRank: 0,
  createRenderer: (options) => new ViewOutput(options),
};
