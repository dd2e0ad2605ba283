"""The load-test report's charts as inline SVG (matplotlib, text kept as text): rate against target, sensor →
screen latency percentiles, lag, producer acknowledgements; the page stays one self-contained file."""

from __future__ import annotations

import io
from typing import Any

import matplotlib
import numpy as np

matplotlib.use("Agg")  # files only, never a display
import matplotlib.pyplot as plt

# Colour-blind-safe (Okabe-Ito): target grey, sent blue, taken in orange; percentiles light to dark.
TARGET, SENT, TAKEN, LAG = "#6b6b6b", "#0072B2", "#E69F00", "#D55E00"
SHADES = ("#56B4E9", "#0072B2", "#CC79A7", "#D55E00", "#000000", "#009E73")
STYLE: Any = {  # matplotlib types its keys as literals; these are checked by it at run time
    "svg.fonttype": "none",  # text stays text: smaller, searchable, the page's font
    "font.family": "sans-serif",
    "font.size": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.25,
    "legend.frameon": False,
}


def _svg(fig: Any) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg") :]  # no XML prologue inside HTML


def _nan(values: list[Any]) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def _frame(report: dict[str, Any], ylabel: str) -> tuple[Any, Any]:
    fig, ax = plt.subplots(figsize=(9.5, 3.2))
    warmup = float(report["plan"].get("warmup_s", 0.0))
    start = float(report["by_step"][0]["from_s"]) if report["by_step"] else 0.0
    if warmup > 0:
        ax.axvspan(start, start + warmup, color="#000000", alpha=0.05, lw=0)
        ax.text(start + 0.2, 1.0, " warm-up", transform=ax.get_xaxis_transform(), va="top", fontsize=8,
                color="#555555")  # fmt: skip
    for step in report["by_step"][1:]:
        ax.axvline(float(step["from_s"]), color="#999999", lw=0.8, ls=":")
    ax.set_xlim(0, max(len(report["series"]["second"]), 1))  # the same span on every chart
    ax.set_xlabel("seconds since the simulators were started")
    ax.set_ylabel(ylabel)
    return fig, ax


def rate(report: dict[str, Any]) -> str:
    s = report["series"]
    with plt.rc_context(STYLE):
        fig, ax = _frame(report, "readings per second")
        x = np.array(s["second"]) + 0.5  # each value is its second's count: plotted at the second's middle
        ax.plot(x, s["target_per_s"], color=TARGET, ls="--", lw=1.4, label="target")
        ax.plot(x, s["achieved_per_s"], color=SENT, lw=1.6, label="sent by the simulators")
        ax.plot(x, s["processed_per_s"], color=TAKEN, lw=1.4, label="taken in by the worker")
        ax.set_ylim(bottom=0)
        ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
        ax.legend(loc="lower center", ncols=3, bbox_to_anchor=(0.5, 1.0))
        return _svg(fig)


def latency(report: dict[str, Any], key: str) -> str:
    """key: e2e_window_ms or produce_window_ms."""
    s = report["series"]
    with plt.rc_context(STYLE):
        fig, ax = _frame(report, "milliseconds")
        x = np.array(s["second"]) + 1.0  # a window's value holds at its end
        drawn = 0
        for (name, ys), colour in zip(s[key].items(), SHADES, strict=False):
            y = _nan(ys)
            if np.isfinite(y).any():
                ax.plot(
                    x, y, color=colour, lw=1.5, label=name, marker="." if np.isfinite(y).sum() < 3 else None
                )
                drawn += 1
        if not drawn:
            ax.text(0.5, 0.5, "too few samples for any percentile", transform=ax.transAxes, ha="center",
                    color="#555555")  # fmt: skip
        else:
            ax.set_ylim(bottom=0)
            ax.legend(loc="lower center", ncols=max(drawn, 1), bbox_to_anchor=(0.5, 1.0))
        return _svg(fig)


def lag(report: dict[str, Any]) -> str:
    s = report["series"]
    with plt.rc_context(STYLE):
        fig, ax = _frame(report, "seconds behind")
        ax.plot(s["lag_at_s"], s["lag_seconds"], color=LAG, lw=1.5, label="seconds behind")
        ax.set_ylim(bottom=0)
        other = ax.twinx()
        other.plot(s["lag_at_s"], s["lag_readings"], color=SENT, lw=1.0, ls=":", label="readings behind")
        other.set_ylabel("readings behind")
        other.set_ylim(bottom=0)
        other.grid(False)
        other.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
        lines = ax.get_legend_handles_labels()[0] + other.get_legend_handles_labels()[0]
        ax.legend(lines, [str(line.get_label()) for line in lines], loc="lower center", ncols=2,
                  bbox_to_anchor=(0.5, 1.0))  # fmt: skip
        return _svg(fig)
