"""Pre-flight: what a run's configuration names on the local file system, checked before any step runs.

The dataset (and spans), the vectors file (and its dimension) and the output folder; a problem
is an :class:`OptionsError` naming the option (exit 2). Remote paths are left to the steps.
"""

from __future__ import annotations

import errno
import glob
import gzip
import itertools
import logging
import math
import os
from pathlib import Path
import sqlite3
import stat
import tarfile
import tempfile
from typing import NamedTuple
import zlib

import psutil

from components.embeddings.options import EmbeddingOptions
from components.example_gen import spans
from components.example_gen.options import ARCHIVE_SUFFIXES, is_remote
from components.options import OptionsError
from pipeline.config import PipelineConfig, nearest_existing
from pipeline.lock import LOCK_FILE
from pipeline.stored_uris import moved_from, read_only

logger = logging.getLogger(__name__)


def check(config: PipelineConfig, local: bool = True) -> str | None:
    """Raises OptionsError for the first problem; returns the local dataset (or span) read, None if remote.

    ``local``: the steps run on this machine (not ``compile``'s cluster), whose memory must hold the Trainer's.
    """
    try:
        dataset = _check_data(config)
    except spans.SpanError as error:
        raise OptionsError(str(error)) from error
    if config.vectors is not None and not is_remote(config.vectors):
        _check_vectors(config.vectors, config.embedding)
    _check_output_name(config.output)
    serving = config.serving_model_dir
    if not is_remote(serving) and os.path.lexists(serving) and not os.path.isdir(serving):
        raise OptionsError(f"model_name: {serving} is a file, not the model's folder of versions")
    for folder in dict.fromkeys(path for path in (config.output, config.state_dir) if not is_remote(path)):
        if problem := _unwritable(folder):
            raise OptionsError(f"output: {problem}")
    lock = os.path.join(config.state_dir, LOCK_FILE)
    if os.path.exists(lock) and not os.path.isfile(lock):  # opening it would fail, or wait (a FIFO)
        kind = "a folder" if os.path.isdir(lock) else _file_kind(lock)
        raise OptionsError(
            f"output: the run lock {lock} is {kind}, not a file; nothing was run: remove or rename it "
            "(a run creates the file)"
        )
    if not is_remote(config.metadata_path):
        _check_metadata_store(config.metadata_path)
        if not is_remote(config.output) and (elsewhere := moved_from(config.metadata_path, config.output)):
            raise OptionsError(
                f"output: the ML Metadata store {config.metadata_path} records its artifacts under {elsewhere}, "
                f"not under {config.output}: the output folder was copied or moved (ML Metadata keeps "
                f"absolute paths, so a run would read and cache from {elsewhere}); nothing was run: give "
                f"--output {elsewhere} (moved back there if it is gone), or a new output folder"
            )
    if local:
        check_trainer_memory(config, *memory_limit())
    return dataset


# The Trainer's n-gram branch at its peak, in bytes per n-gram id: its Naive Bayes ratios come from two int64
# counts per id through float64 arithmetic (naive_bayes_log_ratios), at most 56 bytes per id at once
# (benchmarks/ngram_memory.py: 53.2 measured with 2^26 ids, 55.7 with 2^22, which carry a fixed 11 MB more);
# the weights it then trains (the ratios, the coefficients and Adam's two moments, float32) hold 16.
NGRAM_BYTES_PER_ID = 56


def _gib(size: int, rounding=math.ceil) -> float:
    """``size`` bytes in GiB to 0.1, rounded up (a need) or ``math.floor`` (a memory)."""
    return rounding(size * 10 / 2**30) / 10


def check_trainer_memory(config: PipelineConfig, memory: int, cgroup: bool = False) -> None:
    """Refuses (OptionsError) more n-gram ids than ``memory`` bytes hold in the Trainer: the machine's total
    memory, or its cgroup's limit (``cgroup``); never what is free now, which varies from run to run."""
    if not config.trainer.use_ngrams or config.transform.ngram_max == 0:
        return
    buckets = config.transform.ngram_buckets
    if buckets * NGRAM_BYTES_PER_ID > memory:
        default = type(config.transform).model_fields["ngram_buckets"].default
        lower = "lower transform.ngram_buckets"
        if buckets > default and default * NGRAM_BYTES_PER_ID <= memory:
            lower += f" (the default, {default:,}, needs about {_gib(default * NGRAM_BYTES_PER_ID):.1f} GiB)"
        # Without the embeddings branch the n-grams are the model's only one: it cannot be set aside.
        drop = ", or set trainer.use_ngrams to false" if config.trainer.use_embeddings else ""
        whose = "the memory limit of this process's cgroup" if cgroup else "its total"
        # The need rounded up and the memory down: the need shown exceeds the memory shown.
        raise OptionsError(
            f"transform.ngram_buckets is {buckets:,}: the Trainer's n-gram branch needs about "
            f"{_gib(buckets * NGRAM_BYTES_PER_ID):.1f} GiB for that many ids ({NGRAM_BYTES_PER_ID} bytes each) "
            f"and this machine has {_gib(memory, math.floor):.1f} GiB of memory ({whose}); nothing was run: "
            f"{lower}{drop}"
        )


def memory_limit(proc_cgroup: str = "/proc/self/cgroup", root: str = "/sys/fs/cgroup") -> tuple[int, bool]:
    """The most memory this process can have, in bytes, and whether its cgroup's limit (a container's) sets it.

    The machine's total memory (psutil sees the whole machine's), or less where the memory limit of the
    process's cgroup (named in ``proc_cgroup``, a folder under ``root``) or of one above it is lower: v2's
    ``memory.max`` (``max``: none), v1's ``memory/.../memory.limit_in_bytes`` (a huge figure: none). Limits,
    never use: a cgroup's use counts the page cache the kernel frees when asked.
    """
    total = psutil.virtual_memory().total
    limit = total
    try:
        lines = Path(proc_cgroup).read_text().splitlines()
    except OSError:
        lines = []
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controllers == "":
            folder, name = Path(root), "memory.max"
        elif "memory" in controllers.split(","):
            folder, name = Path(root, "memory"), "memory.limit_in_bytes"
        else:
            continue
        parts = Path(path).parts[1:]
        for depth in range(len(parts) + 1):
            try:
                value = Path(folder, *parts[:depth], name).read_text().strip()
            except OSError:  # not this cgroup version, or a folder outside this container's view
                continue
            if value.isdigit():
                limit = min(limit, int(value))
    return limit, limit < total


def _check_newest_span_not_older_than_served(config: PipelineConfig, newest: int) -> None:
    """Refuses a run on the newest span when the served model was trained on a newer one.

    The newer span's data is gone (moved, a failed sync): training on an older span would push
    a model of older data as the newest version, replacing the served one.
    """
    serving = config.serving_model_dir
    if is_remote(serving) or not os.path.isdir(serving):
        return
    from components.artifacts import pushed_model  # TensorFlow: only when there may be a served model

    versions = pushed_model.served_versions(serving)
    if not versions:
        return
    version_dir = versions[0]
    try:
        manifest = pushed_model.read_manifest(version_dir)
    except pushed_model.ManifestError as error:
        logger.warning(
            "The served model's manifest in %s cannot be read (%s): its span is not compared",
            version_dir,
            error,
        )
        return
    served_span = (manifest or {}).get("data", {}).get("span")
    if served_span is not None and served_span > newest:
        newest_name = spans.span_name(newest, config.data)
        served_name = spans.span_name(served_span, config.data)
        raise OptionsError(
            f"data: the newest span under {spans.span_base(config.data)} is {newest_name}, older than span "
            f"{served_name} of the served model (version {os.path.basename(version_dir)} in {serving}): span {served_span}'s "
            f"data is gone; restore it, or give --span {newest} to train on span {newest} again"
        )


def _check_metadata_store(path: str) -> None:
    """An existing ML Metadata store must be a readable SQLite database (ML Metadata's own error is a SQL dump)."""
    if not os.path.lexists(path):
        return
    try:
        with read_only(path) as store:
            verdict = store.execute("PRAGMA quick_check").fetchone()[0]
    except sqlite3.Error as error:
        verdict = str(error)
    if verdict != "ok":
        raise OptionsError(
            f"output: the ML Metadata store {path} cannot be read ({verdict}); nothing was run: restore it, "
            "or move it away to start a new store (the runs it recorded are then forgotten)"
        )


def _check_vectors(path: str, embedding: EmbeddingOptions) -> None:
    """Refuses a local vectors file that is missing, unreadable or (by its first record) of the wrong dimension."""
    if not Path(path).is_file():
        raise OptionsError(f"vectors: {path} is not a file")
    from components.embeddings import vector_files  # imports TensorFlow

    try:
        actual = vector_files.read_dimension(path, embedding.vectors_format)
    except vector_files.VectorFileError as error:
        raise OptionsError(f"vectors: {error}") from error
    if problem := embedding.dimension_conflict(actual, path):
        raise OptionsError(problem)


# Paths below the output folder that are read as glob patterns: Apache Beam's
# file writers (TFX's ExampleGen and Transform, this pipeline's steps) match
# their temporary files with one, so with '[', '*' or '?' in the folder they
# fail or, worse, match another folder's files; TensorFlow's SavedModel and
# checkpoint readers (tf.Transform, the Evaluator) read '\' as an escape.
GLOB_CHARACTERS = "[*?\\"


def _check_output_name(output: str) -> None:
    found = [char for char in GLOB_CHARACTERS if char in output]
    if found:
        raise OptionsError(
            f"output: {output} holds {' '.join(repr(char) for char in found)}: Apache Beam's file writers "
            "(TFX's ExampleGen and Transform write with them) and TensorFlow's SavedModel reader take the "
            "paths below the output folder as glob patterns, so a run there would fail or mix up files; "
            "choose an output folder without '[', '*', '?' or '\\' (spaces, ']' and any other characters work)"
        )


def newest_span(data: str) -> int | None:
    """The newest span of ``data`` with ``{SPAN}`` (a run without ``span`` ingests it): None for data without
    spans, spans on a remote filesystem (a run finds them as it starts) or none found."""
    if not spans.has_span_placeholder(data) or is_remote(spans.span_base(data)):
        return None
    return max(spans.find_spans(data), default=None)


def _check_data(config: PipelineConfig) -> str | None:
    """Checks the dataset, or the spans read and the served model's span (a SpanError passes up)."""
    data, span, num_spans = config.data, config.span, config.num_spans
    if not spans.has_span_placeholder(data):
        if is_remote(data):
            return None
        _check_dataset(data)
        return data
    spans.check_span_path(data)
    base = spans.span_base(data)
    if is_remote(base):
        return None
    if not Path(base).is_dir():
        raise OptionsError(f"data: {base}, the folder holding the spans, does not exist")
    found = spans.find_spans(data)
    relative = data[len(base) :].lstrip("/")
    if not found:
        raise OptionsError(f"data: no span found: nothing under {base} matches {relative}")
    if span is not None and span not in found and num_spans == 1:
        raise OptionsError(
            f"data: span {spans.span_name(span, relative)} not found under {base} (matching {relative}); "
            f"spans found: {spans.listing(found, relative)}"
        )
    last = span if span is not None else max(found)
    spans.check_num_spans(data, last, num_spans)  # a range that would start below span 0
    wanted = spans.window(num_spans, last)
    if any(number not in found for number in wanted):
        raise OptionsError(spans.missing_spans_message(base, relative, wanted, list(found)))
    for number in wanted:
        _check_span_links(base, number, found[number])
        _check_dataset(found[number])
        _check_span_layout(data, number, found[number])
    if span is None:
        _check_newest_span_not_older_than_served(config, last)
    return found[last]


def _check_span_links(base: str, number: int, path: str) -> None:
    """Refuses a span whose folder (or one below the spans' base on its way) is a symbolic link.

    The reader walks down from the base and never follows a link it finds there (one could
    bring any folder of the machine into the training data), so it would set the whole span
    aside as one ``symlink`` record and the run would fail at ExampleGen.
    """
    if is_remote(path):
        return
    relative = os.path.relpath(path, base)
    folder = base
    for name in relative.split(os.sep):
        folder = os.path.join(folder, name)
        if os.path.islink(folder):
            raise OptionsError(
                f"data: span {number}'s path goes through {folder}, a symbolic link: links below the "
                f"spans' folder {base} are never followed; put the span's data there itself"
            )


def _check_span_layout(data: str, number: int, path: str) -> None:
    """Refuses a span folder that holds ``aclImdb/`` rather than being a dataset root itself.

    Without a placeholder, ``--data`` takes a folder holding ``aclImdb/`` and reads
    that one dataset. With one, TFX's driver globs one pattern for every span
    (``span-{SPAN}/*/*/*.txt``), which in such folders matches ``aclImdb/*/*.txt``
    (the URL lists) and no review: the nested folder has to be in the pattern.
    """
    from components.example_gen import component

    folder, archive = component.dataset_location(path)
    if archive is None and os.path.normpath(folder) != os.path.normpath(path):
        nested = f"{data.rstrip('/')}/{component.ARCHIVE_TOP_FOLDER}"
        raise OptionsError(
            f"data: span {number}'s folder {path} holds an {component.ARCHIVE_TOP_FOLDER}/ folder, not "
            f"train/ and test/; one pattern reads every span, so name the folder inside the spans: "
            f"--data '{nested}'"
        )


def _check_dataset(path: str) -> None:
    """One dataset (an archive or a folder) exists, has the published layout and holds reviews."""
    from components.example_gen import component

    if not Path(path).exists():
        raise OptionsError(f"data: {path} does not exist")
    if not Path(path).is_dir() and not Path(path).is_file():
        # A FIFO (or a device) named like an archive: reading it would wait, or read, without end.
        raise OptionsError(f"data: {path} is not a regular file or a folder (a FIFO, a device or a socket?)")
    if Path(path).is_dir() and not any(Path(path).iterdir()):
        raise OptionsError(f"data: {path} is an empty folder: there are no reviews to ingest")
    if Path(path).is_file() and not path.lower().endswith(ARCHIVE_SUFFIXES):
        raise OptionsError(
            f"data: {path} is a file but not a dataset archive ({', '.join(ARCHIVE_SUFFIXES)})"
        )
    try:
        folder, archive = component.dataset_location(path)
    except (FileNotFoundError, ValueError) as error:
        raise OptionsError(f"data: {error}") from error
    if archive is not None:
        if not _archive_has_reviews(os.path.join(folder, archive)):
            raise OptionsError(
                f"data: {path} holds no reviews: no member <train|test>/<pos|neg|unsup>/*.txt in the archive"
            )
    elif not _folder_has_reviews(folder):
        raise OptionsError(
            f"data: {path} holds no reviews: no file {folder}/<train|test>/<pos|neg|unsup>/*.txt"
        )


def _is_review_path(path: str) -> bool:
    from components.example_gen import reader
    from components.example_gen.errors import BadRecordError

    try:
        return reader.parse_review_path(path) is not None
    except BadRecordError:
        return True  # in a review folder: the ExampleGen reads it (and may set it aside)


def _folder_has_reviews(root: str) -> bool:
    """Whether a review file is where the ExampleGen looks (``<root>/*/*/*.txt``); stops at the first."""
    files = glob.iglob(os.path.join(glob.escape(root), "*", "*", "*"), include_hidden=True)
    return any(os.path.isfile(path) and _is_review_path(path) for path in files)


def _archive_has_reviews(path: str) -> bool:
    """Whether the archive has a review member, read as the ExampleGen reads it, up to the first.

    A file that breaks before its first member is no archive at all (random bytes, a text file
    named ``.tar.gz``): refused here, before anything is written. Damage further on is left to the
    ExampleGen, which reads the archive whole and names the member.
    """
    from components.example_gen.reader import GZIP_SUFFIXES, StrictTarInfo

    member_read = False
    try:
        with open(path, "rb") as file:
            gzipped = path.lower().endswith(GZIP_SUFFIXES)
            stream = gzip.GzipFile(fileobj=file, mode="rb") if gzipped else file
            # As strict as the reader: tarfile ends the member list silently at a damaged header.
            with tarfile.open(fileobj=stream, mode="r|", tarinfo=StrictTarInfo) as archive:
                for member in archive:
                    member_read = True
                    if member.isfile() and _is_review_path(member.name):
                        return True
    except (tarfile.TarError, EOFError, OSError, zlib.error) as error:
        if member_read:
            return True
        kind = "a gzip-compressed tar archive" if gzipped else "a tar archive"
        raise OptionsError(
            f"data: {path} cannot be read as {kind}, before its first member ({type(error).__name__}: "
            f"{error}); nothing was run"
        ) from None
    return False


def _unwritable(folder: str) -> str | None:
    """Why ``folder`` cannot be created or written by this process, or None."""
    if problem := unreachable(folder):
        return f"cannot create {folder}: {problem}"
    absolute = str(Path(folder).absolute())
    existing = nearest_existing(absolute)
    if error := cannot_write_in(existing):
        nearest = "" if existing == absolute else ", the nearest existing folder,"
        return f"cannot write to {folder}: {existing}{nearest} is not writable ({error.strerror})"
    return None


# The longest file name, in bytes, of Linux's and macOS's file systems.
_NAME_MAX = 255
# The most symbolic links Linux follows in one path (more: ELOOP, as for a loop).
_MAX_LINKS = 40


def unreachable(path: str) -> str | None:
    """Why no folder can be made at the local ``path``, or None: a part of it longer than a file name may be,
    a part on the way that is no folder (named by its kind), or a symbolic link on the way, the path's last
    part included, that leads nowhere
    (``Path.exists`` says False for them all, as for a path yet to be made; ``os.makedirs`` fails on them)."""
    if any(len(os.fsencode(part)) > _NAME_MAX for part in Path(path).parts):
        return os.strerror(errno.ENAMETOOLONG)
    try:
        os.stat(path)
    except OSError as error:
        if error.errno not in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP):
            return error.strerror
        if blocker := _in_the_way(path):
            return blocker
        try:
            _Walk().follow(os.getcwd(), Path(), path)
        except _Nowhere as nowhere:
            return str(nowhere)
        except OSError:  # a missing part (yet to be made) or a file on the way (said by the caller)
            pass
        return error.strerror if error.errno == errno.ELOOP else None
    return None


def _in_the_way(path: str) -> str | None:
    """The first part of ``path`` before its end (a trailing ``/`` or ``/.`` included) that the OS finds to be
    no folder, by what it leads to (``/dev/stdout`` is what descriptor 1 is: a FIFO under a pipe), or None;
    a missing part, a link to nowhere or a loop stops it (the walk names those)."""
    names = path.split("/")
    for end in range(1, len(names)):
        part = "/".join(names[:end]) or "/"
        try:
            mode = os.stat(part).st_mode
        except OSError:
            return None
        if not stat.S_ISDIR(mode):
            return f"{part} is {_file_kind(part)}, not a folder"
    return None


def _file_kind(path: str) -> str:
    """What the existing ``path`` leads to, when it is no folder: a file, a FIFO, a device or a socket."""
    from components.example_gen import reader  # TensorFlow: only when something is in the way

    return reader.special_file_kind(path, follow_links=True) or "a file"


class _Nowhere(Exception):
    """How a symbolic link on the path leads nowhere."""


class _Link(NamedTuple):
    shown: Path  # as the path and the targets before it spell it
    real: str  # the same link by a path without links
    target: str
    last: bool  # the last part of the path it was reached on, not a folder on the way


class _Walk:
    """Follows a path part by part as the kernel does, every symbolic link on it too (relative or absolute,
    chained, or a folder further up a link's target), to the first link that leads nowhere: one with a
    missing part or a file as a folder in its target, one that leads back to itself, or the 41st."""

    def __init__(self) -> None:
        self.links: list[_Link] = []  # the links being followed, each reached while following the one before
        self.count = 0

    def follow(self, real: str, shown: Path, path: str) -> str:
        """The path without links that ``path`` leads to from the folder ``real`` (shown as ``shown``).

        Split here, not by ``Path``: ``file/.`` and ``file/`` need a folder where ``Path`` reads ``file``.
        """
        if path.startswith("/"):
            real, shown = "/", Path(Path(path).anchor)
        names = path.split("/")
        for index, name in enumerate(names):
            if not os.path.isdir(real):
                raise NotADirectoryError(errno.ENOTDIR, _file_kind(real), str(shown))
            if name in ("", "."):
                continue
            shown /= name
            if name == "..":
                real = os.path.dirname(real)
                continue
            real = os.path.join(real, name)
            if os.path.islink(real):
                last = all(rest in ("", ".") for rest in names[index + 1 :])
                real = self.expand(_Link(shown, real, os.readlink(real), last))
            elif not os.path.lexists(real):
                raise FileNotFoundError(errno.ENOENT, "missing", str(shown))
        return real

    def expand(self, link: _Link) -> str:
        self.count += 1
        looped = link.real in (before.real for before in self.links)
        if looped or self.count > _MAX_LINKS:
            what = f"on a path of more than {_MAX_LINKS} symbolic links (Linux follows {_MAX_LINKS})"
            if looped:
                what = "in a loop" if link.real == self.links[0].real else "that leads into a loop"
            first = (self.links or [link])[0]
            raise _Nowhere(f"{first.shown} is a symbolic link {what}: {self.chain(link)}")
        self.links.append(link)
        try:
            real = self.follow(os.path.dirname(link.real), link.shown.parent, link.target)
        except (FileNotFoundError, NotADirectoryError) as error:
            what = f"to {link.target}, which does not exist"
            if len(self.links) > 1:
                end = _Link(link.shown.parent / link.target, "", "", last=True)
                what = f"that leads nowhere: {self.chain(end)}"
            file = (
                f" ({error.filename} is {error.strerror}, not a folder)"
                if error.errno == errno.ENOTDIR
                else ""
            )
            raise _Nowhere(f"{self.links[0].shown} is a symbolic link {what}{file}") from None
        self.links.pop()
        return real

    def chain(self, end: _Link) -> str:
        """The links followed, to ``end``: ``a -> b`` (b is a's target), ``a -> b/x, which goes through b``."""
        links = [*self.links, end]
        steps = [str(links[0].shown)]
        for before, link in itertools.pairwise(links):
            target = before.shown.parent / before.target
            steps.append(
                f" -> {link.shown}" if link.last else f" -> {target}, which goes through {link.shown}"
            )
        return "".join(steps)


def cannot_write_in(folder: str) -> OSError | None:
    """Why this process cannot write in the existing local ``folder``, or None: the OS alone knows
    (``os.access`` lets root write a read-only folder and says yes for ``/proc``). An unnamed file (Linux's
    ``O_TMPFILE``) leaves nothing behind even if the process is killed; it takes an inode, no block, so one
    byte is reserved in it (a full file system says ENOSPC). The OS's refusal of one (EACCES, EROFS, ENOSPC,
    ...) is the answer; only where none can be made (a file system without them: EOPNOTSUPP, EISDIR, EINVAL;
    no ``O_TMPFILE``) a named file is made and removed (not a folder: in a cgroup file system a new folder
    is a new cgroup, and no file may be made there)."""
    unnamed = None
    if hasattr(os, "O_TMPFILE"):
        try:
            descriptor = os.open(folder, os.O_TMPFILE | os.O_WRONLY, 0o600)
        except OSError as error:
            if error.errno not in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):
                return error
            unnamed = error
        else:
            try:
                os.posix_fallocate(descriptor, 0, 1)
            except OSError as error:  # EOPNOTSUPP: a file system that reserves no blocks ahead
                if error.errno in (errno.ENOSPC, errno.EDQUOT):
                    return error
            finally:
                os.close(descriptor)
            return None
    try:
        descriptor, name = tempfile.mkstemp(prefix=".imdb-pipeline-", dir=folder)
        os.close(descriptor)
        os.unlink(name)
    except OSError as error:
        # /proc says ENOENT for a new file in a folder that exists: the unnamed file's refusal says why.
        if error.errno == errno.ENOENT and os.path.isdir(folder):
            return unnamed or PermissionError(errno.EPERM, os.strerror(errno.EPERM))
        return error
    return None
