"""``nbtrack.data``: describe the datasets a run uses (MLflow's ``mlflow.data``).

``from_pandas`` / ``from_numpy`` / ``from_huggingface`` / ``from_spark`` / ``from_tensorflow`` build
a dataset whose digest is the one MLflow computes for the same data (datasets, pyspark and
TensorFlow are imported only when used); ``log_input`` records it on the run and
``get_run(...).inputs.dataset_inputs`` reads it back; ``get_source`` rebuilds its
:class:`DatasetSource`.
"""

from __future__ import annotations

from typing import Any

from nbtrack.data import sources
from nbtrack.data.dataset import Dataset
from nbtrack.data.dataset_source import DatasetSource, get_dataset_source_from_json
from nbtrack.data.delta_dataset_source import DeltaDatasetSource
from nbtrack.data.huggingface_dataset import HuggingFaceDataset, from_huggingface
from nbtrack.data.meta_dataset import MetaDataset, from_dict
from nbtrack.data.numpy_dataset import NumpyDataset, from_numpy
from nbtrack.data.pandas_dataset import PandasDataset, from_pandas
from nbtrack.data.spark_dataset import SparkDataset, from_spark
from nbtrack.data.spark_dataset_source import SparkDatasetSource
from nbtrack.data.tensorflow_dataset import TensorFlowDataset, from_tensorflow
from nbtrack.entities import Dataset as DatasetEntity
from nbtrack.entities import DatasetInput
from nbtrack.errors import InvalidParameter

__all__ = ["Dataset", "DatasetSource", "DeltaDatasetSource", "HuggingFaceDataset", "MetaDataset", "NumpyDataset",
           "PandasDataset", "SparkDataset", "SparkDatasetSource", "TensorFlowDataset", "from_dict", "from_huggingface",
           "from_numpy", "from_pandas", "from_spark", "from_tensorflow", "get_source", "sources"]


def get_source(dataset: Dataset | DatasetEntity | DatasetInput | Any) -> DatasetSource:
    """The :class:`DatasetSource` of a dataset, of a logged dataset, or of a run's dataset input.

    Examples
    --------
    >>> run = nbtrack.get_run(run_id)
    >>> nbtrack.data.get_source(run.inputs.dataset_inputs[0]).load()   # the local path
    """
    if isinstance(dataset, DatasetInput):
        dataset = dataset.dataset
    if isinstance(dataset, Dataset):
        return dataset.source
    if isinstance(dataset, DatasetEntity) or (hasattr(dataset, "source_type") and hasattr(dataset, "source")):
        return get_dataset_source_from_json(dataset.source, dataset.source_type)
    raise InvalidParameter(f"Unrecognized dataset type {type(dataset).__name__}. Expected an nbtrack.data "
                           "Dataset, a logged dataset (run.inputs.dataset_inputs[i].dataset) or a DatasetInput.")
