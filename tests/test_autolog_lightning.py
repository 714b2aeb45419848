"""PyTorch Lightning autolog: per-epoch (and per-step) metrics, hyperparameters, optimizer
settings, early stopping, the best checkpoint, and the trained module as the model."""

from __future__ import annotations

import itertools

import pytest

torch = pytest.importorskip("torch")
L = pytest.importorskip("lightning")

from torch import nn  # noqa: E402
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

import nbtrack  # noqa: E402
from nbtrack.autolog import pytorch as pytorch_autolog  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning", "ignore::UserWarning:lightning")


@pytest.fixture(autouse=True)
def _autolog_off_afterwards():
    yield
    nbtrack.autolog.flush(30)
    nbtrack.autolog(disable=True)


class Regressor(L.LightningModule):
    def __init__(self, lr: float = 0.05, hidden: int = 8) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Sequential(nn.Linear(4, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def forward(self, x):
        return self.net(x)

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = nn.functional.mse_loss(self(x), y)
        self.log("train_loss", loss, on_step=True, on_epoch=True)
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.log("val_loss", nn.functional.mse_loss(self(x), y))

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=self.hparams.lr)


def loaders():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(128, 4, generator=g)
    y = X.sum(1, keepdim=True)
    return (DataLoader(TensorDataset(X, y), batch_size=32),
            DataLoader(TensorDataset(X[:64], y[:64]), batch_size=32))


def trainer(**kwargs) -> L.Trainer:
    return L.Trainer(logger=False, enable_progress_bar=False, enable_model_summary=False,
                     enable_checkpointing=False, num_sanity_val_steps=0, **kwargs)


def test_epoch_metrics_params_checkpoint_and_model():
    nbtrack.autolog()
    train, valid = loaders()
    t = trainer(max_epochs=3, callbacks=[L.pytorch.callbacks.EarlyStopping(monitor="val_loss", patience=5)])
    callbacks_before = list(t.callbacks)
    module = Regressor(lr=0.05, hidden=8)
    t.fit(module, train, valid)
    assert t.callbacks == callbacks_before  # autolog's callbacks are taken off again
    run = nbtrack.last_active_run()
    assert run.info.status == "FINISHED" and run.data.tags["mlflow.autologging"] == "pytorch"
    params = run.data.params
    assert params["epochs"] == "3" and params["optimizer_name"] == "Adam" and params["lr"] == "0.05"
    assert params["betas"] == "(0.9, 0.999)" and params["hidden"] == "8"
    assert params["monitor"] == "val_loss" and params["patience"] == "5"
    client = nbtrack.MlflowClient()
    val = [(m.step, m.value) for m in client.get_metric_history(run.info.run_id, "val_loss")]
    assert [s for s, _ in val] == [0, 1, 2]
    assert val[-1][1] == pytest.approx(float(t.callback_metrics["val_loss"]))
    assert {"train_loss_epoch", "train_loss_step"} <= set(run.data.metrics)
    names = {f.path for f in client.list_artifacts(run.info.run_id)}
    assert {"model", "model_summary.txt", "checkpoints"} <= names
    checkpoint = run.data.tags["mlflow.latest_checkpoint_artifact"]
    assert checkpoint == "checkpoints/latest_checkpoint.pth"
    assert {f.path for f in client.list_artifacts(run.info.run_id, "checkpoints")} == {
        "checkpoints/latest_checkpoint.pth", "checkpoints/latest_checkpoint_metrics.json"}
    info = nbtrack.models.get_model_info(f"runs:/{run.info.run_id}/model")
    assert info.signature is not None
    loaded = nbtrack.pytorch.load_model(f"runs:/{run.info.run_id}/model")
    x = torch.randn(3, 4)
    torch.testing.assert_close(loaded(x), module(x))


def test_step_metrics_and_early_stopping_results():
    pytorch_autolog.autolog(log_every_n_step=2, checkpoint=False, log_models=False)
    train, valid = loaders()
    stop = L.pytorch.callbacks.EarlyStopping(monitor="val_loss", patience=1, min_delta=100.0)
    trainer(max_epochs=10, callbacks=[stop]).fit(Regressor(), train, valid)
    run = nbtrack.last_active_run()
    steps = [m.step for m in nbtrack.MlflowClient().get_metric_history(run.info.run_id, "train_loss_step")]
    assert len(steps) > 1 and {b - a for a, b in itertools.pairwise(steps)} == {2}  # every 2nd batch
    assert run.data.metrics["stopped_epoch"] == stop.stopped_epoch > 0
    assert run.data.metrics["restored_epoch"] == stop.stopped_epoch - 1
    names = {f.path for f in nbtrack.MlflowClient().list_artifacts(run.info.run_id)}
    assert "model" not in names and "checkpoints" not in names


def test_fit_inside_a_users_run_logs_into_it():
    nbtrack.autolog(log_models=False)
    train, valid = loaders()
    with nbtrack.start_run() as run:
        trainer(max_epochs=1).fit(Regressor(), train, valid)
    assert nbtrack.get_run(run.info.run_id).data.params["optimizer_name"] == "Adam"
    assert len(nbtrack.search_runs(output_format="list")) == 1
