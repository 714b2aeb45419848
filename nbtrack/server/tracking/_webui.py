"""The web UI's files: ``/`` is the single-page app (``nbtrack/server/webui/index.html``, built from
``extension/src/app`` by ``npm run build:app``), ``/static/...`` its scripts and styles.

The app reads only the REST API, which keeps its own auth. With ``--auth basic`` the files are
behind it too: the 401 with ``WWW-Authenticate: Basic`` that ``/`` answers makes the browser ask
for a user and password, which it then sends with every request to the server, the API's
included. With ``--auth token`` a browser cannot send a bearer token on its own, so the files
(which hold no data) are served to anyone and the app asks for the token when the API answers
401, keeping it in the tab's sessionStorage. When the package was installed without the build (a
source checkout before ``npm run build``), ``/`` says where the API is and how to build the UI
instead.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any

from nbtrack.server.tracking._auth import Credentials, Unauthenticated

__all__ = ["ROOT", "routes"]

ROOT = Path(__file__).resolve().parents[1] / "webui"
_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".map": "application/json"}


def _not_built(text: str) -> Any:
    from starlette.responses import PlainTextResponse

    return PlainTextResponse(
        text + "\nThe web UI is not built in this installation: run `npm run build` in extension/ "
        "(scripts/setup.sh does), or install nbtrack from its wheel.\n")


def _challenge(request: Any, credentials: Credentials) -> Any:
    """None when the request may have the files, else the 401 that makes a browser ask (basic)."""
    from starlette.responses import PlainTextResponse

    if credentials.mode != "basic":
        return None
    try:
        credentials.role(request.headers.get("authorization"))
    except Unauthenticated as e:
        return PlainTextResponse(e.message + "\n", status_code=401,
                                 headers={"WWW-Authenticate": credentials.challenge})
    return None


def routes(plain_root: str, credentials: Credentials | None = None) -> list[Any]:
    """``/`` and ``/static/{path}``; ``plain_root`` is what ``/`` says when the UI is not built.
    With basic ``credentials`` both ask for them (see the module's docstring)."""
    from starlette.responses import FileResponse, Response
    from starlette.routing import Route

    credentials = credentials or Credentials("none")

    async def index(request: Any) -> Any:
        if (denied := _challenge(request, credentials)) is not None:
            return denied
        page = ROOT / "index.html"
        if not page.is_file():
            return _not_built(plain_root)
        return FileResponse(page, media_type="text/html; charset=utf-8", headers={"Cache-Control": "no-cache"})

    async def static(request: Any) -> Any:
        if (denied := _challenge(request, credentials)) is not None:
            return denied
        name = request.path_params["path"]
        base = (ROOT / "static").resolve()
        target = (base / name).resolve()
        if base not in target.parents or not target.is_file():
            return Response(f"No file /static/{name}.", status_code=404, media_type="text/plain")
        # chunks carry their content hash in the name; main.js and main.css change with each build
        cache = "public, max-age=31536000, immutable" if target.name.startswith("chunk-") else "no-cache"
        media = _TYPES.get(target.suffix) or mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        return FileResponse(target, media_type=media, headers={"Cache-Control": cache})

    return [Route("/", index, methods=["GET"]), Route("/static/{path:path}", static, methods=["GET"])]
