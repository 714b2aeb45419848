// The web UI: a single-page app served by `nbtrack server` / `nbtrack ui` at /, reading only the
// server's REST API (MLflow's endpoints plus nbtrack's view endpoints). Built by build-app.mjs
// into nbtrack/server/webui/ (no Node.js at run time).

import "../../style/index.css";
import "../../style/app.css";
import "../views/all";
import "./pages/all";

import { authenticatedApi } from "./auth";
import { plotly } from "../plotly";
import { startShell } from "./shell";

// relative: the app works under any path prefix a proxy puts the server behind
const auth = authenticatedApi(new URL("api", document.baseURI).pathname);
auth.redraw = startShell(document.getElementById("nbt-app")!, auth.api).redraw;

// plotly.js (a 4.8 MB chunk) is fetched and parsed once the first page is drawn and the browser is
// idle, so the first chart a person opens (a run's charts, a compare) does not wait for it
const idle = (f: () => void) =>
  "requestIdleCallback" in window ? (window as any).requestIdleCallback(f, { timeout: 10_000 }) : setTimeout(f, 2000);
window.addEventListener("load", () => setTimeout(() => idle(() => void plotly()), 1500), { once: true });
