"""Keras classifiers whose Embedding layer starts from an injected matrix, and how they are fitted.

Keras here is tf_keras (Keras 2): tf.Transform's serving layer is a tf_keras
layer, and one Keras keeps the exported SavedModel simple.
"""

from collections.abc import Sequence
import dataclasses
import logging
import math

import numpy as np
import tensorflow as tf
import tf_keras as keras

from components.plural import counted
from components.trainer.naive_bayes import NaiveBayesLinear, WeightedRowsAdam
from components.trainer.options import Architecture, EmbeddingTraining, TrainerOptions
from schemas import features

logger = logging.getLogger(__name__)

EMBEDDING_LAYER = "embedding"
OUTPUT_LAYER = "probability"
DEEP_LOGIT_LAYER = "deep_logit"
HIDDEN_LAYER = "dense"
NGRAM_LAYER = "ngram_logit"


class MaskedAverage(keras.layers.Layer):
    """The mean of the vectors at unmasked positions; zeros for a sequence with none.

    Keras' ``GlobalAveragePooling1D`` divides the masked sum by the number of
    unmasked positions, which is 0/0 = NaN for a review with no tokens (only
    ``<br />``, only punctuation, empty after normalisation): one such train
    review makes the loss and every weight NaN, and at serving time such a
    text gets a NaN probability. Dividing by at least one gives it the zero
    vector, so its deep logit is the bias alone.
    """

    def call(self, inputs, mask=None):
        if mask is None:
            return tf.reduce_mean(inputs, axis=1)
        weights = tf.expand_dims(tf.cast(mask, inputs.dtype), -1)
        # Summed in float64 and rounded once: in float32, a batch of one sums
        # the positions with another Eigen reduction than a larger batch, which
        # differs in the last bits.
        total = tf.cast(tf.reduce_sum(tf.cast(inputs * weights, tf.float64), axis=1), inputs.dtype)
        return total / tf.maximum(tf.reduce_sum(weights, axis=1), 1.0)

    def compute_mask(self, inputs, mask=None):
        return None


class LogitDense(keras.layers.Dense):
    """``Dense`` computed in float64 and rounded once to float32 (same weights, same names).

    In float32, a batch of one multiplies its row by the ``[units, 1]`` kernel
    with another kernel than a larger batch does (a dot product against a
    matrix-vector product), which differ in the last bits: a review's
    probability depended on whether it came alone.
    """

    def call(self, inputs):
        wide = tf.float64
        outputs = tf.matmul(tf.cast(inputs, wide), tf.cast(self.kernel, wide))
        if self.use_bias:
            outputs = outputs + tf.cast(self.bias, wide)
        # Dense's activation is never None: no activation is keras.activations.linear.
        return self.activation(tf.cast(outputs, inputs.dtype))


class Sigmoid(keras.layers.Layer):
    """The sigmoid computed in float64 and rounded once to float32.

    float32 ``tf.sigmoid`` takes Eigen's vectorised path for whole packets of 8
    values and a scalar one for the rest, which differ in the last bit: a
    review's probability would depend on its place in the batch and the
    batch's size.
    """

    def call(self, inputs):
        return tf.cast(tf.sigmoid(tf.cast(inputs, tf.float64)), inputs.dtype)


class ZeroMaskedPositions(keras.layers.Layer):
    """Zeroes the vectors at masked (padding) positions and consumes the mask.

    Convolution and max pooling do not take a Keras mask; zeroing padded
    positions keeps padding from contributing anything but the bias.
    """

    def call(self, inputs, mask=None):
        if mask is None:
            return inputs
        return inputs * keras.backend.cast(keras.backend.expand_dims(mask, -1), inputs.dtype)

    def compute_mask(self, inputs, mask=None):
        return None


def build_model(
    vocab_size: int,
    sequence_length: int,
    matrix: np.ndarray,
    options: TrainerOptions,
    ngram_ratios: np.ndarray | None = None,
) -> keras.Model:
    """Builds and compiles the classifier: token ids ``int64[batch, sequence_length]`` (and ragged n-gram
    ids ``[batch, (ids)]``) to the positive-class probability ``[batch, 1]``.

    The deep branch reads the token ids through the Embedding layer that starts
    from ``matrix`` (``[vocab_size, dim]``, row i for vocabulary entry i); with
    ``ngram_ratios`` (Naive Bayes log-count ratios, one per n-gram id) a wide
    branch (logistic regression on the review's bag of n-grams, see
    naive_bayes.py) adds its logit to the deep branch's before the sigmoid.
    Without ``options.use_embeddings`` the wide branch is the whole model (no
    embedding layer, no token-id input).
    """
    if matrix.ndim != 2 or matrix.shape[0] != vocab_size:
        raise ValueError(
            f"embedding matrix has shape {matrix.shape}; expected {vocab_size} rows, one per vocabulary entry"
        )
    if features.PAD_ID != 0:
        raise ValueError("Keras masks id 0; the padding token must have id 0")
    keras.utils.set_random_seed(options.seed)
    if options.use_embeddings:
        token_ids, logit = _deep_branch(vocab_size, sequence_length, matrix, options)
        inputs = {features.TOKEN_IDS: token_ids}
    elif ngram_ratios is None:
        raise ValueError("trainer.use_embeddings is false, and there is no n-gram branch to train")
    else:  # wide only: no token-id input, no embedding, no convolution
        inputs, logit = {}, None
    if ngram_ratios is not None:
        ngram_ids = keras.Input(shape=(None,), dtype="int64", ragged=True, name=features.NGRAM_IDS)
        inputs[features.NGRAM_IDS] = ngram_ids
        wide = NaiveBayesLinear(
            len(ngram_ratios), l2=options.ngram_l2, scale=options.ngram_learning_rate_factor, name=NGRAM_LAYER
        )
        wide_logit = wide(ngram_ids)
        wide.ratios.assign(ngram_ratios.astype(np.float32))
        logit = wide_logit if logit is None else keras.layers.Add(name="logit")([logit, wide_logit])
    probability = Sigmoid(name=OUTPUT_LAYER)(logit)

    name = (f"imdb_{options.architecture}" if options.use_embeddings else "imdb") + (
        "_ngrams" if ngram_ratios is not None else ""
    )
    model = keras.Model(inputs, probability, name=name)
    compile_model(model, options.learning_rate)
    return model


def _deep_branch(
    vocab_size: int, sequence_length: int, matrix: np.ndarray, options: TrainerOptions
) -> tuple[tf.Tensor, tf.Tensor]:
    """The token-id input and the deep branch's logit: the Embedding layer starting from ``matrix``,
    then ``options.architecture``."""
    if options.architecture == Architecture.CNN and sequence_length < max(options.conv_widths):
        raise ValueError(
            f"sequences of {counted(sequence_length, 'token')} are shorter than the widest convolution "
            f"({max(options.conv_widths)})"
        )

    token_ids = keras.Input(shape=(sequence_length,), dtype="int64", name=features.TOKEN_IDS)
    embedding = keras.layers.Embedding(
        vocab_size,
        matrix.shape[1],
        mask_zero=True,
        # frozen_then_fine_tune starts frozen; fit_model unfreezes it.
        trainable=options.embedding_training == EmbeddingTraining.FINE_TUNE,
        name=EMBEDDING_LAYER,
    )
    embedded = embedding(token_ids)
    # Set after build instead of a Constant initializer, so a large matrix never
    # becomes a graph constant.
    embedding.set_weights([matrix.astype(np.float32)])
    embedded = keras.layers.Dropout(options.dropout, seed=options.seed)(embedded)

    if options.architecture == Architecture.BAG:
        hidden = MaskedAverage()(embedded)
        # Named, so that a warm start finds its weights by name (Keras' own name for
        # the first Dense layer, which models trained before the names were set have).
        hidden = keras.layers.Dense(options.hidden_units, activation="relu", name=HIDDEN_LAYER)(hidden)
    else:
        embedded = ZeroMaskedPositions()(embedded)
        pooled = [
            keras.layers.GlobalMaxPooling1D()(
                keras.layers.Conv1D(options.conv_filters, width, activation="relu", name=f"conv{width}")(
                    embedded
                )
            )
            for width in options.conv_widths
        ]
        hidden = pooled[0] if len(pooled) == 1 else keras.layers.Concatenate()(pooled)
    hidden = keras.layers.Dropout(options.dropout, seed=options.seed)(hidden)
    logit = LogitDense(1, name=DEEP_LOGIT_LAYER)(hidden)
    return token_ids, logit


def compile_model(model: keras.Model, learning_rate: float) -> None:
    """(Re)compiles with a fresh Adam optimizer; needed after changing what is trainable.

    The n-gram coefficients are updated only where their Naive Bayes ratio is nonzero (WeightedRowsAdam:
    the same weights as Keras' Adam, in a fraction of the time).
    """
    wide = next((layer for layer in model.layers if layer.name == NGRAM_LAYER), None)
    weighted_rows = [] if wide is None else [(wide.coefficients, np.flatnonzero(wide.ratios.numpy()))]
    model.compile(
        optimizer=WeightedRowsAdam(learning_rate=learning_rate, weighted_rows=weighted_rows),
        loss=keras.losses.BinaryCrossentropy(),
        metrics=[keras.metrics.BinaryAccuracy(name="accuracy"), keras.metrics.AUC(name="auc")],
    )


def embedding_weights(model: keras.Model) -> np.ndarray:
    """The model's current embedding matrix."""
    return model.get_layer(EMBEDDING_LAYER).get_weights()[0]


def describe_embedding_training(options: TrainerOptions) -> str:
    """How the embeddings are trained, for the log: ``fine-tuned``, ``frozen``, or the schedule."""
    if options.embedding_training == EmbeddingTraining.FROZEN_THEN_FINE_TUNE:
        return (
            f"frozen for {counted(options.unfreeze_after_epochs, 'epoch')}, then fine-tuned at learning rate "
            f"{options.fine_tune_learning_rate:g}"
        )
    return "fine-tuned" if options.embedding_training == EmbeddingTraining.FINE_TUNE else "frozen"


@dataclasses.dataclass
class TrainingHistory:
    """The metrics of every epoch of every phase, like ``keras.callbacks.History`` (epochs are 0-based).

    ``unfrozen_at_epoch``: the first epoch trained with unfrozen embeddings in
    ``frozen_then_fine_tune``; None otherwise.
    """

    epoch: list[int] = dataclasses.field(default_factory=list)
    history: dict[str, list[float]] = dataclasses.field(default_factory=dict)
    unfrozen_at_epoch: int | None = None

    def extend(self, phase: keras.callbacks.History) -> None:
        self.epoch.extend(phase.epoch)
        for key, values in phase.history.items():
            self.history.setdefault(key, []).extend(float(value) for value in values)


class NonFiniteTrainingError(RuntimeError):
    """The loss, a metric or a weight became NaN or infinite: the model is unusable and is not written."""


def non_finite_weights(model: keras.Model) -> list[str]:
    """``name (k of n values non-finite)`` for each of the model's weights holding NaN or infinity."""
    problems = []
    for weight in model.weights:
        values = weight.numpy()
        if bad := values.size - int(np.isfinite(values).sum()):
            problems.append(f"{weight.name} ({bad:,} of {values.size:,} values non-finite)")
    return problems


def check_finite_weights(model: keras.Model, when: str) -> None:
    """Raises :class:`NonFiniteTrainingError` naming ``when`` and each non-finite weight."""
    if problems := non_finite_weights(model):
        raise NonFiniteTrainingError(f"{when}: non-finite weights: {'; '.join(problems)}; {_NOT_WRITTEN}")


_NOT_WRITTEN = "no model is written. Lower trainer.learning_rate, or check the word vectors for huge values"


class FailOnNonFinite(keras.callbacks.Callback):
    """Fails training at the first non-finite loss, metric or weight, naming the epoch and what.

    Keras' ``TerminateOnNaN`` only stops training, and early stopping would
    then keep the best earlier epoch's weights as if nothing had happened: a
    NaN loss means the data or the options are broken, and a run that hides it
    pushes a model trained on broken input. This callback raises instead, so
    the Trainer step fails and nothing downstream sees a model. It must run
    before early stopping (``fit_model`` puts it first).
    """

    def __init__(self):
        super().__init__()
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            raise NonFiniteTrainingError(
                f"epoch {self._epoch + 1}: loss is {float(loss)} at batch {batch + 1} of the train split; "
                f"{_NOT_WRITTEN}"
            )

    def on_epoch_end(self, epoch, logs=None):
        for name, value in sorted((logs or {}).items()):
            if not math.isfinite(float(value)):
                raise NonFiniteTrainingError(f"epoch {epoch + 1}: {name} is {float(value)}; {_NOT_WRITTEN}")
        check_finite_weights(self.model, f"epoch {epoch + 1}")


class PhasedEarlyStopping(keras.callbacks.EarlyStopping):
    """Early stopping on eval loss that carries over from one training phase to the next.

    Keras resets early stopping at the start of every ``fit``; across the two
    phases of ``frozen_then_fine_tune`` the best loss and best weights must
    carry over, so fine-tuning that never beats the frozen phase ends with the
    frozen phase's best weights. Patience restarts with each phase: unfreezing
    changes the model, and it deserves its own ``patience`` epochs.
    """

    def __init__(self, patience: int):
        super().__init__(monitor="val_loss", patience=patience, restore_best_weights=True)
        self._started = False

    def on_train_begin(self, logs=None):
        if not self._started:
            super().on_train_begin(logs)
            self._started = True
        else:
            self.wait = 0
            self.stopped_epoch = 0


class PhasedTensorBoard(keras.callbacks.TensorBoard):
    """Keras' TensorBoard logs, whose steps go on from one training phase to the next.

    Epoch summaries are at the overall epoch (``fit``'s ``initial_epoch``); the
    ``evaluation_*_vs_iterations`` ones are at the optimizer's step, which
    restarts at 0 with the fresh optimizer of the fine-tuning phase: Keras'
    callback would write that phase's evaluations over the frozen phase's.
    The model graph is written once.
    """

    def __init__(self, log_dir: str):
        super().__init__(log_dir=log_dir)
        self._last_step = 0  # the step where the last phase ended
        self._offset = 0  # this phase's steps: the optimizer's plus this

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        self._offset = self._last_step - int(self.model.optimizer.iterations)

    def on_train_end(self, logs=None):
        self._last_step = self._offset + int(self.model.optimizer.iterations)
        self.write_graph = False
        super().on_train_end(logs)

    def on_test_end(self, logs=None):
        with tf.summary.record_if(True), self._val_writer.as_default():
            for name, value in (logs or {}).items():
                step = self._offset + self.model.optimizer.iterations.read_value()
                tf.summary.scalar(f"evaluation_{name}_vs_iterations", value, step=step)
        self._pop_writer()


def fit_model(
    model: keras.Model,
    train: tf.data.Dataset,
    validation: tf.data.Dataset,
    options: TrainerOptions,
    callbacks: Sequence[keras.callbacks.Callback] = (),
) -> TrainingHistory:
    """Fits a model from :func:`build_model` per ``options.embedding_training`` (in two phases, frozen then
    unfrozen and recompiled, for ``frozen_then_fine_tune``). With
    ``options.early_stopping_patience``, training stops after that many epochs
    without eval-loss improvement and the best epoch's weights are kept (across
    both phases); an early stop in the frozen phase ends that phase, and
    fine-tuning starts from its best weights. ``callbacks`` (logging,
    TensorBoard) are called in every phase with the overall epoch numbers.
    Returns both phases in one history; raises :class:`NonFiniteTrainingError`
    when the weights finally kept are NaN or infinite (or, through
    :class:`FailOnNonFinite`, the loss, a metric or a weight became so).
    """
    callbacks = [FailOnNonFinite(), *callbacks]
    if options.early_stopping_patience:
        callbacks.append(PhasedEarlyStopping(options.early_stopping_patience))
    history = TrainingHistory()

    def run(first_epoch: int, last_epoch: int) -> None:
        history.extend(
            model.fit(
                train,
                validation_data=validation,
                initial_epoch=first_epoch,
                epochs=last_epoch,
                callbacks=callbacks,
                verbose=0,
            )
        )

    if options.embedding_training != EmbeddingTraining.FROZEN_THEN_FINE_TUNE:
        run(0, options.epochs)
    else:
        # Options guarantee unfreeze_after_epochs < epochs, so fine-tuning always follows,
        # from the frozen phase's best weights if it stopped early.
        run(0, options.unfreeze_after_epochs)
        history.unfrozen_at_epoch = len(history.epoch)
        model.get_layer(EMBEDDING_LAYER).trainable = True
        compile_model(model, options.fine_tune_learning_rate)
        logger.info(
            "Trainer: embeddings unfrozen after %s; fine-tuning at learning rate %g",
            counted(history.unfrozen_at_epoch, "epoch"),
            options.fine_tune_learning_rate,
        )
        run(history.unfrozen_at_epoch, options.epochs)
    check_finite_weights(model, "after training")
    return history
