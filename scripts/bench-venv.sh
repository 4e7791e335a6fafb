#!/usr/bin/env bash
# Creates (or updates) .venv at the repository root with the Python peers of the vector
# benchmark: hnswlib, faiss-cpu and numpy from PyPI. Idempotent: safe to run again.
# Usage: scripts/bench-venv.sh        then: .venv/bin/python scripts/ann_peers.py --help
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
python="${PYTHON:-python3}"
if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
if ! "$venv/bin/python" -c 'import hnswlib, faiss, numpy' 2>/dev/null; then
    "$venv/bin/python" -m pip install --quiet --upgrade pip
    "$venv/bin/python" -m pip install --quiet 'numpy>=1.24' 'hnswlib==0.8.0' 'faiss-cpu>=1.8'
fi
"$venv/bin/python" -c 'import hnswlib, faiss, numpy; print("bench venv ready:", "numpy", numpy.__version__, "faiss", faiss.__version__)'
