#!/usr/bin/env bash
# tests/integration/test_cql_node.sh - our CQL v4 client (src/cql) against a
# real Cassandra 5.0 node, with Debian's python3-cassandra as the oracle.
#
# 1. builds tests/integration/cql_smoke.c with gcc (-Werror, ASan + UBSan)
# 2. starts a node with scripts/cassandra-dev (password auth, wiped data)
# 3. cql_smoke main: login (good, wrong, missing credentials), failover over
#    a dead contact point, schema, prepared INSERT of every type incl. nulls
#    and unset, SELECT back by QUERY and EXECUTE, paging (25 rows, pages of
#    10), logged/unlogged BATCH, server errors, max_frame ceiling
# 4. python3-cassandra reads row 7 (written by our client) and writes row 8
# 5. cql_smoke readback: our client reads row 8 and compares every column
# 6. cql_smoke restart: the node is stopped (AV_ENET) and started again
#    (wiped); the same connection object reconnects and re-prepares
# 7. python3-cassandra reads row 7 again (written after the restart)
#
# Ends with one line `cql-node: N passed, N failed`; exits non-zero on any
# failure. The node is stopped on every exit (trap).
#
# Runs its own node so it can share the machine with other tests:
# CASSANDRA_DEV_DIR (default build/it/cass-cql), CASSANDRA_DEV_PORT (19042),
# CASSANDRA_DEV_STORAGE_PORT (17000); other CASSANDRA_DEV_* pass through.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DEV="$ROOT/scripts/cassandra-dev"
PY=/usr/bin/python3
BIN="$ROOT/build/it/cql_smoke"
export CASSANDRA_DEV_AUTH=password
export CASSANDRA_DEV_DIR=${CASSANDRA_DEV_DIR:-$ROOT/build/it/cass-cql}
export CASSANDRA_DEV_PORT=${CASSANDRA_DEV_PORT:-19042}
export CASSANDRA_DEV_STORAGE_PORT=${CASSANDRA_DEV_STORAGE_PORT:-17000}
HOST=127.0.0.1
PORT=$CASSANDRA_DEV_PORT

passed=0 failed=0
ok()   { passed=$((passed + 1)); echo "ok   - $1"; }
fail() { failed=$((failed + 1)); echo "FAIL - $1"; }
finish() {
    "$DEV" stop >/dev/null 2>&1 || true
    echo "cql-node: $passed passed, $failed failed"
    if [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]; then exit 0; fi
    exit 1
}
trap finish EXIT
trap 'exit 1' INT TERM

# Runs one phase of cql_smoke and adds its ok/FAIL lines to the totals;
# the output stays in build/it/cql_smoke.PHASE.log.
phase() {
    local out="$ROOT/build/it/cql_smoke.$1.log" rc p f
    "$BIN" "$HOST:$PORT" "$1" 2>&1 | tee "$out"
    rc=${PIPESTATUS[0]}
    p=$(grep -c '^ok ' "$out")
    f=$(grep -c '^FAIL ' "$out")
    passed=$((passed + p))
    failed=$((failed + f))
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then fail "cql_smoke $1 exited $rc"; fi
    if ! grep -q "^cql-smoke $1: " "$out"; then fail "cql_smoke $1 did not finish"; fi
}

# grep_log PHASE PATTERN NAME: a check on what a phase logged.
grep_log() {
    if grep -q -- "$2" "$ROOT/build/it/cql_smoke.$1.log"; then ok "$3"; else fail "$3"; fi
}

# Runs the python3-cassandra snippet on stdin; $1 = test name.
pycheck() {
    local name=$1 out
    if out=$("$PY" - "$HOST" "$PORT" 2>&1); then
        ok "$name"
    else
        fail "$name"
        printf '    %s\n' "${out//$'\n'/$'\n'    }"
    fi
}

ORACLE_READ7=$(cat <<'EOF'
import datetime, sys, uuid
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import Cluster
c = Cluster([sys.argv[1]], port=int(sys.argv[2]), protocol_version=4,
            auth_provider=PlainTextAuthProvider("cassandra", "cassandra"))
s = c.connect()
r = s.execute("SELECT id, b, s, t, f, d, x, ts, dt, u, l FROM cqlsmoke.types WHERE id = 7").one()
want = dict(id=7, b=-9000000000, s=-12345, t=-7, f=True, d=3.25,
            x='sn\u00f8 \u2713 "quoted"', ts=datetime.datetime(2023, 11, 14, 22, 13, 20, 123000),
            u=uuid.UUID("00112233-4455-6677-8899-aabbccddeeff"), l=["a", "b c", "\u00f8"])
got = r._asdict()
bad = [k for k in want if got[k] != want[k]]
if r.dt.date() != datetime.date(2022, 1, 8):
    bad.append("dt")
c.shutdown()
if bad:
    sys.exit("differs: " + ", ".join("%s=%r" % (k, got[k]) for k in bad))
EOF
)

# --- 1. build ------------------------------------------------------------------
mkdir -p "$ROOT/build/it"
if gcc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
       -Wno-missing-field-initializers -g -O1 -fsanitize=address,undefined \
       -fno-sanitize-recover=all -o "$BIN" "$ROOT/tests/integration/cql_smoke.c" \
       "$ROOT"/src/cql/*.c "$ROOT"/src/core/{buf,clock,err,log,tz}.c -lm; then
    ok "build cql_smoke (gcc -Werror, ASan/UBSan)"
else
    fail "build cql_smoke"
    exit 1
fi

# --- 2. node -------------------------------------------------------------------
t0=$SECONDS
if contact=$("$DEV" start | tail -n 1) && [ "$contact" = "$HOST:$PORT" ]; then
    ok "node up at $contact in $((SECONDS - t0)) s"
else
    fail "start node"
    "$DEV" logs -n 60 >&2 || true
    exit 1
fi

# --- 3-5. our client, the oracle both ways ---------------------------------------
phase main
grep_log main "server warning: Aggregation query used without partition key" \
    "warnings flag from the node skipped and logged"
pycheck "python3-cassandra reads row 7 written by our client identically" <<<"$ORACLE_READ7"
pycheck "python3-cassandra writes row 8 (prepared, protocol v4)" <<'EOF'
import datetime, sys, uuid
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import Cluster
c = Cluster([sys.argv[1]], port=int(sys.argv[2]), protocol_version=4,
            auth_provider=PlainTextAuthProvider("cassandra", "cassandra"))
s = c.connect()
p = s.prepare("INSERT INTO cqlsmoke.types (id, b, s, t, f, d, x, ts, dt, u, l) "
              "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
s.execute(p, (8, 9223372036854775807, 32767, 127, False, -0.5, "ascii",
              datetime.datetime(1969, 12, 31, 23, 59, 59), datetime.date(1900, 1, 1),
              uuid.UUID("f81d4fae-7dec-11d0-a765-00a0c91e6bf6"), ["x"]))
c.shutdown()
EOF
phase readback

# --- 6-7. restart under a live connection ----------------------------------------
export CQL_SMOKE_STOP="$DEV stop"
export CQL_SMOKE_START="$DEV start >/dev/null"
phase restart
grep_log restart "re-preparing INSERT INTO" "UNPREPARED answer seen and re-prepared"
pycheck "python3-cassandra reads row 7 written after the restart" <<<"$ORACLE_READ7"
