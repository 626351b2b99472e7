"""Text normalisation and tokenisation, as TensorFlow ops, shared by the Transform graph and Word2Vec.

Following GloVe/word2vec: lower case, HTML line breaks removed, typographic
quotes and dashes made ASCII, punctuation split off, English clitics split the
Penn Treebank way (``don't`` -> ``do n't``), quotes around words dropped. Property tests
(tests/test_text_properties.py) hold two guarantees: any bytes are handled (not
UTF-8 becomes U+FFFD), and tokenising is stable: the tokens joined by spaces
tokenise to themselves. So clitics are split per token, and a line break must
start with ``<br`` (tokens ``< br >`` joined by spaces do not read as one).
"""

import tensorflow as tf

# Every Unicode space separator becomes an ASCII space, and so does the vertical
# tab, which tf.strings.split treats as a separator but RE2's \s does not.
_SPACE = r"\pZ\x{0B}"
# The same characters less the ASCII space itself: replacing each of a review's
# hundreds of spaces by a space cost more than all the other passes together.
_OTHER_SPACE = r"[^\PZ ]|[\x{0B}]"
# A line break; the spaces inside it may be any of _SPACE.
_LINE_BREAK = rf"<br[\s{_SPACE}]*/?[\s{_SPACE}]*>"
# Both become one space in one pass, a line break being matched first where it
# starts: the same text as replacing the spaces first, then the line breaks.
_LINE_BREAK_OR_SPACE = f"{_LINE_BREAK}|{_OTHER_SPACE}"
# Typographic quotes, dashes and ellipses map to their ASCII forms, including the
# C1 control characters that Windows-1252 text decoded as Latin-1 leaves behind
# (U+0091-U+0097, U+0085), which are frequent in IMDb reviews.
_CHARACTER_MAP = (
    (r"[\x{2018}\x{2019}\x{91}\x{92}]", "'"),
    (r"[\x{201C}\x{201D}\x{93}\x{94}]", '"'),
    (r"[\x{2013}\x{2014}\x{96}\x{97}]", "-"),
    (r"[\x{2026}\x{85}]", "..."),
    # Invisible characters are removed, as BERT's tokenizer removes format characters, before a line
    # break or a word is read, so that no text reads otherwise for holding one: format characters
    # (Cf: a byte-order mark inside a text, a zero-width space or joiner, a soft hyphen, a direction
    # mark) and Unicode's Default_Ignorable_Code_Point, which adds the combining grapheme joiner,
    # variation selectors and Hangul fillers (its ranges in DerivedCoreProperties.txt, Unicode 16.0).
    (
        r"[\p{Cf}\x{AD}\x{34F}\x{61C}\x{115F}\x{1160}\x{17B4}\x{17B5}\x{180B}-\x{180F}\x{200B}-\x{200F}"
        r"\x{202A}-\x{202E}\x{2060}-\x{206F}\x{3164}\x{FE00}-\x{FE0F}\x{FEFF}\x{FFA0}\x{FFF0}-\x{FFF8}"
        r"\x{1BCA0}-\x{1BCA3}\x{1D173}-\x{1D17A}\x{E0000}-\x{E0FFF}]",
        "",
    ),
)
# A text free of them all, which most reviews are (97% of IMDb's).
_NO_MAPPED_CHARACTER = "[^" + "".join(pattern[1:-1] for pattern, _ in _CHARACTER_MAP) + "]*"
# Any character that is not a letter, mark, digit, white space or apostrophe.
_PUNCTUATION = r"([^\pL\pM\pN\s'])"
# English clitics, kept as tokens with their apostrophe. No alternative is a
# prefix of another, so a run of clitics reads one way only.
_CLITIC = r"n't|'(?:s|re|ve|ll|d|m)"
_CLITICS = rf"(?:{_CLITIC})+"
# The shortest stem ending in a letter, then the clitics that end the token:
# "don't" -> "do" + "n't", "o'brien's" -> "o'brien" + "'s".
_STEM_AND_CLITICS = rf"^(.*?\pL)({_CLITICS})$"
_EDGE_APOSTROPHES = r"^'+|'+$"


def normalize(text: tf.Tensor) -> tf.Tensor:
    """Lower-cases, removes HTML line breaks and spaces out punctuation.

    Bytes that are not valid UTF-8 become U+FFFD (``tf.strings.lower`` replaces
    them), so serving never fails on a client's bytes; NUL is a space, an invisible character nothing.
    """
    # tf.strings.lower ends a text at its first NUL byte (the rest of a review would go unread):
    # a NUL separates words, as a space does.
    text = tf.strings.lower(tf.strings.regex_replace(text, r"\x00", " "), encoding="utf-8")
    # The character map's passes run only on the texts holding a mapped
    # character: one scan of every text instead of five.
    positions = tf.where(tf.logical_not(tf.strings.regex_full_match(text, _NO_MAPPED_CHARACTER)))
    mapped = tf.gather_nd(text, positions)
    for pattern, replacement in _CHARACTER_MAP:
        mapped = tf.strings.regex_replace(mapped, pattern, replacement)
    text = tf.tensor_scatter_nd_update(text, positions, mapped)
    text = tf.strings.regex_replace(text, _LINE_BREAK_OR_SPACE, " ")
    return tf.strings.regex_replace(text, _PUNCTUATION, r" \1 ")


def _split_clitics(words: tf.Tensor) -> tf.Tensor:
    """Rewrites each word (letters, digits and apostrophes) as its space-separated tokens.

    A word made of clitics only (``'s``, ``n't``) is kept as such; any other
    word loses its edge apostrophes (quotes: ``'quoted'`` -> ``quoted``) and
    then its trailing clitics are split off, one token each.
    """
    only_clitics = tf.strings.regex_full_match(words, _CLITICS)
    stripped = tf.strings.regex_replace(words, _EDGE_APOSTROPHES, "")
    has_clitics = tf.strings.regex_full_match(stripped, _STEM_AND_CLITICS)
    stem = tf.where(only_clitics, "", tf.strings.regex_replace(stripped, _STEM_AND_CLITICS, r"\1"))
    clitics = tf.where(
        only_clitics,
        words,
        tf.where(has_clitics, tf.strings.regex_replace(stripped, _STEM_AND_CLITICS, r"\2"), ""),
    )
    return tf.strings.join([stem, tf.strings.regex_replace(clitics, f"({_CLITIC})", r" \1")])


def tokenize(text: tf.Tensor) -> tf.RaggedTensor:
    """Splits a batch of review strings ``[batch]`` into tokens ``[batch, (tokens)]``."""
    words = tf.strings.split(normalize(text))
    flat = words.flat_values
    # Only words with an apostrophe can hold clitics or quotes (a few percent of
    # them): rewriting just those keeps tokenising nearly as cheap as splitting.
    # (A word without one fully matches [^']*: cheaper for RE2 than .*'.*.)
    positions = tf.where(tf.logical_not(tf.strings.regex_full_match(flat, "[^']*")))[:, 0]
    rewritten = tf.strings.split(_split_clitics(tf.gather(flat, positions)))
    # Row i of `candidates` is word i as it is, row count + j the tokens of
    # rewritten word j; `rows` picks the right row for every word.
    count = tf.shape(flat, out_type=tf.int64)[0]
    candidates = tf.concat([tf.RaggedTensor.from_tensor(flat[:, tf.newaxis]), rewritten], axis=0)
    rows = tf.tensor_scatter_nd_update(
        tf.range(count), positions[:, tf.newaxis], count + tf.range(tf.size(positions, out_type=tf.int64))
    )
    return words.with_flat_values(tf.gather(candidates, rows)).merge_dims(1, 2)
