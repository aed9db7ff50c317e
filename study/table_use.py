"""What the GPT did with the table it started from: kept its geometry, refined it, or overwrote it.

For every init arm of a comparison, from each seed's final checkpoint:

- **drift**: the cosine between each word's table row (as the GPT received it: aligned, rescaled) and its
  final row in the GPT, averaged within bands of train-split frequency; 1 means the row only changed length,
  0 that nothing of its direction is left. Specials and words the table lacks are left out.
- **scores**: the intrinsic benchmarks (the built-in sets: WS353, SimLex-999, Google analogies) of the
  trained GPT's token embedding, beside the same scores of the tables the runs started from and of the
  jointly learned baseline's final embedding.
- **map**: a fixed list of common words in 2D, the first two principal components of the table's rows, for
  the table and for the trained GPT's rows projected on the same two axes (the lowest seed's run): words
  that stay put kept the table's geometry in its two main directions.

Means over seeds come with 95% t-intervals over seeds (each seed has its own table, GPT init and batches).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from base.errors import InputError
from base.layout import RunLayout

# train-split counts: [low, high) and the band's label
BANDS = ((1000, None, "1000+"), (100, 1000, "100-999"), (10, 100, "10-99"), (0, 10, "under 10"))
MAP_WORDS = ("king", "queen", "man", "woman", "boy", "girl", "city", "country", "war", "army", "music", "film",
             "water", "river", "money", "bank", "good", "bad", "one", "two", "three", "day", "year", "week",
             "government", "president", "school", "university", "he", "she", "big", "small")
MAP_IMAGE = "table-map.png"


def _final_rows(checkpoint: Path) -> tuple[np.ndarray | None, dict]:
    """The trained token rows ``(V, table_dim)`` of a learned or init run (None for a frozen table's), and
    its record."""
    from gpt.checkpoint import read_checkpoint

    state = read_checkpoint(checkpoint)
    rows = state["model"].get("tok.weight")
    return (None if rows is None else rows.float().numpy()), state["record"]


def _start_rows(run_dir: Path, record: dict, prepared):
    """The rows the run started from: its table aligned as the run aligned it (checked by its digest)."""
    from gpt.config import GPTConfig
    from gpt.embedding import align_table
    from vectors.table import EmbeddingTable

    table = record["table"]
    path = Path(table["file"])
    path = path if path.is_absolute() else Path(run_dir) / path
    loaded = EmbeddingTable.load(path)
    aligned = align_table(loaded, prepared.vocab.tokens, GPTConfig.from_dict(record["config"]),
                          prepared.vocab.specials)
    if aligned.sha256 != table["sha256"]:
        raise InputError(f"{path} changed since run {record['variant']} used it; rerun the study")
    return aligned, loaded


def row_drift(start: np.ndarray, final: np.ndarray, rows: np.ndarray, counts: np.ndarray) -> dict:
    """Mean cosine between ``start`` and ``final`` rows over ``rows`` (bool (V,)) in each band of ``counts``:
    ``{label: (mean cosine, rows in the band)}``; None as the mean for an empty band."""
    norms = np.linalg.norm(start, axis=1) * np.linalg.norm(final, axis=1)
    cosine = np.einsum("vd,vd->v", start, final) / np.where(norms > 0, norms, 1.0)  # (V,)
    out = {}
    for low, high, label in BANDS:
        band = rows & (counts >= low) & (counts < (high if high is not None else np.inf))
        out[label] = (float(cosine[band].mean()) if band.any() else None, int(band.sum()))
    return out


def _scores(table, whole) -> dict:
    """Every built-in benchmark's score of ``table`` (Spearman for pairs, accuracy for analogies)."""
    from vectors.evaluate import evaluate_table
    from vectors.table import whole_word_view

    view, _ = whole_word_view(table, whole)
    bench = evaluate_table(view)["benchmarks"]
    return {name: r["spearman"] if r["kind"] == "pairs" else r["accuracy"] for name, r in bench.items()}


def _over_seeds(values: list[dict]) -> dict:
    """Per key, the mean over seeds with its interval (keys with a None on some seed are left out)."""
    from study.stats import mean_interval

    keys = [k for k in values[0] if all(v.get(k) is not None for v in values)]
    return {k: mean_interval([v[k] for v in values]) for k in keys}


def _drift_over_seeds(drifts: list[dict]) -> dict:
    """Per band: the mean cosine over seeds with its interval, and the band's word count (seed 0's)."""
    from study.stats import mean_interval

    out = {}
    for _, _, label in BANDS:
        means = [d[label][0] for d in drifts]
        stat = mean_interval(means) if all(m is not None for m in means) else {"mean": None}
        out[label] = dict(stat, rows=drifts[0][label][1])
    return out


def _runs(run_dir: Path, variant: str, seeds: int) -> list[Path]:
    layout = RunLayout(run_dir)
    found = [layout.gpt_run(variant, s) / "checkpoint.pt" for s in range(seeds)]
    missing = [str(p) for p in found if not p.is_file()]
    if missing:
        raise InputError(f"{missing[0]} is missing (the comparison's run was deleted); rerun make compare")
    return found


def table_use(run_dir: Path, summary: dict | None) -> dict:
    """The report's part on what the GPT did with each init arm's table (see the module); {} without a
    comparison or an init arm."""
    from corpus.prepared import PreparedCorpus
    from study.report import whole_tokens
    from vectors.table import EmbeddingTable

    if not summary:
        return {}
    run_dir, seeds = Path(run_dir), int(summary["budget"]["seeds"])
    prepared = PreparedCorpus.open(RunLayout(run_dir).corpus)
    tokens, counts = list(prepared.vocab.tokens), np.asarray(prepared.vocab.counts)
    whole = whole_tokens(run_dir)
    arms, maps = {}, {}
    for variant in summary["variants"]:
        paths = _runs(run_dir, variant, seeds)
        finals = [_final_rows(p) for p in paths]
        mode = finals[0][1]["config"].get("embedding", "learned")
        if mode == "frozen" or (mode == "learned" and variant != summary["baseline"]):
            continue  # a frozen table's rows are the table's; other learned arms are not the baseline
        trained = _over_seeds([_scores(EmbeddingTable(tokens, rows), whole) for rows, _ in finals])
        if mode == "learned":
            arms[variant] = {"kind": "learned", "trained_scores": trained}
            continue
        drifts, table_scores, first = [], [], None
        for rows, record in finals:
            aligned, loaded = _start_rows(run_dir, record, prepared)
            if aligned.dim != rows.shape[1]:
                raise InputError(f"run {record['variant']}: its token rows and its table differ in width")
            drifts.append(row_drift(aligned.matrix, rows, aligned.found & ~aligned.special, counts))
            table_scores.append(_scores(loaded, whole))
            first = first or (aligned, rows)
        arms[variant] = {"kind": "init", "table": finals[0][1]["table"]["name"], "drift": _drift_over_seeds(drifts),
                         "table_scores": _over_seeds(table_scores), "trained_scores": trained}
        maps[variant] = first
    if not any(a["kind"] == "init" for a in arms.values()):
        return {}
    words = [w for w in MAP_WORDS if w in prepared.vocab.index]
    return {"seeds": seeds, "bands": [label for _, _, label in BANDS], "arms": arms, "map_words": words,
            "maps": {v: map_points(aligned, final, [prepared.vocab.index[w] for w in words])
                     for v, (aligned, final) in maps.items()}}


def map_points(aligned, final: np.ndarray, ids: list[int]) -> dict:
    """2D points of ``ids``: the table's rows on their first two principal components, and the trained rows
    on the same two axes (each set centred on its own mean)."""
    start = aligned.matrix[ids].astype(np.float64)  # (n, d)
    end = final[ids].astype(np.float64)
    centred = start - start.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    axes = vt[:2].T  # (d, 2)
    return {"table": (centred @ axes).round(5).tolist(), "trained": ((end - end.mean(axis=0)) @ axes).round(5).tolist()}


def plot_table_map(path: Path, use: dict) -> None:
    """One row per init arm: the common words on the table's two main axes, table left, trained GPT right."""
    from study.plots import new_figure, save_figure

    arms = list(use["maps"])
    fig, axes = new_figure((10, 4.2 * len(arms)))
    fig.clf()
    for i, variant in enumerate(arms):
        for j, which in enumerate(("table", "trained")):
            ax = fig.add_subplot(len(arms), 2, 2 * i + j + 1)
            points = np.asarray(use["maps"][variant][which])
            ax.scatter(points[:, 0], points[:, 1], s=8)
            for word, (x, y) in zip(use["map_words"], points):
                ax.annotate(word, (x, y), fontsize=7, textcoords="offset points", xytext=(2, 2))
            ax.set_title(f"{variant}: {'the table' if which == 'table' else 'the trained GPT (seed 0)'}", fontsize=9)
            ax.grid(alpha=0.3)
    save_figure(fig, path)


def render_table_use(use: dict) -> list[str]:
    """The report's section (markdown lines)."""
    from study import format as fmt

    def cell(stat: dict | None) -> str:
        if not stat or stat.get("mean") is None:
            return fmt.MISSING
        if stat.get("ci_low") is None:
            return fmt.number(stat["mean"], 3)
        return f"{stat['mean']:.3f} [{stat['ci_low']:.3f}, {stat['ci_high']:.3f}]"

    bands = use["bands"]
    init = {v: a for v, a in use["arms"].items() if a["kind"] == "init"}
    lines = ["## What the GPT did with its table", "",
             f"Cosine between each word's table row and its row in the trained GPT, mean over the words of each "
             f"band of train-split frequency (1: kept its direction; 0: nothing of it left), mean over "
             f"{use['seeds']} seed(s) with 95% t-intervals over seeds.", "",
             "| arm | " + " | ".join(f"seen {b} times" for b in bands) + " |", "|---|" + "---|" * len(bands)]
    for variant, arm in init.items():
        lines.append(f"| {variant} | " + " | ".join(
            f"{cell(arm['drift'][b])} ({arm['drift'][b]['rows']:,} words)" for b in bands) + " |")
    names = []
    for arm in use["arms"].values():
        names += [n for n in arm["trained_scores"] if n not in names]
    lines += ["", "Intrinsic scores of the token embeddings: the tables the runs started from, the trained GPT's "
                  "(init arms and the learned baseline); Spearman for word pairs, analogy accuracy.", "",
              "| embedding | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for variant, arm in use["arms"].items():
        if arm["kind"] == "init":
            lines.append(f"| {arm['table']} table | " + " | ".join(cell(arm["table_scores"].get(n)) for n in names) + " |")
        lines.append(f"| {variant}, trained | " + " | ".join(cell(arm["trained_scores"].get(n)) for n in names) + " |")
    lines += ["", f"Common words on the table's first two principal axes, the table and the trained GPT "
                  f"(seed 0):", "", f"![table map]({MAP_IMAGE})", ""]
    return lines
