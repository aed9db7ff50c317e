"""One place per GPT option: every GPTConfig field has a flag, train_gpt and the studies offer it, and a plan
line's flags rebuild the very config they came from."""

import dataclasses

import pytest

from gpt.config import GPTConfig, config_flags, parse_embedding, resolve_precision
from pipelines import compare, datasweep, sweep, train_gpt
from pipelines.options import STUDY_SETS

RUN_ONLY = {"run_dir", "variant", "device", "threads", "compile_model", "fresh", "quiet", "stop_after"}


def option_names(command) -> set[str]:
    return {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}


def config_from_argv(argv: list[str]) -> GPTConfig:
    """What train_gpt builds from its command line."""
    params = train_gpt.cli.make_context("train_gpt", argv).params
    mode, table = parse_embedding(params.pop("embedding"))
    params["precision"] = resolve_precision(params["precision"], "cpu")  # auto: by the device, as train_gpt
    return GPTConfig(embedding=mode, table=table, **{k: v for k, v in params.items() if k not in RUN_ONLY})


def test_every_config_field_has_a_flag_that_train_gpt_and_the_studies_offer():
    offered = option_names(train_gpt.cli)
    for field in dataclasses.fields(GPTConfig):
        flag = field.metadata.get("flag")
        assert flag, f"GPTConfig.{field.name} has no flag"
        assert set(flag.split("/")) <= offered, f"train_gpt lacks {flag}"
        for study in (compare.cli, sweep.cli, datasweep.cli):
            if field.name not in STUDY_SETS:
                assert set(flag.split("/")) <= option_names(study), f"{study.name} lacks {flag}"


def test_a_config_with_every_field_changed_survives_its_flags():
    changed = GPTConfig(d_model=48, n_layer=3, n_head=3, context=40, dropout=0.25, bias=True, init_std=0.03,
                        embedding="frozen", table="vectors/glove.txt", table_seed=None, rescale=False,
                        project=True, position="rope", rope_base=500.0, tokens=123457, batch_size=5, lr=3e-4,
                        min_lr_ratio=0.2, warmup_fraction=0.1, weight_decay=0.01, beta1=0.8, beta2=0.99,
                        grad_clip=0.5, evals=7, eval_windows=3, checkpoint_interval=9, frequent_words=77, seed=5,
                        fraction=0.375, keep_best=True, precision="bf16")
    defaults = GPTConfig()
    unchanged = [f.name for f in dataclasses.fields(GPTConfig)
                 if getattr(changed, f.name) == getattr(defaults, f.name) and f.name not in ("table_seed", "table_data")]
    assert unchanged == []  # the case covers every field (table_seed and table_data, of run tables, below)
    assert config_from_argv(config_flags(changed)) == changed
    with_seed = GPTConfig(embedding="init", table="skipgram", table_seed=2, seed=1)
    assert config_from_argv(config_flags(with_seed)) == with_seed
    for data, fraction in (("fraction", 0.25), ("table-corpus", 1.0)):
        other_text = GPTConfig(embedding="init", table="glove", table_data=data, fraction=fraction, keep_best=True)
        assert config_from_argv(config_flags(other_text)) == other_text
        assert f"--table-data {data}" in " ".join(config_flags(other_text))
    assert config_from_argv(config_flags(defaults)) == defaults


@pytest.mark.parametrize("units", [[], ["avx512_bf16"], ["avx512_bf16", "amx_bf16"]])
def test_a_plan_line_runs_its_precision_on_any_machine(monkeypatch, units):
    # a cluster node's --precision auto may differ from the planning machine's: the line names it
    import gpt.config

    monkeypatch.setattr(gpt.config, "bf16_units", lambda: units)
    for precision in ("fp32", "bf16"):
        config = GPTConfig(embedding="init", table="glove", precision=precision)
        assert config_from_argv(config_flags(config)).precision == precision


def test_flags_are_written_as_a_person_would_type_them():
    args = config_flags(GPTConfig(embedding="init", table="glove", rescale=False, lr=0.001, seed=3))
    pairs = dict(zip(args, args[1:]))
    assert pairs["--embedding"] == "init:glove" and pairs["--lr"] == "0.001" and pairs["--seed"] == "3"
    assert "--no-rescale" in args and "--rescale" not in args and "--table-seed" not in args


@pytest.mark.parametrize("argv", [["--embedding", "init"], ["--tokens", "0"], ["--layers", "0"]])
def test_bad_values_are_refused_by_the_generated_options(argv):
    from base.errors import InputError
    import click

    with pytest.raises((click.UsageError, InputError)):
        config_from_argv(argv)
