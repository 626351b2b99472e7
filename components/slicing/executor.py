"""Executor of the EvalSlices step: the test split with its slicing features, and its first sentences.

Reads ExampleGen's test split and writes an Examples artifact of two splits,
each example the test example as written plus evaluation-only features
(``schemas/features.py``):

- ``test``: every test review, with ``evaluation_set`` = ``full_review`` and
  ``length_bucket`` (its length in the model's tokens, ``slices.length_bucket``);
- ``test_first_sentence``: the same reviews, each cut to its first sentence
  (``slices.first_sentence``), with ``evaluation_set`` = ``first_sentence``.

The Evaluator reads both splits; TFMA tells them apart by ``evaluation_set``
(components/evaluator/eval_config.py), so the full test split's metrics and
blessing thresholds are those of the full reviews alone.
"""

from collections.abc import Iterator
import copy
import logging

import apache_beam as beam
import tensorflow as tf
from tfx.dsl.components.base import base_beam_executor
from tfx.types import artifact_utils, standard_component_specs

from components.beam_utils import ReadSplits, WriteExamples, run_and_count, set_examples_format
from components.component_spec import Artifacts, Properties
from components.slicing.slices import first_sentence, length_bucket
from components.text import tokenize
from schemas import features

logger = logging.getLogger(__name__)

METRICS_NAMESPACE = "eval_slices"
REVIEWS_COUNTER = "reviews"
FULL_SPLIT, FIRST_SENTENCE_SPLIT = features.SLICED_TEST_SPLITS
_BATCH = 256


def _set_bytes(example: tf.train.Example, name: str, value: str) -> None:
    feature = example.features.feature[name].bytes_list
    del feature.value[:]
    feature.value.append(value.encode("utf-8"))


def review_text(example: tf.train.Example) -> str:
    """The review text of a raw example (invalid UTF-8 replaced, as the tokeniser does)."""
    values = example.features.feature[features.TEXT].bytes_list.value
    return values[0].decode("utf-8", errors="replace") if values else ""


def first_sentence_example(example: tf.train.Example) -> tf.train.Example:
    """A copy of a raw test example whose text is its first sentence, marked ``first_sentence``."""
    result = copy.deepcopy(example)
    _set_bytes(result, features.TEXT, first_sentence(review_text(example)))
    _set_bytes(result, features.EVALUATION_SET, features.FIRST_SENTENCE)
    return result


class _FullReviews(beam.DoFn):
    """Batches of raw test examples -> each with its evaluation set and length bucket."""

    def __init__(self):
        super().__init__()
        self._reviews = beam.metrics.Metrics.counter(METRICS_NAMESPACE, REVIEWS_COUNTER)
        self._tokenize = None

    def setup(self) -> None:
        # Traced once per DoFn instance, not once per batch.
        self._tokenize = tf.function(tokenize, input_signature=[tf.TensorSpec([None], tf.string)])

    def process(self, batch: list[tf.train.Example]) -> Iterator[tf.train.Example]:
        texts = [example.features.feature[features.TEXT].bytes_list.value[:1] or [b""] for example in batch]
        lengths = self._tokenize(tf.constant([text[0] for text in texts], dtype=tf.string)).row_lengths()
        for example, length in zip(batch, lengths.numpy(), strict=True):
            result = copy.deepcopy(example)
            _set_bytes(result, features.EVALUATION_SET, features.FULL_REVIEW)
            _set_bytes(result, features.LENGTH_BUCKET, length_bucket(int(length)))
            self._reviews.inc()
            yield result


class SliceTestExamples(beam.PTransform):
    """Raw test examples -> {split name: examples} of the two evaluation sets (see the module)."""

    def expand(self, examples: beam.PCollection) -> dict[str, beam.PCollection]:
        full = (
            examples
            | "Batch" >> beam.BatchElements(min_batch_size=_BATCH, max_batch_size=_BATCH)
            | "FullReviews" >> beam.ParDo(_FullReviews())
        )
        sentences = examples | "FirstSentences" >> beam.Map(first_sentence_example)
        return {FULL_SPLIT: full, FIRST_SENTENCE_SPLIT: sentences}


class Executor(base_beam_executor.BaseBeamExecutor):
    """Reads the test split of ``examples``, writes the two evaluation splits to ``sliced_examples``."""

    def Do(self, input_dict: Artifacts, output_dict: Artifacts, exec_properties: Properties) -> None:
        examples = artifact_utils.get_single_instance(input_dict[standard_component_specs.EXAMPLES_KEY])
        output = artifact_utils.get_single_instance(output_dict["sliced_examples"])
        if features.TEST not in artifact_utils.decode_split_names(examples.split_names):
            raise ValueError(
                f"EvalSlices: the examples at {examples.uri} have no '{features.TEST}' split "
                f"(splits: {examples.split_names})"
            )
        output.split_names = artifact_utils.encode_split_names(list(features.SLICED_TEST_SPLITS))
        logger.info("EvalSlices: reading the %s split of %s", features.TEST, examples.uri)
        pipeline = self._make_beam_pipeline()
        splits = (
            pipeline
            | "ReadTest" >> ReadSplits(examples, [features.TEST])
            | "Parse" >> beam.MapTuple(lambda _split, record: tf.train.Example.FromString(record))
            | "Slice" >> SliceTestExamples()
        )
        for split, split_examples in splits.items():
            _ = split_examples | f"WriteSplit[{split}]" >> WriteExamples(
                artifact_utils.get_split_uri([output], split)
            )
        counts = run_and_count(pipeline, METRICS_NAMESPACE)
        set_examples_format(output)
        logger.info(
            "EvalSlices: %d test reviews, and as many first sentences", counts.get(REVIEWS_COUNTER, 0)
        )
