"""Writers of word-vector files in the formats of ``components.embeddings.vector_files``, for tests.

Written the way the tools that make real files write them, so a test states
its rows and gets the bytes: GloVe text, word2vec text (header line), word2vec
binary (gensim's layout, or Google's C tool's with a newline after each vector);
and a small gensim KeyedVectors object, whose ``save`` pickle the readers refuse.
"""

from collections.abc import Sequence

from gensim.models import KeyedVectors
import numpy as np

Rows = Sequence[tuple[str, Sequence[float]]]


def value_text(value: float) -> str:
    """A float32 value as text that reads back to the same float32 (the float64 repr of its value)."""
    return repr(float(np.float32(value)))


def glove_lines(rows: Rows) -> list[str]:
    """``word v1 ... vd`` per row, without line ends."""
    return [" ".join([word, *(value_text(value) for value in vector)]) for word, vector in rows]


def glove_bytes(rows: Rows) -> bytes:
    return "".join(f"{line}\n" for line in glove_lines(rows)).encode("utf-8")


def word2vec_text_bytes(rows: Rows, header: str | None = None) -> bytes:
    """The ``<count> <dim>`` header line, then GloVe lines."""
    if header is None:
        header = f"{len(rows)} {len(rows[0][1]) if rows else 0}"
    return f"{header}\n".encode() + glove_bytes(rows)


def word2vec_binary_bytes(rows: Rows, newline: bool = False, header: str | None = None) -> bytes:
    """Header line, then per row the word's UTF-8 bytes, a space and the little-endian float32 values.

    ``newline``: Google's C tool ends each vector with a newline; gensim does not.
    """
    if header is None:
        header = f"{len(rows)} {len(rows[0][1]) if rows else 0}"
    data = f"{header}\n".encode()
    for word, vector in rows:
        data += word.encode("utf-8") + b" " + np.asarray(vector, dtype="<f4").tobytes()
        if newline:
            data += b"\n"
    return data


# KeyedVectors words: cased and non-ASCII; values exact in float32.
KV_WORDS = ["the", "Movie", "café", "good"]
KV_VALUES = np.arange(12, dtype=np.float32).reshape(4, 3) / 8


def keyed_vectors() -> KeyedVectors:
    """KV_WORDS with KV_VALUES, and a word count as gensim's trained models record (a side array)."""
    vectors = KeyedVectors(3)
    vectors.add_vectors(KV_WORDS, KV_VALUES)
    vectors.set_vecattr("the", "count", 10)
    return vectors


def word2vec_binary_offsets(rows: Rows, newline: bool = False) -> list[tuple[int, int]]:
    """Byte offsets of each record's word and of its values in ``word2vec_binary_bytes(rows, newline)``."""
    offset = len(f"{len(rows)} {len(rows[0][1]) if rows else 0}\n".encode())
    offsets = []
    for word, vector in rows:
        values = offset + len(word.encode("utf-8")) + 1
        offsets.append((offset, values))
        offset = values + 4 * len(vector) + (1 if newline else 0)
    return offsets
