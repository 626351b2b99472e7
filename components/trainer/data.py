"""tf.data input pipelines over Transform's output."""

import os

import tensorflow as tf

from schemas import features

# Shuffle over up to this many serialized examples (the whole IMDb train split).
SHUFFLE_BUFFER = 50_000


def make_dataset(
    split_dir: str,
    feature_spec: dict[str, tf.io.FixedLenFeature],
    batch_size: int,
    shuffle: bool,
    seed: int,
) -> tf.data.Dataset:
    """Batches of ``(token_ids, label)`` from a split of transformed examples.

    Serialized records are cached in memory after the first epoch, shuffled
    (training only) before batching, and parsed a batch at a time in parallel.
    """
    files = sorted(tf.io.gfile.glob(os.path.join(split_dir, "*")))
    if not files:
        raise FileNotFoundError(f"no transformed examples in {split_dir}")
    spec = {key: feature_spec[key] for key in (features.TOKEN_IDS, features.LABEL)}
    dataset = tf.data.TFRecordDataset(files, compression_type="GZIP").cache()
    if shuffle:
        dataset = dataset.shuffle(SHUFFLE_BUFFER, seed=seed, reshuffle_each_iteration=True)

    def parse(serialized):
        parsed = tf.io.parse_example(serialized, spec)
        return parsed[features.TOKEN_IDS], parsed[features.LABEL]

    return (
        dataset.batch(batch_size).map(parse, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
    )
