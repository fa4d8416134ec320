#!/usr/bin/env bash
# Load on `avalanche serve` (a benchmark, not a test): wrk, 2 threads, 16
# connections, 10 s per endpoint, on loopback, against a copy of the
# benchmark database (100,000 warnings; run bench/run first). The daemon's
# clock is pinned inside the corpus (AV_FAKE_NOW) so pages have data.
set -euo pipefail
cd "$(dirname "$0")/.."
db=build/bench/http.db
[ -f build/bench/bench.db ] || { echo "run bench/run first (needs build/bench/bench.db)" >&2; exit 2; }
command -v wrk >/dev/null || { echo "apt-get install wrk" >&2; exit 2; }
cp build/bench/bench.db "$db"; rm -f "$db-wal" "$db-shm"
AV_FAKE_NOW=2015-11-20T12:00:00Z ./build/avalanche serve --db "$db" --listen 127.0.0.1:0 \
    --api-base http://127.0.0.1:9/none -X fetch.retries=0 -q > build/bench/serve.out 2>/dev/null &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null' EXIT
for _ in $(seq 50); do grep -q serving build/bench/serve.out 2>/dev/null && break; sleep 0.1; done
base=$(awk '{print $3}' build/bench/serve.out | sed 's|/$||')
sleep 1
for path in /healthz /metrics "/api/warnings?region=3022" /api/runs / /region/3022; do
    printf '%-28s ' "$path"
    wrk -t2 -c16 -d10s "$base$path" | awk '/Requests\/sec/{r=$2} /Non-2xx/{e=$NF} /Latency/{l=$2}
        END{printf "%10s req/s  latency avg %s  non-2xx %s\n", r, l, (e==""?0:e)}'
done
