"""Data that arrives as spans: ``--data '/data/imdb/span-{SPAN}/aclImdb_v1.tar.gz'``.

TFX's FileBasedExampleGen driver expands ``{SPAN}`` (or ``{YYYY}``, ``{MM}``, ``{DD}``, optionally
with ``{VERSION}``), picks the newest span (or those a RangeConfig names), records it in ML Metadata
and fingerprints only that span's files. Each span is a complete dataset: an archive, or a folder
holding ``train/`` and ``test/``.
"""

from collections.abc import Callable, Iterable
import datetime
import posixpath
import re

from components.example_gen.options import is_archive
from components.file_patterns import escape_pattern
from components.plural import noun_form

# Pattern of the review files below an unpacked dataset root.
DIRECTORY_PATTERN = "*/*/*.txt"
_PLACEHOLDERS = ("{SPAN", "{YYYY}", "{MM}", "{DD}", "{VERSION")
# TFX's driver turns its glob pattern into a regular expression without
# escaping these, so a span path holding them cannot be matched (see check_span_path).
_UNMATCHABLE_IN_SPAN_PATHS = "*?$^|"
# The largest span ML Metadata's int64 properties hold.
_MAX_SPAN = 2**63 - 1
# Each placeholder as TFX's driver reads it (tfx/components/example_gen/utils.py).
_PLACEHOLDER_REGEX = re.compile(r"\{(SPAN|VERSION)(?::.*?)?\}|\{(YYYY|MM|DD)\}")


class SpanError(ValueError):
    """Spans that cannot be read as asked: a path, span or range TFX's driver could not take."""


class SpanNotFoundError(SpanError):
    """A span of the range asked for is not there (the message lists the spans found)."""


def _placeholders(data_path: str) -> list[str]:
    """The placeholders of ``data_path`` by name (``SPAN``, ``VERSION``, ``YYYY`` ...), each time written."""
    return [match.group(1) or match.group(2) for match in _PLACEHOLDER_REGEX.finditer(data_path)]


def has_span_placeholder(data_path: str) -> bool:
    return any(placeholder in data_path for placeholder in _PLACEHOLDERS)


def split_path_at(path: str, marked: Callable[[str], object]) -> tuple[str, list[str]]:
    """(the folder before the first part of ``path`` that is ``marked``, the parts from there on)."""
    parts = path.split("/")
    first = next((i for i, part in enumerate(parts) if marked(part)), len(parts))
    return "/".join(parts[:first]) or ("/" if path.startswith("/") else "."), parts[first:]


def split_at_placeholder(data_path: str) -> tuple[str, str]:
    """(the folder before the first part with a placeholder, the rest of the path)."""
    base, parts = split_path_at(data_path.rstrip("/"), has_span_placeholder)
    return base, "/".join(parts)


def span_base(data_path: str) -> str:
    """The folder that holds the spans: for the configuration check, the ExampleGen's ``input_base``."""
    return split_at_placeholder(data_path)[0]


def check_placeholders(data_path: str) -> None:
    """Raises SpanError for placeholders TFX's span matching refuses (``verify_split_pattern_specs``)."""
    found = _placeholders(data_path)
    spans, versions = found.count("SPAN"), found.count("VERSION")
    dates = {found.count(token) for token in ("YYYY", "MM", "DD")}
    problems = (
        (spans > 1, f"holds {{SPAN}} {spans} times; a span's path holds it once"),
        (versions > 1, f"holds {{VERSION}} {versions} times; a span's path holds it once"),
        (dates not in ({0}, {1}), "needs each of {YYYY}, {MM} and {DD} once when it holds a date"),
        (spans and dates == {1}, "holds both {SPAN} and a date; a span is one or the other"),
        (versions and not spans and dates == {0}, "holds {VERSION} without {SPAN} or a date"),
    )
    problem = next((problem for refused, problem in problems if refused), None)
    if problem:
        raise SpanError(f"data: {data_path} {problem} (TFX's span placeholders)")


def check_span(data_path: str, span: int | None) -> None:
    """Raises SpanError when a span is asked for but ``data_path`` has no placeholder to put it in."""
    if span is not None and not has_span_placeholder(data_path):
        raise SpanError(f"span {span} was given, but the data path {data_path} has no {{SPAN}} placeholder")


def check_span_path(data_path: str) -> None:
    """Raises SpanError for a span path that TFX's driver could not match (see _UNMATCHABLE_IN_SPAN_PATHS)."""
    found = sorted({char for char in data_path if char in _UNMATCHABLE_IN_SPAN_PATHS})
    if found:
        raise SpanError(
            f"data: {data_path} holds {' '.join(repr(char) for char in found)}, which TFX's span matching "
            "cannot take in a path with a span placeholder; rename the folder, or give one span's data "
            "without a placeholder"
        )


def glob_input(base: str, relative: str) -> tuple[str, str]:
    """(input_base, pattern) of an archive or a dataset folder ("": ``base``) below ``base``, escaped."""
    pattern = escape_pattern(relative)
    if not is_archive(relative):
        pattern = posixpath.join(pattern, DIRECTORY_PATTERN)
    return escape_pattern(base), pattern


def find_spans(data_path: str) -> dict[int, str]:
    """The spans present: span number -> that span's dataset path, found as TFX's driver finds them."""
    base, relative = split_at_placeholder(data_path)
    return matched_spans(escape_pattern(base), escape_pattern(relative))


def matched_spans(input_base: str, pattern: str) -> dict[int, str]:
    """Span number -> the path ``input_base/pattern`` matches for it, by TFX's own glob and regex.

    Dates give the span as days since 1970-01-01; of several versions, the highest is taken.

    Raises:
        SpanError: a path whose span TFX's driver cannot read, or one span (and version) written two
            ways (``span-2`` and ``span-02``): the driver would read whichever it globs first.
    """
    from tfx.components.example_gen import utils as example_gen_utils
    from tfx.dsl.io import fileio
    from tfx.proto import example_gen_pb2

    split = example_gen_pb2.Input.Split(name="data", pattern=pattern)
    flags = example_gen_utils.verify_split_pattern_specs(split)
    glob_pattern, regex = example_gen_utils._create_matching_glob_and_regex(
        input_base, split, *flags, range_config=None
    )
    found: dict[int, tuple[int, str]] = {}
    spelled: dict[tuple[int, int | None], tuple[object, str]] = {}  # the first path of each span and version
    for path in fileio.glob(glob_pattern):
        try:
            span_tokens, span, version_tokens, version = (
                example_gen_utils._find_matched_span_version_from_path(path, regex, *flags)
            )
        except ValueError as error:  # TFX's driver stops at it too (a date that is not one: 2024-02-30)
            raise SpanError(
                f"data: {path} matches the spans' pattern, but TFX's ExampleGen driver cannot read its span "
                f"({error}); rename or move it"
            ) from None
        if span > _MAX_SPAN:
            raise SpanError(f"data: {path}: span {span} is beyond the largest span TFX records ({_MAX_SPAN})")
        tokens, first = spelled.setdefault((span, version), ((span_tokens, version_tokens), path))
        if tokens != (span_tokens, version_tokens):
            what = f"span {span}" + ("" if version is None else f" version {version}")
            raise SpanError(
                f"data: {what} is written two ways, {' and '.join(sorted((first, path)))}: rename or remove one "
                "(only one would be read)"
            )
        if span not in found or (version or 0) > found[span][0]:
            found[span] = (version or 0, path)
    return {span: path for span, (_version, path) in sorted(found.items())}


def check_num_spans(data_path: str, span: int | None, num_spans: int) -> None:
    """Raises SpanError for a range of spans that cannot be read: no placeholder, or spans below 0."""
    if num_spans == 1:
        return
    if not has_span_placeholder(data_path):
        raise SpanError(
            f"num_spans {num_spans} was given, but the data path {data_path} has no {{SPAN}} placeholder"
        )
    if "VERSION" in _placeholders(data_path):
        raise SpanError(
            f"num_spans {num_spans} cannot be used with a {{VERSION}} placeholder ({data_path}): "
            "each run then ingests one span"
        )
    if span is not None and span - num_spans + 1 < 0:
        raise SpanError(
            f"span {span} with num_spans {num_spans} would start at span {span - num_spans + 1}; "
            "spans are numbered from 0"
        )


def window(num_spans: int, newest: int) -> list[int]:
    """The spans of a range of ``num_spans`` ending at ``newest``, oldest first."""
    return list(range(newest - num_spans + 1, newest + 1))


def listing(numbers: Iterable[int], pattern: str) -> str:
    """Span numbers as a message lists them, each named by :func:`span_name`."""
    return ", ".join(span_name(number, pattern) for number in numbers)


def span_name(number: int, pattern: str) -> str:
    """A span number as a message names it: with the date it stands for when ``pattern`` has dates
    (TFX numbers a dated span by its days since 1970-01-01: ``20785 (2026-11-28)``)."""
    if "YYYY" not in _placeholders(pattern):
        return str(number)
    try:
        return f"{number} ({datetime.date(1970, 1, 1) + datetime.timedelta(days=number)})"
    except OverflowError:  # no date (a --span far beyond year 9999)
        return str(number)


def missing_spans_message(base: str, relative: str, wanted: list[int], found: list[int]) -> str:
    """The error for a range of spans some of which are not there, listing the spans found."""
    missing = [span for span in wanted if span not in found]
    listed = listing(found, relative) or "none"
    return (
        f"data: spans {span_name(wanted[0], relative)} to {span_name(wanted[-1], relative)} were asked for "
        f"({len(wanted)} spans), but {noun_form(len(missing), 'span')} {listing(missing, relative)} "
        f"{noun_form(len(missing), 'is', 'are')} not under {base} (matching {relative}); spans found: {listed}"
    )


def span_range(span: int | None, num_spans: int = 1):
    """The ExampleGen's RangeConfig (TFX's), or None for the newest span alone.

    The ``num_spans`` spans ending at ``span`` (a static range), or without ``span`` at the newest
    (a rolling range, TFX's "last K spans"). TFX's driver ingests one span per run; this
    ExampleGen's (driver.py) reads every span of the range in one run.
    """
    from tfx.proto import range_config_pb2

    if num_spans == 1 and span is None:
        return None
    if span is None:
        return range_config_pb2.RangeConfig(rolling_range=range_config_pb2.RollingRange(num_spans=num_spans))
    static = range_config_pb2.StaticRange(start_span_number=span - num_spans + 1, end_span_number=span)
    return range_config_pb2.RangeConfig(static_range=static)


def range_spans(range_config) -> tuple[int, int | None] | None:
    """(num_spans, last span or None for the newest) of a RangeConfig of several spans; None for one span."""
    if range_config is None:
        return None
    if range_config.HasField("rolling_range"):
        count, end = range_config.rolling_range.num_spans, None
    else:  # a static range, or none (0 to 0)
        end = range_config.static_range.end_span_number
        count = end - range_config.static_range.start_span_number + 1
    return (count, end) if count > 1 else None
