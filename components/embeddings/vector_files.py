"""Streaming readers of GloVe text, word2vec text and word2vec binary files (plain or gzip).

Each format has one record reader yielding ``(word, float32 vector)`` in file
order (repeats included); every record is checked, and every refusal is a
``VectorFileError`` naming the file and the line or byte (README: "Word vectors",
"When the input is bad"). gensim's ``load_word2vec_format`` is not used: it
allocates every vector the header announces and reports a bad record without its place.
"""

import codecs
from collections import Counter
from collections.abc import Iterator
import contextlib
import functools
import gzip
import io
import itertools
import logging
import math
import re
from typing import BinaryIO
import zlib

import numpy as np
import tensorflow as tf

from components.embeddings.options import (
    AUTO_FORMAT,
    GLOVE,
    KEYED_VECTORS,
    VECTOR_FORMATS,
    WORD2VEC,
    WORD2VEC_BINARY,
)
from components.plural import counted

logger = logging.getLogger(__name__)

Vector = tuple[str, np.ndarray]

_GZIP_MAGIC = b"\x1f\x8b"
# Pickle protocols 2 to 5 (gensim's save); fastText's own model files (.bin) start with this int32.
_PICKLE_STARTS = tuple(bytes([0x80, protocol]) for protocol in range(2, 6))
_FASTTEXT_MODEL_MAGIC = (793712314).to_bytes(4, "little")
# Containers no reader opens, by their magic bytes (a tar's at byte 257, after gunzip for .tar.gz): what
# the file is and how to get the vector file out of it.
_CONTAINERS = (
    (re.compile(rb"PK(?:\x03\x04|\x05\x06)"), "a zip archive", "unzip it"),
    (re.compile(rb".{257}ustar(?:\x0000| {2}\x00)", re.DOTALL), "a tar archive", "unpack it (tar -xf)"),
    (re.compile(rb"BZh[1-9](?:1AY&SY|\x17rE8P\x90)"), "bzip2 compressed data", "bunzip2 it"),
    (re.compile(rb"\xfd7zXZ\x00"), "xz compressed data", "unxz it"),
)
_CONTAINER_BYTES = 265  # up to the end of a tar's magic
# ASCII digits only: Python's int() and float() also take other scripts' digits (Arabic-Indic, fullwidth).
_INTEGER = re.compile(r"[0-9]+")
# Lines read at the start of a GloVe file to find the dimension most lines have; what separates fields.
_DIMENSION_LINES = 11
_BLANKS = re.compile(r"[ \t]+")
# A plain decimal number, as GloVe's C code, word2vec, fastText and gensim write one; used to
# tell "one value too many" from a word with a space.
_NUMBER = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
# What float() takes in ASCII besides numbers as writers write them: "_" between digits, white space.
_NOT_WRITTEN = ("_", "\x0b", "\x0c", "\r", "\x1c", "\x1d", "\x1e", "\x1f")
# Text lines never hold control bytes other than tab, CR and LF; float32 values often do.
_CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# Binary word2vec: bytes read at a time, and the longest word accepted (the C tool caps words at
# 100 bytes; no space within this many bytes means the file is not word2vec binary, or the
# header's dimension is wrong).
_CHUNK_BYTES = 1 << 20
_MAX_WORD_BYTES = 4096
_MAX_HEADER_BYTES = 256
_DETECT_BYTES = 1 << 16  # the header line and the start of the first record
# Bytes of line 1 that tell CR-only line ends (old Mac OS) without reading the whole file as that line:
# the longest known rows (GloVe 840B, fastText 300d) take about 4 KB.
_CR_ONLY_BYTES = 1 << 16
_FLOAT32 = np.dtype("<f4")
_BINARY_HINT = (
    "; if this is word2vec binary, set embedding.vectors_format to word2vec_binary "
    "(or auto, which detects it)"
)
# Byte-order marks of other encodings than UTF-8, longest first (UTF-32 LE starts like UTF-16 LE).
_OTHER_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32LE"),
    (codecs.BOM_UTF32_BE, "UTF-32BE"),
    (codecs.BOM_UTF16_LE, "UTF-16LE"),
    (codecs.BOM_UTF16_BE, "UTF-16BE"),
)
# What reading raises: a truncated gzip file (EOFError), damaged gzip data (zlib.error,
# gzip.BadGzipFile: a wrong CRC-32 or length, bytes after a member that are not gzip), I/O errors.
_READ_ERRORS = (OSError, EOFError, zlib.error)


class VectorFileError(ValueError):
    """A word-vector file is empty, malformed or refused; the message names the file and line or byte."""

    def __init__(self, path: str, problem: str, line: int | None = None, offset: int | None = None):
        location = f", line {line}" if line is not None else ""
        if offset is not None and line is None:
            location = f", at byte offset {offset} (counting from 0)"
        super().__init__(f"{path}{location}: {problem}")
        self.path, self.problem, self.line, self.offset = path, problem, line, offset


def iter_vectors(path: str, format: str | None = None) -> Iterator[Vector]:
    """Streams the ``(word, float32 vector)`` pairs of a local or ``tf.io.gfile`` file, in file order.

    ``format`` is one of ``VECTOR_FORMATS``, detected from the content when ``None`` or ``AUTO_FORMAT``.
    Raises VectorFileError on the first bad record, or a pickle (whatever ``format`` says).
    """
    if format is None or format == AUTO_FORMAT:
        format = detect_format(path)
    elif format == KEYED_VECTORS:
        raise _pickle_refusal(path)
    else:
        _refuse_container(path, *_file_start(path))
    if format not in _READERS:
        raise ValueError(f"unknown word-vector format {format!r}; known: {', '.join(VECTOR_FORMATS)}")
    try:
        yield from _READERS[format](path)
    except VectorFileError as error:
        raise _gzip_damage_behind(path, error) from None


def read_dimension(path: str, format: str | None = None) -> int:
    """The vector length of a file, read from its first record (pre-flight checks of the dimension)."""
    with contextlib.closing(iter_vectors(path, format)) as vectors:
        return len(next(vectors)[1])  # every reader yields a vector or raises VectorFileError


def detect_format(path: str) -> str:
    """Names the format of a vector file from its first bytes; refuses empty, pickle and fastText model files.

    A first line of two integers is a word2vec header, and the record after it
    decides between text and binary; anything else is GloVe.
    """
    with _open_binary(path) as stream:
        sample = _without_bom(path, _read_sample(path, stream, _DETECT_BYTES))
        if not sample.strip():
            raise VectorFileError(path, "empty file")
        _refuse_container(path, sample, isinstance(stream, gzip.GzipFile))
        if sample.startswith(_FASTTEXT_MODEL_MAGIC):
            raise VectorFileError(
                path,
                "this is a fastText model file (fastText's own .bin), not word vectors: "
                "use the .vec file fastText writes beside it",
            )
        first, _, record = sample.lstrip(b"\r\n").partition(b"\n")
        header = _parse_header(first.decode("utf-8", errors="replace"))
        if header is None:
            return GLOVE
        needed = _MAX_WORD_BYTES + _FLOAT32.itemsize * header[1] + 1
        if len(record) < needed:
            record += _read_sample(path, stream, needed - len(record))
    # A text record's values are UTF-8 without control bytes, and numbers or as many fields as the header
    # says; 4 x dimension bytes of float32 values practically never are (even cut short by a byte 10, a
    # newline). The word before them is not looked at: a word that is not UTF-8 is the text reader's to
    # name, on its line.
    after_word = record.partition(b" ")[2]
    values = after_word.split(b"\n", 1)[0].rstrip(b"\r")
    try:
        fields = values.decode("utf-8").split()
    except UnicodeDecodeError:
        return WORD2VEC_BINARY
    if _CONTROL_BYTES.search(values):
        return WORD2VEC_BINARY
    # Values cut by a byte 10 can still look like numbers (float32 bytes 34 0a bf bb ... read "4"): a record
    # whose field count is not the header's, whose 4 x dimension bytes are not all ASCII and whose newline
    # comes right after them is binary (a short text row keeps the text reader's "expected N values").
    size = _FLOAT32.itemsize * header[1]
    if len(fields) != header[1] and not after_word[:size].isascii() and after_word[size:].startswith(b"\n"):
        return WORD2VEC_BINARY
    numbers = fields and all(_NUMBER.fullmatch(field) for field in fields)
    return WORD2VEC if numbers or len(fields) == header[1] else WORD2VEC_BINARY


def _refuse_container(path: str, start: bytes, gzipped: bool) -> None:
    """Refuses a file starting with ``start`` (uncompressed, ``gzipped`` or not) that is a pickle or a
    container of files or compression no reader opens (zip, tar, bzip2, xz), whatever the format."""
    if start.startswith(_PICKLE_STARTS):
        raise _pickle_refusal(path)
    for magic, container, unpack in _CONTAINERS:
        if magic.match(start):
            # unzip, bunzip2 and unxz refuse the gzip around their file: it comes off first.
            refusal = f"{container}, which is not read as word vectors; {unpack} and give its file, or "
            refusal += "compress that with gzip (.gz)"
            if gzipped:
                refusal = f"{container} inside gzip, which is not read as word vectors; gunzip it, then "
                refusal += f"{unpack}, and give its file"
            raise VectorFileError(path, refusal)


def _pickle_refusal(path: str) -> VectorFileError:
    """Why a gensim ``save`` file (vectors, or a whole model whose vectors are ``.wv``) is not read."""
    command = (
        f"from gensim.models import KeyedVectors; v = KeyedVectors.load({path!r}); "
        f"getattr(v, 'wv', v).save_word2vec_format({path + '.bin'!r}, binary=True)"
    )
    return VectorFileError(
        path,
        "a gensim save file (KeyedVectors or a model, a Python pickle) is not read, since unpickling can "
        f'run arbitrary code: convert it once with python -c "{command}" and give the .bin file',
    )


# --- Reading bytes: gzip, byte-order marks, read errors -------------------------------------------


@contextlib.contextmanager
def _open_binary(path: str) -> Iterator[BinaryIO]:
    """Opens ``path`` for reading bytes, decompressing gzip (detected by content)."""
    with tf.io.gfile.GFile(path, "rb") as raw:
        magic = raw.read(len(_GZIP_MAGIC))
        raw.seek(0)
        if magic == _GZIP_MAGIC:
            stream = gzip.GzipFile(fileobj=raw, mode="rb")
        else:  # Python's readline, not GFile's: that one drops every CR, so positions would shift.
            stream = io.BufferedReader(_RawGFile(raw), _CHUNK_BYTES)
        with stream:
            yield stream


class _RawGFile(io.RawIOBase):
    """A GFile's bytes as the raw stream under an ``io.BufferedReader``."""

    def __init__(self, gfile: tf.io.gfile.GFile):
        self._gfile = gfile

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._gfile.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _file_start(path: str) -> tuple[bytes, bool]:
    """The first bytes of a file, uncompressed (none when they cannot be read: the reader says why), and
    whether it is gzip."""
    with _open_binary(path) as stream:
        gzipped = isinstance(stream, gzip.GzipFile)
        with contextlib.suppress(VectorFileError):
            return _read_sample(path, stream, _CONTAINER_BYTES), gzipped
    return b"", gzipped


def _read_sample(path: str, stream: BinaryIO, size: int) -> bytes:
    """Up to ``size`` bytes; a read error after some bytes ends the sample (the reader reports it)."""
    # read1 (gzip): one read at a time, so the bytes before a damaged part arrive.
    read = getattr(stream, "read1", stream.read)
    sample = b""
    try:
        while len(sample) < size and (piece := read(min(4096, size - len(sample)))):
            sample += piece
    except _READ_ERRORS as error:
        if not sample:
            raise VectorFileError(path, _read_problem(error)) from None
    return sample


def _read_problem(error: BaseException) -> str:
    """The message for a read that failed: mostly a truncated or damaged gzip file."""
    if isinstance(error, EOFError):
        return "the compressed data ends early: the file is truncated"
    if isinstance(error, (zlib.error, gzip.BadGzipFile)):
        # zlib: "Error -3 while decompressing data: invalid distance too far back"
        reason = str(error).rsplit(": ", 1)[-1]
        if reason.startswith("Not a gzipped file"):  # the first member's magic is checked on opening
            reason = "not gzip data where a gzip member should start"
        return f"damaged gzip data ({reason})"
    return f"cannot read: {error}"


def _gzip_damage_behind(path: str, error: VectorFileError) -> VectorFileError:
    """The damage of a gzip file behind a record error, else the record error itself.

    zlib checks a member's CRC-32 only at its end, so damage that still inflates
    first shows as a bad record: trust one only once the whole file decompresses.
    """
    if isinstance(error.__context__, _READ_ERRORS):
        return error  # already a read error: the damage itself
    with _open_binary(path) as stream:
        if isinstance(stream, gzip.GzipFile):
            try:
                while stream.read(_CHUNK_BYTES):
                    pass
            except _READ_ERRORS as damage:
                problem = f"{_read_problem(damage)}; the damaged data read as: {error.problem}"
                return VectorFileError(path, problem, error.line, error.offset)
    return error


def _without_bom(path: str, start: bytes) -> bytes:
    """The start of a file without a UTF-8 byte-order mark; another encoding's mark is an error."""
    for bom, encoding in _OTHER_BOMS:
        if start.startswith(bom):
            raise VectorFileError(
                path,
                f"the file starts with a {encoding} byte-order mark: word-vector files must be UTF-8 "
                f"(convert it, e.g. iconv -f {encoding} -t UTF-8)",
                offset=0,
            )
    return start.removeprefix(codecs.BOM_UTF8)


# --- Records: the checks every format shares ------------------------------------------------------


def _checked_header(path: str, header: str, line: int | None, offset: int | None = None) -> tuple[int, int]:
    """``(count, dimension)`` of a word2vec header line; refuses anything else, 0 vectors or dimension 0."""
    parsed = _parse_header(header)
    if parsed is None:
        problem = f"expected a '<count> <dimension>' header, got {header[:80]!r}"
    elif parsed[1] < 1:
        problem = f"header gives dimension {parsed[1]}"
    elif parsed[0] < 1:
        problem = "header announces 0 vectors: the file holds none"
    else:
        return parsed
    raise VectorFileError(path, problem, line, offset)


def _parse_header(text: str) -> tuple[int, int] | None:
    fields = text.split()
    if len(fields) == 2 and all(_INTEGER.fullmatch(field) for field in fields):
        return int(fields[0]), int(fields[1])
    return None


def _non_finite(word: str, vector: np.ndarray, written: list[str] | None = None) -> tuple[int, str] | None:
    """The index of a vector's first NaN or infinite value and the problem; None when all are finite.

    ``written``: the values as the text file spells them (a finite spelling beyond float32 overflowed).
    """
    if np.isfinite(vector).all():
        return None
    index = int(np.flatnonzero(~np.isfinite(vector))[0])
    where = f"(value {index + 1} of {len(vector)})"
    if written is None:
        return index, f"non-finite value {vector[index]} {where} in the vector of {word!r}"
    bad = written[index]
    if math.isfinite(float(bad)):
        return index, f"value {bad[:40]!r} {where} of {word!r} is beyond the float32 range"
    return index, f"non-finite value {bad[:40]!r} {where} in the vector of {word!r}"


# --- Text formats ---------------------------------------------------------------------------------


def _read_text(path: str, header: bool) -> Iterator[Vector]:
    """GloVe (``header`` False: most first lines set the dimension) or word2vec text (``<count> <dim>`` first)."""
    with _open_binary(path) as stream:
        lines = _numbered_lines(path, stream)
        if header:
            first_number, first = next(lines, (None, ""))
            if first_number is None:
                raise VectorFileError(path, "empty file")
            count, dimension = _checked_header(path, first, first_number)
            source = f"the header on line {first_number} says {dimension}"
        else:
            count, (lines, dimension, source) = None, _glove_dimension(path, lines)
        found, spaced = 0, []  # spaced: lines whose word starts or ends with a space
        for found, (number, text) in enumerate(lines, 1):
            if count is not None and found > count:
                raise VectorFileError(path, f"more vectors than the {count:,} the header announces", number)
            word, vector = _parse_vector(path, number, text, dimension, source)
            if word != word.strip(" "):
                spaced.append(number)
            yield word, vector
        if spaced:
            # A word may hold a space (GloVe 840B's ". . ."), but no token starts or ends with one.
            lines_shown = ", ".join(map(str, spaced[:5])) + (", ..." if len(spaced) > 5 else "")
            logger.warning(
                f"{path}: {counted(len(spaced), 'word')} start or end with a space, which no token can match "
                f"(two spaces between a word and its values?): line {lines_shown}"
            )
        if count is not None and found != count:
            raise VectorFileError(
                path, f"header announces {counted(count, 'vector')}, the file holds {found:,}", first_number
            )


def _glove_dimension(
    path: str, lines: Iterator[tuple[int, str]]
) -> tuple[Iterator[tuple[int, str]], int, str]:
    """The dimension of a GloVe file, which has no header: the count of values most of its first lines
    have after a word without a space (ties: the earliest line's), so that a bad line is reported on its
    own line, the first one too. A run of blanks counts once (``the  0.1``: a word ending with a space).

    Returns the lines (none consumed), the dimension and where it comes from ("line 1 has 300").
    """
    head, stopped = [], None
    try:
        head.extend(itertools.islice(lines, _DIMENSION_LINES))
    except VectorFileError as error:  # raised once the lines before it are read
        stopped = error
    if not head:
        raise stopped or VectorFileError(path, "empty file")
    values = [len(_BLANKS.findall(text)) for _, text in head]
    dimension = Counter(values).most_common(1)[0][0]  # among equals, the first counted
    number, text = head[values.index(dimension)]
    if dimension < 1:
        raise VectorFileError(path, f"expected a word followed by its values, got {text[:80]!r}", number)
    rest = _raise(stopped) if stopped else lines
    return itertools.chain(head, rest), dimension, f"line {number} has {dimension}"


def _raise(error: Exception) -> Iterator:
    raise error
    yield


def _numbered_lines(path: str, stream: BinaryIO) -> Iterator[tuple[int, str]]:
    """The non-empty lines of a text file as ``(number, text)``, decoded and checked."""
    for number in itertools.count(1):
        try:
            raw_line, cr_only = _first_line(stream) if number == 1 else (stream.readline(), None)
        except _READ_ERRORS as error:  # a truncated gzip file ends here, not with a short line
            raise VectorFileError(path, _read_problem(error), number) from None
        if not raw_line:
            return
        bom = 0  # positions count a byte-order mark's bytes, as `sed -n 1p | head -c` does
        if number == 1:
            text_bytes = _without_bom(path, raw_line)
            bom, raw_line = len(raw_line) - len(text_bytes), text_bytes
        if b"\x00" in raw_line:
            raise VectorFileError(
                path, f"a zero byte: binary data, not a text vector file{_BINARY_HINT}", number
            )
        try:
            # rstrip: fastText .vec files end each line with a space, some files use CRLF.
            text = raw_line.decode("utf-8").rstrip()
        except UnicodeDecodeError as error:
            # Binary (control bytes, or mostly bytes >= 0x80) rather than Latin-1-like text: hint.
            high = sum(byte >= 0x80 for byte in raw_line)
            hint = _BINARY_HINT if _CONTROL_BYTES.search(raw_line) or high * 4 > len(raw_line) else ""
            where = _line_byte(error.start + bom)
            raise VectorFileError(path, f"not UTF-8 ({error.reason} at {where}){hint}", number) from None
        if (
            cr_only is not None or "\r" in text
        ):  # a CR before the line's end: refuse it before the line is split
            whole_file = cr_only if cr_only is not None else number == 1 and not _read_more(stream)
            raise VectorFileError(
                path, _cr_problem(whole_file, _line_byte(raw_line.index(b"\r") + bom)), number
            )
        if text:
            yield number, text


def _first_line(stream: BinaryIO) -> tuple[bytes, bool | None]:
    """Line 1 with its LF, and ``None``; or, when its first :data:`_CR_ONLY_BYTES` hold a CR before the last of
    them and no LF (readline would read a file of CR-only line ends whole, as one line), the bytes up to their
    last CR (whole UTF-8 characters) and whether the line ends are CR only: no LF before the file's last byte,
    searched a part at a time and dropped (an LF before it makes the CR a stray one)."""
    line = stream.readline(_CR_ONLY_BYTES)
    if len(line) < _CR_ONLY_BYTES or line.endswith(b"\n"):
        return line, None
    if b"\r" in line[:-1]:
        cut = line[: line.rindex(b"\r") + 1]
        while part := stream.read(_CR_ONLY_BYTES):
            if b"\n" in part:  # an LF that is the file's last byte ends the whole file as line 1
                return cut, part.index(b"\n") == len(part) - 1 and not _read_more(stream)
        return cut, True
    return line + stream.readline(), None


def _line_byte(index: int) -> str:
    """Byte ``index`` (0-based) of a line, as a user finds it: ``sed -n <line>p | head -c <byte>`` ends with it."""
    return f"byte {index + 1} of the line, counting from 1"


def _read_more(stream: BinaryIO) -> bool:
    """Whether bytes follow (a read that fails: damaged ones do)."""
    with contextlib.suppress(*_READ_ERRORS):
        return bool(stream.read(1))
    return True


def _cr_problem(whole_file: bool, where: str) -> str:
    """Why a line holds a CR before its end (``where``, the first). CR-only line ends when the line is the
    whole file (no LF before its last byte: readline saw every line as one); any other CR is a stray one."""
    if whole_file:
        return (
            f"line ends are CR only (as old Mac OS wrote them; the first is {where}): lines must end with "
            "LF or CRLF; convert them, e.g. tr '\\r' '\\n' < FILE > NEW"
        )
    return (
        f"a CR inside the line ({where}): fields are separated by spaces or tabs, lines end with LF or CRLF"
    )


def _parse_vector(path: str, number: int, text: str, dimension: int, source: str) -> Vector:
    """Splits ``word v1 ... vd`` from the right, so a word may contain spaces: the last ``dimension`` runs of
    blanks separate the values, as :func:`_glove_dimension` counts them; the word keeps all but one blank of
    the run before its values (``the  0.1``: ``'the '``).

    ``source`` says where ``dimension`` comes from ("line 1 has 300"), for the message.
    """
    text = text.replace("\t", " ")
    fields = text.rsplit(" ", dimension)
    if "" in fields[1:]:  # a run of blanks among the values (rare: the split above is 5 times faster)
        ends = [run.end() for run in _BLANKS.finditer(text)][-dimension:]
        fields = [text[: ends[0] - 1], *_BLANKS.split(text[ends[0] :])]
    if len(fields) != dimension + 1:
        problem = f"expected {counted(dimension, 'value')} after the word, found {len(fields) - 1} ({source})"
        raise VectorFileError(path, problem, number)
    word, values = fields[0], fields[1:]
    _, space, last = word.rstrip(" ").rpartition(" ")
    if space and _NUMBER.fullmatch(last):
        # A word with a space is legitimate (GloVe 840B has a few, such as ". . ."),
        # but one ending in a number is far more likely a line with extra values.
        problem = (
            f"more than {counted(dimension, 'value')} after the word {word.split(' ', 1)[0]!r} ({source})"
        )
        raise VectorFileError(path, problem, number)
    if not word:
        raise VectorFileError(path, "empty word", number)
    try:
        if not _written_numbers(text[len(word) + 1 :]):
            raise ValueError
        # A value beyond the float32 range becomes infinity (NumPy warns), reported below.
        vector = np.array(values, dtype=np.float32)
    except ValueError:
        index, bad = next((i, value) for i, value in enumerate(values) if not _is_written_number(value))
        problem = f"non-numeric value {bad[:40]!r} (value {index + 1} of {dimension}) for word {word!r}"
        raise VectorFileError(path, problem, number) from None
    if non_finite := _non_finite(word, vector, values):
        raise VectorFileError(path, non_finite[1], number)
    return word, vector


def _written_numbers(values: str) -> bool:
    """Whether values ``float()`` reads are all numbers as writers write them (:data:`_NUMBER`, NaN, infinity).

    Checked on the whole line at C speed: a regex per value would double the cost of reading a file.
    """
    return values.isascii() and not any(character in values for character in _NOT_WRITTEN)


def _is_written_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return _written_numbers(text)


# --- word2vec binary ------------------------------------------------------------------------------


class _ByteScanner:
    """Reads a binary stream in large chunks and hands out records, tracking the byte offset."""

    def __init__(self, path: str, stream: BinaryIO):
        # read1 (gzip) returns what one read decompresses: the bytes before a
        # damaged part arrive, so the error names the record it hits.
        self._path, self._read = path, getattr(stream, "read1", stream.read)
        self._buffer, self._position, self._buffer_offset, self._eof = b"", 0, 0, False

    @property
    def offset(self) -> int:
        """File offset (in the uncompressed stream) of the next unread byte."""
        return self._buffer_offset + self._position

    def _fill(self) -> bool:
        """Appends the next chunk to the unread bytes; False at the end of the file."""
        if self._eof:
            return False
        try:
            chunk = self._read(_CHUNK_BYTES)
        except _READ_ERRORS as error:
            raise VectorFileError(self._path, _read_problem(error), offset=self.offset) from None
        self._eof = not chunk
        if chunk:
            self._buffer_offset += self._position
            self._buffer, self._position = self._buffer[self._position :] + chunk, 0
        return not self._eof

    def skip(self, characters: bytes) -> bool:
        """Skips any run of the given bytes; whether any other byte follows."""
        while True:
            while self._position < len(self._buffer) and self._buffer[self._position] in characters:
                self._position += 1
            if self._position < len(self._buffer):
                return True
            if not self._fill():
                return False

    def read_until(self, separator: bytes, limit: int, missing: str) -> bytes | None:
        """The bytes before the next ``separator`` (consumed too); None at the end of the file.

        Raises VectorFileError if no separator comes within ``limit`` bytes or before the end.
        """
        while (found := self._buffer.find(separator, self._position, self._position + limit + 1)) < 0:
            if len(self._buffer) - self._position > limit:
                raise VectorFileError(
                    self._path, f"{missing} (none within {limit:,} bytes)", offset=self.offset
                )
            if not self._fill():
                if self._position < len(self._buffer):
                    raise VectorFileError(self._path, f"the file ends: {missing}", offset=self.offset)
                return None
        data = self._buffer[self._position : found]
        self._position = found + len(separator)
        return data

    def read_exact(self, size: int) -> bytes:
        """Exactly ``size`` bytes, or fewer if the file ends first."""
        while len(self._buffer) - self._position < size and self._fill():
            pass
        data = self._buffer[self._position : self._position + size]
        self._position += len(data)
        return data


def _read_word2vec_binary(path: str) -> Iterator[Vector]:
    with _open_binary(path) as stream:
        scanner = _ByteScanner(path, stream)
        missing = "no '<count> <dimension>' header line"
        header_offset, header = scanner.offset, scanner.read_until(b"\n", _MAX_HEADER_BYTES, missing)
        header = header if header is None else _without_bom(path, header)
        while header is not None and not header.strip():  # blank lines before it, as detect_format skips
            header_offset, header = scanner.offset, scanner.read_until(b"\n", _MAX_HEADER_BYTES, missing)
        if header is None:
            raise VectorFileError(path, "empty file")
        header = header.decode("utf-8", errors="replace").strip()
        count, dimension = _checked_header(path, header, None, header_offset)
        vector_bytes = _FLOAT32.itemsize * dimension
        word: str | None = None
        for index in range(count):
            scanner.skip(b"\n")  # Google's C tool ends each vector with a newline
            word_offset = scanner.offset
            missing = "no space ending a word: not word2vec binary, or the header's dimension is wrong"
            word_bytes = scanner.read_until(b" ", _MAX_WORD_BYTES, missing)
            if word_bytes is None:
                problem = f"the file ends after {index:,} of the {count:,} vectors the header announces"
                raise VectorFileError(path, problem, offset=word_offset)
            word = _binary_word(path, word_bytes, word_offset, dimension, previous=word)
            values_offset = scanner.offset
            values = scanner.read_exact(vector_bytes)
            if len(values) != vector_bytes:
                problem = (
                    f"the file ends inside the vector of {word!r} ({len(values):,} of {vector_bytes:,} bytes)"
                )
                raise VectorFileError(path, problem, offset=values_offset)
            vector = np.frombuffer(values, dtype=_FLOAT32).astype(np.float32)
            if non_finite := _non_finite(word, vector):
                raise VectorFileError(
                    path, non_finite[1], offset=values_offset + _FLOAT32.itemsize * non_finite[0]
                )
            yield word, vector
        if scanner.skip(b" \t\r\n"):
            problem = f"more data after the {counted(count, 'vector')} the header announces"
            raise VectorFileError(path, problem, offset=scanner.offset)


def _binary_word(path: str, word_bytes: bytes, offset: int, dimension: int, previous: str | None) -> str:
    # Misread values show up as strange words: a wrong dimension, or a word before with a space.
    hint = f"; if the file is word2vec binary, its header's dimension ({dimension}) is probably wrong"
    if previous is not None:
        hint += f", or the word before, {previous!r}, goes on after a space, which this format cannot hold"
    if not word_bytes:
        raise VectorFileError(path, "empty word", offset=offset)
    if b"\x00" in word_bytes:  # words never hold a zero byte; float32 values often do
        raise VectorFileError(path, f"a word contains a zero byte{hint}", offset=offset)
    try:
        return word_bytes.decode("utf-8")
    except UnicodeDecodeError as error:
        problem = (
            f"word is not UTF-8 ({error.reason} at byte {error.start + 1} of the word, counting from 1){hint}"
        )
        raise VectorFileError(path, problem, offset=offset) from None


_READERS = {
    GLOVE: functools.partial(_read_text, header=False),
    WORD2VEC: functools.partial(_read_text, header=True),
    WORD2VEC_BINARY: _read_word2vec_binary,
}
