"""How TFMA feeds the model: the Evaluator's reviews in batches of at most ``SCORING_BATCH_SIZE``.

TFX's Evaluator reads the examples in Arrow batches whose size Beam tunes up
to 1,000 reviews, and TFMA scores each batch in one call. For a batch of 1,000
full reviews the model's intermediate tensors (token ids, embeddings and their
float64 masked average over 400 positions, the n-gram ids) take about 470 MB,
which TensorFlow's oneDNN allocator keeps in its pool once it has grown to hold
them; 256 reviews need about 150 MB. Smaller batches give the same predictions
(the model's outputs do not depend on the batch) and so the same metrics.
"""

from collections.abc import Iterator

import apache_beam as beam
import pyarrow as pa
import tensorflow_model_analysis as tfma

SCORING_BATCH_SIZE = 256
SPLIT_STAGE_NAME = "SplitIntoScoringBatches"


def split_record_batch(
    record_batch: pa.RecordBatch, size: int = SCORING_BATCH_SIZE
) -> Iterator[pa.RecordBatch]:
    """The batch's rows in order, in consecutive slices of at most ``size`` rows (views, not copies)."""
    for start in range(0, record_batch.num_rows, size):
        yield record_batch.slice(start, size)


def split_extracts(extracts: tfma.Extracts, size: int = SCORING_BATCH_SIZE) -> Iterator[tfma.Extracts]:
    """The input extracts (an Arrow batch of examples), as extracts of at most ``size`` examples each."""
    for part in split_record_batch(extracts[tfma.ARROW_RECORD_BATCH_KEY], size):
        yield {**extracts, tfma.ARROW_RECORD_BATCH_KEY: part}


def custom_extractors(
    eval_shared_model, eval_config, tensor_adapter_config
) -> list[tfma.extractors.Extractor]:
    """TFMA's default extractors, after one that splits each input batch (TFX's ``custom_extractors`` hook)."""
    split = tfma.extractors.Extractor(
        stage_name=SPLIT_STAGE_NAME, ptransform=beam.FlatMap(split_extracts, size=SCORING_BATCH_SIZE)
    )
    return [
        split,
        *tfma.default_extractors(
            eval_shared_model=eval_shared_model,
            eval_config=eval_config,
            tensor_adapter_config=tensor_adapter_config,
            # What TFMA's ExtractEvaluateAndWriteResults passes for an EvalConfig.
            config_version=2,
        ),
    ]
