#!/usr/bin/env bash
# Installs the system tools fixynn's verification and benchmarks use, from Debian's packages, when missing.
# Idempotent: does nothing when every tool is present. Needs root (or sudo) to install.
#   verilator, iverilog (Icarus), yosys: RTL simulation, lint and synthesis
#   opensta (the command `sta`): static timing of `fixynn synth --target asic`; nextpnr-ice40: its iCE40 place and route
#   python3-torch, python3-onnx: only for scripts/train-mnist.py and scripts/transfer/ (training; tests never need it)
#   fonts-*: the glyphs scripts/transfer/make-data.py renders (the source symbols and the letters target)
#   libonnx-testdata: the ONNX project's conformance models (test/onnx/conformance.test.ts, npm run bench:conformance)
#   python3-skimage, python3-sklearn: the real photos that scripts/make-photo-crops.py cuts for the MobileNet checks
#   chromium: only with FIXYNN_FULL=1 (npm run test:full): the `fixynn report` page loaded in headless Chromium
set -euo pipefail

need=()
command -v verilator >/dev/null || need+=(verilator)
command -v iverilog >/dev/null || need+=(iverilog)
command -v yosys >/dev/null || need+=(yosys)
command -v sta >/dev/null || need+=(opensta)
command -v nextpnr-ice40 >/dev/null || need+=(nextpnr-ice40)
[ -d /usr/share/libonnx-testdata/data ] || need+=(libonnx-testdata)
py=/usr/bin/python3
if [ "${FIXYNN_SKIP_PHOTOS:-0}" != 1 ]; then
  "$py" -c 'import skimage' 2>/dev/null || need+=(python3-skimage)
  "$py" -c 'import sklearn' 2>/dev/null || need+=(python3-sklearn)
  "$py" -c 'import numpy' 2>/dev/null || need+=(python3-numpy)
fi
if [ "${FIXYNN_FULL:-0}" = 1 ]; then
  command -v chromium >/dev/null || need+=(chromium)
fi
if [ "${FIXYNN_TRAINING:-0}" = 1 ]; then
  "$py" -c 'import torch' 2>/dev/null || need+=(python3-torch)
  "$py" -c 'import onnx' 2>/dev/null || need+=(python3-onnx)
  "$py" -c 'import PIL, fontTools' 2>/dev/null || need+=(python3-pil python3-fonttools)
  for font in fonts-dejavu-core fonts-dejavu-extra fonts-liberation2 fonts-lato fonts-freefont-ttf fonts-urw-base35 \
      fonts-crosextra-caladea fonts-crosextra-carlito fonts-cantarell fonts-comic-neue fonts-hack fonts-inconsolata \
      fonts-gfs-didot fonts-gfs-neohellenic fonts-gfs-artemisia fonts-linuxlibertine; do
    dpkg -s "$font" >/dev/null 2>&1 || need+=("$font")
  done
  command -v fc-list >/dev/null || need+=(fontconfig)
fi

if [ ${#need[@]} -eq 0 ]; then
  echo "setup-tools: all tools present ($(verilator --version | head -1); $(iverilog -V 2>&1 | head -1 | cut -d' ' -f1-4); $(yosys -V))"
  exit 0
fi

sudo=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null; then sudo=sudo; else
    echo "setup-tools: missing ${need[*]}; run as root: apt-get update && apt-get install -y ${need[*]}" >&2
    exit 2
  fi
fi
echo "setup-tools: installing ${need[*]} from Debian's packages"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
echo "setup-tools: done"
