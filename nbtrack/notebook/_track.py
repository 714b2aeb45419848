"""``%%track``: run a cell inside a run, with a live card, and always end the run."""

from __future__ import annotations

import logging
import traceback
import uuid
from collections.abc import Callable
from typing import Any

from IPython.core.error import UsageError
from IPython.display import display, update_display

from nbtrack.entities import RunStatus
from nbtrack.errors import NbtrackError
from nbtrack.notebook import _card, _context
from nbtrack.notebook._execute import compile_body, run_body
from nbtrack.notebook._extension import SOURCE_ARTIFACT, active_run_ids, end_runs_above
from nbtrack.tracking import fluent
from nbtrack.tracking.client import Client
from nbtrack.ui._mime import extension_known, use_widgets

__all__ = ["track_cell"]

log = logging.getLogger("nbtrack.notebook")
MAX_ERROR_CHARS = 500


def track_cell(shell: Any, args: Any, line: str, body: str) -> Any:
    __tracebackhide__ = True
    header = f"%%track {line}".rstrip()
    statements, expression = compile_body(shell, header, body)  # a SyntaxError starts no run
    tags = parse_pairs(args.tags)
    param_names = [n.strip() for n in (args.params or "").split(",") if n.strip()]
    current = fluent.active_run()
    if current is not None and not args.nested:
        raise UsageError(
            f"Run {current.info.run_id} ('{current.info.run_name}') is still active, started outside this "
            "cell. Use %%track --nested to log this cell as its child run, or end it first with "
            "nbtrack.end_run().")
    scoped = _autolog_scope() if args.autolog else None  # checked before a run exists
    experiment_id = _experiment_id(args.experiment)
    run = fluent.start_run(run_name=args.name, experiment_id=experiment_id, nested=args.nested, tags=tags)
    run_id = run.info.run_id
    depth = active_run_ids().index(run_id)
    client = Client()
    status, error = RunStatus.FINISHED, None
    autolog_off: Callable[[], None] | None = None
    card: _card.LiveCard | None = None
    experiment = ""
    try:
        _log_source(run_id, header, body)
        experiment = client.get_experiment(run.info.experiment_id).name
        card = _start_card(shell, client, run, experiment, args.quiet)
        if scoped is not None:  # autolog for this cell's run only, restored when the cell ends
            autolog_off = scoped(run_id).start().close
        return run_body(shell, statements, expression)
    except KeyboardInterrupt:
        status, error = RunStatus.KILLED, "KeyboardInterrupt"
        raise
    except BaseException as e:
        status, error = RunStatus.FAILED, _short_error(e)
        _log_failure(client, run_id, e, error)
        raise
    finally:
        _finish(shell, client, run_id, depth, status, error, param_names, autolog_off, card, experiment)


def parse_pairs(text: str | None) -> dict[str, str]:
    """``"a=1,b=x"`` -> ``{"a": "1", "b": "x"}``."""
    pairs: dict[str, str] = {}
    for item in (text or "").split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--tags expects key=value pairs separated by commas, got {item.strip()!r}.")
        pairs[key.strip()] = value.strip()
    return pairs


def _experiment_id(name: str | None) -> str | None:
    if not name:
        return None
    found = fluent.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    return fluent.create_experiment(name)


def _autolog_scope() -> Callable[..., Any]:
    try:
        from nbtrack.autolog import scoped
    except ImportError:
        raise NbtrackError(
            "%%track --autolog needs nbtrack.autolog(), which this nbtrack does not have yet. Drop "
            "--autolog and log with nbtrack.log_param / log_metric in the cell.") from None
    return scoped


def _log_source(run_id: str, header: str, body: str) -> None:
    cell = _context.current_cell()
    source = cell.raw_cell if cell is not None and body.rstrip("\n") in cell.raw_cell else f"{header}\n{body}"
    try:
        fluent.log_text(source, SOURCE_ARTIFACT, run_id=run_id)  # the client that knows its folder
    except Exception as e:  # context is best effort
        log.warning("nbtrack could not save the cell source of run %s: %s", run_id, e)
        return
    if cell is not None:
        cell.sourced.add(run_id)


def _short_error(e: BaseException) -> str:
    text = f"{type(e).__name__}: {e}".strip().rstrip(":")
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "\u2026"


def _log_failure(client: Client, run_id: str, e: BaseException, error: str) -> None:
    try:
        client.set_tag(run_id, "nbtrack.error", error)
        fluent.log_text("".join(traceback.format_exception(e)), "cell/traceback.txt", run_id=run_id)
    except Exception as failure:
        log.warning("nbtrack could not record the error of run %s: %s", run_id, failure)


def _start_card(shell: Any, client: Client, run: Any, experiment: str, quiet: bool) -> _card.LiveCard | None:
    if quiet:
        return None
    display_id = uuid.uuid4().hex

    def publish(payload: dict[str, Any], first: bool) -> None:
        if first:
            display(payload, raw=True, display_id=display_id)
        else:
            update_display(payload, raw=True, display_id=display_id)

    initial = _card.CardData(run.info.run_id, run.info.run_name, RunStatus.RUNNING, experiment,
                             run.info.start_time)
    # Where nbtrack's JupyterLab extension is known to draw the card, it polls the Jupyter server
    # itself (the kernel is busy with the cell); elsewhere a kernel thread refreshes it, the
    # extension's data and the static HTML copy alike (nbclient, jupyter console, other front ends).
    extension = not use_widgets()
    return _card.LiveCard(_card.CardReader(client, run.info.run_id, experiment), publish, initial,
                          live=can_update_displays(shell),
                          render=_card.mime_bundle if extension else _card.bundle,
                          refresh=not extension_known())


def can_update_displays(shell: Any) -> bool:
    """False in a terminal, where every display update would print another copy."""
    from IPython.core.displaypub import DisplayPublisher

    return type(shell.display_pub) is not DisplayPublisher


def _finish(shell: Any, client: Client, run_id: str, depth: int, status: str, error: str | None,
            param_names: list[str], autolog_off: Callable[[], None] | None, card: _card.LiveCard | None,
            experiment: str) -> None:
    """End the run whatever happened; report (never raise) what fails on the way."""
    if card is not None:
        card.stop()  # its last refresh would only compete with the final flush
    try:
        if autolog_off is not None:
            autolog_off()
        if param_names:
            _log_params(client, run_id, shell.user_ns, param_names)
    except Exception as e:
        log.warning("nbtrack: while finishing run %s: %s", run_id, e)
    finally:
        try:
            stack = active_run_ids()
            if depth < len(stack) and stack[depth] == run_id:  # the cell may have ended it itself
                end_runs_above(depth, status)
            # A durable segment is all "flushed" needs: every reader, in any process, folds
            # pending segments in before it reads. Skipping the compaction here keeps an empty
            # tracked cell's overhead to a few milliseconds.
            # On a tracking server: acknowledged, or (while it is away) safe in the local spool.
            getattr(client.store, "make_durable", client.store.flush)()
        except Exception as e:
            log.warning("nbtrack could not end run %s: %s", run_id, e)
        if card is not None:
            try:
                card.finish(_final_card(card, run_id, experiment, status, error))
            except Exception as e:  # a display problem must not hide the cell's own error
                log.warning("nbtrack could not show the card of run %s: %s", run_id, e)


def _log_params(client: Client, run_id: str, namespace: dict[str, Any], names: list[str]) -> None:
    missing = [n for n in names if n not in namespace]
    if missing:
        print(f"nbtrack: --params: no variable named {', '.join(missing)} in the notebook; not logged")
    values = {n: namespace[n] for n in names if n in namespace}
    for name, value in values.items():
        try:
            client.log_param(run_id, name, value)
        except NbtrackError as e:
            print(f"nbtrack: --params: {name} not logged: {e}")


def _final_card(card: _card.LiveCard, run_id: str, experiment: str, status: str,
                error: str | None) -> _card.CardData:
    try:
        return card.read(error)
    except Exception as e:
        log.warning("nbtrack could not read run %s for its card: %s", run_id, e)
        return _card.CardData(run_id, run_id[:8], status, experiment, error=error)
