"""The web UI's experiments page (#/experiments) in chromium against a real ``nbtrack server``:
the list, search (plain text and MLflow's filter), deleted experiments, create, rename, delete,
restore, tags, errors in place, keyboard navigation and deep links. Each test checks the screen
(and, for a change, the server's state over its REST API).

The store: "churn-model" (tag team=ml), "churn-baseline", "vision" (tag team=cv, with a run),
"old-attempt" (deleted), and the Default experiment. Tests that change experiments work on ones
they create, so the order of tests does not matter.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.lab import new_page
from tests.browser.webui import UI, real_errors, serve_ui

pytestmark = pytest.mark.browser
IDS: dict[str, str] = {}


def build(uri: str) -> None:
    import nbtrack

    IDS["churn-model"] = nbtrack.create_experiment("churn-model", tags={"team": "ml"})
    IDS["churn-baseline"] = nbtrack.create_experiment("churn-baseline")
    IDS["vision"] = nbtrack.create_experiment("vision", tags={"team": "cv"})
    IDS["old-attempt"] = nbtrack.create_experiment("old-attempt")
    nbtrack.MlflowClient().delete_experiment(IDS["old-attempt"])
    nbtrack.set_experiment("vision")
    with nbtrack.start_run(run_name="first"):
        nbtrack.log_metric("acc", 0.9)
    nbtrack.flush()


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UI]:
    yield from serve_ui(tmp_path_factory, "webui-experiments", build)


@pytest.fixture
def page(browser: Any, ui: UI) -> Iterator[Any]:
    context, page = new_page(browser, 1280, 800, timeout=20_000)
    yield page
    context.close()


def api(ui: UI, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{ui.url}/api/2.0/mlflow/{path}", data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as r:
        return json.loads(r.read() or b"{}")


def names(page: Any) -> list[str]:
    return page.locator("tr.nbt-app-exp-row .nbt-app-exp-name").all_inner_texts()


def wait_for_names(page: Any, expected: list[str]) -> None:
    """Until the list shows exactly ``expected`` (a sort or search reloads it: rows go, then come back)."""
    page.wait_for_function("want => JSON.stringify([...document.querySelectorAll('tr.nbt-app-exp-row .nbt-app-exp-name')]"
                           ".map(e => e.textContent)) === JSON.stringify(want)", arg=expected)


def open_list(page: Any, ui: UI, query: str = "") -> None:
    page.goto(ui.page_url("/experiments" + query))
    page.locator("tr.nbt-app-exp-row, .nbt-app-empty, .nbt-app-error").first.wait_for()


def row(page: Any, name: str) -> Any:
    return page.locator("tr.nbt-app-exp-row", has=page.locator(".nbt-app-exp-name", has_text=name))


def test_the_list_shows_every_active_experiment_newest_first(page, ui, shot):
    open_list(page, ui)
    shown = names(page)
    assert shown[:4] == ["vision", "churn-baseline", "churn-model", "Default"] or shown[-1] == "Default"
    assert "old-attempt" not in shown
    vision = row(page, "vision")
    cells = vision.locator("td").all_inner_texts()[1:]  # after the tick
    assert cells[1] == IDS["vision"]
    assert cells[2].startswith("20") and cells[3].startswith("20")  # creation and last update times
    assert vision.locator(".nbt-app-tag").inner_text() == "team: cv"
    assert cells[5] == "active"
    assert page.title() == "Experiments \u2014 nbtrack"
    shot(page, "webui-experiments")
    assert real_errors(page.errors) == []


def test_plain_text_search_is_a_name_contains(page, ui):
    open_list(page, ui)
    page.locator(".nbt-app-exp-search").fill("churn")
    page.wait_for_function("() => location.hash.includes('q=churn')")
    page.wait_for_function("() => document.querySelectorAll('tr.nbt-app-exp-row').length === 2")
    assert sorted(names(page)) == ["churn-baseline", "churn-model"]


def test_mlflow_filter_search_and_its_error_in_place(page, ui):
    open_list(page, ui)
    search = page.locator(".nbt-app-exp-search")
    search.fill("tags.team = 'ml'")
    search.press("Enter")
    page.wait_for_function("() => document.querySelectorAll('tr.nbt-app-exp-row').length === 1")
    assert names(page) == ["churn-model"]
    search.fill("name LIKE")
    search.press("Enter")
    error = page.locator(".nbt-app-exp-list .nbt-app-error")
    error.wait_for()
    assert "INVALID_PARAMETER_VALUE" in error.inner_text()
    assert search.input_value() == "name LIKE"  # the box keeps what was typed
    assert real_errors(page.errors, ("400 (Bad Request)",)) == []


def test_a_search_survives_a_reload(page, ui):
    open_list(page, ui, "?q=churn")
    page.wait_for_function("() => document.querySelectorAll('tr.nbt-app-exp-row').length === 2")
    page.reload()
    page.wait_for_function("() => document.querySelectorAll('tr.nbt-app-exp-row').length === 2")
    assert page.locator(".nbt-app-exp-search").input_value() == "churn"


def test_deleted_experiments_are_one_switch_away(page, ui):
    open_list(page, ui)
    page.locator(".nbt-app-exp-view").select_option("deleted")
    page.wait_for_function("() => location.hash.includes('view=deleted')")
    page.wait_for_function("() => document.querySelectorAll('tr.nbt-app-exp-row').length === 1")
    assert names(page) == ["old-attempt"]
    assert row(page, "old-attempt").locator(".nbt-app-badge-deleted").inner_text() == "deleted"
    page.locator(".nbt-app-exp-view").select_option("all")
    page.wait_for_function("() => document.querySelectorAll('tr.nbt-app-exp-row').length === 5")


def test_no_match_says_what_to_do(page, ui):
    open_list(page, ui, "?q=nothing-is-called-this")
    assert "No experiment matches" in page.locator(".nbt-app-empty").inner_text()


def test_create_opens_the_new_experiment_and_a_taken_name_is_an_error_in_place(page, ui, shot):
    open_list(page, ui)
    page.locator(".nbt-app-exp-new").click()
    name = page.locator(".nbt-app-exp-create-name")
    name.fill("vision")
    name.press("Enter")
    error = page.locator(".nbt-app-exp-create-error .nbt-app-error")
    error.wait_for()
    assert "RESOURCE_ALREADY_EXISTS" in error.inner_text()
    name.fill("made-in-the-browser")
    page.locator(".nbt-app-exp-create-ok").click()
    page.wait_for_selector(".nbt-app-page-runs[data-ready='1']")
    assert page.locator("h1").inner_text() == "made-in-the-browser"
    assert "No runs in this experiment yet" in page.locator(".nbt-app-empty").inner_text()
    created = api(ui, "experiments/get-by-name?experiment_name=made-in-the-browser")["experiment"]
    assert page.evaluate("location.hash") == f"#/experiments/{created['experiment_id']}"
    shot(page, "webui-runs-empty")
    assert real_errors(page.errors, ("400 (Bad Request)",)) == []


def test_rename_and_a_taken_name(page, ui):
    eid = api(ui, "experiments/create", {"name": "to-rename"})["experiment_id"]
    open_list(page, ui)
    target = row(page, "to-rename")
    target.locator(".nbt-app-exp-rename").click()
    box = target.locator(".nbt-app-exp-rename-input")
    box.fill("vision")
    box.press("Enter")
    error = page.locator(f"tr.nbt-app-exp-row[data-experiment-id='{eid}'] + tr .nbt-app-error")
    error.wait_for()
    assert "vision" in error.inner_text()
    box.fill("renamed-here")
    target.locator(".nbt-app-exp-save").click()
    row(page, "renamed-here").wait_for()
    assert api(ui, f"experiments/get?experiment_id={eid}")["experiment"]["name"] == "renamed-here"
    assert real_errors(page.errors, ("400 (Bad Request)",)) == []


def test_delete_and_restore(page, ui):
    eid = api(ui, "experiments/create", {"name": "short-lived"})["experiment_id"]
    open_list(page, ui)
    target = row(page, "short-lived")
    target.locator(".nbt-app-exp-delete").click()
    target.locator(".nbt-app-exp-cancel").click()  # a second step: nothing is deleted by one click
    assert api(ui, f"experiments/get?experiment_id={eid}")["experiment"]["lifecycle_stage"] == "active"
    target.locator(".nbt-app-exp-delete").click()
    target.locator(".nbt-app-exp-confirm-delete").click()
    page.wait_for_function("() => ![...document.querySelectorAll('.nbt-app-exp-name')].some(e => e.textContent === 'short-lived')")
    assert api(ui, f"experiments/get?experiment_id={eid}")["experiment"]["lifecycle_stage"] == "deleted"
    page.locator(".nbt-app-exp-view").select_option("deleted")
    row(page, "short-lived").locator(".nbt-app-exp-restore").click()
    page.wait_for_function("() => ![...document.querySelectorAll('.nbt-app-exp-name')].some(e => e.textContent === 'short-lived')")
    assert api(ui, f"experiments/get?experiment_id={eid}")["experiment"]["lifecycle_stage"] == "active"
    assert real_errors(page.errors) == []


def test_set_and_delete_tags(page, ui, shot):
    eid = api(ui, "experiments/create", {"name": "tagged"})["experiment_id"]
    open_list(page, ui)
    row(page, "tagged").locator(".nbt-app-exp-tags-edit").click()
    editor = page.locator(".nbt-app-tag-editor")
    editor.locator(".nbt-app-tag-key").fill("owner")
    editor.locator(".nbt-app-tag-value").fill("ana")
    shot(page, "webui-experiments-tags")
    editor.locator(".nbt-app-tag-set").click()
    page.wait_for_function("() => [...document.querySelectorAll('.nbt-app-exp-tags .nbt-app-tag')].some(e => e.textContent === 'owner: ana')")
    tags = api(ui, f"experiments/get?experiment_id={eid}")["experiment"].get("tags", [])
    assert {"key": "owner", "value": "ana"} in tags
    row(page, "tagged").locator(".nbt-app-exp-tags-edit").click()
    page.locator(".nbt-app-tag-remove[aria-label='delete tag owner']").click()
    gone = f"() => !document.querySelector(\"tr[data-experiment-id='{eid}'] .nbt-app-exp-tags .nbt-app-tag\")"
    page.wait_for_function(gone)
    assert not [t for t in api(ui, f"experiments/get?experiment_id={eid}")["experiment"].get("tags", []) if t["key"] == "owner"]
    assert real_errors(page.errors) == []


def test_keyboard_from_the_search_box_to_a_runs_page(page, ui):
    open_list(page, ui, "?q=churn")
    page.wait_for_function("() => document.querySelectorAll('tr.nbt-app-exp-row').length === 2")
    page.locator("h1").click()
    page.keyboard.press("/")  # as on GitHub: / goes to the search box
    assert page.locator(".nbt-app-exp-search").evaluate("el => el === document.activeElement")
    page.keyboard.press("ArrowDown")
    first = page.locator("tr.nbt-app-exp-row").nth(0)
    assert first.evaluate("el => el === document.activeElement")
    page.keyboard.press("ArrowDown")
    second = page.locator("tr.nbt-app-exp-row").nth(1)
    assert second.evaluate("el => el === document.activeElement")
    eid = second.get_attribute("data-experiment-id")
    page.keyboard.press(" ")  # space ticks the focused row
    assert second.locator(".nbt-app-exp-check").is_checked()
    assert page.locator(".nbt-app-exp-together").inner_text() == "Runs of 1 ticked"
    page.keyboard.press("Enter")
    page.wait_for_selector(".nbt-app-page-runs[data-ready='1']")
    assert page.evaluate("location.hash") == f"#/experiments/{eid}"
    page.go_back()
    page.wait_for_function("() => document.querySelectorAll('tr.nbt-app-exp-row').length === 2")
    assert page.locator(".nbt-app-exp-search").input_value() == "churn"


@pytest.fixture(scope="module")
def fresh_ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UI]:
    yield from serve_ui(tmp_path_factory, "webui-experiments-fresh")


def test_a_fresh_store_says_how_to_log_a_first_run(page, fresh_ui, shot):
    open_list(page, fresh_ui)
    assert names(page) == ["Default"]
    hint = page.locator(".nbt-app-empty")
    assert "%%track" in hint.inner_text()
    assert f"MLFLOW_TRACKING_URI={fresh_ui.url} python train.py" in hint.inner_text()
    shot(page, "webui-experiments-fresh")
    assert real_errors(page.errors) == []


def build_many(uri: str) -> None:
    import nbtrack

    for i in range(230):
        nbtrack.create_experiment(f"bulk-{i:03d}")
    nbtrack.flush()


@pytest.fixture(scope="module")
def many_ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UI]:
    yield from serve_ui(tmp_path_factory, "webui-experiments-many", build_many)


def test_more_experiments_than_a_page_show_with_show_more(page, many_ui):
    open_list(page, many_ui)
    assert len(names(page)) == 200
    assert names(page)[0] == "bulk-229"
    page.locator(".nbt-app-exp-more").click()
    page.wait_for_function("() => document.querySelectorAll('tr.nbt-app-exp-row').length === 231")
    assert names(page)[-1] == "Default"
    assert page.locator(".nbt-app-exp-more").count() == 0
    assert real_errors(page.errors) == []


def test_ticked_experiments_open_in_one_run_table(page, ui):
    open_list(page, ui)
    together = page.locator(".nbt-app-exp-together")
    assert together.is_disabled()
    row(page, "vision").locator(".nbt-app-exp-check").check()
    row(page, "churn-model").locator(".nbt-app-exp-check").check()
    together.click()
    page.wait_for_selector(".nbt-app-page-runs[data-ready='1']")
    assert page.evaluate("location.hash") == f"#/experiments/{IDS['vision']}?ids={IDS['churn-model']}"
    assert page.locator("h1").inner_text() == "vision + churn-model"
    assert page.locator(".nbt-row .nbt-run-name").all_inner_texts() == ["first"]
    assert real_errors(page.errors) == []


def test_headers_sort_the_list_and_the_url_keeps_it(page, ui):
    open_list(page, ui, "?q=churn")
    page.wait_for_function("() => document.querySelectorAll('tr.nbt-app-exp-row').length === 2")
    assert names(page) == ["churn-baseline", "churn-model"]  # newest first
    page.locator("th[data-sort='name'] button").click()
    page.wait_for_function("() => location.hash.includes('sort=name-asc')")
    page.wait_for_function("() => document.querySelector('th[data-sort=name]')?.getAttribute('aria-sort') === 'ascending'")
    wait_for_names(page, ["churn-baseline", "churn-model"])
    page.locator("th[data-sort='name'] button").click()
    page.wait_for_function("() => document.querySelector('tr.nbt-app-exp-row .nbt-app-exp-name')?.textContent === 'churn-model'")
    assert "sort=name-desc" in page.evaluate("location.hash")
    page.reload()
    page.wait_for_function("() => document.querySelectorAll('tr.nbt-app-exp-row').length === 2")
    assert names(page) == ["churn-model", "churn-baseline"]
    assert page.locator("th[data-sort='name']").inner_text() == "Name \u25bc"
    page.locator("th[data-sort='creation_time'] button").click()
    page.wait_for_function("() => !location.hash.includes('sort=')")  # back to the default, newest first
    wait_for_names(page, ["churn-baseline", "churn-model"])
    assert real_errors(page.errors) == []
