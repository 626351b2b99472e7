"""tf.data input pipelines over Transform's output."""

import tensorflow as tf

from components.file_patterns import all_files_pattern, tfrecord_compression
from schemas import features

# Shuffle over up to this many serialized examples (the whole IMDb train split).
SHUFFLE_BUFFER = 50_000


def model_inputs(
    transformed: dict[str, tf.Tensor | tf.SparseTensor],
) -> dict[str, tf.Tensor | tf.RaggedTensor]:
    """The model's input dict from transformed features (training and serving alike).

    ``features.NGRAM_IDS`` arrives as a SparseTensor (a variable-length
    feature) and goes to the model as a RaggedTensor, one row per review. Only
    the row of each value counts: straight from tf.Transform (at serving time)
    the column positions have gaps where n-grams outside the vocabulary were
    dropped.
    """
    inputs = {features.TOKEN_IDS: transformed[features.TOKEN_IDS]}
    if features.NGRAM_IDS in transformed:
        ngrams = transformed[features.NGRAM_IDS]
        inputs[features.NGRAM_IDS] = tf.RaggedTensor.from_value_rowids(
            ngrams.values, ngrams.indices[:, 0], nrows=ngrams.dense_shape[0]
        )
    return inputs


def model_feature_spec(feature_spec: dict, use_ngrams: bool) -> dict:
    """The transformed features the model reads (n-grams only if present and wanted)."""
    keys = [features.TOKEN_IDS, features.LABEL]
    if use_ngrams and features.NGRAM_IDS in feature_spec:
        keys.append(features.NGRAM_IDS)
    return {key: feature_spec[key] for key in keys}


def make_dataset(
    split_dir: str,
    feature_spec: dict[str, tf.io.FixedLenFeature | tf.io.VarLenFeature],
    batch_size: int,
    shuffle: bool,
    seed: int,
) -> tf.data.Dataset:
    """Batches of ``(inputs, label)`` from a split of transformed examples (:func:`model_feature_spec`)."""
    files = sorted(tf.io.gfile.glob(all_files_pattern(split_dir)))
    if not files:
        raise FileNotFoundError(f"no transformed examples in {split_dir}")
    dataset = tf.data.TFRecordDataset(files, compression_type=tfrecord_compression(files)).cache()
    if shuffle:
        dataset = dataset.shuffle(SHUFFLE_BUFFER, seed=seed, reshuffle_each_iteration=True)

    def parse(serialized):
        parsed = tf.io.parse_example(serialized, feature_spec)
        return model_inputs(parsed), parsed[features.LABEL]

    return (
        dataset.batch(batch_size).map(parse, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
    )
