#!/usr/bin/env bash
# One command for a fresh machine: Chromium (used only by the HTML-report browser test), a C
# compiler (builds the fused kernels of batched STSTNet/LAENet training; without one those
# train fold by fold) and microexpr with its test extras. See README.md for each part.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "note: Chromium not found; install it (Debian: apt-get install chromium) to run the HTML-report browser test" >&2
  fi
fi
if ! command -v cc >/dev/null 2>&1 && ! command -v gcc >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc >/dev/null
  else
    echo "note: no C compiler found; batched STSTNet/LAENet training will run fold by fold (install gcc)" >&2
  fi
fi
python -m pip install -r requirements.txt
