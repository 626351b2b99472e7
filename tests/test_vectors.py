"""Word-vector file readers: formats, gzip, detection, streaming.

Bad files (and the errors naming their line or byte) are in test_bad_vectors.py;
generated files in test_vector_properties.py.
"""

import gzip
from pathlib import Path
import re
import subprocess
import sys

from gensim.models import FastText, KeyedVectors, Word2Vec
import numpy as np
import pytest

from components.embeddings import vector_files
from components.embeddings.vector_files import (
    GLOVE,
    KEYED_VECTORS,
    WORD2VEC,
    WORD2VEC_BINARY,
    VectorFileError,
    detect_format,
    iter_vectors,
    read_dimension,
)
from tests.conftest import shared_data_file
from tests.vector_files import KV_VALUES, KV_WORDS, keyed_vectors, word2vec_binary_bytes

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


# --- word2vec binary ---------------------------------------------------------

BINARY_WORDS = ["the", "movie", "café"]
BINARY_VALUES = np.array([[0.5, -1.25], [0.125, 3.0], [-2.0, 1e-3]], dtype=np.float32)
BINARY_ROWS = list(zip(BINARY_WORDS, BINARY_VALUES, strict=True))


def _binary_expected():
    return list(zip(BINARY_WORDS, BINARY_VALUES.tolist(), strict=True))


@pytest.mark.parametrize("newline", [False, True], ids=["gensim", "c-tool"])
@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_word2vec_binary(tmp_path, newline, compress):
    data = word2vec_binary_bytes(BINARY_ROWS, newline=newline)  # gensim's layout, or the C tool's
    path = tmp_path / "vectors.bin"
    path.write_bytes(gzip.compress(data) if compress else data)
    assert detect_format(str(path)) == WORD2VEC_BINARY
    _assert_vectors(list(iter_vectors(str(path))), _binary_expected())
    _assert_vectors(list(iter_vectors(str(path), WORD2VEC_BINARY)), _binary_expected())


def test_word2vec_binary_written_by_gensim(tmp_path):
    vectors = KeyedVectors(2)
    vectors.add_vectors(BINARY_WORDS, BINARY_VALUES)
    path = tmp_path / "gensim.bin"
    vectors.save_word2vec_format(str(path), binary=True)
    assert detect_format(str(path)) == WORD2VEC_BINARY
    _assert_vectors(list(iter_vectors(str(path))), _binary_expected())


def test_word2vec_binary_streams_across_read_chunks(tmp_path, monkeypatch):
    # Records straddle chunk boundaries when chunks are tiny.
    monkeypatch.setattr(vector_files, "_CHUNK_BYTES", 3)
    path = tmp_path / "vectors.bin"
    path.write_bytes(word2vec_binary_bytes(BINARY_ROWS, newline=True))
    _assert_vectors(list(iter_vectors(str(path), WORD2VEC_BINARY)), _binary_expected())


def test_fasttext_vec_is_word2vec_text(tmp_path):
    # As fastText writes it: header, cased words, a space before each newline; here gzip-compressed.
    text = "3 3\nThe 0.5 -1.25 2 \nmovie 0.125 0 -3.5 \n, 1e-3 4.0 -0.0 \n"
    path = tmp_path / "cc.en.3.vec.gz"
    path.write_bytes(gzip.compress(text.encode("utf-8")))
    assert detect_format(str(path)) == WORD2VEC
    _assert_vectors(list(iter_vectors(str(path))), [("The", EXPECTED[0][1]), *EXPECTED[1:]])


# --- gensim KeyedVectors pickles: refused, with the command that converts them ----------


def refusal(path) -> str:
    """The refusal of a KeyedVectors pickle, spelled out: the file, why, and the gensim line."""
    return (
        f"{path}: a gensim save file (KeyedVectors or a model, a Python pickle) is not read, since unpickling "
        'can run arbitrary code: convert it once with python -c "from gensim.models import KeyedVectors; '
        f"v = KeyedVectors.load('{path}'); getattr(v, 'wv', v).save_word2vec_format('{path}.bin', binary=True)\" "
        "and give the .bin file"
    )


@pytest.mark.parametrize(
    ("name", "sep_limit", "array_file"),
    [
        ("small.kv", 10 * 1024**2, None),  # gensim keeps small arrays inside the pickle
        ("large.kv", 1, "large.kv.vectors.npy"),  # and large ones in a .npy beside it
        ("small.kv.gz", 10 * 1024**2, None),  # a .gz name: the pickle is gzip-compressed
        ("large.kv.gz", 1, "large.kv.gz.vectors.npz"),  # and the array an .npz
    ],
)
def test_gensim_keyed_vectors_are_refused_whatever_the_format_named(tmp_path, name, sep_limit, array_file):
    path = tmp_path / name
    keyed_vectors().save(str(path), sep_limit=sep_limit)
    if array_file:
        assert (tmp_path / array_file).is_file()
    with pytest.raises(VectorFileError) as detected:
        detect_format(str(path))
    assert str(detected.value) == refusal(path)
    for named in (None, KEYED_VECTORS, GLOVE, WORD2VEC, WORD2VEC_BINARY):
        with pytest.raises(VectorFileError) as read:
            list(iter_vectors(str(path), named))
        assert (str(read.value), read.value.line, read.value.offset) == (refusal(path), None, None)


def test_the_conversion_the_refusal_gives_makes_a_file_that_reads_back_exactly(tmp_path):
    path = tmp_path / "my vectors.kv.gz"
    keyed_vectors().save(str(path), sep_limit=1)
    with pytest.raises(VectorFileError) as refused:
        read_dimension(str(path))
    command = re.search(r'python -c "([^"]+)"', refused.value.problem).group(1)
    subprocess.run([sys.executable, "-c", command], check=True, cwd=tmp_path)
    converted = f"{path}.bin"
    assert detect_format(converted) == WORD2VEC_BINARY
    _assert_vectors(list(iter_vectors(converted)), list(zip(KV_WORDS, KV_VALUES.tolist(), strict=True)))


@pytest.mark.parametrize("model_class", [Word2Vec, FastText], ids=["word2vec", "fasttext"])
def test_the_conversion_also_works_for_a_whole_gensim_model_file(tmp_path, model_class):
    # Word2Vec.save / FastText.save pickle the model, whose vectors are its .wv.
    sentences = [["a", "wonderful", "movie"], ["an", "awful", "movie"], ["Café", "movie"]]
    model = model_class(sentences, vector_size=4, min_count=1, epochs=1, seed=1, workers=1)
    path = tmp_path / "imdb.model"
    model.save(str(path))
    with pytest.raises(VectorFileError) as refused:
        detect_format(str(path))
    assert str(refused.value) == refusal(path)
    command = re.search(r'python -c "([^"]+)"', refused.value.problem).group(1)
    subprocess.run([sys.executable, "-c", command], check=True, cwd=tmp_path)
    expected = list(zip(model.wv.index_to_key, model.wv.vectors.tolist(), strict=True))
    assert [word for word, _ in expected] == ["movie", "Café", "awful", "an", "wonderful", "a"]
    _assert_vectors(list(iter_vectors(f"{path}.bin")), expected)
