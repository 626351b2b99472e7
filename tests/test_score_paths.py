"""``imdb-pipeline score``'s paths: the input folder the job reads, and the folders a failed job removes."""

import os
from pathlib import Path, PurePosixPath
import socket

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
import pytest

from components.file_patterns import all_files_pattern
from pipeline import cli, score

RECORDS = "data_tfrecord-00000-of-00001.gz"


def _read_folder(source: score.ScoreInput) -> str:
    """The folder a TFRecord folder input's pattern reads (the tree in these tests has no glob characters)."""
    assert source.kind == score.TFRECORD
    folder = source.pattern.removesuffix("/*")
    assert source.pattern == all_files_pattern(folder)
    return folder


def test_an_input_through_a_link_and_up_is_the_folder_the_os_reaches(tmp_path, monkeypatch):
    """``--input link/../x``: the OS follows ``link`` before ``..`` and reaches ``x`` beside the link's target.

    Before: resolve_input checked that folder but the job read ``./x`` (os.path.abspath drops ``link/..``
    as text), and check_output, which looked at the OS's folder, let ``--output x/out`` be written inside
    the folder the job read.
    """
    (tmp_path / "elsewhere" / "target").mkdir(parents=True)
    (tmp_path / "elsewhere" / "x").mkdir()
    (tmp_path / "elsewhere" / "x" / RECORDS).write_bytes(b"")
    (tmp_path / "work" / "x").mkdir(parents=True)
    (tmp_path / "work" / "x" / RECORDS).write_bytes(b"")
    (tmp_path / "work" / "link").symlink_to(tmp_path / "elsewhere" / "target")
    monkeypatch.chdir(tmp_path / "work")

    source = score.resolve_input("link/../x")

    assert _read_folder(source) == os.path.realpath(tmp_path / "elsewhere" / "x")
    assert source.shown(f"{_read_folder(source)}/{RECORDS}") == f"link/../x/{RECORDS}"
    score.check_output("x/out", "link/../x")  # ./x is another folder: the job does not read it
    for output in ("link/../x/out", "../elsewhere/x/out"):
        with pytest.raises(score.ScoreInputError) as raised:
            score.check_output(output, "link/../x")
        assert str(raised.value) == (
            f"--output {output} is inside the input folder link/../x: the job would read what it writes; "
            "choose a folder outside it"
        )


@pytest.fixture(scope="module")
def link_tree(tmp_path_factory) -> Path:
    """root/{a/b, c} and links root/l1 -> a/b, root/a/l2 -> ../c, root/c/up -> .., every folder a TFRecord
    folder; root lies two empty folders deep, so paths that climb above it are refused, not read."""
    root = tmp_path_factory.mktemp("tree") / "t1" / "t2" / "root"
    for folder in ("", "a", "a/b", "c"):
        (root / folder).mkdir(parents=True, exist_ok=True)
        (root / folder / RECORDS).write_bytes(b"")
    (root / "l1").symlink_to(root / "a" / "b")
    (root / "a" / "l2").symlink_to("../c")
    (root / "c" / "up").symlink_to("..")
    return root


_PARTS = st.lists(st.sampled_from([".", "..", "a", "b", "c", "l1", "l2", "up"]), min_size=1, max_size=5)


def _os_is_inside(folder_path: str, folder: str) -> bool:
    """Whether ``folder_path`` (an existing folder) is ``folder`` or below it, by the OS's own ``..``."""
    current = folder_path
    while True:
        if os.path.samefile(current, folder):
            return True
        if os.path.samefile(current, "/"):
            return False
        current = os.path.join(current, "..")


@settings(
    max_examples=150,
    deadline=None,
    # Most random paths are no folder (assumed away): too much filtering for the default health check.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much],
)
@given(cwd=st.sampled_from(["", "a", "a/b", "c"]), input_parts=_PARTS, output_parts=_PARTS)
def test_the_folder_the_job_reads_is_the_folder_checked_for_the_output(
    link_tree, monkeypatch, cwd, input_parts, output_parts
):
    """For relative paths of ``.``, ``..``, names and links: the job reads the folder the OS reaches, and
    check_output refuses an output exactly when the OS puts it inside that folder."""
    monkeypatch.chdir(link_tree / cwd)
    given_input = "/".join(input_parts)
    assume(os.path.isdir(given_input))
    try:
        source = score.resolve_input(given_input)
    except score.ScoreInputError:
        assume(False)  # above root: a folder of neither kind
    folder = _read_folder(source)
    assert os.path.samefile(folder, given_input)

    output_parent = "/".join(output_parts)
    assume(os.path.isdir(output_parent))
    output = f"{output_parent}/new"
    inside = _os_is_inside(output_parent, folder)
    if inside:
        with pytest.raises(score.ScoreInputError, match="is inside the input folder"):
            score.check_output(output, given_input)
    else:
        score.check_output(output, given_input)


def test_a_failed_job_removes_only_the_folders_it_made(tmp_path):
    """Before: ``str.startswith`` took ``t/ab`` for a folder below ``t/a`` (the one the job made), and the
    failed job removed the empty ``t/ab`` and ``t`` that were there before it."""
    (tmp_path / "t" / "ab").mkdir(parents=True)

    score._remove_empty_parents(str(tmp_path / "t" / "ab" / "out"), str(tmp_path / "t" / "a"))

    assert sorted(str(path.relative_to(tmp_path)) for path in tmp_path.rglob("*")) == ["t", "t/ab"]


def test_a_failed_job_removes_the_empty_folders_it_made_up_to_the_first(tmp_path):
    (tmp_path / "t" / "new" / "deeper").mkdir(parents=True)

    score._remove_empty_parents(str(tmp_path / "t" / "new" / "deeper" / "out"), str(tmp_path / "t" / "new"))

    assert [str(path.relative_to(tmp_path)) for path in tmp_path.rglob("*")] == ["t"]


_NAMES = st.lists(st.sampled_from(["a", "ab", "b", "a.b", ""]), min_size=1, max_size=4)


@given(path=_NAMES, folder=_NAMES)
def test_below_compares_whole_parts(path, folder):
    path_text, folder_text = "/" + "/".join(path), "/" + "/".join(folder)
    pure_path, pure_folder = PurePosixPath(path_text), PurePosixPath(folder_text)
    assume(str(pure_path) == path_text.rstrip("/") and str(pure_folder) == folder_text.rstrip("/"))
    expected = pure_path != pure_folder and pure_path.is_relative_to(pure_folder)
    assert score._is_below(path_text, folder_text) is expected


def _all_below(folder: Path) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*"))


def _unnamed_file_refusal(folder: str) -> str:
    """Why the OS makes no unnamed file in ``folder`` (/proc: EOPNOTSUPP, EACCES when not root; /proc/self: EPERM)."""
    with pytest.raises(OSError) as raised:
        os.open(folder, os.O_TMPFILE | os.O_WRONLY, 0o600)
    return raised.value.strerror


@pytest.mark.skipif(not hasattr(os, "O_TMPFILE"), reason="Linux's unnamed files (O_TMPFILE)")
@pytest.mark.parametrize(
    ("output", "message"),
    [
        # Before: exit 1 once the job ran, Beam's "OSError: [Errno 2] No such file or directory: '/proc/foo'";
        # then "(No such file or directory)", the folder probe's ENOENT, about a folder that exists.
        ("/proc/foo", "--output /proc/foo cannot be made: /proc is not a writable folder ({})"),
        (
            "/proc/self/new/deeper/",
            "--output /proc/self/new/deeper/ cannot be made: /proc/self is not a writable folder ({})",
        ),
    ],
)
def test_an_output_the_os_will_not_make_is_refused_before_the_job(output, message):
    nearest = "/proc/self" if output.startswith("/proc/self") else "/proc"
    with pytest.raises(score.OutputExistsError) as raised:
        score.check_output(output)
    assert str(raised.value) == message.format(_unnamed_file_refusal(nearest))
    assert "No such file or directory" not in str(raised.value)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes a read-only folder")
@pytest.mark.parametrize(("output", "problem"), [("ro", "cannot be written"), ("ro/new", "cannot be made")])
def test_an_output_in_a_read_only_folder_is_refused_before_the_job(tmp_path, monkeypatch, output, problem):
    (tmp_path / "ro").mkdir(mode=0o555)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(score.OutputExistsError) as raised:
        score.check_output(output)
    assert (
        str(raised.value) == f"--output {output} {problem}: ro is not a writable folder (Permission denied)"
    )


_TAILS = st.lists(st.sampled_from(["new", "a b", "é", "x.d"]), max_size=3)


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(nearest=st.sampled_from(["/proc", "/proc/self", "a file", "a folder", "."]), tail=_TAILS)
def test_an_output_is_refused_exactly_when_its_nearest_existing_folder_takes_no_new_folder(
    tmp_path, monkeypatch, nearest, tail
):
    """Whatever lies between the output and the nearest path that exists: refused (naming that path) unless
    it is a folder the OS makes a folder in; the check leaves nothing behind."""
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    (work / "a file").write_text("x")
    (work / "a folder").mkdir(exist_ok=True)
    monkeypatch.chdir(work)
    assume(
        tail or nearest == "a folder"
    )  # an existing output other than an empty folder is refused as before
    output = "/".join([nearest, *tail])
    if nearest == "a file":
        expected = f"--output {output} cannot be made: a file is a file, not a folder"
    elif nearest.startswith("/proc"):
        expected = f"--output {output} cannot be made: {nearest} is not a writable folder ({_unnamed_file_refusal(nearest)})"
    else:
        expected = None
    if expected is None:
        score.check_output(output)
    else:
        with pytest.raises(score.OutputExistsError) as raised:
            score.check_output(output)
        assert str(raised.value) == expected
    assert _all_below(work) == ["a file", "a folder"]


# --- Inputs that are no file or folder, names that are not UTF-8, standard output --------------------------


def _special_input(kind: str, folder: Path, opened: list[int]) -> str:
    """A path to an input of ``kind`` that is neither a regular file nor a folder."""
    if kind == "a pipe's descriptor":
        read, write = os.pipe()
        os.write(write, b"nice\n")
        opened += [read, write]
        return f"/proc/self/fd/{read}"
    if kind == "a FIFO":
        os.mkfifo(folder / "reviews.txt")
        return str(folder / "reviews.txt")
    if kind == "a link to a FIFO":
        os.mkfifo(folder / "fifo")
        (folder / "reviews.tfrecord").symlink_to(folder / "fifo")
        return str(folder / "reviews.tfrecord")
    if kind == "a socket":
        listener = socket.socket(socket.AF_UNIX)
        listener.bind(str(folder / "reviews.jsonl"))
        opened.append(listener.detach())
        return str(folder / "reviews.jsonl")
    return "/dev/null"


_SPECIAL_INPUTS = {
    "a pipe's descriptor": "a FIFO",
    "a FIFO": "a FIFO",
    "a link to a FIFO": "a FIFO",
    "a socket": "a socket",
    "a character device": "a character device",
}


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="Linux's /proc")
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(sorted(_SPECIAL_INPUTS)), input_format=st.sampled_from(score.INPUT_FORMATS))
def test_an_input_that_is_no_file_or_folder_is_refused_before_the_job(tmp_path_factory, kind, input_format):
    """``printf 'nice\\n' | imdb-pipeline score --input /dev/stdin``, a FIFO, a socket, ``/dev/null``.

    Before: /dev/stdin resolved to ``/proc/PID/fd/pipe:[N]`` and the job failed (``BeamIOError: Empty match
    for pattern``, exit 1); a FIFO would wait for a writer forever. Now: refused, saying what it is."""
    opened: list[int] = []
    try:
        path = _special_input(kind, tmp_path_factory.mktemp("special"), opened)
        with pytest.raises(score.ScoreInputError) as raised:
            score.resolve_input(path, input_format)
    finally:
        for descriptor in opened:
            os.close(descriptor)
    assert str(raised.value) == (
        f"--input {path} is {_SPECIAL_INPUTS[kind]}, not a file or folder: score reads neither standard input "
        "nor a pipe or device (imdb-pipeline predict reads reviews from standard input)"
    )


# --- Outputs that exist but are no folder ----------------------------------------------------------------

_TO_PREDICT = " (imdb-pipeline predict prints predictions to standard output)"


def _existing_output(kind: str, link: bool, folder: Path, opened: list[int]) -> str:
    """A path to an existing output of ``kind`` (an input kind above, or a regular file), or a link to it."""
    if kind == "a regular file":
        (folder / "scores.jsonl").write_text("x")
        path = str(folder / "scores.jsonl")
    else:
        path = _special_input(kind, folder, opened)
    if not link:
        return path
    (folder / "out").symlink_to(path)
    return str(folder / "out")


@pytest.mark.parametrize("link", [False, True], ids=["itself", "a link to it"])
@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("a regular file", "--output {} is a regular file; scoring writes a folder"),
        (
            "a character device",
            "--output {} is a character device; scoring writes a folder (imdb-pipeline predict prints "
            "predictions to standard output)",
        ),
        (
            "a FIFO",
            "--output {} is a FIFO; scoring writes a folder (imdb-pipeline predict prints predictions to "
            "standard output)",
        ),
        (
            "a socket",
            "--output {} is a socket; scoring writes a folder (imdb-pipeline predict prints predictions to "
            "standard output)",
        ),
    ],
)
def test_an_output_that_is_no_folder_says_what_it_is(tmp_path, kind, message, link):
    """``imdb-pipeline score --output /dev/stdout`` (or /dev/null, a FIFO, a socket, a file, a link to one).

    Before: every one was ``--output /dev/stdout is a file; scoring writes a folder``, true of none of them
    but a regular file, and not saying where predictions to standard output come from."""
    opened: list[int] = []
    try:
        output = _existing_output(kind, link, tmp_path, opened)
        with pytest.raises(score.OutputExistsError) as raised:
            score.check_output(output)
    finally:
        for descriptor in opened:
            os.close(descriptor)
    assert str(raised.value) == message.format(output)


_OUTPUT_KINDS = {**_SPECIAL_INPUTS, "a regular file": "a regular file"}


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="Linux's /proc")
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(sorted(set(_OUTPUT_KINDS) - {"a link to a FIFO"})), link=st.booleans())
def test_an_output_of_any_kind_but_a_folder_is_refused_saying_what_it_is(tmp_path_factory, kind, link):
    """Whatever the output is, itself or through a link (``/proc/self/fd/N`` of a pipe: ``/dev/stdout`` of a
    piped command): refused, naming its kind, and pointing to ``predict`` unless it is a regular file."""
    opened: list[int] = []
    try:
        output = _existing_output(kind, link, tmp_path_factory.mktemp("output"), opened)
        with pytest.raises(score.OutputExistsError) as raised:
            score.check_output(output)
    finally:
        for descriptor in opened:
            os.close(descriptor)
    hint = "" if kind == "a regular file" else _TO_PREDICT
    assert str(raised.value) == f"--output {output} is {_OUTPUT_KINDS[kind]}; scoring writes a folder{hint}"


_NAMES_NOT_UTF8 = [b"part-\xff.tfrecord", b"\xe9t\xe9-tfrecord.gz", b"notes-\xff.txt", b"_SUCCESS\xff"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    bad=st.lists(st.sampled_from(_NAMES_NOT_UTF8), min_size=1, max_size=2, unique=True),
    good=st.booleans(),
    input_format=st.sampled_from(["auto", score.TFRECORD]),
)
def test_a_folder_input_holding_a_name_that_is_not_utf8_is_refused_naming_it(
    tmp_path_factory, bad, good, input_format
):
    """``open(b'in/part-\\xff.tfrecord', 'wb')``; ``imdb-pipeline score --input in``.

    Before: ``FAILED: UnicodeDecodeError: 'utf-8' codec can't decode byte 0xff`` (exit 1: TensorFlow's
    listing decodes every name). Now: refused, the first such name shown as quarantine lines show it."""
    folder = tmp_path_factory.mktemp("names")
    for name in bad:
        with open(os.path.join(os.fsencode(folder), name), "wb"):
            pass
    if good:
        (folder / RECORDS).write_bytes(b"")
    first = sorted(os.fsdecode(name) for name in bad)[0]
    shown = first.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    with pytest.raises(score.ScoreInputError) as raised:
        score.resolve_input(str(folder), input_format)
    if (
        not good
        and input_format == "auto"
        and not any(b"tfrecord" in name and not name.startswith(b"_") for name in bad)
    ):
        assert "neither an IMDb dataset" in str(
            raised.value
        )  # no TFRecord file: the folder's kind is unknown
    else:
        assert str(raised.value) == (
            f"--input {folder} holds {folder}/{shown}, whose name is not UTF-8 (Apache Beam's file systems "
            "take only UTF-8 names): rename it"
        )


def test_a_name_that_is_not_utf8_beside_an_imdb_dataset_is_not_read(tmp_path):
    """An IMDb folder dataset reads train/ and test/ only (its reader sets aside names that are not UTF-8)."""
    (tmp_path / "train" / "pos").mkdir(parents=True)
    (tmp_path / "train" / "pos" / "0_9.txt").write_text("good")
    with open(os.path.join(os.fsencode(tmp_path), b"notes-\xff.txt"), "wb"):
        pass
    assert score.resolve_input(str(tmp_path)).kind == score.IMDB


def test_score_names_a_file_whose_name_is_not_utf8_with_exit_2(tmp_path, capsys):
    (tmp_path / "in").mkdir()
    with open(os.path.join(os.fsencode(tmp_path), b"in/part-\xff.tfrecord"), "wb"):
        pass
    code = cli.main(
        ["score", "--model", "m", "--input", str(tmp_path / "in"), "--output", str(tmp_path / "o")]
    )
    assert code == 2
    assert capsys.readouterr().err == (
        f"imdb-pipeline score: --input {tmp_path}/in holds {tmp_path}/in/part-\\xff.tfrecord, whose name is "
        "not UTF-8 (Apache Beam's file systems take only UTF-8 names): rename it\n"
    )
    assert sorted(os.listdir(tmp_path)) == ["in"]


def test_score_refuses_standard_output_and_names_predict_which_prints_to_it(tmp_path, monkeypatch, capsys):
    """``imdb-pipeline score --output -``. Before: the results went to a new folder ``./-`` (exit 0)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in.txt").write_text("a good film\n")
    assert cli.main(["score", "--model", "m", "--input", "in.txt", "--output", "-"]) == 2
    assert capsys.readouterr() == (
        "",
        "imdb-pipeline score: --output - is standard output, which score does not write: it writes a folder "
        "(./- for a folder named -); imdb-pipeline predict prints to standard output\n",
    )
    assert sorted(os.listdir(tmp_path)) == ["in.txt"]
