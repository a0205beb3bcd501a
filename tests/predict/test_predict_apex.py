"""Deploying an apex-frame model (Micro-Attention): ``export`` writes its ``apex_crop`` input and
transform, and ``predict`` rebuilds that input from a video exactly as the inputs layer does.

The model is a tiny Micro-Attention trained for two epochs on the synthetic quick corpus: its
predictions show the pipeline works, not how the method does on real micro-expressions."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
import torch

from microexpr.artefacts import load_artefact
from microexpr.cli import main
from microexpr.inputs import load_inputs
from microexpr.predict import predict
from microexpr.predict.pipeline import Predictor

PARAMS = {"base_width": 4, "input_size": 32, "load_size": 40, "epochs": 2, "batch_size": 8,
          "pretrain_macro": False, "save_attention": False}


@pytest.fixture(scope="module")
def apex_model(demo, tmp_path_factory) -> Path:
    from microexpr.artefacts import export_run
    from microexpr.config import config_from_dict
    from microexpr.runs import execute_run

    base = tmp_path_factory.mktemp("apex")
    raw = {"name": "apex_predict_test", "description": "tiny Micro-Attention, synthetic quick corpus",
           "data": {"datasets": {"casme2": str(demo.roots["casme2"])}, "scheme": "composite3", "synthetic": True},
           "protocol": {"name": "loso"}, "method": {"name": "micro_attention", "params": PARAMS},
           "seeds": [0], "cache_dir": str(demo.cache), "n_jobs": 1}
    execute_run(config_from_dict(raw), base / "run", progress=False)
    return export_run(base / "run", base / "apex_model.pt", progress=False)


def _rgb_frames(video: str, n: int) -> list[np.ndarray]:
    cap = cv2.VideoCapture(video)
    frames = [cv2.cvtColor(cap.read()[1], cv2.COLOR_BGR2RGB) for _ in range(n)]
    cap.release()
    return frames


def test_exported_artefact_names_the_apex_input_and_its_transform(apex_model):
    art = load_artefact(apex_model)
    assert art.model_name == "micro_attention_resnet10"
    assert art.input_name == "apex_crop" and art.input_params["size"] == 40 and art.input_params["colour"] == "grey"
    assert art.input_transform == {"kind": "apex_image", "input_size": 32, "colour": "grey"}


def test_predict_apex_input_equals_the_inputs_layer_and_probabilities_are_recomputed(apex_model, carphone):
    onset, apex = 20, 27
    r = predict(carphone, apex_model, onset=onset, apex=apex, progress=False)
    assert (r["onset"], r["apex"], r["model"]["input"]) == (onset, apex, "apex_crop")
    pred = Predictor(apex_model)
    row = {"key": "carphone/x/c", "frames": tuple(f"{carphone}#{i}" for i in range(120)), "onset": onset, "apex": apex,
           "offset": 40, "landmarks": None}
    ref = load_inputs(pd.DataFrame([row]), "apex_crop", pred.artefact.input_params, cache_dir=None, n_jobs=1,
                      progress=False)[0]
    frames = _rgb_frames(carphone, apex + 1)
    cand = pred.analyse(frames[onset:], onset, apex=apex - onset)
    mine = pred.input_for(cand.data)
    assert mine.dtype == np.uint8 and mine.shape == (40, 40)
    np.testing.assert_array_equal(mine, ref)
    # by hand: the central 32x32 window, /255, ImageNet grey statistics (0.449, 0.226), softmax
    window = ref[4:36, 4:36].astype(np.float32) / 255.0
    x = torch.from_numpy((window - 0.449) / 0.226)[None, None]
    with torch.no_grad():
        expected = torch.softmax(pred.artefact.build_model()(x).double(), 1)[0].numpy()
    assert expected.max() < 0.999  # not saturated: a wrong input would move these numbers
    got = np.array([r["probabilities"][c] for c in pred.artefact.classes])
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_cli_predict_with_an_apex_model_writes_its_input_crop(apex_model, carphone, tmp_path, capsys):
    vis = tmp_path / "vis"
    rc = main(["predict", carphone, "--model", str(apex_model), "--visualise", str(vis), "--quiet", "--spotter", "window"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    best = json.loads(out.out)["intervals"][0]
    assert cv2.imread(best["visualisations"]["apex_crop"]).shape == (224, 224, 3)
    assert "flow" not in best["visualisations"]


def test_html_report_shows_the_apex_crops_the_network_saw(apex_model, demo):
    """The thumbnails come from the method's own input spec: grey apex crops at load_size,
    decoded back from the page equal to the inputs layer's arrays (enlarged 4x, nearest)."""
    import base64
    import re

    from microexpr.report.html import build_html

    run_dir = apex_model.parent / "run"
    page = build_html(run_dir)
    assert "apex_crop inputs" in page and "has no image input" not in page
    m = re.search(r'alt="apex_crop of ([^"]+)" src="data:image/png;base64,([^"]+)"', page)
    assert m is not None
    img = cv2.imdecode(np.frombuffer(base64.b64decode(m.group(2)), np.uint8), cv2.IMREAD_UNCHANGED)
    key = m.group(1).replace("&#x27;", "'")
    table = pd.read_csv(run_dir / "clips.csv", dtype=str)
    assert key in set(table["key"])
    assert img.shape == (160, 160)  # 40 px crops, 4x
