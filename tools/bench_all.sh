#!/bin/bash
# Run every benchmark of tools/ one after the other (pass --quick for a
# smoke run). Each prints our figure, the comparison measured in the same
# run and their ratio; doc/source/performance.rst records them.
set -e
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python}
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
for bench in bench_engine_cost bench_scale bench_transfer \
             bench_libvirt_upload bench_concurrency; do
    echo "== tools/$bench.py $*"
    "$PYTHON" "tools/$bench.py" "$@" 2> >(grep -v -i eventlet >&2)
    echo
done
