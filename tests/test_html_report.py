"""The self-contained HTML report of a run, checked as text and rendered in a real headless Chromium.

The run is the tiny LAENet of ``tests/predict/demo_model.py`` (synthetic quick corpus, HDE,
two seeds, an illustrative paper_reference). Chromium missing: the browser test is
skipped locally, but FAILS when ``CI`` is set (so CI never skips it silently).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from microexpr.cli import main
from microexpr.report.html import write_html_report

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


class _Page(HTMLParser):
    """Tables, images, links and text of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tables = 0
        self.imgs: list[dict[str, str]] = []
        self.urls: list[str] = []
        self.scripts = 0
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self.tables += 1
        if tag == "img":
            self.imgs.append(a)
        if tag == "script":
            self.scripts += 1
        self.urls += [v for k, v in attrs if k in ("src", "href") and v]

    def handle_data(self, data):
        self.text.append(data)


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from tests.predict.demo_model import demo_run

    return demo_run(tmp_path_factory.getbasetemp() / "demo")


@pytest.fixture(scope="module")
def report(demo, tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("html") / "run"
    shutil.copytree(demo.run_dir, run)
    # through the command a user types: `microexpr report RUN_DIR --html`
    assert main(["report", str(run), "--html"]) == 0
    return run / "report.html"


def _check_page(page: _Page) -> None:
    text = " ".join(" ".join(page.text).split())
    # results (overall + per dataset), 2x per-class, 2x overall confusion, folds, 4 per-dataset confusions
    assert page.tables == 10
    assert "paper: LAENet" in text and "0.7000" in text  # the paper's numbers beside ours
    assert re.search(r"\d\.\d{4} ± \d\.\d{4}", text)  # two seeds: mean ± std
    assert "Synthetic data" in text and "train=samm_test=casme2" in text
    assert "Confusion matrix (seed 1, samm" in text
    assert "Correctly classified clips (6 shown)" in text and "Wrongly classified clips" in text
    assert len(page.imgs) >= 7 and all(i["src"].startswith("data:image/png;base64,") for i in page.imgs)
    assert page.scripts == 0 and not [u for u in page.urls if not u.startswith("data:")]


def test_html_is_self_contained_with_tables_and_thumbnails(report):
    html = report.read_text(encoding="utf-8")
    assert report.name == "report.html"
    _check_page(_parse(html))
    assert "http://" not in html and "https://" not in html
    assert "method:" in html and "laenet" in html  # the resolved config is shown


def test_missing_inputs_are_reported_in_the_page(demo, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(demo.run_dir, run)
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    cfg["data"]["datasets"] = {k: str(tmp_path / "moved" / k) for k in cfg["data"]["datasets"]}
    (run / "config.yaml").write_text(yaml.safe_dump(cfg))
    page = _parse(write_html_report(run).read_text(encoding="utf-8"))
    text = " ".join(page.text)
    assert "Input thumbnails unavailable" in text and "moved" in text
    thumbnails = [i for i in page.imgs if i.get("class") != "figure"]  # the figures need no dataset
    assert page.tables == 10 and thumbnails == []


def _chromium() -> str | None:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("Debian chromium is not installed but CI is set: install it (apt-get install -y chromium)")
        pytest.skip("chromium not installed (apt-get install -y chromium); CI=true makes this a failure")
    return found


def test_report_renders_in_headless_chromium(report, tmp_path):
    exe = _chromium()
    base = [exe, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    url = report.resolve().as_uri()
    dom = subprocess.run([*base, "--dump-dom", url], capture_output=True, text=True, timeout=90)
    assert dom.returncode == 0, dom.stderr[-2000:]
    _check_page(_parse(dom.stdout))  # the DOM as the browser built it
    shot = tmp_path / "report.png"
    res = subprocess.run([*base, f"--screenshot={shot}", "--window-size=1280,2000", url], capture_output=True,
                         text=True, timeout=90)
    assert res.returncode == 0 and shot.is_file(), res.stderr[-2000:]
    import cv2

    img = cv2.imread(str(shot))
    assert img.shape[:2] == (2000, 1280)
    assert (img < 200).mean() > 0.01  # text and tables were painted, not a blank page
    print(f"screenshot artefact: {shot}")


FIGURES = ("curves", "bars", "confusion")


def _figure_pngs(html: str) -> dict:
    import base64

    import cv2
    import numpy as np

    out = {}
    for img in _parse(html).imgs:
        if img.get("class") == "figure":
            data = base64.b64decode(img["src"].split(",", 1)[1])
            out[img["id"].removeprefix("fig-")] = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    return out


def _frame_pixels(bgr, colour: str) -> int:
    import numpy as np

    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return int(np.all(bgr == np.array([b, g, r], np.uint8), axis=-1).sum())


def test_figures_are_embedded_non_blank_at_their_size(report):
    from microexpr.report.figures import FRAME_COLOURS, SIZE_PX

    pngs = _figure_pngs(report.read_text(encoding="utf-8"))
    assert set(FIGURES) <= set(pngs)
    for kind in FIGURES:
        img = pngs[kind]
        assert img.shape[:2] == (SIZE_PX[1], SIZE_PX[0]), kind
        assert img.std() > 20 and (img < 200).mean() > 0.01, kind  # drawn on, not blank
        assert _frame_pixels(img, FRAME_COLOURS[kind]) > SIZE_PX[0], kind  # its own frame colour


def test_several_runs_get_a_comparison_chart(demo, tmp_path):
    from microexpr.cli import main as cli

    a, b = tmp_path / "a", tmp_path / "b"
    shutil.copytree(demo.run_dir, a)
    shutil.copytree(demo.run_dir, b)
    assert cli(["report", str(a), str(b), "--html"]) == 0
    pngs = _figure_pngs((a / "report.html").read_text(encoding="utf-8"))
    assert "comparison" in pngs and pngs["comparison"].std() > 20


def test_every_figure_is_visible_in_the_browser(report, tmp_path):
    import cv2

    from microexpr.report.figures import FRAME_COLOURS, SIZE_PX

    exe = _chromium()
    shot = tmp_path / "figures.png"
    res = subprocess.run([exe, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}",
                          "--window-size=1280,2400", "--force-device-scale-factor=1", report.resolve().as_uri()],
                         capture_output=True, text=True, timeout=90)
    assert res.returncode == 0 and shot.is_file(), res.stderr[-2000:]
    img = cv2.imread(str(shot))
    for kind in FIGURES:  # each figure's frame, painted whole: about its perimeter times its width
        assert _frame_pixels(img, FRAME_COLOURS[kind]) > 2 * (SIZE_PX[0] + SIZE_PX[1]), kind
    print(f"screenshot artefact: {shot}")
