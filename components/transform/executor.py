"""Transform executor: tf.Transform Analyze + Transform on Beam."""

import logging
import os
import time

import apache_beam as beam
import tensorflow as tf
from tensorflow_metadata.proto.v0 import schema_pb2
import tensorflow_transform as tft
import tensorflow_transform.beam as tft_beam
from tfx.dsl.components.base import base_beam_executor
from tfx.types import artifact_utils

from components.artifacts import transform_graph
from components.beam_utils import run_and_count
from components.component_spec import Artifacts, Properties
from components.file_patterns import all_files_pattern
from components.transform.analyze_transform import METRICS_NAMESPACE, AnalyzeAndTransform
from components.transform.options import TransformOptions
from components.transform.preprocessing import make_preprocessing_fn
from schemas import features
from schemas.schema import load_raw_schema, schema_for_environment

logger = logging.getLogger(__name__)

# Splits that are transformed: those the Trainer reads (the Evaluator scores the
# raw test split through the SavedModel, which transforms it itself). The
# vocabulary is analysed on features.FIT_SPLITS only.
TRANSFORMED_SPLITS = (features.TRAIN, features.EVAL)
# The raw features the preprocessing_fn reads.
TRANSFORM_INPUTS = (features.TEXT, features.LABEL)
TRANSFORMED_FILE_PREFIX = "transformed_examples"
SCHEMA_FILE = "schema.pbtxt"


def transform_input_schema(raw_schema: schema_pb2.Schema) -> schema_pb2.Schema:
    """The labeled-environment raw schema, restricted to what the preprocessing_fn reads."""
    schema = schema_for_environment(raw_schema, features.LABELED_ENVIRONMENT)
    kept = [feature for feature in schema.feature if feature.name in TRANSFORM_INPUTS]
    del schema.feature[:]
    schema.feature.extend(kept)
    return schema


class EmptyVocabularyError(ValueError):
    """The vocabulary kept no word besides the reserved tokens."""


def check_vocabulary_words(vocabulary: list[str], options: TransformOptions) -> None:
    """Raises :class:`EmptyVocabularyError` when ``vocabulary`` holds only the reserved tokens: every
    token would be <unk>, and nothing downstream could be aligned or learnt from the token ids."""
    if not features.vocabulary_words(vocabulary):
        raise EmptyVocabularyError(
            f"the vocabulary keeps no word: no token is seen {options.min_frequency:,} times or more in the "
            f"{'+'.join(features.FIT_SPLITS)} split ({TransformOptions.SECTION}.min_frequency is "
            f"{options.min_frequency}); lower {TransformOptions.SECTION}.min_frequency"
        )


class Executor(base_beam_executor.BaseBeamExecutor):
    """Analyses the train split, then transforms the splits the Trainer reads (train and eval)."""

    def Do(self, input_dict: Artifacts, output_dict: Artifacts, exec_properties: Properties) -> None:
        options = TransformOptions.from_exec_properties(exec_properties)
        examples = artifact_utils.get_single_instance(input_dict["examples"])
        schema_uri = artifact_utils.get_single_uri(input_dict["schema"])
        transform_graph_uri = artifact_utils.get_single_uri(output_dict["transform_graph"])
        transformed = artifact_utils.get_single_instance(output_dict["transformed_examples"])

        available = artifact_utils.decode_split_names(examples.split_names)
        missing = [split for split in TRANSFORMED_SPLITS if split not in available]
        if missing:
            raise ValueError(
                f"Transform needs splits {list(TRANSFORMED_SPLITS)}; the examples lack {missing}"
            )
        input_schema = transform_input_schema(load_raw_schema(os.path.join(schema_uri, SCHEMA_FILE)))
        transformed.split_names = artifact_utils.encode_split_names(list(TRANSFORMED_SPLITS))

        logger.info(
            "Transform: vocabulary of up to %d rows (min frequency %d) from %s, sequences of %d tokens",
            options.vocab_size,
            options.min_frequency,
            "+".join(features.FIT_SPLITS),
            options.max_length,
        )
        started = time.monotonic()
        temp_dir = os.path.join(transform_graph_uri, ".temp")
        pipeline = self._make_beam_pipeline()
        with tft_beam.Context(temp_dir=temp_dir):
            raw = {
                split: pipeline
                | f"Read[{split}]"
                >> beam.io.ReadFromTFRecord(
                    all_files_pattern(artifact_utils.get_split_uri([examples], split)),
                    coder=beam.coders.BytesCoder(),
                )
                for split in TRANSFORMED_SPLITS
            }
            transformed_splits = raw | "AnalyzeAndTransform" >> AnalyzeAndTransform(
                make_preprocessing_fn(options), input_schema, features.FIT_SPLITS, transform_graph_uri
            )
            for split, serialized in transformed_splits.items():
                _ = serialized | f"Write[{split}]" >> beam.io.WriteToTFRecord(
                    os.path.join(artifact_utils.get_split_uri([transformed], split), TRANSFORMED_FILE_PREFIX),
                )
            counts = run_and_count(pipeline, METRICS_NAMESPACE)
        if tf.io.gfile.exists(temp_dir):
            tf.io.gfile.rmtree(temp_dir)

        tft_output = tft.TFTransformOutput(transform_graph_uri)
        check_vocabulary_words(transform_graph.vocabulary(tft_output), options)
        logger.info(
            "Transform done in %.1f s: vocabulary %d rows; examples %s",
            time.monotonic() - started,
            tft_output.vocabulary_size_by_name(features.VOCABULARY_NAME),
            ", ".join(f"{split} {counts.get(split, 0):,}" for split in TRANSFORMED_SPLITS),
        )
