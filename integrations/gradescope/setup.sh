#!/usr/bin/env bash
# Gradescope runs this once when it builds the autograder image (Ubuntu, as root, in /autograder/source).
# The kit needs Python 3 and PyTorch; the CPU wheel keeps the image small. Nothing else: the kit uses
# only the standard library besides torch.
set -euo pipefail
apt-get update
apt-get install -y --no-install-recommends python3 python3-pip
python3 -m pip install --no-cache-dir --index-url https://download.pytorch.org/whl/cpu torch
python3 -c 'import torch; print("torch", torch.__version__)'
