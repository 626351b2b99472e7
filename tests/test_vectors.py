"""Word-vector file readers: formats, gzip, detection and the errors that name the bad line or byte."""

import gzip
import io
import os
from pathlib import Path
import pickle

from gensim.models import FastText, KeyedVectors
from gensim.models import keyedvectors as gensim_keyedvectors
import numpy as np
import pytest

from components.embeddings import vectors as vectors_module
from components.embeddings.vectors import (
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


# --- word2vec binary ---------------------------------------------------------

BINARY_WORDS = ["the", "movie", "café"]
BINARY_VALUES = np.array([[0.5, -1.25], [0.125, 3.0], [-2.0, 1e-3]], dtype=np.float32)


def _binary(words=BINARY_WORDS, values=BINARY_VALUES, newline=False, header=None) -> bytes:
    """word2vec binary as gensim (newline=False) or Google's C tool (newline=True) writes it."""
    count, dimension = values.shape
    data = (header or f"{count} {dimension}\n").encode()
    for word, vector in zip(words, values, strict=True):
        data += word.encode("utf-8") + b" " + vector.astype("<f4").tobytes() + (b"\n" if newline else b"")
    return data


def _binary_expected():
    return list(zip(BINARY_WORDS, BINARY_VALUES.tolist(), strict=True))


@pytest.mark.parametrize("newline", [False, True], ids=["gensim", "c-tool"])
@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_word2vec_binary(tmp_path, newline, compress):
    data = _binary(newline=newline)
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
    monkeypatch.setattr(vectors_module, "_CHUNK_BYTES", 3)
    path = tmp_path / "vectors.bin"
    path.write_bytes(_binary(newline=True))
    _assert_vectors(list(iter_vectors(str(path), WORD2VEC_BINARY)), _binary_expected())


# Header "3 2\n" is 4 bytes; then "the " + 8 bytes (4-15), "movie " + 8 (16-29), "café " + 8 (30-43).
@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_binary()[:-3], r"vectors.bin, byte 36: the file ends inside the vector of 'café' \(5 of 8 bytes\)"),
        (_binary()[:30], r"vectors.bin, byte 30: the file ends after 2 of the 3 vectors"),
        (_binary() + b"extra", r"vectors.bin, byte 44: more data after the 3 vectors the header announces"),
        (
            _binary(header="3 3\n"),
            r"vectors.bin, byte 34: word is not UTF-8 .*header's dimension \(3\) is probably wrong",
        ),
        (
            _binary(header="3 1\n"),
            r"vectors.bin, byte 12: a word contains a zero byte; .*header's dimension \(1\) is probably wrong",
        ),
        (
            _binary(words=["the", "m\xf6vie", "café"]).replace("m\xf6vie".encode(), b"m\xf6vie"),
            r"vectors.bin, byte 16: word is not UTF-8 \(invalid start byte at byte 1 of the word\)",
        ),
        (b"3 two\n", r"vectors.bin, byte 0: expected a '<count> <dimension>' header, got '3 two'"),
        (b"3 0\n", r"vectors.bin, byte 0: header gives dimension 0"),
        (
            _binary(values=np.array([[1, np.nan], [0, 0], [0, 0]], dtype=np.float32)),
            r"vectors.bin, byte 8: non-finite value in the vector of 'the'",
        ),
    ],
    ids=[
        "inside-vector",
        "too-few",
        "extra-data",
        "dimension-too-big",
        "dimension-too-small",
        "not-utf8",
        "header",
        "dim-0",
        "nan",
    ],
)
def test_malformed_word2vec_binary_names_the_byte_offset(tmp_path, data, message):
    path = tmp_path / "vectors.bin"
    path.write_bytes(data)
    with pytest.raises(VectorFileError, match=message):
        list(iter_vectors(str(path), WORD2VEC_BINARY))


def test_a_word_without_a_space_is_not_word2vec_binary(tmp_path, monkeypatch):
    monkeypatch.setattr(vectors_module, "_MAX_WORD_BYTES", 8)
    path = tmp_path / "vectors.bin"
    path.write_bytes(b"1 2\n" + b"x" * 20)
    with pytest.raises(VectorFileError, match=r"byte 4: no space ending a word.*\(none within 8 bytes\)"):
        list(iter_vectors(str(path), WORD2VEC_BINARY))


def test_text_read_as_binary_or_binary_as_text_fails_clearly(tmp_path):
    text = _write(tmp_path, "vectors.txt", "2 2\nthe 1 2\nmovie 3 4\n")
    with pytest.raises(VectorFileError, match=r"vectors.txt, byte \d+: (more data|the file ends)"):
        list(iter_vectors(text, WORD2VEC_BINARY))
    binary = tmp_path / "vectors.bin"
    binary.write_bytes(_binary())
    with pytest.raises(VectorFileError, match=r"vectors.bin, line 2: not UTF-8"):
        list(iter_vectors(str(binary), WORD2VEC))


def test_fasttext_vec_is_word2vec_text(tmp_path):
    # As fastText writes it: header, cased words, a space before each newline; here gzip-compressed.
    text = "3 3\nThe 0.5 -1.25 2 \nmovie 0.125 0 -3.5 \n, 1e-3 4.0 -0.0 \n"
    path = tmp_path / "cc.en.3.vec.gz"
    path.write_bytes(gzip.compress(text.encode("utf-8")))
    assert detect_format(str(path)) == WORD2VEC
    _assert_vectors(list(iter_vectors(str(path))), [("The", EXPECTED[0][1]), *EXPECTED[1:]])


def test_a_fasttext_model_file_is_refused(tmp_path):
    path = tmp_path / "cc.en.300.bin"
    path.write_bytes((793712314).to_bytes(4, "little") + (12).to_bytes(4, "little") + b"\x00" * 40)
    with pytest.raises(VectorFileError, match=r"cc.en.300.bin: this is a fastText model file"):
        detect_format(str(path))


# --- gensim KeyedVectors -------------------------------------------------------

KV_WORDS = ["the", "Movie", "café", "good"]
KV_VALUES = np.arange(12, dtype=np.float32).reshape(4, 3) / 8


def _keyed_vectors() -> KeyedVectors:
    vectors = KeyedVectors(3)
    vectors.add_vectors(KV_WORDS, KV_VALUES)
    vectors.set_vecattr("the", "count", 10)
    return vectors


@pytest.mark.parametrize(
    ("name", "sep_limit", "array_file"),
    [
        ("small.kv", 10 * 1024**2, None),  # gensim keeps small arrays inside the pickle
        ("large.kv", 1, "large.kv.vectors.npy"),  # and large ones in a .npy beside it
        ("small.kv.gz", 10 * 1024**2, None),  # a .gz name: the pickle is gzip-compressed
        ("large.kv.gz", 1, "large.kv.gz.vectors.npz"),  # and the array an .npz
    ],
)
def test_gensim_keyed_vectors(tmp_path, name, sep_limit, array_file):
    path = tmp_path / name
    _keyed_vectors().save(str(path), sep_limit=sep_limit)
    if array_file:
        assert (tmp_path / array_file).is_file()
    assert detect_format(str(path)) == KEYED_VECTORS
    expected = list(zip(KV_WORDS, KV_VALUES.tolist(), strict=True))
    _assert_vectors(list(iter_vectors(str(path))), expected)


def test_keyed_vectors_array_rows_stream_in_blocks(tmp_path, monkeypatch):
    monkeypatch.setattr(vectors_module, "_NPY_ROWS_PER_READ", 3)
    path = tmp_path / "large.kv"
    _keyed_vectors().save(str(path), sep_limit=1)
    _assert_vectors(list(iter_vectors(str(path))), list(zip(KV_WORDS, KV_VALUES.tolist(), strict=True)))


class _RunsCode:
    """What a malicious pickle does: calls a function of its choosing when loaded."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def test_keyed_vectors_unpickler_refuses_anything_else(tmp_path):
    marker = tmp_path / "pwned"
    vectors = _keyed_vectors()
    vectors.payload = _RunsCode(marker)
    path = tmp_path / "evil.kv"
    vectors.save(str(path))
    with pytest.raises(VectorFileError, match=r"evil.kv: refusing to unpickle posix.mkdir"):
        list(iter_vectors(str(path)))
    assert not marker.exists()

    plain = tmp_path / "plain.pkl"
    plain.write_bytes(pickle.dumps({"index_to_key": ["a"]}, protocol=4))
    with pytest.raises(VectorFileError, match=r"plain.pkl: the pickle holds a dict, not gensim KeyedVectors"):
        list(iter_vectors(str(plain)))


def test_keyed_vectors_problems_are_named(tmp_path):
    path = tmp_path / "large.kv"
    _keyed_vectors().save(str(path), sep_limit=1)
    array = tmp_path / "large.kv.vectors.npy"
    np.save(array, KV_VALUES[:3])
    with pytest.raises(
        VectorFileError, match=r"large.kv.vectors.npy, byte 0: the vectors have shape \(3, 3\)"
    ):
        list(iter_vectors(str(path)))
    np.save(array, np.array([[object()]] * 4, dtype=object), allow_pickle=True)
    with pytest.raises(VectorFileError, match=r"vectors.npy, byte 0: the vectors have dtype object"):
        list(iter_vectors(str(path)))
    array.write_bytes(_npy_bytes(KV_VALUES)[:-5])
    with pytest.raises(VectorFileError, match=r"vectors.npy, byte \d+: the array ends after 3 of 4 rows"):
        list(iter_vectors(str(path)))
    array.unlink()
    with pytest.raises(VectorFileError, match=r"large.kv.vectors.npy: missing"):
        list(iter_vectors(str(path)))


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def test_gensim_fasttext_keyed_vectors_are_refused_with_a_way_out(tmp_path):
    model = FastText(vector_size=4, min_count=1, bucket=50, epochs=1, seed=1, workers=1)
    sentences = [["the", "movie"], ["a", "movie"]]
    model.build_vocab(sentences)
    model.train(sentences, total_examples=2, epochs=1)
    path = tmp_path / "ft.kv"
    model.wv.save(str(path))
    with pytest.raises(
        VectorFileError, match=r"ft.kv: this is a gensim fastText KeyedVectors file.*save_word2vec_format"
    ):
        list(iter_vectors(str(path)))


def test_gensim_3_keyed_vectors_layout(tmp_path, monkeypatch):
    """gensim 3 pickled Word2VecKeyedVectors with ``index2word`` and a dict of Vocab records."""

    class Word2VecKeyedVectors:
        pass

    class Vocab:
        def __init__(self, index, count):
            self.index, self.count = index, count

    for cls in (Word2VecKeyedVectors, Vocab):
        cls.__module__ = "gensim.models.keyedvectors"
        cls.__qualname__ = cls.__name__
        monkeypatch.setattr(gensim_keyedvectors, cls.__name__, cls, raising=False)
    old = Word2VecKeyedVectors()
    old.__dict__.update(
        vector_size=3,
        index2word=list(KV_WORDS),
        vocab={word: Vocab(index, 1) for index, word in enumerate(KV_WORDS)},
        vectors=KV_VALUES,
        vectors_norm=None,
    )
    path = tmp_path / "gensim3.kv"
    path.write_bytes(pickle.dumps(old, protocol=2))
    monkeypatch.undo()
    assert detect_format(str(path)) == KEYED_VECTORS
    _assert_vectors(list(iter_vectors(str(path))), list(zip(KV_WORDS, KV_VALUES.tolist(), strict=True)))
