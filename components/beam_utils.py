"""Small Beam helpers shared by the executors."""

from collections import Counter
from collections.abc import Sequence

import apache_beam as beam
from apache_beam.io.filesystem import CompressionTypes
from tfx import types
from tfx.dsl.io import fileio
from tfx.types import artifact_utils

from components.file_patterns import all_files_pattern


def run_and_count(pipeline: beam.Pipeline, namespace: str) -> dict[str, int]:
    """Runs ``pipeline`` to completion and returns its counters in ``namespace`` by name.

    Counters let an executor report what it processed (examples per split,
    tokens, ...) on any runner, without a second pass over the data.
    """
    result = pipeline.run()
    result.wait_until_finish()
    query = result.metrics().query(beam.metrics.MetricsFilter().with_namespace(namespace))
    counts: Counter[str] = Counter()
    for counter in query["counters"]:
        counts[counter.key.metric.name] += counter.committed or counter.attempted or 0
    return dict(counts)


class ReadSplits(beam.PTransform):
    """The records of some splits of an Examples artifact -> PCollection[(split name, serialized record)].

    The one read of ExampleGen's output for the steps that go through it with
    Beam (ExampleValidator, StatisticsGen, EvalSlices): the split folders as TFX lays them out,
    the gzip TFRecords ExampleGen writes, each record keyed by its split.

    Args:
        examples: The Examples artifact.
        splits: The split names to read, each of which must have files.

    Raises:
        ValueError: At construction, naming the split and the artifact, when a
            split is not one of the artifact's or has no files (a missing or
            empty split folder).
    """

    def __init__(self, examples: types.Artifact, splits: Sequence[str]):
        super().__init__()
        self._patterns = {}
        names = artifact_utils.decode_split_names(examples.split_names)
        for split in splits:
            if split not in names:
                raise ValueError(
                    f"split '{split}' is not a split of {examples.uri} (its splits: {', '.join(names)})"
                )
            pattern = all_files_pattern(artifact_utils.get_split_uri([examples], split))
            if not fileio.glob(pattern):
                raise ValueError(f"split '{split}' of {examples.uri} has no files ({pattern})")
            self._patterns[split] = pattern

    def expand(self, pipeline: beam.pvalue.PBegin) -> beam.PCollection:
        return tuple(
            pipeline
            | f"Read[{split}]" >> beam.io.ReadFromTFRecord(pattern, compression_type=CompressionTypes.GZIP)
            | f"Key[{split}]" >> beam.Map(lambda record, name: (name, record), split)
            for split, pattern in self._patterns.items()
        ) | "AllSplits" >> beam.Flatten(pipeline=pipeline.pipeline)
