"""Embedding artifacts beside the pushed model: files, escaping, and TensorBoard's projector reading them."""

import json

import numpy as np
import pytest
from tensorboard.plugins import base_plugin
from tensorboard.plugins.projector import projector_plugin
from werkzeug import test as werkzeug_test

from components.artifacts import model as model_artifact
from schemas import features

VOCABULARY = [*features.RESERVED_TOKENS, "good", "tab\there", "carriage\rreturn", "back\\slash", "ünïcode"]


def _matrices():
    rng = np.random.default_rng(3)
    trained = rng.normal(size=(len(VOCABULARY), 4)).astype(np.float32)
    injected = rng.normal(size=(len(VOCABULARY), 4)).astype(np.float32)
    return trained, injected


@pytest.mark.parametrize(
    ("token", "escaped"),
    [
        ("plain", "plain"),
        ("tab\there", "tab\\there"),
        ("new\nline", "new\\nline"),
        ("carriage\rreturn", "carriage\\rreturn"),
        ("back\\slash", "back\\\\slash"),
        ("\\t", "\\\\t"),  # a literal backslash-t stays distinguishable from an escaped tab
    ],
)
def test_escape_token(token, escaped):
    assert model_artifact.escape_token(token) == escaped


def test_embedding_artifacts_hold_the_vocabulary_both_matrices_and_escaped_projector_rows_without_padding(
    tmp_path,
):
    trained, injected = _matrices()
    model_artifact.write_embedding_artifacts(str(tmp_path), VOCABULARY, trained, injected)

    # Bytes, not read_text: universal newlines would split "carriage\rreturn".
    vocabulary = (tmp_path / model_artifact.VOCABULARY_FILE).read_bytes().decode("utf-8")
    assert vocabulary.split("\n")[:-1] == VOCABULARY
    np.testing.assert_array_equal(np.load(tmp_path / model_artifact.TRAINED_MATRIX_FILE), trained)
    np.testing.assert_array_equal(np.load(tmp_path / model_artifact.INJECTED_MATRIX_FILE), injected)

    # One metadata line per projector row, padding left out, tabs and carriage returns escaped.
    metadata = (tmp_path / model_artifact.PROJECTOR_METADATA_FILE).read_bytes().decode("utf-8")
    assert metadata.split("\n") == [
        "<unk>",
        "good",
        "tab\\there",
        "carriage\\rreturn",
        "back\\\\slash",
        "ünïcode",
        "",
    ]
    rows = (tmp_path / model_artifact.PROJECTOR_VECTORS_FILE).read_bytes().decode().split("\n")[:-1]
    vectors = np.array([[float(value) for value in row.split("\t")] for row in rows], dtype=np.float32)
    np.testing.assert_allclose(vectors, trained[features.UNK_ID :], rtol=1e-5)
    info = json.loads((tmp_path / model_artifact.INFO_FILE).read_text())
    assert info == {"rows": 7, "dimension": 4, "pad_id": 0, "unk_id": 1, "projector_rows": 6}


def test_a_token_with_a_newline_cannot_be_written_one_per_line(tmp_path):
    trained, injected = _matrices()
    vocabulary = [*VOCABULARY[:-1], "new\nline"]
    with pytest.raises(ValueError, match="contains a newline"):
        model_artifact.write_embedding_artifacts(str(tmp_path), vocabulary, trained, injected)


def test_tensorboard_projector_plugin_reads_the_files(tmp_path):
    """TensorBoard's own projector plugin, as ``tensorboard --logdir <dir>`` serves it."""
    trained, injected = _matrices()
    model_artifact.write_embedding_artifacts(str(tmp_path), VOCABULARY, trained, injected)
    plugin = projector_plugin.ProjectorPlugin(base_plugin.TBContext(logdir=str(tmp_path)))
    routes = plugin.get_plugin_apps()
    client = werkzeug_test.Client(lambda environ, respond: routes[environ["PATH_INFO"]](environ, respond))

    assert json.loads(client.get("/runs").get_data()) == ["."]
    config = json.loads(client.get("/info?run=.").get_data())
    assert config == {
        "embeddings": [
            {
                "tensorName": "word_embeddings",
                "tensorPath": model_artifact.PROJECTOR_VECTORS_FILE,
                "metadataPath": model_artifact.PROJECTOR_METADATA_FILE,
                "tensorShape": [6, 4],
            }
        ]
    }
    tensor = client.get("/tensor?run=.&name=word_embeddings")
    assert tensor.status_code == 200
    served = np.frombuffer(tensor.get_data(), dtype=np.float32).reshape(6, 4)
    np.testing.assert_allclose(served, trained[features.UNK_ID :], rtol=1e-5)
    metadata = client.get("/metadata?run=.&name=word_embeddings").get_data().decode("utf-8")
    assert metadata.split("\n")[:-1] == [model_artifact.escape_token(token) for token in VOCABULARY[1:]]
