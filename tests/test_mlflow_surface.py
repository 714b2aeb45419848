"""The API surface, compared with MLflow's own: every public ``mlflow.*`` function and class and
every ``MlflowClient`` method exists in nbtrack with a compatible signature, unless it is in
:data:`EXCLUDED` with the reason (the README's "What nbtrack leaves out" lists the same).

The list of names comes from the installed mlflow (the ``bench`` extra), so a new MLflow release
that adds a name makes this test fail until the name is implemented or excluded.

Compatible means: MLflow's parameters (private ``_x`` keyword-only ones aside), by name, in the
same order, of the same kind and with the same defaults; nbtrack may add keyword-only ones, or
ones with defaults after MLflow's.
"""

from __future__ import annotations

import enum
import inspect
from typing import Any

import pytest

import nbtrack

mlflow = pytest.importorskip("mlflow")

_GENAI_TRACING = "GenAI tracing (spans, traces, assessments, sessions): nbtrack tracks training runs, not LLM traces"
_PROMPTS = "prompt registry (GenAI): nbtrack has no prompt store"
_MCP = "MCP server registry (GenAI agents): not a training-tracking feature"
_GENAI_DATASETS = ("GenAI evaluation datasets (records for LLM judges, mlflow.genai.datasets); training "
                   "datasets are mlflow.data + log_input, which nbtrack has")

#: ``mlflow.<name>`` or ``MlflowClient.<name>`` -> why nbtrack does not have it.
EXCLUDED: dict[str, str] = {
    **{f"mlflow.{n}": _GENAI_TRACING for n in (
        "add_trace", "context", "delete_assessment", "delete_trace_tag", "flush_trace_async_logging",
        "get_active_trace_id", "get_assessment", "get_current_active_span", "get_last_active_trace_id",
        "get_trace", "log_assessment", "log_expectation", "log_feedback", "log_issue", "log_trace",
        "maybe_hint_tracing_skill", "override_feedback", "search_sessions", "search_traces", "set_trace_tag",
        "start_span", "start_span_no_context", "trace", "update_assessment", "update_current_trace")},
    **{f"mlflow.{n}": _PROMPTS for n in (
        "delete_prompt_alias", "load_prompt", "register_prompt", "search_prompts", "set_prompt_alias")},
    "mlflow.login": "Databricks-only: logs in to a Databricks workspace",
    "mlflow.data.load_delta": ("Delta Lake tables: loading one needs Delta Lake's jars in Spark, which delta-spark "
                               "fetches from Maven at run time, so no test here could run it; from_spark records a "
                               "Delta path or table as a DeltaDatasetSource"),
    "mlflow.models.FlavorBackend": "MLflow's internal base of `mlflow models` backends; `nbtrack models` has its own",
    "mlflow.models.build_docker": "deployments: Docker images of a model server (not yet)",
    "mlflow.models.add_libraries_to_model": "Databricks-only: adds Databricks libraries to a registered model",
    "mlflow.models.Resource": "Databricks resources of GenAI agents (serving endpoints, vector indexes)",
    "mlflow.models.ResourceType": "Databricks resources of GenAI agents (serving endpoints, vector indexes)",
    "mlflow.models.set_retriever_schema": "GenAI: the retriever schema of RAG traces",
    "mlflow.set_telemetry_client": "MLflow's usage telemetry: nbtrack sends none",
    "mlflow.test": "MLflow's pytest decorator for tracing GenAI tests",
    "mlflow.LazyLoader": "MLflow's internal lazy-import helper, exposed by accident; nbtrack uses module __getattr__",
    "mlflow.RunOperations": ("MLflow's futures of asynchronous logging (synchronous=False); nbtrack's writes "
                             "are always buffered and return None"),
    **{f"MlflowClient.{n}": _GENAI_TRACING for n in (
        "delete_trace_tag", "delete_traces", "end_span", "end_trace", "get_trace", "link_traces_to_run",
        "search_traces", "set_trace_tag", "start_span", "start_trace", "unlink_traces_from_run")},
    **{f"MlflowClient.{n}": _PROMPTS for n in (
        "create_prompt", "create_prompt_version", "delete_prompt", "delete_prompt_alias", "delete_prompt_tag",
        "delete_prompt_version", "delete_prompt_version_tag", "detach_prompt_from_run", "get_prompt",
        "get_prompt_version", "get_prompt_version_by_alias", "link_prompt_version_to_model",
        "link_prompt_version_to_run", "link_prompt_versions_to_trace", "list_logged_prompts", "load_prompt",
        "parse_prompt_uri", "register_prompt", "search_prompt_versions", "search_prompts", "set_prompt_alias",
        "set_prompt_tag", "set_prompt_version_tag")},
    **{f"MlflowClient.{n}": _MCP for n in (
        "create_mcp_access_endpoint", "create_mcp_server", "create_mcp_server_version",
        "delete_mcp_access_endpoint", "delete_mcp_server", "delete_mcp_server_alias", "delete_mcp_server_tag",
        "delete_mcp_server_version", "delete_mcp_server_version_tag", "get_latest_mcp_server_version",
        "get_mcp_access_endpoint", "get_mcp_server", "get_mcp_server_version", "get_mcp_server_version_by_alias",
        "refresh_mcp_server_version_tools", "search_mcp_access_endpoints", "search_mcp_server_versions",
        "search_mcp_servers", "set_mcp_server_alias", "set_mcp_server_tag", "set_mcp_server_version_tag",
        "update_mcp_access_endpoint", "update_mcp_server", "update_mcp_server_version")},
    **{f"MlflowClient.{n}": _GENAI_DATASETS for n in (
        "add_dataset_to_experiments", "create_dataset", "delete_dataset", "delete_dataset_tag", "get_dataset",
        "remove_dataset_from_experiments", "search_datasets", "set_dataset_tags")},
}


#: MLflow's submodules of tracking, model, data and evaluation names, compared as ``mlflow.<mod>.<name>``
#: (their ``__all__``, or the functions they define when they have none).
SUBMODULES = ("artifacts", "data", "models")


def mlflow_names() -> dict[str, Any]:
    """``mlflow.<name>`` -> object for every public function and class of the ``mlflow`` module
    (submodules aside) and of :data:`SUBMODULES`, and ``MlflowClient.<name>`` for its methods."""
    import importlib

    names: dict[str, Any] = {}
    for name in dir(mlflow):
        obj = getattr(mlflow, name, None) if not name.startswith("_") else None
        if inspect.isfunction(obj) or inspect.isclass(obj):
            names[f"mlflow.{name}"] = obj
    for sub in SUBMODULES:
        module = importlib.import_module(f"mlflow.{sub}")
        public = getattr(module, "__all__", None) or [
            n for n, o in vars(module).items() if inspect.isfunction(o) and o.__module__ == module.__name__]
        for name in public:
            obj = getattr(module, name)
            if (inspect.isfunction(obj) or inspect.isclass(obj)) and not name.startswith("_"):
                names[f"mlflow.{sub}.{name}"] = obj
    for name, obj in inspect.getmembers(mlflow.MlflowClient, inspect.isfunction):
        if not name.startswith("_"):
            names[f"MlflowClient.{name}"] = obj
    return names


def _ours(qualified: str) -> Any:
    import importlib

    owner, name = qualified.rsplit(".", 1)
    if owner == "MlflowClient":
        return getattr(nbtrack.MlflowClient, name, None)
    return getattr(importlib.import_module(owner.replace("mlflow", "nbtrack", 1)), name, None)


def signature_drift(theirs: Any, ours: Any) -> str | None:
    """Why ``ours`` cannot take the calls ``theirs`` takes, or None when it can."""
    if inspect.isclass(theirs):
        return None if inspect.isclass(ours) else f"MLflow's is a class, ours is {type(ours).__name__}"
    want = [p for p in inspect.signature(theirs).parameters.values()
            if p.name != "self" and not (p.name.startswith("_") and p.kind is p.KEYWORD_ONLY)]
    have = [p for p in inspect.signature(ours).parameters.values() if p.name != "self"]
    for i, p in enumerate(want):
        if i >= len(have):
            return f"missing parameter {p.name!r} (MLflow: {inspect.signature(theirs)})"
        q = have[i]
        if q.name != p.name:
            return f"parameter {i + 1} is {q.name!r}, MLflow's is {p.name!r}"
        loose = p.kind is p.KEYWORD_ONLY and q.kind is q.POSITIONAL_OR_KEYWORD  # ours takes more calls
        if q.kind is not p.kind and not loose:
            return f"{p.name!r} is {q.kind.description}, MLflow's is {p.kind.description}"
        if not _same_default(p.default, q.default):
            return f"{p.name!r} defaults to {q.default!r}, MLflow's to {p.default!r}"
    for q in have[len(want):]:
        if q.default is q.empty and q.kind in (q.POSITIONAL_OR_KEYWORD, q.KEYWORD_ONLY):
            return f"extra required parameter {q.name!r}"
    return None


def _same_default(a: Any, b: Any) -> bool:
    if a is b:
        return True
    if isinstance(a, enum.Enum) and isinstance(b, enum.Enum):  # our copy of an MLflow enum: same class name, member
        return (type(a).__name__, a.name, a.value) == (type(b).__name__, b.name, b.value)
    try:
        comparable = type(a) is type(b) or (isinstance(a, int) and isinstance(b, int))  # IntEnum vs int
        return comparable and bool(a == b)
    except Exception:  # e.g. arrays; compared by their text
        return repr(a) == repr(b)


def compare() -> dict[str, list[str]]:
    """{'present': [...], 'excluded': [...], 'missing': [...], 'drift': ['name: why', ...]}."""
    out: dict[str, list[str]] = {"present": [], "excluded": [], "missing": [], "drift": []}
    for qualified, theirs in sorted(mlflow_names().items()):
        ours = _ours(qualified)
        if ours is None:
            out["excluded" if qualified in EXCLUDED else "missing"].append(qualified)
            continue
        if qualified in EXCLUDED:
            out["drift"].append(f"{qualified}: listed in EXCLUDED but nbtrack has it; drop it from the list")
            continue
        out["present"].append(qualified)
        why = signature_drift(theirs, ours)
        if why:
            out["drift"].append(f"{qualified}: {why}")
    return out


def test_every_tracking_model_registry_data_and_evaluation_name_exists():
    missing = compare()["missing"]
    assert not missing, ("MLflow names nbtrack lacks (implement them, or add them to EXCLUDED and the "
                         f"README with the reason): {missing}")


def test_signatures_match_mlflow():
    drift = compare()["drift"]
    assert not drift, "\n".join(drift)


def test_exclusions_name_real_mlflow_names():
    known = mlflow_names()
    stale = sorted(n for n in EXCLUDED if n not in known)
    assert not stale, f"EXCLUDED names MLflow {mlflow.__version__} does not have: {stale}"


def test_the_readme_lists_every_exclusion():
    from pathlib import Path

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    unlisted = sorted(n for n in EXCLUDED if f"`{n.split('.', 1)[1]}`" not in readme)
    assert not unlisted, f"README's 'What nbtrack leaves out' does not name: {unlisted}"


@pytest.mark.parametrize(("theirs", "ours", "drift"), [
    ("def f(a, b=1): ...", "def f(a, b=1, *, c=2): ...", False),
    ("def f(a, b=1): ...", "def f(a, b=2): ...", True),
    ("def f(a, b=1): ...", "def f(b, a=1): ...", True),
    ("def f(a, b=1): ...", "def f(a): ...", True),
    ("def f(a, *, b=1): ...", "def f(a, b=1): ...", False),
    ("def f(a, b=1): ...", "def f(a, *, b=1): ...", True),
    ("def f(a): ...", "def f(a, c): ...", True),
    ("def f(a, *, _private=False): ...", "def f(a): ...", False),
])
def test_the_comparison_itself_catches_drift(theirs, ours, drift):
    def compile_(src: str) -> Any:
        scope: dict[str, Any] = {}
        exec(src, scope)
        return scope["f"]

    assert (signature_drift(compile_(theirs), compile_(ours)) is not None) is drift
