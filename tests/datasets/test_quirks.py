"""Dataset-specific quirks: repairs, ``/`` apexes, frame numbering, variants, special files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from openpyxl import load_workbook

from microexpr.datasets import Repair, RepairRule, load_landmarks, read_dataset
from microexpr.datasets import casme2 as casme2_mod
from microexpr.datasets.layouts import ClipSpec, write_layout
from microexpr.errors import DatasetFormatError

from tests.datasets.fakes import frames, write_casme2, write_casme_sq, write_ckplus, write_manifest, write_samm, write_smic


def _row(table, clip):
    return table.set_index("clip").loc[clip]


def test_frame_numbers_become_positions_in_natural_order(tmp_path):
    root, _ = write_casme2(tmp_path)
    t = read_dataset("casme2", root).table
    r = _row(t, "EP02_01f")
    names = [Path(p).name for p in r.frames]
    assert names[:3] == ["img1.jpg", "img2.jpg", "img3.jpg"] and names[-1] == "img12.jpg"
    assert (r.onset, r.apex, r.offset) == (1, 4, 10)  # frame numbers 2, 5, 11
    assert (r.native_onset, r.native_apex, r.native_offset) == (2, 5, 11)
    assert r.aus == ("12",) and r.objective_class == 1


def test_slash_apex_filled_and_recorded(tmp_path):
    root, _ = write_casme2(tmp_path)
    ws = load_workbook(root / "CASME2-coding-20140508.xlsx").active
    assert [c.value for c in ws[1]][2] is None and ws["E3"].value == "/"  # unnamed column, "/" apex
    t = read_dataset("casme2", root).table
    r = _row(t, "EP03_02")
    assert r.apex_source == "midpoint" and r.apex == (0 + 5) // 2 and pd_isna(r.native_apex)
    t2 = read_dataset("casme2", root, apex="middle").table
    assert _row(t2, "EP03_02").apex_source == "middle"
    assert _row(t2, "EP02_01f").apex_source == "annotated"


def pd_isna(x) -> bool:
    import pandas as pd

    return bool(pd.isna(x))


def test_repairs_are_keyed_applied_and_listed(tmp_path, monkeypatch):
    root, _ = write_casme2(tmp_path)
    rule = RepairRule("offset", 45, 44, "offset past the end of the expression")
    monkeypatch.setitem(casme2_mod.REPAIRS, ("sub01", "EP03_02"), (rule,))
    res = read_dataset("casme2", root)
    assert res.repairs == [Repair("casme2", "sub01", "EP03_02", "offset", 45, 44, rule.reason)]
    assert _row(res.table, "EP03_02").offset == 4
    # a user-supplied repair is applied the same way; a stale one (old value differs) is not
    extra = {("sub02", "EP01_11f"): [RepairRule("apex", 103, 102, "apex one frame early"),
                                     RepairRule("onset", 999, 100, "not in this release")]}
    res = read_dataset("casme2", root, repairs=extra)
    assert [(r.clip, r.field) for r in res.repairs] == [("EP03_02", "offset"), ("EP01_11f", "apex")]
    assert _row(res.table, "EP01_11f").apex == 2  # frame 102 of files 100..105


def test_cropped_variant(tmp_path):
    root, n = write_casme2(tmp_path, variant="cropped")
    t = read_dataset("casme2", root, variant="cropped").table
    assert len(t) == n and all(Path(p).name.startswith("reg_img") for p in t.iloc[0]["frames"])
    with pytest.raises(Exception, match="CASME2_RAW_selected"):
        read_dataset("casme2", root)


def test_samm_header_found_by_value_and_4_digit_frames(tmp_path):
    root, _ = write_samm(tmp_path)
    ws = load_workbook(root / "SAMM_Micro_FACS_Codes_v2.xlsx").active
    assert ws["A14"].value == "Subject"
    t = read_dataset("samm", root).table
    r = _row(t, "006_1_5")
    assert Path(r.frames[0]).name == "006_0920.jpg"
    assert (r.onset, r.apex, r.offset) == (0, 2, 5)
    assert _row(t, "006_1_2").aus == ("4|7",)
    assert set(t["subject"]) == {"samm/006", "samm/007"}
    # a sheet with a different preamble length still reads (header detected by its cells)
    ws.insert_rows(1, amount=3)
    ws.parent.save(root / "SAMM_Micro_FACS_Codes_v2.xlsx")
    assert len(read_dataset("samm", root).table) == len(t)


def test_smic_labels_from_folders_no_apex_non_micro_ignored(tmp_path):
    root, _ = write_smic(tmp_path)
    res = read_dataset("smic", root)
    t = res.table
    assert set(t["subject"]) == {"smic/s01", "smic/s03"}
    assert dict(zip(t["clip"], t["emotion"])) == {"s1_ne_01": "negative", "s1_po_02": "positive", "s3_sur_01": "surprise"}
    r = _row(t, "s1_ne_01")
    assert (r.onset, r.offset, r.apex, r.apex_source) == (0, 6, 3, "middle")
    assert any("non_micro" in p and "non-micro" in why for p, why in res.skipped)
    # VIS variant at 25 fps; the variant folder itself may be given as root
    root_vis, _ = write_smic(tmp_path / "v", variant="VIS")
    assert (read_dataset("smic", root_vis, variant="VIS").table["fps"] == 25.0).all()
    assert len(read_dataset("smic", root / "HS").table) == 3


def test_ckplus_labels_landmarks_and_unlabelled(tmp_path):
    root, _ = write_ckplus(tmp_path)
    assert (root / "Emotion/S005/001/S005_001_00000005_emotion.txt").read_text().strip() == "3.0000000e+00"
    res = read_dataset("ckplus", root)
    t = res.table
    r = _row(t, "001")
    assert r.emotion == "disgust" and (r.onset, r.apex, r.offset) == (0, 4, 4)
    assert load_landmarks(r.landmarks).shape == (5, 68, 2)
    assert any("unlabelled" in why for _, why in res.skipped)
    all_t = read_dataset("ckplus", root, include_unlabelled=True).table
    assert _row(all_t, "002").emotion == "unlabelled"
    # the native Landmarks folder is used when there is no landmarks68.npy
    (Path(r.frames[0]).parent / "landmarks68.npy").unlink()
    r2 = _row(read_dataset("ckplus", root).table, "001")
    assert Path(r2.landmarks).parts[-3:] == ("Landmarks", "S005", "001")
    np.testing.assert_allclose(load_landmarks(r2.landmarks)[2, :, 0], np.arange(68))


def test_casme_sq_micro_only_and_macro_on_request(tmp_path):
    root, n = write_casme_sq(tmp_path)
    res = read_dataset("casme_sq", root)
    assert len(res.table) == n and any("macro" in why for _, why in res.skipped)
    assert len(read_dataset("casme_sq", root, expression_type="all").table) == n + 1


def test_manifest_paths_may_not_escape(tmp_path):
    path, _ = write_manifest(tmp_path)
    t = read_dataset("manifest", path, dataset_name="jaffe").table
    assert set(t["subject"]) == {"jaffe/KA", "jaffe/KM", "jaffe/NA"}
    assert _row(t, "seqs__KA").apex == 3 and len(_row(t, "stills__KM_happy.png").frames) == 2
    path.write_text("path,label,subject\n../outside.png,happy,X\n")
    with pytest.raises(DatasetFormatError, match="leaves the manifest folder"):
        read_dataset("manifest", path)


def test_problems_raise_by_default_or_are_skipped(tmp_path):
    clips = [
        ClipSpec("sub01", "EP01_01", frames(5), 1, onset=1, apex=9, offset=5, emotion="happiness"),
        ClipSpec("sub01", "EP01_02", frames(5), 1, onset=1, apex=3, offset=5, emotion="happiness"),
    ]
    root = write_layout("casme2", tmp_path / "c", clips)
    with pytest.raises(DatasetFormatError, match="EP01_01.*apex frame 9"):
        read_dataset("casme2", root)
    res = read_dataset("casme2", root, on_problem="skip")
    assert list(res.table["clip"]) == ["EP01_02"] and res.problems[0][0] == "casme2/sub01/EP01_01"


def test_spotting_rules_call_the_motion_spotter_on_onset_to_offset(tmp_path, monkeypatch):
    """flow_peak/dc_rois hand the frames onset..offset to microexpr.motion.apex.spot_apex and
    shift its answer by the onset; landmarks of the onset frame go to dc_rois."""
    import microexpr.motion.apex as apex_mod

    calls = []

    def fake_spot(frames, method="middle", *, landmarks=None):
        calls.append((len(frames), method, None if landmarks is None else landmarks.shape, frames[0].mean()))
        return 1

    monkeypatch.setattr(apex_mod, "spot_apex", fake_spot)
    spread = np.stack([np.linspace(0, 7, 68), np.tile(np.linspace(0, 7, 4), 17)], axis=1)  # a face filling the frame
    lm = np.repeat(spread[None], 8, axis=0)  # the spotters now run on the face crop these landmarks give
    clip = ClipSpec("sub01", "EP01", frames(8), 1, onset=3, apex=None, offset=7, emotion="happiness", landmarks=lm)
    root = write_layout("casme2", tmp_path / "c", [clip])
    t = read_dataset("casme2", root, apex="dc_rois").table
    assert (t.loc[0, "apex"], t.loc[0, "apex_source"]) == (2 + 1, "dc_rois")
    n, method, lm_shape, first_mean = calls[0]
    assert (n, method, lm_shape) == (5, "dc_rois", (68, 2))
    assert abs(first_mean - frames(8)[2].mean()) < 4  # the onset frame (number 3) came first
    t = read_dataset("casme2", root, apex="flow_peak").table
    assert t.loc[0, "apex_source"] == "flow_peak" and calls[1][1] == "flow_peak"
