"""Token embedding modes: learned, init (aligned, rescaled rows) and frozen (no gradient, never moves)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from base.errors import InputError
from gpt.config import GPTConfig, parse_embedding
from gpt.embedding import align_table
from gpt.model import GPT
from gpt.train import Stepper, make_optimizer
from vectors import EmbeddingTable

VOCAB = ["<pad>", "<unk>", "<eos>"] + [f"w{i}" for i in range(37)]  # 40 ids; the table lacks the specials


def make_table(dim: int = 16, words=None, seed: int = 1, scale: float = 0.7) -> EmbeddingTable:
    """A table over the vocabulary's words (minus specials and w36), in another order, plus one stranger."""
    words = list(words if words is not None else [f"w{i}" for i in range(36)][::-1] + ["stranger"])
    matrix = np.random.default_rng(seed).normal(0.1, scale, size=(len(words), dim)).astype(np.float32)
    return EmbeddingTable(words, matrix, {"method": "test"})


def config_for(mode: str, **changes) -> GPTConfig:
    table = None if mode == "learned" else "test"
    return GPTConfig(d_model=16, n_layer=2, n_head=2, context=8, dropout=0.0, embedding=mode, table=table,
                     seed=3, **changes)


def build(mode: str, table: EmbeddingTable | None = None, **changes) -> tuple[GPT, object]:
    config = config_for(mode, **changes)
    aligned = align_table(table or make_table(), VOCAB, config) if mode != "learned" else None
    missing = torch.from_numpy(aligned.trainable) if mode == "frozen" else None
    model = GPT(config, len(VOCAB), aligned.dim if aligned else None, missing)
    model.init_weights(aligned)
    return model, aligned


def test_parse_embedding():
    assert parse_embedding("learned") == ("learned", None)
    assert parse_embedding("init:skipgram") == ("init", "skipgram")
    assert parse_embedding("frozen:path/to/vecs.txt") == ("frozen", "path/to/vecs.txt")
    for bad in ("init", "frozen:", "learned:glove", "copy:glove"):
        with pytest.raises(InputError):
            parse_embedding(bad)


def test_align_copies_rows_in_vocabulary_order_and_rescales_them():
    table = make_table()
    aligned = align_table(table, VOCAB, config_for("init"))
    found_words = [w for w in VOCAB if w in table]
    assert aligned.found.tolist() == [w in table for w in VOCAB]
    assert aligned.coverage == pytest.approx(len(found_words) / len(VOCAB))
    factor = aligned.rescale_factor
    assert factor == pytest.approx(0.02 / table.matrix[[table.index[w] for w in found_words]].std(), rel=1e-4)
    for i, word in enumerate(VOCAB):
        if word in table:
            np.testing.assert_allclose(aligned.matrix[i], table.vector(word) * factor, rtol=1e-5, atol=1e-9)
        else:
            assert not aligned.matrix[i].any()
    assert aligned.matrix[aligned.found].std() == pytest.approx(0.02, rel=1e-3)
    raw = align_table(table, VOCAB, config_for("init", rescale=False))
    assert raw.rescale_factor is None
    np.testing.assert_array_equal(raw.matrix[VOCAB.index("w5")], table.vector("w5"))


def test_init_mode_copies_the_table_and_keeps_every_other_weight_of_learned():
    learned, _ = build("learned")
    init, aligned = build("init")
    found = torch.from_numpy(aligned.found)
    assert torch.equal(init.tok.weight[found], torch.from_numpy(aligned.matrix[aligned.found]))
    assert torch.equal(init.tok.weight[~found], learned.tok.weight[~found])  # specials: the learned init
    assert init.head is None and learned.head is None  # tied heads
    assert init.output_weight() is init.tok.weight
    frozen, _ = build("frozen")
    assert frozen.head is not None  # untied
    others = {k: v for k, v in learned.state_dict().items() if not k.startswith("tok.")}
    for model in (init, frozen):
        state = model.state_dict()
        for key, value in others.items():
            assert torch.equal(state[key], value), key


def test_frozen_rows_get_no_gradient_and_never_move():
    model, aligned = build("frozen", weight_decay=0.5)
    frozen_before = model.tok.frozen.clone()
    trainable_before = model.tok.trainable.detach().clone()
    head_before = model.head.weight.detach().clone()
    assert not model.tok.frozen.requires_grad
    assert all(p is not model.tok.frozen for p in model.parameters())
    assert torch.equal(model.tok.trainable_ids, torch.from_numpy(np.flatnonzero(~aligned.found)))
    # the frozen buffer holds exactly the aligned table rows
    assert torch.equal(frozen_before[torch.from_numpy(aligned.found)],
                       torch.from_numpy(aligned.matrix[aligned.found]))
    config = model.config
    optimizer = make_optimizer(model, config)
    optimized = {id(p) for group in optimizer.param_groups for p in group["params"]}
    assert id(model.tok.trainable) in optimized
    generator = torch.Generator().manual_seed(0)
    for step in range(5):
        idx = torch.randint(0, len(VOCAB), (4, 9), generator=generator)
        idx[:, 0] = 2  # make sure the specials are used
        idx[:, 1] = 1
        loss = Stepper(model, optimizer).step(idx[:, :-1], idx[:, 1:], 1e-2, 1.0)
        assert np.isfinite(loss)
    assert torch.equal(model.tok.frozen, frozen_before)  # bit-identical
    rows = model.tok.rows().detach()
    found = torch.from_numpy(aligned.found)
    assert torch.equal(rows[found], frozen_before[found])
    assert not torch.equal(model.tok.trainable.detach(), trainable_before)  # specials trained
    assert not torch.equal(model.head.weight.detach(), head_before)


def test_trainable_parameter_count_excludes_the_frozen_table():
    learned, _ = build("learned")
    frozen, aligned = build("frozen")
    n_missing = int((~aligned.found).sum())
    table_rows = len(VOCAB) * 16
    head = len(VOCAB) * 16
    assert frozen.num_parameters() == learned.num_parameters() - table_rows + n_missing * 16 + head
    assert frozen.num_parameters(trainable_only=False) == frozen.num_parameters()  # buffers are not params


def test_dim_mismatch_needs_a_projection():
    table = make_table(dim=24)
    with pytest.raises(InputError, match="--project"):
        align_table(table, VOCAB, config_for("init"))
    for mode in ("init", "frozen"):
        model, aligned = build(mode, table, project=True)
        assert aligned.dim == 24 and model.tok.projection.weight.shape == (16, 24)
        idx = torch.randint(0, len(VOCAB), (2, 8))
        assert model(idx).shape == (2, 8, len(VOCAB))
        loss = model(idx, idx)
        loss.backward()
        assert model.tok.projection.weight.grad is not None


def test_a_table_from_another_vocabulary_is_bad_input():
    table = make_table(words=["alpha", "beta", "gamma"])
    with pytest.raises(InputError):
        align_table(table, VOCAB, config_for("init"))


def test_untrained_rows_and_specials_stay_trainable_under_a_frozen_table():
    """A trainer's table holds a row for every vocabulary entry, specials included, and marks the trained
    ones; a word2vec file has no mask, but its specials are never frozen either."""
    matrix = np.random.default_rng(2).normal(size=(len(VOCAB), 16)).astype(np.float32)
    trained = np.array([w not in ("<pad>", "<unk>", "<eos>", "w3") for w in VOCAB])
    table = EmbeddingTable(VOCAB, matrix, {"method": "test"}, trained=trained)
    model, aligned = build("frozen", table)
    assert aligned.found.tolist() == trained.tolist()  # untrained rows are not information
    assert aligned.rescale_factor == pytest.approx(0.02 / matrix[trained].std(), rel=1e-4)
    assert model.tok.trainable_ids.tolist() == [0, 1, 2, VOCAB.index("w3")]
    assert model.tok.trainable_rows == 4
    as_file = EmbeddingTable(VOCAB, matrix, {"source": "vectors.txt"})  # no mask: every row counts as trained
    model, aligned = build("frozen", as_file)
    assert aligned.found.all()
    assert model.tok.trainable_ids.tolist() == [0, 1, 2]  # the specials, starting from the file's rows
    np.testing.assert_allclose(model.tok.trainable.detach().numpy(), aligned.matrix[:3])


def test_every_arm_shares_one_decay_policy():
    """Token rows and the output head are never decayed, tied, untied or frozen; the arms' optimizer groups
    differ only by the parameters an arm adds (an untied head, a projection) or freezes (the table)."""

    def decay_of(model) -> dict[str, float]:
        names = {id(p): n for n, p in model.named_parameters()}
        groups = make_optimizer(model, model.config).param_groups
        assert len({g["lr"] for g in groups}) == 1
        return {names[id(p)]: g["weight_decay"] for g in groups for p in g["params"]}

    learned = decay_of(build("learned", weight_decay=0.1)[0])
    init = decay_of(build("init", weight_decay=0.1)[0])
    frozen = decay_of(build("frozen", weight_decay=0.1)[0])
    projected = decay_of(build("frozen", make_table(dim=24), project=True, weight_decay=0.1)[0])
    assert init == learned
    assert learned["tok.weight"] == 0.0 and learned["blocks.0.attn.qkv.weight"] == 0.1
    shared = set(learned) & set(frozen)
    assert {name: frozen[name] for name in shared} == {name: learned[name] for name in shared}
    assert set(learned) - set(frozen) == {"tok.weight"}  # frozen: the table
    assert set(frozen) - set(learned) == {"tok.trainable", "head.weight"}  # its own rows and untied head
    assert frozen["tok.trainable"] == frozen["head.weight"] == learned["tok.weight"] == 0.0
    assert set(projected) - set(frozen) == {"tok.projection.weight"}
    assert {name: projected[name] for name in frozen} == frozen
