#!/usr/bin/env bash
# The package as a user installs it: build the wheel, install it into a fresh virtual
# environment (no editable install, no checkout on the path), then run `microexpr doctor`,
# `microexpr configs list` and a packaged config end to end on the quick synthetic corpus.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# build from a copy, so the checkout gets no build/ folder
python - "$repo" "$work/src" <<'PY'
import shutil, sys
from pathlib import Path
src = Path(sys.argv[1])
top = {".git", "build", "dist", "runs", ".cache"}  # checkout-only folders, at the top level only
def ignore(folder, names):
    return [n for n in names if (Path(folder) == src and n in top) or n == "__pycache__" or n.endswith(".egg-info")]
shutil.copytree(src, sys.argv[2], symlinks=True, ignore=ignore)
PY
python -m pip wheel --no-deps --no-build-isolation -q -w "$work/dist" "$work/src"
python -m venv "$work/venv"
"$work/venv/bin/python" -m pip install -q torch==2.13.0          # the CPU build this machine keeps (see README)
"$work/venv/bin/python" -m pip install -q "$work/dist"/microexpr-*.whl
cd "$work"                                                       # nothing of the checkout is importable from here
"$work/venv/bin/python" - <<'PY'
import microexpr, sys
assert "/venv/" in microexpr.__file__, microexpr.__file__
print("microexpr imported from", microexpr.__file__)
PY
"$work/venv/bin/microexpr" --version
"$work/venv/bin/microexpr" doctor
"$work/venv/bin/microexpr" configs list
"$work/venv/bin/microexpr" synth "$work/quick" --size quick
"$work/venv/bin/microexpr" run demo_cde --data casme2="$work/quick/casme2" samm="$work/quick/samm" \
    smic="$work/quick/smic" ckplus="$work/quick/ckplus" --set method.params.epochs=5 method.params.pretrain_epochs=5 \
    cache_dir="$work/cache" --out "$work/run" --quiet
test -s "$work/run/metrics.json"
echo "wheel check passed"
