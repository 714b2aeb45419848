"""PyTorch Lightning autolog, with MLflow's names (``mlflow.pytorch.autolog``).

``Trainer.fit`` (from ``lightning`` or ``pytorch_lightning``) logs: ``epochs``, the optimizer
(``optimizer_name`` and its defaults: ``lr``, ``betas``, ``weight_decay``...), the module's
``hparams`` (``save_hyperparameters()``), early stopping settings and results, every metric
in ``trainer.callback_metrics`` at each epoch (step = epoch; every ``log_every_n_step`` steps
too if set), ``model_summary.txt``, the best checkpoint under ``checkpoints/`` (by
``checkpoint_monitor``), and the trained module as the model, with a signature taken from
the first batch it saw. The callbacks autolog adds are removed again when ``fit`` returns.
"""

from __future__ import annotations

import os
import types
from collections.abc import Callable
from typing import Any

from nbtrack.autolog._patching import Guard, Integration, patch, session
from nbtrack.autolog._runs import Config, Target, config, configure, training_run

__all__ = ["FLAVOR_NAME", "autolog"]

FLAVOR_NAME = "pytorch"


def autolog(
    log_every_n_epoch: int = 1,
    log_every_n_step: int | None = None,
    log_models: bool = True,
    log_datasets: bool = True,
    disable: bool = False,
    exclusive: bool = False,
    disable_for_unsupported_versions: bool = False,
    silent: bool = False,
    registered_model_name: str | None = None,
    extra_tags: dict[str, Any] | None = None,
    checkpoint: bool = True,
    checkpoint_monitor: str | None = "val_loss",
    checkpoint_mode: str = "min",
    checkpoint_save_best_only: bool = True,
    checkpoint_save_weights_only: bool = False,
    checkpoint_save_freq: str | int = "epoch",
    log_model_signatures: bool = True,
) -> None:
    """Enable (or, with ``disable=True``, remove) autologging for PyTorch Lightning, as MLflow's.

    Lightning is never imported by this call; if it is not imported yet, patching happens
    when the user imports ``lightning`` or ``pytorch_lightning``. Plain PyTorch training loops
    have nothing to hook and are not autologged (MLflow's TensorBoard hooks are not copied).
    """
    if checkpoint_mode not in ("min", "max"):
        from nbtrack.errors import InvalidParameter

        raise InvalidParameter(f"checkpoint_mode must be 'min' or 'max', got {checkpoint_mode!r}.")
    settings = Config(
        log_models=log_models, log_model_signatures=log_model_signatures, log_datasets=log_datasets,
        exclusive=exclusive, silent=silent, registered_model_name=registered_model_name,
        extra_tags=dict(extra_tags or {}),
        options={"log_every_n_epoch": max(1, int(log_every_n_epoch)), "log_every_n_step": log_every_n_step,
                 "checkpoint": checkpoint, "checkpoint_monitor": checkpoint_monitor,
                 "checkpoint_mode": checkpoint_mode, "checkpoint_save_best_only": checkpoint_save_best_only,
                 "checkpoint_save_weights_only": checkpoint_save_weights_only,
                 "checkpoint_save_freq": checkpoint_save_freq},
    )
    configure(_INTEGRATION, settings, disable)


def _install(package: types.ModuleType) -> None:
    """``lightning`` or ``pytorch_lightning``: each has its own Trainer and Callback classes."""
    trainer_cls = getattr(package, "Trainer", None)
    callback_base = getattr(package, "Callback", None)
    if trainer_cls is None or callback_base is None:
        return
    from nbtrack.autolog import _lightning

    callbacks = _lightning.callback_classes(callback_base)
    patch(FLAVOR_NAME, trainer_cls, "fit", _fit_hook(package, callbacks))


_INTEGRATION = Integration(FLAVOR_NAME, ("lightning", "pytorch_lightning"), _install)


def _fit_hook(package: types.ModuleType, callbacks: tuple[type, type]) -> Callable[..., Any]:
    def hook(original: Callable[..., Any], trainer: Any, *args: Any, **kwargs: Any) -> Any:
        settings = config(FLAVOR_NAME)
        if settings is None:
            return original(trainer, *args, **kwargs)
        with session(trainer) as current:
            if not current.should_log:
                return original(trainer, *args, **kwargs)
            guard = current.guard = Guard(FLAVOR_NAME, settings.silent)
            with training_run(FLAVOR_NAME, settings, guard) as target:
                if target is None:
                    return original(trainer, *args, **kwargs)
                return _fit(target, package, callbacks, original, trainer, args, kwargs)

    return hook


def _fit(target: Target, package: types.ModuleType, callbacks: tuple[type, type], original: Callable[..., Any],
         trainer: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    from nbtrack.autolog import _lightning

    guard, settings = target.guard, target.settings
    module = args[0] if args else kwargs.get("model")
    attached = guard.run("attach the autolog callbacks", _lightning.attach, target, trainer, module, callbacks)
    try:
        result = original(trainer, *args, **kwargs)
    finally:
        if attached is not None:
            guard.run("detach the autolog callbacks", attached.detach, trainer)
    guard.run("log early stopping", _lightning.log_early_stopping, target, trainer)
    guard.run("log model_summary.txt", _log_summary, target, package, trainer)
    if settings.log_models and attached is not None:
        guard.run("log the model", _log_model, target, trainer, attached.signature())
    return result


def _log_summary(target: Target, package: types.ModuleType, trainer: Any) -> None:
    summary_cls = _summary_class(package)
    if summary_cls is None:
        return
    text = str(summary_cls(trainer.lightning_module, max_depth=-1))
    target.log_text(text, "model_summary.txt")


def _summary_class(package: types.ModuleType) -> Any:
    import importlib

    try:
        return importlib.import_module(f"{package.__name__}.utilities.model_summary").ModelSummary
    except ImportError:
        try:
            return importlib.import_module(f"{package.__name__}.pytorch.utilities.model_summary").ModelSummary
        except ImportError:
            return None


def _log_model(target: Target, trainer: Any, signature: Any) -> None:
    from nbtrack.models.flavors import pytorch as flavor

    settings = target.settings
    flavor.log_model(trainer.lightning_module, name="model", signature=signature,
                     registered_model_name=settings.registered_model_name, serialization_format="pickle",
                     run_id=target.run_id)
    early = [c for c in trainer.callbacks if type(c).__name__ == "EarlyStopping"]
    best = getattr(trainer.checkpoint_callback, "best_model_path", "") if early else ""
    if best and os.path.isfile(best):
        target.log_artifact(best, "restored_model_checkpoint")

