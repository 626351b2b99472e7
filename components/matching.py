"""How a word of a vector file (or of a query) finds its vocabulary word.

The vocabulary holds tokens as the Transform step makes them
(:func:`components.text.tokenize`: lower-cased, typographic quotes
and dashes made ASCII, punctuation and clitics split off, quotes around words
dropped). Vector files hold words as their authors tokenised them, often cased
(GloVe 840B, fastText, GoogleNews word2vec). A file word therefore matches:

1. **exactly**: its spelling is a vocabulary word; or else
2. **lower-cased** (``EmbeddingOptions.lowercase_fallback``): the token the
   Transform makes of it is a vocabulary word: ``The`` -> ``the``,
   ``CAFÉ`` -> ``café``, ``'Hello'`` -> ``hello``, and ``'s`` written with a
   typographic apostrophe (U+2019) -> ``'s``. A file word that the Transform
   would split into several tokens (``Don't`` -> ``do`` + ``n't``, ``U.S.``)
   or drop entirely never matches in this tier: no single vocabulary row
   stands for it.

Normalisation runs the Transform's own TensorFlow ops, in batches, so a file
word and a review word that look alike are normalised by the same code (Python's
``str.lower`` and TensorFlow's agree on the cases tried, but one definition
cannot drift).
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
    """The token the Transform makes of each word, or None if it makes zero or several.

    Args:
        words: Words as written in a vector file or typed by a user.

    Returns:
        One entry per word, in order.
    """
    if not words:
        return []
    tokens = _tokenize_batch()(tf.constant(list(words), dtype=tf.string))
    values = tokens.flat_values.numpy()
    splits = tokens.row_splits.numpy()
    return [
        values[start].decode("utf-8") if end - start == 1 else None
        for start, end in itertools.pairwise(splits)
    ]
