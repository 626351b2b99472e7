"""Setting records aside in ExampleGen: the Beam transforms that write the quarantine and its summary.

The layout they write is :mod:`components.artifacts.quarantine`; here too is the limit on bad records.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
import posixpath

import apache_beam as beam

from components.artifacts.quarantine import (
    BAD_INPUT_REASONS,
    FILE_PREFIX,
    FILE_SUFFIX,
    MAX_SAMPLES,
    SUMMARY_FILE,
    TOO_LARGE,
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


def bad_records_problem(summary: IngestSummary, options: ExampleGenOptions) -> str:
    """Says how the bad records exceed either limit, and how to read the too large ones; "" within both."""
    exceeded = []
    section = ExampleGenOptions.SECTION
    if summary.bad_records > options.max_bad_records:
        exceeded.append(f"{section}.max_bad_records is {options.max_bad_records}")
    if summary.bad_share > options.max_bad_share:
        exceeded.append(f"{section}.max_bad_share is {options.max_bad_share:g}")
    if not exceeded:
        return ""
    problem = (
        f"too many bad review records: {summary.bad_records} of {summary.records} "
        f"({summary.bad_share:.1%}) were set aside, and {' and '.join(exceeded)}. "
        f"By reason: {summary.describe_reasons(BAD_INPUT_REASONS)}"
    )
    if summary.counts.get(TOO_LARGE):
        problem += (
            f". The {TOO_LARGE} ones are larger than {section}.max_review_bytes ({options.max_review_bytes:,} "
            "bytes): raise it to read them"
        )
    return problem


# --- Beam ----------------------------------------------------------------------------------------------


@beam.ptransform_fn
def WriteQuarantine(records: beam.PCollection, directory: str) -> beam.pvalue.PDone:
    """PCollection[QuarantinedRecord] -> ``<directory>/quarantine-*.jsonl`` (written even when empty)."""
    return (
        records
        | "ToJsonLines" >> beam.Map(QuarantinedRecord.to_json_line)
        | "WriteJsonLines"
        >> beam.io.WriteToText(posixpath.join(directory, FILE_PREFIX), file_name_suffix=FILE_SUFFIX)
    )


@beam.ptransform_fn
def CountByReason(records: beam.PCollection) -> beam.PCollection:
    """PCollection[QuarantinedRecord] -> PCollection[(reason, count)]; reasons without records absent."""
    return (
        records
        | "Reason" >> beam.Map(lambda record: record.reason)
        | "CountPerReason" >> beam.combiners.Count.PerElement()
    )


# A fact for the summary: (key, a count or a sample), the key (IngestSummary field, key in it[, key in that]).
Fact = tuple[tuple, int | str]


def _review_facts(review, split: str) -> Iterator[Fact]:
    yield ("split_folders", split, review.folder), 1
    if review.movie_id is None:
        yield ("no_movie_id", split, review.no_movie_id), 1
        yield ("no_movie_id_samples", review.no_movie_id), str(review.origin)


def _keep_samples(samples: dict[tuple, list[str]], key: tuple, more: Iterable[str]) -> None:
    samples[key] = sorted([*samples.get(key, []), *more])[:MAX_SAMPLES]


class _Summarize(beam.CombineFn):
    """Facts -> the JSON of the :class:`IngestSummary`: counts summed, the first MAX_SAMPLES samples kept."""

    def create_accumulator(self) -> tuple[Counter, dict[tuple, list[str]]]:
        return Counter(), {}

    def add_input(self, accumulator, fact: Fact):
        counts, samples = accumulator
        key, value = fact
        if isinstance(value, str):
            _keep_samples(samples, key, [value])
        else:
            counts[key] += value
        return accumulator

    def merge_accumulators(self, accumulators):
        counts, samples = self.create_accumulator()
        for more_counts, more_samples in accumulators:
            counts.update(more_counts)
            for key, values in more_samples.items():
                _keep_samples(samples, key, values)
        return counts, samples

    def extract_output(self, accumulator) -> str:
        counts, samples = accumulator
        fields: dict[str, dict] = {
            name: {} for name in ("counts", "samples", "split_folders", "no_movie_id", "no_movie_id_samples")
        }
        for (name, *outer, key), count in counts.items():
            (fields[name].setdefault(outer[0], {}) if outer else fields[name])[key] = count
        for (name, key), values in samples.items():
            fields[name][key] = tuple(values)
        return IngestSummary(fields["counts"].pop(READ, 0), **fields).to_json()


@beam.ptransform_fn
def SummarizeIngest(inputs: dict[str, beam.PCollection], directory: str) -> beam.pvalue.PDone:
    """Writes ``<directory>/summary.json``: the :class:`IngestSummary` of a run.

    The input is a dictionary: :data:`COUNTS` the records counted where they were made (so none
    twice), as (kind, count) pairs (kind :data:`READ` for the usable reviews, else a reason);
    :data:`QUARANTINE` every record set aside, for the samples; and the reviews of each output split.
    """
    facts = [
        inputs[COUNTS] | "CountFacts" >> beam.MapTuple(lambda kind, count: (("counts", kind), count)),
        inputs[QUARANTINE]
        | "SampleFacts" >> beam.Map(lambda record: (("samples", record.reason), str(record.origin))),
    ]
    for split, reviews in inputs.items():
        if split not in (COUNTS, QUARANTINE):
            facts.append(reviews | f"ReviewFacts[{split}]" >> beam.FlatMap(_review_facts, split))
    return (
        facts
        | "MergeFacts" >> beam.Flatten()
        | "Summarize" >> beam.CombineGlobally(_Summarize())
        | "WriteSummary"
        >> beam.io.WriteToText(posixpath.join(directory, SUMMARY_FILE), num_shards=1, shard_name_template="")
    )
