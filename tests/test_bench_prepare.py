"""The prepare bench: each size prepared in a fresh process from the bench text read again and again."""

from __future__ import annotations

from bench.prepare import bench_prepare
from bench.text import write_bench_text
from tests.conftest import lee_path


def test_each_target_is_reached_with_whole_copies_of_the_text(tmp_path):
    text = tmp_path / "bench.txt"
    write_bench_text(text, lee_path())  # a document a paragraph, as the bench text always is
    small, large = bench_prepare(text, targets=(1, 150_000))
    once = small["tokens"]  # a target of one token takes the text once
    assert 50_000 < once < 150_000
    assert large["tokens"] == -(-150_000 // once) * once  # the fewest whole copies that reach 150k tokens
    assert large["vocab_size"] > small["vocab_size"]  # min_count 5: words seen 2-4 times once get in
