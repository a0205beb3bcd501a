"""Partly corrupt frames are never used silently: a truncated JPEG (which OpenCV decodes
without complaint, filling the rest with grey) and a frame of another size than its clip are
named by every reader, by ``datasets check`` and by ``predict``."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from microexpr.cli import main
from microexpr.datasets import check_dataset, read_dataset
from microexpr.errors import DatasetFormatError, PreprocessingError
from microexpr.predict.reader import open_frames

from tests.datasets.fakes import write_casme2


def _frame(root, clip: str, name: str):
    return next(root.rglob(f"{clip}/{name}"))


def _truncate(path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2 + 200])  # keeps the header, loses the end of the scan


def _big_jpeg(tmp_path):
    """A real JPEG (the test's own gradient, 64x64): big enough that half of it still has a header."""
    img = np.tile(np.linspace(0, 255, 64, dtype=np.uint8), (64, 1))
    p = tmp_path / "gradient.jpg"
    cv2.imwrite(str(p), np.dstack([img, img.T, 255 - img]))
    return p


def test_truncated_jpeg_is_refused_by_the_reader_naming_the_file(tmp_path):
    root, _ = write_casme2(tmp_path)
    frame = _frame(root, "EP02_01f", "img5.jpg")
    frame.write_bytes(_big_jpeg(tmp_path).read_bytes())
    for other in sorted(frame.parent.glob("img*.jpg")):  # one size for the whole clip
        if other != frame:
            other.write_bytes(frame.read_bytes())
    assert read_dataset("casme2", root).table.shape[0] == 3
    _truncate(frame)
    assert cv2.imread(str(frame)) is not None  # the independent reference: OpenCV alone would use it
    with pytest.raises(DatasetFormatError) as err:
        read_dataset("casme2", root)
    msg = str(err.value)
    assert f"{frame}: truncated JPEG" in msg and "casme2/sub01/EP02_01f" in msg
    assert "--option casme2.on_problem=skip" in msg and "on_problem='skip'" not in msg
    read = read_dataset("casme2", root, on_problem="skip")
    assert "casme2/sub01/EP02_01f" not in set(read.table["key"]) and len(read.table) == 2
    assert [k for k, _ in read.problems] == ["casme2/sub01/EP02_01f"]  # listed, never dropped silently
    report = check_dataset("casme2", root)
    assert any(k == "casme2/sub01/EP02_01f" and str(frame) in m for k, m in report.problems) and not report.ok


def test_a_frame_of_another_size_is_named(tmp_path, capsys):
    root, _ = write_casme2(tmp_path)
    apex = _frame(root, "EP02_01f", "img5.jpg")
    h, w = cv2.imread(str(apex)).shape[:2]
    cv2.imwrite(str(apex), np.zeros((h * 2, w, 3), np.uint8))
    with pytest.raises(DatasetFormatError, match=rf"{apex}: {w}x{h * 2} pixels, but the clip's other frames are {w}x{h}"):
        read_dataset("casme2", root)
    assert main(["datasets", "check", "--dataset", "casme2", "--root", str(root)]) == 1
    assert f"{apex}: {w}x{h * 2} pixels" in capsys.readouterr().out


def test_predict_refuses_a_folder_of_mixed_size_frames(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(3):
        cv2.imwrite(str(folder / f"f{i}.png"), np.zeros((32, 48 if i != 2 else 40, 3), np.uint8))
    with pytest.raises(PreprocessingError, match=r"f2.png: 40x32 pixels, but f0.png \(the first frame\) is 48x32"):
        list(open_frames(folder))
