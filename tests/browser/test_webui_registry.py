"""The web UI's registry pages (#/models, #/models/<name>, #/models/<name>/versions/<n>), in
Debian's chromium against a real ``nbtrack server``.

The store: real sklearn models logged with ``nbtrack.sklearn.log_model(...,
registered_model_name=...)``, three versions of ``iris`` with a stage history made on different
days of January 2026 (the registry's clock is set for each change), an alias, tags and
descriptions, and a few more models for search and paging. Every page renders with 0 console
errors, and each interaction is checked on the screen and then in the server's state: stage
change with archiving, alias moved from v1 to v2 and deleted, description kept over a reload,
tags added and deleted, search narrowing the list, a bad filter's error in place with the list
kept, sorting, paging, keyboard navigation, the history's date picker, a version page's deep
link reloaded, a transition the server refuses, ticked versions opening the compare page of
their source runs, a version's files in its run's artifacts, a model created, renamed and
deleted, a version deleted, a name that needs escaping everywhere, the dark theme.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.browser.lab import REPO, new_page
from tests.browser.webui import UI, readme_shot, real_errors, serve_ui

pytestmark = pytest.mark.browser

API = "/api/2.0/mlflow/"
ODD = "o'brien #1 %?"  # a quote for the filter, and what a URL's hash and query would take apart


def _ms(day: int, hour: int = 12) -> int:
    return int(dt.datetime(2026, 1, day, hour).timestamp() * 1000)


def build(uri: str) -> None:
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    from sklearn.tree import DecisionTreeClassifier

    import nbtrack
    import nbtrack.sklearn
    from nbtrack.store.duckdb import registry as duck_registry

    X, y = load_iris(return_X_y=True, as_frame=True)
    client = nbtrack.MlflowClient()
    clock = {"now": _ms(5)}
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(duck_registry, "_now", lambda: clock["now"])

        def at(day: int) -> None:
            clock["now"] = _ms(day)

        nbtrack.set_experiment("iris")
        for i, (day, model) in enumerate([(5, LogisticRegression(max_iter=300)), (15, DecisionTreeClassifier(max_depth=3)),
                                          (25, LogisticRegression(C=0.5, max_iter=300))]):
            at(day)
            with nbtrack.start_run(run_name=f"iris-{i + 1}"):
                nbtrack.sklearn.log_model(model.fit(X, y), name="model", registered_model_name="iris",
                                          input_example=X.head(3))
        at(10)
        client.transition_model_version_stage("iris", 1, "Production")
        client.set_registered_model_alias("iris", "champion", 1)
        client.update_registered_model("iris", "Classifies iris flowers.")
        client.set_registered_model_tag("iris", "team", "botany")
        at(18)
        client.transition_model_version_stage("iris", 2, "Staging")
        client.set_model_version_tag("iris", 2, "validated", "yes")
        at(26)
        with nbtrack.start_run(run_name="churn-1") as churn:
            nbtrack.sklearn.log_model(LogisticRegression(max_iter=300).fit(X, y), name="model",
                                      registered_model_name="churn")
        nbtrack.register_model(f"runs:/{churn.info.run_id}/model", "churn")  # v2, deleted behind a page
        client.set_registered_model_tag("churn", "team", "growth")
        client.transition_model_version_stage("churn", 1, "Production")
        with nbtrack.start_run(run_name="old-1"):
            nbtrack.sklearn.log_model(DecisionTreeClassifier().fit(X, y), name="model",
                                      registered_model_name="to-rename")
        for name in ("alpha-a", "alpha-b", "alpha-c", "doomed", ODD):
            client.create_registered_model(name, description=f"empty model {name}")
    nbtrack.flush()


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UI]:
    yield from serve_ui(tmp_path_factory, "webui-registry", build)


@pytest.fixture(scope="module")
def api(ui: UI) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=ui.url, timeout=30) as c:
        yield c


def get(api: httpx.Client, path: str, **params: Any) -> Any:
    r = api.get(API + path, params=params)
    return r.status_code, r.json()


def model(api: httpx.Client, name: str) -> dict[str, Any]:
    status, body = get(api, "registered-models/get", name=name)
    assert status == 200, body
    return body["registered_model"]


def version(api: httpx.Client, name: str, v: int) -> dict[str, Any]:
    status, body = get(api, "model-versions/get", name=name, version=str(v))
    assert status == 200, body
    return body["model_version"]


def aliases(api: httpx.Client, name: str) -> dict[str, int]:
    return {a["alias"]: int(a["version"]) for a in model(api, name).get("aliases", [])}


def open_page(browser: Any, ui: UI, route: str, ready: str, width: int = 1280, height: int = 800) -> tuple[Any, Any]:
    context, page = new_page(browser, width, height, http_errors=True)
    page.goto(ui.page_url(route))
    page.wait_for_selector(ready)
    return context, page


def shown_models(page: Any) -> list[str]:
    return page.locator(".nbt-models-list tbody tr").evaluate_all("rs => rs.map(r => r.dataset.model)")


def save_doc_shot(page: Any, name: str) -> None:
    readme_shot(page, name)


# -- the models list --------------------------------------------------------------------------
def test_models_list_renders_every_model_with_its_latest_versions(browser: Any, ui: UI, shot: Any) -> None:
    context, page = open_page(browser, ui, "/models", ".nbt-models-list")
    try:
        assert page.locator("h1").inner_text() == "Models"
        names = shown_models(page)
        assert names == sorted(names) and {"iris", "churn", "to-rename", "alpha-a", "doomed"} <= set(names)
        iris = page.locator(".nbt-models-list tr[data-model='iris']")
        latest = iris.locator(".nbt-models-latest-one").all_inner_texts()
        assert latest == ["Production v1", "Staging v2", "None v3"]
        assert iris.locator(".nbt-models-latest-one").first.get_attribute("href") == "#/models/iris/versions/1"
        assert "@champion\u2192v1" in iris.inner_text() and "team=botany" in iris.inner_text()
        assert "Classifies iris flowers." in iris.inner_text() and "2026-01-" in iris.inner_text()
        assert page.locator(".nbt-models-list tr[data-model='alpha-a']").inner_text().count("no versions") == 1
        shot(page, "webui-models")
        save_doc_shot(page, "webui-models")
        assert real_errors(page.errors) == []
    finally:
        context.close()


def test_search_narrows_the_list_and_a_bad_filter_keeps_it_with_the_error_in_place(browser: Any, ui: UI) -> None:
    context, page = open_page(browser, ui, "/models", ".nbt-models-list")
    try:
        search = page.locator(".nbt-models-search")
        search.fill("iri")
        search.press("Enter")
        page.wait_for_function("document.querySelectorAll('.nbt-models-list tbody tr').length === 1")
        assert shown_models(page) == ["iris"]
        assert "name ILIKE '%iri%'" in page.locator(".nbt-models-effective").inner_text()
        assert "q=iri" in page.url
        search.fill("tags.team = 'growth'")
        search.press("Enter")
        page.wait_for_function("document.querySelector('.nbt-models-list tbody tr')?.dataset.model === 'churn'")
        assert shown_models(page) == ["churn"]
        # a bad filter: the error under the search box, the list as it was
        search.fill("name = 'unclosed")
        search.press("Enter")
        error = page.locator(".nbt-models-search-error [role=alert]")
        error.wait_for()
        assert "INVALID_PARAMETER_VALUE" in error.inner_text()
        assert search.get_attribute("aria-invalid") == "true"
        assert shown_models(page) == ["churn"]
        search.fill("zzz-nothing")
        search.press("Enter")
        page.wait_for_selector(".nbt-app-empty")
        assert "No models match" in page.locator(".nbt-app-empty").inner_text()
        assert page.locator(".nbt-models-search-error [role=alert]").count() == 0
        assert real_errors(page.errors, ("400", "INVALID_PARAMETER")) == []
        # sorted by last update: iris (changed on the 18th) after the models of the 26th
        search.fill("")
        search.press("Enter")
        page.locator(".nbt-models-sort").select_option("updated")
        page.wait_for_function("document.querySelector('.nbt-models-list tbody tr:last-child')?.dataset.model === 'iris'")
        assert "sort=updated" in page.url
        # the search survives a reload (deep link)
        page.goto(ui.page_url("/models?q=chu"))
        page.reload()
        page.wait_for_function("document.querySelector('.nbt-models-list tbody tr')?.dataset.model === 'churn'")
        assert page.locator(".nbt-models-search").input_value() == "chu"
    finally:
        context.close()


def test_paging_by_page_token_and_keyboard_navigation(browser: Any, ui: UI) -> None:
    context, page = open_page(browser, ui, "/models?size=3", ".nbt-models-list")
    try:
        first = shown_models(page)
        assert len(first) == 3 and page.locator(".nbt-models-prev").is_disabled()
        page.click(".nbt-models-next")
        page.wait_for_function(f"document.querySelector('.nbt-models-list tbody tr')?.dataset.model !== {first[0]!r}")
        second = shown_models(page)
        assert len(second) == 3 and not set(first) & set(second) and second[0] > first[-1]
        assert "page=" in page.url
        page.reload()  # the page token is in the URL
        page.wait_for_selector(".nbt-models-list")
        assert shown_models(page) == second
        page.click(".nbt-models-prev")
        page.wait_for_function(f"document.querySelector('.nbt-models-list tbody tr')?.dataset.model === {first[0]!r}")
        assert shown_models(page) == first
        # keyboard: "/" focuses the search, Down enters the table, Down moves, Enter opens
        page.locator("h1").click()
        page.keyboard.press("/")
        assert page.evaluate("document.activeElement.classList.contains('nbt-models-search')")
        page.keyboard.press("ArrowDown")
        assert page.evaluate("document.activeElement.dataset.model") == first[0]
        page.keyboard.press("ArrowDown")
        assert page.evaluate("document.activeElement.dataset.model") == first[1]
        page.keyboard.press("Enter")
        page.wait_for_selector(".nbt-app-page-model h1")
        assert page.locator(".nbt-app-page-model h1").inner_text() == first[1]
        assert real_errors(page.errors) == []
    finally:
        context.close()


def test_a_name_with_a_quote_hash_percent_and_question_mark(browser: Any, ui: UI) -> None:
    context, page = open_page(browser, ui, "/models", ".nbt-models-list")
    try:
        search = page.locator(".nbt-models-search")
        search.fill("o'brien")
        search.press("Enter")
        page.wait_for_function("document.querySelectorAll('.nbt-models-list tbody tr').length === 1")
        assert shown_models(page) == [ODD]
        page.locator(".nbt-models-list .nbt-models-name").click()
        page.wait_for_selector(".nbt-app-page-model h1")
        assert page.locator(".nbt-app-page-model h1").inner_text() == ODD
        page.reload()
        page.wait_for_selector(".nbt-app-page-model h1")
        assert page.locator(".nbt-app-page-model h1").inner_text() == ODD
        assert f"empty model {ODD}" in page.locator("section[data-section='description']").inner_text()
        assert real_errors(page.errors) == []
    finally:
        context.close()


def test_create_a_model_from_the_page(browser: Any, ui: UI, api: httpx.Client) -> None:
    context, page = open_page(browser, ui, "/models", ".nbt-models-list")
    try:
        page.click(".nbt-models-new-button")
        page.fill(".nbt-models-new-name", "made-in-browser")
        page.fill(".nbt-models-new-description", "from the web UI")
        page.click(".nbt-models-new button[type=submit]")
        page.wait_for_selector(".nbt-app-page-model h1")
        assert page.url.endswith("#/models/made-in-browser")
        assert "No versions yet" in page.locator("section[data-section='versions']").inner_text()
        assert model(api, "made-in-browser")["description"] == "from the web UI"
        # a second one with the same name: the server's error in the form, nothing else changes
        page.goto(ui.page_url("/models"))
        page.wait_for_selector(".nbt-models-list")
        page.click(".nbt-models-new-button")
        page.fill(".nbt-models-new-name", "made-in-browser")
        page.click(".nbt-models-new button[type=submit]")
        page.locator(".nbt-models-new [role=alert]").wait_for()
        assert "already exists" in page.locator(".nbt-models-new [role=alert]").inner_text()
        assert page.url.endswith("#/models")
        assert real_errors(page.errors, ("400", "409", "RESOURCE_ALREADY_EXISTS")) == []
    finally:
        context.close()


def test_empty_registry_says_how_to_register_a_model(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    for empty_ui in serve_ui(tmp_path_factory, "webui-registry-empty"):
        context, page = open_page(browser, empty_ui, "/models", ".nbt-app-empty")
        try:
            text = page.locator(".nbt-app-empty").inner_text()
            assert "No registered models yet" in text
            assert 'nbtrack.register_model("runs:/<run_id>/model", "my-model")' in text
            assert "registered_model_name=" in text
            assert real_errors(page.errors) == []
        finally:
            context.close()


# -- a model's page ---------------------------------------------------------------------------
def test_model_page_shows_versions_with_source_runs_and_aliases(browser: Any, ui: UI, api: httpx.Client,
                                                                 shot: Any) -> None:
    context, page = open_page(browser, ui, "/models/iris?at=2026-01-20", ".nbt-models-versions")
    try:
        rows = page.locator(".nbt-models-versions tbody tr")
        assert rows.evaluate_all("rs => rs.map(r => r.dataset.version)") == ["3", "2", "1"]
        v1 = page.locator(".nbt-models-versions tr[data-version='1']")
        assert "Production" in v1.inner_text() and "@champion" in v1.inner_text()
        run_id = version(api, "iris", 1)["run_id"]
        assert v1.locator(".nbt-models-run-link").get_attribute("href") == f"#/runs/{run_id}"
        assert "validated=yes" in page.locator(".nbt-models-versions tr[data-version='2']").inner_text()
        assert page.locator(".nbt-models-aliases tr[data-alias='champion']").is_visible()
        # the whole history, newest first
        history = page.locator(".nbt-models-history tbody tr")
        history.first.wait_for()
        assert history.count() == 6 and "v1 created" in history.last.inner_text()
        page.wait_for_selector(".nbt-models-asof-table")
        assert page.locator(".nbt-models-asof-table tr[data-stage='Production']").inner_text().endswith("v1")
        shot(page, "webui-model")
        save_doc_shot(page, "webui-model")
        # keyboard in the versions table: Enter opens the version
        rows.first.focus()
        page.keyboard.press("ArrowDown")
        page.keyboard.press("Enter")
        page.wait_for_selector(".nbt-app-page-version h1")
        assert page.url.endswith("#/models/iris/versions/2")
        assert real_errors(page.errors) == []
    finally:
        context.close()


def test_ticked_versions_open_the_compare_page_of_their_source_runs(browser: Any, ui: UI, api: httpx.Client) -> None:
    context, page = open_page(browser, ui, "/models/iris", ".nbt-models-versions")
    try:
        button = page.locator(".nbt-models-compare")
        assert button.is_disabled()
        page.locator(".nbt-models-versions tr[data-version='1'] .nbt-models-tick").check()
        assert button.is_disabled()
        page.locator(".nbt-models-versions tr[data-version='2']").focus()
        page.keyboard.press(" ")  # space ticks the focused row
        assert button.inner_text() == "Compare 2 source runs"
        button.click()
        page.wait_for_function("location.hash.startsWith('#/compare')")
        runs = page.evaluate("new URLSearchParams(location.hash.split('?')[1]).get('runs')").split(",")
        assert runs == [version(api, "iris", 2)["run_id"], version(api, "iris", 1)["run_id"]]
        page.wait_for_selector(".nbt-compare-table")
        assert page.locator("h1").inner_text() == "Compare 2 runs"
        assert real_errors(page.errors) == []
    finally:
        context.close()


def test_description_edit_persists_over_reload(browser: Any, ui: UI, api: httpx.Client) -> None:
    context, page = open_page(browser, ui, "/models/churn", ".nbt-models-versions")
    try:
        box = page.locator("section[data-section='description']")
        box.locator(".nbt-models-edit").click()
        box.locator("textarea").fill("Predicts churn.\nRetrained monthly.")
        box.locator(".nbt-models-save").click()
        box.locator(".nbt-models-edit").wait_for()
        assert box.locator(".nbt-models-description").inner_text() == "Predicts churn.\nRetrained monthly."
        assert model(api, "churn")["description"] == "Predicts churn.\nRetrained monthly."
        page.reload()
        page.wait_for_selector(".nbt-models-versions")
        assert page.locator("section[data-section='description'] .nbt-models-description").inner_text() == \
            "Predicts churn.\nRetrained monthly."
        assert real_errors(page.errors) == []
    finally:
        context.close()


def test_model_tags_added_and_deleted(browser: Any, ui: UI, api: httpx.Client) -> None:
    context, page = open_page(browser, ui, "/models/churn", ".nbt-models-versions")
    try:
        tags = page.locator("section[data-section='tags']")
        tags.locator(".nbt-models-tag-key").fill("owner")
        tags.locator(".nbt-models-tag-value-input").fill("ana")
        tags.locator(".nbt-models-tag-add").click()
        page.locator("section[data-section='tags'] tr[data-tag='owner']").wait_for()
        assert page.locator("section[data-section='tags'] tr[data-tag='owner'] .nbt-models-tag-value").inner_text() == "ana"
        assert {t["key"]: t["value"] for t in model(api, "churn")["tags"]} == {"team": "growth", "owner": "ana"}
        page.locator("section[data-section='tags'] tr[data-tag='team'] .nbt-models-tag-delete").click()
        page.locator("section[data-section='tags'] tr[data-tag='team']").wait_for(state="detached")
        assert {t["key"] for t in model(api, "churn")["tags"]} == {"owner"}
        assert real_errors(page.errors) == []
    finally:
        context.close()


def test_alias_set_moved_and_deleted_on_the_model_page(browser: Any, ui: UI, api: httpx.Client) -> None:
    context, page = open_page(browser, ui, "/models/iris", ".nbt-models-versions")
    try:
        aliases_box = page.locator("section[data-section='aliases']")
        aliases_box.locator(".nbt-models-alias-name").fill("shadow")
        aliases_box.locator("form select").select_option("3")
        aliases_box.locator(".nbt-models-alias-set").click()
        page.locator(".nbt-models-aliases tr[data-alias='shadow']").wait_for()
        assert aliases(api, "iris") == {"champion": 1, "shadow": 3}
        # move @shadow from v3 to v2 with its version picker
        page.locator(".nbt-models-aliases tr[data-alias='shadow'] select").select_option("2")
        page.wait_for_function("document.querySelector(\".nbt-models-versions tr[data-version='2']\").innerText.includes('@shadow')")
        assert aliases(api, "iris") == {"champion": 1, "shadow": 2}
        assert "@shadow" not in page.locator(".nbt-models-versions tr[data-version='3']").inner_text()
        page.locator(".nbt-models-aliases tr[data-alias='shadow'] .nbt-models-alias-delete").click()
        page.locator(".nbt-models-aliases tr[data-alias='shadow']").wait_for(state="detached")
        assert aliases(api, "iris") == {"champion": 1}
        assert real_errors(page.errors) == []
    finally:
        context.close()


# -- a version's page -------------------------------------------------------------------------
def test_version_page_shows_source_run_signature_and_tags(browser: Any, ui: UI, api: httpx.Client, shot: Any) -> None:
    context, page = open_page(browser, ui, "/models/iris/versions/2", ".nbt-models-overview")
    try:
        assert page.locator("h1").inner_text() == "iris \u00b7 version 2"
        run_id = version(api, "iris", 2)["run_id"]
        link = page.locator(".nbt-models-overview .nbt-models-run-link")
        assert link.get_attribute("href") == f"#/runs/{run_id}"
        page.wait_for_function("document.querySelector('.nbt-models-run-name')?.textContent === '(iris-2)'")
        inputs = page.locator(".nbt-models-signature-inputs tbody tr")
        inputs.first.wait_for()
        assert inputs.evaluate_all("rs => rs.map(r => r.cells[1].innerText)") == [
            "sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"]
        assert inputs.evaluate_all("rs => rs.map(r => r.cells[2].innerText)") == ["double"] * 4
        assert page.locator(".nbt-models-signature-outputs tbody tr").count() == 1
        assert "sklearn" in page.locator(".nbt-models-flavors").inner_text()
        assert page.locator("section[data-section='tags'] tr[data-tag='validated']").is_visible()
        history = page.locator(".nbt-models-history tbody tr")
        history.first.wait_for()
        changes = [t.split("\t")[1:3] for t in history.all_inner_texts()]  # newest first: v2's own and its aliases'
        assert changes[-2:] == [["v2", "None \u2192 Staging"], ["v2 created", "- \u2192 None"]]
        assert ["@shadow", "v3 \u2192 v2"] in changes and ["@shadow", "v2 \u2192 -"] in changes
        files = page.locator(".nbt-models-files a")
        files.wait_for()
        assert files.get_attribute("href") == f"#/runs/{run_id}?tab=artifacts&path=model%2FMLmodel"
        assert real_errors(page.errors) == []
        files.click()  # the run page's artifacts tab with the MLmodel selected
        page.wait_for_function("location.hash.startsWith('#/runs/')")
        page.wait_for_selector(".nbt-app-page-run")
    finally:
        context.close()


def test_history_date_picker_answers_which_version_held_each_stage(browser: Any, ui: UI) -> None:
    context, page = open_page(browser, ui, "/models/iris/versions/1", ".nbt-models-overview")
    try:
        answer = page.locator(".nbt-models-asof-answer")

        def on(day: str) -> dict[str, str]:
            page.fill(".nbt-models-asof-date", day)
            page.wait_for_function(f"document.querySelector('.nbt-models-asof-when')?.textContent.includes({day!r})")
            cells = answer.locator("tr").evaluate_all("rs => rs.map(r => [r.dataset.stage || '@' + r.dataset.alias, r.cells[1].innerText])")
            return dict(cells)

        assert on("2026-01-04") == {"None": "\u2014", "Staging": "\u2014", "Production": "\u2014", "Archived": "\u2014"}
        assert "no versions yet" in answer.inner_text()
        assert on("2026-01-12") == {"None": "\u2014", "Staging": "\u2014", "Production": "v1", "Archived": "\u2014",
                                    "@champion": "v1"}
        assert on("2026-01-20") == {"None": "\u2014", "Staging": "v2", "Production": "v1", "Archived": "\u2014",
                                    "@champion": "v1"}
        assert answer.locator("a.nbt-models-this").all_inner_texts() == ["v1", "v1"]  # this page's version marked
        assert "at=2026-01-20" in page.url
        # a time of day: v2 was created at noon on the 15th
        page.fill(".nbt-models-asof-time", "11:00")
        page.fill(".nbt-models-asof-date", "2026-01-15")
        page.wait_for_function("document.querySelector('.nbt-models-asof-when')?.textContent.includes('2026-01-15 11:00')")
        assert "1 version" in page.locator(".nbt-models-asof-when").inner_text()
        assert real_errors(page.errors) == []
    finally:
        context.close()


def test_stage_transition_with_archive_existing_versions(browser: Any, ui: UI, api: httpx.Client) -> None:
    context, page = open_page(browser, ui, "/models/iris/versions/2", ".nbt-models-stage-form")
    try:
        form = page.locator(".nbt-models-stage-form")
        form.locator("select").select_option("Production")
        assert "Archive the versions now in Production (v1)" in form.locator(".nbt-models-archive-label").inner_text()
        assert form.locator(".nbt-models-archive").is_checked()
        form.locator(".nbt-models-archive").uncheck()  # without archiving: what models:/iris/Production would mean
        assert form.locator(".nbt-models-stage-note").inner_text() == \
            "v1 stays in Production too; models:/iris/Production will mean v2."
        form.locator(".nbt-models-archive").check()
        assert form.locator(".nbt-models-stage-note").inner_text() == ""
        form.locator(".nbt-models-transition").click()
        page.wait_for_function("document.querySelector('.nbt-models-overview dd')?.innerText === 'Production'")
        assert "Production" in page.locator(".nbt-models-title").inner_text()
        assert version(api, "iris", 2)["current_stage"] == "Production"
        assert version(api, "iris", 1)["current_stage"] == "Archived"
        page.wait_for_function("document.querySelector('.nbt-models-history tbody tr')?.innerText.includes('Production')")
        newest = page.locator(".nbt-models-history tbody tr").first.inner_text().split("\t")
        assert newest[1:3] == ["v2", "Staging \u2192 Production"]  # this version's history
        # None and Archived: the archive option does not apply and is not offered
        form.locator("select").select_option("Archived")
        assert not form.locator(".nbt-models-archive-label").is_visible()
        # on the model page: v1 archived, v2 in Production
        page.goto(ui.page_url("/models/iris"))
        page.wait_for_selector(".nbt-models-versions")
        assert "Archived" in page.locator(".nbt-models-versions tr[data-version='1']").inner_text()
        assert "Production" in page.locator(".nbt-models-versions tr[data-version='2']").inner_text()
        page.locator(".nbt-models-history tbody tr").first.wait_for()
        newest = page.locator(".nbt-models-history tbody tr").all_inner_texts()[:2]  # one change, one moment
        assert sorted(" ".join(t.split("\t")[1:3]) for t in newest) == [
            "v1 Production \u2192 Archived", "v2 Staging \u2192 Production"]
        assert real_errors(page.errors) == []
    finally:
        context.close()


def test_alias_moved_from_v1_to_v2_and_deleted_on_the_version_page(browser: Any, ui: UI, api: httpx.Client) -> None:
    context, page = open_page(browser, ui, "/models/iris/versions/2", ".nbt-models-stage-form")
    try:
        box = page.locator("section[data-section='aliases']")
        box.locator(".nbt-models-alias-name").fill("champion")
        assert "@champion is on v1: setting it here moves it to v2" in box.locator(".nbt-models-alias-note").inner_text()
        box.locator(".nbt-models-alias-set").click()
        page.locator(".nbt-models-alias-chip[data-alias='champion']").wait_for()
        assert aliases(api, "iris") == {"champion": 2}
        assert "@champion" in page.locator(".nbt-models-title").inner_text()
        # a name the registry refuses: its message in place, nothing changes
        box = page.locator("section[data-section='aliases']")
        box.locator(".nbt-models-alias-name").fill("latest")
        box.locator(".nbt-models-alias-set").click()
        error = box.locator("[role=alert]")
        error.wait_for()
        assert "latest" in error.inner_text()
        assert aliases(api, "iris") == {"champion": 2}
        box.locator(".nbt-models-alias-chip[data-alias='champion'] .nbt-models-alias-delete").click()
        page.locator(".nbt-models-alias-chip").wait_for(state="detached")
        assert aliases(api, "iris") == {}
        assert "No alias points at this version." in page.locator("section[data-section='aliases']").inner_text()
        assert real_errors(page.errors, ("400", "INVALID_PARAMETER")) == []
    finally:
        context.close()


def test_version_description_tags_and_deep_link_reload(browser: Any, ui: UI, api: httpx.Client, shot: Any) -> None:
    context, page = open_page(browser, ui, "/models/iris/versions/3?at=2026-01-20", ".nbt-models-overview")
    try:
        page.wait_for_function("document.querySelector('.nbt-models-asof-when')?.textContent.includes('2026-01-20')")
        assert page.locator(".nbt-models-asof-date").input_value() == "2026-01-20"
        box = page.locator("section[data-section='description']")
        box.locator(".nbt-models-edit").click()
        box.locator("textarea").fill("C=0.5 candidate")
        box.locator("textarea").press("Control+Enter")
        box.locator(".nbt-models-edit").wait_for()
        assert version(api, "iris", 3)["description"] == "C=0.5 candidate"
        tags = page.locator("section[data-section='tags']")
        tags.locator(".nbt-models-tag-key").fill("reviewed")
        tags.locator(".nbt-models-tag-value-input").fill("no")
        tags.locator(".nbt-models-tag-add").click()
        page.locator("section[data-section='tags'] tr[data-tag='reviewed']").wait_for()
        assert {t["key"]: t["value"] for t in version(api, "iris", 3).get("tags", [])} == {"reviewed": "no"}
        page.reload()
        page.wait_for_selector(".nbt-models-overview")
        assert page.locator("h1").inner_text() == "iris \u00b7 version 3"
        assert page.locator("section[data-section='description'] .nbt-models-description").inner_text() == "C=0.5 candidate"
        assert page.locator("section[data-section='tags'] tr[data-tag='reviewed']").is_visible()
        page.wait_for_function("document.querySelector('.nbt-models-asof-when')?.textContent.includes('2026-01-20')")
        assert page.locator(".nbt-models-asof-answer tr[data-stage='Staging']").inner_text().endswith("v2")
        page.locator(".nbt-models-signature-inputs tbody tr").first.wait_for()
        page.locator("section[data-section='tags'] tr[data-tag='reviewed'] .nbt-models-tag-delete").click()
        page.locator("section[data-section='tags'] tr[data-tag='reviewed']").wait_for(state="detached")
        assert version(api, "iris", 3).get("tags", []) == []
        page.evaluate("window.scrollTo(0, 0)")
        shot(page, "webui-version")
        save_doc_shot(page, "webui-version")
        assert real_errors(page.errors) == []
    finally:
        context.close()


def test_unknown_model_and_version_say_so_in_place(browser: Any, ui: UI) -> None:
    context, page = open_page(browser, ui, "/models/no-such-model", ".nbt-app-error")
    try:
        assert "no-such-model" in page.locator(".nbt-app-error").inner_text()
        page.goto(ui.page_url("/models/iris/versions/99"))
        page.wait_for_selector(".nbt-app-page-version .nbt-app-error")
        assert "RESOURCE_DOES_NOT_EXIST" in page.locator(".nbt-app-page-version .nbt-app-error").first.inner_text()
        assert real_errors(page.errors, ("404", "RESOURCE_DOES_NOT_EXIST")) == []
    finally:
        context.close()


def test_a_transition_the_server_refuses_shows_its_error_in_place(browser: Any, ui: UI, api: httpx.Client) -> None:
    context, page = open_page(browser, ui, "/models/churn/versions/2", ".nbt-models-stage-form")
    try:
        r = api.request("DELETE", API + "model-versions/delete", json={"name": "churn", "version": "2"})
        assert r.status_code == 200, r.text  # deleted behind the page's back
        form = page.locator(".nbt-models-stage-form")
        form.locator("select").select_option("Production")
        form.locator(".nbt-models-transition").click()
        error = form.locator("[role=alert]")
        error.wait_for()
        assert "RESOURCE_DOES_NOT_EXIST" in error.inner_text()
        assert page.locator("h1").inner_text() == "churn \u00b7 version 2"  # the page stays
        assert not form.locator(".nbt-models-transition").is_disabled()
        assert version(api, "churn", 1)["current_stage"] == "Production"
        assert real_errors(page.errors, ("404", "RESOURCE_DOES_NOT_EXIST")) == []
    finally:
        context.close()


# -- rename and delete ------------------------------------------------------------------------
def test_rename_a_model(browser: Any, ui: UI, api: httpx.Client) -> None:
    context, page = open_page(browser, ui, "/models/to-rename", ".nbt-models-versions")
    try:
        page.click(".nbt-models-rename-button")
        page.fill(".nbt-models-rename-input", "renamed")
        page.click(".nbt-models-rename-ok")
        page.wait_for_function("location.hash === '#/models/renamed'")
        page.wait_for_function("document.querySelector('.nbt-app-page-model h1')?.innerText === 'renamed'")
        assert page.locator(".nbt-models-versions tbody tr").count() == 1
        assert model(api, "renamed")["name"] == "renamed"
        assert get(api, "registered-models/get", name="to-rename")[0] == 404
        history = page.locator(".nbt-models-history tbody tr")
        history.first.wait_for()
        assert "to-rename \u2192 renamed" in history.first.inner_text()
        assert real_errors(page.errors) == []
    finally:
        context.close()


def test_delete_a_version_after_typing_its_name(browser: Any, ui: UI, api: httpx.Client) -> None:
    context, page = open_page(browser, ui, "/models/renamed/versions/1", ".nbt-models-overview")
    try:
        page.click(".nbt-models-delete-version")
        dialog = page.locator(".nbt-models-dialog")
        dialog.wait_for()
        dialog.locator(".nbt-models-confirm-input").fill("renamed/2")
        assert dialog.locator(".nbt-models-confirm").is_disabled()
        dialog.locator(".nbt-models-confirm-input").fill("renamed/1")
        dialog.locator(".nbt-models-confirm").click()
        page.wait_for_function("location.hash === '#/models/renamed'")
        page.wait_for_selector("section[data-section='versions']")
        assert "No versions yet" in page.locator("section[data-section='versions']").inner_text()
        assert get(api, "model-versions/get", name="renamed", version="1")[0] == 404
        assert real_errors(page.errors) == []
    finally:
        context.close()


def test_delete_a_model_after_typing_its_name(browser: Any, ui: UI, api: httpx.Client) -> None:
    context, page = open_page(browser, ui, "/models/doomed", ".nbt-models-versions, section[data-section='versions']")
    try:
        page.click(".nbt-models-delete-button")
        dialog = page.locator(".nbt-models-dialog")
        dialog.wait_for()
        assert dialog.locator(".nbt-models-confirm").is_disabled()
        dialog.locator(".nbt-models-cancel").click()
        assert model(api, "doomed")["name"] == "doomed"  # cancelled: still there
        page.click(".nbt-models-delete-button")
        page.fill(".nbt-models-confirm-input", "doomed")
        page.click(".nbt-models-confirm")
        page.wait_for_function("location.hash === '#/models'")
        page.wait_for_selector(".nbt-models-list")
        assert "doomed" not in shown_models(page)
        assert get(api, "registered-models/get", name="doomed")[0] == 404
        assert real_errors(page.errors) == []
    finally:
        context.close()


def test_page_load_times_are_recorded(browser: Any, ui: UI) -> None:
    """A cold load of each page (a new browser context: no cache) until its content is drawn;
    kept as test-artifacts/browser/webui-registry-timings.json for the comparison with MLflow's UI."""
    import json
    import time

    pages = {"models": ("/models", ".nbt-models-list tbody tr"),
             "model": ("/models/iris", ".nbt-models-history tbody tr"),
             "version": ("/models/iris/versions/2", ".nbt-models-signature-inputs tbody tr")}
    timings: dict[str, float] = {}
    for name, (route, ready) in pages.items():
        best = float("inf")
        for _ in range(3):
            context, page = new_page(browser, 1280, 800, http_errors=True)
            try:
                started = time.perf_counter()
                page.goto(ui.page_url(route))
                page.wait_for_selector(ready)
                best = min(best, (time.perf_counter() - started) * 1000)
                assert real_errors(page.errors) == []
            finally:
                context.close()
        timings[name] = round(best, 1)
    out = REPO / "test-artifacts" / "browser" / "webui-registry-timings.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(timings, indent=1))
    print("\nregistry pages, cold load (best of 3, ms):", timings)
    assert all(ms < 3000 for ms in timings.values()), timings


def test_pages_in_the_dark_theme_and_narrow_screen(browser: Any, ui: UI) -> None:
    context = browser.new_context(viewport={"width": 900, "height": 700}, color_scheme="dark")
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        page.goto(ui.page_url("/models/iris/versions/1"))
        page.wait_for_selector(".nbt-models-overview")
        assert page.evaluate("document.documentElement.dataset.theme") == "dark"
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        assert real_errors(errors) == []
    finally:
        context.close()
