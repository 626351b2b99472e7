"""Bad configuration and environment: refused before any work, naming the field and what is allowed.

Also holds the project to never unpickling data it did not write itself
(``numpy.load(..., allow_pickle=False)``, ``yaml.safe_load``, no ``pickle.load``).
"""

from __future__ import annotations

import ast
import errno
import json
import os
from pathlib import Path
import subprocess
import sys
import tempfile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
import pytest
from tfx.types import standard_artifacts

from components.artifacts.types import EmbeddingMatrix, EmbeddingVectors
from components.embeddings import executor as embedding_executor
from components.embeddings.options import EmbeddingOptions
from components.example_gen.options import ExampleGenOptions
from components.options import OptionsError
from components.trainer.options import TrainerOptions
from components.transform.options import TransformOptions
from pipeline import cli, preflight, score
from pipeline.commands import common
from pipeline.config import MAX_CONFIG_BYTES, build_config, load_config_file
from tests.conftest import CLI, analyze, run_cli

PROJECT = Path(__file__).resolve().parents[1]


def config_from_command_line(*argv: str):
    args, beam_args = cli.build_parser().parse_known_args(["run", *argv])
    return cli.config_from_args(args, beam_args)


# --- example_gen options ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"max_review_bytes": 999}, "example_gen.max_review_bytes must be between 1000 and 1000000000, got 999"),
        ({"max_review_bytes": 10**10}, "example_gen.max_review_bytes must be between 1000 and 1000000000, got 10000000000"),
        ({"max_bad_share": 1.5}, "example_gen.max_bad_share must be between 0.0 and 1.0, got 1.5"),
        ({"max_bad_share": -0.1}, "example_gen.max_bad_share must be between 0.0 and 1.0, got -0.1"),
        ({"max_bad_share": "1%"}, "example_gen.max_bad_share must be a number, got '1%'"),
        ({"max_bad_records": -1}, "example_gen.max_bad_records must be between 0 and 1000000000, got -1"),
        ({"max_bad_records": 2.5}, "example_gen.max_bad_records must be a whole number, got 2.5"),
        ({"quarantine_duplicates": "yes"}, "example_gen.quarantine_duplicates must be true or false, got 'yes'"),
        ({"quarantine_test_overlap": 1}, "example_gen.quarantine_test_overlap must be true or false, got 1"),
        ({"max_bad": 3}, "unknown option 'example_gen.max_bad'; known: max_bad_records, max_bad_share, "
            "max_review_bytes, quarantine_duplicates, quarantine_test_overlap"),
    ],
)  # fmt: skip
def test_example_gen_options_are_checked_naming_the_field(values, message):
    with pytest.raises(OptionsError) as error:
        build_config({"example_gen": values})
    assert str(error.value) == message


def test_example_gen_options_come_from_the_config_file_and_flags(tmp_path):
    config_file = tmp_path / "config.yaml"
    config_file.write_text("example_gen:\n  max_bad_share: 0.05\n  max_review_bytes: 20000\n")

    config = config_from_command_line(
        "--config",
        str(config_file),
        "--example_gen.max_bad_records",
        "7",
        "--example_gen.quarantine_duplicates",
        "false",
    )

    assert config.example_gen == ExampleGenOptions(
        max_review_bytes=20_000, max_bad_share=0.05, max_bad_records=7, quarantine_duplicates=False
    )
    assert ExampleGenOptions.from_json(config.example_gen.to_json()) == config.example_gen


def test_help_lists_the_example_gen_options(capsys):
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["run", "--help"])
    help_text = capsys.readouterr().out
    for flag in (
        "--example_gen.max_review_bytes",
        "--example_gen.max_bad_share",
        "--example_gen.max_bad_records",
        "--example_gen.quarantine_duplicates",
        "--example_gen.quarantine_test_overlap",
    ):
        assert flag in help_text


# --- top-level fields and paths ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"data": 5}, "data must be a non-empty string, got 5"),
        ({"data": ""}, "data must be a non-empty string, got ''"),
        ({"output": None}, "output must be a non-empty string, got None"),
        ({"output": ["a"]}, "output must be a non-empty string, got ['a']"),
        ({"model_name": 7}, "model_name must be a non-empty string, got 7"),
        ({"pipeline_name": ""}, "pipeline_name must be a non-empty string, got ''"),
        ({"vectors": 3}, "vectors must be a non-empty string, got 3"),
    ],
)
def test_top_level_fields_of_the_wrong_type_are_refused(values, message):
    with pytest.raises(OptionsError) as error:
        build_config(values)
    assert str(error.value) == message


def test_a_data_file_that_is_not_an_archive_is_refused(tmp_path):
    notes = tmp_path / "reviews.csv"
    notes.write_text("text,label\n")
    with pytest.raises(OptionsError) as error:
        preflight.check(build_config({"data": str(notes)}))
    assert str(error.value) == f"data: {notes} is a file but not a dataset archive (.tar.gz, .tgz, .tar)"


def test_an_output_below_a_file_is_refused(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    with pytest.raises(OptionsError) as error:
        preflight.check(build_config({"output": str(blocker / "runs" / "full")}))
    assert str(error.value) == (
        f"output: cannot create {blocker}/runs/full: {blocker} is a file, not a folder"
    )


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write to any folder, whatever its permissions")
def test_an_output_in_a_read_only_folder_is_refused(tmp_path):
    read_only = tmp_path / "read-only"
    read_only.mkdir()
    read_only.chmod(0o555)
    try:
        with pytest.raises(OptionsError) as error:
            preflight.check(build_config({"output": str(read_only / "out")}))
    finally:
        read_only.chmod(0o755)
    assert str(error.value) == (
        f"output: cannot write to {read_only}/out: {read_only}, the nearest existing folder, is not writable "
        "(Permission denied)"
    )


def test_an_output_that_the_process_may_not_write_is_refused(tmp_path, monkeypatch):
    """The same check as above, for runs as root (CI containers): the OS refuses a new folder there."""
    output = tmp_path / "out"
    output.mkdir()
    real_open, real_mkstemp = os.open, tempfile.mkstemp

    def refused(path: str) -> None:
        if Path(path) == output:
            raise PermissionError(13, "Permission denied")

    def open_(path: str, *args):
        refused(path)
        return real_open(path, *args)

    def mkstemp(prefix: str, dir: str) -> tuple[int, str]:
        refused(dir)
        return real_mkstemp(prefix=prefix, dir=dir)

    monkeypatch.setattr(os, "open", open_)
    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    with pytest.raises(OptionsError) as error:
        preflight.check(build_config({"output": str(output)}))
    assert (
        str(error.value) == f"output: cannot write to {output}: {output} is not writable (Permission denied)"
    )


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    place=st.sampled_from(["folder", "file", "/proc", "/proc/sys", "/proc/self", "/proc/self/fd"]),
    names=st.lists(
        st.text("abx-_.0", max_size=6).map("new-{}".format),  # never an existing entry (/proc/self/fd/0)
        min_size=1,
        max_size=3,
    ),
)
def test_run_and_score_refuse_the_same_new_outputs(tmp_path_factory, place, names):
    """One rule for ``run --output`` and ``score --output``: the OS is asked to make a folder where the
    output would be made. Below ``/proc`` it will not, whatever ``os.access`` says (yes, as root)."""
    base = tmp_path_factory.mktemp("out")
    (base / "file").write_text("x")
    output = os.path.join(base / place, *names)
    try:
        score.check_output(output)
    except (score.OutputExistsError, score.ScoreInputError):
        score_refuses = True
    else:
        score_refuses = False
    config = build_config({"output": output})  # /proc/self resolved
    try:
        preflight.check(config)
    except OptionsError as error:
        problem = "cannot create" if place == "file" else "cannot write to"
        assert str(error).startswith(f"output: {problem} {config.output}: ")
        run_refuses = True
    else:
        run_refuses = False

    assert run_refuses == score_refuses == (place != "folder")
    assert not os.path.lexists(output)


@pytest.mark.skipif(not hasattr(os, "O_TMPFILE"), reason="Linux's unnamed files (O_TMPFILE)")
@pytest.mark.parametrize("where", ["tmp_path", "/dev/shm"])
def test_where_the_file_system_makes_unnamed_files_the_probe_names_nothing(tmp_path, monkeypatch, where):
    """An unnamed file vanishes when closed: no moment when a killed process would leave a file behind."""
    folder = str(tmp_path) if where == "tmp_path" else where
    if not os.path.isdir(folder):
        pytest.skip(f"no {folder}")
    try:
        os.close(os.open(folder, os.O_TMPFILE | os.O_WRONLY))
    except OSError as error:  # tmpfs (/dev/shm) makes them since Linux 3.11, overlayfs since 6.6
        pytest.skip(f"{folder}'s file system makes no unnamed file ({error.strerror})")
    before = sorted(os.listdir(folder))

    def mkstemp(prefix: str, dir: str) -> tuple[int, str]:
        raise AssertionError(f"a named file was made in {dir}")

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    assert preflight.cannot_write_in(folder) is None
    assert sorted(os.listdir(folder)) == before


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux's /proc")
@pytest.mark.parametrize("folder", ["/proc", "/proc/self"])
def test_where_no_unnamed_file_may_be_made_making_a_named_one_answers(folder):
    """/proc makes no unnamed file, and refuses one with another error than a named one (EOPNOTSUPP in /proc,
    EACCES there when not root; EPERM in /proc/self). A new file there is ENOENT, untrue of a folder that
    exists: the unnamed file's error is reported."""
    with pytest.raises(OSError) as raised:
        os.open(folder, os.O_TMPFILE | os.O_WRONLY, 0o600)
    assert raised.value.errno != errno.ENOENT
    with pytest.raises(FileNotFoundError):
        tempfile.mkstemp(dir=folder)
    error = preflight.cannot_write_in(folder)
    assert (type(error), error.errno, error.strerror) == (
        type(raised.value),
        raised.value.errno,
        raised.value.strerror,
    )


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    refusal=st.sampled_from(["no O_TMPFILE", errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL]),
    writable=st.booleans(),
)
def test_when_no_unnamed_file_is_made_the_probe_makes_and_removes_a_named_one(tmp_path, refusal, writable):
    """A file system without unnamed files (macOS, /proc, FUSE, an old kernel: EOPNOTSUPP, EISDIR, EINVAL):
    a named file decides (not a folder: in a cgroup file system that makes a cgroup), and its error is the
    one reported."""
    folder = tmp_path / f"probe-{refusal}-{writable}"
    folder.mkdir(exist_ok=True)
    made: list[str] = []
    real_open, real_mkstemp, unnamed = os.open, tempfile.mkstemp, getattr(os, "O_TMPFILE", None)

    def open_(path, flags, *args):
        if unnamed is not None and flags & unnamed == unnamed:
            raise OSError(refusal, os.strerror(refusal))
        return real_open(path, flags, *args)

    def mkstemp(prefix: str, dir: str) -> tuple[int, str]:
        if not writable:
            raise PermissionError(errno.EACCES, "Permission denied")
        descriptor, name = real_mkstemp(prefix=prefix, dir=dir)
        made.append(name)
        return descriptor, name

    with pytest.MonkeyPatch.context() as patch:
        if refusal == "no O_TMPFILE":
            patch.delattr(os, "O_TMPFILE", raising=False)
        patch.setattr(os, "open", open_)
        patch.setattr(tempfile, "mkstemp", mkstemp)
        error = preflight.cannot_write_in(str(folder))
    if writable:
        assert error is None
        assert [Path(path).parent for path in made] == [folder]
        assert Path(made[0]).name.startswith(".imdb-pipeline-")
    else:
        assert (type(error), error.errno, error.strerror) == (
            PermissionError,
            errno.EACCES,
            "Permission denied",
        )
    assert os.listdir(folder) == []


@pytest.mark.skipif(not hasattr(os, "O_TMPFILE"), reason="Linux's unnamed files (O_TMPFILE)")
@pytest.mark.parametrize(
    "refusal", [errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.EMFILE]
)
def test_an_unnamed_file_refused_for_a_reason_is_the_answer_and_no_named_file_is_made(tmp_path, refusal):
    """Before: any refusal fell back to making a folder, which a kill in between would leave behind."""
    real_open = os.open

    def open_(path, flags, *args):
        if flags & os.O_TMPFILE == os.O_TMPFILE:
            raise OSError(refusal, os.strerror(refusal))
        return real_open(path, flags, *args)

    def mkstemp(prefix: str, dir: str) -> tuple[int, str]:
        raise AssertionError(f"a named file was made in {dir}")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "open", open_)
        patch.setattr(tempfile, "mkstemp", mkstemp)
        error = preflight.cannot_write_in(str(tmp_path))
    assert (type(error), error.errno, error.strerror) == (
        type(OSError(refusal, "")),
        refusal,
        os.strerror(refusal),
    )
    assert os.listdir(tmp_path) == []


@pytest.mark.skipif(not hasattr(os, "O_TMPFILE"), reason="Linux's unnamed files (O_TMPFILE)")
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(refusal=st.sampled_from([errno.ENOSPC, errno.EDQUOT, errno.EOPNOTSUPP, errno.EINVAL]))
def test_the_unnamed_file_reserves_a_block_so_a_full_file_system_is_not_writable(
    tmp_path, monkeypatch, refusal
):
    """A full file system still makes an unnamed file (an inode, no block): one byte is reserved in it. No
    space (ENOSPC) or quota (EDQUOT) left is the answer, for run and score alike; a file system that reserves
    nothing ahead (EOPNOTSUPP, EINVAL) is taken as writable, as before. The descriptor is closed either way."""
    folder = tmp_path / "full"
    folder.mkdir(exist_ok=True)
    reserved: list[int] = []
    closed: list[int] = []
    real_close = os.close

    def fallocate(descriptor: int, offset: int, length: int) -> None:
        reserved.append(descriptor)
        assert (offset, length) == (0, 1)
        raise OSError(refusal, os.strerror(refusal))

    def close(descriptor: int) -> None:
        closed.append(descriptor)
        real_close(descriptor)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "posix_fallocate", fallocate)
        patch.setattr(os, "close", close)
        error = preflight.cannot_write_in(str(folder))
        run_problem = preflight._unwritable(str(folder / "out"))
        try:
            score.check_output(str(folder / "sc"))
        except score.OutputExistsError as raised:
            score_problem = str(raised)
        else:
            score_problem = None
    assert reserved and closed[: len(reserved)] == reserved
    reason = os.strerror(refusal)
    if refusal in (errno.ENOSPC, errno.EDQUOT):
        assert (error.errno, error.strerror) == (refusal, reason)
        assert run_problem == (
            f"cannot write to {folder}/out: {folder}, the nearest existing folder, is not writable ({reason})"
        )
        assert (
            score_problem
            == f"--output {folder}/sc cannot be made: {folder} is not a writable folder ({reason})"
        )
    else:
        assert error is run_problem is score_problem is None
    assert os.listdir(folder) == []


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    above=st.lists(st.sampled_from(["a", "b c", "é"]), max_size=2, unique=True),
    below=st.lists(st.sampled_from(["new", "x.d"]), max_size=2),
    target=st.sampled_from(["absolute", "relative", "below a file", "a dangling link"]),
)
def test_a_symbolic_link_to_nowhere_on_the_output_path_is_refused_by_run_and_score(
    tmp_path_factory, above, below, target
):
    """``ln -s /nowhere out``: ``os.makedirs`` fails on a link to nowhere (FileExistsError), wherever it
    stands in the output's path, as its last part or with folders to make below it; run's pre-flight and
    score refuse it before anything runs, naming the link and where it points. Nothing is made."""
    base = tmp_path_factory.mktemp("links")
    (base / "file").write_text("x")
    folder = base.joinpath(*above)
    folder.mkdir(parents=True, exist_ok=True)
    link = folder / "link"
    pointed = {
        "absolute": str(base / "nowhere" / "x"),
        "relative": "nowhere",
        "below a file": str(base / "file" / "x"),
        "a dangling link": str(base / "second"),
    }[target]
    if target == "a dangling link":
        (base / "second").symlink_to(base / "nowhere")
    link.symlink_to(pointed)
    output = os.path.join(link, *below)
    expected = f"{link} is a symbolic link to {pointed}, which does not exist"
    if target == "a dangling link":  # the link that leads nowhere is named, not the one that exists
        expected = f"{link} is a symbolic link that leads nowhere: {link} -> {pointed} -> {base / 'nowhere'}"
    if target == "below a file":  # the part that cannot hold a folder is named too
        expected += f" ({base / 'file'} is a file, not a folder)"

    assert preflight._unwritable(output) == f"cannot create {output}: {expected}"
    with pytest.raises(score.OutputExistsError) as raised:
        score.check_output(output)
    assert str(raised.value) == f"--output {output} cannot be made: {expected}"
    with pytest.raises(OptionsError) as refused:  # the configuration resolves only what exists
        preflight.check(build_config({"output": output}))
    assert str(refused.value) == f"output: cannot create {output}: {expected}"
    assert link.is_symlink() and not os.path.lexists(base / "nowhere") and not os.path.exists(link)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    length=st.integers(1, 5),
    loop=st.booleans(),
    below=st.lists(st.sampled_from(["out", "x.d"]), max_size=2),
)
def test_a_chain_of_links_is_named_up_to_where_it_leads_nowhere(tmp_path_factory, length, loop, below):
    """``l0 -> l1 -> ... -> nowhere`` (or back to ``l0``), on the output's path: run and score name the first
    link and the chain, to the missing path or round the loop; one link to nowhere keeps its words."""
    base = tmp_path_factory.mktemp("chain")
    links = [base / f"l{index}" for index in range(length)]
    end = links[0] if loop else base / "nowhere"
    for link, target in zip(links, [*links[1:], end], strict=True):
        link.symlink_to(target.name)
    output = os.path.join(links[0], *below)
    chain = " -> ".join(map(str, [*links, end]))
    if loop:
        expected = f"{links[0]} is a symbolic link in a loop: {chain}"
    elif length == 1:
        expected = f"{links[0]} is a symbolic link to nowhere, which does not exist"
    else:
        expected = f"{links[0]} is a symbolic link that leads nowhere: {chain}"

    assert preflight.unreachable(output) == expected
    with pytest.raises(score.OutputExistsError) as raised:
        score.check_output(output)
    assert str(raised.value) == f"--output {output} cannot be made: {expected}"
    with pytest.raises(OptionsError) as refused:
        preflight.check(build_config({"output": output}))
    assert str(refused.value) == f"output: cannot create {output}: {expected}"
    assert sorted(base.iterdir()) == links


def test_a_remote_output_is_not_checked_locally():
    assert build_config({"output": "gs://bucket/imdb"}).output == "gs://bucket/imdb"


def test_an_unwritable_output_stops_the_cli_before_any_work(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = run_cli("run", "--output", str(blocker / "out"), cwd=tmp_path)
    assert result.returncode == cli.EXIT_USAGE
    assert (
        f"imdb-pipeline run: configuration error: output: cannot create {blocker}/out: {blocker} is a file"
        in result.stderr
    )
    assert sorted(os.listdir(tmp_path)) == ["file"]


# --- nothing is unpickled ----------------------------------------------------------------------------

# Project code that runs in the pipeline or beside it (tests read files they wrote).
PROJECT_CODE = ("components", "pipeline", "schemas", "tools", "benchmarks")
# Calls that would build arbitrary objects from a file.
FORBIDDEN_CALLS = {
    ("pickle", "load"),
    ("pickle", "loads"),
    ("marshal", "load"),
    ("marshal", "loads"),
    ("shelve", "open"),
    ("joblib", "load"),
    ("dill", "load"),
    ("dill", "loads"),
    ("pd", "read_pickle"),
    ("pandas", "read_pickle"),
    ("yaml", "load"),
    ("yaml", "full_load"),
    ("yaml", "unsafe_load"),
    ("torch", "load"),
}
NUMPY_LOADS = {"load", "read_array"}


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return node.id if isinstance(node, ast.Name) else "?"


def unpickling_problems(source: str, name: str) -> list[str]:
    """Each call that may unpickle foreign data, as ``file:line: what``."""
    problems = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            dotted = _dotted(node.func)
            owner, _, function = dotted.rpartition(".")
            if (owner.split(".")[-1], function) in FORBIDDEN_CALLS:
                problems.append(f"{name}:{node.lineno}: {dotted}")
            elif owner.split(".")[0] in ("np", "numpy") and function in NUMPY_LOADS:
                keywords = {keyword.arg: keyword.value for keyword in node.keywords}
                value = keywords.get("allow_pickle")
                if not (isinstance(value, ast.Constant) and value.value is False):
                    problems.append(f"{name}:{node.lineno}: {dotted} without allow_pickle=False")
        if isinstance(node, ast.ClassDef) and any(_dotted(base) == "pickle.Unpickler" for base in node.bases):
            methods = {item.name for item in node.body if isinstance(item, ast.FunctionDef)}
            if "find_class" not in methods:
                problems.append(f"{name}:{node.lineno}: unpickler {node.name} does not restrict find_class")
    return problems


def test_no_project_code_unpickles_data_it_did_not_write():
    files = sorted(path for folder in PROJECT_CODE for path in (PROJECT / folder).rglob("*.py"))
    assert len(files) > 20
    problems = [
        problem
        for path in files
        for problem in unpickling_problems(path.read_text(encoding="utf-8"), str(path.relative_to(PROJECT)))
    ]
    assert problems == []


def test_the_unpickling_check_finds_what_it_looks_for():
    source = (
        "import numpy as np, pickle, yaml\n"
        "a = np.load(path)\n"
        "b = np.load(path, allow_pickle=True)\n"
        "c = np.load(path, allow_pickle=False)\n"
        "d = pickle.loads(data)\n"
        "e = yaml.load(text, Loader=yaml.Loader)\n"
        "f = yaml.safe_load(text)\n"
        "class Open(pickle.Unpickler):\n    pass\n"
        "class Closed(pickle.Unpickler):\n    def find_class(self, module, name):\n        raise ValueError\n"
    )
    assert unpickling_problems(source, "x.py") == [
        "x.py:8: unpickler Open does not restrict find_class",
        "x.py:2: np.load without allow_pickle=False",
        "x.py:3: np.load without allow_pickle=False",
        "x.py:5: pickle.loads",
        "x.py:6: yaml.load",
    ]


def test_a_yaml_config_cannot_run_code(tmp_path):
    marker = tmp_path / "pwned"
    config_file = tmp_path / "evil.yaml"
    config_file.write_text(f"data: !!python/object/apply:os.system ['touch {marker}']\n")
    with pytest.raises(OptionsError) as error:
        load_config_file(str(config_file))
    assert str(error.value).startswith(
        f"config file {config_file}, line 1: not valid YAML: could not determine a constructor"
    )
    assert not marker.exists()


# --- a pretrained dimension that conflicts with the configured one ---------------------------------


def _glove_3d(tmp_path) -> str:
    path = tmp_path / "glove.3d.txt"
    path.write_text("the 0.5 0.25 -1\nmovie 1 -0.5 3\n", encoding="utf-8")
    return str(path)


def test_a_vectors_file_of_another_dimension_is_refused_before_any_work(tmp_path):
    glove = _glove_3d(tmp_path)
    with pytest.raises(OptionsError) as error:
        preflight.check(config_from_command_line("--vectors", glove, "--embedding.dimension", "300"))
    assert str(error.value) == (
        f"embedding.dimension is 300, but {glove} has 3-dimensional vectors; "
        "set embedding.dimension to 3, or to 0 to take the vectors' dimension"
    )
    assert build_config({"vectors": glove, "embedding": {"dimension": 3}}).embedding.dimension == 3
    assert build_config({"vectors": glove}).embedding.dimension == 0  # 0: take the file's


def test_the_dimension_of_a_binary_file_is_read_from_its_start(tmp_path):
    binary = tmp_path / "vectors.bin"
    binary.write_bytes(b"2 4\nthe " + bytes(16) + b"movie " + bytes(16))
    with pytest.raises(OptionsError) as error:
        preflight.check(build_config({"vectors": str(binary), "embedding": {"dimension": 3}}))
    assert str(error.value).startswith(f"embedding.dimension is 3, but {binary} has 4-dimensional vectors")


def test_a_configured_dimension_that_word2vec_would_not_train_is_refused():
    with pytest.raises(OptionsError) as error:
        build_config({"embedding": {"dimension": 300}})
    assert str(error.value) == (
        "embedding.dimension is 300, but word2vec.dimension (the vectors trained when no --vectors file is "
        "given) is 50; set them equal, or embedding.dimension to 0"
    )
    assert (
        build_config({"embedding": {"dimension": 300}, "word2vec": {"dimension": 300}}).word2vec.dimension
        == 300
    )


def test_a_vectors_file_whose_first_record_is_bad_is_refused_when_its_dimension_is_checked(tmp_path):
    bad = tmp_path / "glove.txt"
    bad.write_text("the 0.5 oops\n", encoding="utf-8")
    with pytest.raises(OptionsError) as error:
        preflight.check(build_config({"vectors": str(bad), "embedding": {"dimension": 2}}))
    assert (
        str(error.value) == f"vectors: {bad}, line 1: non-numeric value 'oops' (value 2 of 2) for word 'the'"
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (-1, "embedding.dimension must be between 0 and 10000, got -1"),
        (10_001, "embedding.dimension must be between 0 and 10000, got 10001"),
        ("300d", "embedding.dimension must be a whole number, got '300d'"),
    ],
)
def test_the_embedding_dimension_is_range_checked(value, message):
    with pytest.raises(OptionsError) as error:
        build_config({"embedding": {"dimension": value}})
    assert str(error.value) == message


def test_a_remote_vectors_file_is_left_to_the_aligner():
    config = build_config({"vectors": "gs://bucket/glove.840B.300d.txt", "embedding": {"dimension": 300}})
    assert (config.vectors, config.embedding.dimension) == ("gs://bucket/glove.840B.300d.txt", 300)


def test_the_aligner_refuses_vectors_of_another_dimension_before_reading_them(tmp_path):
    """The check for files only the aligner can read (gs://): here a local one, same code path."""
    transform_dir = str(tmp_path / "transform_graph")
    analyze(
        ["the movie", "a movie"],
        TransformOptions(vocab_size=10, min_frequency=1, max_length=4),
        transform_dir,
    )
    glove = _glove_3d(tmp_path)

    def artifact(artifact_type, uri):
        instance = artifact_type()
        instance.uri = uri
        return instance

    out = tmp_path / "embedding"
    out.mkdir()
    with pytest.raises(OptionsError) as error:
        embedding_executor.EmbeddingAlignerExecutor().Do(
            {
                "transform_graph": [artifact(standard_artifacts.TransformGraph, transform_dir)],
                "vectors": [artifact(EmbeddingVectors, glove)],
            },
            {"embedding": [artifact(EmbeddingMatrix, str(out))]},
            {"options": EmbeddingOptions(dimension=50).to_json()},
        )
    assert str(error.value) == (
        f"embedding.dimension is 50, but {glove} has 3-dimensional vectors; "
        "set embedding.dimension to 3, or to 0 to take the vectors' dimension"
    )
    assert os.listdir(out) == []


# --- Beam flags from a config file and the command line -------------------------------------------


def test_command_line_beam_flags_override_the_config_files_flag_by_flag(tmp_path):
    config = tmp_path / "conf.yaml"
    config.write_text(
        "beam_args: [--runner=DataflowRunner, --project=p, --region, europe-west1, --experiments=a]\n",
        encoding="utf-8",
    )

    built = config_from_command_line(
        "--config", str(config), "--region=us-east1", "--job_name", "nightly", "--experiments=b"
    )

    assert built.beam_args == (
        "--runner=DataflowRunner",
        "--project=p",
        "--region=us-east1",
        "--job_name",
        "nightly",
        "--experiments=b",
    )


def _text_options() -> list[str]:
    """Every section option whose value is text: free text or a choice (a ``StrEnum``)."""
    from pipeline.config import SECTIONS

    return [
        f"{section}.{name}"
        for section, options_class in SECTIONS.items()
        for name, field in options_class.model_fields.items()
        if field.annotation in (str, str | None)
        or (isinstance(field.annotation, type) and issubclass(field.annotation, str))
    ]


@pytest.mark.parametrize("option", ["output", "data", "vectors", *_text_options()])
def test_a_value_that_is_not_utf8_is_refused_for_every_text_option(option):
    with pytest.raises(OptionsError, match=rf"^{option.replace('.', '[.]')}: '/x\\xff' is not UTF-8 text"):
        build_config(overrides={option: "/x\udcff"})


def test_a_beam_flag_that_is_not_utf8_is_refused():
    with pytest.raises(OptionsError, match=r"^beam_args: '--job_name=\\xff' is not UTF-8 text"):
        build_config(overrides={"beam_args": ["--job_name=\udcff"]})


def test_a_value_with_a_surrogate_that_stands_for_no_byte_is_refused_naming_it():
    # A YAML or JSON "\ud800" (no argument's byte): was a UnicodeEncodeError from the message's own making.
    with pytest.raises(OptionsError) as error:
        build_config(overrides={"beam_args": ["--job_name=\ud800\udcff"]})
    assert str(error.value) == (
        "beam_args: '--job_name=\\ud800\\xff' holds U+D800, a lone UTF-16 surrogate (an escape such as \\ud800), "
        "which no UTF-8 text holds; fix the value"
    )


@pytest.mark.parametrize("key", ["data", "vectors", "output"])
def test_a_config_file_path_with_a_surrogate_that_stands_for_no_byte_is_refused_naming_it(key, tmp_path):
    # A config file's relative path is made absolute before the options are checked: realpath raised
    # UnicodeEncodeError (a traceback) on YAML's "\ud800".
    with pytest.raises(OptionsError) as error:
        build_config({key: "x\ud800"}, file_dir=str(tmp_path))
    assert str(error.value) == (
        f"{key}: 'x\\ud800' holds U+D800, a lone UTF-16 surrogate (an escape such as \\ud800), which no UTF-8 "
        "text holds; fix the value"
    )


def test_a_long_value_that_is_not_utf8_is_shown_cut_short():
    with pytest.raises(OptionsError) as error:
        build_config(overrides={"output": "/" + "x" * 300 + "\udcff"})
    assert str(error.value) == (
        f"output: /{'x' * 199}... is not UTF-8 text (it holds bytes that are not UTF-8, shown as \\xXX); "
        "rename it, or name it through a path that is UTF-8"
    )


@given(value=st.text(st.characters(blacklist_characters="\x00") | st.characters(categories=["Cs"])))
def test_a_value_that_is_not_utf8_is_refused_with_a_message_that_is_utf8(value):
    """Any lone surrogate, an argument's byte (\\udc80-\\udcff) or none (a YAML "\\ud800"): the message is
    text every output can carry, and a UTF-8 value is taken as it is."""
    from components.options import check_text

    try:
        assert check_text("data", value) == value
        value.encode("utf-8")
    except OptionsError as error:
        str(error).encode("utf-8")
        assert str(error).startswith("data: '")
        no_byte = [char for char in value if "\ud800" <= char <= "\udc7f" or "\udd00" <= char <= "\udfff"]
        if no_byte:  # a surrogate that stands for no byte of a name is named
            assert f" holds U+{ord(no_byte[0]):04X}, a lone UTF-16 surrogate " in str(error)
        else:
            assert "is not UTF-8 text (it holds bytes that are not UTF-8" in str(error)


def _float_options() -> list[str]:
    from pipeline.config import SECTIONS

    return [
        f"{section}.{name}"
        for section, options_class in SECTIONS.items()
        for name, field in options_class.model_fields.items()
        if field.annotation is float
    ]


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan")])
@pytest.mark.parametrize("option", _float_options())
def test_a_non_finite_value_is_refused_for_every_number_option(option, value):
    with pytest.raises(OptionsError) as error:
        build_config(overrides={option: value})
    assert str(error.value) == f"{option} must be a finite number, got {value!r}"


def test_a_yaml_alias_bomb_makes_a_short_error(tmp_path):
    """287 bytes of aliases expand to billions of items: the message shows the value cut short."""
    levels = ["beam_args:", "  - &a0 [--x, --x, --x, --x, --x, --x, --x, --x, --x]"]
    levels += [f"  - &a{n} [{', '.join([f'*a{n - 1}'] * 9)}]" for n in range(1, 9)]
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(levels) + "\n")
    with pytest.raises(OptionsError) as error:
        config_from_command_line("--config", str(path))
    assert str(error.value).startswith(
        f"config file {path}, line 1: beam_args must be a list of flags, got [["
    )
    assert len(str(error.value)) - len(str(path)) < 400  # the value's part: 4.3 MB before


def test_a_huge_number_is_shown_cut_short(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("trainer:\n  epochs: " + "9" * 5000 + "\n")
    with pytest.raises(OptionsError) as error:
        config_from_command_line("--config", str(path))
    assert str(error.value).startswith(f"config file {path}, line 2: not valid YAML: '99999")
    assert len(str(error.value)) < 600


@pytest.mark.parametrize(
    ("raw", "line", "code"), [(b"a: 1\nmodel_name: a\x07b\n", 2, "0x0007"), (b"\x00", 1, "0x0000")]
)
def test_a_control_character_in_a_config_file_is_an_error_naming_its_line(tmp_path, raw, line, code):
    path = tmp_path / "c.yaml"
    path.write_bytes(raw)
    with pytest.raises(OptionsError) as error:
        load_config_file(str(path))
    assert str(error.value) == (
        f"config file {path}, line {line}: not valid YAML: character {code} is not allowed (a control character)"
    )


@pytest.mark.parametrize("text", ["2024-01-01", "=", "<<", "2001-12-14t21:59:43.10-05:00"])
def test_yaml_1_1_timestamps_merge_and_value_scalars_are_strings(tmp_path, text):
    path = tmp_path / "c.yaml"
    path.write_text(f"model_name: {text}\npipeline_name: '{text}'\n")
    assert load_config_file(str(path)).get("model_name") == text


def test_a_merge_key_is_an_unknown_option(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("trainer: {<<: {epochs: 2}}\n")
    with pytest.raises(OptionsError, match=r"unknown"):
        config_from_command_line("--config", str(path))


@pytest.mark.parametrize("name", ["a" * 256, "é" * 128])
def test_a_model_name_longer_than_a_folder_name_is_refused(name):
    with pytest.raises(OptionsError) as error:
        build_config({"model_name": name})
    assert str(error.value) == "model_name must be at most 255 bytes (a folder name), got 256"
    assert build_config({"model_name": "a" * 255}).model_name == "a" * 255


@pytest.mark.parametrize("given", [["--config", ""], ["--config= "]])
def test_an_empty_config_path_is_a_usage_error(given):
    with pytest.raises(cli.UsageError) as error:
        config_from_command_line(*given)
    assert str(error.value) == "--config is empty: name a YAML file (an unset variable?)"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("trainer:\n  use_embeddings: !!bool foo\n", ", line 2: not valid YAML: 'foo' is no bool"),
        ("model_name: !!timestamp abc\n", ", line 1: not valid YAML: 'abc' is no timestamp"),
        ("beam_args: " + "[" * 5000 + "\n", " is not valid YAML: nested too deeply"),
    ],
)
def test_tags_a_value_does_not_fit_and_deep_nesting_are_errors_not_tracebacks(tmp_path, text, problem):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(OptionsError) as error:
        load_config_file(str(path))
    assert str(error.value).startswith(f"config file {path}{problem}")


@pytest.mark.parametrize("key", ["data", "output", "vectors", "model_name"])
def test_a_nul_character_in_a_config_value_is_refused(key):
    with pytest.raises(OptionsError) as error:
        build_config({key: "/tmp/a\0b"})
    assert str(error.value) == f"{key}: '/tmp/a\\x00b' holds a NUL character"


def test_a_config_read_as_dev_stdin_from_a_file_takes_paths_from_the_files_folder(tmp_path):
    folder = tmp_path / "conf"
    folder.mkdir()
    (folder / "c.yaml").write_text("output: runs/nightly\n")
    with open(folder / "c.yaml", "rb") as stdin:
        result = subprocess.run(
            [CLI, "run", "--dry-run", "--config", "/dev/stdin"],
            stdin=stdin,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=600,
        )
    assert result.returncode == 0, result.stderr[-2000:]
    assert str(folder / "runs" / "nightly") in result.stdout
    assert "/dev/runs" not in result.stdout


_TOO_LARGE = "is larger than 1 MiB (1,048,576 bytes), the most a config file may hold"


def test_a_config_file_is_read_up_to_1_mib(tmp_path):
    """``--config /dev/zero`` was read without end."""
    path = tmp_path / "c.yaml"
    path.write_bytes(b"# " + b"x" * (MAX_CONFIG_BYTES - 4) + b"\n\n")  # a comment: no values
    assert load_config_file(str(path)) == {}
    path.write_bytes(path.read_bytes() + b"\n")
    with pytest.raises(OptionsError) as error:
        load_config_file(str(path))
    assert str(error.value) == f"config file {path} {_TOO_LARGE}"


def test_config_dev_zero_is_a_configuration_error(tmp_path):
    result = run_cli("run", "--dry-run", "--config", "/dev/zero", cwd=tmp_path)
    assert (result.returncode, result.stderr.strip().splitlines()[-1]) == (
        2,
        f"imdb-pipeline run: configuration error: config file /dev/zero {_TOO_LARGE}",
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.integers(1, 300), min_size=1, max_size=4))
def test_a_path_with_a_name_too_long_anywhere_is_unreachable_for_run_and_score(tmp_path, lengths):
    """A part over 255 bytes is refused wherever it stands (a missing folder before it too); a path
    yet to be made is not."""
    path = os.path.join(tmp_path, *(str(index % 10) * length for index, length in enumerate(lengths)))
    expected = "File name too long" if max(lengths) > 255 else None
    assert preflight.unreachable(path) == expected
    if expected:
        with pytest.raises(score.OutputExistsError) as raised:
            score.check_output(path)
        assert str(raised.value) == f"--output {path} cannot be made: File name too long"


def test_a_path_through_a_link_loop_is_unreachable(tmp_path):
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    for path in (tmp_path / "a", tmp_path / "a" / "out", tmp_path / "a" / "x" / "y"):
        assert preflight.unreachable(str(path)) == (
            f"{tmp_path / 'a'} is a symbolic link in a loop: {tmp_path / 'a'} -> {tmp_path / 'b'} -> {tmp_path / 'a'}"
        )
    assert preflight.unreachable(str(tmp_path / "c" / "out")) is None
    assert not (tmp_path / "c").exists()


# White space YAML's double-quoted scalars can hold, escaped (a tab, a no-break and an ideographic space ...).
_WHITE_SPACE = st.text(alphabet=" \t\n\r\x0b\x0c\x85\xa0\u2003\u2028\u3000", min_size=1, max_size=2)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(before=st.one_of(st.just(""), _WHITE_SPACE), after=_WHITE_SPACE)
def test_an_unknown_option_is_shown_quoted_as_given(tmp_path, before, after):
    """`trainer.epochs ` shown unquoted read as the very name it suggests."""
    name = f"{before}epochs{after}"
    path = tmp_path / "c.yaml"
    path.write_text(f"trainer:\n  {json.dumps(name)}: 4\n", encoding="utf-8")
    with pytest.raises(OptionsError) as error:
        load_config_file(str(path))
    known = ", ".join(sorted(TrainerOptions.model_fields))
    assert str(error.value) == (
        f"config file {path}, line 2: unknown option {'trainer.' + name!r} (did you mean trainer.epochs?); "
        f"known: {known}"
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.sampled_from(["data", "vectors", "output", "pipeline_name", "model_name"]), blank=_WHITE_SPACE)
def test_a_blank_path_or_name_in_a_config_file_is_refused_as_its_flag_is(tmp_path, key, blank):
    path = tmp_path / "c.yaml"
    path.write_text(f"{key}: {json.dumps(blank)}\n", encoding="utf-8")
    args, beam_args = cli.build_parser().parse_known_args(["run", "--config", str(path)])
    with pytest.raises(OptionsError) as error:
        cli.config_from_args(args, beam_args)
    assert str(error.value) == (
        f"config file {path}, line 1: {key} is blank (white space only), got {blank!r}: give a value, or "
        "leave it out for its default"
    )
    flag_args = cli.build_parser().parse_args(["run", f"--{key.replace('_', '-')}", blank])
    flag_parser = cli._commands(cli.build_parser())["run"]
    assert common.empty_value(flag_parser, flag_args) == (
        f"--{key.replace('_', '-')} is empty: give a value, or leave the flag out for its default"
    )
