"""Loading a pushed model (a plain SavedModel: TensorFlow alone) and classifying raw review text."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
import contextlib
import dataclasses
import itertools
import json
import math
import os
import re
import sys
import tempfile
import threading
import typing

from components.canary import probe_process
from components.plural import counted
from pipeline import interrupts
from schemas import features

SAVED_MODEL_FILE = "saved_model.pb"
DEFAULT_BATCH_SIZE = 256
LINES = "lines"
JSON_LINES = "jsonl"
INPUT_FORMATS = ("auto", LINES, JSON_LINES)
TSV = "tsv"
OUTPUT_FORMATS = (TSV, JSON_LINES)
# The field of a JSON Lines record that holds the review.
TEXT_FIELD = "text"
PROBABILITY_FIELD = "probability"
STDIN = "-"


class ModelNotFoundError(FileNotFoundError):
    """The path is neither a SavedModel version directory nor a model directory holding one."""


class ModelLoadError(ValueError):
    """A SavedModel that cannot be loaded (truncated, damaged) or is not a model of this pipeline."""


class ModelOutputError(ModelLoadError):
    """The model gave something that is not a probability (NaN, infinite, outside [0, 1]): a broken model."""


class InputError(ValueError):
    """A review that cannot be read; ``reason`` (:data:`NOT_JSON_OBJECT`, :data:`NO_TEXT_FIELD`) for a bad JSON line."""

    def __init__(self, message: str, reason: str | None = None):
        super().__init__(message)
        self.reason = reason


# TensorFlow's C++ start-up lines, printed before absl's logging is set up, so
# TF_CPP_MIN_LOG_LEVEL cannot silence them: absl's banner, INFO/WARNING lines
# (with the second line of the CPU-instructions notice), and the error a machine
# without a GPU reports when CUDA is probed.
_STARTUP_NOISE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|[IW]\d{4} \S+ +\d+ \S+:\d+\] .*"
    r"|To enable the following instructions: .*"
    r"|E\d{4} \S+ +\d+ cuda_\w+\.cc:\d+\] .*)$"
)


def is_startup_noise(line: str) -> bool:
    return bool(_STARTUP_NOISE.match(line.rstrip("\r\n")))


# How long the filter may still read after a signal before the command ends without it.
_AFTER_SIGNAL_SECONDS = 2.0


@contextlib.contextmanager
def stderr_without_startup_noise() -> Iterator[None]:
    """Filters file descriptor 2 (C++ and Python writes) through :func:`is_startup_noise`, line by line as it comes;
    after SIGINT or SIGTERM, lets nothing through."""
    sys.stderr.flush()
    saved = os.dup(2)
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)

    def forward() -> None:
        with open(read_end, "rb", closefd=True) as pipe:
            for line in pipe:
                # After SIGINT or SIGTERM, what comes is its consequences (the tracebacks of Beam's worker
                # processes, which the terminal's Ctrl-C reaches too): the command's one line says it.
                if not is_startup_noise(line.decode("utf-8", "replace")) and interrupts.received() is None:
                    os.write(saved, line)

    thread = threading.Thread(target=forward, name="stderr-filter", daemon=True)
    thread.start()
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)  # closes the pipe's last write end: the thread reads to its end
        # After a signal, a process this one started (a Beam worker) may still hold a write end and
        # outlive the command: its lines are not shown anyway, so the command does not wait for it.
        thread.join(None if interrupts.received() is None else _AFTER_SIGNAL_SECONDS)
        if not thread.is_alive():
            os.close(saved)


def import_tensorflow(verbose: bool = False, serving_only: bool = True):
    """Imports TensorFlow once (before TFX or Beam do), without its start-up lines unless ``verbose``.

    ``serving_only`` imports it as the canary's probe process does, skipping Keras' optimizers (about
    1.5 s and 200 MB), which ``tf.saved_model.load`` does not use. ``components``, imported with this
    module, has made ``tf.keras`` mean tf_keras (as the steps need) before TensorFlow is imported.
    """
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    if not verbose:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with contextlib.nullcontext() if verbose else stderr_without_startup_noise():
        if serving_only:
            tf = probe_process.import_tensorflow()
        else:
            import tensorflow as tf
        tf.config.list_physical_devices()  # probes CUDA now, inside the filter
    return tf


def resolve_model_dir(path: str) -> str:
    """``path`` if it holds a SavedModel, else its highest integer version that does (as TF Serving); an alias
    (a link such as ``stable`` -> ``17``) as the version it leads to."""
    if not path.strip():
        raise ModelNotFoundError(
            "--model is empty: name a pushed version directory or the model directory above it"
        )
    tf = import_tensorflow()
    from components.artifacts.pushed_model import served_versions, without_alias

    # TensorFlow's own rule, as for the versions below a model directory: saved_model.pb, .pbtxt or .cpb.
    if tf.saved_model.contains_saved_model(path):
        return without_alias(path)
    if not tf.io.gfile.exists(path):
        raise ModelNotFoundError(f"{path} does not exist")
    if not tf.io.gfile.isdir(path):
        raise ModelNotFoundError(
            f"{path} is a file, not a SavedModel directory: give the version directory that holds "
            f"{SAVED_MODEL_FILE} and variables/, or the model directory above the versions"
        )
    versions = served_versions(path)  # highest first
    if not versions:
        raise ModelNotFoundError(
            f"{path} holds no SavedModel: expected {SAVED_MODEL_FILE} in it or in an integer version folder below it"
        )
    return versions[0]


# TensorFlow's checkpoint reader takes the variables' path for a glob pattern,
# in which a backslash escapes the next character.
_GLOB_CHARACTERS = re.compile(r"[*?\[\]\\]")


def _without_glob_characters(path: str) -> tuple[tempfile.TemporaryDirectory | None, str]:
    """A path TensorFlow reads literally (a symbolic link in a temporary folder), and what keeps it alive."""
    if "://" in path or not _GLOB_CHARACTERS.search(os.path.abspath(path)):
        return None, path
    holder = tempfile.TemporaryDirectory(prefix="imdb-model-")
    link = os.path.join(holder.name, "model")
    os.symlink(os.path.abspath(path), link)
    return holder, link


def _load_problem(error: BaseException) -> str:
    """``error`` on one line: its first, or for TensorFlow's ``Graph execution error:`` the op's own message,
    which names the file (``.../assets/tokens; No such file or directory``) on the line before the node's."""
    lines = str(error).strip().splitlines()
    line = lines[0] if lines else ""
    if line == "Graph execution error:":
        said = [(i, text.strip()) for i, text in enumerate(lines) if i and text.strip()]
        node = next((i for i, text in said if text.startswith("[[{{node ")), None)
        line = next((text for i, text in reversed(said) if node is None or i < node), line)
    return f"{type(error).__name__}: {line}".rstrip(": ")


class Classifier:
    """A pushed model's raw-text signature (of a version or the newest in a model directory), loaded and checked.

    Raises:
        ModelNotFoundError: no SavedModel there.
        ModelLoadError: it cannot be loaded, or has no signature taking ``text`` and giving ``probability``.
    """

    def __init__(self, model_dir: str):
        tf = import_tensorflow()

        self.version_dir = resolve_model_dir(model_dir)
        self._link_dir, path = _without_glob_characters(self.version_dir)
        try:
            loaded = tf.saved_model.load(path)
        except Exception as error:
            # TensorFlow's readers raise any kind for a damaged file: DecodeError (saved_model.pb),
            # IndexError "Read less bytes than requested" (truncated variables), OpError, KeyError...
            raise ModelLoadError(
                f"{self.version_dir}: the SavedModel cannot be loaded (truncated or damaged?): "
                f"{_load_problem(error).replace(path, self.version_dir)}"
            ) from error
        expected = (
            f"expected signature {features.TEXT_SIGNATURE!r} taking a string {features.TEXT_INPUT!r} "
            f"and giving {features.PROBABILITY_OUTPUT!r}"
        )
        signature = loaded.signatures.get(features.TEXT_SIGNATURE)
        if signature is None:
            raise ModelLoadError(
                f"{self.version_dir} is not a model of this pipeline: it has signatures "
                f"{sorted(loaded.signatures) or 'none'}; {expected}"
            )
        inputs = signature.structured_input_signature[1]
        outputs = signature.structured_outputs
        if (
            list(inputs) != [features.TEXT_INPUT]
            or inputs[features.TEXT_INPUT].dtype != tf.string
            or features.PROBABILITY_OUTPUT not in outputs
        ):
            described = ", ".join(f"{name}: {spec.dtype.name}" for name, spec in inputs.items())
            raise ModelLoadError(
                f"{self.version_dir} is not a model of this pipeline: {features.TEXT_SIGNATURE!r} takes "
                f"({described}) and gives {sorted(outputs)}; {expected}"
            )
        self._loaded = loaded  # keeps the signature's variables alive
        self._serve = signature
        self._tf = tf

    def __call__(self, texts: Sequence[str]) -> list[float]:
        """Positive-class probabilities of ``texts``, in order."""
        if not texts:
            return []
        batch = self._tf.constant([text.encode("utf-8") for text in texts], dtype=self._tf.string)
        outputs = self._serve(**{features.TEXT_INPUT: batch})
        values = outputs[features.PROBABILITY_OUTPUT].numpy()
        # One number per review: shape [n] (or [n, 1]); anything else is not this pipeline's output.
        if values.shape not in ((len(texts),), (len(texts), 1)) or values.dtype.kind not in "fiu":
            raise ModelOutputError(
                f"{self.version_dir} gave {features.PROBABILITY_OUTPUT!r} of shape {list(values.shape)} "
                f"and type {values.dtype} for a batch of {counted(len(texts), 'review')}; expected one probability per "
                f"review (shape [{len(texts)}]): the model is not this pipeline's or is broken"
            )
        return [float(p) for p in values.reshape(-1)]


@dataclasses.dataclass(frozen=True)
class Review:
    """One review to score, with where it came from (for messages) and its other JSON fields."""

    text: str
    where: str
    fields: dict[str, typing.Any] = dataclasses.field(default_factory=dict)


def check_text(text: str, where: str) -> str:
    """``text`` if it is valid Unicode (an argument's bytes that are not UTF-8 are lone surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        char = ord(text[error.start])
        offset = len(text[: error.start].encode("utf-8"))
        shown = f"byte 0x{char - 0xDC00:02x}" if 0xDC80 <= char <= 0xDCFF else f"lone surrogate U+{char:04X}"
        raise InputError(f"{where} is not valid UTF-8 ({shown} at byte {offset})") from None
    return text


def reviews_from_arguments(texts: Iterable[str], label: str = "TEXT") -> Iterator[Review]:
    """Reviews (or words) given as command-line arguments; messages call them ``<label> argument <n>``."""
    for number, text in enumerate(texts, start=1):
        where = f"{label} argument {number}"
        yield Review(check_text(text, where), where)


def reviews_from_stream(stream: typing.BinaryIO, name: str, input_format: str = "auto") -> Iterator[Review]:
    """Reviews from a byte stream (see :class:`LineReader`); the first line that is no review raises its InputError."""
    for _number, _line, result in LineReader(stream, name, input_format):
        if isinstance(result, InputError):
            raise result
        yield result


class LineReader:
    """Every line of a stream as (line number, its bytes without the line break, its review or why it is not one).

    Plain lines: each line is one review (a blank one too). JSON Lines: each line is one strict
    JSON object (no NaN, Infinity, too large numbers or repeated keys) with a string ``text``;
    blank lines at the end are ignored. ``auto``: JSON Lines when the first UTF-8 line is a JSON object.
    ``input_format`` is the format the lines are read by: ``auto`` until the first UTF-8 line decides.
    """

    def __init__(self, stream: typing.BinaryIO, name: str, input_format: str = "auto"):
        self._stream = stream
        self._name = name
        self.input_format = input_format

    def __iter__(self) -> Iterator[tuple[int, bytes, Review | InputError]]:
        blanks = []  # blank JSON Lines since the last record: an error only when a record follows
        for number, raw in enumerate(self._stream, start=1):
            where = f"{self._name}, line {number}"
            line = raw[:-2] if raw.endswith(b"\r\n") else raw.rstrip(b"\n")
            try:
                text = check_text(line.decode("utf-8", "surrogateescape"), where)
            except InputError as error:
                yield number, line, error
                continue
            if number == 1:
                text = text.removeprefix("\ufeff")
            if self.input_format == "auto":
                self.input_format = _detect_format(text, where)
            if self.input_format == LINES:
                yield number, line, Review(text, where)
                continue
            if not text.strip():
                blank = InputError(
                    f"{where} is blank (JSON Lines input: one object per line)", NOT_JSON_OBJECT
                )
                blanks.append((number, line, blank))
                continue
            yield from blanks
            blanks.clear()
            yield number, line, _parse_json_line(text, where)


# Why a JSON Lines line is not a review (InputError.reason): a bad record's reason in a quarantine.
NOT_JSON_OBJECT = "not_json_object"
NO_TEXT_FIELD = "no_text_field"


def _detect_format(first_line: str, where: str) -> str:
    """``jsonl`` if the first line is a JSON object (read leniently); refused: a JSON array, a JSON document
    that goes on past the line, two objects on the line. Any other line (``[1] great``) is text: ``lines``."""
    stripped = first_line.strip()
    if not stripped.startswith(("{", "[")):
        return LINES
    # Not JSON where it stops: text, unless it begins as an object ({"), then read strictly (an error).
    broken = JSON_LINES if stripped.startswith('{"') else LINES
    try:
        value, end = json.JSONDecoder().raw_decode(stripped)
    except json.JSONDecodeError as error:
        if error.pos < len(stripped):
            return broken
        raise InputError(
            f"{where} starts a JSON document over several lines, not JSON Lines: give one JSON object "
            "per line (e.g. jq -c '.[]' FILE)"
        ) from None
    rest = stripped[end:].lstrip()
    if isinstance(value, dict) and rest.startswith("{"):
        raise InputError(f"{where} holds more than one JSON object: give one JSON object per line")
    if rest:
        return broken
    if isinstance(value, list):
        raise InputError(
            f"{where} is a JSON array, not JSON Lines: give one JSON object per line "
            "(or --input-format lines to score each line as text)"
        )
    return JSON_LINES if isinstance(value, dict) else LINES


def _refuse_constant(token: str) -> typing.NoReturn:
    raise ValueError(f"{token} is not a JSON value")


def _finite_float(token: str) -> float:
    value = float(token)
    if not math.isfinite(value):
        raise ValueError(f"{token} is too large for a 64-bit float")
    return value


def _unique_keys(pairs: list[tuple[str, typing.Any]]) -> dict[str, typing.Any]:
    record = dict(pairs)
    if len(record) != len(pairs):
        repeated = next(key for i, (key, _) in enumerate(pairs) if key in dict(pairs[:i]))
        raise ValueError(f"the key {repeated!r} appears twice")
    return record


def _parse_json_line(text: str, where: str) -> Review | InputError:
    try:
        record = json.loads(
            text, parse_constant=_refuse_constant, parse_float=_finite_float, object_pairs_hook=_unique_keys
        )
    except ValueError as error:
        if text.lstrip().startswith("{"):
            message = error.msg if isinstance(error, json.JSONDecodeError) else str(error)
            return InputError(f"{where} is not strict JSON: {message}", NOT_JSON_OBJECT)
        record = None  # not an object, whatever it is
    if not isinstance(record, dict):
        kind = "a JSON array, not a JSON object" if isinstance(record, list) else "not a JSON object"
        return InputError(f"{where} is {kind} (JSON Lines input: one object per line)", NOT_JSON_OBJECT)
    try:
        json.dumps(record, ensure_ascii=False).encode("utf-8")  # what the output will hold
    except UnicodeEncodeError as error:
        char = ord(error.object[error.start])
        # Not a JSON Lines problem but text that cannot be UTF-8: reason None, as for undecodable bytes.
        return InputError(f"{where} is not strict JSON: a lone surrogate \\u{char:04x} is not text")
    if not isinstance(record.get(TEXT_FIELD), str):
        return InputError(f'{where}: the JSON object has no string "{TEXT_FIELD}" field', NO_TEXT_FIELD)
    return Review(record.pop(TEXT_FIELD), where, record)  # valid UTF-8, as checked above


# What a TSV line's text escapes: the backslash, and every character some reader takes for the end of
# a field, a line or a string: C0 and C1 controls (tab, NUL, U+0085) and U+2028/U+2029 (str.splitlines).
_TSV_SPECIAL = re.compile("[\\\\\x00-\x1f\x7f-\x9f\u2028\u2029]")
_TSV_NAMED = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"}


def tsv_text(text: str) -> str:
    """``text`` on one TSV field: the escapes above, any other as its UTF-8 bytes (``\\xe2\\x80\\xa8``), so
    ``codecs.escape_decode(field.encode())[0].decode()`` gives ``text`` back."""
    return _TSV_SPECIAL.sub(
        lambda match: _TSV_NAMED.get(match.group()) or "".join(f"\\x{b:02x}" for b in match.group().encode()),
        text,
    )


def format_result(review: Review, probability: float, output_format: str) -> str:
    """One output line: tsv (4 decimals, a tab, the escaped text) or jsonl (fields, text, probability)."""
    if output_format == TSV:
        return f"{probability:.4f}\t{tsv_text(review.text)}"
    return json.dumps(
        {**review.fields, TEXT_FIELD: review.text, PROBABILITY_FIELD: probability},
        ensure_ascii=False,
        allow_nan=False,  # strict JSON, as the input is read
    )


def not_a_probability(model: str, value: float, where: str | None = None) -> str | None:
    """Why ``value``, the model's output for one review (``where``), breaks the canary's rule (finite, in [0, 1])."""
    if math.isfinite(value) and 0.0 <= value <= 1.0:
        return None
    review, broken = ("", "broken for this review") if where is None else (f" for {where}", "broken")
    return (
        f"{model} gave {value}{review}, which is not a probability in [0, 1]: the model is {broken} "
        "(the canary refuses such a model before a push)"
    )


def score(
    classifier: typing.Callable[[Sequence[str]], list[float]],
    reviews: Iterable[Review],
    output_format: str,
    out: typing.TextIO,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> int:
    """Scores ``reviews`` in batches, writing each batch's lines when it is done; returns the count.

    Raises:
        ModelOutputError: an output that is not a probability (nothing of its batch is written).
        InputError: with ``jsonl`` output, a record with a ``probability`` field (before its batch is scored).
    """
    model = getattr(classifier, "version_dir", "the model")
    count = 0
    reviews = iter(reviews)
    while batch := list(itertools.islice(reviews, batch_size)):
        # A record's own probability would be overwritten (its text is its own): refused, not guessed at.
        clash = next((review for review in batch if PROBABILITY_FIELD in review.fields), None)
        if clash is not None and output_format == JSON_LINES:
            raise InputError(
                f'{clash.where}: the JSON object has a "{PROBABILITY_FIELD}" field, which --format jsonl '
                "writes: rename it, or use --format tsv"
            )
        scored = list(zip(batch, classifier([review.text for review in batch]), strict=True))
        for review, probability in scored:
            if problem := not_a_probability(model, probability, review.where):
                raise ModelOutputError(problem)
        out.write("".join(f"{format_result(review, p, output_format)}\n" for review, p in scored))
        count += len(batch)
    out.flush()
    return count
