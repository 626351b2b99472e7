"""Warm start: a new model's initial weights from an earlier model's trained ones.

Pure functions over NumPy arrays keyed by weight name (``hidden/kernel:0``):
the Trainer builds the new model as for a fresh start (embedding rows from the
aligned matrix, the other layers' seeded initialisation), then replaces what
the earlier model already learnt:

* embedding rows by word, never by index: a new span's vocabulary orders its
  words by their counts in the new train split, so row i of the two models is
  usually another word. A word both vocabularies hold (the reserved ``<pad>``
  and ``<unk>`` included) starts from its trained row; a word only the new
  vocabulary holds keeps its row of the aligned matrix;
* every other weight whose name and shape are the same in both models: the
  hidden, convolution and output layers (their shapes depend on the embedding
  dimension and the options, not the vocabulary), and the n-gram coefficients,
  one per hash bucket, which mean the same n-grams only when the number of
  buckets (``transform.ngram_buckets``) is the same; their shape says so;
* never the n-gram branch's Naive Bayes ratios (``fixed``): they are counts of
  the new train split, not something learnt.

A weight that cannot be copied (another shape: another embedding dimension,
another number of buckets, other layer widths; or absent from the earlier
model: another architecture) keeps its fresh value, and the summary says why;
so do the other weights of its layer (a bias is learnt with its kernel), and
the deep branch's layers above it (they were trained on what it computed: after
a change of architecture, the output layer of a cnn is not kept over a fresh
bag hidden layer even when its shape fits).
"""

from collections.abc import Collection, Mapping, Sequence
import dataclasses

import numpy as np

# Row i of a mapping: the earlier vocabulary's row of the word on row i of the new one, or this.
NEW_WORD = -1


def embedding_rows(old_vocabulary: Sequence[str], new_vocabulary: Sequence[str]) -> np.ndarray:
    """For each row of the new vocabulary, the row of the same word in the old one (``NEW_WORD`` if none).

    Words are matched as written (tokens, reserved ones included); a word repeated in a vocabulary
    file is not a valid vocabulary (ValueError naming the word and both rows).
    """
    old_row = _row_of_each_word("earlier", old_vocabulary)
    _row_of_each_word("new", new_vocabulary)
    return np.array([old_row.get(word, NEW_WORD) for word in new_vocabulary], dtype=np.int64)


def _row_of_each_word(name: str, vocabulary: Sequence[str]) -> dict[str, int]:
    rows: dict[str, int] = {}
    for row, word in enumerate(vocabulary):
        if rows.setdefault(word, row) != row:
            raise ValueError(f"the {name} vocabulary holds {word!r} twice (rows {rows[word]} and {row})")
    return rows


@dataclasses.dataclass(frozen=True)
class WarmStartSummary:
    """What a warm start copied, and what it left fresh and why.

    ``copied_rows`` is ``shared_words``, or 0 when the embedding kept its fresh value (``fresh``:
    weight name -> why); ``new_words`` (in the new vocabulary only) keep the aligned matrix's rows.
    The five vocabulary figures are None when the new model has no embedding
    (``trainer.use_embeddings`` false): no row to copy, no vocabulary to compare.
    """

    same_vocabulary: bool | None
    shared_words: int | None
    copied_rows: int | None
    new_words: int | None
    dropped_words: int | None
    copied: tuple[str, ...]
    fresh: dict[str, str]

    def to_dict(self) -> dict:
        return {**dataclasses.asdict(self), "copied": list(self.copied)}


def warm_start_weights(
    fresh: Mapping[str, np.ndarray],
    trained: Mapping[str, np.ndarray],
    old_vocabulary: Sequence[str],
    new_vocabulary: Sequence[str],
    embedding: str | None,
    fixed: Collection[str] = (),
    stacked: Sequence[str] = (),
) -> tuple[dict[str, np.ndarray], WarmStartSummary]:
    """The new model's initial weights, by name: the earlier model's where they carry over, else fresh.

    ``fresh`` and ``trained`` are the new model's weights as built and the earlier model's (name ->
    value); ``embedding`` names the embedding weight, copied by word (None: the new model has none);
    ``fixed`` names weights never copied (statistics of the new data); ``stacked`` lists the deep
    branch's layers above the embedding, from the bottom up: one above a layer that starts fresh
    starts fresh. Returns every weight of ``fresh``, copied or fresh, and the summary.
    """
    rows = embedding_rows(old_vocabulary, new_vocabulary)
    is_shared = rows != NEW_WORD
    shared = int(np.count_nonzero(is_shared))
    result: dict[str, np.ndarray] = {}
    kept: dict[str, str] = {}
    for name, value in fresh.items():
        old = trained.get(name)
        result[name] = value
        if name in fixed:
            kept[name] = "computed from this run's train split"
        elif old is None:
            kept[name] = "not in the earlier model"
        elif name == embedding:
            if old.shape[0] != len(old_vocabulary):
                raise ValueError(
                    f"the earlier model's {name} has {old.shape[0]} rows; its vocabulary has "
                    f"{len(old_vocabulary)} words"
                )
            if old.shape[1:] != value.shape[1:]:
                kept[name] = f"dimension {value.shape[1]}, the earlier model's is {old.shape[1]}"
            elif shared == 0:
                kept[name] = "no word in common with the earlier vocabulary"
            else:
                result[name] = value.copy()
                result[name][is_shared] = old[rows[is_shared]]
        elif old.shape != value.shape:
            kept[name] = f"shape {list(value.shape)}, the earlier model's is {list(old.shape)}"
        else:
            result[name] = old.astype(value.dtype)
    for name, why in [(name, why) for name, why in kept.items() if name not in fixed]:
        for other in fresh:
            if _layer(other) == _layer(name) and other not in kept:
                result[other] = fresh[other]
                kept[other] = f"{name} of its layer starts fresh ({why})"
    fresh_below = None
    for layer in stacked:
        names = [name for name in fresh if _layer(name) == layer]
        if fresh_below is None:
            fresh_below = layer if any(name in kept for name in names) else None
            continue
        for name in names:
            if name not in kept:
                result[name] = fresh[name]
                kept[name] = f"above {fresh_below}, which starts fresh"
    copied = tuple(name for name in fresh if name not in kept)
    vocabulary_figures = {
        "same_vocabulary": list(old_vocabulary) == list(new_vocabulary),
        "shared_words": shared,
        "copied_rows": shared if embedding in copied else 0,
        "new_words": len(new_vocabulary) - shared,
        "dropped_words": len(old_vocabulary) - shared,
    }
    if embedding is None:  # no row to copy, no vocabulary to compare
        vocabulary_figures = dict.fromkeys(vocabulary_figures)
    return result, WarmStartSummary(**vocabulary_figures, copied=copied, fresh=kept)


def _layer(weight: str) -> str:
    """The layer a weight belongs to: ``dense`` of ``dense/kernel:0``."""
    return weight.rpartition("/")[0]
