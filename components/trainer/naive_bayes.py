"""The bag-of-n-grams branch: logistic regression on Naive Bayes-weighted n-gram features.

Wang & Manning (2012, "Baselines and Bigrams") showed that scaling binary
n-gram features by their Naive Bayes log-count ratio before a linear
classifier (NBSVM) is among the strongest simple models for sentiment. Here the
ratios are computed from the train split and kept in the model as a fixed
weight, and the linear weights are trained together with the deep branch that
starts from the injected word embeddings.
"""

from collections.abc import Iterable

import numpy as np
import tensorflow as tf
import tf_keras as keras


def naive_bayes_log_ratios(
    batches: Iterable[tuple[tf.RaggedTensor, tf.Tensor]], vocab_size: int, alpha: float = 1.0
) -> np.ndarray:
    """log((p / |p|_1) / (q / |q|_1)) per n-gram id, with p, q = alpha + reviews holding it, by label.

    Args:
        batches: ``(ngram ids [batch, (ids)], labels [batch])``; each review's
            ids are distinct (a bag of n-grams).
        vocab_size: Number of n-gram ids.
        alpha: Additive smoothing.
    """
    positive = np.zeros(vocab_size, np.float64)
    negative = np.zeros(vocab_size, np.float64)
    for ids, labels in batches:
        values = ids.flat_values.numpy()
        is_positive = labels.numpy()[ids.value_rowids().numpy()] == 1
        positive += np.bincount(values[is_positive], minlength=vocab_size)
        negative += np.bincount(values[~is_positive], minlength=vocab_size)
    p = positive + alpha
    q = negative + alpha
    return np.log((p / p.sum()) / (q / q.sum())).astype(np.float32)


class NaiveBayesLinear(keras.layers.Layer):
    """A linear model on a review's Naive Bayes-scaled, L2-normalised binary n-gram features.

    The logit is ``scale * sum_i r_i w_i / sqrt(n)`` over the review's ``n``
    distinct n-gram ids: ``r`` (the log-count ratios) is a fixed weight saved
    with the model, ``w`` (``coefficients``: Keras layers already use
    ``weights`` for their list of variables) starts at zero, so the branch
    contributes nothing until it has learnt. Dividing by ``sqrt(n)`` (the L2
    norm of the binary feature vector) keeps short texts from scoring near
    zero just for having few n-grams. ``scale`` makes Adam's steps on ``w``
    ``scale`` times larger than on the rest of the model (Adam's step does not
    depend on the gradient's size), the rate this sparse linear part learns
    well at.
    """

    def __init__(self, vocab_size: int, l2: float = 0.0, scale: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size = vocab_size
        self.l2 = l2
        self.scale = scale

    def build(self, input_shape):
        self.ratios = self.add_weight(
            name="log_count_ratios", shape=(self.vocab_size,), initializer="zeros", trainable=False
        )
        self.coefficients = self.add_weight(
            name="coefficients",
            shape=(self.vocab_size,),
            initializer="zeros",
            regularizer=keras.regularizers.l2(self.l2) if self.l2 else None,
        )
        super().build(input_shape)

    def call(self, ngram_ids: tf.RaggedTensor) -> tf.Tensor:
        # Gathered separately: a batch touches only its own ids, not the whole
        # n-gram vocabulary, and the coefficients' gradient stays sparse
        # (IndexedSlices; an l2 penalty adds a dense term of its own).
        ids = ngram_ids.flat_values
        scores = tf.gather(self.ratios, ids) * tf.gather(self.coefficients, ids)
        total = tf.reduce_sum(ngram_ids.with_flat_values(scores), axis=1)
        norm = tf.sqrt(tf.maximum(tf.cast(ngram_ids.row_lengths(), total.dtype), 1.0))
        return tf.expand_dims(self.scale * total / norm, -1)

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size, "l2": self.l2, "scale": self.scale}
