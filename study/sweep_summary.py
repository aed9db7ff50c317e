"""The budget sweep's summary: ``summary.json``, ``summary.md`` and ``sweep.png`` from the runs' results.

Per arm and budget: the test loss over seeds and the paired difference from ``learned`` with its 95%
t-interval; the p-values of every (arm, budget) comparison are Holm-adjusted together, and the verdicts use
them, with the equivalence tests against the margin (better, worse, equivalent, inconclusive). Per arm, the
**crossover**: the smallest swept budget from which on (at it and every larger budget) the Holm-adjusted
verdict is no longer "better", so the pretrained table no longer shows an advantage; None when the advantage
holds at the largest budget. Per arm and budget, the **effective budget**: the budget at which learned's
mean test loss (interpolated on a log axis between the swept budgets) equals the arm's.
"""

from __future__ import annotations

from pathlib import Path

from base.layout import gpt_run_name
from study import format as fmt
from study.compare_summary import EQUIVALENCE, FILE_SEEDS, INTERVAL_COVERS, TABLE_SEEDS, _stat, file_lines
from study.plots import plot_differences, write_study
from study.table_files import is_run_table
from study.stats import ALPHA, BETTER, equivalent_size, holm, paired_difference

SWEEP_FORMAT_VERSION = 2  # 2: equivalence margins, crossover from the adjusted verdicts, effective budgets


def crossover(budgets: list[int], verdicts: list[str]) -> int | None:
    """The smallest budget from which on every (Holm-adjusted) verdict is something other than "better";
    None when the largest budget still shows an advantage. ``budgets`` ascending, one verdict each."""
    found = None
    for budget, verdict in reversed(list(zip(budgets, verdicts))):
        if verdict == BETTER:
            break
        found = budget
    return found


def summarize_sweep(settings, arms, budgets: list[int], results: dict, facts: dict) -> dict:
    """The sweep as a JSON-ready dict (see the module doc): ``results[arm][budget]`` holds one result per
    seed; ``settings``: the study's :class:`study.settings.StudySettings`; ``facts``: ``train_tokens`` (of the
    train split) and ``table_files`` (per vector file users brought, :func:`study.table_files.describe`)."""
    base, seeds, margin = settings.base, settings.seeds, settings.margin
    train_tokens, files = facts["train_tokens"], facts.get("table_files")
    baseline = arms[0].name
    others = [arm.name for arm in arms[1:]]
    family = holm({f"{arm}|{b}": paired_difference([r["test_loss"] for r in results[arm][b]],
                                                   [r["test_loss"] for r in results[baseline][b]], margin=margin)
                   for arm in others for b in budgets})
    learned = [_stat([r["test_loss"] for r in results[baseline][b]])["mean"] for b in budgets]
    rows = {}
    for arm in arms:
        cells = {}
        for b in budgets:
            runs = results[arm.name][b]
            diff = family.get(f"{arm.name}|{b}")
            cells[str(b)] = {"tokens": runs[0]["tokens"], "epochs": runs[0]["tokens"] / train_tokens,
                             "test_loss": _stat([r["test_loss"] for r in runs]),
                             "difference": diff.to_dict() if diff else None,
                             "verdict": diff.verdict if diff else None,
                             "effective_budget": None if arm.name == baseline else equivalent_size(
                                 budgets, learned, _stat([r["test_loss"] for r in runs])["mean"]),
                             "runs": [gpt_run_name(r["record"]["variant"], r["seed"]) for r in runs]}
        rows[arm.name] = {"embedding": arm.fields.get("embedding"), "table": arm.table, "budgets": cells,
                          "crossover": None if arm.name == baseline else
                          crossover(budgets, [cells[str(b)]["verdict"] for b in budgets])}
    covers = INTERVAL_COVERS.format(tables=TABLE_SEEDS if any(is_run_table(a) for a in arms) else "")
    if files:
        covers += FILE_SEEDS.format(names=", ".join(f"`{name}`" for name in files))
    summary = {
        "format_version": SWEEP_FORMAT_VERSION, "baseline": baseline, "budgets": budgets,
        "epochs": [b / train_tokens for b in budgets], "train_tokens": train_tokens, "seeds": seeds,
        "model": {"d_model": base.d_model, "n_layer": base.n_layer, "n_head": base.n_head, "context": base.context,
                  "batch_size": base.batch_size, "schedule": f"{base.warmup_fraction:.0%} warmup, cosine to "
                                                             f"{base.min_lr_ratio:g} x lr, per budget"},
        "device": settings.device, "interval_covers": covers,
        "multiple_comparisons": f"Holm over the {len(others) * len(budgets)} (arm, budget) comparisons, "
                                f"family-wise alpha {ALPHA}",
        "margin": margin, "equivalence": EQUIVALENCE.format(margin=margin),
        "arms": rows,
    }
    if files:  # only then, so a sweep without files keeps the summary it had
        summary["table_files"] = files
    return summary


def render_sweep(summary: dict) -> str:
    model = summary["model"]
    lines = ["# Budget sweep", "",
             f"{summary['seeds']} seed(s) per arm and budget; d_model {model['d_model']}, {model['n_layer']} layers, "
             f"{model['n_head']} heads, context {model['context']}, batch {model['batch_size']}, "
             f"{model['schedule']}; on {summary['device']}. Epochs are of the {summary['train_tokens']:,}-token "
             "train split.",
             f"Differences are arm minus `{summary['baseline']}` (test loss, nats/token), paired by seed, with 95% "
             "t-intervals; lower is better.", summary["interval_covers"],
             f"Verdicts use Holm-adjusted p-values ({summary['multiple_comparisons']}). {summary['equivalence']} "
             "The crossover is the smallest budget from which on no verdict is \"better\". \"Learned matches it "
             f"at\": the budget at which `{summary['baseline']}`'s mean test loss, interpolated on a log axis "
             "between the swept budgets, equals the arm's.", "",
             "| arm | budget (tokens) | epochs | test loss | Δ vs baseline [95% CI] | p (Holm) | p equiv. (Holm) | "
             "verdict | learned matches it at |",
             "|---|---|---|---|---|---|---|---|---|"]
    for arm, row in summary["arms"].items():
        for b, cell in row["budgets"].items():
            diff = cell["difference"]
            lines.append(f"| {arm} | {int(b):,} | {fmt.number(cell['epochs'], 2)} | {fmt.format_mean_std(cell['test_loss'])} | "
                         f"{fmt.difference(diff)} | {fmt.p_value(diff)} | "
                         f"{fmt.p_value(diff, 'p_value_equivalence_holm')} | {fmt.text(cell['verdict'])} | "
                         f"{fmt.equivalent_size(cell.get('effective_budget'))} |")
    lines += ["", "| arm | crossover |", "|---|---|"]
    for arm, row in summary["arms"].items():
        if arm != summary["baseline"]:
            c = row["crossover"]
            lines.append(f"| {arm} | {'none within the swept budgets' if c is None else f'{c:,} tokens'} |")
    lines += file_lines(summary.get("table_files"))
    lines += ["", "![difference against budget](sweep.png)", ""]
    return "\n".join(lines)


def plot_sweep(path: Path, summary: dict) -> None:
    """Difference from the baseline against the budget (log axis), one line per arm with its interval as a
    band, a zero line; epochs of the train split on the top axis."""
    budgets, train_tokens = summary["budgets"], summary["train_tokens"]
    series = {arm: (budgets, [row["budgets"][str(b)]["difference"] for b in budgets])
              for arm, row in summary["arms"].items() if arm != summary["baseline"]}
    plot_differences(path, series, summary.get("margin"), "training tokens per run (log scale)",
                     f"test loss minus {summary['baseline']} (nats/token)",
                     ("epochs of the train split", lambda t: t / train_tokens, lambda e: e * train_tokens),
                     f"Pretrained tables against the learned embedding, {summary['seeds']} seed(s), 95% intervals")


def write_sweep(settings, arms, budgets, results, facts: dict) -> dict:
    """Write summary.json, summary.md and sweep.png into the run's ``sweep/``; return the summary."""
    out = settings.layout.sweep
    summary = summarize_sweep(settings, arms, budgets, results, facts)
    return write_study(out, summary, render_sweep(summary), plot_sweep, "sweep.png")
