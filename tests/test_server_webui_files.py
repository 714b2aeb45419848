"""The web UI's files as nbtrack server serves them, from a folder laid out as a build leaves it:
``/`` the page, ``/static/...`` its files (hashed chunks cached for good), nothing outside
``static/``, and a server whose installation has no build saying how to get one."""

from __future__ import annotations

import pytest

from nbtrack.server.tracking import _webui
from nbtrack.server.tracking._app import build_app
from nbtrack.server.tracking._settings import ServerSettings

starlette_testclient = pytest.importorskip("starlette.testclient")


def _client(tmp_path, monkeypatch, built: dict[str, str]) -> object:
    ui = tmp_path / "webui"
    for name, text in built.items():
        (ui / name).parent.mkdir(parents=True, exist_ok=True)
        (ui / name).write_text(text)
    (tmp_path / "secret.txt").write_text("not for the web")
    monkeypatch.setattr(_webui, "ROOT", ui)
    settings = ServerSettings(store_uri=str(tmp_path / "store"))
    return starlette_testclient.TestClient(build_app(settings))


def test_the_page_its_files_and_their_caching(tmp_path, monkeypatch):
    client = _client(tmp_path, monkeypatch, {"index.html": "<div id='nbt-app'></div>", "static/main.js": "go()",
                                             "static/chunk-AB12.js": "x()", "static/main.css": "a{}"})
    page = client.get("/")
    assert page.text == "<div id='nbt-app'></div>" and page.headers["cache-control"] == "no-cache"
    main = client.get("/static/main.js")
    assert main.text == "go()" and main.headers["content-type"].startswith("text/javascript")
    assert main.headers["cache-control"] == "no-cache"
    assert client.get("/static/chunk-AB12.js").headers["cache-control"].endswith("immutable")
    assert client.get("/static/main.css").headers["content-type"].startswith("text/css")
    for outside in ("/static/../index.html", "/static/..%2F..%2Fsecret.txt", "/static/nope.js", "/static/"):
        assert client.get(outside).status_code == 404, outside


def test_without_a_build_the_root_says_where_the_api_is_and_how_to_build(tmp_path, monkeypatch):
    client = _client(tmp_path, monkeypatch, {})
    root = client.get("/")
    assert root.status_code == 200 and root.headers["content-type"].startswith("text/plain")
    assert "/api/2.0/mlflow/" in root.text and "npm run build" in root.text
    assert client.get("/health").text == "OK"
