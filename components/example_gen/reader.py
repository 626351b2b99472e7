"""Reads the Large Movie Review Dataset (aclImdb) into review records with Beam.

The dataset comes either as its published archive (``aclImdb_v1.tar.gz``) or
unpacked: ``<root>/{train,test}/{pos,neg,unsup}/<id>_<rating>.txt`` plus
``<root>/{train,test}/urls_<folder>.txt``, whose line ``i`` is the IMDb page of
review ``i`` of that folder. Archives are streamed member by member, never
unpacked to disk, so the same code reads a local file or a ``gs://`` object.

Every check on a review record is a small pure function that raises
:class:`BadRecordError` naming the offending file and the reason: the reader
catches it and sets the record aside (see ``quarantine.py``), so one bad file
does not fail the run. Every value bound for an example is checked against the
raw schema (:func:`check_feature_values`) for the same reason. A review whose
urls line is missing or holds no title id keeps no movie id and is counted
(``Review.no_movie_id``). :class:`ImdbDataError` stops the run: an archive that
cannot be read to its end, or no reviews at all.

Nothing is ever written while reading: archive members are only read into
memory (a member named ``../x`` or ``/etc/x`` is set aside, not extracted), and
symbolic links are never followed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
import dataclasses
import fnmatch
import functools
import gzip
import hashlib
import logging
import os
import re
import stat
import tarfile
import zlib

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.io.filesystem import CompressionTypes, FileMetadata
from apache_beam.io.filesystems import FileSystems
import tensorflow as tf
from tensorflow_metadata.proto.v0 import schema_pb2

from components import file_patterns
from components.artifacts import quarantine
from components.artifacts.quarantine import Origin, QuarantinedRecord
from components.example_gen import quarantining
from components.example_gen.errors import BadRecordError, ImdbArchiveError, ImdbDataError
from components.example_gen.options import (
    ARCHIVE_SUFFIXES,
    ExampleGenOptions,
    is_remote,
    validate_eval_percent,
)
from components.loop_progress import Progress
from schemas import features
from schemas.schema import load_raw_schema

logger = logging.getLogger(__name__)

# Beam's MatchFiles matches our escaped dataset paths ([[]) on its workers, which import this module.
file_patterns.ignore_beams_nested_set_warning()

# Folder names of the published dataset layout (not our split names: the
# train/ folder is split further into train and eval).
TRAIN_DIR = "train"
TEST_DIR = "test"
POS = "pos"
NEG = "neg"
UNSUP = "unsup"

GZIP_SUFFIXES = (".tar.gz", ".tgz")

# A file in a review folder; the name itself is checked by parse_review_name.
# Names end at \Z, never $ (which also matches before a final newline); a
# name whose .txt is followed by white space only (5_8.txt\n) is a badly
# named review file, not another file.
_REVIEW_PATH = re.compile(r"(?:^|/)((train|test)/(pos|neg|unsup)/([^/]+\.txt\s*))\Z")
# ASCII digits only: int() would also take other scripts' digits ("٣_٨.txt").
_REVIEW_NAME = re.compile(r"([0-9]+)_([0-9]+)\.txt")
_URLS_PATH = re.compile(r"(?:^|/)((train|test)/urls_(pos|neg|unsup)\.txt)\Z")
# A .txt file where a review would be, but in a folder the dataset does not
# have (train/neutral/, dev/pos/): a review that would otherwise be ignored.
_UNKNOWN_FOLDER_PATH = re.compile(
    r"(?:^|/)((?:(?:train|test)/[^/]+|[^/]+/(?:pos|neg|unsup))/[^/]+\.txt\s*)\Z"
)
# In an archive, any .txt two folders below its top folder: where an unpacked
# dataset's */*/*.txt would find it (Train/Pos/1_8.txt too).
_ARCHIVE_REVIEW_DEPTH = re.compile(r"[^/]+/([^/]+/[^/]+)/[^/]+\.txt\s*")
_MOVIE_ID = re.compile(r"tt[0-9]+")
# Any entry directly in a review folder (a loose path's tail, or an archive
# member below its top folder): whatever its name or kind, it is a review file
# or it is set aside, never skipped (88887_8.TXT, 12_8.txt followed by a newline, a folder).
_IN_REVIEW_FOLDER = re.compile(r"(?:^|/)(?:train|test)/(?:pos|neg|unsup)/([^/]+)/?\Z")
_ARCHIVE_IN_REVIEW_FOLDER = re.compile(r"[^/]+/(?:train|test)/(?:pos|neg|unsup)/([^/]+)/?")

# Why a review has no movie id (Review.no_movie_id): its folder has no urls
# file or the file has no line for its id; or its line holds no title id.
NO_URLS_LINE = "no_urls_line"
NO_TITLE_ID = "urls_line_without_title_id"

# Allowed ratings per folder, as documented in the dataset's README.
RATING_RANGES = {POS: (7, 10), NEG: (1, 4), UNSUP: (0, 0)}
# Label values per folder; unsup reviews have no label.
LABELS = {POS: features.POSITIVE_LABEL, NEG: features.NEGATIVE_LABEL}

# Output splits in the order beam.Partition numbers them.
OUTPUT_SPLITS = (features.TRAIN, features.EVAL, features.TEST, features.UNSUP)


@dataclasses.dataclass(frozen=True)
class Review:
    """One review file and what its path and the urls files say about it.

    Attributes:
        source: Path relative to the dataset root, e.g. ``train/pos/0_9.txt``.
        split_dir: ``train`` or ``test``: the dataset folder, not our output split.
        folder: ``pos``, ``neg`` or ``unsup``.
        review_id: The ``<id>`` of ``<id>_<rating>.txt``; line of the urls file.
        rating: The ``<rating>`` of ``<id>_<rating>.txt`` (0 for unsup).
        text: The review as published (HTML line breaks kept).
        movie_id: IMDb title id (``tt0453418``), None when no urls line gives one.
        origin: The file or archive member it was read from, to name it when
            it is set aside. Not part of equality: the same review read from a
            folder or from its archive is the same record.
        no_movie_id: Why ``movie_id`` is None (:data:`NO_URLS_LINE` or
            :data:`NO_TITLE_ID`), for the summary; not part of equality.
    """

    source: str
    split_dir: str
    folder: str
    review_id: int
    rating: int
    text: str
    movie_id: str | None = None
    origin: Origin | None = dataclasses.field(default=None, compare=False)
    no_movie_id: str | None = dataclasses.field(default=None, compare=False)


@dataclasses.dataclass(frozen=True)
class ReviewPath:
    """What a review's path says: the dataset it belongs to and its name fields."""

    dataset: str
    source: str
    split_dir: str
    folder: str
    review_id: int
    rating: int


# Join key of a review and its urls line: (dataset, split_dir, folder, review_id).
JoinKey = tuple[str, str, str, int]


def is_archive(path: str) -> bool:
    """Whether ``path`` names a tar archive that may hold the dataset."""
    return path.lower().endswith(ARCHIVE_SUFFIXES)


def check_rating(folder: str, rating: int, where: str) -> None:
    """Raises unless ``rating`` is allowed in ``folder``: a mismatch means a mislabeled review."""
    low, high = RATING_RANGES[folder]
    if not low <= rating <= high:
        allowed = f"{low}" if low == high else f"{low}-{high}"
        raise BadRecordError(
            quarantine.RATING_CONTRADICTS_FOLDER,
            where,
            f"rating {rating} contradicts folder '{folder}' ({folder} needs a rating of {allowed})",
        )


# What an int64 feature of a tf.Example can hold.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# Significant digits beyond which a number cannot be an int64 (and int() may refuse it).
_MAX_INT64_DIGITS = len(str(INT64_MAX))


@functools.cache
def int_feature_ranges() -> dict[str, tuple[int, int]]:
    """Per INT feature of ``schemas/raw_schema.pbtxt``: the values an example may hold.

    Its ``int_domain`` within int64, the type of a tf.Example's integer
    feature: a value outside it would stop the whole run later (Beam's
    ``Value out of range``, or ExampleValidator's anomaly), so the reader sets
    the one record aside instead.
    """
    ranges = {}
    for feature in load_raw_schema().feature:
        if feature.type != schema_pb2.INT:
            continue
        low, high = INT64_MIN, INT64_MAX
        if feature.HasField("int_domain"):
            if feature.int_domain.HasField("min"):
                low = max(low, feature.int_domain.min)
            if feature.int_domain.HasField("max"):
                high = min(high, feature.int_domain.max)
        ranges[feature.name] = (low, high)
    return ranges


def _out_of_range(name: str, shown: str, where: str) -> BadRecordError:
    low, high = int_feature_ranges()[name]
    return BadRecordError(
        quarantine.OUT_OF_RANGE,
        where,
        f"{name} {shown} is outside the range of the raw schema's {name} feature ({low} to {high})",
    )


def _parse_digits(digits: str, name: str, where: str) -> int:
    """The value of an ASCII digit string, refusing what no int64 holds before int() parses it."""
    significant = digits.lstrip("0") or "0"
    if len(significant) > _MAX_INT64_DIGITS:
        shown = (
            significant if len(significant) <= 40 else f"{significant[:20]}… ({len(significant):,} digits)"
        )
        raise _out_of_range(name, shown, where)
    return int(significant)


def parse_review_name(name: str, where: str) -> tuple[int, int]:
    """Returns (review_id, rating) from a file name ``<id>_<rating>.txt`` (ASCII digits)."""
    match = _REVIEW_NAME.fullmatch(name)
    if not match:
        raise BadRecordError(
            quarantine.BAD_FILE_NAME, where, f"review file name must be <id>_<rating>.txt, got '{name}'"
        )
    return (
        _parse_digits(match.group(1), features.REVIEW_ID, where),
        _parse_digits(match.group(2), features.RATING, where),
    )


def check_feature_values(values: dict[str, int | str], where: str) -> None:
    """Raises :class:`BadRecordError` unless every value fits its raw schema feature.

    The rule for everything the reader puts into an example: an integer must
    lie in its feature's range (:func:`int_feature_ranges`), a string must be
    encodable as UTF-8 (a file name read with Python's surrogate escapes is not).
    """
    ranges = int_feature_ranges()
    for name, value in values.items():
        if isinstance(value, int):
            low, high = ranges[name]
            if not low <= value <= high:
                raise _out_of_range(name, str(value), where)
            continue
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as error:
            raise BadRecordError(
                quarantine.INVALID_UTF8,
                where,
                f"{name} is not valid UTF-8 ({error.reason} at character {error.start})",
            ) from None


def parse_review_path(path: str, where: str | None = None) -> ReviewPath | None:
    """Parses a review path (a file path or an archive member name).

    Args:
        path: Path whose tail is ``<split>/<folder>/<file>.txt``.
        where: How to name the file in errors; defaults to ``path``.

    Returns:
        The parsed path, or None when ``path`` is not a ``.txt`` file in a review
        folder. ``dataset`` is everything before ``<split>/`` (the dataset root
        without its trailing slash, or the archive's top folder).

    Raises:
        BadRecordError: The file is in a review folder but its name or rating
            is wrong, or a value it gives an example does not fit the raw schema.
    """
    match = _REVIEW_PATH.search(path)
    if not match:
        return None
    where = where or path
    source, split_dir, folder, name = match.groups()
    review_id, rating = parse_review_name(name, where)
    check_rating(folder, rating, where)
    values: dict[str, int | str] = {features.REVIEW_ID: review_id, features.RATING: rating}
    if folder in LABELS:
        values[features.LABEL] = LABELS[folder]
    values[features.SOURCE] = source
    check_feature_values(values, where)
    dataset = path[: match.start(1)].rstrip("/")
    return ReviewPath(dataset, source, split_dir, folder, review_id, rating)


def parse_urls_path(path: str) -> tuple[str, str, str] | None:
    """Returns (dataset, split_dir, folder) for a ``<split>/urls_<folder>.txt`` path, else None."""
    match = _URLS_PATH.search(path)
    if not match:
        return None
    return path[: match.start(1)].rstrip("/"), match.group(2), match.group(3)


def urls_path_for(dataset: str, split_dir: str, folder: str) -> str:
    """Returns where an unpacked dataset keeps the urls file of one folder."""
    return FileSystems.join(dataset, split_dir, f"urls_{folder}.txt")


def decode_text(data: bytes, where: str) -> str:
    """Decodes strict UTF-8: a review that is not valid UTF-8 is corrupt, not to be guessed at."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BadRecordError(
            quarantine.INVALID_UTF8, where, f"not valid UTF-8 ({error.reason} at byte {error.start})"
        ) from None


def check_review_bytes(data: bytes, size: int, max_bytes: int, where: str, record: str = "file") -> str:
    """Returns the text of a review file, or raises :class:`BadRecordError` saying why it is unusable.

    Args:
        data: The file's bytes; only the first ``max_bytes + 1`` are needed.
        size: The file's full size in bytes.
        max_bytes: ``example_gen.max_review_bytes``.
        where: The file or archive member, for the message.
        record: What holds the review, for the message: ``file``, or for
            ``imdb-pipeline score`` a ``line`` or a TFRecord ``record``.

    A NUL byte marks binary data (no text file holds one; the same rule as
    git's and grep's), checked before UTF-8 so that junk is called junk. Other
    control characters are allowed: four real IMDb reviews hold a stray one.
    """
    size = max(size, len(data))
    if size > max_bytes:
        raise BadRecordError(
            quarantine.TOO_LARGE,
            where,
            f"{size:,} bytes, more than example_gen.max_review_bytes ({max_bytes:,})",
        )
    if size == 0:
        raise BadRecordError(quarantine.EMPTY, where, f"empty {record} (0 bytes)")
    if b"\0" in data:
        raise BadRecordError(quarantine.BINARY, where, f"binary data (a NUL byte at byte {data.index(0)})")
    text = decode_text(data, where)
    if not text.strip():
        raise BadRecordError(quarantine.WHITESPACE_ONLY, where, f"only white space ({size} bytes)")
    return text


def unsafe_member_problem(name: str) -> str | None:
    """Says why an archive member's name would escape the folder it is unpacked in, or None.

    The reader never unpacks, but such a name marks a hostile or broken archive,
    and its record must not be taken for a review.
    """
    if name.startswith("/") or re.match(r"[A-Za-z]:[\\/]", name):
        return f"absolute member path '{name}'"
    if ".." in re.split(r"[\\/]", name):
        return f"member path '{name}' climbs out of the archive with '..'"
    return None


def parse_movie_ids(data: bytes) -> list[str | None]:
    """Returns the IMDb title id of each line of a urls file (line i = review id i).

    A line without one (empty, cut short, not UTF-8) gives None: only that
    review lacks its movie id, so it is counted (:data:`NO_TITLE_ID`), not
    fatal. Lines end at ``\\n``, ``\\r\\n`` or ``\\r``, as the file was written.
    """
    movie_ids: list[str | None] = []
    for line in data.splitlines():
        match = _MOVIE_ID.search(line.decode("utf-8", "replace"))
        movie_ids.append(match.group(0) if match else None)
    return movie_ids


def split_bucket(review: Review) -> int:
    """Returns the stable bucket 0-99 of a train review.

    The key is the movie, so all reviews of one movie fall on the same side of
    the train/eval cut (reviews of a movie share names and plot words, which
    would leak into eval otherwise); the text when the movie is unknown.
    SHA-256, not Python's ``hash``, so every process and worker agrees.
    """
    if review.movie_id:
        key = b"movie:" + review.movie_id.encode("utf-8")
    else:
        key = b"text:" + review.text.encode("utf-8")
    return int(hashlib.sha256(key).hexdigest(), 16) % 100


def assign_split(review: Review, eval_percent: int) -> str:
    """Returns the output split of a review.

    Unlabeled reviews go to unsup whatever their dataset folder (a labeled
    split cannot hold them), the official test set stays the test split, and
    labeled train reviews are cut into train and eval by movie.
    """
    if review.folder == UNSUP:
        return features.UNSUP
    if review.split_dir == TEST_DIR:
        return features.TEST
    return features.EVAL if split_bucket(review) < eval_percent else features.TRAIN


def to_tf_example(review: Review) -> tf.train.Example:
    """Converts a review to the raw tf.train.Example described by schemas/raw_schema.pbtxt."""

    def int_feature(value: int) -> tf.train.Feature:
        return tf.train.Feature(int64_list=tf.train.Int64List(value=[value]))

    def bytes_feature(value: str) -> tf.train.Feature:
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value.encode("utf-8")]))

    feature = {
        features.TEXT: bytes_feature(review.text),
        features.REVIEW_ID: int_feature(review.review_id),
        features.RATING: int_feature(review.rating),
        features.SOURCE: bytes_feature(review.source),
    }
    if review.folder in LABELS:
        feature[features.LABEL] = int_feature(LABELS[review.folder])
    if review.movie_id is not None:
        feature[features.MOVIE_ID] = bytes_feature(review.movie_id)
    return tf.train.Example(features=tf.train.Features(feature=feature))


def _review(parsed: ReviewPath, text: str, origin: Origin) -> tuple[JoinKey, Review]:
    review = Review(
        parsed.source, parsed.split_dir, parsed.folder, parsed.review_id, parsed.rating, text, origin=origin
    )
    return (parsed.dataset, parsed.split_dir, parsed.folder, parsed.review_id), review


def _movie_lines(
    dataset: str, split_dir: str, folder: str, data: bytes
) -> Iterator[tuple[JoinKey, str | None]]:
    for review_id, movie_id in enumerate(parse_movie_ids(data)):
        yield (dataset, split_dir, folder, review_id), movie_id


def _special_file_kind(path: str) -> str | None:
    """What a local path is when it is neither a regular file nor a folder (a FIFO, a device, a socket)."""
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return None  # gone: reading it says so
    for test, kind in (
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return kind
    return None


def _member_kind(member: tarfile.TarInfo) -> str:
    if member.ischr():
        return "a character device"
    if member.isblk():
        return "a block device"
    if member.isfifo():
        return "a FIFO"
    return f"a member of tar type {member.type!r}"


class _StrictTarInfo(tarfile.TarInfo):
    """A tar header that refuses what tarfile silently takes for the end of the archive.

    tarfile ends the member list without an error when the stream stops short
    of a header or a header is damaged, so a truncated archive would look like
    a smaller one. Only the end-of-archive marker (a zero block) ends it here.
    """

    @classmethod
    def fromtarfile(cls, tarfile_: tarfile.TarFile) -> tarfile.TarInfo:
        try:
            return super().fromtarfile(tarfile_)
        except (tarfile.EmptyHeaderError, tarfile.TruncatedHeaderError):
            if tarfile_.offset == 0:
                raise
            raise tarfile.ReadError(
                f"the tar stream ends at byte {tarfile_.offset:,} without an end-of-archive marker"
            ) from None
        except tarfile.InvalidHeaderError as error:
            if tarfile_.offset == 0:
                raise
            raise tarfile.ReadError(f"invalid member header at byte {tarfile_.offset:,} ({error})") from None


def _archive_error(
    path: str, error: Exception, reading: tarfile.TarInfo | None, done: tarfile.TarInfo | None, position: str
) -> ImdbArchiveError:
    if reading is not None:
        where = f"in member {reading.name} (header at byte {reading.offset:,} of the unpacked tar stream)"
    elif done is not None:
        where = f"after member {done.name} (header at byte {done.offset:,} of the unpacked tar stream)"
    else:
        where = "before its first member"
    return ImdbArchiveError(
        f"{path}: truncated or corrupt archive, {where}, {position}: {type(error).__name__}: {error}"
    )


class _ReadMatchFn(beam.DoFn):
    """Reads one matched file: an archive (reviews and urls) or one review file.

    Reviews go to the main output, keyed for the join; the movie id of each urls
    line goes to ``URLS``, the (dataset, split_dir, folder) of each loose
    review file to ``FOLDERS``, whose urls files are read once each later, and
    every record set aside to ``QUARANTINE``.
    """

    URLS = "urls"
    FOLDERS = "folders"
    QUARANTINE = quarantining.QUARANTINE
    _files_read: Progress | None = None

    def __init__(self, max_review_bytes: int):
        super().__init__()
        self._max_bytes = max_review_bytes

    def teardown(self) -> None:
        if self._files_read is not None:
            self._files_read.close()

    def _set_aside(self, origin: Origin, error: BadRecordError, raw: bytes, size: int):
        record = QuarantinedRecord.from_error(origin, error, raw[: self._max_bytes], max(size, len(raw)))
        return beam.pvalue.TaggedOutput(self.QUARANTINE, record)

    def process(self, metadata: FileMetadata) -> Iterator:
        path = metadata.path
        # Opening a FIFO would wait for a writer forever, a device could be read without end.
        special = None if is_remote(path) or os.path.islink(path) else _special_file_kind(path)
        if is_archive(path):
            if special:
                raise ImdbDataError(f"{path} is {special}, not an archive file")
            yield from self._read_archive(path, metadata.size_in_bytes)
            return
        if not is_remote(path) and os.path.islink(path):
            # Set aside by find_symlinks, which also sees the links a match skips.
            return
        if special:
            error = BadRecordError(quarantine.SPECIAL_FILE, path, f"{special}, not a file")
            yield self._set_aside(Origin(path), error, b"", 0)
            return
        if self._files_read is None:  # created on the first loose file: an archive has its own progress
            self._files_read = Progress("ExampleGen: reading review files", unit="files")
        self._files_read.update()
        origin = Origin(path)
        data = None
        try:
            parsed = parse_review_path(path)
            if parsed is None and _IN_REVIEW_FOLDER.search(path):
                raise _not_a_review_name(path.rsplit("/", 1)[-1], path)
            if parsed is None:
                folder = "/".join(path.split("/")[-3:-1])
                raise BadRecordError(
                    quarantine.UNKNOWN_FOLDER,
                    path,
                    f"folder '{folder}' is not a review folder <train|test>/<pos|neg|unsup>",
                )
            data = self._read_file(path)
            text = check_review_bytes(data, metadata.size_in_bytes, self._max_bytes, path)
        except BadRecordError as error:
            raw = data if data is not None else self._read_file(path)
            yield self._set_aside(origin, error, raw, metadata.size_in_bytes)
            return
        yield _review(parsed, text, origin)
        yield beam.pvalue.TaggedOutput(self.FOLDERS, (parsed.dataset, parsed.split_dir, parsed.folder))

    def _read_file(self, path: str) -> bytes:
        """The file's first ``max_review_bytes + 1`` bytes: enough to tell that it is too large."""
        with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as file:
            return file.read(self._max_bytes + 1)

    def _read_archive(self, path: str, size: int | None = None) -> Iterator:
        reading = done = None
        with (
            FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as file,
            Progress(f"ExampleGen: reading {path}", total=size, unit="B") as progress,
        ):
            try:
                # Python's gzip rather than tarfile's: it checks the stream's
                # length and CRC, so a truncated .tar.gz is an error, not a short read.
                stream = (
                    gzip.GzipFile(fileobj=file, mode="rb") if path.lower().endswith(GZIP_SUFFIXES) else file
                )
                # Streaming mode: each member must be read before moving to the next.
                with tarfile.open(fileobj=stream, mode="r|", tarinfo=_StrictTarInfo) as archive:
                    for member in archive:
                        progress.update_to(file.tell())
                        reading = member
                        yield from self._read_member(path, archive, member)
                        reading, done = None, member
                # Reading to the end of the file makes gzip check its trailer.
                while stream.read(1 << 20):
                    pass
            except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
                position = (
                    f"{file.tell():,} of {size:,} bytes read" if size else f"{file.tell():,} bytes read"
                )
                raise _archive_error(path, error, reading, done, position) from error

    def _member_raw(self, archive: tarfile.TarFile, member: tarfile.TarInfo) -> tuple[bytes, int]:
        """What a quarantine line keeps of a member: its bytes (a prefix), or a link's target."""
        if member.isfile():
            return archive.extractfile(member).read(self._max_bytes + 1), member.size
        target = member.linkname.encode("utf-8", "surrogateescape")
        return target, len(target)

    def _read_member(self, path: str, archive: tarfile.TarFile, member: tarfile.TarInfo) -> Iterator:
        """Reviews, urls lines or records set aside from one archive member; nothing is written."""
        origin = Origin(path, member.name)
        where = str(origin)
        problem = unsafe_member_problem(member.name)
        if problem is not None:
            error = BadRecordError(quarantine.UNSAFE_PATH, where, f"{problem}; never unpacked")
            yield self._set_aside(origin, error, *self._member_raw(archive, member))
            return
        if member.issym() or member.islnk():
            reason, kind = (
                (quarantine.SYMLINK, "symbolic") if member.issym() else (quarantine.HARDLINK, "hard")
            )
            error = BadRecordError(reason, where, f"{kind} link to '{member.linkname}', never followed")
            yield self._set_aside(origin, error, *self._member_raw(archive, member))
            return
        if member.isdir():
            if _ARCHIVE_IN_REVIEW_FOLDER.fullmatch(member.name):
                error = BadRecordError(quarantine.NOT_A_FILE, where, "a folder where a review file would be")
                yield self._set_aside(origin, error, b"", 0)
            return
        if not member.isfile():
            error = BadRecordError(quarantine.SPECIAL_FILE, where, f"{_member_kind(member)}, not a file")
            yield self._set_aside(origin, error, b"", 0)
            return
        data = None
        try:
            parsed = parse_review_path(member.name, where)
            if parsed is None:
                yield from self._read_other_member(path, archive, member, where)
                return
            data = archive.extractfile(member).read(self._max_bytes + 1)
            text = check_review_bytes(data, member.size, self._max_bytes, where)
        except BadRecordError as error:
            raw = data if data is not None else archive.extractfile(member).read(self._max_bytes + 1)
            yield self._set_aside(origin, error, raw, member.size)
            return
        parsed = dataclasses.replace(parsed, dataset=f"{path}/{parsed.dataset}")
        yield _review(parsed, text, origin)

    def _read_other_member(
        self, path: str, archive: tarfile.TarFile, member: tarfile.TarInfo, where: str
    ) -> Iterator:
        """A urls file gives movie ids; a .txt file in an unknown review folder is set aside."""
        urls = parse_urls_path(member.name)
        if urls is not None:
            dataset, split_dir, folder = urls
            data = archive.extractfile(member).read()
            for line in _movie_lines(f"{path}/{dataset}", split_dir, folder, data):
                yield beam.pvalue.TaggedOutput(self.URLS, line)
            return
        in_review_folder = _ARCHIVE_IN_REVIEW_FOLDER.fullmatch(member.name)
        if in_review_folder is not None:
            raise _not_a_review_name(in_review_folder.group(1), where)
        unknown = _UNKNOWN_FOLDER_PATH.search(member.name)
        at_review_depth = _ARCHIVE_REVIEW_DEPTH.fullmatch(member.name)
        if unknown is not None or at_review_depth is not None:
            folder = unknown.group(1).rsplit("/", 1)[0] if unknown else at_review_depth.group(1)
            raise BadRecordError(
                quarantine.UNKNOWN_FOLDER,
                where,
                f"folder '{folder}' is not a review folder <train|test>/<pos|neg|unsup>",
            )
        # Any other member (README, imdb.vocab, *.feat) is not read.


def _not_a_review_name(name: str, where: str) -> BadRecordError:
    return BadRecordError(
        quarantine.BAD_FILE_NAME, where, f"review file name must be <id>_<rating>.txt, got '{name}'"
    )


_GLOB = re.compile(r"[*?[]")


def _walk_pattern(pattern: str) -> Iterator[tuple[str, int, bool]]:
    """Every entry of a local folder tree that ``pattern`` reaches, listed, not globbed.

    Yields ``(path, depth, last)``: ``last`` when the entry is at the pattern's
    last level (where files are matched). Each level's name is matched with
    ``fnmatch``, whose ``*`` takes any character but ``/``: Beam's and
    TensorFlow's globs skip names holding a backslash (or cannot return names
    that are not UTF-8), so a listing is the only way to see every file.
    Links to folders are not descended into. At the last level, every entry
    of a review folder (``<train|test>/<pos|neg|unsup>/``) is yielded, whatever
    its name: the reader sets aside what is not a review file.
    """
    if is_remote(pattern) or is_archive(pattern):
        return
    parts = pattern.split("/")
    first_glob = next((i for i, part in enumerate(parts) if _GLOB.search(part)), len(parts))
    root, globs = "/".join(parts[:first_glob]), parts[first_glob:]
    root = root or ("/" if pattern.startswith("/") else ".")
    if not globs or not os.path.isdir(root):
        return
    for directory, dirnames, filenames in os.walk(root):
        relative = os.path.relpath(directory, root)
        depth = 0 if relative == "." else len(relative.split(os.sep))
        if depth >= len(globs):
            dirnames[:] = []
            continue
        last = depth + 1 == len(globs)
        for name in sorted(dirnames + filenames):
            path = os.path.normpath(os.path.join(directory, name))
            # At the last level, a review folder's every entry: a name the glob misses is set aside.
            if fnmatch.fnmatchcase(name, globs[depth]) or (last and _IN_REVIEW_FOLDER.search(path)):
                yield path, depth, last
        dirnames[:] = [name for name in dirnames if fnmatch.fnmatchcase(name, globs[depth])]


def list_local_files(pattern: str) -> list[str]:
    """Every file (or link, never followed) that a local ``pattern`` names, whatever its name holds.

    With every other file of a review folder (``88887_8.TXT``), which the reader sets aside.

    What the reader reads (Beam's match plus :func:`find_skipped_files`, links
    set aside by :func:`find_symlinks`): the driver fingerprints this list.
    """
    if not _GLOB.search(pattern):
        return [pattern] if os.path.lexists(pattern) and not os.path.isdir(pattern) else []
    return [
        path
        for path, _depth, last in _walk_pattern(pattern)
        if last and (os.path.islink(path) or not os.path.isdir(path))
    ]


def beam_pattern_regex(pattern: str) -> str:
    """The regular expression Beam's ``FileSystem.translate_pattern`` makes of ``pattern``, made safely.

    The same matches (``*`` is ``[^/\\]*``, ``**`` is ``.*``, ``?`` is ``.``,
    ``[!...]`` a negated class), but every character inside a class is
    escaped: Beam copies it as it is, so the escaped path ``/data/d [[]x]``
    gives the class ``[[]``, which Python reads alike but warns about
    (``FutureWarning: Possible nested set``) on every compile.
    """
    position, size, regex = 0, len(pattern), ""
    while position < size:
        char = pattern[position]
        position += 1
        if char == "*":
            if position < size and pattern[position] == "*":
                regex += ".*"
                position += 1
            else:
                regex += r"[^/\\]*"
        elif char == "?":
            regex += "."
        elif char == "[":
            end = position
            if end < size and pattern[end] == "!":
                end += 1
            if end < size and pattern[end] == "]":
                end += 1
            while end < size and pattern[end] != "]":
                end += 1
            if end >= size:
                regex += r"\["
                continue
            members = pattern[position:end]
            position = end + 1
            negated = members.startswith("!")
            if negated:
                members = members[1:]
            regex += "[" + ("^" if negated else "") + _class_members(members) + "]"
        else:
            regex += re.escape(char)
    return r"(?ms)" + regex + r"\Z"


def _class_members(members: str) -> str:
    """A glob class's members (single characters and ``a-z`` ranges), each character escaped."""
    parts, position = [], 0
    while position < len(members):
        if position + 2 < len(members) and members[position + 1] == "-":
            parts.append(f"{re.escape(members[position])}-{re.escape(members[position + 2])}")
            position += 3
        else:
            parts.append(re.escape(members[position]))
            position += 1
    return "".join(parts)


def find_skipped_files(pattern: str) -> Iterator[FileMetadata]:
    """Yields the local files that ``pattern`` names but Beam's file matching skips.

    Beam's ``*`` does not match a backslash, so ``train/pos/12\\_8.txt`` would be
    neither read nor set aside. Every file under the dataset is accounted for:
    these go to the reader like the matched ones (which sets them aside as
    ``bad_file_name`` or ``unknown_folder``: no review's name holds a backslash).
    So do the files of a review folder that the pattern's name misses
    (``88887_8.TXT``, ``12_8.txt`` followed by a newline): ``bad_file_name``.
    """
    matched = re.compile(beam_pattern_regex(pattern))
    for path, _depth, last in _walk_pattern(pattern):
        if not last or os.path.islink(path) or os.path.isdir(path) or matched.match(path):
            continue
        if os.path.isfile(path) or _IN_REVIEW_FOLDER.search(path):  # a FIFO there is set aside unread
            status = os.lstat(path)
            yield FileMetadata(path, status.st_size, status.st_mtime)


def find_folders(pattern: str) -> Iterator[QuarantinedRecord]:
    """Yields a record for each folder where a review file would be (in a review folder of a local dataset).

    Beam's file matching lists files only, so ``train/pos/88886_8.txt/`` would
    be skipped silently; it is set aside as ``not_a_file`` (its content is not read).
    """
    for path, _depth, last in _walk_pattern(pattern):
        if last and not os.path.islink(path) and os.path.isdir(path) and _IN_REVIEW_FOLDER.search(path):
            error = BadRecordError(quarantine.NOT_A_FILE, path, "a folder where a review file would be")
            yield QuarantinedRecord.from_error(Origin(path), error, b"", 0)


def find_symlinks(pattern: str) -> Iterator[QuarantinedRecord]:
    """Yields a record for each symbolic link where a local folder dataset should hold files or folders.

    Links are never followed: one could bring any file of the machine into the
    training data. Beam's file matching silently skips links to folders and
    broken links and reads through links to files; this walk finds all three
    (only where ``pattern`` reaches, so a linked README is no concern), and
    the reader skips the linked files so each link is accounted for once. A
    linked urls file (``<split>/urls_<folder>.txt``) is found too: it is not
    read, and its folder's reviews get no movie id.
    """
    for path, _depth, last in _walk_pattern(pattern):
        if not os.path.islink(path):
            continue
        if not last and os.path.isfile(path) and parse_urls_path(path) is None:
            continue  # a link to a file where a folder belongs: the pattern never reads it
        target = os.readlink(path)
        kind = "a folder" if os.path.isdir(path) else ("missing" if not os.path.exists(path) else "a file")
        raw = os.fsencode(target)
        yield QuarantinedRecord(
            Origin(path),
            quarantine.SYMLINK,
            f"symbolic link to '{target}' ({kind}), never followed",
            raw,
            len(raw),
        )


def _read_urls_file(folder: tuple[str, str, str]) -> Iterator[tuple[JoinKey, str | None]]:
    """Reads the urls file of one folder of an unpacked dataset, if the dataset has one.

    One that cannot be read (a folder of that name, no permission) is logged;
    its reviews are then counted as having no urls line.
    """
    dataset, split_dir, name = folder
    path = urls_path_for(dataset, split_dir, name)
    if not is_remote(path) and os.path.islink(path):
        # Never followed; find_symlinks sets it aside.
        return
    if not FileSystems.exists(path):
        return
    try:
        with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as file:
            data = file.read()
    except OSError as error:
        logger.warning("ExampleGen: cannot read %s (%s); its reviews get no movie id", path, error)
        return
    yield from _movie_lines(dataset, split_dir, name, data)


def _attach_movie_id(joined: tuple[JoinKey, dict[str, Iterable]]) -> Iterator[Review]:
    _key, groups = joined
    movie_ids = list(groups["movie_id"])
    movie_id = movie_ids[0] if movie_ids else None
    missing = None if movie_id else (NO_TITLE_ID if movie_ids else NO_URLS_LINE)
    for review in groups["review"]:
        yield dataclasses.replace(review, movie_id=movie_id, no_movie_id=missing)


def _require_reviews(count: int, file_pattern: str) -> int:
    if count == 0:
        raise ImdbDataError(f"no IMDb reviews found under {file_pattern}")
    return count


# Keys of the dictionary ReadImdbReviews (and SetAsideDuplicates) return.
REVIEWS = "reviews"
QUARANTINE = quarantining.QUARANTINE
COUNTS = quarantining.COUNTS


class ReadImdbReviews(beam.PTransform):
    """PBegin -> {REVIEWS: PCollection[Review], QUARANTINE: PCollection[QuarantinedRecord], COUNTS: ...}.

    Every review matched by a file pattern, with its movie id, and every review
    record that had to be set aside, with its reason; ``COUNTS`` holds how many
    of each as (kind, count) pairs, kind ``quarantining.READ`` for the reviews
    and the reason for records set aside (see ``quarantining.SummarizeIngest``).

    Each file the pattern matches is either an archive holding the dataset
    (``.tar.gz``, ``.tgz``, ``.tar``; only review files and urls files are read,
    whatever the archive's top folder is called) or one review file
    ``<root>/<split>/<folder>/<id>_<rating>.txt`` (then the movie ids come from
    ``<root>/<split>/urls_<folder>.txt`` when it exists). Reviews are joined
    with their urls line by (dataset, split_dir, folder, review_id).

    Set aside (see ``quarantine.BAD_INPUT_REASONS``): review files that are
    empty, white space only, binary, not UTF-8 or larger than
    ``max_review_bytes``; badly named files, ratings that contradict their
    folder, ``.txt`` files in unknown review folders; symbolic links, and in an
    archive hard links, special files and members whose path escapes it.

    Set aside too: a review whose name gives a value outside its raw schema
    feature's range (``out_of_range``: an id beyond int64). A review without a
    usable urls line keeps no movie id; ``Review.no_movie_id`` says why.

    Raises (when the pipeline runs) :class:`ImdbArchiveError` for an archive
    that cannot be read to its end, and :class:`ImdbDataError` for a pattern
    that yields no review record at all.
    """

    def __init__(
        self,
        file_pattern: str | Sequence[str],
        max_review_bytes: int = ExampleGenOptions().max_review_bytes,
    ):
        super().__init__()
        # Several patterns (one per span of a range) are read as one dataset.
        self._file_patterns = [file_pattern] if isinstance(file_pattern, str) else list(file_pattern)
        self._max_review_bytes = max_review_bytes

    def expand(self, pbegin: beam.pvalue.PBegin) -> dict[str, beam.PCollection]:
        pattern = pbegin | "Pattern" >> beam.Create(self._file_patterns)
        matched = pattern | "MatchFiles" >> fileio.MatchAll(fileio.EmptyMatchTreatment.ALLOW)
        skipped = pattern | "FindSkippedFiles" >> beam.FlatMap(find_skipped_files)
        read = (
            (matched, skipped)
            | "MergeFiles" >> beam.Flatten()
            # Spreads the reading of many loose review files over workers.
            | "ReshuffleMatches" >> beam.Reshuffle()
            | "ReadMatches"
            >> beam.ParDo(_ReadMatchFn(self._max_review_bytes)).with_outputs(
                _ReadMatchFn.URLS, _ReadMatchFn.FOLDERS, _ReadMatchFn.QUARANTINE, main=REVIEWS
            )
        )
        symlinks = pattern | "FindSymlinks" >> beam.FlatMap(find_symlinks)
        folders = pattern | "FindFolders" >> beam.FlatMap(find_folders)
        set_aside = (read[_ReadMatchFn.QUARANTINE], symlinks, folders) | "MergeSetAside" >> beam.Flatten()
        urls_of_loose_files = (
            read[_ReadMatchFn.FOLDERS]
            | "DistinctFolders" >> beam.Distinct()
            | "ReadUrlsFiles" >> beam.FlatMap(_read_urls_file)
        )
        movie_ids = (read[_ReadMatchFn.URLS], urls_of_loose_files) | "MergeMovieIds" >> beam.Flatten()
        reviews = (
            {"review": read[REVIEWS], "movie_id": movie_ids}
            | "JoinMovieIds" >> beam.CoGroupByKey()
            | "AttachMovieIds" >> beam.FlatMap(_attach_movie_id)
        )
        # Every record is counted once, here: the counts go into the run's
        # summary, and their total into the check below.
        counts = (
            reviews
            | "CountReviews" >> beam.combiners.Count.Globally()
            | "ReadCount" >> beam.Map(lambda count: (quarantining.READ, count)),
            set_aside | "CountSetAside" >> quarantining.CountByReason(),
        ) | "MergeCounts" >> beam.Flatten()
        # Bad records count: a dataset of nothing but bad files fails on the
        # bad-record limit, which says what was wrong with them.
        _ = (
            counts
            | "Counts" >> beam.Values()
            | "CountRecords" >> beam.CombineGlobally(sum)
            | "RequireRecords" >> beam.Map(_require_reviews, ", ".join(self._file_patterns))
        )
        return {REVIEWS: reviews, QUARANTINE: set_aside, COUNTS: counts}


class SplitReviews(beam.PTransform):
    """PCollection[Review] -> {split name: PCollection[Review]} for all four output splits.

    Every split is present, empty or not, so downstream steps can rely on it.
    """

    def __init__(self, eval_percent: int):
        super().__init__()
        self._eval_percent = validate_eval_percent(eval_percent)

    def expand(self, reviews: beam.PCollection) -> dict[str, beam.PCollection]:
        parts = reviews | "PartitionBySplit" >> beam.Partition(
            lambda review, _count, percent: OUTPUT_SPLITS.index(assign_split(review, percent)),
            len(OUTPUT_SPLITS),
            self._eval_percent,
        )
        return dict(zip(OUTPUT_SPLITS, parts, strict=True))
