"""Counts with their nouns, as messages print them: ``1 review``, ``2 reviews``, ``1,234 reviews``."""


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """``count`` (thousands separated) and ``noun``, plural unless ``count`` is 1 (``plural`` if not ``noun`` + s)."""
    return f"{count:,} {noun if count == 1 else plural or noun + 's'}"
