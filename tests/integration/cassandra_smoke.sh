#!/usr/bin/env bash
# tests/integration/cassandra_smoke.sh - smoke test of the dev Cassandra node.
#
# Starts a real Cassandra 5.0 node with scripts/cassandra-dev (password auth
# on), then uses Debian's python3-cassandra driver (protocol v4) as an
# independent client to: create a keyspace (SimpleStrategy, RF 1) and a
# table, insert a row and read it back, check that a wrong password and a
# missing login are refused with an authentication error; then stops the node
# and checks that no JVM is left. Ends with one line
#   cassandra-smoke: N passed, N failed
# and exits non-zero if anything failed. The node is stopped on any exit.
#
# Honours the CASSANDRA_DEV_* variables of scripts/cassandra-dev (DIR, PORT,
# STORAGE_PORT, VERSION, ...); CASSANDRA_DEV_AUTH is forced to "password".
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DEV="$ROOT/scripts/cassandra-dev"
PY=/usr/bin/python3
export CASSANDRA_DEV_AUTH=password
PORT=${CASSANDRA_DEV_PORT:-9042}

passed=0 failed=0
ok()   { passed=$((passed + 1)); echo "ok   - $1"; }
fail() { failed=$((failed + 1)); echo "FAIL - $1"; }
finish() {
    local rc=$?
    "$DEV" stop >/dev/null 2>&1 || true
    echo "cassandra-smoke: $passed passed, $failed failed"
    if [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ] && [ "$rc" -eq 0 ]; then exit 0; fi
    exit 1
}
trap finish EXIT

# Run the python3-cassandra snippet given on stdin; $1 = test name.
pycheck() {
    local name=$1 out
    if out=$("$PY" - "$PORT" 2>&1); then ok "$name"; else fail "$name"; printf '    %s\n' "${out//$'\n'/$'\n'    }"; fi
}

# 1. start
if contact=$("$DEV" start | tail -n 1) && [ "$contact" = "127.0.0.1:$PORT" ]; then
    ok "start (contact point $contact)"
else
    fail "start"
    "$DEV" logs -n 60 >&2 || true
    exit 1
fi

# 2. status
if "$DEV" status >/dev/null; then ok "status reports the node up"; else fail "status"; fi

# 3. schema + write + read back, as cassandra/cassandra over protocol v4
pycheck "create keyspace/table, insert, read back" <<'EOF'
import datetime, sys
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import Cluster
c = Cluster(["127.0.0.1"], port=int(sys.argv[1]), protocol_version=4,
            auth_provider=PlainTextAuthProvider("cassandra", "cassandra"))
s = c.connect()
s.execute("CREATE KEYSPACE IF NOT EXISTS smoke WITH replication = "
          "{'class': 'SimpleStrategy', 'replication_factor': 1}")
s.execute("CREATE TABLE IF NOT EXISTS smoke.bulletin ("
          " region text, issued timestamp, danger int, snow_cm double, note text,"
          " PRIMARY KEY (region, issued))")
ts = datetime.datetime(2026, 1, 15, 7, 30)
s.execute("INSERT INTO smoke.bulletin (region, issued, danger, snow_cm, note) "
          "VALUES (%s, %s, %s, %s, %s)", ("CH-4211", ts, 3, 42.5, "Triebschnee, überwiegend N"))
rows = list(s.execute("SELECT danger, snow_cm, note, issued FROM smoke.bulletin "
                      "WHERE region = %s", ("CH-4211",)))
assert len(rows) == 1, rows
r = rows[0]
assert (r.danger, r.snow_cm, r.note, r.issued) == (3, 42.5, "Triebschnee, überwiegend N", ts), r
c.shutdown()
EOF

# 4. wrong password -> AuthenticationFailed (server: code 0x0100 Bad credentials)
pycheck "wrong password is refused with an authentication error" <<'EOF'
import sys
from cassandra import AuthenticationFailed
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import Cluster, NoHostAvailable
c = Cluster(["127.0.0.1"], port=int(sys.argv[1]), protocol_version=4,
            auth_provider=PlainTextAuthProvider("cassandra", "not-the-password"))
try:
    c.connect()
    sys.exit("login with a wrong password succeeded")
except NoHostAvailable as e:
    errs = list(e.errors.values())
    assert errs and all(isinstance(x, AuthenticationFailed) for x in errs), errs
    assert "Bad credentials" in str(errs[0]), errs[0]
finally:
    c.shutdown()
EOF

# 5. no credentials at all -> the server demands authentication
pycheck "login without credentials is refused" <<'EOF'
import sys
from cassandra import AuthenticationFailed
from cassandra.cluster import Cluster, NoHostAvailable
c = Cluster(["127.0.0.1"], port=int(sys.argv[1]), protocol_version=4)
try:
    c.connect()
    sys.exit("login without credentials succeeded")
except NoHostAvailable as e:
    errs = list(e.errors.values())
    assert errs and all(isinstance(x, AuthenticationFailed) for x in errs), errs
finally:
    c.shutdown()
EOF

# 6. stop: the JVM is gone and the port is closed
pid=$(cat "${CASSANDRA_DEV_DIR:-$ROOT/build/it/cass}/cassandra.pid" 2>/dev/null || echo "")
"$DEV" stop >/dev/null 2>&1 || true
# (the stopped JVM may linger as a zombie: PID 1 of this VM reaps slowly; so
# look at the process state, not kill -0)
alive() { local st; st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) && [ "$st" != Z ]; }
if [ -n "$pid" ] && ! alive "$pid" && ! ss -Hltn "sport = :$PORT" | grep -q .; then
    ok "stop (pid $pid gone, port $PORT closed)"
else
    fail "stop (pid ${pid:-?} or port $PORT still there)"
fi
