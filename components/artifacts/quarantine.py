"""The Examples artifact: its split folders, the records ExampleGen set aside, and the ingest summary.

ExampleGen writes it (the Beam transforms are components/example_gen/quarantining.py); the run
report, ``imdb-pipeline score`` and the step log read it through here. The layout of
``<uri>/quarantine/`` (``quarantine-*.jsonl``, ``summary.json``) is the README's "When the input is bad".
"""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import Iterable, Mapping
import dataclasses
import json
import os
import posixpath
import re
from typing import Protocol

from components.artifacts.ref import ArtifactRef
from components.file_patterns import tfrecord_compression_of
from components.plural import counted, noun_form

# Reasons of bad input: a file that is not a usable review. They count towards
# the example_gen.max_bad_share / max_bad_records limits.
EMPTY = "empty"
WHITESPACE_ONLY = "whitespace_only"
INVALID_UTF8 = "invalid_utf8"
BINARY = "binary"
TOO_LARGE = "too_large"
BAD_FILE_NAME = "bad_file_name"
RATING_CONTRADICTS_FOLDER = "rating_contradicts_folder"
# A value for an example outside its raw schema feature's range (an id beyond int64).
OUT_OF_RANGE = "out_of_range"
UNKNOWN_FOLDER = "unknown_folder"
SYMLINK = "symlink"
HARDLINK = "hardlink"
SPECIAL_FILE = "special_file"
# A folder where a review file would be (directly in <train|test>/<pos|neg|unsup>/).
NOT_A_FILE = "not_a_file"
UNSAFE_PATH = "unsafe_path"
BAD_INPUT_REASONS = (
    EMPTY,
    WHITESPACE_ONLY,
    INVALID_UTF8,
    BINARY,
    TOO_LARGE,
    BAD_FILE_NAME,
    RATING_CONTRADICTS_FOLDER,
    OUT_OF_RANGE,
    UNKNOWN_FOLDER,
    SYMLINK,
    HARDLINK,
    SPECIAL_FILE,
    NOT_A_FILE,
    UNSAFE_PATH,
)
# Reasons of policy: good reviews kept out of training (see ExampleGenOptions).
# They do not count towards the limits.
DUPLICATE = "duplicate"
IN_TEST_SPLIT = "in_test_split"
POLICY_REASONS = (DUPLICATE, IN_TEST_SPLIT)
REASONS = BAD_INPUT_REASONS + POLICY_REASONS

QUARANTINE_DIR = "quarantine"
FILE_PREFIX = "quarantine"
FILE_SUFFIX = ".jsonl"
SUMMARY_FILE = "summary.json"
# Where a failed ExampleGen keeps a copy of its quarantine (see keep_quarantine).
FAILED_RUNS_DIR = "failed_runs"
# Sources per reason kept in the summary and named in errors.
MAX_SAMPLES = 5

# Custom properties of the Examples artifact (ints): reviews read, records set aside in all, reviews
# written without a movie id, and one per reason (zeros included, so every run has them all).
READ_PROPERTY = "reviews_read"
SET_ASIDE_PROPERTY = "quarantined"
NO_MOVIE_ID_PROPERTY = "reviews_without_movie_id"
REASON_PROPERTY_PREFIX = "quarantined_"


def shown_name(name: str) -> str:
    """A name as one line of UTF-8 text, as ``ls -b`` shows it: a backslash as ``\\\\``, a control character
    as ``\\n``, ``\\t``, ``\\r`` or ``\\x1b``, a byte that is not UTF-8 (read as a surrogate) as ``\\xff``.

    Every file the pipeline writes (quarantine lines, summaries, predictions) and every message shows a
    name this way: Beam's string coder and UTF-8 output cannot carry the surrogates, and distinct names
    show distinctly. A character no byte stands for (a YAML or JSON ``"\\ud800"``) or a Unicode line break
    shows as Python writes it, ``\\ud800``, ``\\u2028``.
    """
    return _NOT_SHOWN.sub(_escape, name)


_NOT_SHOWN = re.compile("[\\\\\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_NAMED = {"\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _escape(match: re.Match[str]) -> str:
    code = ord(match[0])
    if match[0] in _NAMED:
        return _NAMED[match[0]]
    if code < 0x80 or 0xDC80 <= code <= 0xDCFF:  # surrogateescape's \udc80-\udcff are the bytes 0x80-0xff
        return f"\\x{code & 0xFF:02x}"
    return f"\\u{code:04x}"


@dataclasses.dataclass(frozen=True)
class Origin:
    """Where a record was read: a file, a member of an archive file, or one record of a file.

    ``line`` and ``record`` (1-based, of a text or TFRecord file) are set by ``imdb-pipeline score``;
    a quarantine line holds them only when they are set.
    """

    path: str
    member: str | None = None
    line: int | None = None
    record: int | None = None

    def _position(self) -> dict[str, int]:
        return {name: n for name, n in (("line", self.line), ("record", self.record)) if n is not None}

    def __str__(self) -> str:
        path = shown_name(self.path)
        where = path if self.member is None else f"{path} (member {shown_name(self.member)})"
        return where + "".join(f", {name} {n}" for name, n in self._position().items())

    def fields(self) -> dict[str, str | int | None]:
        """``source`` and ``member``, and ``line`` / ``record`` when set: the keys of a quarantine line."""
        member = None if self.member is None else shown_name(self.member)
        return {"source": shown_name(self.path), "member": member, **self._position()}


class BadRecord(Protocol):
    """What a quarantine line needs of an error (``components.example_gen.errors.BadRecordError``)."""

    reason: str
    problem: str


@dataclasses.dataclass(frozen=True)
class QuarantinedRecord:
    """One record set aside, with everything needed to fix it and run again.

    ``raw`` is the record's bytes (their first ``max_review_bytes`` when it is too large; a link's
    target for a link), ``size`` its full size.
    """

    origin: Origin
    reason: str
    detail: str
    raw: bytes
    size: int

    @classmethod
    def from_error(cls, origin: Origin, error: BadRecord, raw: bytes, size: int) -> QuarantinedRecord:
        return cls(origin, error.reason, error.problem, raw, size)

    def to_json_line(self) -> str:
        """One line of a quarantine file (keys sorted, ASCII only)."""
        return json.dumps(
            {
                **self.origin.fields(),
                "reason": self.reason,
                "detail": shown_name(self.detail),
                "size": self.size,
                "raw_base64": base64.b64encode(self.raw).decode("ascii"),
                "raw_truncated": len(self.raw) < self.size,
            },
            sort_keys=True,
        )


@dataclasses.dataclass(frozen=True)
class IngestSummary:
    """What ExampleGen read and set aside: the facts the limits and the report need.

    ``reviews_read`` counts the usable reviews (before duplicates were set aside), ``counts`` the
    records set aside per reason, ``split_folders`` the reviews written per output split and dataset
    folder, ``no_movie_id`` those without a movie id per split and cause; the samples are the first
    :data:`MAX_SAMPLES` sources (sorted) per reason or cause.
    """

    reviews_read: int
    counts: Mapping[str, int]
    samples: Mapping[str, tuple[str, ...]]
    split_folders: Mapping[str, Mapping[str, int]]
    no_movie_id: Mapping[str, Mapping[str, int]] = dataclasses.field(default_factory=dict)
    no_movie_id_samples: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)

    def split_size(self, split: str) -> int:
        """Reviews written to ``split`` (0 for a split without any)."""
        return sum(self.split_folders.get(split, {}).values())

    @property
    def reviews_without_movie_id(self) -> int:
        return sum(sum(causes.values()) for causes in self.no_movie_id.values())

    def describe_no_movie_id(self, splits: Iterable[str]) -> str:
        """Says how many reviews have no movie id, why, and where they went; "" when all have one.

        ``3 reviews have no movie id (no_urls_line 2: a, b; urls_line_without_title_id 1: c);
        the train/eval cut groups each of them by its own text instead of its movie: train 1, eval 1, ...``
        """
        total = self.reviews_without_movie_id
        if not total:
            return ""
        causes: Counter[str] = Counter()
        for per_cause in self.no_movie_id.values():
            causes.update(per_cause)
        why = "; ".join(
            f"{cause} {count}: {', '.join(self.no_movie_id_samples.get(cause, ()))}"
            for cause, count in _by_count(causes).items()
        )
        where = ", ".join(f"{split} {sum(self.no_movie_id.get(split, {}).values())}" for split in splits)
        return (
            f"{counted(total, 'review')} {noun_form(total, 'has', 'have')} no movie id ({why}); the train/eval cut groups each of them by "
            f"its own text instead of its movie: {where}"
        )

    @property
    def bad_records(self) -> int:
        return sum(self.counts.get(reason, 0) for reason in BAD_INPUT_REASONS)

    @property
    def set_aside(self) -> int:
        return sum(self.counts.values())

    @property
    def records(self) -> int:
        """Review records seen: the usable ones and the bad ones."""
        return self.reviews_read + self.bad_records

    @property
    def bad_share(self) -> float:
        return self.bad_records / self.records if self.records else 0.0

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True, indent=1)

    @classmethod
    def from_json(cls, text: str) -> IngestSummary:
        values = json.loads(text)
        # no_movie_id and its samples are absent from summaries written before they were counted.
        for name in ("samples", "no_movie_id_samples"):
            values[name] = {key: tuple(origins) for key, origins in values.get(name, {}).items()}
        return cls(**values)

    def artifact_properties(self) -> dict[str, int]:
        """The Examples artifact's custom properties (see :data:`READ_PROPERTY`)."""
        return {
            READ_PROPERTY: self.reviews_read,
            SET_ASIDE_PROPERTY: self.set_aside,
            NO_MOVIE_ID_PROPERTY: self.reviews_without_movie_id,
            **{REASON_PROPERTY_PREFIX + reason: self.counts.get(reason, 0) for reason in REASONS},
        }

    def describe_reasons(self, reasons: Iterable[str] = REASONS) -> str:
        """``invalid_utf8 2 (a, b), empty 1 (c)``: counts with the first sources, most frequent first."""
        present = [reason for reason in reasons if self.counts.get(reason)]
        present.sort(key=lambda reason: (-self.counts[reason], REASONS.index(reason)))
        return ", ".join(f"{r} {self.counts[r]} ({', '.join(self.samples.get(r, ()))})" for r in present)


@dataclasses.dataclass(frozen=True)
class KeptQuarantine:
    """Where a run's quarantine is left: its folder, or the error that kept a failed run from keeping it."""

    folder: str | None = None
    error: Exception | None = None


def keep_quarantine(examples_uri: str) -> KeptQuarantine:
    """Copies an Examples artifact's quarantine outside any artifact (TFX deletes a failed execution's
    outputs, and the records set aside that say why with them); the copy, or why there is none.

    ``<pipeline_root>/<ExampleGen>/examples/<execution id>`` keeps it in
    ``<pipeline_root>/<ExampleGen>/failed_runs/<execution id>/quarantine``, or in ``<execution id>.2``,
    ``.3`` ... when that folder exists: execution ids restart with a new ML Metadata store, and a kept
    quarantine is never replaced (see :func:`_claim` for two failed runs at once).
    """
    import tensorflow as tf
    from tfx.utils import io_utils

    uri = examples_uri.rstrip("/")
    run_dir = posixpath.join(
        posixpath.dirname(posixpath.dirname(uri)), FAILED_RUNS_DIR, posixpath.basename(uri)
    )
    try:
        tf.io.gfile.makedirs(posixpath.dirname(run_dir))
        folder, copy = run_dir, 1
        while not _claim(folder):
            copy += 1
            folder = f"{run_dir}.{copy}"
        kept = posixpath.join(folder, QUARANTINE_DIR)
        io_utils.copy_dir(posixpath.join(uri, QUARANTINE_DIR), kept)
    except (OSError, tf.errors.OpError) as error:
        return KeptQuarantine(error=error)
    return KeptQuarantine(kept)


def _claim(folder: str) -> bool:
    """Creates ``folder`` for this run alone; False when it exists (a folder, or anything else).

    On a local file system ``mkdir`` is the claim: it fails when the folder exists, so failed runs at
    the same moment each get their own. ``tf.io.gfile`` (``gs://`` and other URIs) has no such call (its
    ``mkdir`` succeeds on an existing folder, ``rename`` checks before it renames): there the folder is
    looked for first, and runs failing within that moment may share it.
    """
    import tensorflow as tf

    if "://" not in folder:
        try:
            os.mkdir(folder)
        except FileExistsError:
            return False
        return True
    if tf.io.gfile.exists(folder):
        return False
    tf.io.gfile.mkdir(folder)
    return True


def read_summary(quarantine_dir: str) -> IngestSummary:
    """Reads the ``summary.json`` ExampleGen wrote (any Beam filesystem)."""
    from apache_beam.io.filesystems import FileSystems

    with FileSystems.open(posixpath.join(quarantine_dir, SUMMARY_FILE)) as file:
        return IngestSummary.from_json(file.read().decode("utf-8"))


def read_quarantine(examples: ArtifactRef) -> tuple[dict[str, int] | None, dict[str, tuple[str, ...]]]:
    """Records ExampleGen set aside per reason ({}: none; None: no quarantine), and samples per reason.

    Read from ``<examples>/quarantine/summary.json``, else the other files under ``quarantine/``
    (counted per file group: TFRecords by record, other files by non-empty line), else the Examples
    artifact's ``quarantined_<reason>`` properties.
    """
    import tensorflow as tf

    directory = os.path.join(examples.uri, QUARANTINE_DIR)
    if tf.io.gfile.exists(os.path.join(directory, SUMMARY_FILE)):
        summary = read_summary(directory)
        counts = {reason: int(count) for reason, count in summary.counts.items() if count}
        return _by_count(counts), dict(summary.samples)
    if tf.io.gfile.isdir(directory):
        counts: Counter[str] = Counter()
        for root, _dirs, files in tf.io.gfile.walk(directory):
            group = os.path.relpath(root, directory)
            for name in sorted(files):
                counts[name if group == "." else group] += _count_records(os.path.join(root, name))
        return _by_count({key: count for key, count in counts.items() if count}), {}
    properties = {name: value for name, value in examples.properties.items() if isinstance(value, int)}
    reasons = {
        name.removeprefix(REASON_PROPERTY_PREFIX): count
        for name, count in properties.items()
        if name.startswith(REASON_PROPERTY_PREFIX) and count
    }
    if reasons or SET_ASIDE_PROPERTY in properties:
        return _by_count(reasons), {}
    return None, {}


def _by_count(counts: dict[str, int]) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def _count_records(path: str) -> int:
    import tensorflow as tf

    compression = tfrecord_compression_of(path)
    if compression or ".tfrecord" in os.path.basename(path):
        return sum(1 for _ in tf.data.TFRecordDataset(path, compression_type=compression))
    with tf.io.gfile.GFile(path, "rb") as f:
        return sum(1 for line in f.read().splitlines() if line.strip())
