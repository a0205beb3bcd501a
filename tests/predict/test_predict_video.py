"""``microexpr predict`` on a real talking face (carphone), on faceless frames and on corrupt videos.

The model is a LAENet trained for a few epochs on the synthetic quick corpus (see
``demo_model.py``): its predictions on carphone show the pipeline works, not that the
class is right (carphone shows no labelled micro-expression).
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from microexpr.cli import main
from microexpr.inputs import load_inputs
from microexpr.predict import predict
from microexpr.predict.pipeline import Predictor


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    rc = main(["predict", *args, "--quiet", *([] if "--spotter" in args else ["--spotter", "window"])])
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_carphone_json_is_valid_and_visualisations_are_written(demo, carphone, tmp_path, capsys):
    vis = tmp_path / "vis"
    rc, out, err = _cli(capsys, carphone, "--model", str(demo.model), "--visualise", str(vis))
    assert rc == 0, err
    r = json.loads(out)
    assert r["n_frames"] == 120 and r["kind"] == "video" and abs(r["fps"] - 29.97) < 0.01
    classes = ["negative", "positive", "surprise"]
    assert r["model"]["classes"] == classes
    assert 1 <= len(r["intervals"]) <= 3
    for iv in r["intervals"]:
        assert 0 <= iv["onset"] <= iv["apex"] <= iv["offset"] < r["n_frames"]
        assert iv["offset"] - iv["onset"] < r["window"]["length_frames"]
        assert set(iv["probabilities"]) == set(classes)
        assert sum(iv["probabilities"].values()) == pytest.approx(1.0, abs=1e-9)
        assert all(0 <= p <= 1 for p in iv["probabilities"].values())
        assert iv["class"] == max(iv["probabilities"], key=iv["probabilities"].get)
        x0, y0, x1, y1 = iv["face_box"]
        # the face fills the middle of the 176x144 frame, about 50-60 px wide
        assert 25 <= x1 - x0 <= 110 and 25 <= y1 - y0 <= 120 and 0 <= x0 < x1 <= 176 and 0 <= y0 < y1 <= 144
    # intervals are ranked by motion score and do not overlap
    scores = [iv["score"] for iv in r["intervals"]]
    assert scores == sorted(scores, reverse=True)
    spans = sorted((iv["onset"], iv["offset"]) for iv in r["intervals"])
    assert all(a[1] < b[0] for a, b in zip(spans, spans[1:]))
    best = r["intervals"][0]
    assert (r["onset"], r["apex"], r["offset"], r["class"]) == (best["onset"], best["apex"], best["offset"], best["class"])
    assert r["window"]["windows_without_face"] == [] and r["window"]["n_windows"] == 14  # starts 0, 8, ..., 104
    assert set(r["timings_s"]) == {"decode", "face", "flow", "model", "total"}
    apex_png = cv2.imread(best["visualisations"]["apex"])
    assert apex_png.shape == (144 * 3, 176 * 3, 3)
    assert cv2.imread(best["visualisations"]["flow"]).shape == (224, 224, 3)
    chart = cv2.imread(best["visualisations"]["probabilities"])
    assert chart.shape[0] == 40 * 3 + 20 and (chart < 250).any()


def test_predict_input_equals_the_inputs_layer(demo, carphone):
    """With onset/apex given, the model input is bit-identical to ``load_inputs(..., "flow_image")``
    on the same clip (frame references into the video, no supplied landmarks -> dlib HOG)."""
    import pandas as pd

    onset, apex = 20, 27
    r = predict(carphone, demo.model, onset=onset, apex=apex, progress=False)
    assert (r["onset"], r["apex"], r["apex_source"]) == (onset, apex, "user")
    pred = Predictor(demo.model)
    row = {"key": "carphone/x/c", "frames": tuple(f"{carphone}#{i}" for i in range(120)), "onset": onset, "apex": apex,
           "offset": 40, "landmarks": None}
    ref = load_inputs(pd.DataFrame([row]), "flow_image", pred.artefact.input_params, cache_dir=None, n_jobs=1,
                      progress=False)[0]
    cap = cv2.VideoCapture(carphone)
    frames = []
    for _ in range(apex + 1):
        frames.append(cv2.cvtColor(cap.read()[1], cv2.COLOR_BGR2RGB))
    cap.release()
    cand = pred.analyse(frames[onset:], onset, apex=apex - onset)
    mine = pred.model_input(cand.data["onset_crop"], cand.data["apex_crop"], cand.data["geom"])
    assert mine.dtype == np.uint8 and mine.shape == (28, 28, 3)
    np.testing.assert_array_equal(mine, ref)
    # probabilities = softmax of the exported model on the rgb01 image, computed here by hand
    model = pred.artefact.build_model()
    with torch.no_grad():
        logits = model(torch.from_numpy(ref.astype(np.float32).transpose(2, 0, 1)[None] / 255.0)).double()
    expected = torch.softmax(logits, 1)[0].numpy()
    got = np.array([r["probabilities"][c] for c in pred.artefact.classes])
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_folder_without_a_face_fails_saying_so(demo, tmp_path, capsys):
    folder = tmp_path / "noface"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(6):
        img = np.clip(rng.normal(120, 30, (144, 176, 3)), 0, 255).astype(np.uint8)
        cv2.imwrite(str(folder / f"img{i}.png"), img)
    rc, out, err = _cli(capsys, str(folder), "--model", str(demo.model))
    assert rc == 2 and out == ""
    assert "no face found in any frame" in err and str(folder) in err and "Traceback" not in err


@pytest.mark.parametrize("kind", ["random_bytes", "truncated", "empty"])
def test_corrupt_video_fails_cleanly(demo, carphone, tmp_path, capsys, kind):
    bad = tmp_path / f"{kind}.mp4"
    if kind == "random_bytes":
        bad.write_bytes(np.random.default_rng(1).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    elif kind == "truncated":
        bad.write_bytes(Path(carphone).read_bytes()[:1500])  # header only, in tmp: never kept
    else:
        bad.write_bytes(b"")
    rc, out, err = _cli(capsys, str(bad), "--model", str(demo.model))
    assert rc == 2 and out == ""
    assert str(bad) in err and "Traceback" not in err
    assert "cannot decode video" in err


def test_user_frames_outside_the_video_are_errors(demo, carphone, capsys):
    rc, _, err = _cli(capsys, carphone, "--model", str(demo.model), "--onset", "100", "--apex", "130")
    assert rc == 2 and "--apex 130 is beyond the last frame" in err and "120 frames" in err
    rc, _, err = _cli(capsys, carphone, "--model", str(demo.model), "--onset", "30", "--apex", "20")
    assert rc == 2 and "must not come before" in err


def test_frame_folder_gives_the_same_intervals_as_the_video(demo, carphone, tmp_path):
    """The carphone frames written losslessly to a folder (tmp only) and read back as a frame folder."""
    folder = tmp_path / "frames"
    folder.mkdir()
    cap = cv2.VideoCapture(carphone)
    i = 0
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        cv2.imwrite(str(folder / f"frame{i}.png"), bgr)  # natural order: frame2 before frame10
        i += 1
    cap.release()
    from_folder = predict(folder, demo.model, top_k=1, progress=False, spotter="window")
    assert (from_folder["kind"], from_folder["fps"], from_folder["fps_source"]) == ("folder", 30.0, "assumed")
    with_fps = predict(folder, demo.model, top_k=1, fps=29.97, progress=False, spotter="window")
    video = predict(carphone, demo.model, top_k=1, progress=False, spotter="window")
    assert with_fps["fps_source"] == "user" and with_fps["n_frames"] == video["n_frames"] == 120
    for key in ("onset", "apex", "offset", "face_box", "class"):
        assert with_fps[key] == video[key], key
    assert with_fps["probabilities"] == pytest.approx(video["probabilities"], abs=1e-12)


def test_windows_without_a_face_are_listed_not_dropped(demo, carphone, tmp_path):
    """60 carphone frames then 40 faceless ones at 30 fps: windows of 16 frames every 8; those starting
    at 64, 72, 80 and the final one at 84 hold no face (48 and 56 still see frames 48..59)."""
    folder = tmp_path / "half"
    folder.mkdir()
    cap = cv2.VideoCapture(carphone)
    for i in range(60):
        cv2.imwrite(str(folder / f"{i:03d}.png"), cap.read()[1])
    cap.release()
    rng = np.random.default_rng(0)
    for i in range(60, 100):
        cv2.imwrite(str(folder / f"{i:03d}.png"), np.clip(rng.normal(120, 30, (144, 176, 3)), 0, 255).astype(np.uint8))
    r = predict(folder, demo.model, top_k=2, progress=False, spotter="window")
    assert r["n_frames"] == 100 and r["window"]["n_windows"] == 12  # starts 0, 8, ..., 80 and the final 84
    assert r["window"]["windows_without_face"] == [64, 72, 80, 84]
    assert all(iv["landmarks_frame"] < 60 for iv in r["intervals"])
