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
import urllib.request
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


def wtopic(t):
    """The weather topic that goes with warnings topic t (each test its own)."""
    return t + ".wx"


def produce(t, base, *args, check=0):
    return run("produce", "--db", tmpdb("state.db"), "--brokers", BROKERS, "--topic", t,
               "-X", "stream.weather_topic=" + wtopic(t), "--api-base", base, *args, *FAST,
               check=check, timeout=300)


def process(db, t, group=None, *extra, check=0):
    return run("process", "--db", db, "--brokers", BROKERS, "--topic", t, "-X",
               "stream.weather_topic=" + wtopic(t), "--group", group or ("g-" + t),
               "--until-idle", *SESSION, *extra, check=check, timeout=300)


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


def test_history_first_seen_is_when_produce_fetched_not_when_process_ran():
    t = topic()
    run("produce", "--db", tmpdb("state.db"), "--brokers", BROKERS, "--topic", t, "-X",
        "stream.weather_topic=" + wtopic(t), "--api-base", R.base, *FIXTURE_RANGE, *FAST,
        env={"AV_FAKE_NOW": "2023-03-03T12:00:00Z"}, check=0, timeout=300)
    db = tmpdb()
    run("process", "--db", db, "--brokers", BROKERS, "--topic", t, "-X",
        "stream.weather_topic=" + wtopic(t), "--group", "g-" + t, "--until-idle", *SESSION,
        env={"AV_FAKE_NOW": "2023-03-09T00:00:00Z"}, check=0, timeout=300)
    rows = [json.loads(x) for x in export(db, "warnings", "jsonl", "--history").splitlines()]
    assert len(rows) == 5, rows
    assert all(r["first_seen"].startswith("2023-03-03T12:0") for r in rows), \
        [r["first_seen"] for r in rows]


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


# ---------------------------------------------------------------- the weather

NOW = "2023-03-20T12:00:00Z"  # both clocks: AV_FAKE_NOW and the replay server's "now"
WX_RANGE = ["--region", "3022", "--lang", "2", "--from", "2023-03-01", "--to", "2023-03-15"]
WX_PRODUCED = {}
WX_HEADERS = ("source", "endpoint", "lang", "url", "fetched_at", "region_id", "from_date",
              "to_date", "http_status")


def om_now(now=NOW, delay=5):
    """The replay server's Open-Meteo clock (its archive is null after now - delay)."""
    R.reset()
    R._call("POST", "/_control/openmeteo", {"now": now, "archive_delay_days": delay,
                                            "snow_depth_delay_days": delay})


def wx(*args, check=0, now=NOW, sources="varsom,weather"):
    """avalanche with the weather bases on the replay server and the same clock."""
    base = "http://127.0.0.1:%d/v1" % R.port
    return run(*args, "--api-base", R.base, "--sources", sources,
               "-X", "weather.archive_base=" + base, "-X", "weather.forecast_base=" + base,
               *FAST, env={"AV_FAKE_NOW": now}, check=check, timeout=300)


def wx_produce(t, state, *args, **kw):
    return wx("produce", "--db", state, "--brokers", BROKERS, "--topic", t,
              "-X", "stream.weather_topic=" + wtopic(t), *args, **kw)


def wx_state(db):
    return query(db, "select region_id, endpoint, last_date, last_status, last_error "
                     "from fetch_state where lang = 0 order by endpoint")


def wx_holes(db):
    return query(db, "select region_id, lang, endpoint, from_date, to_date from fetch_hole "
                     "where lang = 0 order by 1, 4")


def weather_produced():
    """One produce of the fixture's warnings and the weather of 2023-03-01..15
    (archive in 3 units of weather.chunk_days = 5, then one forecast), shared
    by the tests that read it."""
    if not WX_PRODUCED:
        om_now()
        t, state = topic(), tmpdb("state.db")
        p = wx_produce(t, state, *WX_RANGE, "-X", "weather.chunk_days=5")
        WX_PRODUCED.update(t=t, state=state, stdout=p.stdout, out=p.stdout + p.stderr)
    return WX_PRODUCED


def test_weather_through_kafka_equals_embedded_run():
    w = weather_produced()
    t = w["t"]
    assert "5 messages to %s, 4 to %s, 9 delivered, 0 not delivered" % (t, wtopic(t)) in \
        w["stdout"], w["out"]
    assert "weather: 4 requests planned" in w["stdout"], w["out"]
    om_now()
    emb = tmpdb()
    wx("run", "--db", emb, *WX_RANGE, "-X", "weather.chunk_days=5")
    # delivered: no holes, and the fetch state moved as run's did
    assert wx_holes(w["state"]) == wx_holes(emb) == []
    assert [r[:3] for r in wx_state(w["state"])] == [r[:3] for r in wx_state(emb)] == \
        [(3022, "archive", "2023-03-12"), (3022, "forecast", None)], wx_state(w["state"])
    assert [r[3] for r in wx_state(w["state"])] == ["produced", "produced"]
    db = tmpdb()
    p = process(db, t)
    assert "9 messages, 5 warnings stored" in p.stdout, p.stdout
    assert "weather: 4 responses" in p.stdout, p.stdout
    for ds in ("weather", "weather-hourly", "warnings"):
        for fmt in ("jsonl", "csv"):
            got = export(db, ds, fmt)
            assert got == export(emb, ds, fmt) and got.count("\n") > 1, (ds, fmt)
    assert query(db, "select count(*) from weather_daily")[0][0] == 15
    # status shows the group's lag on both topics: nothing left
    s = json.loads(run("status", "--db", db, "--json", "--brokers", BROKERS, "--topic", t,
                       "--weather-topic", wtopic(t), "--group", "g-" + t, check=0).stdout)
    assert s["kafka"]["lag"] == 0 and s["kafka"]["weather"]["topic"] == wtopic(t), s
    assert s["kafka"]["weather"]["lag"] == 0 and s["kafka"]["weather"]["partitions"], s
    txt = run("status", "--db", db, "--brokers", BROKERS, "--topic", t, "--weather-topic",
              wtopic(t), "--group", "g-" + t, check=0).stdout
    assert "on %s (weather):" % wtopic(t) in txt, txt
    # read again by another group into the same store: nothing changes
    before = export(db, "weather-hourly")
    process(db, t, "g2-" + t)
    assert export(db, "weather-hourly") == before


def test_kcat_reads_weather_keys_bodies_and_headers():
    w = weather_produced()
    om_now()  # the same clock: the replay server gives the same bytes again
    msgs = kcat_messages(wtopic(w["t"]))
    assert len(msgs) == 4, msgs
    assert len({m["partition"] for m in msgs}) == 1  # key = region: one partition, in order
    pts = json.loads(run("regions", "--points", "--json", "--region", "3022", check=0).stdout)
    units = []
    for m in sorted(msgs, key=lambda x: x["offset"]):
        h = headers(m)
        assert m["key"] == "3022" and set(WX_HEADERS) <= set(h), h
        assert h["source"] == "open-meteo" and h["region_id"] == "3022" and h["lang"] == "0"
        assert h["http_status"] == "200", h
        assert h["fetched_at"].startswith("2023-03-20T12:00:00") and h["fetched_at"][-1] == "Z"
        url = h["url"]
        assert url.startswith("http://127.0.0.1:%d/v1/%s?" % (R.port, h["endpoint"])), url
        lats = url.split("latitude=")[1].split("&")[0].split(",")
        assert lats == ["%.4f" % x["latitude"] for x in pts], (lats, pts)
        with urllib.request.urlopen(url, timeout=30) as r:
            assert m["payload"] == r.read().decode()  # the body's bytes, untouched
        units.append((h["endpoint"], h["from_date"], h["to_date"]))
    assert units == [("archive", "2023-03-01", "2023-03-05"), ("archive", "2023-03-06",
                                                               "2023-03-10"),
                     ("archive", "2023-03-11", "2023-03-12"),
                     ("forecast", "2023-03-13", "2023-03-15")], units


def kcat_put(t, key, body, hdrs):
    """One message with kcat (from a file: one file, one message)."""
    f = os.path.join(tempfile.mkdtemp(prefix="av-msg-"), "body")
    with open(f, "w", encoding="utf-8") as fh:
        fh.write(body)
    args = ["kcat", "-b", BROKERS, "-t", t, "-P", "-k", key]
    for k, v in hdrs.items():
        args += ["-H", "%s=%s" % (k, v)]
    p = subprocess.run(args + [f], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr


def test_bad_weather_messages_go_to_the_dead_letter_topic():
    w = weather_produced()
    good = sorted(kcat_messages(wtopic(w["t"])), key=lambda x: x["offset"])[0]  # an archive
    full = {k: headers(good)[k] for k in WX_HEADERS}
    body = good["payload"]
    cases = [  # key, value, headers, stage, part of the reason
        ("3022", "this is not json", full, "parse", "not JSON"),
        ("3022", json.dumps([{"latitude": 1, "hourly": {"time": ["2023-03-01T00:00"],
                                                        "temperature_2m": [1.0]}}]),
         full, "parse", "answers for"),
        # the answer to another request: its hours start before these days
        ("3022", body, dict(full, from_date="2023-03-03"), "parse", "outside the requested"),
        ("9999", body, dict(full, region_id="9999"), "validate", "not in the catalog"),
        ("3022", body, {k: v for k, v in full.items() if k != "fetched_at"}, "validate",
         "fetched_at"),
        ("3022", body, dict(full, endpoint="hourly"), "validate", "neither archive nor"),
        ("3022", body, {k: v for k, v in full.items() if k != "url"}, "validate",
         "latitude/longitude"),
        ("3022", body, {k: v for k, v in full.items() if k != "to_date"}, "validate",
         "day range"),
    ]
    t, dlq = topic(), topic()
    for key, value, hdrs, _, _ in cases:
        kcat_put(wtopic(t), key, value, hdrs)
    db = tmpdb()
    p = process(db, t, None, "-X", "stream.dlq_topic=" + dlq)
    n = len(cases)
    assert "%d messages, 0 warnings stored" % n in p.stdout, p.stdout
    assert "(%d to %s)" % (n, dlq) in p.stdout, p.stdout
    dead = kcat_messages(dlq)
    assert len(dead) == n, dead
    for key, value, hdrs, stage, why in cases:
        m = [x for x in dead if headers(x)["stage"] == stage and why in headers(x)["reason"]]
        assert len(m) == 1, (stage, why, [headers(x) for x in dead])
        h = headers(m[0])
        assert m[0]["key"] == key and m[0]["payload"] == value
        assert all(h[k] == v for k, v in hdrs.items()), h  # the original headers kept
    for table in ("weather_hourly", "weather_daily", "warning"):
        assert query(db, "select count(*) from %s" % table)[0][0] == 0, table
    assert {r[0] for r in query(db, "select stage from rejected")} == {"parse", "validate"}


def test_weather_days_the_archive_lacks_stay_holes_after_delivery():
    """The archive's last days are null (its delay): produce decides from the
    body alone that they are not complete, so they stay holes, as run leaves
    them; a later produce fetches them again and clears them."""
    om_now(delay=9)
    t, state = topic(), tmpdb("state.db")
    args = ["--region", "3022", "--lang", "2", "--from", "2023-01-01", "--to", "2023-03-22"]
    p = wx_produce(t, state, *args)
    assert "weather: 2 requests planned" in p.stdout, p.stdout  # 01-01..03-12, 03-13..03-22
    assert "2 to %s" % wtopic(t) in p.stdout and " 0 not delivered" in p.stdout, p.stdout
    assert wx_holes(state) == [(3022, 0, "archive", "2023-03-11", "2023-03-12")], wx_holes(state)
    assert wx_state(state)[0][:4] == (3022, "archive", "2023-03-10", "produced")
    emb = tmpdb()
    wx("backfill", "--db", emb, *args)
    assert wx_holes(emb) == wx_holes(state)
    assert [r[:3] for r in wx_state(emb)] == [r[:3] for r in wx_state(state)]
    db = tmpdb()
    process(db, t)
    for ds in ("weather", "weather-hourly"):
        assert export(db, ds, "csv") == export(emb, ds, "csv"), ds
    # a week later the archive has them: the next produce sends them again
    later = "2023-03-27T12:00:00Z"
    om_now(later)
    p = wx_produce(t, state, "--region", "3022", "--lang", "2", now=later)
    assert wx_holes(state) == [], (wx_holes(state), p.stdout, p.stderr)
    assert wx_state(state)[0][2] > "2023-03-12", wx_state(state)
    process(db, t)
    rows = {json.loads(x)["date"]: json.loads(x) for x in
            export(db, "weather", "jsonl").splitlines()}
    for d in ("2023-03-11", "2023-03-12"):
        assert rows[d]["source"] == "archive" and rows[d]["hours"] == 24, rows[d]


BIG_NOW = "2023-12-20T12:00:00Z"
# one archive request of 200 days x 5 points: ~1.4 MB, sent uncompressed
BIG = ["--region", "3022", "--lang", "2", "--from", "2023-01-01", "--to", "2023-07-19",
       "-X", "weather.chunk_days=200", "-X", "kafka.compression.type=none"]


def test_a_weather_response_over_1_mb_is_one_message():
    """Over librdkafka's (1,000,000) and the broker's (1,048,588) default
    ceilings: produce raises message.max.bytes (stream.max_message_bytes) and
    creates the topic with a max.message.bytes to match; process reads it."""
    om_now(BIG_NOW)
    t, state = topic(), tmpdb("state.db")
    p = wx_produce(t, state, *BIG, now=BIG_NOW)
    assert "1 to %s" % wtopic(t) in p.stdout and " 0 not delivered" in p.stdout, \
        p.stdout + p.stderr
    msgs = kcat_messages(wtopic(t))
    assert len(msgs) == 1 and len(msgs[0]["payload"]) > 1048588, len(msgs[0]["payload"])
    assert wx_holes(state) == []
    db, emb = tmpdb(), tmpdb()
    process(db, t)
    wx("run", "--db", emb, *BIG, now=BIG_NOW)
    # 200 local days, one of them 23 hours long (2023-03-26), 5 points
    assert query(db, "select count(*) from weather_hourly")[0][0] == (200 * 24 - 1) * 5
    assert export(db, "weather-hourly") == export(emb, "weather-hourly")
    assert export(db, "weather") == export(emb, "weather")


def test_a_weather_response_over_the_ceilings_is_not_lost():
    om_now(BIG_NOW)
    # over stream.max_message_bytes: refused before it is queued, the unit
    # is rejected with the reason and its days stay holes
    t, state = topic(), tmpdb("state.db")
    p = wx_produce(t, state, *BIG, "-X", "stream.max_message_bytes=1048576", now=BIG_NOW,
                   check=1)
    assert "stream.max_message_bytes" in p.stderr and "weather.chunk_days" in p.stderr, p.stderr
    assert kcat_messages(wtopic(t)) == []
    assert wx_holes(state) == [(3022, 0, "archive", "2023-01-01", "2023-07-19")]
    st = wx_state(state)
    assert st[0][1:4] == ("archive", None, "rejected") and "stream.max_message_bytes" in st[0][4]
    # a topic made with a smaller max.message.bytes (here: by an earlier
    # produce with a lower ceiling): the broker refuses the delivery, produce
    # fails saying so, and nothing of the plan moves
    t = topic()
    wx_produce(t, tmpdb("state.db"), "--region", "3022", "--from", "2023-03-01", "--to",
               "2023-03-01", "-X", "stream.max_message_bytes=1048576", sources="varsom",
               now=BIG_NOW)
    state = tmpdb("state.db")
    p = wx_produce(t, state, *BIG, now=BIG_NOW, check=1)
    assert "not delivered" in p.stderr and "max.message.bytes" in p.stderr, p.stderr
    assert "fetch state not advanced" in p.stderr, p.stderr
    assert wx_holes(state) == [(3022, 0, "archive", "2023-01-01", "2023-07-19")]
    assert query(state, "select count(*) from fetch_state where last_date is not null")[0][0] == 0
    assert kcat_messages(wtopic(t)) == []


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
