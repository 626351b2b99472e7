"""What every ``imdb-pipeline`` command shares: exit codes, its parser, shared flags, logging, TensorFlow."""

from __future__ import annotations

import argparse
import errno
import io
import logging
import os
import re
import shlex
import signal
import sys

from components.artifacts.quarantine import shown_name
from pipeline import interrupts

logger = logging.getLogger("pipeline")

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_BUSY = 3
# Ctrl-C, as a shell reports a process that SIGINT ended (128 + 2).
EXIT_INTERRUPTED = 130
# SIGTERM (`kill`, `timeout`, systemd, Kubernetes), as a shell reports a process that it ended (128 + 15).
EXIT_TERMINATED = 143
# The exit code of a command that a signal stopped, after the same cleanup (the line's word: interrupts.WORDS).
EXIT_CODES = {signal.SIGINT: EXIT_INTERRUPTED, signal.SIGTERM: EXIT_TERMINATED}

_PROJECT_LOGGERS = ("pipeline", "components", "schemas")
_BEAM_PASS_THROUGH = (
    "Options that Apache Beam knows are passed to it (e.g. --direct_running_mode=multi_processing "
    "--direct_num_workers=2, or --runner=DataflowRunner ...)."
)


# The metavars of the flags whose value is a path (``--output FOLDER``): a value that looks like an option
# (``--``) is given as ``./--``. Those and a NAME, or a flag given :class:`Once`, may not be empty.
PATH_METAVARS = ("FILE", "FOLDER", "PATH")
NAME_METAVAR = "NAME"


def add_command(
    subparsers, name: str, help: str, description: str, beam: bool = False
) -> argparse.ArgumentParser:
    """A command's parser. No abbreviations: ``--out`` is refused with the closest option, never guessed.

    With ``beam``, its unknown options go to Apache Beam, and its help says so.
    """
    if beam:
        description = f"{description} {_BEAM_PASS_THROUGH}"
    return subparsers.add_parser(name, allow_abbrev=False, help=help, description=description)


def positive_int(text: str) -> int:
    # ASCII digits, as the run's flags and config files read them (int() also takes '1_0' and Arabic-Indic digits).
    found = re.fullmatch(r"[ \t]*\+?0*([0-9]{1,19})[ \t]*", text)
    value = int(found.group(1)) if found else 0
    if not 1 <= value <= sys.maxsize:  # a count beyond it is no list length, index or slice bound
        raise argparse.ArgumentTypeError(
            f"expected a whole number between 1 and {sys.maxsize:,}, got {text[:40]!r}"
        )
    return value


class Once(argparse.Action):
    """A flag to give once. argparse keeps the last of repeated ones, which for an input or output drops
    data unnoticed (``--input a --input b`` scores b alone): :func:`one_value_each` refuses a repeat."""

    def __init__(
        self, option_strings: list[str], dest: str, what: str, empty: str | None = "", **kwargs
    ) -> None:
        super().__init__(option_strings, dest, **kwargs)
        self.what = what  # what to give one of, for the message
        # What to say of an empty value (None: the command says it).
        self.empty = f"name {'an' if what[0] in 'aeiou' else 'a'} {what}" if empty == "" else empty
        self.every = f"{dest} given"  # the attribute with every value given

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        setattr(namespace, self.dest, values)
        setattr(namespace, self.every, [*getattr(namespace, self.every, []), values])


def shown_values(values: list[str]) -> str:
    """Words a command line was given, comma-separated, each quoted as a shell would need it (``a.txt``,
    ``''``, ``'a, b'``), so that every one and its ends can be told apart; bytes that are not UTF-8 as
    ``\\xff``, as every message shows them."""
    return ", ".join(shlex.quote(shown_name(value)) for value in values)


def one_value_each(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """A usage error (exit 2) for a :class:`Once` flag given more than once, naming every value, as for
    ``--config`` given twice."""
    for action in parser._actions:
        values = getattr(args, action.every, []) if isinstance(action, Once) else []
        if len(values) > 1:
            parser.error(
                f"{action.option_strings[0]} was given {len(values)} times ({shown_values(values)}): "
                f"give one {action.what}"
            )


def empty_value(parser: argparse.ArgumentParser, args: argparse.Namespace) -> str | None:
    """``--x is empty: ...`` for the first flag of a path or a name given an empty or blank value
    (``--input=``, ``--data "$UNSET"``), which would otherwise name the working folder or a file ''."""
    from pipeline.config import is_blank

    for action in parser._actions:
        value = getattr(args, action.dest, None)
        named = isinstance(action, Once) or action.metavar in (*PATH_METAVARS, NAME_METAVAR)
        if named and isinstance(value, str) and is_blank(value):
            empty = getattr(action, "empty", "give a value, or leave the flag out for its default")
            if empty is not None:
                return f"{action.option_strings[0]} is empty: {empty}"
    return None


def add_model(parser: argparse.ArgumentParser, help: str | None = None) -> None:
    parser.add_argument(
        "--model",
        required=True,
        action=Once,
        what="model",
        metavar="PATH",
        empty="name a pushed version directory or the model directory above it",
        help=help or "a pushed version directory, or the model directory (newest version is used)",
    )


def add_batch_size(parser: argparse.ArgumentParser, help: str = "reviews per call of the model") -> None:
    from pipeline.predict import DEFAULT_BATCH_SIZE

    parser.add_argument(
        "--batch-size",
        dest="batch_size",
        type=positive_int,
        default=DEFAULT_BATCH_SIZE,
        help=f"{help} (default: {DEFAULT_BATCH_SIZE})",
    )


def add_verbose(
    parser: argparse.ArgumentParser, help: str = "show every TFX, Beam and TensorFlow log line"
) -> None:
    parser.add_argument("--verbose", action="store_true", help=help)


def refuse(command: str, message: object, code: int = EXIT_USAGE) -> int:
    """Prints ``imdb-pipeline <command>: <message>`` on stderr; returns ``code``.

    After SIGINT or SIGTERM, raises KeyboardInterrupt instead: whatever error the signal caused
    (a library may wrap it, or report a model it cut off while loading as damaged), the command
    says it was stopped.
    """
    interrupts.raise_if_received()
    print(f"imdb-pipeline {command}: {message}", file=sys.stderr)
    return code


class StdoutError(OSError):
    """A write to standard output failed (a full disk, ``> /dev/full``); a reader that went away
    (``| head``) stays a BrokenPipeError."""


class _StandardOutput(io.FileIO):
    """Standard output's file descriptor, whose write errors are StdoutErrors. The first is kept, as a
    library may swallow it (argparse's ``--help``)."""

    error: StdoutError | None = None

    def write(self, data) -> int:
        try:
            return super().write(data)
        except BrokenPipeError:
            raise
        except OSError as error:
            self.error = self.error or StdoutError(error.errno, error.strerror)
            raise StdoutError(error.errno, error.strerror) from None


class _ClosedStandardOutput(_StandardOutput):
    """Standard output of a process started without one (``>&-``): its first write fails, as it would have."""

    def write(self, data) -> int:
        if self.error is None:
            self.error = StdoutError(errno.EBADF, os.strerror(errno.EBADF))
            raise self.error
        return len(data)  # said once: the rest (the interpreter's last flush) is dropped


class _StandardText(io.TextIOWrapper):
    """Standard output's text layer: text its encoding cannot hold is a StdoutError too."""

    def write(self, text: str) -> int:
        try:
            return super().write(text)
        except UnicodeEncodeError as error:
            raise StdoutError(
                None,
                f"its encoding {error.encoding} cannot hold {error.object[error.start : error.end]!a}; "
                "set PYTHONIOENCODING=utf-8",
            ) from None


def name_stdout_errors() -> _StandardOutput | None:
    """Makes ``sys.stdout`` the same stream (encoding, buffering) whose write errors are StdoutErrors, told
    apart from any other OSError; returns its file (None when standard output is not a file descriptor)."""
    stream = sys.stdout
    if stream is None:
        # `>&-`: descriptor 1 is kept taken (a file opened later would get it, and a library's writes to
        # standard output would land in that file); every write says it has no standard output.
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
        file = _ClosedStandardOutput(1, "w", closefd=False)
        sys.stdout = _StandardText(io.BufferedWriter(file), encoding="utf-8", newline="\n")
        return file
    try:
        descriptor = stream.fileno()
    except (AttributeError, ValueError, OSError):
        return None
    stream.flush()
    file = _StandardOutput(descriptor, "w", closefd=False)
    unbuffered = isinstance(stream.buffer, io.RawIOBase)  # python -u, PYTHONUNBUFFERED
    sys.stdout = _StandardText(
        file if unbuffered else io.BufferedWriter(file),
        encoding=stream.encoding,
        errors=stream.errors,
        newline="\n",
        line_buffering=stream.line_buffering,
        write_through=stream.write_through,
    )
    return file


def flush_stdout(file: _StandardOutput | None) -> None:
    """Writes out what standard output holds, here rather than at the interpreter's exit, and raises the
    first StdoutError of its writes, also one a library swallowed."""
    if file is not None:
        sys.stdout.flush()
        if file.error is not None:
            raise file.error


class _WithoutTraceback(logging.Formatter):
    """Log lines without the traceback a library attaches (Beam logs one for every failed DoFn): for ``--verbose``."""

    def format(self, record: logging.LogRecord) -> str:
        record = logging.makeLogRecord(
            {**record.__dict__, "exc_info": None, "exc_text": None, "stack_info": None}
        )
        return super().format(record)


def configure_logging(verbose: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        (logging.Formatter if verbose else _WithoutTraceback)(
            "%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"
        )
    )
    if not verbose:
        # TFX's and Beam's INFO records stay out (--verbose shows them): the project's own
        # step lines (pipeline/step_log.py, from ML Metadata) say what each step did.
        # After a signal, the libraries' errors are its consequences (Beam's "Error closing
        # worker_handler"): the command's one line says what happened.
        def keep(record: logging.LogRecord) -> bool:
            if record.name.split(".")[0] in _PROJECT_LOGGERS:
                return True
            return record.levelno >= logging.ERROR and interrupts.received() is None

        handler.addFilter(keep)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    tensorflow_logger = logging.getLogger("tensorflow")
    tensorflow_logger.handlers[:] = []
    tensorflow_logger.setLevel(logging.INFO if verbose else logging.WARNING)
