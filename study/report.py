"""The run's report (``eval/report.md`` and ``report.json``): intrinsic scores of every table, their nearest
neighbours, the GPT comparisons, whether intrinsic quality predicted what helped the GPT, the budget sweep
and the data sweep when the run has them, and samples.

Everything is read from the run's files; nothing is trained here. Plots are written beside the report.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from base.atomic import atomic_file, atomic_path, write_json
from base.errors import InputError
from base.layout import RunLayout
from study import format as fmt
from vectors.table import whole_word_view

PROBE_WORDS = ("king", "war", "music", "city", "water", "government", "money", "science", "good", "three")
SAMPLE_PROMPT = "The history of the"
SAMPLES_PER_VARIANT = 3
SAMPLE_TOKENS = 30
REPORT_FORMAT_VERSION = 1
INTRINSIC = ("ws353", "simlex999", "google")


def evaluate_run_tables(run_dir: str | Path, **options) -> dict:
    """``{method: {"benchmarks": ...}}`` for every ``<run_dir>/embeddings/<method>.npz``, sorted by name.

    ``options`` go to :func:`vectors.evaluate.evaluate_table`; empty when the run has no table (its report
    then says so). A damaged table is one line naming it and the command that retrains it.
    """
    from vectors.evaluate import evaluate_table
    from vectors.table import EmbeddingTable

    directory = RunLayout(run_dir).tables(0)
    paths = sorted(directory.glob("*.npz")) if directory.is_dir() else []
    results, whole = {}, whole_tokens(run_dir) if paths else None  # one encoding of the word list for all
    for path in paths:
        try:
            loaded = EmbeddingTable.load(path)
        except InputError as exc:
            raise InputError(f"{exc}; retrain it (`python -m pipelines.pretrain --run-dir {run_dir} --methods "
                             f"{path.stem} --force` with the options it was trained with) or delete it") from None
        table, whole_words = whole_word_view(loaded, whole)
        results[path.stem] = evaluate_table(table, **options)
        if whole_words is not None:
            results[path.stem]["whole_words"] = whole_words
    return results


def whole_tokens(run_dir: Path) -> dict[str, str] | None:
    """For a run prepared with a tokenizer file: its tokens that are whole words, token -> word (the
    benchmarks look words up through them); None for a word or BPE corpus."""
    from corpus.prepared import PreparedCorpus

    layout = RunLayout(run_dir)
    if not layout.manifest.exists():
        return None
    prepared = PreparedCorpus.open(layout.corpus)
    if prepared.tokenizer_name != "file":
        return None
    return {prepared.vocab.tokens[i]: word for i, word in prepared.whole_words().items()}


def read_summary(path: Path, render_section) -> dict | None:
    """A study's ``summary.json`` (None when the study has not run), checked by rendering its report
    section with ``render_section``: InputError naming the file when it is damaged."""
    if not path.is_file():
        return None
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
        render_section(summary)
    except (UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        raise InputError(f"{path} is damaged ({type(exc).__name__}: {exc}); rerun the study that wrote it "
                         "(make compare, make compare-positions, make sweep or make datasweep) to write it "
                         "again") from None
    return summary


def _score(result: dict) -> float:
    return result["spearman"] if result["kind"] == "pairs" else result["accuracy"]


def neighbours_of_tables(run_dir: Path, methods: list[str], probes=PROBE_WORDS, k: int = 8) -> dict:
    """``{method: {probe: [[word, cosine], ...] | None}}`` for probes in the vocabulary."""
    from vectors.evaluate import nearest_neighbours
    from vectors.table import EmbeddingTable, whole_word_view

    found, whole = {}, whole_tokens(run_dir) if methods else None
    for method in methods:
        table, _ = whole_word_view(EmbeddingTable.load(RunLayout(run_dir).table(method)), whole)
        near = nearest_neighbours(table, [p for p in probes if p in table], k=k)
        found[method] = {w: [[x, round(s, 4)] for x, s in n] for w, n in near.items() if n is not None}
    return found


def samples_of_variants(run_dir: Path, summary: dict | None, prompt: str = SAMPLE_PROMPT) -> dict:
    """Three continuations of one fixed prompt per compared variant (its seed-0 model, sampling seeds 0-2)."""
    from gpt.sample import sample_text

    if not summary:
        return {}
    return {variant: [sample_text(run_dir, variant, prompt, n_tokens=SAMPLE_TOKENS, seed=s, train_seed=0)
                      for s in range(SAMPLES_PER_VARIANT)]
            for variant in summary["variants"]}


def intrinsic_vs_gpt(tables: dict, summary: dict | None) -> dict:
    """Per method: intrinsic scores next to the GPT's paired test-loss differences (init and frozen), and
    the best method by each measure."""
    if not summary:
        return {}
    rows = {}
    for method, result in tables.items():
        init, frozen = summary["variants"].get(f"{method}-init"), summary["variants"].get(f"{method}-frozen")
        if init is None and frozen is None:
            continue
        bench = result["benchmarks"]
        rows[method] = {name: _score(bench[name]) for name in INTRINSIC if name in bench}
        rows[method]["delta_init"] = init["difference"]["mean"] if init else None
        rows[method]["delta_frozen"] = frozen["difference"]["mean"] if frozen else None
    best = {}
    for key in (*INTRINSIC, "delta_init", "delta_frozen"):
        values = {m: r[key] for m, r in rows.items() if r.get(key) is not None}
        if values:
            # Scores: higher is better; loss differences: lower is better.
            best[key] = (min if key.startswith("delta") else max)(values, key=values.get)
    return {"methods": rows, "best": best}


def plot_intrinsic_vs_gpt(path: Path, link: dict) -> None:
    """WS353 Spearman against the GPT's test-loss difference from learned, one point per table and mode."""
    from study.plots import new_figure, save_figure

    fig, ax = new_figure((6.5, 4.5))
    for mode, marker in (("delta_init", "o"), ("delta_frozen", "s")):
        points = [(r["ws353"], r[mode], m) for m, r in link["methods"].items()
                  if r.get(mode) is not None and "ws353" in r]
        ax.scatter([p[0] for p in points], [p[1] for p in points], marker=marker, label=mode[6:])
        for x, y, name in points:
            ax.annotate(name, (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8)
    ax.axhline(0.0, color="grey", linewidth=0.8)
    ax.set_xlabel("WS353 Spearman (intrinsic)")
    ax.set_ylabel("test loss minus learned (lower helps)")
    ax.set_title("Does intrinsic quality predict what helps the GPT?")
    ax.legend()
    ax.grid(alpha=0.3)
    save_figure(fig, path)


def _compare_section(title: str, summary: dict, image: str) -> list[str]:
    budget = summary["budget"]
    lines = [f"## {title}", "",
             f"{budget['tokens']:,} training tokens per run, {budget['seeds']} seed(s), d_model {budget['d_model']}, "
             f"{budget['n_layer']} layers, {budget['n_head']} heads, context {budget['context']}, on {budget['device']}. "
             f"Differences are paired by seed against `{summary['baseline']}`, with 95% t-intervals. "
             f"{summary['interval_covers']} Verdicts use Holm-adjusted p-values "
             f"({summary['multiple_comparisons']}). {summary.get('equivalence', '')}".rstrip(), "",
             "| variant | test loss | Δ vs baseline [95% CI] | p (Holm) | verdict | Δ on rare tokens |",
             "|---|---|---|---|---|---|"]
    for name, row in summary["variants"].items():
        diff = row["difference"]
        rare = row.get("difference_rare")
        lines.append(f"| {name} | {fmt.number(row['test_loss']['mean'])} | {fmt.difference(diff)} | "
                     f"{fmt.p_value(diff)} | {fmt.text(row['verdict'])} | {fmt.signed(rare and rare['mean'])} |")
    return lines + ["", f"![validation loss]({image})", ""]


def render(report: dict) -> str:
    """The report's markdown: what the run lacks, the intrinsic evaluation, each study's section, samples."""
    tables = report["tables"]
    lines = ["# w2v-gpt report", "", f"Run: `{report['run_dir']}`. {report['corpus']}", ""]
    if report.get("missing"):
        lines += ["Not in this run yet: " + ", ".join(f"{name} (`{MAKES[name]}`)" for name in report["missing"])
                  + ".", ""]
    if not tables:
        lines += ["## Intrinsic evaluation", "", "No tables in `embeddings/` to evaluate.", ""]
    lines += _intrinsic_section(report) if tables else []
    return _render_studies(report, lines)


MAKES = {"tables": "make pretrain", "compare": "make compare", "compare-positions": "make compare-positions",
         "sweep": "make sweep", "datasweep": "make datasweep"}


def _intrinsic_section(report: dict) -> list[str]:
    """The tables' benchmark scores (best in bold) and nearest neighbours."""
    tables = report["tables"]
    lines = ["## Intrinsic evaluation", "",
             "Spearman for word pairs (WS353, SimLex-999), 3CosAdd accuracy for the Google analogies "
             "(restricted to the 30,000 most frequent words); best in bold.", "",
             "| table | " + " | ".join(INTRINSIC) + " | analogies answered |", "|---|---|---|---|---|"]
    best = {name: max(tables, key=lambda m: _score(tables[m]["benchmarks"][name]))
            for name in INTRINSIC if all(name in t["benchmarks"] for t in tables.values())}
    for method, result in tables.items():
        cells = []
        for name in INTRINSIC:
            r = result["benchmarks"].get(name)
            text = fmt.number(_score(r) if r else None)
            cells.append(f"**{text}**" if best.get(name) == method else text)
        google = result["benchmarks"].get("google")
        lines.append(f"| {method} | " + " | ".join(cells) + f" | {fmt.text(google and google['n'])} |")
    lines += ["", "### Nearest neighbours", ""]
    for method, probes in report["neighbours"].items():
        lines.append(f"- **{method}**: " + "; ".join(
            f"*{w}* → {', '.join(x for x, _ in near[:5])}" for w, near in list(probes.items())[:6]))
    return lines


def _render_studies(report: dict, lines: list[str]) -> str:
    """The studies' sections after ``lines``, then the samples: the report's text."""
    from study.table_use import render_table_use

    link = report["intrinsic_vs_gpt"]
    if report["compare"]:
        lines += [""] + _compare_section("Pretrained or learned token embeddings?", report["compare"], "curves.png")
    if link.get("methods"):
        lines += ["## Does intrinsic quality predict what helps the GPT?", "",
                  "| table | ws353 | simlex999 | google | Δ test loss, init | Δ test loss, frozen |",
                  "|---|---|---|---|---|---|"]
        for method, row in link["methods"].items():
            lines.append(f"| {method} | {fmt.number(row.get('ws353'))} | {fmt.number(row.get('simlex999'))} | "
                         f"{fmt.number(row.get('google'))} | {fmt.number(row['delta_init'])} | "
                         f"{fmt.number(row['delta_frozen'])} |")
        b = link["best"]
        lines += ["", f"Best intrinsically: {b.get('ws353')} (WS353), {b.get('simlex999')} (SimLex), "
                      f"{b.get('google')} (analogies). Lowest mean test-loss difference: {b.get('delta_init')} as "
                      f"init, {b.get('delta_frozen')} frozen; these are point estimates (the study tests each "
                      "table against learned, not the tables against each other). With three tables this is an "
                      "observation, not a correlation estimate.", "", "![intrinsic vs GPT](intrinsic-vs-gpt.png)", ""]
    if report.get("table_use"):
        lines += render_table_use(report["table_use"])
    if report["compare_positions"]:
        lines += _compare_section("Position embeddings", report["compare_positions"], "curves-positions.png")
    if report.get("sweep"):
        from study.sweep_summary import render_sweep

        lines += ["## When does a pretrained table stop helping?", ""]
        lines += render_sweep(report["sweep"]).splitlines()[2:]  # without its own title
    if report.get("datasweep"):
        from study.datasweep_summary import render_datasweep

        lines += ["## How much text is a table worth?", ""]
        lines += render_datasweep(report["datasweep"]).splitlines()[2:]  # without its own title
    if report["samples"]:
        lines += ["## Samples", "", f"Prompt: “{report['sample_prompt']}”; seed-0 model of each variant, "
                                   f"temperature 0.8, top-k 40, sampling seeds 0-2.", ""]
        for variant, texts in report["samples"].items():
            lines.append(f"**{variant}**")
            lines += [f"> {text}" + "\n>" for text in texts]
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def write_report(run_dir: Path, tables: dict) -> dict:
    """Assemble, write and return the run's report (``tables`` from ``evaluate_run_tables``)."""
    from corpus.prepared import read_manifest
    from study.table_use import MAP_IMAGE, plot_table_map, table_use

    layout = RunLayout(run_dir)
    out = layout.eval
    from study.datasweep_summary import render_datasweep
    from study.sweep_summary import render_sweep

    # every input is read and checked before anything is written: a damaged summary leaves the old report
    compare = read_summary(layout.compare / "summary.json",
                           lambda s: (_compare_section("", s, ""), intrinsic_vs_gpt(tables, s)))
    positions = read_summary(layout.compare_positions / "summary.json", lambda s: _compare_section("", s, ""))
    sweep = read_summary(layout.sweep / "summary.json", render_sweep)
    datasweep = read_summary(layout.datasweep / "summary.json", render_datasweep)
    parts = {"tables": tables, "compare": compare, "compare-positions": positions, "sweep": sweep,
             "datasweep": datasweep}
    missing = [name for name, part in parts.items() if not part]
    if len(missing) == len(parts):
        raise InputError(f"nothing to report in {run_dir}: no tables in {layout.tables(0)} and no study summary "
                         "(run `make pretrain` first, or pass --vectors FILE)")
    if layout.manifest.is_file():
        counts = read_manifest(layout.corpus)["counts"]
        corpus = (f"Corpus: vocabulary {counts['vocab_size']:,}; train {counts['tokens']['train']:,}, "
                  f"val {counts['tokens']['val']:,}, test {counts['tokens']['test']:,} tokens.")
    else:
        corpus = "The run has no prepared corpus; only its tables are evaluated."
    link = intrinsic_vs_gpt(tables, compare)
    report = {
        "format_version": REPORT_FORMAT_VERSION, "run_dir": str(run_dir), "corpus": corpus,
        "tables": tables, "neighbours": neighbours_of_tables(run_dir, list(tables)),
        "compare": compare, "compare_positions": positions, "sweep": sweep, "datasweep": datasweep,
        "intrinsic_vs_gpt": link, "missing": missing,
        "sample_prompt": SAMPLE_PROMPT, "samples": samples_of_variants(run_dir, compare),
        "table_use": table_use(run_dir, compare),
    }
    text = render(report)
    for source, name in ((layout.compare / "curves.png", "curves.png"),
                         (layout.compare_positions / "curves.png", "curves-positions.png"),
                         (layout.sweep / "sweep.png", "sweep.png"),
                         (layout.datasweep / "datasweep.png", "datasweep.png")):
        if source.is_file():
            with atomic_path(out / name) as tmp:
                shutil.copyfile(source, tmp)
    if link.get("methods"):
        plot_intrinsic_vs_gpt(out / "intrinsic-vs-gpt.png", link)
    if report["table_use"]:
        plot_table_map(out / MAP_IMAGE, report["table_use"])
    write_json(out / "report.json", report)
    with atomic_file(out / "report.md", "w", encoding="utf-8") as handle:
        handle.write(text)
    return report
