"""Counts with their nouns, as messages print them: ``1 review``, ``2 reviews``, ``1,234 reviews``."""

from collections.abc import Sequence


def noun_form(count: int, noun: str, plural: str | None = None) -> str:
    """``noun`` for a count of 1, else its plural (``plural``, or ``noun`` + s)."""
    return noun if count == 1 else plural or f"{noun}s"


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """``count`` (thousands separated) and the form of ``noun`` it takes: ``1 review``, ``1,234 reviews``."""
    return f"{count:,} {noun_form(count, noun, plural)}"


def listed(names: Sequence[str], shown: int = 5) -> str:
    """The first ``shown`` of ``names``, then how many more: ``a, b, c, d, e and 2 more``."""
    more = f" and {len(names) - shown:,} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more
