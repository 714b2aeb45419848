"""The Lightning callbacks autolog attaches to a Trainer for one ``fit``, and removes after.

Every callback method runs inside the user's training loop, so each one is guarded: the
first failure becomes the fit's one warning and that callback goes quiet; training goes on.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable
from typing import Any

from nbtrack.autolog._runs import Target

__all__ = ["attach", "callback_classes", "log_early_stopping"]

log = logging.getLogger("nbtrack.autolog")

LATEST_CHECKPOINT_TAG = "mlflow.latest_checkpoint_artifact"
EXAMPLE_ROWS = 5
_EARLY_STOP_PARAMS = ("monitor", "mode", "patience", "min_delta", "stopped_epoch")


def _scalars(metrics: Any) -> dict[str, float]:
    found = {}
    for key, value in dict(metrics).items():
        try:
            found[str(key)] = float(value)
        except (TypeError, ValueError, RuntimeError):  # a tensor with more than one element
            continue
    return found


def _flatten(params: Any, prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in dict(params).items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


class FitState:
    """What one fit's callbacks share: the run, the settings, and what they have seen."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.options = target.settings.options
        self.step_metrics: set[str] = set()
        self.epoch_metrics: set[str] = set()
        self.steps_per_batch = 1
        self.broken = False
        self.best: float | None = None
        self.missing_monitor_noted = False
        self.io: tuple[Any, Any] | None = None  # the first batch's (input, output), for the signature

    def safely(self, what: str, fn: Callable[..., Any], *args: Any) -> None:
        if self.broken:
            return
        try:
            fn(*args)
        except Exception as e:
            self.broken = True
            self.target.guard.fail(what, e)

    # -- metrics and params -----------------------------------------------------------------
    def train_start(self, trainer: Any, module: Any) -> None:
        params: dict[str, Any] = {"epochs": trainer.max_epochs}
        optimizers = list(getattr(trainer, "optimizers", None) or [])
        if optimizers:
            self.steps_per_batch = len(optimizers)  # Lightning counts a step per optimizer step
            optimizer = getattr(optimizers[0], "_optimizer", optimizers[0])
            params["optimizer_name"] = type(optimizer).__name__
            params.update(getattr(optimizer, "defaults", {}) or {})
        self.target.log_params(params)
        self.target.set_tags({"Mode": "training"})
        hparams = getattr(module, "hparams", None)
        if hparams:
            self.target.log_params(_flatten(hparams))

    def epoch_end(self, trainer: Any, module: Any) -> None:
        if trainer.sanity_checking:
            return
        metrics = {k: v for k, v in _scalars(trainer.callback_metrics).items() if k not in self.step_metrics}
        self.epoch_metrics.update(metrics)
        if (module.current_epoch + 1) % self.options.get("log_every_n_epoch", 1) == 0:
            self.target.log_metrics(metrics, step=module.current_epoch)

    def batch_end(self, trainer: Any) -> None:
        every = self.options.get("log_every_n_step")
        if not every or trainer.sanity_checking:
            return
        current = _scalars(trainer.callback_metrics)
        # A metric logged on both step and epoch ("loss", "loss_step", "loss_epoch") is an epoch metric.
        metrics = {k: v for k, v in current.items() if k not in self.epoch_metrics and f"{k}_step" not in current}
        self.step_metrics.update(metrics)
        step = trainer.global_step
        if ((step // self.steps_per_batch) + 1) % every == 0:
            self.target.log_metrics(metrics, step=step)

    # -- checkpoints --------------------------------------------------------------------------
    def checkpoint(self, trainer: Any, epoch: int) -> None:
        if getattr(trainer, "world_size", 1) != 1:
            return  # saving from one rank would wait forever on the others
        metrics = _scalars(trainer.callback_metrics)
        weights_only = bool(self.options.get("checkpoint_save_weights_only"))
        suffix = ".weights.pth" if weights_only else ".pth"
        if self.options.get("checkpoint_save_best_only", True):
            if not self._improved(metrics):
                return
            folder, model_file, metrics_file = "checkpoints", f"latest_checkpoint{suffix}", "latest_checkpoint_metrics.json"
        else:
            every = self.options.get("checkpoint_save_freq", "epoch")
            sub = f"epoch_{epoch}" if every == "epoch" else f"global_step_{trainer.global_step}"
            folder, model_file, metrics_file = f"checkpoints/{sub}", f"checkpoint{suffix}", "checkpoint_metrics.json"
        target = self.target
        target.set_tags({LATEST_CHECKPOINT_TAG: f"{folder}/{model_file}"})
        target.log_dict({**metrics, "epoch": epoch, "global_step": trainer.global_step}, f"{folder}/{metrics_file}")
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, model_file)
            trainer.save_checkpoint(path, weights_only=weights_only)
            target.log_artifact(path, folder)

    def _improved(self, metrics: dict[str, float]) -> bool:
        monitor = self.options.get("checkpoint_monitor")
        if monitor not in metrics:
            if not self.missing_monitor_noted:
                self.missing_monitor_noted = True
                log.info("autolog saves no checkpoint: the monitored metric %r is not logged", monitor)
            return False
        value = metrics[monitor]
        if self.best is not None:
            better = value < self.best if self.options.get("checkpoint_mode", "min") == "min" else value > self.best
            if not better:
                return False
        self.best = value
        return True

    def capture(self, module: Any, inputs: Any, output: Any) -> None:
        """A forward hook: keep the first batch's input and output (one tensor each)."""
        if self.io is not None:
            return
        import torch

        if len(inputs) == 1 and isinstance(inputs[0], torch.Tensor) and isinstance(output, torch.Tensor):
            self.io = (inputs[0][:EXAMPLE_ROWS].detach().cpu(), output[:EXAMPLE_ROWS].detach().cpu())


def callback_classes(base: type) -> tuple[type, type]:
    """Callback classes deriving from this Lightning package's ``Callback``."""

    class AutologCallback(base):
        def __init__(self, state: FitState) -> None:
            super().__init__()
            self.state = state

        def on_train_start(self, trainer: Any, pl_module: Any) -> None:
            if trainer.is_global_zero:
                self.state.safely("log the optimizer and hyperparameters", self.state.train_start, trainer, pl_module)

        def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
            if trainer.is_global_zero:
                self.state.safely("log epoch metrics", self.state.epoch_end, trainer, pl_module)

        def on_train_batch_end(self, trainer: Any, pl_module: Any, *args: Any) -> None:
            if trainer.is_global_zero:
                self.state.safely("log step metrics", self.state.batch_end, trainer)

    class CheckpointCallback(base):
        def __init__(self, state: FitState) -> None:
            super().__init__()
            self.state = state

        def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
            if trainer.is_global_zero and self.state.options.get("checkpoint_save_freq", "epoch") == "epoch":
                self.state.safely("log a checkpoint", self.state.checkpoint, trainer, trainer.current_epoch)

        def on_train_batch_end(self, trainer: Any, pl_module: Any, *args: Any) -> None:
            every = self.state.options.get("checkpoint_save_freq", "epoch")
            if trainer.is_global_zero and isinstance(every, int) and trainer.global_step > 0 \
                    and trainer.global_step % every == 0:
                self.state.safely("log a checkpoint", self.state.checkpoint, trainer, trainer.current_epoch)

    return AutologCallback, CheckpointCallback


class Attached:
    """What :func:`attach` added to a trainer, so that it can be taken off again."""

    def __init__(self, state: FitState, callbacks: list[Any], hook: Any) -> None:
        self.state = state
        self.callbacks = callbacks
        self.hook = hook

    def detach(self, trainer: Any) -> None:
        if self.hook is not None:
            self.hook.remove()
        trainer.callbacks[:] = [c for c in trainer.callbacks if not any(c is ours for ours in self.callbacks)]

    def signature(self) -> Any:
        if self.state.io is None or not self.state.target.settings.log_model_signatures:
            return None
        from nbtrack.models import infer_signature

        inputs, outputs = self.state.io
        return infer_signature(inputs.numpy(), outputs.numpy())


def attach(target: Target, trainer: Any, module: Any, classes: tuple[type, type]) -> Attached:
    """Log the early-stopping settings and add autolog's callbacks (and forward hook) to ``trainer``."""
    for callback in trainer.callbacks:
        if _is_early_stopping(callback):
            target.log_params({p: getattr(callback, p) for p in _EARLY_STOP_PARAMS if hasattr(callback, p)})
    state = FitState(target)
    metrics_cls, checkpoint_cls = classes
    added = [metrics_cls(state)]
    if target.settings.options.get("checkpoint", True):
        added.append(checkpoint_cls(state))
    trainer.callbacks.extend(added)
    hook = None
    if target.settings.log_models and target.settings.log_model_signatures and hasattr(module, "register_forward_hook"):
        hook = module.register_forward_hook(state.capture)
    return Attached(state, added, hook)


def _is_early_stopping(callback: Any) -> bool:
    return any(c.__name__ == "EarlyStopping" for c in type(callback).__mro__)


def log_early_stopping(target: Target, trainer: Any) -> None:
    """MLflow's early-stopping results, when training did stop early."""
    for callback in trainer.callbacks:
        if not _is_early_stopping(callback) or not getattr(callback, "stopped_epoch", 0):
            continue
        metrics: dict[str, Any] = {
            "stopped_epoch": callback.stopped_epoch,
            "restored_epoch": callback.stopped_epoch - max(1, callback.patience),
            "wait_count": getattr(callback, "wait_count", None),
        }
        best = getattr(callback, "best_score", None)
        if best is not None:
            metrics["best_score"] = float(best)
        target.log_metrics(metrics)
