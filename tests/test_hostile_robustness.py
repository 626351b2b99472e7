"""Hostile-user cases that break the robustness promises of README.md ("When the input is bad").

Each test states one behaviour the README (or the issue it implements) promises and
that the code does not keep yet; it fails today and passes once the case is handled.
Cheap where possible (the Python API, ``--dry-run``, tiny SavedModels built here);
the few that need a whole pipeline run are marked ``slow``.
"""

from __future__ import annotations

import gzip
import io
import math
import os
from pathlib import Path
import subprocess
import tarfile

import apache_beam as beam
from apache_beam.io.filesystem import FileMetadata
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
import numpy as np
import pytest
import tensorflow as tf

from components.example_gen import reader
from components.options import OptionsError
from pipeline import config as config_module
from tests.conftest import BEAM_RUNNER, CLI
from tests.imdb_files import GOOD_FILES, GOOD_REVIEWS, write_dataset

# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _cli(*args: str, cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CLI, *args], cwd=cwd, capture_output=True, timeout=timeout, check=False, errors="replace", text=True
    )


def _assert_read_outcomes(pattern: str, root: Path, expected: list[tuple[str, ...]]) -> None:
    """Runs the real ReadImdbReviews over ``pattern`` and checks every outcome.

    ``expected``: ("review", source) for each example, ("set_aside", path relative to
    ``root``, reason) for each quarantined record.
    """
    with TestPipeline(runner=BEAM_RUNNER) as pipeline:
        read = pipeline | reader.ReadImdbReviews(pattern)
        outcomes = (
            read[reader.REVIEWS] | "Reviews" >> beam.Map(lambda r: ("review", r.source)),
            read[reader.QUARANTINE]
            | "SetAside" >> beam.Map(lambda q: ("set_aside", os.path.relpath(q.origin.path, root), q.reason)),
        ) | "Merge" >> beam.Flatten()
        assert_that(outcomes, equal_to(expected))


class _TinyModel(tf.Module):
    """A SavedModel with this pipeline's raw-text contract (``text`` in, ``probability`` out)."""

    def __init__(self, scale: float):
        super().__init__()
        self.weights = tf.Variable(tf.fill([4096], scale), name="weights")

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
    def serve(self, text):
        lengths = tf.cast(tf.strings.length(text), tf.float32)
        return {"probability": tf.sigmoid(lengths * 0.0 + tf.reduce_mean(self.weights))}


def _save_tiny_model(directory: Path, scale: float) -> Path:
    model = _TinyModel(scale)
    tf.saved_model.save(model, str(directory), signatures={"serving_default": model.serve})
    return directory


# --------------------------------------------------------------------------------------------
# 5. Record-level problems stay record-level: every review file is accounted for
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "relative",
    [
        "train/pos/12\\_8.txt",  # a backslash in the file name
        "train/pos/a\\b.txt",
        "train/po\\s/13_8.txt",  # a backslash in the folder name (an unknown review folder)
    ],
)
def test_a_review_file_with_a_backslash_in_its_path_is_read_or_set_aside_never_lost(tmp_path, relative):
    """Beam's ``*`` does not match a backslash, so such a file is neither an example nor quarantined.

    README: "Every review file is accounted for"; a .txt in a review folder that is not
    named <id>_<rating>.txt is ``bad_file_name``, one in an unknown folder ``unknown_folder``.
    """
    root = write_dataset(tmp_path / "aclImdb", {**GOOD_FILES, relative: b"A fine film."})
    reason = "unknown_folder" if "po\\s" in relative else "bad_file_name"
    expected = [("review", name) for name in GOOD_REVIEWS] + [("set_aside", relative, reason)]

    _assert_read_outcomes(str(root / "*/*/*.txt"), root, expected)


def test_an_archive_member_whose_name_ends_in_a_newline_is_a_bad_file_name_not_a_review(tmp_path):
    """``aclImdb/train/pos/5_8.txt\\n`` is not ``<id>_<rating>.txt``.

    The review-path regular expression ends in ``$``, which also matches before a final
    newline, so the member is taken for review 5 rated 8 with the source
    ``train/pos/5_8.txt`` (the name of another file).
    """
    archive = tmp_path / "aclImdb.tar"
    name = "aclImdb/train/pos/5_8.txt\n"
    data = b"A fine film."
    with tarfile.open(archive, "w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))

    outputs = list(
        reader._ReadMatchFn(1_000_000).process((FileMetadata(str(archive), archive.stat().st_size), True))
    )

    set_aside = [o.value for o in outputs if getattr(o, "tag", None) == reader.QUARANTINE]
    reviews = [o for o in outputs if not hasattr(o, "tag")]
    assert reviews == []
    assert [record.reason for record in set_aside] == ["bad_file_name"]


# --------------------------------------------------------------------------------------------
# 4. Options and config files
# --------------------------------------------------------------------------------------------


def _float_options() -> list[str]:
    names = []
    for section, options_class in config_module.SECTIONS.items():
        names.extend(
            f"{section}.{name}"
            for name, field in options_class.model_fields.items()
            if field.annotation is float
        )
    return names


@pytest.mark.parametrize("option", _float_options())
def test_a_nan_option_value_is_a_configuration_error(option):
    """Every range check is ``value < low or value > high``, which NaN passes.

    ``--trainer.learning_rate nan`` then trains a NaN model (exit 1 at epoch 1 instead of
    exit 2 before any step), ``--canary.max_batch_seconds nan`` makes the canary's process
    timeout NaN (``subprocess.run`` raises ValueError: the Canary step fails),
    ``--example_gen.max_bad_share nan`` switches the bad-record limit off, and the
    evaluation thresholds compare against NaN.
    """
    with pytest.raises(OptionsError, match=option.replace(".", r"\.")):
        config_module.build_config(overrides={option: math.nan})


def test_a_nan_option_on_the_command_line_exits_2_before_any_step(tmp_path):
    result = _cli(
        "run",
        "--dry-run",
        "--output",
        str(tmp_path / "out"),
        "--canary.max_batch_seconds",
        "nan",
        cwd=tmp_path,
    )
    assert result.returncode == 2, result.stdout[-2000:] + result.stderr[-2000:]
    assert "canary.max_batch_seconds" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "text",
    [
        "trainer: {epochs: 1, epochs: 2}\n",
        '{"trainer": {"epochs": 1}, "trainer": {"epochs": 2}}\n',
        "trainer:\n  {epochs: 1, dropout: 0.1, epochs: 2}\n",
    ],
)
def test_a_key_repeated_on_one_line_of_a_config_file_is_refused(tmp_path, text):
    """README: a config file that "repeats a key at any level" is refused, naming the line.

    The duplicate check compares the line numbers of the two keys, so two keys on the
    same line (a flow mapping, JSON) pass, and the last value silently wins.
    """
    path = tmp_path / "conf.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(OptionsError, match=r"conf\.yaml, line \d+: key '(epochs|trainer)' is given twice"):
        config_module.load_config_file(str(path))


# --------------------------------------------------------------------------------------------
# 7. No traceback for a user's mistake: predict and neighbors on damaged models
# --------------------------------------------------------------------------------------------


def test_predict_on_a_model_with_truncated_variables_is_exit_2_naming_the_model(tmp_path):
    """README: "A missing, truncated or damaged SavedModel ... is a usage error (exit code 2)".

    With its variables file cut short, loading raises IndexError ("Read less bytes than
    requested"), which predict does not catch: a traceback and exit code 1.
    """
    version = _save_tiny_model(tmp_path / "model" / "1", scale=0.5)
    (data_file,) = (version / "variables").glob("variables.data-*")
    with open(data_file, "r+b") as f:
        f.truncate(10)

    result = _cli("predict", "--model", str(tmp_path / "model"), "a good film", cwd=tmp_path)

    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    assert result.returncode == 2
    assert str(version) in result.stderr


def test_predict_never_prints_a_non_finite_probability(tmp_path):
    """A model whose output is NaN gets ``nan`` printed as a probability, exit 0.

    README: "Any model input gives a finite probability in [0, 1] ... through predict";
    what predict prints must be a probability, or the model is refused (as the canary
    refuses it) with exit 2 naming the model.
    """
    _save_tiny_model(tmp_path / "model" / "1", scale=math.nan)

    result = _cli("predict", "--model", str(tmp_path / "model"), "a good film", cwd=tmp_path)

    assert "nan" not in result.stdout.lower(), result.stdout
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_neighbors_does_not_call_a_nan_vector_all_zeros(tmp_path):
    """Embeddings holding NaN: ``neighbors`` says "its vector is all zeros", which is untrue.

    A NaN matrix is damaged: it should be refused (exit 2) naming the file, like a
    truncated one, or at least not be reported as zeros.
    """
    version = _save_tiny_model(tmp_path / "model" / "1", scale=0.5)
    embeddings = version / "embeddings"
    embeddings.mkdir()
    vocabulary = ["<pad>", "<unk>", "great", "good", "awful"]
    (embeddings / "vocabulary.txt").write_text("".join(f"{w}\n" for w in vocabulary), encoding="utf-8")
    matrix = np.array([[0, 0], [0, 0], [np.nan, 1], [1, 1], [-1, 0]], dtype=np.float32)
    np.save(embeddings / "embeddings.npy", matrix)
    np.save(embeddings / "embeddings_injected.npy", matrix)

    result = _cli("neighbors", "--model", str(tmp_path / "model"), "great", cwd=tmp_path)

    assert "all zeros" not in result.stdout, result.stdout
    assert result.returncode == 2
    assert "embeddings.npy" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_review_file_name_that_is_not_utf8_does_not_stop_the_run(tmp_path):
    """``train/pos/\\xff12_8.txt`` in a dataset folder fails the whole run at ExampleGen.

    ``imdb-pipeline run --data DIR`` ends with ``FAILED: UnicodeDecodeError: 'utf-8' codec
    can't decode byte 0xff in position 47`` (exit 1, no file named): the driver's input
    fingerprint globs with TensorFlow's gfile, which cannot return such a name. The
    reader itself sets the file aside as ``bad_file_name``; the fingerprint must count it
    like any other file so the run goes on.
    """
    from components.example_gen import driver

    root = write_dataset(tmp_path / "aclImdb", GOOD_FILES)
    with open(os.path.join(os.fsencode(root), b"train", b"pos", b"\xff12_8.txt"), "wb") as f:
        f.write(b"A fine film.")

    fingerprint = driver.input_fingerprint("all", str(root / "*/*/*.txt"))

    assert "num_files:9," in fingerprint


# --------------------------------------------------------------------------------------------
# 3. Paths from anywhere: the same dataset through a symbolic link is the same input
# --------------------------------------------------------------------------------------------


def test_the_same_dataset_named_through_a_symlinked_folder_gives_the_same_cached_input(tmp_path):
    """``--data link/aclImdb`` where ``link -> /data``: every step re-runs and a new version is pushed.

    Seen with the sample: a run with ``--data /tmp/a/aclImdb --output /tmp/a/out``, then
    ``--data link/aclImdb --output link/out`` (``link -> /tmp/a``) executed 10 of 11
    steps (ExampleGen's ``input_base`` differs) and pushed a second version of the
    same model. Paths are made absolute but not resolved, so two names of one folder
    give two cache keys.
    """
    from pipeline.pipeline import create_pipeline

    real = tmp_path / "real"
    write_dataset(real / "aclImdb", GOOD_FILES)
    (tmp_path / "link").symlink_to(real, target_is_directory=True)
    output = str(tmp_path / "out")

    def example_gen_properties(data: str) -> dict:
        pipeline = create_pipeline(config_module.build_config(overrides={"data": data, "output": output}))
        (example_gen,) = [c for c in pipeline.components if c.id == "FileBasedExampleGen"]
        return dict(example_gen.exec_properties)

    assert example_gen_properties(str(tmp_path / "link" / "aclImdb")) == example_gen_properties(
        str(real / "aclImdb")
    )


# --------------------------------------------------------------------------------------------
# 2. The canary: a model it refused must not become the bar for the next night
# --------------------------------------------------------------------------------------------


def _summary_metrics(stdout: str, prefix: str) -> tuple[str, str]:
    """(accuracy, auc) as printed after ``prefix`` ("test" or "baseline") in the summary line."""
    import re

    match = re.search(rf"\b{prefix} accuracy (\d\.\d{{4}}), auc (\d\.\d{{4}})", stdout)
    assert match, stdout[-3000:]
    return match.group(1), match.group(2)


@pytest.mark.slow
def test_a_model_the_canary_refused_is_not_the_next_runs_baseline(tmp_path):
    """The Evaluator's baseline is "the latest blessed model": the canary's verdict is ignored.

    Seen with the sample (``--trainer.epochs 1 --evaluation.min_accuracy 0.5``): night 1
    pushes model A (accuracy 0.7129); night 2's model B (``--trainer.seed 7``, accuracy
    0.8255) is blessed but refused by the canary and not pushed; night 3's model C
    (``--trainer.seed 8``, accuracy 0.8126) is compared with B ("baseline accuracy
    0.8255"), a model that was never served, and with the default margin of 0.01 would be
    refused although it beats the served model by 0.10. One canary-refused model with
    good test metrics blocks every later model. The baseline must be the model that is
    served (the latest one blessed by the Evaluator *and* the canary).
    """
    output = str(tmp_path / "out")
    common = ("run", "--output", output, "--trainer.epochs", "1", "--evaluation.min_accuracy", "0.5")

    served = _cli(*common, cwd=tmp_path, timeout=1200)
    assert served.returncode == 0, served.stderr[-3000:]
    assert "canary passed; pushed to" in served.stdout
    served_metrics = _summary_metrics(served.stdout, "test")

    refused = _cli(*common, "--trainer.seed", "7", "--canary.max_batch_seconds", "0.0001", cwd=tmp_path)
    assert refused.returncode == 0, refused.stderr[-3000:]
    assert "canary FAILED" in refused.stdout and refused.stdout.rstrip().endswith("not pushed")
    refused_metrics = _summary_metrics(refused.stdout, "test")
    assert refused_metrics != served_metrics  # else the test cannot tell the baselines apart

    next_night = _cli(*common, "--trainer.seed", "8", cwd=tmp_path, timeout=1200)
    assert next_night.returncode == 0, next_night.stderr[-3000:]
    assert _summary_metrics(next_night.stdout, "baseline") == served_metrics


# --------------------------------------------------------------------------------------------
# 7. Undecodable bytes in path arguments
# --------------------------------------------------------------------------------------------


def test_an_output_path_that_is_not_utf8_is_refused_before_anything_is_created(tmp_path):
    """``--output $'o\\xff'``: the dry run and the pre-flight accept it; the run then creates
    the folder (with its ``.run.lock``) and fails with exit 1: ``FAILED: UnicodeEncodeError:
    'utf-8' codec can't encode character '\\udcff' in position 18: surrogates not allowed``
    (ML Metadata stores URIs as UTF-8). It is a usage error to refuse in the pre-flight
    (exit 2, naming ``output``), like an output holding glob characters, creating nothing.
    """
    output = os.fsdecode(os.path.join(os.fsencode(tmp_path), b"o\xff"))

    result = _cli("run", "--dry-run", "--output", output, cwd=tmp_path)

    assert result.returncode == 2, result.stdout[-2000:]
    assert "output" in result.stderr
    assert "Traceback" not in result.stderr
    assert not os.path.lexists(output)


def test_a_data_path_that_is_not_utf8_is_refused_naming_the_path(tmp_path):
    """``--data $'d\\xff/aclImdb'`` (a folder that exists) gives exit 2 with only
    ``configuration error: data: 'utf-8' codec can't encode character '\\udcff' in position
    18: surrogates not allowed``: neither the path nor what to do is said.
    """
    root = os.path.join(os.fsencode(tmp_path), b"d\xff", b"aclImdb")
    for relative, data in GOOD_FILES.items():
        path = os.path.join(root, os.fsencode(relative))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)

    result = _cli(
        "run", "--dry-run", "--data", os.fsdecode(root), "--output", str(tmp_path / "out"), cwd=tmp_path
    )

    assert result.returncode == 2
    (message,) = [line for line in result.stderr.splitlines() if "configuration error" in line]
    assert "aclImdb" in message, message
    assert "codec" not in message, message


def test_a_data_folder_with_a_backslash_in_its_name_is_fingerprinted_by_its_files(tmp_path):
    """``--data 'da\\ta/aclImdb'``: TensorFlow's glob reads ``\\`` as an escape, matches nothing,
    and the input fingerprint is ``num_files:0,total_bytes:0`` whatever the folder holds.

    Seen: a run on the sample in ``da\\ta/aclImdb``, then 300 reviews deleted, then the
    same command: ``14 steps (0 executed, 14 cached)``, the stale model kept and reported
    as this run's, silently (README: "only a new or changed span makes the run
    re-ingest"; "Any characters work in --data").
    """
    from components.example_gen import component, driver

    root = write_dataset(tmp_path / "da\\ta" / "aclImdb", GOOD_FILES)
    input_base, pattern = component.dataset_input(str(root))

    fingerprint = driver.input_fingerprint("all", os.path.join(input_base, pattern))

    assert fingerprint.startswith(f"split:all,num_files:{len(GOOD_REVIEWS)},"), fingerprint


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    folder=st.text(alphabet="ab [*?]\\{}!-", min_size=1, max_size=8).filter(
        lambda name: name.strip(" ") == name and name not in (".", "..")
    )
)
def test_an_archive_whose_path_holds_glob_characters_is_fingerprinted_by_its_bytes(tmp_path, folder):
    """``--data 'imdb [v1]/aclImdb_v1.tar.gz'``: the archive's escaped pattern holds ``[[]``; the
    fingerprint listed no file for it (``num_files:0,total_bytes:0``), so a replaced archive at that
    path would have been a cache hit: the run would keep the stale examples and model."""
    from components.example_gen import component, driver

    archive = tmp_path / folder / "aclImdb_v1.tar.gz"
    archive.parent.mkdir(exist_ok=True)
    archive.write_bytes(b"x" * 123)
    input_base, pattern = component.dataset_input(str(archive))

    fingerprint = driver.input_fingerprint("all", os.path.join(input_base, pattern))

    assert fingerprint.startswith("split:all,num_files:1,total_bytes:123,"), (folder, fingerprint)


def test_an_archive_given_through_a_link_is_fingerprinted_by_the_file_it_points_to(tmp_path):
    """``--data linkarch.tar.gz`` (a link to the archive): the reader reads through it, but the fingerprint
    took the link itself, so replacing the archive it points to was a cache hit (a stale model, rc 0)."""
    from components.example_gen import component, driver

    target = tmp_path / "sample.tar.gz"
    target.write_bytes(b"x" * 100)
    link = tmp_path / "linkarch.tar.gz"
    link.symlink_to(target)
    input_base, pattern = component.dataset_input(str(link))

    before = driver.input_fingerprint("all", os.path.join(input_base, pattern))
    target.write_bytes(b"y" * 250)
    os.utime(target, (1_000_000, 1_000_000))
    after = driver.input_fingerprint("all", os.path.join(input_base, pattern))

    assert before.startswith("split:all,num_files:1,total_bytes:100,"), before
    assert after == "split:all,num_files:1,total_bytes:250,xor_checksum:1000000,sum_checksum:1000000"


def test_predict_reads_a_model_whose_path_holds_a_backslash(tmp_path):
    """README: "Any characters work in ... ``predict --model``".

    ``predict --model 'm\\odel'`` on a sound pushed model says ``the SavedModel cannot be
    loaded (truncated or damaged?): FileNotFoundError: Unsuccessful TensorSliceReader
    constructor: Failed to find any matching files for m\\odel/<version>/variables/variables``
    (exit 2): TensorFlow's checkpoint reader takes the path for a pattern in which ``\\``
    escapes, and only ``* ? [ ]`` are worked around.
    """
    _save_tiny_model(tmp_path / "m\\odel" / "1", scale=0.5)

    result = _cli("predict", "--model", "m\\odel", "a good film", cwd=tmp_path)

    assert result.returncode == 0, result.stderr[-2000:]
    probability, text = result.stdout.splitlines()[0].split("\t")
    assert text == "a good film"
    assert 0.0 <= float(probability) <= 1.0


def test_an_output_folder_with_a_backslash_is_refused_in_the_pre_flight(tmp_path):
    """``run --output 'o\\ut'`` passes the pre-flight, creates the store, ingests, and fails
    at the Transform (exit 1): ``FileNotFoundError: Unsuccessful TensorSliceReader
    constructor: Failed to find any matching files for .../o\\ut/pipeline_root/Transform/
    transform_graph/4/.temp/...`` (TensorFlow's file patterns read ``\\`` as an escape).

    README: an output holding ``[``, ``*`` or ``?`` is refused before any step because the
    readers take artifact paths as patterns, "spaces and any other characters work". A
    backslash is in the same class: refuse it the same way (or make it work).
    """
    result = _cli("run", "--dry-run", "--output", "o\\ut", cwd=tmp_path)

    assert result.returncode == 2, result.stdout[-2000:]
    assert "output" in result.stderr and "\\" in result.stderr
    assert not (tmp_path / "o\\ut").exists()


# --------------------------------------------------------------------------------------------
# 4. Beam options from a config file and from the command line
# --------------------------------------------------------------------------------------------


def test_a_beam_flag_on_the_command_line_does_not_drop_the_config_files_beam_args(tmp_path):
    """A config file's ``beam_args`` vanish as soon as any Beam flag is given on the command line.

    ``beam_args: [--runner=DataflowRunner, --project=p, --region=r, --temp_location=gs://b/t]``
    in the nightly config plus ``--job_name=nightly`` on the command line runs with
    ``--runner=FnApiRunner --job_name=nightly``: locally, silently. Flags override the
    file option by option; a flag the file does not set cannot erase the file's others.
    """
    config = tmp_path / "conf.yaml"
    config.write_text("beam_args:\n  - --direct_num_workers=2\n", encoding="utf-8")

    result = _cli(
        "run",
        "--dry-run",
        "--output",
        str(tmp_path / "out"),
        "--config",
        str(config),
        "--experiments=x",
        cwd=tmp_path,
    )

    assert result.returncode == 0, result.stderr[-2000:]
    (beam_line,) = [line for line in result.stdout.splitlines() if line.strip().startswith("beam:")]
    assert "--direct_num_workers=2" in beam_line, beam_line
    assert "--experiments=x" in beam_line, beam_line


# --------------------------------------------------------------------------------------------
# 7. A damaged gzip vector file is called damaged
# --------------------------------------------------------------------------------------------


def test_gzip_damage_that_zlib_decodes_is_reported_as_damage_not_as_a_bad_row(tmp_path):
    """A ``.gz`` vector file with four bytes overwritten in the middle (``gzip -t``: "crc
    error") fails the EmbeddingAligner with ``flip.txt.gz, line 5513: expected 100 values
    after the word, found 31 (the header on line 1 says 100)``: a bad row of a good file,
    it says, where the file is damaged (README: "a truncated or damaged gzip file ... the
    error names ... what is wrong: ... damaged gzip data (... a wrong CRC-32 ... in a
    member's trailer ...)"). Here the same with stored deflate blocks, so the damage reaches the
    parser for certain.
    """
    from components.embeddings import vector_files

    rows = "".join(f"w{i} 0.5 0.25 -0.125\n" for i in range(50))
    data = gzip.compress(f"50 3\n{rows}".encode(), compresslevel=0)
    at = data.index(b"w10 0.5") + 5
    path = tmp_path / "vectors.txt.gz"
    path.write_bytes(data[:at] + b"x" + data[at + 1 :])

    with pytest.raises(vector_files.VectorFileError) as raised:
        list(vector_files.iter_vectors(str(path), "word2vec"))

    message = str(raised.value)
    assert "gzip" in message and "CRC" in message, message


def test_a_urls_file_that_is_a_symbolic_link_is_not_followed(tmp_path):
    """README: symbolic links in a dataset folder are "never followed" ("one could bring any
    file of the machine into the training data"); in an archive a linked ``urls_pos.txt`` is
    set aside as ``symlink``. In a dataset folder it is read through the link: the movie
    ids (which decide the train/eval cut) come from a file outside the dataset, and
    nothing says so. Its folder's reviews must get no movie id (``no_urls_line``), as when
    the urls file is missing.
    """
    root = write_dataset(
        tmp_path / "aclImdb", {k: v for k, v in GOOD_FILES.items() if k != "train/urls_pos.txt"}
    )
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"http://www.imdb.com/title/tt7777777/\nhttp://www.imdb.com/title/tt8888888/\n")
    (root / "train" / "urls_pos.txt").symlink_to(outside)

    with TestPipeline(runner=BEAM_RUNNER) as pipeline:
        read = pipeline | reader.ReadImdbReviews(str(root / "*/*/*.txt"))
        train_pos = (
            read[reader.REVIEWS]
            | beam.Filter(lambda r: r.source.startswith("train/pos/"))
            | beam.Map(lambda r: (r.source, r.movie_id, r.no_movie_id))
        )
        assert_that(
            train_pos,
            equal_to(
                [
                    ("train/pos/0_9.txt", None, reader.NO_URLS_LINE),
                    ("train/pos/1_7.txt", None, reader.NO_URLS_LINE),
                ]
            ),
        )


# --------------------------------------------------------------------------------------------
# 7. compile: no traceback, no silent default image
# --------------------------------------------------------------------------------------------

_REMOTE = ("--data", "gs://bucket/aclImdb_v1.tar.gz", "--output", "gs://bucket/imdb")


def test_compile_with_an_image_name_that_is_not_utf8_is_a_usage_error(tmp_path):
    """``compile --image $'img\\xff'``: a traceback ending in ``UnicodeEncodeError: 'utf-8' codec
    can't encode character '\\udcff'`` (pipeline/kubeflow.py, compile_pipeline), exit 1."""
    result = _cli("compile", "--output-file", "p.yaml", "--image", "img\udcff", *_REMOTE, cwd=tmp_path)

    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    assert result.returncode == 2
    assert "image" in result.stderr
    assert not (tmp_path / "p.yaml").exists()


def test_compile_with_an_empty_image_is_refused_not_replaced_by_tfxs_image(tmp_path):
    """``compile --image "$IMAGE"`` with IMAGE unset writes a package whose every step runs
    ``gcr.io/tfx-oss-public/tfx:1.21.0``, TFX's stock image without this project, and
    exits 0; the failure shows only on the cluster, at the first step.
    """
    result = _cli("compile", "--output-file", "p.yaml", "--image", "", *_REMOTE, cwd=tmp_path)

    assert result.returncode == 2, result.stdout[-2000:]
    assert "image" in result.stderr
    assert not (tmp_path / "p.yaml").exists()


def test_a_number_in_exponent_notation_in_a_config_file_is_the_number(tmp_path):
    """``learning_rate: 1e-3`` in a config file: ``trainer.learning_rate must be a number, got
    '1e-3'`` (exit 2). PyYAML's YAML 1.1 resolver reads floats without a dot as strings;
    the same value as a flag (``--trainer.learning_rate 1e-3``) is taken, and YAML 1.2,
    JSON and every ML config in the wild write it so.
    """
    path = tmp_path / "conf.yaml"
    path.write_text("trainer:\n  learning_rate: 1e-3\ncanary:\n  max_load_seconds: 1E+2\n", encoding="utf-8")

    config = config_module.build_config(config_module.load_config_file(str(path)))

    assert config.trainer.learning_rate == 0.001
    assert config.canary.max_load_seconds == 100.0
