"""Loading a pushed model and classifying raw review text."""

from collections.abc import Sequence
import os

from schemas import features

SAVED_MODEL_FILE = "saved_model.pb"


class ModelNotFoundError(FileNotFoundError):
    """The path is neither a SavedModel version directory nor a model directory holding one."""


def resolve_model_dir(path: str) -> str:
    """Returns the SavedModel directory for ``path``.

    ``path`` is a version directory (``<serving_root>/<model>/<version>``) or
    the model directory above it, in which case the highest integer version
    that holds a SavedModel is taken, as TF Serving does.
    """
    import tensorflow as tf

    if tf.io.gfile.exists(os.path.join(path, SAVED_MODEL_FILE)):
        return path
    if not tf.io.gfile.isdir(path):
        raise ModelNotFoundError(f"{path} does not exist")
    versions = [
        int(name.rstrip("/"))
        for name in tf.io.gfile.listdir(path)
        if name.rstrip("/").isdigit()
        and tf.io.gfile.exists(os.path.join(path, name.rstrip("/"), SAVED_MODEL_FILE))
    ]
    if not versions:
        raise ModelNotFoundError(
            f"{path} holds no SavedModel: expected {SAVED_MODEL_FILE} in it or in an integer version folder below it"
        )
    return os.path.join(path, str(max(versions)))


def predict(model_dir: str, texts: Sequence[str]) -> list[float]:
    """Positive-class probabilities for raw review texts, from the raw-text signature."""
    import tensorflow as tf

    loaded = tf.saved_model.load(resolve_model_dir(model_dir))
    serve = loaded.signatures[features.TEXT_SIGNATURE]
    outputs = serve(**{features.TEXT_INPUT: tf.constant(list(texts), dtype=tf.string)})
    return [float(p) for p in outputs[features.PROBABILITY_OUTPUT].numpy()]
