"""Small Beam helpers shared by the executors."""

from collections import Counter
from collections.abc import Sequence
import os

import apache_beam as beam
from tfx import types
from tfx.components.example_gen import write_split
from tfx.components.util import examples_utils
from tfx.dsl.io import fileio
from tfx.proto import example_gen_pb2
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
    plain or gzip TFRecords (by file suffix, see :func:`WriteExamples`), each record keyed by its split.

    Raises:
        ValueError: At construction, naming the split and ``examples``, when a split is not one of the
            artifact's or has no files (a missing or empty split folder).
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
            | f"Read[{split}]" >> beam.io.ReadFromTFRecord(pattern)
            | f"Key[{split}]" >> beam.Map(lambda record, name: (name, record), split)
            for split, pattern in self._patterns.items()
        ) | "AllSplits" >> beam.Flatten(pipeline=pipeline.pipeline)


EXAMPLES_FILE_PREFIX = "data_tfrecord"


@beam.ptransform_fn
def WriteExamples(examples: beam.PCollection, split_dir: str) -> beam.pvalue.PDone:
    """Writes ``tf.train.Example``s (or their bytes) to ``split_dir`` as plain TFRecord files.

    TFX's ``WriteSplit`` (serialize, ``data_tfrecord-*-of-*`` files) without its gzip, which cost
    ExampleGen about a quarter of its time for files that each later step reads once, nor its
    ``Reshuffle`` (another 2.6 CPU s of ExampleGen and EvalSlices on the full data, for an order no
    reader depends on: the Trainer shuffles its whole split, TFMA's metrics ignore order; a
    distributed runner still spreads the work, as ExampleGen's file matches and duplicate detection
    are regrouped before this).
    TFX's ``file_format`` property has no value for plain TFRecords, so the artifact keeps
    ``tfrecords_gzip``: every reader (Beam's ``ReadFromTFRecord``, tfx_bsl's TFXIO used by TFX's
    components and TFMA, :func:`components.file_patterns.tfrecord_compression`) takes the compression
    from the file names' ``.gz`` suffix, so artifacts written before, gzip, are read as well.
    """
    return (
        examples
        | "Serialize" >> beam.Map(lambda e: e if isinstance(e, bytes) else e.SerializeToString())
        | "Write" >> beam.io.WriteToTFRecord(os.path.join(split_dir, EXAMPLES_FILE_PREFIX))
    )


def set_examples_format(examples: types.Artifact) -> None:
    """Records what :func:`WriteExamples` wrote, in TFX's words: ``tf.train.Example`` records, TFRecord files."""
    examples_utils.set_payload_format(examples, example_gen_pb2.FORMAT_TF_EXAMPLE)
    examples_utils.set_file_format(
        examples, write_split.to_file_format_str(example_gen_pb2.FORMAT_TFRECORDS_GZIP)
    )
