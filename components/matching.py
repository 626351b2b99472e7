"""How a word of a vector file (or a query) finds its vocabulary word: exactly, else as its Transform token.

The Transform's own TensorFlow ops normalise it (``The`` -> ``the``), so file words and review words
cannot drift apart; a word the Transform splits into several tokens (``Don't``) has no single row.
"""

from collections.abc import Callable, Sequence
import functools
import itertools

import tensorflow as tf

from components.text import tokenize

# Normalises a batch of words: the single Transform token of each, or None.
Normalizer = Callable[[Sequence[str]], list[str | None]]


@functools.cache
def _tokenize_batch() -> Callable[[tf.Tensor], tf.RaggedTensor]:
    # Traced once per process, on first use (nothing happens at import time).
    return tf.function(tokenize, input_signature=[tf.TensorSpec([None], tf.string)])


def transform_token(words: Sequence[str]) -> list[str | None]:
    """The token the Transform makes of each word (in order), or None if it makes zero or several."""
    if not words:
        return []
    tokens = _tokenize_batch()(tf.constant(list(words), dtype=tf.string))
    values = tokens.flat_values.numpy()
    splits = tokens.row_splits.numpy()
    return [
        values[start].decode("utf-8") if end - start == 1 else None
        for start, end in itertools.pairwise(splits)
    ]
