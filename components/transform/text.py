"""Text normalisation and tokenisation, as TensorFlow ops.

One definition serves every step that turns review text into tokens: the
Transform graph (and so the exported SavedModel), and the Word2Vec step, so word
vectors are trained on exactly the tokens the classifier sees.

The rules follow the tokenisation of common pretrained vectors (GloVe, word2vec):
lower case, HTML line breaks removed, typographic quotes and dashes made ASCII,
punctuation split off as separate tokens,
English clitics split the Penn Treebank way (``don't`` -> ``do n't``,
``movie's`` -> ``movie 's``), and quotes around words dropped.
"""

import tensorflow as tf

_LINE_BREAK = r"<\s*br\s*/?\s*>"
# Typographic quotes, dashes and ellipses map to their ASCII forms, including the
# C1 control characters that Windows-1252 text decoded as Latin-1 leaves behind
# (U+0091-U+0097, U+0085), which are frequent in IMDb reviews.
_CHARACTER_MAP = (
    (r"[\x{2018}\x{2019}\x{91}\x{92}]", "'"),
    (r"[\x{201C}\x{201D}\x{93}\x{94}]", '"'),
    (r"[\x{2013}\x{2014}\x{96}\x{97}]", "-"),
    (r"[\x{2026}\x{85}]", "..."),
)
# A letter followed by "n't" at the end of a word: "don't" -> "do n't".
_NEGATION = r"(\pL)(n't)\b"
# A letter followed by an English clitic: "it's" -> "it 's".
_CLITIC = r"(\pL)('(?:s|re|ve|ll|d|m))\b"
# Any character that is not a letter, mark, digit, white space or apostrophe.
_PUNCTUATION = r"([^\pL\pM\pN\s'])"
# Tokens kept with their apostrophe.
_APOSTROPHE_TOKEN = r"n't|'(?:s|re|ve|ll|d|m)"
_EDGE_APOSTROPHES = r"^'+|'+$"


def normalize(text: tf.Tensor) -> tf.Tensor:
    """Lower-cases, removes HTML line breaks and spaces out punctuation and clitics."""
    text = tf.strings.lower(text, encoding="utf-8")
    text = tf.strings.regex_replace(text, _LINE_BREAK, " ")
    for pattern, replacement in _CHARACTER_MAP:
        text = tf.strings.regex_replace(text, pattern, replacement)
    text = tf.strings.regex_replace(text, _NEGATION, r"\1 \2")
    text = tf.strings.regex_replace(text, _CLITIC, r"\1 \2")
    return tf.strings.regex_replace(text, _PUNCTUATION, r" \1 ")


def _clean_token(tokens: tf.Tensor) -> tf.Tensor:
    keep = tf.strings.regex_full_match(tokens, _APOSTROPHE_TOKEN)
    return tf.where(keep, tokens, tf.strings.regex_replace(tokens, _EDGE_APOSTROPHES, ""))


def tokenize(text: tf.Tensor) -> tf.RaggedTensor:
    """Splits a batch of review strings ``[batch]`` into tokens ``[batch, (tokens)]``."""
    tokens = tf.ragged.map_flat_values(_clean_token, tf.strings.split(normalize(text)))
    return tf.ragged.boolean_mask(tokens, tf.strings.length(tokens) > 0)
