"""Setting records aside in ExampleGen: the Beam transforms that write the quarantine and its summary.

The layout they write (``quarantine-*.jsonl`` lines, ``summary.json``, the
Examples artifact's properties) is :mod:`components.artifacts.quarantine`;
here are the Beam transforms that write it and the limit on bad records.
"""

from __future__ import annotations

import posixpath

import apache_beam as beam

from components.artifacts.quarantine import (
    BAD_INPUT_REASONS,
    FILE_PREFIX,
    FILE_SUFFIX,
    MAX_SAMPLES,
    SUMMARY_FILE,
    IngestSummary,
    QuarantinedRecord,
)
from components.example_gen.errors import ImdbDataError
from components.example_gen.options import ExampleGenOptions

# Keys of the input dictionary of SummarizeIngest; any other key is an output split.
COUNTS = "counts"
QUARANTINE = "quarantine"
# Kind of the usable reviews read in COUNTS (the other kinds are reasons).
READ = "read"


class TooManyBadRecordsError(ImdbDataError):
    """More review records were bad than example_gen.max_bad_share / max_bad_records allow."""


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
