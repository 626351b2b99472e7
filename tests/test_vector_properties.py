"""Property tests of the word-vector readers on generated files (hypothesis).

Any vocabulary of words without white space (repeats included), any dimension
and any finite float32 values, written in each supported format, plain or
gzip, read back exactly: the same words in the same order and bit-for-bit the
same values (text formats are written with the float64 repr of each float32
value, which reads back to that value). Generated damage always gives a
``VectorFileError`` at the line or byte offset where it is, never another
exception and never a silently different vector:

* text formats: a row with one value removed, or a value replaced by junk or
  by a non-finite number; a GloVe file's first word with a space;
* word2vec binary (no separators, so a removed value is only visible where
  the bytes run out): the file cut at any byte, a NaN or infinite value;
* any format: its gzip stream cut at any byte.

A UTF-8 byte-order mark at the start of any of them is not part of the first word.

Examples are derandomised (the same ones every run, so CI is repeatable) and no
example database is written into the checkout.
"""

from __future__ import annotations

import codecs
import dataclasses
import gzip
import math
import re
import zlib

from hypothesis import given, settings
from hypothesis import strategies as st
import numpy as np
import pytest

from components.embeddings.vector_files import (
    GLOVE,
    WORD2VEC,
    WORD2VEC_BINARY,
    VectorFileError,
    detect_format,
    iter_vectors,
)
from components.plural import counted
from tests.vector_files import (
    glove_bytes,
    glove_lines,
    value_text,
    word2vec_binary_bytes,
    word2vec_binary_offsets,
)

PROPERTY_SETTINGS = settings(max_examples=200, deadline=None, derandomize=True, database=None)

# Word characters: anything UTF-8 can hold except white space (the field
# separator of the text formats, the word end of the binary one) and NUL
# (refused as binary data in text files).
WORD_CHARACTERS = st.characters(codec="utf-8").filter(lambda char: not char.isspace() and char != "\x00")
WORDS = st.text(WORD_CHARACTERS, min_size=1, max_size=10)
VALUES = st.floats(width=32, allow_nan=False, allow_infinity=False)


@dataclasses.dataclass(frozen=True)
class Layout:
    """One way of writing a vector file."""

    name: str
    format: str
    compress: bool = False
    newline: bool = False  # word2vec binary: Google's C tool ends each vector with a newline

    def __str__(self) -> str:
        return self.name


TEXT_LAYOUTS = [
    Layout("glove", GLOVE),
    Layout("glove.gz", GLOVE, compress=True),
    Layout("word2vec", WORD2VEC),
    Layout("word2vec.gz", WORD2VEC, compress=True),
]
BINARY_LAYOUTS = [
    Layout("binary-gensim", WORD2VEC_BINARY),
    Layout("binary-gensim.gz", WORD2VEC_BINARY, compress=True),
    Layout("binary-c-tool", WORD2VEC_BINARY, newline=True),
    Layout("binary-c-tool.gz", WORD2VEC_BINARY, compress=True, newline=True),
]


@st.composite
def vector_files(draw, min_rows: int = 1):
    """Rows ``(word, float32 values)``: 1 to 6 dimensions, repeated words allowed."""
    dimension = draw(st.integers(1, 6))
    words = draw(st.lists(WORDS, min_size=min_rows, max_size=8))
    return [(word, np.array(draw(st.lists(VALUES, min_size=dimension, max_size=dimension)), np.float32)) for word in words]  # fmt: skip


def _text_bytes(layout: Layout, lines: list[str], dimension: int) -> bytes:
    header = [f"{len(lines)} {dimension}"] if layout.format == WORD2VEC else []
    return "".join(f"{line}\n" for line in header + lines).encode("utf-8")


def _encode(layout: Layout, rows) -> bytes:
    if layout.format == WORD2VEC_BINARY:
        return word2vec_binary_bytes(rows, newline=layout.newline)
    return _text_bytes(layout, glove_lines(rows), len(rows[0][1]))


def _write(directory, layout: Layout, data: bytes) -> str:
    path = directory / f"vectors-{layout.name}"
    path.write_bytes(gzip.compress(data, mtime=0) if layout.compress else data)
    return str(path)


def _assert_same(read, rows) -> None:
    assert [word for word, _ in read] == [word for word, _ in rows]
    for (_, actual), (_, expected) in zip(read, rows, strict=True):
        assert actual.dtype == np.float32
        # Bit-for-bit: -0.0 stays -0.0, subnormals stay subnormal.
        assert actual.view(np.uint32).tolist() == expected.view(np.uint32).tolist()


def _read_until_error(path: str, format: str):
    """The vectors read before the error, and the error."""
    read = []
    with pytest.raises(VectorFileError) as raised:
        for word, vector in iter_vectors(path, format):
            read.append((word, vector))
    return read, raised.value


@pytest.fixture(scope="module")
def directory(tmp_path_factory):
    return tmp_path_factory.mktemp("vector-properties")


# --- written, then read back exactly ------------------------------------------------------------


@PROPERTY_SETTINGS
@given(layout=st.sampled_from(TEXT_LAYOUTS + BINARY_LAYOUTS), rows=vector_files())
def test_a_written_file_reads_back_exactly(directory, layout, rows):
    path = _write(directory, layout, _encode(layout, rows))
    _assert_same(list(iter_vectors(path, layout.format)), rows)


# Words without control characters, as every real file's first word.
PLAIN_WORDS = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cc", "Zs", "Zl", "Zp")), min_size=1, max_size=10
)


@PROPERTY_SETTINGS
@given(layout=st.sampled_from(TEXT_LAYOUTS), rows=vector_files(), first=PLAIN_WORDS)
def test_text_formats_are_detected(directory, layout, rows, first):
    rows = [(first, rows[0][1]), *rows[1:]]
    path = _write(directory, layout, _encode(layout, rows))
    assert detect_format(path) == layout.format
    _assert_same(list(iter_vectors(path)), rows)


@PROPERTY_SETTINGS
@given(layout=st.sampled_from(TEXT_LAYOUTS + BINARY_LAYOUTS), rows=vector_files())
def test_a_utf8_byte_order_mark_is_not_part_of_the_first_word(directory, layout, rows):
    path = _write(directory, layout, codecs.BOM_UTF8 + _encode(layout, rows))
    _assert_same(list(iter_vectors(path, layout.format)), rows)


@PROPERTY_SETTINGS
@given(layout=st.sampled_from(TEXT_LAYOUTS), rows=vector_files(), first=PLAIN_WORDS)
def test_a_utf8_byte_order_mark_does_not_change_the_detected_format(directory, layout, rows, first):
    rows = [(first, rows[0][1]), *rows[1:]]
    path = _write(directory, layout, codecs.BOM_UTF8 + _encode(layout, rows))
    assert detect_format(path) == layout.format
    _assert_same(list(iter_vectors(path)), rows)


# --- damaged text files -------------------------------------------------------------------------


def _line_and_source(layout: Layout, row: int, dimension: int) -> tuple[int, str]:
    """The line of row ``row`` (0-based) and where the reader takes the dimension from."""
    if layout.format == WORD2VEC:
        return row + 2, f"the header on line 1 says {dimension}"
    return row + 1, f"line 1 has {dimension}"


@PROPERTY_SETTINGS
@given(layout=st.sampled_from(TEXT_LAYOUTS), rows=vector_files(min_rows=2), data=st.data())
def test_a_row_missing_a_value_names_its_line(directory, layout, rows, data):
    dimension = len(rows[0][1])
    row = data.draw(st.integers(0, len(rows) - 1), label="row")
    value = data.draw(st.integers(0, dimension - 1), label="value")
    lines = glove_lines(rows)
    fields = lines[row].split(" ")
    del fields[1 + value]
    lines[row] = " ".join(fields)
    path = _write(directory, layout, _text_bytes(layout, lines, dimension))

    read, error = _read_until_error(path, layout.format)

    if layout.format == GLOVE and row == 0:
        # The first line sets a GloVe file's dimension, so it is read as it is; the
        # next line is the one reported, naming line 1.
        if dimension == 1:
            _assert_same(read, [])
            expected = (1, f"expected a word followed by its values, got {rows[0][0][:80]!r}")
        else:
            _assert_same(read, [(rows[0][0], np.delete(rows[0][1], value))])
            word = rows[1][0]
            expected = (
                2,
                f"more than {counted(dimension - 1, 'value')} after the word {word!r} (line 1 has {dimension - 1})",
            )
    else:
        _assert_same(read, rows[:row])
        line, source = _line_and_source(layout, row, dimension)
        expected = (
            line,
            f"expected {counted(dimension, 'value')} after the word, found {dimension - 1} ({source})",
        )
    assert (error.line, error.offset, error.problem) == (expected[0], None, expected[1])


# What GloVe's C code, word2vec, fastText, gensim and NumPy write for a value: a plain decimal
# number (ASCII digits, no "_"), or a spelling of NaN or infinity (then refused as non-finite).
WRITTEN_NUMBER = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
NON_FINITE_SPELLING = re.compile(r"[-+]?(?:nan|inf|infinity)", re.IGNORECASE)


def _not_a_number(text: str) -> bool:
    return not (WRITTEN_NUMBER.fullmatch(text) or NON_FINITE_SPELLING.fullmatch(text))


JUNK = st.text(WORD_CHARACTERS, min_size=1, max_size=12).filter(_not_a_number)
# Strings Python's float() may take: "_" between digits, other scripts' digits, white space inside
# (not CR: TensorFlow's file reader drops it from a plain file's lines).
FLOAT_LIKE = st.text(
    st.sampled_from([*"0123456789_.eE+-", *"naifty", "\u0663", "\uff11", "\u00a0", "\x0b", "\x0c", "\x1c"]),
    min_size=1,
    max_size=10,
).filter(lambda text: text == text.strip())
NON_FINITE = st.sampled_from(["nan", "NaN", "inf", "-inf", "Infinity", "-Infinity", "3.5e38", "-1e39"])


@PROPERTY_SETTINGS
@given(
    layout=st.sampled_from(TEXT_LAYOUTS), rows=vector_files(), bad=st.one_of(JUNK, NON_FINITE), data=st.data()
)
@pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")
def test_a_value_replaced_by_junk_or_a_non_finite_number_names_its_line(directory, layout, rows, bad, data):
    dimension = len(rows[0][1])
    row = data.draw(st.integers(0, len(rows) - 1), label="row")
    value = data.draw(st.integers(1, dimension), label="value")
    lines = glove_lines(rows)
    fields = lines[row].split(" ")
    fields[value] = bad
    lines[row] = " ".join(fields)
    path = _write(directory, layout, _text_bytes(layout, lines, dimension))

    read, error = _read_until_error(path, layout.format)

    _assert_same(read, rows[:row])
    word, where = rows[row][0], f"(value {value} of {dimension})"
    if _not_a_number(bad):
        problem = f"non-numeric value {bad[:40]!r} {where} for word {word!r}"
    elif math.isfinite(float(bad)):
        problem = f"value {bad!r} {where} of {word!r} is beyond the float32 range"
    else:
        problem = f"non-finite value {bad!r} {where} in the vector of {word!r}"
    line, _ = _line_and_source(layout, row, dimension)
    assert (error.line, error.offset, error.problem) == (line, None, problem)


@PROPERTY_SETTINGS
@given(
    layout=st.sampled_from(TEXT_LAYOUTS),
    rows=vector_files(min_rows=2),
    first=WORDS,
    more=st.lists(JUNK, min_size=1, max_size=2),
)
def test_a_first_word_with_a_space_is_refused_on_line_1_of_glove_and_read_in_word2vec(
    directory, layout, rows, first, more
):
    """A GloVe file's first line sets the dimension, so its word cannot hold a space; a word2vec header does."""
    word = " ".join([first, *more])
    rows = [(word, rows[0][1]), *rows[1:]]
    path = _write(directory, layout, _encode(layout, rows))
    if layout.format == WORD2VEC:
        _assert_same(list(iter_vectors(path, layout.format)), rows)
        return
    dimension = len(rows[0][1])
    read, error = _read_until_error(path, layout.format)
    assert read == []
    assert (error.line, error.offset, error.problem) == (
        1,
        None,
        f"{counted(dimension + len(more), 'value')} after the word {first!r} (line 2 has {dimension}): "
        f"the word is {word!r}, with a space, which the first line of a GloVe file cannot hold since it "
        "sets the dimension; put a word without a space first",
    )


@PROPERTY_SETTINGS
@given(
    compress=st.booleans(),
    rows=vector_files(min_rows=2),
    words=st.tuples(WORDS, WORDS, JUNK),
    separators=st.lists(st.sampled_from([" ", "  ", "\t"]), min_size=2, max_size=2),
    spaced=st.sets(st.integers(1, 7)),
    last=JUNK,
)
def test_a_glove_first_line_whose_word_holds_a_space_is_explained_whatever_the_next_lines_words(
    directory, compress, rows, words, separators, spaced, last
):
    """Line 1's word holds spaces (single, double, tabs), later words too (in rows ``spaced``): the
    dimension is the one the next lines end with. A word's last part is no number (else it is a value)."""
    word = words[0] + separators[0] + words[1] + separators[1] + words[2]
    later = [(f"{w} {last}" if i in spaced else w, vector) for i, (w, vector) in enumerate(rows)]
    layout = Layout("glove-spaced", GLOVE, compress=compress)
    path = _write(directory, layout, glove_bytes([(word, rows[0][1]), *later[1:]]))
    dimension = len(rows[0][1])
    read, error = _read_until_error(path, GLOVE)
    assert read == []
    parts = word.replace("\t", " ").split(" ")
    assert (error.line, error.offset, error.problem) == (
        1,
        None,
        f"{counted(len(parts) - 1 + dimension, 'value')} after the word {parts[0]!r} (line 2 has {dimension}): "
        f"the word is {word.replace(chr(9), ' ')!r}, with a space, which the first line of a GloVe file "
        "cannot hold since it sets the dimension; put a word without a space first",
    )


# --- damaged word2vec binary files ----------------------------------------------------------------


def _expected_cut_error(rows, offsets, cut: int, dimension: int) -> tuple[int, str] | None:
    """Where and what the reader reports for a binary file cut to ``cut`` bytes; None if it reads fine."""
    vector_bytes = 4 * dimension
    count = len(rows)
    record = max(index for index, (word_offset, _) in enumerate(offsets) if word_offset <= cut)
    word_offset, values_offset = offsets[record]
    if cut == word_offset:
        return cut, f"the file ends after {record:,} of the {count:,} vectors the header announces"
    if cut < values_offset:
        return word_offset, (
            "the file ends: no space ending a word: not word2vec binary, or the header's dimension is wrong"
        )
    if cut < values_offset + vector_bytes:
        word = rows[record][0]
        return values_offset, (
            f"the file ends inside the vector of {word!r} ({cut - values_offset:,} of {vector_bytes:,} bytes)"
        )
    # Only the newline after a vector (Google's C tool) is missing.
    if record == count - 1:
        return None
    return cut, f"the file ends after {record + 1:,} of the {count:,} vectors the header announces"


@PROPERTY_SETTINGS
@given(layout=st.sampled_from(BINARY_LAYOUTS), rows=vector_files(), data=st.data())
def test_a_binary_file_cut_at_any_byte_names_the_offset(directory, layout, rows, data):
    dimension = len(rows[0][1])
    full = word2vec_binary_bytes(rows, newline=layout.newline)
    offsets = word2vec_binary_offsets(rows, newline=layout.newline)
    cut = data.draw(st.integers(offsets[0][0], len(full) - 1), label="cut")
    path = _write(directory, layout, full[:cut])
    expected = _expected_cut_error(rows, offsets, cut, dimension)

    if expected is None:
        _assert_same(list(iter_vectors(path, layout.format)), rows)
        return
    read, error = _read_until_error(path, layout.format)
    _assert_same(read, rows[: len(read)])
    assert (error.line, error.offset, error.problem) == (None, *expected)


@PROPERTY_SETTINGS
@given(
    layout=st.sampled_from(BINARY_LAYOUTS),
    rows=vector_files(),
    bad=st.sampled_from([np.nan, np.inf, -np.inf]),
    data=st.data(),
)
def test_a_non_finite_binary_value_names_its_byte(directory, layout, rows, bad, data):
    dimension = len(rows[0][1])
    row = data.draw(st.integers(0, len(rows) - 1), label="row")
    value = data.draw(st.integers(0, dimension - 1), label="value")
    damaged = [(word, vector.copy()) for word, vector in rows]
    damaged[row][1][value] = bad
    path = _write(directory, layout, word2vec_binary_bytes(damaged, newline=layout.newline))

    read, error = _read_until_error(path, layout.format)

    _assert_same(read, rows[:row])
    values_offset = word2vec_binary_offsets(rows, newline=layout.newline)[row][1]
    assert (error.line, error.offset, error.problem) == (
        None,
        values_offset + 4 * value,
        f"non-finite value {np.float32(bad)} (value {value + 1} of {dimension}) in the vector of {rows[row][0]!r}",
    )


# --- truncated gzip ----------------------------------------------------------------------------


# The problem of a gzip file cut anywhere after its first byte.
TRUNCATED = "the compressed data ends early: the file is truncated"


def _expected_gzip_cut_error(
    layout: Layout, rows, compressed: bytes, cut: int
) -> tuple[int, int | None, int | None, str]:
    """Vectors read from ``compressed[:cut]``, and the error's line, byte offset and problem.

    The reader gets what zlib decompresses from the bytes before the cut, then
    the stream ends early: a text reader fails on the line after the last
    complete one, the binary reader at the byte where it wanted more. One byte
    is no gzip magic: a plain file holding "\x1f", which is white space to Python.
    """
    if cut == 1:
        if layout.format == WORD2VEC_BINARY:
            return 0, None, 0, "the file ends: no '<count> <dimension>' header line"
        return 0, None, None, "empty file"
    available = zlib.decompressobj(zlib.MAX_WBITS | 16).decompress(compressed[:cut])  # gzip framing
    if layout.format != WORD2VEC_BINARY:
        lines = available.count(b"\n")
        vectors = lines if layout.format == GLOVE else max(lines - 1, 0)  # word2vec: a header line
        return vectors, lines + 1, None, TRUNCATED
    offsets = word2vec_binary_offsets(rows, newline=layout.newline)
    if len(available) < offsets[0][0]:
        return 0, None, 0, TRUNCATED  # inside the header line
    dimension = len(rows[0][1])
    for record, (word_offset, values_offset) in enumerate(offsets):
        if len(available) <= word_offset:  # between records: wanted the next word's first byte
            return record, None, len(available), TRUNCATED
        if len(available) < values_offset:  # inside the word
            return record, None, word_offset, TRUNCATED
        if len(available) < values_offset + 4 * dimension:  # inside the values
            return record, None, values_offset, TRUNCATED
    return len(rows), None, len(available), TRUNCATED  # every record, then the trailer is missing


@PROPERTY_SETTINGS
@given(
    layout=st.sampled_from([layout for layout in TEXT_LAYOUTS + BINARY_LAYOUTS if layout.compress]),
    rows=vector_files(),
    data=st.data(),
)
def test_a_gzip_file_cut_at_any_byte_fails_after_only_correct_vectors(directory, layout, rows, data):
    compressed = gzip.compress(_encode(layout, rows), mtime=0)
    cut = data.draw(st.integers(1, len(compressed) - 1), label="cut")
    path = directory / f"cut-{layout.name}"
    path.write_bytes(compressed[:cut])

    read, error = _read_until_error(str(path), layout.format)

    _assert_same(read, rows[: len(read)])
    assert str(error).startswith(f"{path}")
    assert (len(read), error.line, error.offset, error.problem) == _expected_gzip_cut_error(
        layout, rows, compressed, cut
    )


# Negative zero, the smallest subnormal, the most negative finite, the largest subnormal, and a
# value without an exact decimal form: what a reader could round, flush to zero or lose the sign of.
AWKWARD = np.array([-0.0, 1e-45, -3.4028235e38, 1.1754942e-38, 0.1], dtype=np.float32)


def test_awkward_values_are_written_as_the_float64_repr_of_the_float32():
    assert [value_text(value) for value in AWKWARD] == [
        "-0.0",
        "1.401298464324817e-45",
        "-3.4028234663852886e+38",
        "1.1754942106924411e-38",
        "0.10000000149011612",
    ]


@pytest.mark.parametrize("layout", TEXT_LAYOUTS + BINARY_LAYOUTS, ids=str)
def test_awkward_values_written_in_each_format_read_back_bit_for_bit(directory, layout):
    rows = [("awkward", AWKWARD), ("reversed", AWKWARD[::-1].copy())]
    path = _write(directory, layout, _encode(layout, rows))  # glove_lines / word2vec_binary_bytes
    _assert_same(list(iter_vectors(path, layout.format)), rows)


@PROPERTY_SETTINGS
@given(layout=st.sampled_from(TEXT_LAYOUTS), value=FLOAT_LIKE)
@pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")
def test_a_value_is_read_only_as_vector_writers_write_numbers(directory, layout, value):
    lines = ["the 0.5 -1.25", f"movie {value} 2", "film 3 4"]
    path = _write(directory, layout, _text_bytes(layout, lines, 2))
    line, _ = _line_and_source(layout, 1, 2)
    number = None if _not_a_number(value) else np.float32(float(value))

    if number is not None and math.isfinite(number):
        read = list(iter_vectors(path, layout.format))
        assert [(word, vector.tolist()) for word, vector in read] == [
            ("the", [0.5, -1.25]),
            ("movie", [number, 2.0]),
            ("film", [3.0, 4.0]),
        ]
        return
    read, error = _read_until_error(path, layout.format)
    assert [word for word, _ in read] == ["the"]
    if number is None:
        problem = f"non-numeric value {value!r} (value 1 of 2) for word 'movie'"
    elif math.isfinite(float(value)):
        problem = f"value {value!r} (value 1 of 2) of 'movie' is beyond the float32 range"
    else:
        problem = f"non-finite value {value!r} (value 1 of 2) in the vector of 'movie'"
    assert (error.line, error.offset, error.problem) == (line, None, problem)


@PROPERTY_SETTINGS
@given(
    layout=st.sampled_from(TEXT_LAYOUTS),
    value=VALUES,
    style=st.sampled_from(["%f", "%g", "%.18e", "%.5g", "repr"]),
)
def test_every_way_writers_format_a_float_reads_back(directory, layout, value, style):
    text = repr(float(value)) if style == "repr" else style % value
    lines = [f"the {text} {text}"]
    path = _write(directory, layout, _text_bytes(layout, lines, 2))
    ((word, vector),) = list(iter_vectors(path, layout.format))
    assert (word, vector.tolist()) == ("the", [np.float32(float(text))] * 2)
