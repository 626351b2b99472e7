"""How a downstream service uses the pushed model: only TensorFlow, no pipeline code.

    python examples/classify_reviews.py imdb-pipeline-output/serving/imdb_sentiment "a wonderful film"

It loads the newest version under the model directory (the integer-named
folder holding a SavedModel, the one TF Serving would load), checks the
signature it relies on, and prints the positive-class probability of each text.
"""

import os
import re
import sys

import tensorflow as tf

SIGNATURE = "serving_default"
INPUT = "text"
OUTPUT = "probability"


def newest_version_dir(model_dir: str) -> str:
    """The highest version folder that holds a SavedModel: named by its number in ASCII digits (``17``; not
    ``0017``, not ``²``, which ``str.isdigit`` takes), skipping one still being copied in (no SavedModel yet)."""
    versions = [
        int(name)
        for name in os.listdir(model_dir)
        if re.fullmatch(r"0|[1-9][0-9]*", name)
        and tf.saved_model.contains_saved_model(os.path.join(model_dir, name))
    ]
    if not versions:
        raise FileNotFoundError(f"no version folder holding a SavedModel under {model_dir}")
    return os.path.join(model_dir, str(max(versions)))


class ReviewClassifier:
    """Loads one SavedModel version and scores raw review texts."""

    def __init__(self, model_dir: str):
        self.version_dir = newest_version_dir(model_dir)
        self._serve = tf.saved_model.load(self.version_dir).signatures[SIGNATURE]
        inputs = self._serve.structured_input_signature[1]
        if list(inputs) != [INPUT] or inputs[INPUT].dtype != tf.string:
            raise TypeError(
                f"{self.version_dir}: {SIGNATURE} must take one string input '{INPUT}', got {inputs}"
            )

    def __call__(self, texts: list[str]) -> list[float]:
        outputs = self._serve(**{INPUT: tf.constant(texts)})
        return outputs[OUTPUT].numpy().tolist()


if __name__ == "__main__":
    classifier = ReviewClassifier(sys.argv[1])
    for text, probability in zip(sys.argv[2:], classifier(sys.argv[2:]), strict=True):
        print(f"{probability:.4f}\t{'positive' if probability >= 0.5 else 'negative'}\t{text}")
