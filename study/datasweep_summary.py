"""The data sweep's summary: ``summary.json``, ``summary.md`` and ``datasweep.png`` from the runs' results.

Each arm trains on a fraction of the GPT's train split (a seeded choice of whole documents), for the same
number of epochs of its own fraction, and is measured by ``test_loss_best_val``: the test loss of the model at
its best val evaluation, so a small fraction that overfits is not penalised for training past its best.
``learned`` (the baseline) runs at every fraction, the other arms at some of them.

Per arm and fraction: the best-val test loss over seeds and the paired difference from ``learned`` at the same
fraction with its 95% t-interval; the p-values of every (arm, fraction) comparison are Holm-adjusted together,
and the verdicts use them, with the equivalence tests against the margin (better, worse, equivalent,
inconclusive). The same on the test targets rare in the fraction's train ids, as a family of its own. Per arm
and fraction, the **effective data**: the fraction of the train split at which learned's mean best-val test
loss (interpolated on a log axis between learned's fractions) equals the arm's, in tokens and as a multiple of
the fraction the arm trained on ("worth N times its text"), with a 95% interval (``interval``, each end in
fractions, tokens and as a multiple) from a percentile bootstrap over seeds
(:func:`study.stats.equivalent_size_interval`). Seed k pairs the runs: it chooses the fraction's documents
(the same for every arm, and nested: a smaller fraction's are inside a larger one's) and seeds the GPT's init
and batches, so the runs of one seed share their luck. A resample therefore draws seeds with replacement and
uses the same ones for learned at every fraction and for the arm, then reads the effective data off the
resampled means; the bounds hold at least 95% of the resampled values. Resamples off the swept range count as
such: one where the arm beats learned at every fraction is beyond the largest fraction (so an upper bound
there is unbounded: "≥ N times"), one where learned is already there at the smallest fraction counts as the
smallest fraction (a lower bound there reads "at most"). Up to 4 seeds every resample is enumerated (3 seeds:
27); beyond, 2,000 are drawn with a fixed seed. With 3 seeds the bootstrap sees only 10 distinct sets of
seeds, and a bootstrap of so few tends to be too narrow: read the interval as the spread the seeds show, not a
guarantee. One seed gives no interval (None).
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from base.layout import gpt_run_name
from base.parse import exact_number
from corpus.fraction import RARE_IN_FRACTION
from study import format as fmt
from study.compare_summary import EQUIVALENCE, FILE_SEEDS, INTERVAL_COVERS, TABLE_SEEDS, _stat, file_lines
from study.plots import plot_differences, write_study
from study.stats import ALPHA, equivalent_size, equivalent_size_interval, holm, paired_difference
from study.sources import TableSource
from study.table_files import is_run_table

DATASWEEP_FORMAT_VERSION = 2  # 2: the effective data's bootstrap "interval"
MEASURE = "test_loss_best_val"
# the rare-target loss of the best-val state, the state whose test loss the study compares
RARE, RARE_SHARE = "test_loss_rare_in_fraction_best_val", "rare_in_fraction_share"
FRACTION_SEEDS = (" Seed k also chooses the fraction's documents (the same ones for every arm), so the intervals "
                  "cover which text a fraction holds as well.")


def fraction_text(fraction: float) -> str:
    """A fraction as a reader writes it, exactly: ``1/16``, ``1``, ``3/10`` when a ratio with a denominator up
    to 10,000 is this very number, else its exact decimal (``0.3333334``, ``1e-05``); used for the summary's
    keys and its tables, so two fractions never share a label (nor pair with each other's runs)."""
    ratio = Fraction(fraction).limit_denominator(10000)
    return str(ratio) if float(ratio) == fraction else exact_number(fraction)


def _mean(values: list[float]) -> float:
    return float(sum(values) / len(values))


def _values(runs: list[dict], key: str) -> list[float] | None:
    """Each seed's ``key``, or None when any run lacks it (a fraction with no rare targets, the whole split)."""
    values = [r.get(key) for r in runs]
    return None if any(v is None for v in values) else [float(v) for v in values]


def _paired_runs(results: dict, arm: str, baseline: str) -> dict:
    """``{label: (fraction, arm's runs, baseline's runs at that fraction)}``, the arm's fractions ascending;
    ValueError when learned lacks one of them or the two sides' seeds differ (they would not pair)."""
    learned = {fraction_text(f): runs for f, runs in results[baseline].items()}
    pairs = {}
    for fraction in sorted(results[arm]):
        label, runs = fraction_text(fraction), results[arm][fraction]
        if label not in learned:
            raise ValueError(f"{arm} ran at fraction {label}, where {baseline} did not")
        if [r["seed"] for r in runs] != [r["seed"] for r in learned[label]]:
            raise ValueError(f"{arm} and {baseline} at fraction {label} ran different seeds; they do not pair")
        pairs[label] = (float(fraction), runs, learned[label])
    return pairs


def _families(arms, results: dict, baseline: str, margin: float) -> tuple[dict, dict]:
    """The Holm-adjusted paired differences keyed ``"arm|label"``: one family over every (arm, fraction) of
    the best-val test loss, one over every comparison on rare targets both sides report."""
    main, rare = {}, {}
    for arm in arms[1:]:
        for label, (_, runs, learned) in _paired_runs(results, arm.name, baseline).items():
            key = f"{arm.name}|{label}"
            main[key] = paired_difference([r[MEASURE] for r in runs], [r[MEASURE] for r in learned], margin=margin)
            mine, theirs = _values(runs, RARE), _values(learned, RARE)
            if mine is not None and theirs is not None:
                rare[key] = paired_difference(mine, theirs, margin=margin)
    return holm(main), holm(rare)


def _in_tokens(found: dict, train_tokens: int, fraction: float) -> dict:
    """A ``{"value", "where"}`` fraction with ``tokens`` (that fraction of the ``train_tokens``-token split)
    and ``ratio`` (that fraction over the arm's own ``fraction``); both None beyond the largest fraction."""
    value = found["value"]
    return {**found, "tokens": None if value is None else value * train_tokens,
            "ratio": None if value is None else value / fraction}


def effective_data(fractions: list[float], learned: list[list[float]], losses: list[float], train_tokens: int,
                   fraction: float) -> dict:
    """Where learned's mean best-val test loss (``learned[i]``: per seed at the ascending ``fractions[i]``)
    comes down to the mean of the arm's ``losses`` (per seed, the same order; :func:`study.stats.equivalent_size`),
    in tokens and as a ratio to the arm's ``fraction`` (:func:`_in_tokens`), with its bootstrap ``interval``
    over the paired seeds (:func:`study.stats.equivalent_size_interval`, each end in tokens and as a ratio
    too; None with one seed)."""
    found = equivalent_size(fractions, [_mean(seeds) for seeds in learned], _mean(losses))
    interval = equivalent_size_interval(fractions, learned, losses)
    if interval is not None:
        interval = {**interval, "low": _in_tokens(interval["low"], train_tokens, fraction),
                    "high": _in_tokens(interval["high"], train_tokens, fraction)}
    return {**_in_tokens(found, train_tokens, fraction), "interval": interval}


def _learned_losses(results: dict, fractions: list[float]) -> list[list[float]]:
    """learned's best-val test losses per seed at each of its ascending ``fractions``; ValueError when it ran
    other seeds at one fraction than at the smallest (a bootstrap over seeds pairs them across fractions)."""
    by_label = {fraction_text(f): runs for f, runs in results.items()}
    seeds = [r["seed"] for r in by_label[fraction_text(fractions[0])]]
    losses = []
    for fraction in fractions:
        runs = by_label[fraction_text(fraction)]
        if [r["seed"] for r in runs] != seeds:
            raise ValueError(f"learned ran seeds {[r['seed'] for r in runs]} at fraction {fraction_text(fraction)} "
                             f"but {seeds} at {fraction_text(fractions[0])}; they do not pair")
        losses.append([r[MEASURE] for r in runs])
    return losses


def _rare_cell(runs: list[dict], diff) -> dict:
    losses, shares = _values(runs, RARE), _values(runs, RARE_SHARE)
    return {"test_loss": None if losses is None else _stat(losses),
            "share": None if shares is None else _mean(shares),
            "difference": diff.to_dict() if diff else None, "verdict": diff.verdict if diff else None}


def _cell(fraction: float, runs: list[dict], diff, rare, effective: dict | None) -> dict:
    return {"fraction": fraction, "train_tokens": _mean([r["train_tokens"] for r in runs]),
            "tokens": _mean([r["tokens"] for r in runs]),
            "test_loss": _stat([r[MEASURE] for r in runs]), "test_loss_final": _stat([r["test_loss"] for r in runs]),
            "best_val_step": [r.get("best_val_step") for r in runs],
            "difference": diff.to_dict() if diff else None, "verdict": diff.verdict if diff else None,
            "rare": _rare_cell(runs, rare), "effective_data": effective,
            "table_corpus": runs[0].get("table_corpus"),
            "runs": [gpt_run_name(r["record"]["variant"], r["seed"]) for r in runs]}


def summarize_datasweep(settings, arms, fractions: list[float], results: dict, facts: dict) -> dict:
    """The data sweep as a JSON-ready dict (see the module doc): ``results[arm][fraction]`` holds one result
    per seed, in seed order; ``fractions`` are learned's, ascending; ``facts``: ``epochs`` (of each run's own
    fraction), ``train_tokens`` (of the whole train split) and ``table_corpus`` (what the summary records of
    it, or None); ``settings``: the study's :class:`study.settings.StudySettings`."""
    base, seeds, margin = settings.base, settings.seeds, settings.margin
    epochs, train_tokens = facts["epochs"], facts["train_tokens"]
    baseline = arms[0].name
    fractions = [float(f) for f in fractions]
    main, rare = _families(arms, results, baseline, margin)
    learned = _learned_losses(results[baseline], fractions)
    rows = {}
    for arm in arms:
        cells = {}
        for label, (fraction, runs, _) in _paired_runs(results, arm.name, baseline).items():
            key = f"{arm.name}|{label}"
            effective = None if arm.name == baseline else effective_data(
                fractions, learned, [r[MEASURE] for r in runs], train_tokens, fraction)
            cells[label] = _cell(fraction, runs, main.get(key), rare.get(key), effective)
        rows[arm.name] = {"embedding": arm.fields.get("embedding"), "table": arm.table,
                          "table_data": arm.fields.get("table_data"), "fractions": cells}
    covers = INTERVAL_COVERS.format(tables=TABLE_SEEDS if any(is_run_table(a) for a in arms) else "") + FRACTION_SEEDS
    files = facts.get("table_files")
    if files:
        covers += FILE_SEEDS.format(names=", ".join(f"`{name}`" for name in files))
    summary = {
        "format_version": DATASWEEP_FORMAT_VERSION, "baseline": baseline, "fractions": fractions,
        "fraction_labels": [fraction_text(f) for f in fractions], "epochs": epochs, "train_tokens": train_tokens,
        "seeds": seeds,
        "model": {"d_model": base.d_model, "n_layer": base.n_layer, "n_head": base.n_head, "context": base.context,
                  "batch_size": base.batch_size, "evals": base.evals, "eval_windows": base.eval_windows,
                  "schedule": f"{base.warmup_fraction:.0%} warmup, cosine to {base.min_lr_ratio:g} x lr, per run; "
                              f"trained for {epochs:g} epochs of its own fraction; the test loss at the best val "
                              "evaluation"},
        "device": fmt.device(settings.device, base.precision), "interval_covers": covers,
        "multiple_comparisons": f"Holm over the {len(main)} (arm, fraction) comparisons, family-wise alpha {ALPHA}",
        "multiple_comparisons_rare": f"Holm over the {len(rare)} (arm, fraction) comparisons on rare targets, "
                                     f"family-wise alpha {ALPHA}",
        "margin": margin, "equivalence": EQUIVALENCE.format(margin=margin),
        "table_corpus": facts.get("table_corpus"), "measure": MEASURE,
        "arms": rows,
    }
    if files:  # only then, so a data sweep without files keeps the summary it had
        summary["table_files"] = files
    return summary


def _table_source(table_corpus: dict | None) -> str:
    if not table_corpus:
        return "the whole train split"
    parts = [f"{table_corpus['tokens']:,} tokens" if table_corpus.get("tokens") is not None else None,
             f"vocabulary {table_corpus['vocab_size']:,}" if table_corpus.get("vocab_size") is not None else None]
    details = ", ".join(p for p in parts if p)
    return f"`{table_corpus.get('source', 'the table corpus')}`" + (f" ({details})" if details else "")


def _table_lines(summary: dict) -> list[str]:
    """Where the arms' tables come from: the GPT's own fraction, or the table corpus (transfer arms)."""
    rows, lines = summary["arms"], []
    same = [f"`{name}`" for name, row in rows.items() if row.get("table_data") == TableSource.FRACTION.value]
    transfer = [f"`{name}`" for name, row in rows.items()
                if row.get("table_data") == TableSource.TABLE_CORPUS.value]
    if same:
        lines.append(f"The tables of {', '.join(same)} are pretrained on the fraction the GPT trains on.")
    if transfer or summary.get("table_corpus"):
        names = f" ({', '.join(transfer)})" if transfer else ""
        lines.append(f"The transfer tables{names} were pretrained on {_table_source(summary.get('table_corpus'))}.")
    return lines


def _point(found: dict) -> str:
    """The effective data alone: ``0.707 (707,107 tokens, 2.83x)``, ``≤ 1/16`` or ``beyond the largest
    fraction``."""
    if found["where"] == "beyond the largest":
        return "beyond the largest fraction"
    if found["where"] == "at or below the smallest":
        return f"≤ {fraction_text(found['value'])}"
    return (f"{fmt.number(found['value'], 3)} ({fmt.equivalent_size({'value': found['tokens'], 'where': 'inside'})}, "
            f"{fmt.number(found['ratio'], 2)}x)")


def _matches_at(found: dict | None) -> str:
    """Where learned matches an arm with the interval of the multiple: ``0.707 (707,107 tokens, 2.83x); 95% CI
    1.90x to 4.10x``; :data:`study.format.MISSING` for the baseline. A summary written before the interval
    (format 1), or of one seed, shows the point alone."""
    if found is None:
        return fmt.MISSING
    interval = fmt.size_interval(found.get("interval"), lambda bound: f"{fmt.number(bound['ratio'], 2)}x")
    return f"{_point(found)}; {interval}" if interval else _point(found)


def render_datasweep(summary: dict) -> str:
    """The reader's table: one row per arm and fraction."""
    model, baseline = summary["model"], summary["baseline"]
    lines = ["# Data sweep", "",
             f"{summary['seeds']} seed(s) per arm and fraction; d_model {model['d_model']}, {model['n_layer']} "
             f"layers, {model['n_head']} heads, context {model['context']}, batch {model['batch_size']}, "
             f"{model['schedule']}; on {summary['device']}. Fractions are of the {summary['train_tokens']:,}-token "
             "train split (whole documents); GPT tokens are the tokens of the fraction, the mean over seeds.",
             f"Differences are arm minus `{baseline}` at the same fraction (test loss at the best val evaluation, "
             "nats/token), paired by seed, with 95% t-intervals; lower is better.", summary["interval_covers"],
             f"Verdicts use Holm-adjusted p-values ({summary['multiple_comparisons']}; the rare targets, those seen "
             f"fewer than {RARE_IN_FRACTION} times in the fraction's train ids, are a family of their own). "
             f"{summary['equivalence']}",
             f"\"Learned matches it at\": the fraction of the train split at which `{baseline}`'s mean best-val test "
             "loss, interpolated on a log axis between its fractions, equals the arm's (in tokens, and as a "
             "multiple of the arm's own fraction); \"beyond the largest fraction\" when the arm beats "
             f"`{baseline}` at every size, \"≤ {summary['fraction_labels'][0]}\" when `{baseline}` is already "
             "there at the smallest fraction. The 95% interval of the multiple is a percentile bootstrap over "
             f"seeds, paired (a resample of the seeds serves `{baseline}` at every fraction and the arm); "
             "\"≥ Nx\" when its upper end lies beyond the largest fraction, \"≤ Nx\" for an end at or below the "
             "smallest; none with one seed.", *_table_lines(summary), "",
             "| arm | fraction | GPT tokens | test loss (best val) | Δ vs learned [95% CI] | p (Holm) | "
             "p equiv. (Holm) | verdict | learned matches it at | rare share | Δ on rare |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for arm, row in summary["arms"].items():
        for label, cell in row["fractions"].items():
            diff, rare = cell["difference"], cell["rare"]
            lines.append(f"| {arm} | {label} | {cell['train_tokens']:,.0f} | {fmt.format_mean_std(cell['test_loss'])} | "
                         f"{fmt.difference(diff)} | {fmt.p_value(diff)} | "
                         f"{fmt.p_value(diff, 'p_value_equivalence_holm')} | {fmt.text(cell['verdict'])} | "
                         f"{_matches_at(cell['effective_data'])} | "
                         f"{fmt.MISSING if rare['share'] is None else fmt.share(rare['share'])} | "
                         f"{fmt.signed(rare['difference'] and rare['difference']['mean'])} |")
    lines += file_lines(summary.get("table_files"))
    lines += ["", "![difference against GPT tokens](datasweep.png)", ""]
    return "\n".join(lines)


def plot_datasweep(path: Path, summary: dict) -> None:
    """Difference from the baseline against the GPT's train tokens (log axis), one line per arm with its
    interval as a band, a zero line and the margin's band; the fraction of the train split on the top axis."""
    train_tokens = summary["train_tokens"]
    series = {}
    for arm, row in summary["arms"].items():
        if arm != summary["baseline"] and row["fractions"]:
            cells = list(row["fractions"].values())
            series[arm] = ([c["train_tokens"] for c in cells], [c["difference"] for c in cells])
    plot_differences(path, series, summary.get("margin"),
                     "GPT train tokens (its fraction of the train split, log scale)",
                     f"best-val test loss minus {summary['baseline']} (nats/token)",
                     ("fraction of the train split", lambda t: t / train_tokens, lambda f: f * train_tokens),
                     f"Pretrained tables against the learned embedding by data size, {summary['seeds']} seed(s), "
                     "95% intervals")


def write_datasweep(settings, arms, fractions, results, facts: dict) -> dict:
    """Write summary.json, summary.md and datasweep.png into the run's ``datasweep/``; return the summary
    (``facts`` as :func:`summarize_datasweep` takes them)."""
    out = settings.layout.datasweep
    summary = summarize_datasweep(settings, arms, fractions, results, facts)
    return write_study(out, summary, render_datasweep(summary), plot_datasweep, "datasweep.png")
