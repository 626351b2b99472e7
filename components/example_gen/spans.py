"""Data that arrives as spans: ``--data '/data/imdb/span-{SPAN}/aclImdb_v1.tar.gz'``.

TFX's FileBasedExampleGen driver expands ``{SPAN}`` (or the date placeholders
``{YYYY}``, ``{MM}``, ``{DD}``, optionally with ``{VERSION}``) in the input
pattern, picks the newest span (or the one a RangeConfig names), records it on
the Examples artifact in ML Metadata and fingerprints only that span's files.
Each span is a complete dataset in the published layout: an archive, or a
folder holding ``train/`` and ``test/``.
"""

import posixpath

from components.example_gen.options import is_remote

# Pattern of the review files below an unpacked dataset root.
DIRECTORY_PATTERN = "*/*/*.txt"
_PLACEHOLDERS = ("{SPAN", "{YYYY}", "{MM}", "{DD}", "{VERSION")


def has_span_placeholder(data_path: str) -> bool:
    return any(placeholder in data_path for placeholder in _PLACEHOLDERS)


def _split_at_placeholder(data_path: str) -> tuple[str, str]:
    parts = data_path.rstrip("/").split("/")
    first = next(i for i, part in enumerate(parts) if has_span_placeholder(part))
    base = "/".join(parts[:first]) or ("/" if data_path.startswith("/") else ".")
    return base, "/".join(parts[first:])


def span_base(data_path: str) -> str:
    """Returns the fixed folder that holds the spans: the path before its first part with a placeholder.

    The one definition for the configuration check and the ExampleGen's
    ``input_base``, so both look at the same folder. ``data_path`` must hold a
    placeholder (see :func:`has_span_placeholder`).
    """
    return _split_at_placeholder(data_path)[0]


def check_span(data_path: str, span: int | None) -> None:
    """Raises ValueError when a span is asked for but ``data_path`` has no placeholder to put it in."""
    if span is not None and not has_span_placeholder(data_path):
        raise ValueError(f"span {span} was given, but the data path {data_path} has no {{SPAN}} placeholder")


def span_input(data_path: str) -> tuple[str, str]:
    """Returns (input_base, pattern): the fixed folder before the first placeholder, and the rest.

    Raises:
        FileNotFoundError: the fixed folder does not exist.
    """
    from tfx.dsl.io import fileio

    from components.example_gen import reader

    input_base, relative = _split_at_placeholder(data_path)
    # Remote folders are not checked: the pipeline may be compiled where they are not readable.
    if not is_remote(input_base) and not fileio.isdir(input_base):
        raise FileNotFoundError(
            f"IMDb spans not found: {input_base} (the folder before {relative}) does not exist"
        )
    if reader.is_archive(relative):
        return input_base, relative
    return input_base, posixpath.join(relative, DIRECTORY_PATTERN)


def span_range(span: int):
    """A RangeConfig selecting one span instead of the newest (ExampleGen ingests one span per run)."""
    from tfx.proto import range_config_pb2

    return range_config_pb2.RangeConfig(
        static_range=range_config_pb2.RangeConfig.StaticRange(start_span_number=span, end_span_number=span)
    )
