"""A demanding user of the nightly features: drift messages at threshold edges, a warm start
from a model that is gone, and bulk scoring that fails half-way."""

import gzip
import shutil

import pytest
import tf_keras as keras
from tfx.types import standard_artifacts

from components.artifacts.statistics import NEGATIVE, POSITIVE, SplitStatistics
from components.statistics import drift
from components.trainer.executor import WarmStartError, warm_start_from
from tests.test_score import _score_cli, length_model  # noqa: F401 (a fixture)

# --- DriftCheck: a threshold of 0 ---------------------------------------------------------------------


def _train(positive: int, negative: int) -> SplitStatistics:
    examples = positive + negative
    return SplitStatistics(
        name="train",
        examples=examples,
        labels={POSITIVE: positive, NEGATIVE: negative},
        ratings={},
        lengths={10: examples},
        tokens=10 * examples,
        oov_tokens=0,
        empty_reviews=0,
        top_tokens=(),
        distinct_tokens=5,
    )


def test_a_zero_threshold_message_shows_the_distance_that_exceeds_it():
    # 10,001 of 20,000 positive against 10,000: the label balance moved by 0.00005, which three
    # decimals print as 0.000, so the message said "L-infinity 0.000 > 0".
    findings = drift.compare(
        _train(10_001, 9_999), _train(10_000, 10_000), "span 2", "span 1", "drift",
        {"label": 0.0, "length": 0.0, "oov": 0.0},
    )  # fmt: skip
    assert [(finding.check, finding.exceeded, finding.message) for finding in findings] == [
        (
            "label",
            True,
            "label balance of train moved from 0.50 positive (span 1) to 0.50 positive (span 2): "
            "L-infinity 5e-05 > 0",
        ),
        (
            "length",
            False,
            "review length of train moved from median 10 tokens (span 1) to median 10 tokens (span 2): "
            "Jensen-Shannon divergence 0.000 <= 0",
        ),
        (
            "oov",
            False,
            "out-of-vocabulary share of train moved from 0.000 (span 1) to 0.000 (span 2): change 0.000 <= 0",
        ),
    ]


@pytest.mark.parametrize(
    ("distance", "threshold", "verdict"),
    [
        (0.506, 0.1, "0.506 > 0.1"),
        (0.1, 0.1, "0.100 <= 0.1"),
        (0.0996, 0.1, "0.0996 <= 0.1"),
        (0.1004, 0.1, "0.1004 > 0.1"),
        (0.10000001, 0.1, "0.10000001 > 0.1"),
        (0.0, 0.0, "0.000 <= 0"),
        (1.0, 1.0, "1.000 <= 1"),
    ],
)
def test_the_printed_distance_never_contradicts_its_verdict(distance, threshold, verdict):
    assert drift._verdict(distance, threshold) == verdict


# --- Warm start: the model to start from is gone -------------------------------------------------------


def test_a_warm_start_from_a_removed_model_names_it(tmp_path):
    # Before: "IndexError: Read less bytes than requested" (variables damaged) or a bare OSError,
    # with nothing saying that the warm start's base model was read.
    classifier = keras.Sequential([keras.layers.Dense(1, input_shape=(2,))])
    base = standard_artifacts.Model()
    base.uri = str(tmp_path / "Trainer" / "model" / "11")
    base.id = 11
    with pytest.raises(WarmStartError) as raised:
        warm_start_from(classifier, [base], ["<unk>", "film"])
    assert str(raised.value) == (
        f"warm start: cannot read the model to start from, {base.uri} (Model artifact 11, the served "
        f"model): OSError: SavedModel file does not exist at: {base.uri}/Format-Serving/"
        "{saved_model.pbtxt|saved_model.pb} (restore that folder, or run with --trainer.warm_start false)"
    )


# --- score: a job that fails leaves the output folder as it found it ---------------------------------


def test_a_failed_score_job_leaves_no_files_and_a_retry_works(length_model, tmp_path):  # noqa: F811
    data = gzip.compress(b"a wonderful film\nawful\n" * 100)
    (tmp_path / "cut.txt.gz").write_bytes(data[: len(data) // 2])
    (tmp_path / "good.txt").write_text("a wonderful film\n", encoding="utf-8")
    for output in ("new", "empty"):
        if output == "empty":
            (tmp_path / "empty").mkdir()
        failed = _score_cli(
            "--model", str(length_model), "--input", "cut.txt.gz", "--output", output, cwd=tmp_path
        )
        assert failed.returncode == 2, failed.stderr[-3000:]
        assert failed.stderr.splitlines()[-1] == (
            "imdb-pipeline score: cut.txt.gz: truncated or damaged gzip file after line 1: "
            "Compressed file ended before the end-of-stream marker was reached"
        )
        # Before: beam-temp-* folders and quarantine/ stayed, and the retry was refused
        # ("already holds files; scoring never overwrites").
        if output == "empty":
            assert sorted(path.name for path in (tmp_path / output).iterdir()) == []
        else:
            assert not (tmp_path / output).exists()
        done = _score_cli(
            "--model", str(length_model), "--input", "good.txt", "--output", output, cwd=tmp_path
        )
        assert done.returncode == 0, done.stderr[-3000:]
        assert done.stdout == f"scored 1 review of good.txt with {length_model}/7, set aside 0: {output}\n"
        assert sorted(path.name for path in (tmp_path / output).iterdir()) == [
            "predictions-00000-of-00001.jsonl",
            "quarantine",
            "summary.json",
        ]
        shutil.rmtree(tmp_path / output)


def test_a_corrupt_tfrecord_message_is_free_of_tensorflow_internals(length_model, tmp_path):  # noqa: F811
    (tmp_path / "corrupt.tfrecord").write_bytes(b"\x00" * 40)
    failed = _score_cli(
        "--model", str(length_model), "--input", "corrupt.tfrecord", "--output", "o", cwd=tmp_path
    )
    assert failed.returncode == 2, failed.stderr[-3000:]
    # Before: "... (compression none): {{function_node __wrapped__IteratorGetNext_output_types_1_device_/
    # job:localhost/replica:0/task:0/device:CPU:0}} corrupted record at 0 ... [Op:IteratorGetNext] name: "
    assert failed.stderr.splitlines()[-1] == (
        "imdb-pipeline score: corrupt.tfrecord: truncated or corrupt TFRecord file after "
        "record 0 (compression none): corrupted record at 0 (Is this even a TFRecord file?)"
    )
    assert not (tmp_path / "o").exists()


def test_files_are_named_as_the_input_was_given(tmp_path, monkeypatch):
    # Before: a relative --input was made absolute for Beam, and every prediction's "source" and
    # every message named the absolute path instead of the one given (the README's "reviews.txt").
    from pipeline import score

    (tmp_path / "in [1].txt").write_text("fine\n", encoding="utf-8")
    (tmp_path / "split").mkdir()
    (tmp_path / "split" / "data_tfrecord-00000-of-00001.gz").write_bytes(b"")
    monkeypatch.chdir(tmp_path)
    text = score.resolve_input("in [1].txt")
    assert text.shown(str(tmp_path / "in [1].txt")) == "in [1].txt"
    folder = score.resolve_input("split/")
    assert folder.kind == score.TFRECORD
    assert folder.shown(str(tmp_path / "split" / "data_tfrecord-00000-of-00001.gz")) == (
        "split/data_tfrecord-00000-of-00001.gz"
    )
    absolute = score.resolve_input(str(tmp_path / "in [1].txt"))
    assert absolute.shown(str(tmp_path / "in [1].txt")) == str(tmp_path / "in [1].txt")


@pytest.mark.parametrize("output", ["", "  "])
def test_an_empty_output_is_refused_before_the_job(tmp_path, monkeypatch, capsys, output):
    """Before: written into the working folder, beside the files it held, exit code 0."""
    from pipeline import cli

    (tmp_path / "afile").write_text("x")
    monkeypatch.chdir(tmp_path)
    assert cli.main(["score", "--model=m", "--input=afile", f"--output={output}"]) == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        "imdb-pipeline score: --output is empty: name a new or empty folder"
    )
    assert sorted(path.name for path in tmp_path.iterdir()) == ["afile"]


@pytest.mark.parametrize(
    ("output", "message"),
    [
        # Before: exit code 1 and Beam's "OSError: [Errno 20] Not a directory" from InitializeWrite.
        ("afile/sub", "--output afile/sub cannot be made: afile is a file, not a folder"),
        ("afile/sub/deeper/", "--output afile/sub/deeper/ cannot be made: afile is a file, not a folder"),
        # Before: exit code 1 from Beam's finalize_write (FileNotFoundError): the OS cannot go up from
        # a folder that does not exist.
        (
            "mine/x/../y",
            "--output mine/x/../y goes up (..) from mine/x, which is not a folder; name the output "
            "folder without it",
        ),
        (
            "afile/../y",
            "--output afile/../y cannot be made: afile is a file, not a folder",
        ),
    ],
)
def test_an_output_that_cannot_be_a_new_folder_is_refused_before_the_job(
    tmp_path, monkeypatch, output, message
):
    from pipeline import score

    (tmp_path / "afile").write_text("x")
    monkeypatch.chdir(tmp_path)
    with pytest.raises((score.ScoreInputError, score.OutputExistsError)) as raised:
        score.check_output(output)
    assert str(raised.value) == message
    assert sorted(path.name for path in tmp_path.iterdir()) == ["afile"]


@pytest.mark.parametrize("output", ["ds/train/pos/scored", "ds/new", "ds", "link/sub"])
def test_an_output_inside_the_input_folder_is_refused_before_the_job(tmp_path, monkeypatch, output):
    """Before: exit 0, the job's own output folder read back as a bad record (not_a_file) and left
    inside the dataset."""
    from pipeline import score

    (tmp_path / "ds" / "train" / "pos").mkdir(parents=True)
    (tmp_path / "link").symlink_to(tmp_path / "ds")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(score.ScoreInputError) as raised:
        score.check_output(output, "ds")
    assert str(raised.value) == (
        f"--output {output} is inside the input folder ds: the job would read what it writes; "
        "choose a folder outside it"
    )
    score.check_output("elsewhere/new", "ds")  # beside it is fine
    score.check_output("ds2", "ds")


@pytest.mark.parametrize("existing", [False, True])
def test_ctrl_c_in_a_score_job_removes_what_it_wrote_and_says_interrupted(
    length_model,  # noqa: F811
    tmp_path,
    monkeypatch,
    existing,
):
    """Ctrl-C during the Beam job: Beam re-raises the worker's KeyboardInterrupt as a RuntimeError, which
    was reported as FAILED (exit 1); at other moments beam-temp-* and quarantine/ stayed in --output, so
    the same command was then refused ("already holds files")."""
    from pipeline import score

    (tmp_path / "reviews.txt").write_text("a wonderful film\nawful\n" * 50, encoding="utf-8")
    output = tmp_path / "out"
    if existing:
        output.mkdir()

    def interrupted(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(score._ReadRecordsFn, "process", interrupted)
    source = score.resolve_input(str(tmp_path / "reviews.txt"))
    job = score.ScoreJob(f"{length_model}/7", str(tmp_path / "reviews.txt"), source, str(output))
    with pytest.raises(KeyboardInterrupt):
        score.run_score(job, [])
    if existing:
        assert list(output.iterdir()) == []
    else:
        assert not output.exists()
