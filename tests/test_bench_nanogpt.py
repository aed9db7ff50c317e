"""nanoGPT's model.py as the GPT bench's peer: loaded from a user's clone, trained as nanoGPT's train.py
trains it, at our shape; a wrong folder is one line."""

from __future__ import annotations

import pytest
import torch

from base.errors import InputError
from bench.nanogpt import load_model_module, nanogpt_tokens_per_second
from gpt.config import GPTConfig
from tests.conftest import assert_one_line_error, run_module

TINY = GPTConfig(d_model=16, n_layer=2, n_head=2, context=8, batch_size=3)


def test_it_is_built_at_our_shape_with_its_own_optimizer_and_next_token_targets(nanogpt_dir, capsys):
    module = load_model_module(nanogpt_dir)
    before = torch.get_num_threads()
    r = nanogpt_tokens_per_second(module, TINY, vocab_size=50, steps=2, warmup_steps=1, threads=1)
    assert torch.get_num_threads() == before and capsys.readouterr().out == ""  # its prints are kept quiet
    # its own count: tied 50 x 16 token rows + 2 layers of 16 x 16 (no bias: ours has none); positions left out
    assert r["parameters"] == 800 + 2 * 256 and r["precision"] == "fp32"  # train.py autocasts on CUDA alone
    # its configure_optimizers, given our weight decay, peak lr and betas, for the CPU
    assert [c[1:] for c in module.CALLS if c[0] == "configure_optimizers"] == [(0.1, 2e-3, (0.9, 0.95), "cpu")]
    forwards = [c for c in module.CALLS if c[0] == "forward"]
    assert len(forwards) == 3  # 1 warm-up + 2 timed steps
    for _, x, y in forwards:
        assert x.shape == y.shape == (3, 8) and x.dtype == torch.int64
        assert torch.equal(y[:, :-1], x[:, 1:])  # the targets are the next tokens, as train.py's get_batch
        assert int(x.max()) < 50


@pytest.mark.parametrize("case", ["no folder", "no model.py", "does not import", "not nanoGPT", "no count"])
def test_a_wrong_folder_is_input_error(tmp_path, case):
    folder = tmp_path / "clone"
    if case != "no folder":
        folder.mkdir()
    if case == "does not import":
        (folder / "model.py").write_text("import torch\nraise RuntimeError('broken\\nsecond line')\n")
    if case == "not nanoGPT":
        (folder / "model.py").write_text("class GPT:\n    pass\n")
    if case == "no count":  # its parameter count is what the bench reports beside ours
        (folder / "model.py").write_text("class GPTConfig:\n    pass\n\nclass GPT:\n"
                                         "    def configure_optimizers(self):\n        pass\n")
    with pytest.raises(InputError) as error:
        load_model_module(folder)
    message = str(error.value)
    assert "\n" not in message and str(folder) in message
    assert {"no folder": "not a folder", "no model.py": "no model.py", "does not import": "RuntimeError: broken",
            "not nanoGPT": "lacks GPTConfig", "no count": "lacks GPT.get_num_params"}[case] in message


def test_the_bench_refuses_a_wrong_nanogpt_dir_before_running_anything(tmp_path):
    out = tmp_path / "bench.json"
    result = run_module("pipelines.bench", "--only", "gpt", "--nanogpt-dir", str(tmp_path / "none"),
                        "--out", str(out))
    assert_one_line_error(result)
    assert "NANOGPT_DIR" in result.stderr and not out.exists()
