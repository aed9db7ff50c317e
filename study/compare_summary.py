"""The comparison's summary: ``summary.json``, ``summary.md`` and ``curves.png`` from the runs' results.

Everything here is read from files the runs wrote (result.json, curve.csv, the tables' reports), so the
same runs always give the same summary, and a rerun that trained nothing rewrites identical files.
"""

from __future__ import annotations

import math
from pathlib import Path

from gpt.runs import RunFiles, read_curve
from study import format as fmt
from study.table_files import is_run_table
from study.stats import ALPHA, holm, mean_std, paired_difference, tokens_to_reach

SUMMARY_FORMAT_VERSION = 3  # 2: Holm-adjusted verdicts, per-seed tables, eval seconds; 3: equivalence margins
EQUIVALENCE = ("Equivalence: two one-sided t-tests against a margin of ±{margin:g} nats/token, Holm-adjusted the same "
               "way; better or worse when a difference is shown, equivalent when one as large as the margin is "
               "ruled out, else inconclusive.")
INTERVAL_COVERS = "Each interval is over seeds: seed k sets the GPT's init, its batches and dropout{tables} (not " \
                  "other corpora, model sizes or budgets)."
FILE_SEEDS = (" The arms of a vector file ({names}) use the same rows for every seed: a file has no seed, so "
              "their intervals cover the GPT's randomness alone.")
TABLE_SEEDS = (", and the tables it uses were pretrained with seed k, so the intervals cover the GPT's and the "
               "tables' randomness together")


def run_curves(run_dir: Path, results: dict[str, list[dict]]) -> dict[str, list[tuple[list, list]]]:
    """Per variant, each seed's (tokens, val_loss) curve, checked against the run's result."""
    return {name: [read_curve(RunFiles.of(run_dir, r["record"]["variant"], r["seed"]), r) for r in runs]
            for name, runs in results.items()}


def _stat(values: list[float]) -> dict:
    mean, std = mean_std(values)
    return {"mean": mean, "std": None if math.isnan(std) else std, "per_seed": values}


def _pretrain_seconds(reports: list[dict] | None) -> float | None:
    """Mean seconds to pretrain one seed's table (GloVe's counting included)."""
    if not reports:
        return None
    seconds = [float(r.get("train_seconds", 0.0)) + float(r.get("count_seconds", 0.0)) for r in reports]
    return sum(seconds) / len(seconds)


def _variant_row(variant, runs: list[dict], reports: dict, position: str) -> dict:
    """One variant's losses over its seeds, its sizes and costs (its difference and verdict come later)."""
    test = [r["test_loss"] for r in runs]
    return {
        "embedding": variant.fields.get("embedding"), "table": variant.table,
        "position": variant.fields.get("position", position),
        "test_loss": _stat(test), "test_ppl": _stat([math.exp(x) for x in test]),
        "test_loss_frequent": _stat([r["test_loss_frequent"] for r in runs]),
        "test_loss_rare": _stat([r["test_loss_rare"] for r in runs]),
        "trainable_parameters": runs[0]["trainable_parameters"],
        "trainable_token_rows": runs[0]["trainable_token_rows"],
        "gpt_train_seconds": _stat([r["train_seconds"] for r in runs]),
        "gpt_eval_seconds": _stat([r["eval_seconds"] for r in runs]),
        "pretrain_seconds": _pretrain_seconds(reports.get(variant.table)) if variant.table else None,
        "verdict": None, "difference": None,
    }


def summarize(settings, curves: dict, variants, results: dict[str, list[dict]], reports: dict,
              files: dict | None = None) -> dict:
    """The summary as a JSON-ready dict: per variant, losses, paired differences and verdicts
    (``curves`` from :func:`run_curves`; ``settings``: the study's :class:`study.settings.StudySettings`;
    ``files``: per vector file users brought, what :func:`study.table_files.describe` says of it)."""
    base, seeds, margin = settings.base, settings.seeds, settings.margin
    baseline = variants[0].name
    base_results = results[baseline]
    base_final_val = [curve[1][-1] for curve in curves[baseline]]
    rows = {}
    for variant in variants:
        row = _variant_row(variant, results[variant.name], reports, base.position)
        reach = [tokens_to_reach(*curves[variant.name][s], base_final_val[s]) for s in range(seeds)]
        row["tokens_to_baseline_val"] = {
            "per_seed": reach,
            "mean": float(sum(reach) / len(reach)) if all(x is not None for x in reach) else None}
        rows[variant.name] = row
    # One family per measure: every variant against the baseline, Holm-adjusted together.
    others = [v.name for v in variants if v.name != baseline]
    for key, suffix in (("difference", ""), ("difference_frequent", "_frequent"), ("difference_rare", "_rare")):
        family = holm({name: paired_difference([r[f"test_loss{suffix}"] for r in results[name]],
                                               [r[f"test_loss{suffix}"] for r in base_results], margin=margin)
                       for name in others})
        for name, diff in family.items():
            rows[name][key] = diff.to_dict()
    for name in others:
        rows[name]["verdict"] = rows[name]["difference"]["verdict"]
    first = base_results[0]
    covers = INTERVAL_COVERS.format(tables=TABLE_SEEDS if any(is_run_table(v) for v in variants) else "")
    if files:
        covers += FILE_SEEDS.format(names=", ".join(f"`{name}`" for name in files))
    summary = {
        "format_version": SUMMARY_FORMAT_VERSION,
        "baseline": baseline,
        "budget": {"tokens": first["tokens"], "steps": first["steps"], "seeds": seeds,
                   "batch_size": base.batch_size, "context": base.context, "d_model": base.d_model,
                   "n_layer": base.n_layer, "n_head": base.n_head,
                   "device": fmt.device(settings.device, base.precision),
                   "frequent_words": first["frequent_words"], "frequent_fraction": first["frequent_fraction"],
                   "evaluations": len(base.eval_steps()),
                   "eval_windows": base.eval_windows},
        "interval_covers": covers,
        "multiple_comparisons": f"Holm over the {len(others)} variants, family-wise alpha {ALPHA}",
        "margin": margin, "equivalence": EQUIVALENCE.format(margin=margin),
        "variants": rows,
    }
    if files:  # only then, so a study without files keeps the summary it had
        summary["table_files"] = files
    return summary


def render_markdown(summary: dict) -> str:
    """A reader's table: one row per variant, then the frequency split and the costs."""
    budget, baseline = summary["budget"], summary["baseline"]
    lines = [
        "# Comparison summary", "",
        f"Budget: {budget['tokens']:,} training tokens per run ({budget['steps']} steps of "
        f"{budget['batch_size']} x {budget['context']} tokens), {budget['seeds']} seed(s) per variant, "
        f"d_model {budget['d_model']}, {budget['n_layer']} layers, {budget['n_head']} heads, on {budget['device']}.",
        f"Differences are variant minus `{baseline}`, paired by seed (same batches and same init of every other "
        "weight), with 95% t-intervals; lower loss is better.",
        summary["interval_covers"],
        f"Verdicts use p-values adjusted for testing {len(summary['variants']) - 1} variants against one baseline "
        f"(Holm, family-wise alpha {ALPHA}): a variant whose unadjusted interval excludes 0 can still be "
        f"inconclusive. {summary['equivalence']}",
        f"Val loss is measured {budget['evaluations']} times per run (step 0, then geometrically spaced), on "
        f"{budget['eval_windows']} windows of the val split; \"tokens to baseline val\" is interpolated between "
        "those points.",
        "",
        "| variant | test loss | test ppl | Δ loss vs baseline [95% CI] | p (Holm) | p equiv. (Holm) | verdict |"
        " tokens to baseline val | trainable params | trainable token rows |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, row in summary["variants"].items():
        reach = row["tokens_to_baseline_val"]["mean"]
        lines.append(f"| {name} | {fmt.format_mean_std(row['test_loss'])} | {fmt.number(row['test_ppl']['mean'], 1)} | "
                     f"{fmt.difference(row['difference'])} | {fmt.p_value(row['difference'])} | "
                     f"{fmt.p_value(row['difference'], 'p_value_equivalence_holm')} | {fmt.text(row['verdict'])} | "
                     f"{'not reached' if reach is None else f'{reach:,.0f}'} | "
                     f"{row['trainable_parameters']:,} | {row['trainable_token_rows']:,} |")
    lines += ["", f"## By token frequency (the {budget['frequent_words']:,} most frequent tokens are "
                  f"{100 * budget['frequent_fraction']:.1f}% of test targets)", "",
              "| variant | loss on frequent | Δ frequent [95% CI] | loss on rare | Δ rare [95% CI] |",
              "|---|---|---|---|---|"]
    for name, row in summary["variants"].items():
        lines.append(f"| {name} | {fmt.format_mean_std(row['test_loss_frequent'])} | "
                     f"{fmt.difference(row.get('difference_frequent'))} | {fmt.format_mean_std(row['test_loss_rare'])} | "
                     f"{fmt.difference(row.get('difference_rare'))} |")
    lines += ["", "## Cost", "", "| variant | table pretraining s (per seed) | GPT training s (mean) | "
                                 "val evaluations s (mean) |", "|---|---|---|---|"]
    for name, row in summary["variants"].items():
        lines.append(f"| {name} | {fmt.number(row['pretrain_seconds'], 1)} | "
                     f"{fmt.number(row['gpt_train_seconds']['mean'], 1)} | {fmt.number(row['gpt_eval_seconds']['mean'], 1)} |")
    lines += file_lines(summary.get("table_files"))
    lines += ["", "![validation loss](curves.png)", ""]
    return "\n".join(lines)


def file_lines(files: dict | None) -> list[str]:
    """The vector files users brought: what each covers and how it reached d_model."""
    if not files:
        return []
    lines = ["", "## Vector files", "",
             "Rows are taken from the file for vocabulary words: the same word, else the file's first word with the "
             "same lower-case form (its most frequent casing).", "",
             "| file | rows scanned | width | reaches d_model by | rows found | vocabulary | train tokens | "
             "test tokens | by case folding |", "|---|---|---|---|---|---|---|---|---|"]
    for name, f in files.items():
        how = f["table_width"] or "same width"
        if f.get("pca"):
            how += f" ({f['pca']['variance_kept']:.1%} of the variance kept)"
        lines.append(f"| {name} (`{f['file']}`) | {f['rows_scanned']:,} | {f['width']} | {how} | {f['rows_found']:,} | "
                     f"{fmt.share(f['vocab_share'])} | {fmt.share(f['train_token_share'])} | "
                     f"{fmt.share(f['test_token_share'])} | {f['case_folded']:,} |")
    for name, f in files.items():
        lines += _band_lines(name, f) + _subword_lines(name, f.get("subword"))
    return lines


def _band_lines(name: str, f: dict) -> list[str]:
    """A file's coverage by frequency band (a token's count in the train split)."""
    if not f.get("bands"):
        return []
    lines = ["", f"{name} by frequency band (count in the train split):", "",
             "| band | tokens | rows found | vocabulary | train tokens | test tokens |", "|---|---|---|---|---|---|"]
    for b in f["bands"]:
        lines.append(f"| {b['band']} | {b['vocab']:,} | {b['rows_found']:,} | {fmt.share(b['vocab_share'])} | "
                     f"{fmt.share(b['train_token_share'])} | {fmt.share(b['test_token_share'])} |")
    return lines


def _subword_lines(name: str, subword: dict | None) -> list[str]:
    """How a word file's rows reached a subword vocabulary (:mod:`vectors.subword`)."""
    if not subword:
        return []
    head = (f"{name} on this subword vocabulary: {subword['words_found']:,} of the {subword['words']:,} words of the "
            f"train split have a row; {subword['whole_word']:,} tokens are whole words and take their word's row")
    if subword["rule"] == "combine":
        tail = (f", {subword['combined']:,} take a combination of the rows of the words they occur in (weighted by "
                f"the words' train counts), {subword['random']:,} (the specials, tokens in no such word) keep their "
                "random init.")
    else:
        tail = f"; every other token ({subword['random']:,}, the specials among them) keeps its random init."
    return ["", head + tail]


def plot_curves(path: Path, curves: dict, summary: dict, seeds: int) -> None:
    """Val loss against tokens on a log axis (the step-0 point left out), one line per variant (mean over
    seeds), the seeds' range shaded."""
    import numpy as np

    from study.plots import new_figure, save_figure

    fig, ax = new_figure((9, 5.5))
    for name in summary["variants"]:
        length = min(len(c[0]) for c in curves[name])
        tokens = np.asarray(curves[name][0][0][:length])
        losses = np.asarray([c[1][:length] for c in curves[name]])  # (seeds, points)
        tokens, losses = tokens[tokens > 0], losses[:, tokens > 0]
        line, = ax.plot(tokens, losses.mean(axis=0), label=name, linewidth=1.6 if name == summary["baseline"] else 1.1)
        if seeds > 1:
            ax.fill_between(tokens, losses.min(axis=0), losses.max(axis=0), color=line.get_color(), alpha=0.15)
    ax.set_xscale("log")
    ax.set_xlabel("training tokens (log scale)")
    ax.set_ylabel("validation loss (nats/token)")
    ax.set_title(f"Validation loss, mean of {seeds} seed(s), range shaded")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    save_figure(fig, path)


def write_summary(settings, out: Path, variants, results, reports, files: dict | None = None) -> dict:
    """Write summary.json, summary.md and curves.png into ``out``; return the summary (``files`` as
    :func:`summarize` takes them)."""
    from study.plots import write_study

    curves = run_curves(settings.run_dir, results)
    summary = summarize(settings, curves, variants, results, reports, files)
    plot = lambda path, summary: plot_curves(path, curves, summary, settings.seeds)  # noqa: E731
    return write_study(out, summary, render_markdown(summary), plot, "curves.png")
