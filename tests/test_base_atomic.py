"""base.atomic: a file or folder appears whole or not at all, an old one survives a failed write, no temporary
is left behind, and an OS error names the file the user asked for."""

import errno
import json
import os
import stat

import numpy as np
import pytest

from base.atomic import atomic_directory, atomic_file, atomic_path, check_writable, write_json


def _names(folder):
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


# ------------------------------------------------------------------------------------------------ atomic_file
def test_atomic_file_writes_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "out.bin"
    with atomic_file(path) as handle:
        handle.write(b"\x00\x01hello")
    assert path.read_bytes() == b"\x00\x01hello"
    assert _names(tmp_path) == ["out.bin"]


def test_atomic_file_text_mode_and_missing_folders(tmp_path):
    path = tmp_path / "a" / "b" / "note.txt"
    with atomic_file(path, "w", encoding="utf-8") as handle:
        handle.write("naïve – ok\n")
    assert path.read_bytes() == "naïve – ok\n".encode("utf-8")
    assert _names(path.parent) == ["note.txt"]


def test_the_file_appears_only_when_the_block_ends(tmp_path):
    path = tmp_path / "out.txt"
    path.write_text("old")
    with open(path) as reader:  # a reader that opened the old file before the write
        with atomic_file(path, "w") as handle:
            handle.write("new")
            handle.flush()
            assert path.read_text() == "old"  # still the old file while the new one is written
            temporaries = [n for n in _names(tmp_path) if n != "out.txt"]
            assert len(temporaries) == 1 and temporaries[0].startswith(".out.txt.") and \
                temporaries[0].endswith(".tmp")  # beside it, hidden
        assert path.read_text() == "new"
        assert reader.read() == "old"  # renamed over, not rewritten in place: the old inode is untouched
    assert _names(tmp_path) == ["out.txt"]


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "out.txt"
    path.write_text("old content")
    with pytest.raises(RuntimeError, match="broke"):
        with atomic_file(path, "w") as handle:
            handle.write("half of the new")
            raise RuntimeError("broke")
    assert path.read_text() == "old content"
    assert _names(tmp_path) == ["out.txt"]


def test_a_failed_first_write_leaves_nothing(tmp_path):
    path = tmp_path / "out.txt"
    with pytest.raises(KeyboardInterrupt):
        with atomic_file(path, "w") as handle:
            handle.write("partial")
            raise KeyboardInterrupt  # not only Exception: an interrupt cleans up too
    assert _names(tmp_path) == []


def test_an_os_error_names_the_file_being_written(tmp_path):
    path = tmp_path / "out.txt"
    with pytest.raises(OSError) as caught:
        with atomic_file(path, "w"):
            raise OSError(errno.ENOSPC, "No space left on device")  # names no file, as a full disk does
    assert caught.value.errno == errno.ENOSPC
    assert caught.value.filename == str(path)
    assert str(path) in str(caught.value)
    assert _names(tmp_path) == []


def test_a_file_where_a_folder_should_be(tmp_path):
    (tmp_path / "blocker").write_text("a file")
    path = tmp_path / "blocker" / "sub" / "out.txt"
    with pytest.raises(NotADirectoryError) as caught:
        with atomic_file(path):
            pass
    assert caught.value.errno == errno.ENOTDIR and caught.value.filename == str(path)


def test_published_files_get_the_mode_of_a_plain_open(tmp_path, umask_022):
    path = tmp_path / "out.txt"
    with atomic_file(path, "w") as handle:
        handle.write("x")
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    assert stat.S_IMODE(path.stat().st_mode) == stat.S_IMODE(plain.stat().st_mode) == 0o644  # not mkstemp's 0600


# ------------------------------------------------------------------------------------------------ atomic_path
def test_atomic_path_keeps_the_suffix_for_writers_that_add_one(tmp_path):
    path = tmp_path / "table.npz"
    with atomic_path(path) as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".table.") and tmp.name.endswith(".tmp.npz")
        np.savez(tmp, x=np.arange(4))  # would append .npz to a name without it
    assert _names(tmp_path) == ["table.npz"]
    with np.load(path) as data:
        np.testing.assert_array_equal(data["x"], np.arange(4))


def test_atomic_path_failure_keeps_the_old_file(tmp_path):
    path = tmp_path / "table.npz"
    np.savez(path, x=np.zeros(2))
    before = path.read_bytes()
    with pytest.raises(ValueError):
        with atomic_path(path) as tmp:
            tmp.write_bytes(b"half")
            raise ValueError("writer failed")
    assert path.read_bytes() == before
    assert _names(tmp_path) == ["table.npz"]


# ------------------------------------------------------------------------------------------------ write_json
def test_write_json_round_trip_and_exact_text(tmp_path):
    path = tmp_path / "deep" / "summary.json"
    obj = {"b": 1, "a": [1, 2.5], "none": None, "word": "café"}
    write_json(path, obj)
    assert json.loads(path.read_text(encoding="utf-8")) == obj
    assert list(json.loads(path.read_text(encoding="utf-8"))) == ["b", "a", "none", "word"]  # order kept
    assert path.read_text(encoding="utf-8") == (
        '{\n  "b": 1,\n  "a": [\n    1,\n    2.5\n  ],\n  "none": null,\n  "word": "caf\\u00e9"\n}\n')
    assert _names(path.parent) == ["summary.json"]


def test_write_json_that_fails_half_way_keeps_the_old_file(tmp_path):
    path = tmp_path / "summary.json"
    write_json(path, {"old": True})
    with pytest.raises(TypeError):
        write_json(path, {"fine": 1, "bad": object()})  # json.dump has written the start when it fails
    assert json.loads(path.read_text()) == {"old": True}
    assert _names(tmp_path) == ["summary.json"]


# ------------------------------------------------------------------------------------------------ check_writable
def test_check_writable_makes_the_folder_and_leaves_nothing_else(tmp_path):
    path = tmp_path / "new" / "folder" / "out.png"
    check_writable(path)
    assert (tmp_path / "new" / "folder").is_dir()
    assert _names(tmp_path / "new" / "folder") == []


def test_check_writable_refuses_a_directory_and_a_file_in_the_way(tmp_path):
    (tmp_path / "adir").mkdir()
    with pytest.raises(IsADirectoryError) as caught:
        check_writable(tmp_path / "adir")
    assert caught.value.filename == str(tmp_path / "adir")
    assert _names(tmp_path / "adir") == []
    (tmp_path / "afile").write_text("x")
    with pytest.raises(NotADirectoryError):
        check_writable(tmp_path / "afile" / "out.txt")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_check_writable_names_the_file_in_a_read_only_folder(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(PermissionError) as caught:
            check_writable(folder / "out.txt")
        assert caught.value.filename == str(folder / "out.txt")
    finally:
        folder.chmod(0o755)


# ------------------------------------------------------------------------------------------------ atomic_directory
def test_atomic_directory_builds_then_swaps_in_whole(tmp_path, umask_022):
    path = tmp_path / "run" / "corpus"
    with atomic_directory(path) as work:
        (work / "a.txt").write_text("1")
        assert not path.exists()  # nothing at the destination while building
    assert _names(path) == ["a.txt"]
    assert _names(tmp_path / "run") == ["corpus"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o755  # not mkdtemp's 0700


def test_atomic_directory_replaces_an_old_folder_as_a_whole(tmp_path):
    path = tmp_path / "corpus"
    path.mkdir()
    (path / "stale.txt").write_text("old")
    with atomic_directory(path) as work:
        (work / "fresh.txt").write_text("new")
        assert (path / "stale.txt").read_text() == "old"  # the old one is whole until the swap
    assert _names(path) == ["fresh.txt"]
    assert _names(tmp_path) == ["corpus"]  # the old folder moved aside is deleted


def test_a_failed_build_keeps_the_old_folder_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "corpus"
    path.mkdir()
    (path / "keep.txt").write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_directory(path) as work:
            (work / "half.txt").write_text("x")
            raise RuntimeError("build failed")
    assert _names(path) == ["keep.txt"] and (path / "keep.txt").read_text() == "old"
    assert _names(tmp_path) == ["corpus"]


def test_a_failed_build_removes_the_staging_folder_it_made(tmp_path):
    path = tmp_path / "run" / "corpus"
    staging = tmp_path / "staging"
    with pytest.raises(RuntimeError):
        with atomic_directory(path, staging=staging) as work:
            assert work.parent == staging
            raise RuntimeError("build failed")
    assert not staging.exists() and not (tmp_path / "run").exists()
    (tmp_path / "kept").mkdir()
    with pytest.raises(RuntimeError):
        with atomic_directory(path, staging=tmp_path / "kept"):
            raise RuntimeError("build failed")
    assert (tmp_path / "kept").is_dir() and _names(tmp_path / "kept") == []  # a staging folder it found stays
