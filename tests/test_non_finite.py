"""No non-finite number anywhere: token-less reviews, any serving input, and a Trainer that fails on NaN.

A review with no tokens after normalisation (only ``<br />``, only
punctuation, empty) used to give the masked average 0/0; the rule now is that
every input of the model, trained or served, gives a finite probability in
[0, 1], and a Trainer whose loss, metrics or weights become non-finite fails
naming the epoch and what went wrong.
"""

import glob
import json
import os
from pathlib import Path
import re
import tarfile

from hypothesis import given, settings
from hypothesis import strategies as st
import numpy as np
import pytest
import tensorflow as tf

from components.trainer import export, model, naive_bayes
from components.trainer.dataset import model_inputs
from components.trainer.options import TrainerOptions
from components.transform.options import TransformOptions
from pipeline.config import SAMPLE_DATA
from schemas import features
from tests.conftest import analyze, run_cli

MAX_LENGTH = 6
TRAIN_TEXTS = [
    ("A wonderful, moving film. Great acting.", 1),
    ("Great fun, a wonderful cast.", 1),
    ("An awful, boring mess. Terrible acting.", 0),
    ("Boring and awful, a terrible plot.", 0),
    # No tokens after normalisation: the class that used to make the loss NaN.
    ("<br /><br />", 1),
    ("!!! ... ???", 0),
    ("", 1),
    ("   \t ", 0),
]
# Texts the Transform turns into no token at all (punctuation marks are tokens of their own).
TOKENLESS = ["", " ", "\n\t", "<br />", "<br /><br />", "\u00a0", " <br /> \r\n<br />"]


def _matrix(rows: int, dim: int = 4, scale: float = 1.0) -> np.ndarray:
    matrix = (np.random.default_rng(0).normal(size=(rows, dim)) * scale).astype(np.float32)
    matrix[features.PAD_ID] = 0.0
    return matrix


def _train(tft_output, options: TrainerOptions, matrix_scale: float = 1.0):
    """Builds the project's model on the Transform output and fits it on TRAIN_TEXTS (token-less ones too)."""
    texts = tf.constant([text for text, _ in TRAIN_TEXTS])
    labels = tf.constant([label for _, label in TRAIN_TEXTS], dtype=tf.int64)
    inputs = model_inputs(tft_output.transform_raw_features({features.TEXT: texts}))
    ratios = naive_bayes.naive_bayes_log_ratios(
        [(inputs[features.NGRAM_IDS], labels)],
        tft_output.num_buckets_for_transformed_feature(features.NGRAM_IDS),
    )
    vocab_size = tft_output.vocabulary_size_by_name(features.VOCABULARY_NAME)
    classifier = model.build_model(
        vocab_size, MAX_LENGTH, _matrix(vocab_size, scale=matrix_scale), options, ngram_ratios=ratios
    )
    dataset = tf.data.Dataset.from_tensors((inputs, labels))
    history = model.fit_model(classifier, dataset, dataset, options)
    return classifier, history


@pytest.fixture(scope="module", params=["bag", "cnn"])
def served(request, tmp_path_factory):
    """Both signatures of a SavedModel exported by the project's code, trained with token-less reviews."""
    root = tmp_path_factory.mktemp(f"served-{request.param}")
    tft_output = analyze(
        [text for text, _ in TRAIN_TEXTS],
        TransformOptions(vocab_size=40, min_frequency=1, max_length=MAX_LENGTH, ngram_buckets=1024),
        str(root / "transform"),
    )
    options = TrainerOptions(
        architecture=request.param, conv_widths=(2, 3), epochs=3, early_stopping_patience=0, dropout=0.0
    )
    classifier, history = _train(tft_output, options)
    assert all(np.isfinite(history.history["loss"]))
    assert not model.non_finite_weights(classifier)
    export.export_serving_model(classifier, tft_output, str(root / "serving"))
    signatures = tf.saved_model.load(str(root / "serving")).signatures
    return signatures[features.TEXT_SIGNATURE], signatures[features.EXAMPLES_SIGNATURE]


def _probabilities(served, texts: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    by_text, by_example = served
    examples = []
    for text in texts:
        example = tf.train.Example()
        example.features.feature[features.TEXT].bytes_list.value.append(text)
        examples.append(example.SerializeToString())
    text_out = by_text(**{features.TEXT_INPUT: tf.constant(texts, dtype=tf.string)})
    example_out = by_example(**{features.EXAMPLES_INPUT: tf.constant(examples, dtype=tf.string)})
    return (
        text_out[features.PROBABILITY_OUTPUT].numpy(),
        example_out[features.PROBABILITY_OUTPUT].numpy(),
    )


def test_masked_average_of_a_review_without_tokens_is_the_zero_vector():
    embedded = tf.constant(np.arange(12, dtype=np.float32).reshape(2, 3, 2))
    mask = tf.constant([[True, True, False], [False, False, False]])
    pooled = model.MaskedAverage()(embedded, mask=mask).numpy()
    np.testing.assert_array_equal(pooled, [[1.0, 2.0], [0.0, 0.0]])


def test_token_less_reviews_get_finite_probabilities_through_both_signatures(served):
    texts = [text.encode() for text in TOKENLESS]
    by_text, by_example = _probabilities(served, texts)
    assert np.isfinite(by_text).all() and np.isfinite(by_example).all()
    # No tokens and no n-grams: every token-less text is the same input to the model.
    np.testing.assert_allclose(by_text, np.full(len(texts), by_text[0]), rtol=1e-6)
    np.testing.assert_allclose(by_example, by_text, rtol=1e-6)


_HOSTILE = st.sampled_from(
    [
        b"",
        b"<br /><br />" * 50,
        b"\xff\xfe\xc3\x28 invalid",
        "\u0627\u0644\u0641\u064a\u0644\u0645 \u043e\u0442\u043b\u0438\u0447\u043d\u044b\u0439 \u7d20\u6674\u3089\u3057\u3044".encode(),
        b"wonderful " * 20_000,
        b"\x00\x01\x02",
        b"<a href='http://x'>link</a>",
    ]
)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.text().map(str.encode),
            st.binary(max_size=200),
            st.text(alphabet=" \t\n\r\u00a0<>/!?.,;:-'\"()[]{}", max_size=40).map(str.encode),
            _HOSTILE,
        ),
        min_size=1,
        max_size=6,
    )
)
def test_any_input_gives_a_finite_probability_in_range_through_both_signatures(served, texts):
    by_text, by_example = _probabilities(served, texts)
    for probabilities in (by_text, by_example):
        assert probabilities.shape == (len(texts),)
        assert np.isfinite(probabilities).all(), (texts, probabilities)
        assert ((probabilities >= 0.0) & (probabilities <= 1.0)).all(), (texts, probabilities)
    np.testing.assert_allclose(by_example, by_text, rtol=1e-5, atol=1e-6)


def test_a_non_finite_loss_fails_training_naming_the_epoch(tmp_path):
    tft_output = analyze(
        [text for text, _ in TRAIN_TEXTS],
        TransformOptions(vocab_size=40, min_frequency=1, max_length=MAX_LENGTH, ngram_buckets=1024),
        str(tmp_path / "transform"),
    )
    # Word vectors near float32's largest value: finite, but their sums overflow to inf, then NaN.
    options = TrainerOptions(architecture="bag", epochs=3, early_stopping_patience=1)
    with pytest.raises(model.NonFiniteTrainingError) as raised:
        _train(tft_output, options, matrix_scale=1e38)
    assert str(raised.value) == (
        "epoch 1: loss is nan at batch 1 of the train split; no model is written. Lower "
        "trainer.learning_rate, or check the word vectors for huge values"
    )


def test_a_non_finite_weight_or_metric_at_the_end_of_an_epoch_is_named():
    classifier = model.build_model(6, MAX_LENGTH, _matrix(6), TrainerOptions(architecture="bag"))
    kernel = classifier.get_layer(model.DEEP_LOGIT_LAYER).kernel
    values = kernel.numpy()
    values[0, 0] = np.inf
    values[1, 0] = np.nan
    kernel.assign(values)
    callback = model.FailOnNonFinite()
    callback.set_model(classifier)
    with pytest.raises(model.NonFiniteTrainingError) as raised:
        callback.on_epoch_end(2, {"loss": 0.5, "val_loss": 0.4})
    assert str(raised.value) == (
        f"epoch 3: non-finite weights: {kernel.name} (2 of {values.size} values non-finite); no model is "
        "written. Lower trainer.learning_rate, or check the word vectors for huge values"
    )
    with pytest.raises(model.NonFiniteTrainingError, match=r"^epoch 2: val_loss is nan; no model"):
        callback.on_epoch_end(1, {"loss": 0.5, "val_loss": float("nan")})


# --- the whole pipeline, through the console script -----------------------------------------------

MODEL_NAME = "imdb_sentiment"
# Distinct texts (identical train texts, whatever their label, are set aside as duplicates), none with a token.
TOKENLESS_REVIEWS = ["<br />" * count + " " * (count % 3) for count in range(1, 21)]


def _tokenless_dataset(root: Path) -> tuple[Path, list[str]]:
    """The bundled sample with 10 positive and 10 negative train reviews replaced by token-less texts."""
    with tarfile.open(SAMPLE_DATA) as archive:
        archive.extractall(root, filter="data")
    dataset = root / "aclImdb"
    replaced = []
    for first, label in enumerate(("pos", "neg")):
        files = sorted((dataset / "train" / label).glob("*.txt"))[:10]
        for path, text in zip(files, TOKENLESS_REVIEWS[first * 10 : first * 10 + 10], strict=True):
            path.write_text(text, encoding="utf-8")
            replaced.append(path.relative_to(dataset).as_posix())  # as ExampleGen records the source
    return dataset, replaced


def _example_sources(output: Path, splits: tuple[str, ...]) -> set[str]:
    (examples,) = glob.glob(str(output / "pipeline_root" / "FileBasedExampleGen" / "examples" / "*"))
    files = [f for split in splits for f in sorted(glob.glob(f"{examples}/Split-{split}/*"))]
    spec = {features.SOURCE: tf.io.FixedLenFeature([], tf.string)}
    return {
        tf.io.parse_single_example(record, spec)[features.SOURCE].numpy().decode()
        for record in tf.data.TFRecordDataset(files, compression_type="")
    }


def _served_files(output: Path) -> dict[str, bytes]:
    serving = output / "serving" / MODEL_NAME
    return {
        str(path.relative_to(serving)): path.read_bytes() for path in serving.rglob("*") if path.is_file()
    }


@pytest.fixture(scope="module")
def tokenless_run(tmp_path_factory):
    """A run on a sample with token-less train reviews; returns (work dir, dataset, replaced files, result)."""
    workdir = tmp_path_factory.mktemp("tokenless")
    dataset, replaced = _tokenless_dataset(workdir)
    result = run_cli("run", "--data", str(dataset), "--output", str(workdir / "out"), cwd=workdir)
    return workdir, dataset, replaced, result


def _rerun(tokenless_run, *options: str):
    """Runs again on the same data and output, with more options."""
    workdir, dataset, _, _ = tokenless_run
    return run_cli("run", "--data", str(dataset), "--output", str(workdir / "out"), *options, cwd=workdir)


@pytest.mark.slow
def test_training_on_token_less_reviews_pushes_a_model_with_finite_outputs(tokenless_run):
    workdir, _, replaced, result = tokenless_run
    output = workdir / "out"
    assert result.returncode == 0, result.stderr[-3000:]
    assert "; blessed; canary passed; pushed to " in result.stdout.strip().splitlines()[-1]
    # The token-less reviews were trained on (or validated on), not set aside.
    assert set(replaced) <= _example_sources(output, (features.TRAIN, features.EVAL))
    (history,) = glob.glob(str(output / "pipeline_root" / "Trainer" / "model_run" / "*" / "history.json"))
    assert all(np.isfinite(values).all() for values in json.loads(Path(history).read_text()).values())
    (version,) = os.listdir(output / "serving" / MODEL_NAME)
    served = tf.saved_model.load(str(output / "serving" / MODEL_NAME / version))
    texts = tf.constant([*TOKENLESS_REVIEWS, *TOKENLESS, "a wonderful, moving masterpiece"])
    probabilities = served.signatures[features.TEXT_SIGNATURE](**{features.TEXT_INPUT: texts})
    values = probabilities[features.PROBABILITY_OUTPUT].numpy()
    assert np.isfinite(values).all() and ((values >= 0) & (values <= 1)).all()


@pytest.mark.slow
def test_a_non_finite_loss_fails_the_run_clearly_and_pushes_nothing(tokenless_run):
    workdir, _, _, first = tokenless_run
    assert first.returncode == 0, first.stderr[-3000:]
    output = workdir / "out"
    served_before = _served_files(output)
    # Word vectors near float32's largest value: valid numbers, but their sums overflow.
    vectors = workdir / "huge.txt"
    vectors.write_text(
        "".join(
            f"{word} " + " ".join(["3e38"] * 8) + "\n" for word in ("the", "a", "and", "of", "movie", "film")
        ),
        encoding="utf-8",
    )
    result = _rerun(tokenless_run, "--vectors", str(vectors), "--embedding.oov_init", "zeros")
    assert result.returncode == 1, result.stderr[-3000:]
    # The loss itself may stay finite (the cross-entropy clips probabilities) while the weights are NaN
    # after the first update: either way the message names the epoch and what became non-finite.
    assert re.search(
        r"^imdb-pipeline run: FAILED: NonFiniteTrainingError: epoch 1: (loss is nan at batch \d+ of the train "
        r"split|non-finite weights: (\S+ \([\d,]+ of [\d,]+ values non-finite\)(; )?)+); no model is written\. "
        r"Lower trainer\.learning_rate, or check the word vectors for huge values$",
        result.stderr,
        re.MULTILINE,
    ), result.stderr[-2000:]
    assert "Traceback" not in result.stderr.split("imdb-pipeline run: FAILED:")[-1]
    assert _served_files(output) == served_before


@pytest.mark.slow
def test_a_model_the_canary_refuses_is_not_pushed_and_the_run_still_exits_0(tokenless_run):
    workdir, _, _, first = tokenless_run
    assert first.returncode == 0, first.stderr[-3000:]
    output = workdir / "out"
    served_before = _served_files(output)
    result = _rerun(tokenless_run, "--canary.max_batch_seconds", "0.0001")
    assert result.returncode == 0, result.stderr[-3000:]
    summary = result.stdout.strip().splitlines()[-1]
    assert re.search(
        r"; blessed; canary FAILED \(a batch of 9 probes via serving_default took \d+\.\d{3} s, over "
        r"canary\.max_batch_seconds \(0\.0001 s\); a batch of 9 probes via serving_tf_example took \d+\.\d{3} s, "
        r"over canary\.max_batch_seconds \(0\.0001 s\)\); not pushed$",
        summary,
    ), summary
    assert "not pushed: the canary refused it (a batch of 9 probes via serving_default took" in result.stderr
    assert _served_files(output) == served_before
