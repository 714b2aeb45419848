"""``from_spark`` and ``from_tensorflow`` describe data as MLflow's do, with the real libraries: one
script per library builds the same datasets with the real mlflow and with nbtrack, and the test
compares digests, schemas, profiles, sources, errors and what ``log_input`` stores and ``get_run``
reads back. Needs the ``bigdata`` extra (pyspark, tensorflow-cpu) and Java.

Both libraries run in one process, on the same DataFrames: a Spark digest is the semantic hash of
the query plan, which differs from one JVM to the next for a file scan or an in-memory DataFrame
(MLflow's own digest of the same Parquet files changes between two Python processes). One process
also starts the JVM, or TensorFlow, once instead of twice.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import textwrap

import pytest
from procenv import python_env

pytestmark = pytest.mark.skipif(importlib.util.find_spec("mlflow") is None, reason="needs the real mlflow (bench extra)")

_HEAD = '''
    import json, os, sys, warnings
    warnings.simplefilter("ignore")
    import numpy as np
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    import mlflow as real_mlflow
    import nbtrack
    home = sys.argv[1]
    real_mlflow.set_tracking_uri("file://" + home + "/mlruns")
    nbtrack.set_tracking_uri(home + "/store")

    def describe(ds):
        d = ds.to_dict()
        return {"dict": {k: (json.loads(v) if k in ("source", "schema", "profile") and v else v) for k, v in d.items()},
                "digest": ds.digest, "name": ds.name, "profile": ds.profile,
                "source_class": type(ds.source).__name__, "class": type(ds).__name__}

    def error(f):
        try:
            f()
        except Exception as e:
            return [getattr(e, "error_code", type(e).__name__), str(e), type(e).__name__]
        return "no error"

    def logged(mlflow, datasets):
        with mlflow.start_run() as run:
            for ds, context in datasets:
                mlflow.log_input(ds, context=context)
        inputs = mlflow.get_run(run.info.run_id).inputs.dataset_inputs
        return sorted([[i.dataset.name, i.dataset.digest, i.dataset.source_type, json.loads(i.dataset.source),
                        json.loads(i.dataset.schema) if i.dataset.schema else None,
                        json.loads(i.dataset.profile) if i.dataset.profile else None,
                        sorted([t.key, t.value] for t in i.tags),
                        type(mlflow.data.get_source(i)).__name__, mlflow.data.get_source(i).to_dict()]
                       for i in inputs], key=lambda r: r[0])

    def code_source(ds):
        return {"source_class": type(ds.source).__name__, "keys": sorted(ds.source.to_dict()["tags"])[:3],
                "digest": ds.digest}
'''

SPARK = textwrap.dedent(_HEAD + '''
    import datetime
    from importlib import import_module
    from pyspark.ml.linalg import Vectors
    from pyspark.sql import SparkSession, types as T
    spark = (SparkSession.builder.master("local[1]").config("spark.ui.enabled", "false")
             .config("spark.sql.shuffle.partitions", "1").config("spark.sql.session.timeZone", "UTC").getOrCreate())
    schema = T.StructType([
        T.StructField("i", T.IntegerType()), T.StructField("l", T.LongType()), T.StructField("d", T.DoubleType()),
        T.StructField("f", T.FloatType()), T.StructField("s", T.StringType()), T.StructField("b", T.BooleanType()),
        T.StructField("bin", T.BinaryType()), T.StructField("day", T.DateType()), T.StructField("ts", T.TimestampType()),
        T.StructField("sh", T.ShortType()), T.StructField("arr", T.ArrayType(T.IntegerType())),
        T.StructField("st", T.StructType([T.StructField("x", T.DoubleType(), False), T.StructField("y", T.StringType())])),
        T.StructField("m", T.MapType(T.StringType(), T.LongType())), T.StructField("label", T.IntegerType()),
    ])
    rows = [(k, 10 * k, k / 2, float(k), "r%d" % k, k % 2 == 0, bytes([k]), datetime.date(2024, 1, 1 + k),
             datetime.datetime(2024, 1, 1, k), k, [k, k + 1], (k * 1.5, "y%d" % k), {"a": k, "b": k + 1}, k % 2)
            for k in range(1, 8)]
    # made once and given to both libraries: an in-memory DataFrame's semantic hash is new each time
    df = spark.createDataFrame(rows, schema)
    vectors = spark.createDataFrame([(Vectors.dense([1.0, 2.0]), 1.0), (Vectors.dense([0.5, 0.0]), 0.0)], ["v", "y"])
    decimals = spark.sql("SELECT CAST(1.5 AS DECIMAL(4, 2)) AS price")
    nested_map = spark.sql("SELECT map('a', map('b', 1)) AS mm")
    shared = os.path.join(home, "shared")
    parquet = os.path.join(shared, "train.parquet")
    spark.range(0, 2500).selectExpr("id", "id % 3 AS label", "cast(id AS double) / 7 AS x").write.parquet(parquet)
    from_file = spark.read.parquet(parquet)
    from_file.createOrReplaceTempView("train_view")
    delta_dir = os.path.join(shared, "delta_train")  # a Delta table's layout (this Spark has no Delta Lake)
    from_file.write.parquet(delta_dir)
    os.makedirs(os.path.join(delta_dir, "_delta_log"))

    def run(mlflow):
        SparkDataset = import_module(mlflow.__name__ + ".data.spark_dataset").SparkDataset
        DeltaDatasetSource = import_module(mlflow.__name__ + ".data.delta_dataset_source").DeltaDatasetSource
        out = {}
        out["typed"] = describe(mlflow.data.from_spark(df, sql="SELECT * FROM src", targets="label", name="typed"))
        out["parquet"] = describe(mlflow.data.from_spark(from_file, path=parquet, targets="label"))
        out["filtered"] = describe(mlflow.data.from_spark(from_file.filter("label = 1"), path=parquet))
        out["empty"] = describe(mlflow.data.from_spark(from_file.limit(0), path=parquet))
        out["table"] = describe(mlflow.data.from_spark(spark.table("train_view"), table_name="train_view"))
        out["digest_given"] = describe(mlflow.data.from_spark(from_file, path=parquet, digest="abc"))
        out["predictions"] = describe(mlflow.data.from_spark(df.select("i", "label"), sql="SELECT 1", predictions="i"))
        out["vectors"] = describe(mlflow.data.from_spark(vectors, sql="SELECT 2", targets="y"))
        out["decimals"] = describe(mlflow.data.from_spark(decimals, sql="SELECT 3"))
        out["nested_map"] = describe(mlflow.data.from_spark(nested_map, sql="SELECT 4"))
        out["delta_path"] = describe(mlflow.data.from_spark(from_file, path=delta_dir))
        out["delta_path_version"] = describe(mlflow.data.from_spark(from_file, path=delta_dir, version="2"))
        out["delta_by_hand"] = describe(SparkDataset(from_file, DeltaDatasetSource(path=delta_dir, delta_table_version=3)))
        out["delta_table_source"] = DeltaDatasetSource(delta_table_name="db.train", delta_table_version=4).to_dict()
        out["delta_table_source_0"] = DeltaDatasetSource(delta_table_name="spark_catalog.db.t", delta_table_version=0).to_dict()
        out["code_source"] = code_source(mlflow.data.from_spark(from_file))
        out["errors"] = {
            "two_sources": error(lambda: mlflow.data.from_spark(df, path=parquet, sql="SELECT 1")),
            "version_and_sql": error(lambda: mlflow.data.from_spark(df, sql="SELECT 1", version="2")),
            "version_not_delta": error(lambda: mlflow.data.from_spark(df, path=parquet, version="2")),
            "version_not_delta_table": error(lambda: mlflow.data.from_spark(df, table_name="train_view", version=1)),
            "missing_targets": error(lambda: mlflow.data.from_spark(df, path=parquet, targets="nope")),
            "missing_predictions": error(lambda: mlflow.data.from_spark(df, path=parquet, predictions="nope")),
            "no_source_kind": error(lambda: import_module(mlflow.__name__ + ".data.spark_dataset_source")
                                    .SparkDatasetSource()),
            "delta_two_kinds": error(lambda: DeltaDatasetSource(path="p", delta_table_name="t")),
        }
        out["not_a_dataframe"] = error(lambda: mlflow.data.from_spark(from_file.toPandas(), path=parquet))
        reloaded = mlflow.data.get_source(mlflow.data.from_spark(from_file, path=parquet)._to_mlflow_entity()).load()
        out["reloaded_count"] = reloaded.count()
        out["sql_reloaded"] = mlflow.data.get_source(
            mlflow.data.from_spark(from_file, sql="SELECT * FROM train_view")._to_mlflow_entity()).load().count()
        pyfunc = mlflow.data.from_spark(from_file, path=parquet, targets="label").to_pyfunc()
        out["pyfunc"] = [list(pyfunc.inputs.shape), list(pyfunc.outputs.shape), sorted(pyfunc.inputs.columns)]
        out["logged"] = logged(mlflow, [
            (mlflow.data.from_spark(from_file, path=parquet, targets="label", name="train"), "training"),
            (mlflow.data.from_spark(spark.table("train_view"), table_name="train_view", name="view"), "eval"),
            (mlflow.data.from_spark(from_file, path=delta_dir, version=3, name="delta"), "test")])
        return out

    print(json.dumps({"mlflow": run(real_mlflow), "nbtrack": run(nbtrack)}, default=str))
''')

TENSORFLOW = textwrap.dedent(_HEAD + '''
    import tensorflow as tf
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 4)).astype("float32")
    y = rng.integers(0, 3, 300)
    big = rng.normal(size=(20, 700)).astype("float32")  # elements longer than the 10,000 values a digest reads
    cases = {
        "tensor": (tf.constant(x), None),
        "tensor_targets": (tf.constant(x), tf.constant(y)),
        "tensor_int": (tf.constant(np.arange(12, dtype=np.int32).reshape(3, 4)), None),
        "slices": (tf.data.Dataset.from_tensor_slices(x), None),
        "slices_targets": (tf.data.Dataset.from_tensor_slices(x), tf.data.Dataset.from_tensor_slices(y)),
        "batched": (tf.data.Dataset.from_tensor_slices(x).batch(64), None),
        "big_batches": (tf.data.Dataset.from_tensor_slices(big).batch(20), None),
        "tuple": (tf.data.Dataset.from_tensor_slices((x, y)), None),
        "dict": (tf.data.Dataset.from_tensor_slices({"b": x, "a": y}), None),
        "strings": (tf.data.Dataset.from_tensor_slices(np.array(["a", "bb", "c"])).batch(2), None),
        "filtered": (tf.data.Dataset.from_tensor_slices(x).filter(lambda v: v[0] > 0), None),
        "repeated": (tf.data.Dataset.from_tensor_slices(x).take(10).repeat(2), None),
        "ragged": (tf.data.Dataset.from_tensor_slices(tf.ragged.constant([[1, 2], [3]])), None),
        "nested": (tf.data.Dataset.from_tensor_slices({"a": {"b": x}}), None),
    }

    def run(mlflow):
        out = {}
        for name, (features, targets) in cases.items():
            out[name] = describe(mlflow.data.from_tensorflow(features, source="data/train.npz", targets=targets))
        out["digest_given"] = describe(mlflow.data.from_tensorflow(tf.constant(x), source="a.npz", digest="d1", name="n"))
        out["http_source"] = describe(mlflow.data.from_tensorflow(tf.constant(x), source="https://example.com/x.npz"))
        out["code_source"] = code_source(mlflow.data.from_tensorflow(tf.constant(x)))
        out["errors"] = {
            "numpy_features": error(lambda: mlflow.data.from_tensorflow(x)),
            "tensor_and_dataset": error(lambda: mlflow.data.from_tensorflow(tf.constant(x),
                                                                            targets=tf.data.Dataset.range(3))),
            "dataset_and_tensor": error(lambda: mlflow.data.from_tensorflow(tf.data.Dataset.range(3),
                                                                            targets=tf.constant(y))),
            "empty_dataset": error(lambda: mlflow.data.from_tensorflow(tf.data.Dataset.range(0), source="e.npz")),
        }
        out["pyfunc_is_input"] = mlflow.data.from_tensorflow(tf.constant(x)).to_pyfunc().inputs is not None
        out["logged"] = logged(mlflow, [
            (mlflow.data.from_tensorflow(cases["tuple"][0], source="data/train.npz", name="train"), "training"),
            (mlflow.data.from_tensorflow(tf.constant(x), targets=tf.constant(y), source="data/e.npz", name="eval"),
             "eval")])
        return out

    print(json.dumps({"mlflow": run(real_mlflow), "nbtrack": run(nbtrack)}, default=str))
''')


def _compare(script: str, tmp_path_factory, timeout: float) -> tuple[dict, dict]:
    home = tmp_path_factory.mktemp("home")
    done = subprocess.run([sys.executable, "-c", script, str(home)], cwd=home, capture_output=True, text=True,
                          env=python_env(), timeout=timeout)
    assert done.returncode == 0, f"script failed:\n{done.stderr[-3000:]}"
    out = json.loads(done.stdout.strip().splitlines()[-1])
    return out["mlflow"], out["nbtrack"]


@pytest.fixture(scope="module")
def spark_results(tmp_path_factory):
    return _compare(SPARK, tmp_path_factory, 300)


@pytest.fixture(scope="module")
def tf_results(tmp_path_factory):
    return _compare(TENSORFLOW, tmp_path_factory, 300)


SPARK_CASES = ["typed", "parquet", "filtered", "empty", "table", "digest_given", "predictions", "vectors", "decimals",
               "nested_map", "delta_path", "delta_path_version", "delta_by_hand", "delta_table_source",
               "delta_table_source_0", "code_source", "reloaded_count", "sql_reloaded", "pyfunc", "logged"]
TF_CASES = ["tensor", "tensor_targets", "tensor_int", "slices", "slices_targets", "batched", "big_batches", "tuple",
            "dict", "strings", "filtered", "repeated", "ragged", "nested", "digest_given", "http_source",
            "code_source", "pyfunc_is_input", "logged"]


def _same_errors(theirs: dict, ours: dict) -> None:
    """Same error code and message (ours may say more after it), and always an NbtrackError."""
    import nbtrack.errors

    assert ours.keys() == theirs.keys()
    for case, (code, message, _) in theirs.items():
        assert ours[case][0] == code, case
        assert ours[case][1].startswith(message.rstrip(".")), case
        assert issubclass(getattr(nbtrack.errors, ours[case][2]), nbtrack.errors.NbtrackError), case


@pytest.mark.parametrize("case", SPARK_CASES)
def test_spark_same_as_mlflow(spark_results, case):
    theirs, ours = spark_results[0][case], spark_results[1][case]
    assert ours == theirs


def test_spark_what_the_digest_schema_profile_and_sources_say(spark_results):
    ours = spark_results[1]
    assert ours["parquet"]["digest"] != ours["filtered"]["digest"]
    assert ours["parquet"]["profile"] == {"approx_count": 2500}
    assert ours["empty"]["profile"] == {"approx_count": "unknown"}
    assert ours["typed"]["dict"]["source"] == {"sql": "SELECT * FROM src"}
    types = {c["name"]: c["type"] for c in ours["typed"]["dict"]["schema"]["mlflow_colspec"]}
    assert types["day"] == types["ts"] == "datetime" and types["l"] == "long" and types["arr"] == "array"
    assert types["m"] == "object" and types["sh"] == "integer"
    assert ours["vectors"]["dict"]["schema"]["mlflow_colspec"][0]["type"] == "sparkml_vector"
    assert ours["decimals"]["dict"]["schema"] is None and ours["nested_map"]["dict"]["schema"] is None
    assert ours["delta_path"]["source_class"] == "DeltaDatasetSource"
    assert ours["delta_path_version"]["dict"]["source"]["delta_table_version"] == "2"
    assert ours["code_source"]["source_class"] == "CodeDatasetSource"
    assert ours["reloaded_count"] == ours["sql_reloaded"] == 2500
    assert ours["pyfunc"] == [[2500, 2], [2500], ["id", "x"]]
    assert [r[7] for r in ours["logged"]] == ["DeltaDatasetSource", "SparkDatasetSource", "SparkDatasetSource"]


def test_spark_errors(spark_results):
    theirs, ours = spark_results
    _same_errors(theirs["errors"], ours["errors"])
    # MLflow fails on a pandas DataFrame with an AttributeError deep inside; nbtrack says what to pass
    assert ours["not_a_dataframe"][2] == "InvalidParameter" and "from_pandas" in ours["not_a_dataframe"][1]


@pytest.mark.parametrize("case", TF_CASES)
def test_tensorflow_same_as_mlflow(tf_results, case):
    theirs, ours = tf_results[0][case], tf_results[1][case]
    assert ours == theirs


def test_tensorflow_what_the_digest_schema_and_profile_say(tf_results):
    ours = tf_results[1]
    assert len({ours[c]["digest"] for c in ("tensor", "tensor_targets", "slices", "filtered", "repeated")}) == 5
    # the digest hashes the values in order, not how they are batched (MLflow's does the same)
    assert ours["slices"]["digest"] == ours["batched"]["digest"]
    assert ours["slices_targets"]["profile"] == {"features_cardinality": 300, "targets_cardinality": 300}
    assert ours["tensor"]["profile"] == {"features_cardinality": 1200}
    assert ours["filtered"]["profile"] == {"features_cardinality": -2}  # unknown until iterated, as TensorFlow
    assert ours["nested"]["dict"]["schema"] is None  # nested dicts of tensors have no schema, as in MLflow
    features = json.loads(ours["slices"]["dict"]["schema"]["mlflow_tensorspec"]["features"])
    assert features == [{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1]}}]  # MLflow: -1 first
    # a dict or tuple element holding a scalar (not an array) has no schema, in MLflow too
    assert ours["dict"]["dict"]["schema"] is None and ours["tuple"]["dict"]["schema"] is None
    assert [r[0] for r in ours["logged"]] == ["eval", "train"]


def test_tensorflow_errors(tf_results):
    theirs, ours = tf_results
    _same_errors(theirs["errors"], ours["errors"])
