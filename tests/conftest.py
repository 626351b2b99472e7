"""Shared fixtures: tiny real transform outputs built with tf.Transform."""

from collections.abc import Iterator, Sequence
import contextlib
import os
from pathlib import Path
import shutil
import subprocess
import sys
import textwrap

import apache_beam as beam
import pytest
import tensorflow as tf
import tensorflow_transform as tft
import tensorflow_transform.beam as tft_beam
from tensorflow_transform.tf_metadata import dataset_metadata, schema_utils
from tfx.types import artifact_utils, standard_artifacts

from components.transform.options import TransformOptions
from components.transform.preprocessing import make_preprocessing_fn
from schemas import features

# Named explicitly: Beam's DirectRunner first tries the Prism runner, which
# downloads a binary (no network in CI).
BEAM_RUNNER = "FnApiRunner"

# Optional real data (full IMDb archive, GloVe subset) in a `shared/data/`
# folder beside the checkout; tests that need it skip when it is absent.
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.failed and getattr(item, "module", None) is not None:
        item.module.__dict__["_A_TEST_FAILED"] = True
    return report


@pytest.fixture(scope="module", autouse=True)
def _remove_module_temp_dirs(request, tmp_path_factory):
    """Removes the folders a module's fixtures made once all its tests passed.

    ``tmp_path_retention_policy = "failed"`` (pyproject.toml) covers each
    test's own ``tmp_path``; this covers ``tmp_path_factory.mktemp`` folders
    built for a whole module (pipeline runs of about 350 MB each), which pytest
    would otherwise keep until the session ends. A failing module keeps them.
    """
    base = tmp_path_factory.getbasetemp()
    before = set(base.iterdir())
    yield
    if not request.module.__dict__.get("_A_TEST_FAILED"):
        for path in set(base.iterdir()) - before:
            if not path.name.startswith("session-"):
                shutil.rmtree(path, ignore_errors=True)


def shared_data_file(name: str) -> Path:
    """Path of an optional real-data file, or a skip naming what is missing."""
    path = SHARED_DATA / name
    if not path.is_file():
        pytest.skip(f"optional real-data test: {path} is absent")
    return path


def examples_artifact(uri: Path | str, splits: dict[str, list]) -> standard_artifacts.Examples:
    """An Examples artifact at ``uri`` laid out as ExampleGen writes it: gzip TFRecords in ``Split-<name>/``.

    Each split maps to its records (``tf.train.Example`` or serialized bytes),
    written as one file, or to a list of such lists, written as one file each.
    """
    examples = standard_artifacts.Examples()
    examples.uri = str(uri)
    examples.split_names = artifact_utils.encode_split_names(list(splits))
    for split, records in splits.items():
        folder = Path(artifact_utils.get_split_uri([examples], split))
        folder.mkdir(parents=True)
        files = records if records and isinstance(records[0], list) else [records]
        for index, file_records in enumerate(files):
            path = folder / f"data_tfrecord-{index:05d}-of-{len(files):05d}.gz"
            with tf.io.TFRecordWriter(str(path), "GZIP") as writer:
                for record in file_records:
                    writer.write(record if isinstance(record, bytes) else record.SerializeToString())
    return examples


def analyze(texts: Sequence[str], options: TransformOptions, output_dir: str) -> tft.TFTransformOutput:
    """Runs the real preprocessing_fn's analyzers over ``texts`` and writes the transform graph."""
    metadata = dataset_metadata.DatasetMetadata(
        schema_utils.schema_from_feature_spec(
            {
                features.TEXT: tf.io.FixedLenFeature([], tf.string),
                features.LABEL: tf.io.FixedLenFeature([], tf.int64),
            }
        )
    )
    rows = [{features.TEXT: text, features.LABEL: 0} for text in texts]
    with beam.Pipeline(runner=BEAM_RUNNER) as pipeline, tft_beam.Context(temp_dir=output_dir + ".tmp"):
        transform_fn = (pipeline | beam.Create(rows), metadata) | tft_beam.AnalyzeDataset(
            make_preprocessing_fn(options)
        )
        _ = transform_fn | tft_beam.WriteTransformFn(output_dir)
    return tft.TFTransformOutput(output_dir)


@pytest.fixture
def transform_output_factory(tmp_path):
    """Builds real transform outputs in the test's temporary directory."""
    counter = iter(range(1000))

    def build(texts: Sequence[str], options: TransformOptions) -> tft.TFTransformOutput:
        return analyze(texts, options, os.path.join(tmp_path, f"transform_{next(counter)}"))

    return build


# The default pipeline's step ids in data-flow order (pipeline.pipeline.create_pipeline), written
# out rather than derived so that a step which disappears fails the tests comparing against it.
DEFAULT_STEP_IDS = (
    "FileBasedExampleGen",
    "SchemaImporter",
    "ExampleValidator",
    "EvalSlices",
    "Transform",
    "Word2Vec",
    "EmbeddingAligner",
    "StatisticsGen",
    "previous_statistics_resolver",
    "DriftCheck",
    "Trainer",
    "baseline_model_resolver",
    "Evaluator",
    "Canary",
    "Pusher",
    "Report",
)

CLI = str(Path(sys.executable).with_name("imdb-pipeline"))


def run_cli(*args: str, cwd) -> subprocess.CompletedProcess:
    """Runs the ``imdb-pipeline`` console script in a fresh process."""
    return subprocess.run([CLI, *args], cwd=cwd, capture_output=True, text=True, timeout=1200)


@contextlib.contextmanager
def lock_held_in_subprocess(module: str, lock: str, path: str) -> Iterator[subprocess.Popen]:
    """Another process holding ``<module>.<lock>(path)``, a lock context manager, for the block.

    The holder is killed (SIGKILL) when the block ends, however it ends, also when the
    holder never reports the lock taken: no sleeping child outlives the test. The kernel
    then releases its lock.
    """
    script = textwrap.dedent(
        f"""
        import time
        from {module} import {lock}
        with {lock}({path!r}):
            print("locked", flush=True)
            time.sleep(600)
        """
    )
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "locked"
        yield process
    finally:
        process.kill()
        process.wait()
        process.stdout.close()


@pytest.fixture(scope="session")
def pushed_run(tmp_path_factory):
    """Runs the default pipeline twice on the bundled sample; returns (output dir, both results).

    One run for the whole session (per worker process), shared by the test files that read it:
    a test that changes the output must work on a copy or restore it.
    """
    workdir = tmp_path_factory.mktemp("session-e2e")
    output = workdir / "out"
    first = run_cli("run", "--output", str(output), cwd=workdir)
    second = run_cli("run", "--output", str(output), cwd=workdir)
    return output, first, second
