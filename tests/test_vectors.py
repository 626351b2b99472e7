"""Word-vector file readers: formats, gzip, detection and the errors that name the bad line."""

import gzip
from pathlib import Path

import numpy as np
import pytest

from components.embeddings.vectors import (
    GLOVE,
    WORD2VEC,
    VectorFileError,
    detect_format,
    iter_vectors,
    read_dimension,
)
from tests.conftest import shared_data_file

GLOVE_SUBSET_NAME = "glove.6B.50d.top10k.txt"

GLOVE_TEXT = "the 0.5 -1.25 2\nmovie 0.125 0 -3.5\n, 1e-3 4.0 -0.0\n"
EXPECTED = [
    ("the", [0.5, -1.25, 2.0]),
    ("movie", [0.125, 0.0, -3.5]),
    (",", [0.001, 4.0, -0.0]),
]


def _write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def _assert_vectors(actual, expected):
    assert [word for word, _ in actual] == [word for word, _ in expected]
    for (_, vector), (_, values) in zip(actual, expected, strict=True):
        assert vector.dtype == np.float32
        np.testing.assert_array_equal(vector, np.array(values, dtype=np.float32))


def test_glove_text(tmp_path):
    path = _write(tmp_path, "glove.txt", GLOVE_TEXT)
    assert detect_format(path) == GLOVE
    assert read_dimension(path) == 3
    _assert_vectors(list(iter_vectors(path)), EXPECTED)


def test_word2vec_text_with_header_and_fasttext_trailing_spaces(tmp_path):
    # fastText .vec files end every line with a space.
    text = "3 3\n" + "".join(line + " \n" for line in GLOVE_TEXT.splitlines())
    path = _write(tmp_path, "vectors.vec", text)
    assert detect_format(path) == WORD2VEC
    assert read_dimension(path) == 3
    _assert_vectors(list(iter_vectors(path)), EXPECTED)


def test_gzip_is_detected_from_content_not_name(tmp_path):
    plain_name = tmp_path / "vectors.txt"  # gzip content, no .gz suffix
    plain_name.write_bytes(gzip.compress(("3 3\n" + GLOVE_TEXT).encode("utf-8")))
    named = tmp_path / "glove.txt.gz"
    named.write_bytes(gzip.compress(GLOVE_TEXT.encode("utf-8")))
    assert detect_format(str(plain_name)) == WORD2VEC
    assert detect_format(str(named)) == GLOVE
    _assert_vectors(list(iter_vectors(str(plain_name))), EXPECTED)
    _assert_vectors(list(iter_vectors(str(named))), EXPECTED)


def test_explicit_format_overrides_detection(tmp_path):
    # A two-field first line read as GloVe is a one-dimensional vector of the word "2".
    path = _write(tmp_path, "tiny.txt", "2 1\nx 5\n")
    assert detect_format(path) == WORD2VEC
    _assert_vectors(list(iter_vectors(path, format=GLOVE)), [("2", [1.0]), ("x", [5.0])])
    with pytest.raises(VectorFileError, match="header announces 2 vectors, the file holds 1"):
        list(iter_vectors(path))
    with pytest.raises(ValueError, match="unknown word-vector format 'binary'"):
        list(iter_vectors(path, format="binary"))


def test_word_containing_spaces_is_split_from_the_right(tmp_path):
    path = _write(tmp_path, "glove840b.txt", "the 1 2\n. . . 3 4\nat name@domain.com 5 6\n")
    _assert_vectors(
        list(iter_vectors(path)), [("the", [1, 2]), (". . .", [3, 4]), ("at name@domain.com", [5, 6])]
    )


def test_blank_lines_are_skipped_but_counted(tmp_path):
    path = _write(tmp_path, "glove.txt", "a 1 2\n\nb 3\n")
    with pytest.raises(VectorFileError, match=r"line 3: expected 2 values after the word, found 1"):
        list(iter_vectors(path))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("the 1 2 3\nmovie 1 2\n", r"glove.txt, line 2: expected 3 values after the word, found 2"),
        (
            "the 1 2 3\n, 1 2 3\nmovie 1 2 3 4\n",
            r"glove.txt, line 3: more than 3 values after the word 'movie'",
        ),
        ("the 1 2 3\nmovie 1 x 3\n", r"glove.txt, line 2: non-numeric value 'x' for word 'movie'"),
        ("the 1 2 3\nmovie 1 nan 3\n", r"glove.txt, line 2: non-finite value in the vector of 'movie'"),
        ("", r"glove.txt: empty file"),
        ("\n\n", r"glove.txt: empty file"),
        ("the\n", r"glove.txt, line 1: expected a word followed by its values"),
    ],
)
def test_malformed_glove_files_name_the_line(tmp_path, text, message):
    path = _write(tmp_path, "glove.txt", text)
    with pytest.raises(VectorFileError, match=message):
        list(iter_vectors(path))


def test_non_utf8_file_names_the_line(tmp_path):
    path = tmp_path / "glove.txt"
    path.write_bytes(b"the 1 2\nfilm 3 4\n\xe9t\xe9 5 6\n")  # Latin-1, not UTF-8
    with pytest.raises(VectorFileError, match=r"glove.txt, line 3: not UTF-8"):
        list(iter_vectors(str(path)))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("3 2\na 1 2\nb 3 4\n", r"vectors.vec, line 1: header announces 3 vectors, the file holds 2"),
        ("1 2\na 1 2\nb 3 4\n", r"vectors.vec, line 3: more vectors than the 1 the header announces"),
        ("2 3\na 1 2 3\nb 3 4\n", r"vectors.vec, line 3: expected 3 values after the word, found 2"),
        ("2 2\na 1 2 3\n", r"vectors.vec, line 2: more than 2 values after the word 'a'"),
    ],
)
def test_word2vec_file_contradicting_its_header(tmp_path, text, message):
    path = _write(tmp_path, "vectors.vec", text)
    with pytest.raises(VectorFileError, match=message):
        list(iter_vectors(path))


def test_truncated_gzip_names_the_problem(tmp_path):
    path = tmp_path / "glove.txt.gz"
    path.write_bytes(gzip.compress((GLOVE_TEXT * 50).encode("utf-8"))[:-30])
    with pytest.raises(VectorFileError, match=r"glove.txt.gz, line \d+: cannot read"):
        list(iter_vectors(str(path)))


def test_reading_is_lazy(tmp_path):
    # An error far down the file is raised only when reading reaches it.
    path = _write(tmp_path, "glove.txt", "a 1 2\nb 3 4\nc oops 5\n")
    vectors = iter_vectors(path)
    assert next(vectors)[0] == "a"
    assert next(vectors)[0] == "b"
    with pytest.raises(VectorFileError, match="line 3"):
        next(vectors)


def test_glove_subset_from_shared_data():
    glove_subset = shared_data_file(GLOVE_SUBSET_NAME)
    words = []
    for word, vector in iter_vectors(str(glove_subset)):
        assert vector.shape == (50,)
        words.append(word)
    assert len(words) == 10_000
    assert len(set(words)) == 10_000
    assert words[:3] == ["the", ",", "."]
    assert detect_format(str(glove_subset)) == GLOVE
