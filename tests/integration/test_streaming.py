"""Streaming mode on a real Apache Kafka broker (scripts/kafka-dev, KRaft,
from the Maven Central jars): produce -> topic -> process (consumer group)
-> SQLite, compared with the embedded pipeline on the same input.

The broker is started here on its own port and data dir and stopped at the
end; if it cannot start, every test fails (nothing is skipped).

Run: python3 tests/integration/test_streaming.py   (AVALANCHE_BIN selects the build)
"""
import datetime as dt
import json
import os
import random
import signal
import subprocess
import sys
import threading
import tempfile
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import synth  # noqa: E402
from harness import (BIN, DETAIL, ROOT, Replay, export, main, query, run,  # noqa: E402
                     tmpdb)

PORT = os.environ.get("AV_KAFKA_TEST_PORT", "19092")
BROKERS = "127.0.0.1:" + PORT
KENV = dict(os.environ, KAFKA_DEV_PORT=PORT,
            KAFKA_DEV_DIR=os.path.join(ROOT, "build", "it", "kafka-test"))
KAFKA_DEV = os.path.join(ROOT, "scripts", "kafka-dev")
FAST = ["-X", "fetch.backoff_ms=50", "-X", "fetch.backoff_max_ms=200", "--no-progress"]
# A killed consumer keeps its partitions until its session times out
# (librdkafka default 45 s); the broker allows 6 s at least.
SESSION = ["-X", "kafka.session.timeout.ms=6000"]
R = None       # replay server with the recorded fixture
SYN = None     # replay server with a synthetic corpus
SYN_ARGS = None


def kafka_dev(cmd):
    p = subprocess.run([KAFKA_DEV, cmd], env=KENV, capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        raise RuntimeError("kafka-dev %s failed:\n%s%s" % (cmd, p.stdout, p.stderr[-3000:]))
    return p.stdout.strip()


def topic():
    return "t-" + uuid.uuid4().hex[:10]


def kcat_messages(t):
    """Every message of topic t as dicts (kcat -J, the independent reader)."""
    p = subprocess.run(["kcat", "-b", BROKERS, "-t", t, "-C", "-e", "-J", "-q"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return [json.loads(line) for line in p.stdout.splitlines() if line.strip()]


def headers(m):
    h = m.get("headers") or []
    return dict(zip(h[0::2], h[1::2]))


def produce(t, base, *args, check=0):
    return run("produce", "--db", tmpdb("state.db"), "--brokers", BROKERS, "--topic", t,
               "--api-base", base, *args, *FAST, check=check, timeout=300)


def process(db, t, group=None, *extra, check=0):
    return run("process", "--db", db, "--brokers", BROKERS, "--topic", t, "--group",
               group or ("g-" + t), "--until-idle", *SESSION, *extra, check=check,
               timeout=300)


FIXTURE_RANGE = ["--region", "3022", "--lang", "2", "--from", "2023-03-01", "--to", "2023-03-05"]


def test_fixture_through_kafka_equals_embedded_run():
    t = topic()
    state = tmpdb("state.db")
    p = run("produce", "--db", state, "--brokers", BROKERS, "--topic", t, "--api-base",
            R.base, *FIXTURE_RANGE, *FAST, check=0, timeout=300)
    assert "5 messages" in p.stdout and "5 delivered, 0 not delivered" in p.stdout, p.stdout
    # delivered: the planned days are no longer holes
    assert json.loads(run("status", "--db", state, "--json", check=0).stdout)["holes"] == []
    db = tmpdb()
    p = process(db, t)
    assert "5 messages, 5 warnings stored" in p.stdout, p.stdout
    emb = tmpdb()
    run("run", "--db", emb, "--api-base", R.base, *FIXTURE_RANGE, *FAST, check=0)
    for ds in ("warnings", "problems"):
        for fmt in ("jsonl", "csv"):
            assert export(db, ds, fmt) == export(emb, ds, fmt), (ds, fmt)
    assert query(db, "select count(*) from advice") == query(emb, "select count(*) from advice")
    assert query(db, "select * from mountain_weather order by valid_date") == \
        query(emb, "select * from mountain_weather order by valid_date")


def test_kcat_reads_keys_values_and_headers():
    t = topic()
    produce(t, R.base, *FIXTURE_RANGE)
    msgs = kcat_messages(t)
    assert len(msgs) == 5
    with open(DETAIL, encoding="utf-8") as f:
        recorded = json.load(f)
    by_date = {json.loads(m["payload"])["ValidFrom"][:10]: m for m in msgs}
    for w in recorded:
        m = by_date[w["ValidFrom"][:10]]
        assert m["key"] == "3022"
        # the value is the warning object exactly as served
        assert m["payload"] == json.dumps(w, ensure_ascii=False, separators=(",", ":"))
        h = headers(m)
        assert h["source"] == "varsom" and h["endpoint"] == "detail" and h["lang"] == "2"
        assert h["api_version"] == "6.3.0" and h["region_id"] == "3022"
        assert h["url"].endswith("/AvalancheWarningByRegion/Detail/3022/2/2023-03-01/2023-03-05")
        assert h["fetched_at"].endswith("Z") and h["from_date"] == "2023-03-01"


def test_malformed_messages_go_to_the_dead_letter_topic():
    t, dlq = topic(), topic()
    produce(t, R.base, *FIXTURE_RANGE, "-X", "stream.dlq_topic=" + dlq)
    with open(DETAIL, encoding="utf-8") as f:
        bad = dict(json.load(f)[0], DangerLevel="9")  # SYNTHETIC defect
        good = json.load(open(DETAIL, encoding="utf-8"))[1]
    for key, value, more in (("3022", "this is not json", []),
                             ("3022", json.dumps(bad, separators=(",", ":")), []),
                             # a real 3022 warning in a message for region 3023
                             ("3023", json.dumps(good), ["-H", "from_date=2023-03-01",
                                                         "-H", "to_date=2023-03-05"])):
        p = subprocess.run(["kcat", "-b", BROKERS, "-t", t, "-P", "-k", key, "-H", "lang=2",
                            *more], input=value, text=True, capture_output=True, timeout=30)
        assert p.returncode == 0, p.stderr
    db = tmpdb()
    p = process(db, t, None, "-X", "stream.dlq_topic=" + dlq)
    assert "8 messages, 5 warnings stored" in p.stdout and "(3 to " + dlq in p.stdout, p.stdout
    dead = kcat_messages(dlq)
    assert len(dead) == 3
    reasons = sorted(headers(m)["reason"] for m in dead)
    assert "invalid JSON" in reasons[1] and "outside 0-5" in reasons[2], reasons
    assert "RegionId 3022 in the answer to a request for region 3023" in reasons[0], reasons
    assert sorted(headers(m)["stage"] for m in dead) == ["parse", "transform", "validate"]
    assert {m["payload"] for m in dead} >= {"this is not json"}
    assert sorted(m["key"] for m in dead) == ["3022", "3022", "3023"]
    assert all(headers(m)["lang"] == "2" for m in dead)
    assert query(db, "select count(*) from warning")[0][0] == 5
    assert query(db, "select count(*) from rejected")[0][0] == 3


def synthetic_setup():
    global SYN, SYN_ARGS
    if SYN is None:
        data = tempfile.mkdtemp(prefix="av-synth-")
        regions = sorted(synth.REGIONS)[:12]
        synth.write_jsonl(os.path.join(data, "synthetic_stream.jsonl"), regions,
                          dt.date(2023, 1, 1), 40, langs=(1,))
        SYN = Replay(data)
        SYN_ARGS = ["--region", ",".join(map(str, regions)), "--lang", "1", "--from",
                    "2023-01-01", "--to", "2023-02-09", "--chunk-days", "10"]
    return SYN


def embedded_export():
    db = tmpdb()
    run("run", "--db", db, "--api-base", SYN.base, *SYN_ARGS, *FAST, check=0)
    return export(db), export(db, "problems")


def test_process_killed_midstream_loses_nothing_doubles_nothing():
    # its own, larger SYNTHETIC corpus, so the kill lands mid-stream
    data = tempfile.mkdtemp(prefix="av-synth-")
    regions = sorted(synth.REGIONS)
    synth.write_jsonl(os.path.join(data, "synthetic_kill.jsonl"), regions, dt.date(2023, 1, 1),
                      60, langs=(1, 2))
    total = len(regions) * 60 * 2
    srv = Replay(data)
    try:
        args = ["--region", ",".join(map(str, regions)), "--lang", "both", "--from",
                "2023-01-01", "--to", "2023-03-01"]
        t = topic()
        produce(t, srv.base, *args)
        db = tmpdb()
        cmd = [BIN, "process", "--db", db, "--brokers", BROKERS, "--topic", t, "--group",
               "g-" + t, "-X", "stream.batch=5", *SESSION]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 60
        n = 0
        try:
            while time.time() < deadline:
                try:
                    n = query(db, "select count(*) from warning")[0][0]
                except Exception:
                    n = 0
                if n >= 20:
                    break
                time.sleep(0.005)
            proc.send_signal(signal.SIGKILL)
        finally:
            proc.kill()
            proc.wait()
        n = query(db, "select count(*) from warning")[0][0]
        assert 0 < n < total, n
        p = process(db, t)
        assert query(db, "select count(*) from warning")[0][0] == total
        emb = tmpdb()
        run("run", "--db", emb, "--api-base", srv.base, *args, *FAST, check=0)
        assert (export(db), export(db, "problems")) == (export(emb), export(emb, "problems"))
        assert query(db, "select status from run order by id") == [("interrupted",), ("ok",)]
        assert "messages" in p.stdout
    finally:
        srv.stop()


def test_process_killed_at_20_random_points_loses_and_doubles_nothing():
    srv = synthetic_setup()
    t = topic()
    produce(t, srv.base, *SYN_ARGS)
    want = embedded_export()
    short = ["-X", "kafka.session.timeout.ms=1500", "-X", "kafka.heartbeat.interval.ms=300",
             "-X", "stream.batch=10"]
    seed = int(os.environ.get("CRASH_SEED", str(int(time.time()))))
    rng = random.Random(seed)
    clean = tmpdb()
    t0 = time.time()
    process(clean, t, "g-clean-" + t, *short)
    took = time.time() - t0
    assert (export(clean), export(clean, "problems")) == want
    landed, tries, deadline = 0, 0, time.time() + 600
    while landed < int(os.environ.get("CRASH_POINTS", "20")):
        assert time.time() < deadline, (landed, tries, seed)
        tries += 1
        db, group = tmpdb(), "g-%d-%s" % (tries, t)
        proc = subprocess.Popen([BIN, "process", "--db", db, "--brokers", BROKERS, "--topic", t,
                                 "--group", group, "--until-idle", *short],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0, took))
        alive = proc.poll() is None
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if not alive:
            continue  # it had finished: not a crash point
        landed += 1
        if os.path.exists(db):
            assert query(db, "pragma integrity_check") == [("ok",)], (landed, seed)
        process(db, t, group, *short)  # the same group: resumes from its commits
        assert (export(db), export(db, "problems")) == want, (landed, seed)
        assert query(db, "select count(*) from warning")[0][0] == 480
        assert query(db, "pragma integrity_check") == [("ok",)]
    print("      process: %d kills landed in %d tries (clean %.2f s, seed %d)" %
          (landed, tries, took, seed), flush=True)


def test_two_processes_share_the_partitions():
    srv = synthetic_setup()
    t = topic()
    db = tmpdb()
    group = "g-" + t
    # Both members join first (they create the 4-partition topic), then the
    # data arrives; SIGTERM ends them cleanly once everything is stored.
    procs = [subprocess.Popen([BIN, "process", "--db", db, "--brokers", BROKERS, "--topic", t,
                               "--group", group, "-X", "stream.batch=20", "-X",
                               "stream.partitions=4", *SESSION],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    errs = [[] for _ in procs]  # their stderr lines, read as they come
    readers = [threading.Thread(target=lambda p=p, e=e: e.extend(iter(p.stderr.readline, "")),
                                daemon=True) for p, e in zip(procs, errs)]
    for r in readers:
        r.start()
    try:
        # both members hold partitions before the data arrives (the group says so)
        deadline = time.time() + 60
        while not all(any("kafka: assigned partitions [" in x and "[]" not in x for x in e)
                      for e in errs):
            assert time.time() < deadline and all(p.poll() is None for p in procs), errs
            time.sleep(0.05)
        produce(t, srv.base, *SYN_ARGS)
        deadline = time.time() + 120
        while time.time() < deadline:
            if query(db, "select count(*) from warning")[0][0] == 480:
                break
            time.sleep(0.2)
        for p in procs:
            p.send_signal(signal.SIGTERM)
        outs = [(p.stdout.read(), p.wait(timeout=60)) for p in procs]
        for r in readers:
            r.join(timeout=10)
        outs = [(o, "".join(e)) for (o, _), e in zip(outs, errs)]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    assert [p.returncode for p in procs] == [0, 0], outs
    counts = [int(o[0].split("process: ")[1].split(" messages")[0]) for o in outs]
    assert sum(counts) >= 480 and all(c > 0 for c in counts), counts
    assert query(db, "select count(*) from warning")[0][0] == 480
    assert (export(db), export(db, "problems")) == embedded_export()
    # the group's lag is zero on every partition
    s = json.loads(run("status", "--db", db, "--json", "--brokers", BROKERS, "--topic", t,
                       "--group", group, check=0).stdout)
    assert len(s["kafka"]["partitions"]) == 4, s
    assert all(p["lag"] == 0 for p in s["kafka"]["partitions"]), s
    # and the daemon's /metrics shows the same lag
    srv2 = subprocess.Popen([BIN, "serve", "--db", db, "--brokers", BROKERS, "--topic", t,
                             "--group", group, "--listen", "127.0.0.1:0", "--api-base",
                             "http://127.0.0.1:9/none", "-X", "fetch.retries=0", "-q"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        base = srv2.stdout.readline().split()[-1]
        import urllib.request
        # the lag is computed in the background: poll until the first value
        deadline = time.time() + 30
        while True:
            with urllib.request.urlopen(base + "metrics", timeout=5) as r:
                m = r.read().decode()
            if "\navalanche_kafka_up 1\n" in m or time.time() > deadline:
                break
            time.sleep(0.1)
        lines = [x for x in m.splitlines() if x.startswith("avalanche_kafka_consumer_lag{")]
        assert len(lines) == 4 and all(x.endswith(" 0") for x in lines), m
        assert "\navalanche_kafka_up 1\n" in m
    finally:
        srv2.send_signal(signal.SIGTERM)
        srv2.wait(timeout=60)


def test_broker_restart_while_producing_delivers_every_message_once():
    srv = synthetic_setup()
    t = topic()
    srv.reset()
    srv.faults([{"delay_ms": 150, "times": -1}])  # make produce take a few seconds
    try:
        proc = subprocess.Popen([BIN, "produce", "--db", tmpdb("state.db"), "--brokers", BROKERS,
                                 "--topic", t, "--api-base", srv.base, *SYN_ARGS,
                                 "--concurrency", "1", *FAST],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # restart once part of the plan was answered, with part still to come
        deadline = time.time() + 60
        while sum(1 for e in srv.log() if e["status"] == 200) < 3:
            assert time.time() < deadline and proc.poll() is None, "produce ended early"
            time.sleep(0.05)
        answered = len(srv.log())
        assert proc.poll() is None and answered < 48, answered
        kafka_dev("restart")
        out, err = proc.communicate(timeout=300)
        assert len(srv.log()) == 48 > answered  # it went on producing after the restart
    finally:
        srv.faults([])
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, (out, err)
    assert "480 delivered, 0 not delivered" in out, out
    msgs = kcat_messages(t)
    assert len(msgs) == 480, len(msgs)  # idempotent producer: no duplicates
    keys = {(m["key"], json.loads(m["payload"])["ValidFrom"]) for m in msgs}
    assert len(keys) == 480
    db = tmpdb()
    process(db, t)
    assert (export(db), export(db, "problems")) == embedded_export()


def test_no_broker_is_a_clear_error():
    p = run("produce", "--db", tmpdb(), "--brokers", "127.0.0.1:1", "--topic", "x",
            "-X", "stream.timeout_ms=2000", "--region", "3022", check=1)
    assert "brokers" in p.stderr, p.stderr
    p = run("process", "--db", tmpdb(), check=2)
    assert "--brokers" in p.stderr, p.stderr
    # kafka.* cannot switch off what commit-after-store and exactly-once rest on
    for cmd, kv, why in (("process", "enable.auto.commit=true", "only after the records"),
                         ("process", "group.id=other", "use --group"),
                         ("produce", "enable.idempotence=false", "once across broker"),
                         ("produce", "acks=1", "every in-sync replica"),
                         ("produce", "bootstrap.servers=x:1", "use --brokers")):
        p = run(cmd, "--db", tmpdb(), "--brokers", BROKERS, "--region", "3022",
                "-X", "kafka." + kv, check=2)
        assert ("kafka.%s is refused" % kv.replace("=", " = ")) in p.stderr and why in p.stderr, \
            p.stderr
    # the same keys with the values we set anyway are fine
    p = run("process", "--db", tmpdb(), "--brokers", BROKERS, "--topic", topic(),
            "--until-idle", "-X", "kafka.enable.auto.commit=false", *SESSION, check=0)


TESTS = [v for k, v in list(globals().items()) if k.startswith("test_")]

if __name__ == "__main__":
    try:
        print("kafka: " + kafka_dev("start"), flush=True)
    except Exception as e:  # no broker: the whole part fails, loudly
        print("kafka broker did not start: %s" % e)
        print("streaming: 0 passed, %d failed" % len(TESTS))
        sys.exit(1)
    R = Replay(DETAIL)
    try:
        rc = main("streaming", TESTS)
    finally:
        R.stop()
        if SYN:
            SYN.stop()
        kafka_dev("stop")
    sys.exit(rc)
