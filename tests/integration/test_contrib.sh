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
# the timer file's own OnCalendar lines: each valid, each in Oslo time, and
# together the daemon's default schedule (serve.schedule)
timer_calendars() {
    local n=0 line cal
    while IFS= read -r line; do
        cal=${line#OnCalendar=}
        n=$((n + 1))
        case $cal in *" Europe/Oslo") ;; *) echo "not in Oslo time: $cal"; return 1 ;; esac
        systemd-analyze calendar "$cal" >/dev/null || return 1
    done < <(grep '^OnCalendar=' contrib/systemd/avalanche-run.timer)
    [ "$n" -gt 0 ] || { echo "no OnCalendar= in avalanche-run.timer"; return 1; }
    local times want
    times=$(grep '^OnCalendar=' contrib/systemd/avalanche-run.timer |
            sed -E 's/.* ([0-9]{2}:[0-9]{2}):00 Europe\/Oslo$/\1/' | paste -sd, -)
    want=$(build/avalanche help-config | sed -n 's/^schedule = //p')
    [ "$times" = "$want" ] || { echo "timer runs at $times, serve.schedule is $want"; return 1; }
}
check timer-calendars-are-the-daemon-schedule timer_calendars
check airflow-dag-compiles python3 -m py_compile contrib/airflow/avalanche_dag.py
echo "contrib: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
