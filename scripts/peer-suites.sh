#!/usr/bin/env bash
# Run the peers' own test suites against interlock's façades (issue 16).
#
#   scripts/peer-suites.sh PYTHON [PYTHON...]     e.g. .venv/bin/python .venvt/bin/python
#
# Downloads the sdists of ft_utils 0.2.0 and fastipc 0.1.5 (pip download, no
# install) into $PEER_DIR (default /tmp/interlock-peers, OUTSIDE the repo: their
# code is never committed), copies their tests into a scratch directory, rewrites
# `ft_utils.X` / `fastipc` imports to `interlock.compat.*` with sed, and runs
# pytest with each interpreter (interlock must be installed in it; pytest and
# pytest-timeout too; pytest-benchmark, numpy and optree for all of fastipc's
# tests). Prints pytest's summary line per suite and interpreter.
# Extra pytest arguments: PEER_PYTEST_ARGS; per-test timeout: PEER_TIMEOUT (30 s: the
# private-attribute tests that cannot pass would otherwise wait long).
set -u
PEER_DIR=${PEER_DIR:-/tmp/interlock-peers}
FT_VERSION=0.2.0
FASTIPC_VERSION=0.1.5
[ $# -ge 1 ] || { echo "usage: $0 PYTHON [PYTHON...]" >&2; exit 2; }
pys=()
for py in "$@"; do  # absolute, without resolving the venv's symlink
    case $py in /*) pys+=("$py") ;; */*) pys+=("$(cd "$(dirname "$py")" && pwd)/$(basename "$py")") ;;
                *) pys+=("$(command -v "$py")") ;; esac
done
set -- "${pys[@]}"
mkdir -p "$PEER_DIR"
cd "$PEER_DIR"

fetch() {  # fetch NAME VERSION DIR  (--python-version: ft_utils needs >=3.13, pip may run on older)
    [ -d "$3" ] && return 0
    "$FIRST_PY" -m pip download -q --no-binary :all: --no-deps --python-version 3.13 \
        "$1==$2" -d sdists || exit 2
    tar xzf sdists/"$(ls sdists | grep -i -E "^(${1//-/_}|$1)-$2\.tar\.gz$" | head -1)" || exit 2
}
FIRST_PY=$1
fetch ft-utils "$FT_VERSION" "ft_utils-$FT_VERSION"
fetch fastipc "$FASTIPC_VERSION" "fastipc-$FASTIPC_VERSION"

# --- scratch copies with the imports rewritten ---------------------------------
rm -rf run && mkdir -p run/ft_utils run/fastipc
ft=ft_utils-$FT_VERSION/ft_utils
for f in test_concurrency.py test_rwlock.py test_intervallock.py test_batchexecutor.py \
         test_localwrapper.py; do
    cp "$ft/tests/$f" run/ft_utils/
done
# the suites' helpers (test utilities, not API) run from the copy as well
cp "$ft/lock_test_utils.py" "$ft/threading_test_utils.py" run/ft_utils/
sed -i -E \
    -e 's/\bft_utils\.(lock_test_utils|threading_test_utils)\b/\1/g' \
    -e 's/\bft_utils\.(concurrency|synchronization|local)\b/interlock.compat.ft_utils.\1/g' \
    run/ft_utils/*.py
cp fastipc-$FASTIPC_VERSION/tests/*.py run/fastipc/
sed -i -E \
    -e 's/\bfrom fastipc\._primitives import/from interlock.compat.fastipc import/' \
    -e 's/\bfrom fastipc\.guarded_shared_memory import/from interlock.compat.fastipc import/' \
    -e 's/\bfastipc\.nptree/interlock.compat.fastipc.nptree/g' \
    -e 's/\bfrom fastipc import/from interlock.compat.fastipc import/' \
    run/fastipc/*.py

# --- run ------------------------------------------------------------------------
status=0
for py in "$@"; do
    tag=$("$py" -c 'import sys, sysconfig; print(f"{sys.version_info[0]}.{sys.version_info[1]}" + ("t" if sysconfig.get_config_var("Py_GIL_DISABLED") else ""))')
    for suite in ${PEER_SUITES:-ft_utils fastipc}; do
        line=$(cd run/$suite && FASTIPC_PID_DIR=$PEER_DIR/pids "$py" -m pytest -q -p no:cacheprovider --continue-on-collection-errors \
                   --timeout=${PEER_TIMEOUT:-30} ${PEER_PYTEST_ARGS:-} . 2>&1 | tee "$PEER_DIR/$suite-$tag.log" | tail -1)
        echo "$suite on $tag: $line"
        case $line in *failed*|*error*) status=1 ;; esac
    done
done
exit $status
