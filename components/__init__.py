"""One package per pipeline step: a thin TFX shell over pure functions."""

import os

# tf.Transform's serving layer is a tf_keras (Keras 2) layer and the Trainer
# builds its model with tf_keras; make `tf.keras` mean tf_keras as well, before
# TensorFlow is first imported, so the exported SavedModel holds one Keras.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
