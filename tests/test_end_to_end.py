"""End to end: the real CLI runs the whole pipeline on the bundled sample, then the pushed
model is used from fresh processes after the pipeline root is gone."""

import glob
import os
from pathlib import Path
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from components.artifacts import model as model_artifact
from schemas import features
from tests.conftest import run_cli

MODEL_NAME = "imdb_sentiment"

pytestmark = pytest.mark.slow


@pytest.fixture
def without_pipeline_root(pushed_run, tmp_path):
    """The shared run's output with its pipeline root and metadata store moved away, then put back.

    ``pushed_run`` (tests/conftest.py) serves other test files too, so it is
    left as it was found.
    """
    output = pushed_run[0]
    aside = tmp_path / "aside"
    aside.mkdir()
    moved = [output / "pipeline_root", output / "metadata.sqlite"]
    for path in moved:
        shutil.move(path, aside / path.name)
    yield output
    for path in moved:
        shutil.move(aside / path.name, path)


def test_first_run_executes_every_step_blesses_and_pushes(pushed_run):
    output, first, _ = pushed_run
    assert first.returncode == 0, first.stderr[-3000:]
    summary = first.stdout.strip().splitlines()[-1]
    assert "14 steps (14 executed, 0 cached)" in summary
    assert "; blessed; canary passed;" in summary
    versions = os.listdir(output / "serving" / MODEL_NAME)
    assert len(versions) == 1 and versions[0].isdigit()
    assert summary.endswith(f"pushed to {output / 'serving' / MODEL_NAME / versions[0]}")


def test_second_identical_run_is_fully_cached_and_pushes_nothing_new(pushed_run):
    output, _, second = pushed_run
    assert second.returncode == 0, second.stderr[-3000:]
    assert "14 steps (0 executed, 14 cached)" in second.stdout
    assert len(os.listdir(output / "serving" / MODEL_NAME)) == 1


def test_pushed_embedding_artifacts_match_the_injected_matrix_and_vocabulary(pushed_run):
    output, _, _ = pushed_run
    (version,) = os.listdir(output / "serving" / MODEL_NAME)
    embeddings = output / "serving" / MODEL_NAME / version / model_artifact.EMBEDDINGS_DIR
    vocabulary = (embeddings / model_artifact.VOCABULARY_FILE).read_text(encoding="utf-8").split("\n")[:-1]
    assert vocabulary[: len(features.RESERVED_TOKENS)] == list(features.RESERVED_TOKENS)

    (aligned_dir,) = glob.glob(str(output / "pipeline_root" / "EmbeddingAligner" / "embedding" / "*"))
    aligned = np.load(os.path.join(aligned_dir, "matrix.npy"))
    injected = np.load(embeddings / model_artifact.INJECTED_MATRIX_FILE)
    trained = np.load(embeddings / model_artifact.TRAINED_MATRIX_FILE)
    np.testing.assert_array_equal(injected, aligned)
    assert trained.shape == aligned.shape == (len(vocabulary), 50)
    assert not np.array_equal(trained, injected)  # fine-tuned by default

    metadata = (
        (embeddings / model_artifact.PROJECTOR_METADATA_FILE).read_text(encoding="utf-8").split("\n")[:-1]
    )
    assert metadata == vocabulary[1:]  # padding row left out
    first_row = (embeddings / model_artifact.PROJECTOR_VECTORS_FILE).read_text().split("\n")[0].split("\t")
    np.testing.assert_allclose([float(v) for v in first_row], trained[features.UNK_ID], rtol=1e-5)


def test_pushed_model_works_from_a_fresh_process_after_the_pipeline_root_is_deleted(
    without_pipeline_root, tmp_path
):
    output = without_pipeline_root
    model_dir = output / "serving" / MODEL_NAME

    result = run_cli(
        "predict",
        "--model",
        str(model_dir),
        "an awful, boring waste of time",
        "a wonderful, moving masterpiece",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.strip().splitlines()
    negative, positive = (float(line.split("\t")[0]) for line in lines)
    assert lines[0].endswith("\tan awful, boring waste of time")
    assert negative < 0.3 < 0.7 < positive

    # Both signatures from plain TensorFlow, as a downstream service would load them.
    (version,) = os.listdir(model_dir)
    script = textwrap.dedent(
        f"""
        import tensorflow as tf
        model = tf.saved_model.load({str(model_dir / version)!r})
        text = model.signatures["serving_default"](text=tf.constant(["a wonderful, moving masterpiece"]))
        example = tf.train.Example()
        example.features.feature["text"].bytes_list.value.append(b"a wonderful, moving masterpiece")
        serialized = tf.constant([example.SerializeToString()])
        by_example = model.signatures["serving_tf_example"](examples=serialized)
        print(sorted(model.signatures), float(text["probability"][0]), float(by_example["probability"][0]))
        """
    )
    loaded = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, cwd=tmp_path
    )
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    names, by_text, by_example = loaded.stdout.strip().rsplit(" ", 2)
    assert names == "['serving_default', 'serving_tf_example']"
    assert float(by_text) == pytest.approx(positive, abs=1e-4)
    assert float(by_example) == pytest.approx(float(by_text), abs=1e-6)

    # The README's downstream example, which needs nothing but TensorFlow.
    example = Path(__file__).resolve().parents[1] / "examples" / "classify_reviews.py"
    served = subprocess.run(
        [
            sys.executable,
            str(example),
            str(model_dir),
            "a wonderful, moving masterpiece",
            "an awful, boring waste of time",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert served.returncode == 0, served.stderr[-3000:]
    rows = [line.split("\t") for line in served.stdout.strip().splitlines()]
    assert [(label, text) for _, label, text in rows] == [
        ("positive", "a wonderful, moving masterpiece"),
        ("negative", "an awful, boring waste of time"),
    ]
    assert float(rows[0][0]) == pytest.approx(positive, abs=1e-4)
