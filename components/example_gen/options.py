"""Options of the ExampleGen step (kept free of heavy imports: the CLI reads them)."""

from typing import Annotated

from pydantic import BeforeValidator, Field

from components.options import Bool, Int, Options, Share

# Files that may hold the dataset (the rest of the reader is too heavy for the CLI to import).
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar")


def is_archive(path: str) -> bool:
    """Whether ``path`` names a tar archive that may hold the dataset."""
    return path.lower().endswith(ARCHIVE_SUFFIXES)


def is_remote(path: str) -> bool:
    """Whether ``path`` names a remote filesystem (``gs://``, ``s3://``, ...) rather than a local path."""
    return "://" in path


def validate_eval_percent(eval_percent: int) -> int:
    """Returns ``eval_percent`` if it is a whole number in 1..50, else raises ValueError.

    0 leaves nothing to evaluate on; more than half would train on less than it evaluates on.
    """
    if isinstance(eval_percent, bool) or not isinstance(eval_percent, int) or not 1 <= eval_percent <= 50:
        raise ValueError(f"eval_percent must be a whole number between 1 and 50, got {eval_percent!r}")
    return eval_percent


# The configuration's eval_percent: the same rule as the ExampleGen's own check.
EvalPercent = Annotated[int, BeforeValidator(validate_eval_percent)]


class ExampleGenOptions(Options):
    """What ExampleGen does with review records it cannot or should not use.

    They are set aside in the Examples artifact's quarantine and the run goes on, unless there are
    too many: a dump that is mostly broken must stop the run, not quietly train on what is left.
    """

    SECTION = "example_gen"

    max_review_bytes: Int = Field(
        1_000_000,
        ge=1_000,
        le=1_000_000_000,
        description="Largest review file read, in bytes; a larger one is set aside as too_large (IMDb's "
        "largest review is 14 kB).",
    )
    max_bad_share: Share = Field(
        0.01,
        description="Share of the review records (0.0-1.0) that may be set aside as bad input before the run "
        "fails; duplicates and train copies of test reviews do not count.",
    )
    max_bad_records: Int = Field(
        10_000,
        ge=0,
        le=1_000_000_000,
        description="Number of bad review records that may be set aside before the run fails, whatever their "
        "share.",
    )
    quarantine_duplicates: Bool = Field(
        True,
        description="Set aside every extra copy of a train review (same text, same train folder), keeping the "
        "first by source path.",
    )
    quarantine_test_overlap: Bool = Field(
        True,
        description="Set aside train reviews whose text is also a test review, so the test split measures "
        "unseen text (the test split itself is never changed).",
    )
