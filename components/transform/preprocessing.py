"""The tf.Transform ``preprocessing_fn``: raw review text to token ids."""

from collections.abc import Callable
import functools

import tensorflow as tf
import tensorflow_transform as tft

from components.text import tokenize
from components.transform.options import TransformOptions
from schemas import features


def preprocessing_fn(inputs: dict[str, tf.Tensor], options: TransformOptions) -> dict[str, tf.Tensor]:
    """Tokenises the text, builds the vocabularies and writes the model's features.

    * ``features.TOKEN_IDS``: the first ``max_length`` token ids, padded. The
      vocabulary (``features.VOCABULARY_NAME``) starts with the reserved tokens,
      so line i is token id i; unknown tokens map to ``<unk>``. A second file
      (``features.TOKEN_COUNTS_NAME``) holds the same words with their
      train-split counts (``<count> <token>`` per line), for coverage figures.
    * ``features.NGRAM_IDS`` (unless ``ngram_max`` is 0): the ids of the
      distinct word n-grams of the whole review (not truncated), in their own
      vocabulary (``features.NGRAM_VOCABULARY_NAME``), ranked by how many train
      reviews hold them; n-grams outside it are dropped.
    """
    tokens = tokenize(inputs[features.TEXT])
    # tf.Transform treats a threshold of 1 as "no threshold" but warns about it.
    frequency_threshold = options.min_frequency if options.min_frequency > 1 else None
    token_ids = tft.compute_and_apply_vocabulary(
        tokens,
        top_k=options.top_k,
        frequency_threshold=frequency_threshold,
        reserved_tokens=list(features.RESERVED_TOKENS),
        default_value=features.UNK_ID,
        vocab_filename=features.VOCABULARY_NAME,
    )
    tft.vocabulary(
        tokens,
        top_k=options.top_k,
        frequency_threshold=frequency_threshold,
        store_frequency=True,
        vocab_filename=features.TOKEN_COUNTS_NAME,
    )
    padded = token_ids.to_tensor(default_value=features.PAD_ID, shape=[None, options.max_length])
    outputs = {features.TOKEN_IDS: padded}
    if options.ngram_max:
        outputs[features.NGRAM_IDS] = _ngram_ids(tokens, options)
    if features.LABEL in inputs:
        outputs[features.LABEL] = inputs[features.LABEL]
    return outputs


def _ngram_ids(tokens: tf.RaggedTensor, options: TransformOptions) -> tf.SparseTensor:
    """Ids of the distinct 1..ngram_max-grams of each review (a bag of n-grams)."""
    # bag_of_words keeps each n-gram once per review, so the vocabulary ranks
    # n-grams by the number of reviews holding them.
    bag = tft.bag_of_words(tokens.to_sparse(), ngram_range=(1, options.ngram_max), separator=" ")
    ids = tft.compute_and_apply_vocabulary(
        bag,
        top_k=options.ngram_vocab_size,
        frequency_threshold=options.ngram_min_frequency if options.ngram_min_frequency > 1 else None,
        default_value=-1,
        vocab_filename=features.NGRAM_VOCABULARY_NAME,
    )
    kept = tf.sparse.retain(ids, ids.values >= 0)
    # Close the gaps the dropped n-grams leave, so each row's values sit in
    # columns 0..n-1 as a variable-length feature's do.
    return tf.RaggedTensor.from_value_rowids(
        kept.values, kept.indices[:, 0], nrows=tf.shape(ids, out_type=tf.int64)[0]
    ).to_sparse()


def make_preprocessing_fn(
    options: TransformOptions,
) -> Callable[[dict[str, tf.Tensor]], dict[str, tf.Tensor]]:
    """Binds the options, giving the one-argument function tf.Transform expects."""
    return functools.partial(preprocessing_fn, options=options)
