"""Property tests of the word-vector readers on generated files (hypothesis).

Any vocabulary of words without white space (repeats included), any dimension
and any finite float32 values, written in each supported format, plain or
gzip, read back exactly: the same words in the same order and bit-for-bit the
same values (text formats are written with the float64 repr of each float32
value, which reads back to that value). Generated damage always gives a
``VectorFileError`` at the line or byte offset where it is, never another
exception and never a silently different vector:

* text formats: a row with one value removed, or a value replaced by junk or
  by a non-finite number; any bad row, with a header or not, a byte-order mark,
  CRLF line ends and blank lines, names its own line; a word with a space;
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
import itertools
import math
import re
import zlib

from hypothesis import assume, given, settings
from hypothesis import strategies as st
import numpy as np
import pytest

from components.embeddings.vector_files import (
    _CR_ONLY_BYTES,
    GLOVE,
    WORD2VEC,
    WORD2VEC_BINARY,
    VectorFileError,
    detect_format,
    iter_vectors,
)
from components.plural import counted
from tests.vector_files import (
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
    """Rows ``(word, float32 values)``: 1 to 6 dimensions, repeated words allowed.

    The first word does not start with U+FEFF: its UTF-8 bytes are a byte-order mark, which is not part of it.
    """
    dimension = draw(st.integers(1, 6))
    words = draw(st.lists(WORDS, min_size=min_rows, max_size=8).filter(lambda words: words[0][0] != "\ufeff"))
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

    if layout.format == GLOVE and row == 0 and len(rows) == 2:
        # Most lines set a GloVe file's dimension; of two that disagree, the first: it is read as it
        # is, and the next line is the one reported, naming line 1.
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
        if layout.format == GLOVE and row == 0:
            source = f"line 2 has {dimension}"  # most lines have it
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
    rows=vector_files(min_rows=3),
    words=st.lists(WORDS, min_size=2, max_size=3),
    separator=st.sampled_from([" ", "\t"]),
    data=st.data(),
)
def test_a_word_with_a_space_is_read_on_any_line_when_most_lines_have_none(
    directory, layout, rows, words, separator, data
):
    """Most lines set a GloVe file's dimension, so one word with a space (its last part no number, else it
    is a value) is read wherever it is, the first line too; a word2vec header sets it anyway."""
    assume(not WRITTEN_NUMBER.fullmatch(words[-1]))
    row = data.draw(st.integers(0, len(rows) - 1), label="row")
    rows[row] = (separator.join(words), rows[row][1])
    path = _write(directory, layout, _encode(layout, rows))
    rows[row] = (" ".join(words), rows[row][1])  # a tab separates like a space
    _assert_same(list(iter_vectors(path, layout.format)), rows)


def _damaged(line: str, damage: str) -> bytes:
    word, *values = line.split(" ")
    values = {"missing": values[:-1], "extra": [*values, "1.5"], "junk": [*values[:-1], "x1"]}.get(
        damage, values
    )
    if damage == "nan":
        values[-1] = "nan"
    text = " ".join([word, *values]).encode("utf-8")
    return {"not_utf8": b"\xff" + text, "zero_byte": text + b" \x00"}.get(damage, text)


@PROPERTY_SETTINGS
@given(
    layout=st.sampled_from(TEXT_LAYOUTS),
    rows=vector_files(min_rows=3),
    damage=st.sampled_from(["missing", "extra", "junk", "nan", "not_utf8", "zero_byte"]),
    bom=st.booleans(),
    newline=st.sampled_from([b"\n", b"\r\n"]),
    blanks=st.lists(st.integers(0, 10), max_size=3),
    data=st.data(),
)
def test_a_bad_row_anywhere_names_its_own_line(directory, layout, rows, damage, bom, newline, blanks, data):
    """One bad row among three or more, with a header or not, a UTF-8 byte-order mark, CRLF line ends and
    blank lines anywhere: the error names the row's 1-based line in the file, the first line too."""
    bad = data.draw(st.integers(0, len(rows) - 1), label="row")
    lines = [line.encode("utf-8") for line in glove_lines(rows)]
    lines[bad] = _damaged(glove_lines(rows)[bad], damage)
    if layout.format == WORD2VEC:
        lines.insert(0, f"{len(rows)} {len(rows[0][1])}".encode())
    index = bad + (layout.format == WORD2VEC)  # of the bad line, as blank lines go in
    for position in blanks:
        position = min(position, len(lines))
        lines.insert(position, b"")
        index += position <= index
    path = _write(directory, layout, codecs.BOM_UTF8 * bom + b"".join(line + newline for line in lines))
    read, error = _read_until_error(path, layout.format)
    _assert_same(read, rows[:bad])
    assert (error.line, error.offset) == (index + 1, None), error


_LINE_BYTE = re.compile(r"byte (\d+) of the line, counting from 1")


@PROPERTY_SETTINGS
@given(
    layout=st.sampled_from(TEXT_LAYOUTS),
    rows=vector_files(min_rows=3),
    damage=st.sampled_from(["missing", "nan", "not_utf8", "zero_byte", "cr"]),
    bom=st.booleans(),
    newline=st.sampled_from([b"\n", b"\r\n", b"\r"]),
    data=st.data(),
)
def test_an_error_names_the_line_and_byte_where_it_is(directory, layout, rows, damage, bom, newline, data):
    """A bad row on a random line, with a header or not, a UTF-8 byte-order mark or not, LF, CRLF or CR-only
    line ends: the error names the line as ``sed -n <line>p`` counts lines (LF ends them), and a byte named
    in it (1-based, the mark's bytes counted in line 1) is the bad byte, as ``head -c`` finds it."""
    bad = data.draw(st.integers(0, len(rows) - 1), label="row")
    lines = [line.encode("utf-8") for line in glove_lines(rows)]
    if damage in ("not_utf8", "cr"):  # a byte planted between two characters of the line, the word's too
        text = glove_lines(rows)[bad]
        at = data.draw(st.integers(0, len(text) - 1), label="at")
        planted = b"\xff" if damage == "not_utf8" else b"\r"
        lines[bad] = text[:at].encode("utf-8") + planted + text[at:].encode("utf-8")
    else:
        lines[bad] = _damaged(glove_lines(rows)[bad], damage)
    header = layout.format == WORD2VEC
    if header:
        lines.insert(0, f"{len(rows)} {len(rows[0][1])}".encode())
    file_bytes = codecs.BOM_UTF8 * bom + b"".join(line + newline for line in lines)
    path = _write(directory, layout, file_bytes)

    read, error = _read_until_error(path, layout.format)

    sed_lines = file_bytes.split(b"\n")  # what sed -n <N>p prints, without its LF
    if newline == b"\r":  # one line, the whole file: the first problem in it is reported
        assert error.line == 1
        assert read == []
        if damage == "zero_byte":
            assert error.problem.startswith("a zero byte: binary data, not a text vector file")
        elif damage != "not_utf8":
            first_cr = file_bytes.index(b"\r") + 1
            assert error.problem == (
                f"line ends are CR only (as old Mac OS wrote them; the first is byte {first_cr} of the line, "
                "counting from 1): lines must end with LF or CRLF; convert them, e.g. tr '\\r' '\\n' < FILE > NEW"
            )
    else:
        _assert_same(read, rows[:bad])
        assert error.line == bad + header + 1
        if damage == "cr":
            at_byte = sed_lines[bad + header].index(b"\r") + 1
            assert error.problem == (
                f"a CR inside the line (byte {at_byte} of the line, counting from 1): fields are separated "
                "by spaces or tabs, lines end with LF or CRLF"
            )
    assert error.offset is None
    named = _LINE_BYTE.findall(error.problem)
    assert len(named) == (
        damage == "not_utf8" or (damage != "zero_byte" and (damage == "cr" or newline == b"\r"))
    )
    if named:
        byte = int(named[0])
        expected = b"\xff" if damage == "not_utf8" else b"\r"
        assert sed_lines[error.line - 1][byte - 1 : byte] == expected, error


CR_ONLY = (
    "line ends are CR only (as old Mac OS wrote them; the first is byte {} of the line, counting from 1): "
    "lines must end with LF or CRLF; convert them, e.g. tr '\\r' '\\n' < FILE > NEW"
)
STRAY_CR = (
    "a CR inside the line (byte {} of the line, counting from 1): fields are separated by spaces or tabs, "
    "lines end with LF or CRLF"
)


@PROPERTY_SETTINGS
@given(
    layout=st.sampled_from(TEXT_LAYOUTS),
    rows=vector_files(min_rows=2),
    newline=st.sampled_from([b"\n", b"\r\n", b"\r"]),
    last=st.sampled_from([b"", b"\n", None]),  # None: the line end the other lines have
    bom=st.booleans(),
    data=st.data(),
)
def test_a_stray_cr_names_its_line_and_cr_only_line_ends_line_1(
    directory, layout, rows, newline, last, bom, data
):
    """Two lines or more joined by LF, CRLF or CR, the last one ended or not (a CR-only file by LF too), a
    byte-order mark or not, stray CRs planted before any characters of any lines: a file of CR line ends is
    refused on line 1 at its first CR; otherwise the first line holding a stray CR is named, with its byte."""
    lines = glove_lines(rows)
    if layout.format == WORD2VEC:
        lines.insert(0, f"{len(rows)} {len(rows[0][1])}")
    strays = data.draw(  # line: where CRs go, before the characters at these places
        st.dictionaries(st.integers(0, len(lines) - 1), st.sets(st.integers(0, 99), min_size=1, max_size=3)),
        label="strays",
    )
    strays = {line: sorted({at % len(lines[line]) for at in places}) for line, places in strays.items()}
    planted = [
        "\r".join(text[start:end] for start, end in itertools.pairwise([0, *strays.get(number, []), None]))
        for number, text in enumerate(lines)
    ]
    ending = newline if last is None else last
    file_bytes = codecs.BOM_UTF8 * bom + newline.join(text.encode("utf-8") for text in planted) + ending
    path = _write(directory, layout, file_bytes)

    def byte_of_stray(line: int) -> int:  # 1-based, counted from the generated text, not the file
        return 3 * bom * (line == 0) + len(lines[line][: strays[line][0]].encode("utf-8")) + 1

    if newline == b"\r":  # the first CR: a stray one in line 1, else the end of line 1
        first_cr = byte_of_stray(0) if 0 in strays else 3 * bom + len(lines[0].encode("utf-8")) + 1
        assert _where_and_what(_read_until_error(path, layout.format)[1]) == (1, CR_ONLY.format(first_cr))
    elif strays:
        read, error = _read_until_error(path, layout.format)
        first = min(strays)
        _assert_same(read, rows[: max(first - (layout.format == WORD2VEC), 0)])
        assert _where_and_what(error) == (first + 1, STRAY_CR.format(byte_of_stray(first)))
        assert file_bytes.split(b"\n")[first][byte_of_stray(first) - 1 : byte_of_stray(first)] == b"\r"
    else:
        _assert_same(list(iter_vectors(path, layout.format)), rows)


def _where_and_what(error: VectorFileError) -> tuple[int | None, str]:
    assert error.offset is None
    return error.line, error.problem


@PROPERTY_SETTINGS
@given(
    layout=st.sampled_from(TEXT_LAYOUTS),
    rows=vector_files(),
    size=st.integers(_CR_ONLY_BYTES - 100, 2 * _CR_ONLY_BYTES),
    last=st.sampled_from([b"", b"\r", b"\n"]),
    bom=st.booleans(),
)
def test_cr_only_line_ends_are_refused_on_line_1_below_and_above_the_bytes_that_tell_them(
    directory, layout, rows, size, last, bom
):
    """A file of CR line ends (the last one ended by CR, LF or nothing) about as large as the bytes of line
    1 the reader looks at to tell them, or larger: the same refusal, at the first CR, whether the reader
    read the whole file as line 1 or only those bytes of it."""
    lines = [f"{len(rows) * size} {len(rows[0][1])}"] if layout.format == WORD2VEC else []
    text = "\r".join([*lines, *itertools.islice(itertools.cycle(glove_lines(rows)), size)]).encode("utf-8")
    file_bytes = codecs.BOM_UTF8 * bom + text[: text.index(b"\r", size)] + last
    path = _write(directory, layout, file_bytes)

    error = _read_until_error(path, layout.format)[1]

    assert _where_and_what(error) == (1, CR_ONLY.format(file_bytes.index(b"\r") + 1))


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


@PROPERTY_SETTINGS
@given(
    values=st.lists(st.integers(-9, 9), min_size=1, max_size=5),
    runs=st.data(),
)
def test_any_run_of_blanks_between_values_separates_them_once(directory, values, runs):
    """A run of spaces and tabs between two values is one separator, for the dimension and the parser alike."""
    blanks = st.text(alphabet=" \t", min_size=1, max_size=3)
    line = "w " + "".join(f"{value}{runs.draw(blanks)}" for value in values[:-1]) + str(values[-1])
    path = directory / "glove.txt"
    path.write_text(f"{line}\nv {' '.join(map(str, values))}\n", encoding="utf-8")
    assert [(word, vector.tolist()) for word, vector in iter_vectors(str(path))] == [
        ("w", values),
        ("v", values),
    ]
