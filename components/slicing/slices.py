"""What each test review is sliced by: its length in tokens, and its first sentence.

Pure functions, no TensorFlow: the EvalSlices executor (executor.py) applies
them to every test review, the tests check their properties
(tests/test_slicing.py).

The first sentence is taken from the review's *normalised* text
(:func:`normalise_whitespace`: HTML line breaks and runs of white space become
one space, the ends stripped), so it is always a prefix of that text. A
sentence ends

- at an HTML line break (a paragraph or a title line without punctuation), or
- after a run of ``.``, ``!`` or ``?`` (with the closing quotes or brackets
  that follow it) and a space, unless the run is one ``.`` after a known
  abbreviation (``Mr.``, ``Dr.``, ``vs.``) or a single letter (an initial:
  ``J. R. R. Tolkien``), or a run of dots followed by a lower-case word (an
  ellipsis or abbreviation inside a sentence: ``well... maybe``, ``etc. and``).

A review without any such end is its own first sentence.
"""

import re

# Lengths in tokens (components/text.py tokenize, what the model reads) at
# which a new bucket starts. The deep branch reads the first 400 tokens; the
# median test review has about 200.
LENGTH_BUCKET_STARTS = (0, 100, 250, 500)

_LINE_BREAK = re.compile(r"<\s*br\s*/?\s*>", re.IGNORECASE)
_WHITE_SPACE = re.compile(r"\s+")
# A run of sentence-ending punctuation, the closing quotes or brackets after
# it, then the space (the text is normalised: one space) before the next word.
_SENTENCE_END = re.compile(r"([.!?]+)[\"')\]]*(?= (\S))")
# Words after which a single "." does not end a sentence (compared lower case).
ABBREVIATIONS = frozenset(
    {"mr", "mrs", "ms", "dr", "st", "jr", "sr", "vs", "prof", "mt", "no", "vol", "approx", "i.e", "e.g"}
)
_LAST_WORD = re.compile(r"(\S+)$")


def length_bucket(num_tokens: int) -> str:
    """The length bucket of a review of ``num_tokens`` tokens, e.g. ``"100-249"`` or ``"500+"``."""
    if num_tokens < 0:
        raise ValueError(f"a review has at least 0 tokens, got {num_tokens}")
    bounds = (*LENGTH_BUCKET_STARTS[1:], None)
    for start, end in zip(LENGTH_BUCKET_STARTS, bounds, strict=True):
        if end is None:
            return f"{start}+"
        if num_tokens < end:
            return f"{start}-{end - 1}"
    raise AssertionError("unreachable: the last bucket has no end")


def length_buckets() -> tuple[str, ...]:
    """Every bucket name, shortest reviews first."""
    return tuple(length_bucket(start) for start in LENGTH_BUCKET_STARTS)


def normalise_whitespace(text: str) -> str:
    """HTML line breaks and runs of white space as one space, the ends stripped."""
    return _WHITE_SPACE.sub(" ", _LINE_BREAK.sub(" ", text)).strip()


def _ends_sentence(text: str, match: re.Match) -> bool:
    run, next_character = match.group(1), match.group(2)
    if set(run) != {"."}:
        return True  # "!", "?", "?!" etc.
    if next_character.islower():
        return False  # "well... maybe", "etc. and"
    if run != ".":
        return True  # an ellipsis before a capital
    word = _LAST_WORD.search(text, 0, match.start(1))
    if word is None:
        return True
    stem = word.group(1).lstrip("\"'([").lower()
    return not (stem in ABBREVIATIONS or (len(stem) == 1 and stem.isalpha()))


def first_sentence(text: str) -> str:
    """The first sentence of a review, a prefix of ``normalise_whitespace(text)`` (see the module).

    Empty only when the normalised text is empty.
    """
    # The first paragraph: up to the first line break that has text before it.
    paragraph = ""
    for part in _LINE_BREAK.split(text):
        paragraph = normalise_whitespace(part)
        if paragraph:
            break
    for match in _SENTENCE_END.finditer(paragraph):
        if _ends_sentence(paragraph, match):
            return paragraph[: match.end()]
    return paragraph
