// The web UI: a single-page app served by `nbtrack server` / `nbtrack ui` at /, reading only the
// server's REST API (MLflow's endpoints plus nbtrack's view endpoints). Built by build-app.mjs
// into nbtrack/server/webui/ (no Node.js at run time).

import "../../style/index.css";
import "../../style/app.css";
import "../views/all";
import "./pages/all";

import { authenticatedApi } from "./auth";
import { startShell } from "./shell";

// relative: the app works under any path prefix a proxy puts the server behind
const auth = authenticatedApi(new URL("api", document.baseURI).pathname);
auth.redraw = startShell(document.getElementById("nbt-app")!, auth.api).redraw;
