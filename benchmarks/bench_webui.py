"""The web UI side by side with MLflow's UI, on the same runs, measured in one run.

    .venv/bin/python benchmarks/bench_webui.py [--quick] [--repeat N] [--keep]

One nbtrack store is built with the real nbtrack API: experiment "sweep" (6 parent runs of an
optimizer sweep with 10 nested runs each = 66 runs; params, 50-step histories of loss, val_loss
and acc, two ``system/`` metrics, a tag, an artifact per run, one run FAILED) and experiment
"bench" of 10,000 runs (benchmarks/bench_ui.py's ``build_runs``). The sweep goes into an MLflow
sqlite store with ``nbtrack export mlflow``; the 10,000 runs are written into the same MLflow
database with their ids, params, metrics and tags (row by row through MLflow's client would take
an hour). Then ``nbtrack server`` and ``mlflow server`` run side by side on 127.0.0.1 and Debian's
chromium (Playwright) opens each page in a fresh browser context (no cache), ``--repeat`` times;
the figure is the median time from ``goto`` to the page usable:

* experiments list: the link of the "sweep" experiment;
* runs table (66 runs / 10,000 runs): the newest top-level run's row drawn;
* run page: the run's params drawn (the key "dropout" on the screen);
* compare 3 / 10 runs: the table of the runs (the last run's name in it) and a plot drawn; and for
  10 runs the table alone (nbtrack's plots wait for plotly.js, a 4.8 MB chunk evaluated in one task).

MLflow's runs table is opened at ``#/experiments/<id>/runs`` (its default page of an experiment
is the GenAI overview, which the qualitative list records). The qualitative points of the issue
are then checked by script on both UIs. Prints a markdown table; writes
benchmarks/results/bench_webui.json (``-quick`` with --quick).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sqlite3
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, REPO)
from _common import clean_environment, log, versions, workspace  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
OPTIMIZERS = ["sgd", "adam", "rmsprop", "adamw", "lion", "adagrad"]
BIG = 10_000
TIMEOUT_MS = 180_000


# -- the stores -------------------------------------------------------------------------------
def build_sweep(root: str) -> None:
    """66 runs: 6 parents x 10 nested runs, one FAILED; histories, system metrics, an artifact each."""
    import nbtrack

    nbtrack.set_tracking_uri(root)
    nbtrack.set_experiment("sweep")
    rng = random.Random(0)
    for g, opt in enumerate(OPTIMIZERS):
        with nbtrack.start_run(run_name=f"sweep-{opt}"):
            nbtrack.log_param("optimizer", opt)
            for j in range(10):
                with nbtrack.start_run(run_name=f"{opt}-{j}", nested=True):
                    lr = 10 ** rng.uniform(-4, -1)
                    nbtrack.log_params({"lr": lr, "batch_size": rng.choice([32, 64, 128]), "optimizer": opt,
                                        "dropout": round(rng.random() * 0.5, 3), "depth": rng.randint(2, 8), "seed": 7})
                    for s in range(50):
                        nbtrack.log_metrics({"loss": 2 / (s + 1) + rng.random() * 0.1,
                                             "val_loss": 2.2 / (s + 1) + rng.random() * 0.1,
                                             "acc": 0.5 + 0.009 * s + rng.random() * 0.02}, step=s)
                    nbtrack.log_metrics({"system/cpu_utilization_percentage": 40 + rng.random() * 20,
                                         "system/system_memory_usage_megabytes": 2000 + rng.random() * 100}, step=0)
                    nbtrack.set_tag("team", "vision")
                    nbtrack.log_text(f"lr={lr}\n", "notes/config.txt")
                    if g == len(OPTIMIZERS) - 1 and j == 9:
                        nbtrack.end_run("FAILED")
    nbtrack.flush()


def export_sweep(root: str, db: str) -> None:
    subprocess.run([sys.executable, "-m", "nbtrack", "export", "mlflow", f"sqlite:///{db}", "--store", root, "--quiet"],
                   check=True, env={**os.environ, "PYTHONPATH": REPO})


def copy_big_into_mlflow(root: str, db: str) -> None:
    """The 10,000 runs of "bench" into MLflow's database, ids and values as nbtrack has them."""
    import mlflow

    import nbtrack

    nbtrack.set_tracking_uri(root)
    runs = nbtrack.search_runs(experiment_names=["bench"], output_format="list", max_results=100_000)
    exp = mlflow.MlflowClient(tracking_uri=f"sqlite:///{db}").create_experiment("bench")
    con = sqlite3.connect(db)
    with con:
        for r in runs:
            i = r.info
            con.execute("INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name, user_id, status,"
                        " start_time, end_time, source_version, lifecycle_stage, artifact_uri, experiment_id)"
                        " VALUES (?, ?, 'LOCAL', '', '', ?, ?, ?, ?, '', 'active', ?, ?)",
                        (i.run_id, i.run_name, i.user_id, i.status, i.start_time, i.end_time,
                         os.path.join(os.path.dirname(db), "mlruns", exp, i.run_id, "artifacts"), int(exp)))
            con.executemany("INSERT INTO params (key, value, run_uuid) VALUES (?, ?, ?)",
                            [(k, v, i.run_id) for k, v in r.data.params.items()])
            con.executemany("INSERT INTO tags (key, value, run_uuid) VALUES (?, ?, ?)",
                            [(k, v, i.run_id) for k, v in {**r.data.tags, "mlflow.runName": i.run_name}.items()])
            rows = [(k, v, i.start_time, 0, 0, i.run_id) for k, v in r.data.metrics.items()]
            con.executemany("INSERT INTO metrics (key, value, timestamp, step, is_nan, run_uuid) VALUES (?, ?, ?, ?, ?, ?)", rows)
            con.executemany("INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, run_uuid) VALUES (?, ?, ?, ?, ?, ?)", rows)
    con.close()


# -- the servers ------------------------------------------------------------------------------
def wait_health(url: str, proc: subprocess.Popen[bytes], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url + "/health", timeout=3):
                return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not start") from None
            time.sleep(0.5)


def start(cmd: list[str], url: str, logfile: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    with open(logfile, "ab") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    wait_health(url, proc)
    return proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- measuring --------------------------------------------------------------------------------
class Browser:
    def __init__(self) -> None:
        from playwright.sync_api import sync_playwright

        self._p = sync_playwright().start()
        self.browser = self._p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)

    def page(self) -> tuple[Any, Any]:
        context = self.browser.new_context(viewport={"width": 1280, "height": 800})
        page: Any = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        errors: list[str] = []
        page.errors = errors
        page.on("pageerror", lambda e: errors.append(str(e)[:300]))
        return context, page

    def time_to(self, url: str, ready: Callable[[Any], None], repeat: int) -> tuple[float | None, str]:
        """Median ms from goto(url) until ready(page) returns; None (and why) when it never does."""
        times = []
        for _ in range(repeat):
            context, page = self.page()
            try:
                t0 = time.perf_counter()
                page.goto(url)
                ready(page)
                times.append((time.perf_counter() - t0) * 1000)
            except Exception as e:  # a page that never gets usable is a result, not a crash of the bench
                return None, f"{type(e).__name__}: {str(e).splitlines()[0][:160]}"
            finally:
                context.close()
        return statistics.median(times), ""

    def close(self) -> None:
        self.browser.close()
        self._p.stop()


def visible(selector: str) -> Callable[[Any], None]:
    return lambda page: page.locator(selector).first.wait_for(state="visible")


def all_visible(*selectors: str) -> Callable[[Any], None]:
    def ready(page: Any) -> None:
        for s in selectors:
            page.locator(s).first.wait_for(state="visible")
    return ready


def mlflow_runs(ids: list[str]) -> str:
    return "[" + ",".join(f"%22{i}%22" for i in ids) + "]"


def measure(b: Browser, nb: str, ml: str, s: dict[str, Any], repeat: int) -> list[dict[str, Any]]:
    sweep_nb, sweep_ml, big_nb, big_ml = s["nb_sweep"], s["ml_sweep"], s["nb_big"], s["ml_big"]
    child, three, ten = s["child"], s["ids"][:3], s["ids"][:10]
    last3, last10 = s["names"][2], s["names"][9]
    pages = [
        ("experiments list", f"{nb}/#/experiments", visible(".nbt-app-page-experiments a:text-is('sweep')"),
         f"{ml}/#/experiments", visible("[data-testid=experiment-list-item-link]:text-is('sweep')")),
        ("runs table, 66 runs", f"{nb}/#/experiments/{sweep_nb}", visible("tr.nbt-row:has-text('sweep-adagrad')"),
         f"{ml}/#/experiments/{sweep_ml}/runs?workflowType=machine_learning", visible(".ag-row:has-text('sweep-adagrad')")),
        ("run page", f"{nb}/#/runs/{child}", visible(".nbt-app-page-run :text-is('dropout')"),
         f"{ml}/#/experiments/{sweep_ml}/runs/{child}", visible(":text-is('dropout')")),
        ("compare 10 runs: the table of the runs", f"{nb}/#/compare?runs={','.join(ten)}",
         visible(f".nbt-compare-table thead:has-text('{last10}')"),
         f"{ml}/#/compare-runs?runs={mlflow_runs(ten)}&experiments=[%22{sweep_ml}%22]", visible(f"table:has-text('{last10}')")),
        ("compare 3 runs", f"{nb}/#/compare?runs={','.join(three)}",
         all_visible(f".nbt-compare-table thead:has-text('{last3}')", ".nbt-chart-plot.js-plotly-plot"),
         f"{ml}/#/compare-runs?runs={mlflow_runs(three)}&experiments=[%22{sweep_ml}%22]",
         all_visible(f"table:has-text('{last3}')", ".js-plotly-plot")),
        ("compare 10 runs", f"{nb}/#/compare?runs={','.join(ten)}",
         all_visible(f".nbt-compare-table thead:has-text('{last10}')", ".nbt-chart-plot.js-plotly-plot"),
         f"{ml}/#/compare-runs?runs={mlflow_runs(ten)}&experiments=[%22{sweep_ml}%22]",
         all_visible(f"table:has-text('{last10}')", ".js-plotly-plot")),
        (f"runs table, {BIG:,} runs", f"{nb}/#/experiments/{big_nb}", visible(f"tr.nbt-row:has-text('run-{BIG - 1}')"),
         f"{ml}/#/experiments/{big_ml}/runs?workflowType=machine_learning", visible(f".ag-row:has-text('run-{BIG - 1}')")),
    ]
    rows = []
    for name, nb_url, nb_ready, ml_url, ml_ready in pages:
        nb_ms, nb_why = b.time_to(nb_url, nb_ready, repeat)
        ml_ms, ml_why = b.time_to(ml_url, ml_ready, repeat)
        log(f"{name}: nbtrack {nb_ms} ms {nb_why} | MLflow {ml_ms} ms {ml_why}")
        rows.append({"page": name, "nbtrack_ms": nb_ms, "mlflow_ms": ml_ms, "nbtrack_note": nb_why, "mlflow_note": ml_why})
    return rows


# -- the qualitative points, checked on the screen --------------------------------------
def check(b: Browser, nb: str, ml: str, s: dict[str, Any]) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []

    def point(name: str, fn_nb: Callable[[Any], str], url_nb: str, fn_ml: Callable[[Any], str], url_ml: str) -> None:
        answers = []
        for fn, url in ((fn_nb, url_nb), (fn_ml, url_ml)):
            context, page = b.page()
            try:
                page.goto(url)
                answers.append(fn(page))
            except Exception as e:
                answers.append(f"not checked ({type(e).__name__}: {str(e).splitlines()[0][:120]})")
            finally:
                context.close()
        log(f"{name}: nbtrack: {answers[0]} | MLflow: {answers[1]}")
        out.append({"point": name, "nbtrack": answers[0], "mlflow": answers[1]})

    sweep_nb, sweep_ml, child = s["nb_sweep"], s["ml_sweep"], s["child"]

    def nb_opens(page: Any) -> str:
        page.locator("tr.nbt-row").first.wait_for()
        return f"the run table ({page.url.split('#')[1]})"

    def ml_opens(page: Any) -> str:
        page.wait_for_timeout(8000)
        return f"{page.url.split('#')[1]} ({'GenAI overview' if 'genai' in page.url or 'overview' in page.url else 'runs'})"

    point("an experiment's link opens on", nb_opens, f"{nb}/#/experiments/{sweep_nb}", ml_opens, f"{ml}/#/experiments/{sweep_ml}")

    def nb_columns(page: Any) -> str:
        page.locator("tr.nbt-row").first.wait_for()
        p, m = page.locator("th.nbt-kind-param").count(), page.locator("th.nbt-kind-metric").count()
        return f"yes: {p} param and {m} metric columns" if p and m else f"no ({p} params, {m} metrics)"

    def ml_columns(page: Any) -> str:
        page.locator(".ag-row").first.wait_for()
        heads = [t.strip() for t in page.locator(".ag-header-cell").all_inner_texts() if t.strip()]
        shown = [h for h in heads if h in ("lr", "loss", "acc", "dropout", "optimizer")]
        return f"yes: {', '.join(shown)}" if shown else f"no: {', '.join(heads)}"

    runs_nb, runs_ml = f"{nb}/#/experiments/{sweep_nb}", f"{ml}/#/experiments/{sweep_ml}/runs?workflowType=machine_learning"
    point("params and metrics shown by default", nb_columns, runs_nb, ml_columns, runs_ml)

    or_filter = "params.optimizer = 'adam' OR params.optimizer = 'sgd'"

    def nb_filter(text: str) -> Callable[[Any], str]:
        def fn(page: Any) -> str:
            page.locator("tr.nbt-row").first.wait_for()
            box = page.locator(".nbt-filter-input")
            box.fill(text)
            box.press("Enter")
            page.wait_for_timeout(2500)
            rows = page.locator("tr.nbt-row").count()
            error = page.locator(".nbt-filter-error:visible")
            said = error.first.inner_text().splitlines()[0][:90] if error.count() else ""
            return f"{rows} rows shown" + (f", error in place: {said!r}" if said else "")
        return fn

    def ml_filter(text: str) -> Callable[[Any], str]:
        def fn(page: Any) -> str:
            page.locator(".ag-row").first.wait_for()
            box = page.locator("input[data-testid=search-box]")
            box.fill(text)
            box.press("Enter")
            page.wait_for_timeout(5000)
            rows = page.locator(".ag-row").count()
            error = page.locator(":text('Request error')")
            said = page.locator(":text('Invalid')").first.inner_text()[:90] if page.locator(":text('Invalid')").count() else ""
            return f"{rows} rows shown" + (", the table replaced by 'Request error'" if error.count() else "") + (f": {said!r}" if said else "")
        return fn

    point(f"OR in a filter ({or_filter})", nb_filter(or_filter), runs_nb, ml_filter(or_filter), runs_ml)
    bad = "metrics.loss >> 1"
    point(f"a bad filter ({bad})", nb_filter(bad), runs_nb, ml_filter(bad), runs_ml)

    ids = s["all_runs"]  # the 60 nested runs first, then the 6 parents

    def nb_3_to_many(page: Any) -> str:
        page.locator(".nbt-chart-plot.js-plotly-plot").first.wait_for()
        said = []
        for n in (50, 66, 3):
            page.evaluate(f"location.hash = '#/compare?runs={','.join(ids[:n])}'")
            if n <= 50:
                page.wait_for_function(f"document.querySelectorAll('thead th.nbt-compare-run').length === {n}")
                page.locator(".nbt-chart-plot.js-plotly-plot").first.wait_for()
                said.append(f"{n}: {page.locator('h1').inner_text()}")
            else:
                page.locator(".nbt-app-empty-title").wait_for()
                said.append(f"{n}: {page.locator('.nbt-app-empty-title').inner_text()!r}")
        return "; ".join(said) + f"; page errors: {len(page.errors)}"

    def ml_3_to_many(page: Any) -> str:
        page.locator(".js-plotly-plot").first.wait_for()
        said = []
        for n in (len(ids), 3):
            page.evaluate(f"location.hash = '#/compare-runs?runs={mlflow_runs(ids[:n])}&experiments=[%22{sweep_ml}%22]'")
            page.wait_for_timeout(8000)
            title = page.locator(":text-matches('Comparing \\\\d+ Runs')").first
            head = title.inner_text() if title.count() else "(no title: the page failed?)"
            said.append(f"{n}: {head!r}")
        return "; ".join(said) + f"; page errors: {len(page.errors)}"

    three = ids[:3]
    point("compare 3 -> many runs -> 3 (URL changed in place)", nb_3_to_many, f"{nb}/#/compare?runs={','.join(three)}",
          ml_3_to_many, f"{ml}/#/compare-runs?runs={mlflow_runs(three)}&experiments=[%22{sweep_ml}%22]")

    def nb_nested(page: Any) -> str:
        page.locator("tr.nbt-row").first.wait_for()
        parents = page.locator("tr.nbt-row[data-depth='0']").count()
        nested = page.locator("tr.nbt-row.nbt-nested").count()
        toggles = page.locator("tr.nbt-row [title*='nested run']").count()
        return f"yes: {parents} top-level rows, {nested} nested rows shown, {toggles} expand/collapse toggles"

    def ml_nested(page: Any) -> str:
        page.locator(".ag-row").first.wait_for()
        rows = page.locator(".ag-center-cols-container .ag-row").count()
        return f"yes: {rows} top-level rows of 66 runs, children behind an expander" if rows < 66 else f"{rows} rows (flat)"

    point("nested runs grouped", nb_nested, runs_nb, ml_nested, runs_ml)

    def nb_colours(page: Any) -> str:
        page.locator(".nbt-chart-legend-item").first.wait_for()
        same = page.evaluate("""() => [...document.querySelectorAll('thead th.nbt-compare-run')].every(th => {
            const legend = document.querySelector(`.nbt-chart-legend-item[data-run='${th.dataset.run}'] .nbt-chart-swatch`);
            return legend && legend.style.background === th.querySelector('.nbt-chart-swatch').style.background; })""")
        return "yes: each run's colour is the same in the table, the legend and the lines" if same else "no: colours differ"

    def ml_colours(page: Any) -> str:
        page.locator(".ag-row").first.wait_for()
        dots = page.locator("[data-testid=experiment-view-table-run-color]").count()
        return f"yes: a colour per run in the table ({dots} swatches), reused by its charts"

    point("per-run colours", nb_colours, f"{nb}/#/compare?runs={','.join(ids[:5])}", ml_colours, runs_ml)

    def nb_tags(page: Any) -> str:
        page.locator(".nbt-compare-table").wait_for()
        return "yes: " + ", ".join(page.locator("tr[data-kind=tag]").evaluate_all("rs => rs.map(r => r.dataset.key)")[:4])

    def ml_tags(page: Any) -> str:
        page.wait_for_timeout(8000)
        return "yes: a Tags section" if page.locator(":text-is('Tags')").count() else "no Tags section"

    point("tags in compare", nb_tags, f"{nb}/#/compare?runs={','.join(ids[:3])}", ml_tags,
          f"{ml}/#/compare-runs?runs={mlflow_runs(ids[:3])}&experiments=[%22{sweep_ml}%22]")

    def nb_system(page: Any) -> str:
        page.locator(".nbt-cmp-keys").wait_for(state="attached")
        keys = page.locator(".nbt-cmp-key").evaluate_all("ks => ks.map(k => k.value).filter(v => v.startsWith('system/'))")
        return f"yes: {', '.join(keys)} in compare's metric picker" if keys else "no system metrics"

    def ml_system(page: Any) -> str:
        page.wait_for_timeout(8000)
        return "yes: a System metrics tab" if page.locator(":text('System metrics')").count() else "no System metrics tab"

    point("system metrics", nb_system, f"{nb}/#/compare?runs={','.join(ids[:3])}", ml_system,
          f"{ml}/#/experiments/{sweep_ml}/runs/{child}")

    def nb_artifacts(page: Any) -> str:
        page.locator(":text('notes')").first.wait_for()
        return "yes: the artifacts tab lists notes/"

    def ml_artifacts(page: Any) -> str:
        page.locator(":text('notes')").first.wait_for()
        return "yes: the Artifacts tab lists notes/"

    point("artifacts", nb_artifacts, f"{nb}/#/runs/{child}?tab=artifacts", ml_artifacts,
          f"{ml}/#/experiments/{sweep_ml}/runs/{child}/artifacts")

    def nb_bars(page: Any) -> str:
        page.locator(".nbt-cmp-charts").wait_for()
        page.locator(".nbt-cmp-keys summary").click()
        page.locator(".nbt-cmp-key[value='system/cpu_utilization_percentage']").check()
        page.locator(".nbt-chart-panel[data-key='system/cpu_utilization_percentage'] .js-plotly-plot, "
                     ".nbt-cmp-bars[data-key='system/cpu_utilization_percentage'] .js-plotly-plot").first.wait_for()
        bars = page.locator(".nbt-cmp-bars[data-key='system/cpu_utilization_percentage'] .js-plotly-plot").count()
        return "yes: a bar per run" if bars else "no: one marker per run at step 0"

    def ml_bars(page: Any) -> str:
        return "yes (the issue's observation; not checked by script)"

    point("single values as bars", nb_bars, f"{nb}/#/compare?runs={','.join(ids[:3])}", ml_bars, f"{ml}/#/experiments")
    return out


# -- report -----------------------------------------------------------------------------------
def fmt_ms(v: float | None, why: str) -> str:
    return f"{v:,.0f}" if v is not None else f"did not finish ({why})"


def markdown(rows: list[dict[str, Any]], points: list[dict[str, str]], load: str, repeat: int) -> str:
    lines = [f"Median of {repeat} fresh page loads each (no browser cache), chromium headless, 1280x800. "
             f"Load while measuring: `{load}`.", "",
             "| page | nbtrack ms | MLflow ms | MLflow / nbtrack |", "|---|---:|---:|---:|"]
    for r in rows:
        ratio = f"{r['mlflow_ms'] / r['nbtrack_ms']:.1f}x" if r["nbtrack_ms"] and r["mlflow_ms"] else "-"
        lines.append(f"| {r['page']} | {fmt_ms(r['nbtrack_ms'], r['nbtrack_note'])} | "
                     f"{fmt_ms(r['mlflow_ms'], r['mlflow_note'])} | {ratio} |")
    lines += ["", "| point | nbtrack | MLflow |", "|---|---|---|"]
    lines += [f"| {p['point']} | {p['nbtrack']} | {p['mlflow']} |" for p in points]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="1 repeat, 1,000 runs instead of 10,000")
    parser.add_argument("--keep", action="store_true", help="keep the stores (printed)")
    args = parser.parse_args()
    global BIG
    if args.quick:
        args.repeat, BIG = 1, 1_000
    clean_environment()
    from bench_ui import build_runs

    import nbtrack

    with workspace(keep=args.keep) as tmp:
        root, db = os.path.join(tmp, "nbtrack"), os.path.join(tmp, "mlflow.db")
        t0 = time.perf_counter()
        build_sweep(root)
        log(f"sweep built in {time.perf_counter() - t0:.1f} s; exporting it to MLflow")
        export_sweep(root, db)
        log(f"building {BIG:,} runs")
        build_runs(root, BIG)
        copy_big_into_mlflow(root, db)
        log(f"stores ready in {time.perf_counter() - t0:.0f} s")
        nbtrack.set_tracking_uri(root)
        sweep = nbtrack.get_experiment_by_name("sweep")
        big = nbtrack.get_experiment_by_name("bench")
        assert sweep is not None and big is not None
        found = nbtrack.search_runs(experiment_ids=[sweep.experiment_id], output_format="list", max_results=1000)
        children = sorted((r for r in found if "mlflow.parentRunId" in r.data.tags), key=lambda r: r.info.run_name)
        con = sqlite3.connect(db)
        ml_sweep, ml_big = (str(con.execute("SELECT experiment_id FROM experiments WHERE name = ?", (n,)).fetchone()[0])
                            for n in ("sweep", "bench"))
        con.close()
        state = {"nb_sweep": sweep.experiment_id, "nb_big": big.experiment_id, "ml_sweep": ml_sweep, "ml_big": ml_big,
                 "ids": [r.info.run_id for r in children], "names": [r.info.run_name for r in children],
                 "child": children[0].info.run_id,
                 "all_runs": [r.info.run_id for r in children] + [r.info.run_id for r in found
                                                                      if "mlflow.parentRunId" not in r.data.tags]}
        nb_port, ml_port = free_port(), free_port()
        nb_url, ml_url = f"http://127.0.0.1:{nb_port}", f"http://127.0.0.1:{ml_port}"
        env = {**os.environ, "PYTHONPATH": REPO, "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}
        nb_proc = start([sys.executable, "-m", "nbtrack", "server", "--backend-store-uri", root, "--host", "127.0.0.1",
                         "--port", str(nb_port)], nb_url, os.path.join(tmp, "nbtrack-server.log"), env)
        ml_proc = None
        try:
            ml_proc = start([os.path.join(os.path.dirname(sys.executable), "mlflow"), "server", "--backend-store-uri",
                             f"sqlite:///{db}", "--host", "127.0.0.1", "--port", str(ml_port), "--workers", "1"],
                            ml_url, os.path.join(tmp, "mlflow-server.log"), env)
            b = Browser()
            try:
                load_before = open("/proc/loadavg").read().split()[:3]
                rows = measure(b, nb_url, ml_url, state, args.repeat)
                points = check(b, nb_url, ml_url, state)
                load_after = open("/proc/loadavg").read().split()[:3]
            finally:
                b.close()
        finally:
            stop(nb_proc)
            if ml_proc is not None:
                stop(ml_proc)
    load = f"load average {' '.join(load_before)} before, {' '.join(load_after)} after, 2 cores"
    report = markdown(rows, points, load, args.repeat)
    print(report)
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    path = os.path.join(HERE, "results", "bench_webui-quick.json" if args.quick else "bench_webui.json")
    with open(path, "w") as f:
        json.dump({"benchmark": "bench_webui", "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "rows": rows,
                   "points": points, "load": load, "repeat": args.repeat, "big_runs": BIG, "versions": versions()},
                  f, indent=2)
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
