"""Records that ExampleGen sets aside, and the run summary that decides whether that is acceptable.

A review record that cannot (or should not) become an example is not dropped:
it goes to the quarantine of the Examples artifact, ``<uri>/quarantine/``, one
JSON object per line in ``quarantine-*.jsonl``::

    {"detail": "not valid UTF-8 (invalid start byte at byte 3)", "member": "aclImdb/train/pos/7_8.txt",
     "raw_base64": "b2sg/yBiYWQ=", "raw_truncated": false, "reason": "invalid_utf8", "size": 8,
     "source": "/data/aclImdb_v1.tar.gz"}

``source`` is the file read (a review file or an archive), ``member`` the
archive member (null for a loose file), ``raw_base64`` the record's bytes in
standard base64 (RFC 4648): the whole file, or its first
``example_gen.max_review_bytes`` bytes when ``raw_truncated`` (``size`` is the
full size); for a link, the link's target. ``summary.json`` beside it holds the
counts per reason and per split, and the reviews written without a movie id
(no usable ``urls_*.txt`` line) per split and cause. ``quarantine`` is not a split folder
(``Split-<name>``), so downstream steps never read it.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
import dataclasses
import json
import posixpath

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from components.example_gen.errors import BadRecordError, ImdbDataError
from components.example_gen.options import ExampleGenOptions

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
# Sources per reason kept in the summary and named in errors.
MAX_SAMPLES = 5

# Custom properties of the Examples artifact (ints): reviews read, records set
# aside in all, and one per reason (zeros included, so every run has them all).
READ_PROPERTY = "reviews_read"
SET_ASIDE_PROPERTY = "quarantined"
# Reviews written without a movie id (no usable urls line), all splits.
NO_MOVIE_ID_PROPERTY = "reviews_without_movie_id"
REASON_PROPERTY_PREFIX = "quarantined_"

# Keys of the input dictionary of SummarizeIngest; any other key is an output split.
COUNTS = "counts"
QUARANTINE = "quarantine"
# Kind of the usable reviews read in COUNTS (the other kinds are reasons).
READ = "read"


class TooManyBadRecordsError(ImdbDataError):
    """More review records were bad than example_gen.max_bad_share / max_bad_records allow."""


def shown_name(name: str) -> str:
    """A path as text: bytes of a name that is not UTF-8 (read as surrogates) shown as ``\\xff``.

    Such a name cannot be encoded to UTF-8 as it is, so Beam's string coder
    could not carry it into the summary. (A quarantine line keeps the name
    itself: JSON escapes the surrogates, and reading the line restores them.)
    """
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


@dataclasses.dataclass(frozen=True)
class Origin:
    """Where a record was read: a file, a member of an archive file, or one record of a file.

    ``line`` (a text file's 1-based line) and ``record`` (a TFRecord file's
    1-based record) are set by ``imdb-pipeline score``, which reads reviews
    from such files; a quarantine line holds them only when they are set.
    """

    path: str
    member: str | None = None
    line: int | None = None
    record: int | None = None

    def __str__(self) -> str:
        path = shown_name(self.path)
        where = path if self.member is None else f"{path} (member {shown_name(self.member)})"
        if self.line is not None:
            where += f", line {self.line}"
        if self.record is not None:
            where += f", record {self.record}"
        return where

    def fields(self) -> dict[str, str | int | None]:
        """``source`` and ``member``, and ``line`` / ``record`` when set: the keys of a quarantine line."""
        values: dict[str, str | int | None] = {"source": self.path, "member": self.member}
        if self.line is not None:
            values["line"] = self.line
        if self.record is not None:
            values["record"] = self.record
        return values


@dataclasses.dataclass(frozen=True)
class QuarantinedRecord:
    """One record set aside, with everything needed to fix it and run again.

    Attributes:
        origin: The file or archive member it was read from.
        reason: One of :data:`REASONS`.
        detail: What is wrong, for a person.
        raw: The record's bytes, or their first ``max_review_bytes`` when the
            record is too large; a link's target for a link.
        size: The record's full size in bytes.
    """

    origin: Origin
    reason: str
    detail: str
    raw: bytes
    size: int

    @classmethod
    def from_error(cls, origin: Origin, error: BadRecordError, raw: bytes, size: int) -> QuarantinedRecord:
        return cls(origin, error.reason, error.problem, raw, size)

    def to_json_line(self) -> str:
        """One line of a quarantine file (keys sorted, ASCII only)."""
        return json.dumps(
            {
                **self.origin.fields(),
                "reason": self.reason,
                "detail": self.detail,
                "size": self.size,
                "raw_base64": base64.b64encode(self.raw).decode("ascii"),
                "raw_truncated": len(self.raw) < self.size,
            },
            sort_keys=True,
        )

    @classmethod
    def from_json_line(cls, line: str) -> QuarantinedRecord:
        values = json.loads(line)
        return cls(
            Origin(values["source"], values["member"], values.get("line"), values.get("record")),
            values["reason"],
            values["detail"],
            base64.b64decode(values["raw_base64"], validate=True),
            values["size"],
        )


@dataclasses.dataclass(frozen=True)
class IngestSummary:
    """What ExampleGen read and set aside: the facts the limits and the report need.

    Attributes:
        reviews_read: Review records read and usable (before duplicates and
            test overlap were set aside).
        counts: Records set aside per reason (reasons without records absent).
        samples: Per reason, the first :data:`MAX_SAMPLES` origins in sorted order.
        split_folders: Per output split, the reviews written per dataset folder
            (``pos``, ``neg``, ``unsup``).
        no_movie_id: Per output split, the reviews written without a movie id
            per cause (``reader.NO_URLS_LINE``, ``reader.NO_TITLE_ID``); the
            train/eval cut groups each of them by its own text.
        no_movie_id_samples: Per cause, the first :data:`MAX_SAMPLES` sources.
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

        ``3 review(s) have no movie id (no_urls_line 2: a, b; urls_line_without_title_id 1: c);
        the train/eval cut groups each of them by its own text instead of its movie: train 1, eval 1, ...``
        """
        total = self.reviews_without_movie_id
        if not total:
            return ""
        causes: dict[str, int] = {}
        for per_cause in self.no_movie_id.values():
            for cause, count in per_cause.items():
                causes[cause] = causes.get(cause, 0) + count
        why = "; ".join(
            f"{cause} {count}: {', '.join(self.no_movie_id_samples.get(cause, ()))}"
            for cause, count in sorted(causes.items(), key=lambda item: (-item[1], item[0]))
        )
        where = ", ".join(f"{split} {sum(self.no_movie_id.get(split, {}).values())}" for split in splits)
        return (
            f"{total} review(s) have no movie id ({why}); the train/eval cut groups each of them by "
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
        return cls(
            values["reviews_read"],
            values["counts"],
            {reason: tuple(origins) for reason, origins in values["samples"].items()},
            values["split_folders"],
            # Absent from summaries written before reviews without a movie id were counted.
            values.get("no_movie_id", {}),
            {cause: tuple(sources) for cause, sources in values.get("no_movie_id_samples", {}).items()},
        )

    def artifact_properties(self) -> dict[str, int]:
        """The Examples artifact's custom properties (see :data:`READ_PROPERTY`)."""
        properties = {
            READ_PROPERTY: self.reviews_read,
            SET_ASIDE_PROPERTY: self.set_aside,
            NO_MOVIE_ID_PROPERTY: self.reviews_without_movie_id,
        }
        for reason in REASONS:
            properties[REASON_PROPERTY_PREFIX + reason] = self.counts.get(reason, 0)
        return properties

    def describe_reasons(self, reasons: Iterable[str] = REASONS) -> str:
        """``invalid_utf8 2 (a, b), empty 1 (c)``: counts with the first sources, most frequent first."""
        present = sorted((reason for reason in reasons if self.counts.get(reason)), key=self._by_count)
        return ", ".join(
            f"{reason} {self.counts[reason]} ({', '.join(self.samples.get(reason, ()))})"
            for reason in present
        )

    def _by_count(self, reason: str) -> tuple[int, int]:
        return -self.counts[reason], REASONS.index(reason)


def check_bad_records(summary: IngestSummary, options: ExampleGenOptions, quarantine_dir: str) -> None:
    """Raises :class:`TooManyBadRecordsError` when the bad records exceed either limit.

    The message says how many of each reason, names the first few sources and
    where the quarantined records are, so the user can fix them and run again.
    """
    exceeded = []
    section = ExampleGenOptions.SECTION
    if summary.bad_records > options.max_bad_records:
        exceeded.append(f"{section}.max_bad_records is {options.max_bad_records}")
    if summary.bad_share > options.max_bad_share:
        exceeded.append(f"{section}.max_bad_share is {options.max_bad_share:g}")
    if not exceeded:
        return
    raise TooManyBadRecordsError(
        f"too many bad review records: {summary.bad_records} of {summary.records} "
        f"({summary.bad_share:.1%}) were set aside, and {' and '.join(exceeded)}. "
        f"By reason: {summary.describe_reasons(BAD_INPUT_REASONS)}. "
        f"Every one is in {quarantine_dir}/{FILE_PREFIX}-*{FILE_SUFFIX} with its reason and raw bytes; "
        "fix them and run again, or raise the limit"
    )


# --- Beam ----------------------------------------------------------------------------------------------


class WriteQuarantine(beam.PTransform):
    """PCollection[QuarantinedRecord] -> ``<directory>/quarantine-*.jsonl`` (written even when empty)."""

    def __init__(self, directory: str):
        super().__init__()
        self._directory = directory

    def expand(self, records: beam.PCollection) -> beam.pvalue.PDone:
        return (
            records
            | "ToJsonLines" >> beam.Map(QuarantinedRecord.to_json_line)
            | "WriteJsonLines"
            >> beam.io.WriteToText(posixpath.join(self._directory, FILE_PREFIX), file_name_suffix=FILE_SUFFIX)
        )


class CountByReason(beam.PTransform):
    """PCollection[QuarantinedRecord] -> PCollection[(reason, count)]; reasons without records absent."""

    def expand(self, records: beam.PCollection) -> beam.PCollection:
        return (
            records
            | "Reason" >> beam.Map(lambda record: record.reason)
            | "CountPerReason" >> beam.combiners.Count.PerElement()
        )


def _summary(facts: list[tuple[str, tuple]]) -> str:
    counts: dict[str, int] = {}
    samples: dict[str, tuple[str, ...]] = {}
    split_folders: dict[str, dict[str, int]] = {}
    no_movie_id: dict[str, dict[str, int]] = {}
    no_movie_id_samples: dict[str, tuple[str, ...]] = {}
    reviews_read = 0
    for kind, value in facts:
        if kind == "count":
            counted, count = value
            if counted == READ:
                reviews_read += count
            else:
                counts[counted] = counts.get(counted, 0) + count
        elif kind == "samples":
            reason, origins = value
            samples[reason] = tuple(origins)
        elif kind == "no_movie_id":
            split, cause, count = value
            no_movie_id.setdefault(split, {})[cause] = count
        elif kind == "no_movie_id_samples":
            cause, sources = value
            no_movie_id_samples[cause] = tuple(sources)
        else:
            split, folder, count = value
            split_folders.setdefault(split, {})[folder] = count
    return IngestSummary(
        reviews_read, counts, samples, split_folders, no_movie_id, no_movie_id_samples
    ).to_json()


def _count_per_split(reviews: beam.PCollection, split: str, kind: str, key) -> beam.PCollection:
    """PCollection[Review] -> (kind, (split, key, count)) per distinct ``key(review)``."""
    return (
        reviews
        | f"Key[{kind}][{split}]" >> beam.Map(key)
        | f"CountPerKey[{kind}][{split}]" >> beam.combiners.Count.PerElement()
        | f"Fact[{kind}][{split}]" >> beam.Map(lambda key_count, name: (kind, (name, *key_count)), split)
    )


class SummarizeIngest(beam.PTransform):
    """Writes ``<directory>/summary.json``: the :class:`IngestSummary` of a run.

    The input is a dictionary: :data:`COUNTS` the records counted where they
    were made, as (kind, count) pairs (kind :data:`READ` for the usable reviews
    read, else a reason; see :class:`CountByReason`), so that no record is
    counted twice; :data:`QUARANTINE` every record set aside, for the samples;
    and one PCollection of reviews per output split under the split's name.
    """

    def __init__(self, directory: str):
        super().__init__()
        self._directory = directory

    def expand(self, inputs: dict[str, beam.PCollection]) -> beam.pvalue.PDone:
        records = inputs[QUARANTINE]
        facts = [
            inputs[COUNTS] | "CountFact" >> beam.Map(lambda kind_count: ("count", kind_count)),
            records
            | "ReasonAndOrigin" >> beam.Map(lambda record: (record.reason, str(record.origin)))
            | "FirstOrigins" >> beam.combiners.Top.SmallestPerKey(MAX_SAMPLES)
            | "SamplesFact" >> beam.Map(lambda reason_origins: ("samples", reason_origins)),
        ]
        without_movie_id = []
        for split, reviews in inputs.items():
            if split in (COUNTS, QUARANTINE):
                continue
            facts.append(_count_per_split(reviews, split, "split", lambda review: review.folder))
            missing = reviews | f"NoMovieId[{split}]" >> beam.Filter(lambda review: review.movie_id is None)
            without_movie_id.append(missing)
            facts.append(_count_per_split(missing, split, "no_movie_id", lambda review: review.no_movie_id))
        facts.append(
            without_movie_id
            | "MergeNoMovieId" >> beam.Flatten()
            | "CauseAndOrigin" >> beam.Map(lambda review: (review.no_movie_id, str(review.origin)))
            | "FirstNoMovieId" >> beam.combiners.Top.SmallestPerKey(MAX_SAMPLES)
            | "NoMovieIdSamplesFact" >> beam.Map(lambda cause_origins: ("no_movie_id_samples", cause_origins))
        )
        return (
            facts
            | "MergeFacts" >> beam.Flatten()
            | "AllFacts" >> beam.combiners.ToList()
            | "ToSummary" >> beam.Map(_summary)
            | "WriteSummary"
            >> beam.io.WriteToText(
                posixpath.join(self._directory, SUMMARY_FILE), num_shards=1, shard_name_template=""
            )
        )


def read_summary(quarantine_dir: str) -> IngestSummary:
    """Reads the summary that :class:`SummarizeIngest` wrote (any Beam filesystem)."""
    with FileSystems.open(posixpath.join(quarantine_dir, SUMMARY_FILE)) as file:
        return IngestSummary.from_json(file.read().decode("utf-8"))
