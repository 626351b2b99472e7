"""The bag-of-n-grams branch: logistic regression on Naive Bayes-weighted n-gram features.

Wang & Manning (2012, "Baselines and Bigrams") showed that scaling binary
n-gram features by their Naive Bayes log-count ratio before a linear
classifier (NBSVM) is among the strongest simple models for sentiment. Here the
ratios are computed from the train split and kept in the model as a fixed
weight, and the linear weights are trained together with the deep branch that
starts from the injected word embeddings.
"""

from collections.abc import Iterable, Iterator, Sequence
import contextlib

import numpy as np
import tensorflow as tf
import tf_keras as keras

# The fixed weight of the ratios (a statistic of the train split, never trained).
RATIOS_WEIGHT = "log_count_ratios"


def naive_bayes_log_ratios(
    batches: Iterable[tuple[tf.RaggedTensor, tf.Tensor]],
    vocab_size: int,
    alpha: float = 1.0,
    min_frequency: int = 1,
) -> np.ndarray:
    """log((p / |p|_1) / (q / |q|_1)) per n-gram id, with p, q = alpha + reviews holding it, by label.

    ``batches`` are ``(ngram ids [batch, (ids)], labels [batch])``, each review's ids distinct (a bag
    of n-grams). Ids held by fewer reviews than ``min_frequency`` (and ids no review holds) get ratio 0:
    no weight, see ``NaiveBayesLinear``.
    """
    positive = np.zeros(vocab_size, np.int64)
    negative = np.zeros(vocab_size, np.int64)
    for ids, labels in batches:
        values = ids.flat_values.numpy()
        is_positive = labels.numpy()[ids.value_rowids().numpy()] == 1
        # np.add.at costs the batch's ids; a bincount would cost the whole (hashed, millions) id range.
        np.add.at(positive, values[is_positive], 1)
        np.add.at(negative, values[~is_positive], 1)
    p = positive + alpha
    q = negative + alpha
    ratios = np.log((p / p.sum()) / (q / q.sum()))
    kept = positive + negative >= max(min_frequency, 1)
    return np.where(kept, ratios, 0.0).astype(np.float32)


def require_weighted_ids(ratios: np.ndarray, min_frequency: int) -> None:
    """Refuses (ValueError) a wide-only model whose n-gram branch has no weighted id.

    With every ratio 0 the branch's logit is 0 for every review: the model
    would train for nothing and score every review 0.5.
    """
    if not np.count_nonzero(ratios):
        raise ValueError(
            f"trainer.ngram_min_frequency is {min_frequency}: no n-gram id is held by that many train "
            "reviews, so the n-gram branch (the whole model with trainer.use_embeddings false) has no "
            "weight to learn and would score every review 0.5; lower trainer.ngram_min_frequency"
        )


class NaiveBayesLinear(keras.layers.Layer):
    """A linear model on a review's Naive Bayes-scaled, L2-normalised binary n-gram features.

    The logit is ``scale * sum_i r_i w_i / sqrt(n)`` over the review's distinct n-gram ids, ``n`` of
    which have a nonzero ratio (ids too rare in the train split have ratio 0: they weigh nothing and
    do not count in ``n``, as if they were not in the review): ``r`` (the log-count ratios) is a fixed
    weight saved with the model, ``w`` (``coefficients``: Keras layers already use ``weights`` for
    their list of variables) starts at zero, so the branch contributes nothing until it has learnt.
    Dividing by ``sqrt(n)`` (the L2 norm of the binary feature vector) keeps short texts from scoring
    near zero just for having few n-grams. ``scale`` makes Adam's steps on ``w`` ``scale`` times
    larger than on the rest of the model (Adam's step does not depend on the gradient's size), the
    rate this sparse linear part learns well at.

    At serving time (``serving_weights``) one gather of a ``[vocab_size, 2]``
    table, ``r_i w_i`` beside ``r_i != 0``, gives the same two sums as two
    gathers over ``r`` and ``w``: the gathers of a batch's ids, scattered over
    the millions of buckets, were the largest ops of the served model's graph.
    """

    def __init__(self, vocab_size: int, l2: float = 0.0, scale: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size = vocab_size
        self.l2 = l2
        self.scale = scale
        self._set_serving_table(None)

    def build(self, input_shape):
        self.ratios = self.add_weight(
            name=RATIOS_WEIGHT, shape=(self.vocab_size,), initializer="zeros", trainable=False
        )
        self.coefficients = self.add_weight(
            name="coefficients",
            shape=(self.vocab_size,),
            initializer="zeros",
            regularizer=keras.regularizers.l2(self.l2) if self.l2 else None,
        )
        super().build(input_shape)

    def call(self, ngram_ids: tf.RaggedTensor) -> tf.Tensor:
        ids = ngram_ids.flat_values
        if self._serving_table is not None:
            # Each id's score and whether it counts, in one gather; summed together per review.
            sums = tf.reduce_sum(ngram_ids.with_flat_values(tf.gather(self._serving_table, ids)), axis=1)
            total, weighted = sums[:, 0], sums[:, 1]
        else:
            # Gathered separately: a batch touches only its own ids, not the whole
            # n-gram vocabulary, and the coefficients' gradient stays sparse
            # (IndexedSlices; an l2 penalty adds a dense term of its own).
            ratios = tf.gather(self.ratios, ids)
            scores = ratios * tf.gather(self.coefficients, ids)
            total = tf.reduce_sum(ngram_ids.with_flat_values(scores), axis=1)
            weighted = tf.reduce_sum(ngram_ids.with_flat_values(tf.cast(ratios != 0.0, total.dtype)), axis=1)
        # The square root is taken in float64 and rounded once (the float32 square root,
        # to the bit): Grappler rewrites x / sqrt(y) in float32 into x * rsqrt(y), whose
        # vectorised and scalar kernels differ in the last bits, so a review's logit
        # would depend on its place in the batch and the batch's size.
        norm = tf.cast(tf.sqrt(tf.cast(tf.maximum(weighted, 1.0), tf.float64)), total.dtype)
        return tf.expand_dims(self.scale * total / norm, -1)

    @contextlib.contextmanager
    def serving_weights(self) -> Iterator[tf.Variable]:
        """While open, the layer reads the table ``[r_i w_i, r_i != 0]`` (yielded) in one gather per call.

        The products are the float32 products ``call`` computes, and each
        review's sums add the same values in the same order, so the logit is
        the same to the bit. The table is a snapshot of the current weights:
        trace the serving function, and save the table with it, inside the
        block (``components/trainer/export.py``).
        """
        ratios = self.ratios.numpy()
        table = np.stack([ratios * self.coefficients.numpy(), (ratios != 0.0).astype(np.float32)], axis=1)
        variable = tf.Variable(table, trainable=False, name=f"{self.name}_serving_weights")
        self._set_serving_table(variable)
        # The ratios are left out while the table stands in for them: a SavedModel
        # saved in the block does not carry them (2^23 floats with hashed n-grams),
        # and nothing reads them from it (a warm start computes them afresh).
        ratios_variable = self.ratios
        del self.ratios  # out of the layer's weights
        for name in ("ratios", RATIOS_WEIGHT):  # and of what it saves (add_weight tracks the name too)
            self._delete_tracking(name)
        try:
            yield variable
        finally:
            self._set_serving_table(None)
            self._track_trackable(ratios_variable, RATIOS_WEIGHT)
            self.ratios = ratios_variable

    def _set_serving_table(self, table: tf.Variable | None) -> None:
        # Past Keras' attribute tracking: the table is never a weight of the layer
        # (nor of the model a warm start reads); the serving module saves it.
        object.__setattr__(self, "_serving_table", table)

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size, "l2": self.l2, "scale": self.scale}


class WeightedRowsAdam(keras.optimizers.Adam):
    """Adam, with the n-gram coefficients updated only where their Naive Bayes ratio is nonzero.

    Keras' Adam applies a sparse (``IndexedSlices``) gradient densely: every
    step decays both moments of all of the coefficients and moves every one
    of them, a dozen passes over the whole hash range (2^23 floats), which was
    most of a training step's time. A coefficient whose ratio is 0 weighs
    nothing in the logit, so its gradient is exactly 0 at every step: its
    moments stay 0 and its update is ``0 / (0 + epsilon) = 0``. This optimizer
    does Adam's arithmetic, operation for operation, on the rows with a
    nonzero ratio only, so the weights it gives are bit for bit Adam's. Any
    other variable, a dense gradient (an l2 penalty adds one) and ``amsgrad``
    go through Adam unchanged.
    """

    def __init__(
        self,
        learning_rate: float,
        weighted_rows: Sequence[tuple[tf.Variable, np.ndarray]] = (),
        **kwargs,
    ):
        """``weighted_rows``: each variable so updated, with the ids of its rows that can change."""
        super().__init__(learning_rate=learning_rate, **kwargs)
        self._weighted_rows = {
            self._var_key(variable): tf.constant(np.asarray(rows, np.int64))
            for variable, rows in weighted_rows
        }

    def update_step(self, gradient, variable):
        var_key = self._var_key(variable)
        rows = self._weighted_rows.get(var_key)
        if rows is None or not isinstance(gradient, tf.IndexedSlices) or self.amsgrad:
            return super().update_step(gradient, variable)
        # Adam.update_step's sparse branch, restricted to ``rows``.
        lr = tf.cast(self.learning_rate, variable.dtype)
        local_step = tf.cast(self.iterations + 1, variable.dtype)
        beta_1_power = tf.pow(tf.cast(self.beta_1, variable.dtype), local_step)
        beta_2_power = tf.pow(tf.cast(self.beta_2, variable.dtype), local_step)
        m = self._momentums[self._index_dict[var_key]]
        v = self._velocities[self._index_dict[var_key]]
        alpha = lr * tf.sqrt(1 - beta_2_power) / (1 - beta_1_power)
        epsilon_hat = self.epsilon * tf.sqrt(1 - beta_2_power) if self.adaptive_epsilon else self.epsilon

        m_rows = tf.gather(m, rows)
        m.scatter_update(tf.IndexedSlices(m_rows + -m_rows * (1 - self.beta_1), rows))
        m.scatter_add(tf.IndexedSlices(gradient.values * (1 - self.beta_1), gradient.indices))
        v_rows = tf.gather(v, rows)
        v.scatter_update(tf.IndexedSlices(v_rows + -v_rows * (1 - self.beta_2), rows))
        v.scatter_add(tf.IndexedSlices(tf.square(gradient.values) * (1 - self.beta_2), gradient.indices))
        variable.scatter_sub(
            tf.IndexedSlices((tf.gather(m, rows) * alpha) / (tf.sqrt(tf.gather(v, rows)) + epsilon_hat), rows)
        )
