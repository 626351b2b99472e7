"""The IMDb ExampleGen's Beam graph: dataset files -> tf.train.Example per output split.

Apart from the executor, which only resolves its exec properties, runs this
transform, writes the splits and checks the summary, so the whole graph can be
run and tested on its own.
"""

from __future__ import annotations

from collections.abc import Sequence

import apache_beam as beam

from components.example_gen import duplicates, quarantining, reader
from components.example_gen.options import ExampleGenOptions


class IngestImdbReviews(beam.PTransform):
    """PBegin -> {split name: PCollection[tf.train.Example]} for train, eval, test and unsup.

    Reads every review the file pattern (or patterns: several spans) matches (:class:`reader.ReadImdbReviews`),
    sets aside duplicates (:class:`duplicates.SetAsideDuplicates`), splits the
    rest (:class:`reader.SplitReviews`: the dataset's test and unlabeled reviews,
    train cut into train and eval by movie) and converts each review with
    :func:`reader.to_tf_example`. As side outputs it writes every record set
    aside and the run's summary (``summary.json``, read back with
    :func:`components.artifacts.quarantine.read_summary`) into ``quarantine_dir``.
    """

    def __init__(
        self,
        file_pattern: str | Sequence[str],
        eval_percent: int,
        options: ExampleGenOptions,
        quarantine_dir: str,
    ):
        super().__init__()
        self._file_pattern = file_pattern
        self._eval_percent = eval_percent
        self._options = options
        self._quarantine_dir = quarantine_dir

    def expand(self, pbegin: beam.pvalue.PBegin) -> dict[str, beam.PCollection]:
        options = self._options
        read = pbegin | "ReadImdbReviews" >> reader.ReadImdbReviews(
            self._file_pattern, options.max_review_bytes
        )
        deduplicated = read[reader.REVIEWS] | "SetAsideDuplicates" >> duplicates.SetAsideDuplicates(
            options.quarantine_duplicates, options.quarantine_test_overlap
        )
        splits = deduplicated[reader.REVIEWS] | "SplitReviews" >> reader.SplitReviews(self._eval_percent)
        set_aside = (
            read[reader.QUARANTINE],
            deduplicated[reader.QUARANTINE],
        ) | "MergeSetAside" >> beam.Flatten()
        _ = set_aside | "WriteQuarantine" >> quarantining.WriteQuarantine(self._quarantine_dir)
        counts = (
            read[reader.COUNTS],
            deduplicated[reader.QUARANTINE] | "CountDuplicates" >> quarantining.CountByReason(),
        ) | "MergeCounts" >> beam.Flatten()
        _ = {
            quarantining.COUNTS: counts,
            quarantining.QUARANTINE: set_aside,
            **splits,
        } | "SummarizeIngest" >> quarantining.SummarizeIngest(self._quarantine_dir)
        return {
            split: reviews | f"ToExample[{split}]" >> beam.Map(reader.to_tf_example)
            for split, reviews in splits.items()
        }
