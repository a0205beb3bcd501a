"""The shared coding-sheet loop (``microexpr.datasets.sheet_clips``) as each sheet reader uses it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from openpyxl import load_workbook

from microexpr.datasets import read_dataset
from microexpr.datasets.sheet_clips import SheetLayout
from microexpr.errors import DatasetFormatError

from tests.datasets.fakes import write_casme, write_casme2, write_samm

# reader -> (fake writer, how its messages number a record, the onset column as the sheet spells it)
SHEET_READERS = {
    "casme": (write_casme, "row", "OnsetF"),
    "casme2": (write_casme2, "row", "OnsetFrame"),
    "samm": (write_samm, "record", "Onset Frame"),
}


def _sheet(root: Path) -> Path:
    return next(p for p in sorted(root.glob("*.xlsx")) if "Objective" not in p.name)


@pytest.mark.parametrize("name", sorted(SHEET_READERS))
def test_missing_and_unlisted_clip_folders(name, tmp_path):
    writer, word, _ = SHEET_READERS[name]
    root, n = writer(tmp_path)
    first = read_dataset(name, root).table.iloc[0]
    folder = Path(first["frames"][0]).parent
    shutil.rmtree(folder)
    unlisted = folder.parent / "NOT_IN_SHEET"
    unlisted.mkdir()
    with pytest.raises(DatasetFormatError, match=f"{first['key']}: sheet {word} \\d+ has no frame folder"):
        read_dataset(name, root)
    res = read_dataset(name, root, on_problem="skip")
    assert len(res.table) == n - 1 and first["key"] not in set(res.table["key"])
    [(key, message)] = res.problems
    assert key == first["key"] and f"has no frame folder {folder}; restore the folder" in message
    assert (str(unlisted), "not listed in the coding sheet") in res.skipped


@pytest.mark.parametrize("name", sorted(SHEET_READERS))
def test_bad_frame_number_cell_names_sheet_record_and_column(name, tmp_path):
    writer, word, onset = SHEET_READERS[name]
    root, _ = writer(tmp_path)
    sheet = _sheet(root)
    wb = load_workbook(sheet)
    ws = wb.active
    header_row = next(r for r in ws.iter_rows() if any(c.value == onset for c in r))
    column = next(c.column for c in header_row if c.value == onset)
    ws.cell(row=header_row[0].row + 1, column=column, value="soon")
    wb.save(sheet)
    number = 1 if word == "record" else header_row[0].row + 1
    with pytest.raises(DatasetFormatError, match=f"{sheet.name} {word} {number} {onset}: expected a frame number, got 'soon'"):
        read_dataset(name, root)


def test_cropped_casme2_lists_frames_without_the_prefix(tmp_path):
    root, n = write_casme2(tmp_path, variant="cropped")
    clip = root / "Cropped" / "sub01" / "EP02_01f"
    (clip / "img3.jpg").write_bytes((clip / "reg_img3.jpg").read_bytes())
    res = read_dataset("casme2", root, variant="cropped")
    assert len(res.table) == n
    assert (str(clip / "img3.jpg"), "frame name does not start with reg_img") in res.skipped
    assert all(Path(p).name.startswith("reg_img") for p in res.table.iloc[0]["frames"])


def test_layout_header_and_defaults():
    layout = SheetLayout(onset="On", apex="Ap", offset="Off", emotion="Emo", aus="AU")
    assert layout.header == ["Subject", "Filename", "On", "Ap", "Off"]
    assert (layout.subject_folder.format(3), layout.first_record, layout.record_word) == ("sub03", 2, "row")
