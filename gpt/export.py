"""A trained GPT as a ``transformers`` model folder: ``AutoModelForCausalLM`` and ``AutoTokenizer`` load it.

The architecture is chosen by the run's positions, one that computes exactly what this model computes:

- ``learned``, ``sinusoidal``, ``none``: GPT-2 (``GPT2LMHeadModel``); its position table ``wpe`` holds the
  learned rows, the scaled sinusoids, or zeros. GPT-2's ``Conv1D`` layers store weights as (in, out).
- ``rope``: GPT-NeoX (``GPTNeoXForCausalLM``) with sequential residuals and rotary on every head dimension;
  its fused query/key/value rows are grouped per head, ours per projection, so they are reordered.
- ``alibi``: refused (no ``transformers`` causal LM matches this model's blocks exactly).

The token embedding is written as the ``(V, d_model)`` rows the blocks see: a frozen table's rows with its
trainable rows written in, and a table's projection applied. Biases and norm biases this model lacks are
zeros; GELU is the exact one; dropout is kept as configured (``eval()`` turns it off).
"""

from __future__ import annotations

import torch

from base.errors import InputError
from gpt.model import GPT

EXPORTABLE = ("learned", "sinusoidal", "none", "rope")
INSTALL = "pip install -e '.[export]'"


def require_transformers():
    """The ``transformers`` module; InputError saying how to install it when it is missing."""
    try:
        import transformers
    except ImportError:
        raise InputError(f"export needs the transformers package: {INSTALL}") from None
    return transformers


def check_exportable(position: str) -> None:
    """InputError for a position kind no ``transformers`` architecture reproduces."""
    if position not in EXPORTABLE:
        raise InputError(f"a GPT with {position} positions does not export (no transformers model computes the "
                         f"same); the kinds that export: {', '.join(EXPORTABLE)}")


@torch.no_grad()
def _shared(model: GPT) -> dict:
    """The weights every architecture takes: token rows, output head and per-block tensors (biases zeros)."""
    d = model.config.d_model

    def bias(layer, n):
        return layer.bias.detach().clone() if layer.bias is not None else torch.zeros(n)

    rows = model.tok(torch.arange(model.vocab_size).view(1, -1))[0]  # (V, d): what the blocks see
    blocks = []
    for b in model.blocks:
        blocks.append({
            "ln1": (b.ln1.weight.clone(), bias(b.ln1, d)), "ln2": (b.ln2.weight.clone(), bias(b.ln2, d)),
            "qkv": (b.attn.qkv.weight.clone(), bias(b.attn.qkv, 3 * d)),  # (3d, d): q rows, k rows, v rows
            "proj": (b.attn.proj.weight.clone(), bias(b.attn.proj, d)),
            "fc": (b.mlp.fc.weight.clone(), bias(b.mlp.fc, 4 * d)),
            "out": (b.mlp.proj.weight.clone(), bias(b.mlp.proj, d)),
        })
    head = model.output_weight().detach().clone()  # (V, d)
    return {"rows": rows.clone(), "head": head, "tied": bool(torch.equal(head, rows)), "blocks": blocks,
            "ln_f": (model.ln_f.weight.clone(), bias(model.ln_f, d))}


def _gpt2(model: GPT, w: dict, specials: dict):
    """GPT2LMHeadModel holding ``model``'s weights."""
    from transformers import GPT2Config, GPT2LMHeadModel

    c = model.config
    config = GPT2Config(vocab_size=model.vocab_size, n_positions=c.context, n_embd=c.d_model, n_layer=c.n_layer,
                        n_head=c.n_head, n_inner=4 * c.d_model, activation_function="gelu",
                        resid_pdrop=c.dropout, embd_pdrop=c.dropout, attn_pdrop=0.0, layer_norm_epsilon=1e-5,
                        tie_word_embeddings=w["tied"], **specials)
    state = {"transformer.wte.weight": w["rows"], "transformer.ln_f.weight": w["ln_f"][0],
             "transformer.ln_f.bias": w["ln_f"][1]}
    positions = torch.zeros(c.context, c.d_model)  # none: no position signal at all
    if model.pos is not None:
        positions = model.pos(c.context).detach().clone()  # (context, d)
    state["transformer.wpe.weight"] = positions
    for i, b in enumerate(w["blocks"]):
        p = f"transformer.h.{i}."
        for ours, theirs in (("ln1", "ln_1"), ("ln2", "ln_2")):
            state[p + theirs + ".weight"], state[p + theirs + ".bias"] = b[ours]
        for ours, theirs in (("qkv", "attn.c_attn"), ("proj", "attn.c_proj"), ("fc", "mlp.c_fc"),
                             ("out", "mlp.c_proj")):
            state[p + theirs + ".weight"] = b[ours][0].t().contiguous()  # Conv1D: (in, out)
            state[p + theirs + ".bias"] = b[ours][1]
    state["lm_head.weight"] = w["head"]
    return _load(GPT2LMHeadModel(config), state)


def _per_head(weight: torch.Tensor, n_head: int) -> torch.Tensor:
    """Fused q/k/v rows ``(3d, ...)`` from [q | k | v] order to GPT-NeoX's [q_h k_h v_h for each head h]."""
    q, k, v = weight.chunk(3, dim=0)  # each (d, ...)
    parts = [t.reshape(n_head, -1, *t.shape[1:]) for t in (q, k, v)]  # (H, hd, ...)
    return torch.stack(parts, dim=1).reshape(weight.shape)  # (H, 3, hd, ...) -> (3d, ...)


def _neox(model: GPT, w: dict, specials: dict):
    """GPTNeoXForCausalLM (sequential residuals, full rotary) holding ``model``'s weights."""
    from transformers import GPTNeoXConfig, GPTNeoXForCausalLM

    c = model.config
    config = GPTNeoXConfig(vocab_size=model.vocab_size, hidden_size=c.d_model, num_hidden_layers=c.n_layer,
                           num_attention_heads=c.n_head, intermediate_size=4 * c.d_model, hidden_act="gelu",
                           hidden_dropout=c.dropout, attention_dropout=0.0, max_position_embeddings=c.context,
                           layer_norm_eps=1e-5, use_parallel_residual=False, attention_bias=True,
                           tie_word_embeddings=w["tied"],
                           rope_parameters={"rope_type": "default", "rope_theta": float(c.rope_base),
                                            "partial_rotary_factor": 1.0}, **specials)
    state = {"gpt_neox.embed_in.weight": w["rows"], "gpt_neox.final_layer_norm.weight": w["ln_f"][0],
             "gpt_neox.final_layer_norm.bias": w["ln_f"][1], "lm_head.weight": w["head"]}
    for i, b in enumerate(w["blocks"]):
        p = f"gpt_neox.layers.{i}."
        for ours, theirs in (("ln1", "input_layernorm"), ("ln2", "post_attention_layernorm"),
                             ("proj", "attention.dense"), ("fc", "mlp.dense_h_to_4h"), ("out", "mlp.dense_4h_to_h")):
            state[p + theirs + ".weight"], state[p + theirs + ".bias"] = b[ours]
        state[p + "attention.query_key_value.weight"] = _per_head(b["qkv"][0], c.n_head)
        state[p + "attention.query_key_value.bias"] = _per_head(b["qkv"][1], c.n_head)
    return _load(GPTNeoXForCausalLM(config), state)


def _load(hf_model, state: dict):
    """``state`` into ``hf_model``; every weight of it must be given (only non-persistent buffers left)."""
    missing, unexpected = hf_model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise RuntimeError(f"export left weights unset: missing {missing}, unexpected {unexpected}")
    return hf_model.eval()


def to_transformers(model: GPT, specials: dict | None = None):
    """A ``transformers`` causal LM computing what ``model`` computes (fp32, eval mode); ``specials``: the
    config's token ids (``bos_token_id``, ``eos_token_id``, ``pad_token_id``). InputError for alibi."""
    require_transformers()
    check_exportable(model.config.position)
    model = model.float().eval()
    w = _shared(model)
    build = _neox if model.config.position == "rope" else _gpt2
    return build(model, w, {"bos_token_id": None, "eos_token_id": None, "pad_token_id": None, **(specials or {})})


EXPORT_RECORD = "w2v-gpt-export.json"


def _check_out(out, record: dict) -> None:
    """InputError unless ``out`` is absent, empty, or an export of this very run (then replaced)."""
    import json

    if not out.exists():
        return
    if not out.is_dir():
        raise InputError(f"--out {out} is a file; name a folder")
    if not any(out.iterdir()):
        return
    try:
        theirs = json.loads((out / EXPORT_RECORD).read_text(encoding="utf-8")).get("record")
    except (OSError, ValueError, AttributeError):
        theirs = None
    if theirs != record:
        raise InputError(f"--out {out} already holds other files (not an export of this run); choose another "
                         "--out or delete it")


def write_export(checkpoint, prepared, out, log=print, warn=print) -> dict:
    """Write the run of ``checkpoint`` (trained on ``prepared``) to the folder ``out`` for ``transformers``:
    the model (safetensors, config), the fast tokenizer over the run's vocabulary, and ``w2v-gpt-export.json``
    (the run's record and where it came from). Built beside ``out`` and swapped in whole
    (:func:`base.atomic.atomic_directory`); ``out`` may
    hold an earlier export of the same run, nothing else. Returns the export's record."""
    import json
    from pathlib import Path

    from base.atomic import atomic_directory
    from base.layout import RunFiles
    from corpus.hf_tokenizer import fast_tokenizer
    from gpt.checkpoint import build_model, read_checkpoint, same_corpus

    transformers = require_transformers()
    checkpoint, out = Path(checkpoint), Path(out)
    state = read_checkpoint(checkpoint)
    record = state["record"]
    check_exportable(record["config"].get("position", "learned"))
    if not same_corpus(record, prepared):
        raise InputError(f"{checkpoint} was trained on another corpus than {prepared.path}")
    _check_out(out, record)
    finished = RunFiles(checkpoint.parent).result.is_file()
    if not finished:
        warn(f"warning: {checkpoint.parent} never finished (no result.json); exporting its last checkpoint "
             f"(step {state['step']})")
    vocab = prepared.vocab
    roles = {role: vocab.roles.get(role) for role in ("unk", "eos", "pad")}
    ids = {f"{role}_token_id": vocab.index[t] for role, t in roles.items() if t is not None and role != "unk"}
    hf_model = to_transformers(build_model(record, state["model"]), {"bos_token_id": ids.get("eos_token_id"), **ids})
    tokenizer = transformers.PreTrainedTokenizerFast(
        tokenizer_object=fast_tokenizer(prepared), model_max_length=hf_model.config.max_position_embeddings,
        **{f"{role}_token": t for role, t in roles.items() if t is not None},
        **({"bos_token": roles["eos"]} if roles["eos"] else {}))
    about = {"record": record, "checkpoint": str(checkpoint), "step": int(state["step"]), "finished": finished,
             "architecture": type(hf_model).__name__, "corpus": str(prepared.path),
             "tokenizer": prepared.tokenizer_name}
    transformers.utils.logging.disable_progress_bar()  # one line of output, not a bar per file
    with atomic_directory(out) as staging:
        hf_model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        (staging / EXPORT_RECORD).write_text(json.dumps(about, indent=2) + "\n", encoding="utf-8")
    log(f"exported {checkpoint.parent} as {about['architecture']} to {out}")
    return about
