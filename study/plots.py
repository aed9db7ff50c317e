"""The studies' one difference plot and their one way of writing a summary's three files.

Every study that compares arms against a baseline over a size (the budget sweep over token budgets, the data
sweep over the GPT's train tokens) plots the same thing: per arm the paired difference from the baseline
against the size on a log axis, its 95% interval as a band, a zero line and the equivalence margin's band.
"""

from __future__ import annotations

from pathlib import Path

from base.atomic import atomic_file, atomic_path, write_json


def new_figure(figsize: tuple[float, float]):
    """``(fig, ax)`` of a figure drawn off-screen (the Agg backend: no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=figsize, dpi=110)


def save_figure(fig, path: Path) -> None:
    """Write ``fig`` as a PNG to a temporary name, rename it to ``path``, and free the figure."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)


def plot_differences(path: Path, series: dict, margin: float | None, xlabel: str, ylabel: str, top: tuple,
                     title: str) -> None:
    """``series``: per arm ``(sizes, differences)`` (each difference a dict with ``mean``, ``ci_low`` and
    ``ci_high``); ``top``: ``(label, size -> top value, top value -> size)`` for the secondary axis."""
    fig, ax = new_figure((8, 5))
    ax.axhline(0.0, color="grey", linewidth=1.0)
    if margin:
        ax.axhspan(-margin, margin, color="grey", alpha=0.12, label=f"±{margin:g} margin")
    for arm, (sizes, diffs) in series.items():
        line, = ax.plot(sizes, [d["mean"] for d in diffs], marker="o", label=arm)
        if all(d["ci_low"] is not None for d in diffs):
            ax.fill_between(sizes, [d["ci_low"] for d in diffs], [d["ci_high"] for d in diffs],
                            color=line.get_color(), alpha=0.18)
    ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    label, forward, inverse = top
    ax.secondary_xaxis("top", functions=(forward, inverse)).set_xlabel(label)
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    if series or margin:
        ax.legend(fontsize=8)
    save_figure(fig, path)


def write_study(out: Path, summary: dict, markdown: str, plot, image: str) -> dict:
    """``summary.json``, ``summary.md`` (``markdown``) and the figure ``image`` (``plot(path, summary)``)
    into ``out`` as one: all three are written to temporary names first and renamed only once every one is
    whole, so a failure (a full disk while plotting) leaves the previous three together; returns the
    summary."""
    with atomic_path(out / "summary.json") as data, atomic_path(out / "summary.md") as text, \
            atomic_path(out / image) as figure:
        write_json(data, summary)
        with atomic_file(text, "w", encoding="utf-8") as handle:
            handle.write(markdown)
        plot(figure, summary)
    return summary
