"""``microexpr predict PATH --model FILE``: apex, class and probabilities for a video or frame folder.

Prints JSON on stdout (or writes it to ``--out``); progress goes to stderr. Exit code 2
with a one-line message when no face is found, the video cannot be decoded, or the
model file is refused (foreign, tampered, unsafe).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "predict",
        help="run an exported model on a video (mp4/avi/mov) or a folder of frames: intervals, apex, class, probabilities",
        description=(
            "Detect and crop the face, propose micro-expression intervals with a sliding window (or use the "
            "--onset/--apex you give), build the model's flow image and print JSON with onset, apex, offset, "
            "class, per-class probabilities, face box and per-stage timings."
        ),
    )
    p.add_argument("path", type=Path, metavar="PATH", help="video file or folder of frame images")
    p.add_argument("--model", type=Path, required=True, metavar="FILE", help="model artefact (`microexpr export`)")
    p.add_argument("--onset", type=int, default=None, metavar="FRAME", help="onset frame (0-based); skips spotting it")
    p.add_argument("--apex", type=int, default=None, metavar="FRAME", help="apex frame (0-based); skips spotting it")
    p.add_argument("--fps", type=float, default=None,
                   help="frame rate (default: the video's; 30 assumed for a frame folder)")
    p.add_argument("--window", type=float, default=None, metavar="SECONDS",
                   help="sliding-window length in seconds (default 0.5: micro-expressions last < 0.5 s)")
    p.add_argument("--stride", type=float, default=None, metavar="SECONDS", help="window stride (default: half a window)")
    p.add_argument("--top", type=int, default=3, metavar="K", help="number of candidate intervals listed (default 3)")
    p.add_argument("--apex-method", default="flow_peak", choices=("flow_peak", "middle", "dc_rois"),
                   help="how the apex is spotted inside a window (default flow_peak)")
    p.add_argument("--spotter", default=None, metavar="NAME",
                   help="a registered spotter (default: the one the model file names, roi_flow): every spotted "
                        "micro/macro interval, each micro one classified; or window: the best --top sliding windows")
    p.add_argument("--truth", nargs="+", default=None, metavar="ONSET:OFFSET",
                   help="ground-truth intervals (0-based frames) drawn on the --visualise timeline")
    p.add_argument("--visualise", type=Path, default=None, metavar="DIR",
                   help="write apex frame with landmarks, flow image and probability chart PNGs here")
    p.add_argument("--out", type=Path, default=None, metavar="FILE", help="write the JSON here instead of stdout")
    p.add_argument("--device", default=None, metavar="DEVICE",
                   help="auto | cpu | cuda | cuda:N | mps (default auto: CUDA when available)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def parse_truths(items: list[str] | None) -> list[tuple[int, int]]:
    """``ONSET:OFFSET`` items as frame pairs; a malformed one is a ConfigError naming it."""
    from ..errors import ConfigError

    out = []
    for item in items or []:
        a, sep, b = item.partition(":")
        if not sep or not a.strip().isdigit() or not b.strip().isdigit() or int(b) < int(a):
            raise ConfigError(f"--truth {item!r}: write ONSET:OFFSET in 0-based frames, e.g. --truth 40:52")
        out.append((int(a), int(b)))
    return out


def run(args: argparse.Namespace) -> int:
    from ..errors import OutputError
    from ..io_utils import atomic_write_text, check_writable
    from ..predict import predict

    if args.out is not None:  # found before the work, not after it
        if args.out.is_dir():
            raise OutputError(f"--out {args.out} is a folder; give the path of the JSON file to write")
        check_writable(args.out.parent if str(args.out.parent) else Path("."), "--out folder")
    if args.visualise is not None:
        check_writable(args.visualise, "--visualise")
    result = predict(args.path, args.model, onset=args.onset, apex=args.apex, fps=args.fps, window_s=args.window,
                     stride_s=args.stride, top_k=args.top, apex_method=args.apex_method, progress=not args.quiet,
                     visualise_dir=args.visualise, device=args.device, spotter=args.spotter,
                     truths=parse_truths(args.truth))
    text = json.dumps(result, indent=2)
    if args.out is not None:
        atomic_write_text(args.out, text + "\n")
    else:
        print(text)
    return 0
