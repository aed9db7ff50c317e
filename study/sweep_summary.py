"""The budget sweep's summary: ``summary.json``, ``summary.md`` and ``sweep.png`` from the runs' results.

Per arm and budget: the test loss over seeds and the paired difference from ``learned`` with its 95%
t-interval; the p-values of every (arm, budget) comparison are Holm-adjusted together, and the verdicts use
them, with the equivalence tests against the margin (better, worse, equivalent, inconclusive). Per arm, the
**crossover**: the smallest swept budget from which on (at it and every larger budget) the Holm-adjusted
verdict is no longer "better", so the pretrained table no longer shows an advantage; None when the advantage
holds at the largest budget. Per arm and budget, the **effective budget**: the budget at which learned's mean
test loss (interpolated on a log axis between the swept budgets) equals the arm's, with a 95% interval
(``interval``) from a percentile bootstrap over seeds (:func:`study.stats.equivalent_size_interval`): a
resample draws seeds with replacement and uses the same ones for learned at every budget and for the arm,
since a seed pairs their runs (the same init and batch order), and reads the effective budget off the
resampled means; the bounds hold at least 95% of the resampled values. Resamples off the swept range count as
such: one where the arm beats learned at every budget is beyond the largest budget (so an upper bound there is
unbounded), one where learned is already there at the smallest budget counts as the smallest budget (a lower
bound there reads "at most the smallest"). Up to 4 seeds every resample is enumerated (3 seeds: 27); beyond,
2,000 are drawn with a fixed seed. With 3 seeds the bootstrap sees only 10 distinct sets of seeds, and a
bootstrap of so few tends to be too narrow: read the interval as the spread the seeds show, not a guarantee.
One seed gives no interval (None).
"""

from __future__ import annotations

from pathlib import Path

from base.layout import gpt_run_name
from study import format as fmt
from study.compare_summary import EQUIVALENCE, FILE_SEEDS, INTERVAL_COVERS, TABLE_SEEDS, _stat, file_lines
from study.plots import plot_differences, write_study
from study.table_files import is_run_table
from study.stats import ALPHA, BETTER, equivalent_size, equivalent_size_interval, holm, paired_difference

# 2: equivalence margins, crossover from the adjusted verdicts, effective budgets; 3: the effective budget's
# bootstrap "interval"
SWEEP_FORMAT_VERSION = 3


def crossover(budgets: list[int], verdicts: list[str]) -> int | None:
    """The smallest budget from which on every (Holm-adjusted) verdict is something other than "better";
    None when the largest budget still shows an advantage. ``budgets`` ascending, one verdict each."""
    found = None
    for budget, verdict in reversed(list(zip(budgets, verdicts))):
        if verdict == BETTER:
            break
        found = budget
    return found


def _seed_losses(runs: list[dict], seeds: list, what: str) -> list[float]:
    """The runs' test losses in seed order; ValueError when they ran other seeds than ``seeds`` (learned's
    at the smallest budget), as they would then not pair."""
    if [r["seed"] for r in runs] != seeds:
        raise ValueError(f"{what} ran seeds {[r['seed'] for r in runs]}, learned {seeds}; they do not pair")
    return [r["test_loss"] for r in runs]


def effective_budget(budgets: list[int], learned: list[list[float]], losses: list[float]) -> dict:
    """Where learned's mean test loss (per seed at each ascending budget: ``learned[i]``) comes down to the
    mean of the arm's ``losses`` (:func:`study.stats.equivalent_size`), with its bootstrap ``interval``
    over the paired seeds (:func:`study.stats.equivalent_size_interval`; None with one seed)."""
    means = [_stat(seeds)["mean"] for seeds in learned]
    return {**equivalent_size(budgets, means, _stat(losses)["mean"]),
            "interval": equivalent_size_interval(budgets, learned, losses)}


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
    seed_order = [r["seed"] for r in results[baseline][budgets[0]]]
    learned = [_seed_losses(results[baseline][b], seed_order, f"{baseline} at {b:,} tokens") for b in budgets]
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
                             "effective_budget": None if arm.name == baseline else effective_budget(
                                 budgets, learned, _seed_losses(runs, seed_order, f"{arm.name} at {b:,} tokens")),
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
        "device": fmt.device(settings.device, base.precision), "interval_covers": covers,
        "multiple_comparisons": f"Holm over the {len(others) * len(budgets)} (arm, budget) comparisons, "
                                f"family-wise alpha {ALPHA}",
        "margin": margin, "equivalence": EQUIVALENCE.format(margin=margin),
        "arms": rows,
    }
    if files:  # only then, so a sweep without files keeps the summary it had
        summary["table_files"] = files
    return summary


INTERVAL_TEXT = ("Its 95% interval is a percentile bootstrap over seeds, paired (a resample of the seeds serves "
                 "learned at every budget and the arm); \"≥ N\" when the upper end lies beyond the largest budget, "
                 "\"≤ N\" for an end at or below the smallest; none with one seed.")


def _matches_at(found: dict | None) -> str:
    """The effective budget with its interval: ``1,341,206 tokens (95% CI 1,100,000 to 1,800,000)``; a
    summary written before the interval (format 2) shows the budget alone."""
    text = fmt.equivalent_size(found)
    interval = fmt.size_interval(found and found.get("interval"))
    return f"{text} ({interval})" if interval else text


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
             f"between the swept budgets, equals the arm's. {INTERVAL_TEXT}", "",
             "| arm | budget (tokens) | epochs | test loss | Δ vs baseline [95% CI] | p (Holm) | p equiv. (Holm) | "
             "verdict | learned matches it at |",
             "|---|---|---|---|---|---|---|---|---|"]
    for arm, row in summary["arms"].items():
        for b, cell in row["budgets"].items():
            diff = cell["difference"]
            lines.append(f"| {arm} | {int(b):,} | {fmt.number(cell['epochs'], 2)} | {fmt.format_mean_std(cell['test_loss'])} | "
                         f"{fmt.difference(diff)} | {fmt.p_value(diff)} | "
                         f"{fmt.p_value(diff, 'p_value_equivalence_holm')} | {fmt.text(cell['verdict'])} | "
                         f"{_matches_at(cell.get('effective_budget'))} |")
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
