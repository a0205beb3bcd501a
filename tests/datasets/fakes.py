"""Fake copies of each dataset in its native layout (tiny images), with the real quirks
and a stray file the reader must ignore. Built on ``microexpr.datasets.layouts.write_layout``
so the tests read exactly what the synthetic corpus writes.

Each ``write_<name>(tmp)`` returns ``(root, n_clips)``: the folder (or file) to read and
how many clips the reader must return.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from microexpr.datasets.layouts import ClipSpec, write_layout

SIZE = 8


def frames(n: int, *, seed: int = 0, grey: bool = False) -> list[np.ndarray]:
    """``n`` tiny frames whose mean brightness increases with the index (order is checkable)."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        base = np.full((SIZE, SIZE) if grey else (SIZE, SIZE, 3), 10 + 18 * i, dtype=np.int16)
        out.append(np.clip(base + rng.integers(-3, 4, base.shape), 0, 255).astype(np.uint8))
    return out


def stray(folder: Path, name: str = ".DS_Store") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    p = folder / name
    p.write_bytes(b"junk")
    return p


def write_casme2(tmp: Path, *, variant: str = "raw") -> tuple[Path, int]:
    clips = [
        # 12 frames numbered 1..12: natural sort matters (img2 < img10)
        ClipSpec("sub01", "EP02_01f", frames(12), 1, onset=2, apex=5, offset=11, emotion="happiness",
                 aus="12", objective_class=1),
        ClipSpec("sub01", "EP03_02", frames(6, seed=1), 40, onset=40, apex=None, offset=45, emotion="repression",
                 aus="R14", objective_class=7),  # "/" apex
        ClipSpec("sub02", "EP01_11f", frames(6, seed=2), 100, onset=101, apex=103, offset=104, emotion="others",
                 aus="4+L10", objective_class=6, landmarks=np.zeros((6, 68, 2))),
    ]
    root = write_layout("casme2", tmp / "casme2", clips, variant=variant)
    stray(root, ".DS_Store")
    top = "CASME2_RAW_selected" if variant == "raw" else "Cropped"
    stray(root / top / "sub01" / "EP02_01f", "Thumbs.db")
    return root, 3


def write_samm(tmp: Path) -> tuple[Path, int]:
    clips = [
        ClipSpec("006", "006_1_2", frames(8, grey=True), 5562, onset=5563, apex=5566, offset=5569,
                 emotion="Anger", aus="4 or 7", objective_class=3),
        ClipSpec("006", "006_1_5", frames(6, seed=1, grey=True), 920, onset=920, apex=922, offset=925,
                 emotion="Other", aus="R12", objective_class=7, frame_digits=4),  # 4-digit names
        ClipSpec("007", "007_3_1", frames(6, seed=2, grey=True), 12000, onset=12001, apex=12003, offset=12004,
                 emotion="Happiness", aus="6+12", objective_class=1),
    ]
    root = write_layout("samm", tmp / "samm", clips)
    stray(root, "README.txt")
    return root, 3


def write_smic(tmp: Path, *, variant: str = "HS") -> tuple[Path, int]:
    clips = [
        ClipSpec("s1", "s1_ne_01", frames(7), 586146, emotion="negative"),
        ClipSpec("s1", "s1_po_02", frames(5, seed=1), 590001, emotion="positive"),
        ClipSpec("s3", "s3_sur_01", frames(6, seed=2), 9, emotion="surprise"),
        ClipSpec("s3", "s3_no_01", frames(4, seed=3), 1, emotion="non_micro"),  # must be ignored
    ]
    root = write_layout("smic", tmp / "smic", clips, variant=variant)
    stray(root / variant / "s1", "Thumbs.db")
    return root, 3


def write_ckplus(tmp: Path) -> tuple[Path, int]:
    lm = np.tile(np.arange(68, dtype=float)[None, :, None], (5, 1, 2))
    clips = [
        ClipSpec("S005", "001", frames(5), emotion=3, landmarks=lm),
        ClipSpec("S005", "002", frames(4, seed=1), emotion=None),  # unlabelled: left out by default
        ClipSpec("S010", "004", frames(6, seed=2), emotion=7),
    ]
    root = write_layout("ckplus", tmp / "ckplus", clips)
    stray(root, ".DS_Store")
    return root, 2


def write_casme(tmp: Path) -> tuple[Path, int]:
    clips = [
        ClipSpec("sub01", "EP01_5", frames(8), 1, onset=2, apex=4, offset=7, emotion="tense", aus="4",
                 extra={"ApexF2": 5}),
        ClipSpec("sub03", "EP07_10", frames(6, seed=1), 30, onset=30, apex=None, offset=35, emotion="happiness",
                 aus="12"),
    ]
    root = write_layout("casme", tmp / "casme", clips)
    stray(root, "Thumbs.db")
    return root, 2


def write_casme_sq(tmp: Path) -> tuple[Path, int]:
    clips = [
        ClipSpec("s15", "anger1_1", frames(8), 1, onset=2, apex=4, offset=6, emotion="negative", aus="4+7"),
        ClipSpec("s16", "happy1_2", frames(6, seed=1), 1, onset=1, apex=3, offset=6, emotion="positive",
                 extra={"type": "macro-expression"}),  # left out by default
        ClipSpec("s16", "disgust1_3", frames(6, seed=2), 10, onset=10, apex=None, offset=14, emotion="surprise"),
    ]
    root = write_layout("casme_sq", tmp / "casme_sq", clips)
    stray(root, "README.txt")
    return root, 2


def write_manifest(tmp: Path) -> tuple[Path, int]:
    from microexpr.datasets.layouts import write_image

    root = tmp / "jaffe"
    for i, f in enumerate(frames(5)):
        write_image(root / "seqs" / "KA" / f"f{i + 1}.png", f)
    write_image(root / "stills" / "KM_neutral.png", frames(1)[0])
    write_image(root / "stills" / "KM_happy.png", frames(2)[1])
    write_image(root / "stills" / "NA_sad.png", frames(3)[2])
    stray(root / "seqs" / "KA", "Thumbs.db")
    (root / "manifest.csv").write_text(
        "path,label,subject,neutral_path,frame\n"
        "seqs/KA,surprise,KA,,3\n"
        "stills/KM_happy.png,happy,KM,stills/KM_neutral.png,\n"
        "stills/NA_sad.png,sad,NA,,\n"
    )
    return root / "manifest.csv", 3


WRITERS = {
    "casme2": write_casme2,
    "samm": write_samm,
    "smic": write_smic,
    "ckplus": write_ckplus,
    "casme": write_casme,
    "casme_sq": write_casme_sq,
    "manifest": write_manifest,
}
