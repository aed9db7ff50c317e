"""study.plots: the difference plot is a real PNG of the documented content, written atomically, and a
study's three files are written by write_study."""

import json
import struct
import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.figure  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402

from study.plots import plot_differences, write_study  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TOP = ("epochs", lambda tokens: np.asarray(tokens) / 1000.0, lambda epochs: np.asarray(epochs) * 1000.0)


def _diff(mean, low, high):
    return {"mean": mean, "ci_low": low, "ci_high": high}


SERIES = {
    "skipgram-init": ([1e4, 1e5, 1e6], [_diff(-0.10, -0.15, -0.05), _diff(-0.04, -0.07, -0.01),
                                        _diff(0.0, -0.02, 0.02)]),
    "glove-init": ([1e4, 1e5, 1e6], [_diff(-0.08, None, None), _diff(-0.03, None, None), _diff(0.01, None, None)]),
}


def _png_size(path):
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert data[-8:-4] == b"IEND"
    return width, height


@pytest.fixture
def saved_figures(monkeypatch):
    """The figures plot_differences saves (it closes them itself)."""
    figures = []
    original = matplotlib.figure.Figure.savefig

    def savefig(self, *args, **kwargs):
        figures.append(self)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", savefig)
    return figures


def test_plot_is_a_valid_png_of_the_documented_size(tmp_path):
    path = tmp_path / "sweep.png"
    plot_differences(path, SERIES, 0.02, "tokens", "Δ loss", TOP, "title")
    assert _png_size(path) == (880, 550)  # 8 x 5 inches at 110 dpi
    from PIL import Image

    with Image.open(path) as image:
        image.verify()  # every chunk's CRC and the image data check out
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size == (880, 550)
        assert len(set(np.asarray(image.convert("L")).ravel().tolist())) > 10  # something is drawn
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sweep.png"]  # no temporary left


def test_plot_content(tmp_path, saved_figures):
    plot_differences(tmp_path / "d.png", SERIES, 0.02, "train tokens", "Δ test loss", TOP, "The title")
    (fig,) = saved_figures
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    assert ax.get_xlabel() == "train tokens" and ax.get_ylabel() == "Δ test loss" and ax.get_title() == "The title"
    lines = {line.get_label(): line for line in ax.get_lines()}
    np.testing.assert_allclose(lines["skipgram-init"].get_ydata(), [-0.10, -0.04, 0.0])
    np.testing.assert_allclose(lines["glove-init"].get_xdata(), [1e4, 1e5, 1e6])
    # One interval band: skip-gram's; glove's differences have no interval (one seed).
    bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(bands) == 1
    ys = bands[0].get_paths()[0].vertices[:, 1]
    assert ys.min() == pytest.approx(-0.15) and ys.max() == pytest.approx(0.02)
    labels = ax.get_legend_handles_labels()[1]
    assert labels == ["±0.02 margin", "skipgram-init", "glove-init"]
    # The margin band spans -0.02..0.02 (a rectangle in data y); the zero line is at 0.
    (band,) = [p for p in ax.patches if p.get_label() == "±0.02 margin"]
    assert band.get_y() == pytest.approx(-0.02) and band.get_y() + band.get_height() == pytest.approx(0.02)
    unlabelled = [line for line in ax.get_lines() if line.get_label() not in SERIES]
    assert len(unlabelled) == 1 and list(unlabelled[0].get_ydata()) == [0.0, 0.0]
    # The secondary axis along the top carries its label.
    top = [child for child in ax.get_children() if type(child).__name__ == "SecondaryAxis"]
    assert len(top) == 1 and top[0].get_xlabel() == "epochs"


def test_no_margin_and_no_series_draw_no_band_and_no_empty_legend(tmp_path, saved_figures):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns on a legend without labels
        plot_differences(tmp_path / "empty.png", {}, None, "x", "y", TOP, "")
    (fig,) = saved_figures
    ax = fig.axes[0]
    assert ax.get_legend() is None
    assert [p for p in ax.patches if "margin" in p.get_label()] == []
    assert _png_size(tmp_path / "empty.png") == (880, 550)


def test_a_failed_save_keeps_the_old_png_and_leaves_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "sweep.png"
    plot_differences(path, SERIES, 0.02, "x", "y", TOP, "")
    before = path.read_bytes()

    def broken(self, fname, *args, **kwargs):
        with open(fname, "wb") as handle:
            handle.write(PNG_SIGNATURE + b"half a picture")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", broken)
    with pytest.raises(OSError) as caught:
        plot_differences(path, SERIES, None, "x", "y", TOP, "")
    assert caught.value.filename == str(path)  # the error names the file asked for, not the temporary
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sweep.png"]


def test_write_study_writes_its_three_files(tmp_path):
    out = tmp_path / "runs" / "r" / "sweep"
    summary = {"format_version": 3, "budgets": [50_000, 200_000], "arms": {"glove-init": {"crossover": None}}}
    calls = []

    def plot(path, given):
        calls.append((path, given))
        plot_differences(path, SERIES, 0.02, "x", "y", TOP, "")

    returned = write_study(out, summary, "# Sweep\n\n| a | b |\n", plot, "sweep.png")
    assert returned is summary
    assert len(calls) == 1 and calls[0][1] is summary and calls[0][0].parent == out  # drawn to a temporary
    assert json.loads((out / "summary.json").read_text(encoding="utf-8")) == summary
    assert (out / "summary.md").read_text(encoding="utf-8") == "# Sweep\n\n| a | b |\n"
    assert _png_size(out / "sweep.png") == (880, 550)
    assert sorted(p.name for p in out.iterdir()) == ["summary.json", "summary.md", "sweep.png"]


def test_write_study_with_a_failing_plot_leaves_no_temporary(tmp_path):
    out = tmp_path / "sweep"

    def plot(path, summary):
        raise RuntimeError("plot broke")

    with pytest.raises(RuntimeError, match="plot broke"):
        write_study(out, {"a": 1}, "text", plot, "sweep.png")
    assert not any(p.name.startswith(".") for p in out.iterdir())
    assert not (out / "sweep.png").exists()


def test_a_full_disk_while_plotting_leaves_the_previous_three_files_together(tmp_path):
    """Before, the new summary.json and summary.md were in place when the plot failed, beside the old png."""
    import errno

    out = tmp_path / "sweep"
    write_study(out, {"run": 1}, "first", lambda path, s: plot_differences(path, SERIES, None, "x", "y", TOP, ""),
                "sweep.png")
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def full(path, summary):
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError):
        write_study(out, {"run": 2}, "second", full, "sweep.png")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
