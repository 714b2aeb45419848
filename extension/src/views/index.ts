// Every view by the name the kernel (nbtrack/ui/_mime.py) or the web UI gives it.

import { ViewRenderer } from "./common";

const renderers = new Map<string, ViewRenderer>();

export function registerView(name: string, renderer: ViewRenderer): void {
  renderers.set(name, renderer);
}

export function viewRenderer(name: string): ViewRenderer | undefined {
  return renderers.get(name);
}

export function viewNames(): string[] {
  return [...renderers.keys()].sort();
}
