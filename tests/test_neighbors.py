"""Nearest neighbours in a pushed model's embeddings: exact cosine, exclusions, unknown words, the CLI."""

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
import numpy as np
import pytest

from components.artifacts import model as model_artifact
from components.neighbors import (
    INJECTED,
    TRAINED,
    Embeddings,
    EmbeddingsNotFoundError,
    EmbeddingsUnreadableError,
    UnknownWordError,
    nearest_neighbors,
)
from pipeline import cli
from pipeline.neighbors import load_embeddings
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
    model_artifact.write_embedding_artifacts(
        str(version_dir / model_artifact.EMBEDDINGS_DIR),
        VOCABULARY,
        _matrix(TRAINED_ROWS),
        _matrix(INJECTED_ROWS),
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


WHY_RESERVED = "(<pad> fills a review up to the sequence length, <unk> stands for every rare word)"


def test_unknown_words_and_reserved_tokens_are_all_listed():
    with pytest.raises(UnknownWordError) as raised:
        nearest_neighbors(_embeddings(), ["great", "xyzzy", "<unk>", "masterpiece", "<pad>"])
    assert (raised.value.words, raised.value.reserved) == (["xyzzy", "masterpiece"], ["<unk>", "<pad>"])
    assert str(raised.value) == (
        "2 words are not in the vocabulary of the embeddings: 'xyzzy', 'masterpiece' "
        "(rare words map to <unk> and have no vector of their own); '<unk>', '<pad>' are reserved tokens, with no "
        f"meaningful neighbours {WHY_RESERVED}"
    )


@pytest.mark.parametrize(
    "token", [*features.RESERVED_TOKENS, *(t.upper() for t in features.RESERVED_TOKENS), "<Unk>"]
)
def test_a_reserved_token_is_refused_as_one_though_the_vocabulary_holds_it(token):
    """In any case, as query words are (`Great` is `great`; `<PAD>` was 'not in the vocabulary')."""
    embeddings = _embeddings()
    assert token.lower() in embeddings.vocabulary
    with pytest.raises(UnknownWordError) as raised:
        nearest_neighbors(embeddings, [token])
    assert (raised.value.words, raised.value.reserved) == ([], [token])
    assert str(raised.value) == f"{token!r} is a reserved token, with no meaningful neighbours {WHY_RESERVED}"


def test_a_zero_vector_has_no_neighbours():
    assert nearest_neighbors(_embeddings(), ["blank"]) == {"blank": []}
    with pytest.raises(ValueError, match="k must be at least 1"):
        nearest_neighbors(_embeddings(), ["great"], k=0)


def test_load_embeddings_takes_the_newest_version_or_a_given_one(model_dir):
    newest = load_embeddings(str(model_dir))
    assert newest.source == str(
        model_dir / "200" / model_artifact.EMBEDDINGS_DIR / model_artifact.TRAINED_MATRIX_FILE
    )
    assert newest.vocabulary == tuple(VOCABULARY)
    np.testing.assert_array_equal(newest.matrix, _matrix(TRAINED_ROWS))
    injected = load_embeddings(str(model_dir / "100"), INJECTED)
    assert injected.source.endswith(
        f"100/{model_artifact.EMBEDDINGS_DIR}/{model_artifact.INJECTED_MATRIX_FILE}"
    )
    np.testing.assert_array_equal(injected.matrix, _matrix(INJECTED_ROWS))


def test_load_embeddings_explains_what_is_missing(tmp_path, model_dir):
    with pytest.raises(ModelNotFoundError, match="holds no SavedModel"):
        load_embeddings(str(tmp_path))
    (model_dir / "200" / model_artifact.EMBEDDINGS_DIR / model_artifact.TRAINED_MATRIX_FILE).unlink()
    with pytest.raises(EmbeddingsNotFoundError, match=r"embeddings.npy does not exist"):
        load_embeddings(str(model_dir), TRAINED)


def test_cli_prints_trained_neighbours_with_cosines(model_dir, capsys):
    assert cli.main(["neighbors", "--model", str(model_dir), "--k", "2", "great", "awful"]) == cli.EXIT_OK
    trained_file = model_dir / "200" / model_artifact.EMBEDDINGS_DIR / model_artifact.TRAINED_MATRIX_FILE
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


def test_cli_reserved_token_exits_2_saying_it_is_one(model_dir, capsys):
    assert cli.main(["neighbors", "--model", str(model_dir), "<pad>"]) == cli.EXIT_USAGE
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.rstrip().endswith(
        f"'<pad>' is a reserved token, with no meaningful neighbours {WHY_RESERVED}"
    )
    assert "not in the vocabulary" not in captured.err


def test_console_script_neighbors_injected_reads_the_injected_embeddings(model_dir):
    result = run_cli("neighbors", "--model", str(model_dir), "--injected", "--k", "1", "great", cwd=model_dir)
    assert result.returncode == 0, result.stderr[-2000:]
    injected_file = model_dir / "200" / model_artifact.EMBEDDINGS_DIR / model_artifact.INJECTED_MATRIX_FILE
    # As injected, great's nearest word is awful (cosine 1); after training it is good.
    assert result.stdout == f"# cosine similarity in {injected_file}\ngreat\n  1.0000  awful\n"


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (
            lambda m: m.astype(np.complex64),
            "src: a matrix of complex64 values, not real numbers (float32 expected)",
        ),
        (lambda m: m.astype(np.str_), "src: a matrix of <U32 values, not real numbers (float32 expected)"),
        (lambda m: m.astype(bool), "src: a matrix of bool values, not real numbers (float32 expected)"),
        (
            lambda m: m[:, 0],
            f"src: matrix of shape ({len(VOCABULARY)},) for a vocabulary of {len(VOCABULARY)}",
        ),
        (
            lambda m: np.where(np.arange(len(VOCABULARY))[:, None] == 3, np.nan, m),
            "src: 1 row holds NaN or infinite values (first: row 3); the embeddings are damaged",
        ),
        (
            lambda m: np.where(np.arange(len(VOCABULARY))[:, None] >= 4, -np.inf, m),
            "src: 4 rows hold NaN or infinite values (first: row 4); the embeddings are damaged",
        ),
    ],
)
def test_a_matrix_that_is_not_finite_real_vectors_is_refused(damage, message):
    with pytest.raises(ValueError) as raised:
        Embeddings(tuple(VOCABULARY), damage(_matrix(TRAINED_ROWS)), source="src")
    assert str(raised.value) == message


@given(scale=st.floats(min_value=1e-30, max_value=1e36))
def test_neighbours_do_not_depend_on_the_scale_of_finite_vectors(scale):
    scaled = (_matrix(TRAINED_ROWS).astype(np.float64) * scale).astype(np.float32)
    expected = nearest_neighbors(_embeddings(), ["great", "bad"], k=4)
    result = nearest_neighbors(Embeddings(tuple(VOCABULARY), scaled), ["great", "bad"], k=4)
    for word in expected:
        assert [w for w, _ in result[word]] == [w for w, _ in expected[word]]
        np.testing.assert_allclose([c for _, c in result[word]], [c for _, c in expected[word]], atol=1e-5)


def test_a_damaged_vocabulary_file_is_named(model_dir):
    vocabulary_file = model_dir / "200" / model_artifact.EMBEDDINGS_DIR / model_artifact.VOCABULARY_FILE
    vocabulary_file.write_bytes("".join(f"{token}\r\n" for token in VOCABULARY).encode())
    with pytest.raises(EmbeddingsUnreadableError) as raised:
        load_embeddings(str(model_dir))
    assert str(raised.value) == f"{vocabulary_file}, line 1: ends in a carriage return (CRLF line ends)"


def test_a_damaged_or_foreign_matrix_file_is_named(model_dir):
    matrix_file = model_dir / "200" / model_artifact.EMBEDDINGS_DIR / model_artifact.TRAINED_MATRIX_FILE
    matrix_file.write_text("word 0.1 0.2\n")
    with pytest.raises(EmbeddingsUnreadableError) as raised:
        load_embeddings(str(model_dir))
    assert str(raised.value) == (
        f"{matrix_file} cannot be read (truncated or damaged?): "
        "not a .npy file (it does not start with NumPy's header)"
    )
    matrix = _matrix(TRAINED_ROWS)
    matrix[2, 1] = np.nan
    np.save(matrix_file, matrix)
    with pytest.raises(EmbeddingsUnreadableError, match="1 row holds NaN or infinite values"):
        load_embeddings(str(model_dir))
