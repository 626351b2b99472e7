"""Ranges of spans: ``--num-spans K`` reads the last K spans together (TFX's RangeConfig idioms).

``--num-spans K`` alone is a rolling range (TFX's ``RollingRange(num_spans=K)``:
the newest K spans, so a nightly job trains on a moving window);
``--span N --num-spans K`` a static range (``StaticRange(N - K + 1, N)``). TFX's
own ExampleGen driver ingests one span per run; this ExampleGen's driver
resolves each span of the range with TFX's matching and reads them as one
dataset. Real span folders, the real driver and executor under TFX's
LocalDagRunner.
"""

from __future__ import annotations

import json
from pathlib import Path

from ml_metadata import metadata_store
import pytest
import tensorflow as tf
from tfx.proto import example_gen_pb2, range_config_pb2
from tfx.utils import proto_utils

from components.artifacts import pushed_model
from components.example_gen import component, driver, spans
from components.options import OptionsError
from pipeline import preflight
from pipeline.config import build_config
from pipeline.pipeline import beam_args_with_dependencies
from schemas import features
from tests.imdb_files import GOOD_FILES, GOOD_REVIEWS, write_dataset


def _span_files(span: int) -> dict[str, bytes]:
    """GOOD_FILES with every review's text made the span's own (no review repeats another span's)."""
    return {**GOOD_FILES, **{name: text + f" Span {span}.".encode() for name, text in GOOD_REVIEWS.items()}}


@pytest.fixture
def span_folders(tmp_path) -> Path:
    root = tmp_path / "imdb ü"
    for span in (1, 2, 3):
        write_dataset(root / f"span-{span}", _span_files(span))
    return root


# --- configuration and pre-flight ---------------------------------------------------------------------


def test_a_range_needs_a_span_placeholder(tmp_path):
    with pytest.raises(OptionsError) as error:
        build_config({"data": str(tmp_path), "num_spans": 2})
    assert (
        str(error.value) == f"num_spans 2 was given, but the data path {tmp_path} has no {{SPAN}} placeholder"
    )


def test_a_range_that_would_start_below_span_0_is_refused(tmp_path):
    with pytest.raises(OptionsError) as error:
        build_config({"data": str(tmp_path / "span-{SPAN}"), "span": 1, "num_spans": 3})
    assert str(error.value) == "span 1 with num_spans 3 would start at span -1; spans are numbered from 0"


def test_a_range_with_a_version_placeholder_is_refused(tmp_path):
    data = str(tmp_path / "span-{SPAN}" / "v-{VERSION}")
    with pytest.raises(OptionsError) as error:
        build_config({"data": data, "num_spans": 2})
    assert str(error.value) == (
        f"num_spans 2 cannot be used with a {{VERSION}} placeholder ({data}): each run then ingests one span"
    )


@pytest.mark.parametrize("bad", [0, -1, 10001, True, "2", 2.0, None])
def test_num_spans_is_a_whole_number_of_at_least_1(tmp_path, bad):
    with pytest.raises(OptionsError) as error:
        build_config({"data": str(tmp_path / "span-{SPAN}"), "num_spans": bad})
    assert str(error.value) == f"num_spans must be a whole number between 1 and 10000, got {bad!r}"


@pytest.mark.parametrize(("span", "num_spans", "last"), [(None, 3, 3), (None, 2, 3), (2, 2, 2), (3, 1, 3)])
def test_the_pre_flight_accepts_a_range_whose_spans_are_all_there(span_folders, span, num_spans, last):
    config = build_config({"data": str(span_folders / "span-{SPAN}"), "span": span, "num_spans": num_spans})
    assert preflight.check(config) == str(span_folders / f"span-{last}")


def _serve(output: Path, version: int, manifest: dict | None) -> None:
    """A version folder in ``output``'s serving folder, as the Pusher leaves it (its manifest or none)."""
    folder = output / "serving" / "imdb_sentiment" / str(version)
    folder.mkdir(parents=True)
    (folder / "saved_model.pb").write_bytes(b"")  # what tf.saved_model.contains_saved_model looks for
    if manifest is not None:
        (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def test_the_newest_span_older_than_the_served_models_span_is_refused_unless_named(span_folders, tmp_path):
    """Span 3 was trained and pushed, then its folder went away: the newest span is 2."""
    output = tmp_path / "out"
    _serve(output, 1795000000, {"data": {"span": 2}})
    _serve(output, 1795000100, {"data": {"span": 3}})
    (span_folders / "span-3").rename(tmp_path / "away")
    data = str(span_folders / "span-{SPAN}")
    with pytest.raises(OptionsError) as error:
        preflight.check(build_config({"data": data, "output": str(output)}))
    assert str(error.value) == (
        f"data: the newest span under {span_folders} is 2, older than span 3 of the served model (version "
        f"1795000100 in {output / 'serving' / 'imdb_sentiment'}): span 3's data is gone; restore it, or give "
        "--span 2 to train on span 2 again"
    )
    # Named, the older span is trained on again; once span 3 is back, the newest span is read.
    assert preflight.check(build_config({"data": data, "output": str(output), "span": 2})) == str(
        span_folders / "span-2"
    )
    (tmp_path / "away").rename(span_folders / "span-3")
    assert preflight.check(build_config({"data": data, "output": str(output)})) == str(
        span_folders / "span-3"
    )


@pytest.mark.parametrize("manifest", [None, {}, {"data": {"span": 1}}, {"data": None}])
def test_a_served_model_of_an_older_or_unknown_span_does_not_stop_the_newest_span(
    span_folders, tmp_path, manifest
):
    output = tmp_path / "out"
    _serve(output, 7, manifest)
    config = build_config({"data": str(span_folders / "span-{SPAN}"), "output": str(output)})
    assert preflight.check(config) == str(span_folders / "span-3")


@pytest.mark.parametrize(
    ("span", "num_spans", "message"),
    [
        (None, 3, "spans 2 to 4 were asked for (3 spans), but span 3 is not"),
        (None, 5, "spans 0 to 4 were asked for (5 spans), but spans 0, 3 are not"),
        (4, 2, "spans 3 to 4 were asked for (2 spans), but span 3 is not"),
        (5, 2, "spans 4 to 5 were asked for (2 spans), but span 5 is not"),
    ],
)
def test_a_missing_span_in_a_range_is_a_configuration_error_listing_the_spans_found(
    span_folders, span, num_spans, message
):
    (span_folders / "span-3").rename(span_folders / "span-4")
    config = build_config({"data": str(span_folders / "span-{SPAN}"), "span": span, "num_spans": num_spans})
    with pytest.raises(OptionsError) as error:
        preflight.check(config)
    assert (
        str(error.value)
        == f"data: {message} under {span_folders} (matching span-{{SPAN}}); spans found: 1, 2, 4"
    )


def test_the_range_is_tfxs_range_config(tmp_path):
    assert spans.span_range(None, 1) is None
    assert spans.span_range(None, 3) == range_config_pb2.RangeConfig(
        rolling_range=range_config_pb2.RollingRange(num_spans=3)
    )
    assert spans.span_range(5, 3) == range_config_pb2.RangeConfig(
        static_range=range_config_pb2.StaticRange(start_span_number=3, end_span_number=5)
    )
    assert spans.span_range(5, 1) == range_config_pb2.RangeConfig(
        static_range=range_config_pb2.StaticRange(start_span_number=5, end_span_number=5)
    )


def _processor(data: str, span: int | None, num_spans: int) -> driver.InputProcessor:
    example_gen = component.create_example_gen(data, span=span, num_spans=num_spans)
    input_config = example_gen_pb2.Input()
    proto_utils.json_to_proto(example_gen.exec_properties["input_config"], input_config)
    range_config = range_config_pb2.RangeConfig()
    if example_gen.exec_properties["range_config"]:
        proto_utils.json_to_proto(example_gen.exec_properties["range_config"], range_config)
    return driver.InputProcessor(
        example_gen.exec_properties["input_base"], input_config.splits, range_config or None
    )


def test_the_driver_resolves_every_span_of_the_range(span_folders):
    processor = _processor(str(span_folders / "span-{SPAN}"), None, 2)
    assert processor.resolve_span_and_version() == (3, None)
    assert processor.span_patterns == [(2, "span-2/*/*/*.txt"), (3, "span-3/*/*/*.txt")]
    fingerprint = processor.get_input_fingerprint(3, None)
    assert [line.split(",")[:2] for line in fingerprint.splitlines()] == [
        ["split:span-2", f"num_files:{len(GOOD_REVIEWS)}"],
        ["split:span-3", f"num_files:{len(GOOD_REVIEWS)}"],
    ]


def test_the_driver_refuses_a_range_with_a_span_missing_at_run_time_listing_the_spans_found(span_folders):
    """A span folder removed between the pre-flight (or a compile) and the run: the step fails, naming it."""
    (span_folders / "span-2").rename(span_folders / "old-span-2")
    processor = _processor(str(span_folders / "span-{SPAN}"), None, 3)
    with pytest.raises(spans.SpanNotFoundError) as error:
        processor.resolve_span_and_version()
    assert str(error.value) == (
        f"data: spans 1 to 3 were asked for (3 spans), but span 2 is not under {span_folders} "
        "(matching span-{SPAN}/*/*/*.txt); spans found: 1, 3"
    )


# --- the real ExampleGen under TFX's LocalDagRunner, night after night -------------------------------


@pytest.mark.slow
def test_a_rolling_range_ingests_the_last_k_spans_night_after_night(tmp_path, span_folders):
    from tfx.orchestration import metadata
    from tfx.orchestration import pipeline as tfx_pipeline
    from tfx.orchestration.local.local_dag_runner import LocalDagRunner

    config = build_config(
        {"data": str(span_folders / "span-{SPAN}"), "num_spans": 2, "output": str(tmp_path / "out")}
    )
    connection = metadata.sqlite_metadata_connection_config(str(tmp_path / "m.sqlite"))

    def run_night() -> list:
        preflight.check(config)
        LocalDagRunner().run(
            tfx_pipeline.Pipeline(
                pipeline_name="spans",
                pipeline_root=str(tmp_path / "out"),
                components=[
                    component.create_example_gen(config.data, span=config.span, num_spans=config.num_spans)
                ],
                metadata_connection_config=connection,
                beam_pipeline_args=beam_args_with_dependencies(["--runner=FnApiRunner"]),
                enable_cache=True,
            )
        )
        return sorted(
            metadata_store.MetadataStore(connection).get_artifacts_by_type("Examples"), key=lambda a: a.id
        )

    def spans_read(examples) -> set[str]:
        """The spans of the reviews written to every split (each review's text ends with its span)."""
        texts = []
        for split in (*features.LABELED_SPLITS, features.UNSUP):
            files = sorted(tf.io.gfile.glob(f"{examples.uri}/Split-{split}/*"))
            for record in tf.data.TFRecordDataset(files, compression_type=""):
                example = tf.train.Example.FromString(record.numpy())
                texts.append(example.features.feature[features.TEXT].bytes_list.value[0].decode())
        assert len(texts) == 2 * len(GOOD_REVIEWS)  # every review of both spans, none set aside
        return {text.rsplit(" Span ", 1)[1].rstrip(".") for text in texts}

    (first,) = run_night()
    assert first.custom_properties["span"].int_value == 3
    assert first.custom_properties["first_span"].int_value == 2  # the window's first span
    assert first.custom_properties["reviews_read"].int_value == 2 * len(GOOD_REVIEWS)
    assert spans_read(first) == {"2", "3"}

    # The next night span 4 arrives: the window moves to spans 3 and 4.
    write_dataset(span_folders / "span-4", _span_files(4))
    first_again, second = run_night()
    assert first_again.id == first.id
    assert second.custom_properties["span"].int_value == 4
    assert second.custom_properties["first_span"].int_value == 3
    assert spans_read(second) == {"3", "4"}


def test_the_driver_says_when_no_span_is_there_at_all(tmp_path):
    processor = _processor(str(tmp_path / "span-{SPAN}"), None, 2)
    with pytest.raises(spans.SpanNotFoundError) as error:
        processor.resolve_span_and_version()
    assert (
        str(error.value) == f"data: no span found: nothing under {tmp_path} matches span-{{SPAN}}/*/*/*.txt"
    )


@pytest.mark.parametrize("suffix", ["", "/"])
def test_span_folders_holding_aclimdb_are_refused_naming_the_path_to_pass(tmp_path, suffix):
    root = tmp_path / "imdb"
    for span in (1, 2):
        write_dataset(root / f"span-{span}" / "aclImdb", _span_files(span))
    config = build_config({"data": str(root / "span-{SPAN}") + suffix})
    with pytest.raises(OptionsError) as error:
        preflight.check(config)
    assert str(error.value) == (
        f"data: span 2's folder {root}/span-2 holds an aclImdb/ folder, not train/ and test/; one pattern "
        f"reads every span, so name the folder inside the spans: --data '{root}/span-{{SPAN}}/aclImdb'"
    )
    # What the message says to pass is accepted, and names the folders TFX's driver reads.
    config = build_config({"data": f"{root}/span-{{SPAN}}/aclImdb"})
    assert preflight.check(config) == f"{root}/span-2/aclImdb"
    assert component.dataset_input(config.data) == (str(root), "span-{SPAN}/aclImdb/*/*/*.txt")


@pytest.mark.parametrize("linked", ["span-2", "span-2/aclImdb"])
def test_a_span_reached_through_a_symbolic_link_is_refused_before_any_step(tmp_path, linked):
    """Was accepted by the pre-flight, then ExampleGen set the whole span aside as one ``symlink``
    record (the reader never follows links below the data path) and the run failed (exit 1)."""
    root = tmp_path / "sp [x]"
    write_dataset(root / "span-1" / "aclImdb", _span_files(1))
    if linked == "span-2":
        (root / "span-2").symlink_to(root / "span-1")
    else:
        (root / "span-2").mkdir()
        (root / "span-2" / "aclImdb").symlink_to(root / "span-1" / "aclImdb")
    config = build_config({"data": f"{root}/span-{{SPAN}}/aclImdb"})
    with pytest.raises(OptionsError) as error:
        preflight.check(config)
    assert str(error.value) == (
        f"data: span 2's path goes through {root}/{linked}, a symbolic link: links below the spans' "
        f"folder {root} are never followed; put the span's data there itself"
    )
    # The same span as a real folder is accepted.
    (root / linked).unlink()
    write_dataset(root / "span-2" / "aclImdb", _span_files(2))
    assert preflight.check(config) == f"{root}/span-2/aclImdb"


@pytest.mark.parametrize(
    ("written", "problem"),
    [
        (b"not json{", " cannot be read as a UTF-8 JSON document (JSONDecodeError: Expecting value: "),
        (b'\xef\xbb\xbf{"data": {"span": 9}}', " cannot be read as a UTF-8 JSON document (JSONDecodeError: "),
        (b'{"data": "\xff"}', " cannot be read as a UTF-8 JSON document (UnicodeDecodeError: "),
        (b'{"data": [9]}', ": data is an array, not an object"),
        (b'{"data": "x"}', ": data is a string, not an object"),
        (b'{"data": {"span": true}}', ": data.span is true, not a span number (0 or more)"),
        (b"[9]", ": the document is an array, not an object"),
        (b"folder", " is a folder, not a file"),
    ],
)
def test_a_damaged_manifest_of_the_served_model_does_not_stop_the_run(
    span_folders, tmp_path, caplog, written, problem
):
    output = tmp_path / "out"
    _serve(output, 7, None)
    version = output / "serving" / "imdb_sentiment" / "7"
    manifest = version / "manifest.json"
    if written == b"folder":
        manifest.mkdir()
    else:
        manifest.write_bytes(written)
    config = build_config({"data": str(span_folders / "span-{SPAN}"), "output": str(output)})
    assert preflight.check(config) == str(span_folders / "span-3")
    (warning,) = [record.getMessage() for record in caplog.records if record.name == preflight.__name__]
    assert warning.startswith(f"The served model's manifest in {version} cannot be read ({manifest}{problem}")
    assert warning.endswith("): its span is not compared")


def test_version_folders_are_ascii_digits_only(span_folders, tmp_path):
    """'²' passes str.isdigit() and int() refuses it; '١٢' is read by int() as 12: neither is a version."""
    output = tmp_path / "out"
    _serve(output, 7, {"data": {"span": 9}})
    for name in ("²", "١٢", "12a", "0099"):  # not versions: other digits, a backup copy named 0099
        (output / "serving" / "imdb_sentiment" / name).mkdir()
    (output / "serving" / "imdb_sentiment" / "99").write_text("a file named like a version")
    assert pushed_model.list_versions(str(output / "serving" / "imdb_sentiment")) == [7]
    config = build_config({"data": str(span_folders / "span-{SPAN}"), "output": str(output)})
    with pytest.raises(OptionsError, match=r"older than span 9 of the served model \(version 7 in "):
        preflight.check(config)
    # A higher version folder without a SavedModel (emptied, or half copied) is not served: passed over.
    (output / "serving" / "imdb_sentiment" / "8").mkdir()
    (output / "serving" / "imdb_sentiment" / "8" / "manifest.json").write_text('{"data": {"span": 1}}')
    with pytest.raises(OptionsError, match=r"older than span 9 of the served model \(version 7 in "):
        preflight.check(config)


def test_a_range_reaching_below_span_0_from_the_newest_span_is_refused_shortly(span_folders):
    config = build_config({"data": str(span_folders / "span-{SPAN}"), "num_spans": 10000})
    with pytest.raises(OptionsError) as error:
        preflight.check(config)
    assert str(error.value) == (
        "span 3 with num_spans 10000 would start at span -9996; spans are numbered from 0"
    )


@pytest.mark.parametrize(
    ("pattern", "folder", "reason"),
    [
        ("{YYYY}-{MM}-{DD}", "2024-02-30", "Retrieved date is invalid for file: "),
        ("span-{SPAN}", f"span-{2**63}", None),
    ],
)
def test_a_span_folder_tfx_cannot_read_is_refused_before_any_step(tmp_path, pattern, folder, reason):
    write_dataset(tmp_path / "spans" / folder, GOOD_FILES)
    write_dataset(tmp_path / "spans" / ("2024-01-10" if "YYYY" in pattern else "span-1"), GOOD_FILES)
    with pytest.raises(OptionsError) as error:
        preflight.check(build_config({"data": str(tmp_path / "spans" / pattern)}))
    path = tmp_path / "spans" / folder
    if reason:
        assert str(error.value).startswith(
            f"data: {path} matches the spans' pattern, but TFX's ExampleGen driver cannot read its span ({reason}"
        )
    else:
        assert (
            str(error.value)
            == f"data: {path}: span {2**63} is beyond the largest span TFX records ({2**63 - 1})"
        )


def test_a_file_where_the_models_folder_would_be_is_refused(span_folders, tmp_path):
    output = tmp_path / "out"
    (output / "serving").mkdir(parents=True)
    (output / "serving" / "imdb_sentiment").write_text("not a folder")
    with pytest.raises(OptionsError) as error:
        preflight.check(build_config({"data": str(span_folders / "span-{SPAN}"), "output": str(output)}))
    assert str(error.value) == (
        f"model_name: {output / 'serving' / 'imdb_sentiment'} is a file, not the model's folder of versions"
    )
