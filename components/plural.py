"""Counts with their nouns, as messages print them: ``1 review``, ``2 reviews``, ``1,234 reviews``."""


def noun_form(count: int, noun: str, plural: str | None = None) -> str:
    """``noun`` for a count of 1, else its plural (``plural``, or ``noun`` + s)."""
    return noun if count == 1 else plural or f"{noun}s"


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """``count`` (thousands separated) and the form of ``noun`` it takes: ``1 review``, ``1,234 reviews``."""
    return f"{count:,} {noun_form(count, noun, plural)}"
