"""Warm start across spans: the second span's Trainer starts from the first span's served model.

The spans are the bundled sample, each without another third of its train
reviews (by review id), so their vocabularies differ (words reordered, added and
dropped) and the embedding rows must be carried over by word. Both runs ask for
a warm start.
"""

import io
import json
import logging
import os
import re
import tarfile

from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2
import numpy as np
import pytest

from components.artifacts import embedding_matrix
from components.artifacts import model as model_artifact
from pipeline import runner
from pipeline.config import SAMPLE_DATA, build_config

pytestmark = pytest.mark.slow

_TRAIN_REVIEW = re.compile(r"/train/(pos|neg)/(\d+)_\d+\.txt$")


def _write_span(root, span, keep):
    """<root>/span-<span>/<sample archive name>: the sample's members that ``keep`` keeps."""
    folder = root / f"span-{span}"
    folder.mkdir(parents=True)
    with tarfile.open(SAMPLE_DATA) as source, tarfile.open(folder / SAMPLE_DATA.name, "w:gz") as target:
        for member in source.getmembers():
            if keep(member):
                content = source.extractfile(member).read() if member.isfile() else None
                target.addfile(member, io.BytesIO(content) if content is not None else None)


def _without_a_third_of_train(third):
    def keep(member):
        match = _TRAIN_REVIEW.search(member.name)
        return not match or int(match.group(2)) % 3 != third

    return keep


def _run(output, spans):
    values = {
        "data": str(spans / "span-{SPAN}" / SAMPLE_DATA.name),
        "output": str(output),
        "trainer": {"warm_start": True},
        "evaluation": {"min_accuracy": 0.7, "min_auc": 0.75, "baseline_margin": 0.05},
    }
    return runner.run_pipeline(build_config(values))


def _store(output):
    connection = metadata_store_pb2.ConnectionConfig()
    connection.sqlite.filename_uri = str(output / "metadata.sqlite")
    return metadata_store.MetadataStore(connection)


def _latest(store, type_name):
    return max(store.get_artifacts_by_type(type_name), key=lambda artifact: artifact.id)


def _trainer_inputs(store, model_id):
    """Input key -> artifact ids of the Trainer execution that wrote the Model ``model_id``."""
    (execution_id,) = {
        event.execution_id
        for event in store.get_events_by_artifact_ids([model_id])
        if event.type == metadata_store_pb2.Event.OUTPUT
    }
    inputs: dict[str, list[int]] = {}
    for event in store.get_events_by_execution_ids([execution_id]):
        if event.type == metadata_store_pb2.Event.INPUT:
            inputs.setdefault(event.path.steps[0].key, []).append(event.artifact_id)
    return inputs


def test_the_second_span_starts_from_the_first_spans_model_by_word(tmp_path, caplog):
    spans, output = tmp_path / "spans", tmp_path / "out"
    _write_span(spans, 1, keep=_without_a_third_of_train(0))
    with caplog.at_level(logging.INFO, logger="components.trainer.executor"):
        first = _run(output, spans)
    assert first.pushed_destination
    assert "Trainer: warm start asked for, but no model has been pushed yet" in caplog.text
    store = _store(output)
    first_model, first_run = _latest(store, "Model"), _latest(store, "ModelRun")
    assert "base_model" not in _trainer_inputs(store, first_model.id)
    assert model_artifact.read_warm_start(first_run.uri) == {"model_uri": None, "model_id": None}

    _write_span(spans, 2, keep=_without_a_third_of_train(1))
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="components.trainer.executor"):
        second = _run(output, spans)
    assert dict(second.steps)["Trainer"] == "COMPLETE"
    assert f"Trainer: warm start from {first_model.uri}: new vocabulary" in caplog.text
    store = _store(output)
    second_model, second_run = _latest(store, "Model"), _latest(store, "ModelRun")
    # Lineage: the first model is an input of the second Trainer.
    assert _trainer_inputs(store, second_model.id)["base_model"] == [first_model.id]

    old_vocabulary = model_artifact.read_model_vocabulary(first_model.uri)
    new_vocabulary = model_artifact.read_model_vocabulary(second_model.uri)
    shared = sorted(set(old_vocabulary) & set(new_vocabulary))
    new_words = [word for word in new_vocabulary if word not in set(old_vocabulary)]
    assert new_words and len(shared) < len(old_vocabulary)
    moved = [word for word in shared if old_vocabulary.index(word) != new_vocabulary.index(word)]
    assert moved, "the test needs words whose row changed"

    record = model_artifact.read_warm_start(second_run.uri)
    assert record["model_id"] == first_model.id and record["model_uri"] == first_model.uri
    assert (record["same_vocabulary"], record["shared_words"], record["new_words"]) == (
        False,
        len(shared),
        len(new_words),
    )
    assert record["dropped_words"] == len(old_vocabulary) - len(shared)
    assert record["copied"] == [
        "embedding/embeddings:0",
        "dense/kernel:0",
        "dense/bias:0",
        "deep_logit/kernel:0",
        "deep_logit/bias:0",
        "ngram_logit/coefficients:0",
    ]
    assert record["fresh"] == {"ngram_logit/log_count_ratios:0": "computed from this run's train split"}

    # What the second model started from: the first model's trained rows for shared words, by
    # word; the second run's aligned matrix for the others.
    started = model_artifact.read_matrix(
        os.path.join(model_artifact.embeddings_dir(second_model.uri), model_artifact.INJECTED_MATRIX_FILE)
    )
    trained_before = model_artifact.read_matrix(
        os.path.join(model_artifact.embeddings_dir(first_model.uri), model_artifact.TRAINED_MATRIX_FILE)
    )
    aligned, aligned_vocabulary = embedding_matrix.read_embedding_matrix(
        _latest(store, "imdb.EmbeddingMatrix").uri
    )
    assert aligned_vocabulary == new_vocabulary
    old_row = {word: row for row, word in enumerate(old_vocabulary)}
    for row, word in enumerate(new_vocabulary):
        expected = trained_before[old_row[word]] if word in old_row else aligned[row]
        np.testing.assert_array_equal(started[row], expected, err_msg=f"row {row} ({word!r})")
    assert not np.array_equal(started, aligned)
    assert json.dumps(record)

    # Unchanged, the run starts from the same model (not from the one it trained itself): a cache hit.
    third = _run(output, spans)
    assert dict(third.steps)["Trainer"] == "CACHED"
