"""``imdb-pipeline score``'s paths: the input folder the job reads, and the folders a failed job removes."""

import os
from pathlib import Path, PurePosixPath

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
import pytest

from components.file_patterns import all_files_pattern
from pipeline import score

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


@pytest.mark.parametrize(
    ("output", "message"),
    [
        # Before: exit 1 once the job ran, Beam's "OSError: [Errno 2] No such file or directory: '/proc/foo'".
        (
            "/proc/foo",
            "--output /proc/foo cannot be made: /proc is not a writable folder (No such file or directory)",
        ),
        (
            "/proc/self/new/deeper/",
            "--output /proc/self/new/deeper/ cannot be made: /proc/self is not a writable folder "
            "(No such file or directory)",
        ),
    ],
)
def test_an_output_the_os_will_not_make_is_refused_before_the_job(output, message):
    with pytest.raises(score.OutputExistsError) as raised:
        score.check_output(output)
    assert str(raised.value) == message


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
        expected = f"--output {output} cannot be made: a file is a file"
    elif nearest.startswith("/proc"):
        expected = f"--output {output} cannot be made: {nearest} is not a writable folder (No such file or directory)"
    else:
        expected = None
    if expected is None:
        score.check_output(output)
    else:
        with pytest.raises(score.OutputExistsError) as raised:
            score.check_output(output)
        assert str(raised.value) == expected
    assert _all_below(work) == ["a file", "a folder"]
