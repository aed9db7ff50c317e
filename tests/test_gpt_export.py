"""Export to transformers: the loaded model computes our logits, generates our tokens, and its tokenizer gives
the corpus's ids; what does not export is refused in one line before anything is written."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from conftest import assert_one_line_error, run_cli, train_run
from gpt.config import GPTConfig
from gpt.model import GPT

transformers = pytest.importorskip("transformers")

TINY = dict(d_model=32, n_layer=2, n_head=4, context=16)


def _perturbed(config: GPTConfig, vocab: int = 50, table_dim: int | None = None, missing=None) -> GPT:
    """A model whose every weight is random and distinct (norm weights and biases off their init too)."""
    model = GPT(config, vocab, table_dim, missing)
    model.init_weights()
    generator = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.1 * torch.randn(p.shape, generator=generator))
    return model.eval()


@pytest.mark.parametrize("position", ["learned", "sinusoidal", "none", "rope"])
@pytest.mark.parametrize("bias", [False, True])
def test_exported_logits_equal_ours(position, bias):
    from gpt.export import to_transformers

    model = _perturbed(GPTConfig(**TINY, position=position, bias=bias, init_std=0.2))
    hf = to_transformers(model)
    assert type(hf).__name__ == ("GPTNeoXForCausalLM" if position == "rope" else "GPT2LMHeadModel")
    idx = torch.randint(0, 50, (3, 16), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ours, theirs = model(idx), hf(idx).logits
    assert ours.shape == theirs.shape
    assert torch.allclose(theirs, ours, atol=1e-5, rtol=0)


def test_frozen_projected_table_and_untied_head_export():
    from gpt.export import to_transformers

    missing = torch.zeros(50, dtype=torch.bool)
    missing[:5] = True
    config = GPTConfig(**TINY, embedding="frozen", table="t", project=True, init_std=0.2)
    model = _perturbed(config, table_dim=12, missing=missing)
    hf = to_transformers(model)
    assert not hf.config.tie_word_embeddings
    idx = torch.randint(0, 50, (2, 16), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.allclose(hf(idx).logits, model(idx), atol=1e-5, rtol=0)


def test_alibi_is_refused_naming_what_exports():
    from base.errors import InputError
    from gpt.export import to_transformers

    with pytest.raises(InputError, match="alibi positions does not export.*learned, sinusoidal, none, rope"):
        to_transformers(_perturbed(GPTConfig(**TINY, position="alibi")))


def test_missing_transformers_says_how_to_install(monkeypatch):
    import sys

    from base.errors import InputError
    from gpt.export import require_transformers

    monkeypatch.setitem(sys.modules, "transformers", None)
    with pytest.raises(InputError, match=r"pip install -e '\.\[export\]'"):
        require_transformers()


# ------------------------------------------------------------------------------------------------ end to end
@pytest.fixture(scope="module")
def trained(lee_corpus, tmp_path_factory):
    """A run directory with a tiny trained learned-position GPT and a rope one (seed 1)."""
    run = tmp_path_factory.mktemp("export") / "run"
    shutil.copytree(lee_corpus.path, run / "corpus")
    for position in ("learned", "rope"):
        config = GPTConfig(d_model=32, n_layer=1, n_head=2, context=32, batch_size=4, tokens=4096, evals=2,
                           eval_windows=2, position=position, seed=1)
        train_run(run, config, variant=f"pos-{position}")
    return run


@pytest.mark.parametrize("position", ["learned", "rope"])
def test_export_loads_offline_and_generates_like_sample(trained, tmp_path, position, monkeypatch):
    from corpus import PreparedCorpus

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    out = tmp_path / "hf"
    result = run_cli("pipelines.export", "--run-dir", trained, "--run", f"pos-{position}/seed1", "--out", out)
    assert result.returncode == 0, result.stderr
    model = transformers.AutoModelForCausalLM.from_pretrained(out)
    tokenizer = transformers.AutoTokenizer.from_pretrained(out)
    prepared = PreparedCorpus.open(trained / "corpus")
    prompt = "The prime minister said on"
    ids = tokenizer(prompt)["input_ids"]
    assert ids == [int(i) for i in prepared.encode_text(prompt)]
    vocab = prepared.vocab
    with torch.no_grad():
        generated = model.generate(torch.tensor([ids]), max_new_tokens=12, do_sample=False,
                                   suppress_tokens=[vocab.pad_id, vocab.unk_id], eos_token_id=None,
                                   pad_token_id=vocab.pad_id)[0].tolist()
    sampled = run_cli("pipelines.sample", "--run-dir", trained, "--variant", f"pos-{position}", "--prompt", prompt,
                      "--tokens", 12, "--temperature", 0)
    assert sampled.returncode == 0, sampled.stderr
    assert sampled.stdout.strip() == prepared.decode_text(generated)
    about = json.loads((out / "w2v-gpt-export.json").read_text())
    assert about["finished"] and about["record"]["variant"] == f"pos-{position}"


def test_tokenizer_gives_the_corpus_ids_on_its_own_text(trained, tmp_path):
    from corpus import PreparedCorpus
    from corpus.hf_tokenizer import fast_tokenizer
    from gensim.test.utils import datapath

    prepared = PreparedCorpus.open(trained / "corpus")
    tokenizer = fast_tokenizer(prepared)
    with open(datapath("lee_background.cor"), encoding="utf-8") as handle:
        lines = [line for line, _ in zip(handle, range(40))]
    for line in lines:
        assert tokenizer.encode(line).ids == [int(i) for i in prepared.encode_text(line)]


def test_bpe_tokenizer_renumbered_to_the_corpus_ids(tmp_path):
    from conftest import lee_path
    from corpus.hf_tokenizer import fast_tokenizer
    from corpus.prepare import PrepareConfig, prepare_corpus
    from corpus.sources import resolve_sources

    config = PrepareConfig(documents="lines", tokenizer="bpe", vocab_size=500, val_fraction=0.05,
                           test_fraction=0.05)
    prepared = prepare_corpus(resolve_sources(str(lee_path()), documents="lines"), tmp_path / "corpus", config)
    tokenizer = fast_tokenizer(prepared)
    text = "Australia's prime minister, John Howard, said 1,000 firefighters were fighting the blazes."
    ours = [int(i) for i in prepared.encode_text(text)]
    assert tokenizer.encode(text).ids == ours
    assert len(set(ours)) > 10 and max(ours) < len(prepared.vocab)


def test_refusals_are_one_line_and_write_nothing(trained, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    result = run_cli("pipelines.export", "--run-dir", trained, "--run", "pos-learned/seed1", "--out", other)
    assert result.returncode == 2 and "already holds other files" in result.stderr
    assert_one_line_error(result)
    assert [p.name for p in other.iterdir()] == ["notes.txt"]
    for bad in ("pos-learned", "pos-learned/1", "nothing/seed1"):
        result = run_cli("pipelines.export", "--run-dir", trained, "--run", bad, "--out", tmp_path / "x")
        assert result.returncode == 2, (bad, result.stderr)
        assert_one_line_error(result)
    assert not (tmp_path / "x").exists()


def test_export_again_replaces_its_own_export(trained, tmp_path):
    out = tmp_path / "hf"
    for _ in range(2):
        result = run_cli("pipelines.export", "--run-dir", trained, "--run", "pos-learned/seed1", "--out", out)
        assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hf"]  # no staging folder left behind
    assert (out / "model.safetensors").is_file() and (out / "tokenizer.json").is_file()
    result = run_cli("pipelines.export", "--run-dir", trained, "--run", "pos-rope/seed1", "--out", out)
    assert result.returncode == 2 and "already holds" in result.stderr
    assert np.isfinite(json.loads((out / "config.json").read_text())["n_embd"])
