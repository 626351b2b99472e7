"""Safe pushes: atomic versions that only increase, a manifest, retention, failures that change nothing."""

import errno
import json
import os
import re
import shutil
import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
import pytest
import tensorflow as tf

from components.artifacts import pushed_model
from components.pusher import publish
from tests.conftest import lock_held_in_subprocess


def _model(tmp_path, content="model-1"):
    source = tmp_path / f"source-{content}"
    (source / "variables").mkdir(parents=True)
    (source / "saved_model.pb").write_text(content)
    (source / "variables" / "variables.index").write_text(content)
    return str(source)


def _files(directory):
    return sorted(
        os.path.relpath(os.path.join(root, name), directory)
        for root, _, names in os.walk(directory)
        for name in names
    )


def test_publish_writes_a_complete_version_with_its_manifest_and_no_leftovers(tmp_path):
    model_dir = str(tmp_path / "serving" / "imdb")
    version, path = publish.publish(_model(tmp_path), model_dir, {"model": {"uri": "/m/1"}}, now=1_000)
    assert (version, path) == (1_000, os.path.join(model_dir, "1000"))
    assert _files(path) == ["manifest.json", "saved_model.pb", "variables/variables.index"]
    assert json.loads((tmp_path / "serving" / "imdb" / "1000" / "manifest.json").read_text()) == {
        "model": {"uri": "/m/1"},
        "version": 1_000,
    }
    assert os.listdir(model_dir) == ["1000"]


def test_versions_only_increase_even_when_the_clock_goes_back(tmp_path):
    model_dir = str(tmp_path / "imdb")
    assert publish.publish(_model(tmp_path, "a"), model_dir, {}, now=2_000)[0] == 2_000
    assert publish.publish(_model(tmp_path, "b"), model_dir, {}, now=2_000)[0] == 2_001
    assert publish.publish(_model(tmp_path, "c"), model_dir, {}, now=1_500)[0] == 2_002
    assert publish.list_versions(model_dir) == [2_000, 2_001, 2_002]


def test_a_failed_copy_leaves_the_served_versions_untouched_and_no_partial_version(tmp_path, monkeypatch):
    model_dir = str(tmp_path / "imdb")
    publish.publish(_model(tmp_path, "good"), model_dir, {}, now=3_000)
    before = _files(model_dir)

    real_copy = publish.io_utils.copy_dir

    def disk_fills_up_at_the_end_of_the_copy(source, destination):
        real_copy(source, destination)  # the data lands, then writing fails
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(publish.io_utils, "copy_dir", disk_fills_up_at_the_end_of_the_copy)
    with pytest.raises(publish.PushError, match=r"No space left on device.*are unchanged"):
        publish.publish(_model(tmp_path, "new"), model_dir, {}, now=4_000)
    assert _files(model_dir) == before
    assert os.listdir(model_dir) == ["3000"]


def _object_store_dir():
    """A model directory on TensorFlow's in-memory filesystem, which like gs:// has no atomic rename."""
    return f"ram://serving-{uuid.uuid4().hex}/imdb"


def _object_store_files(directory):
    return sorted(
        os.path.relpath(os.path.join(root, name), directory)
        for root, _, names in tf.io.gfile.walk(directory)
        for name in names
    )


def test_on_an_object_store_the_model_is_copied_once_and_the_manifest_lands_last(tmp_path, monkeypatch):
    model_dir = _object_store_dir()
    real_copy = publish.io_utils.copy_dir
    copies = []

    def copy_and_look_for_the_manifest(source, destination):
        real_copy(source, destination)
        copies.append(
            (destination, tf.io.gfile.exists(os.path.join(destination, pushed_model.MANIFEST_FILE)))
        )

    monkeypatch.setattr(publish.io_utils, "copy_dir", copy_and_look_for_the_manifest)
    version, path = publish.publish(_model(tmp_path), model_dir, {"model": {"uri": "/m/1"}}, now=1_000)
    assert (version, path) == (1_000, f"{model_dir}/1000")
    assert copies == [(path, False)]
    assert tf.io.gfile.listdir(model_dir) == ["1000"]
    assert _object_store_files(path) == ["manifest.json", "saved_model.pb", "variables/variables.index"]
    assert pushed_model.read_manifest(path) == {"model": {"uri": "/m/1"}, "version": 1_000}


def test_a_failed_copy_to_an_object_store_leaves_no_partial_version(tmp_path, monkeypatch):
    model_dir = _object_store_dir()
    publish.publish(_model(tmp_path, "good"), model_dir, {}, now=3_000)
    real_copy = publish.io_utils.copy_dir

    def connection_drops_after_the_copy(source, destination):
        real_copy(source, destination)
        raise tf.errors.UnavailableError(None, None, "connection reset")

    monkeypatch.setattr(publish.io_utils, "copy_dir", connection_drops_after_the_copy)
    with pytest.raises(
        publish.PushError, match=r"connection reset\); the versions already in .* are unchanged"
    ):
        publish.publish(_model(tmp_path, "new"), model_dir, {}, now=4_000)
    assert publish.list_versions(model_dir) == [3_000]
    assert tf.io.gfile.listdir(model_dir) == ["3000"]


def test_retention_keeps_the_newest_and_protected_versions(tmp_path):
    model_dir = str(tmp_path / "imdb")
    for now in (10, 20, 30, 40, 50):
        publish.publish(_model(tmp_path, str(now)), model_dir, {}, now=now)
    assert publish.apply_retention(model_dir, keep=2, protect={20}) == [10, 30]
    assert publish.list_versions(model_dir) == [20, 40, 50]
    assert publish.apply_retention(model_dir, keep=5) == []


def test_hidden_incoming_directories_are_not_versions(tmp_path):
    model_dir = tmp_path / "imdb"
    (model_dir / ".incoming-99-abc").mkdir(parents=True)
    (model_dir / "7").mkdir()
    assert publish.list_versions(str(model_dir)) == [7]


def test_a_failed_final_rename_leaves_the_served_versions_untouched_and_no_partial_version(
    tmp_path, monkeypatch
):
    model_dir = str(tmp_path / "imdb")
    publish.publish(_model(tmp_path, "good"), model_dir, {}, now=3_000)
    before = _files(model_dir)
    real_rename = os.rename

    def rename_fails_into_the_model_dir(source, destination):
        if os.path.dirname(destination) == model_dir:
            raise OSError(errno.EIO, "Input/output error")
        real_rename(source, destination)

    monkeypatch.setattr(publish.os, "rename", rename_fails_into_the_model_dir)
    with pytest.raises(publish.PushError) as error:
        publish.publish(_model(tmp_path, "new"), model_dir, {}, now=4_000)
    assert str(error.value) == (
        f"pushing the model to {model_dir}/4000 failed ([Errno 5] Input/output error); "
        f"the versions already in {model_dir} are unchanged"
    )
    assert _files(model_dir) == before
    assert os.listdir(model_dir) == ["3000"]


def test_push_copies_a_new_model_once_and_applies_retention(tmp_path):
    model_dir = str(tmp_path / "imdb")
    models = {name: _model(tmp_path, name) for name in "abc"}

    def push(name, now):
        return publish.push(
            models[name], model_dir, {"model": {"uri": f"/m/{name}"}}, keep_versions=2, now=now
        )

    assert [push("a", 10), push("a", 20), push("b", 30), push("c", 40)] == [
        publish.PushResult(10, os.path.join(model_dir, "10"), copied=True, removed=()),
        publish.PushResult(10, os.path.join(model_dir, "10"), copied=False, removed=()),  # already served
        publish.PushResult(30, os.path.join(model_dir, "30"), copied=True, removed=()),
        publish.PushResult(40, os.path.join(model_dir, "40"), copied=True, removed=(10,)),
    ]
    # The push lock's file is gone once the push ends: the folder holds versions only.
    assert sorted(os.listdir(model_dir)) == ["30", "40"]


def test_a_push_over_a_damaged_manifest_publishes_a_new_version_and_says_why(tmp_path, caplog):
    """A damaged manifest of the newest version does not tell its model: the same model is pushed again."""
    model_dir = str(tmp_path / "imdb")
    served = _model(tmp_path, "served")
    publish.publish(served, model_dir, {"model": {"uri": "/m/served"}}, now=3_000)
    manifest = os.path.join(model_dir, "3000", pushed_model.MANIFEST_FILE)
    with open(manifest, "w") as file:
        file.write('{"model": "/m/served"}')
    result = publish.push(served, model_dir, {"model": {"uri": "/m/served"}}, keep_versions=5, now=4_000)
    assert (result.version, result.copied) == (4_000, True)
    assert pushed_model.read_manifest(result.version_dir) == {"model": {"uri": "/m/served"}, "version": 4_000}
    assert caplog.messages == [
        f"Pusher: {manifest}: model is a string, not an object; the model is pushed as a new version"
    ]


_READ_AS_JSON = " cannot be read as a UTF-8 JSON document "


@pytest.mark.parametrize(
    ("written", "problem"),
    [
        (b"not json{", _READ_AS_JSON + "(JSONDecodeError: Expecting value: line 1 column 1 (char 0))"),
        (
            b'\xef\xbb\xbf{"data": {"span": 9}}',
            _READ_AS_JSON
            + "(JSONDecodeError: Unexpected UTF-8 BOM (decode using utf-8-sig): line 1 column 1 (char 0))",
        ),
        (
            b'{"data": "\xff"}',
            _READ_AS_JSON
            + "(UnicodeDecodeError: 'utf-8' codec can't decode byte 0xff in position 10: invalid start byte)",
        ),
        (
            b"[" * 100_000,
            _READ_AS_JSON
            + "(RecursionError: maximum recursion depth exceeded while decoding a JSON array from a unicode "
            "string)",
        ),
        (b"[9]", ": the document is an array, not an object"),
        (b'{"data": [9]}', ": data is an array, not an object"),
        (b'{"data": "x"}', ": data is a string, not an object"),
        (b'{"model": null}', ": model is null, not an object"),
        (b'{"model": {"uri": 3}}', ": model.uri is 3, not a string"),
        (b'{"data": {"span": true}}', ": data.span is true, not a span number (0 or more)"),
        (b'{"data": {"span": -1}}', ": data.span is -1, not a span number (0 or more)"),
        (b'{"data": {"span": 9.0}}', ": data.span is 9.0, not a span number (0 or more)"),
        (b"folder", " is a folder, not a file"),
    ],
)
def test_a_damaged_manifest_is_one_error_naming_the_file_and_what_is_wrong(tmp_path, written, problem):
    manifest = tmp_path / pushed_model.MANIFEST_FILE
    if written == b"folder":
        manifest.mkdir()
    else:
        manifest.write_bytes(written)
    with pytest.raises(pushed_model.ManifestError) as error:
        pushed_model.read_manifest(str(tmp_path))
    assert str(error.value) == f"{manifest}{problem}"


def test_a_version_without_a_manifest_has_none(tmp_path):
    assert pushed_model.read_manifest(str(tmp_path)) is None


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6,
)
# Near what write_manifest writes: the keys read back, holding any JSON value.
_MANIFEST_LIKE = st.fixed_dictionaries(
    {},
    optional={
        "data": st.fixed_dictionaries({}, optional={"span": _JSON}) | _JSON,
        "model": st.fixed_dictionaries({}, optional={"uri": _JSON}) | _JSON,
        "version": _JSON,
    },
)


@settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    written=st.one_of(
        st.binary(max_size=40),
        _JSON.map(lambda value: json.dumps(value).encode()),
        st.tuples(st.binary(max_size=3), _MANIFEST_LIKE).map(
            lambda pair: pair[0] + json.dumps(pair[1]).encode()
        ),
    )
)
def test_any_bytes_as_a_manifest_give_a_valid_manifest_or_a_manifest_error(tmp_path, written):
    path = tmp_path / pushed_model.MANIFEST_FILE
    path.write_bytes(written)
    try:
        manifest = pushed_model.read_manifest(str(tmp_path))
    except pushed_model.ManifestError as error:
        assert str(error).startswith(str(path))  # names the file
        return
    assert json.dumps(manifest) == json.dumps(json.loads(written.decode("utf-8")))
    assert isinstance(manifest, dict)
    assert isinstance(manifest.get("model", {}), dict) and isinstance(manifest.get("data", {}), dict)
    assert isinstance(manifest.get("model", {}).get("uri", ""), str)
    span = manifest.get("data", {}).get("span")
    assert span is None or (type(span) is int and span >= 0)


def test_a_push_while_another_process_holds_the_push_lock_fails_naming_it_and_changes_nothing(tmp_path):
    model_dir = str(tmp_path / "imdb")
    publish.publish(_model(tmp_path, "served"), model_dir, {"model": {"uri": "/m/served"}}, now=3_000)
    before = _files(model_dir)
    new_model = _model(tmp_path, "new")
    with lock_held_in_subprocess("components.pusher.publish", "push_lock", model_dir) as holder:
        with pytest.raises(publish.PushError) as error:
            publish.push(new_model, model_dir, {"model": {"uri": "/m/new"}}, keep_versions=1)
        assert re.fullmatch(
            rf"another push to {re.escape(model_dir)} is in progress \(pid {holder.pid}, started "
            r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00\); nothing was pushed and the versions already served "
            r"are unchanged",
            str(error.value),
        )
        assert _files(model_dir) == sorted([*before, publish.PUSH_LOCK_FILE])
    # The kernel released the killed holder's lock; its file is reused, then removed.
    result = publish.push(new_model, model_dir, {"model": {"uri": "/m/new"}}, keep_versions=1, now=4_000)
    assert (result.version, result.copied, result.removed) == (4_000, True, (3_000,))
    assert os.listdir(model_dir) == ["4000"]


def test_the_next_push_removes_the_partial_copy_of_a_push_killed_mid_copy_and_nothing_else(
    tmp_path, monkeypatch
):
    model_dir = str(tmp_path / "imdb")
    served = _model(tmp_path, "served")
    publish.publish(served, model_dir, {"model": {"uri": "/m/served"}}, now=3_000)
    real_copy = publish.io_utils.copy_dir

    class Killed(BaseException):
        """Stands for kill -9: no except clause runs, so the staging folder stays."""

    def killed_mid_copy(source, destination):
        real_copy(source, destination)
        raise Killed

    monkeypatch.setattr(publish.io_utils, "copy_dir", killed_mid_copy)
    with pytest.raises(Killed):
        publish.push(
            _model(tmp_path, "new"), model_dir, {"model": {"uri": "/m/new"}}, keep_versions=5, now=4_000
        )
    monkeypatch.setattr(publish.io_utils, "copy_dir", real_copy)
    (stale,) = [name for name in os.listdir(model_dir) if name.startswith(".incoming-")]
    assert re.fullmatch(r"\.incoming-4000-[0-9a-f]{8}", stale)
    # Names the pusher never makes stay, whatever they look like.
    others = [
        ".incoming-99-abc",
        ".incoming-12-0123abcd-x",
        ".incoming-notes",
        "incoming-5-0123abcd",
        ".incoming-١٢٣-deadbeef",  # other scripts' digits: publish() writes ASCII ones
        ".incoming-\uff11\uff12-deadbeef",  # fullwidth
    ]
    for name in others:
        os.mkdir(os.path.join(model_dir, name))
    os.symlink(os.path.join(model_dir, "3000"), os.path.join(model_dir, ".incoming-7-0123abcd"))

    # The next push removes it, even when it copies nothing (the model is already served).
    result = publish.push(served, model_dir, {"model": {"uri": "/m/served"}}, keep_versions=5)
    assert (result.version, result.copied) == (3_000, False)
    assert sorted(os.listdir(model_dir)) == sorted(["3000", ".incoming-7-0123abcd", *others])
    assert _files(os.path.join(model_dir, "3000")) == [
        "manifest.json",
        "saved_model.pb",
        "variables/variables.index",
    ]


def test_removing_stale_partial_copies_leaves_an_object_store_alone(tmp_path):
    model_dir = _object_store_dir()
    tf.io.gfile.makedirs(f"{model_dir}/.incoming-5-0123abcd")
    assert publish.remove_stale_incoming(model_dir) == []
    assert tf.io.gfile.listdir(model_dir) == [".incoming-5-0123abcd"]


def test_retention_never_follows_a_linked_version_nor_removes_what_a_kept_one_links_to(tmp_path):
    """A version aliased by a symbolic link (`7 -> 50`) lost 50's files to rmtree, which follows links, and
    the Pusher then failed after the new version was live; a roll-forward link to an old version lost
    its target when that version was retired."""
    model_dir = str(tmp_path / "imdb")
    for now in (10, 20, 30, 40, 50):
        publish.publish(_model(tmp_path, str(now)), model_dir, {}, now=now)
    os.symlink(os.path.join(model_dir, "50"), os.path.join(model_dir, "7"))  # an alias of the newest
    os.symlink(os.path.join(model_dir, "10"), os.path.join(model_dir, "60"))  # roll forward to 10
    os.makedirs(os.path.join(model_dir, "70"))  # a copy by hand under way: no SavedModel yet

    assert publish.apply_retention(model_dir, keep=2) == [7, 20, 30, 40]
    assert publish.list_versions(model_dir) == [10, 50, 60, 70]
    assert _files(os.path.join(model_dir, "50")) == [
        "manifest.json",
        "saved_model.pb",
        "variables/variables.index",
    ]
    assert (tmp_path / "imdb" / "10" / "saved_model.pb").read_text() == "10"
    assert os.path.islink(os.path.join(model_dir, "60"))


def test_retention_keeps_the_newest_versions_that_hold_a_saved_model_and_no_other_numbered_entry(tmp_path):
    """A numbered folder without a SavedModel (a copy by hand under way, numbered low; an empty folder) was
    removed with the versions below the newest kept."""
    model_dir = str(tmp_path / "imdb")
    for now in (10, 20, 30, 40):
        publish.publish(_model(tmp_path, str(now)), model_dir, {}, now=now)
    os.remove(os.path.join(model_dir, "20", "saved_model.pb"))  # TF Serving skips it: not one of the 2 kept
    os.makedirs(os.path.join(model_dir, "5"))
    os.symlink(os.path.join(model_dir, "5"), os.path.join(model_dir, "6"))  # a link to no SavedModel
    with open(os.path.join(model_dir, "7"), "w") as file:
        file.write("a file")
    assert publish.apply_retention(model_dir, keep=2) == [10]
    assert sorted(os.listdir(model_dir)) == ["20", "30", "40", "5", "6", "7"]
    assert _files(os.path.join(model_dir, "20")) == ["manifest.json", "variables/variables.index"]


def _versions(tmp_path, *nows):
    model_dir = str(tmp_path / "imdb")
    for now in nows:
        publish.publish(_model(tmp_path, str(now)), model_dir, {}, now=now)
    return model_dir


def test_retention_follows_no_link_inside_a_version_and_keeps_what_staying_versions_reach(tmp_path):
    """rmtree followed links inside a retired version (emptying a folder outside the model folder, or a kept
    version's variables), and a kept version reached through a chain of links, or linking into a retired
    version's subfolder, was left dangling."""
    model_dir = _versions(tmp_path, 10, 20, 30, 40)
    shared = tmp_path / "shared_assets"
    shared.mkdir()
    (shared / "vocab.txt").write_text("kept")
    os.symlink(shared, os.path.join(model_dir, "10", "assets"))  # a retired version links outside
    os.symlink(
        os.path.join(model_dir, "40", "variables"), os.path.join(model_dir, "20", "vars")
    )  # into a kept one
    os.symlink(os.path.join(model_dir, "30"), os.path.join(model_dir, "50"))  # a chain: 60 -> 50 -> 30
    os.symlink(os.path.join(model_dir, "50"), os.path.join(model_dir, "60"))

    # The newest 3 served: 60 and 50 (both 30's model, through links) and 40; 30 is reached by them.
    assert publish.apply_retention(model_dir, keep=3) == [10, 20]
    assert publish.list_versions(model_dir) == [30, 40, 50, 60]
    assert (shared / "vocab.txt").read_text() == "kept"
    assert (tmp_path / "imdb" / "40" / "variables" / "variables.index").read_text() == "40"
    assert (tmp_path / "imdb" / "60" / "saved_model.pb").read_text() == "30"


def test_retention_keeps_a_retired_version_s_folder_a_kept_version_links_into(tmp_path):
    model_dir = _versions(tmp_path, 10, 20, 30)
    os.makedirs(os.path.join(model_dir, "20", "export"))
    (tmp_path / "imdb" / "20" / "export" / "saved_model.pb").write_text("20 export")
    os.symlink(os.path.join(model_dir, "20", "export"), os.path.join(model_dir, "90"))  # 90 -> 20/export
    shutil.rmtree(os.path.join(model_dir, "30", "variables"))
    os.symlink(os.path.join(model_dir, "10", "variables"), os.path.join(model_dir, "30", "variables"))

    assert publish.apply_retention(model_dir, keep=2) == []  # 90 and 30 stay; 20 and 10 hold what they reach
    assert (tmp_path / "imdb" / "90" / "saved_model.pb").read_text() == "20 export"
    assert (tmp_path / "imdb" / "30" / "variables" / "variables.index").read_text() == "10"


def test_retention_keeps_what_an_alias_of_any_name_reaches(tmp_path):
    """An alias with a non-version name (`stable -> 10`, relative or absolute, or a chain) was not seen: the
    version it reaches was removed and the alias left dangling."""
    model_dir = _versions(tmp_path, 10, 20, 30, 40, 50)
    os.symlink("10", os.path.join(model_dir, "stable"))
    os.symlink(os.path.join(model_dir, "20"), os.path.join(model_dir, "previous"))
    os.symlink("b", os.path.join(model_dir, "a"))  # a chain: a -> b -> 7 -> 30
    os.symlink("7", os.path.join(model_dir, "b"))
    os.symlink("30", os.path.join(model_dir, "7"))

    assert publish.apply_retention(model_dir, keep=1) == [40]
    assert sorted(os.listdir(model_dir)) == ["10", "20", "30", "50", "7", "a", "b", "previous", "stable"]
    for alias, version in (("stable", "10"), ("previous", "20"), ("a", "30")):
        assert (tmp_path / "imdb" / alias / "saved_model.pb").read_text() == version


def test_retention_knows_a_link_that_names_the_model_folder_another_way(tmp_path):
    """A link on a staying version's way written through a linked parent folder (`../imdb-link/55`) was not
    taken for the version it names: 55 was unlinked and 60 left dangling."""
    model_dir = _versions(tmp_path, 10, 20, 30)
    os.symlink(model_dir, str(tmp_path / "imdb-link"))
    os.symlink("20", os.path.join(model_dir, "55"))
    os.symlink(os.path.join("..", "imdb-link", "55"), os.path.join(model_dir, "60"))

    assert publish.apply_retention(model_dir, keep=1) == [10, 30]
    assert sorted(os.listdir(model_dir)) == ["20", "55", "60"]
    assert (tmp_path / "imdb" / "60" / "saved_model.pb").read_text() == "20"


def test_retention_keeps_what_the_links_in_an_alias_s_folder_outside_the_model_folder_reach(tmp_path):
    """An alias that ends in a folder outside the model folder (`aliases -> ../aliases`, holding
    `stable -> imdb/10`): the README keeps what the links inside the folder an alias ends in reach."""
    model_dir = _versions(tmp_path, 10, 20, 30)
    aliases = tmp_path / "aliases"
    aliases.mkdir()
    os.symlink(os.path.join(model_dir, "10"), aliases / "stable")
    os.symlink(aliases, os.path.join(model_dir, "aliases"))

    assert publish.apply_retention(model_dir, keep=1) == [20]
    assert (aliases / "stable" / "saved_model.pb").read_text() == "10"


def test_retention_walks_an_outside_folder_an_alias_ends_in_but_not_one_holding_the_model_folder(tmp_path):
    """Links deeper in the outside folder count; an alias to a folder holding the model folder (`up -> ..`,
    `root -> /`) would make every version's own links count, so it is not walked."""
    model_dir = _versions(tmp_path, 10, 20, 30, 40)
    aliases = tmp_path / "aliases" / "deep"
    aliases.mkdir(parents=True)
    os.symlink(os.path.join(model_dir, "20", "variables"), aliases / "weights")  # into a retired version
    os.symlink("../aliases", os.path.join(model_dir, "aliases"))
    os.symlink("..", os.path.join(model_dir, "up"))
    os.symlink("/", os.path.join(model_dir, "root"))

    assert publish.apply_retention(model_dir, keep=1) == [10, 30]
    assert sorted(os.listdir(model_dir)) == ["20", "40", "aliases", "root", "up"]
    assert os.path.isdir(aliases / "weights")


def test_retention_resolves_a_chain_of_aliases_longer_than_the_recursion_limit(tmp_path):
    """1,200 aliases in a chain (`c0 -> 20`, `c1 -> c0`, ...) raised RecursionError; each is resolved from
    its own start too, so the version at the end stays."""
    model_dir = _versions(tmp_path, 10, 20, 30)
    os.symlink("20", os.path.join(model_dir, "c0"))
    for number in range(1, 1200):
        os.symlink(f"c{number - 1}", os.path.join(model_dir, f"c{number}"))

    assert publish.apply_retention(model_dir, keep=1) == [10]
    assert os.path.islink(os.path.join(model_dir, "c1199"))  # kept: links are never removed
    assert os.path.isdir(os.path.join(model_dir, "c39"))  # the OS resolves up to 40 links in a row
    assert os.path.isdir(os.path.join(model_dir, "20"))


_OUTSIDE = "outside"
_ALIASES = ("stable", "latest", "0017", ".alias")


@st.composite
def _layouts(draw):
    """A model folder: versions (a folder with a SavedModel, an empty folder, or a link), aliases of other
    names (links), and links inside SavedModel folders; links go to an entry (or a folder in it), outside,
    relative, absolute or through a linked parent folder."""
    numbers = draw(st.lists(st.integers(1, 9), min_size=1, max_size=6, unique=True))
    aliases = draw(st.lists(st.sampled_from(_ALIASES), max_size=3, unique=True))
    names = [str(number) for number in numbers] + aliases
    target = st.tuples(
        st.sampled_from([*names, _OUTSIDE]),
        st.booleans(),  # into the target's variables/ folder
        st.sampled_from(["relative", "absolute", "linked parent"]),
    )
    kinds = {str(number): draw(st.sampled_from(["saved", "empty", "link"])) for number in numbers}
    kinds.update(dict.fromkeys(aliases, "link"))
    links = {name: draw(target) for name, kind in kinds.items() if kind == "link"}
    inner = {name: draw(st.none() | target) for name, kind in kinds.items() if kind == "saved"}
    keep = draw(st.integers(1, 3))
    protect = draw(st.sets(st.sampled_from(numbers), max_size=2))
    return kinds, links, inner, keep, protect


def _build(root, kinds, links, inner):
    model_dir = root / "imdb"
    model_dir.mkdir(parents=True)
    for folder in (root / _OUTSIDE, *(model_dir / name for name, kind in kinds.items() if kind == "saved")):
        (folder / "variables").mkdir(parents=True)
        (folder / "saved_model.pb").write_text(folder.name)
    for name, kind in kinds.items():
        if kind == "empty":
            (model_dir / name).mkdir()
    os.symlink("imdb", root / "imdb-link")

    def target_path(name, into, how, depth):
        if name == _OUTSIDE:
            return str(root / _OUTSIDE / ("variables" if into else ""))
        parts = [name, "variables"] if into else [name]
        if how == "absolute":
            return str(model_dir.joinpath(*parts))
        if how == "linked parent":
            return os.path.join(*[".."] * (depth + 1), "imdb-link", *parts)
        return os.path.join(*[".."] * depth, *parts)

    for name, spec in links.items():
        os.symlink(target_path(*spec, depth=0), model_dir / name)
    for name, spec in inner.items():
        if spec is not None:
            os.symlink(target_path(*spec, depth=1), model_dir / name / "inner")
    return str(model_dir)


def _links(model_dir, names):
    """The links among ``names`` in the model folder and inside those of them that are folders (not links)."""
    found = []
    for name in names:
        path = os.path.join(model_dir, name)
        if os.path.islink(path):
            found.append(path)
        for root, folders, files in os.walk(path):
            found += [os.path.join(root, n) for n in folders + files if os.path.islink(os.path.join(root, n))]
    return found


def _resolution(links):
    return {link: os.path.realpath(link) for link in links if os.path.exists(link)}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(layout=_layouts())
def test_retention_removes_exactly_the_saved_models_below_the_newest_kept_that_nothing_reaches(
    tmp_path, layout
):
    kinds, links, inner, keep, protect = layout
    root = tmp_path / uuid.uuid4().hex
    model_dir = _build(root, kinds, links, inner)
    served = [
        int(name)
        for name in sorted((n for n in kinds if n not in _ALIASES), key=int, reverse=True)
        if os.path.isfile(os.path.join(model_dir, name, "saved_model.pb"))
    ]
    kept = {*served[:keep], *protect}
    # What may go, and what must stay: an entry must stay when moving it aside changes where a link of
    # an entry that stays leads.
    candidates = {str(v) for v in served if kept and v < max(kept) and v not in kept}
    staying = set(kinds) - candidates
    while True:
        before = _resolution(_links(model_dir, staying))
        needed = set()
        for name in candidates - staying:
            os.rename(os.path.join(model_dir, name), os.path.join(root, "aside"))
            if _resolution(before) != before:
                needed.add(name)
            os.rename(os.path.join(root, "aside"), os.path.join(model_dir, name))
        if not needed:
            break
        staying |= needed

    assert publish.apply_retention(model_dir, keep, protect) == sorted(map(int, candidates - staying))
    assert sorted(os.listdir(model_dir)) == sorted(staying)
    assert _resolution(before) == before
