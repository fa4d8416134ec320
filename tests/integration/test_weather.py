"""End-to-end tests of the weather (Open-Meteo) in the embedded pipeline: the
real binary, a real SQLite file, the replay server's Open-Meteo endpoints
(response shapes of the recorded fixtures; the values are SYNTHETIC, made
by tests/replay/openmeteo_synth.py) and injected faults: 429 daily and
minutely, 400 with a reason, 503, a truncated 200, the archive's nulls.

Run: python3 tests/integration/test_weather.py  (AVALANCHE_BIN selects the build)
"""
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BIN, FIXTURES, Replay, export, main, query, run, tmpdb  # noqa: E402

R = None
FAST = ["-X", "fetch.backoff_ms=50", "-X", "fetch.backoff_max_ms=200", "--no-progress"]
NOW = "2023-03-20T12:00:00Z"  # the clock of both sides (AV_FAKE_NOW, the server's now)


def set_now(now, delay=5):
    R._call("POST", "/_control/openmeteo", {"now": now, "archive_delay_days": delay,
                                            "snow_depth_delay_days": delay})


def reset(now=NOW, delay=5):
    R.reset()
    set_now(now, delay)


def wx(*extra, now=NOW, check=None, timeout=120, sources="weather", env=None):
    """avalanche with the weather bases on the replay server."""
    base = "http://127.0.0.1:%d/v1" % R.port
    e = {"AV_FAKE_NOW": now}
    if env:
        e.update(env)
    args = list(extra) + ["--api-base", R.base, "-X", "weather.archive_base=" + base,
                          "-X", "weather.forecast_base=" + base] + FAST
    if sources:
        args += ["--sources", sources]
    return run(*args, env=e, check=check, timeout=timeout)


def wx_log():
    return [e for e in R.log() if "/v1/" in e["path"]]


def usage():
    return R._call("GET", "/_control/usage")


def daily(db, *extra):
    return [json.loads(x) for x in export(db, "weather", "jsonl", *extra).splitlines()]


def points(region):
    p = run("regions", "--points", "--json", "--region", str(region), check=0)
    return json.loads(p.stdout)


def holes(db):
    return query(db, "select region_id, lang, endpoint, from_date, to_date from fetch_hole "
                     "where endpoint = 'archive' order by 1, 4")


# ---------------------------------------------------------------- the default


def test_default_run_fetches_warnings_and_weather():
    """No --sources, no plan.sources: warnings and weather, the weather of
    each region's points in one request per endpoint."""
    reset("2023-03-05T12:00:00Z")
    db = tmpdb()
    env = dict(os.environ, AV_FAKE_NOW="2023-03-05T12:00:00Z")
    env.pop("AVALANCHE_PLAN_SOURCES", None)
    base = "http://127.0.0.1:%d/v1" % R.port
    p = subprocess.run([BIN, "run", "--db", db, "--api-base", R.base, "--region", "3022",
                        "--lang", "2", "--from", "2023-03-01", "--to", "2023-03-05",
                        "-X", "weather.archive_base=" + base,
                        "-X", "weather.forecast_base=" + base] + FAST,
                       capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "5 warnings stored" in p.stdout, p.stdout
    assert "weather: 1 requests planned" in p.stdout, p.stdout
    assert query(db, "select count(*) from warning")[0][0] == 5
    rows = daily(db)
    assert [r["date"] for r in rows] == ["2023-03-0%d" % d for d in range(1, 6)], rows
    pts = points(3022)
    for r in rows:
        assert r["region_id"] == 3022 and r["source"] == "forecast", r
        assert r["points"] == len(pts) and r["hours"] == 24, r
        assert r["freezing_level_height_mean"] is not None
    # the exact fields of the contract, in order
    assert list(rows[0]) == [
        "region_id", "date", "points", "hours", "source", "temperature_2m_min",
        "temperature_2m_mean", "temperature_2m_max", "precipitation_sum", "rain_sum",
        "snowfall_sum", "snow_depth_mean", "wind_speed_10m_mean", "wind_speed_10m_max",
        "wind_gusts_10m_max", "wind_direction_10m_dominant", "relative_humidity_2m_mean",
        "freezing_level_height_mean"]
    # one request with every point, GMT, m/s, from the day before (local
    # midnight is 23:00 UTC)
    log = wx_log()
    assert len(log) == 1, log
    path = log[0]["path"]
    lats = path.split("latitude=")[1].split("&")[0].split(",")
    assert ["%.4f" % x["latitude"] for x in pts] == lats, (pts, lats)
    for part in ("/v1/forecast?", "timezone=GMT", "wind_speed_unit=ms",
                 "start_date=2023-02-28", "end_date=2023-03-05", "freezing_level_height"):
        assert part in path, path


def test_sources_pick_what_is_fetched():
    reset()
    db = tmpdb()
    wx("run", "--db", db, "--region", "3022", check=0, sources="weather")
    assert query(db, "select count(*) from raw_response where source = 'varsom'")[0][0] == 0
    assert query(db, "select count(*) from raw_response where source = 'open-meteo'")[0][0] == 1
    p = wx("run", "--db", db, "--region", "3022", check=2, sources="snow")
    assert "plan.sources" in p.stderr or "sources" in p.stderr, p.stderr


# ---------------------------------------------------------------- archive, forecast, holes


def test_backfill_archive_then_forecast_and_incomplete_days_come_back():
    """Days older than today - archive_lag_days from the archive, the rest
    from the forecast; the archive's newest days are null (its delay), so
    they stay holes, and a later run completes them."""
    reset(delay=9)  # an archive 9 days behind: more than archive_lag_days (7)
    db = tmpdb()
    p = wx("backfill", "--db", db, "--region", "3022", "--from", "2023-01-01",
           "--to", "2023-03-22", check=0)
    assert "weather: 2 requests planned" in p.stdout, p.stdout  # 2023-01-01..03-12, 03-13..
    rows = {r["date"]: r for r in daily(db)}
    assert rows["2023-01-01"]["source"] == "archive" and rows["2023-01-01"]["hours"] == 24
    assert rows["2023-03-13"]["source"] == "forecast"
    assert rows["2023-03-22"]["source"] == "forecast"
    assert rows["2023-03-10"]["source"] == "archive"  # complete: now - 9 days is 03-11 12:00
    assert "2023-03-12" not in rows  # the archive has only nulls there, and no forecast asked
    assert rows["2023-03-11"]["hours"] < 24
    assert holes(db) == [(3022, 0, "archive", "2023-03-11", "2023-03-12")], holes(db)
    st = query(db, "select last_date from fetch_state where endpoint = 'archive'")
    assert st == [("2023-03-10",)], st
    status = run("status", "--db", db, check=0).stdout
    assert "archive  2023-03-10" in status, status
    # a week later the archive has those days: the next run fetches the hole
    set_now("2023-03-27T12:00:00Z", delay=5)
    p = wx("run", "--db", db, "--region", "3022", check=0, now="2023-03-27T12:00:00Z")
    rows = {r["date"]: r for r in daily(db)}
    for d in ("2023-03-11", "2023-03-12", "2023-03-15"):
        assert rows[d]["source"] == "archive" and rows[d]["hours"] == 24, rows[d]
    assert holes(db) == [], holes(db)  # complete through 03-21 12:00; asked through 03-19


def test_archive_replaces_forecast_and_nulls_never_overwrite():
    reset()
    db = tmpdb()
    wx("backfill", "--db", db, "--region", "3022", "--from", "2023-03-14", "--to", "2023-03-14",
       check=0, now="2023-03-16T12:00:00Z", env={"AVALANCHE_WEATHER_ARCHIVE_LAG_DAYS": "5"})
    assert query(db, "select distinct source from weather_hourly") == [("forecast",)]
    fc = query(db, "select temperature_2m, freezing_level_height from weather_hourly "
                   "order by latitude, longitude, time")
    # the archive for the same day: it replaces the values, keeps the
    # forecast's freezing level (the archive has none: null, never written)
    wx("backfill", "--db", db, "--region", "3022", "--from", "2023-03-14", "--to", "2023-03-14",
       check=0, now="2023-03-30T12:00:00Z")
    assert query(db, "select distinct source from weather_hourly") == [("archive",)]
    ar = query(db, "select temperature_2m, freezing_level_height from weather_hourly "
                   "order by latitude, longitude, time")
    assert len(ar) == len(fc)
    assert [a[1] for a in ar] == [f[1] for f in fc] and all(a[1] is not None for a in ar)
    assert [a[0] for a in ar] != [f[0] for f in fc]  # synthetic: the archive differs
    # and a forecast fetched later does not replace the archive
    wx("backfill", "--db", db, "--region", "3022", "--from", "2023-03-14", "--to", "2023-03-14",
       check=0, now="2023-03-16T13:00:00Z", env={"AVALANCHE_WEATHER_ARCHIVE_LAG_DAYS": "5"})
    assert query(db, "select temperature_2m, freezing_level_height from weather_hourly "
                     "order by latitude, longitude, time") == ar
    d = daily(db)
    assert len(d) == 1 and d[0]["source"] == "archive", d


def test_same_range_twice_gives_identical_exports_and_reprocess_rebuilds_it():
    reset()
    db = tmpdb()
    args = ("backfill", "--db", db, "--region", "3022,3011", "--from", "2023-02-01",
            "--to", "2023-03-21")
    wx(*args, check=0)
    d1, h1 = export(db, "weather", "csv"), export(db, "weather-hourly", "jsonl")
    wx(*args, check=0)
    assert export(db, "weather", "csv") == d1
    assert export(db, "weather-hourly", "jsonl") == h1
    # rebuilt from the raw responses alone
    con_rows = query(db, "select count(*) from weather_daily")[0][0]
    assert con_rows == 2 * 49, con_rows
    import sqlite3
    con = sqlite3.connect(db)
    con.execute("delete from weather_daily")
    con.execute("delete from weather_hourly")
    con.commit()
    con.close()
    p = run("reprocess", "--db", db, "--no-progress", check=0)
    assert "region-days" in p.stdout, p.stdout
    assert export(db, "weather", "csv") == d1
    assert export(db, "weather-hourly", "jsonl") == h1
    # one region, one range, hourly
    h = [json.loads(x) for x in
         export(db, "weather-hourly", "jsonl", "--region", "3011", "--from", "2023-03-01",
                "--to", "2023-03-01").splitlines()]
    assert len(h) == 24 * len(points(3011)), len(h)
    assert h[0]["time"] == "2023-02-28T23:00:00.000Z", h[0]  # local midnight in UTC
    assert {x["region_id"] for x in h} == {3011}


# ---------------------------------------------------------------- faults


def test_daily_limit_ends_the_weather_part_at_once():
    reset()
    R.faults([{"match": "/v1/", "status": 429, "times": -1,
               "reason": "Daily API request limit exceeded. Please try again tomorrow."}])
    db = tmpdb()
    p = wx("backfill", "--db", db, "--region", "3022,3011,3010", "--from", "2023-01-01",
           "--to", "2023-03-21", check=1)
    assert len(wx_log()) == 1, wx_log()  # no retries, nothing else sent
    assert "Daily API request limit exceeded" in p.stdout, p.stdout
    assert "left for the next run" in p.stdout, p.stdout
    # the archive's days stay holes for the next run
    assert {h[0] for h in holes(db)} == {3022, 3011, 3010}, holes(db)
    R.faults([])
    wx("run", "--db", db, "--region", "3022,3011,3010", check=0)
    assert holes(db) == [], holes(db)


def test_minutely_limit_waits_for_the_next_minute():
    reset()
    R.faults([{"match": "/v1/", "status": 429,
               "reason": "Minutely API request limit exceeded. Please try again in one minute."}])
    db = tmpdb()
    t0 = time.time()
    # the clock stands 2 s before a full minute: the wait is 3 s
    p = wx("run", "--db", db, "--region", "3022", check=0, now="2023-03-20T12:00:58Z")
    assert time.time() - t0 >= 2.5, "did not wait for the window"
    assert [e["status"] for e in wx_log()] == [429, 200], wx_log()
    assert "1 ok" in p.stdout, p.stdout
    # a window further away than weather.wait_max_ms: deferred, named
    reset()
    R.faults([{"match": "/v1/", "status": 429, "times": -1,
               "reason": "Hourly API request limit exceeded. Please try again in the next hour."}])
    p = wx("run", "--db", tmpdb(), "--region", "3022", "-X", "weather.wait_max_ms=2000",
           check=1)
    assert len(wx_log()) == 1, wx_log()
    assert "Hourly API request limit exceeded" in p.stderr, p.stderr
    assert "weather.wait_max_ms" in p.stderr, p.stderr


def test_a_400_is_reported_with_the_apis_reason():
    reset()
    reason = "No data is available for this location"
    R.faults([{"match": "/v1/", "status": 400, "reason": reason}])
    db = tmpdb()
    p = wx("run", "--db", db, "--region", "3022", check=1)
    assert "HTTP 400: " + reason in p.stderr, p.stderr
    assert len(wx_log()) == 1  # not retried
    assert query(db, "select count(*) from weather_hourly")[0][0] == 0
    st = query(db, "select last_status, last_error from fetch_state where lang = 0")
    assert st[0][0] == "failed" and reason in st[0][1], st


def test_503_and_a_truncated_200_are_retried():
    reset()
    R.faults([{"match": "/v1/", "status": 503, "reason": "The service is overloaded"},
              {"match": "/v1/", "cut": 2000, "chunked": True,
               "append": "Unexpected error while streaming data: Error reading file"}])
    db = tmpdb()
    p = wx("run", "--db", db, "--region", "3022", check=0)
    assert [e["status"] for e in wx_log()] == [503, 200, 200], wx_log()
    assert "1 ok" in p.stdout and query(db, "select count(*) from weather_daily")[0][0] > 0
    # always cut: fails after the retries, saying so; nothing stored
    reset()
    R.faults([{"match": "/v1/", "cut": 2000, "times": -1,
               "append": "Unexpected error while streaming data: Error reading file"}])
    db = tmpdb()
    p = wx("run", "--db", db, "--region", "3022", "-X", "fetch.retries=2", check=1)
    assert "truncated" in p.stderr and "gave up after 3 attempts" in p.stderr, p.stderr
    assert query(db, "select count(*) from weather_hourly")[0][0] == 0


def test_an_answer_that_is_not_weather_is_rejected_whole():
    reset()
    R.faults([{"match": "/v1/", "status": 200, "body": json.dumps(
        [{"latitude": 1, "hourly": {"time": ["2023-03-12T00:00"], "temperature_2m": [1.0]}}])}])
    db = tmpdb()
    p = wx("run", "--db", db, "--region", "3022", check=1)
    assert "rejected" in p.stderr and "answers for" in p.stderr, p.stderr
    rej = query(db, "select stage, reason from rejected")
    assert rej and rej[0][0] == "parse", rej
    assert query(db, "select count(*) from weather_hourly")[0][0] == 0


# ---------------------------------------------------------------- budget, resume, kill


def test_the_day_budget_stops_cleanly_and_the_next_run_resumes():
    reset()
    db = tmpdb()
    args = ("backfill", "--db", db, "--region", "3022", "--from", "2022-10-01",
            "--to", "2023-03-12", "-X", "weather.chunk_days=30")
    # six archive requests of about 10 calls each; 25 calls a day fit two
    p = wx(*args, "-X", "weather.budget_day=25", check=0)
    assert "today's weather budget is spent" in p.stdout, p.stdout
    assert len(wx_log()) == 2, wx_log()
    left = holes(db)
    assert left and left[0][3] > "2022-10-01", left
    # the same UTC day: the budget is spent, nothing is sent
    p = wx("run", "--db", db, "--region", "3022", "-X", "weather.budget_day=25",
           "-X", "weather.chunk_days=30", check=0)
    assert len(wx_log()) == 2 and "budget is spent" in p.stdout, p.stdout
    # the next day: the run resumes from the holes
    p = wx("run", "--db", db, "--region", "3022", "-X", "weather.budget_day=25",
           "-X", "weather.chunk_days=30", check=0, now="2023-03-21T00:30:00Z")
    assert len(wx_log()) == 4, wx_log()
    # and with room, the rest
    wx("run", "--db", db, "--region", "3022", "-X", "weather.chunk_days=30", check=0,
       now="2023-03-21T01:00:00Z")
    assert holes(db) == [], holes(db)
    # every request sent counted, as the server counts them
    used = query(db, "select sum(weight) from api_usage")[0][0]
    assert abs(used - usage()["weight"]) < 1e-6, (used, usage())
    clean = tmpdb()
    wx(*[a if a != db else clean for a in args], check=0, now="2023-03-21T01:00:00Z")
    assert export(db, "weather", "csv", "--to", "2023-03-12") == \
        export(clean, "weather", "csv", "--to", "2023-03-12")


def test_requests_are_paced_to_the_minute_budget():
    """Three requests of weight 5 with 12 a minute: two now, the third a
    minute after the first (the run waits; it never sends more)."""
    reset()
    db = tmpdb()
    t0 = time.time()
    p = wx("run", "--db", db, "--region", "3022,3011,3010", "-X", "weather.budget_minute=12",
           check=0, timeout=180)
    took = time.time() - t0
    assert len(wx_log()) == 3 and "3 ok" in p.stdout, (wx_log(), p.stdout)
    assert 59.5 <= took < 120, took
    assert abs(usage()["weight"] - 15.0) < 1e-9, usage()


def test_killed_mid_backfill_then_rerun_equals_a_clean_run():
    reset()
    db, clean = tmpdb(), tmpdb()
    args = ["--region", "3022,3011", "--from", "2022-12-01", "--to", "2023-03-10",
            "-X", "weather.chunk_days=3"]
    wx("backfill", "--db", clean, *args, check=0)
    R.reset()
    set_now(NOW)
    base = "http://127.0.0.1:%d/v1" % R.port
    env = dict(os.environ, AV_FAKE_NOW=NOW)
    proc = subprocess.Popen([BIN, "backfill", "--db", db, "--api-base", R.base,
                             "--sources", "weather", "-X", "weather.archive_base=" + base,
                             "-X", "weather.forecast_base=" + base] + args + FAST,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.time() + 60
    while time.time() < deadline:  # wait for stored weather, then kill mid-run
        try:
            if query(db, "select count(*) from weather_daily")[0][0] >= 20:
                break
        except Exception:
            pass
        assert proc.poll() is None, "the backfill ended before the kill"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert query(db, "pragma integrity_check")[0][0] == "ok"
    assert holes(db), "a killed backfill leaves its unstored days as holes"
    wx("run", "--db", db, "--region", "3022,3011", "-X", "weather.chunk_days=3", check=0)
    assert holes(db) == []
    assert export(db, "weather", "csv", "--to", "2023-03-10") == \
        export(clean, "weather", "csv", "--to", "2023-03-10")


def test_points_per_region_and_requests_per_region():
    reset()
    db = tmpdb()
    p = wx("run", "--db", db, "--region", "A", check=0)
    active = json.loads(run("regions", "--json", check=0).stdout)
    ids = [r["id"] for r in active if r.get("active") or r.get("type") == "A"]
    log = wx_log()
    assert len(log) == len(ids), (len(log), len(ids))
    pts = json.loads(run("regions", "--points", "--json", check=0).stdout)
    assert sum(1 for x in pts if x["region_id"] in ids) == \
        query(db, "select count(distinct region_id || latitude || longitude) "
                  "from weather_hourly")[0][0]
    assert "%d ok" % len(ids) in p.stdout, p.stdout


TESTS = [
    test_default_run_fetches_warnings_and_weather,
    test_sources_pick_what_is_fetched,
    test_backfill_archive_then_forecast_and_incomplete_days_come_back,
    test_archive_replaces_forecast_and_nulls_never_overwrite,
    test_same_range_twice_gives_identical_exports_and_reprocess_rebuilds_it,
    test_daily_limit_ends_the_weather_part_at_once,
    test_minutely_limit_waits_for_the_next_minute,
    test_a_400_is_reported_with_the_apis_reason,
    test_503_and_a_truncated_200_are_retried,
    test_an_answer_that_is_not_weather_is_rejected_whole,
    test_the_day_budget_stops_cleanly_and_the_next_run_resumes,
    test_requests_are_paced_to_the_minute_budget,
    test_killed_mid_backfill_then_rerun_equals_a_clean_run,
    test_points_per_region_and_requests_per_region,
]

if __name__ == "__main__":
    R = Replay(FIXTURES)
    try:
        rc = main("weather", TESTS)
    finally:
        R.stop()
    sys.exit(rc)
