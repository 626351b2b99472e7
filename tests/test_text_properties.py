"""Property tests of text normalisation and tokenisation (hypothesis).

Whatever a client sends to the serving signature, or a review dump holds, the
tokeniser must not fail, must give the same tokens when run on its own output,
and the transform must map every token to an id inside the vocabulary.

Examples are derandomised (the same ones every run, so CI is repeatable) and no
example database is written into the checkout.
"""

from __future__ import annotations

import functools

from hypothesis import given, settings
from hypothesis import strategies as st
import numpy as np
import pytest
import regex
import tensorflow as tf

from components.text import tokenize
from components.transform.options import TransformOptions
from schemas import features
from tests.conftest import analyze

PROPERTY_SETTINGS = settings(max_examples=300, deadline=None, derandomize=True, database=None)
TRANSFORM_SETTINGS = settings(max_examples=60, deadline=None, derandomize=True, database=None)

# Pieces that exercise the rules: clitics, quotes, line breaks, typographic and
# Windows-1252 punctuation, combining marks, odd white space, letters whose
# lower case is longer than themselves.
TRICKY_PIECES = [
    "n't",
    "'s",
    "'re",
    "'ve",
    "'ll",
    "'d",
    "'m",
    "'",
    "''",
    "don't",
    "it's",
    "o'brien",
    "<br />",
    "<br>",
    "<BR/>",
    "< br >",
    "<",
    ">",
    "/",
    "br",
    "\u2019",
    "\u201c",
    "\u2014",
    "\u2026",
    "\x85",
    "\x92",
    "\x96",
    "\u0301",
    "\u0130",
    "\u00df",
    "\ufb03",
    "\u00a0",
    "\u2003",
    "\x0b",
    "\x0c",
    "\t",
    "\n",
    " ",
    "a",
    "Z",
    "\u00e9",
    "7",
    "!",
    ".",
    "-",
]
tricky_text = st.lists(st.sampled_from(TRICKY_PIECES), max_size=30).map("".join)
any_text = st.one_of(st.text(max_size=200), tricky_text)
text_batches = st.lists(any_text, min_size=1, max_size=6)


def token_lists(texts: list[bytes] | list[str]) -> list[list[bytes]]:
    return tokenize(tf.constant(texts, dtype=tf.string)).to_list()


def rejoined(tokens: list[list[bytes]]) -> list[bytes]:
    return [b" ".join(row) for row in tokens]


@PROPERTY_SETTINGS
@given(text_batches)
def test_any_unicode_text_gives_clean_tokens(texts):
    """Every token is non-empty, valid UTF-8 and free of the separators that split tokens."""
    for row in token_lists([text.encode("utf-8") for text in texts]):
        for token in row:
            assert token
            assert not any(separator in token for separator in b" \t\n\x0b\x0c\r")
            token.decode("utf-8")


@PROPERTY_SETTINGS
@given(text_batches)
def test_tokenising_the_joined_tokens_gives_the_same_tokens(texts):
    once = token_lists([text.encode("utf-8") for text in texts])
    assert token_lists(rejoined(once)) == once


@PROPERTY_SETTINGS
@given(st.lists(st.binary(max_size=200), min_size=1, max_size=6))
def test_arbitrary_bytes_are_read_as_utf8_with_replacement(raw):
    """The serving signature gets raw bytes: invalid UTF-8 becomes U+FFFD, as Python's "replace" does."""
    tokens = token_lists(raw)
    assert tokens == token_lists([data.decode("utf-8", errors="replace").encode("utf-8") for data in raw])
    assert token_lists(rejoined(tokens)) == tokens


@PROPERTY_SETTINGS
@given(any_text, st.characters(exclude_categories=("Cs",)))
def test_no_character_ends_the_text_early(text, character):
    """Whatever precedes it, a word after any character (NUL among them) is read."""
    assert token_lists([f"{text}{character} sentinel".encode()])[0][-1] == b"sentinel"


@PROPERTY_SETTINGS
@given(st.binary(max_size=200))
def test_a_nul_byte_separates_words_in_any_bytes(raw):
    """tf.strings.lower ends a text at a NUL: the tokeniser reads past it, as past a space."""
    assert token_lists([raw + b"\x00sentinel"]) == token_lists([raw + b" sentinel"])
    assert token_lists([raw + b"\x00sentinel"])[0][-1] == b"sentinel"


# Unicode's Default_Ignorable_Code_Point as the regex module knows it (its own Unicode data, not the
# tokeniser's list): the combining grapheme joiner, variation selectors, Hangul fillers and most of Cf.
DEFAULT_IGNORABLE = regex.findall(r"\p{Default_Ignorable_Code_Point}", "".join(map(chr, range(0x110000))))
invisible = st.one_of(st.characters(categories=("Cf",)), st.sampled_from(DEFAULT_IGNORABLE))


def test_every_default_ignorable_character_is_removed():
    """Each of them inside a word, between words and inside a line break: the tokens of the text without it.

    Before, U+034F, the variation selectors and the Hangul fillers (not Cf) stayed, and changed a score.
    """
    assert (
        len(DEFAULT_IGNORABLE) == 4174 and "\u034f" in DEFAULT_IGNORABLE and "\U000e0fff" in DEFAULT_IGNORABLE
    )
    texts = [f"Gr{c}eat{c} movie <b{c}r/>{c}ok{c}" for c in DEFAULT_IGNORABLE]
    assert token_lists([text.encode("utf-8") for text in texts]) == [[b"great", b"movie", b"ok"]] * len(texts)


@PROPERTY_SETTINGS
@given(any_text, st.lists(st.tuples(st.integers(0, 200), invisible), max_size=4))
def test_format_characters_anywhere_change_no_token(text, inserted):
    """An invisible character (BOM, zero-width space, soft hyphen, direction mark, variation selector,
    Hangul filler: Cf or Default_Ignorable_Code_Point) at any place: the same tokens."""
    marked = text
    for position, character in sorted(inserted, reverse=True):
        marked = marked[:position] + character + marked[position:]
    assert token_lists([marked.encode("utf-8", "surrogatepass")]) == token_lists(
        [text.encode("utf-8", "surrogatepass")]
    )


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("great\ufeffmovie", ["greatmovie"]),
        ("great \ufeffmovie", ["great", "movie"]),
        ("awful<b\u200br/>film", ["awful", "film"]),
        ("beau\xadtiful \u200eok\u200f", ["beautiful", "ok"]),
        ("smile\u263a\ufe0f ok", ["smile", "\u263a", "ok"]),
        ("\u3164a\u034fb \U000e0100c", ["ab", "c"]),
    ],
)
def test_format_character_examples(text, tokens):
    assert token_lists([text.encode("utf-8")]) == [[token.encode() for token in tokens]]


@pytest.mark.parametrize(
    ("raw", "tokens"),
    [
        (b"terrible awful\x00 wonderful", ["terrible", "awful", "wonderful"]),  # NUL: a space
        (b"good\x00movie", ["good", "movie"]),
        (b"caf\xe9 ok", ["caf", "\ufffd", "ok"]),  # Latin-1, not UTF-8
        (b"\xff\xfebad", ["\ufffd", "\ufffd", "bad"]),
        (b"it\x92s", ["it", "\ufffd", "s"]),  # a Windows-1252 byte, not the decoded U+0092
        (b"\xc3", ["\ufffd"]),  # truncated sequence
    ],
)
def test_invalid_utf8_examples(raw, tokens):
    assert [token.decode("utf-8") for token in token_lists([raw])[0]] == tokens


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        # Cases hypothesis found in the previous tokeniser, which split clitics
        # and removed line breaks with regexes over the whole text.
        ("an'tn't", ["a", "n't", "n't"]),
        ("it's's", ["it", "'s", "'s"]),
        ("they'd've", ["they", "'d", "'ve"]),
        ("'it's'", ["it", "'s"]),
        ("<\x0bbr>", ["<", "br", ">"]),
        ("<'br'>", ["<", "br", ">"]),
        ("a\u00a0b\u2003c", ["a", "b", "c"]),
    ],
)
def test_tokenise_edge_cases_that_were_unstable(text, tokens):
    once = token_lists([text])[0]
    assert [token.decode("utf-8") for token in once] == tokens
    assert token_lists(rejoined([once])) == [once]


# --- token ids of a real transform output -----------------------------------------------------------

OPTIONS = TransformOptions(vocab_size=8, min_frequency=1, max_length=6)
TRAIN_TEXTS = [
    "Good good movie! Don't miss it.",
    "Bad movie. Bad bad acting",
    "good acting, it's fine",
]


@pytest.fixture(scope="module")
def transform_output(tmp_path_factory):
    return analyze(TRAIN_TEXTS, OPTIONS, str(tmp_path_factory.mktemp("text_properties") / "transform"))


@functools.cache
def _vocabulary(vocabulary_file: str) -> tuple[str, ...]:
    with open(vocabulary_file, encoding="utf-8") as lines:
        return tuple(line.rstrip("\n") for line in lines)


def test_the_tiny_vocabulary_is_full_and_starts_with_the_reserved_tokens(transform_output):
    vocabulary = _vocabulary(transform_output.vocabulary_file_by_name(features.VOCABULARY_NAME))
    assert len(vocabulary) == OPTIONS.vocab_size
    assert vocabulary[features.PAD_ID] == features.PAD_TOKEN
    assert vocabulary[features.UNK_ID] == features.UNK_TOKEN


@TRANSFORM_SETTINGS
@given(st.lists(st.one_of(any_text, st.sampled_from(TRAIN_TEXTS)), min_size=1, max_size=4))
def test_token_ids_are_vocabulary_lines_unk_or_pad(transform_output, texts):
    """Every id is in [0, vocab_size): the vocabulary line of a known token, unk otherwise, then pad."""
    vocabulary = _vocabulary(transform_output.vocabulary_file_by_name(features.VOCABULARY_NAME))
    index = {token: i for i, token in enumerate(vocabulary) if token not in features.RESERVED_TOKENS}
    encoded = [text.encode("utf-8") for text in texts]
    ids = transform_output.transform_raw_features({features.TEXT: tf.constant(encoded)})[features.TOKEN_IDS]
    ids = ids.numpy()

    assert ids.shape == (len(texts), OPTIONS.max_length)
    assert np.all((ids >= 0) & (ids < len(vocabulary)))
    for row, tokens in zip(ids.tolist(), token_lists(encoded), strict=True):
        expected = [index.get(token.decode("utf-8"), features.UNK_ID) for token in tokens]
        expected = expected[: OPTIONS.max_length]
        assert row == expected + [features.PAD_ID] * (OPTIONS.max_length - len(expected))
