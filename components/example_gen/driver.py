"""TFX's file-based ExampleGen driver, with an input fingerprint that a symbolic link cannot break.

TFX's ``io_utils.generate_fingerprint`` stats every matched file through any link: one broken link
in a dataset folder fails the step with an empty ``NotFoundError`` before the reader can set the
link aside. Here a link counts with its own size and time (``lstat``), and a local dataset's files
are listed as the reader lists them (``reader.list_local_files``), whatever their names hold.
Span and version resolution are TFX's own; a range of several spans is read in one run.
"""

from __future__ import annotations

import copy
import os

from tfx.components.example_gen import driver, input_processor
from tfx.components.example_gen import utils as example_gen_utils
from tfx.dsl.io import fileio
from tfx.proto import example_gen_pb2
from tfx.types import standard_component_specs
from tfx.utils import proto_utils

from components.example_gen import reader, spans
from components.example_gen.options import is_archive, is_remote

_NANOS_PER_SECOND = 10**9


def input_fingerprint(split_name: str, pattern: str) -> str:
    """TFX's fingerprint of the files ``pattern`` matches (the same text), taking links as they are.

    The count of files, their total size and the XOR and sum of their modification times in whole
    seconds: a cached run is reused only for the same input.
    """
    # Locally the reader's own listing: TensorFlow's glob cannot return a name
    # that is not UTF-8 (UnicodeDecodeError) and skips names with a backslash.
    files = fileio.glob(pattern) if is_remote(pattern) else reader.list_local_files(pattern)
    total_bytes = xor_checksum = sum_checksum = 0
    for path in files:
        if not is_remote(path):
            # A link is taken as it is (the reader never follows one it finds in a folder), but for the
            # archive itself, which the reader reads through a link: its target changes the input.
            status = os.stat(path) if is_archive(path) and os.path.exists(path) else os.lstat(path)
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
    """``FileBasedInputProcessor`` with :func:`input_fingerprint`, and ranges of several spans.

    TFX's processor takes one span per run; a RangeConfig of several spans is resolved here span by
    span with TFX's own matching, each span's pattern kept in :attr:`span_patterns` for the executor.
    """

    def __init__(self, input_base_uri, splits, range_config=None):
        self.span_window = spans.range_spans(range_config)
        # TFX's processor refuses a range of several spans; it is resolved here instead.
        super().__init__(input_base_uri, splits, None if self.span_window else range_config)
        self._range_config = range_config
        self.span_patterns: list[tuple[int, str]] = []

    def resolve_span_and_version(self) -> tuple[int, int | None]:
        # The IMDb ExampleGen reads one input split: the whole dataset.
        (split,) = self._splits
        if self.span_window:
            return self._resolve_window(split, *self.span_window)
        # TFX's calculate_splits_fingerprint_span_and_version, with the fingerprint above.
        split = copy.deepcopy(split)
        span, version = example_gen_utils._get_target_span_version(
            self._input_base_uri, split, range_config=self._range_config
        )
        self._fingerprint = input_fingerprint(split.name, os.path.join(self._input_base_uri, split.pattern))
        return span or 0, version

    def _resolve_window(self, split, num_spans: int, last: int | None) -> tuple[int, None]:
        found = list(spans.matched_spans(self._input_base_uri, split.pattern))
        if not found:
            raise spans.SpanNotFoundError(
                f"data: no span found: nothing under {self._input_base_uri} matches {split.pattern}"
            )
        wanted = spans.window(num_spans, last if last is not None else max(found))
        if any(span not in found for span in wanted):
            raise spans.SpanNotFoundError(
                spans.missing_spans_message(self._input_base_uri, split.pattern, wanted, found)
            )
        self.span_patterns = []
        for span in wanted:
            resolved = copy.deepcopy(split)
            example_gen_utils._get_target_span_version(
                self._input_base_uri, resolved, range_config=spans.span_range(span)
            )
            self.span_patterns.append((span, resolved.pattern))
        self._fingerprint = "\n".join(
            input_fingerprint(f"span-{span}", os.path.join(self._input_base_uri, pattern))
            for span, pattern in self.span_patterns
        )
        return wanted[-1], None


class Driver(driver.FileBasedDriver):
    """TFX's ``FileBasedDriver`` with :class:`InputProcessor`.

    With a range of several spans, the executor's input config has one split per span (``span-<n>``,
    its resolved pattern); the Examples artifact's ``span`` is the range's last span, and its
    fingerprint covers every span.
    """

    def get_input_processor(self, splits, range_config=None, input_base_uri=None) -> InputProcessor:
        assert input_base_uri
        self._processor = InputProcessor(input_base_uri, splits, range_config)
        return self._processor

    def resolve_exec_properties(self, exec_properties, pipeline_info, component_info):
        exec_properties = super().resolve_exec_properties(exec_properties, pipeline_info, component_info)
        if self._processor.span_patterns:
            splits = [
                example_gen_pb2.Input.Split(name=f"span-{span}", pattern=pattern)
                for span, pattern in self._processor.span_patterns
            ]
            input_config = proto_utils.proto_to_json(example_gen_pb2.Input(splits=splits))
            exec_properties[standard_component_specs.INPUT_CONFIG_KEY] = input_config
        return exec_properties
