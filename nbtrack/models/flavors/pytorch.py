"""PyTorch flavor, in MLflow's ``pytorch`` layout (``data/model.pth`` or ``data/model.pt2``).

``serialization_format="pickle"`` (the default here) saves the whole module with
cloudpickle, so a model class defined in a notebook loads again; ``"pt2"`` saves a
``torch.export`` graph (no pickle) and needs a numpy/tensor ``input_example`` to trace.
MLflow 3 defaults to ``pt2``; nbtrack defaults to ``pickle`` because ``pt2`` fails for any
model without an example input, which is how most notebook models are first logged.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

from nbtrack.errors import InvalidParameter, NbtrackError, NotFound
from nbtrack.models.model import Model, ModelInfo

__all__ = ["get_default_pip_requirements", "load_model", "log_model", "save_model"]

FLAVOR_NAME = "pytorch"
_DATA = "data"
_PTH = "model.pth"
_PT2 = "model.pt2"
_PICKLE_INFO = "pickle_module_info.txt"
#: written to pickle_module_info.txt so MLflow can load the file too; read back as ours
_PICKLE_MODULE_NAME = "mlflow.pytorch.pickle_module"
_PICKLE_ALIASES = {_PICKLE_MODULE_NAME: "nbtrack.models.flavors._torch_pickle"}


def get_default_pip_requirements() -> list[str]:
    from nbtrack.models.environment import pinned

    return [pinned("torch"), pinned("cloudpickle"), pinned("numpy")]


def _tensor(array: Any) -> Any:
    import numpy as np
    import torch

    # torch warns on read-only arrays (pandas' copy-on-write hands those out); copy them
    return torch.from_numpy(array if array.flags.writeable else np.array(array))


def _export(pytorch_model: Any, input_example: Any, signature: Any, target: str) -> None:
    import numpy as np
    import torch

    example = input_example[0] if isinstance(input_example, tuple) and len(input_example) == 2 and isinstance(input_example[1], dict) else input_example
    if isinstance(example, (np.ndarray, torch.Tensor)):
        example = (example,)
    if not isinstance(example, (tuple, list)) or not example or not all(
        isinstance(v, (np.ndarray, torch.Tensor)) for v in example
    ):
        raise InvalidParameter(
            "serialization_format='pt2' needs input_example: a numpy array or torch tensor (or a "
            "tuple of them) to trace model.forward with. Pass one, or use "
            "serialization_format='pickle'."
        )
    tensors = tuple(_tensor(v) if isinstance(v, np.ndarray) else v for v in example)
    specs = signature.inputs.inputs if signature is not None and signature.inputs is not None else [None] * len(tensors)
    dynamic = []
    for spec, t in zip(specs, tensors, strict=False):
        dims = {i: torch.export.Dim.AUTO for i, d in enumerate(getattr(spec, "shape", (-1,))) if d == -1 and i < t.ndim}
        dynamic.append(dims or None)
    try:
        program = torch.export.export(pytorch_model, tensors, dynamic_shapes=tuple(dynamic))
    except Exception as e:  # torch.export raises many types for untraceable models
        raise InvalidParameter(
            f"torch.export could not trace the model for serialization_format='pt2': {e}. "
            "Use serialization_format='pickle' instead."
        ) from e
    torch.export.save(program, target)


def save_model(
    pytorch_model: Any,
    path: str | os.PathLike[str],
    conda_env: Any = None,
    mlflow_model: Model | None = None,
    code_paths: list[str] | None = None,
    pickle_module: Any = None,
    signature: Any = None,
    input_example: Any = None,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    metadata: dict[str, Any] | None = None,
    serialization_format: str = "pickle",
    **kwargs: Any,
) -> None:
    """Save a ``torch.nn.Module`` as an MLflow model directory at ``path``."""
    import torch

    from nbtrack.models import _save
    from nbtrack.models.pyfunc import add_to_model

    if not isinstance(pytorch_model, torch.nn.Module):
        raise InvalidParameter(f"Argument 'pytorch_model' should be a torch.nn.Module, got {type(pytorch_model).__name__}.")
    if serialization_format not in ("pickle", "pt2"):
        raise InvalidParameter("The `serialization_format` param value must be one of 'pickle' or 'pt2'.")
    path = _save.prepare_dir(path)
    code = _save.copy_code_paths(code_paths, path)
    model = _save.new_model(mlflow_model, signature, metadata)
    _save.add_example_and_signature(model, input_example, signature, path,
                                    _PyTorchWrapper(pytorch_model, "cpu").predict)
    data_dir = os.path.join(path, _DATA)
    os.makedirs(data_dir)
    if serialization_format == "pt2":
        _export(pytorch_model, input_example, model.signature, os.path.join(data_dir, _PT2))
        module_name = None
    else:
        from nbtrack.models.flavors import _torch_pickle

        module = pickle_module or _torch_pickle
        module_name = _PICKLE_MODULE_NAME if module is _torch_pickle else module.__name__
        with open(os.path.join(data_dir, _PICKLE_INFO), "w") as f:
            f.write(module_name)
        if isinstance(pytorch_model, torch.jit.ScriptModule):
            torch.jit.save(pytorch_model, os.path.join(data_dir, _PTH))
        else:
            torch.save(pytorch_model, os.path.join(data_dir, _PTH), pickle_module=module, **kwargs)
    model.add_flavor(FLAVOR_NAME, model_data=_DATA, pytorch_version=str(torch.__version__), code=code)
    extra = {"pickle_module_name": module_name} if module_name else {}
    add_to_model(model, "mlflow.pytorch", data=_DATA, code=code, conda_env="conda.yaml",
                 python_env="python_env.yaml", model_config={"device": None}, **extra)
    _save.finish(path, model, get_default_pip_requirements(), pip_requirements, extra_pip_requirements, conda_env)


def log_model(
    pytorch_model: Any,
    artifact_path: str | None = None,
    conda_env: Any = None,
    code_paths: list[str] | None = None,
    pickle_module: Any = None,
    registered_model_name: str | None = None,
    signature: Any = None,
    input_example: Any = None,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    metadata: dict[str, Any] | None = None,
    name: str | None = None,
    serialization_format: str = "pickle",
    run_id: str | None = None,
    **kwargs: Any,
) -> ModelInfo:
    """Log a PyTorch module as artifacts of the active run (see ``save_model``)."""
    from nbtrack.models._logged import log_model as _log_model
    from nbtrack.models._logged import logged_model_options

    options = logged_model_options(kwargs)

    return _log_model(
        lambda path, mlflow_model: save_model(
            pytorch_model, path, conda_env=conda_env, mlflow_model=mlflow_model, code_paths=code_paths,
            pickle_module=pickle_module, signature=signature, input_example=input_example,
            pip_requirements=pip_requirements, extra_pip_requirements=extra_pip_requirements,
            metadata=metadata, serialization_format=serialization_format, **kwargs,
        ),
        name=name, artifact_path=artifact_path, registered_model_name=registered_model_name, run_id=run_id,
        **options,
    )


def _load(data_path: str, device: str | None = None) -> Any:
    import torch

    pth = os.path.join(data_path, _PTH) if os.path.isdir(data_path) else data_path
    pt2 = os.path.join(data_path, _PT2)
    if os.path.isdir(data_path) and not os.path.exists(pth):
        if not os.path.exists(pt2):
            raise NotFound(f"No {_PTH} or {_PT2} in {data_path}; this is not a saved PyTorch model.")
        return torch.export.load(pt2).module()
    info = os.path.join(os.path.dirname(pth), _PICKLE_INFO)
    if os.path.exists(info):
        with open(info) as f:
            name = f.read().strip()
        try:
            module = importlib.import_module(_PICKLE_ALIASES.get(name, name))
        except ImportError as e:
            raise NbtrackError(
                f"Failed to import the pickle module that was used to save the PyTorch model: `{name}`."
            ) from e
        model = torch.load(pth, pickle_module=module, weights_only=False, map_location=device)
    else:
        model = torch.jit.load(pth, map_location=device)
    model.eval()
    return model


def load_model(model_uri: str | os.PathLike[str], dst_path: str | None = None, **kwargs: Any) -> Any:
    """Load the ``torch.nn.Module`` itself, in eval mode."""
    from nbtrack.models._save import resolve_flavor

    local, conf = resolve_flavor(model_uri, dst_path, FLAVOR_NAME)
    return _load(os.path.join(local, conf["model_data"]), kwargs.get("map_location"))


def _load_pyfunc(path: str, model_config: dict[str, Any] | None = None) -> _PyTorchWrapper:
    import torch

    device = (model_config or {}).get("device") or ("cuda" if torch.cuda.is_available() else "cpu")
    model = _load(path, device)
    if device != "cpu" and not os.path.exists(os.path.join(path, _PT2)):
        model.to(device)
    return _PyTorchWrapper(model, device)


class _PyTorchWrapper:
    def __init__(self, pytorch_model: Any, device: str) -> None:
        self.pytorch_model = pytorch_model
        self.device = device

    def get_raw_model(self) -> Any:
        return self.pytorch_model

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        import numpy as np
        import pandas as pd
        import torch

        if isinstance(data, pd.DataFrame):
            array = data.to_numpy(dtype=np.float32)
        elif isinstance(data, np.ndarray):
            array = data
        else:
            raise InvalidParameter(
                f"The PyTorch flavor takes a pandas DataFrame or a numpy array, not {type(data).__name__}."
            )
        with torch.no_grad():
            out = self.pytorch_model(_tensor(array).to(self.device), **(params or {}))
        if not isinstance(out, torch.Tensor):
            raise InvalidParameter(f"Expected the PyTorch model to return one tensor, got {type(out).__name__}.")
        out = out.cpu().numpy()
        if isinstance(data, pd.DataFrame):
            return pd.DataFrame(out, index=data.index)
        return out
