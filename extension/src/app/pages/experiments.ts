// The experiments page (#/experiments): every active experiment, newest first.

import { h } from "../../views/common";
import { empty, errorBox, link, loading } from "../page";
import { registerPage } from "../shell";

registerPage("experiments", async (el, _route, ctx) => {
  ctx.setTitle("Experiments");
  el.append(h("h1", {}, "Experiments"), loading());
  try {
    const res = await ctx.api.mlflow("POST", "experiments/search", { max_results: 1000, order_by: ["creation_time DESC"] });
    const experiments: any[] = res.experiments ?? [];
    el.querySelector(".nbt-app-loading")?.remove();
    if (!experiments.length) {
      el.append(empty("No experiments yet", "Log a run from a notebook (", h("code", {}, "%%track"), ") or point a client here with ", h("code", {}, "MLFLOW_TRACKING_URI"), "."));
    } else {
      el.append(
        h("table", { class: "nbt-app-list" },
          h("thead", {}, h("tr", {}, h("th", {}, "Name"), h("th", {}, "Id"))),
          h("tbody", {}, ...experiments.map((e) => h("tr", {}, h("td", {}, h("a", { href: link(`/experiments/${e.experiment_id}`) }, e.name)), h("td", {}, e.experiment_id))))),
      );
    }
  } catch (e) {
    el.querySelector(".nbt-app-loading")?.remove();
    el.append(errorBox(e));
  }
  return { dispose() {} };
});
