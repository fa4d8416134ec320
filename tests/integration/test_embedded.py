"""End-to-end tests of the embedded pipeline: the real binary, a real SQLite
file, the recorded API responses served on loopback, and injected faults.

Run: python3 tests/integration/test_embedded.py  (AVALANCHE_BIN selects the build)
"""
import csv
import datetime as dt
import io
import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import synth  # noqa: E402
from harness import (BIN, DETAIL, ROOT, SHARED, SIMPLE, SUMMARY, Replay, export, main,  # noqa: E402
                     query, run, tmpdb)

R = None  # the shared replay server (recorded fixtures)
FAST = ["-X", "fetch.backoff_ms=50", "-X", "fetch.backoff_max_ms=200", "--no-progress"]
RANGE = ["--region", "3022", "--lang", "2", "--from", "2023-03-01", "--to", "2023-03-05"]


def wait_stored(db, proc, n, timeout=60):
    """Polls until the running proc has stored n warnings (it must still be
    running then: the fault that follows lands mid-run)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        assert proc.poll() is None, "the run ended before it was interrupted"
        try:
            if os.path.exists(db) and query(db, "select count(*) from warning")[0][0] >= n:
                return
        except sqlite3.Error:  # the table is not there yet
            pass
        time.sleep(0.02)
    raise AssertionError("nothing stored within %d s" % timeout)


def fixture_run(db, *extra, check=0):
    return run("run", "--db", db, "--api-base", R.base, *RANGE, *FAST, *extra, check=check)


def detail_elements():
    with open(DETAIL, encoding="utf-8") as f:
        return json.load(f)


def test_run_stores_the_recorded_detail_response():
    R.reset()
    db = tmpdb()
    p = fixture_run(db)
    assert "3022" in p.stdout and "5 warnings stored" in p.stdout, p.stdout
    assert query(db, "select count(*) from warning")[0][0] == 5
    assert query(db, "select count(*) from problem")[0][0] == 9
    assert query(db, "select count(*) from advice")[0][0] == 13
    assert query(db, "select count(*) from mountain_weather")[0][0] == 5
    assert query(db, "select count(*) from raw_response")[0][0] == 1
    rows = [json.loads(line) for line in export(db).splitlines()]
    assert [r["valid_date"] for r in rows] == ["2023-03-0%d" % d for d in range(1, 6)]
    assert [r["danger_level"] for r in rows] == [2, 2, 3, 3, 3]
    r = rows[1]
    assert r["region_id"] == 3022 and r["lang"] == 2 and r["reg_id"] == 332657
    assert r["publish_time"] == "2023-03-02T08:11:14.200Z"
    assert r["region_name"] == "Trollheimen"
    assert r["main_text"].startswith("Be careful in sun-exposed steep slopes")
    assert len(r["problems"]) == 2
    p1 = r["problems"][0]
    assert p1["problem_id"] == 1 and p1["problem_type_id"] == 10
    assert p1["problem_type_name"] == "Wind drifted snow (slab avalanches)"
    assert p1["cause_id"] == 10 and p1["trigger_simple_id"] == 21
    assert p1["destructive_size_id"] == 2 and p1["probability_id"] == 3
    assert p1["propagation_id"] == 1
    assert p1["aspects"] == ["NE", "E", "SE", "S"]
    assert (p1["exposed_height_fill"], p1["exposed_height_1"], p1["exposed_height_2"]) == \
        (1, 1000, 1000)
    assert p1["trigger_sensitivity_name"] == "Easy to trigger"
    # typed mountain weather, and the raw body kept byte for byte
    mw = query(db, "select rain_most_exposed_mm, wind_speed, temperature_min_c, "
               "typeof(temperature_min_c) from mountain_weather where valid_date='2023-03-02'")
    assert mw == [(6, "Fresh breeze", -8, "integer")], mw
    log = R.log()
    assert [e["path"].split("/api/")[1] for e in log] == \
        ["AvalancheWarningByRegion/Detail/3022/2/2023-03-01/2023-03-05"]


def test_same_range_twice_gives_identical_exports():
    R.reset()
    db = tmpdb()
    fixture_run(db)
    first = (export(db), export(db, "problems", "csv"), export(db, "warnings", "csv"))
    p = fixture_run(db)
    assert "0 warnings stored, 5 unchanged" in p.stdout, p.stdout
    assert (export(db), export(db, "problems", "csv"), export(db, "warnings", "csv")) == first
    assert query(db, "select count(*) from warning")[0][0] == 5


def test_older_publication_does_not_overwrite_newer():
    R.reset()
    db = tmpdb()
    fixture_run(db)
    before = export(db)
    # SYNTHETIC: the 2023-03-02 warning as if an older version (earlier
    # PublishTime, other text) were served again.
    els = detail_elements()
    old = dict(els[1], PublishTime="2023-03-01T15:30:00", MainText="OLDER VERSION",
               DangerLevel="4")
    R.faults([{"match": "/Detail/3022/2/", "body": json.dumps([old])}])
    p = fixture_run(db)
    assert "0 warnings stored, 1 unchanged" in p.stdout, p.stdout
    assert export(db) == before
    # ...while a newer version does replace it, children included
    newer = dict(els[1], PublishTime="2023-03-02T18:00:00", MainText="NEWER VERSION",
                 AvalancheProblems=els[1]["AvalancheProblems"][:1])
    R.faults([{"match": "/Detail/3022/2/", "body": json.dumps([newer])}])
    fixture_run(db)
    rows = {r["valid_date"]: r for r in map(json.loads, export(db).splitlines())}
    assert rows["2023-03-02"]["main_text"] == "NEWER VERSION"
    assert len(rows["2023-03-02"]["problems"]) == 1
    assert rows["2023-03-03"] == json.loads(before.splitlines()[2])


def test_503_then_success_is_retried():
    R.reset()
    R.faults([{"status": 503, "times": 2}])
    db = tmpdb()
    p = fixture_run(db)
    assert "5 warnings stored" in p.stdout and "2 retries" in p.stdout, p.stdout
    assert [e["status"] for e in R.log()] == [503, 503, 200]


def test_429_retry_after_is_honoured():
    R.reset()
    R.faults([{"status": 429, "headers": {"Retry-After": "1"}}])
    db = tmpdb()
    t = time.time()
    p = fixture_run(db)
    assert time.time() - t >= 1.0
    assert "5 warnings stored" in p.stdout, p.stdout
    assert [e["status"] for e in R.log()] == [429, 200]


def test_a_retry_after_beyond_the_cap_defers_instead_of_hammering():
    R.reset()
    R.faults([{"status": 429, "headers": {"Retry-After": "3600"}}])
    db = tmpdb()
    t = time.time()
    p = fixture_run(db, "--chunk-days", "2", "-X", "fetch.concurrency=1",
                    "-X", "fetch.retry_after_max_ms=2000", check=1)
    assert time.time() - t < 30
    assert [e["status"] for e in R.log()] == [429], R.log()  # nothing else was sent
    assert "Retry-After 3600 s, longer than fetch.retry_after_max_ms (2000 ms)" in p.stderr
    assert p.stderr.count("deferred: the API asked to wait 3600 s") == 2, p.stderr
    holes = json.loads(run("status", "--db", db, "--json", check=0).stdout)["holes"]
    assert [(h["from"], h["to"]) for h in holes] == [("2023-03-01", "2023-03-05")], holes
    # a short one holds every request, not only the one that got it
    R.reset()
    R.faults([{"match": "/2023-03-01/", "status": 503, "headers": {"Retry-After": "2"}}])
    t = time.time()
    p = fixture_run(tmpdb(), "--chunk-days", "2", "-X", "fetch.concurrency=1")
    assert time.time() - t >= 2.0
    log = [(e["status"], e["path"].split("/Detail/")[1]) for e in R.log()]
    assert log == [(503, "3022/2/2023-03-01/2023-03-02"), (200, "3022/2/2023-03-01/2023-03-02"),
                   (200, "3022/2/2023-03-03/2023-03-04"), (200, "3022/2/2023-03-05/2023-03-05")], log
    assert "5 warnings stored" in p.stdout, p.stdout


def test_slow_response_times_out_and_is_retried():
    R.reset()
    R.faults([{"delay_ms": 3000}])
    db = tmpdb()
    p = fixture_run(db, "-X", "fetch.timeout_ms=700")
    assert "5 warnings stored" in p.stdout and "1 retries" in p.stdout, p.stdout


def test_always_slow_fails_after_retries_and_keeps_nothing_half_done():
    R.reset()
    R.faults([{"delay_ms": 1500, "times": -1}])
    db = tmpdb()
    p = fixture_run(db, "-X", "fetch.timeout_ms=300", "-X", "fetch.retries=2", check=1)
    assert "gave up after 3 attempts" in p.stderr, p.stderr
    assert "Timeout" in p.stderr or "timed out" in p.stderr, p.stderr
    assert "1 failed" in p.stdout
    assert query(db, "select count(*) from warning")[0][0] == 0
    assert query(db, "select last_status from fetch_state") == [("failed",)]
    assert query(db, "select status from run") == [("failed",)]
    assert query(db, "select region_id, units_failed, warnings_stored, error like '%attempts%' "
                 "from run_region") == [(3022, 1, 0, 1)]


def test_truncated_body_is_retried():
    R.reset()
    R.faults([{"truncate": 1000}])
    db = tmpdb()
    p = fixture_run(db)
    assert "5 warnings stored" in p.stdout and "1 retries" in p.stdout, p.stdout
    assert query(db, "select count(*) from rejected")[0][0] == 0


def test_invalid_json_is_rejected_with_reason_and_raw_kept():
    R.reset()
    R.faults([{"body": "[{\"RegionId\": 3022, \"DangerLevel\": "}])
    db = tmpdb()
    p = fixture_run(db, check=1)
    assert "rejected" in p.stderr and "invalid JSON" in p.stderr, p.stderr
    assert "1 rejected" in p.stdout
    rows = query(db, "select stage, reason, raw from rejected")
    assert len(rows) == 1 and rows[0][0] == "parse" and "truncated" in rows[0][1], rows
    assert rows[0][2] == "[{\"RegionId\": 3022, \"DangerLevel\": "
    assert query(db, "select count(*) from raw_response")[0][0] == 1
    assert query(db, "select count(*) from warning")[0][0] == 0
    # a later good run fills the gap
    fixture_run(db)
    assert query(db, "select count(*) from warning")[0][0] == 5


def test_the_same_body_is_kept_once():
    R.reset()
    big = "[" + "x" * (3 << 20)  # SYNTHETIC: 3 MiB that are not JSON, served three times
    R.faults([{"body": big, "times": 3}])
    db = tmpdb()
    for _ in range(3):
        fixture_run(db, check=1)
    st = json.loads(run("status", "--db", db, "--json", check=0).stdout)
    assert (st["raw_responses"], st["raw_bodies"], st["raw_bytes"]) == (3, 1, len(big)), st
    assert "3 raw responses (1 distinct bodies, 3.0 MiB)" in run("status", "--db", db,
                                                                 check=0).stdout
    query(db, "pragma wal_checkpoint(truncate)")
    assert os.path.getsize(db) < 2 * len(big), os.path.getsize(db)  # was > 3x
    rows = query(db, "select length(raw), raw_id, seen from rejected")
    assert len(rows) == 1 and rows[0][0] == 65536 and rows[0][1] and rows[0][2] == 3, rows
    # reprocess reads the one copy back for each of the three responses
    p = run("reprocess", "--db", db, check=0)
    assert query(db, "select count(*), max(seen) from rejected") == [(1, 3)], p.stderr


def test_404_is_not_retried_and_reported():
    R.reset()
    R.faults([{"status": 404, "body": "{\"Message\":\"not found\"}"}])
    db = tmpdb()
    p = fixture_run(db, check=1)
    assert "HTTP 404" in p.stderr and "not retried" in p.stderr, p.stderr
    assert len(R.log()) == 1
    assert query(db, "select status from run") == [("failed",)]


def test_bad_warnings_are_rejected_and_the_rest_stored():
    R.reset()
    els = detail_elements()
    # SYNTHETIC defects on copies of real elements
    bad_level = dict(els[0], DangerLevel="9")
    no_region = dict(els[1])
    del no_region["RegionId"]
    R.faults([{"body": json.dumps([bad_level, no_region] + els[2:])}])
    db = tmpdb()
    p = fixture_run(db)
    assert "3 warnings stored" in p.stdout and "2 rejected" in p.stdout, p.stdout
    reasons = sorted(r[0] for r in query(db, "select reason from rejected"))
    assert "outside 0-5" in reasons[1] and "RegionId" in reasons[0], reasons
    raw = query(db, "select raw from rejected where reason like '%outside%'")[0][0]
    assert json.loads(raw)["DangerLevel"] == "9"


def test_answers_that_do_not_match_the_request_are_rejected():
    R.reset()
    els = detail_elements()
    # SYNTHETIC: real elements relabelled as another region, language, day
    other_region = dict(els[0], RegionId=3023)
    other_lang = dict(els[1], LangKey=1)
    other_day = dict(els[2], ValidFrom="2023-03-09T00:00:00")
    unknown = dict(els[3], RegionId=9999)
    R.faults([{"body": json.dumps([other_region, other_lang, other_day, unknown, els[4]])}])
    db = tmpdb()
    p = fixture_run(db)
    assert "1 warnings stored" in p.stdout and "4 rejected" in p.stdout, p.stdout
    assert query(db, "select region_id, valid_date from warning") == [(3022, "2023-03-05")]
    rows = sorted(query(db, "select stage, reason, region_id from rejected"))
    assert [r[0] for r in rows] == ["validate"] * 4 and all(r[2] == 3022 for r in rows), rows
    reasons = " | ".join(r[1] for r in rows)
    for want in ("RegionId 3023 in the answer to a request for region 3022",
                 "LangKey 1 in the answer to a request for lang 2",
                 "ValidFrom 2023-03-09 outside the requested 2023-03-01..2023-03-05",
                 "RegionId 9999 is not a region of the catalog"):
        assert want in reasons, reasons
    # reprocess derives the same verdicts from the stored raw response
    run("reprocess", "--db", db, check=0)
    assert query(db, "select region_id, valid_date from warning") == [(3022, "2023-03-05")]
    assert sorted(query(db, "select stage, reason, region_id from rejected")) == rows


def test_simple_endpoint_and_region_summary_shapes():
    R.reset()
    db = tmpdb()
    run("run", "--db", db, "--api-base", R.base, "--endpoint", "simple", "--region", "3011",
        "--lang", "1", "--from", "2026-03-01", "--to", "2026-03-03", *FAST, check=0)
    rows = [json.loads(line) for line in export(db).splitlines()]
    assert [(r["region_id"], r["valid_date"], r["danger_level"]) for r in rows] == \
        [(3011, "2026-03-0%d" % d, 2) for d in (1, 2, 3)]
    assert all(r["problems"] == [] for r in rows)
    # all regions of the 2022 RegionSummary, served per region as Simple
    db2 = tmpdb()
    p = run("run", "--db", db2, "--api-base", R.base, "--endpoint", "simple", "--region", "all",
            "--lang", "1", "--from", "2022-01-16", "--to", "2022-01-18", *FAST, check=0)
    assert "138 warnings stored" in p.stdout, p.stdout
    assert query(db2, "select count(distinct region_id) from warning")[0][0] == 46
    assert query(db2, "select count(*) from warning where region_type is null")[0][0] == 0


def test_export_filters_and_csv():
    R.reset()
    db = tmpdb()
    fixture_run(db)
    rows = [json.loads(x) for x in
            export(db, "warnings", "jsonl", "--from", "2023-03-02", "--to", "2023-03-03")
            .splitlines()]
    assert [r["valid_date"] for r in rows] == ["2023-03-02", "2023-03-03"]
    assert export(db, "warnings", "jsonl", "--region", "3011") == ""
    table = list(csv.DictReader(io.StringIO(export(db, "problems", "csv"), newline="")))
    assert len(table) == 9
    row = [t for t in table if t["valid_date"] == "2023-03-02" and t["problem_id"] == "1"][0]
    assert row["region_id"] == "3022" and row["aspects"] == "NE,E,SE,S", row
    out = os.path.join(os.path.dirname(db), "w.csv")
    run("export", "warnings", "--db", db, "--format", "csv", "--out", out, check=0)
    with open(out, newline="", encoding="utf-8") as f:
        w = list(csv.DictReader(f))
    assert len(w) == 5 and w[4]["emergency_warning"] == "Natural avalanches"
    assert "\n" in w[1]["avalanche_danger"]  # multi-line text survives quoting


def test_csv_guards_formulas_unless_raw():
    R.reset()
    els = detail_elements()
    # SYNTHETIC: a real element whose main text reads as a spreadsheet formula
    R.faults([{"body": json.dumps([dict(els[0], MainText="=1+2")] + els[1:])}])
    db = tmpdb()
    fixture_run(db)
    rows = list(csv.DictReader(io.StringIO(export(db, "warnings", "csv"))))
    assert rows[0]["main_text"] == "'=1+2" and rows[1]["main_text"] == els[1]["MainText"].strip()
    raw = run("export", "warnings", "--db", db, "--format", "csv", "--csv-raw", check=0).stdout
    assert list(csv.DictReader(io.StringIO(raw)))[0]["main_text"] == "=1+2"
    assert json.loads(export(db).splitlines()[0])["main_text"] == "=1+2"  # JSONL as stored


def test_reprocess_rebuilds_clean_tables_without_network():
    R.reset()
    db = tmpdb()
    fixture_run(db)
    R.faults([{"body": "not json"}])
    fixture_run(db, check=1)
    before = export(db), export(db, "problems")
    import sqlite3
    con = sqlite3.connect(db)
    con.execute("update warning set main_text = 'damaged'")
    con.commit()
    con.close()
    p = run("reprocess", "--db", db, "--api-base", "http://127.0.0.1:9/nothing", check=0)
    assert "2 raw responses (1 rejected whole)" in p.stdout, p.stdout
    assert (export(db), export(db, "problems")) == before
    assert query(db, "select count(*) from rejected where stage='parse'")[0][0] == 1


def test_status_reports_state_rejects_and_runs():
    R.reset()
    db = tmpdb()
    fixture_run(db)
    p = run("status", "--db", db, "--json", check=0)
    s = json.loads(p.stdout)
    assert s["warnings"] == 5 and s["rejected"] == 0
    assert s["regions"][0]["region_id"] == 3022 and s["regions"][0]["last_date"] == "2023-03-05"
    assert s["regions"][0]["last_status"] == "ok"
    assert s["runs"][0]["status"] == "ok" and s["runs"][0]["warnings_stored"] == 5
    text = run("status", "--db", db, check=0).stdout
    assert "Trollheimen" in text and "2023-03-05" in text


def test_status_limit_picks_the_number_of_runs_and_is_checked():
    R.reset()
    db = tmpdb()
    fixture_run(db)
    fixture_run(db)
    runs = lambda *a: json.loads(run("status", "--db", db, "--json", *a, check=0).stdout)["runs"]
    assert len(runs()) == 2
    assert len(runs("--limit", "1")) == 1
    for bad in ("0", "-1", "3x", "", "10001"):
        p = run("status", "--db", db, "--limit", bad)
        assert p.returncode == 2 and "--limit" in p.stderr and "1-10000" in p.stderr, (bad, p.stderr)


def test_default_plan_uses_state_overlap_and_horizon():
    R.reset()
    db = tmpdb()
    # "today" is 2023-03-03 in Oslo: default window today-7 .. today+2
    env = {"AV_FAKE_NOW": "2023-03-03T12:00:00Z"}
    run("run", "--db", db, "--api-base", R.base, "--region", "3022", "--lang", "2", *FAST,
        env=env, check=0)
    paths = [e["path"].split("/Detail/")[1] for e in R.log()]
    assert paths == ["3022/2/2023-02-24/2023-03-05"], paths
    # next day: from last stored (03-05) minus 3 days overlap to today+2
    R.reset()
    run("run", "--db", db, "--api-base", R.base, "--region", "3022", "--lang", "2", *FAST,
        env={"AV_FAKE_NOW": "2023-03-04T12:00:00Z"}, check=0)
    paths = [e["path"].split("/Detail/")[1] for e in R.log()]
    assert paths == ["3022/2/2023-03-02/2023-03-06"], paths


def test_a_failed_chunk_is_fetched_again_by_later_runs():
    R.reset()
    # one flaky request in a backfill: the older chunk fails, the newer ones store
    R.faults([{"match": "/3022/2/2023-03-01/2023-03-02", "status": 404, "body": "{}"}])
    db = tmpdb()
    run("backfill", "--db", db, "--api-base", R.base, *RANGE, "--chunk-days", "2", *FAST,
        check=1)
    assert query(db, "select count(*) from warning")[0][0] == 3
    st = json.loads(run("status", "--db", db, "--json", check=0).stdout)
    assert [(h["region_id"], h["lang"], h["endpoint"], h["from"], h["to"], h["days"])
            for h in st["holes"]] == [(3022, 2, "detail", "2023-03-01", "2023-03-02", 2)], st
    text = run("status", "--db", db, check=0).stdout
    assert "holes (days planned but not stored" in text and "2023-03-01 2023-03-02" in text
    # the next default run (state says 03-05 is stored) fetches the hole too
    R.reset()
    env = {"AV_FAKE_NOW": "2023-03-05T12:00:00Z"}
    p = run("run", "--db", db, "--api-base", R.base, "--region", "3022", "--lang", "2",
            "-X", "plan.overlap_days=0", *FAST, env=env, check=0)
    paths = sorted(e["path"].split("/Detail/")[1] for e in R.log())  # fetched in parallel
    assert paths == ["3022/2/2023-03-01/2023-03-02", "3022/2/2023-03-05/2023-03-07"], paths
    assert "1 of them for days earlier runs left unstored" in p.stderr, p.stderr
    assert query(db, "select count(*) from warning")[0][0] == 5
    assert json.loads(run("status", "--db", db, "--json", check=0).stdout)["holes"] == []
    assert "holes" not in run("status", "--db", db, check=0).stdout
    # a run killed before it could fetch leaves its whole plan as holes
    db2 = tmpdb()
    R.reset()
    R.faults([{"delay_ms": 60000, "times": -1}])
    proc = subprocess.Popen([BIN, "run", "--db", db2, "--api-base", R.base, *RANGE, *FAST],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 30
        while not R.log() and time.time() < deadline:  # the request is in flight
            time.sleep(0.02)
        assert R.log(), "the run never asked"
    finally:
        proc.kill()
        proc.wait()
    R.reset()
    st = json.loads(run("status", "--db", db2, "--json", check=0).stdout)
    assert [(h["from"], h["to"]) for h in st["holes"]] == [("2023-03-01", "2023-03-05")], st


def test_bad_input_gets_clear_errors():
    db = tmpdb()
    p = run("run", "--db", db, "--from", "2023-02-30", check=2)
    assert "2023-02-30" in p.stderr and "YYYY-MM-DD" in p.stderr
    p = run("run", "--db", db, "--region", "9999", check=2)
    assert "9999" in p.stderr and "avalanche regions" in p.stderr
    p = run("backfill", "--db", db, check=2)
    assert "--from and --to" in p.stderr
    conf = os.path.join(os.path.dirname(db), "a.conf")
    with open(conf, "w") as f:
        f.write("[fetch]\nretries = 2\nretires = 3\n")
    p = run("run", "--config", conf, "--db", db, check=2)
    assert "a.conf:3" in p.stderr and "fetch.retires" in p.stderr, p.stderr
    p = run("run", "-X", "fetch.concurrency=0", check=2)
    assert "1..64" in p.stderr
    p = run("status", "--db", "/nonexistent/dir/a.db", check=1)
    assert "/nonexistent/dir/a.db" in p.stderr
    p = run("export", "rows", "--db", db, check=2)
    assert "export needs a dataset" in p.stderr, p.stderr
    for name in ("warnings", "problems", "advices", "mountain_weather", "weather-hourly",
                 "caaml", "geojson"):
        assert name in p.stderr, (name, p.stderr)
    p = run("frobnicate", check=2)
    assert "unknown command" in p.stderr
    # and nothing was written to the database by any of it
    assert not os.path.exists(db) or query(db, "select count(*) from warning")[0][0] == 0


def test_regions_points_cover_the_active_regions_and_follow_the_config():
    with open(os.path.join(SHARED, "fixtures", "regions", "varsom_regions_2019-02-12.geojson"),
              encoding="utf-8") as f:
        feats = json.load(f)["features"]
    rings = {}  # region -> every ring, 4 decimals like the generated table
    for x in feats:
        g = x["geometry"]
        polys = [g["coordinates"]] if g["type"] == "Polygon" else g["coordinates"]
        rings[x["properties"]["omradeID"]] = [[(round(a, 4), round(b, 4)) for a, b in r]
                                              for p in polys for r in p]

    def inside(rid, lon, lat):  # even-odd over all rings
        odd = False
        for r in rings[rid]:
            for (x1, y1), (x2, y2) in zip(r, r[1:] + r[:1]):
                if (y1 > lat) != (y2 > lat) and x1 + (lat - y1) * (x2 - x1) / (y2 - y1) > lon:
                    odd = not odd
        return odd

    def by_region(pts):
        out = {}
        for p in pts:
            out.setdefault(p["region_id"], []).append((p["latitude"], p["longitude"]))
        return out

    regions = json.loads(run("regions", "--json", check=0).stdout)
    active = {r["id"] for r in regions if r["active"]}
    pts = json.loads(run("regions", "--points", "--json", check=0).stdout)
    per = by_region(pts)
    assert set(per) == {r["id"] for r in regions} == set(rings) and active < set(per)
    assert all(1 <= len(v) <= 5 for v in per.values()), per  # weather.max_points = 5
    for p in pts:
        assert list(p) == ["region_id", "latitude", "longitude"], p
        assert all(round(p[k], 4) == p[k] for k in ("latitude", "longitude")), p
        assert inside(p["region_id"], p["longitude"], p["latitude"]), p
    assert len({(p["latitude"], p["longitude"]) for p in pts}) == len(pts)  # none shared
    # -X caps the points; farthest-point sampling keeps the first two of the five
    two = by_region(json.loads(run("regions", "--points", "--json", "-X", "weather.max_points=2",
                                   check=0).stdout))
    assert set(two) == set(per) and all(1 <= len(v) <= 2 for v in two.values()), two
    assert all(set(two[r]) <= set(per[r]) for r in per)
    assert sum(map(len, two.values())) < len(pts)
    # the text table, for the active regions only, is the same points
    lines = run("regions", "--points", "--region", "A", check=0).stdout.splitlines()
    assert lines[0].split() == ["region_id", "latitude", "longitude"]
    rows = [(int(a), float(b), float(c)) for a, b, c in (ln.split() for ln in lines[1:])]
    assert rows == [(p["region_id"], p["latitude"], p["longitude"]) for p in pts
                    if p["region_id"] in active]
    # the environment reaches it; bad values are usage errors
    coarse = json.loads(run("regions", "--points", "--json",
                            env={"AVALANCHE_WEATHER_GRID_KM": "100"}, check=0).stdout)
    assert len(coarse) < len(pts) and set(by_region(coarse)) == set(per)
    p = run("regions", "--points", "-X", "weather.max_points=51", check=2)
    assert "weather.max_points" in p.stderr and "1..50" in p.stderr, p.stderr
    p = run("regions", "--points", "--region", "9999", check=2)
    assert "9999" in p.stderr


def test_readers_refuse_a_missing_database_and_check_where_they_write():
    missing = os.path.join(tempfile.mkdtemp(prefix="av-it-"), "nope.db")
    for cmd in (["status"], ["export", "warnings"], ["reprocess"]):
        p = run(*cmd, "--db", missing, check=1)
        assert "no database at %s (run `avalanche run` first" % missing in p.stderr, p.stderr
        assert not os.path.exists(missing) and not os.path.exists(missing + ".lock"), cmd
    # stdout that cannot take the output is an error, not exit 0
    R.reset()
    db = tmpdb()
    fixture_run(db)
    for cmd in (["status", "--db", db], ["regions"], ["datasets"], ["export", "warnings",
                                                                    "--db", db]):
        with open("/dev/full", "w") as full:
            p = subprocess.run([BIN, *cmd], stdout=full, stderr=subprocess.PIPE, text=True,
                               timeout=60)
        assert p.returncode == 1 and "No space left on device" in p.stderr, (cmd, p.stderr)
    want = export(db)
    d = tempfile.mkdtemp(prefix="av-it-")
    # through a symlink to its target; the link stays a link
    target = os.path.join(d, "target.jsonl")
    with open(target, "w") as f:
        f.write("old\n")
    os.chmod(target, 0o600)
    os.symlink("target.jsonl", os.path.join(d, "link.jsonl"))
    run("export", "warnings", "--db", db, "--out", os.path.join(d, "link.jsonl"), check=0)
    assert os.path.islink(os.path.join(d, "link.jsonl"))
    assert open(target).read() == want and os.stat(target).st_mode & 0o777 == 0o600
    # a dangling link: its target is created
    os.symlink("new.jsonl", os.path.join(d, "dangling.jsonl"))
    run("export", "warnings", "--db", db, "--out", os.path.join(d, "dangling.jsonl"), check=0)
    assert open(os.path.join(d, "new.jsonl")).read() == want
    assert os.path.islink(os.path.join(d, "dangling.jsonl"))
    # a FIFO is written, not replaced by a regular file
    fifo = os.path.join(d, "pipe")
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(open(fifo).read()), daemon=True)
    reader.start()
    run("export", "warnings", "--db", db, "--out", fifo, check=0)
    reader.join(timeout=30)
    assert got == [want] and stat.S_ISFIFO(os.stat(fifo).st_mode)
    run("export", "warnings", "--db", db, "--out", "/dev/null", check=0)
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    p = run("export", "warnings", "--db", db, "--out", "/dev/full", check=1)
    assert "No space left on device" in p.stderr, p.stderr
    p = run("export", "warnings", "--db", db, "--out", d, check=2)
    assert "is a directory" in p.stderr, p.stderr


def test_absurd_ranges_file_size_limits_and_config_files():
    # a --from before the first season is refused with the size of the plan
    db = tmpdb()
    p = run("backfill", "--db", db, "--api-base", R.base, "--from", "1900-01-01", "--to",
            "2023-01-01", "--region", "all", "--lang", "both", check=2)
    assert "--from 1900-01-01 is before the first season of the warnings (2012-12-01" in \
        p.stderr and "requests; use a later --from, or --force" in p.stderr, p.stderr
    assert not os.path.exists(db)
    R.reset()
    run("backfill", "--db", db, "--api-base", R.base, "--region", "3022", "--lang", "2",
        "--from", "2012-11-01", "--to", "2012-11-02", "--force", *FAST, check=0)
    # past `ulimit -f` the run fails with a message, not SIGXFSZ, and keeps nothing half-done
    import resource
    R.reset()
    db = tmpdb()
    p = subprocess.run([BIN, "run", "--db", db, "--api-base", R.base, *RANGE, *FAST],
                       capture_output=True, text=True, timeout=60,
                       preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE,
                                                             (64 << 10, 64 << 10)))
    assert p.returncode == 1, (p.returncode, p.stderr)
    assert "file size limit (ulimit -f)" in p.stderr, p.stderr
    assert query(db, "pragma integrity_check") == [("ok",)]
    fixture_run(db)  # the limit gone, the same database takes the run
    assert query(db, "select count(*) from warning")[0][0] == 5
    # a config file: a BOM is fine, a NUL byte and a key set twice are not
    d = tempfile.mkdtemp(prefix="av-it-")
    conf = os.path.join(d, "a.conf")
    with open(conf, "wb") as f:
        f.write(b"\xef\xbb\xbf[fetch]\r\nretries = 2\r\n")
    run("status", "--db", db, "--config", conf, check=0)
    with open(conf, "wb") as f:
        f.write(b"\xef\xbb\xbf[fetch]\nretries = 21\n")  # still checked after the BOM
    assert "out of range 0..20" in run("status", "--db", db, "--config", conf, check=2).stderr
    with open(conf, "wb") as f:
        f.write(b"[fetch]\nretries = 4\0junk\n")
    p = run("status", "--db", db, "--config", conf, check=2)
    assert conf + ":2: a NUL byte" in p.stderr, p.stderr
    with open(conf, "wb") as f:
        f.write(b"[fetch]\nretries = 4\n[fetch]\nretries = 5\n")
    p = run("status", "--db", db, "--config", conf, check=2)
    assert "fetch.retries is set twice in this file (first on line 2)" in p.stderr, p.stderr
    # a 1 MB response header is named for what it is, not "Out of memory", and not retried
    R.reset()
    R.faults([{"headers": {"X-Big": "a" * (1 << 20)}, "times": -1}])
    p = fixture_run(tmpdb(), check=1)
    R.faults([])
    assert "headers are larger than libcurl accepts" in p.stderr, p.stderr
    assert len(R.log()) == 1, R.log()
    # a raw control byte inside a JSON string is invalid JSON (RFC 8259)
    R.reset()
    R.faults([{"body": json.dumps(detail_elements()).replace("Moderate", "Mode\nrate", 1)}])
    db = tmpdb()
    p = fixture_run(db, check=1)
    assert "raw control byte 0x0a inside a string" in p.stderr, p.stderr


def test_env_overrides_and_help():
    R.reset()
    db = tmpdb()
    run("run", "--db", db, *RANGE, *FAST, env={"AVALANCHE_API_BASE": R.base}, check=0)
    assert query(db, "select count(*) from warning")[0][0] == 5
    assert "AvalancheWarningByRegion" not in run("--help", check=0).stdout
    conf = run("help-config", check=0).stdout  # a valid, sectioned config file
    assert "\n[store]\n" in conf and "\npath = avalanche.db\n" in conf, conf
    sections = [l for l in conf.splitlines() if l.startswith("[")]
    assert len(sections) == len(set(sections)), sections  # each section once


def test_kill_9_midway_then_rerun_matches_clean_run():
    data = tempfile.mkdtemp(prefix="av-synth-")
    regions = sorted(synth.REGIONS)[:12]
    synth.write_jsonl(os.path.join(data, "synthetic_kill.jsonl"), regions,
                      dt.date(2023, 1, 1), 40, langs=(1,))
    srv = Replay(data)
    try:
        args = ["--api-base", srv.base, "--region", ",".join(map(str, regions)), "--lang", "1",
                "--from", "2023-01-01", "--to", "2023-02-09", "--chunk-days", "5",
                "--concurrency", "2", *FAST]
        clean = tmpdb()
        run("run", "--db", clean, *args, check=0)
        want = export(clean), export(clean, "problems")
        assert len(want[0].splitlines()) == 480

        srv.faults([{"delay_ms": 40, "times": -1}])
        db = tmpdb()
        proc = subprocess.Popen([BIN, "run", "--db", db] + args, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        wait_stored(db, proc, 1)  # killed once something is stored, not after a guess
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        partial = query(db, "select count(*) from warning")[0][0]
        assert 0 < partial < 480, partial
        srv.faults([])
        run("run", "--db", db, *args, check=0)
        assert (export(db), export(db, "problems")) == want
        assert query(db, "select count(*) from warning")[0][0] == 480
        assert query(db, "pragma integrity_check") == [("ok",)]
        # the killed run is recorded as interrupted, the re-run as ok
        assert query(db, "select status from run order by id") == \
            [("interrupted",), ("ok",)]
    finally:
        srv.stop()


def test_sigterm_stops_cleanly_and_marks_run_interrupted():
    data = tempfile.mkdtemp(prefix="av-synth-")
    synth.write_jsonl(os.path.join(data, "synthetic_term.jsonl"), [3011], dt.date(2023, 1, 1),
                      60, langs=(1,))
    srv = Replay(data)
    try:
        srv.faults([{"delay_ms": 100, "times": -1}])
        db = tmpdb()
        proc = subprocess.Popen([BIN, "run", "--db", db, "--api-base", srv.base, "--region",
                                 "3011", "--lang", "1", "--from", "2023-01-01", "--to",
                                 "2023-03-01", "--chunk-days", "1", "--concurrency", "1",
                                 "--no-progress"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_stored(db, proc, 1)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 3, (proc.returncode, err)
        assert query(db, "select status from run") == [("interrupted",)]
        n = query(db, "select count(*) from warning")[0][0]
        assert 0 < n < 60 and "interrupted" in err, (n, err)
    finally:
        srv.stop()


def test_both_languages_and_progress_bar():
    R.reset()
    db = tmpdb()
    p = run("backfill", "--db", db, "--api-base", R.base, "--region", "3022", "--lang", "both",
            "--from", "2023-03-01", "--to", "2023-03-05", "--progress", *FAST[:-1], check=0)
    # two requests: lang 1 (nothing recorded: an empty array) and lang 2
    paths = sorted(e["path"].split("/Detail/")[1] for e in R.log())
    assert paths == ["3022/1/2023-03-01/2023-03-05", "3022/2/2023-03-01/2023-03-05"], paths
    assert "2/2 100%" in p.stderr and "[==" in p.stderr, p.stderr
    assert query(db, "select lang, count(*) from warning group by lang") == [(2, 5)]
    assert query(db, "select count(*) from fetch_state") == [(2,)]
    assert query(db, "select kind from run") == [("backfill",)]


def test_every_dataset_exports_and_the_new_detail_fields_are_kept():
    R.reset()
    db = tmpdb()
    fixture_run(db)
    els = detail_elements()
    rows = [json.loads(line) for line in export(db).splitlines()]
    r, src = rows[1], els[1]
    # the Detail fields the transform used to drop (schema 4)
    assert r["previous_reg_id"] == src["PreviousWarningRegId"]
    assert r["county_ids"] == ",".join(c["Id"] for c in src["CountyList"])
    assert r["county_names"] == ",".join(c["Name"] for c in src["CountyList"])
    assert r["municipality_names"] == ",".join(m["Name"] for m in src["MunicipalityList"])
    assert (r["exposed_height_1"], r["exposed_height_fill"]) == \
        (src["ExposedHeight1"], src["ExposedHeightFill"])
    assert r["extreme_weather_id"] is None and r["extreme_weather_name"] is None
    assert r["problems"][0]["text"] == \
        src["AvalancheProblems"][0]["TriggerSenitivityPropagationDestuctiveSizeText"].strip()
    assert "raw_hash" not in r and "endpoint" not in r
    # advices and mountain weather, in both formats, from the same rows as the tables
    adv = [json.loads(line) for line in export(db, "advices").splitlines()]
    assert len(adv) == query(db, "select count(*) from advice")[0][0] == 13
    assert [a["advice_id"] for a in adv if a["valid_date"] == "2023-03-02"] == \
        [a["AdviceID"] for a in src["AvalancheAdvices"]]
    assert adv[0]["text"] == els[0]["AvalancheAdvices"][0]["Text"].strip()
    mw = [json.loads(line) for line in export(db, "mountain_weather").splitlines()]
    two = [m for m in mw if m["valid_date"] == "2023-03-02"][0]
    assert (two["rain_most_exposed_mm"], two["wind_speed"], two["temperature_min_c"]) == \
        (6, "Fresh breeze", -8)
    assert two["cloud_cover_name"] == "Partly cloudy" and two["other"] is None
    csv_rows = list(csv.reader(io.StringIO(export(db, "mountain_weather", "csv"), newline="")))
    assert csv_rows[0][:5] == ["region_id", "valid_date", "lang", "last_saved", "cloud_cover_id"]
    assert len(csv_rows) == 6 and csv_rows[2][csv_rows[0].index("wind_speed")] == "Fresh breeze"
    # the data dictionary lists the same fields the export writes
    ds = json.loads(run("datasets", "--json").stdout)
    names = {d["name"]: [f["name"] for f in d["fields"] if f["exported"]] for d in ds}
    assert list(rows[0].keys()) == names["warnings"] + ["problems"]
    assert list(adv[0].keys()) == names["advices"]


def test_datasets_doc_is_generated_from_the_descriptions():
    with open(os.path.join(ROOT, "docs", "datasets.md"), encoding="utf-8") as f:
        doc = f.read()
    begin = doc.index("-->\n", doc.index("<!-- BEGIN generated")) + 4
    end = doc.index("<!-- END generated -->")
    assert doc[begin:end] == run("datasets", "--markdown").stdout, \
        "docs/datasets.md is stale: run `make docs`"


def check_fixture_run(db, now, check=0):
    """fixture_run with AV_FAKE_NOW = now."""
    return run("run", "--db", db, "--api-base", R.base, *RANGE, *FAST,
               env={"AV_FAKE_NOW": now}, check=check)


def status_check(db, *extra, now=None, check=None):
    """status --check for region 3022 (what fixture_run stores); now = AV_FAKE_NOW."""
    return run("status", "--check", "--db", db, "--region", "3022", *extra,
               env={"AV_FAKE_NOW": now} if now else None, check=check)


def test_status_check_ok_stale_in_season_and_out_of_season():
    R.reset()
    db = tmpdb()
    check_fixture_run(db, "2023-03-04T12:00:00Z")  # stores 03-01 .. 03-05
    p = status_check(db, now="2023-03-04T12:00:00Z", check=0)
    assert p.stdout.startswith("AVALANCHE OK - ") and p.stdout.count("\n") == 1, p.stdout
    assert "| regions=1 stale=0 holes=0" in p.stdout, p.stdout
    # two days after the last stored day: 03-05 ended at 23:00Z, 37 h before
    p = status_check(db, now="2023-03-07T12:00:00Z", check=2)
    assert p.stdout.startswith(
        "AVALANCHE CRITICAL - region 3022 stale 37 h (check.stale_hours 36)"), p.stdout
    assert p.stdout.count("\n") == 1, p.stdout
    # the threshold is a setting, and so is the season
    status_check(db, "-X", "check.stale_hours=48", now="2023-03-07T12:00:00Z", check=0)
    p = status_check(db, now="2023-06-10T12:00:00Z", check=0)
    assert p.stdout.startswith("AVALANCHE OK - ") and "out of season" in p.stdout, p.stdout
    p = status_check(db, "-X", "check.season_start=11-01", "-X", "check.season_end=03-06",
                     now="2023-03-07T12:00:00Z", check=0)
    assert "out of season" in p.stdout, p.stdout
    # Nagios' UNKNOWN (3) for what keeps the check from running; 2 stays CRITICAL
    p = status_check(db, "-X", "check.season_end=5-31", check=3)
    assert p.stdout.startswith("AVALANCHE UNKNOWN - check.season_start"), p.stdout
    run("status", "--check", "--db", db, "--no-such-flag", check=3)
    run("status", "--db", db, "--no-such-flag", check=2)  # without --check: as ever
    p = run("status", "--check", "--db", tmpdb(), check=3)
    assert p.stdout.startswith("AVALANCHE UNKNOWN - cannot open the database"), p.stdout
    assert "--check" in run("--help", check=0).stdout


def test_status_check_failed_run_is_critical():
    R.reset()
    db = tmpdb()
    now = "2023-03-04T12:00:00Z"
    check_fixture_run(db, now)
    R.faults([{"status": 404, "body": "{\"Message\":\"gone\"}", "times": -1}])
    check_fixture_run(db, now, check=1)
    R.faults([])
    status = query(db, "select status from run order by id desc limit 1")[0][0]
    assert status == "failed", status
    p = status_check(db, now=now, check=2)
    assert p.stdout.startswith("AVALANCHE CRITICAL - last run 2 failed: "), p.stdout
    # a good run afterwards clears it
    check_fixture_run(db, now)
    status_check(db, now=now, check=0)


def test_status_check_hole_is_a_warning():
    R.reset()
    R.faults([{"match": "/3022/2/2023-03-01/2023-03-02", "status": 404, "body": "{}"}])
    db = tmpdb()
    run("backfill", "--db", db, "--api-base", R.base, *RANGE, "--chunk-days", "2", *FAST,
        env={"AV_FAKE_NOW": "2023-03-04T12:00:00Z"}, check=1)
    R.faults([])
    p = status_check(db, now="2023-03-04T12:00:00Z", check=1)
    assert p.stdout.startswith("AVALANCHE WARNING - "), p.stdout
    assert "1 hole (region 3022 2023-03-01..2023-03-02 not stored)" in p.stdout, p.stdout
    assert "holes=1" in p.stdout, p.stdout



def test_log_format_json_is_one_object_per_line():
    """--log-format json: every stderr line is a JSON object with time,
    level, component, message and fields; quotes and bytes survive."""
    R.reset()
    R.faults([{"match": "/Detail/3022/2/2023-03-01", "status": 404}])
    db = tmpdb()
    p = fixture_run(db, "--log-format", "json", check=1)
    lines = [x for x in p.stderr.splitlines() if x.strip()]
    assert lines, p.stderr
    objs = [json.loads(x) for x in lines]
    for o in objs:
        assert set(o) == {"time", "level", "component", "message", "fields"}, o
        assert o["time"].endswith("Z") and o["fields"]["command"] == "run", o
        assert isinstance(o["fields"]["pid"], int)
    assert any(o["level"] == "info" and o["component"] == "run" for o in objs), objs
    assert any(o["level"] == "error" and "404" in o["message"] for o in objs), objs
    # the same setting from the configuration
    p = fixture_run(tmpdb(), "-X", "log.format=json", check=0)
    assert p.stderr.strip() and all(json.loads(x) for x in p.stderr.splitlines() if x.strip())
    # text stays the default
    p = fixture_run(tmpdb(), check=0)
    assert "avalanche: info: run:" in p.stderr and not p.stderr.lstrip().startswith("{")


def test_under_the_journal_lines_carry_the_priority_and_no_timestamp():
    """JOURNAL_STREAM naming our stderr (systemd): no second timestamp, a
    syslog priority prefix per line; without it a file gets timestamps."""
    R.reset()
    db = tmpdb()
    with tempfile.TemporaryFile() as err:
        st = os.fstat(err.fileno())
        env = dict(os.environ, JOURNAL_STREAM="%d:%d" % (st.st_dev, st.st_ino))
        subprocess.run([BIN, "run", "--db", db, "--api-base", R.base, *RANGE, *FAST],
                       stdout=subprocess.DEVNULL, stderr=err, env=env, timeout=120, check=True)
        err.seek(0)
        text = err.read().decode()
    assert text.startswith("<6>avalanche: info: "), text
    assert all(x.startswith("<") for x in text.splitlines() if x), text
    with tempfile.TemporaryFile() as err:  # a file that is not the journal
        env = dict(os.environ, JOURNAL_STREAM="1:1")
        subprocess.run([BIN, "run", "--db", tmpdb(), "--api-base", R.base, *RANGE, *FAST],
                       stdout=subprocess.DEVNULL, stderr=err, env=env, timeout=120, check=True)
        err.seek(0)
        text = err.read().decode()
    assert text[:4].isdigit() and " avalanche: info: " in text.splitlines()[0], text


# ---- publication history and as-of exports (issue 14) ----
#
# SYNTHETIC re-issue, made here from the recorded fixture: the 2023-03-02
# warning as if NVE had first published it the afternoon before (another
# PublishTime, text, level and only its first problem), then re-issued it
# as recorded (09:11:14.2 local = 08:11:14.2Z). Fetched at two instants.
V1_PUB_LOCAL = "2023-03-01T16:05:00"       # 15:05Z
V1_PUB = "2023-03-01T15:05:00.000Z"
V2_PUB = "2023-03-02T08:11:14.200Z"       # the recorded PublishTime
SEEN1, SEEN2 = "2023-03-01T15:30:00.000Z", "2023-03-02T09:00:00.000Z"


def synthetic_first_publication():
    els = detail_elements()
    v1 = dict(els[1], PublishTime=V1_PUB_LOCAL, MainText="SYNTHETIC FIRST PUBLICATION",
              DangerLevel="3", AvalancheProblems=els[1]["AvalancheProblems"][:1])
    return els[:1] + [v1]  # what the first fetch saw: 03-01 and the first 03-02


def reissued_db(order=("v1", "v2")):
    """A db that fetched the synthetic first publication and the recorded
    re-issue, in the given order (each run at its own fake instant)."""
    db = tmpdb()
    for which in order:
        R.reset()
        if which == "v1":
            R.faults([{"match": "/Detail/3022/2/", "body": json.dumps(synthetic_first_publication())}])
        run("run", "--db", db, "--api-base", R.base, *RANGE, *FAST, check=0,
            env={"AV_FAKE_NOW": SEEN1 if which == "v1" else SEEN2})
    R.reset()
    return db


def jsonl(text):
    return [json.loads(x) for x in text.splitlines()]


def by_date(rows):
    return {r["valid_date"]: r for r in rows}


def test_as_of_before_between_and_after_a_reissue():
    db = reissued_db()
    plain = export(db)
    # before the first publication of 03-02: only 03-01 (published 02-28) was out
    before = by_date(jsonl(export(db, "warnings", "jsonl", "--as-of", "2023-03-01T15:00:00Z")))
    assert sorted(before) == ["2023-03-01"], sorted(before)
    # between: the first publication, with its one problem (an offset works too)
    mid = by_date(jsonl(export(db, "warnings", "jsonl", "--as-of", "2023-03-02T09:00:00+01:00")))
    assert mid["2023-03-02"]["main_text"] == "SYNTHETIC FIRST PUBLICATION", mid["2023-03-02"]
    assert mid["2023-03-02"]["publish_time"] == V1_PUB and mid["2023-03-02"]["danger_level"] == 3
    assert len(mid["2023-03-02"]["problems"]) == 1
    assert "2023-03-03" not in mid  # published 2023-03-02T14:31Z
    # the superseded version comes back whole: as a db that saw only it
    only_v1 = reissued_db(order=("v1",))
    day = ["--from", "2023-03-02", "--to", "2023-03-02"]
    for ds in ("warnings", "problems"):
        assert export(db, ds, "jsonl", "--as-of", "2023-03-01T16:00:00Z", *day) == \
            export(only_v1, ds, "jsonl", *day)
    # exactly at the re-issue: the re-issue (not after T = at T counts)
    at = by_date(jsonl(export(db, "warnings", "jsonl", "--as-of", V2_PUB)))
    assert at["2023-03-02"]["publish_time"] == V2_PUB
    # after every publication: the latest, byte for byte the plain export
    after = export(db, "warnings", "jsonl", "--as-of", "2030-01-01T00:00:00Z")
    assert after == plain
    # the clean tables still hold only the latest
    assert query(db, "select main_text like 'Be careful%' from warning where "
                 "valid_date = '2023-03-02'") == [(1,)]
    # problems follow their warning
    pm = [r for r in jsonl(export(db, "problems", "jsonl", "--as-of", "2023-03-01T16:00:00Z"))
          if r["valid_date"] == "2023-03-02"]
    assert [p["problem_id"] for p in pm] == [1], pm
    pa = [r for r in jsonl(export(db, "problems", "jsonl", "--as-of", "2023-03-02T12:00Z"))
          if r["valid_date"] == "2023-03-02"]
    assert [p["problem_id"] for p in pa] == [1, 2], pa
    # CSV and the filters go with --as-of
    c = list(csv.DictReader(io.StringIO(export(
        db, "warnings", "csv", "--as-of", "2023-03-01T16:00:00Z", "--region", "3022",
        "--lang", "2", "--from", "2023-03-02", "--to", "2023-03-02"))))
    assert [(r["valid_date"], r["main_text"], r["problem_count"]) for r in c] == \
        [("2023-03-02", "SYNTHETIC FIRST PUBLICATION", "1")], c
    assert len(export(db, "warnings", "csv", "--as-of", "2023-03-01T16:00:00Z", "--lang", "1")
               .splitlines()) == 1  # the header only: nothing in Norwegian


def test_history_lists_every_publication_with_first_seen_and_superseded_at():
    db = reissued_db()
    rows = jsonl(export(db, "warnings", "jsonl", "--history"))
    d2 = [r for r in rows if r["valid_date"] == "2023-03-02"]
    assert [(r["version"], r["publish_time"], r["first_seen"], r["superseded_at"])
            for r in d2] == [(1, V1_PUB, SEEN1, V2_PUB), (2, V2_PUB, SEEN2, None)], d2
    assert d2[0]["main_text"] == "SYNTHETIC FIRST PUBLICATION" and len(d2[0]["problems"]) == 1
    assert len(d2[1]["problems"]) == 2
    # 03-01 was served by both fetches: one version, first seen by the first
    d1 = [r for r in rows if r["valid_date"] == "2023-03-01"]
    assert [(r["version"], r["first_seen"], r["superseded_at"]) for r in d1] == \
        [(1, SEEN1, None)], d1
    assert len(rows) == 6  # 5 keys, one of them published twice
    # problems: each version's rows, with its publish_time and version
    ph = [r for r in jsonl(export(db, "problems", "jsonl", "--history"))
          if r["valid_date"] == "2023-03-02"]
    assert [(r["version"], r["publish_time"], r["problem_id"]) for r in ph] == \
        [(1, V1_PUB, 1), (2, V2_PUB, 1), (2, V2_PUB, 2)], ph
    # CSV: the warnings' columns, then version, first_seen, superseded_at
    text = export(db, "warnings", "csv", "--history", "--from", "2023-03-02", "--to",
                  "2023-03-02")
    head = text.splitlines()[0].split(",")
    assert head[-4:] == ["version", "first_seen", "superseded_at", "problem_count"], head
    c = list(csv.DictReader(io.StringIO(text)))
    assert [(r["version"], r["superseded_at"]) for r in c] == [("1", V2_PUB), ("2", "")], c
    # out of order (the re-issue fetched first, the older one served later):
    # the same history, the clean tables keep the re-issue
    db2 = reissued_db(order=("v2", "v1"))
    h2 = [r for r in jsonl(export(db2, "warnings", "jsonl", "--history"))
          if r["valid_date"] == "2023-03-02"]
    assert [(r["version"], r["publish_time"], r["superseded_at"]) for r in h2] == \
        [(1, V1_PUB, V2_PUB), (2, V2_PUB, None)], h2
    assert [r["first_seen"] for r in h2] == [SEEN1, SEEN2]
    assert export(db2) == export(db)


def test_reprocess_rebuilds_the_same_history():
    db = reissued_db()
    views = lambda: (export(db, "warnings", "jsonl", "--history"),  # noqa: E731
                     export(db, "problems", "csv", "--history"),
                     export(db, "warnings", "csv", "--as-of", "2023-03-01T16:00:00Z"),
                     export(db, "warnings", "jsonl", "--as-of", "2023-03-02T12:00:00Z"),
                     export(db))
    before = views()
    con = sqlite3.connect(db)
    con.execute("delete from warning_version")  # damaged: reprocess rebuilds it from raw
    con.commit()
    con.close()
    run("reprocess", "--db", db, "--api-base", "http://127.0.0.1:9/nothing",
        env={"AV_FAKE_NOW": "2031-01-01T00:00:00Z"}, check=0)
    assert views() == before  # first_seen comes from the raw responses' fetch times


def test_a_schema_7_file_migrates_and_keeps_its_warnings_as_first_versions():
    # AV_OLD_BIN: an avalanche of schema 7 (e.g. a worktree of the commit
    # before issue 14). Without one, the file is made schema 7 here: the
    # tables of versions 1-7 are generated from the same descriptions, so
    # dropping the history and setting user_version 7 gives the same file.
    old = os.environ.get("AV_OLD_BIN", "")
    R.reset()
    db = tmpdb()
    subprocess.run([old or BIN, "run", "--db", db, "--api-base", R.base, *RANGE, *FAST],
                   env=dict(os.environ, AV_FAKE_NOW=SEEN2), capture_output=True, check=True)
    if not old:
        con = sqlite3.connect(db)
        con.executescript("drop table warning_version; pragma user_version = 7;")
        con.close()
    assert query(db, "pragma user_version") == [(7,)]
    assert query(db, "select count(*) from sqlite_master where name = 'warning_version'") == \
        [(0,)]
    plain = export(db)  # the new binary opens and migrates it
    assert query(db, "pragma user_version")[0][0] >= 8
    rows = jsonl(export(db, "warnings", "jsonl", "--history"))
    assert [(r["version"], r["first_seen"], r["superseded_at"]) for r in rows] == \
        [(1, SEEN2, None)] * 5, rows
    assert export(db, "warnings", "jsonl", "--as-of", "2030-01-01T00:00:00Z") == plain
    # a later re-issue builds on it
    R.faults([{"match": "/Detail/3022/2/", "body": json.dumps([dict(
        detail_elements()[1], PublishTime="2023-03-02T18:00:00", MainText="SYNTHETIC LATER")])}])
    fixture_run(db)
    R.reset()
    d2 = [r for r in jsonl(export(db, "warnings", "jsonl", "--history"))
          if r["valid_date"] == "2023-03-02"]
    assert [(r["version"], r["main_text"][:14]) for r in d2] == \
        [(1, "Be careful in "), (2, "SYNTHETIC LATE")], d2


def test_bad_as_of_and_history_options_are_refused():
    db = tmpdb()
    R.reset()
    fixture_run(db)
    for bad in ("2023-03-01", "2023-03-01T16:00:00", "yesterday", "2023-13-01T00:00:00Z",
                "2023-03-01T25:00:00Z", "2023-03-01T16:00:00+0", "2023-03-01T16:00:00+25:00",
                "2023-03-01T16:00:00Zjunk", ""):
        p = run("export", "warnings", "--db", db, "--as-of", bad)
        assert p.returncode == 2 and "--as-of" in p.stderr and not p.stdout, (bad, p.stderr)
    p = run("export", "warnings", "--db", db, "--as-of")
    assert p.returncode == 2 and "--as-of" in p.stderr, p.stderr
    for args in (["advices", "--history"], ["weather", "--as-of", "2023-03-01T00:00Z"],
                 ["warnings", "--history", "--as-of", "2023-03-01T00:00Z"],
                 ["warning_versions"]):
        p = run("export", *args, "--db", db)
        assert p.returncode == 2 and ("--history" in p.stderr or "--as-of" in p.stderr), \
            (args, p.stderr)
    # accepted forms: Z, lower-case z, offsets with and without a colon, no seconds
    for good in ("2023-03-02T09:00:00Z", "2023-03-02T09:00:00.5z", "2023-03-02T10:00+01:00",
                 "2023-03-02T10:00:00+0100", "2023-03-02T04:00:00-05", "2023-03-02T09:00Z"):
        p = run("export", "warnings", "--db", db, "--as-of", good, check=0)
        assert [r["valid_date"] for r in jsonl(p.stdout)] == ["2023-03-01", "2023-03-02"], \
            (good, p.stdout[:200])
    assert "--as-of" in run("--help", check=0).stdout and "--history" in run("--help").stdout


# Schema 9 exactly as the avalanche before names were stored once wrote it
# (`sqlite3 FILE .schema` of a file made by 03cb27e): history, kept here to
# prove that its files migrate (issue 13).
V9_DDL = (
    'CREATE TABLE raw_response (  id INTEGER PRIMARY KEY,  source TEXT NOT NULL, endpoint '
    'TEXT NOT NULL, lang INTEGER, api_version TEXT,  url TEXT NOT NULL, region_id INTEGER, '
    'from_date TEXT, to_date TEXT,  fetched_at TEXT NOT NULL, http_status INTEGER, body BLOB '
    'NOT NULL, body_id INTEGER REFERENCES raw_body (id));\n'
    'CREATE TABLE rejected (  id INTEGER PRIMARY KEY, stage TEXT NOT NULL, reason TEXT NOT '
    'NULL,  region_id INTEGER, lang INTEGER, raw_id INTEGER, raw TEXT, hash TEXT NOT NULL,  '
    'first_seen TEXT NOT NULL, last_seen TEXT NOT NULL, seen INTEGER NOT NULL DEFAULT 1,  '
    'UNIQUE (stage, hash));\n'
    'CREATE TABLE fetch_state (  region_id INTEGER NOT NULL, lang INTEGER NOT NULL, endpoint '
    'TEXT NOT NULL,  last_date TEXT, last_fetch TEXT, last_status TEXT, last_error TEXT,  '
    'PRIMARY KEY (region_id, lang, endpoint));\n'
    'CREATE TABLE run (  id INTEGER PRIMARY KEY, kind TEXT NOT NULL, args TEXT, pid INTEGER,'
    '  started_at TEXT NOT NULL,  ended_at TEXT, status TEXT NOT NULL, units_total INTEGER '
    'DEFAULT 0,  units_ok INTEGER DEFAULT 0, units_rejected INTEGER DEFAULT 0,  units_failed '
    'INTEGER DEFAULT 0, warnings_stored INTEGER DEFAULT 0,  warnings_unchanged INTEGER '
    'DEFAULT 0, warnings_rejected INTEGER DEFAULT 0,  error TEXT, requests INTEGER NOT NULL '
    'DEFAULT 0, retries INTEGER NOT NULL DEFAULT 0);\n'
    'CREATE TABLE warning (region_id INTEGER NOT NULL, region_name TEXT, region_type TEXT, '
    'valid_date TEXT NOT NULL, lang INTEGER NOT NULL, reg_id INTEGER, danger_level INTEGER '
    'NOT NULL CHECK (danger_level BETWEEN 0 AND 5), danger_level_name TEXT, valid_from TEXT '
    'NOT NULL, valid_to TEXT, publish_time TEXT, next_warning_time TEXT, danger_increase_time'
    ' TEXT, danger_decrease_time TEXT, is_tendency INTEGER, main_text TEXT, avalanche_danger '
    'TEXT, emergency_warning TEXT, snow_surface TEXT, current_weak_layers TEXT, '
    'latest_avalanche_activity TEXT, latest_observations TEXT, author TEXT, utm_zone INTEGER,'
    ' utm_east INTEGER, utm_north INTEGER, previous_reg_id INTEGER, county_ids TEXT, '
    'municipality_ids TEXT, endpoint TEXT NOT NULL, raw_hash TEXT, raw_id INTEGER, '
    'ingested_at TEXT NOT NULL, county_names TEXT, municipality_names TEXT, exposed_height_1 '
    'INTEGER, exposed_height_fill INTEGER, extreme_weather_id INTEGER, extreme_weather_name '
    'TEXT, PRIMARY KEY (region_id, valid_date, lang));\n'
    'CREATE TABLE problem (region_id INTEGER NOT NULL, valid_date TEXT NOT NULL, lang INTEGER'
    ' NOT NULL, problem_id INTEGER NOT NULL, problem_type_id INTEGER, problem_type_name TEXT,'
    ' avalanche_type_id INTEGER, avalanche_type_name TEXT, ext_id INTEGER, ext_name TEXT, '
    'cause_id INTEGER, cause_name TEXT, probability_id INTEGER, probability_name TEXT, '
    'trigger_simple_id INTEGER, trigger_simple_name TEXT, trigger_sensitivity_id INTEGER, '
    'trigger_sensitivity_name TEXT, destructive_size_id INTEGER, destructive_size_name TEXT, '
    'propagation_id INTEGER, propagation_name TEXT, aspects TEXT, exposed_height_fill '
    'INTEGER, exposed_height_1 INTEGER, exposed_height_2 INTEGER, exposed_min_m INTEGER, '
    'exposed_max_m INTEGER, exposed_heights TEXT, danger_level INTEGER, danger_level_name '
    'TEXT, text TEXT, aspects_raw TEXT, PRIMARY KEY (region_id, valid_date, lang, '
    'problem_id)) WITHOUT ROWID;\n'
    'CREATE TABLE advice (region_id INTEGER NOT NULL, valid_date TEXT NOT NULL, lang INTEGER '
    'NOT NULL, advice_id INTEGER NOT NULL, image_url TEXT, text TEXT, PRIMARY KEY (region_id,'
    ' valid_date, lang, advice_id)) WITHOUT ROWID;\n'
    'CREATE TABLE mountain_weather (region_id INTEGER NOT NULL, valid_date TEXT NOT NULL, '
    'lang INTEGER NOT NULL, last_saved TEXT, cloud_cover_id INTEGER, cloud_cover_name TEXT, '
    'comment TEXT, texts TEXT, rain_most_exposed_mm NUMERIC, rain_average_mm NUMERIC, '
    'wind_speed NUMERIC, wind_direction NUMERIC, wind_shift_speed NUMERIC, '
    'wind_shift_direction NUMERIC, wind_shift_start_hour NUMERIC, wind_shift_end_hour '
    'NUMERIC, temperature_min_c NUMERIC, temperature_max_c NUMERIC, temperature_masl NUMERIC,'
    ' freezing_level_masl NUMERIC, freezing_level_start_hour NUMERIC, freezing_level_end_hour'
    ' NUMERIC, rain_snow_line_masl NUMERIC, rain_snow_line_start_hour NUMERIC, '
    'rain_snow_line_end_hour NUMERIC, other TEXT, PRIMARY KEY (region_id, valid_date, lang));\n'
    'CREATE TABLE run_region (  run_id INTEGER NOT NULL, region_id INTEGER NOT NULL,  '
    'units_ok INTEGER NOT NULL, units_rejected INTEGER NOT NULL,  units_failed INTEGER NOT '
    'NULL, warnings_stored INTEGER NOT NULL,  warnings_unchanged INTEGER NOT NULL, '
    'warnings_rejected INTEGER NOT NULL,  error TEXT, PRIMARY KEY (run_id, region_id)) '
    'WITHOUT ROWID;\n'
    'CREATE TABLE fetch_hole (  region_id INTEGER NOT NULL, lang INTEGER NOT NULL, endpoint '
    'TEXT NOT NULL,  from_date TEXT NOT NULL, to_date TEXT NOT NULL, since TEXT NOT NULL,  '
    'PRIMARY KEY (region_id, lang, endpoint, from_date)) WITHOUT ROWID;\n'
    'CREATE TABLE raw_body (  id INTEGER PRIMARY KEY, hash TEXT NOT NULL UNIQUE, size INTEGER'
    ' NOT NULL,  body BLOB NOT NULL, codec INTEGER NOT NULL DEFAULT 0);\n'
    'CREATE TABLE api_usage (  api TEXT NOT NULL, hour TEXT NOT NULL, requests INTEGER NOT '
    'NULL,  weight REAL NOT NULL, PRIMARY KEY (api, hour)) WITHOUT ROWID;\n'
    'CREATE TABLE weather_daily (region_id INTEGER NOT NULL, date TEXT NOT NULL, points '
    'INTEGER NOT NULL, hours INTEGER NOT NULL, source TEXT NOT NULL, temperature_2m_min REAL,'
    ' temperature_2m_mean REAL, temperature_2m_max REAL, precipitation_sum REAL, rain_sum '
    'REAL, snowfall_sum REAL, snow_depth_mean REAL, wind_speed_10m_mean REAL, '
    'wind_speed_10m_max REAL, wind_gusts_10m_max REAL, wind_direction_10m_dominant REAL, '
    'relative_humidity_2m_mean REAL, freezing_level_height_mean REAL, computed_at TEXT NOT '
    'NULL, PRIMARY KEY (region_id, date)) WITHOUT ROWID;\n'
    'CREATE TABLE weather_hourly (region_id INTEGER NOT NULL, latitude REAL NOT NULL, '
    'longitude REAL NOT NULL, time TEXT NOT NULL, source TEXT NOT NULL, fetched_at TEXT NOT '
    'NULL, temperature_2m REAL, relative_humidity_2m REAL, precipitation REAL, rain REAL, '
    'snowfall REAL, snow_depth REAL, wind_speed_10m REAL, wind_direction_10m REAL, '
    'wind_gusts_10m REAL, freezing_level_height REAL, PRIMARY KEY (region_id, latitude, '
    'longitude, time)) WITHOUT ROWID;\n'
    'CREATE TABLE warning_version (region_id INTEGER NOT NULL, valid_date TEXT NOT NULL, lang'
    ' INTEGER NOT NULL, publish_time TEXT NOT NULL, first_seen TEXT NOT NULL, endpoint TEXT '
    'NOT NULL, raw_hash TEXT, record TEXT, PRIMARY KEY (region_id, valid_date, lang, '
    'publish_time));\n'
)


def schema9_copy(src, dst):
    """dst: a schema-9 file holding src's rows, as the older avalanche stored
    them (every name as its text in the documented table)."""
    con = sqlite3.connect(dst)
    con.executescript(V9_DDL)
    con.execute("ATTACH ? AS n", (src,))
    for (t,) in con.execute("SELECT name FROM main.sqlite_master WHERE type = 'table' "
                            "AND name NOT LIKE 'sqlite_%'").fetchall():
        cols = ", ".join(r[1] for r in con.execute("PRAGMA main.table_info(%s)" % t))
        con.execute("INSERT INTO main.%s (%s) SELECT %s FROM n.%s" % (t, cols, cols, t))
    con.commit()
    con.execute("DETACH n")
    con.execute("PRAGMA user_version = 9")
    con.close()


def every_export(db):
    return [export(db, d) for d in ("warnings", "problems", "advices", "mountain_weather")] + \
        [export(db, "warnings", "csv"), export(db, "warnings", "jsonl", "--history"),
         export(db, "problems", "jsonl", "--history"),
         export(db, "warnings", "jsonl", "--as-of", "2023-03-02T12:00:00Z")]


def test_names_are_stored_once_and_read_by_their_documented_names():
    R.reset()
    db = tmpdb()
    fixture_run(db)
    rows = jsonl(export(db))
    # the sqlite3 shell, by the documented names: the same texts
    p = subprocess.run(["sqlite3", "-separator", "|", db, "SELECT region_name, "
                        "danger_level_name FROM warning ORDER BY valid_date"],
                       capture_output=True, text=True, check=True)
    assert p.stdout.splitlines() == ["%s|%s" % (r["region_name"], r["danger_level_name"])
                                     for r in rows], p.stdout
    assert len(rows) == 5 and rows[0]["region_name"]
    # each distinct name once: the base table holds its id
    assert query(db, "SELECT count(*) FROM names WHERE value = ?", rows[0]["region_name"]) == [(1,)]
    assert query(db, "SELECT DISTINCT typeof(region_name) FROM warning_rows") == [("integer",)]
    assert query(db, "SELECT count(DISTINCT region_name) FROM warning_rows") == [(1,)]
    assert query(db, "SELECT count(*) FROM names") == \
        query(db, "SELECT count(DISTINCT value) FROM names")
    # every documented column of every table answers by its name
    for ds in json.loads(run("datasets", "--json", check=0).stdout):
        if ds["table"] in (None, "warning_version"):  # the history: no names, derived fields
            continue
        cols = [f["name"] for f in ds["fields"]]
        query(db, "SELECT %s FROM %s" % (", ".join(cols), ds["table"]))
        # `datasets` says which are views and over which table, as the file has them
        kind = query(db, "SELECT type FROM sqlite_schema WHERE name = ?", ds["table"])
        assert kind == [("view" if "base_table" in ds else "table",)], (ds["name"], kind)
        if "base_table" in ds:
            assert query(db, "SELECT type FROM sqlite_schema WHERE name = ?",
                         ds["base_table"]) == [("table",)], ds
    # the view stays writable by hand, names included (its triggers)
    con = sqlite3.connect(db)
    con.execute("UPDATE problem SET problem_type_name = 'synthetic name' WHERE problem_id = 1")
    con.commit()
    con.close()
    assert {r["problem_type_name"] for r in jsonl(export(db, "problems"))
            if r["problem_id"] == 1} == {"synthetic name"}
    assert query(db, "SELECT count(*) FROM names WHERE value = 'synthetic name'") == [(1,)]


def test_a_schema_9_file_migrates_on_open_and_keeps_its_history():
    R.reset()
    new = tmpdb()
    fixture_run(new)
    run("run", "--db", new, "--api-base", R.base, "--endpoint", "simple", "--region", "3011",
        "--lang", "1", "--from", "2026-03-01", "--to", "2026-03-03", *FAST, check=0)
    want = every_export(new)
    old = tmpdb()
    schema9_copy(new, old)
    assert query(old, "PRAGMA user_version") == [(9,)]
    assert query(old, "SELECT type FROM sqlite_master WHERE name = 'warning'") == [("table",)]
    assert every_export(old) == want  # the first open migrated it
    assert query(old, "PRAGMA user_version")[0][0] >= 10
    assert query(old, "SELECT type FROM sqlite_master WHERE name = 'warning'") == [("view",)]
    assert query(old, "SELECT DISTINCT typeof(problem_type_name) FROM problem_rows") == \
        [("integer",)]
    assert query(old, "PRAGMA integrity_check") == [("ok",)]
    assert query(old, "SELECT count(*) FROM warning_version") == \
        query(new, "SELECT count(*) FROM warning_version")
    run("reprocess", "--db", old, "--no-progress", check=0)
    assert every_export(old) == want
    fixture_run(old)  # and the writer goes on storing into it
    assert every_export(old) == want


TESTS = [v for k, v in list(globals().items()) if k.startswith("test_")]

if __name__ == "__main__":
    R = Replay(DETAIL, SIMPLE, SUMMARY)
    try:
        rc = main("integration", TESTS)
    finally:
        R.stop()
    sys.exit(rc)
