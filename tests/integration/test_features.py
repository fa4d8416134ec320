"""End-to-end tests of `avalanche export features` (issue 14): the real
binary, a real SQLite file, the recorded Detail fixture through the replay
server, and the replay server's Open-Meteo endpoints.

SYNTHETIC data, made here: (1) a first publication of the 2023-03-02
warning the afternoon before (another PublishTime, level 3, its first
problem only), re-issued as recorded; (2) a correction of the 2023-03-03
warning published on 2023-03-04 at 10:00Z, after the 2023-03-04 warning
(level 4, its first problem only, a larger size; published on the hour,
03-04T10:00:00Z, so an hour stamped exactly at a cut-off is tested); (3) the
weather: values made by tests/replay/openmeteo_synth.py (never real
weather), fetched at three instants so that some days were re-fetched after
some rows' cut-off (02-26 from the archive, a backfill); (4) copies of the
store whose hours at/after, or just before, a cut-off are overwritten with
poison values by SQL.

Every column of every row is checked against values computed here from the
source JSON and the stored hours by the documented rules (docs/datasets.md,
"features"): the windows of hours before T hour by hour, summed and averaged
over the points here, day D from its hours' fetch times.

Run: python3 tests/integration/test_features.py  (AVALANCHE_BIN selects the build)
"""
import csv
import datetime as dt
import io
import json
import math
import os
import shutil
import sqlite3
import sys
import zoneinfo

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import DETAIL, Replay, export, main, run, tmpdb  # noqa: E402

R = None
FAST = ["-X", "fetch.backoff_ms=50", "-X", "fetch.backoff_max_ms=200", "--no-progress"]
RANGE = ["--region", "3022", "--lang", "2", "--from", "2023-03-01", "--to", "2023-03-05"]
OSLO = zoneinfo.ZoneInfo("Europe/Oslo")

# the warnings' fetches (AV_FAKE_NOW of each run)
SEEN_V1, SEEN_REC, SEEN_CORR = "2023-03-01T15:30:00Z", "2023-03-04T09:00:00Z", "2023-03-05T09:00:00Z"
SYNTHETIC_V1_PUB_LOCAL, SYNTHETIC_V1_PUB = "2023-03-01T16:05:00", "2023-03-01T15:05:00.000Z"
SYNTHETIC_CORR_PUB_LOCAL, SYNTHETIC_CORR_PUB = "2023-03-04T11:00:00", "2023-03-04T10:00:00.000Z"
# the weather's fetches: (now, --from, --to, archive lag days)
SYNTHETIC_WX_FETCHES = [
    ("2023-02-26T12:00:00Z", "2023-02-21", "2023-02-28", None),  # forecasts
    ("2023-02-28T06:00:00Z", "2023-02-27", "2023-03-02", None),  # the next ones
    ("2023-03-04T12:00:00Z", "2023-02-26", "2023-03-05", "5"),   # again; 02-26 from the archive
]
TYPES = [3, 5, 7, 10, 30, 45, 50]
ASPECTS = ["N", "NE", "E", "SE", "S", "SW", "W", "NW"]
WX = [("precipitation_sum", "precipitation_sum", "sum"), ("snowfall_sum", "snowfall_sum", "sum"),
      ("temperature_2m_mean", "temperature_2m_mean", "mean"),
      ("temperature_2m_min", "temperature_2m_min", "min"),
      ("temperature_2m_max", "temperature_2m_max", "max"),
      ("wind_speed_10m_mean", "wind_speed_10m_mean", "mean"),
      ("wind_speed_10m_max", "wind_speed_10m_max", "max")]


def recorded():
    with open(DETAIL, encoding="utf-8") as f:
        return json.load(f)


def synthetic_v1():
    els = recorded()
    v1 = dict(els[1], PublishTime=SYNTHETIC_V1_PUB_LOCAL, MainText="SYNTHETIC FIRST PUBLICATION",
              DangerLevel="3", AvalancheProblems=els[1]["AvalancheProblems"][:1])
    return [els[0], v1]


def synthetic_correction():
    els = recorded()
    p = dict(els[2]["AvalancheProblems"][0], DestructiveSizeExtId=4)
    els[2] = dict(els[2], PublishTime=SYNTHETIC_CORR_PUB_LOCAL, MainText="SYNTHETIC CORRECTION",
                  DangerLevel="4", AvalancheProblems=[p])
    return els


def stamp(local):
    """The API's offset-less Oslo time -> our UTC instant text."""
    t = dt.datetime.fromisoformat(local[:23]).replace(tzinfo=OSLO).astimezone(dt.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)


def instant(s):
    return dt.datetime.fromisoformat(s.replace("Z", "+00:00"))


def wx_run(db, now, frm, to, lag):
    R._call("POST", "/_control/openmeteo", {"now": now, "archive_delay_days": 0,
                                            "snow_depth_delay_days": 0})
    base = "http://127.0.0.1:%d/v1" % R.port
    env = {"AV_FAKE_NOW": now}
    if lag:
        env["AVALANCHE_WEATHER_ARCHIVE_LAG_DAYS"] = lag
    run("run", "--db", db, "--region", "3022", "--from", frm, "--to", to, "--sources",
        "weather", "-X", "weather.archive_base=" + base, "-X", "weather.forecast_base=" + base,
        *FAST, env=env, check=0)


def build_db():
    """The scenario above, in the order a season of daily runs would see it."""
    db = tmpdb()
    steps = [("v1", SEEN_V1), ("rec", SEEN_REC), ("corr", SEEN_CORR)]
    for which, now in steps:
        R.reset()
        if which == "v1":
            R.faults([{"match": "/Detail/3022/2/", "body": json.dumps(synthetic_v1())}])
        elif which == "corr":
            R.faults([{"match": "/Detail/3022/2/", "body": json.dumps(synthetic_correction())}])
        run("run", "--db", db, "--api-base", R.base, *RANGE, *FAST, check=0,
            env={"AV_FAKE_NOW": now})
    R.reset()
    for f in SYNTHETIC_WX_FETCHES:
        wx_run(db, *f)
    R.reset()
    return db


DB = None


def db():
    global DB
    if DB is None:
        DB = build_db()
    return DB


def jsonl(text):
    return [json.loads(x) for x in text.splitlines()]


def features(*extra, fmt="jsonl", path=None):
    return export(path or db(), "features", fmt, *extra)


# ---- the expected rows, from the source JSON by the documented rules ----

def versions():
    """(date, publish_time UTC text, level, problems) of every publication."""
    els, v1, corr = recorded(), synthetic_v1()[1], synthetic_correction()[2]
    out = []
    for w in els + [v1, corr]:
        out.append((w["ValidFrom"][:10], stamp(w["PublishTime"]), int(w["DangerLevel"]),
                    w["AvalancheProblems"], w))
    return sorted(out, key=lambda x: (x[0], x[1]))


def as_of(date, t):
    """The level of date as published at t (None when none was out)."""
    vs = [v for v in versions() if v[0] == date and instant(v[1]) <= instant(t)]
    return vs[-1][2] if vs else None


def problem_columns(probs):
    def mx(key):
        vals = [p[key] for p in probs if p.get(key) is not None]
        return max(vals) if vals else None
    c = {"problem_count": len(probs),
         "problem_types": ",".join(str(p["AvalancheProblemTypeId"]) for p in probs) or None}
    for t in TYPES:
        c["problem_type_%d" % t] = int(any(p["AvalancheProblemTypeId"] == t for p in probs))
    c.update(max_destructive_size=mx("DestructiveSizeExtId"), max_probability=mx("AvalProbabilityId"),
             max_propagation=mx("AvalPropagationId"),
             max_trigger_sensitivity=mx("AvalTriggerSensitivityId"))
    m = min(probs, key=lambda p: p["AvalancheProblemId"]) if probs else None
    fill, h1, h2 = (m["ExposedHeightFill"], m["ExposedHeight1"], m["ExposedHeight2"]) if m \
        else (None, None, None)
    lo, hi = {1: (h1, None), 2: (None, h1)}.get(fill, (None, None))  # the fixture's fills
    c.update(main_problem_type_id=m and m["AvalancheProblemTypeId"],
             main_aspects=[a for a, bit in zip(ASPECTS, m["ValidExpositions"]) if bit == "1"]
             if m else [],
             main_exposed_height_fill=fill, main_exposed_height_1=h1, main_exposed_height_2=h2,
             main_exposed_min_m=lo, main_exposed_max_m=hi)
    return c


HOUR = dt.timedelta(hours=1)
WINDOWS = (24, 72, 168)
HOURLY = {"precipitation_sum": "precipitation", "snowfall_sum": "snowfall",
          "temperature_2m_mean": "temperature_2m", "temperature_2m_min": "temperature_2m",
          "temperature_2m_max": "temperature_2m", "wind_speed_10m_mean": "wind_speed_10m",
          "wind_speed_10m_max": "wind_speed_10m"}


def stored_hours(path):
    """The store's hours (every one, whatever its fetch time), time ascending."""
    hs = jsonl(export(path, "weather-hourly", "jsonl"))
    return sorted(hs, key=lambda h: (instant(h["time"]), h["latitude"], h["longitude"]))


def aggregate(hours):
    """The `weather` dataset's rules over a set of hours, written out here:
    per point (latitude, longitude) its sum / mean / min / max of the
    non-null values, then the mean over the points that have one; hours =
    the most non-null temperature hours of any point."""
    pts = {}
    for h in hours:
        pts.setdefault((h["latitude"], h["longitude"]), []).append(h)
    out = {}
    for col, src, op in WX:
        per_point = []
        for key in sorted(pts):
            vals = [h[HOURLY[col]] for h in pts[key] if h[HOURLY[col]] is not None]
            if vals:
                per_point.append({"sum": math.fsum(vals), "mean": math.fsum(vals) / len(vals),
                                  "min": min(vals), "max": max(vals)}[op])
        out[col] = math.fsum(per_point) / len(per_point) if per_point else None
    out["hours"] = max((sum(1 for h in p if h["temperature_2m"] is not None)
                        for p in pts.values()), default=0)
    return out


def window_end(t):
    """The first whole UTC hour at or after t: hours stamped before it are
    the hours before t (an hour stamped exactly at t is not)."""
    t = instant(t)
    e = t.replace(minute=0, second=0, microsecond=0)
    return e if e == t else e + HOUR


def expected_weather(path, date, t, hours=None):
    hours = stored_hours(path) if hours is None else hours
    c, end = {}, window_end(t)
    for n in WINDOWS:
        inside = [h for h in hours if end - n * HOUR <= instant(h["time"]) < end]
        assert all(instant(h["time"]) < instant(t) for h in inside)
        agg = aggregate(inside)
        c["wx_%dh_hours" % n] = agg["hours"]
        c["wx_%dh_forecast_hours" % n] = len({h["time"] for h in inside
                                              if h["source"] == "forecast"})
        for col, _, _ in WX:
            c["wx_%dh_%s" % (n, col)] = agg[col] if agg["hours"] == n else None
    d = dt.date.fromisoformat(date)
    first = dt.datetime.combine(d, dt.time(), OSLO).astimezone(dt.timezone.utc)
    nxt = dt.datetime.combine(d + dt.timedelta(days=1), dt.time(), OSLO)
    day = [h for h in hours if first <= instant(h["time"]) < nxt.astimezone(dt.timezone.utc)]
    last = max((h["fetched_at"] for h in day), key=instant, default=None)
    known = last is not None and instant(last) <= instant(t)
    agg = aggregate(day) if known else {}
    for col, _, _ in WX:
        c["wx_d0_" + col] = agg.get(col)
    c["wx_d0_hours"] = agg.get("hours")
    srcs = {h["source"] for h in day}
    c["wx_d0_source"] = (srcs.pop() if len(srcs) == 1 else "mixed") if known else None
    c["wx_d0_fetched_at"] = last if known else None
    return c


def expected_row(path, date, target):
    """target: (date, publish_time, level, problems, element) of the version used."""
    t = target[1]
    vs = [v for v in versions() if v[0] == date]
    row = {"region_id": 3022, "valid_date": date, "lang": 2, "danger_level": target[2],
           "publish_time": t, "cutoff": t, "version": vs.index(target) + 1}
    for k in (1, 2, 3):
        prev = (dt.date.fromisoformat(date) - dt.timedelta(days=k)).isoformat()
        row["level_d%d" % k] = as_of(prev, t)
    row.update(problem_columns(target[3]))
    row.update(expected_weather(path, date, t))
    return row


def check_row(got, want):
    assert list(got) == list(want), (list(got), list(want))
    for k, v in want.items():
        g = got[k]
        if isinstance(v, float) and g is not None:
            assert math.isclose(g, v, rel_tol=1e-12, abs_tol=1e-9), (got["valid_date"], k, g, v)
        else:
            assert g == v, (got["valid_date"], k, g, v)


def latest(date):
    return [v for v in versions() if v[0] == date][-1]


# ---- the tests ----

def test_every_column_by_hand_on_the_latest_publications():
    rows = jsonl(features())
    assert [r["valid_date"] for r in rows] == ["2023-03-0%d" % d for d in range(1, 6)], rows
    for r in rows:
        check_row(r, expected_row(db(), r["valid_date"], latest(r["valid_date"])))
    by = {r["valid_date"]: r for r in rows}
    # spelled out, the facts the computation above derives
    assert (by["2023-03-03"]["danger_level"], by["2023-03-03"]["cutoff"]) == (4, SYNTHETIC_CORR_PUB)
    assert by["2023-03-03"]["version"] == 2 and by["2023-03-03"]["max_destructive_size"] == 4
    assert [by["2023-03-05"]["level_d%d" % k] for k in (1, 2, 3)] == [3, 4, 2]
    r1 = by["2023-03-01"]
    assert r1["problem_types"] == "10,5" and r1["main_aspects"] == ["E", "SE", "S"]
    assert (r1["max_destructive_size"], r1["max_trigger_sensitivity"]) == (2, 45)
    assert (r1["main_exposed_height_fill"], r1["main_exposed_min_m"]) == (1, 1000)
    # 03-01 was published on 02-28 at 14:32Z: its windows end at 15:00Z (the
    # 14:00Z hour is before T, 15:00Z is not) and are complete; the week
    # holds local 02-26 from the archive fetched on 03-04 (after T: weather
    # that had happened, used), the rest forecasts
    for r in rows:
        assert [r["wx_%dh_hours" % n] for n in WINDOWS] == [24, 72, 168], r
    assert r1["wx_168h_precipitation_sum"] is not None and r1["wx_168h_forecast_hours"] == 144
    assert r1["wx_72h_forecast_hours"] == 48 and r1["wx_24h_forecast_hours"] == 24
    # its own day's forecast was fetched again on 03-04, after T: null
    assert r1["wx_d0_source"] is None and r1["wx_d0_hours"] is None
    # 03-05 was published on 03-04 at 14:37Z, after that fetch: its day's
    # forecast is the one stored
    r5 = by["2023-03-05"]
    assert r5["wx_d0_source"] == "forecast" and r5["wx_d0_fetched_at"] == "2023-03-04T12:00:00.000Z"
    assert r5["wx_d0_hours"] == 24
    daily = {r["date"]: r for r in jsonl(export(db(), "weather", "jsonl"))}
    for col, _, _ in WX:  # D as stored is the `weather` dataset's day, bit for bit
        assert r5["wx_d0_" + col] == daily["2023-03-05"][col], col


def poisoned(path, hours, fetched):
    """A copy of the store whose hours stamped at `hours` (a predicate on
    the UTC instant) get SYNTHETIC poison values (precipitation 1000 mm,
    temperature 55 C, wind 99 m/s) and fetch time `fetched`."""
    out = tmpdb("poison.db")
    shutil.copyfile(path, out)
    con = sqlite3.connect(out)
    stamps = [r[0] for r in con.execute("SELECT DISTINCT time FROM weather_hourly")]
    bad = [x for x in stamps if hours(instant(x))]
    assert bad
    con.executemany("UPDATE weather_hourly SET precipitation = 1000, snowfall = 700, "
                    "temperature_2m = 55, wind_speed_10m = 99, fetched_at = ? WHERE time = ?",
                    [(fetched, x) for x in bad])
    con.commit()
    con.close()
    return out


def test_no_later_correction_or_weather_leaks_into_a_row():
    rows = {r["valid_date"]: r for r in jsonl(features())}
    # 03-04 (cut-off 03-03T14:31Z) sees 03-03 as first published (3), not the
    # correction to 4 published on 03-04 at 10:00Z ...
    assert rows["2023-03-04"]["cutoff"] == "2023-03-03T14:31:16.050Z"
    assert rows["2023-03-04"]["level_d1"] == 3
    # ... which 03-05 (cut-off 03-04T14:37Z) does see
    assert rows["2023-03-05"]["level_d2"] == 4
    # 03-04's forecast of its own day was fetched again on 03-04 at 12:00Z,
    # after its cut-off: what it knew is gone, null (never the later value)
    assert rows["2023-03-04"]["wx_d0_temperature_2m_mean"] is None
    assert rows["2023-03-04"]["wx_d0_fetched_at"] is None
    # Hours at and after T never leak into the windows: poison every hour
    # stamped at or after 03-03's cut-off (03-04T10:00Z exactly, on the
    # hour), fetched later still; the rows whose T is not after it do not
    # move, 03-05 (T 03-04T14:37Z: the hours 10:00Z..14:00Z are before it) does
    t3 = instant(rows["2023-03-03"]["cutoff"])
    assert t3 == instant(SYNTHETIC_CORR_PUB) and t3.minute == 0 and t3.second == 0
    late = poisoned(db(), lambda h: h >= t3, "2023-03-06T00:00:00.000Z")
    p = {r["valid_date"]: r for r in jsonl(export(late, "features", "jsonl"))}
    for d in ("2023-03-01", "2023-03-02", "2023-03-03", "2023-03-04"):
        assert p[d] == rows[d], d
    check_row(p["2023-03-05"], expected_row(late, "2023-03-05", latest("2023-03-05")))
    assert p["2023-03-05"]["wx_24h_precipitation_sum"] > 4 * 1000  # 5 poisoned hours
    assert p["2023-03-05"]["wx_d0_source"] is None  # D's hours now fetched after T
    # ... while the hour just before T (09:00Z) is in the 03-03 row
    prev = poisoned(db(), lambda h: h == t3 - HOUR, "2023-03-06T00:00:00.000Z")
    p = {r["valid_date"]: r for r in jsonl(export(prev, "features", "jsonl"))}
    check_row(p["2023-03-03"], expected_row(prev, "2023-03-03", latest("2023-03-03")))
    for n in WINDOWS:
        assert p["2023-03-03"]["wx_%dh_temperature_2m_max" % n] == 55
        got, was = (x["2023-03-03"]["wx_%dh_precipitation_sum" % n] for x in (p, rows))
        assert 1000 <= got <= was + 1000, (n, got, was)  # its own value replaced
    # The same rows from a db that never got the later data (no correction,
    # no fetch on 03-04): the warnings' columns are the same; the windows
    # there hold the forecasts of 02-26 that the archive later replaced (a
    # better estimate of weather that had happened: the full store uses it)
    early = tmpdb()
    for which, now in (("v1", SEEN_V1), ("rec", SEEN_REC)):
        R.reset()
        if which == "v1":
            R.faults([{"match": "/Detail/3022/2/", "body": json.dumps(synthetic_v1())}])
        run("run", "--db", early, "--api-base", R.base, *RANGE, *FAST, check=0,
            env={"AV_FAKE_NOW": now})
    R.reset()
    for f in SYNTHETIC_WX_FETCHES[:2]:
        wx_run(early, *f)
    R.reset()
    e = {r["valid_date"]: r for r in jsonl(export(early, "features", "jsonl"))}
    for d in ("2023-03-01", "2023-03-02", "2023-03-04"):
        check_row(e[d], expected_row(early, d, latest(d)))
        for k, v in rows[d].items():
            if not k.startswith("wx_"):
                assert v == e[d][k], (d, k, v, e[d][k])
            elif k.startswith("wx_d0_"):  # D as stored at T: same, or gone (null)
                assert v == e[d][k] or v is None, (d, k, v, e[d][k])
    e1, r1 = e["2023-03-01"], rows["2023-03-01"]
    assert e1["wx_168h_forecast_hours"] == 168 and r1["wx_168h_forecast_hours"] == 144
    assert e1["wx_168h_temperature_2m_mean"] != r1["wx_168h_temperature_2m_mean"]
    assert e1["wx_d0_source"] == "forecast" and e1["wx_d0_fetched_at"] == "2023-02-28T06:00:00.000Z"


def test_as_of_picks_the_target_version_and_its_cutoff():
    v1 = [v for v in versions() if v[0] == "2023-03-02"][0]
    rows = jsonl(features("--as-of", "2023-03-01T16:00:00Z"))
    assert [r["valid_date"] for r in rows] == ["2023-03-01", "2023-03-02"], rows
    check_row(rows[1], expected_row(db(), "2023-03-02", v1))
    assert (rows[1]["danger_level"], rows[1]["version"], rows[1]["problem_count"]) == (3, 1, 1)
    assert rows[1]["cutoff"] == SYNTHETIC_V1_PUB and rows[1]["level_d1"] == 2
    # before the correction: 03-03 as first published, with its own cut-off
    orig = [v for v in versions() if v[0] == "2023-03-03"][0]
    r3 = {r["valid_date"]: r for r in jsonl(features("--as-of", "2023-03-03T12:00:00Z"))}
    check_row(r3["2023-03-03"], expected_row(db(), "2023-03-03", orig))
    assert r3["2023-03-03"]["danger_level"] == 3 and "2023-03-04" not in r3
    # after every publication: the plain export
    assert features("--as-of", "2030-01-01T00:00:00Z") == features()


def test_filters_and_csv():
    every = jsonl(features())
    # --from/--to pick the rows; the features still look before --from
    part = jsonl(features("--from", "2023-03-02", "--to", "2023-03-03"))
    assert part == [r for r in every if r["valid_date"] in ("2023-03-02", "2023-03-03")]
    assert part[0]["level_d1"] == 2
    assert jsonl(features("--region", "3022", "--lang", "2")) == every
    assert features("--region", "3011") == ""
    assert features("--lang", "1") == ""  # English only stored
    # CSV: the description's columns, the same values
    ds = {d["name"]: d for d in json.loads(run("datasets", "--json", check=0).stdout)}
    cols = [f["name"] for f in ds["features"]["fields"] if f["exported"]]
    assert ds["features"]["table"] is None
    text = features(fmt="csv")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert list(rows[0]) == cols == list(every[0])
    assert text.splitlines()[0] == ",".join(cols)
    for c, j in zip(rows, every):
        for k, v in j.items():
            if v is None or v == []:
                assert c[k] == "", (k, c[k])
            elif isinstance(v, list):
                assert c[k] == ",".join(v)
            elif isinstance(v, float):
                assert float(c[k]) == v, (k, c[k], v)
            else:
                assert c[k] == str(v), (k, c[k], v)
    assert features("--region", "3011", fmt="csv") == ",".join(cols) + "\n"  # (text mode)
    # --out: atomically to a file
    out = os.path.join(os.path.dirname(db()), "f.csv")
    p = run("export", "features", "--db", db(), "--format", "csv", "--out", out, check=0)
    assert "exported 5 features" in p.stderr, p.stderr
    with open(out, "rb") as f:
        raw = f.read()
    assert raw.count(b"\r\n") == 6 and raw.decode().replace("\r\n", "\n") == text


def test_documented_column_by_column():
    doc = open(os.path.join(os.path.dirname(__file__), "..", "..", "docs", "datasets.md"),
               encoding="utf-8").read()
    assert "\n## features\n" in doc and "**Features**" in doc
    ds = {d["name"]: d for d in json.loads(run("datasets", "--json", check=0).stdout)}
    for f in ds["features"]["fields"]:
        assert "| %s |" % f["name"] in doc, f["name"]
        assert f["doc"], f["name"]
    md = run("datasets", "--markdown", check=0).stdout
    assert "## features\n" in md and "Not stored." in md
    assert "features (not stored)" in run("datasets", check=0).stdout


def test_bad_options_are_refused():
    path = db()
    for args, word in ((["--history"], "--history"), (["--format", "xml"], "--format"),
                       (["--as-of", "yesterday"], "--as-of"),
                       (["--as-of", "2023-03-01T16:00:00"], "--as-of")):
        p = run("export", "features", "--db", path, *args)
        assert p.returncode == 2 and word in p.stderr and not p.stdout, (args, p.stderr)
    p = run("export", "features", "--db", os.path.join(os.path.dirname(path), "none.db"))
    assert p.returncode == 1 and not p.stdout, p.stderr
    p = run("export", "--db", path)
    assert p.returncode == 2 and "features" in p.stderr, p.stderr


TESTS = [v for k, v in list(globals().items()) if k.startswith("test_")]

if __name__ == "__main__":
    R = Replay(DETAIL)
    try:
        rc = main("features", TESTS)
    finally:
        R.stop()
    sys.exit(rc)
