"""Reading STSTNet-style flow PNG folders (flat and per-fold layouts, both conventions)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from microexpr.errors import DatasetFormatError, DatasetNotFoundError
from microexpr.inputs.flow_transform import FlowImageTransform
from microexpr.sources.flow_png import FlowPngFolder, png_identity
from tests.flownets.synthetic import clip_table, flow_images, write_pngs


def test_names_match_with_or_without_space_and_padding():
    assert png_identity("006_006_1_2 .png") == png_identity("006_006_1_2.png") == png_identity("6_006_1_2")
    assert png_identity("s01_s01_ne_01 .png") == png_identity("s1_s1_ne_01")
    assert png_identity("sub01_EP02_01f .png").clip == "ep02_01f"  # EP02 is not a numeric token: kept
    assert png_identity("sub01_EP02_01f") == png_identity("sub1_EP02_01f")  # zero padding never changes identity
    assert png_identity("sub01_EP02_01f") != png_identity("sub01_EP2_01f")


@pytest.mark.parametrize("space", [True, False])
def test_flat_folder_conventions_are_exact(tmp_path, space):
    table = clip_table(n_subjects=1, clips_per_class=1)
    imgs = flow_images(table)
    folder = write_pngs(table, imgs, tmp_path / "png", space=space)
    src = FlowPngFolder(folder)
    assert src.layout == "flat"
    bgr = FlowImageTransform("opencv_bgr255").from_images(src.load(table)).numpy()
    rgb = FlowImageTransform("rgb01").from_images(src.load(table)).numpy()
    for i, (s, c) in enumerate(zip(table.subject, table["clip"])):
        name = f"{s.split('/')[1]}_{c}{' ' if space else ''}.png"
        ref = cv2.imread(str(folder / name)).astype(np.float32).transpose(2, 0, 1)  # what the published code feeds
        np.testing.assert_array_equal(bgr[i], ref)
    np.testing.assert_allclose(rgb, imgs.transpose(0, 3, 1, 2) / 255.0, rtol=0, atol=1e-7)  # u, v, strain order


def test_smic_zero_padding_and_missing_clip_error(tmp_path):
    table = clip_table(n_subjects=1, clips_per_class=1, datasets=("smic",))
    imgs = flow_images(table)
    folder = tmp_path / "png"
    folder.mkdir()
    for (s, c), img in zip(zip(table.subject, table["clip"]), imgs):  # composite spelling s01_s01_...
        cv2.imwrite(str(folder / f"s01_{c.replace('s1_', 's01_')} .png"), img[..., ::-1])
    (folder / "notes.txt").write_text("stray file")
    src = FlowPngFolder(folder)
    np.testing.assert_allclose(src.load(table).transpose(0, 3, 1, 2), imgs.transpose(0, 3, 1, 2), atol=1e-4)
    other = clip_table(n_subjects=2, clips_per_class=1, datasets=("smic",)).iloc[3:4]
    with pytest.raises(DatasetNotFoundError, match="smic/s2/s2_ne_00"):
        src.load(other)


def test_per_fold_layout_reads_labels_and_checks_conflicts(tmp_path):
    table = clip_table(n_subjects=2, clips_per_class=1, datasets=("casme2",))
    imgs = flow_images(table)
    for test_subject in table.subject.unique():
        native = test_subject.split("/")[1]
        for (s, c, y), img in zip(zip(table.subject, table["clip"], table.label), imgs):
            part = "u_test" if s == test_subject else "u_train"
            d = tmp_path / native / part / str(y)
            d.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(d / f"{s.split('/')[1]}_{c} .png"), img[..., ::-1])
    src = FlowPngFolder(tmp_path)
    assert src.layout == "per_fold"
    np.testing.assert_array_equal(src.labels(table), table.label.to_numpy())
    np.testing.assert_allclose(src.load(table).transpose(0, 3, 1, 2), imgs.transpose(0, 3, 1, 2), atol=1e-4)
    bad = tmp_path / "sub01" / "u_train" / "2"
    bad.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(bad / f"sub01_{table['clip'][0]}.png"), imgs[0])
    with pytest.raises(DatasetFormatError, match="disagree on the label"):
        FlowPngFolder(tmp_path)


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="not found"):
        FlowPngFolder(tmp_path / "nope")
    with pytest.raises(DatasetNotFoundError, match="no \\*.png"):
        FlowPngFolder(tmp_path)
