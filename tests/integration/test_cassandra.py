"""The Cassandra sink on a real Apache Cassandra 5.0 node (scripts/cassandra-dev,
PasswordAuthenticator, from the Maven Central jars), through our own CQL v4
client; Debian's python3-cassandra driver reads the tables back as an
independent oracle. The streaming test also starts a Kafka broker.

Both servers are started here and stopped at the end; if one cannot start,
every test fails (nothing is skipped).
"""
import datetime as dt
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import synth  # noqa: E402
from harness import BIN, DETAIL, ROOT, Replay, export, main, query, run, tmpdb  # noqa: E402

# ports and data dirs: overridable, so two checkouts can test side by side
CPORT = os.environ.get("AV_CASSANDRA_TEST_PORT", "19042")
CENV = dict(os.environ, CASSANDRA_DEV_PORT=CPORT,
            CASSANDRA_DEV_STORAGE_PORT=os.environ.get("AV_CASSANDRA_TEST_STORAGE_PORT", "17000"),
            CASSANDRA_DEV_DIR=os.environ.get("AV_CASSANDRA_TEST_DIR",
                                             os.path.join(ROOT, "build", "it", "cass-test")))
KPORT = os.environ.get("AV_KAFKA_TEST_PORT2", "19292")
KENV = dict(os.environ, KAFKA_DEV_PORT=KPORT,
            KAFKA_DEV_DIR=os.environ.get("AV_KAFKA_TEST_DIR2",
                                         os.path.join(ROOT, "build", "it", "kafka-test2")))
HOSTS = "127.0.0.1:" + CPORT
BROKERS = "127.0.0.1:" + KPORT
AUTH = {"AVALANCHE_CASSANDRA_USER": "cassandra", "AVALANCHE_CASSANDRA_PASSWORD": "cassandra"}
FAST = ["-X", "fetch.backoff_ms=50", "-X", "fetch.backoff_max_ms=200", "--no-progress"]
RANGE = ["--region", "3022", "--lang", "2", "--from", "2023-03-01", "--to", "2023-03-05"]
ONE = ["-X", "cassandra.write_consistency=one", "-X", "cassandra.read_consistency=one"]
R = None


def dev(script, cmd, env):
    p = subprocess.run([os.path.join(ROOT, "scripts", script), cmd], env=env,
                       capture_output=True, text=True, timeout=400)
    if p.returncode != 0:
        raise RuntimeError("%s %s failed:\n%s%s" % (script, cmd, p.stdout, p.stderr[-3000:]))
    return p.stdout.strip()


def keyspace():
    return "ks_" + uuid.uuid4().hex[:10]


def cass(*args, ks, check=0, env=None, timeout=300):
    e = dict(AUTH)
    if env:
        e.update(env)
    return run(*args, "--sink", "cassandra", "--cassandra-hosts", HOSTS, "--keyspace", ks,
               *ONE, env=e, check=check, timeout=timeout)


def oracle(cql):
    """Rows from Debian's python3-cassandra (the independent client)."""
    code = (
        "import json, sys, datetime\n"
        "from cassandra.cluster import Cluster\n"
        "from cassandra.auth import PlainTextAuthProvider\n"
        "c = Cluster(['127.0.0.1'], port=%s, protocol_version=4,\n"
        "            auth_provider=PlainTextAuthProvider('cassandra', 'cassandra'))\n"
        "s = c.connect()\n"
        "def j(v):\n"
        "    if isinstance(v, datetime.datetime): return v.isoformat()\n"
        "    if v.__class__.__name__ == 'Date': return str(v)\n"
        "    if isinstance(v, (list, tuple)): return [j(x) for x in v]\n"
        "    return v\n"
        "rows = [{k: j(v) for k, v in r._asdict().items()} for r in s.execute(sys.argv[1])]\n"
        "print(json.dumps(rows))\n"
        "c.shutdown()\n" % CPORT)
    p = subprocess.run(["/usr/bin/python3", "-c", code, cql], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, p.stderr[-2000:]
    return json.loads(p.stdout)


def embedded():
    db = tmpdb()
    run("run", "--db", db, "--api-base", R.base, *RANGE, *FAST, check=0)
    return db


def test_fixture_into_cassandra_exports_like_sqlite():
    ks = keyspace()
    db = tmpdb()
    p = cass("run", "--db", db, "--api-base", R.base, *RANGE, *FAST, ks=ks)
    assert "5 warnings stored" in p.stdout, p.stdout + p.stderr
    cass("run", "--db", db, "--api-base", R.base, *RANGE, *FAST, ks=ks)  # schema again: fine
    emb = embedded()
    for ds in ("warnings", "problems"):
        for fmt in ("jsonl", "csv"):
            got = cass("export", ds, "--db", db, "--format", fmt, ks=ks).stdout
            assert got == export(emb, ds, fmt), (ds, fmt, got[:300])


def test_reprocess_into_cassandra_from_stored_raw():
    ks = keyspace()
    db = tmpdb()
    run("run", "--db", db, "--api-base", R.base, *RANGE, *FAST, check=0)  # SQLite first
    local = export(db)
    p = cass("reprocess", "--db", db, ks=ks)
    assert "5 warnings stored" in p.stdout, p.stdout + p.stderr
    assert cass("export", "warnings", "--db", db, ks=ks).stdout == local
    assert export(db) == local  # the local clean tables are left alone


def test_independent_client_reads_what_we_wrote():
    ks = keyspace()
    cass("run", "--db", tmpdb(), "--api-base", R.base, *RANGE, *FAST, ks=ks)
    rows = oracle("SELECT * FROM %s.warnings_by_region WHERE region_id = 3022" % ks)
    assert [r["valid_date"] for r in rows] == ["2023-03-0%d" % d for d in (5, 4, 3, 2, 1)]
    with open(DETAIL, encoding="utf-8") as f:
        rec = {w["ValidFrom"][:10]: w for w in json.load(f)}
    for r in rows:
        w = rec[r["valid_date"]]
        assert r["reg_id"] == w["RegId"] and r["lang"] == 2
        assert r["danger_level"] == int(w["DangerLevel"])
        assert r["region_name"] == w["RegionName"] and r["region_type"] == "A"
        assert r["main_text"] == w["MainText"].strip()
        assert r["emergency_warning"] == w["EmergencyWarning"]
        assert r["utm_east"] == w["UtmEast"] and r["endpoint"] == "detail"
    two = [r for r in rows if r["valid_date"] == "2023-03-02"][0]
    assert two["publish_time"].startswith("2023-03-02T08:11:14.200"), two["publish_time"]
    assert two["valid_from"].startswith("2023-03-01T23:00:00"), two["valid_from"]
    by_date = oracle("SELECT region_id, lang, danger_level FROM %s.warnings_by_date "
                     "WHERE valid_date = '2023-03-03'" % ks)
    assert by_date == [{"region_id": 3022, "lang": 2, "danger_level": 3}]
    probs = oracle("SELECT * FROM %s.problems_by_region WHERE region_id = 3022 AND "
                   "valid_date = '2023-03-02' AND lang = 2" % ks)
    assert [p["problem_id"] for p in probs] == [1, 2]
    assert probs[0]["aspects"] == ["NE", "E", "SE", "S"] and probs[0]["aspects_raw"] == "01111000"
    assert probs[0]["problem_type_id"] == 10 and probs[0]["cause_id"] == 10
    assert probs[0]["exposed_height_1"] == 1000 and probs[0]["exposed_min_m"] == 1000
    assert probs[0]["trigger_sensitivity_name"] == "Easy to trigger"


def test_latest_publication_wins_in_cassandra():
    ks = keyspace()
    db = tmpdb()
    cass("run", "--db", db, "--api-base", R.base, *RANGE, *FAST, ks=ks)
    with open(DETAIL, encoding="utf-8") as f:
        els = json.load(f)
    before = cass("export", "warnings", "--db", db, ks=ks).stdout
    # SYNTHETIC older version of 2023-03-02: must not win
    old = dict(els[1], PublishTime="2023-03-01T15:30:00", MainText="OLDER", DangerLevel="4")
    R.faults([{"match": "/Detail/3022/2/", "body": json.dumps([old])}])
    cass("run", "--db", db, "--api-base", R.base, *RANGE, *FAST, ks=ks)
    assert cass("export", "warnings", "--db", db, ks=ks).stdout == before
    # newer version with one problem fewer: replaces, the old problem 2 is gone
    newer = dict(els[1], PublishTime="2023-03-02T18:00:00", MainText="NEWER",
                 AvalancheProblems=els[1]["AvalancheProblems"][:1])
    R.faults([{"match": "/Detail/3022/2/", "body": json.dumps([newer])}])
    cass("run", "--db", db, "--api-base", R.base, *RANGE, *FAST, ks=ks)
    rows = {r["valid_date"]: r for r in map(json.loads, cass(
        "export", "warnings", "--db", db, ks=ks).stdout.splitlines())}
    assert rows["2023-03-02"]["main_text"] == "NEWER"
    assert len(rows["2023-03-02"]["problems"]) == 1
    # the same publication from the Simple endpoint does not replace Detail
    R.faults([])
    cass("run", "--db", db, "--api-base", R.base, "--endpoint", "simple", "--region", "3011",
         "--lang", "1", "--from", "2026-03-01", "--to", "2026-03-03", *FAST, ks=ks)
    assert len(cass("export", "warnings", "--db", db, ks=ks).stdout.splitlines()) == 8


def test_missing_publish_time_is_the_oldest_like_sqlite():
    """A publication without PublishTime loses to any with one, in either
    order of arrival, as in SQLite (it used to be written with ValidFrom's
    time in Cassandra, which beat a real publication from the day before)."""
    with open(DETAIL, encoding="utf-8") as f:
        els = json.load(f)
    # SYNTHETIC: the 2023-03-02 warning published the afternoon before
    # (PublishTime < ValidFrom) and a copy of it without PublishTime
    real = dict(els[1], PublishTime="2023-03-01T15:30:00", MainText="REAL")
    none = {k: v for k, v in els[1].items() if k != "PublishTime"}
    none["MainText"] = "NO PUBLISHTIME"
    for order in ((real, none), (none, real)):
        ks, db, emb = keyspace(), tmpdb(), tmpdb()
        for body in order:  # a fault answers one request: set it for each run
            R.faults([{"match": "/Detail/3022/2/", "body": json.dumps([body])}])
            cass("run", "--db", db, "--api-base", R.base, *RANGE, *FAST, ks=ks)
            R.faults([{"match": "/Detail/3022/2/", "body": json.dumps([body])}])
            run("run", "--db", emb, "--api-base", R.base, *RANGE, *FAST, check=0)
        R.faults([])
        got, want = cass("export", "warnings", "--db", db, ks=ks).stdout, export(emb)
        diff = [(a, b) for a, b in zip(got.splitlines(), want.splitlines()) if a != b]
        assert got == want, (order[0]["MainText"], len(got), len(want), diff[:1])
        rows = [json.loads(r) for r in got.splitlines()]
        assert [r["main_text"] for r in rows if r["valid_date"] == "2023-03-02"] == ["REAL"]


def test_many_writes_in_flight_store_every_warning_once():
    """Hundreds of warnings in flight at once through a small window
    (max_inflight 16: the window's backpressure is exercised) and two
    connections: every warning stored once, as SQLite stores them."""
    data = tempfile.mkdtemp(prefix="av-synth-")
    regions = sorted(synth.REGIONS)[:6]
    synth.write_jsonl(os.path.join(data, "synthetic_inflight.jsonl"), regions,
                      dt.date(2023, 1, 1), 30, langs=(1, 2))
    srv = Replay(data)
    try:
        args = ["--region", ",".join(map(str, regions)), "--lang", "both", "--from",
                "2023-01-01", "--to", "2023-01-30"]
        emb, db, ks = tmpdb(), tmpdb(), keyspace()
        run("run", "--db", emb, "--api-base", srv.base, *args, *FAST, check=0, timeout=300)
        p = cass("run", "--db", db, "--api-base", srv.base, *args, *FAST, "-X",
                 "cassandra.max_inflight=16", "-X", "cassandra.connections_per_host=2", ks=ks,
                 timeout=300)
        assert "360 warnings stored" in p.stdout, p.stdout + p.stderr[-2000:]
        assert cass("export", "warnings", "--db", db, ks=ks).stdout == export(emb)
        assert cass("export", "problems", "--db", db, ks=ks).stdout == export(emb, "problems")
    finally:
        srv.stop()


def test_long_texts_read_back_whole():
    """A 1.5 MB MainText (SYNTHETIC) goes in and comes back whole, as from
    SQLite: the read path pages and copies strings into growing pools, never
    a fixed buffer that would turn a long text into a null."""
    with open(DETAIL, encoding="utf-8") as f:
        els = json.load(f)
    text = ("Lang tekst om snø og skred. " * 60000)[:1500000]
    body = json.dumps([dict(els[1], MainText=text)])
    ks, db, emb = keyspace(), tmpdb(), tmpdb()
    R.faults([{"match": "/Detail/3022/2/", "body": body}])
    cass("run", "--db", db, "--api-base", R.base, *RANGE, *FAST, ks=ks)
    R.faults([{"match": "/Detail/3022/2/", "body": body}])
    run("run", "--db", emb, "--api-base", R.base, *RANGE, *FAST, check=0)
    R.faults([])
    got = cass("export", "warnings", "--db", db, ks=ks).stdout
    rows = [json.loads(r) for r in got.splitlines()]
    assert [len(r["main_text"]) for r in rows] == [len(text.strip())], [
        len(r["main_text"] or "") for r in rows]
    assert got == export(emb)


def test_wrong_password_is_a_clear_error():
    p = cass("run", "--db", tmpdb(), "--api-base", R.base, *RANGE, *FAST, ks=keyspace(),
             env={"AVALANCHE_CASSANDRA_PASSWORD": "wrong"}, check=1)
    assert "cassandra" in p.stderr and ("credentials" in p.stderr.lower() or
                                        "authentication" in p.stderr.lower()), p.stderr


def test_sigterm_ends_the_retries_promptly():
    env = dict(os.environ, **AUTH)
    log = tempfile.NamedTemporaryFile("w+", prefix="av-term-", suffix=".log")
    proc = subprocess.Popen([BIN, "process", "--db", tmpdb(), "--brokers", BROKERS, "--topic",
                             kafka_topic(), "--sink", "cassandra", "--cassandra-hosts",
                             "127.0.0.1:1", "-X", "cassandra.retries=1000"],
                            stdout=subprocess.PIPE, stderr=log, text=True, env=env)
    deadline = time.time() + 30
    while "retrying" not in open(log.name).read():  # it is in its retry loop
        assert time.time() < deadline and proc.poll() is None, open(log.name).read()
        time.sleep(0.05)
    t = time.time()
    proc.send_signal(signal.SIGTERM)
    try:
        out, _ = proc.communicate(timeout=20)
        err = open(log.name).read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert time.time() - t < 10, "took %.1f s" % (time.time() - t)
    assert proc.returncode != 0 and "cassandra" in err and "retrying" in err, err[-1500:]


def kafka_topic():
    return "c-" + uuid.uuid4().hex[:10]


def test_fixtures_through_kafka_into_cassandra():
    ks, t = keyspace(), kafka_topic()
    run("produce", "--db", tmpdb(), "--brokers", BROKERS, "--topic", t, "--api-base", R.base,
        *RANGE, *FAST, check=0)
    db = tmpdb()
    p = cass("process", "--db", db, "--brokers", BROKERS, "--topic", t, "--group", "g" + t,
             "--until-idle", ks=ks)
    assert "5 warnings stored" in p.stdout, p.stdout + p.stderr
    emb = embedded()
    assert cass("export", "warnings", "--db", db, ks=ks).stdout == export(emb)
    assert cass("export", "problems", "--db", db, "--format", "csv", ks=ks).stdout == \
        export(emb, "problems", "csv")


def lag(t, group):
    db = tmpdb()
    open(db, "w").close()  # status reads an existing database (an empty one here)
    p = run("status", "--db", db, "--json", "--brokers", BROKERS, "--topic", t, "--group",
            group, check=0)
    return json.loads(p.stdout)["kafka"]["lag"]


def test_node_restart_during_process_loses_nothing():
    data = tempfile.mkdtemp(prefix="av-synth-")
    regions = sorted(synth.REGIONS)
    synth.write_jsonl(os.path.join(data, "synthetic_cass.jsonl"), regions, dt.date(2023, 1, 1),
                      60, langs=(1, 2))
    srv = Replay(data)
    try:
        args = ["--region", ",".join(map(str, regions)), "--lang", "both", "--from",
                "2023-01-01", "--to", "2023-03-01"]
        ks, t = keyspace(), kafka_topic()
        group = "g" + t
        run("produce", "--db", tmpdb(), "--brokers", BROKERS, "--topic", t, "--api-base",
            srv.base, *args, *FAST, check=0, timeout=300)
        total = lag(t, group)
        assert total == len(regions) * 2 * 60, total
        emb = tmpdb()
        run("run", "--db", emb, "--api-base", srv.base, *args, *FAST, check=0, timeout=300)
        db = tmpdb()
        env = dict(os.environ, **AUTH)
        proc = subprocess.Popen([BIN, "process", "--db", db, "--brokers", BROKERS, "--topic", t,
                                 "--group", group, "--until-idle", "-X", "stream.batch=20",
                                 "--sink", "cassandra", "--cassandra-hosts", HOSTS,
                                 "--keyspace", ks, *ONE, "-X", "cassandra.retries=100"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        try:
            # restart the node once part of the topic is stored (mid-stream)
            deadline = time.time() + 120
            while time.time() < deadline and lag(t, group) > total - 200:
                time.sleep(0.1)
            left = lag(t, group)
            dev("cassandra-dev", "restart", CENV)
            out, err = proc.communicate(timeout=400)
        finally:
            if proc.poll() is None:  # never leave a consumer behind
                proc.kill()
                proc.wait()
        assert proc.returncode == 0, (out, err[-3000:])
        assert 0 < left < total, (left, total)
        assert "retrying" in err, (left, err[-2000:])
        got = cass("export", "warnings", "--db", db, ks=ks).stdout
        assert got == export(emb), (len(got.splitlines()), len(export(emb).splitlines()))
        assert cass("export", "problems", "--db", db, ks=ks).stdout == export(emb, "problems")
    finally:
        srv.stop()


def _synthetic_topic(regions, days, first=dt.date(2023, 1, 1)):
    """A replay server of SYNTHETIC warnings, a topic holding them and the
    embedded (SQLite) database of the same: (srv, topic, emb, total)."""
    data = tempfile.mkdtemp(prefix="av-synth-")
    synth.write_jsonl(os.path.join(data, "synthetic_batches.jsonl"), regions, first, days,
                      langs=(1, 2))
    srv = Replay(data)
    last = first + dt.timedelta(days=days - 1)
    args = ["--region", ",".join(map(str, regions)), "--lang", "both", "--from",
            first.isoformat(), "--to", last.isoformat()]
    t = kafka_topic()
    run("produce", "--db", tmpdb(), "--brokers", BROKERS, "--topic", t, "--api-base",
        srv.base, *args, *FAST, check=0, timeout=300)
    emb = tmpdb()
    run("run", "--db", emb, "--api-base", srv.base, *args, *FAST, check=0, timeout=300)
    return srv, t, emb, len(regions) * 2 * days


def _same_as_embedded(db, ks, emb):
    """The clean tables as SQLite's, and the history but for first_seen
    (the embedded database fetched at another time)."""
    for v in (("warnings", "jsonl"), ("problems", "csv")):
        ds, fmt, *extra = v
        got = cass("export", ds, "--db", db, "--format", fmt, *extra, ks=ks).stdout
        want = export(emb, ds, fmt, *extra)
        assert got == want, (v, len(got.splitlines()), len(want.splitlines()))

    def history(out):
        rows = [json.loads(x) for x in out.splitlines()]
        assert rows and all(r.pop("first_seen") for r in rows)
        return rows
    got = history(cass("export", "warnings", "--db", db, "--history", ks=ks).stdout)
    assert got == history(export(emb, "warnings", "jsonl", "--history")), len(got)


def test_many_warnings_of_one_region_in_one_commit():
    """400 warnings of one region in one transaction (stream.batch 1000):
    the region's writes go out in batches of 50 warnings (one partition
    each: one mutation, so the node checks no batch size and warns about
    none although each is ~400 KB), the 200 dates' rows in batches of their
    own through 64 slots (the least recently used is sent to make room).
    Everything is stored as SQLite stores it."""
    srv, t, emb, total = _synthetic_topic([3022], 200)
    try:
        ks, db = keyspace(), tmpdb()
        p = cass("process", "--db", db, "--brokers", BROKERS, "--topic", t, "--group", "g" + t,
                 "--until-idle", "-X", "stream.batch=1000", "-X", "cassandra.batch_warnings=50",
                 ks=ks, timeout=300)
        assert "%d warnings stored" % total in p.stdout, p.stdout + p.stderr[-2000:]
        assert "server warning" not in p.stderr, p.stderr[-2000:]  # e.g. "Batch ... exceeds"
        _same_as_embedded(db, ks, emb)
    finally:
        srv.stop()


def test_two_publications_of_one_key_in_one_batch_in_either_order():
    """Two publications of one warning in one response: one transaction, so
    both go into the same batch of their region (and of their date). The
    write timestamps decide, in either order: the newer's row and its two
    problems win; the older's delete of its problems (at its timestamp - 1)
    cannot remove the newer's, the newer's removes the older's; the
    history keeps both. As SQLite does."""
    with open(DETAIL, encoding="utf-8") as f:
        els = json.load(f)
    assert len(els[1]["AvalancheProblems"]) == 2
    # SYNTHETIC: an older publication of 2023-03-02 with one problem and
    # other texts, and a newer one with both problems
    older = dict(els[1], PublishTime="2023-03-01T15:30:00", MainText="SYNTHETIC OLDER",
                 DangerLevel="4", AvalancheProblems=els[1]["AvalancheProblems"][:1])
    newer = dict(els[1], PublishTime="2023-03-02T18:00:00", MainText="SYNTHETIC NEWER")
    for order in ((older, newer), (newer, older)):
        body = json.dumps([els[0]] + list(order) + els[2:])
        ks, db, emb = keyspace(), tmpdb(), tmpdb()
        R.faults([{"match": "/Detail/3022/2/", "body": body}])
        cass("run", "--db", db, "--api-base", R.base, *RANGE, *FAST, "-X",
             "cassandra.batch_warnings=64", ks=ks)
        R.faults([{"match": "/Detail/3022/2/", "body": body}])
        run("run", "--db", emb, "--api-base", R.base, *RANGE, *FAST, check=0)
        R.faults([])
        _same_as_embedded(db, ks, emb)
        rows = [json.loads(r) for r in cass("export", "warnings", "--db", db, ks=ks).stdout
                .splitlines()]
        two = [r for r in rows if r["valid_date"] == "2023-03-02"]
        assert [r["main_text"] for r in two] == ["SYNTHETIC NEWER"], order[0]["MainText"]
        assert len(two[0]["problems"]) == 2, two[0]["problems"]
        hist = cass("export", "warnings", "--db", db, "--history", ks=ks).stdout
        assert hist.count('"valid_date":"2023-03-02"') == 2, hist[:500]


def test_a_write_failing_mid_stream_loses_nothing_once_reprocessed():
    """The node stops answering (SIGSTOP) while `process` is storing: the
    transaction in progress fails (retries 0, a short request timeout; some
    of its batches may have been applied, others not), process exits with
    an error and its offsets stay behind. Once the node answers again, the
    next `process` re-reads the batch and stores everything exactly once:
    the same as SQLite."""
    regions = sorted(synth.REGIONS)[:8]
    srv, t, emb, total = _synthetic_topic(regions, 60)
    pidfile = os.path.join(CENV["CASSANDRA_DEV_DIR"], "cassandra.pid")
    with open(pidfile) as f:
        jvm = int(f.read().strip())
    stopped = False
    try:
        ks, db, group = keyspace(), tmpdb(), "g" + t
        env = dict(os.environ, **AUTH)
        proc = subprocess.Popen([BIN, "process", "-v", "--db", db, "--brokers", BROKERS,
                                 "--topic", t, "--group", group, "--until-idle", "-X",
                                 "stream.batch=50", "--sink", "cassandra", "--cassandra-hosts",
                                 HOSTS, "--keyspace", ks, *ONE, "-X", "cassandra.retries=0",
                                 "-X", "cassandra.request_timeout_ms=1500",
                                 "-X", "cassandra.batch_warnings=4"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        try:
            # "process: batch of 50 committed (200 so far)": the node stops at
            # once, while the next transaction's batches go out
            head = []
            for line in proc.stderr:
                head.append(line)
                m = re.search(r"committed \((\d+) so far\)", line)
                if m and int(m.group(1)) >= 200:
                    os.kill(jvm, signal.SIGSTOP)
                    stopped = True
                    break
            out, err = proc.communicate(timeout=120)
            err = "".join(head) + err
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            if stopped:
                os.kill(jvm, signal.SIGCONT)
                stopped = False
        assert proc.returncode != 0, (out, err[-2000:])
        assert "no answer within 1500 ms" in err, err[-2000:]
        left = lag(t, group)
        assert 0 < left < total, (left, total)
        p = cass("process", "--db", db, "--brokers", BROKERS, "--topic", t, "--group", group,
                 "--until-idle", "-X", "cassandra.retries=100", ks=ks, timeout=300)
        assert "%d warnings stored" % left in p.stdout, (left, p.stdout + p.stderr[-2000:])
        _same_as_embedded(db, ks, emb)
    finally:
        if stopped:
            os.kill(jvm, signal.SIGCONT)
        srv.stop()


# The tables exactly as avalanche 0.1.0 (3dfe610) created them: history,
# kept to prove that a newer avalanche adds its columns to them.
V01_TABLES = {
    "warnings_by_region": "((region_id), valid_date, lang)) WITH CLUSTERING ORDER BY "
                          "(valid_date DESC, lang ASC)",
    "warnings_by_date": "((valid_date), region_id, lang))",
}
V01_WCOLS = (
    "region_id int, valid_date date, lang tinyint, reg_id bigint, previous_reg_id bigint, "
    "region_name text, region_type text, danger_level tinyint, danger_level_name text, "
    "valid_from timestamp, valid_to timestamp, publish_time timestamp, "
    "next_warning_time timestamp, danger_increase_time timestamp, "
    "danger_decrease_time timestamp, is_tendency boolean, main_text text, "
    "avalanche_danger text, emergency_warning text, snow_surface text, "
    "current_weak_layers text, latest_avalanche_activity text, latest_observations text, "
    "author text, utm_zone int, utm_east int, utm_north int, county_ids text, "
    "municipality_ids text, endpoint text")
V01_PROBLEMS = (
    "CREATE TABLE %s.problems_by_region (region_id int, valid_date date, lang tinyint, "
    "problem_id int, problem_type_id int, problem_type_name text, avalanche_type_id int, "
    "avalanche_type_name text, ext_id int, ext_name text, cause_id int, cause_name text, "
    "probability_id int, probability_name text, trigger_simple_id int, "
    "trigger_simple_name text, trigger_sensitivity_id int, trigger_sensitivity_name text, "
    "destructive_size_id int, destructive_size_name text, propagation_id int, "
    "propagation_name text, aspects_raw text, aspects list<text>, exposed_height_fill int, "
    "exposed_height_1 int, exposed_height_2 int, exposed_min_m int, exposed_max_m int, "
    "exposed_heights text, danger_level int, danger_level_name text, text text, "
    "PRIMARY KEY ((region_id), valid_date, lang, problem_id))")


def test_an_older_keyspace_gets_the_new_columns():
    ks = keyspace()
    oracle("CREATE KEYSPACE %s WITH replication = {'class': 'SimpleStrategy', "
           "'replication_factor': 1}" % ks)
    for t, key in V01_TABLES.items():
        oracle("CREATE TABLE %s.%s (%s, PRIMARY KEY %s" % (ks, t, V01_WCOLS, key))
    oracle(V01_PROBLEMS % ks)
    db = tmpdb()
    p = cass("run", "--db", db, "--api-base", R.base, *RANGE, *FAST, ks=ks)
    assert "5 warnings stored" in p.stdout, p.stdout + p.stderr
    cols = {r["column_name"] for r in oracle(
        "SELECT column_name FROM system_schema.columns WHERE keyspace_name = '%s' AND "
        "table_name = 'warnings_by_date'" % ks)}
    assert {"county_names", "municipality_names", "exposed_height_1", "exposed_height_fill",
            "extreme_weather_id", "extreme_weather_name"} <= cols, cols
    assert "raw_hash" not in cols and "ingested_at" not in cols  # the embedded store's own
    emb = embedded()
    for ds in ("warnings", "problems"):
        assert cass("export", ds, "--db", db, ks=ks).stdout == export(emb, ds)
    rows = oracle("SELECT county_names FROM %s.warnings_by_region WHERE region_id = 3022" % ks)
    assert {r["county_names"] for r in rows} == {"Møre og Romsdal,Innlandet,Trøndelag"}


def test_datasets_the_sink_does_not_keep_are_refused_clearly():
    ks = keyspace()
    db = tmpdb()
    cass("run", "--db", db, "--api-base", R.base, *RANGE, *FAST, ks=ks)
    for ds in ("advices", "mountain_weather"):
        p = cass("export", ds, "--db", db, ks=ks, check=2)
        assert "cassandra sink does not keep " + ds in p.stderr, p.stderr
    p = cass("status", "--db", db, "--json", ks=ks)
    st = json.loads(p.stdout)
    assert st["sink"] == "cassandra" and st["warnings"] is None  # not counted, not 0
    assert st["regions"][0]["warnings"] is None and st["raw_responses"] == 1


def test_serve_reads_through_the_cassandra_sink():
    ks = keyspace()
    db = tmpdb()
    cass("run", "--db", db, "--api-base", R.base, *RANGE, *FAST, ks=ks)
    env = dict(os.environ, AV_FAKE_NOW="2023-03-03T12:00:00Z", **AUTH)
    proc = subprocess.Popen([BIN, "serve", "--db", db, "--listen", "127.0.0.1:0", "--sink",
                             "cassandra", "--cassandra-hosts", HOSTS, "--keyspace", ks, *ONE,
                             "-X", "serve.schedule=03:00", "--region", "3022"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = proc.stdout.readline()
        assert line.startswith("serving on http://127.0.0.1:"), line
        base = line.split()[-1].rstrip("/")
        with urllib.request.urlopen(base + "/api/warnings?region=3022&from=2023-03-01&"
                                    "to=2023-03-05", timeout=60) as r:
            got = json.loads(r.read())
        want = [json.loads(x) for x in export(embedded()).splitlines()]
        assert got == want, (len(got), len(want))
        # paging: the Link header's cursor walks the partition in order
        paged, path, pages = [], "/api/warnings?region=3022&from=2023-03-01&to=2023-03-05&limit=2", 0
        while path:
            with urllib.request.urlopen(base + path, timeout=60) as r:
                paged += json.loads(r.read())
                link = r.headers.get("Link")
            pages += 1
            path = link.split(">")[0].lstrip("<") if link else None
        assert paged == want and pages == 3, (pages, len(paged))
        with urllib.request.urlopen(base + "/region/3022", timeout=60) as r:
            page = r.read().decode()
        assert page.count('<tr data-date="2023-03-0') == 5, page[:2000]
        with urllib.request.urlopen(base + "/metrics", timeout=60) as r:
            m = r.read().decode()
        assert "avalanche_runs_total" in m and "\navalanche_warnings " not in m
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)


# ---------------------------------------------------------------- the weather
# The replay server's Open-Meteo endpoints (SYNTHETIC values), its clock and
# avalanche's (AV_FAKE_NOW) set to the same instant, as in test_weather.py.

WX_NOW = "2023-03-20T12:00:00Z"
LAG = "AVALANCHE_WEATHER_ARCHIVE_LAG_DAYS"


def wx_now(now, delay=5):
    R._call("POST", "/_control/openmeteo", {"now": now, "archive_delay_days": delay,
                                            "snow_depth_delay_days": delay})


def wx(*args, now=WX_NOW, env=None, sources="varsom,weather"):
    """The arguments and environment of a weather run against the replay server."""
    base = "http://127.0.0.1:%d/v1" % R.port
    e = {"AV_FAKE_NOW": now}
    e.update(env or {})
    return (list(args) + ["--api-base", R.base, "-X", "weather.archive_base=" + base,
                          "-X", "weather.forecast_base=" + base, "--sources", sources, *FAST], e)


def both(*args, ks, now=WX_NOW, env=None, timeout=300):
    """The same weather command into a SQLite file and into keyspace ks
    (args hold --db twice: SQLite's and the Cassandra run's state file)."""
    a, e = wx(*args, now=now, env=env)
    sq = run(*[x[0] if isinstance(x, tuple) else x for x in a], env=e, check=0, timeout=timeout)
    ca = cass(*[x[1] if isinstance(x, tuple) else x for x in a], ks=ks, env=e, check=0,
              timeout=timeout)
    return sq, ca


def wx_exports(db, ks, *extra):
    """(SQLite's, Cassandra's) export of each weather dataset and format."""
    out = []
    for ds in ("weather", "weather-hourly"):
        for fmt in ("jsonl", "csv"):
            out.append(((ds, fmt), export(db, ds, fmt, *extra),
                        cass("export", ds, "--db", tmpdb(), "--format", fmt, *extra, ks=ks,
                             check=0).stdout))
    return out


def stored(p):
    """The weather summary line of a run: what it stored."""
    return [x for x in p.stdout.splitlines() if x.startswith("weather:")]


def wx_points(region):
    return json.loads(run("regions", "--points", "--json", "--region", str(region),
                          check=0).stdout)


def test_weather_backfill_into_cassandra_exports_like_sqlite():
    """A backfill with the weather (archive, then forecast from 03-13) of two
    regions: every weather export from Cassandra is byte-identical to
    SQLite's, again after a second run and after a reprocess from the raw
    responses; the independent client sees the write timestamps of the rule."""
    R.reset()
    wx_now(WX_NOW)
    ks, db, cdb = keyspace(), tmpdb(), tmpdb()
    args = ("backfill", "--db", (db, cdb), "--region", "3022,3011", "--lang", "2", "--from",
            "2022-12-20", "--to", "2023-03-22")
    sq, ca = both(*args, ks=ks)
    assert "5 warnings stored" in ca.stdout, ca.stdout + ca.stderr
    assert stored(ca) == stored(sq) and "region-days stored" in stored(ca)[0], (sq.stdout,
                                                                               ca.stdout)
    assert ", 0 failed;" in stored(ca)[0], ca.stdout + ca.stderr
    for what, want, got in wx_exports(db, ks):
        assert got == want and len(want.splitlines()) > 90, (what, got[:300], want[:300])
    assert cass("export", "warnings", "--db", cdb, ks=ks).stdout == export(db)
    days = [json.loads(x) for x in export(db, "weather").splitlines()]
    assert {d["source"] for d in days} == {"archive", "forecast"}, days[:2]
    # the same again: nothing changes
    both(*args, ks=ks)
    for what, want, got in wx_exports(db, ks):
        assert got == want, what
    # rebuilt from SQLite's raw responses into a new keyspace
    ks2 = keyspace()
    p = cass("reprocess", "--db", db, ks=ks2)
    assert "region-days" in p.stdout, p.stdout + p.stderr
    for what, want, got in wx_exports(db, ks2):
        assert got == want, what
    # the oracle: one point-year partition, written at rank << 52 + fetch (us)
    pt = wx_points(3022)[0]
    rows = oracle("SELECT time, source, fetched_at, writetime(source) AS w, "
                  "writetime(temperature_2m) AS wt FROM %s.weather_hourly_by_point WHERE "
                  "region_id = 3022 AND latitude = %r AND longitude = %r AND year = 2023"
                  % (ks, pt["latitude"], pt["longitude"]))
    assert len(rows) == query(db, "select count(*) from weather_hourly where region_id = 3022 "
                                  "and latitude = ? and longitude = ? and time >= '2023'",
                              pt["latitude"], pt["longitude"])[0][0] > 24 * 70, len(rows)
    for r in rows:
        rank = {"archive": 2, "forecast": 1}[r["source"]]
        fetched = dt.datetime.fromisoformat(r["fetched_at"]).replace(tzinfo=dt.timezone.utc)
        assert r["w"] == (rank << 52) + round(fetched.timestamp() * 1000) * 1000, r
        assert r["wt"] == r["w"], r
    pts = oracle("SELECT latitude, longitude, year FROM %s.weather_points_by_region WHERE "
                 "region_id = 3022" % ks)
    assert {(p["latitude"], p["longitude"]) for p in pts} == \
        {(p["latitude"], p["longitude"]) for p in wx_points(3022)}, pts
    assert {p["year"] for p in pts} == {2022, 2023}, pts


def _om_body(endpoint, now, lag):
    """The replay server's body for region 3022's request for 2023-03-01 from
    endpoint (learnt from a throwaway run), as JSON."""
    R.reset()
    wx_now(now)
    a, e = wx("backfill", "--db", tmpdb(), "--region", "3022", "--from", "2023-03-01",
              "--to", "2023-03-01", now=now, env={LAG: lag}, sources="weather")
    run(*a, env=e, check=0)
    path = [x["path"] for x in R.log() if "/v1/" + endpoint in x["path"]]
    assert len(path) == 1, R.log()
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (R.port, path[0]), timeout=30) as r:
        return json.loads(r.read())


def test_weather_rules_on_the_real_node():
    """The sequence of test_openmeteo.c's test_rules at one point and hour,
    through the CLI (fetched_at = each run's clock; the bodies are the
    server's with that hour's values replaced): archive over forecast in
    both orders of arrival, the later fetch within a source, a null never
    over a value. SQLite does the same; their exports agree but in one case
    (step 4, see below)."""
    d0 = dt.datetime(2023, 3, 10, tzinfo=dt.timezone.utc)

    def at(minutes):
        return (d0 + dt.timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")

    # a day the forecast serves with a lag of 92 days, the archive with 5
    bodies = {"forecast": _om_body("forecast", at(0), "92"),
              "archive": _om_body("archive", at(0), "5")}
    hour = "2023-03-01T11:00"  # 12:00 local, at the request's first point
    pt = wx_points(3022)[0]
    R.reset()
    ks, db, cdb = keyspace(), tmpdb(), tmpdb()
    nan = None  # an absent value in the body (JSON null)
    #        source      fetch  temperature   snow depth  -> expected at that hour
    steps = [("forecast", 100, 1.5, 0.5, ("forecast", 100, 1.5, 0.5)),
             ("forecast", 200, 1.25, 0.5, ("forecast", 200, 1.25, 0.5)),
             ("archive", 150, 2.0, nan, ("archive", 150, 2.0, 0.5)),
             ("forecast", 900, 3.0, 0.7, ("archive", 150, 2.0, 0.7)),
             ("archive", 300, 0.1 + 0.2, 0.25, ("archive", 300, 0.1 + 0.2, 0.25)),
             ("archive", 250, -7.0, 0.1, ("archive", 300, 0.1 + 0.2, 0.25)),
             ("archive", 350, nan, 0.3, ("archive", 350, 0.1 + 0.2, 0.3))]
    for n, (src, minutes, temp, snow, want) in enumerate(steps, 1):
        body = json.loads(json.dumps(bodies[src]))
        first = body[0] if isinstance(body, list) else body
        i = first["hourly"]["time"].index(hour)
        first["hourly"]["temperature_2m"][i] = temp
        first["hourly"]["snow_depth"][i] = snow
        wx_now(at(minutes))
        for target in ("sqlite", "cassandra"):
            R.faults([{"match": "/v1/" + src, "body": json.dumps(body)}])
            a, e = wx("backfill", "--db", db if target == "sqlite" else cdb, "--region", "3022",
                      "--from", "2023-03-01", "--to", "2023-03-01", now=at(minutes),
                      env={LAG: "5" if src == "archive" else "92"}, sources="weather")
            p = run(*a, env=e, check=0) if target == "sqlite" else cass(*a, ks=ks, env=e, check=0)
            assert ", 0 failed;" in "".join(stored(p)), (n, target, p.stdout + p.stderr)
            assert [x["fault"] for x in R.log() if "/v1/" in x["path"]][-1] == 0, R.log()
        rng = ("--region", "3022", "--from", "2023-03-01", "--to", "2023-03-01")
        sq = [json.loads(x) for x in export(db, "weather-hourly", "jsonl", *rng).splitlines()]
        ca = [json.loads(x) for x in cass("export", "weather-hourly", "--db", cdb, *rng,
                                          ks=ks).stdout.splitlines()]
        assert len(ca) == len(sq) == 24 * len(wx_points(3022)), (len(ca), len(sq))
        mine = [r for r in ca if r["time"] == hour + ":00.000Z" and
                (r["latitude"], r["longitude"]) == (pt["latitude"], pt["longitude"])]
        assert len(mine) == 1, (pt, ca[:2])
        got = (mine[0]["source"], mine[0]["fetched_at"], mine[0]["temperature_2m"],
               mine[0]["snow_depth"])
        assert got == (want[0], at(want[1])[:-1] + ".000Z", want[2], want[3]), (n, got, want)
        diff = [(x, y) for x, y in zip(sq, ca) if x != y]
        if n == 4:
            # The one difference: the archive (step 3) had no snow depth at
            # that hour, so each forecast's is a candidate. Per value the
            # later forecast (0.7) wins in Cassandra whatever the order;
            # SQLite's upsert keeps what the row held when the archive came
            # (0.5 from step 2), and would give 0.7 had step 4 come first.
            assert all(x["time"] == hour + ":00.000Z" and
                       {k for k in x if x[k] != y[k]} == {"snow_depth"} for x, y in diff), diff
        else:
            assert diff == [], (n, diff)
            assert export(db, "weather", "csv") == cass("export", "weather", "--db", cdb,
                                                        "--format", "csv", ks=ks).stdout, n
    # the oracle: the temperature cell is the one of step 5 (step 7's was
    # null: unset, not written), the snow depth step 7's
    cell = oracle("SELECT temperature_2m AS t, snow_depth AS s, writetime(temperature_2m) AS "
                  "wt, writetime(snow_depth) AS ws FROM %s.weather_hourly_by_point WHERE "
                  "region_id = 3022 AND latitude = %r AND longitude = %r AND year = 2023 AND "
                  "time = '2023-03-01 11:00:00+0000'" % (ks, pt["latitude"], pt["longitude"]))

    def ts(minutes):
        return (2 << 52) + int((d0 + dt.timedelta(minutes=minutes)).timestamp()) * 1000000

    assert cell == [{"t": 0.1 + 0.2, "s": 0.3, "wt": ts(300), "ws": ts(350)}], cell
    R.reset()


def test_an_older_keyspace_gets_the_weather_tables():
    """A keyspace of the build before the weather (its three tables only):
    the sink adds the weather tables when it opens, and stores into them."""
    R.reset()
    wx_now(WX_NOW)
    ks = keyspace()
    oracle("CREATE KEYSPACE %s WITH replication = {'class': 'SimpleStrategy', "
           "'replication_factor': 1}" % ks)
    for t, key in V01_TABLES.items():
        oracle("CREATE TABLE %s.%s (%s, PRIMARY KEY %s" % (ks, t, V01_WCOLS, key))
    oracle(V01_PROBLEMS % ks)
    db, cdb = tmpdb(), tmpdb()
    sq, ca = both("run", "--db", (db, cdb), *RANGE, ks=ks)
    assert "5 warnings stored" in ca.stdout and stored(ca) == stored(sq), ca.stdout + ca.stderr
    tables = {r["table_name"] for r in oracle(
        "SELECT table_name FROM system_schema.tables WHERE keyspace_name = '%s'" % ks)}
    assert tables == {"warnings_by_region", "warnings_by_date", "problems_by_region",
                      "warning_versions_by_region", "weather_hourly_by_point",
                      "weather_points_by_region", "weather_daily_by_region"}, tables
    for what, want, got in wx_exports(db, ks):
        assert got == want and want, what
    assert cass("export", "warnings", "--db", cdb, ks=ks).stdout == export(db)


def reads(ks):
    """Partition reads and range scans per table of ks (the node's metrics)."""
    out = {}
    for kind in ("local_read_latency", "local_scan_latency"):
        for r in oracle("SELECT table_name, count FROM system_views.%s WHERE keyspace_name = "
                        "'%s' ALLOW FILTERING" % (kind, ks)):
            out[(kind.split("_")[1], r["table_name"])] = r["count"]
    return out


def test_weather_export_of_a_range_reads_only_that_range():
    """export weather / weather-hourly --region R --from D --to D: the rows of
    D and nothing else, SQLite's bytes, and on the node one partition read
    of the daily table, and for the hours one of the points table plus one
    slice per point and UTC year (1 January local starts on 31 December
    UTC: two years), no scan."""
    R.reset()
    wx_now(WX_NOW)
    ks, db, cdb = keyspace(), tmpdb(), tmpdb()
    both("backfill", "--db", (db, cdb), "--region", "3022,3011", "--lang", "2", "--from",
         "2022-12-01", "--to", "2023-02-01", ks=ks)
    one = ("--region", "3022", "--from", "2023-01-01", "--to", "2023-01-01")
    npts = len(wx_points(3022))
    for ds, want_rows, want_reads in (
            ("weather", 1, {"weather_daily_by_region": 1}),
            ("weather-hourly", 24 * npts, {"weather_points_by_region": 1,
                                          "weather_hourly_by_point": 2 * npts})):
        before = reads(ks)
        got = cass("export", ds, "--db", cdb, *one, ks=ks).stdout
        deadline = time.time() + 10
        while True:  # the counters follow the answers closely, not atomically
            after = reads(ks)
            delta = {t: after[k] - before.get(k, 0) for k in after for t in [k[1]]
                     if k[0] == "read" and after[k] != before.get(k, 0)}
            scans = {k: v - before.get(k, 0) for k, v in after.items()
                     if k[0] == "scan" and v != before.get(k, 0)}
            if delta == want_reads or time.time() > deadline:
                break
            time.sleep(0.5)
        assert delta == want_reads and scans == {}, (ds, delta, scans)
        rows = [json.loads(x) for x in got.splitlines()]
        assert len(rows) == want_rows and {r["region_id"] for r in rows} == {3022}, rows[:2]
        assert got == export(db, ds, "jsonl", *one), ds
    hours = [json.loads(x)["time"] for x in cass("export", "weather-hourly", "--db", cdb, *one,
                                                 ks=ks).stdout.splitlines()]
    assert hours[0] == "2022-12-31T23:00:00.000Z" and hours[23] == "2023-01-01T22:00:00.000Z"
    # and across the whole backfill, both regions (the region list from the
    # points and daily tables)
    for what, want, got in wx_exports(db, ks):
        assert got == want, what


# ---- publication history (issue 14): the same answers as SQLite ----
# SYNTHETIC re-issue made here from the recorded fixture (as in
# test_embedded.py): the 2023-03-02 warning first published the afternoon
# before with other text and one problem, then re-issued as recorded.
SEEN1, SEEN2 = "2023-03-01T15:30:00.000Z", "2023-03-02T09:00:00.000Z"


def _first_publication():
    with open(DETAIL, encoding="utf-8") as f:
        els = json.load(f)
    return els[:1] + [dict(els[1], PublishTime="2023-03-01T16:05:00", DangerLevel="3",
                           MainText="SYNTHETIC FIRST PUBLICATION",
                           AvalancheProblems=els[1]["AvalancheProblems"][:1])]


def _reissued(ks, order):
    """A state db (and, with ks, a keyspace) that fetched the two publications."""
    db = tmpdb()
    for which in order:
        R.reset()
        if which == "v1":
            R.faults([{"match": "/Detail/3022/2/", "body": json.dumps(_first_publication())}])
        env = {"AV_FAKE_NOW": SEEN1 if which == "v1" else SEEN2}
        if ks:
            cass("run", "--db", db, "--api-base", R.base, *RANGE, *FAST, ks=ks, env=env)
        else:
            run("run", "--db", db, "--api-base", R.base, *RANGE, *FAST, env=env, check=0)
    R.reset()
    return db


HISTORY_VIEWS = [("warnings", "jsonl", "--history"), ("warnings", "csv", "--history"),
                 ("problems", "jsonl", "--history"), ("problems", "csv", "--history"),
                 ("warnings", "jsonl", "--as-of", "2023-03-01T15:00:00Z"),
                 ("warnings", "jsonl", "--as-of", "2023-03-01T16:00:00Z"),
                 ("warnings", "csv", "--as-of", "2023-03-02T12:00:00+01:00"),
                 ("problems", "jsonl", "--as-of", "2023-03-01T16:00:00Z"),
                 ("warnings", "jsonl", "--as-of", "2023-03-01T16:00:00Z", "--region", "3022",
                  "--lang", "2", "--from", "2023-03-02", "--to", "2023-03-02")]


def test_history_and_as_of_in_cassandra_answer_like_sqlite():
    emb = _reissued(None, ("v1", "v2"))
    for order in (("v1", "v2"), ("v2", "v1")):  # arrival order does not matter
        ks = keyspace()
        db = _reissued(ks, order)
        for v in HISTORY_VIEWS:
            ds, fmt, *extra = v
            got = cass("export", ds, "--db", db, "--format", fmt, *extra, ks=ks).stdout
            assert got == export(emb, ds, fmt, *extra), (order, v, got[:400])
    mid = [json.loads(x) for x in export(emb, "warnings", "jsonl", "--as-of",
                                         "2023-03-01T16:00:00Z").splitlines()]
    assert [r["main_text"] for r in mid if r["valid_date"] == "2023-03-02"] == \
        ["SYNTHETIC FIRST PUBLICATION"]  # the comparison compared something
    rows = oracle("SELECT valid_date, publish_time, first_seen FROM %s.warning_versions_by_region "
                  "WHERE region_id = 3022" % ks)
    assert len(rows) == 6 and sum(r["valid_date"] == "2023-03-02" for r in rows) == 2, rows


def test_reprocess_into_cassandra_rebuilds_the_history():
    emb = _reissued(None, ("v1", "v2"))
    ks = keyspace()
    cass("reprocess", "--db", emb, ks=ks, env={"AV_FAKE_NOW": "2031-01-01T00:00:00Z"})
    for v in HISTORY_VIEWS[:5]:
        ds, fmt, *extra = v
        got = cass("export", ds, "--db", emb, "--format", fmt, *extra, ks=ks).stdout
        assert got == export(emb, ds, fmt, *extra), (v, got[:400])  # first_seen from raw


def test_documents_and_features_from_cassandra_answer_like_sqlite():
    ks = keyspace()
    db = tmpdb()
    cass("run", "--db", db, "--api-base", R.base, *RANGE, *FAST, ks=ks)
    emb = embedded()
    for args in (("geojson", "--date", "2023-03-03", "--lang", "2"),
                 ("features", "--format", "jsonl", "--lang", "2"),
                 ("features", "--format", "csv", "--region", "3022", "--from", "2023-03-02",
                  "--to", "2023-03-04", "--as-of", "2023-03-03T12:00:00Z")):
        got = cass("export", *args, "--db", db, ks=ks).stdout
        want = run("export", *args, "--db", emb, check=0).stdout
        assert got == want and len(want) > 100, (args, got[:300], want[:300])
    # CAAML: the Cassandra sink keeps no advices or mountain weather, so
    # those homes are empty there; everything else is the same document
    def doc(out):
        d = json.loads(out)
        for b in d["bulletins"]:
            b.pop("travelAdvisory", None)
            b.pop("weatherForecast", None)
            for k in ("AvalancheAdvices", "MountainWeather"):
                b.get("customData", {}).get("NVE", {}).pop(k, None)
        return d
    args = ("caaml", "--from", "2023-03-01", "--to", "2023-03-05", "--lang", "2")
    got = doc(cass("export", *args, "--db", db, ks=ks).stdout)
    want = doc(run("export", *args, "--db", emb, check=0).stdout)
    assert got == want and len(want["bulletins"]) == 5, (got, want)


TESTS = [v for k, v in list(globals().items()) if k.startswith("test_")]

if __name__ == "__main__":
    try:
        print("cassandra: " + dev("cassandra-dev", "start", CENV).splitlines()[-1], flush=True)
        print("kafka: " + dev("kafka-dev", "start", KENV).splitlines()[-1], flush=True)
    except Exception as e:
        print("a server did not start: %s" % e)
        print("cassandra: 0 passed, %d failed" % len(TESTS))
        for s, env in (("cassandra-dev", CENV), ("kafka-dev", KENV)):
            subprocess.run([os.path.join(ROOT, "scripts", s), "stop"], env=env)
        sys.exit(1)
    R = Replay(DETAIL, os.path.join(os.path.dirname(DETAIL),
                                    "coordinates_simple_69.65_18.95_lang1_2026-03-01_to_"
                                    "2026-03-03_v6.3.0.json"))
    try:
        rc = main("cassandra", TESTS)
    finally:
        R.stop()
        for s, env in (("cassandra-dev", CENV), ("kafka-dev", KENV)):
            subprocess.run([os.path.join(ROOT, "scripts", s), "stop"], env=env,
                           capture_output=True)
    sys.exit(rc)
