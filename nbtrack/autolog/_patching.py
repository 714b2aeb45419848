"""How autolog touches other people's code, and how it lets go.

* :func:`patch` replaces one attribute and remembers the raw original (or its absence), so
  :func:`unpatch` puts back exactly the object that was there: ``vars(cls)["fit"] is fit``.
* An import hook (:class:`_ImportHook`) runs a callback right after a watched module is
  imported, so ``autolog()`` before ``import sklearn`` still works and nothing is imported
  on the user's behalf. It leaves ``sys.meta_path`` when nothing is watched.
* :func:`session` is the process-wide stack of training calls in progress: only the
  outermost (or an explicitly allowed child) logs, as in MLflow, so a ``Pipeline.fit`` is one
  run and not one per step.
* :class:`Guard` is the "never break training" boundary: a failure in autolog code becomes
  one :class:`AutologWarning` per training call, and the user's call goes on.
"""

from __future__ import annotations

import functools
import importlib.abc
import logging
import sys
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType
from typing import Any

__all__ = ["AutologWarning", "Guard", "Integration", "current_guard", "patch", "patch_function", "session",
           "training_active", "unpatch", "unpatched"]

log = logging.getLogger("nbtrack.autolog")
_MISSING = object()
_lock = threading.RLock()


class AutologWarning(UserWarning):
    """Something autolog wanted to record failed; the user's training itself was not affected."""


# -- patches ------------------------------------------------------------------------------------
@dataclass(eq=False)
class _Patch:
    owner: Any
    name: str
    original: Any  # the raw attribute from the owner's own __dict__, or _MISSING
    replacement: Any


_patches: dict[str, list[_Patch]] = {}  # flavor -> its patches, in the order applied
_by_target: dict[tuple[int, str], _Patch] = {}


def wrap(original: Callable[..., Any], hook: Callable[..., Any]) -> Callable[..., Any]:
    """A function that calls ``hook(original, *args, **kwargs)``; it binds as a method too."""

    @functools.wraps(original)
    def patched(*args: Any, **kwargs: Any) -> Any:
        return hook(original, *args, **kwargs)

    return patched


def _raw(owner: Any, name: str) -> Any:
    """``owner.__dict__[name]`` (no descriptor binding), or the attribute of a dict-less owner."""
    try:
        return vars(owner).get(name, _MISSING)
    except TypeError:  # a closure cell
        return getattr(owner, name, _MISSING)


def patch(flavor: str, owner: Any, name: str, hook: Callable[..., Any]) -> bool:
    """Route ``owner.name`` through ``hook``; False if it is already patched (or not a function)."""
    key = (id(owner), name)
    with _lock:
        if key in _by_target:
            return False
        original = _raw(owner, name)
        target = getattr(owner, name, None) if original is _MISSING else original
        if not callable(target) or isinstance(target, (staticmethod, classmethod, type)):
            return False
        replacement = wrap(target, hook)
        setattr(owner, name, replacement)
        record = _Patch(owner, name, original, replacement)
        _by_target[key] = record
        _patches.setdefault(flavor, []).append(record)
        return True


# Functions made by a decorator whose wrapper calls a closure variable ``func`` (scikit-learn's
# ``validate_params``): patching that cell reaches every reference to the function, including
# ``from sklearn.metrics import accuracy_score`` done before autolog was enabled.
wrapper_codes: set[Any] = set()


def _inner_cell(function: Any) -> Any:
    code, closure = getattr(function, "__code__", None), getattr(function, "__closure__", None)
    if code is None or not closure or "func" not in code.co_freevars:
        return None
    cell = closure[code.co_freevars.index("func")]
    inner = cell.cell_contents
    if (id(cell), "cell_contents") in _by_target:
        return cell
    if getattr(function, "__wrapped__", None) is not inner or not callable(inner):
        return None
    return cell


def patch_function(flavor: str, module: Any, name: str, hook: Callable[..., Any]) -> bool:
    """Route calls of the function ``module.name`` through ``hook``, through the decorator's
    closure when there is one (see :data:`wrapper_codes`), else through the module attribute."""
    function: Any = getattr(module, name, None)
    cell = _inner_cell(function)
    if cell is None:
        return patch(flavor, module, name, hook)
    wrapper_codes.add(function.__code__)
    return patch(flavor, cell, "cell_contents", hook)


def unpatched(owner: Any, name: str) -> Any:
    """``owner.name`` without autolog's hook: for autolog's own computations, which must not be
    taken for the user's calls (and may run on another thread)."""
    attribute = getattr(owner, name)
    cell = _inner_cell(attribute)
    record = _by_target.get((id(cell), "cell_contents")) if cell is not None else None
    if record is None:
        record = _by_target.get((id(owner), name))
    if record is None or record.original is _MISSING:
        return attribute
    return record.original


def unpatch(flavor: str) -> None:
    """Put back every original that ``flavor`` replaced, newest first."""
    with _lock:
        for record in reversed(_patches.pop(flavor, [])):
            _by_target.pop((id(record.owner), record.name), None)
            if _raw(record.owner, record.name) is not record.replacement:
                # Someone patched over us; their wrapper still calls ours, which now passes through.
                log.debug("left %s.%s alone: it was patched again after autolog", record.owner, record.name)
                continue
            if record.original is _MISSING:
                delattr(record.owner, record.name)
            else:
                setattr(record.owner, record.name, record.original)


# -- import hooks -------------------------------------------------------------------------------
@dataclass
class Integration:
    """What one framework needs: the modules that trigger it and how to patch them.

    ``install(module)`` runs once the top-level module is imported (now, or later through the
    import hook); ``on_submodule(module)`` runs for every ``<top>.*`` module imported after
    autolog was enabled (scikit-learn defines its estimators in many lazily imported modules).
    """

    flavor: str
    modules: Sequence[str]
    install: Callable[[ModuleType], None]
    on_submodule: Callable[[ModuleType], None] | None = None


class _HookedLoader(importlib.abc.Loader):
    def __init__(self, loader: Any, hook: _ImportHook) -> None:
        self._loader = loader
        self._hook = hook

    def create_module(self, spec: Any) -> Any:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        module.__loader__ = self._loader  # the module keeps no trace of us
        if module.__spec__ is not None:
            module.__spec__.loader = self._loader
        self._loader.exec_module(module)
        self._hook.imported(module)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loader, name)


class _ImportHook(importlib.abc.MetaPathFinder):
    """Calls back after watched modules are imported (wrapt's post-import hooks, in brief)."""

    def __init__(self) -> None:
        self.exact: dict[str, list[Integration]] = {}
        self.prefixes: dict[str, list[Integration]] = {}
        self._busy = threading.local()

    def _wanted(self, fullname: str) -> bool:
        if fullname in self.exact:
            return True
        return any(fullname.startswith(p) for p in self.prefixes)

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if not self._wanted(fullname) or getattr(self._busy, "name", None) == fullname:
            return None
        self._busy.name = fullname
        try:
            for finder in list(sys.meta_path):
                find = getattr(finder, "find_spec", None)
                if finder is self or find is None:
                    continue
                spec = find(fullname, path, target)
                if spec is not None:
                    break
            else:
                return None
        finally:
            self._busy.name = None
        if spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return None
        spec.loader = _HookedLoader(spec.loader, self)
        return spec

    def imported(self, module: ModuleType) -> None:
        name = module.__name__
        for integration in list(self.exact.get(name, ())):
            _run_quietly(integration.flavor, f"patch {name}", integration.install, module)
        for prefix, integrations in list(self.prefixes.items()):
            if name.startswith(prefix):
                for integration in list(integrations):
                    if integration.on_submodule is not None:
                        _run_quietly(integration.flavor, f"patch {name}", integration.on_submodule, module)


_hook = _ImportHook()


def _run_quietly(flavor: str, what: str, fn: Callable[..., Any], *args: Any) -> None:
    """An import hook must never break the user's import."""
    try:
        fn(*args)
    except Exception as e:
        Guard(flavor, silent=False).fail(what, e)


def _watch(integration: Integration, name: str, table: dict[str, list[Integration]]) -> None:
    entries = table.setdefault(name, [])
    if integration not in entries:
        entries.append(integration)
    if _hook not in sys.meta_path:
        sys.meta_path.insert(0, _hook)


def attach(integration: Integration) -> None:
    """Patch the framework if it is imported; watch its imports either way."""
    with _lock:
        for name in integration.modules:
            if integration.on_submodule is not None:
                _watch(integration, name + ".", _hook.prefixes)
            module = sys.modules.get(name)
            if module is None:
                _watch(integration, name, _hook.exact)
            else:
                _run_quietly(integration.flavor, f"patch {name}", integration.install, module)


def detach(integration: Integration) -> None:
    """Stop watching imports for ``integration`` and restore everything it patched."""
    with _lock:
        for table in (_hook.exact, _hook.prefixes):
            for name in list(table):
                table[name] = [i for i in table[name] if i.flavor != integration.flavor]
                if not table[name]:
                    del table[name]
        if not _hook.exact and not _hook.prefixes and _hook in sys.meta_path:
            sys.meta_path.remove(_hook)
        unpatch(integration.flavor)


# -- training sessions --------------------------------------------------------------------------
@dataclass(eq=False)
class Session:
    """One training (or quiet inference) call in progress."""

    key: Any
    allow_children: bool
    should_log: bool
    guard: Guard | None = None


_sessions: list[Session] = []


@contextmanager
def session(key: Any, allow_children: bool = False) -> Iterator[Session]:
    """Enter a training call; ``should_log`` is False inside another call that forbids children,
    or when the same ``key`` (the same estimator object) is already training."""
    with _lock:
        parent = _sessions[-1] if _sessions else None
        should_log = parent is None or (parent.allow_children and all(s.key is not key for s in _sessions))
        current = Session(key, allow_children and (parent is None or parent.allow_children), should_log)
        _sessions.append(current)
    try:
        yield current
    finally:
        with _lock:
            for i in range(len(_sessions) - 1, -1, -1):  # by identity: threads may interleave
                if _sessions[i] is current:
                    del _sessions[i]
                    break


def training_active() -> bool:
    return bool(_sessions)


def current_guard() -> Guard | None:
    """The guard of the innermost training call that has one: a nested ``train()`` inside a
    wrapper's ``fit`` shares its one warning."""
    with _lock:
        return next((s.guard for s in reversed(_sessions) if s.guard is not None), None)


# -- the guard -----------------------------------------------------------------------------------
class Guard:
    """Runs autolog steps so that any failure becomes one warning, and training goes on."""

    def __init__(self, flavor: str, silent: bool) -> None:
        self.flavor = flavor
        self.silent = silent
        self.failed = False

    def run(self, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``fn(*args, **kwargs)``, or None (with the one warning) if it raises."""
        try:
            return fn(*args, **kwargs)
        except Exception as e:
            self.fail(what, e)
            return None

    def fail(self, what: str, error: BaseException) -> None:
        first = not self.failed
        self.failed = True
        if first and not self.silent:
            warnings.warn(
                f"nbtrack autolog ({self.flavor}) could not {what}: {type(error).__name__}: {error}. "
                "Training was not affected; what could be logged was. Set silent=True to hide this.",
                AutologWarning, stacklevel=3,
            )
        log.debug("autolog (%s) could not %s", self.flavor, what, exc_info=error)
