"""Bulk scoring with Beam's RunInference on any Beam runner: ``imdb-pipeline score`` (see the README).

Reviews come from an IMDb dataset (ExampleGen's reader), text or JSON Lines
(``predict``'s reading rules) or TFRecords of tf.train.Example; a record that
is not a usable review is set aside in ExampleGen's quarantine format. The
output folder::

    <output>/predictions-SSSSS-of-NNNNN.jsonl   (or .tfrecord.gz: tf.train.Examples)
    <output>/quarantine/quarantine-SSSSS-of-NNNNN.jsonl
    <output>/summary.json
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
import dataclasses
import functools
import gzip
import json
import os
import posixpath
import re
import typing
import zlib

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.io.filesystem import CompressionTypes, FileMetadata
from apache_beam.io.filesystems import FileSystems
from apache_beam.ml.inference.base import KeyedModelHandler, ModelHandler, PredictionResult, RunInference
from apache_beam.options.pipeline_options import PipelineOptions

from components.artifacts import quarantine
from components.artifacts.evaluation import DECISION_THRESHOLD
from components.artifacts.quarantine import Origin, QuarantinedRecord
from components.example_gen import errors, quarantining, reader
from components.example_gen.errors import BadRecordError, ImdbDataError
from components.example_gen.options import ExampleGenOptions, is_remote
from components.file_patterns import all_files_pattern, escape_pattern, tfrecord_compression_of
from components.plural import counted, listed, noun_form
from pipeline import interrupts, predict, preflight
from schemas import features

# Input kinds.
IMDB = "imdb"
LINES = predict.LINES
JSON_LINES = predict.JSON_LINES
TFRECORD = "tfrecord"
INPUT_FORMATS = ("auto", IMDB, LINES, JSON_LINES, TFRECORD)
# Output formats.
OUTPUT_FORMATS = (JSON_LINES, TFRECORD)

ZIP_SUFFIX = ".zip"  # refused, in any case, as other compressions than gzip are
PREDICTIONS_PREFIX = "predictions"
SUFFIXES = {JSON_LINES: ".jsonl", TFRECORD: ".tfrecord.gz"}
SUMMARY_FILE = "summary.json"

ID_FIELD = "id"
PROBABILITY_FIELD = predict.PROBABILITY_FIELD
LABEL_FIELD = "label"

# What sets a review's largest size here, as a too_large record's detail names it.
MAX_REVIEW_BYTES_FLAG = "--max-review-bytes"

# Reasons of the records only scoring meets (the rest are ExampleGen's and predict's).
NOT_TF_EXAMPLE = "not_tf_example"
NO_TEXT_FEATURE = "no_text_feature"
BAD_SOURCE_FEATURE = "bad_source_feature"  # a 'source' feature (the review's id) that is not one string
NOT_A_PROBABILITY = "not_a_probability"  # the model's output for the review (NaN, infinite, outside [0, 1])

# Keys of the dictionaries ReadReviews and ScoreReviews return.
REVIEWS = reader.REVIEWS
QUARANTINE = quarantining.QUARANTINE
KINDS = "kinds"
PREDICTIONS = "predictions"

# The count of scored reviews in the summary's facts (the other facts are reasons).
_SCORED = "scored"

Key = dict[str, typing.Any]


class ScoreInputError(ValueError):
    """The input cannot be scored at all (missing, of no known kind, a corrupt TFRecord file)."""


class OutputExistsError(ValueError):
    """The output folder already holds files: scoring never overwrites."""


@dataclasses.dataclass(frozen=True)
class ScoreInput:
    """What to read: its kind (``auto``: a text file's first line decides), the file pattern Beam matches,
    and for a local input (absolute path, path as given), so that outputs name its files as the user did."""

    kind: str
    pattern: str
    given: tuple[str, str] | None = None
    not_read: tuple[str, ...] = ()  # an input folder's subfolders and files matched but not input
    folder_format: str | None = None  # for an input folder, the --input-format its names are read by
    not_read_folders: tuple[str, ...] = ()  # which of ``not_read`` are subfolders

    def reads(self, metadata: FileMetadata) -> bool:
        """Whether a file Beam matched is input: any file of a folder by its name's rule, even one written
        after ``resolve_input`` listed the folder (a ``_SUCCESS`` is never read)."""
        name = posixpath.basename(metadata.path)
        return self.folder_format is None or _is_tfrecord_file(name, by_name=self.folder_format == "auto")

    def shown(self, path: str) -> str:
        """``path``, a file Beam matched, as the user named it (relative when the input was)."""
        if self.given is None:
            return path
        absolute, given = self.given
        return given + path[len(absolute) :] if path.startswith(absolute) else path


def _gfile():
    return predict.import_tensorflow().io.gfile


def _is_tfrecord_name(name: str) -> bool:
    return "tfrecord" in posixpath.basename(name.rstrip("/")).lower()


def _is_tfrecord_file(name: str, by_name: bool) -> bool:
    """Whether the file ``name`` of an input folder is read as TFRecords: never a name starting with ``_``
    or ``.`` (Hadoop's rule for what writers leave beside their shards: ``_SUCCESS``, ``.part-0.crc``);
    with ``by_name`` (``auto``) only a name holding 'tfrecord', as a ``*tfrecord*`` glob would."""
    return not name.startswith(("_", ".")) and (not by_name or _is_tfrecord_name(name))


def resolve_input(path: str, input_format: str = "auto") -> ScoreInput:
    """What ``path`` holds and how to read it (``auto``: an archive or dataset folder is IMDb, names with
    ``tfrecord`` TFRecords, a folder's other files not read, any other file text); ScoreInputError if it
    is missing or a folder of neither."""
    from components.example_gen.component import dataset_input, dataset_root

    if input_format not in INPUT_FORMATS:
        raise ScoreInputError(f"input format must be one of {', '.join(INPUT_FORMATS)}, got {input_format!r}")
    gfile = _gfile()
    path = path.rstrip("/") or path
    if not gfile.exists(path):
        raise ScoreInputError(f"--input {path} does not exist")
    if special := reader.special_file_kind(path, follow_links=True):
        raise ScoreInputError(
            f"--input {path} is {special}, not a file or folder: score reads neither standard input nor a "
            "pipe or device (imdb-pipeline predict reads reviews from standard input)"
        )
    is_dir = gfile.isdir(path)
    files, folders, not_files = _file_names(path) if is_dir else ([], [], [])
    tfrecords = [name for name in files if _is_tfrecord_file(name, by_name=input_format == "auto")]
    kind = input_format
    if kind == "auto":
        if reader.is_archive(path) or (is_dir and dataset_root(path) is not None):
            kind = IMDB
        elif any(map(_is_tfrecord_name, files)) if is_dir else _is_tfrecord_name(path):
            kind = TFRECORD
        elif is_dir:
            raise ScoreInputError(
                f"--input {path} is a folder, but neither an IMDb dataset (train/ or test/ in it or in "
                "aclImdb/) nor a folder of TFRecord files (names with 'tfrecord'); name a file, or "
                "give --input-format"
            )
    if kind == IMDB:
        try:
            base, pattern = dataset_input(path)
        except (FileNotFoundError, ValueError) as error:
            raise ScoreInputError(f"--input {error}") from None
        return ScoreInput(IMDB, posixpath.join(base, pattern))
    # Beam matches a relative pattern holding glob characters (escaped: `[[]`) against nothing. realpath, not
    # abspath: ``link/../x`` is ``x`` beside the link's target, where every open of it goes, not ``./x``.
    read = path if is_remote(path) else os.path.realpath(path)
    given = None if is_remote(path) else (read, path)
    # Each file is read by its own name's compression, plain or gzip, checked to its end; Beam would read
    # others (.bz2, .zst, .deflate) too, but a truncated one then ends quietly: part of it scored. A zip
    # archive, which Beam does not know, would be read as it is: its headers and members' bytes as lines.
    for name in [posixpath.join(path, name) for name in tfrecords] if is_dir else [path]:
        if name.lower().endswith(ZIP_SUFFIX):
            raise ScoreInputError(
                f"--input {name}: a zip archive cannot be scored; unzip it and give its file, or "
                "compress that with gzip (.gz)"
            )
        compression = CompressionTypes.detect_compression_type(name)
        if compression not in (CompressionTypes.UNCOMPRESSED, CompressionTypes.GZIP):
            raise ScoreInputError(
                f"--input {name}: {compression} compressed input cannot be scored; use gzip (.gz) or none"
            )
    if is_dir:
        if kind != TFRECORD:
            raise ScoreInputError(f"--input {path} is a folder: {kind} input is one file")
        if not_files:
            raise ScoreInputError(
                f"--input {path} holds what is no file, which score never opens: {', '.join(not_files)}; "
                "move it out of the folder"
            )
        if not files:
            raise ScoreInputError(f"--input {path} is a folder without files: no TFRecords to score")
        if undecodable := [name for name in files if re.search("[\udc80-\udcff]", name)]:
            raise ScoreInputError(
                f"--input {path} holds {posixpath.join(path, quarantine.shown_name(undecodable[0]))}, whose name "
                "is not UTF-8 (Apache Beam's file systems take only UTF-8 names): rename it"
            )
        # Named, not dropped unsaid: a subfolder (sub.tfrecord/ too) is never read, as Beam's * never goes down.
        not_read = tuple(sorted([name for name in files if name not in tfrecords] + folders))
        if not tfrecords:
            hidden = [name for name in not_read if name.startswith(("_", "."))]
            raise ScoreInputError(
                f"--input {path} holds no TFRecord files: {listed(list(map(quarantine.shown_name, hidden)))} "
                f"{noun_form(len(hidden), 'starts', 'start')} with _ or ., which are never read"
            )
        return ScoreInput(TFRECORD, all_files_pattern(read), given, not_read, input_format, tuple(folders))
    return ScoreInput(kind, escape_pattern(read), given)


def _file_names(folder: str) -> tuple[list[str], list[str], list[str]]:
    """The names of ``folder``'s entries that are not folders, of its folders (score reads no subfolder), and
    each FIFO, device, socket or link to nowhere of the first as ``path (kind)``, never to be opened (a FIFO
    waits for a writer forever); a local name that is not UTF-8 holds its bytes as surrogates (TensorFlow's
    listing fails on it)."""
    if is_remote(folder):
        _, folders, files = next(_gfile().walk(folder))
        # A remote folder's name may end in /: stripped, so that gs:// names it as a local folder is named.
        return sorted(files), sorted(name.rstrip("/") for name in folders), []
    with os.scandir(folder) as entries:
        found = sorted(entries, key=lambda entry: entry.name)
    others = [entry for entry in found if not entry.is_dir()]
    special = [
        f"{posixpath.join(folder, quarantine.shown_name(entry.name))} "
        f"({reader.special_file_kind(entry.path, follow_links=True) or 'a symbolic link to nowhere'})"
        for entry in others
        if not entry.is_file()
    ]
    return [entry.name for entry in others], [entry.name for entry in found if entry.is_dir()], special


# Beam's file writers match their temporary files below the output folder with a
# glob pattern: with one of these in the folder's path they fail, or match another
# folder's files.
OUTPUT_GLOB_CHARACTERS = "[*?"


def check_output(output: str, input_path: str | None = None) -> None:
    """Raises OutputExistsError for what exists and is no empty folder or what the OS will not make or write,
    ScoreInputError for a glob path, a local one going up (``..``) from no folder or inside the input."""
    if not is_remote(output):
        if problem := preflight.unreachable(output):
            raise OutputExistsError(f"--output {output} cannot be made: {problem}")
        parts = output.split(os.sep)
        for end, part in enumerate(parts):
            if part == ".." and end and not os.path.isdir(os.sep.join(parts[:end]) or os.sep):
                raise ScoreInputError(
                    f"--output {output} goes up (..) from {os.sep.join(parts[:end])}, which is not a folder; "
                    "name the output folder without it"
                )
        if input_path is not None and not is_remote(input_path) and os.path.isdir(input_path):
            inside, folder = os.path.realpath(output), os.path.realpath(input_path)
            if os.path.commonpath([inside, folder]) == folder:
                raise ScoreInputError(
                    f"--output {output} is inside the input folder {input_path}: the job would read what "
                    "it writes; choose a folder outside it"
                )
    if found := [char for char in OUTPUT_GLOB_CHARACTERS if char in output]:
        raise ScoreInputError(
            f"--output {output} holds {' '.join(repr(char) for char in found)}: Apache Beam's file writers "
            "take the paths below the output folder as glob patterns, so the job would fail or mix up "
            "files; choose an output folder without '[', '*' or '?' (spaces, ']' and any other characters work)"
        )
    gfile = _gfile()
    if gfile.exists(output):
        if not gfile.isdir(output):
            # /dev/stdout and /proc/self/fd/1 are what they point to: a terminal's character device, a FIFO.
            kind = reader.special_file_kind(output, follow_links=True)
            to_predict = " (imdb-pipeline predict prints predictions to standard output)" if kind else ""
            raise OutputExistsError(
                f"--output {output} is {kind or 'a regular file'}; scoring writes a folder{to_predict}"
            )
        if gfile.listdir(output):
            raise OutputExistsError(
                f"--output {output} already holds files; scoring never overwrites: name a new or empty folder"
            )
        nearest, problem = output, "cannot be written"
    else:
        nearest, problem = posixpath.dirname(_first_missing_folder(output)) or ".", "cannot be made"
        if gfile.exists(nearest) and not gfile.isdir(nearest):
            raise OutputExistsError(f"--output {output} {problem}: {nearest} is a file")
    if not is_remote(output) and (error := preflight.cannot_write_in(nearest)):
        raise OutputExistsError(
            f"--output {output} {problem}: {nearest} is not a writable folder ({error.strerror})"
        )


# --- Reading ---------------------------------------------------------------------------------------


def _key(origin: Origin, review_id: str | None = None) -> Key:
    key = {name: value for name, value in origin.fields().items() if value is not None}
    if review_id is not None:
        key[ID_FIELD] = review_id
    return key


class _ReadRecordsFn(beam.DoFn):
    """One text or TFRecord file, read by one worker -> (key, text) per review; records set aside to ``QUARANTINE``,
    the kind it was read as to ``KINDS``."""

    def __init__(self, source: ScoreInput, max_review_bytes: int):
        super().__init__()
        self._source = source
        self._max_bytes = max_review_bytes

    def _review(self, origin: Origin, raw: bytes, parse: typing.Callable) -> typing.Any:
        """(key, text) of ``raw`` by ``parse`` (-> review bytes, id) and ExampleGen's checks, or the record
        set aside to ``QUARANTINE``."""
        try:
            data, review_id = parse(raw, str(origin))
            text = reader.check_review_bytes(
                data, len(data), self._max_bytes, str(origin), "review", MAX_REVIEW_BYTES_FLAG
            )
        except BadRecordError as error:
            record = QuarantinedRecord.from_error(origin, error, raw[: self._max_bytes], len(raw))
            return beam.pvalue.TaggedOutput(QUARANTINE, record)
        return _key(origin, review_id), text

    def process(self, metadata: FileMetadata) -> Iterator:
        shown = self._source.shown(metadata.path)
        if self._source.kind == TFRECORD:
            for number, raw in enumerate(
                read_tfrecords(metadata.path, shown, metadata.size_in_bytes), start=1
            ):
                yield self._review(Origin(shown, record=number), raw, _example_text)
            yield beam.pvalue.TaggedOutput(KINDS, TFRECORD)
        else:
            yield from self._read_text(metadata.path, shown, metadata.size_in_bytes)

    def _read_text(self, path: str, shown: str, size: int) -> Iterator:
        gzipped = bool(tfrecord_compression_of(path))  # any other compression is refused by resolve_input
        number = 0
        try:
            _check_gzip_size(gzipped, size)
            with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as raw:
                # Beam's gzip reading stops quietly at a truncated end; Python's checks the end marker and CRC.
                file = gzip.GzipFile(fileobj=raw, mode="rb") if gzipped else raw
                lines = predict.LineReader(iter(file.readline, b""), shown, self._source.kind)
                for number, line, result in lines:
                    yield self._review(
                        Origin(shown, line=number),
                        line,
                        functools.partial(self._line, result, lines.input_format),
                    )
            # auto: JSON Lines when the first line is a JSON object; a file without one is lines.
            yield beam.pvalue.TaggedOutput(
                KINDS, LINES if lines.input_format == "auto" else lines.input_format
            )
        except (EOFError, gzip.BadGzipFile, zlib.error) as error:
            raise ScoreInputError(
                f"{shown}: truncated or damaged gzip file after line {number}: {error}"
            ) from None
        except predict.InputError as error:  # the whole file refused (a JSON document, not JSON Lines)
            raise ScoreInputError(str(error)) from None

    def _line(
        self, result: predict.Review | predict.InputError, input_format: str, line: bytes, where: str
    ) -> tuple[bytes, None]:
        """The review of a line: ExampleGen's rules and messages for the line's bytes, then predict's. A JSON
        Lines review is measured by its text alone (by ``_review``), not by its line's escapes and fields."""
        if isinstance(result, predict.InputError) or input_format != JSON_LINES:
            reader.check_review_bytes(line, len(line), self._max_bytes, where, "line", MAX_REVIEW_BYTES_FLAG)
        if isinstance(result, predict.InputError):
            detail = str(result).removeprefix(where).lstrip(":").strip().removeprefix("is ")
            raise BadRecordError(result.reason or quarantine.INVALID_UTF8, where, detail)
        return result.text.encode("utf-8"), None


def read_tfrecords(path: str, shown: str, size: int) -> Iterator[bytes]:
    """The records of the TFRecord file ``path`` of ``size`` bytes (gzip by its name), and ScoreInputError
    naming it (``shown``) if it is truncated or corrupt, whatever its length."""
    tf = predict.import_tensorflow()
    compression = tfrecord_compression_of(path)
    number = read = 0
    try:
        _check_gzip_size(bool(compression), size)
        for raw in tf.data.TFRecordDataset(path, compression_type=compression).as_numpy_iterator():
            number, read = number + 1, read + len(raw) + _RECORD_FRAMING_BYTES
            yield raw
        left = (_gunzipped_size(path) if compression else size) - read
    except tf.errors.OpError as error:  # DataLossError among them
        problem = _tf_error_text(error.message)
    except (EOFError, gzip.BadGzipFile, zlib.error) as error:  # what TensorFlow's gzip reader let through
        problem = f"gzip: {error}"
    else:
        if not left:
            return
        # TensorFlow's reader takes a header cut short for the end of the file (a file of 4 junk
        # bytes read as no records): the records read must account for every byte.
        problem = (
            f"truncated record at {read}: {counted(left, 'byte')} left, "
            f"less than a record header ({_RECORD_HEADER_BYTES} bytes)"
        )
    raise ScoreInputError(
        f"{shown}: truncated or corrupt TFRecord file after record {number} "
        f"(compression {'GZIP' if compression else 'none'}): {problem}"
    )


# A TFRecord is its data's length (8 bytes) and the length's CRC (4): the header, then the data and its CRC (4).
_RECORD_HEADER_BYTES = 12
_RECORD_FRAMING_BYTES = 16


def _check_gzip_size(gzipped: bool, size: int) -> None:
    """EOFError for a gzip file of 0 bytes: Python's and TensorFlow's readers take it for an empty stream, but
    it holds none (``gzip -t``: unexpected end of file), as a download cut off before its first byte."""
    if gzipped and not size:
        raise EOFError("0 bytes, not a gzip stream")


def _gunzipped_size(path: str) -> int:
    with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as raw:
        return gzip.GzipFile(fileobj=raw, mode="rb").seek(0, os.SEEK_END)


# TensorFlow wraps an op's error as "{{function_node ...}} <message> [Op:IteratorGetNext]".
_TF_WRAPPING = re.compile(r"^\{\{function_node [^}]*\}\}\s*|\s*\[Op:[^\]]*\](?: name:.*)?$")


def _tf_error_text(message: str) -> str:
    """The first line of a TensorFlow error message without its function-node prefix and op suffix."""
    line = message.splitlines()[0] if message else ""
    # TensorFlow's "truncated record at 0' failed with Read less bytes than requested" has a stray quote.
    return _TF_WRAPPING.sub("", line).strip().replace("' failed with ", ": ")


def _example_text(raw: bytes, where: str) -> tuple[bytes, str | None]:
    """The ``text`` bytes of a serialized tf.train.Example and its ``source`` feature (the review's id), if any."""
    tf = predict.import_tensorflow()
    from google.protobuf.message import DecodeError

    try:
        feature_map = tf.train.Example.FromString(raw).features.feature
    except DecodeError as error:
        raise BadRecordError(NOT_TF_EXAMPLE, where, f"not a serialized tf.train.Example ({error})") from None
    text = _one_string(feature_map, features.TEXT, "", NO_TEXT_FEATURE, where)
    if features.SOURCE not in feature_map:
        return text, None
    # An id to join on must name one review: not two, a number, or U+FFFD.
    what = " (the review's id)"
    review_id = _one_string(feature_map, features.SOURCE, what, BAD_SOURCE_FEATURE, where)
    try:
        return text, review_id.decode("utf-8")
    except UnicodeDecodeError as error:
        problem = f"not valid UTF-8 ({error.reason} at byte {error.start})"
        raise BadRecordError(
            quarantine.INVALID_UTF8, where, f"feature '{features.SOURCE}'{what} is {problem}"
        ) from None


def _one_string(feature_map, name: str, what: str, reason: str, where: str) -> bytes:
    """The one value of the bytes_list feature ``name``; BadRecordError (``reason``) for any other shape."""
    feature = feature_map.get(name)
    kind = feature.WhichOneof("kind") if feature is not None else None
    values = getattr(feature, kind).value if kind else ()
    if kind == "bytes_list" and len(values) == 1:
        return values[0]
    found = (
        "absent" if feature is None else f"{kind} of {counted(len(values), 'value')}" if kind else "no values"
    )
    raise BadRecordError(
        reason, where, f"feature '{name}'{what} must hold one string (bytes_list), found {found}"
    )


@beam.ptransform_fn
def ReadReviews(
    pbegin: beam.pvalue.PBegin,
    source: ScoreInput,
    max_review_bytes: int = ExampleGenOptions().max_review_bytes,
) -> dict[str, beam.PCollection]:
    """PBegin -> {REVIEWS: PCollection[(key, text)], QUARANTINE: PCollection[QuarantinedRecord],
    KINDS: PCollection[str]} (the kind each file was read as: ``auto`` resolved).

    ``key`` says where the review came from (``source``, ``member``, ``line`` or ``record``, and its ``id``).
    Every review gets ExampleGen's checks (``reader.check_review_bytes``), the IMDb layout its reader.
    """
    if source.kind == IMDB:
        read = pbegin | "ReadImdbReviews" >> reader.ReadImdbReviews(
            source.pattern, max_review_bytes, MAX_REVIEW_BYTES_FLAG
        )
        reviews = read[reader.REVIEWS] | "KeyAndText" >> beam.Map(
            lambda review: (_key(review.origin or Origin(review.source), review.source), review.text)
        )
        kinds = pbegin | "ImdbKind" >> beam.Create([IMDB])
        return {REVIEWS: reviews, QUARANTINE: read[reader.QUARANTINE], KINDS: kinds}
    read = (
        pbegin
        | "MatchFiles" >> fileio.MatchFiles(source.pattern, fileio.EmptyMatchTreatment.DISALLOW)
        | "InputFiles" >> beam.Filter(source.reads)
        | "ReshuffleFiles" >> beam.Reshuffle()
        | "ReadRecords"
        >> beam.ParDo(_ReadRecordsFn(source, max_review_bytes)).with_outputs(QUARANTINE, KINDS, main=REVIEWS)
    )
    # A file is read by one worker: spread its reviews over all of them for scoring.
    reviews = read[REVIEWS] | "ReshuffleReviews" >> beam.Reshuffle()
    return {REVIEWS: reviews, QUARANTINE: read[QUARANTINE], KINDS: read[KINDS]}


# --- Scoring ---------------------------------------------------------------------------------------


class TextSignatureModelHandler(ModelHandler[str, PredictionResult, "predict.Classifier"]):
    """RunInference's handler for a pushed model (``predict.Classifier``): texts in, probabilities out.

    Beam's own TensorFlow handlers cannot load this SavedModel (see the README). Pass a version
    directory to pin it for a whole job (a model directory is resolved by each worker).
    """

    def __init__(self, model_dir: str, max_batch_size: int = predict.DEFAULT_BATCH_SIZE):
        # Fixed batches, as predict's: every review costs the same (padded to one length), so a
        # full batch is always best; BatchElements' adaptive sizes start at 1 and stay small on
        # short bundles (measured: 124 reviews/s adaptive against predict's 366 at 256).
        super().__init__(min_batch_size=max_batch_size, max_batch_size=max_batch_size)
        self._model_dir = model_dir

    def load_model(self) -> predict.Classifier:
        return predict.Classifier(self._model_dir)

    def run_inference(
        self,
        batch: Sequence[str],
        model: predict.Classifier,
        inference_args: dict[str, typing.Any] | None = None,
    ) -> Iterator[PredictionResult]:
        probabilities = model(list(batch))
        for text, probability in zip(batch, probabilities, strict=True):
            yield PredictionResult(text, probability, model.version_dir)

    def get_num_bytes(self, batch: Sequence[str]) -> int:
        return sum(len(text.encode("utf-8")) for text in batch)

    def get_metrics_namespace(self) -> str:
        return "imdb_score"


def _prediction_or_set_aside(key: Key, result: PredictionResult) -> Iterator:
    """A prediction, or (to ``QUARANTINE``, and the job goes on) the review the model gave no probability."""
    probability = float(result.inference)
    problem = predict.not_a_probability(result.model_id, probability)
    if problem is None:
        yield {**key, PROBABILITY_FIELD: probability, LABEL_FIELD: int(probability >= DECISION_THRESHOLD)}
        return
    origin = Origin(key.get("source", ""), key.get("member"), key.get("line"), key.get("record"))
    raw = result.example.encode("utf-8")
    yield beam.pvalue.TaggedOutput(
        QUARANTINE, QuarantinedRecord(origin, NOT_A_PROBABILITY, problem, raw, len(raw))
    )


@beam.ptransform_fn
def ScoreReviews(
    reviews: beam.PCollection, model_dir: str, max_batch_size: int = predict.DEFAULT_BATCH_SIZE
) -> dict[str, beam.PCollection]:
    """PCollection[(key, text)] -> {PREDICTIONS: PCollection[dict], QUARANTINE: PCollection[QuarantinedRecord]}.

    A prediction holds the key's fields, ``probability`` and ``label`` (1 at or above the evaluator's threshold).
    """
    scored = (
        reviews
        | "RunInference"
        >> RunInference(KeyedModelHandler(TextSignatureModelHandler(model_dir, max_batch_size)))
        | "ToPrediction"
        >> beam.FlatMapTuple(_prediction_or_set_aside).with_outputs(QUARANTINE, main=PREDICTIONS)
    )
    return {PREDICTIONS: scored[PREDICTIONS], QUARANTINE: scored[QUARANTINE]}


# --- Writing and reading back ----------------------------------------------------------------------


def prediction_to_example(prediction: dict[str, typing.Any]) -> bytes:
    """A prediction as a serialized tf.train.Example (strings as bytes, whole numbers as int64, probability float)."""
    tf = predict.import_tensorflow()
    feature = {}
    for name, value in prediction.items():
        if isinstance(value, str):
            feature[name] = tf.train.Feature(bytes_list=tf.train.BytesList(value=[value.encode("utf-8")]))
        elif isinstance(value, float):
            feature[name] = tf.train.Feature(float_list=tf.train.FloatList(value=[value]))
        else:
            feature[name] = tf.train.Feature(int64_list=tf.train.Int64List(value=[value]))
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


@beam.ptransform_fn
def WritePredictions(
    predictions: beam.PCollection, output: str, output_format: str = JSON_LINES
) -> beam.pvalue.PDone:
    """PCollection[dict] -> ``<output>/predictions-*.jsonl`` or ``.tfrecord.gz``."""
    if output_format == JSON_LINES:
        encoded = predictions | "ToJson" >> beam.Map(json.dumps, ensure_ascii=False, sort_keys=True)
        write = beam.io.WriteToText
    else:
        encoded = predictions | "ToExample" >> beam.Map(prediction_to_example)
        write = beam.io.WriteToTFRecord
    return encoded | "Write" >> write(
        posixpath.join(output, PREDICTIONS_PREFIX), file_name_suffix=SUFFIXES[output_format]
    )


@dataclasses.dataclass(frozen=True)
class ScoreSummary:
    """What a scoring job did (``<output>/summary.json``): model version, input as given, the kind it was
    read as (``auto`` resolved: ``lines`` or ``jsonl`` for a text file), counts."""

    model: str
    input: str
    kind: str
    scored: int
    quarantined: dict[str, int]
    not_read: list[str] = dataclasses.field(default_factory=list)  # files and subfolders of the input folder
    not_read_folders: list[str] = dataclasses.field(default_factory=list)  # which of not_read are subfolders

    def describe(self) -> str:
        """``set aside 3 (empty 2, binary 1)``, most frequent first ("set aside 0" when none), then the
        files and subfolders of the input folder not read, if any, the first 5 named, a folder with a
        trailing ``/``: ``, not read 2 files and 1 folder (README.md, _SUCCESS, sub/)``."""
        total = sum(self.quarantined.values())
        ordered = sorted(self.quarantined.items(), key=lambda item: (-item[1], item[0]))
        reasons = f" ({', '.join(f'{reason} {count}' for reason, count in ordered)})" if total else ""
        if not self.not_read:
            return f"set aside {total}{reasons}"
        folders = set(self.not_read_folders)
        shown = listed([quarantine.shown_name(name) + "/" * (name in folders) for name in self.not_read])
        files = len(self.not_read) - len(folders)
        counts = [counted(files, "file")] * bool(files) + [counted(len(folders), "folder")] * bool(folders)
        return f"set aside {total}{reasons}, not read {' and '.join(counts)} ({shown})"


def _summary(facts: list[tuple[str, int]], job: ScoreJob, kinds: list[str]) -> str:
    counts = dict(facts)
    source = job.source
    summary = ScoreSummary(
        job.model_dir,
        job.input_path,
        ",".join(sorted(set(kinds))),  # one kind: a folder is read as TFRecord files only
        counts.pop(_SCORED, 0),
        counts,
        list(source.not_read),
        list(source.not_read_folders),
    )
    return json.dumps(dataclasses.asdict(summary), sort_keys=True, indent=1)


def read_summary(output: str) -> ScoreSummary:
    with FileSystems.open(posixpath.join(output, SUMMARY_FILE)) as file:
        return ScoreSummary(**json.loads(file.read()))


@dataclasses.dataclass(frozen=True)
class ScoreJob:
    """One scoring job's settings, checked by the command line (``model_dir``: one version for every worker)."""

    model_dir: str
    input_path: str
    source: ScoreInput
    output: str
    output_format: str = JSON_LINES
    batch_size: int = predict.DEFAULT_BATCH_SIZE
    max_review_bytes: int = ExampleGenOptions().max_review_bytes


def build_score_pipeline(pipeline: beam.Pipeline, job: ScoreJob) -> None:
    """Adds reading, scoring and writing predictions, quarantine and summary to ``pipeline``."""
    read = pipeline | "ReadReviews" >> ReadReviews(job.source, job.max_review_bytes)
    scored = read[REVIEWS] | "Score" >> ScoreReviews(job.model_dir, job.batch_size)
    predictions = scored[PREDICTIONS]
    set_aside = (read[QUARANTINE], scored[QUARANTINE]) | "AllSetAside" >> beam.Flatten()
    _ = predictions | "WritePredictions" >> WritePredictions(job.output, job.output_format)
    _ = set_aside | "WriteQuarantine" >> quarantining.WriteQuarantine(
        posixpath.join(job.output, quarantine.QUARANTINE_DIR)
    )
    _ = (
        (
            predictions
            | "CountScored" >> beam.combiners.Count.Globally()
            | "ScoredFact" >> beam.Map(lambda count: (_SCORED, count)),
            set_aside | "CountSetAside" >> quarantining.CountByReason(),
        )
        | "MergeCounts" >> beam.Flatten()
        | "AllCounts" >> beam.combiners.ToList()
        | "ToSummary" >> beam.Map(_summary, job, beam.pvalue.AsList(read[KINDS]))
        | "WriteSummary"
        >> beam.io.WriteToText(posixpath.join(job.output, SUMMARY_FILE), num_shards=1, shard_name_template="")
    )


_INPUT_ERRORS = (ScoreInputError, ImdbDataError)


def run_score(job: ScoreJob, beam_args: Sequence[str]) -> ScoreSummary:
    """Runs the job on the runner ``beam_args`` name (``run``'s defaults); removes what it wrote if it fails.

    Raises:
        ScoreInputError, ImdbDataError: the input cannot be read (the message names the file).
    """
    from pipeline.config import with_default_runner
    from pipeline.pipeline import beam_args_with_dependencies

    options = PipelineOptions(beam_args_with_dependencies(with_default_runner(beam_args)))
    existed = _names(job.output) if _gfile().isdir(job.output) else None
    made = _first_missing_folder(job.output)
    try:
        # The input error is reported once, by the command's line: not also by Beam's log.
        with (
            errors.beam_logs_without(_INPUT_ERRORS),
            interrupts.children_killed_after_signal(),  # Beam's worker processes
            beam.Pipeline(options=options) as pipeline,
        ):
            build_score_pipeline(pipeline, job)
        # A signal that a library swallowed on the way (a finalizer, pybind11) still stops the job.
        interrupts.raise_if_received()
    except BaseException as error:  # Ctrl-C and SIGTERM too: what the job wrote goes either way
        # Whole, whatever signal comes next: half of it would leave files that the next job refuses.
        with interrupts.shielded():
            _remove_partial_output(job.output, existed)
            _remove_empty_parents(job.output, made)
        # A signal came (whatever a library made of it), or Beam's runner re-raised a worker's
        # KeyboardInterrupt as a RuntimeError whose message starts with its name.
        if (
            interrupts.received() is not None
            or isinstance(error, KeyboardInterrupt)
            or str(error).startswith("KeyboardInterrupt")
        ):
            raise interrupts.Interrupt() from error
        # The runner may wrap the worker's exception.
        cause = errors.error_in(error, _INPUT_ERRORS)
        if cause is not None:
            raise cause from error
        raise
    return read_summary(job.output)


# What a job writes to its output folder and to its quarantine folder: the finished files,
# and the ``beam-temp-<name>-<id>`` folders Beam's file writers keep them in until the job ends.
_BEAM_TEMP = "beam-temp-.*"
_JOB_FILES = re.compile(
    rf"{_BEAM_TEMP}|{re.escape(SUMMARY_FILE)}|{PREDICTIONS_PREFIX}-\d+-of-\d+"
    rf"({'|'.join(re.escape(suffix) for suffix in SUFFIXES.values())})"
)
_QUARANTINE_FILES = re.compile(
    rf"{_BEAM_TEMP}|{quarantine.FILE_PREFIX}-\d+-of-\d+{re.escape(quarantine.FILE_SUFFIX)}"
)


def _remove_partial_output(output: str, existed: set[str] | None) -> None:
    """Removes what a failed job wrote to ``output`` (``existed``: its names before, None if the job made it):
    only the job's own names (predictions and quarantine shards, the summary, Beam's temporary folders) that
    were not there before, then a folder the job made if that leaves it empty. A file someone else put in the
    folder while the job ran stays."""
    if not _gfile().isdir(output):
        return
    added = _names(output) - (existed or set())
    if quarantine.QUARANTINE_DIR in added:
        folder = posixpath.join(output, quarantine.QUARANTINE_DIR)
        _remove_written(folder, _QUARANTINE_FILES, _names(folder), made=True)
    _remove_written(output, _JOB_FILES, added, made=existed is None)


def _first_missing_folder(output: str) -> str | None:
    """The topmost folder of ``output``'s path that does not exist yet (the job will make it), or None."""
    missing, path = None, output.rstrip("/")
    while path and path != missing and not _gfile().exists(path):
        missing, path = path, posixpath.dirname(path)
    return missing


def _remove_empty_parents(output: str, made: str | None) -> None:
    """Removes the folders between ``output`` and ``made`` (included) that the failed job made, if empty."""
    gfile = _gfile()
    path = output.rstrip("/")
    while made is not None and _is_below(path, made):
        path = posixpath.dirname(path)
        if gfile.isdir(path) and not gfile.listdir(path):
            gfile.rmtree(path)


def _is_below(path: str, folder: str) -> bool:
    """Whether ``path`` lies below ``folder``, part by part: ``/a/bc`` is not below ``/a/b``."""
    parts, top = path.rstrip("/").split("/"), folder.rstrip("/").split("/")
    return len(parts) > len(top) and parts[: len(top)] == top


def _names(folder: str) -> set[str]:
    return {name.rstrip("/") for name in _gfile().listdir(folder)}


def _remove_written(folder: str, written: re.Pattern, names: set[str], made: bool) -> None:
    """Removes those of ``names`` in ``folder`` that the job writes, then ``folder`` if it made it and nothing is left."""
    gfile = _gfile()
    for path in (posixpath.join(folder, name) for name in names if written.fullmatch(name)):
        (gfile.rmtree if gfile.isdir(path) else gfile.remove)(path)
    if made and not gfile.listdir(folder):
        gfile.rmtree(folder)
