"""Stanford GloVe's side of the bench: the words it is given and how a wrong GLOVE_DIR is told."""

from __future__ import annotations

import pytest

from base.errors import InputError
from bench.stanford import PROGRAMS, find_programs, write_split_text
from tests.test_bench_text import tiny_prepared


def test_the_split_is_written_one_document_a_line_without_unk_and_pad(tmp_path):
    # a <unk> b <eos> c <pad> a <eos> <eos> b: the empty document between the two <eos> gives no line
    out = tmp_path / "corpus.txt"
    assert write_split_text(tiny_prepared(), out) == 5
    assert out.read_text(encoding="utf-8") == "a b\nc a\nb\n"


def test_programs_are_found_in_the_build_folder_or_the_folder_itself(tmp_path):
    for where in (tmp_path / "one" / "build", tmp_path / "two"):
        where.mkdir(parents=True)
        for name in PROGRAMS:
            (where / name).write_text("")
    assert find_programs(tmp_path / "one") == {name: tmp_path / "one" / "build" / name for name in PROGRAMS}
    assert find_programs(tmp_path / "two")["glove"] == tmp_path / "two" / "glove"
    (tmp_path / "two" / "shuffle").unlink()
    with pytest.raises(InputError, match="lacks Stanford GloVe's programs"):
        find_programs(tmp_path / "two")
    with pytest.raises(InputError, match="is not a folder"):
        find_programs(tmp_path / "nowhere")
