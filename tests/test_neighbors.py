"""Nearest neighbours in a pushed model's embeddings: exact cosine, exclusions, unknown words, the CLI."""

from pathlib import Path

import numpy as np
import pytest

from components.embeddings import projector
from components.embeddings.neighbors import (
    INJECTED,
    TRAINED,
    Embeddings,
    EmbeddingsNotFoundError,
    UnknownWordError,
    load_embeddings,
    nearest_neighbors,
)
from pipeline import cli
from pipeline.predict import SAVED_MODEL_FILE, ModelNotFoundError
from schemas import features
from tests.conftest import run_cli

VOCABULARY = [*features.RESERVED_TOKENS, "great", "good", "awful", "bad", "film", "blank"]
# Trained: great is closest to good (cosine 0.8), then film (0), bad (-0.6), awful (-1).
# <unk> points exactly where great does but is never a neighbour; blank is all zeros.
TRAINED_ROWS = {
    "<unk>": (1.0, 0.0),
    "great": (2.0, 0.0),
    "good": (0.8, 0.6),
    "awful": (-3.0, 0.0),
    "bad": (-0.6, 0.8),
    "film": (0.0, 5.0),
    "blank": (0.0, 0.0),
}
# Injected (before fine-tuning): great and awful share contexts, so they start close.
INJECTED_ROWS = {**TRAINED_ROWS, "awful": (1.0, 0.0), "good": (0.0, 1.0)}


def _matrix(rows: dict[str, tuple[float, float]]) -> np.ndarray:
    matrix = np.zeros((len(VOCABULARY), 2), dtype=np.float32)
    for word, values in rows.items():
        matrix[VOCABULARY.index(word)] = values
    return matrix


def _push(model_dir: Path, version: int) -> Path:
    """A pushed version as the Pusher leaves it (an empty saved_model.pb stands in for the model)."""
    version_dir = model_dir / str(version)
    version_dir.mkdir(parents=True)
    (version_dir / SAVED_MODEL_FILE).write_bytes(b"")
    projector.write_embedding_artifacts(
        str(version_dir / projector.EMBEDDINGS_DIR), VOCABULARY, _matrix(TRAINED_ROWS), _matrix(INJECTED_ROWS)
    )
    return version_dir


@pytest.fixture
def model_dir(tmp_path) -> Path:
    model = tmp_path / "serving" / "imdb_sentiment"
    _push(model, 100)
    _push(model, 200)
    return model


def _embeddings(rows=TRAINED_ROWS) -> Embeddings:
    return Embeddings(tuple(VOCABULARY), _matrix(rows))


def test_exact_cosine_neighbours_exclude_the_word_reserved_tokens_and_zero_rows():
    result = nearest_neighbors(_embeddings(), ["great", "awful"], k=10)
    assert list(result) == ["great", "awful"]
    assert [word for word, _ in result["great"]] == ["good", "film", "bad", "awful"]
    np.testing.assert_allclose([cosine for _, cosine in result["great"]], [0.8, 0.0, -0.6, -1.0], atol=1e-6)
    assert [word for word, _ in result["awful"]] == ["bad", "film", "good", "great"]
    np.testing.assert_allclose([cosine for _, cosine in result["awful"]], [0.6, 0.0, -0.8, -1.0], atol=1e-6)


def test_top_k_and_ties_in_vocabulary_order():
    assert [word for word, _ in nearest_neighbors(_embeddings(), ["great"], k=2)["great"]] == ["good", "film"]
    tied = {**TRAINED_ROWS, "good": (0.0, 1.0), "bad": (0.0, -1.0)}  # good, bad and film all at cosine 0
    result = nearest_neighbors(_embeddings(tied), ["great"], k=2)["great"]
    assert result == [("good", 0.0), ("bad", 0.0)]


def test_query_words_are_normalised_like_review_text():
    result = nearest_neighbors(_embeddings(), ["Great", "GOOD"], k=1)
    assert result == {"Great": [("good", pytest.approx(0.8))], "GOOD": [("great", pytest.approx(0.8))]}


def test_unknown_words_are_all_listed():
    with pytest.raises(UnknownWordError) as raised:
        nearest_neighbors(_embeddings(), ["great", "xyzzy", "<unk>", "masterpiece"])
    assert raised.value.words == ["xyzzy", "<unk>", "masterpiece"]
    assert str(raised.value).startswith(
        "3 words are not in the vocabulary of the embeddings: 'xyzzy', '<unk>', 'masterpiece'"
    )


def test_a_zero_vector_has_no_neighbours():
    assert nearest_neighbors(_embeddings(), ["blank"]) == {"blank": []}
    with pytest.raises(ValueError, match="k must be at least 1"):
        nearest_neighbors(_embeddings(), ["great"], k=0)


def test_load_embeddings_takes_the_newest_version_or_a_given_one(model_dir):
    newest = load_embeddings(str(model_dir))
    assert newest.source == str(model_dir / "200" / projector.EMBEDDINGS_DIR / projector.TRAINED_MATRIX_FILE)
    assert newest.vocabulary == tuple(VOCABULARY)
    np.testing.assert_array_equal(newest.matrix, _matrix(TRAINED_ROWS))
    injected = load_embeddings(str(model_dir / "100"), INJECTED)
    assert injected.source.endswith(f"100/{projector.EMBEDDINGS_DIR}/{projector.INJECTED_MATRIX_FILE}")
    np.testing.assert_array_equal(injected.matrix, _matrix(INJECTED_ROWS))


def test_load_embeddings_explains_what_is_missing(tmp_path, model_dir):
    with pytest.raises(ModelNotFoundError, match="holds no SavedModel"):
        load_embeddings(str(tmp_path))
    (model_dir / "200" / projector.EMBEDDINGS_DIR / projector.TRAINED_MATRIX_FILE).unlink()
    with pytest.raises(EmbeddingsNotFoundError, match=r"embeddings.npy does not exist"):
        load_embeddings(str(model_dir), TRAINED)


def test_cli_prints_trained_neighbours_with_cosines(model_dir, capsys):
    assert cli.main(["neighbors", "--model", str(model_dir), "--k", "2", "great", "awful"]) == cli.EXIT_OK
    trained_file = model_dir / "200" / projector.EMBEDDINGS_DIR / projector.TRAINED_MATRIX_FILE
    assert capsys.readouterr().out == (
        f"# cosine similarity in {trained_file}\n"
        "great\n  0.8000  good\n  0.0000  film\n"
        "awful\n  0.6000  bad\n  0.0000  film\n"
    )


def test_cli_unknown_word_exits_2_with_the_words(model_dir, capsys):
    assert cli.main(["neighbors", "--model", str(model_dir), "great", "xyzzy"]) == cli.EXIT_USAGE
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "imdb-pipeline neighbors: 1 word is not in the vocabulary of" in captured.err
    assert captured.err.rstrip().endswith("'xyzzy' (rare words map to <unk> and have no vector of their own)")


def test_console_script_neighbors_injected_reads_the_injected_embeddings(model_dir):
    result = run_cli("neighbors", "--model", str(model_dir), "--injected", "--k", "1", "great", cwd=model_dir)
    assert result.returncode == 0, result.stderr[-2000:]
    injected_file = model_dir / "200" / projector.EMBEDDINGS_DIR / projector.INJECTED_MATRIX_FILE
    # As injected, great's nearest word is awful (cosine 1); after training it is good.
    assert result.stdout == f"# cosine similarity in {injected_file}\ngreat\n  1.0000  awful\n"
