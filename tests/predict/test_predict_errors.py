"""predict never answers a question it cannot: one frame has no motion, and a window the
user placed at the end of the video is named as such."""

from __future__ import annotations

import cv2

from microexpr.cli import main


def _cli(capsys, *argv: str) -> tuple[int, str]:
    code = main(["predict", *argv, "--spotter", "window"])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


def test_one_frame_is_an_error_not_a_class(demo, carphone, tmp_path, capsys):
    folder = tmp_path / "one"
    folder.mkdir()
    cap = cv2.VideoCapture(carphone)
    ok, frame = cap.read()
    cap.release()
    assert ok
    cv2.imwrite(str(folder / "f0.png"), frame)
    code, err = _cli(capsys, str(folder), "--model", str(demo.model))
    assert code == 2 and "only 1 frame to analyse" in err and "at least 2" in err


def test_onset_at_the_last_frame_says_so(demo, carphone, capsys):
    code, err = _cli(capsys, carphone, "--model", str(demo.model), "--onset", "119")
    assert code == 2 and "only 1 frame to analyse from frame 119" in err and "no face" not in err
