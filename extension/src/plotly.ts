// plotly.js, loaded on first use (a separate chunk of the extension: JupyterLab starts without it).

let loading: Promise<any> | null = null;

export function plotly(): Promise<any> {
  if (!loading) loading = import("plotly.js-dist-min").then((m: any) => m.default ?? m);
  return loading;
}

/** The theme's text and grid colours (plotly takes no CSS variables): JupyterLab's or the web UI's
 * --jp-* variables where the page defines them, plotly's own light defaults elsewhere. */
export function themeColors(): { text: string; grid: string } {
  const css = typeof document === "undefined" ? null : getComputedStyle(document.documentElement);
  return {
    text: css?.getPropertyValue("--jp-ui-font-color1").trim() || "#2a3f5f",
    grid: css?.getPropertyValue("--jp-border-color2").trim() || "#ebebeb",
  };
}

/** A plotly layout's defaults for nbtrack: transparent, the theme's text, small margins, the width of the output. */
export function baseLayout(extra: Record<string, any> = {}): Record<string, any> {
  return {
    autosize: true,
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "rgba(0,0,0,0)",
    font: { family: "var(--jp-ui-font-family, sans-serif)", size: 12, color: themeColors().text },
    margin: { l: 56, r: 16, t: 28, b: 44 },
    hoverlabel: { align: "left" },
    ...extra,
  };
}

export const CONFIG = { responsive: true, displaylogo: false, scrollZoom: false };
