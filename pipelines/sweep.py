"""``python -m pipelines.sweep``: the compare study across token budgets, to find where an advantage ends.

Each arm (a variant name of ``compare``; ``learned`` always included) is trained for every seed at every
budget, each run with the warmup and cosine schedule of its own budget (independent runs, the shape
``compare`` uses). A budget's run lives in ``gpt/<arm>@<budget>/seed<k>/``, except that a finished run of
``compare`` (``gpt/<arm>/seed<k>/``) with the very same settings is reused rather than trained again. Seed k
of a table arm uses tables pretrained with seed k, as in ``compare``. Every run is planned and checked
before any trains; finished runs are skipped and an interrupted one resumes from its checkpoint, so a
killed sweep rerun with the same command does only what is missing.

Output: ``runs/<name>/sweep/`` ``summary.json`` (key ``budgets``; per arm a ``crossover``), ``summary.md``
and ``sweep.png`` (see :mod:`pipelines.sweep_summary`).
"""

from __future__ import annotations

from pathlib import Path

import click

from corpus.errors import InputError
from corpus.lock import run_lock
from corpus.prepared import PreparedCorpus
from pipelines.common import (COUNT, TokenCount, device_option, handle_errors, main_entry, resolve_device,
                              run_dir_option, show_progress)
from pipelines.compare import Variant, ensure_tables, position_variants, token_variants
from pipelines.scheduler import jobs_option, threads_option, train_planned

DEFAULT_BUDGETS = "400k,1.2M,3.2M"  # 0.65, 1.9 and 5.2 epochs of the default corpus's 620k train tokens;
# 400k is compare's budget, so a `make compare` run before the sweep supplies that column
DEFAULT_ARMS = "learned,glove-init"  # see --help for why


def parse_budgets(value: str) -> list[int]:
    """``"50k,200k,1M"`` -> sorted distinct token counts; InputError for anything else."""
    counts = TokenCount()
    parts = [p.strip() for p in str(value).split(",") if p.strip()]
    if not parts:
        raise InputError(f"--budgets takes a comma list of token counts (e.g. {DEFAULT_BUDGETS}), got {value!r}")
    budgets = []
    for part in parts:
        try:
            budgets.append(counts.convert(part, None, None))
        except click.BadParameter as exc:
            raise InputError(f"--budgets: {exc.message}") from None
    return sorted(set(budgets))


def known_arms() -> dict[str, Variant]:
    """Every variant name ``compare`` knows (the controls and position variants included)."""
    return {v.name: v for v in token_variants(controls=True) + position_variants()}


def parse_arms(value: str) -> list[Variant]:
    """``learned`` first, then the named arms in the given order; InputError naming the known ones."""
    arms = known_arms()
    names = [n.strip() for n in str(value).split(",") if n.strip()]
    unknown = [n for n in names if n not in arms]
    if unknown:
        raise InputError(f"unknown arm(s) {', '.join(unknown)}; choose among {', '.join(arms)}")
    names = ["learned"] + [n for n in dict.fromkeys(names) if n != "learned"]
    return [arms[n] for n in names]


def budget_label(tokens: int) -> str:
    """A short, exact name for a budget: 200k, 3200k, 4M, 123456."""
    if tokens % 1_000_000 == 0:
        return f"{tokens // 1_000_000}M"
    if tokens % 1_000 == 0:
        return f"{tokens // 1_000}k"
    return str(tokens)


def plan_sweep(run_dir: Path, prepared, arms: list[Variant], budgets: list[int], seeds: int, base, fresh: bool,
               log) -> list[tuple[str, object]]:
    """(label, planned run) for every (budget, seed, arm), smallest budget first; a finished compare run of
    the same settings is reused, every other run is checked before any trains."""
    from gpt.runs import check_run_directory, finished_result, plan_run

    quiet_log = lambda message: None  # noqa: E731  (the table lines would repeat for every budget)
    planned = []
    for budget in budgets:
        for seed in range(seeds):
            for arm in arms:
                config = base.replace(tokens=budget, seed=seed, **arm.fields)
                run = plan_run(run_dir, config, arm.name, prepared=prepared, log=quiet_log, warn=log)
                if fresh or finished_result(run.files, run.record) is None:
                    run = plan_run(run_dir, config, f"{arm.name}@{budget_label(budget)}", prepared=prepared,
                                   log=quiet_log, warn=log)
                    check_run_directory(run.files, run.record, fresh)
                planned.append((f"{arm.name} seed {seed} at {budget_label(budget)} tokens", run))
    return planned


@click.command()
@run_dir_option
@click.option("--budgets", default=DEFAULT_BUDGETS, show_default=True,
              help="Comma list of token budgets per run (200000, 200k, 2e5 and 3.2M all work).")
@click.option("--arms", default=DEFAULT_ARMS, show_default=True,
              help="Comma list of variant names of compare (controls and pos-* included); learned is always "
                   "trained as the baseline. The default arm is glove-init, the init arm with the largest mean "
                   "gain in make compare on the default corpus. A frozen arm (glove-frozen) answers the other "
                   "half of the question but is not in the default: each arm costs seeds x the summed budgets in "
                   "training tokens (3 x 4.4M at the defaults, the 400k column reused from make compare), and "
                   "three arms take over 90 minutes on 2 CPU cores; add it, or cbow-*/skipgram-* arms, when "
                   "there is time for the full picture.")
@click.option("--seeds", type=COUNT, default=3, show_default=True, help="Seeds per arm and budget (paired).")
@click.option("--dim", type=COUNT, default=128, show_default=True, help="d_model, and the dim of the tables.")
@click.option("--x-max", type=float, default=None, help="GloVe x_max of the tables (as in compare).")
@click.option("--layers", type=COUNT, default=None, help="Transformer blocks [GPT default].")
@click.option("--heads", type=COUNT, default=None, help="Attention heads [GPT default].")
@click.option("--context", type=COUNT, default=None, help="Tokens per window [GPT default].")
@click.option("--batch-size", type=COUNT, default=None, help="Windows per step [GPT default].")
@click.option("--evals", type=COUNT, default=None, help="Val evaluations per run after step 0 [GPT default].")
@click.option("--eval-windows", type=COUNT, default=None, help="Windows in the fixed val sample [GPT default].")
@click.option("--checkpoint-interval", type=COUNT, default=None, help="Steps between checkpoints [GPT default].")
@device_option
@click.option("--fresh", is_flag=True, help="Train every run again, replacing finished ones.")
@jobs_option
@threads_option
@click.option("--quiet", is_flag=True, help="No progress bars.")
@handle_errors
def cli(run_dir: Path, budgets: str, arms: str, seeds: int, dim: int, x_max: float | None, layers, heads, context,
        batch_size, evals, eval_windows, checkpoint_interval, device: str, fresh: bool, jobs: int | str,
        threads_per_run: int | None, quiet: bool) -> None:
    """How the paired difference from the learned embedding moves with the token budget."""
    from gpt.config import GPTConfig
    from pipelines.sweep_summary import write_sweep

    budget_list, arm_list = parse_budgets(budgets), parse_arms(arms)
    given = {"n_layer": layers, "n_head": heads, "context": context, "batch_size": batch_size, "evals": evals,
             "eval_windows": eval_windows, "checkpoint_interval": checkpoint_interval}
    base = GPTConfig(d_model=dim, tokens=budget_list[0], **{k: v for k, v in given.items() if v is not None})
    for budget in budget_list:
        base.replace(tokens=budget)  # every budget is a valid config
    device = resolve_device(device)
    with run_lock(run_dir):
        prepared = PreparedCorpus.open(Path(run_dir) / "corpus")
        if any(arm.table for arm in arm_list):
            ensure_tables(Path(run_dir), prepared, arm_list, seeds, dim, x_max, click.echo)
        planned = plan_sweep(Path(run_dir), prepared, arm_list, budget_list, seeds, base, fresh, click.echo)
        trained = train_planned(planned, device, not show_progress(quiet), fresh, click.echo, jobs,
                                threads_per_run)
        results: dict = {}
        for (_, run), result in zip(planned, trained):
            arm = run.record["variant"].split("@")[0]
            results.setdefault(arm, {}).setdefault(run.config.tokens, []).append(result)
        summary = write_sweep(Path(run_dir) / "sweep", arm_list, budget_list, results, base, seeds,
                              len(prepared.train_ids), device)
    click.echo(f"summary: {Path(run_dir) / 'sweep' / 'summary.md'}")
    for arm, row in summary["arms"].items():
        if arm != summary["baseline"]:
            crossover = row["crossover"]
            where = "none within the budgets" if crossover is None else f"{crossover:,} tokens"
            click.echo(f"  {arm:16s} crossover: {where}")


if __name__ == "__main__":
    main_entry(cli)
