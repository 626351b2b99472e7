"""The slicing functions: first sentences (hypothesis properties and fixed cases), length buckets.

Examples are derandomised (the same every run) and no example database is
written into the checkout.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
import pytest

from components.slicing.slices import (
    LENGTH_BUCKET_STARTS,
    first_sentence,
    length_bucket,
    length_buckets,
    normalise_whitespace,
)

PROPERTY_SETTINGS = settings(max_examples=400, deadline=None, derandomize=True, database=None)

# Pieces that exercise the rules: terminators, quotes, abbreviations, initials,
# ellipses, line breaks and odd white space.
PIECES = [
    ".",
    "!",
    "?",
    "...",
    "?!",
    '"',
    "'",
    ")",
    "(",
    " ",
    "  ",
    "\n",
    "\t",
    "\u00a0",
    "\u2003",
    "<br />",
    "<br>",
    "<BR/>",
    "< br >",
    "<",
    "br",
    "Mr",
    "mr.",
    "J",
    "e.g",
    "etc",
    "Great",
    "movie",
    "it",
    "I",
    "A",
    "b",
    "9",
    "\u00c9t\u00e9",
    "\u00e9t\u00e9",
    "\u4e2d",
]
TEXTS = st.one_of(
    st.text(max_size=80),
    st.lists(st.sampled_from(PIECES), max_size=25).map("".join),
    st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=3)), max_size=20).map("".join),
)


@PROPERTY_SETTINGS
@given(TEXTS)
def test_first_sentence_is_a_nonempty_stripped_prefix_of_the_normalised_text(text):
    normalised = normalise_whitespace(text)
    sentence = first_sentence(text)
    assert normalised.startswith(sentence)
    assert bool(sentence) == bool(normalised)
    assert sentence == sentence.strip()


@PROPERTY_SETTINGS
@given(TEXTS)
def test_first_sentence_of_a_first_sentence_is_itself(text):
    sentence = first_sentence(text)
    assert first_sentence(sentence) == sentence


@PROPERTY_SETTINGS
@given(
    st.lists(st.sampled_from(["the", "film", "was", "long", "Really", "ok", ","]), min_size=1, max_size=8),
    st.sampled_from([".", "!", "?", "...", "!!", '."', "?)"]),
    st.text(min_size=1, max_size=40).filter(lambda rest: rest.strip()[:1].isupper()),
)
def test_a_sentence_then_a_capitalised_one_gives_the_first(words, end, rest):
    sentence = " ".join(words) + end
    assert first_sentence(f"{sentence} {rest}") == sentence
    assert first_sentence(f"  {sentence}<br /><br />{rest}") == sentence


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A wonderful film. I loved it.", "A wonderful film."),
        ("Awful.<br /><br />Just awful.", "Awful."),
        ("Great movie<br /><br />I saw it twice.", "Great movie"),
        ("<br /> <br/>Hello there! How are you?", "Hello there!"),
        ("Mr. Smith goes to Washington. It is long.", "Mr. Smith goes to Washington."),
        ("J. R. R. Tolkien wrote it. Then Jackson filmed it.", "J. R. R. Tolkien wrote it."),
        ("Well... maybe not. No.", "Well... maybe not."),
        ("Wow... This was great.", "Wow..."),
        ('He said "Stop!" Then he left.', 'He said "Stop!"'),
        ("Is it good?? Yes.", "Is it good??"),
        ("no punctuation\tat  all", "no punctuation at all"),
        ("End.", "End."),
        ("  \n ", ""),
        ("", ""),
    ],
)
def test_first_sentence_cases(text, expected):
    assert first_sentence(text) == expected


def test_length_buckets_cover_every_length_once_at_their_bounds():
    assert length_buckets() == ("0-99", "100-249", "250-499", "500+")
    assert [length_bucket(n) for n in (0, 99, 100, 249, 250, 499, 500, 10_000)] == [
        "0-99",
        "0-99",
        "100-249",
        "100-249",
        "250-499",
        "250-499",
        "500+",
        "500+",
    ]
    assert LENGTH_BUCKET_STARTS[0] == 0
    with pytest.raises(ValueError, match="at least 0 tokens, got -1"):
        length_bucket(-1)
