"""TFX's file-based ExampleGen driver, with an input fingerprint that a symbolic link cannot break.

TFX's driver fingerprints the input (for caching) with
``io_utils.generate_fingerprint``, which stats every matched file through any
link: one broken link in a dataset folder fails the step with an empty
``NotFoundError`` before the reader can set the link aside (see
``reader.find_symlinks``). This driver does what TFX's does, with one change:
a link counts with its own size and time (``lstat``), never its target's;
and a local dataset's files are listed as the reader lists them
(``reader.list_local_files``), whatever characters their names hold.
Span and version resolution are TFX's own.
"""

from __future__ import annotations

import copy
import os

from tfx.components.example_gen import driver, input_processor
from tfx.components.example_gen import utils as example_gen_utils
from tfx.dsl.io import fileio

from components.example_gen import reader
from components.example_gen.options import is_remote

_NANOS_PER_SECOND = 10**9


def input_fingerprint(split_name: str, pattern: str) -> str:
    """TFX's fingerprint of the files ``pattern`` matches (same text), taking links as they are.

    The count of files, their total size and the XOR and sum of their
    modification times in whole seconds: a changed, added or removed file
    changes it, so a cached run is reused only for the same input.
    """
    # Locally the reader's own listing: TensorFlow's glob cannot return a name
    # that is not UTF-8 (UnicodeDecodeError) and skips names with a backslash.
    files = fileio.glob(pattern) if is_remote(pattern) else reader.list_local_files(pattern)
    total_bytes = xor_checksum = sum_checksum = 0
    for path in files:
        if not is_remote(path):
            status = os.lstat(path)  # a link is taken as it is, never followed
            length, mtime = status.st_size, status.st_mtime_ns // _NANOS_PER_SECOND
        else:
            status = fileio.stat(path)
            length, mtime = status.length, int(status.mtime_nsec / _NANOS_PER_SECOND)
        total_bytes += length
        xor_checksum ^= mtime
        sum_checksum += mtime
    return (
        f"split:{split_name},num_files:{len(files)},total_bytes:{total_bytes},"
        f"xor_checksum:{xor_checksum},sum_checksum:{sum_checksum}"
    )


class InputProcessor(input_processor.FileBasedInputProcessor):
    """``FileBasedInputProcessor`` with :func:`input_fingerprint`."""

    def resolve_span_and_version(self) -> tuple[int, int | None]:
        # TFX's calculate_splits_fingerprint_span_and_version, with the fingerprint above.
        fingerprints = []
        select_span, select_version = 0, None
        for split in (copy.deepcopy(split) for split in self._splits):
            target_span, target_version = example_gen_utils._get_target_span_version(
                self._input_base_uri, split, range_config=self._range_config
            )
            target_span = target_span or 0
            if select_span == 0 and select_version is None:
                select_span, select_version = target_span, target_version
            if (select_span, select_version) != (target_span, target_version):
                raise ValueError("Latest span and version should be the same for each split")
            fingerprints.append(
                input_fingerprint(split.name, os.path.join(self._input_base_uri, split.pattern))
            )
        self._fingerprint = "\n".join(fingerprints)
        return select_span, select_version


class Driver(driver.FileBasedDriver):
    """TFX's ``FileBasedDriver`` with :class:`InputProcessor`."""

    def get_input_processor(self, splits, range_config=None, input_base_uri=None) -> InputProcessor:
        assert input_base_uri
        return InputProcessor(input_base_uri, splits, range_config)
