"""The MLmodel file: a model directory's YAML manifest, read and written like MLflow.

Unknown top-level keys are kept, so a file written by MLflow (``mlflow_version``,
``model_id``, ``prompts``...) survives a load/save round trip unchanged.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from dataclasses import dataclass, field
from typing import Any

from nbtrack.errors import InvalidParameter, NotFound

__all__ = ["MLMODEL_FILE_NAME", "Model", "ModelInfo", "get_model_info"]

MLMODEL_FILE_NAME = "MLmodel"
_PRIVATE_KEYS = ("signature", "saved_input_example_info", "metadata", "model_size_bytes",
                 "env_vars", "resources", "auth_policy")


def _nbtrack_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("nbtrack")
    except PackageNotFoundError:
        return "0.0.0"


class Model:
    """An MLflow Model: flavors plus metadata (signature, input example, provenance).

    Parameters mirror ``mlflow.models.Model``; extra keyword arguments become attributes and
    are written back to the MLmodel file.
    """

    def __init__(
        self,
        artifact_path: str | None = None,
        run_id: str | None = None,
        utc_time_created: str | None = None,
        flavors: dict[str, dict[str, Any]] | None = None,
        signature: Any = None,
        saved_input_example_info: dict[str, Any] | None = None,
        model_uuid: str | None = None,
        metadata: dict[str, Any] | None = None,
        model_size_bytes: int | None = None,
        env_vars: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        self.artifact_path = artifact_path
        self.run_id = run_id
        self.utc_time_created = str(
            utc_time_created or dt.datetime.now(dt.UTC).replace(tzinfo=None)
        )
        self.flavors: dict[str, dict[str, Any]] = flavors if flavors is not None else {}
        self.model_uuid = model_uuid if model_uuid is not None else uuid.uuid4().hex
        self.signature = signature
        self.saved_input_example_info = saved_input_example_info
        self.metadata = metadata
        self.model_size_bytes = model_size_bytes
        self.env_vars = env_vars
        self.__dict__.update(kwargs)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Model) and self.to_dict() == other.to_dict()

    # ---- flavors and schemas ----------------------------------------------------------

    def add_flavor(self, name: str, **params: Any) -> Model:
        """Add (or replace) the configuration of flavor ``name``."""
        self.flavors[name] = params
        return self

    def get_input_schema(self) -> Any:
        return self.signature.inputs if self.signature is not None else None

    def get_output_schema(self) -> Any:
        return self.signature.outputs if self.signature is not None else None

    def get_params_schema(self) -> Any:
        return getattr(self.signature, "params", None)

    def _is_signature_from_type_hint(self) -> bool:
        return bool(getattr(self.signature, "_is_signature_from_type_hint", False))

    def _is_type_hint_from_example(self) -> bool:
        return bool(getattr(self.signature, "_is_type_hint_from_example", False))

    # ---- input examples ---------------------------------------------------------------

    def load_input_example(self, path: str | None = None) -> Any:
        """The saved input example (DataFrame, array, ...), or None. ``path`` is the model dir."""
        from nbtrack.models.example import load_input_example

        return load_input_example(self, self._example_dir(path))

    def load_input_example_params(self, path: str | None = None) -> dict[str, Any] | None:
        from nbtrack.models.example import load_input_example_params

        return load_input_example_params(self, self._example_dir(path))

    def get_serving_input(self, path: str | None = None) -> str | None:
        """The saved example as a JSON scoring request body, or None."""
        from nbtrack.models.example import load_serving_example

        return load_serving_example(self, self._example_dir(path))

    def _example_dir(self, path: str | None) -> str:
        from nbtrack.models.uri import resolve_model_uri

        if path is None:
            if self.run_id is None or self.artifact_path is None:
                raise InvalidParameter("Pass the model directory: this Model was not logged to a run.")
            path = f"runs:/{self.run_id}/{self.artifact_path}"
        return resolve_model_uri(path)

    # ---- serialisation ----------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if not k.startswith("_") and k not in _PRIVATE_KEYS}
        if self.signature is not None:
            out["signature"] = self.signature.to_dict()
            out["is_signature_from_type_hint"] = self._is_signature_from_type_hint()
            out["type_hint_from_example"] = self._is_type_hint_from_example()
        for key in _PRIVATE_KEYS[1:]:
            if getattr(self, key, None) is not None:
                out[key] = getattr(self, key)
        for key in ("artifact_path", "run_id"):
            if out.get(key) is None:
                out.pop(key, None)
        return out

    def to_yaml(self, stream: Any = None) -> str:
        import yaml

        return yaml.safe_dump(self.to_dict(), stream=stream, default_flow_style=False)

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    def __str__(self) -> str:
        return self.to_yaml()

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the MLmodel YAML to the file ``path``."""
        with open(path, "w") as f:
            self.to_yaml(f)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Model:
        """Read an MLmodel file, a model directory, or a model URI."""
        import yaml

        text = os.fspath(path)
        if os.path.basename(text.rstrip("/")) != MLMODEL_FILE_NAME or not os.path.isfile(text):
            from nbtrack.models.uri import resolve_model_uri

            text = os.path.join(resolve_model_uri(text), MLMODEL_FILE_NAME)
        if not os.path.isfile(text):
            raise NotFound(
                f'Could not find an "{MLMODEL_FILE_NAME}" configuration file at "{os.path.dirname(text)}". '
                "A model directory holds an MLmodel file written by save_model/log_model."
            )
        with open(text) as f:
            try:
                content = yaml.safe_load(f)
            except yaml.YAMLError as e:
                raise InvalidParameter(f"{text} is not valid YAML: {e}") from None
        if not isinstance(content, dict):
            raise InvalidParameter(f"{text} is not an MLmodel file (expected a YAML mapping).")
        return cls.from_dict(content)

    @classmethod
    def from_dict(cls, model_dict: dict[str, Any]) -> Model:
        from nbtrack.models.signature import ModelSignature

        d = dict(model_dict)
        from_hint = d.pop("is_signature_from_type_hint", False)
        from_example = d.pop("type_hint_from_example", False)
        if isinstance(d.get("signature"), dict):
            sig = ModelSignature.from_dict(d["signature"])
            sig._is_signature_from_type_hint = bool(from_hint)
            sig._is_type_hint_from_example = bool(from_example)
            d["signature"] = sig
        return cls(**d)

    def get_model_info(self) -> ModelInfo:
        return ModelInfo(
            artifact_path=self.artifact_path,
            flavors=self.flavors,
            model_uri=f"runs:/{self.run_id}/{self.artifact_path}" if self.run_id else None,
            model_uuid=self.model_uuid,
            run_id=self.run_id,
            saved_input_example_info=self.saved_input_example_info,
            signature=self.signature,
            utc_time_created=self.utc_time_created,
            mlflow_version=getattr(self, "mlflow_version", None),
            metadata=self.metadata,
            env_vars=self.env_vars,
        )


@dataclass(slots=True)
class ModelInfo:
    """What ``log_model`` returns: where the model went and what it is (MLflow's fields)."""

    artifact_path: str | None
    flavors: dict[str, Any]
    model_uri: str | None
    model_uuid: str
    run_id: str | None
    saved_input_example_info: dict[str, Any] | None
    signature: Any
    utc_time_created: str
    mlflow_version: str | None = None
    metadata: dict[str, Any] | None = None
    env_vars: list[str] | None = None
    registered_model_version: int | None = None
    model_id: str | None = None
    prompts: list[str] | None = field(default=None)
    params: dict[str, str] | None = None  # MLflow 3: the logged model's params and metrics
    metrics: list[Any] | None = None

    @property
    def name(self) -> str | None:
        return self.artifact_path


def get_model_info(model_uri: str) -> ModelInfo:
    """Read the :class:`ModelInfo` of the model at ``model_uri`` without loading it."""
    model = Model.load(model_uri)
    info = model.get_model_info()
    if info.model_uri is None:
        info.model_uri = model_uri
    return info
