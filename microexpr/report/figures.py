"""The report's figures, drawn with matplotlib (Agg backend) as PNG bytes.

- :func:`training_curves` -- median and inter-quartile band over folds of the training loss
  and accuracy per epoch, one panel pair per stage (the folds' training, each pretraining
  stage), from ``RUN_DIR/history``;
- :func:`dataset_bars` -- UF1 and UAR per scope (overall, each dataset), ours as mean ± std
  over seeds beside the paper's numbers where its ``paper_reference`` gives them under the
  same definition;
- :func:`confusion_heatmaps` -- one seed's pooled confusion matrix as counts and as
  row-normalised shares;
- :func:`comparison_chart` -- several runs side by side (variants, ablations, sweeps);
- :func:`timeline` -- ``predict --visualise``: the motion score over a video with the chosen
  intervals.

Every figure has a fixed size (:data:`SIZE_PX`) and a thin frame in a colour of its own
(:data:`FRAME_COLOURS`), so a test can find each one, whole and visible, in a screenshot.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..training.history import is_loss_term

DPI = 80
SIZE_IN = (8.0, 3.2)
SIZE_PX = (int(SIZE_IN[0] * DPI), int(SIZE_IN[1] * DPI))
"""(width, height) in pixels of every figure."""
FRAME_COLOURS: dict[str, str] = {
    "curves": "#ff00fe", "bars": "#00fffe", "confusion": "#fffe00", "comparison": "#fe00ff", "timeline": "#00fe01",
    "audit": "#01fe00",
}
"""Frame colour per figure kind: exact RGB values that no plot element uses."""


def _figure(kind: str, ncols: int = 1):
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, ncols, figsize=SIZE_IN, dpi=DPI, facecolor="white", squeeze=False)
    fig.patch.set_edgecolor(FRAME_COLOURS[kind])
    fig.patch.set_linewidth(6)
    return fig, list(axes[0])


def _png(fig) -> bytes:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.tight_layout(pad=1.2)
    fig.savefig(buf, format="png", dpi=DPI, facecolor=fig.get_facecolor(), edgecolor=fig.get_edgecolor())
    plt.close(fig)
    return buf.getvalue()


def read_histories(run_dir: Path) -> dict[str, list[pd.DataFrame]]:
    """Histories by stage: ``"folds"`` (every fold's own training, first seed) and each stage file;
    loss-term breakdowns (:func:`~microexpr.training.history.is_loss_term`) are left out."""
    root = Path(run_dir) / "history"
    seeds = sorted(root.glob("seed*"))
    if not seeds:
        return {}
    out: dict[str, list[pd.DataFrame]] = {}
    for f in sorted(seeds[0].glob("*.csv")):
        df = pd.read_csv(f)
        df = df[~df["stage"].map(is_loss_term)]  # per-term breakdowns stay in the CSV, not in the figure
        if df.empty:
            continue
        if f.stem.startswith("stage-"):
            for stage, part in df.groupby("stage", sort=False):
                out.setdefault(f"stage: {stage}", []).append(part)
        else:  # a fold's file: its last stage is the fold's own training
            last = df["stage"].iloc[-1]
            out.setdefault("folds", []).append(df[df["stage"] == last])
    return out


def training_curves(run_dir: Path) -> bytes | None:
    """Median and IQR over folds of loss and accuracy per epoch, per stage; None without histories."""
    stages = read_histories(run_dir)
    if not stages:
        return None
    names = list(stages)[:3]
    fig, axes = _figure("curves", 2 * len(names))
    for i, name in enumerate(names):
        frames = stages[name]
        for j, (col, label) in enumerate((("train_loss", "loss"), ("train_acc", "accuracy"))):
            ax = axes[2 * i + j]
            n = min(len(d) for d in frames)
            vals = np.stack([d[col].to_numpy(dtype=float)[:n] for d in frames])
            epochs = np.arange(n)
            q1, med, q3 = np.nanpercentile(vals, [25, 50, 75], axis=0)
            ax.fill_between(epochs, q1, q3, color="#1f77b4", alpha=0.3, linewidth=0)
            ax.plot(epochs, med, color="#1f77b4", linewidth=1.5)
            vcol = "val_loss" if j == 0 else "val_acc"
            if vcol in frames[0] and frames[0][vcol].notna().any():  # inner validation split: its median, dashed
                vv = np.stack([d[vcol].to_numpy(dtype=float)[:n] for d in frames])
                ax.plot(epochs, np.nanmedian(vv, axis=0), color="#2ca02c", linewidth=1.2, linestyle="--")
            ax.set_title(f"{name} ({len(frames)} fold{'s' if len(frames) > 1 else ''}): {label}", fontsize=8)
            ax.set_xlabel("epoch", fontsize=7)
            ax.tick_params(labelsize=6)
    return _png(fig)


def dataset_bars(metrics: dict[str, Any], config: dict[str, Any]) -> bytes:
    """UF1 and UAR per scope: ours (mean ± std over seeds) beside the paper's, where given."""
    scopes = ["overall", *sorted(metrics.get("per_dataset", {}))]
    ref = config.get("paper_reference") or {}
    paper_rows = list((ref.get("rows") or {}).values())
    fig, axes = _figure("bars", 2)
    for ax, metric in zip(axes, ("uf1", "uar")):
        x = np.arange(len(scopes))
        ours, err, paper = [], [], []
        for s in scopes:
            m = metrics["overall"] if s == "overall" else metrics["per_dataset"][s]
            ours.append(m.get(metric) or 0.0)
            err.append((m.get("std") or {}).get(metric) or 0.0)
            vals = [r[s][metric] for r in paper_rows if s in r and metric in r[s]]
            paper.append(vals[-1] if vals else np.nan)
        ax.bar(x - 0.2, ours, 0.4, yerr=err, color="#1f77b4", label="ours", capsize=3)
        if not np.all(np.isnan(paper)):
            ax.bar(x + 0.2, np.nan_to_num(paper), 0.4, color="#ff7f0e", label="paper")
        ax.set_xticks(x, scopes, fontsize=7)
        ax.set_ylim(0, 1)
        ax.set_title(metric.upper(), fontsize=9)
        ax.legend(fontsize=7)
        ax.tick_params(labelsize=7)
    return _png(fig)


def confusion_heatmaps(confusion: Sequence[Sequence[int]], classes: Sequence[str], title: str) -> bytes:
    """Counts and row-normalised shares of one confusion matrix (rows true, columns predicted)."""
    cm = np.asarray(confusion, dtype=float)
    shares = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    fig, axes = _figure("confusion", 2)
    for ax, mat, fmt, name in ((axes[0], cm, "{:.0f}", "counts"), (axes[1], shares, "{:.2f}", "row-normalised")):
        ax.imshow(mat / max(mat.max(), 1e-9), cmap="Blues", vmin=0, vmax=1)
        for i in range(mat.shape[0]):
            for j in range(mat.shape[1]):
                ax.text(j, i, fmt.format(mat[i, j]), ha="center", va="center", fontsize=7,
                        color="white" if mat[i, j] > 0.6 * mat.max() else "black")
        ax.set_xticks(range(len(classes)), classes, fontsize=6)
        ax.set_yticks(range(len(classes)), classes, fontsize=6)
        ax.set_xlabel("predicted", fontsize=7)
        ax.set_ylabel("true", fontsize=7)
        ax.set_title(f"{title}: {name}", fontsize=8)
    return _png(fig)


def comparison_chart(labels: Sequence[str], metrics: Sequence[dict[str, Any]]) -> bytes:
    """Overall UF1 and UAR (mean ± std over seeds) of several runs side by side."""
    fig, axes = _figure("comparison", 1)
    ax = axes[0]
    x = np.arange(len(labels))
    for k, (metric, colour) in enumerate((("uf1", "#1f77b4"), ("uar", "#9467bd"))):
        vals = [m["overall"].get(metric) or 0.0 for m in metrics]
        errs = [(m["overall"].get("std") or {}).get(metric) or 0.0 for m in metrics]
        ax.bar(x + (k - 0.5) * 0.38, vals, 0.38, yerr=errs, capsize=3, color=colour, label=metric.upper())
    ax.set_xticks(x, labels, fontsize=7, rotation=10)
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7)
    ax.set_title("runs compared (overall, pooled over folds)", fontsize=9)
    return _png(fig)


def timeline(frames: np.ndarray, score: np.ndarray, intervals: Sequence[dict[str, Any]], fps: float,
             truths: Sequence[tuple[int, int]] = ()) -> bytes:
    """The motion score over the video (``frames`` indices) with the chosen intervals shaded and,
    when given, the ground-truth intervals (``truths``: onset, offset frames) as green bands below."""
    fig, axes = _figure("timeline", 1)
    ax = axes[0]
    for on, off in truths:
        ax.axvspan(on / fps, off / fps, ymin=0.0, ymax=0.08, color="#2ca02c", alpha=0.8)
    ax.plot(np.asarray(frames) / fps, score, color="#1f77b4", linewidth=1.2, label="motion score")
    for rank, it in enumerate(intervals, 1):
        apex = it["onset"] if it.get("apex") is None else it["apex"]
        ax.axvspan(it["onset"] / fps, it["offset"] / fps, color="#ff7f0e", alpha=0.25)
        ax.axvline(apex / fps, color="#d62728", linewidth=1)
        ax.text(apex / fps, ax.get_ylim()[1] * 0.95, f"#{rank} {it.get('class', it.get('type', ''))}", fontsize=7,
                ha="center", va="top")
    ax.set_xlabel("time (s)", fontsize=7)
    ax.set_ylabel("mean flow magnitude", fontsize=7)
    ax.set_title("motion score and spotted intervals (shaded: onset-offset, line: apex"
                 + ("; green: ground truth)" if len(truths) else ")"), fontsize=8)
    ax.tick_params(labelsize=7)
    return _png(fig)


def audit_chart(honest: dict[str, float], oracle: dict[str, float]) -> bytes:
    """The honest score beside the best-epoch-per-test-fold ("oracle") score."""
    fig, axes = _figure("audit", 1)
    ax = axes[0]
    names = list(honest)
    x = np.arange(len(names))
    ax.bar(x - 0.2, [honest[n] for n in names], 0.4, color="#1f77b4", label="honest (last epoch / validation)")
    ax.bar(x + 0.2, [oracle[n] for n in names], 0.4, color="#d62728", label="best epoch per test fold (leaky)")
    ax.set_xticks(x, [n.upper() for n in names], fontsize=8)
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7)
    ax.set_title("leakage audit: what picking epochs on the test fold would report", fontsize=9)
    return _png(fig)
