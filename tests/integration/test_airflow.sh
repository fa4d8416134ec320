#!/usr/bin/env bash
# contrib/airflow/avalanche_dag.py under a real Apache Airflow: builds (once)
# or reuses a virtualenv with the pinned set of contrib/airflow/
# requirements-test.txt, then runs tests/integration/test_airflow.py (each
# test an `airflow dags test` against the loopback replay server, with
# SQLite metadata in a temporary AIRFLOW_HOME). Last line:
# "airflow: N passed, N failed".
#
# The virtualenv: $AIRFLOW_VENV as it is, if set; else ~/.cache/avalanche/
# airflow-VERSION-pyX.Y-HASH (HASH: of the requirements file and the
# interpreter, so a changed list or Python gets a new one). Its marker file
# is written only after a complete install: a half-made one (interrupted, a
# registry that failed) is removed and made again. The first install needs
# PyPI (about 300 MB, half a minute); later runs need no network. Old
# virtualenvs are not removed (about 300 MB each).
# AIRFLOW_PYTHON picks the interpreter (default python3).
set -u
cd "$(dirname "$0")/../.."
req=contrib/airflow/requirements-test.txt
py=${AIRFLOW_PYTHON:-python3}
bad() { echo "airflow: $*"; echo "airflow: 0 passed, 1 failed"; exit 1; }

ver=$(sed -n 's/^apache-airflow==//p' "$req")
[ -n "$ver" ] || bad "no apache-airflow==VERSION in $req"
pyver=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])') ||
    bad "no Python at $py"
# the key: the list and the interpreter (its real path and full version)
hash=$({ cat "$req"
         "$py" -c 'import os, sys; print(os.path.realpath(sys.executable), sys.version)'
       } | sha256sum | cut -c1-12)
if [ -n "${AIRFLOW_VENV:-}" ]; then # given: used as it is, never made or removed here
    venv=$AIRFLOW_VENV
    [ -x "$venv/bin/airflow" ] || bad "no bin/airflow in AIRFLOW_VENV=$venv"
else
    venv=${XDG_CACHE_HOME:-$HOME/.cache}/avalanche/airflow-$ver-py$pyver-$hash
    marker=$venv/.avalanche-installed
    mkdir -p "$(dirname "$venv")" || bad "cannot create $(dirname "$venv")"
    exec 9>"$venv.lock" || bad "cannot open $venv.lock"
    flock 9 # two test runs at once: one installs, the other waits for it
    if [ "$(cat "$marker" 2>/dev/null)" != "$hash" ]; then
        rm -rf "$venv"
        echo "airflow: installing Apache Airflow $ver for Python $pyver into $venv"
        start=$(date +%s)
        log=$(mktemp)
        if ! { "$py" -m venv "$venv" &&
               "$venv/bin/pip" install --disable-pip-version-check --no-input -q -r "$req" &&
               "$venv/bin/pip" check; } >"$log" 2>&1; then
            tail -n 30 "$log"
            rm -f "$log"
            bad "could not install Airflow (no python3-venv? no PyPI?); made again next time"
        fi
        rm -f "$log"
        echo "$hash" >"$marker"
        echo "airflow: installed in $(($(date +%s) - start)) s"
    fi
    flock -u 9
    exec 9>&-
fi
exec env AIRFLOW_VENV="$venv" python3 tests/integration/test_airflow.py
