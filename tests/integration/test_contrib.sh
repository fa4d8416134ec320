#!/usr/bin/env bash
# Checks the deployment files in contrib/ as far as this machine can:
# systemd units with systemd-analyze verify (against the built binary), the
# Airflow DAG compiles. Docker files are not exercised (no Docker engine).
set -u
cd "$(dirname "$0")/../.."
pass=0 fail=0
check() { # name command...
    local name=$1; shift
    if out=$("$@" 2>&1) && [ -z "$out" ]; then pass=$((pass + 1)); echo "ok    $name"
    else fail=$((fail + 1)); echo "FAIL  $name"; echo "$out"; fi
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp contrib/systemd/* "$tmp/"
sed -i "s|/usr/local/bin/avalanche|$PWD/build/avalanche|" "$tmp"/*.service
check systemd-units systemd-analyze verify "$tmp/avalanche.service" \
    "$tmp/avalanche-run.service" "$tmp/avalanche-run.timer"
check timer-calendar-in-oslo-time bash -c \
    'systemd-analyze calendar "*-*-* 16:30:00 Europe/Oslo" >/dev/null'
check airflow-dag-compiles python3 -m py_compile contrib/airflow/avalanche_dag.py
echo "contrib: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
