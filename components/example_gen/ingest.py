"""The IMDb ExampleGen's Beam graph, apart from its executor: dataset files -> tf.train.Example per split."""

from __future__ import annotations

from collections.abc import Sequence

import apache_beam as beam

from components.example_gen import duplicates, quarantining, reader
from components.example_gen.options import ExampleGenOptions


@beam.ptransform_fn
def IngestImdbReviews(
    pbegin: beam.pvalue.PBegin,
    file_pattern: str | Sequence[str],
    eval_percent: int,
    options: ExampleGenOptions,
    quarantine_dir: str,
) -> dict[str, beam.PCollection]:
    """PBegin -> {split name: PCollection[tf.train.Example]}; the quarantine goes to ``quarantine_dir``."""
    read = pbegin | "ReadImdbReviews" >> reader.ReadImdbReviews(file_pattern, options.max_review_bytes)
    deduplicated = read[reader.REVIEWS] | "SetAsideDuplicates" >> duplicates.SetAsideDuplicates(
        options.quarantine_duplicates, options.quarantine_test_overlap
    )
    splits = deduplicated[reader.REVIEWS] | "SplitReviews" >> reader.SplitReviews(eval_percent)
    set_aside = (read[reader.QUARANTINE], deduplicated[reader.QUARANTINE]) | "MergeSetAside" >> beam.Flatten()
    _ = set_aside | "WriteQuarantine" >> quarantining.WriteQuarantine(quarantine_dir)
    counts = (
        read[reader.COUNTS],
        deduplicated[reader.QUARANTINE] | "CountDuplicates" >> quarantining.CountByReason(),
    ) | "MergeCounts" >> beam.Flatten()
    _ = {
        quarantining.COUNTS: counts,
        quarantining.QUARANTINE: set_aside,
        **splits,
    } | "SummarizeIngest" >> quarantining.SummarizeIngest(quarantine_dir)
    return {
        split: reviews | f"ToExample[{split}]" >> beam.Map(reader.to_tf_example)
        for split, reviews in splits.items()
    }
