"""The files that artifacts hold (JSON documents, lines of text), on any ``tf.io.gfile`` filesystem.

Each reader gives None for a file that does not exist (an artifact written
without it) and raises DamagedFileError for one it cannot read.
"""

import json
from typing import Any


class DamagedFileError(ValueError):
    """A file of an artifact is damaged (the message names the file and the fault)."""


def read_json(path: str) -> Any | None:
    """The JSON document at ``path``; None when there is no such file.

    Raises:
        DamagedFileError: A folder, unreadable, not UTF-8 (a BOM included), not JSON, or ``null`` (no file
            of an artifact holds it, and None means no file).
    """
    import tensorflow as tf

    if not tf.io.gfile.exists(path):
        return None
    if tf.io.gfile.isdir(path):
        raise DamagedFileError(f"{path} is a folder, not a file")
    try:
        with tf.io.gfile.GFile(path, "rb") as file:
            document = json.loads(file.read().decode("utf-8"))
    except (tf.errors.OpError, OSError, ValueError, RecursionError) as error:
        raise DamagedFileError(
            f"{path} cannot be read as a UTF-8 JSON document ({type(error).__name__}: {error})"
        ) from None
    if document is None:
        raise DamagedFileError(f"{path}: the document is null")
    return document


def write_json(path: str, document: Any, **options: Any) -> None:
    """Writes ``document`` to ``path`` (indented by 2; ``options`` go to ``json.dump``)."""
    import tensorflow as tf

    with tf.io.gfile.GFile(path, "w") as f:
        json.dump(document, f, **{"indent": 2, **options})


def read_lines(path: str, gzipped: bool = False) -> list[str] | None:
    """The ``"\\n"``-ended UTF-8 lines of a file (None when there is none); split on ``"\\n"`` only, not
    ``splitlines``: a token may hold other line breaks (U+0085, U+2028), never a newline.

    Raises:
        DamagedFileError: Unreadable, not gzip (``gzipped``) or UTF-8, or its last line cut short.
    """
    import gzip
    import zlib

    import tensorflow as tf

    if not tf.io.gfile.exists(path):
        return None
    try:
        with tf.io.gfile.GFile(path, "rb") as file:
            data = file.read()
        text = (gzip.decompress(data) if gzipped else data).decode("utf-8")
    except (tf.errors.OpError, OSError, EOFError, zlib.error, UnicodeDecodeError) as error:
        raise DamagedFileError(f"{path} cannot be read ({type(error).__name__}: {error})") from None
    if text and not text.endswith("\n"):
        raise DamagedFileError(f"{path} is cut short: its last line has no end")
    return text.split("\n")[:-1]
