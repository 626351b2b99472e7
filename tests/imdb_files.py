"""Builders of small IMDb datasets (folders and archives, hostile ones too) and an ExampleGen runner.

Shared by the bad-input tests (tests/test_bad_data.py, tests/test_bad_archives.py).
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
import hashlib
import io
import json
from pathlib import Path
import re
import tarfile

import apache_beam as beam
import tensorflow as tf
from tfx.proto import example_gen_pb2
from tfx.types import standard_artifacts, standard_component_specs
from tfx.utils import proto_utils

from components.artifacts import quarantine
from components.example_gen import component, executor
from components.example_gen.options import ExampleGenOptions
from schemas import features
from tests.conftest import BEAM_RUNNER

EVAL_PERCENT = 10


def url(movie_id: str) -> str:
    return f"http://www.imdb.com/title/{movie_id}/usercomments"


def urls_file(*movie_ids: str) -> bytes:
    return "".join(url(movie_id) + "\n" for movie_id in movie_ids).encode()


def movie_bucket(movie_id: str) -> int:
    """The documented split rule, written out independently of the reader."""
    return int(hashlib.sha256(b"movie:" + movie_id.encode()).hexdigest(), 16) % 100


# A dataset every split of which is usable: tt0000001 and tt0000003 fall in train
# at 10 % (buckets 70 and 95), tt0000004 in eval (bucket 0).
GOOD_REVIEWS = {
    "train/pos/0_9.txt": b"A wonderful film.",
    "train/pos/1_7.txt": b"Lovely scenes.",
    "train/neg/0_1.txt": b"Awful.<br /><br />Just awful.",
    "train/neg/1_3.txt": b"Boring, too long.",
    "train/neg/2_4.txt": b"Not for me.",
    "train/unsup/0_0.txt": b"Saw it twice.",
    "test/pos/0_10.txt": b"A masterpiece.",
    "test/neg/0_2.txt": b"Dull.",
}
GOOD_URLS = {
    "train/urls_pos.txt": urls_file("tt0000001", "tt0000004"),
    "train/urls_neg.txt": urls_file("tt0000001", "tt0000004", "tt0000003"),
    "train/urls_unsup.txt": urls_file("tt0000001"),
    "test/urls_pos.txt": urls_file("tt0000004"),
    "test/urls_neg.txt": urls_file("tt0000003"),
}
GOOD_FILES = {**GOOD_REVIEWS, **GOOD_URLS}
GOOD_SPLITS = {
    features.TRAIN: ["train/neg/0_1.txt", "train/neg/2_4.txt", "train/pos/0_9.txt"],
    features.EVAL: ["train/neg/1_3.txt", "train/pos/1_7.txt"],
    features.TEST: ["test/neg/0_2.txt", "test/pos/0_10.txt"],
    features.UNSUP: ["train/unsup/0_0.txt"],
}


def write_dataset(root: Path, files: dict[str, bytes]) -> Path:
    """Writes ``files`` (relative path -> bytes) below ``root``; returns root."""
    for relative, data in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def file_member(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def link_member(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info, None


def special_member(name: str, kind: bytes) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = kind
    return info, None


def write_archive(
    path: Path,
    files: dict[str, bytes],
    top: str = "aclImdb",
    members: Iterable[tuple[tarfile.TarInfo, bytes | None]] = (),
) -> Path:
    """Writes a tar archive (gzip-compressed if the name says so) like the published one.

    ``files`` go below ``top/`` with folder members first; ``members`` are added
    as they are (links, devices, hostile names).
    """
    mode = "w:gz" if path.name.endswith((".tar.gz", ".tgz")) else "w"
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, mode) as archive:
        for folder in sorted({str(Path(top, name).parent) for name in files}):
            info = tarfile.TarInfo(folder)
            info.type = tarfile.DIRTYPE
            archive.addfile(info)
        for name, data in files.items():
            info, _ = file_member(f"{top}/{name}", data)
            archive.addfile(info, io.BytesIO(data))
        for info, data in members:
            archive.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def examples_dir(tmp_path: Path) -> Path:
    return tmp_path / "run" / "examples"


def run_example_gen(
    tmp_path: Path,
    data_path: Path,
    options: ExampleGenOptions | None = None,
    eval_percent: int = EVAL_PERCENT,
) -> standard_artifacts.Examples:
    """Runs the real executor as TFX does (JSON exec properties); returns its Examples artifact.

    The artifact's folder is ``tmp_path/run/examples`` (see :func:`examples_dir`),
    so a test can look at what a failed run wrote.
    """
    examples = standard_artifacts.Examples()
    examples.uri = str(examples_dir(tmp_path))
    input_base, pattern = component.dataset_input(str(data_path))
    exec_properties = {
        standard_component_specs.INPUT_BASE_KEY: input_base,
        standard_component_specs.INPUT_CONFIG_KEY: proto_utils.proto_to_json(
            example_gen_pb2.Input(splits=[example_gen_pb2.Input.Split(name="all", pattern=pattern)])
        ),
        standard_component_specs.OUTPUT_CONFIG_KEY: proto_utils.proto_to_json(
            component.make_output_config(eval_percent)
        ),
        standard_component_specs.CUSTOM_CONFIG_KEY: proto_utils.proto_to_json(
            executor.make_custom_config(options or ExampleGenOptions())
        ),
        standard_component_specs.OUTPUT_FILE_FORMAT_KEY: example_gen_pb2.FORMAT_TFRECORDS_GZIP,
        standard_component_specs.OUTPUT_DATA_FORMAT_KEY: example_gen_pb2.FORMAT_TF_EXAMPLE,
    }
    context = executor.Executor.Context(make_beam_pipeline_fn=lambda: beam.Pipeline(runner=BEAM_RUNNER))
    executor.Executor(context).Do({}, {standard_component_specs.EXAMPLES_KEY: [examples]}, exec_properties)
    return examples


def split_sources(examples: standard_artifacts.Examples, split: str) -> list[str]:
    """The sorted ``source`` features of one written split."""
    files = sorted(tf.io.gfile.glob(f"{examples.uri}/Split-{split}/*"))
    records = tf.data.TFRecordDataset(files, compression_type="")
    sources = []
    for record in records:
        example = tf.train.Example.FromString(record.numpy())
        sources.append(example.features.feature[features.SOURCE].bytes_list.value[0].decode())
    return sorted(sources)


def record_of_line(line: str) -> quarantine.QuarantinedRecord:
    """The record a quarantine line holds, read back key by key (``raw_base64`` strictly)."""
    values = json.loads(line)
    return quarantine.QuarantinedRecord(
        quarantine.Origin(values["source"], values["member"], values.get("line"), values.get("record")),
        values["reason"],
        values["detail"],
        base64.b64decode(values["raw_base64"], validate=True),
        values["size"],
    )


def quarantine_lines(examples_uri: str | Path) -> list[dict]:
    """Every quarantine line below an Examples artifact's folder as parsed JSON, sorted by source and member."""
    lines = []
    for path in sorted(Path(examples_uri, quarantine.QUARANTINE_DIR).glob("quarantine-*.jsonl")):
        lines.extend(json.loads(line) for line in path.read_text(encoding="ascii").splitlines())
    return sorted(lines, key=lambda line: (line["source"], line["member"] or "", line["reason"]))


def reason_properties(examples: standard_artifacts.Examples) -> dict[str, int]:
    """The non-zero ``quarantined_<reason>`` custom properties, plus ``quarantined`` and ``reviews_read``."""
    properties = {}
    for name in examples.mlmd_artifact.custom_properties:
        if name.startswith(quarantine.REASON_PROPERTY_PREFIX) or name in (
            quarantine.SET_ASIDE_PROPERTY,
            quarantine.READ_PROPERTY,
        ):
            value = examples.get_int_custom_property(name)
            if value or not name.startswith(quarantine.REASON_PROPERTY_PREFIX):
                properties[name] = value
    return properties


def bytes_of_shown(shown: str) -> bytes:
    """The bytes a name shown by ``quarantine.shown_name`` stands for (``ls -b``'s escapes read back)."""
    named = {b"\\": b"\\", b"n": b"\n", b"t": b"\t", b"r": b"\r"}
    return re.sub(
        rb"\\(x[0-9a-f]{2}|u[0-9a-f]{4}|.)",
        lambda match: (
            named.get(match[1])
            or (
                bytes.fromhex(match[1][1:].decode())
                if match[1][:1] == b"x"
                else chr(int(match[1][1:], 16)).encode()
            )
        ),
        shown.encode(),
    )
