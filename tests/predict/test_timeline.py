"""``predict --visualise`` draws the motion-score timeline of the video with the chosen intervals."""

from __future__ import annotations

import json

import cv2
import numpy as np

from microexpr.cli import main
from microexpr.report.figures import FRAME_COLOURS, SIZE_PX


def test_timeline_figure_is_written(demo, carphone, tmp_path, capsys):
    vis = tmp_path / "vis"
    assert main(["predict", carphone, "--model", str(demo.model), "--visualise", str(vis), "--quiet",
                 "--spotter", "window"]) == 0
    result = json.loads(capsys.readouterr().out)
    path = result["intervals"][0]["visualisations"]["timeline"]
    img = cv2.imread(path)
    assert img.shape[:2] == (SIZE_PX[1], SIZE_PX[0]) and img.std() > 20
    r, g, b = (int(FRAME_COLOURS["timeline"][i:i + 2], 16) for i in (1, 3, 5))
    assert int(np.all(img == np.array([b, g, r], np.uint8), axis=-1).sum()) > SIZE_PX[0]
    orange = np.all(np.abs(img.astype(int) - np.array([195, 222, 255])) < 12, axis=-1)  # intervals: orange at alpha .25
    assert orange.mean() > 0.002
