"""Reading the native coding spreadsheets (``.xlsx``) with openpyxl.

Headers are found by their cell values, not by fixed offsets: SAMM's sheet has about 13
rows of preamble before its header, CASME II's header is on the first row, CAS(ME)^2's
sheet has none at all.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from ..errors import DatasetFormatError


def norm_header(value: Any) -> str:
    """Header cell normalised for matching: lower case, no spaces/underscores."""
    return "".join(ch for ch in str(value).lower() if ch.isalnum())


def read_rows(path: Path, sheet: str | None = None) -> list[tuple[Any, ...]]:
    """All rows of one sheet (the named one, else the first) as tuples of cell values."""
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged file
        raise DatasetFormatError(f"cannot open spreadsheet {path}: {exc}; replace it with the original file") from exc
    try:
        if sheet is not None and sheet in wb.sheetnames:
            ws = wb[sheet]
        else:
            ws = wb[wb.sheetnames[0]]
        return [tuple(r) for r in ws.iter_rows(values_only=True)]
    finally:
        wb.close()


def header_records(
    path: Path, rows: list[tuple[Any, ...]], required: Iterable[str], *, max_scan: int = 40
) -> list[dict[str, Any]]:
    """Records (dicts keyed by normalised header) below the first row holding all ``required``
    headers. Unnamed columns are dropped; fully empty rows are skipped."""
    required = list(required)
    need = {norm_header(h) for h in required}
    best: tuple[int, int, list[str]] | None = None  # (columns found, row index, missing) of the likeliest header
    for i, row in enumerate(rows[:max_scan]):
        names = [norm_header(c) if c is not None else "" for c in row]
        found = len(need & set(names))
        if found >= 2 and not need <= set(names) and (best is None or found > best[0]):
            best = (found, i, [h for h in required if norm_header(h) not in names])
        if need <= set(names):
            out = []
            for r in rows[i + 1 :]:
                if all(c is None or str(c).strip() == "" for c in r):
                    continue
                out.append({n: v for n, v in zip(names, r) if n})
            return out
    if best is not None:
        raise DatasetFormatError(
            f"spreadsheet {path}: its header (row {best[1] + 1}) lacks the column(s) {best[2]}; restore them "
            "(the original coding sheet has them)"
        )
    raise DatasetFormatError(
        f"spreadsheet {path}: no header row with columns {sorted(required)} in its first {max_scan} rows; "
        f"is this the original coding sheet?"
    )


ROMAN = {"I": 1, "II": 2, "III": 3, "IV": 4, "V": 5, "VI": 6, "VII": 7}


def objective_class(value: Any, what: str) -> int | None:
    """An objective-class cell (``1``..``7``, ``"III"``, empty) as an int or None."""
    if value is None:
        return None
    s = str(value).strip()
    if s == "" or s.lower() == "nan":
        return None
    if s.upper() in ROMAN:
        return ROMAN[s.upper()]
    try:
        n = int(float(s))
    except ValueError:
        raise DatasetFormatError(f"{what}: objective class {value!r} is not 1..7 or I..VII") from None
    if not 1 <= n <= 7:
        raise DatasetFormatError(f"{what}: objective class {value!r} is not in 1..7")
    return n
