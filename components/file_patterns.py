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
import warnings

# Keeps Beam's "FutureWarning: Possible nested set" for an escaped path off stderr: Beam's
# FileSystem.match copies a glob class as it is into its regular expression, so the escape [[] of a
# path holding [ becomes the regex class [[] (the same match, but Python warns on every compile). The
# compile runs inside Beam's MatchFiles and ReadFromTFRecord on worker threads (or processes), where no
# catch_warnings of ours reaches: the filter is installed when this module is imported, for that
# message from that module of Beam's only.
warnings.filterwarnings(
    "ignore",
    message=r"Possible nested set at position",
    category=FutureWarning,
    module=r"apache_beam\.io\.filesystem\Z",
)


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


def tfrecord_compression_of(path: str) -> str:
    """``path``'s TFRecord compression for ``tf.data``: ``"GZIP"`` or ``""``, decided as Beam decides it.

    Beam's ``ReadFromTFRecord`` (``CompressionTypes.AUTO``), which Transform and TFMA read with, goes by
    the lower-cased suffix: ``.gz`` (``.GZ`` too) is gzip. This pipeline writes plain TFRecords;
    artifacts written before (and by TFX's ``WriteSplit``) are gzip.

    Raises:
        ValueError: Beam would read ``path`` with a compression ``tf.data`` has not (``.bz2``, ``.zst``, ...).
    """
    from apache_beam.io.filesystem import CompressionTypes

    compression = CompressionTypes.detect_compression_type(path)
    if compression == CompressionTypes.GZIP:
        return "GZIP"
    if compression == CompressionTypes.UNCOMPRESSED:
        return ""
    raise ValueError(f"{path}: {compression} compressed TFRecords cannot be read; use gzip (.gz) or none")


def tfrecord_compression(files: list[str]) -> str:
    """The one compression of ``files`` (``""`` for none), for a ``TFRecordDataset`` reading them all.

    Raises:
        ValueError: some files are gzip and others not (tfx_bsl refuses them too, as
            ``INVALID_MIXED_COMPRESSION_TYPES``).
    """
    by_compression = {tfrecord_compression_of(name): name for name in files}
    if len(by_compression) > 1:
        raise ValueError(
            f"TFRecord files of mixed compression: {by_compression['GZIP']} is gzip (its name ends in .gz), "
            f"{by_compression['']} is not"
        )
    return next(iter(by_compression), "")
