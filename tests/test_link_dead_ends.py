"""A symbolic link on the output's path whose target leads nowhere further up: through a loop, a missing
folder or a file, through another link (relative or absolute, chained), or over the 40 links Linux follows.
Pre-flight follows the target part by part and names the first real reason (``preflight.unreachable``)."""

from __future__ import annotations

import errno
import itertools
import os
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
import pytest

from pipeline import preflight


@pytest.mark.parametrize(
    ("links", "output", "problem"),
    [
        (  # a chain into a loop, relative and absolute links
            {"loopA": "loopB", "loopB": "loopA", "via": "loopA/x", "c1": "via", "c0": "{t}/c1"},
            "c0/sub",
            "{t}/c0 is a symbolic link that leads into a loop: {t}/c0 -> {t}/c1 -> {t}/via -> {t}/loopA/x, "
            "which goes through {t}/loopA -> {t}/loopB -> {t}/loopA",
        ),
        (
            {"loopA": "loopB", "loopB": "loopA", "via": "{t}/loopA/x"},
            "via",
            "{t}/via is a symbolic link that leads into a loop: {t}/via -> {t}/loopA/x, which goes through "
            "{t}/loopA -> {t}/loopB -> {t}/loopA",
        ),
        (
            {"via": "afile/x"},
            "via/sub",
            "{t}/via is a symbolic link to afile/x, which does not exist ({t}/afile is a file, not a folder)",
        ),
        (  # "file/." and "file/" are no file (pathlib reads both as "file")
            {"via": "afile/.", "via2": "afile/"},
            "via2/sub",
            "{t}/via2 is a symbolic link to afile/, which does not exist ({t}/afile is a file, not a folder)",
        ),
        (  # a link to the file on the way
            {"linked": "afile", "via": "linked/x"},
            "via/sub",
            "{t}/via is a symbolic link to linked/x, which does not exist ({t}/linked is a file, not a folder)",
        ),
        (
            {"self": "self/x"},
            "self/sub",
            "{t}/self is a symbolic link in a loop: {t}/self -> {t}/self/x, which goes through {t}/self",
        ),
        (
            {"dangling": "nowhere", "via": "dangling/x"},
            "via/sub",
            "{t}/via is a symbolic link that leads nowhere: {t}/via -> {t}/dangling/x, which goes through "
            "{t}/dangling -> {t}/nowhere",
        ),
    ],
)
def test_the_first_real_reason_a_link_leads_nowhere_is_named(tmp_path, links, output, problem):
    (tmp_path / "afile").write_text("x")
    for name, target in links.items():
        (tmp_path / name).symlink_to(target.format(t=tmp_path))

    assert preflight.unreachable(str(tmp_path / output)) == problem.format(t=tmp_path)


def test_more_than_40_links_on_one_path(tmp_path):
    """Linux follows 40 links in one path (ELOOP past them, as for a loop); 40 are fine."""
    (tmp_path / "real").mkdir()
    for count in (40, 41):
        folder = tmp_path / str(count)
        folder.mkdir()
        links = [folder / f"l{index}" for index in range(1, count + 1)]
        for link, target in itertools.pairwise(links):
            link.symlink_to(target.name)
        links[-1].symlink_to("../real")
        problem = preflight.unreachable(str(links[0] / "out"))
        if count == 40:
            assert problem is None
        else:
            assert problem == (
                f"{links[0]} is a symbolic link on a path of more than 40 symbolic links (Linux follows 40): "
                + " -> ".join(map(str, links))
            )
            assert _errno(links[0]) == errno.ELOOP


def _errno(path) -> int | None:
    try:
        os.stat(path)
    except OSError as error:
        return error.errno
    return None


_NAMES = ["a", "b", "c", "dir/d", "dir/e"]
_PARTS = ["a", "b", "c", "dir", "d", "e", "afile", "nowhere", "..", ".", ""]  # "": a//b, or a/ at the end


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    targets=st.lists(
        st.tuples(st.booleans(), st.lists(st.sampled_from(_PARTS), min_size=1, max_size=3)),
        min_size=len(_NAMES),
        max_size=len(_NAMES),
    ),
    start=st.sampled_from(_NAMES),
    below=st.sampled_from(["", "sub"]),
)
def test_what_a_dead_end_message_claims_holds_on_the_file_system(tmp_path_factory, targets, start, below):
    """Random graphs of links (relative or absolute targets through folders, files, other links, ``..``):
    a message is given exactly when a link on the path leads nowhere (the OS cannot follow it); each step it
    shows is the link's target as the link reads, every link it shows is one, a missing end is missing, a
    file is a file, a loop shown really comes back to a link shown before, and the OS agrees on the kind."""
    base = tmp_path_factory.mktemp("graph")
    (base / "dir").mkdir()
    (base / "afile").write_text("x")
    for name, (absolute, parts) in zip(_NAMES, targets, strict=True):
        text = "/".join(parts) or "."
        (base / name).symlink_to(f"{base}/{text}" if absolute else text)
    output = os.path.join(base, start, below) if below else str(base / start)
    problem = preflight.unreachable(output)

    dead = [
        part
        for part in (Path(output), *Path(output).parents)
        if part.is_symlink() and _errno(part) is not None
    ]
    # Else, a part on the way that the OS finds to be no folder (a link to a file) is named, by its kind.
    blocked = problem is not None and " is a symbolic link " not in problem
    assert (problem is None or blocked) == (not dead), (problem, dead)
    if blocked:
        part, _, kind = problem.partition(" is ")
        assert kind == "a file, not a folder" and os.path.isfile(part), problem
        assert _errno(output) == errno.ENOTDIR and Path(output).is_relative_to(part)
        return
    if problem is None:
        return
    first, claim = problem.split(" is a symbolic link ", 1)
    assert Path(first) == dead[-1]
    file = None
    if claim.endswith(" is a file, not a folder)"):
        claim, _, file = claim[: -len(" is a file, not a folder)")].rpartition(" (")
        assert os.path.isfile(file) and not os.path.isdir(file)
    kind, _, chain = claim.partition(": ")
    if kind.startswith("to "):  # one link, its target as it reads
        target, _, rest = kind[3:].rpartition(", which does not exist")
        assert (target, rest, chain) == (os.readlink(first), "", "")
        assert not os.path.exists(os.path.join(os.path.dirname(first), target))
        assert _errno(first) == (errno.ENOTDIR if file else errno.ENOENT)
        return
    shown = [step.split(", which goes through ") for step in chain.split(" -> ")]
    assert shown[0] == [first]
    for before, step in itertools.pairwise(shown):
        assert os.path.islink(before[-1])
        assert Path(step[0]) == Path(before[-1]).parent / os.readlink(before[-1])
        if len(step) == 2:  # the target goes through another link further up
            assert Path(step[0]).parts[: len(Path(step[1]).parts)] == Path(step[1]).parts
            assert os.path.islink(step[1]) and Path(step[1]) != Path(step[0])
    end = shown[-1][-1]
    if kind in ("in a loop", "that leads into a loop"):
        links = [os.lstat(step[-1]) for step in shown[:-1]]
        assert os.path.islink(end)
        looped = (os.lstat(end).st_dev, os.lstat(end).st_ino)
        assert looped in [(link.st_dev, link.st_ino) for link in links]
        assert (looped == (links[0].st_dev, links[0].st_ino)) == (kind == "in a loop")
        assert _errno(first) == errno.ELOOP
    elif kind == "that leads nowhere":
        assert len(shown[-1]) == 1 and not os.path.exists(end)
        assert _errno(first) == (errno.ENOTDIR if file else errno.ENOENT)
    else:
        assert kind == "on a path of more than 40 symbolic links (Linux follows 40)"
        assert os.path.islink(end) and _errno(first) == errno.ELOOP
