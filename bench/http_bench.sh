#!/usr/bin/env bash
# Load on `avalanche serve` (a benchmark, not a test), on loopback, against a
# copy of the benchmark database (100,000 warnings; run bench/run first).
# The daemon's clock is pinned inside the corpus (AV_FAKE_NOW) so pages have
# data. For each endpoint: the first request's time (cold: nothing cached
# yet for that URL; curl, one request), then wrk steady state, 2 threads, 16
# connections, DURATION (10s) each, RUNS (2) times. Other endpoints were
# asked before, so "cold" has warm SQLite and OS caches, never a warm
# response cache.
#
#   AVALANCHE_BIN=build/avalanche  the binary (an old build to compare)
#   RUNS=2 DURATION=10s            wrk passes per endpoint, and their length
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${AVALANCHE_BIN:-build/avalanche}
runs=${RUNS:-2}
duration=${DURATION:-10s}
db=build/bench/http.db
[ -f build/bench/bench.db ] || { echo "run bench/run first (needs build/bench/bench.db)" >&2; exit 2; }
command -v wrk >/dev/null || { echo "apt-get install wrk" >&2; exit 2; }
command -v curl >/dev/null || { echo "apt-get install curl" >&2; exit 2; }
cp build/bench/bench.db "$db"; rm -f "$db-wal" "$db-shm"
# serve.schedule far from the pinned time: no run starts during the load
AV_FAKE_NOW=2015-11-20T12:00:00Z "$bin" serve --db "$db" --listen 127.0.0.1:0 \
    --api-base http://127.0.0.1:9/none -X fetch.retries=0 -X serve.schedule=03:00 -q \
    > build/bench/serve.out 2>/dev/null &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null' EXIT
# (opening may migrate the copy's schema first: up to 2 minutes)
for _ in $(seq 1200); do grep -q serving build/bench/serve.out 2>/dev/null && break; sleep 0.1; done
base=$(awk '{print $3}' build/bench/serve.out | sed 's|/$||')
[ -n "$base" ] || { echo "serve did not start" >&2; exit 1; }
# the start-up (catch-up run attempt, schedule) is over once next_run is set
for _ in $(seq 100); do
    curl -fsS "$base/healthz" 2>/dev/null | grep -q '"next_run":"' && break; sleep 0.1
done
echo "# $bin, $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-32s %9s %9s' endpoint cold_ms warm_ms
for r in $(seq "$runs"); do printf ' %12s %8s' "req/s#$r" "avg#$r"; done
printf ' %s\n' non-2xx
for path in /healthz /metrics "/api/warnings?region=3022" /api/runs /api/regions / \
    /region/3022 "/region/3022?date=2015-11-20" /season/2014-15 /quality; do
    cold=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' "$base$path")
    warm=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' "$base$path")
    [ "${cold%% *}" = 200 ] && [ "${warm%% *}" = 200 ] ||
        { echo "$path: HTTP ${cold%% *} ${warm%% *}" >&2; exit 1; }
    printf '%-32s %9.1f %9.1f' "$path" "$(echo "${cold#* } * 1000" | bc -l)" \
        "$(echo "${warm#* } * 1000" | bc -l)"
    bad=0
    for _ in $(seq "$runs"); do
        out=$(wrk -t2 -c16 -d"$duration" "$base$path")
        read -r rps lat e < <(awk '/Requests\/sec/{r=$2} /Non-2xx/{e=$NF} /Latency/{l=$2}
            END{print r, l, (e==""?0:e)}' <<<"$out")
        printf ' %12s %8s' "$rps" "$lat"
        bad=$((bad + e))
    done
    printf ' %s\n' "$bad"
done
