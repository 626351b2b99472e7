"""Reads the Large Movie Review Dataset (aclImdb), as its archive or unpacked, into review records with Beam.

Archives are streamed member by member, never unpacked, and links never
followed. Each check on a record is a small pure function raising
:class:`BadRecordError`, which sets that record aside (README: "When the input
is bad"); :class:`ImdbDataError` stops the run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
import dataclasses
import fnmatch
import functools
import gzip
import hashlib
import itertools
import logging
import os
import posixpath
import re
import stat
import tarfile
import zlib

import apache_beam as beam
from apache_beam.io.filesystem import CompressionTypes, FileMetadata
from apache_beam.io.filesystems import FileSystems
import tensorflow as tf
from tensorflow_metadata.proto.v0 import schema_pb2

from components.artifacts import quarantine
from components.artifacts.quarantine import Origin, QuarantinedRecord
from components.example_gen import quarantining, spans
from components.example_gen.errors import BadRecordError, ImdbArchiveError, ImdbDataError
from components.example_gen.options import ExampleGenOptions, is_archive, is_remote, validate_eval_percent
from components.loop_progress import Progress
from components.plural import counted
from schemas import features
from schemas.schema import load_raw_schema

logger = logging.getLogger(__name__)

# Folder names of the published dataset layout (not our split names: train/ is cut into train and eval).
TRAIN_DIR = "train"
TEST_DIR = "test"
POS = "pos"
NEG = "neg"
UNSUP = "unsup"

GZIP_SUFFIXES = (".tar.gz", ".tgz")

# A file in a review folder. Names end at \Z, never $ (which also matches before a final newline):
# a name whose .txt is followed by white space only (5_8.txt\n) is a badly named review file.
_REVIEW_PATH = re.compile(r"(?:^|/)((train|test)/(pos|neg|unsup)/([^/]+\.txt\s*))\Z")
# ASCII digits only: int() would also take other scripts' digits ("٣_٨.txt").
_REVIEW_NAME = re.compile(r"([0-9]+)_([0-9]+)\.txt")
_URLS_PATH = re.compile(r"(?:^|/)((train|test)/urls_(pos|neg|unsup)\.txt)\Z")
# A .txt file where a review would be, in a folder the dataset does not have (train/neutral/, dev/pos/,
# Train/Pos/), whatever folders are above the dataset root.
_UNKNOWN_FOLDER_PATH = re.compile(
    r"(?:^|/)((?:(?:train|test)/[^/]+|[^/]+/(?:pos|neg|unsup))/[^/]+\.txt\s*)\Z", re.IGNORECASE
)
# In an archive, any .txt where an unpacked dataset's */*/*.txt would find it (Train/Pos/1_8.txt too).
_ARCHIVE_REVIEW_DEPTH = re.compile(r"[^/]+/[^/]+/[^/]+/[^/]+\.txt\s*")
_MOVIE_ID = re.compile(r"tt[0-9]+")
# Any entry directly in a review folder (a loose path's tail, or an archive member, whatever folders
# are above its dataset root): a review file or set aside, never skipped (88887_8.TXT, 12_8.txt\n, a folder).
_IN_REVIEW_FOLDER = re.compile(r"(?:^|/)(?:train|test)/(?:pos|neg|unsup)/([^/]+)/?\Z")
# The outermost entry of a review folder (group 1) that an archive member's path (with a / added) is or
# is below: a member below it makes it a folder, even in an archive without folder members.
_REVIEW_FOLDER_ENTRY = re.compile(r"(.*?(?:^|/)(?:train|test)/(?:pos|neg|unsup)/[^/]+)/")

# Why a review has no movie id (Review.no_movie_id): no urls line for its id, or no title id on it.
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

    ``source`` is the path below the dataset root (``train/pos/0_9.txt``), ``split_dir`` the dataset
    folder (not our output split). ``origin`` (the file or archive member read), ``header`` (an
    archive member's header offset in the unpacked tar stream: which of members of one name) and
    ``no_movie_id`` (why ``movie_id`` is None) are not part of equality.
    """

    source: str
    split_dir: str
    folder: str
    review_id: int
    rating: int
    text: str
    movie_id: str | None = None
    origin: Origin | None = dataclasses.field(default=None, compare=False)
    header: int | None = dataclasses.field(default=None, compare=False)
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


# A review folder, the key of its reviews and of its urls file's movie ids: (dataset, split_dir, folder).
FolderKey = tuple[str, str, str]


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
    """Per INT feature of ``schemas/raw_schema.pbtxt``: its ``int_domain`` within int64.

    A value outside it would stop the whole run later (Beam's ``Value out of range``, or
    ExampleValidator's anomaly), so the reader sets the one record aside instead.
    """
    ranges = {}
    for feature in load_raw_schema().feature:
        if feature.type == schema_pb2.INT:
            domain = feature.int_domain  # the default (no bounds) when the feature has none
            low = domain.min if domain.HasField("min") else INT64_MIN
            ranges[feature.name] = (low, domain.max if domain.HasField("max") else INT64_MAX)
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


def check_feature_values(values: dict[str, int | str], where: str) -> None:
    """Raises :class:`BadRecordError` unless every value fits its raw schema feature.

    A string must be UTF-8: a file name read with Python's surrogate escapes is not.
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
    """Parses a review path (a file path or an archive member name) ending ``<split>/<folder>/<file>.txt``.

    Returns None when ``path`` is not a ``.txt`` file in a review folder. ``dataset`` is everything
    before ``<split>/``. Raises :class:`BadRecordError` (naming ``where``, default ``path``) for a
    wrong name or rating, or a value that does not fit the raw schema.
    """
    match = _REVIEW_PATH.search(path)
    if not match:
        return None
    where = where or path
    source, split_dir, folder, name = match.groups()
    name_match = _REVIEW_NAME.fullmatch(name)
    if not name_match:
        raise _not_a_review_name(name, where)
    review_id = _parse_digits(name_match.group(1), features.REVIEW_ID, where)
    rating = _parse_digits(name_match.group(2), features.RATING, where)
    check_rating(folder, rating, where)
    values: dict[str, int | str] = {features.REVIEW_ID: review_id, features.RATING: rating}
    if folder in LABELS:
        values[features.LABEL] = LABELS[folder]
    values[features.SOURCE] = source
    check_feature_values(values, where)
    dataset = path[: match.start(1)].rstrip("/")
    return ReviewPath(dataset, source, split_dir, folder, review_id, rating)


def parse_urls_path(path: str) -> FolderKey | None:
    """Returns (dataset, split_dir, folder) for a ``<split>/urls_<folder>.txt`` path, else None."""
    match = _URLS_PATH.search(path)
    return match and (path[: match.start(1)].rstrip("/"), match.group(2), match.group(3))


# What sets a review's largest size, as a too_large record's detail names it (score: its own flag).
MAX_REVIEW_BYTES_SETTING = "example_gen.max_review_bytes"


def check_review_bytes(
    data: bytes,
    size: int,
    max_bytes: int,
    where: str,
    record: str = "file",
    setting: str = MAX_REVIEW_BYTES_SETTING,
) -> str:
    """Returns the text of a review file, or raises :class:`BadRecordError` saying why it is unusable.

    ``data`` needs only its first ``max_bytes + 1`` bytes of ``size``; ``record`` names what holds
    the review (``imdb-pipeline score`` reads a ``line`` or a TFRecord ``record``), ``setting`` what set
    ``max_bytes``. A NUL byte marks
    binary data (as for git and grep), checked before UTF-8 so that junk is called junk; other
    control characters are allowed (four IMDb reviews hold one). Invalid UTF-8 is never guessed at.
    """
    size = max(size, len(data))
    if size > max_bytes:
        raise BadRecordError(
            quarantine.TOO_LARGE,
            where,
            f"{size:,} bytes, more than {setting} ({max_bytes:,})",
        )
    if size == 0:
        raise BadRecordError(quarantine.EMPTY, where, f"empty {record} (0 bytes)")
    if b"\0" in data:
        raise BadRecordError(quarantine.BINARY, where, f"binary data (a NUL byte at byte {data.index(0)})")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        problem = f"not valid UTF-8 ({error.reason} at byte {error.start})"
        raise BadRecordError(quarantine.INVALID_UTF8, where, problem) from None
    if not text.strip():
        raise BadRecordError(quarantine.WHITESPACE_ONLY, where, f"only white space ({counted(size, 'byte')})")
    return text


def unsafe_member_problem(name: str) -> str | None:
    """Says why an archive member's name would escape the folder it is unpacked in, or None.

    The reader never unpacks, but such a name marks a hostile or broken archive.
    """
    if name.startswith("/") or re.match(r"[A-Za-z]:[\\/]", name):
        return f"absolute member path '{name}'"
    if ".." in re.split(r"[\\/]", name):
        return f"member path '{name}' climbs out of the archive with '..'"
    return None


def parse_movie_ids(data: bytes) -> list[str | None]:
    """Returns the IMDb title id of each line of a urls file (line i = review id i).

    A line without one (empty, cut short, a byte anywhere that is not UTF-8) gives None: only that review
    lacks its movie id (:data:`NO_TITLE_ID`). Lines end at ``\\n``, ``\\r\\n`` or ``\\r``.
    """
    return [_movie_id(line) for line in data.splitlines()]


def _movie_id(line: bytes) -> str | None:
    try:
        match = _MOVIE_ID.search(line.decode("utf-8"))
    except UnicodeDecodeError:
        return None
    return match.group(0) if match else None


def assign_split(review: Review, eval_percent: int) -> str:
    """Returns the output split: unsup for unlabeled reviews, test for test/, train or eval by movie.

    A train review's bucket (0-99) is keyed by movie, so all reviews of one movie fall on the same
    side of the train/eval cut (they share names and plot words), by text when the movie is unknown.
    SHA-256, not Python's ``hash``, so every process and worker agrees.
    """
    if review.folder == UNSUP:
        return features.UNSUP
    if review.split_dir == TEST_DIR:
        return features.TEST
    key = f"movie:{review.movie_id}" if review.movie_id else f"text:{review.text}"
    bucket = int(hashlib.sha256(key.encode("utf-8")).hexdigest(), 16) % 100
    return features.EVAL if bucket < eval_percent else features.TRAIN


def to_tf_example(review: Review) -> tf.train.Example:
    """Converts a review to the raw tf.train.Example described by schemas/raw_schema.pbtxt."""
    values = {
        features.TEXT: review.text,
        features.REVIEW_ID: review.review_id,
        features.RATING: review.rating,
        features.SOURCE: review.source,
        features.LABEL: LABELS.get(review.folder),  # none for unsup
        features.MOVIE_ID: review.movie_id,
    }
    feature = {
        name: tf.train.Feature(int64_list=tf.train.Int64List(value=[value]))
        if isinstance(value, int)
        else tf.train.Feature(bytes_list=tf.train.BytesList(value=[value.encode("utf-8")]))
        for name, value in values.items()
        if value is not None
    }
    return tf.train.Example(features=tf.train.Features(feature=feature))


# What a FIFO, a device or a socket is called, by its stat mode or its tar member type.
_SPECIAL_KINDS = {
    **dict.fromkeys((stat.S_IFIFO, tarfile.FIFOTYPE), "a FIFO"),
    **dict.fromkeys((stat.S_IFCHR, tarfile.CHRTYPE), "a character device"),
    **dict.fromkeys((stat.S_IFBLK, tarfile.BLKTYPE), "a block device"),
    stat.S_IFSOCK: "a socket",
}


def special_file_kind(path: str, follow_links: bool = False) -> str | None:
    """A FIFO, a device or a socket, which a reader must not open (a FIFO waits for a writer forever, a
    device may never end); None for any other path, a remote one or (unless ``follow_links``) a link."""
    if is_remote(path):
        return None
    try:
        mode = (os.stat if follow_links else os.lstat)(path).st_mode
    except OSError:
        return None  # gone: reading it says so
    return _SPECIAL_KINDS.get(stat.S_IFMT(mode))


def _check_member(member: tarfile.TarInfo, where: str) -> None:
    """Raises :class:`BadRecordError` for a member never read: an unsafe name, a link, a special file."""
    problem = unsafe_member_problem(member.name)
    if problem is not None:
        raise BadRecordError(quarantine.UNSAFE_PATH, where, f"{problem}; never unpacked")
    if member.issym() or member.islnk():
        reason, kind = (quarantine.SYMLINK, "symbolic") if member.issym() else (quarantine.HARDLINK, "hard")
        raise BadRecordError(reason, where, f"{kind} link to '{member.linkname}', never followed")
    if not member.isfile() and not member.isdir():
        kind = _SPECIAL_KINDS.get(member.type, f"a member of tar type {member.type!r}")
        raise BadRecordError(quarantine.SPECIAL_FILE, where, f"{kind}, not a file")


class StrictTarInfo(tarfile.TarInfo):
    """A tar header that refuses what tarfile silently takes for the end of the archive.

    tarfile ends the member list without an error at a missing or damaged header, so a truncated
    archive would look like a smaller one. Only the end-of-archive marker (a zero block) ends it here.
    """

    @classmethod
    def fromtarfile(cls, tarfile_: tarfile.TarFile) -> tarfile.TarInfo:
        try:
            return super().fromtarfile(tarfile_)
        except (tarfile.EmptyHeaderError, tarfile.TruncatedHeaderError, tarfile.InvalidHeaderError) as error:
            if tarfile_.offset == 0:
                raise
            at = f"byte {tarfile_.offset:,}"
            if isinstance(error, tarfile.InvalidHeaderError):
                raise tarfile.ReadError(f"invalid member header at {at} ({error})") from None
            raise tarfile.ReadError(f"the tar stream ends at {at} without an end-of-archive marker") from None


class _Unpacked:
    """What ``tar x`` (GNU tar) leaves on disk of the archive members it writes, one at a time.

    Nothing is written below a file ("Not a directory"), nor a file over a folder holding something
    ("File exists"); a folder replaces a file, a file an empty folder, a member an earlier one of its name.
    """

    def __init__(self):
        self.files: set[str] = set()
        self.folders: dict[str, bool] = {}  # each folder: whether anything is in it
        self.headers: dict[str, list[int]] = {}  # the header offsets of the members written at each path
        # Each folder entry of a review folder: its first member's spelling.
        self.not_files: dict[str, str] = {}

    def write(self, path: str, header: int, folder: bool) -> bool:
        """Whether ``tar x`` writes the member at ``path`` (a :func:`member_path`), a folder or a file."""
        parts = path.split("/")
        above = ["/".join(parts[:end]) for end in range(1, len(parts))]
        if any(parent in self.files for parent in above) or (not folder and self.folders.get(path)):
            return False
        self.folders.update(dict.fromkeys(above, True))
        if folder:
            self.files.discard(path)
            self.folders.setdefault(path, False)
        else:
            self.folders.pop(path, None)
            self.files.add(path)
        self.headers.setdefault(path, []).append(header)
        return True


class _ReadMatchFn(beam.DoFn):
    """Reads one matched file: an archive (reviews and urls) or one review file.

    Reviews go to the main output, keyed by folder; each urls file's movie ids to ``URLS``, the
    folder of each loose review file (whose urls file is read later, once) to ``FOLDERS``, and
    every record set aside to ``QUARANTINE``. An archive is read as ``tar x`` leaves it
    (:class:`_Unpacked`): of members of one name (``tar rf`` appends one) the last, so for each such
    name ``((archive, name), header of the last)`` goes to ``REPLACED``, and a urls file's movie ids
    are those of its last member.
    """

    URLS = "urls"
    FOLDERS = "folders"
    REPLACED = "replaced"
    _files_read: Progress | None = None

    def __init__(self, max_review_bytes: int, setting: str = MAX_REVIEW_BYTES_SETTING):
        super().__init__()
        self._max_bytes = max_review_bytes
        self._setting = setting

    def teardown(self) -> None:
        if self._files_read is not None:
            self._files_read.close()

    def _set_aside(self, origin: Origin, error: BadRecordError, raw: bytes, size: int):
        record = QuarantinedRecord.from_error(origin, error, raw[: self._max_bytes], max(size, len(raw)))
        return beam.pvalue.TaggedOutput(QUARANTINE, record)

    def process(self, listed: tuple[FileMetadata, bool]) -> Iterator:
        """``listed``: a file and whether it is an archive dataset, which only its pattern says: in a folder
        dataset, a review folder's ``5_8.tar.gz`` is a badly named review file, never opened as an archive."""
        metadata, archive = listed
        path = metadata.path
        special = special_file_kind(path)
        if archive:
            if special:
                raise ImdbDataError(f"{path} is {special}, not an archive file")
            yield from self._read_archive(path, metadata.size_in_bytes)
            return
        if not is_remote(path) and os.path.islink(path):  # never followed: list_dataset sets it aside
            return
        if special:
            yield set_aside(Origin(path), quarantine.SPECIAL_FILE, f"{special}, not a file", b"")
            return
        if self._files_read is None:  # created on the first loose file: an archive has its own progress
            self._files_read = Progress("ExampleGen: reading review files", unit="files")
        self._files_read.update()

        def read() -> bytes:
            with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as file:
                return file.read(self._max_bytes + 1)

        yield from self._read_review(Origin(path), metadata.size_in_bytes, read)

    def _read_review(self, origin: Origin, size: int, read: Callable[[], bytes], header: int | None = None):
        """The review of a loose file or an archive member (``read`` gives its first bytes), or the record
        set aside; a loose review's folder also goes to ``FOLDERS``."""
        in_archive = origin.member is not None
        name, where = (member_path(origin.member) if in_archive else origin.path), str(origin)
        data = None
        try:
            parsed = parse_review_path(name, where)
            if parsed is None:
                _not_a_review(name, where, in_archive)  # returns for an archive's other member, not read
                return
            data = read()
            text = check_review_bytes(data, size, self._max_bytes, where, setting=self._setting)
        except BadRecordError as error:
            yield self._set_aside(origin, error, read() if data is None else data, size)
            return
        dataset = f"{origin.path}/{parsed.dataset}" if in_archive else parsed.dataset
        folder = (dataset, parsed.split_dir, parsed.folder)
        fields = (parsed.source, parsed.split_dir, parsed.folder, parsed.review_id, parsed.rating, text)
        yield folder, Review(*fields, origin=origin, header=header)
        if not in_archive:
            yield beam.pvalue.TaggedOutput(self.FOLDERS, folder)

    def _read_archive(self, path: str, size: int | None = None) -> Iterator:
        member, finished = None, True  # the member being read, or the last read: where it breaks
        unpacked = _Unpacked()
        movie_ids: dict[str, beam.pvalue.TaggedOutput] = {}  # per urls file name, its last member's
        with (
            FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as file,
            Progress(f"ExampleGen: reading {path}", total=size, unit="B") as progress,
        ):
            try:
                # Python's gzip rather than tarfile's: it checks the length and CRC (truncation is an error).
                stream = (
                    gzip.GzipFile(fileobj=file, mode="rb") if path.lower().endswith(GZIP_SUFFIXES) else file
                )
                # Streaming mode: each member must be read before moving to the next.
                with tarfile.open(fileobj=stream, mode="r|", tarinfo=StrictTarInfo) as archive:
                    for member in archive:
                        progress.update_to(file.tell())
                        finished = False
                        for output in self._read_member(path, archive, member, unpacked):
                            if isinstance(output, beam.pvalue.TaggedOutput) and output.tag == self.URLS:
                                movie_ids[member_path(member.name)] = output
                            else:
                                yield output
                        finished = True
                    # Only zeros may follow the end-of-archive marker, a zero block: tarfile takes a
                    # member header zeroed by damage for it, and the members after it would be lost
                    # silently. Reading to the end of the file (after what tarfile read beyond the
                    # marker, the rest of the stream) also makes gzip check its trailer.
                    rest = itertools.chain([archive.fileobj.buf], iter(lambda: stream.read(1 << 20), b""))
                    if any(chunk.strip(b"\0") for chunk in rest):
                        raise tarfile.ReadError(
                            f"a zero block at byte {archive.offset:,} of the unpacked tar stream "
                            "ends the archive, but data follows it (a damaged member header?)"
                        )
            except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
                read = f"{file.tell():,} of {size:,}" if size else f"{file.tell():,}"
                where = "before its first member"
                if member is not None:
                    where = f"{'after' if finished else 'in'} member {member.name} (header at byte "
                    where += f"{member.offset:,} of the unpacked tar stream)"
                raise ImdbArchiveError(
                    f"{path}: truncated or corrupt archive, {where}, {read} bytes read: "
                    f"{type(error).__name__}: {error}"
                ) from error
        yield from movie_ids.values()
        for folder, spelled in unpacked.not_files.items():
            if folder in unpacked.folders:  # not a file written over it when empty
                detail = "a folder where a review file would be"
                yield set_aside(Origin(path, spelled), quarantine.NOT_A_FILE, detail, b"")
        for name, offsets in unpacked.headers.items():
            if len(offsets) > 1:
                yield beam.pvalue.TaggedOutput(self.REPLACED, ((path, name), offsets[-1]))

    def _read_member(
        self, path: str, archive: tarfile.TarFile, member: tarfile.TarInfo, unpacked: _Unpacked
    ) -> Iterator:
        """Reviews, urls lines or records set aside from one archive member; nothing is written.

        A member ``tar x`` would not write (below a file, a file over a folder holding something) is
        not read. A folder in a review folder (a file member whose name ends in / is one) goes to
        ``unpacked.not_files`` at its folder member or its first member below it (an archive may have
        no folder members), set aside once if still a folder at the end; what it holds is not read.
        """
        origin = Origin(path, member.name)
        name = member_path(member.name)
        folder = member.isdir() or (member.isfile() and member.name.endswith("/"))
        safe = unsafe_member_problem(member.name) is None  # else never written, only set aside
        if safe and not unpacked.write(name, member.offset, folder):
            return
        entry = _REVIEW_FOLDER_ENTRY.match(f"{name}/")
        not_read = folder or (entry is not None and entry.group(1) != name)  # a folder, or in one
        if safe and not_read and entry is not None:
            unpacked.not_files.setdefault(entry.group(1), _as_spelled(member.name, entry.group(1)))
        try:
            _check_member(member, str(origin))
        except BadRecordError as error:  # the quarantine line keeps a link's target
            raw = (
                archive.extractfile(member).read(self._max_bytes + 1)
                if member.isfile()
                else member.linkname.encode("utf-8", "surrogateescape")
            )
            yield self._set_aside(origin, error, raw, member.size)
            return
        if not_read:
            return
        urls = parse_urls_path(name)
        if urls is not None:
            dataset, split_dir, folder = urls
            movie_ids = parse_movie_ids(archive.extractfile(member).read())
            yield beam.pvalue.TaggedOutput(self.URLS, ((f"{path}/{dataset}", split_dir, folder), movie_ids))
            return
        yield from self._read_review(
            origin, member.size, lambda: archive.extractfile(member).read(self._max_bytes + 1), member.offset
        )


def member_path(name: str) -> str:
    """Where ``tar x`` writes an archive member: ``./aclImdb/x`` and ``aclImdb//x`` are ``aclImdb/x``."""
    return posixpath.normpath(name)


def _as_spelled(name: str, path: str) -> str:
    """The start of member ``name`` that is ``path`` (a start of its :func:`member_path`) as ``name`` spells it."""
    parts = name.split("/")
    for end in range(1, len(parts) + 1):
        if member_path("/".join(parts[:end])) == path:
            return "/".join(parts[:end])
    return path


def _not_a_review_name(name: str, where: str) -> BadRecordError:
    return BadRecordError(
        quarantine.BAD_FILE_NAME, where, f"review file name must be <id>_<rating>.txt, got '{name}'"
    )


def _not_a_review(path: str, where: str, in_archive: bool = False) -> None:
    """Raises for a badly named review file or a ``.txt`` in an unknown folder at review depth; returns
    for any other archive member (README, imdb.vocab, *.feat), which is not read."""
    in_folder = _IN_REVIEW_FOLDER.search(path)
    if in_folder is not None:
        raise _not_a_review_name(in_folder.group(1), where)
    if in_archive and not (_UNKNOWN_FOLDER_PATH.search(path) or _ARCHIVE_REVIEW_DEPTH.fullmatch(path)):
        return
    folder = "/".join(path.split("/")[-3:-1])
    message = f"folder '{folder}' is not a review folder <train|test>/<pos|neg|unsup>"
    raise BadRecordError(quarantine.UNKNOWN_FOLDER, where, message)


_GLOB = re.compile(r"[*?[]")


def _walk_pattern(pattern: str) -> Iterator[tuple[str, bool]]:
    """``(path, last)`` of every entry of a local folder tree that ``pattern`` reaches (``last``: at its
    last level), each level matched with ``fnmatch``: Beam's and TensorFlow's globs skip names holding
    a backslash or not UTF-8. A folder dataset's links to folders are not descended into, and a review
    folder's every entry is yielded, to be read or set aside. An archive's pattern (its escaped path)
    names one file, reached as its plain path would be, through links to folders.
    """
    root, globs = spans.split_path_at(pattern, _GLOB.search)
    return _walk_level(root, globs, archive=is_archive(pattern))


def _walk_level(folder: str, globs: list[str], archive: bool) -> Iterator[tuple[str, bool]]:
    last = len(globs) == 1
    try:  # an unreadable folder is skipped, as os.walk skips it
        names = sorted(os.listdir(folder))
    except OSError:
        return
    for name in names:
        path = os.path.normpath(os.path.join(folder, name))
        matched = fnmatch.fnmatchcase(name, globs[0])
        # At the last level, a review folder's every entry: a name the glob misses is set aside.
        if matched or (last and not archive and _IN_REVIEW_FOLDER.search(path)):
            yield path, last
        if matched and not last and os.path.isdir(path) and (archive or not os.path.islink(path)):
            yield from _walk_level(path, globs[1:], archive)


def list_local_files(pattern: str) -> list[str]:
    """The files :func:`list_dataset` reads and the links it sets aside: the driver fingerprints them.

    An archive is read through a link to it; a folder dataset's link to a folder is set aside.
    """
    if not _GLOB.search(pattern):
        return [pattern] if os.path.lexists(pattern) and not os.path.isdir(pattern) else []
    folders = not is_archive(pattern)
    return [
        path
        for path, last in _walk_pattern(pattern)
        if last and (not os.path.isdir(path) or (folders and os.path.islink(path)))
    ]


def list_dataset(pattern: str) -> Iterator:
    """The files to read (``FileMetadata``), and ``TaggedOutput(QUARANTINE, record)`` for entries set aside.

    A remote pattern or one plain path is matched by Beam, a local pattern holding glob characters by
    :func:`_walk_pattern` (Beam's match would read through links in a folder). Set aside from a folder
    dataset: a folder where a review file would be, and every symbolic link the pattern reaches, never
    followed (one could bring any file of the machine into the training data), a linked urls file too.
    """
    if is_remote(pattern) or not _GLOB.search(pattern):
        yield from FileSystems.match([pattern])[0].metadata_list
        return
    if is_archive(pattern):  # read through a link, as the plain path would be
        for path in list_local_files(pattern):
            status = os.stat(path) if os.path.exists(path) else os.lstat(path)
            yield FileMetadata(path, status.st_size, status.st_mtime)
        return
    for path, last in _walk_pattern(pattern):
        if os.path.islink(path):
            if not last and os.path.isfile(path) and parse_urls_path(path) is None:
                continue  # a link to a file where a folder belongs: the pattern never reads it
            target = os.readlink(path)
            kind = "a folder" if os.path.isdir(path) else "a file" if os.path.exists(path) else "missing"
            detail = f"symbolic link to '{target}' ({kind}), never followed"
            yield set_aside(Origin(path), quarantine.SYMLINK, detail, os.fsencode(target))
        elif last and os.path.isdir(path):
            if _IN_REVIEW_FOLDER.search(path):
                yield set_aside(
                    Origin(path), quarantine.NOT_A_FILE, "a folder where a review file would be", b""
                )
        elif last:
            status = os.lstat(path)
            yield FileMetadata(path, status.st_size, status.st_mtime)


def _list_to_read(pattern: str) -> Iterator:
    """:func:`list_dataset`, each file paired with whether it is read as an archive: an archive's pattern
    names archives, a folder dataset's names review files whatever their names."""
    archive = is_archive(pattern)
    for listed in list_dataset(pattern):
        yield listed if isinstance(listed, beam.pvalue.TaggedOutput) else (listed, archive)


def set_aside(origin: Origin, reason: str, detail: str, raw: bytes) -> beam.pvalue.TaggedOutput:
    """A record set aside whole (``raw`` is all of it), tagged :data:`QUARANTINE`."""
    return beam.pvalue.TaggedOutput(QUARANTINE, QuarantinedRecord(origin, reason, detail, raw, len(raw)))


def _read_urls_file(folder: FolderKey) -> Iterator[tuple[FolderKey, list[str | None]]]:
    """The movie ids of one folder of an unpacked dataset: none (logged) when its urls file cannot be read."""
    dataset, split_dir, name = folder
    path = FileSystems.join(dataset, split_dir, f"urls_{name}.txt")
    # A link is never followed: list_dataset sets it aside. (A bare return: Beam warns of any other.)
    if (not is_remote(path) and os.path.islink(path)) or not FileSystems.exists(path):
        return
    if special := special_file_kind(path):
        logger.warning("ExampleGen: %s is %s, not read; its reviews get no movie id", path, special)
        return
    try:
        with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as file:
            data = file.read()
    except OSError as error:
        logger.warning("ExampleGen: cannot read %s (%s); its reviews get no movie id", path, error)
        return
    yield folder, parse_movie_ids(data)


def _attach_movie_id(keyed: tuple[FolderKey, Review], movie_ids: dict[FolderKey, list]) -> Review:
    """The review with the movie id on its line of its folder's urls file, or why it has none."""
    folder, review = keyed
    lines = movie_ids.get(folder, ())
    if review.review_id >= len(lines):
        return dataclasses.replace(review, no_movie_id=NO_URLS_LINE)
    movie_id = lines[review.review_id]
    return dataclasses.replace(review, movie_id=movie_id, no_movie_id=None if movie_id else NO_TITLE_ID)


def _set_aside_replaced(
    keyed: tuple[FolderKey, Review], last_headers: dict[tuple[str, str], int]
) -> Iterator:
    """The review, or (as ``duplicate``) a review from an archive member that a later member of its name replaces."""
    _folder, review = keyed
    member = review.origin.member  # None for a loose file
    last = None if member is None else last_headers.get((review.origin.path, member_path(member)))
    if last is None or review.header == last:
        yield keyed
        return
    detail = (
        f"an earlier archive member of this name (header at byte {review.header:,} of the unpacked tar "
        f"stream): the last one (header at byte {last:,}) is read, as tar x leaves it"
    )
    yield set_aside(review.origin, quarantine.DUPLICATE, detail, review.text.encode("utf-8"))


def _require_reviews(count: int, file_pattern: str) -> None:
    if count == 0:
        raise ImdbDataError(f"no IMDb reviews found under {file_pattern}")


# Keys of the dictionary ReadImdbReviews (and SetAsideDuplicates) return.
REVIEWS = "reviews"
QUARANTINE = quarantining.QUARANTINE
COUNTS = quarantining.COUNTS


@beam.ptransform_fn
def ReadImdbReviews(
    pbegin: beam.pvalue.PBegin,
    file_pattern: str | Sequence[str],
    max_review_bytes: int = ExampleGenOptions().max_review_bytes,
    setting: str = MAX_REVIEW_BYTES_SETTING,
) -> dict[str, beam.PCollection]:
    """PBegin -> {REVIEWS: PCollection[Review], QUARANTINE: PCollection[QuarantinedRecord], COUNTS: ...}.

    Every review the file patterns name, with the movie id on its line of its folder's
    ``urls_<folder>.txt``; every record set aside; ``COUNTS`` as (kind, count) pairs, kind
    ``quarantining.READ`` for the reviews and the reason for the others. Raises (when the pipeline
    runs) :class:`ImdbArchiveError` for an archive that cannot be read to its end, and
    :class:`ImdbDataError` for patterns that yield no review record at all.
    """
    # Several patterns (one per span of a range) are read as one dataset.
    file_patterns = [file_pattern] if isinstance(file_pattern, str) else list(file_pattern)
    listed = (
        pbegin
        | "Pattern" >> beam.Create(file_patterns)
        | "ListFiles" >> beam.FlatMap(_list_to_read).with_outputs(QUARANTINE, main=REVIEWS)
    )
    read = (
        listed[REVIEWS]
        # Spreads the reading of many loose review files over workers.
        | "ReshuffleMatches" >> beam.Reshuffle()
        | "ReadMatches"
        >> beam.ParDo(_ReadMatchFn(max_review_bytes, setting)).with_outputs(
            _ReadMatchFn.URLS, _ReadMatchFn.FOLDERS, QUARANTINE, _ReadMatchFn.REPLACED, main=REVIEWS
        )
    )
    # Of archive members of one name, the last is read: tar x leaves it.
    latest = read[REVIEWS] | "SetAsideReplacedMembers" >> beam.FlatMap(
        _set_aside_replaced, beam.pvalue.AsDict(read[_ReadMatchFn.REPLACED])
    ).with_outputs(QUARANTINE, main=REVIEWS)
    set_aside = (read[QUARANTINE], listed[QUARANTINE], latest[QUARANTINE]) | "MergeSetAside" >> beam.Flatten()
    urls_of_loose_files = (
        read[_ReadMatchFn.FOLDERS]
        | "DistinctFolders" >> beam.Distinct()
        | "ReadUrlsFiles" >> beam.FlatMap(_read_urls_file)
    )
    # One list per urls file, a side input: a urls line per element cost more than the reviews.
    movie_ids = (read[_ReadMatchFn.URLS], urls_of_loose_files) | "MergeMovieIds" >> beam.Flatten()
    reviews = latest[REVIEWS] | "AttachMovieIds" >> beam.Map(_attach_movie_id, beam.pvalue.AsDict(movie_ids))
    # Every record is counted once, here: for the run's summary, and their total for the check below.
    counts = (
        reviews
        | "CountReviews" >> beam.combiners.Count.Globally()
        | "ReadCount" >> beam.Map(lambda count: (quarantining.READ, count)),
        set_aside | "CountSetAside" >> quarantining.CountByReason(),
    ) | "MergeCounts" >> beam.Flatten()
    # Bad records count: a dataset of only bad files fails on the bad-record limit, which says why.
    _ = (
        counts
        | "Counts" >> beam.Values()
        | "CountRecords" >> beam.CombineGlobally(sum)
        | "RequireRecords" >> beam.Map(_require_reviews, ", ".join(file_patterns))
    )
    return {REVIEWS: reviews, QUARANTINE: set_aside, COUNTS: counts}


@beam.ptransform_fn
def SplitReviews(reviews: beam.PCollection, eval_percent: int) -> dict[str, beam.PCollection]:
    """PCollection[Review] -> {split name: PCollection[Review]} for all four output splits, empty or not."""
    parts = reviews | "PartitionBySplit" >> beam.Partition(
        lambda review, _count, percent: OUTPUT_SPLITS.index(assign_split(review, percent)),
        len(OUTPUT_SPLITS),
        validate_eval_percent(eval_percent),
    )
    return dict(zip(OUTPUT_SPLITS, parts, strict=True))
