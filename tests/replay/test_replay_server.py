#!/usr/bin/env python3
"""Self-test for replay_server.py (stdlib only).

Starts the server on port 0 with the recorded fixtures plus a generated .jsonl
directory (and a fixed Open-Meteo "now"), exercises data filtering, the
synthetic Open-Meteo endpoints and every fault kind, and ends by printing
exactly one line "replay: N passed, M failed" (exit status 1 on any failure).
Unittest's own report goes to stderr.
"""
import datetime
import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(HERE, "replay_server.py")
FIX = os.environ.get("VARSOM_FIXTURES", "/work/shared/fixtures/varsom")
DETAIL = os.path.join(FIX, "detail_3022_2023-03-01_to_2023-03-05_lang2_v6.2.1.json")
COORDS = os.path.join(FIX, "coordinates_simple_69.65_18.95_lang1_2026-03-01_to_2026-03-03_v6.3.0.json")
SUMMARY = os.path.join(FIX, "regionsummary_simple_lang1_2022-01-16_to_2022-01-18_v6.0.1.json")
BASE = "/hydrology/forecast/avalanche/v6.3.0/api"
OM_FIX = os.environ.get("OPENMETEO_FIXTURES", os.path.join(os.path.dirname(FIX), "open-meteo"))
OM_ARCHIVE_FIX = os.path.join(
    OM_FIX, "archive_hourly_-34.76_138.65_2025-01-10_to_2025-01-12_Australia-Adelaide.json")
NOW = "2026-03-10T12:00:00Z"   # the server's Open-Meteo "now" in these tests

PROC = PORT = TMP = None


def compact(obj):
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def start_server(data, port_file, extra=()):
    """Start a server; its stderr goes to port_file + ".err". Returns (proc, port)."""
    with open(port_file + ".err", "w") as err:
        proc = subprocess.Popen([sys.executable, SERVER, "--port", "0", "--port-file", port_file]
                                + [x for d in data for x in ("--data", d)] + list(extra),
                                stdout=subprocess.PIPE, stderr=err, text=True)
    line = proc.stdout.readline()
    if not line.startswith("listening on 127.0.0.1:"):
        proc.kill()
        proc.wait()
        with open(port_file + ".err") as fh:
            raise RuntimeError(f"server did not start: {line!r} {fh.read()}")
    return proc, int(line.rsplit(":", 1)[1])


def setUpModule():
    global PROC, PORT, TMP
    TMP = tempfile.TemporaryDirectory()
    d = os.path.join(TMP.name, "corpus")
    os.makedirs(os.path.join(d, "sub"))
    w = lambda day, text, **kw: dict({"RegId": 1, "RegionId": 3099, "DangerLevel": "1",
                                      "ValidFrom": f"2024-01-{day}T00:00:00",
                                      "MainText": text, "LangKey": 2}, **kw)
    with open(os.path.join(d, "a.jsonl"), "w", encoding="utf-8") as fh:
        fh.write(json.dumps(w("01", "første")) + "\n\n")
        fh.write(json.dumps(w("02", "old")) + "\n   \n")
        fh.write(json.dumps(w("03", "detail", CountyList=[])) + "\n")
    with open(os.path.join(d, "sub", "b.jsonl"), "w", encoding="utf-8") as fh:
        fh.write(json.dumps(w("02", "new"), ensure_ascii=False) + "\n")   # later file wins
    port_file = os.path.join(TMP.name, "port")
    PROC, PORT = start_server([DETAIL, COORDS, SUMMARY, d], port_file, ["--now", NOW])
    with open(port_file) as fh:
        assert int(fh.read()) == PORT


def tearDownModule():
    if PROC:
        PROC.terminate()
        PROC.wait(5)
        PROC.stdout.close()
    if TMP:
        TMP.cleanup()


def request(method, path, body=None, conn=None):
    c = conn or http.client.HTTPConnection("127.0.0.1", PORT, timeout=5)
    try:
        c.request(method, path, body=body)
        r = c.getresponse()
        return r.status, dict(r.getheaders()), r.read()
    finally:
        if conn is None:
            c.close()


def get(path):
    return request("GET", path)


def faults(rules):
    st, _, body = request("POST", "/_control/faults", json.dumps(rules))
    assert st == 200 and json.loads(body) == {"ok": True}, body


def url(kind, region, lang, d1, d2):
    return f"{BASE}/AvalancheWarningByRegion/{kind}/{region}/{lang}/{d1}/{d2}"


class Base(unittest.TestCase):
    def setUp(self):
        st, _, body = request("POST", "/_control/reset")
        self.assertEqual((st, json.loads(body)), (200, {"ok": True}))


class Data(Base):
    def test_detail_date_filter_byte_identical(self):
        with open(DETAIL, encoding="utf-8") as fh:
            fix = json.load(fh)
        st, h, body = get(url("Detail", 3022, 2, "2023-03-02", "2023-03-03"))
        self.assertEqual(st, 200)
        self.assertEqual(h["Content-Type"], "application/json; charset=utf-8")
        self.assertEqual(int(h["Content-Length"]), len(body))
        got = json.loads(body)
        self.assertEqual([x["ValidFrom"] for x in got], ["2023-03-02T00:00:00", "2023-03-03T00:00:00"])
        self.assertEqual(body, b"[" + compact(fix[1]) + b"," + compact(fix[2]) + b"]")
        st, _, body = get(url("detail", 3022, 2, "2000-01-01", "2030-12-31"))
        self.assertEqual(body, b"[" + b",".join(map(compact, fix)) + b"]")
        # wrong lang / kind: nothing
        self.assertEqual(get(url("Detail", 3022, 1, "2023-03-01", "2023-03-05"))[2], b"[]")
        self.assertEqual(get(url("Simple", 3022, 2, "2023-03-01", "2023-03-05"))[2], b"[]")

    def test_simple_from_coordinates_fixture(self):
        st, _, body = get(url("Simple", 3011, 1, "2026-03-01", "2026-03-03"))
        got = json.loads(body)
        self.assertEqual(st, 200)
        self.assertEqual([x["ValidFrom"][:10] for x in got], ["2026-03-01", "2026-03-02", "2026-03-03"])
        self.assertTrue(all(x["RegionId"] == 3011 and x["DangerLevel"] == "2" for x in got))
        one = json.loads(get(url("Simple", 3011, 1, "2026-03-02", "2026-03-02"))[2])
        self.assertEqual([x["RegId"] for x in one], [452568])

    def test_regionsummary_flattened(self):
        got = json.loads(get(url("Simple", 3003, 1, "2022-01-01", "2022-01-31"))[2])
        self.assertEqual([x["ValidFrom"][:10] for x in got], ["2022-01-16", "2022-01-17", "2022-01-18"])
        self.assertEqual({x["RegionId"] for x in got}, {3003})
        self.assertEqual(get(url("Detail", 3003, 1, "2022-01-01", "2022-01-31"))[2], b"[]")
        got = json.loads(get(url("Simple", 3046, 1, "2022-01-17", "2022-01-17"))[2])
        self.assertEqual(len(got), 1)

    def test_jsonl_directory(self):
        got = json.loads(get(url("Simple", 3099, 2, "2024-01-01", "2024-01-31"))[2])
        self.assertEqual([(x["ValidFrom"][:10], x["MainText"]) for x in got],
                         [("2024-01-01", "første"), ("2024-01-02", "new")])
        got = json.loads(get(url("Detail", 3099, 2, "2024-01-01", "2024-01-31"))[2])
        self.assertEqual([x["MainText"] for x in got], ["detail"])

    def test_empty_range(self):
        st, h, body = get(url("Detail", 3022, 2, "2023-04-01", "2023-04-30"))
        self.assertEqual((st, body, h["Content-Length"]), (200, b"[]", "2"))
        self.assertEqual(get(url("Simple", 9999, 1, "2022-01-16", "2022-01-18"))[2], b"[]")

    def test_bad_dates_400(self):
        for d1, d2 in [("2023-3-01", "2023-03-02"), ("2023-02-30", "2023-03-02"),
                       ("2023-03-02", "2023-03-01"), ("x", "2023-03-01"),
                       ("2023-03-01", "2023-03-01T00:00:00")]:
            st, h, body = get(url("Detail", 3022, 2, d1, d2))
            self.assertEqual(st, 400, (d1, d2))
            self.assertIn("error", json.loads(body))

    def test_404(self):
        for p in ["/", f"{BASE}/RegionSummary/Simple/1/2022-01-16/2022-01-18",
                  f"{BASE}/AvalancheWarningByRegion/Detail/3022/2", "/_control/nope"]:
            st, h, body = get(p)
            self.assertEqual(st, 404, p)
            self.assertIn("error", json.loads(body))

    def test_keep_alive(self):
        c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=5)
        try:
            c.request("GET", url("Detail", 3022, 2, "2023-03-01", "2023-03-01"))
            r = c.getresponse()
            self.assertFalse(r.will_close)
            self.assertEqual(len(json.loads(r.read())), 1)
            sock = c.sock
            self.assertIsNotNone(sock)
            st, _, body = request("GET", url("Simple", 3011, 1, "2026-03-01", "2026-03-03"), conn=c)
            self.assertEqual((st, len(json.loads(body))), (200, 3))
            self.assertIs(c.sock, sock)
        finally:
            c.close()


class Faults(Base):
    U = url("Detail", 3022, 2, "2023-03-01", "2023-03-02")

    def test_status_once_then_normal(self):
        faults([{"status": 503}])
        st, _, body = get(self.U)
        self.assertEqual(st, 503)
        self.assertIn("error", json.loads(body))
        self.assertEqual(get(self.U)[0], 200)

    def test_429_retry_after_and_times(self):
        faults([{"match": "/3022/", "status": 429, "headers": {"Retry-After": "1"}, "times": 2}])
        self.assertEqual(get(url("Simple", 3011, 1, "2026-03-01", "2026-03-01"))[0], 200)
        for _ in range(2):
            st, h, _ = get(self.U)
            self.assertEqual((st, h.get("Retry-After")), (429, "1"))
        self.assertEqual(get(self.U)[0], 200)

    def test_forever_and_order(self):
        faults([{"match": "nomatch", "status": 500, "times": -1},
                {"status": 502, "times": -1}, {"status": 418}])
        for _ in range(3):
            self.assertEqual(get(self.U)[0], 502)
        request("DELETE", "/_control/faults")
        self.assertEqual(get(self.U)[0], 200)

    def test_delay(self):
        faults([{"delay_ms": 300}])
        t = time.monotonic()
        st, _, body = get(self.U)
        self.assertGreaterEqual(time.monotonic() - t, 0.28)
        self.assertEqual((st, len(json.loads(body))), (200, 2))

    def test_truncate(self):
        faults([{"truncate": 100}])
        c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=5)
        try:
            c.request("GET", self.U)
            r = c.getresponse()
            self.assertEqual(r.status, 200)
            self.assertGreater(int(r.getheader("Content-Length")), 100)
            with self.assertRaises(http.client.IncompleteRead) as cm:
                r.read()
            self.assertEqual(len(cm.exception.partial), 100)
        finally:
            c.close()
        self.assertEqual(get(self.U)[0], 200)

    def test_drop(self):
        faults([{"drop": True}])
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionError)):
            get(self.U)
        self.assertEqual(get(self.U)[0], 200)

    def test_body_override(self):
        faults([{"body": "[{not json"}, {"status": 500, "body": "oops"}])
        self.assertEqual(get(self.U)[::2], (200, b"[{not json"))
        self.assertEqual(get(self.U)[::2], (500, b"oops"))

    def test_bad_rules_rejected(self):
        for bad in ['{"delay": 5}', '[{"status": "503"}]', "[1]", "not json"]:
            self.assertEqual(request("POST", "/_control/faults", bad)[0], 400, bad)

    def test_log(self):
        faults([{"match": "/3011/", "status": 503}, {"match": "/3003/", "drop": True}])
        u1, u2 = url("Simple", 3011, 1, "2026-03-01", "2026-03-01"), url("Simple", 3003, 1, "a", "b")
        get(u1)
        get(u1)
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionError)):
            get(u2)
        get(u2)
        get("/nothing")
        log = json.loads(request("GET", "/_control/log")[2])
        self.assertEqual(log, [
            {"method": "GET", "path": u1, "status": 503, "fault": 0},
            {"method": "GET", "path": u1, "status": 200, "fault": None},
            {"method": "GET", "path": u2, "status": None, "fault": 1},
            {"method": "GET", "path": u2, "status": 400, "fault": None},
            {"method": "GET", "path": "/nothing", "status": 404, "fault": None}])
        request("POST", "/_control/reset")
        self.assertEqual(json.loads(request("GET", "/_control/log")[2]), [])


# ---------------------------------------------------------------- Open-Meteo
ARCHIVE_VARS = ["temperature_2m", "relative_humidity_2m", "precipitation", "rain", "snowfall",
                "snow_depth", "wind_speed_10m", "wind_direction_10m", "wind_gusts_10m"]
ALL_VARS = ARCHIVE_VARS + ["freezing_level_height", "cloud_cover", "shortwave_radiation"]
NORWAY = [(61.6, 8.3), (69.65, 18.95), (60.39, 5.32), (59.91, 10.75), (68.2, 14.5)]
LIMITS = {"Daily": "Daily API request limit exceeded. Please try again tomorrow.",
          "Hourly": "Hourly API request limit exceeded. Please try again in the next hour.",
          "Minutely": "Minutely API request limit exceeded. Please try again in one minute."}


def om_url(endpoint, points=((61.6, 8.3),), hourly=("temperature_2m",), start="2026-03-01",
           end="2026-03-02", **params):
    """/v1/<endpoint>?... as the C client builds it (commas not encoded)."""
    q = {"latitude": ",".join(str(p[0]) for p in points),
         "longitude": ",".join(str(p[1]) for p in points)}
    if hourly is not None:
        q["hourly"] = ",".join(hourly)
    if start is not None:
        q["start_date"] = start
    if end is not None:
        q["end_date"] = end
    q.update(params)
    return f"/v1/{endpoint}?" + urllib.parse.urlencode(q, safe=",")


def om_get(endpoint, *args, **kw):
    """(status, headers, parsed JSON, raw body)."""
    st, h, body = get(om_url(endpoint, *args, **kw))
    return st, h, json.loads(body), body


def om_reason(reason):
    return compact({"error": True, "reason": reason})


def hours(d1, d2):
    d, e, out = datetime.date.fromisoformat(d1), datetime.date.fromisoformat(d2), []
    while d <= e:
        out += [f"{d.isoformat()}T{h:02d}:00" for h in range(24)]
        d += datetime.timedelta(days=1)
    return out


def om_settings(obj):
    st, _, body = request("POST", "/_control/openmeteo", json.dumps(obj))
    assert st == 200, body
    return json.loads(body)


class Weather(Base):
    def test_single_point_shape_like_fixture(self):
        with open(OM_ARCHIVE_FIX, encoding="utf-8") as fh:
            fix = json.load(fh)
        st, h, got, body = om_get("archive", hourly=["temperature_2m", "precipitation"],
                                  timezone="GMT")
        self.assertEqual(st, 200)
        self.assertEqual(h["Content-Type"], "application/json; charset=utf-8")
        self.assertEqual(int(h["Content-Length"]), len(body))
        self.assertIsInstance(got, dict)
        self.assertEqual(list(got), list(fix))   # same keys, same order
        for k in ("latitude", "longitude", "generationtime_ms", "elevation"):
            self.assertIsInstance(got[k], float, k)
        self.assertEqual((got["utc_offset_seconds"], got["timezone"], got["timezone_abbreviation"]),
                         (0, "GMT", "GMT"))
        # the grid cell's centre: near the request, not equal to it
        self.assertNotEqual((got["latitude"], got["longitude"]), (61.6, 8.3))
        self.assertLess(abs(got["latitude"] - 61.6), 0.1)
        self.assertLess(abs(got["longitude"] - 8.3), 0.1)
        self.assertEqual(got["hourly_units"],
                         {"time": "iso8601", "temperature_2m": "°C", "precipitation": "mm"})
        self.assertEqual(list(got["hourly"]), ["time", "temperature_2m", "precipitation"])
        self.assertIn("°C".encode(), body)   # UTF-8, compact, like the real API
        self.assertNotIn(b"\n", body)
        self.assertNotIn("location_id", got)
        # no hourly: the header alone
        st, _, got, _ = om_get("forecast", hourly=None, start=None, end=None)
        self.assertEqual((st, list(got)), (200, list(fix)[:7]))

    def test_several_points_array_location_id(self):
        st, _, got, _ = om_get("archive", NORWAY[:3], ["temperature_2m"])
        self.assertEqual(st, 200)
        self.assertIsInstance(got, list)
        self.assertEqual(len(got), 3)
        self.assertNotIn("location_id", got[0])
        self.assertEqual([o.get("location_id") for o in got], [None, 1, 2])
        self.assertEqual(list(got[1])[:8], ["latitude", "longitude", "generationtime_ms",
                                            "utc_offset_seconds", "timezone",
                                            "timezone_abbreviation", "elevation", "location_id"])
        for o, (lat, lon) in zip(got, NORWAY):   # request order
            self.assertLess(abs(o["latitude"] - lat), 0.1)
            self.assertLess(abs(o["longitude"] - lon), 0.1)
            self.assertEqual(len(o["hourly"]["temperature_2m"]), 48)
        # one point in the list form is still one object; per-point dates
        st, _, got, _ = om_get("archive", NORWAY[:2], start="2026-01-01,2026-02-01",
                               end="2026-01-01,2026-02-03")
        self.assertEqual([len(o["hourly"]["time"]) for o in got], [24, 72])
        self.assertEqual(got[1]["hourly"]["time"][0], "2026-02-01T00:00")

    def test_gmt_hours_inclusive(self):
        for d1, d2, n in [("2026-02-27", "2026-03-01", 72), ("2024-02-28", "2024-03-01", 72),
                          ("2026-03-05", "2026-03-05", 24), ("2025-10-25", "2025-10-27", 72)]:
            st, _, got, _ = om_get("archive", hourly=ARCHIVE_VARS, start=d1, end=d2,
                                   timezone="UTC")
            self.assertEqual(st, 200)
            self.assertEqual(got["hourly"]["time"], hours(d1, d2))
            self.assertEqual(len(got["hourly"]["time"]), n)   # no DST: 24 every day
            for v in ARCHIVE_VARS:
                self.assertEqual(len(got["hourly"][v]), n, v)

    def test_deterministic(self):
        u = om_url("archive", NORWAY, ARCHIVE_VARS, "2025-12-01", "2026-01-31",
                   wind_speed_unit="ms", timezone="GMT")
        a, b = get(u), get(u)
        self.assertEqual((a[0], b[0]), (200, 200))
        self.assertEqual(a[2], b[2])
        # another process gives the same bytes
        port_file = os.path.join(TMP.name, "port-determinism")
        proc, port = start_server([], port_file, ["--now", NOW])
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            c.request("GET", u)
            self.assertEqual(c.getresponse().read(), a[2])
            c.close()
        finally:
            proc.terminate()
            proc.wait(5)
            proc.stdout.close()
        # different places and hours differ
        t = json.loads(a[2])
        self.assertNotEqual(t[0]["hourly"]["temperature_2m"], t[1]["hourly"]["temperature_2m"])
        self.assertGreater(len(set(t[0]["hourly"]["temperature_2m"])), 20)
        # forecast and archive differ a little for the same hours
        f = json.loads(get(om_url("forecast", NORWAY[:1], ["temperature_2m"]))[2])
        g = json.loads(get(om_url("archive", NORWAY[:1], ["temperature_2m"]))[2])
        diff = [abs(x - y) for x, y in zip(f["hourly"]["temperature_2m"],
                                           g["hourly"]["temperature_2m"])]
        self.assertTrue(0 < max(diff) < 2, diff)

    def test_values_plausible(self):
        for d1, d2 in [("2025-01-01", "2025-02-28"), ("2025-07-01", "2025-07-31")]:
            st, _, got, _ = om_get("archive", NORWAY, ARCHIVE_VARS, d1, d2, wind_speed_unit="ms")
            self.assertEqual(st, 200)
            for o in got:
                hv = o["hourly"]
                self.assertTrue(0 <= o["elevation"] <= 2500)
                for i in range(len(hv["time"])):
                    t, rh, p, r, sf, sd, ws, wd, wg = (hv[v][i] for v in ARCHIVE_VARS)
                    self.assertTrue(-25 <= t <= 20 and round(t, 1) == t, t)
                    self.assertTrue(isinstance(rh, int) and 30 <= rh <= 100, rh)
                    self.assertTrue(p >= 0 and round(p, 1) == p, p)
                    if t < 0:
                        self.assertEqual((r, sf), (0.0, round(0.7 * p, 2)))
                    else:
                        self.assertEqual((r, sf), (p, 0.0))
                    self.assertTrue(0 <= sd <= 3 and round(sd, 2) == sd, sd)
                    self.assertTrue(0 <= ws <= 25 and ws <= wg, (ws, wg))
                    self.assertTrue(isinstance(wd, int) and 0 <= wd <= 360, wd)
                mean = sum(hv["temperature_2m"]) / len(hv["temperature_2m"])
                wet = sum(1 for x in hv["precipitation"] if x > 0) / len(hv["precipitation"])
                self.assertLess(wet, 0.5)   # mostly dry hours, with showers
                if d1.startswith("2025-01"):
                    self.assertLess(mean, 3)
                    winter_snow = max(hv["snow_depth"])
                else:
                    self.assertGreater(mean, 4)
                    self.assertEqual(max(hv["snow_depth"]), 0.0, o["latitude"])
        self.assertGreater(winter_snow, 0)
        # the daily cycle: afternoon warmer than night on average over a summer month
        hv = got[0]["hourly"]
        day = [t for s, t in zip(hv["time"], hv["temperature_2m"]) if s.endswith("T13:00")]
        night = [t for s, t in zip(hv["time"], hv["temperature_2m"]) if s.endswith("T01:00")]
        self.assertGreater(sum(day) / len(day), sum(night) / len(night) + 1)
        # the forecast's freezing level
        st, _, got, _ = om_get("forecast", NORWAY, ["freezing_level_height", "cloud_cover",
                                                    "shortwave_radiation"])
        for o in got:
            self.assertTrue(all(0 <= x <= 3000 for x in o["hourly"]["freezing_level_height"]))
            self.assertTrue(all(0 <= x <= 100 for x in o["hourly"]["cloud_cover"]))
            self.assertTrue(all(0 <= x <= 1100 for x in o["hourly"]["shortwave_radiation"]))

    def test_archive_nulls_after_now_minus_delay(self):
        # now 2026-03-10T12:00Z, delay 5 days: values through 2026-03-05T12:00
        st, _, got, _ = om_get("archive", hourly=ARCHIVE_VARS, start="2026-03-04",
                               end="2026-03-10")
        self.assertEqual(st, 200)
        hv = got["hourly"]
        last = hv["time"].index("2026-03-05T12:00")
        for v in ARCHIVE_VARS:
            self.assertTrue(all(x is not None for x in hv[v][:last + 1]), v)
            self.assertTrue(all(x is None for x in hv[v][last + 1:]), v)
        self.assertEqual(len(hv["time"]), 7 * 24)   # the stamps are all there
        # a shorter archive delay: snow_depth keeps its own 5 days
        cfg = om_settings({"archive_delay_days": 2})
        self.assertEqual(cfg, {"now": NOW, "archive_delay_days": 2, "snow_depth_delay_days": 5,
                               "effective_now": NOW})
        hv = om_get("archive", hourly=ARCHIVE_VARS, start="2026-03-04",
                    end="2026-03-10")[2]["hourly"]
        t_last = hv["time"].index("2026-03-08T12:00")
        self.assertIsNotNone(hv["temperature_2m"][t_last])
        self.assertIsNone(hv["temperature_2m"][t_last + 1])
        self.assertIsNotNone(hv["snow_depth"][last])
        self.assertTrue(all(x is None for x in hv["snow_depth"][last + 1:]))
        # the forecast has no nulls
        f = om_get("forecast", hourly=ARCHIVE_VARS, start="2026-03-04", end="2026-03-12")[2]
        self.assertTrue(all(x is not None for v in ARCHIVE_VARS for x in f["hourly"][v]))
        # moving "now" moves the nulls; reset restores the command line's now
        cfg = om_settings({"now": "2026-03-20T00:00:00+01:00", "archive_delay_days": 5})
        self.assertEqual(cfg["now"], "2026-03-19T23:00:00Z")
        hv = om_get("archive", start="2026-03-14", end="2026-03-15")[2]["hourly"]
        self.assertEqual(hv["temperature_2m"].index(None), hv["time"].index("2026-03-14T23:00") + 1)
        request("POST", "/_control/reset")
        st, _, body = get("/_control/openmeteo")
        self.assertEqual(json.loads(body), {"now": NOW, "archive_delay_days": 5,
                                            "snow_depth_delay_days": 5, "effective_now": NOW})

    def test_control_settings_rejected(self):
        for bad in ['{"now": "yesterday"}', '{"archive_delay_days": -1}', '{"delay": 5}',
                    '{"snow_depth_delay_days": "5"}', "[1]", "not json"]:
            st, _, body = request("POST", "/_control/openmeteo", bad)
            self.assertEqual(st, 400, bad)
            self.assertIn("error", json.loads(body))
        # real time when now is null
        cfg = om_settings({"now": None})
        self.assertIsNone(cfg["now"])
        eff = datetime.datetime.fromisoformat(cfg["effective_now"].replace("Z", "+00:00"))
        real = datetime.datetime.now(datetime.timezone.utc)
        self.assertLess(abs((eff - real).total_seconds()), 60)

    def test_unknown_variable_400(self):
        st, h, body = get(om_url("archive", hourly=["temperature_2m", "tempeture_2m", "rain"]))
        self.assertEqual((st, body), (400, om_reason(
            "Cannot initialize WeatherVariable from invalid String value tempeture_2m "
            "for key hourly")))
        self.assertEqual(h["Content-Type"], "application/json; charset=utf-8")
        # old names are accepted and echoed
        st, _, got, _ = om_get("archive", hourly=["windspeed_10m", "relativehumidity_2m"])
        self.assertEqual((st, list(got["hourly"])), (200, ["time", "windspeed_10m",
                                                          "relativehumidity_2m"]))
        # repeated hourly= is a list too
        st, _, body = get(om_url("archive") + "&hourly=rain")
        self.assertEqual(list(json.loads(body)["hourly"]), ["time", "temperature_2m", "rain"])

    def test_freezing_level_archive_refused_forecast_accepted(self):
        st, _, body = get(om_url("archive", hourly=["temperature_2m", "freezing_level_height"]))
        self.assertEqual((st, body), (400, om_reason(
            "Cannot initialize WeatherVariable from invalid String value freezing_level_height "
            "for key hourly")))
        st, _, got, _ = om_get("forecast", hourly=["temperature_2m", "freezing_level_height"])
        self.assertEqual(st, 200)
        self.assertEqual(got["hourly_units"]["freezing_level_height"], "m")
        self.assertEqual(len(got["hourly"]["freezing_level_height"]), 48)

    def test_wind_speed_unit(self):
        w = ["wind_speed_10m", "wind_gusts_10m", "wind_direction_10m"]
        ms = om_get("archive", NORWAY[:2], w, wind_speed_unit="ms")[2]
        kmh = om_get("archive", NORWAY[:2], w, wind_speed_unit="kmh")[2]
        default = om_get("archive", NORWAY[:2], w)[2]
        self.assertEqual(default, kmh)
        for a, b in zip(ms, kmh):
            self.assertEqual(a["hourly_units"],
                             {"time": "iso8601", "wind_speed_10m": "m/s", "wind_gusts_10m": "m/s",
                              "wind_direction_10m": "°"})
            self.assertEqual(b["hourly_units"]["wind_speed_10m"], "km/h")
            self.assertEqual(b["hourly_units"]["wind_gusts_10m"], "km/h")
            self.assertEqual(a["hourly"]["wind_direction_10m"], b["hourly"]["wind_direction_10m"])
            for v in w[:2]:
                for x, y in zip(a["hourly"][v], b["hourly"][v]):
                    self.assertAlmostEqual(x * 3.6, y, delta=0.07)
                    self.assertEqual(round(x, 2), x)
                    self.assertEqual(round(y, 1), y)
        self.assertGreater(max(ms[0]["hourly"]["wind_speed_10m"]), 1)
        st, _, got, _ = om_get("archive", hourly=w, windspeed_unit="ms")   # the old name
        self.assertEqual(got["hourly_units"]["wind_speed_10m"], "m/s")
        st, _, got, _ = om_get("archive", hourly=w, wind_speed_unit="mph")
        self.assertEqual(st, 400)
        self.assertIn("wind_speed_unit", got["reason"])

    def test_parameter_errors(self):
        cases = [
            (om_url("archive", latitude="61.6,62.0", longitude="8.3"), None),
            (om_url("archive", start="2026-03-02", end="2026-03-01"),
             "End-date must be larger or equals than start-date"),
            (om_url("archive", start="2026-03-01", end="2026-03-11"),
             "Parameter 'end_date' is out of allowed range from 1940-01-01 to 2026-03-10"),
            (om_url("archive", start="1939-12-31", end="1940-01-02"),
             "Parameter 'start_date' is out of allowed range from 1940-01-01 to 2026-03-10"),
            (om_url("forecast", start="2026-03-20", end="2026-03-27"),
             "Parameter 'end_date' is out of allowed range from 2025-12-08 to 2026-03-26"),
            (om_url("forecast", start=None, end=None, forecast_days="17"), None),
            (om_url("archive", start=None, end=None), None),
            (om_url("archive", start="2026-3-01"), None),
            (om_url("archive", timezone="Europe/Oslo"), None),
            (om_url("archive", timezone="auto"), None),
            (om_url("archive", timeformat="unixtime"), None),
            (om_url("archive", latitude="abc"), None),
            (om_url("archive", latitude="91", longitude="8"), None),
            (om_url("archive", daily="temperature_2m_max"), None),
        ]
        for u, reason in cases:
            st, h, body = get(u)
            self.assertEqual(st, 400, u)
            got = json.loads(body)
            self.assertEqual((list(got), got["error"]), (["error", "reason"], True), u)
            if reason:
                self.assertEqual(got["reason"], reason, u)
        oslo = json.loads(get(om_url("archive", timezone="Europe/Oslo"))[2])
        self.assertIn("GMT", oslo["reason"])
        for tz in ("GMT", "UTC", "gmt"):
            self.assertEqual(get(om_url("archive", timezone=tz))[0], 200, tz)
        # allowed edges: archive through today, forecast through today + 16 days
        self.assertEqual(get(om_url("archive", start="1940-01-01", end="1940-01-01"))[0], 200)
        self.assertEqual(get(om_url("archive", start="2026-03-10", end="2026-03-10"))[0], 200)
        self.assertEqual(get(om_url("forecast", start="2026-03-10", end="2026-03-26"))[0], 200)
        # ignored parameters
        self.assertEqual(get(om_url("archive", models="best_match", cell_selection="land",
                                    timeformat="iso8601"))[0], 200)

    def test_forecast_days_past_days(self):
        st, _, got, _ = om_get("forecast", start=None, end=None, forecast_days="2", past_days="1")
        self.assertEqual(got["hourly"]["time"], hours("2026-03-09", "2026-03-11"))
        got = om_get("forecast", start=None, end=None)[2]   # default 7 days from today
        self.assertEqual(got["hourly"]["time"], hours("2026-03-10", "2026-03-16"))
        st, _, got, _ = om_get("forecast", forecast_days="2")   # with dates: refused
        self.assertEqual(st, 400)

    def test_location_limit_and_weight_limit(self):
        pts = [(60 + i * 0.001, 8.0) for i in range(1001)]
        st, _, got, _ = om_get("archive", pts)
        self.assertEqual((st, got["reason"]),
                         (400, "Only up to 1000 locations can be requested at once"))
        st, _, got, _ = om_get("archive", pts[:1000], ARCHIVE_VARS, "2025-01-01", "2025-03-31")
        self.assertEqual(st, 400)
        self.assertIn("requests too much data", got["reason"])


class WeatherFaults(Base):
    U = om_url("archive", NORWAY[:2], ARCHIVE_VARS, "2026-02-01", "2026-02-03",
               wind_speed_unit="ms")

    def test_429_limits(self):
        for kind, reason in LIMITS.items():
            faults([{"match": "/v1/archive", "status": 429, "reason": reason}])
            st, h, body = get(self.U)
            self.assertEqual((st, body), (429, om_reason(reason)), kind)
            self.assertNotIn("Retry-After", h)
            self.assertEqual(get(self.U)[0], 200)
        busy = om_reason("Too many concurrent requests")
        faults([{"match": "/v1/", "status": 429, "body": busy.decode()}])
        self.assertEqual(get(self.U)[::2], (429, busy))

    def test_400_reason_by_query_match(self):
        faults([{"match": "start_date=2023-01-01", "times": -1,
                 "reason": "No data is available for this location"}])
        st, _, body = get(om_url("archive", start="2023-01-01", end="2023-01-02"))
        self.assertEqual((st, body), (400, om_reason("No data is available for this location")))
        self.assertEqual(get(om_url("archive", start="2023-01-02", end="2023-01-02"))[0], 200)
        self.assertEqual(get(self.U)[0], 200)

    def test_match_list_all_substrings(self):
        faults([{"match": ["/v1/forecast", "freezing_level_height"], "status": 503,
                 "reason": "The service is overloaded", "times": -1}])
        self.assertEqual(get(om_url("forecast"))[0], 200)
        self.assertEqual(get(om_url("archive"))[0], 200)
        st, _, body = get(om_url("forecast", hourly=["freezing_level_height"]))
        self.assertEqual((st, body), (503, om_reason("The service is overloaded")))

    def test_503(self):
        faults([{"match": "/v1/forecast", "status": 503, "times": 2}])
        for _ in range(2):
            st, _, body = get(om_url("forecast"))
            self.assertEqual(st, 503)
            self.assertIn("error", json.loads(body))
        self.assertEqual(get(om_url("forecast"))[0], 200)

    def test_streaming_error_after_200(self):
        full = get(self.U)[2]
        text = "Unexpected error while streaming data: Error reading file"
        for chunked in (False, True):
            faults([{"match": "/v1/archive", "cut": 1000, "append": text, "chunked": chunked}])
            st, h, body = get(self.U)   # a complete HTTP response ...
            self.assertEqual(st, 200)
            self.assertEqual(body, full[:1000] + text.encode())   # ... whose JSON is cut
            if chunked:
                self.assertEqual((h.get("Transfer-Encoding"), h.get("Content-Length")),
                                 ("chunked", None))
            else:
                self.assertEqual(int(h["Content-Length"]), 1000 + len(text))
            with self.assertRaises(ValueError):
                json.loads(body)
            self.assertEqual(get(self.U)[2], full)
        # chunked then cut off without the last chunk: an incomplete read
        faults([{"match": "/v1/archive", "chunked": True, "truncate": 5000}])
        c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=5)
        try:
            c.request("GET", self.U)
            r = c.getresponse()
            self.assertEqual(r.status, 200)
            with self.assertRaises(http.client.IncompleteRead) as cm:
                r.read()
            self.assertEqual(cm.exception.partial, full[:5000])
        finally:
            c.close()

    def test_bad_weather_rules_rejected(self):
        for bad in ['[{"match": [1]}]', '[{"body": "x", "reason": "y"}]', '[{"cut": "10"}]',
                    '[{"append": 1}]', '[{"chunked": 1}]', '[{"reason": null}]']:
            self.assertEqual(request("POST", "/_control/faults", bad)[0], 400, bad)

    def test_log_weight_usage(self):
        reqs = [  # (url, expected weight)
            (om_url("archive", hourly=ARCHIVE_VARS[:3]), 1.0),                        # 1 pt 2 days
            (om_url("forecast", NORWAY[:2], ALL_VARS, "2026-02-27", "2026-03-26"), 2 * 2.4),
            (om_url("archive", NORWAY[:3], ARCHIVE_VARS + ["cloud_cover"], "2026-01-01",
                    "2026-01-14"), 3.0),
            (om_url("archive", hourly=ARCHIVE_VARS[:5], start="2026-01-01", end="2026-01-30"),
             30 / 14 * 0.5),
            (om_url("archive", hourly=["nope"]), 1.0),                                # failed
            (self.U, 2.0),                                                            # faulted
        ]
        faults([{"match": "start_date=2026-02-01", "status": 429, "reason": LIMITS["Minutely"]}])
        get(url("Simple", 3011, 1, "2026-03-01", "2026-03-01"))   # Varsom: no weight
        for u, _w in reqs:
            get(u)
        log = json.loads(request("GET", "/_control/log")[2])
        self.assertEqual(len(log), 1 + len(reqs))
        self.assertNotIn("weight", log[0])
        for entry, (u, w) in zip(log[1:], reqs):
            self.assertEqual(entry["path"], u)
            self.assertAlmostEqual(entry["weight"], w, places=9, msg=u)
        self.assertEqual([e["status"] for e in log[1:]], [200, 200, 200, 200, 400, 429])
        self.assertEqual(log[-1]["fault"], 0)
        use = json.loads(request("GET", "/_control/usage")[2])
        total = sum(w for _, w in reqs)
        self.assertEqual(use["requests"], len(reqs))
        self.assertAlmostEqual(use["weight"], total, places=5)
        self.assertEqual(use["forecast"], {"requests": 1, "weight": 4.8})
        self.assertEqual(use["archive"]["requests"], len(reqs) - 1)
        request("POST", "/_control/reset")
        self.assertEqual(json.loads(request("GET", "/_control/usage")[2]),
                         {"requests": 0, "weight": 0, "archive": {"requests": 0, "weight": 0},
                          "forecast": {"requests": 0, "weight": 0}})


class Lifecycle(unittest.TestCase):
    def test_signals_exit_cleanly(self):
        for sig in (signal.SIGTERM, signal.SIGINT):
            port_file = os.path.join(TMP.name, f"port{sig}")
            proc, port = start_server([COORDS], port_file)
            try:
                self.assertEqual(open(port_file).read().strip(), str(port))
                proc.send_signal(sig)
                self.assertEqual(proc.wait(5), 0)
            finally:
                proc.kill()
                proc.wait()
                proc.stdout.close()

    def test_openmeteo_flags(self):
        port_file = os.path.join(TMP.name, "port-flags")
        proc, port = start_server([], port_file, ["--now", "2026-01-02T03:04:05+01:00",
                                                  "--archive-delay-days", "1.5",
                                                  "--snow-depth-delay-days", "7"])
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", "/_control/openmeteo")
            self.assertEqual(json.loads(c.getresponse().read()),
                             {"now": "2026-01-02T02:04:05Z", "archive_delay_days": 1.5,
                              "snow_depth_delay_days": 7, "effective_now": "2026-01-02T02:04:05Z"})
            c.close()
        finally:
            proc.terminate()
            proc.wait(5)
            proc.stdout.close()
        with open(os.path.join(TMP.name, "bad.err"), "w") as err:
            rc = subprocess.run([sys.executable, SERVER, "--now", "soon"],
                                stdout=subprocess.DEVNULL, stderr=err, timeout=10).returncode
        self.assertEqual(rc, 2)

    def test_stderr_quiet(self):
        """Only the load summary line: no per-request logs, no tracebacks."""
        with open(os.path.join(TMP.name, "port.err")) as fh:
            lines = fh.read().splitlines()
        self.assertEqual(len(lines), 1, lines)
        self.assertRegex(lines[0], r"^replay_server: 150 warnings .* 0 skipped$")


def main():
    suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[__name__])
    result = unittest.TextTestRunner(stream=sys.stderr, verbosity=1).run(suite)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    if result.testsRun == 0 or (failed == 0 and not result.wasSuccessful()):
        failed = max(failed, 1)   # e.g. setUpModule failed
    passed = result.testsRun - failed - len(result.skipped)
    print(f"replay: {max(passed, 0)} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
