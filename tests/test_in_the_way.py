"""What is in the way of an output folder is named by its real kind, whatever the form of the path.

A file, a FIFO, a socket, a character device (``/dev/null``), a FIFO behind a magic link
(``/proc/self/fd/N`` of a pipe, as ``/dev/stdout`` under a pipe), a link loop or a link to nowhere;
given as it is, with a trailing ``/`` or ``/.``, or with a path below it.
"""

from __future__ import annotations

import os
import socket
import stat

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
import pytest

from pipeline import preflight, score

# What os.stat says, as the messages say it.
KINDS = {
    stat.S_IFREG: "a file",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFSOCK: "a socket",
    stat.S_IFCHR: "a character device",
}
FORMS = ["{}", "{}/", "{}/.", "{}/x", "{}/x/y", "{}/./x", "{}//x", "{}/x/../y"]


@pytest.fixture(scope="module")
def things(tmp_path_factory):
    """One of each kind of thing in the way, by name (and a pipe kept open for the magic link)."""
    base = tmp_path_factory.mktemp("way")
    (base / "file").write_text("x")
    os.mkfifo(base / "fifo")
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(base / "sock"))
    read_end, write_end = os.pipe()
    links = {
        "devnull": "/dev/null",
        "pipe": f"/proc/self/fd/{write_end}",  # a magic link: its target "pipe:[N]" is no path
        "tofifo": "fifo",
        "loop": "loop",
        "nowhere": "missing/x",
    }
    for name, target in links.items():
        (base / name).symlink_to(target)
    yield base
    listener.close()
    os.close(read_end)
    os.close(write_end)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    name=st.sampled_from(["file", "fifo", "sock", "devnull", "pipe", "tofifo", "loop", "nowhere"]),
    form=st.sampled_from(FORMS),
)
def test_what_is_in_the_way_is_named_by_its_kind(things, name, form):
    thing = str(things / name)
    output = form.format(thing)
    with pytest.raises(score.OutputExistsError) as raised:
        score.check_output(output)
    message = str(raised.value).replace("a regular file", "a file")  # said so of an existing output itself
    if name == "loop":
        assert f"{thing} is a symbolic link in a loop: {thing} -> {thing}" in message
        return
    if name == "nowhere":
        assert f"{thing} is a symbolic link to missing/x, which does not exist" in message
        return
    kind = KINDS[stat.S_IFMT(os.stat(thing).st_mode)]
    assert f"{thing} is {kind}" in message, message
    assert "nowhere" not in message and "pipe:[" not in message
    if (
        form != "{}"
    ):  # a folder is to be made below it, or at it: the pre-flight of run and compile says the same
        assert preflight.unreachable(output) == f"{thing} is {kind}, not a folder"


def test_compile_output_file_below_a_fifo_names_it_and_dotdot_after_a_link_is_the_oss(tmp_path, monkeypatch):
    from pipeline import kubeflow

    monkeypatch.chdir(tmp_path)
    os.mkfifo("fifo")
    with pytest.raises(kubeflow.OutputFileError) as raised, kubeflow._replacing("fifo/p.yaml"):
        pass
    assert str(raised.value) == "--output-file fifo/p.yaml: fifo is a FIFO, not a folder"
    (tmp_path / "d" / "deep").mkdir(parents=True)
    (tmp_path / "deepl").symlink_to("d/deep")
    with kubeflow._replacing("deepl/../p.yaml") as staging:
        assert os.path.dirname(staging) == str(tmp_path / "d")
        with open(staging, "w") as file:
            file.write("x")
    assert (tmp_path / "d" / "p.yaml").read_text() == "x"
    assert sorted(os.listdir(tmp_path / "d")) == ["deep", "p.yaml"]


def test_absolute_path_dotdot_after_a_link_is_above_its_target(tmp_path, monkeypatch):
    from pipeline.config import absolute_path

    monkeypatch.chdir(tmp_path)
    (tmp_path / "d" / "deep").mkdir(parents=True)
    (tmp_path / "deepl").symlink_to("d/deep")
    assert absolute_path("deepl/../new/x/") == str(tmp_path / "d" / "new" / "x")
    assert absolute_path("deepl/..") == str(tmp_path / "d")
    assert absolute_path("new/../y") == str(tmp_path / "y")
