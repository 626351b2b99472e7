"""Bad word-vector files: each case stops the run naming the file, the line or byte and the problem,
or is read in a documented way (repeated words, words with spaces, tab-separated fields).

The readers are ``components.embeddings.vector_files``; a ``VectorFileError`` carries
``line`` (text formats) or ``offset`` (binary formats, in the uncompressed
bytes) and ``problem``, and its message is ``<file>, line <n>: <problem>`` or
``<file>, byte <n>: <problem>``.
"""

import codecs
import gzip
import itertools
import logging
import os
import pickle
import re
import tracemalloc
import zlib

from gensim.models import FastText, KeyedVectors
import numpy as np
import pytest
import tensorflow as tf

from components.embeddings import vector_files
from components.embeddings.align import align
from components.embeddings.options import EmbeddingOptions
from components.embeddings.vector_files import (
    GLOVE,
    WORD2VEC,
    WORD2VEC_BINARY,
    VectorFileError,
    detect_format,
    iter_vectors,
)
from schemas import features
from tests.conftest import run_cli
from tests.vector_files import (
    glove_bytes,
    keyed_vectors,
    word2vec_binary_bytes,
    word2vec_binary_offsets,
    word2vec_text_bytes,
)

PICKLE_REFUSAL = (
    "a gensim save file (KeyedVectors or a model, a Python pickle) is not read, since unpickling can run "
    "arbitrary code:"
)
BINARY_HINT = "; if this is word2vec binary, set embedding.vectors_format to word2vec_binary (or auto, which detects it)"
ROWS = [("the", [0.5, -1.25]), ("movie", [0.125, 3.0]), ("café", [-2.0, 1e-3])]
# word2vec_binary_bytes(ROWS): header "3 2\n" is bytes 0-3; "the " 4-7, values 8-15;
# "movie " 16-21, values 22-29; "café " (5 bytes of UTF-8) 30-35, values 36-43.


def _file(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return str(path)


def _error(path, format=None) -> VectorFileError:
    """The error of reading ``path`` to its end; its message starts with the file and the place it is about."""
    with pytest.raises(VectorFileError) as raised:
        list(iter_vectors(path, format))
    error = raised.value
    if error.line is not None:
        where = f", line {error.line}"
    elif error.offset is not None:
        where = f", at byte offset {error.offset} (counting from 0)"
    else:
        where = ""
    assert str(error) == f"{error.path}{where}: {error.problem}"
    return error


def _where_and_what(error: VectorFileError):
    return error.line, error.offset, error.problem


def _read(path, format=None):
    return [(word, vector.tolist()) for word, vector in iter_vectors(path, format)]


# --- a header that lies ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3 2\na 1 2\nb 3 4\n", (1, None, "header announces 3 vectors, the file holds 2")),
        ("1 2\na 1 2\nb 3 4\n", (3, None, "more vectors than the 1 the header announces")),
        ("2 3\na 1 2\nb 3 4\n", (2, None, "expected 3 values after the word, found 2 (the header on line 1 says 3)")),
        ("2 2\na 1 2 3\nb 3 4 5\n", (2, None, "more than 2 values after the word 'a' (the header on line 1 says 2)")),
        ("3 2\n", (1, None, "header announces 3 vectors, the file holds 0")),
        ("0 2\n", (1, None, "header announces 0 vectors: the file holds none")),
    ],
    ids=["fewer-rows", "more-rows", "dimension-too-big", "dimension-too-small", "header-only", "count-0"],
)  # fmt: skip
def test_word2vec_text_header_that_lies(tmp_path, text, expected):
    path = _file(tmp_path, "vectors.vec", text)
    assert _where_and_what(_error(path, WORD2VEC)) == expected


@pytest.mark.parametrize(
    "header", ["\uff12 2", "2 \u0662", "1_0 2"], ids=["fullwidth", "arabic-indic", "underscore"]
)
def test_a_header_count_or_dimension_not_in_ascii_digits_is_no_header(tmp_path, header):
    # Python's int() reads all three as numbers; no word2vec writer writes them.
    path = _file(tmp_path, "vectors.vec", f"{header}\na 1 2\nb 3 4\n")
    assert _where_and_what(_error(path, WORD2VEC)) == (
        1,
        None,
        f"expected a '<count> <dimension>' header, got {header!r}",
    )


def test_a_header_announcing_more_rows_fails_after_the_last_row_not_silently(tmp_path):
    # The count is checked when the end is reached: the rows come first, then the error.
    path = _file(tmp_path, "vectors.vec", "3 2\na 1 2\nb 3 4\n")
    vectors = iter_vectors(path, WORD2VEC)
    assert [next(vectors)[0], next(vectors)[0]] == ["a", "b"]
    with pytest.raises(VectorFileError, match="line 1: header announces 3 vectors, the file holds 2"):
        next(vectors)


WRONG_DIMENSION = "; if the file is word2vec binary, its header's dimension ({}) is probably wrong"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (word2vec_binary_bytes(ROWS)[:30], (None, 30, "the file ends after 2 of the 3 vectors the header announces")),
        (word2vec_binary_bytes(ROWS) + b"extra", (None, 44, "more data after the 3 vectors the header announces")),
        (word2vec_binary_bytes(ROWS, header="4 2"), (None, 44, "the file ends after 3 of the 4 vectors the header announces")),
        (word2vec_binary_bytes(ROWS, header="2 2"), (None, 30, "more data after the 2 vectors the header announces")),
        (
            word2vec_binary_bytes(ROWS, header="3 3"),
            # Each vector takes 4 bytes of the next record: "e" is read as a word, then "\xa9" of "café".
            (None, 34, "word is not UTF-8 (invalid start byte at byte 1 of the word, counting from 1)" + WRONG_DIMENSION.format(3)
             + ", or the word before, 'e', goes on after a space, which this format cannot hold"),
        ),
        (
            word2vec_binary_bytes(ROWS, header="3 1"),
            (None, 12, "a word contains a zero byte" + WRONG_DIMENSION.format(1)
             + ", or the word before, 'the', goes on after a space, which this format cannot hold"),
        ),
        (word2vec_binary_bytes(ROWS)[:-3], (None, 36, "the file ends inside the vector of 'café' (5 of 8 bytes)")),
        (
            word2vec_binary_bytes(ROWS).replace(b"movie", b"m\xf6vie"),
            (None, 16, "word is not UTF-8 (invalid start byte at byte 2 of the word, counting from 1)" + WRONG_DIMENSION.format(2)
             + ", or the word before, 'the', goes on after a space, which this format cannot hold"),
        ),
        (b"3 two\n", (None, 0, "expected a '<count> <dimension>' header, got '3 two'")),
        (b"3 0\n", (None, 0, "header gives dimension 0")),
        (b"0 2\n", (None, 0, "header announces 0 vectors: the file holds none")),
    ],
    ids=["fewer-rows", "more-rows", "count-too-big", "count-too-small", "dimension-too-big",
         "dimension-too-small", "cut-inside-a-vector", "word-not-utf8", "not-a-header", "dimension-0", "count-0"],
)  # fmt: skip
def test_word2vec_binary_with_a_lying_header_or_cut_short_names_the_byte(tmp_path, data, expected):
    path = _file(tmp_path, "vectors.bin", data)
    assert _where_and_what(_error(path, WORD2VEC_BINARY)) == expected


# --- rows of the wrong dimension ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("the 1 2 3\nmovie 1 2\n", (2, "expected 3 values after the word, found 2 (line 1 has 3)")),
        ("the 1 2 3\n, 1 2 3\nmovie 1 2 3 4\n", (3, "more than 3 values after the word 'movie' (line 1 has 3)")),
        # GloVe has no header: the dimension is the one most of the first lines have, so a bad first line
        # is reported on line 1, naming a line that has it.
        ("the 1 2 3 4\nmovie 1 2 3\n, 1 2 3\n", (1, "more than 3 values after the word 'the' (line 2 has 3)")),
        ("chapter 1 0.1\nthe 0.2\nof 0.3\n", (1, "more than 1 value after the word 'chapter' (line 2 has 1)")),
        ("the\nmovie 1 2\n", (1, "expected a word followed by its values, got 'the'")),
        ("the\nmovie 1 2\n, 1 2\n", (1, "expected 2 values after the word, found 0 (line 2 has 2)")),
        # Two lines that disagree: the first decides (a word with a space is then taken for values).
        ("new york 1 2 3\nthe 1 2 3\n", (1, "non-numeric value 'york' (value 1 of 4) for word 'new'")),
        ("new york\t1 2\nthe 1 2\n", (1, "non-numeric value 'york' (value 1 of 3) for word 'new'")),
        ("new  york 1 2\nthe 1 2\n", (1, "non-numeric value 'york' (value 1 of 3) for word 'new '")),
        # Most lines have words without a space.
        ("new york 1 2 3\nlos angeles 1 2 3\nthe 1 2 3\n", (1, "non-numeric value 'york' (value 1 of 4) for word 'new'")),
        ("new york 1 2 3\nthe 1 2\n, 1 2 3\na 1 2 3\n", (2, "expected 3 values after the word, found 2 (line 3 has 3)")),
        ("new york 1 2 3\nthe 1 2\n, 1 2\n", (1, "more than 2 values after the word 'new' (line 2 has 2)")),
        # Blank lines are skipped but counted.
        ("a 1 2\n\nb 3\n", (3, "expected 2 values after the word, found 1 (line 1 has 2)")),
        ("\na 1 2\n\nb 3\nc 4 5\n", (4, "expected 2 values after the word, found 1 (line 2 has 2)")),
    ],
    ids=[
        "too-few", "too-many", "first-line-wrong", "first-word-ends-with-a-number", "no-values",
        "first-line-without-values", "first-word-with-a-space", "with-a-tab", "double-space",
        "next-line-with-a-space", "next-line-wrong", "most-lines-disagree", "after-blank-line",
        "after-blank-lines",
    ],
)  # fmt: skip
def test_glove_rows_of_the_wrong_dimension(tmp_path, text, expected):
    path = _file(tmp_path, "glove.txt", text)
    error = _error(path)
    assert (error.line, error.problem) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a 1  2 3\nb 1 2 3\nc 1 2 3\n", [("a", [1.0, 2.0, 3.0]), ("b", [1.0, 2.0, 3.0]), ("c", [1.0, 2.0, 3.0])]),
        ("a 1 \t 2\t\t3\nb 1 2 3\n", [("a", [1.0, 2.0, 3.0]), ("b", [1.0, 2.0, 3.0])]),
        ("a 1  2 3 4\nb 1 2 3\nc 1 2 3\n", (1, "more than 3 values after the word 'a' (line 2 has 3)")),
        ("a 1  2\nb 1 2 3\nc 1 2 3\n", (1, "expected 3 values after the word, found 2 (line 2 has 3)")),
        ("2 3\nthe  1  2   3\na 1 2 3\n", [("the ", [1.0, 2.0, 3.0]), ("a", [1.0, 2.0, 3.0])]),
    ],
)  # fmt: skip
def test_a_run_of_blanks_between_values_separates_them_once_as_the_dimension_counts_it(
    tmp_path, text, expected
):
    """Before, the dimension counted a run once but the parser split on each space: ``a 1  2 3`` was refused
    with 'more than 3 values ... (line 1 has 3)'."""
    path = _file(tmp_path, "vectors.vec" if text.startswith("2 3") else "glove.txt", text)
    if isinstance(expected, tuple):
        error = _error(path)
        assert (error.line, error.problem) == expected
    else:
        assert [(word, vector.tolist()) for word, vector in iter_vectors(path)] == expected


def test_a_first_word_with_a_space_is_read_like_any_other_when_most_lines_have_none(tmp_path, caplog):
    """Before, GloVe's first line alone set the dimension: its word could not hold a space."""
    path = _file(tmp_path, "glove.txt", "new york 1 2\nthe  1 2\nmovie 1 2\n")
    with caplog.at_level(logging.WARNING, logger="components.embeddings.vector_files"):
        read = [(word, vector.tolist()) for word, vector in iter_vectors(path)]
    assert read == [("new york", [1.0, 2.0]), ("the ", [1.0, 2.0]), ("movie", [1.0, 2.0])]
    assert [record.getMessage() for record in caplog.records] == [
        f"{path}: 1 word start or end with a space, which no token can match (two spaces between a word and "
        "its values?): line 2"
    ]


def test_later_words_that_start_or_end_with_a_space_are_read_and_named_in_a_warning(tmp_path, caplog):
    """Two spaces between a later word and its values made a word with a trailing space, which no token
    matches: read (a word may hold spaces) but named, since coverage silently dropped."""
    lines = ["the 1 2"] + [f"w{i}  {i} 2" for i in range(2, 9)] + [" lead 1 2", ". . . 1 2"]
    path = _file(tmp_path, "glove.txt", "\n".join(lines) + "\n")
    with caplog.at_level(logging.WARNING, logger="components.embeddings.vector_files"):
        words = [word for word, _ in iter_vectors(path, GLOVE)]
    assert words == ["the", *(f"w{i} " for i in range(2, 9)), " lead", ". . ."]
    assert [record.getMessage() for record in caplog.records] == [
        f"{path}: 8 words start or end with a space, which no token can match (two spaces between a word and "
        "its values?): line 2, 3, 4, 5, 6, ..."
    ]


def test_a_row_missing_its_last_value_in_a_gzip_file(tmp_path):
    lines = [f"w{i} {i}.5 {i}.25 -{i}" for i in range(1, 1001)]
    lines[699] = "w700 700.5 700.25"
    path = _file(tmp_path, "glove.txt.gz", gzip.compress("\n".join(lines).encode()))
    assert _where_and_what(_error(path)) == (
        700,
        None,
        "expected 3 values after the word, found 2 (line 1 has 3)",
    )


# --- non-numeric, NaN, infinite and out-of-range values -----------------------------------------


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        ("movie 1 x 3", "non-numeric value 'x' (value 2 of 3) for word 'movie'"),
        ("movie 1,5 2 3", "non-numeric value '1,5' (value 1 of 3) for word 'movie'"),
        ("movie 0x10 2 3", "non-numeric value '0x10' (value 1 of 3) for word 'movie'"),
        ("movie 1_000 2 3", "non-numeric value '1_000' (value 1 of 3) for word 'movie'"),
        ("movie 1 2 3_0.5e1_0", "non-numeric value '3_0.5e1_0' (value 3 of 3) for word 'movie'"),
        ("movie 1 \u0663 3", "non-numeric value '\u0663' (value 2 of 3) for word 'movie'"),
        ("movie \uff11.5 2 3", "non-numeric value '\uff11.5' (value 1 of 3) for word 'movie'"),
        ("movie 1.5\u00a0 2 3", "non-numeric value '1.5\\xa0' (value 1 of 3) for word 'movie'"),
        ("movie 1 2\x0c 3", "non-numeric value '2\\x0c' (value 2 of 3) for word 'movie'"),
        ("movie 1 nan 3", "non-finite value 'nan' (value 2 of 3) in the vector of 'movie'"),
        ("movie 1 2 NaN", "non-finite value 'NaN' (value 3 of 3) in the vector of 'movie'"),
        ("movie -inf 2 3", "non-finite value '-inf' (value 1 of 3) in the vector of 'movie'"),
        ("movie 1 Infinity 3", "non-finite value 'Infinity' (value 2 of 3) in the vector of 'movie'"),
        ("movie 1 2 -1e39", "value '-1e39' (value 3 of 3) of 'movie' is beyond the float32 range"),
    ],
    ids=[
        "letter",
        "decimal-comma",
        "hex",
        "underscore",
        "underscores-everywhere",
        "arabic-indic-digit",
        "fullwidth-digit",
        "no-break-space",
        "form-feed",
        "nan",
        "NaN",
        "-inf",
        "Infinity",
        "overflow",
    ],
)
@pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")
def test_values_that_are_not_finite_numbers_name_the_line(tmp_path, row, problem):
    path = _file(tmp_path, "glove.txt", f"the 1 2 3\n{row}\nfilm 4 5 6\n")
    assert _where_and_what(_error(path)) == (2, None, problem)


def test_a_nan_or_infinite_value_in_word2vec_binary_names_its_byte(tmp_path):
    rows = [("the", [0.5, -1.25]), ("movie", [0.125, np.nan]), ("café", [np.inf, 1e-3])]
    path = _file(tmp_path, "vectors.bin", word2vec_binary_bytes(rows))
    # "movie"'s values start at byte 22: its second value at 26.
    assert _where_and_what(_error(path, WORD2VEC_BINARY)) == (
        None,
        26,
        "non-finite value nan (value 2 of 2) in the vector of 'movie'",
    )
    rows[1] = ("movie", [0.125, 3.0])
    path = _file(tmp_path, "vectors.bin", word2vec_binary_bytes(rows))
    assert _where_and_what(_error(path, WORD2VEC_BINARY)) == (
        None,
        36,
        "non-finite value inf (value 1 of 2) in the vector of 'café'",
    )


# --- repeated words ----------------------------------------------------------------------------


def test_a_repeated_word_is_read_each_time_and_the_first_occurrence_is_used(tmp_path):
    path = _file(tmp_path, "glove.txt", "movie 1 2\ngood 3 4\nmovie 5 6\nfilm 7 8\nfilm 9 10\nmovie 11 12\n")
    assert [word for word, _ in iter_vectors(path)] == ["movie", "good", "movie", "film", "film", "movie"]

    vocabulary = [features.PAD_TOKEN, features.UNK_TOKEN, "movie", "good", "bad"]
    options = EmbeddingOptions(oov_init="zeros", lowercase_fallback=False)
    matrix, coverage = align(vocabulary, iter_vectors(path), options)

    np.testing.assert_array_equal(matrix, [[0, 0], [0, 0], [1, 2], [3, 4], [0, 0]])
    # Repeats of vocabulary words are counted; "film" is not in the vocabulary.
    assert (coverage.vectors_read, coverage.duplicates) == (6, 2)
    assert coverage.to_dict()["duplicates"] == 2
    assert coverage.summary() == (
        "coverage: 2 of 3 words (66.7%: 2 exact, 0 lower-cased); 1 missing; 6 vectors read "
        "(2 repeats of vocabulary words ignored)"
    )


# --- words with spaces or tabs -----------------------------------------------------------------


def test_words_with_spaces_are_split_from_the_right(tmp_path):
    # As in GloVe 840B: ". . ." and "at name@domain.com" are words.
    path = _file(tmp_path, "glove840b.txt", "the 1 2\n. . . 3 4\nat name@domain.com 5 6\n")
    assert _read(path) == [("the", [1, 2]), (". . .", [3, 4]), ("at name@domain.com", [5, 6])]
    path = _file(tmp_path, "gensim.vec", "2 2\nthe 1 2\nnew york 3 4\n")
    assert _read(path) == [("the", [1, 2]), ("new york", [3, 4])]


def test_a_word_with_a_space_ending_in_a_number_is_taken_for_a_row_with_extra_values(tmp_path):
    path = _file(tmp_path, "glove.txt", "the 1 2\nchapter 11 3 4\n")
    assert _where_and_what(_error(path)) == (
        2,
        None,
        "more than 2 values after the word 'chapter' (line 1 has 2)",
    )


def test_tabs_separate_fields_like_spaces(tmp_path):
    path = _file(tmp_path, "vectors.tsv", "the\t1\t2\nmovie\t3 4\n")
    assert _read(path) == [("the", [1, 2]), ("movie", [3, 4])]
    path = _file(tmp_path, "vectors.vec", "2 2\nthe\t1\t2\r\nmovie 3\t4\t\r\n")
    assert _read(path) == [("the", [1, 2]), ("movie", [3, 4])]
    # A tab-separated row is checked like any other.
    path = _file(tmp_path, "short.tsv", "the\t1\t2\nmovie\t3\n")
    assert _where_and_what(_error(path)) == (
        2,
        None,
        "expected 2 values after the word, found 1 (line 1 has 2)",
    )


def test_a_word_with_a_space_cannot_be_word2vec_binary(tmp_path):
    # gensim writes "new york" as it is; every reader of the format ends a word at its first space.
    vectors = KeyedVectors(2)
    vectors.add_vectors(["the", "new york", "film"], np.array([[0.5, -1.25], [0.125, 3.0], [-2.0, 1e-3]]))
    path = tmp_path / "spaces.bin"
    vectors.save_word2vec_format(str(path), binary=True)
    assert _where_and_what(_error(str(path))) == (
        None,
        28,
        "a word contains a zero byte" + WRONG_DIMENSION.format(2) + ", or the word before, 'new', goes on "
        "after a space, which this format cannot hold",
    )


# --- empty files -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "format"),
    [
        (b"", None),
        (b"\n \n\n", None),
        (gzip.compress(b"", mtime=0), None),  # no time stamp: the same test id in every process
        (b"", GLOVE),
        (b"\n\n", WORD2VEC),
        (b"", WORD2VEC_BINARY),
    ],
    ids=["empty", "blank-lines", "empty-gzip", "empty-glove", "blank-word2vec", "empty-binary"],
)
def test_an_empty_file(tmp_path, data, format):
    path = _file(tmp_path, "vectors.txt", data)
    assert _where_and_what(_error(path, format)) == (None, None, "empty file")


# --- binary data given as text, text as binary, and detection -----------------------------------


def test_word2vec_binary_given_as_text_names_the_line_and_the_way_out(tmp_path):
    path = _file(tmp_path, "vectors.bin", word2vec_binary_bytes(ROWS))
    # Line 1, "3 2", is a header, or for GloVe the word "3" with the value 2.
    for format in (WORD2VEC, GLOVE):
        assert _where_and_what(_error(path, format)) == (
            2,
            None,
            "a zero byte: binary data, not a text vector file" + BINARY_HINT,
        )
    # Values without a zero byte (or any control byte) fail as not UTF-8, with the same hint.
    rows = [("the", [0.3, -0.7]), ("movie", [0.1, -0.2])]
    assert word2vec_binary_bytes(rows)[4:] == (b"the \x9a\x99\x99>333\xbfmovie \xcd\xcc\xcc=\xcd\xccL\xbe")
    path = _file(tmp_path, "nozero.bin", word2vec_binary_bytes(rows))
    assert _where_and_what(_error(path, WORD2VEC)) == (
        2,
        None,
        "not UTF-8 (invalid start byte at byte 5 of the line, counting from 1)" + BINARY_HINT,
    )


def test_a_bin_file_without_a_format_is_detected_from_its_content(tmp_path):
    binary = _file(tmp_path, "vectors.bin", word2vec_binary_bytes(ROWS))
    text_named_bin = _file(tmp_path, "text.bin", word2vec_text_bytes(ROWS))
    glove_named_bin = _file(tmp_path, "glove.bin", glove_bytes(ROWS))
    assert [detect_format(path) for path in (binary, text_named_bin, glove_named_bin)] == [
        WORD2VEC_BINARY,
        WORD2VEC,
        GLOVE,
    ]
    expected = [(word, np.float32(vector).tolist()) for word, vector in ROWS]
    assert _read(binary) == _read(text_named_bin) == _read(glove_named_bin) == expected


def test_text_given_as_word2vec_binary_names_the_byte(tmp_path):
    path = _file(tmp_path, "vectors.txt", "2 2\nthe 1 2\nmovie 3 4\n")
    # "the " then 8 bytes taken as values ("1 2\nmovi"), "e" as a word, then its values from byte 18.
    assert _where_and_what(_error(path, WORD2VEC_BINARY)) == (
        None,
        18,
        "the file ends inside the vector of 'e' (4 of 8 bytes)",
    )


def test_non_utf8_text_names_the_line_without_the_binary_hint(tmp_path):
    path = _file(tmp_path, "glove.txt", b"the 1 2\nfilm 3 4\n\xe9t\xe9 5 6\n")  # Latin-1, not UTF-8
    assert _where_and_what(_error(path)) == (
        3,
        None,
        "not UTF-8 (invalid continuation byte at byte 1 of the line, counting from 1)",
    )


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_a_byte_in_line_one_counts_the_byte_order_mark(tmp_path, compress):
    """sed -n 1p | head -c 7 ends with the bad byte: the mark's 3 bytes are part of line 1."""
    data = codecs.BOM_UTF8 + b"caf\xe9 1 2\nthe 3 4\n"
    path = _file(
        tmp_path, "glove.txt.gz" if compress else "glove.txt", gzip.compress(data) if compress else data
    )
    assert data.split(b"\n")[0][:7] == b"\xef\xbb\xbfcaf\xe9"
    assert _where_and_what(_error(path)) == (
        1,
        None,
        "not UTF-8 (invalid continuation byte at byte 7 of the line, counting from 1)",
    )
    # Line 2 of the same file: its own bytes only.
    data = codecs.BOM_UTF8 + b"the 1 2\ncaf\xe9 3 4\n"
    path = _file(tmp_path, "glove2.txt", data)
    assert _where_and_what(_error(path, GLOVE)) == (
        2,
        None,
        "not UTF-8 (invalid continuation byte at byte 4 of the line, counting from 1)",
    )


CR_ONLY = (
    "line ends are CR only (as old Mac OS wrote them; the first is byte {} of the line, counting from 1): "
    "lines must end with LF or CRLF; convert them, e.g. tr '\\r' '\\n' < FILE > NEW"
)


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("format", [None, GLOVE, WORD2VEC])
def test_cr_only_line_ends_are_refused_on_line_1(tmp_path, format, compress):
    """Old Mac OS files end lines with CR alone: sed sees one line, and so does the reader; it says why."""
    text = word2vec_text_bytes(ROWS) if format == WORD2VEC else glove_bytes(ROWS)
    data = codecs.BOM_UTF8 + text.replace(b"\n", b"\r")
    path = _file(
        tmp_path, "vectors.gz" if compress else "vectors.txt", gzip.compress(data) if compress else data
    )
    # The mark's 3 bytes, then "3 2" or "the 0.5 -1.25": the CR after them.
    assert _where_and_what(_error(path, format)) == (1, None, CR_ONLY.format(7 if format == WORD2VEC else 17))


STRAY_CR = (
    "a CR inside the line (byte {} of the line, counting from 1): fields are separated by spaces or tabs, "
    "lines end with LF or CRLF"
)


@pytest.mark.parametrize(
    "data, expected",
    [
        (b"the 1 2\r\nmovie 3\r4\r\n", (2, STRAY_CR.format(8))),
        # An LF before the last byte: the file's lines end with LF, so any CR before a line's end is stray,
        # the last line's (without an LF) too, however many CRs the line holds.
        (b"the 1 2\nmovie 3 4\rfilm 5 6", (2, STRAY_CR.format(10))),
        (b"a 1 2\nb\r 3\r 4\n", (2, STRAY_CR.format(2))),
        (b"a 1 2\nb\r 3 4", (2, STRAY_CR.format(2))),
        (b"a 1\r2\nb 3 4\n", (1, STRAY_CR.format(4))),
        # No LF before the last byte: the whole file is line 1, and its CRs are line ends.
        (b"a 1 2\rb 3 4\n", (1, CR_ONLY.format(6))),
        (b"a 1 2\rb 3 4", (1, CR_ONLY.format(6))),
        (b"a 1 2\r\nb 3 4\rc 5 6\r", (2, STRAY_CR.format(6))),
    ],
)
def test_a_stray_cr_is_named_on_its_line_and_cr_only_line_ends_on_line_1(tmp_path, data, expected):
    path = _file(tmp_path, "glove.txt", data)
    line, problem = expected
    assert _where_and_what(_error(path, GLOVE)) == (line, None, problem)


# Bytes of line 1 that tell CR-only line ends: a 16 MiB CR-only file is refused after reading a few of them.
BOUND = vector_files._CR_ONLY_BYTES


def _cr_only_rows(size: int) -> bytes:
    """GloVe rows of dimension 2 ended by CR alone, ``size`` bytes or a few more (values that gzip shrinks
    by about a half, as real ones)."""
    rows, total = [], 0
    for i in itertools.count():
        rows.append(b"w%d %d.%05d -0.%05d\r" % (i, i % 97, i * 7919 % 100_000, i * 104_729 % 100_000))
        total += len(rows[-1])
        if total >= size:
            return b"".join(rows)


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("format", [None, GLOVE, WORD2VEC])
def test_a_large_file_of_cr_only_line_ends_is_refused_after_reading_a_bounded_part(
    tmp_path, monkeypatch, format, compress
):
    rows = _cr_only_rows(16 * vector_files._CHUNK_BYTES)
    data = (b"%d 2\r" % rows.count(b"\r") if format == WORD2VEC else b"") + rows
    stored = gzip.compress(data, compresslevel=1) if compress else data
    assert len(stored) > 4 * vector_files._CHUNK_BYTES
    path = _file(tmp_path, "vectors.gz" if compress else "vectors.txt", stored)
    read_from_file = []
    gfile_read = tf.io.gfile.GFile.read

    def counted_read(self, n=-1):
        read_from_file.append(len(data := gfile_read(self, n)))
        return data

    monkeypatch.setattr(tf.io.gfile.GFile, "read", counted_read)
    tracemalloc.start()
    try:
        error = _error(path, format)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    first_cr = data.index(b"\r") + 1
    assert _where_and_what(error) == (1, None, CR_ONLY.format(first_cr))
    # Never the whole file at once (the line it was read as held all 16 MiB, three times over at the peak).
    assert peak <= 3 * vector_files._CHUNK_BYTES
    # A file is read a buffer at a time: to its end once, to find no LF after the CR (an LF would make it a
    # stray one), and one buffer the other time a plain file is opened.
    assert max(read_from_file) <= vector_files._CHUNK_BYTES
    if not compress:
        assert sum(read_from_file) <= len(data) + 2 * (vector_files._CHUNK_BYTES + BOUND)


_LONG_ROW = "w" + " 0.5" * 20_000  # 80,001 bytes: longer than BOUND, a plausible row of none of the formats


@pytest.mark.parametrize(
    "data, expected",
    [
        # A CRLF whose CR is the last byte of the part read: a line end, not a stray CR.
        (("www" + " 0.5" * 16_383 + "\r\n") * 2, ("www", 16_383)),
        ((_LONG_ROW + "\n") * 2, ("w", 20_000)),
        # A CR after the part read is found as before: line 1 is not the whole file, so it is stray.
        (_LONG_ROW[:70_001] + "\r" + _LONG_ROW[70_001:] + "\n" + _LONG_ROW, STRAY_CR.format(70_002)),
        # A CR in the part read and no LF in it, but one after it: the file's lines end with LF, the CR is stray.
        # Before: CR-only line ends, with advice (tr '\r' '\n') that would break the file's rows.
        (_LONG_ROW[:101] + "\r" + _LONG_ROW[101:] + "\n" + _LONG_ROW, STRAY_CR.format(102)),
        # A CR in the part read and no LF anywhere: CR-only line ends.
        (_LONG_ROW[:101] + "\r" + _LONG_ROW[101:] + "\r" + _LONG_ROW, CR_ONLY.format(102)),
        # ... or only as the file's last byte: CR-only line ends, the whole file is line 1 for sed.
        (_LONG_ROW[:101] + "\r" + _LONG_ROW[101:] + "\r" + _LONG_ROW + "\n", CR_ONLY.format(102)),
    ],
    ids=[
        "crlf-at-the-bound",
        "long-lf",
        "stray-cr-after-the-bound",
        "stray-cr-within-the-bound",
        "cr-only",
        "cr-only-last-lf",
    ],
)
@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_a_first_line_longer_than_the_bound_reads_as_its_line_ends_say(tmp_path, data, expected, compress):
    assert len(data.partition("\n")[0]) + 1 > BOUND
    path = _file(
        tmp_path,
        "glove.txt.gz" if compress else "glove.txt",
        gzip.compress(data.encode()) if compress else data,
    )
    if isinstance(expected, tuple):
        vectors = [(word, len(vector), set(vector.tolist())) for word, vector in iter_vectors(path, GLOVE)]
        assert vectors == [(*expected, {0.5})] * 2
    else:
        assert _where_and_what(_error(path, GLOVE)) == (1, None, expected)


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_the_stream_a_file_is_read_from_is_closed_after_reading(tmp_path, compress):
    data = glove_bytes(ROWS)
    path = _file(tmp_path, "glove.txt", gzip.compress(data) if compress else data)
    with vector_files._open_binary(path) as stream:
        assert stream.read() == data
    assert stream.closed


def test_a_fasttext_model_file_is_refused(tmp_path):
    path = _file(
        tmp_path, "cc.en.300.bin", (793712314).to_bytes(4, "little") + (12).to_bytes(4, "little") + bytes(40)
    )
    with pytest.raises(VectorFileError) as raised:
        detect_format(path)
    assert _where_and_what(raised.value) == (
        None,
        None,
        "this is a fastText model file (fastText's own .bin), not word vectors: use the .vec file fastText "
        "writes beside it",
    )


def test_a_word_without_a_space_is_not_word2vec_binary(tmp_path, monkeypatch):
    monkeypatch.setattr(vector_files, "_MAX_WORD_BYTES", 8)
    path = _file(tmp_path, "vectors.bin", b"1 2\n" + b"x" * 20)
    assert _where_and_what(_error(path, WORD2VEC_BINARY)) == (
        None,
        4,
        "no space ending a word: not word2vec binary, or the header's dimension is wrong (none within 8 bytes)",
    )


# --- truncated and damaged gzip files -----------------------------------------------------------


TRUNCATED = "the compressed data ends early: the file is truncated"


def _incompressible_rows(count):
    """Rows of random values: gzip cannot shrink them much, so a cut lands where it is made."""
    rng = np.random.default_rng(7)
    return [(f"w{i}", rng.standard_normal(4).astype(np.float32).tolist()) for i in range(count)]


def _next_line(rows, read: int) -> set[tuple[int | None, int | None]]:
    """Text: the line after the last one read."""
    return {(read + 1, None)}


def _next_record(rows, read: int) -> set[tuple[int | None, int | None]]:
    """word2vec binary: the record after the last one read, at its word or at its values."""
    record_start = len(b"3000 4\n") + sum(len(word) + 1 + 16 for word, _ in rows[:read])
    return {(None, record_start), (None, record_start + len(rows[read][0]) + 1)}


@pytest.mark.parametrize(
    ("name", "encode", "where"),
    [("glove.txt.gz", glove_bytes, _next_line), ("vectors.bin.gz", word2vec_binary_bytes, _next_record)],
    ids=["text", "binary"],
)
def test_a_truncated_gzip_file_names_the_line_or_record_where_it_ends(tmp_path, name, encode, where):
    rows = _incompressible_rows(3000)
    compressed = gzip.compress(encode(rows))
    path = _file(tmp_path, name, compressed[: len(compressed) // 2])
    read = []
    with pytest.raises(VectorFileError) as raised:
        read.extend(word for word, _ in iter_vectors(path))
    # Every complete line or record before the cut is read; the error names the next one.
    assert read == [word for word, _ in rows[: len(read)]]
    assert 1000 < len(read) < 2000
    assert (raised.value.line, raised.value.offset) in where(rows, len(read))
    assert raised.value.problem == TRUNCATED


def test_a_gzip_file_missing_only_its_trailer_or_with_a_bad_crc_names_the_line_after_the_last(tmp_path):
    encoded = glove_bytes(ROWS)
    data = gzip.compress(encoded)
    path = _file(tmp_path, "glove.txt.gz", data[:-4])
    assert _where_and_what(_error(path)) == (4, None, TRUNCATED)
    crc = zlib.crc32(encoded)
    for field, start, problem in (
        ("CRC-32", len(data) - 8, f"CRC check failed {crc ^ 0xFF:#x} != {crc:#x}"),
        ("length", len(data) - 4, "Incorrect length of data produced"),
    ):
        damaged = bytearray(data)
        damaged[start] ^= 0xFF  # the field's low byte (little-endian)
        path = _file(tmp_path, f"{field}.txt.gz", bytes(damaged))
        # Every line is read (the trailer comes after them); the error is on the line after the last.
        assert _where_and_what(_error(path)) == (4, None, f"damaged gzip data ({problem})")


def test_a_gzip_file_cut_inside_its_header_names_where_it_ends(tmp_path):
    path = _file(tmp_path, "vectors.gz", gzip.compress(glove_bytes(ROWS))[:6])
    with pytest.raises(VectorFileError) as raised:
        detect_format(path)
    assert str(raised.value) == f"{path}: {TRUNCATED}"


def _damaged_in_the_middle(tmp_path, name: str, encoded: bytes) -> str:
    """``encoded`` gzip-compressed in two deflate blocks, the second one's first byte turned into an
    invalid block type (its first half decompresses, then zlib fails), written to ``name``."""
    compressor = zlib.compressobj(wbits=16 + zlib.MAX_WBITS)  # gzip framing
    first = compressor.compress(encoded[: len(encoded) // 2]) + compressor.flush(zlib.Z_FULL_FLUSH)
    rest = compressor.compress(encoded[len(encoded) // 2 :]) + compressor.flush()
    return _file(tmp_path, name, first + b"\xff" + rest[1:])  # BFINAL 1, BTYPE 3 (reserved)


def _read_before_damage(path, format, rows, ends) -> tuple[int, VectorFileError]:
    """How many of ``rows`` are read before the error, and the error; ``ends``: where each record ends.

    zlib gives nothing of a call that fails, so the records read end within the
    last read of compressed data (8 KiB, at most 32 KiB decompressed) before the damage.
    """
    read = []
    with pytest.raises(VectorFileError) as raised:
        read.extend(word for word, _ in iter_vectors(path, format))
    assert read == [word for word, _ in rows[: len(read)]]
    middle = ends[-1] // 2
    assert middle - (1 << 15) < ends[len(read) - 1] <= middle
    return len(read), raised.value


@pytest.mark.parametrize("format", [None, "glove"], ids=["detected", "given"])
def test_damaged_gzip_data_in_the_middle_names_the_file_and_the_line_after_the_last_read(tmp_path, format):
    rows = _incompressible_rows(20000)
    encoded = glove_bytes(rows)
    path = _damaged_in_the_middle(tmp_path, "glove.txt.gz", encoded)
    ends = [index + 1 for index, byte in enumerate(encoded) if byte == ord("\n")]
    read, error = _read_before_damage(path, format, rows, ends)
    # The error is on the line after the last one read.
    assert str(error) == f"{path}, line {read + 1}: damaged gzip data (invalid block type)"


def test_damaged_gzip_data_in_word2vec_binary_names_the_record_where_reading_stopped(tmp_path):
    rows = _incompressible_rows(20000)
    path = _damaged_in_the_middle(tmp_path, "vectors.bin.gz", word2vec_binary_bytes(rows))
    offsets = word2vec_binary_offsets(rows)
    read, error = _read_before_damage(path, WORD2VEC_BINARY, rows, [values + 16 for _, values in offsets])
    # The error is at the record after the last one read: its word, or its values when its word was read.
    assert error.line is None and error.offset in offsets[read]
    assert error.problem == "damaged gzip data (invalid block type)"


def test_bytes_after_the_last_gzip_member_name_the_line_after_the_last(tmp_path):
    data = gzip.compress(glove_bytes(ROWS)) + gzip.compress(glove_bytes(ROWS[:1]))
    # A second member is read as gzip reads it, zero padding after the last one is skipped.
    path = _file(tmp_path, "two.txt.gz", data + bytes(100))
    assert [word for word, _ in iter_vectors(path)] == ["the", "movie", "café", "the"]
    path = _file(tmp_path, "junk.txt.gz", data + b"junk")
    assert _where_and_what(_error(path)) == (
        5,
        None,
        "damaged gzip data (not gzip data where a gzip member should start)",
    )


def test_a_run_on_a_gzip_file_damaged_after_its_first_record_fails_at_the_aligner_in_one_line(tmp_path):
    # Pre-flight reads only the first record, so the EmbeddingAligner is the step that meets the damage:
    # exit 1, and the run's last line names the file, the line where reading stopped and what is wrong.
    rows = "".join(f"w{i} 0.5 0.25\n" for i in range(500)).encode()
    damaged = rows.replace(b"w300 0.5 0.25", b"w300 0.5x0.25")
    data = gzip.compress(rows, compresslevel=0)  # stored blocks: the changed byte reaches the parser
    at = data.index(b"w300 0.5 0.25") + len("w300 0.5")
    path = tmp_path / "vectors.txt.gz"
    path.write_bytes(data[:at] + b"x" + data[at + 1 :])

    result = run_cli("run", "--vectors", str(path), "--output", str(tmp_path / "out"), cwd=tmp_path)

    message = (
        f"VectorFileError: {path}, line 301: damaged gzip data (CRC check failed {zlib.crc32(rows):#x} != "
        f"{zlib.crc32(damaged):#x}); the damaged data read as: expected 2 values after the word, found 1 "
        "(line 1 has 2)"
    )
    assert result.returncode == 1, result.stderr[-3000:]
    assert result.stderr.splitlines()[-1] == f"imdb-pipeline run: FAILED: {message}"
    errors = [
        line[len("00:00:00 ") :] for line in result.stderr.splitlines() if line[9:].startswith("ERROR ")
    ]
    assert len(errors) == 3, result.stderr
    assert re.fullmatch(
        rf"ERROR Step \d+/\d+ EmbeddingAligner: failed after \d+\.\d s: {re.escape(message)}", errors[1]
    )
    assert "Traceback" not in result.stderr


# --- byte-order marks --------------------------------------------------------------------------

ENCODERS = {GLOVE: glove_bytes, WORD2VEC: word2vec_text_bytes, WORD2VEC_BINARY: word2vec_binary_bytes}


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("given", [False, True], ids=["detected", "given"])
@pytest.mark.parametrize("format", [GLOVE, WORD2VEC, WORD2VEC_BINARY])
def test_a_utf8_byte_order_mark_keeps_the_first_word(tmp_path, format, given, compress):
    """Windows tools start UTF-8 files with EF BB BF: the first word is "the", not "\\ufeffthe"."""
    data = codecs.BOM_UTF8 + ENCODERS[format](ROWS)
    path = _file(tmp_path, "vectors.gz" if compress else "vectors", gzip.compress(data) if compress else data)
    if not given:
        assert detect_format(path) == format
    vocabulary = [features.PAD_TOKEN, features.UNK_TOKEN, "movie", "the", "café"]
    options = EmbeddingOptions(oov_init="zeros", lowercase_fallback=False)

    matrix, coverage = align(vocabulary, iter_vectors(path, format if given else None), options)

    # The first word's row is its vector, as every other word's.
    np.testing.assert_array_equal(matrix[3], np.float32(ROWS[0][1]))
    np.testing.assert_array_equal(matrix[2:], np.float32([ROWS[1][1], ROWS[0][1], ROWS[2][1]]))
    assert coverage.to_dict()["missing"] == 0


@pytest.mark.parametrize(
    ("encoding", "bom"),
    [
        ("UTF-16LE", codecs.BOM_UTF16_LE),
        ("UTF-16BE", codecs.BOM_UTF16_BE),
        ("UTF-32LE", codecs.BOM_UTF32_LE),
        ("UTF-32BE", codecs.BOM_UTF32_BE),
    ],
)
@pytest.mark.parametrize("format", [None, GLOVE, WORD2VEC, WORD2VEC_BINARY])
def test_another_encodings_byte_order_mark_says_the_file_is_not_utf8(tmp_path, encoding, bom, format):
    text = word2vec_text_bytes(ROWS).decode() if format == WORD2VEC else glove_bytes(ROWS).decode()
    path = _file(tmp_path, "vectors.txt", bom + text.encode(encoding))
    assert _where_and_what(_error(path, format)) == (
        None,
        0,
        f"the file starts with a {encoding} byte-order mark: word-vector files must be UTF-8 "
        f"(convert it, e.g. iconv -f {encoding} -t UTF-8)",
    )


# --- pickles: refused before anything in them is loaded -----------------------------------------


class _RunsCode:
    """What a malicious pickle does: calls a function of its choosing when loaded."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def test_a_pickle_is_refused_without_loading_any_of_it(tmp_path):
    marker = tmp_path / "pwned"
    vectors = keyed_vectors()
    vectors.payload = _RunsCode(marker)
    path = tmp_path / "evil.kv"
    vectors.save(str(path))
    assert _error(str(path)).problem == _error(str(path), GLOVE).problem
    assert _error(str(path)).problem.startswith(PICKLE_REFUSAL)
    assert not marker.exists()
    # Any pickle of protocol 2 (gensim 3's) to 5, plain or gzip: not only gensim's.
    for protocol in (2, 3, 4, 5):
        plain = _file(
            tmp_path, f"plain{protocol}.pkl", pickle.dumps({"index_to_key": ["a"]}, protocol=protocol)
        )
        zipped = _file(
            tmp_path, f"plain{protocol}.pkl.gz", gzip.compress(pickle.dumps(["a"], protocol=protocol))
        )
        assert [_error(path).problem.startswith(PICKLE_REFUSAL) for path in (plain, zipped)] == [True, True]


def test_gensim_fasttext_keyed_vectors_are_refused_with_the_same_way_out(tmp_path):
    model = FastText(vector_size=4, min_count=1, bucket=50, epochs=1, seed=1, workers=1)
    sentences = [["the", "movie"], ["a", "movie"]]
    model.build_vocab(sentences)
    model.train(sentences, total_examples=2, epochs=1)
    path = tmp_path / "ft.kv"
    model.wv.save(str(path))
    assert _error(str(path)).problem == (
        PICKLE_REFUSAL + ' convert it once with python -c "from gensim.models import KeyedVectors; '
        f"v = KeyedVectors.load('{path}'); getattr(v, 'wv', v).save_word2vec_format('{path}.bin', binary=True)\" "
        "and give the .bin file"
    )


def test_a_run_given_a_pickle_exits_2_at_pre_flight_naming_the_file(tmp_path):
    path = tmp_path / "vectors.kv"
    keyed_vectors().save(str(path))
    output = tmp_path / "out"
    result = run_cli("run", "--vectors", str(path), "--output", str(output), cwd=tmp_path)
    assert result.returncode == 2, result.stderr[-3000:]
    assert f"imdb-pipeline run: configuration error: vectors: {path}: {PICKLE_REFUSAL}" in result.stderr
    assert not output.exists()  # stopped before the run started
