"""The HTML report of a run: one self-contained file (``<run_dir>/report.html``).

Everything is inline: CSS in a ``<style>`` element, images as base64 ``data:`` URIs, no
script and no external URL, so the file can be mailed, archived or opened offline. The
numbers come from the same :class:`~microexpr.report.tables.Table` objects as the console
and markdown reports (``report_tables``), so every format shows the same figures:
results overall and per dataset (with the paper's numbers beside ours when the config has
a ``paper_reference``; ``mean ± std`` over seeds when the run has several seeds),
per-class scores, confusion matrices (overall and per dataset, shaded by row share),
fold sizes, reconstructions (``RUN_DIR/reconstructions/``, MTMNet's Fig. 3) when the run has
them, and the resolved config.

Thumbnails: the ``flow_image`` inputs (u, v, strain as R, G, B) of a deterministic sample
of correctly and wrongly classified clips of the first seed, recomputed through
``microexpr.inputs.load_inputs`` with the run's cache folder (cached arrays are reused),
with the parameters of the method's own input spec (``input_spec()``, as export uses). When the run's datasets
cannot be read (moved, not given), the page says so in place of the thumbnails.
"""

from __future__ import annotations

import base64
import html
import os
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pandas as pd

from ..errors import MicroexprError
from ..io_utils import atomic_write_text
from .build import SYNTHETIC_LINE, RunRecord, header_lines, load_run, report_tables
from .tables import Table, confusion_table

CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em auto;max-width:1200px;color:#222;padding:0 1em}
h1{font-size:1.6em}h2{font-size:1.25em;margin-top:1.8em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.6em 0}th,td{border:1px solid #bbb;padding:3px 8px;text-align:right}
th{background:#eee}td:first-child,th:first-child{text-align:left}
tr.paper td{color:#555;font-style:italic;background:#fafafa}
.synthetic{background:#fff3cd;border:1px solid #e0c060;padding:.6em 1em;font-weight:bold}
.notes{font-size:.9em;color:#444;margin:0 0 1em 1.2em}
pre{background:#f6f6f6;padding:1em;overflow-x:auto;font-size:.85em}
.thumbs{display:flex;flex-wrap:wrap;gap:12px}
figure{margin:0;width:150px;font-size:.75em;text-align:center}
figure img{width:112px;height:112px;image-rendering:pixelated;border:1px solid #999}
.missing{color:#a00}
img.figure{display:block;margin:.5em 0;image-rendering:auto}
"""


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def png_data_uri(rgb: np.ndarray, scale: int = 4) -> str:
    """A base64 ``data:image/png`` URI of an RGB (or grey) uint8 image, enlarged ``scale`` times."""
    img = np.asarray(rgb)
    if scale > 1:
        img = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
    if img.ndim == 3:
        img = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(".png", img)
    if not ok:
        raise MicroexprError("could not encode a report thumbnail as PNG")
    return "data:image/png;base64," + base64.b64encode(buf.tobytes()).decode("ascii")


def table_html(table: Table, *, confusion: bool = False) -> str:
    """One :class:`Table` as an HTML ``<table>`` with its title and notes; paper rows styled apart."""
    out = [f"<h3>{_e(table.title)}</h3>", "<table>", "<tr>" + "".join(f"<th>{_e(h)}</th>" for h in table.header) + "</tr>"]
    for row in table.rows:
        cls = ' class="paper"' if len(row) > 1 and str(row[1]).startswith("paper:") else ""
        cells = [f"<td>{_e(row[0])}</td>"]
        if confusion:
            counts = [float(c) if c.replace(".", "", 1).isdigit() else 0.0 for c in row[1:]]
            total = sum(counts) or 1.0
            for c, v in zip(row[1:], counts):
                shade = int(255 - 150 * v / total)
                cells.append(f'<td style="background:rgb({shade},{shade},255)">{_e(c)}</td>')
        else:
            cells += [f"<td>{_e(c)}</td>" for c in row[1:]]
        out.append(f"<tr{cls}>" + "".join(cells) + "</tr>")
    out.append("</table>")
    if table.notes:
        out.append('<ul class="notes">' + "".join(f"<li>{_e(n)}</li>" for n in table.notes) + "</ul>")
    return "\n".join(out)


_SHOWN_INPUTS = {"flow_image": "flow_image inputs (R = u, G = v, B = optical strain)",
                 "apex_crop": "apex_crop inputs (the face crop of the apex frame the network sees, before its centre crop)"}


def _thumbnail_spec(config: dict[str, Any]) -> Any:
    """The run method's own input spec (``input_spec()``), or None when it declares none."""
    from ..methods.registry import create_method

    method = (config.get("method") or {})
    instance = create_method(str(method.get("name")), dict(method.get("params") or {}))
    return instance.input_spec() if hasattr(instance, "input_spec") else None


def _cache_dir(record: RunRecord) -> Path:
    """The run engine's inputs cache (:func:`microexpr.cache_dirs.input_cache_dir`)."""
    from ..cache_dirs import input_cache_dir

    return input_cache_dir(record.config.get("cache_dir"))


def sample_clips(predictions: pd.DataFrame, n: int, seed: int = 0) -> dict[str, pd.DataFrame]:
    """Up to ``n`` correct and ``n`` wrong prediction rows of the first seed (deterministic sample)."""
    first = predictions[predictions["seed"] == predictions["seed"].min()].sort_values("key")
    right = first[first["y_true"] == first["y_pred"]]
    wrong = first[first["y_true"] != first["y_pred"]]

    def pick(df: pd.DataFrame) -> pd.DataFrame:
        return df.sample(n=min(n, len(df)), random_state=seed).sort_values("key") if len(df) else df

    return {"correct": pick(right), "wrong": pick(wrong)}


def thumbnails_html(record: RunRecord, n: int = 6) -> str:
    """Thumbnail section; explains in the page why when the inputs cannot be recomputed."""
    from ..config import config_from_dict
    from ..inputs import load_inputs
    from ..runs import load_run_data

    pred_path = record.run_dir / "predictions.csv"
    if not pred_path.is_file():
        return '<p class="missing">Input thumbnails unavailable: the run has no predictions.csv.</p>'
    predictions = pd.read_csv(pred_path, dtype={"key": str, "dataset": str, "subject": str, "fold": str})
    classes = record.metrics.get("classes", [])
    groups = sample_clips(predictions, n)
    try:
        config = config_from_dict(record.config, base_dir=record.run_dir)
        table = load_run_data(config).table.set_index("key", drop=False)
        keys = [k for g in groups.values() for k in g["key"]]
        missing = [k for k in keys if k not in table.index]
        if missing:
            raise MicroexprError(f"clips {missing[:3]} of predictions.csv are no longer in the datasets")
        spec = _thumbnail_spec(record.config)
        if spec is None or spec.name not in _SHOWN_INPUTS:
            raise MicroexprError(f"method {record.config.get('method', {}).get('name')!r} has no image input to show "
                                 f"({' or '.join(_SHOWN_INPUTS)})")
        arrays = load_inputs(table.loc[keys].reset_index(drop=True), spec.name, spec.params,
                             cache_dir=_cache_dir(record), n_jobs=1, progress=False) if keys else []
    except MicroexprError as exc:
        return (f'<p class="missing">Input thumbnails unavailable: the input images of the run\'s clips could not be '
                f"found or recomputed ({_e(exc)}).</p>")
    image_of = dict(zip(keys, arrays))
    out = [f"<p>{_SHOWN_INPUTS[spec.name]}, seed "
           f"{int(predictions['seed'].min())}; a deterministic sample of up to {n} clips per group.</p>"]
    for name, rows in groups.items():
        out.append(f'<h3>{"Correctly" if name == "correct" else "Wrongly"} classified clips ({len(rows)} shown)</h3>')
        if not len(rows):
            out.append("<p>none</p>")
            continue
        figs = []
        for r in rows.itertuples(index=False):
            true, pred = classes[int(r.y_true)], classes[int(r.y_pred)]
            p = float(getattr(r, f"p_{pred}")) if hasattr(r, f"p_{pred}") else float("nan")
            figs.append(f'<figure class="thumb-{name}"><img alt="{spec.name} of {_e(r.key)}" src="{png_data_uri(image_of[r.key])}">'
                        f"<figcaption>{_e(r.key)}<br>true {_e(true)}, predicted {_e(pred)} (p={p:.2f})</figcaption></figure>")
        out.append(f'<div class="thumbs" id="thumbs-{name}">' + "".join(figs) + "</div>")
    return "\n".join(out)


def figure_html(kind: str, png: bytes, alt: str) -> str:
    """One figure as an inline ``<img>`` at its natural size (see :mod:`microexpr.report.figures`)."""
    from .figures import SIZE_PX

    src = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    return (f'<img class="figure" id="fig-{kind}" alt="{_e(alt)}" width="{SIZE_PX[0]}" height="{SIZE_PX[1]}" '
            f'src="{src}">')


def figures_html(record: RunRecord, compare_with: list[RunRecord] | None = None) -> str:
    """The figures section: training curves, scores per dataset, confusion heatmaps, the audit,
    and the comparison chart when other runs are given."""
    from . import figures

    m = record.metrics
    parts = ["<h2>Figures</h2>"]
    curves = figures.training_curves(record.run_dir)
    if curves is not None:
        parts.append(figure_html("curves", curves, "training loss and accuracy per epoch: median and IQR over folds"))
    else:
        parts.append('<p class="missing">No training curves: this method records no per-epoch history.</p>')
    parts.append(figure_html("bars", figures.dataset_bars(m, record.config), "UF1 and UAR per dataset, ours beside the paper's"))
    seed = next(iter(m["per_seed"]))
    o = m["per_seed"][seed]["overall"]
    parts.append(figure_html("confusion", figures.confusion_heatmaps(o["confusion"], o["classes"], f"seed {seed}"),
                             "confusion matrix: counts and row-normalised"))
    audit = m.get("audit")
    if audit:
        parts.append(figure_html("audit", figures.audit_chart(audit["honest"], audit["oracle"]),
                                 "leakage audit: honest score beside the best-epoch-per-test-fold score"))
    if compare_with:
        runs = [record, *compare_with]
        parts.append(figure_html("comparison", figures.comparison_chart([r.run_dir.name for r in runs], [r.metrics for r in runs]),
                                 "runs compared"))
    return "\n".join(parts)


def build_html(run_dir: str | os.PathLike[str], *, n_thumbnails: int = 6,
               compare_with: list[str | os.PathLike[str]] | None = None) -> str:
    """The whole report page as a string (``compare_with``: other runs for the comparison chart)."""
    record = load_run(run_dir)
    m = record.metrics
    title = f"Report: {m.get('name', record.run_dir.name)}"
    parts = [f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{_e(title)}</title>",
             f"<style>{CSS}</style></head><body>", f"<h1>{_e(title)}</h1>"]
    for line in header_lines(record):
        parts.append(f'<p class="synthetic">{_e(line)}</p>' if line == SYNTHETIC_LINE else f"<p>{_e(line)}</p>")
    parts.append(figures_html(record, [load_run(d) for d in compare_with or []]))
    parts.append("<h2>Results</h2>")
    for t in report_tables(record):
        parts.append(table_html(t, confusion=t.title.startswith("Confusion")))
    datasets = sorted(m.get("per_dataset", {}))
    if len(datasets) > 1:
        parts.append("<h2>Confusion matrices per dataset</h2>")
        for seed in m["per_seed"]:
            for d in datasets:
                if d in m["per_seed"][seed].get("per_dataset", {}):
                    parts.append(table_html(confusion_table(m, seed, d), confusion=True))
    from .reconstructions import reconstructions_html

    parts.append(reconstructions_html(record.run_dir))
    parts.append("<h2>Input thumbnails</h2>")
    parts.append(thumbnails_html(record, n_thumbnails))
    cfg = (record.run_dir / "config.yaml").read_text(encoding="utf-8")
    parts.append(f"<h2>Configuration</h2>\n<pre>{_e(cfg)}</pre>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def write_html_report(run_dir: str | os.PathLike[str], *, n_thumbnails: int = 6,
                      compare_with: list[str | os.PathLike[str]] | None = None) -> Path:
    """Write ``<run_dir>/report.html`` (self-contained) and return its path."""
    path = Path(run_dir) / "report.html"
    atomic_write_text(path, build_html(run_dir, n_thumbnails=n_thumbnails, compare_with=compare_with))
    return path
