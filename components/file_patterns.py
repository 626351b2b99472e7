"""Paths as file patterns: a folder or file name that matches only itself.

TFX's input fingerprint, Beam's ``MatchFiles`` / ``ReadFromTFRecord`` and
``tf.io.gfile.glob`` all read their argument as a glob pattern, so a user's
folder such as ``/data/imdb [v1]`` (or an output folder holding ``*`` or
``?``) would match other paths, or none. A backslash is an escape character
to TensorFlow's and Beam's matchers, so ``da\\ta`` would match ``data``
only. Every path that becomes a pattern goes through :func:`escape_pattern`
first; all three understand its ``[[]`` and ``[\\\\]`` escapes.
"""

import glob
import os


def escape_pattern(path: str) -> str:
    """``path`` as a glob pattern that matches only itself (``[ * ? \\`` escaped; a URI scheme kept)."""
    scheme, separator, rest = path.partition("://")
    if separator:
        return scheme + separator + _escape(rest)
    return _escape(path)


def _escape(path: str) -> str:
    # glob.escape brackets ``[ * ?``; a backslash, which it leaves, becomes the
    # class ``[\\]``, which TensorFlow's fnmatch, Beam's and Python's read alike.
    return glob.escape(path).replace("\\", "[\\\\]")


def all_files_pattern(folder: str) -> str:
    """The pattern of every file directly in ``folder`` (e.g. an Examples split's TFRecord files)."""
    return os.path.join(escape_pattern(folder), "*")
