"""TFX executor of the IMDb ExampleGen: reviews -> tf.train.Example in four splits.

A custom executor of the standard ``FileBasedExampleGen``, the documented way to
write a custom ExampleGen: the standard driver still fingerprints the input
(for caching) and resolves span/version patterns. The base executor would cut
its single input into the output config's splits by hash; we keep that config
(train/eval by ``hash_buckets``, partitioned by movie) as the source of the
eval percentage, but also emit the dataset's own test split and the unlabeled
reviews, so the output always has train, eval, test and unsup.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import apache_beam as beam
from tfx import types
from tfx.components.example_gen import base_example_gen_executor, write_split
from tfx.components.util import examples_utils
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils, standard_component_specs
from tfx.utils import proto_utils

from components.beam_utils import run_and_count
from components.example_gen import reader
from components.example_gen.options import validate_eval_percent
from schemas import features

logger = logging.getLogger(__name__)

METRICS_NAMESPACE = "imdb_example_gen"


def eval_percent_from_output_config(output_config: example_gen_pb2.Output) -> int:
    """Returns the eval percentage encoded in an output config, after checking its shape.

    The config must be what ``component.make_output_config`` builds: two splits,
    train then eval, with ``hash_buckets`` (100 - p, p), partitioned by movie id.
    Anything else would be silently reinterpreted, so it is refused.
    """
    splits = [(split.name, split.hash_buckets) for split in output_config.split_config.splits]
    partition = output_config.split_config.partition_feature_name
    names = [name for name, _buckets in splits]
    if (
        names != [features.TRAIN, features.EVAL]
        or sum(buckets for _name, buckets in splits) != 100
        or partition != features.MOVIE_ID
    ):
        raise ValueError(
            f"output_config must split into '{features.TRAIN}' and '{features.EVAL}' with hash_buckets "
            f"(100 - p, p) and partition_feature_name '{features.MOVIE_ID}' (see make_output_config); "
            f"got splits {splits} and partition_feature_name {partition!r}"
        )
    return validate_eval_percent(splits[1][1])


def input_pattern(exec_properties: dict[str, Any]) -> str:
    """Returns the file pattern of the single input split, joined to ``input_base``."""
    input_config = example_gen_pb2.Input()
    proto_utils.json_to_proto(exec_properties[standard_component_specs.INPUT_CONFIG_KEY], input_config)
    if len(input_config.splits) != 1:
        names = [split.name for split in input_config.splits]
        raise ValueError(f"input_config must have exactly one split (the whole dataset), got {names}")
    return os.path.join(
        exec_properties[standard_component_specs.INPUT_BASE_KEY], input_config.splits[0].pattern
    )


class _CountExamplesFn(beam.DoFn):
    """Converts reviews to tf.train.Example and counts them per split in Beam metrics."""

    def __init__(self, split: str):
        self._split = split
        self._counter = beam.metrics.Metrics.counter(METRICS_NAMESPACE, split)

    def process(self, review: reader.Review):
        self._counter.inc()
        yield reader.to_tf_example(review)


class Executor(base_example_gen_executor.BaseExampleGenExecutor):
    """Reads the IMDb dataset with :class:`reader.ReadImdbReviews` and writes four splits."""

    def GetInputSourceToExamplePTransform(self) -> beam.PTransform:
        raise NotImplementedError(
            "the IMDb ExampleGen overrides GenerateExamplesByBeam; it has no per-split input transform"
        )

    def GenerateExamplesByBeam(
        self, pipeline: beam.Pipeline, exec_properties: dict[str, Any]
    ) -> dict[str, beam.PCollection]:
        """Returns {train, eval, test, unsup: PCollection[tf.train.Example]} (empty splits included)."""
        output_config = example_gen_pb2.Output()
        proto_utils.json_to_proto(exec_properties[standard_component_specs.OUTPUT_CONFIG_KEY], output_config)
        eval_percent = eval_percent_from_output_config(output_config)
        pattern = input_pattern(exec_properties)
        logger.info(
            "ExampleGen: reading IMDb reviews from %s, %d%% of train movies to eval", pattern, eval_percent
        )
        splits = (
            pipeline
            | "ReadImdbReviews" >> reader.ReadImdbReviews(pattern)
            | "SplitReviews" >> reader.SplitReviews(eval_percent)
        )
        return {
            split: reviews | f"ToExample[{split}]" >> beam.ParDo(_CountExamplesFn(split))
            for split, reviews in splits.items()
        }

    def Do(
        self,
        input_dict: dict[str, list[types.Artifact]],
        output_dict: dict[str, list[types.Artifact]],
        exec_properties: dict[str, Any],
    ) -> None:
        """Writes the four splits, as the base ExampleGen's ``Do`` writes its hash splits.

        The base ``Do`` names the output splits after the output config, which
        lists only train and eval (the hash-partitioned part), so the artifact's
        split names and the writing are done here.
        """
        examples = artifact_utils.get_single_instance(output_dict[standard_component_specs.EXAMPLES_KEY])
        examples.split_names = artifact_utils.encode_split_names(list(reader.OUTPUT_SPLITS))
        file_format = exec_properties.get(
            standard_component_specs.OUTPUT_FILE_FORMAT_KEY, example_gen_pb2.FORMAT_TFRECORDS_GZIP
        )
        logger.info("ExampleGen: start, writing examples to %s", examples.uri)
        pipeline = self._make_beam_pipeline()
        for split, split_examples in self.GenerateExamplesByBeam(pipeline, exec_properties).items():
            _ = split_examples | f"WriteSplit[{split}]" >> write_split.WriteSplit(
                artifact_utils.get_split_uri([examples], split), file_format, exec_properties
            )
        counts = run_and_count(pipeline, METRICS_NAMESPACE)
        examples_utils.set_payload_format(
            examples,
            exec_properties.get(
                standard_component_specs.OUTPUT_DATA_FORMAT_KEY, example_gen_pb2.FORMAT_TF_EXAMPLE
            ),
        )
        examples_utils.set_file_format(examples, write_split.to_file_format_str(file_format))
        logger.info(
            "ExampleGen: done, examples per split: %s",
            ", ".join(f"{split}={counts.get(split, 0)}" for split in reader.OUTPUT_SPLITS),
        )
