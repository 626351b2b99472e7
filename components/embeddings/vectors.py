"""Streaming readers of pretrained word-vector files.

Pretrained files are large (GloVe 840B is 5.6 GB as text), and the pipeline only
needs the few tens of thousands of rows that match its vocabulary, so every
reader yields one ``(word, vector)`` pair at a time and never holds the file.
Each line is checked as it is read: a truncated or mixed file fails with the
file name and line number instead of producing a silently shifted matrix.

Formats (one reader function each, registered in ``_READERS``):

* ``glove``: ``word v1 ... vd`` per line, no header (Stanford GloVe).
* ``word2vec``: the same lines after a ``<count> <dim>`` header line (word2vec
  and fastText ``.vec`` text, gensim's ``save_word2vec_format(binary=False)``).

Words may contain spaces (GloVe 840B has a few, such as ``. . .``), so once the
dimension d is known a line is split from the right into a word and d values.
A word whose last space-separated part is a number is reported as a line with
too many values: that is what such a line almost always is.

Either may be gzip-compressed (recognised by its magic bytes, whatever the file
name), and any path ``tf.io.gfile`` understands works, local or ``gs://``.
"""

from collections.abc import Callable, Iterator
import contextlib
import gzip
import re
from typing import BinaryIO

import numpy as np
import tensorflow as tf

GLOVE = "glove"
WORD2VEC = "word2vec"
FORMATS = (GLOVE, WORD2VEC)

_GZIP_MAGIC = b"\x1f\x8b"
_INTEGER = re.compile(r"\d+")
# A plain decimal number; used to tell "one value too many" from a word with a space.
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")

Vector = tuple[str, np.ndarray]
# A reader turns numbered text lines of one file into vectors, checking them as it goes.
_Reader = Callable[[str, Iterator[tuple[int, str]]], Iterator[Vector]]


class VectorFileError(ValueError):
    """A word-vector file is empty, malformed or contradicts its own header."""

    def __init__(self, path: str, line: int | None, problem: str):
        location = f"{path}, line {line}" if line is not None else path
        super().__init__(f"{location}: {problem}")
        self.path = path
        self.line = line
        self.problem = problem


def iter_vectors(path: str, format: str | None = None) -> Iterator[Vector]:
    """Streams the ``(word, float32 vector)`` pairs of a word-vector file.

    Args:
        path: Local path or any ``tf.io.gfile`` URL; gzip is detected from the content.
        format: One of ``FORMATS``; detected from the first line when ``None``
            (exactly two integer fields means a word2vec header).

    Yields:
        Each word with its vector, in file order. All vectors have the same length.

    Raises:
        VectorFileError: On an empty file, a line with the wrong number of values
            or a non-numeric value, or a header the file contradicts (the vector
            count is checked when the end is reached).
    """
    if format is None:
        format = detect_format(path)
    if format not in _READERS:
        raise ValueError(f"unknown word-vector format {format!r}; known: {', '.join(FORMATS)}")
    with _numbered_lines(path) as lines:
        yield from _READERS[format](path, lines)


def detect_format(path: str) -> str:
    """Names the format of a vector file from its first line.

    A first line of exactly two integers is a word2vec/fastText header; anything
    else is read as GloVe. (A GloVe file of one-dimensional vectors whose first
    word is a number would be ambiguous; no real file is.)
    """
    with _numbered_lines(path) as lines:
        first = next(lines, None)
    if first is None:
        raise VectorFileError(path, None, "empty file")
    return WORD2VEC if _parse_header(first[1]) is not None else GLOVE


def read_dimension(path: str, format: str | None = None) -> int:
    """The vector length of a file, from its header or its first vector."""
    with contextlib.closing(iter_vectors(path, format)) as vectors:
        for _word, vector in vectors:
            return len(vector)
    raise VectorFileError(path, None, "no vectors")


def _read_glove(path: str, lines: Iterator[tuple[int, str]]) -> Iterator[Vector]:
    first = next(lines, None)
    if first is None:
        raise VectorFileError(path, None, "empty file")
    number, text = first
    # The first word of a GloVe file never contains a space (it is the most
    # frequent token), so its field count gives the dimension.
    dimension = len(text.split(" ")) - 1
    if dimension < 1:
        raise VectorFileError(path, number, f"expected a word followed by its values, got {text[:80]!r}")
    yield _parse_vector(path, number, text, dimension)
    for number, text in lines:
        yield _parse_vector(path, number, text, dimension)


def _read_word2vec_text(path: str, lines: Iterator[tuple[int, str]]) -> Iterator[Vector]:
    first = next(lines, None)
    if first is None:
        raise VectorFileError(path, None, "empty file")
    header_line, header = first
    parsed = _parse_header(header)
    if parsed is None:
        raise VectorFileError(
            path, header_line, f"expected a '<count> <dimension>' header, got {header[:80]!r}"
        )
    count, dimension = parsed
    if dimension < 1:
        raise VectorFileError(path, header_line, f"header gives dimension {dimension}")
    found = 0
    for number, text in lines:
        found += 1
        if found > count:
            raise VectorFileError(path, number, f"more vectors than the {count:,} the header announces")
        yield _parse_vector(path, number, text, dimension)
    if found != count:
        raise VectorFileError(
            path, header_line, f"header announces {count:,} vectors, the file holds {found:,}"
        )


_READERS: dict[str, _Reader] = {GLOVE: _read_glove, WORD2VEC: _read_word2vec_text}


def _parse_header(text: str) -> tuple[int, int] | None:
    fields = text.split()
    if len(fields) == 2 and all(_INTEGER.fullmatch(field) for field in fields):
        return int(fields[0]), int(fields[1])
    return None


def _parse_vector(path: str, number: int, text: str, dimension: int) -> Vector:
    """Splits ``word v1 ... vd`` from the right, so a word may contain spaces."""
    fields = text.rsplit(" ", dimension)
    if len(fields) != dimension + 1:
        raise VectorFileError(
            path, number, f"expected {dimension} values after the word, found {len(fields) - 1}"
        )
    word = fields[0]
    if " " in word and _NUMBER.fullmatch(word.rsplit(" ", 1)[1]):
        # A word with a space is legitimate (GloVe 840B has a few, such as ". . ."),
        # but one ending in a number is far more likely a line with extra values.
        raise VectorFileError(
            path, number, f"more than {dimension} values after the word {word.split(' ', 1)[0]!r}"
        )
    if not word:
        raise VectorFileError(path, number, "empty word")
    try:
        vector = np.array(fields[1:], dtype=np.float32)
    except ValueError:
        bad = next(field for field in fields[1:] if not _is_float(field))
        raise VectorFileError(path, number, f"non-numeric value {bad[:40]!r} for word {word!r}") from None
    if not np.isfinite(vector).all():
        raise VectorFileError(path, number, f"non-finite value in the vector of {word!r}")
    return word, vector


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


@contextlib.contextmanager
def _numbered_lines(path: str) -> Iterator[Iterator[tuple[int, str]]]:
    """Opens ``path`` (gzip or plain) and yields its non-empty lines as ``(number, text)``."""
    with tf.io.gfile.GFile(path, "rb") as raw:
        magic = raw.read(len(_GZIP_MAGIC))
        raw.seek(0)
        if magic == _GZIP_MAGIC:
            with gzip.GzipFile(fileobj=raw, mode="rb") as unzipped:
                yield _decode_lines(path, unzipped)
        else:
            yield _decode_lines(path, raw)


def _decode_lines(path: str, stream: BinaryIO) -> Iterator[tuple[int, str]]:
    number = 0
    while True:
        try:
            raw_line = stream.readline()
        except (OSError, EOFError) as error:
            # A truncated gzip file ends here, not with a short line.
            raise VectorFileError(path, number + 1, f"cannot read: {error}") from None
        if not raw_line:
            return
        number += 1
        try:
            # rstrip: fastText .vec files end each line with a space, some files use CRLF.
            text = raw_line.decode("utf-8").rstrip()
        except UnicodeDecodeError as error:
            raise VectorFileError(path, number, f"not UTF-8 ({error.reason} at byte {error.start})") from None
        if text:
            yield number, text
