"""The small JSON files that artifacts hold, on any ``tf.io.gfile`` filesystem."""

import json
from typing import Any

import tensorflow as tf


def read_json(path: str) -> Any | None:
    """The JSON document at ``path``; None when there is no such file (an artifact written without it)."""
    if not tf.io.gfile.exists(path):
        return None
    with tf.io.gfile.GFile(path) as f:
        return json.load(f)


def write_json(path: str, document: Any, **options: Any) -> None:
    """Writes ``document`` to ``path`` (indented by 2; ``options`` go to ``json.dump``)."""
    with tf.io.gfile.GFile(path, "w") as f:
        json.dump(document, f, **{"indent": 2, **options})
