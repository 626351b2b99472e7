"""Keras classifiers whose Embedding layer starts from an injected matrix.

Keras here is tf_keras (Keras 2): tf.Transform's serving layer is a tf_keras
layer, and one Keras keeps the exported SavedModel simple.
"""

import numpy as np
import tf_keras as keras

from components.trainer.options import TrainerOptions
from schemas import features

EMBEDDING_LAYER = "embedding"
OUTPUT_LAYER = "probability"


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
    vocab_size: int, sequence_length: int, matrix: np.ndarray, options: TrainerOptions
) -> keras.Model:
    """Builds and compiles the classifier.

    Args:
        vocab_size: Rows of the Transform vocabulary (reserved tokens included).
        sequence_length: Token ids per example, as written by Transform.
        matrix: ``[vocab_size, dim]`` embedding matrix aligned with the vocabulary.
        options: Architecture and fitting options.

    Returns:
        A compiled model from ``int64[batch, sequence_length]`` token ids to the
        positive-class probability ``[batch, 1]``.
    """
    if matrix.ndim != 2 or matrix.shape[0] != vocab_size:
        raise ValueError(
            f"embedding matrix has shape {matrix.shape}; expected {vocab_size} rows, one per vocabulary entry"
        )
    if features.PAD_ID != 0:
        raise ValueError("Keras masks id 0; the padding token must have id 0")
    if options.architecture == "cnn" and sequence_length < max(options.conv_widths):
        raise ValueError(
            f"sequences of {sequence_length} tokens are shorter than the widest convolution "
            f"({max(options.conv_widths)})"
        )
    keras.utils.set_random_seed(options.seed)

    token_ids = keras.Input(shape=(sequence_length,), dtype="int64", name=features.TOKEN_IDS)
    embedding = keras.layers.Embedding(
        vocab_size,
        matrix.shape[1],
        mask_zero=True,
        trainable=options.trainable_embeddings,
        name=EMBEDDING_LAYER,
    )
    embedded = embedding(token_ids)
    # Set after build instead of a Constant initializer, so a large matrix never
    # becomes a graph constant.
    embedding.set_weights([matrix.astype(np.float32)])
    embedded = keras.layers.Dropout(options.dropout, seed=options.seed)(embedded)

    if options.architecture == "bag":
        hidden = keras.layers.GlobalAveragePooling1D()(embedded)
        hidden = keras.layers.Dense(options.hidden_units, activation="relu")(hidden)
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
    probability = keras.layers.Dense(1, activation="sigmoid", name=OUTPUT_LAYER)(hidden)

    model = keras.Model(token_ids, probability, name=f"imdb_{options.architecture}")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=options.learning_rate),
        loss=keras.losses.BinaryCrossentropy(),
        metrics=[keras.metrics.BinaryAccuracy(name="accuracy"), keras.metrics.AUC(name="auc")],
    )
    return model


def embedding_weights(model: keras.Model) -> np.ndarray:
    """The model's current embedding matrix."""
    return model.get_layer(EMBEDDING_LAYER).get_weights()[0]
