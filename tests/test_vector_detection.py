"""How a word2vec file's format is told (text or binary) and that the reader chosen reads what detection accepted:
the values after the first record's word decide, not the word; blank lines before the header are skipped by both."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
import numpy as np
import pytest

from components.embeddings import vector_files

_WORDS = st.binary(min_size=1, max_size=12).filter(lambda word: not set(word) & set(b" \t\r\n\x00"))


def _binary_file(words: list[bytes], vectors: np.ndarray, before: bytes = b"") -> bytes:
    header = f"{len(words)} {vectors.shape[1]}\n".encode()
    return (
        before
        + header
        + b"".join(
            word + b" " + row.astype("<f4").tobytes() + b"\n"
            for word, row in zip(words, vectors, strict=True)
        )
    )


@settings(max_examples=60, deadline=None)
@given(first=_WORDS, dimension=st.integers(1, 6))
def test_a_text_file_is_text_whatever_its_first_word_holds(tmp_path_factory, first, dimension):
    path = tmp_path_factory.mktemp("vectors") / "vectors.txt"
    values = " ".join(f"{0.1 * (i + 1):.1f}" for i in range(dimension)).encode()
    path.write_bytes(b"2 %d\n" % dimension + first + b" " + values + b"\nof " + values + b"\n")
    assert vector_files.detect_format(str(path)) == vector_files.WORD2VEC
    try:
        (first + b" " + values).decode("utf-8")
    except UnicodeDecodeError as error:
        with pytest.raises(vector_files.VectorFileError) as caught:
            list(vector_files.iter_vectors(str(path)))
        assert caught.value.line == 2
        assert f"not UTF-8 ({error.reason} at byte {error.start + 1} of the line" in str(caught.value)


@settings(max_examples=60, deadline=None)
@given(
    words=st.lists(st.text("abcdefghij", min_size=1, max_size=6), min_size=1, max_size=4, unique=True),
    dimension=st.integers(2, 8),
    seed=st.integers(0, 2**16),
    before=st.sampled_from([b"", b"\n", b"\r\n", b"\n\n", b"\n\r\n\n"]),
)
def test_a_binary_file_is_binary_and_read_after_blank_lines(tmp_path_factory, words, dimension, seed, before):
    vectors = np.random.default_rng(seed).normal(0, 0.5, (len(words), dimension)).astype(np.float32)
    path = tmp_path_factory.mktemp("vectors") / "vectors.bin"
    path.write_bytes(_binary_file([word.encode() for word in words], vectors, before))
    assert vector_files.detect_format(str(path)) == vector_files.WORD2VEC_BINARY
    read = list(vector_files.iter_vectors(str(path)))
    assert [word for word, _ in read] == words
    np.testing.assert_array_equal(np.stack([vector for _, vector in read]), vectors)


@pytest.mark.parametrize(
    "rows",
    [
        b"a 4\nb 0.5 0.25\n",
        # The short row's newline is 8 bytes (4 x dimension) after the word, where a binary record's is.
        b"a 0.123456\nb 0.5 0.25\n",
    ],
)
def test_a_text_row_with_too_few_values_is_text_and_refused_on_its_line(tmp_path, rows):
    path = tmp_path / "vectors.txt"
    path.write_bytes(b"2 2\n" + rows)
    assert vector_files.detect_format(str(path)) == vector_files.WORD2VEC
    with pytest.raises(vector_files.VectorFileError) as caught:
        list(vector_files.iter_vectors(str(path)))
    assert caught.value.line == 2
    assert "expected 2 values after the word, found 1" in str(caught.value)


def test_a_bad_header_after_blank_lines_is_named_at_its_own_byte(tmp_path):
    path = tmp_path / "vectors.bin"
    path.write_bytes(b"\n\r\n3 x\n")
    with pytest.raises(vector_files.VectorFileError) as caught:
        list(vector_files.iter_vectors(str(path), vector_files.WORD2VEC_BINARY))
    assert str(caught.value) == (
        f"{path}, at byte offset 3 (counting from 0): expected a '<count> <dimension>' header, got '3 x'"
    )


@pytest.mark.parametrize(
    "values",
    [
        # float32 [2.1631, 0.0964] (normal draws): bytes 40 0a e7 3e, c0 98 c5 3d. The byte 10 cut the record's
        # "line" to "a @", which passed for text: the run then read a binary file as word2vec text.
        b"@\n\xe7>\xc0\x98\xc5=",
        # float32 [-0.00583, 0.48393] (seed 3500): bytes 34 0a bf bb, 49 c6 f7 3e. The cut "line" is "a 4", a
        # number, which passed for text with a short row.
        b"4\n\xbf\xbbI\xc6\xf7>",
    ],
)
def test_a_binary_vector_holding_a_newline_byte_is_still_binary(tmp_path, values):
    vectors = np.frombuffer(values, "<f4").reshape(1, 2)
    path = tmp_path / "vectors.bin"
    path.write_bytes(_binary_file([b"a"], vectors))
    assert vector_files.detect_format(str(path)) == vector_files.WORD2VEC_BINARY
    ((word, vector),) = vector_files.iter_vectors(str(path))
    assert word == "a"
    np.testing.assert_array_equal(vector, vectors[0])


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (b"the 0.1 0.2 0.3\n", vector_files.WORD2VEC),
        (b"the 0.1 x 0.3\n", vector_files.WORD2VEC),  # a bad value: the text reader names it on line 2
        (b"the 0.1 0.2\n", vector_files.WORD2VEC),  # a value short: the text reader says so
        (b"the nan inf 0.3\n", vector_files.WORD2VEC),
    ],
)
def test_a_text_first_record_with_a_fault_is_still_text(tmp_path, record, expected):
    path = tmp_path / "vectors.txt"
    path.write_bytes(b"2 3\n" + record + b"of 0.4 0.5 0.6\n")
    assert vector_files.detect_format(str(path)) == expected
