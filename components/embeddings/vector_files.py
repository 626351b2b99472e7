"""Streaming readers of GloVe text, word2vec text and word2vec binary files (plain or gzip).

Each reader yields one ``(word, vector)`` pair at a time (repeats included) and
checks every record; what is read and refused is in the README ("Word vectors",
"When the input is bad"). gensim's ``load_word2vec_format`` is not used: it
allocates every vector the header announces and reports a bad record without its place.
"""

import codecs
from collections.abc import Callable, Iterator
import contextlib
import gzip
import itertools
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

_GZIP_MAGIC = b"\x1f\x8b"
# fastText's own model files (.bin) start with this little-endian int32.
_FASTTEXT_MODEL_MAGIC = (793712314).to_bytes(4, "little")
_PICKLE_PROTO = 0x80
# ASCII digits only: Python's int() and float() also take other scripts' digits (Arabic-Indic, fullwidth).
_INTEGER = re.compile(r"[0-9]+")
# A plain decimal number, as GloVe's C code, word2vec, fastText and gensim write one; used to
# tell "one value too many" from a word with a space.
_NUMBER = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")

# Binary word2vec: bytes read at a time, and the longest word accepted (the C
# tool caps words at 100 bytes; a missing space within this many bytes means
# the file is not binary word2vec, or the header's dimension is wrong).
_CHUNK_BYTES = 1 << 20
_MAX_WORD_BYTES = 4096
_MAX_HEADER_BYTES = 256
# Bytes read to detect a format: the header line and the start of the first record.
_DETECT_BYTES = 1 << 16
_FLOAT32 = np.dtype("<f4")
# Text lines never hold control bytes other than tab, CR and LF; float32 values often do.
_CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_BINARY_HINT = (
    "; if this is word2vec binary, set embedding.vectors_format to word2vec_binary "
    "(or auto, which detects it)"
)
# Byte-order marks of encodings other than UTF-8, longest first (UTF-32 LE starts like UTF-16 LE),
# with the name iconv knows the encoding by.
_OTHER_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32LE"),
    (codecs.BOM_UTF32_BE, "UTF-32BE"),
    (codecs.BOM_UTF16_LE, "UTF-16LE"),
    (codecs.BOM_UTF16_BE, "UTF-16BE"),
)

Vector = tuple[str, np.ndarray]
_Reader = Callable[[str], Iterator[Vector]]


class VectorFileError(ValueError):
    """A word-vector file is empty, malformed or refused; the message names the file and line or byte."""

    def __init__(self, path: str, line: int | None, problem: str, offset: int | None = None):
        if line is not None:
            location = f"{path}, line {line}"
        elif offset is not None:
            location = f"{path}, byte {offset}"
        else:
            location = path
        super().__init__(f"{location}: {problem}")
        self.path = path
        self.line = line
        self.offset = offset
        self.problem = problem


def iter_vectors(path: str, format: str | None = None) -> Iterator[Vector]:
    """Streams the ``(word, float32 vector)`` pairs of a local or ``tf.io.gfile`` file, in file order.

    ``format`` is one of ``VECTOR_FORMATS``, detected from the content when ``None`` or ``AUTO_FORMAT``.
    Raises VectorFileError on the first bad record, or a pickle (whatever ``format`` says).
    """
    if format is None or format == AUTO_FORMAT:
        format = detect_format(path)
    elif format == KEYED_VECTORS:
        raise VectorFileError(path, None, _pickle_refusal(path))
    else:
        _refuse_pickle(path, _file_start(path))
    if format not in _READERS:
        raise ValueError(f"unknown word-vector format {format!r}; known: {', '.join(VECTOR_FORMATS)}")
    try:
        yield from _READERS[format](path)
    except VectorFileError as error:
        raise _gzip_damage_behind(path, error) from None


def _gzip_damage_behind(path: str, error: VectorFileError) -> VectorFileError:
    """The damage of a gzip file behind a record error, else the record error itself.

    zlib checks a member's CRC-32 only at its end, so damage that still inflates
    first shows as a bad record: trust one only once the whole file decompresses.
    """
    if isinstance(error.__context__, _READ_ERRORS):
        return error  # already a read error: the damage itself
    with _open_binary(path) as stream:
        if not isinstance(stream, gzip.GzipFile):
            return error
        try:
            while stream.read(_CHUNK_BYTES):
                pass
        except _READ_ERRORS as damage:
            problem = f"{_read_problem(damage)}; the damaged data read as: {error.problem}"
            return VectorFileError(path, error.line, problem, offset=error.offset)
    return error


def detect_format(path: str) -> str:
    """Names the format of a vector file from its first bytes; refuses empty, pickle and fastText model files.

    A first line of two integers is a word2vec header, and the record after it
    decides between text and binary; anything else is GloVe.
    """
    with _open_binary(path) as stream:
        sample = _without_bom(path, _read_sample(path, stream, _DETECT_BYTES))
        if not sample.strip():
            raise _empty_file(path)
        _refuse_pickle(path, sample)
        if sample.startswith(_FASTTEXT_MODEL_MAGIC):
            raise VectorFileError(
                path,
                None,
                "this is a fastText model file (fastText's own .bin), not word vectors: "
                "use the .vec file fastText writes beside it",
            )
        first, _, record = sample.lstrip(b"\r\n").partition(b"\n")
        header = _parse_header(first.decode("utf-8", errors="replace"))
        if header is None:
            return GLOVE
        _, dimension = header
        needed = _MAX_WORD_BYTES + _FLOAT32.itemsize * dimension + 1
        if len(record) < needed:
            record += _read_sample(path, stream, needed - len(record))
    return WORD2VEC if _is_text_record(record) else WORD2VEC_BINARY


def _pickle_refusal(path: str) -> str:
    """Why a gensim ``save`` file (vectors, or a whole model whose vectors are ``.wv``) is not read."""
    command = (
        f"from gensim.models import KeyedVectors; v = KeyedVectors.load({path!r}); "
        f"getattr(v, 'wv', v).save_word2vec_format({path + '.bin'!r}, binary=True)"
    )
    return (
        "a gensim save file (KeyedVectors or a model, a Python pickle) is not read, since unpickling can "
        f'run arbitrary code: convert it once with python -c "{command}" and give the .bin file'
    )


def _refuse_pickle(path: str, start: bytes) -> None:
    """Raises the refusal if the (uncompressed) start of a file is a pickle's protocol 2-5 marker."""
    if len(start) > 1 and start[0] == _PICKLE_PROTO and 2 <= start[1] <= 5:
        raise VectorFileError(path, None, _pickle_refusal(path))


def _file_start(path: str) -> bytes:
    """The first bytes of a file, uncompressed; none when they cannot be read (the reader says why)."""
    with _open_binary(path) as stream:
        try:
            return stream.read(2)
        except _READ_ERRORS:
            return b""


def read_dimension(path: str, format: str | None = None) -> int:
    """The vector length of a file, read from its first record (pre-flight checks of the dimension)."""
    with contextlib.closing(iter_vectors(path, format)) as vectors:
        for _word, vector in vectors:
            return len(vector)
    raise VectorFileError(path, None, "no vectors")


# --- Text formats -------------------------------------------------------------


def _without_bom(path: str, start: bytes) -> bytes:
    """The start of a file without a UTF-8 byte-order mark; another encoding's mark is an error."""
    if start.startswith(codecs.BOM_UTF8):
        return start[len(codecs.BOM_UTF8) :]
    for bom, encoding in _OTHER_BOMS:
        if start.startswith(bom):
            raise VectorFileError(
                path,
                None,
                f"the file starts with a {encoding} byte-order mark: word-vector files must be UTF-8 "
                f"(convert it, e.g. iconv -f {encoding} -t UTF-8)",
                offset=0,
            )
    return start


def _empty_file(path: str) -> VectorFileError:
    """The one error for a file without a single record, whichever reader (or detection) finds it."""
    return VectorFileError(path, None, "empty file")


def _first_line(path: str, lines: Iterator[tuple[int, str]]) -> tuple[int, str]:
    """The first non-empty ``(number, text)`` line of a text file; an empty file is an error."""
    first = next(lines, None)
    if first is None:
        raise _empty_file(path)
    return first


def _read_glove(path: str) -> Iterator[Vector]:
    with _open_binary(path) as stream:
        lines = _numbered_lines(path, stream)
        first = first_number, first_text = _first_line(path, lines)
        # The first word of a GloVe file (the most frequent token) has no space.
        dimension = first_text.count(" ") + first_text.count("\t")
        if dimension < 1:
            raise VectorFileError(
                path, first_number, f"expected a word followed by its values, got {first_text[:80]!r}"
            )
        source = f"line {first_number} has {dimension}"
        for number, text in itertools.chain([first], lines):
            yield _parse_vector(path, number, text, dimension, source)


def _read_word2vec_text(path: str) -> Iterator[Vector]:
    with _open_binary(path) as stream:
        lines = _numbered_lines(path, stream)
        header_line, header = _first_line(path, lines)
        count, dimension = _checked_header(path, header, header_line)
        found = 0
        for number, text in lines:
            found += 1
            if found > count:
                raise VectorFileError(path, number, f"more vectors than the {count:,} the header announces")
            yield _parse_vector(
                path, number, text, dimension, f"the header on line {header_line} says {dimension}"
            )
        if found != count:
            raise VectorFileError(
                path, header_line, f"header announces {count:,} vectors, the file holds {found:,}"
            )


def _checked_header(path: str, header: str, line: int | None, offset: int | None = None) -> tuple[int, int]:
    parsed = _parse_header(header)
    if parsed is None:
        raise VectorFileError(
            path, line, f"expected a '<count> <dimension>' header, got {header[:80]!r}", offset=offset
        )
    if parsed[1] < 1:
        raise VectorFileError(path, line, f"header gives dimension {parsed[1]}", offset=offset)
    if parsed[0] < 1:
        raise VectorFileError(path, line, "header announces 0 vectors: the file holds none", offset=offset)
    return parsed


def _parse_header(text: str) -> tuple[int, int] | None:
    fields = text.split()
    if len(fields) == 2 and all(_INTEGER.fullmatch(field) for field in fields):
        return int(fields[0]), int(fields[1])
    return None


def _parse_vector(path: str, number: int, text: str, dimension: int, source: str) -> Vector:
    """Splits ``word v1 ... vd`` from the right, so a word may contain spaces.

    ``source`` says where ``dimension`` comes from ("line 1 has 300"), for the message.
    """
    if "\t" in text:
        text = text.replace("\t", " ")
    fields = text.rsplit(" ", dimension)
    if len(fields) != dimension + 1:
        raise VectorFileError(
            path, number, f"expected {dimension} values after the word, found {len(fields) - 1} ({source})"
        )
    word = fields[0]
    if " " in word and _NUMBER.fullmatch(word.rsplit(" ", 1)[1]):
        # A word with a space is legitimate (GloVe 840B has a few, such as ". . ."),
        # but one ending in a number is far more likely a line with extra values.
        raise VectorFileError(
            path, number, f"more than {dimension} values after the word {word.split(' ', 1)[0]!r} ({source})"
        )
    if not word:
        raise VectorFileError(path, number, "empty word")
    try:
        if not _written_numbers(text[len(word) + 1 :]):
            raise ValueError
        # A value beyond the float32 range becomes infinity (NumPy warns), reported below.
        vector = np.array(fields[1:], dtype=np.float32)
    except ValueError:
        position, bad = next(
            (i, field) for i, field in enumerate(fields[1:], 1) if not _is_written_number(field)
        )
        raise VectorFileError(
            path,
            number,
            f"non-numeric value {bad[:40]!r} (value {position} of {dimension}) for word {word!r}",
        ) from None
    if not np.isfinite(vector).all():
        position = int(np.flatnonzero(~np.isfinite(vector))[0]) + 1
        bad = fields[position]
        where = f"(value {position} of {dimension})"
        if math.isfinite(float(bad)):
            problem = f"value {bad[:40]!r} {where} of {word!r} is beyond the float32 range"
        else:
            problem = f"non-finite value {bad[:40]!r} {where} in the vector of {word!r}"
        raise VectorFileError(path, number, problem)
    return word, vector


# What Python's float() (and NumPy's conversion, which uses it) takes in ASCII besides numbers
# as vector writers write them: "_" between digits ("1_000") and white space around a value.
_NOT_WRITTEN = ("_", "\x0b", "\x0c", "\r", "\x1c", "\x1d", "\x1e", "\x1f")


def _written_numbers(values: str) -> bool:
    """Whether values that ``float()`` reads are all numbers as vector writers write them.

    ``float()`` also takes other scripts' digits and white space, and ``_``
    between digits, which no writer produces. ASCII without ``_`` or white space
    other than the separating spaces leaves exactly the writers' numbers
    (:data:`_NUMBER`) and the spellings of NaN and infinity (refused after
    conversion, as non-finite). Checked on the whole line at C speed: a regex
    per value would double the cost of reading a large file.
    """
    return values.isascii() and not any(character in values for character in _NOT_WRITTEN)


def _is_written_number(text: str) -> bool:
    if not _written_numbers(text):
        return False
    try:
        float(text)
    except ValueError:
        return False
    return True


def _is_text_record(record: bytes) -> bool:
    """Whether the bytes after a header start a text record: a UTF-8 line without control bytes.

    4 x dimension bytes of float32 values practically never form such a line.
    """
    line = record.split(b"\n", 1)[0].rstrip(b"\r")
    if not line:
        return True
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return not _CONTROL_BYTES.search(line)


@contextlib.contextmanager
def _open_binary(path: str) -> Iterator[BinaryIO]:
    """Opens ``path`` for reading bytes, decompressing gzip (detected by content)."""
    with tf.io.gfile.GFile(path, "rb") as raw:
        magic = raw.read(len(_GZIP_MAGIC))
        raw.seek(0)
        if magic != _GZIP_MAGIC:
            yield raw
            return
        with gzip.GzipFile(fileobj=raw, mode="rb") as unzipped:
            yield unzipped


# What reading a file raises: a truncated gzip file (EOFError), damaged gzip data (zlib.error,
# gzip.BadGzipFile: a wrong CRC-32 or length, bytes after a member that are not gzip), I/O errors.
_READ_ERRORS = (OSError, EOFError, zlib.error)


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


def _read_sample(path: str, stream: BinaryIO, size: int) -> bytes:
    """Up to ``size`` bytes; a read error after some bytes ends the sample (the reader reports it)."""
    # read1 (gzip): one read at a time, so the bytes before a damaged part arrive.
    read = getattr(stream, "read1", stream.read)
    pieces: list[bytes] = []
    got = 0
    while got < size:
        try:
            piece = read(min(4096, size - got))
        except _READ_ERRORS as error:
            if pieces:
                break
            raise VectorFileError(path, None, _read_problem(error)) from None
        if not piece:
            break
        pieces.append(piece)
        got += len(piece)
    return b"".join(pieces)


def _looks_binary(line: bytes) -> bool:
    """Whether a non-UTF-8 line is binary (control bytes, or mostly bytes >= 0x80) rather than Latin-1-like text."""
    return bool(_CONTROL_BYTES.search(line)) or sum(byte >= 0x80 for byte in line) * 4 > len(line)


def _numbered_lines(path: str, stream: BinaryIO) -> Iterator[tuple[int, str]]:
    """The non-empty lines of a text file as ``(number, text)``, decoded and checked."""
    number = 0
    while True:
        try:
            raw_line = stream.readline()
        except _READ_ERRORS as error:
            # A truncated gzip file ends here, not with a short line.
            raise VectorFileError(path, number + 1, _read_problem(error)) from None
        if not raw_line:
            return
        number += 1
        if number == 1:
            raw_line = _without_bom(path, raw_line)
        if b"\x00" in raw_line:
            raise VectorFileError(
                path, number, f"a zero byte: binary data, not a text vector file{_BINARY_HINT}"
            )
        try:
            # rstrip: fastText .vec files end each line with a space, some files use CRLF.
            text = raw_line.decode("utf-8").rstrip()
        except UnicodeDecodeError as error:
            hint = _BINARY_HINT if _looks_binary(raw_line) else ""
            raise VectorFileError(
                path, number, f"not UTF-8 ({error.reason} at byte {error.start}){hint}"
            ) from None
        if text:
            yield number, text


# --- word2vec binary ----------------------------------------------------------


class _ByteScanner:
    """Reads a binary stream in large chunks and hands out records, tracking the byte offset."""

    def __init__(self, path: str, stream: BinaryIO):
        self._path = path
        self._stream = stream
        self._buffer = b""
        self._position = 0
        self._buffer_offset = 0  # file offset of self._buffer[0]
        self._eof = False

    @property
    def offset(self) -> int:
        """File offset (in the uncompressed stream) of the next unread byte."""
        return self._buffer_offset + self._position

    def _fill(self) -> bool:
        """Appends the next chunk to the unread bytes; False at the end of the file."""
        if self._eof:
            return False
        # read1 (gzip) returns what one read decompresses: the bytes before a
        # damaged part arrive, so the error names the record it hits.
        try:
            chunk = getattr(self._stream, "read1", self._stream.read)(_CHUNK_BYTES)
        except _READ_ERRORS as error:
            raise VectorFileError(self._path, None, _read_problem(error), offset=self.offset) from None
        if not chunk:
            self._eof = True
            return False
        self._buffer_offset += self._position
        self._buffer = self._buffer[self._position :] + chunk
        self._position = 0
        return True

    def skip(self, characters: bytes) -> None:
        """Skips any run of the given bytes."""
        while True:
            while self._position < len(self._buffer) and self._buffer[self._position] in characters:
                self._position += 1
            if self._position < len(self._buffer) or not self._fill():
                return

    def at_end(self) -> bool:
        return self._position >= len(self._buffer) and not self._fill()

    def read_until(self, separator: bytes, limit: int, missing: str) -> bytes | None:
        """The bytes before the next ``separator`` (consumed too); None at the end of the file.

        Raises VectorFileError if no separator comes within ``limit`` bytes or before the end.
        """
        while (found := self._buffer.find(separator, self._position, self._position + limit + 1)) < 0:
            if len(self._buffer) - self._position > limit:
                raise VectorFileError(
                    self._path, None, f"{missing} (none within {limit:,} bytes)", self.offset
                )
            if not self._fill():
                if self._position < len(self._buffer):
                    raise VectorFileError(self._path, None, f"the file ends: {missing}", offset=self.offset)
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
        header = scanner.read_until(b"\n", _MAX_HEADER_BYTES, "no '<count> <dimension>' header line")
        if header is None:
            raise _empty_file(path)
        header = _without_bom(path, header)
        count, dimension = _checked_header(path, header.decode("utf-8", errors="replace").strip(), None, 0)
        vector_bytes = _FLOAT32.itemsize * dimension
        word: str | None = None
        for index in range(count):
            # Google's C tool ends each vector with a newline.
            scanner.skip(b"\n")
            word_offset = scanner.offset
            word_bytes = scanner.read_until(
                b" ",
                _MAX_WORD_BYTES,
                "no space ending a word: not word2vec binary, or the header's dimension is wrong",
            )
            if word_bytes is None:
                raise VectorFileError(
                    path,
                    None,
                    f"the file ends after {index:,} of the {count:,} vectors the header announces",
                    offset=word_offset,
                )
            word = _binary_word(path, word_bytes, word_offset, dimension, previous=word)
            values_offset = scanner.offset
            values = scanner.read_exact(vector_bytes)
            if len(values) != vector_bytes:
                raise VectorFileError(
                    path,
                    None,
                    f"the file ends inside the vector of {word!r} ({len(values):,} of {vector_bytes:,} bytes)",
                    offset=values_offset,
                )
            vector = np.frombuffer(values, dtype=_FLOAT32).astype(np.float32)
            if not np.isfinite(vector).all():
                position = int(np.flatnonzero(~np.isfinite(vector))[0])
                raise VectorFileError(
                    path,
                    None,
                    f"non-finite value {vector[position]} (value {position + 1} of {dimension}) "
                    f"in the vector of {word!r}",
                    offset=values_offset + _FLOAT32.itemsize * position,
                )
            yield word, vector
        scanner.skip(b" \t\r\n")
        if not scanner.at_end():
            raise VectorFileError(
                path,
                None,
                f"more data after the {count:,} vectors the header announces",
                offset=scanner.offset,
            )


def _binary_word(path: str, word_bytes: bytes, offset: int, dimension: int, previous: str | None) -> str:
    # Misread values show up as strange words: a wrong dimension, or a word before with a space.
    hint = f"; if the file is word2vec binary, its header's dimension ({dimension}) is probably wrong"
    if previous is not None:
        hint += f", or the word before, {previous!r}, goes on after a space, which this format cannot hold"
    if not word_bytes:
        raise VectorFileError(path, None, "empty word", offset=offset)
    if b"\x00" in word_bytes:
        # Words never hold a zero byte; float32 values often do.
        raise VectorFileError(path, None, f"a word contains a zero byte{hint}", offset=offset)
    try:
        return word_bytes.decode("utf-8")
    except UnicodeDecodeError as error:
        raise VectorFileError(
            path,
            None,
            f"word is not UTF-8 ({error.reason} at byte {error.start} of the word){hint}",
            offset=offset,
        ) from None


_READERS: dict[str, _Reader] = {
    GLOVE: _read_glove,
    WORD2VEC: _read_word2vec_text,
    WORD2VEC_BINARY: _read_word2vec_binary,
}
