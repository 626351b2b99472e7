"""What this pipeline reads of a TransformGraph beyond ``tft.TFTransformOutput``'s own API.

tf.Transform writes and reads the transform output itself; this module names the
pipeline's vocabularies in it (``schemas.features``) and reads the token-count
file the Transform writes beside the vocabulary (``store_frequency=True``).
"""

from schemas import features


def _output(uri: str):
    import tensorflow_transform as tft

    return tft.TFTransformOutput(uri)


def vocabulary(tft_output) -> list[str]:
    """The token vocabulary of a ``TFTransformOutput``: line i is token id i (reserved tokens first)."""
    return [token.decode("utf-8") for token in tft_output.vocabulary_by_name(features.VOCABULARY_NAME)]


def token_counts_path(tft_output) -> str | None:
    """The token-count file of a ``TFTransformOutput``; None when the Transform wrote none."""
    return tft_output.vocabulary_file_by_name(features.TOKEN_COUNTS_NAME) or None


def read_token_counts(path: str) -> dict[str, int]:
    """Reads the Transform's token-count file (``features.TOKEN_COUNTS_NAME``).

    Each line is ``<count> <token>``, as tf.Transform writes a vocabulary with
    ``store_frequency=True``.
    """
    import tensorflow as tf

    counts = {}
    with tf.io.gfile.GFile(path, "r") as lines:
        for number, line in enumerate(lines, start=1):
            text = line.rstrip("\n")
            if not text:
                continue
            count, separator, token = text.partition(" ")
            if not separator or not count.isdigit():
                raise ValueError(f"{path}, line {number}: expected '<count> <token>', got {text[:80]!r}")
            counts[token] = int(count)
    return counts


def read_transform(uri: str) -> tuple[int | None, list[str]]:
    """The sequence length the model reads and the vocabulary, from the TransformGraph at ``uri``."""
    output = _output(uri)
    spec = output.transformed_feature_spec().get(features.TOKEN_IDS)
    max_length = int(spec.shape[0]) if spec is not None and spec.shape else None
    return max_length, vocabulary(output)
