"""The tf.Transform ``preprocessing_fn``: raw review text to token ids."""

from collections.abc import Callable
import functools

import tensorflow as tf
import tensorflow_transform as tft

from components.transform.options import TransformOptions
from components.transform.text import tokenize
from schemas import features


def preprocessing_fn(inputs: dict[str, tf.Tensor], options: TransformOptions) -> dict[str, tf.Tensor]:
    """Tokenises the text, builds the vocabulary and pads the token ids.

    The vocabulary (``features.VOCABULARY_NAME``) starts with the reserved tokens,
    so line i is token id i; unknown tokens map to ``<unk>``. A second vocabulary
    file (``features.TOKEN_COUNTS_NAME``) holds the same words with their
    train-split counts (``<count> <token>`` per line), used for coverage figures.
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
    if features.LABEL in inputs:
        outputs[features.LABEL] = inputs[features.LABEL]
    return outputs


def make_preprocessing_fn(
    options: TransformOptions,
) -> Callable[[dict[str, tf.Tensor]], dict[str, tf.Tensor]]:
    """Binds the options, giving the one-argument function tf.Transform expects."""
    return functools.partial(preprocessing_fn, options=options)
