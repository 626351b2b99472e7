"""The tf.Transform ``preprocessing_fn``: raw review text to token ids."""

from collections.abc import Callable
import functools

import tensorflow as tf
import tensorflow_transform as tft
from tensorflow_transform import schema_inference

from components.text import tokenize
from components.transform.options import TransformOptions
from components.transform.token_vocabulary import token_vocabulary
from schemas import features


def preprocessing_fn(inputs: dict[str, tf.Tensor], options: TransformOptions) -> dict[str, tf.Tensor]:
    """Tokenises the text, builds the vocabularies and writes the model's features.

    * ``features.TOKEN_IDS``: the first ``max_length`` token ids, padded. The
      vocabulary (``features.VOCABULARY_NAME``) starts with the reserved tokens,
      so line i is token id i; unknown tokens map to ``<unk>``. A second file
      (``features.TOKEN_COUNTS_NAME``) holds the same words with their
      train-split counts (``<count> <token>`` per line), for coverage figures.
      Both come from one analysis of the tokens (``token_vocabulary``).
    * ``features.NGRAM_IDS`` (unless ``ngram_max`` is 0): the ids of the
      distinct word n-grams of the whole review (not truncated): each n-gram's
      hash bucket (``ngram_id``), one of ``ngram_buckets``. Hashing needs no
      analysis pass and no lookup table at serving time; counting every
      distinct n-gram for a vocabulary was most of the Transform's time (see
      ``benchmarks/imdb_benchmark.py``).
    """
    tokens = tokenize(inputs[features.TEXT])
    # One analysis writes the vocabulary and its count file (token_vocabulary).
    vocabulary = token_vocabulary(tokens, options.top_k, options.min_frequency)
    token_ids = tft.apply_vocabulary(tokens, vocabulary, default_value=features.UNK_ID)
    padded = token_ids.to_tensor(default_value=features.PAD_ID, shape=[None, options.max_length])
    outputs = {features.TOKEN_IDS: padded}
    if options.ngram_max:
        outputs[features.NGRAM_IDS] = _ngram_ids(tokens, options)
    if features.LABEL in inputs:
        outputs[features.LABEL] = inputs[features.LABEL]
    return outputs


def ngram_id(ngrams: tf.Tensor, buckets: int) -> tf.Tensor:
    """The id of each n-gram (words joined by one space): its hash bucket, in [0, buckets)."""
    return tf.strings.to_hash_bucket_fast(ngrams, buckets)


def _ngram_ids(tokens: tf.RaggedTensor, options: TransformOptions) -> tf.SparseTensor:
    """Ids of the distinct 1..ngram_max-grams of each review (a bag of n-grams)."""
    ngrams = tf.strings.ngrams(tokens, ngram_width=tuple(range(1, options.ngram_max + 1)), separator=" ")
    ids = ngram_id(ngrams.flat_values, options.ngram_buckets)
    # Each review's ids once (two n-grams of a review may also share a bucket),
    # in one vectorised pass: a (row, id) pair as one int64 key. The rows stay
    # in order because tf.unique keeps first occurrences in input order.
    buckets = tf.constant(options.ngram_buckets, tf.int64)
    keys, _ = tf.unique(_value_rowids(ngrams.row_splits) * buckets + ids)
    bag = tf.RaggedTensor.from_value_rowids(keys % buckets, keys // buckets, nrows=ngrams.nrows()).to_sparse()
    # The range goes into the transformed schema, where the Trainer reads the
    # number of ids (TFTransformOutput.num_buckets_for_transformed_feature).
    schema_inference.set_tensor_schema_override(
        bag.values, tf.constant(0, tf.int64), tf.constant(options.ngram_buckets - 1, tf.int64)
    )
    return bag


def _value_rowids(row_splits: tf.Tensor) -> tf.Tensor:
    """``RaggedTensor.value_rowids()``, in time linear in the values.

    The ragged method builds a mask of rows x longest row (over a million
    entries for a batch of 256 reviews' n-grams); here each row's start is
    marked once and a running sum numbers the rows (empty rows mark the same
    position, so their numbers are skipped).
    """
    starts = row_splits[1:-1]
    marks = tf.math.unsorted_segment_sum(tf.ones_like(starts), starts, row_splits[-1] + 1)
    return tf.cumsum(marks[:-1])


def make_preprocessing_fn(
    options: TransformOptions,
) -> Callable[[dict[str, tf.Tensor]], dict[str, tf.Tensor]]:
    """Binds the options, giving the one-argument function tf.Transform expects."""
    return functools.partial(preprocessing_fn, options=options)
