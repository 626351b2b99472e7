"""The exported SavedModel: raw review text in, positive-class probability out.

The model and tf.Transform's graph are saved together in one ``tf.Module``, so
the SavedModel needs nothing else at serving time (the vocabulary travels as a
SavedModel asset). Two signatures:

* ``serving_default``: ``text`` (string ``[batch]``, raw reviews) ->
  ``probability`` (float32 ``[batch]``);
* ``serving_tf_example``: ``examples`` (string ``[batch]``, serialized
  tf.Examples with a ``text`` feature, as ExampleGen writes them) ->
  ``probability``; used by the Evaluator.
"""

import contextlib

import tensorflow as tf
import tensorflow_transform as tft
import tf_keras as keras
from tf_keras.src.saving.legacy.saved_model import utils as keras_saved_model_utils

from components.trainer.dataset import model_inputs
from components.trainer.naive_bayes import NaiveBayesLinear
from schemas import features


class ServingModule(tf.Module):
    """Transform layer + classifier, with one function per signature."""

    def __init__(self, model: keras.Model, tft_output: tft.TFTransformOutput):
        super().__init__()
        self.model = model
        self.tft_layer = tft_output.transform_features_layer()

    def _probability(self, text: tf.Tensor) -> dict[str, tf.Tensor]:
        transformed = self.tft_layer({features.TEXT: text})
        inputs = {
            name: value for name, value in model_inputs(transformed).items() if name in self.model.input_names
        }
        probability = self.model(inputs, training=False)
        return {features.PROBABILITY_OUTPUT: tf.squeeze(probability, axis=-1)}

    @tf.function(
        input_signature=[tf.TensorSpec([None], tf.string, name=features.TEXT_INPUT)], autograph=False
    )
    def serve_text(self, text):
        return self._probability(text)

    @tf.function(
        input_signature=[tf.TensorSpec([None], tf.string, name=features.EXAMPLES_INPUT)], autograph=False
    )
    def serve_examples(self, examples):
        parsed = tf.io.parse_example(examples, {features.TEXT: tf.io.FixedLenFeature([], tf.string)})
        return self._probability(parsed[features.TEXT])


def export_serving_model(model: keras.Model, tft_output: tft.TFTransformOutput, export_dir: str) -> None:
    """Writes the SavedModel with both signatures to ``export_dir``.

    Each signature is traced once, by ``tf.saved_model.save`` itself: a
    concrete function traced before the save would be traced again inside it
    (the save's variable policy is part of TensorFlow's trace cache key). Keras'
    per-layer call traces are left out (``save_traces=False``, as
    ``model.save(..., save_traces=False)`` does): they only serve to reload the
    layers as Keras objects, and everything that loads this SavedModel (the
    Evaluator, the canary, ``predict``, TF Serving) calls its two signatures.
    The n-gram branch serves from ``NaiveBayesLinear.serving_weights``'s table.
    """
    module = ServingModule(model, tft_output)
    # The optimizer stays out, as ``model.save(..., include_optimizer=False)``
    # leaves it out (the same detach and re-attach): its slots (Adam's two
    # moments per weight) would double the variables a server loads, and the
    # n-gram branch alone has one weight per hash bucket.
    optimizer = model.optimizer
    model.optimizer = None
    model._delete_tracking("optimizer")
    try:
        with contextlib.ExitStack() as stack, keras_saved_model_utils.keras_option_scope(save_traces=False):
            module.ngram_serving_weights = [
                stack.enter_context(layer.serving_weights())
                for layer in model.layers
                if isinstance(layer, NaiveBayesLinear)
            ]
            tf.saved_model.save(
                module,
                export_dir,
                signatures={
                    features.TEXT_SIGNATURE: module.serve_text,
                    features.EXAMPLES_SIGNATURE: module.serve_examples,
                },
            )
    finally:
        model.optimizer = optimizer
