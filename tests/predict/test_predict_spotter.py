"""``predict --spotter roi_flow``: spot every interval of a video, classify the micro ones. The
spotted intervals equal those of the spot engine's path (``video_crops`` + the spotter) on the
same frames written losslessly to a folder; the demo model is trained on synthetic data."""

from __future__ import annotations

import json

import cv2
import numpy as np

from microexpr.cli import main
from microexpr.predict import predict
from microexpr.spotting.spotters import create_spotter, video_crops


def test_spot_then_recognise_on_carphone(demo, carphone, tmp_path, capsys):
    r = predict(carphone, demo.model, spotter="roi_flow", progress=False)
    assert r["spotter"]["name"] == "roi_flow" and r["n_frames"] == 120
    assert r["intervals"], "carphone is a talking face: something moves"
    for iv in r["intervals"]:
        assert iv["type"] in ("micro", "macro") and 0 <= iv["onset"] <= iv["offset"] < 120
        if iv["type"] == "micro":
            assert abs(sum(iv["probabilities"].values()) - 1) < 1e-9
            assert iv["class"] == max(iv["probabilities"], key=iv["probabilities"].get)
            assert (iv["offset"] - iv["onset"] + 1) / r["fps"] <= 0.5
        else:
            assert "class" not in iv
    # the same frames as a lossless folder through the spot engine's path give the same intervals
    cap = cv2.VideoCapture(carphone)
    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(120):
        ok, bgr = cap.read()
        assert ok
        cv2.imwrite(str(folder / f"img{i + 1}.png"), bgr)
    cap.release()
    frames = [str(folder / f"img{i + 1}.png") for i in range(120)]
    expected = create_spotter("roi_flow").spot(video_crops(frames, r["fps"]))
    assert [(i["type"], i["onset"], i["offset"]) for i in r["intervals"]] == \
        [(i.kind, i.onset, i.offset) for i in expected.intervals]
    vis = tmp_path / "vis"
    assert main(["predict", carphone, "--model", str(demo.model), "--spotter", "roi_flow", "--visualise", str(vis),
                 "--quiet"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["intervals"] == r["intervals"] and (vis / "timeline.png").is_file()


def test_unknown_spotter_is_an_error_naming_the_known_ones(demo, carphone, capsys):
    assert main(["predict", carphone, "--model", str(demo.model), "--spotter", "magic", "--quiet"]) == 2
    assert "roi_flow" in capsys.readouterr().err


def test_predict_spots_with_the_artefacts_spotter_by_default_and_draws_the_truth(demo, carphone, tmp_path, capsys):
    from microexpr.artefacts import load_artefact

    assert load_artefact(demo.model).training["spotter"] == {"name": "roi_flow", "params": {}}  # export names it
    vis = tmp_path / "vis"
    assert main(["predict", carphone, "--model", str(demo.model), "--visualise", str(vis), "--truth", "40:52",
                 "--quiet"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["spotter"]["name"] == "roi_flow" and "window" not in r
    img = cv2.imread(str(vis / "timeline.png"))
    green = np.all(np.abs(img.astype(int) - np.array([44, 160, 44])) < 40, axis=-1)  # #2ca02c, BGR
    assert green.sum() > 20
    assert main(["predict", carphone, "--model", str(demo.model), "--truth", "52:40", "--quiet"]) == 2
    assert "ONSET:OFFSET" in capsys.readouterr().err
