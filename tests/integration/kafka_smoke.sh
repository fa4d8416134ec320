#!/usr/bin/env bash
# tests/integration/kafka_smoke.sh - smoke test of the dev Kafka broker.
#
# Starts a real single-node KRaft Kafka broker with scripts/kafka-dev, then
# uses Debian's kcat (librdkafka) as an independent client to:
#   - produce 3 keyed messages with per-message headers to a fresh topic
#     (auto-created), read them back and compare keys, values and headers;
#   - read them again through a consumer group (group coordinator, offsets topic);
#   - run `start` on the running broker: the old JVM is replaced by a fresh one
#     on a wiped data dir (the topic is gone);
#   - check stop/status semantics: stop kills the JVM and closes the ports,
#     status then exits 1 with nothing on stdout, a second stop is a no-op.
# Ends with one line
#   kafka-smoke: N passed, N failed
# and exits non-zero if anything failed. The broker is stopped on any exit.
#
# Honours the KAFKA_DEV_* variables of scripts/kafka-dev (DIR, PORT, VERSION, ...).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DEV="$ROOT/scripts/kafka-dev"
PORT=${KAFKA_DEV_PORT:-9092}
CPORT=$((PORT + 1))
DIR=${KAFKA_DEV_DIR:-$ROOT/build/it/kafka}
BOOT="127.0.0.1:$PORT"
TOPIC="smoke-$(date +%s)-$$"
TAB=$'\t'

passed=0 failed=0
ok()   { passed=$((passed + 1)); echo "ok   - $1"; }
fail() { failed=$((failed + 1)); echo "FAIL - $1"; }
indent() { sed 's/^/    /'; }
finish() {
    local rc=$?
    "$DEV" stop >/dev/null 2>&1 || true
    echo "kafka-smoke: $passed passed, $failed failed"
    if [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ] && [ "$rc" -eq 0 ]; then exit 0; fi
    exit 1
}
trap finish EXIT

# A live (non-zombie) process? The stopped JVM may linger as a zombie until
# PID 1 reaps it, so look at the process state, not kill -0.
alive() { local st; st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) && [ "$st" != Z ]; }
port_open() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }
broker_pid() { cat "$DIR/kafka.pid" 2>/dev/null || true; }
topic_listed() { kcat -b "$BOOT" -L -m 5 2>/dev/null | grep -q "topic \"$TOPIC\""; }

# 1. start (kafka-dev installs kcat if missing)
if boot=$("$DEV" start | tail -n 1) && [ "$boot" = "$BOOT" ]; then
    ok "start (bootstrap $boot)"
else
    fail "start"        # kafka-dev has printed the reason (and the log tail) on stderr
    exit 1
fi
pid1=$(broker_pid)

# 2. status
if out=$("$DEV" status 2>/dev/null) && [ "$out" = "$BOOT" ]; then
    ok "status reports the broker up"
else
    fail "status (got '${out:-}')"
fi

# 3. produce 3 keyed messages, each with its own headers (one kcat per message,
#    since -H applies to every message of a kcat run). The first one creates
#    the topic (auto.create.topics.enable=true).
expected=""
produce_ok=1
i=0
for rec in "CH-4211${TAB}{\"danger\":3,\"problem\":\"wind slab\"}" \
           "NO-3011${TAB}Triebschnee, überwiegend N" \
           "CH-4211${TAB}{\"danger\":2,\"problem\":\"wet snow\"}"; do
    i=$((i + 1))
    key=${rec%%"$TAB"*}
    if ! printf '%s\n' "$rec" | kcat -P -b "$BOOT" -t "$TOPIC" -K "$TAB" \
            -H "region=$key" -H "seq=$i" -H "source=kafka-smoke" \
            -X message.timeout.ms=30000 2>&1 | indent; then
        produce_ok=0
    fi
    expected+="$rec${TAB}region=$key,seq=$i,source=kafka-smoke"$'\n'
done
if [ "$produce_ok" = 1 ]; then ok "produce 3 keyed messages with headers to $TOPIC"; else fail "produce"; fi

# 4. consume them back from the beginning (exit after 3 messages or at the end)
got=$(timeout 30 kcat -C -b "$BOOT" -t "$TOPIC" -o beginning -c 3 -e \
          -f "%k${TAB}%s${TAB}%h\n" 2>/dev/null || true)
if [ "$got"$'\n' = "$expected" ]; then
    ok "consume: keys, values and headers match, in order"
else
    fail "consume: mismatch"
    echo "    expected:"; printf '%s' "$expected" | indent
    echo "    got:"; printf '%s\n' "$got" | indent
fi

# 5. the same through a consumer group (JoinGroup/SyncGroup, __consumer_offsets)
got=$(timeout 60 kcat -b "$BOOT" -G "smoke-group-$$" -X auto.offset.reset=earliest \
          -c 3 -f "%k${TAB}%s${TAB}%h\n" "$TOPIC" 2>/dev/null || true)
if [ "$got"$'\n' = "$expected" ]; then
    ok "consumer group reads the same 3 messages"
else
    fail "consumer group: mismatch"
    printf '%s\n' "$got" | indent
fi

# 6. start on a running broker: old JVM replaced, data dir wiped (topic gone)
if boot=$("$DEV" start 2>/dev/null | tail -n 1) && [ "$boot" = "$BOOT" ]; then
    pid2=$(broker_pid)
    if [ -n "$pid1" ] && ! alive "$pid1" && [ -n "$pid2" ] && [ "$pid2" != "$pid1" ] && alive "$pid2"; then
        ok "start on a running broker replaces its JVM (pid $pid1 -> $pid2)"
    else
        fail "restart: pid $pid1 -> ${pid2:-?}"
    fi
    if topic_listed; then fail "restart: $TOPIC survived the wipe"; else ok "restart wipes the data ($TOPIC gone)"; fi
else
    fail "second start"
fi

# 7. stop: the JVM is gone, both ports are closed, the pid file is removed
pid=$(broker_pid)
if "$DEV" stop >/dev/null 2>&1 && [ -n "$pid" ] && ! alive "$pid" &&
        ! port_open "$PORT" && ! port_open "$CPORT" && [ ! -f "$DIR/kafka.pid" ]; then
    ok "stop (pid $pid gone, ports $PORT/$CPORT closed)"
else
    fail "stop (pid ${pid:-?} or a port still there)"
fi

# 8. status on a stopped broker: exit 1, nothing on stdout
if out=$("$DEV" status 2>/dev/null); then
    fail "status after stop exited 0 ('$out')"
elif [ -z "$out" ]; then
    ok "status after stop exits 1"
else
    fail "status after stop printed '$out'"
fi

# 9. stop is idempotent
if "$DEV" stop >/dev/null 2>&1; then ok "second stop exits 0"; else fail "second stop"; fi
