"""`avalanche serve`: catch-up at start, the HTTP API (status codes, JSON
shapes, bad parameters, the token rule), /metrics, the dashboard HTML, the
run lock and a clean SIGTERM. The clock is pinned with AV_FAKE_NOW.
"""
import datetime as dt
import fcntl
import json
import os
import socket
import tempfile
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
import zoneinfo

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import synth  # noqa: E402
from harness import BIN, DETAIL, Replay, main, query, run, tmpdb  # noqa: E402

R = None
NOW = {"AV_FAKE_NOW": "2023-03-03T12:00:00Z"}


class Serve:
    def __init__(self, db, token=None, extra=(), now=NOW):
        env = dict(os.environ, **now)
        if token:
            env["AVALANCHE_SERVE_TOKEN"] = token
        self.proc = subprocess.Popen(
            [BIN, "serve", "--db", db, "--api-base", R.base, "--region", "3022", "--lang", "2",
             "--listen", "127.0.0.1:0", "--no-progress", *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        line = self.proc.stdout.readline()
        assert line.startswith("serving on http://127.0.0.1:"), line
        self.base = line.split()[-1].rstrip("/")

    def get(self, path, method="GET", headers=None):
        req = urllib.request.Request(self.base + path, method=method, headers=headers or {},
                                     data=b"" if method == "POST" else None)
        try:
            with urllib.request.urlopen(req, timeout=20) as r:
                return r.status, r.headers.get("Content-Type"), r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.headers.get("Content-Type"), e.read().decode()

    def peek_stderr(self):
        """What serve wrote to stderr so far (without blocking)."""
        import fcntl as f_
        fd = self.proc.stderr.fileno()
        f_.fcntl(fd, f_.F_SETFL, f_.fcntl(fd, f_.F_GETFL) | os.O_NONBLOCK)
        try:
            chunk = os.read(fd, 1 << 20)
        except BlockingIOError:
            chunk = b""
        self.err_seen = getattr(self, "err_seen", b"") + chunk
        return self.err_seen

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        out, err = self.proc.communicate(timeout=30)
        return self.proc.returncode, getattr(self, "err_seen", b"").decode(errors="replace") + err


def wait_scheduled(base):
    """/healthz once the daemon has decided its next run (after the
    catch-up, if any): the observable end of its start-up."""
    deadline = time.time() + 30
    while time.time() < deadline:
        with urllib.request.urlopen(base + "/healthz", timeout=10) as r:
            h = json.loads(r.read())
        if h["next_run"] is not None:
            return h
        time.sleep(0.05)
    raise AssertionError("never scheduled: %s" % h)


def wait_runs(s, n):
    deadline = time.time() + 30
    while time.time() < deadline:
        code, _, body = s.get("/api/runs")
        runs = json.loads(body)
        if len(runs) >= n and all(r["status"] != "running" for r in runs):
            return runs
        time.sleep(0.1)
    raise AssertionError("runs: %s" % body)


def test_catch_up_api_metrics_dashboard_and_token():
    db = tmpdb()
    s = Serve(db, token="s3cret")
    try:
        runs = wait_runs(s, 1)  # nothing ran before: a catch-up run at start
        assert runs[0]["status"] == "ok" and runs[0]["warnings_stored"] == 5, runs
        h = wait_scheduled(s.base)
        code, ctype, body = s.get("/healthz")
        assert code == 200 and "json" in ctype and json.loads(body) == h
        assert h == {"status": "ok", "run_active": False,
                     "next_run": "2023-03-03T15:30:00.000Z"}, h
        code, _, body = s.get("/api/warnings?region=3022&from=2023-03-01&to=2023-03-05&lang=2")
        ws = json.loads(body)
        assert code == 200 and [w["valid_date"] for w in ws] == \
            ["2023-03-0%d" % d for d in range(1, 6)]
        assert ws[1]["publish_time"] == "2023-03-02T08:11:14.200Z" and len(ws[1]["problems"]) == 2
        code, _, body = s.get("/api/regions")
        regions = {r["id"]: r for r in json.loads(body)}
        assert len(regions) == 46 and regions[3022]["last_date"] == "2023-03-05"
        assert regions[3022]["name"] == "Trollheimen" and regions[3011]["last_date"] is None
        for path, param in (("/api/warnings?region=9999", "region"),
                            ("/api/warnings?from=2023-02-30", "from"),
                            ("/api/warnings?lang=3", "lang"),
                            ("/api/warnings?from=2023-03-05&to=2023-03-01", "from"),
                            ("/api/runs?limit=0", "limit")):
            code, _, body = s.get(path)
            assert code == 400 and json.loads(body)["parameter"] == param, (path, code, body)
        assert s.get("/nope")[0] == 404
        assert s.get("/api/runs", method="PUT")[0] == 405
        # the token rule
        assert s.get("/api/runs", method="POST")[0] == 401
        assert s.get("/api/runs", method="POST",
                     headers={"Authorization": "Bearer wrong"})[0] == 401
        code, _, body = s.get("/api/runs", method="POST",
                              headers={"Authorization": "Bearer s3cret"})
        assert code == 202, body
        runs = wait_runs(s, 2)
        assert [r["status"] for r in runs] == ["ok", "ok"]
        # planned from the last stored date (03-05) minus the 3-day overlap
        assert runs[0]["warnings_stored"] == 0 and runs[0]["warnings_unchanged"] == 4
        code, ctype, body = s.get("/metrics")
        assert code == 200 and ctype.startswith("text/plain; version=0.0.4")
        assert 'avalanche_runs_total{status="ok"} 2' in body
        assert "avalanche_warnings 5" in body
        assert "avalanche_fetch_requests_total 2" in body  # one request per run
        assert "avalanche_fetch_retries_total 0" in body
        assert 'avalanche_last_date_seconds{region="3022",lang="2",endpoint="detail"} ' \
            "1677974400" in body
        code, ctype, html = s.get("/")
        assert code == 200 and ctype.startswith("text/html")
        assert 'data-date="2023-03-03" data-level="3" style="background:#ff9900' in html
        assert 'data-date="2023-03-02" data-level="2" style="background:#ffff00' in html
        assert "Trollheimen" in html and 'id="freshness"' in html and 'id="runs"' in html
        assert "<th>duration</th>" in html and " s</td><td>1/1</td>" in html
        assert "<script" not in html and "http://" not in html.split("<body>")[1].split(
            "avalanche</h1>")[0]
    finally:
        rc, err = s.stop()
    assert rc == 0, err


def test_no_token_means_403():
    s = Serve(tmpdb())
    try:
        wait_runs(s, 1)
        code, _, body = s.get("/api/runs", method="POST",
                              headers={"Authorization": "Bearer anything"})
        assert code == 403 and "serve.token" in json.loads(body)["error"]
    finally:
        s.stop()


def test_no_catch_up_when_the_last_run_is_recent():
    db = tmpdb()
    # a good run at 12:00 on 2023-03-03, after the 07:30 slot: nothing due
    run("run", "--db", db, "--api-base", R.base, "--region", "3022", "--lang", "2",
        "--no-progress", env=NOW, check=0)
    s = Serve(db)
    try:
        assert wait_scheduled(s.base)["next_run"] == "2023-03-03T15:30:00.000Z"
        code, _, body = s.get("/api/runs")
        assert len(json.loads(body)) == 1, body  # decided without a catch-up run
    finally:
        rc, err = s.stop()
    assert "next run at 2023-03-03T15:30:00.000Z" in err, err


def test_failed_run_is_retried_with_backoff_before_the_next_tick():
    env = dict(os.environ, **NOW)
    proc = subprocess.Popen([BIN, "serve", "--db", tmpdb(), "--api-base",
                             "http://127.0.0.1:9/nothing", "--region", "3022", "--lang", "2",
                             "--listen", "127.0.0.1:0", "-X", "fetch.retries=0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    base = proc.stdout.readline().split()[-1].rstrip("/")
    # the catch-up run failed: retried 5 min later (12:05Z), before the 15:30Z tick
    assert wait_scheduled(base)["next_run"] == "2023-03-03T12:05:00.000Z"
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert "next run at 2023-03-03T12:05:00.000Z" in err, err


def test_one_run_at_a_time():
    db = tmpdb()
    open(db, "w").close()  # an empty database file
    with open(db + ".lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        p = run("run", "--db", db, "--api-base", R.base, "--region", "3022", check=1)
        assert "another run is in progress" in p.stderr, p.stderr
        p = run("reprocess", "--db", db, check=1)  # a rebuild takes the same lock
        assert "another run is in progress" in p.stderr, p.stderr
    run("run", "--db", db, "--api-base", R.base, "--region", "3022", "--lang", "2",
        "--from", "2023-03-01", "--to", "2023-03-05", "--no-progress", check=0)
    assert query(db, "select count(*) from warning")[0][0] == 5


def test_a_locked_database_fails_the_run_not_the_daemon():
    """Another process holds the write lock (a user's sqlite3 shell) during a
    run: the run fails with the reason, the daemon keeps serving, and its
    retry stores the data once the lock is gone."""
    db = tmpdb()
    s = Serve(db, token="t", extra=["-X", "store.busy_timeout_ms=200", "-X",
                                    "serve.retry_ms=1000", "-X", "serve.retry_max_ms=1000"],
              now={"AV_FAKE_NOW": NOW["AV_FAKE_NOW"] + "+"})  # a clock that runs
    try:
        wait_runs(s, 1)  # the catch-up run
        shell = sqlite3.connect(db, isolation_level=None, timeout=30)
        shell.execute("BEGIN IMMEDIATE")  # holds the write lock
        shell.execute("UPDATE fetch_state SET last_date = '2023-02-01'")  # plan again
        try:
            code, _, _ = s.get("/api/runs", "POST", {"Authorization": "Bearer t"})
            assert code == 202
            deadline = time.time() + 30
            # the attempt has failed once serve says why (it cannot record
            # the run while the lock is held): wait for that, or for serve to die
            while time.time() < deadline and s.proc.poll() is None and \
                    b"locked" not in s.peek_stderr():
                time.sleep(0.1)
            assert s.proc.poll() is None, "serve stopped"
            assert s.get("/healthz")[0] == 200
        finally:
            shell.execute("ROLLBACK")
            shell.close()
        deadline = time.time() + 30
        while time.time() < deadline:
            runs = json.loads(s.get("/api/runs")[2])
            if len(runs) >= 3 and all(r["status"] != "running" for r in runs):
                break
            time.sleep(0.1)
        statuses = [r["status"] for r in reversed(runs)]
        assert statuses[0] == "ok" and "failed" in statuses[1:] and statuses[-1] == "ok", runs
        failed = [r for r in runs if r["status"] == "failed"][0]
        assert "locked" in (failed["error"] or ""), failed
        assert query(db, "select count(*) from run where status = 'running'") == [(0,)]
    finally:
        code, err = s.stop()
        assert code == 0, err[-2000:]


def test_a_run_waits_for_a_lock_held_shorter_than_the_busy_timeout():
    """The store under contention: a second process holds the write lock
    for a while during a scheduled run; the run waits (store.busy_timeout_ms)
    and then stores, instead of failing."""
    db = tmpdb()
    s = Serve(db, token="t", extra=["-X", "store.busy_timeout_ms=30000"],
              now={"AV_FAKE_NOW": NOW["AV_FAKE_NOW"] + "+"})
    try:
        wait_runs(s, 1)
        shell = sqlite3.connect(db, isolation_level=None, timeout=30)
        shell.execute("BEGIN IMMEDIATE")
        shell.execute("UPDATE fetch_state SET last_date = '2023-02-01'")
        try:
            assert s.get("/api/runs", "POST", {"Authorization": "Bearer t"})[0] == 202
            deadline = time.time() + 30
            while not json.loads(s.get("/healthz")[2])["run_active"]:
                assert time.time() < deadline, "the run never started"
                time.sleep(0.05)
            # it is blocked on the lock: it cannot even record that it started
            time.sleep(0.5)  # (a margin only: the assertions below need no timing)
            assert json.loads(s.get("/healthz")[2])["run_active"]
            assert len(json.loads(s.get("/api/runs")[2])) == 1
        finally:
            shell.execute("ROLLBACK")
            shell.close()
        runs = wait_runs(s, 2)
        assert [r["status"] for r in runs] == ["ok", "ok"], runs
    finally:
        code, err = s.stop()
        assert code == 0, err[-2000:]
    assert "locked" not in err, err[-2000:]


def test_a_tampered_row_is_refused_with_a_clear_error():
    """A row changed outside avalanche (danger level 100) used to crash
    /region/ID (a colour table read out of bounds): the readers refuse it."""
    db = tmpdb()
    run("run", "--db", db, "--api-base", R.base, "--region", "3022", "--lang", "2",
        "--from", "2023-03-01", "--to", "2023-03-05", "--no-progress", check=0)
    c = sqlite3.connect(db)
    c.execute("PRAGMA ignore_check_constraints = 1")
    c.execute("UPDATE warning SET danger_level = 100 WHERE valid_date = '2023-03-02'")
    c.commit()
    c.close()
    p = run("export", "warnings", "--db", db, check=1)
    assert "danger_level 100 outside 0-5" in p.stderr and "3022 2023-03-02" in p.stderr, p.stderr
    s = Serve(db, extra=["-X", "serve.schedule=03:00"])
    try:
        for path in ("/region/3022", "/", "/api/warnings?region=3022&from=2023-03-01"):
            code, _, body = s.get(path)
            assert code == 500 and "outside 0-5" in body, (path, code, body[:300])
        assert s.get("/healthz")[0] == 200
    finally:
        code, err = s.stop()
        assert code == 0, err[-2000:]


def synthetic_db(n_regions=12, days=40):
    """A database of SYNTHETIC warnings (tests/integration/synth.py)."""
    data = tempfile.mkdtemp(prefix="av-synth-")
    regions = sorted(synth.REGIONS)[:n_regions]
    synth.write_jsonl(os.path.join(data, "synthetic_serve.jsonl"), regions,
                      dt.date(2023, 1, 1), days, langs=(1,))
    srv = Replay(data)
    db = tmpdb()
    try:
        run("run", "--db", db, "--api-base", srv.base, "--region",
            ",".join(map(str, regions)), "--lang", "1", "--from", "2023-01-01",
            "--to", (dt.date(2023, 1, 1) + dt.timedelta(days=days - 1)).isoformat(),
            "--no-progress", check=0)
    finally:
        srv.stop()
    return db, n_regions * days


def test_large_answers_come_in_pages_with_a_next_link():
    db, total = synthetic_db()
    want = [json.loads(x) for x in run("export", "warnings", "--db", db).stdout.splitlines()]
    assert len(want) == total == 480
    s = Serve(db, extra=["-X", "serve.schedule=03:00"])
    try:
        got, path, pages = [], "/api/warnings?from=2023-01-01&limit=100", 0
        while path:
            req = urllib.request.Request(s.base + path)
            with urllib.request.urlopen(req, timeout=20) as r:
                page = json.loads(r.read())
                link = r.headers.get("Link")
            got += page
            pages += 1
            assert len(page) == (100 if link else 80), (len(page), link)
            path = link.split(">")[0].lstrip("<") if link else None
            assert path is None or ("limit=100" in path and "after=" in path), path
        assert pages == 5 and got == want  # every warning once, in order
        for bad in ("limit=0", "limit=10001", "limit=1e3", "after=3022:2023-01-01",
                    "after=x:2023-01-01:1"):
            code, _, body = s.get("/api/warnings?" + bad)
            assert code == 400 and json.loads(body)["parameter"] == bad.split("=")[0], body
        # eight clients pulling every warning at once do not hold up /healthz
        stop, done, worst = threading.Event(), [0], [0.0]

        def pull():
            while not stop.is_set():
                with urllib.request.urlopen(s.base + "/api/warnings?from=2023-01-01&limit=10000",
                                            timeout=60) as r:
                    assert len(json.loads(r.read())) == 480
                done[0] += 1

        pullers = [threading.Thread(target=pull, daemon=True) for _ in range(8)]
        for t in pullers:
            t.start()
        try:
            while done[0] < 24:  # the large answers are being built meanwhile
                t0 = time.time()
                assert s.get("/healthz")[0] == 200
                worst[0] = max(worst[0], time.time() - t0)
                time.sleep(0.02)
        finally:
            stop.set()
            for t in pullers:
                t.join(timeout=60)
        assert worst[0] < 1.0, worst
    finally:
        code, err = s.stop()
        assert code == 0, err[-2000:]


def slow_client(port, stop, opened, lock):
    """slowloris: a request line, then one header line a second, forever;
    reconnects when the server hangs up."""
    while not stop.is_set():
        try:
            c = socket.create_connection(("127.0.0.1", port), timeout=5)
        except OSError:
            time.sleep(0.2)
            continue
        with lock:
            opened[0] += 1
        try:
            c.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            while not stop.wait(1.0):
                c.sendall(b"X-Slow: 1\r\n")
        except OSError:
            pass  # closed by the server: its header deadline
        finally:
            c.close()


def test_slow_clients_do_not_make_it_unreachable():
    """300 connections sending one header line a second for 20 s: /healthz
    on a fresh connection answers within 1 s every time, and the slow ones
    are closed at the header deadline (then come back)."""
    db = tmpdb()
    open(db, "w").close()  # an empty database file
    s = Serve(db, extra=["-X", "serve.schedule=03:00", "-X", "serve.header_timeout_ms=3000"])
    stop, lock, opened = threading.Event(), threading.Lock(), [0]
    port = int(s.base.rsplit(":", 1)[1])
    threads = [threading.Thread(target=slow_client, args=(port, stop, opened, lock), daemon=True)
               for _ in range(300)]
    try:
        for t in threads:
            t.start()
        deadline, worst, checks = time.time() + 20, 0.0, 0
        while time.time() < deadline:
            t0 = time.time()
            with urllib.request.urlopen(s.base + "/healthz", timeout=5) as r:
                assert r.status == 200
            worst = max(worst, time.time() - t0)
            checks += 1
            time.sleep(0.25)
        assert worst < 1.0, worst
        with lock:
            assert opened[0] > 300, opened[0]  # the deadline closed them, they came back
        assert checks > 40
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=10)
        code, err = s.stop()
        assert code == 0, err[-2000:]


def test_metrics_do_not_wait_for_a_broker_that_is_down():
    db = tmpdb()
    open(db, "w").close()  # an empty database file
    s = Serve(db, extra=["-X", "serve.schedule=03:00", "--brokers", "127.0.0.1:1",
                         "-X", "stream.timeout_ms=5000"])
    try:
        for _ in range(3):
            t0 = time.time()
            code, _, body = s.get("/metrics")
            assert code == 200 and time.time() - t0 < 1.0, time.time() - t0
            assert "avalanche_kafka_up 0" in body and "avalanche_runs_total" in body
    finally:
        code, err = s.stop()
        assert code == 0, err[-2000:]


def raw_http(port, data, timeout=5):
    c = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        c.sendall(data)
        got = b""
        while True:
            chunk = c.recv(65536)
            if not chunk:
                return got
            got += chunk
            if b"\r\n\r\n" in got:
                head, _, body = got.partition(b"\r\n\r\n")
                n = [int(h.split(b":")[1]) for h in head.split(b"\r\n")
                     if h.lower().startswith(b"content-length:")]
                if n and len(body) >= n[0]:
                    return got
    finally:
        c.close()


def test_strict_parameters_and_bodies():
    db = tmpdb()
    open(db, "w").close()  # an empty database file
    s = Serve(db, token="t", extra=["-X", "serve.schedule=03:00"])
    port = int(s.base.rsplit(":", 1)[1])
    try:
        # %00 used to cut the value (lang=%00 dropped the filter)
        code, _, body = s.get("/api/warnings?lang=%00")
        assert code == 400 and json.loads(body)["parameter"] == "lang", body
        code, _, body = s.get("/api/warnings?region=%ff")
        assert code == 400 and "\\u00ff" not in body and "\xff" not in body, body
        assert json.loads(body)["parameter"] == "region"
        for path in ("/region/+3022", "/region/4294970318", "/region/03022x", "/region/",
                     "/region/03022", "/region/3022%20"):
            assert s.get(path)[0] == 404, path
        assert s.get("/region/3022")[0] == 200
        t0 = time.time()
        code, _, body = s.get("/api/warnings?" + "&".join("p%d=1" % i for i in range(5000)))
        assert code in (400, 414, 431) and time.time() - t0 < 2, (code, time.time() - t0)
        # past what a connection may hold, the server gives up on it at once
        t0 = time.time()
        got = raw_http(port, b"GET /api/warnings?" +
                       "&".join("p%d=1" % i for i in range(20000)).encode() +
                       b" HTTP/1.1\r\nHost: x\r\n\r\n")
        assert (got == b"" or got.startswith(b"HTTP/1.1 4")) and time.time() - t0 < 2, got[:200]
        assert s.get("/healthz")[0] == 200
        # an unauthenticated POST announcing 2 GB is answered at once, not drained
        t0 = time.time()
        got = raw_http(port, b"POST /api/runs HTTP/1.1\r\nHost: x\r\n"
                             b"Content-Length: 2000000000\r\n\r\n" + b"x" * 1000)
        assert got.startswith(b"HTTP/1.1 401") and time.time() - t0 < 2, got[:200]
    finally:
        code, err = s.stop()
        assert code == 0, err[-2000:]


def test_bad_listen_and_schedule():
    p = run("serve", "--db", tmpdb(), "--listen", "nowhere", check=1)
    assert "ADDR:PORT" in p.stderr
    for bad in ("127.0.0.1:abc", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:80x"):
        p = run("serve", "--db", tmpdb(), "--listen", bad, check=1)
        assert "ADDR:PORT" in p.stderr, (bad, p.stderr)
    p = run("serve", "--db", tmpdb(), "-X", "serve.schedule=7:30", check=2)
    assert "HH:MM" in p.stderr


# ---------------------------------------------------------------- the weather


SVG = "{http://www.w3.org/2000/svg}"


def weather_db():
    """Warnings and weather of 3022 from a real `run --sources varsom,weather`
    against the replay server (its Open-Meteo values are SYNTHETIC), both
    clocks at NOW."""
    R._call("POST", "/_control/openmeteo", {"now": NOW["AV_FAKE_NOW"], "archive_delay_days": 5,
                                            "snow_depth_delay_days": 5})
    db = tmpdb()
    base = "http://127.0.0.1:%d/v1" % R.port
    run("run", "--db", db, "--api-base", R.base, "--region", "3022", "--lang", "2",
        "--sources", "varsom,weather", "--from", "2023-01-10", "--to", "2023-03-05",
        "-X", "weather.archive_base=" + base, "-X", "weather.forecast_base=" + base,
        "--no-progress", env=NOW, check=0)
    return db


def chart(html):
    """The region page's weather chart, parsed as XML (it must be well formed)."""
    start = html.index('<svg id="wx-chart"')
    svg = html[start:html.index("</svg>", start) + 6]
    return svg, ET.fromstring(svg)


def check_bounds(root):
    """Every coordinate of the chart inside its view box, and no NaN/inf."""
    _, _, w, h = map(float, root.get("viewBox").split())
    assert (w, h) == (float(root.get("width")), float(root.get("height")))
    for el in root.iter():
        for a, top in (("x", w), ("x1", w), ("x2", w), ("cx", w), ("width", w),
                       ("y", h), ("y1", h), ("y2", h), ("cy", h), ("height", h)):
            if el.get(a) is not None:
                assert 0 <= float(el.get(a)) <= top, (el.tag, a, el.get(a))
        for pt in (el.get("points") or "").split():
            x, y = map(float, pt.split(","))
            assert 0 <= x <= w and 0 <= y <= h, (el.tag, pt)
        for t in (el.text or "", *(el.attrib.values())):
            assert "nan" not in t.lower() and "inf" not in t.lower(), (el.tag, t)


def samples(body):
    """Prometheus text: {series: value}, checking that each family's samples
    follow its one # TYPE line (what a scraper needs)."""
    out, typed, family = {}, set(), None
    for line in body.splitlines():
        if line.startswith("# TYPE "):
            family = line.split()[2]
            assert family not in typed, line
            typed.add(family)
        elif line and not line.startswith("#"):
            series, value = line.rsplit(" ", 1)
            assert series.split("{")[0] == family, (line, family)
            out[series] = float(value)
    return out


def test_region_page_shows_the_weather_next_to_the_danger_level_and_metrics_count_it():
    db = weather_db()
    # an hour of an earlier UTC day, so that the day's weight is not the total
    c = sqlite3.connect(db)
    c.execute("INSERT INTO api_usage (api, hour, requests, weight) "
              "VALUES ('open-meteo', '2023-03-02T09', 3, 12.5)")
    c.commit()
    c.close()
    # the page's window: today - 60 .. today + 2
    days = query(db, "select date, precipitation_sum from weather_daily where region_id = 3022 "
                     "and date between '2023-01-02' and '2023-03-05' order by date")
    assert len(days) == 55 and all(p is not None for _, p in days), days
    s = Serve(db, extra=["-X", "weather.budget_day=7000"])
    try:
        code, ctype, html = s.get("/region/3022")
        assert code == 200 and ctype.startswith("text/html"), (code, html[:500])
        assert len(html) < 100000, len(html)
        svg, root = chart(html)
        check_bounds(root)
        assert root.get("role") == "img" and "3022 Trollheimen" in root.get("aria-label")
        assert root.find(SVG + "title").text.startswith("Daily weather and danger level")
        assert "55 of 63 days have weather" in root.find(SVG + "desc").text
        days_drawn = {g.get("data-date"): g for g in root.iter(SVG + "g")
                      if g.get("data-date")}
        bars = [g.get("data-date") for g in days_drawn.values()
                if g.find(SVG + "rect[@class='pr']") is not None]
        assert bars == [d for d, _ in days], (bars, days)  # a bar per weather day, in order
        assert len(list(root.iter(SVG + "rect"))) > 2 * len(days)
        assert svg.count('class="sn"') == len(days)
        # the danger level along the same days, in the page's colours
        levels = {g.get("data-date"): (r.get("data-level"), r.get("fill"))
                  for g in days_drawn.values() for r in g.findall(SVG + "rect[@class='dl']")}
        assert levels == {"2023-03-01": ("2", "#ffff00"), "2023-03-02": ("2", "#ffff00"),
                          "2023-03-03": ("3", "#ff9900"), "2023-03-04": ("3", "#ff9900"),
                          "2023-03-05": ("3", "#ff9900")}, levels
        assert len(list(root.iter(SVG + "polyline"))) == 1  # the mean: one unbroken run
        labels = [t.text for t in root.iter(SVG + "text")]
        for want in ("°C", "mm · cm", "precipitation, mm", "snowfall, cm",
                     "mean temperature, °C", "day (Europe/Oslo)", "today"):
            assert want in labels, (want, labels)
        assert 'Weather data by <a href="https://open-meteo.com/">Open-Meteo.com</a>' in html
        assert 'id="wx-note"' not in html and "<script" not in html
        assert "<link" not in html and "url(" not in html and " src=" not in html
        assert html.count('<tr data-date="2023-03-0') == 5  # the warnings are still there
        # /metrics against the database
        code, _, body = s.get("/metrics")
        assert code == 200, body
        m = samples(body)
        req, weight = query(db, "select sum(requests), sum(weight) from api_usage "
                                "where api = 'open-meteo'")[0]
        today = query(db, "select sum(weight) from api_usage where api = 'open-meteo' "
                          "and hour >= '2023-03-03T00'")[0][0]
        assert req == 5 and today < weight
        assert m["avalanche_weather_requests_total"] == req
        assert abs(m["avalanche_weather_weight_total"] - weight) < 1e-9
        assert abs(m["avalanche_weather_weight_utc_day"] - today) < 1e-9
        assert m["avalanche_weather_weight_budget_utc_day"] == 7000
        last = query(db, "select last_date from fetch_state where region_id = 3022 "
                         "and lang = 0 and endpoint = 'archive'")[0][0]
        midnight = dt.datetime.fromisoformat(last).replace(
            tzinfo=zoneinfo.ZoneInfo("Europe/Oslo")).timestamp()
        key = 'avalanche_weather_last_complete_day_timestamp_seconds{region="3022"}'
        assert last == "2023-02-23" and m[key] == midnight == 1677106800, (last, m.get(key))
        assert [k for k in m if "last_complete_day" in k] == [key]
        # the same answers to clients asking at once (TSan's run watches this)
        got, errors = [], []

        def fetch(path):
            try:
                for _ in range(5):
                    got.append((path, s.get(path)[:1]))
            except Exception as e:  # reported below
                errors.append(repr(e))

        threads = [threading.Thread(target=fetch, args=(p,))
                   for p in ("/region/3022", "/metrics") * 6]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert not errors and len(got) == 60 and all(c == (200,) for _, c in got), errors
        assert s.get("/region/3022")[2].count('class="pr"') == 55
    finally:
        code, err = s.stop()
        assert code == 0, err[-2000:]


def test_region_page_without_weather_says_so():
    s = Serve(tmpdb())  # its catch-up run fetches the warnings only
    try:
        wait_runs(s, 1)
        code, _, html = s.get("/region/3022")
        assert code == 200, html[:500]
        assert '<p id="wx-note">No weather stored for these days' in html, html
        # the danger charts stay; the weather chart and its credit do not
        assert 'id="wx-chart"' not in html and "Open-Meteo" not in html
        assert html.count('<tr data-date="2023-03-0') == 5
        m = samples(s.get("/metrics")[2])
        assert m["avalanche_weather_requests_total"] == 0
        assert m["avalanche_weather_weight_total"] == 0
        assert m["avalanche_weather_weight_utc_day"] == 0
        assert m["avalanche_weather_weight_budget_utc_day"] == 8000  # the default
        assert not [k for k in m if "last_complete_day" in k]
    finally:
        code, err = s.stop()
        assert code == 0, err[-2000:]


def test_a_tampered_weather_row_still_renders_within_bounds():
    """weather_daily rows changed outside avalanche: huge, infinite, negative,
    text where numbers belong, a date that is no date. The chart leaves the
    impossible values out, says so, and stays inside its box."""
    db = weather_db()
    c = sqlite3.connect(db)
    for sql in (
            "UPDATE weather_daily SET temperature_2m_mean = 1e308, temperature_2m_max = 'NaN', "
            "precipitation_sum = -5 WHERE date = '2023-02-10'",
            "UPDATE weather_daily SET temperature_2m_min = '-Infinity', snowfall_sum = 9e999, "
            "precipitation_sum = 'lots' WHERE date = '2023-02-11'",
            "UPDATE weather_daily SET temperature_2m_mean = -1e308, temperature_2m_min = NULL, "
            "temperature_2m_max = 1e300, snowfall_sum = -9e999 WHERE date = '2023-02-12'",
            "UPDATE weather_daily SET date = '2023-02-3x' WHERE date = '2023-02-13'",
            "UPDATE weather_daily SET precipitation_sum = 1e308, snowfall_sum = 1999 "
            "WHERE date = '2023-02-14'"):
        c.execute(sql)
    c.commit()
    c.close()
    s = Serve(db, extra=["-X", "serve.schedule=03:00"])
    try:
        code, _, html = s.get("/region/3022")
        assert code == 200, html[:2000]
        svg, root = chart(html)
        check_bounds(root)
        desc = root.find(SVG + "desc").text
        assert "54 of 63 days have weather" in desc, desc  # 02-13 is no day any more
        assert "values no weather can have were left out" in desc, desc
        bars = {g.get("data-date") for g in root.iter(SVG + "g")
                if g.find(SVG + "rect[@class='pr']") is not None}
        assert "2023-02-10" not in bars and "2023-02-14" not in bars  # -5 mm, 1e308 mm
        assert "2023-02-11" in bars and "2023-02-13" not in bars  # 'lots' reads as 0
        assert len(bars) == 52, len(bars)
        # the amount axis holds the 1999 cm of snow, and no more
        ticks = [float(t.text) for t in root.iter(SVG + "text") if t.get("x") == "678.0"]
        assert max(ticks) == 2000, ticks
        assert s.get("/healthz")[0] == 200
    finally:
        code, err = s.stop()
        assert code == 0, err[-2000:]


# ------------------------------------------------- the front page, any date

LATER = {"AV_FAKE_NOW": "2023-06-15T12:00:00Z"}  # long after the fixture's days


def front_map(html):
    """{region: (level, lang, fill)} from the front page's map paths."""
    import re
    return {int(m[0]): (int(m[1]), int(m[3]), m[2]) for m in re.findall(
        r'<path data-region="(\d+)" data-level="(-?\d+)" fill="(#[0-9a-f]{6})" '
        r'data-lang="(\d)"', html)}


def front_counts(html):
    """{level: regions} from the counts table (level -1: no warning stored)."""
    import re
    table = html.split('<table id="counts"')[1].split("</table>")[0]
    return {int(m[0]): int(m[1]) for m in re.findall(
        r'<tr data-level="(-?\d+)"><td>.*?</td><td>(\d+)</td></tr>', table)}


def heat_days(html):
    import re
    head = html.split('<table class="heat" id="heatmap">')[1].split("</tr>")[0]
    return re.findall(r'<th title="(\d{4}-\d\d-\d\d)"', head)


def fixture_db():
    """The recorded fixture's five days (region 3022, lang 2) in a database."""
    db = tmpdb()
    run("run", "--db", db, "--api-base", R.base, "--region", "3022", "--lang", "2",
        "--from", "2023-03-01", "--to", "2023-03-05", "--no-progress", check=0)
    levels = {w["valid_date"]: w["danger_level"] for w in map(
        json.loads, run("export", "warnings", "--db", db).stdout.splitlines())}
    assert sorted(levels) == ["2023-03-0%d" % d for d in range(1, 6)], levels
    return db, levels


def test_front_page_for_a_past_day_moves_map_heatmap_and_counts():
    db, levels = fixture_db()
    colour = ["#d9d9d9", "#ccff66", "#ffff00", "#ff9900", "#ff0000", "#000000"]
    s = Serve(db, extra=["-X", "serve.schedule=03:00"], now=LATER)
    try:
        # today (2023-06-15) has nothing: the map is grey, as before
        code, _, html = s.get("/")
        assert code == 200, html[:500]
        assert front_map(html)[3022] == (-1, 0, "#ffffff"), front_map(html)[3022]
        assert heat_days(html)[18] == "2023-06-15" and front_counts(html)[-1] == 46
        assert "<strong>2023-06-15</strong> (today)" in html
        code, _, html = s.get("/?date=2023-03-02")
        assert code == 200, html[:500]
        m = front_map(html)
        lv = levels["2023-03-02"]
        assert len(m) == 46 and m[3022] == (lv, 2, colour[lv]), m[3022]
        assert all(v[0] == -1 for k, v in m.items() if k != 3022)
        # the window: the 18 days before the day, the day, the 2 after it
        first = dt.date(2023, 2, 12)
        want = [(first + dt.timedelta(days=k)).isoformat() for k in range(21)]
        assert heat_days(html) == want, heat_days(html)
        assert '<th title="2023-03-02" class="sel">' in html
        row = html.split('<tr data-region="3022">')[1].split("</tr>")[0]
        for d in ("2023-03-01", "2023-03-02", "2023-03-03", "2023-03-04"):
            assert 'data-date="%s" data-level="%d"' % (d, levels[d]) in row, (d, row)
        assert "2023-03-05" not in row  # after the window
        counts = front_counts(html)
        assert counts == {**{k: 0 for k in range(6)}, lv: 1, -1: 45}, counts
        assert "<strong>2023-03-02</strong> ·" in html  # not today
        assert '<a href="/?date=2023-03-01" rel="prev">' in html
        assert '<a href="/?date=2023-03-03" rel="next">' in html
        assert '<a href="/">today</a>' in html
        # the next day: everything moves by one
        code, _, html = s.get("/?date=2023-03-03")
        assert front_map(html)[3022][0] == levels["2023-03-03"]
        assert heat_days(html)[0] == "2023-02-13" and heat_days(html)[-1] == "2023-03-05"
        # only lang 2 is stored: asking for lang 1 shows it, the links keep lang
        code, _, html = s.get("/?date=2023-03-02&lang=1")
        assert code == 200 and front_map(html)[3022] == (lv, 2, colour[lv])
        assert '<a href="/?date=2023-03-01&amp;lang=1" rel="prev">' in html
        assert '<a href="/?lang=1">today</a>' in html
        code, _, html = s.get("/?date=2023-03-02&lang=2")
        assert code == 200 and front_map(html)[3022] == (lv, 2, colour[lv])
        assert "<script" not in html
    finally:
        code, err = s.stop()
        assert code == 0, err[-2000:]


def test_front_page_refuses_a_bad_date_or_lang():
    db = tmpdb()
    open(db, "w").close()  # an empty database file
    s = Serve(db, extra=["-X", "serve.schedule=03:00"])
    try:
        for path, param in (("/?date=2023-02-30", "date"), ("/?date=x", "date"),
                            ("/?date=2023-3-02", "date"), ("/?date=1899-12-31", "date"),
                            ("/?date=2023-03-02%00", "date"), ("/?lang=3", "lang"),
                            ("/?lang=0", "lang"), ("/?lang=01", "lang"), ("/?lang=%00", "lang"),
                            ("/?date=2023-03-02&lang=x", "lang")):
            code, ctype, body = s.get(path)
            assert code == 400 and "json" in ctype, (path, code, body[:300])
            assert json.loads(body)["parameter"] == param, (path, body)
        code, _, html = s.get("/?date=2023-03-02&lang=2")
        assert code == 200 and sum(front_counts(html).values()) == 46
        # the first and last days ?date= takes: no link past them
        code, _, html = s.get("/?date=1900-01-01")
        assert code == 200 and 'rel="prev"' not in html and \
            '<a href="/?date=1900-01-02" rel="next">' in html
        code, _, html = s.get("/?date=2200-12-31")
        assert code == 200 and 'rel="next"' not in html and \
            '<a href="/?date=2200-12-30" rel="prev">' in html
    finally:
        code, err = s.stop()
        assert code == 0, err[-2000:]


def test_front_page_picks_the_language_asked_when_both_are_stored():
    """SYNTHETIC warnings in both languages whose levels differ by language."""
    data = tempfile.mkdtemp(prefix="av-synth-")
    regions = sorted(synth.REGIONS)[:3]
    synth.write_jsonl(os.path.join(data, "synthetic_langs.jsonl"), regions,
                      dt.date(2023, 1, 1), 7, langs=(1, 2))
    srv = Replay(data)
    db = tmpdb()
    try:
        run("run", "--db", db, "--api-base", srv.base, "--region",
            ",".join(map(str, regions)), "--lang", "both", "--from", "2023-01-01",
            "--to", "2023-01-07", "--no-progress", check=0)
    finally:
        srv.stop()
    level = {(w["region_id"], w["valid_date"], w["lang"]): w["danger_level"] for w in map(
        json.loads, run("export", "warnings", "--db", db).stdout.splitlines())}
    assert len(level) == 3 * 7 * 2, len(level)
    # a day on which some region's level differs between the languages
    day = next(d for (r, d, lang) in sorted(level)
               if lang == 1 and level[r, d, 1] != level[r, d, 2])
    s = Serve(db, extra=["-X", "serve.schedule=03:00"])
    try:
        for q, lang in (("", 1), ("&lang=1", 1), ("&lang=2", 2)):
            code, _, html = s.get("/?date=" + day + q)
            assert code == 200, html[:500]
            m = front_map(html)
            for r in regions:
                assert m[r][:2] == (level[r, day, lang], lang), (q, r, m[r])
            counts = front_counts(html)
            for lv in range(6):
                assert counts[lv] == sum(level[r, day, lang] == lv for r in regions), \
                    (q, counts)
            assert counts[-1] == 46 - 3
    finally:
        code, err = s.stop()
        assert code == 0, err[-2000:]


def fixture_day(day):
    """The fixture's warning of one day (YYYY-MM-DD)."""
    with open(DETAIL, encoding="utf-8") as f:
        return [w for w in json.load(f) if w["ValidFrom"].startswith(day)][0]


def roses(page):
    """Each avalanche rose of a page: its figure parsed as XML, the aspects
    and bands of its coloured segments, and its caption."""
    import html as html_
    import re
    out = []
    for m in re.finditer(r'<figure class="rose".*?</figure>', page, re.S):
        fig = ET.fromstring(m.group(0))  # well formed, or this raises
        segs = [e for e in fig.iter(SVG + "path") if e.get("class") == "seg"]
        on = [e for e in segs if e.get("data-filled") == "1"]
        for e in segs:
            assert e.find(SVG + "title") is not None and e.get("data-aspect")
        out.append({"aspects": {e.get("data-aspect") for e in on},
                    "bands": {int(e.get("data-band")) for e in on},
                    "nbands": int(fig.get("data-bands")), "segs": len(segs),
                    "caption": html_.unescape("".join(fig.find("figcaption").itertext()))})
    return out


def region_day_db():
    db = tmpdb()
    run("run", "--db", db, "--api-base", R.base, "--region", "3022", "--lang", "2",
        "--from", "2023-03-01", "--to", "2023-03-05", "--no-progress", check=0)
    return db


def test_region_day_shows_the_full_warning_with_a_rose_per_problem():
    """/region/3022?date=2023-03-02: that day's texts as in the fixture, and
    one rose per avalanche problem whose coloured aspects are the
    problem's ValidExpositions, in the bands its ExposedHeightFill says."""
    import html as html_
    import re
    names = ["N", "NE", "E", "SE", "S", "SW", "W", "NW"]
    want = fixture_day("2023-03-02")
    s = Serve(region_day_db(), extra=["-X", "serve.schedule=03:00"])
    try:
        code, ctype, page = s.get("/region/3022?date=2023-03-02")
        assert code == 200 and ctype.startswith("text/html"), page[:2000]
        assert "<h2>Warning for 2023-03-02</h2>" in page
        def same(a, b):  # the transform trims the texts' trailing spaces
            return " ".join(a.split()) == " ".join(b.split())
        m = re.search(r'<p class="main-message">(.*?)</p>', page, re.S)
        assert m and same(html_.unescape(m.group(1).replace("<br>", "\n")), want["MainText"])
        for cls, key in (("danger-assessment", "AvalancheDanger"),
                         ("snow-surface", "SnowSurface"),
                         ("weak-layers", "CurrentWeaklayers")):
            if want.get(key):
                m = re.search(r'<p class="%s">(.*?)</p>' % cls, page, re.S)
                assert m and same(html_.unescape(m.group(1).replace("<br>", "\n")), want[key]), cls
        probs = sorted(want["AvalancheProblems"], key=lambda p: p["AvalancheProblemId"])
        got = roses(page)
        assert len(got) == len(probs) == 2, got
        for r, p in zip(got, probs):
            exp = {names[i] for i, c in enumerate(p["ValidExpositions"]) if c == "1"}
            assert r["aspects"] == exp, (r, p["ValidExpositions"])
            h1 = p["ExposedHeight1"]
            fill = p["ExposedHeightFill"]
            assert (r["nbands"], r["bands"]) == {1: (2, {0}), 2: (2, {1})}[fill], (r, fill)
            assert r["segs"] == 8 * r["nbands"]
            where = "above" if fill == 1 else "below"
            assert "elevation: %s %d m" % (where, h1) in r["caption"], r["caption"]
            assert p["AvalancheProblemTypeName"] in page
            assert p["AvalCauseName"] in page and p["DestructiveSizeExtName"] in page
            assert p["AvalProbabilityName"] in page
            assert p["AvalTriggerSensitivityName"].strip() in page
        advices = re.search(r'<ul class="advices">(.*?)</ul>', page, re.S)
        assert advices and advices.group(1).count("<li>") == len(want["AvalancheAdvices"]) == 3
        assert 'id="mountain-weather"' in page
        assert '<a id="varsom-link" href="https://www.varsom.no/snoskredvarsling/varsel/' \
            'Trollheimen/2023-03-02">' in page
        assert '<a id="day-prev" href="/region/3022?date=2023-03-01">' in page
        assert '<a id="day-next" href="/region/3022?date=2023-03-03">' in page
        assert 'id="day-note"' not in page
        # the history and the chart's note are still there below
        # ?date=2023-03-02 is the window 2023-01-01 .. 2023-03-04 (D - 60 .. D + 2)
        assert page.count('<tr data-date="2023-03-0') == 4
        # a day with one problem only
        assert len(roses(s.get("/region/3022?date=2023-03-04")[2])) == 1
        # no date: the page as before, with a link to the latest stored day
        code, _, page = s.get("/region/3022")
        assert code == 200 and "<figure" not in page
        assert '<p id="day-latest">' in page and 'href="/region/3022?date=2023-03-05"' in page
    finally:
        code, err = s.stop()
        assert code == 0, err[-2000:]


def test_region_day_tampered_rows_are_bounded_and_escaped():
    """Rows changed outside avalanche: markup in the texts, an unknown fill,
    aspects that are no aspects, a height no mountain has. The page escapes
    every text and the roses say in words what they leave out."""
    db = region_day_db()
    c = sqlite3.connect(db)
    c.execute("PRAGMA ignore_check_constraints = 1")
    c.execute("UPDATE warning SET main_text = '<script>alert(1)</script> & \"x\"', "
              "snow_surface = '<img src=x onerror=alert(2)>' WHERE valid_date = '2023-03-02'")
    c.execute("UPDATE problem SET exposed_height_fill = 99, problem_type_name = '<b>bold</b>' "
              "WHERE valid_date = '2023-03-02' AND problem_id = 1")
    c.execute("UPDATE problem SET aspects = 'XX,YY', exposed_height_1 = 123456 "
              "WHERE valid_date = '2023-03-02' AND problem_id = 2")
    c.commit()
    c.close()
    s = Serve(db, extra=["-X", "serve.schedule=03:00"])
    try:
        code, _, page = s.get("/region/3022?date=2023-03-02")
        assert code == 200, page[:2000]
        assert "<script>" not in page and "<img" not in page and "<b>bold" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;x&quot;" in page
        got = roses(page)
        assert len(got) == 2, got
        # fill 99: the aspects only (one band), with a note in words
        assert got[0]["nbands"] == 1 and got[0]["aspects"] == {"NE", "E", "SE", "S"}, got[0]
        assert "the elevation code is unknown: aspects only" in got[0]["caption"]
        # aspects unreadable: nothing coloured, said so; 123456 m: aspects only
        assert got[1]["aspects"] == set() and got[1]["nbands"] == 1, got[1]
        assert got[1]["caption"].startswith("Aspects unknown."), got[1]["caption"]
        assert "out of range" in got[1]["caption"]
    finally:
        code, err = s.stop()
        assert code == 0, err[-2000:]


def test_region_day_bad_dates_and_days_without_a_warning():
    s = Serve(region_day_db(), extra=["-X", "serve.schedule=03:00"])
    try:
        for bad in ("2023-02-30", "2023-3-02", "20230302", "x", "2023-03-02%00", "%202023-03-02",
                    "2023-03-02T00:00", "+2023-03-02", "2023-13-01", "%FF"):
            code, ctype, body = s.get("/region/3022?date=" + bad)
            assert code == 400 and ctype == "application/json", (bad, code, body)
            assert json.loads(body)["parameter"] == "date", (bad, body)
        assert s.get("/region/3022?date=")[0] == 200  # empty = absent
        code, _, page = s.get("/region/3022?date=2023-02-01")
        assert code == 200, page[:2000]
        assert '<p id="day-note">No warning is stored for this region on 2023-02-01.</p>' in page
        assert "<figure" not in page
        assert '<a id="day-next" href="/region/3022?date=2023-02-02">' in page
        code, _, page = s.get("/region/3011?date=2023-03-02")  # nothing stored for 3011
        assert code == 200 and 'id="day-note"' in page
        assert s.get("/region/3011")[0] == 200
        assert 'No warning is stored for this region yet.' in s.get("/region/3011")[2]
    finally:
        code, err = s.stop()
        assert code == 0, err[-2000:]


SEASON_REGIONS = (3003, 3006, 3007)  # the SYNTHETIC season's regions (not 3022)


def season_db():
    """The recorded fixture's five days (3022, lang 2) plus a SYNTHETIC
    season: SEASON_REGIONS in lang 1 over every day of 2022-23
    (tests/integration/synth.py, fetched through a replay server)."""
    db, levels = fixture_db()
    data = tempfile.mkdtemp(prefix="av-synth-")
    synth.write_jsonl(os.path.join(data, "synthetic_season.jsonl"), SEASON_REGIONS,
                      dt.date(2022, 10, 1), 273, langs=(1,))
    srv = Replay(data)
    try:
        run("run", "--db", db, "--api-base", srv.base, "--region",
            ",".join(map(str, SEASON_REGIONS)), "--lang", "1", "--from", "2022-10-01",
            "--to", "2023-06-30", "--no-progress", check=0)
    finally:
        srv.stop()
    return db, levels


def season_bars(html):
    """{date: {level: regions}} from the stacked bars' SVG."""
    import re
    svg = html.split('<svg id="season-bars"')[1].split("</svg>")[0]
    return {d: {int(lv): int(n) for lv, n in re.findall(
        r'<rect data-level="(\d)" data-n="(\d+)"', g)}
        for d, g in re.findall(r'<g class="day" data-date="([0-9-]{10})">(.*?)</g>', svg)}


def season_rows(html):
    """{region: [cell html, ...]} from the season table's body."""
    import re
    body = html.split('<table class="season" id="season">')[1].split("<tbody>")[1]
    return {int(r): re.findall(r"<td[^>]*>.*?</td>", row) for r, row in re.findall(
        r'<tr data-region="(\d+)">(.*?)</tr>', body.split("</tbody>")[0])}


def test_season_page_draws_every_region_and_day_with_counts_per_day():
    db, levels = season_db()
    colour = ["#d9d9d9", "#ccff66", "#ffff00", "#ff9900", "#ff0000", "#000000"]
    rows = query(db, "SELECT region_id, valid_date, lang, danger_level FROM warning "
                     "WHERE valid_date BETWEEN '2022-10-01' AND '2023-06-30'")
    assert len(rows) == 3 * 273 + 5, len(rows)
    # no region-day in both languages here, so a per-day count is the oracle
    assert len({(r, d) for r, d, _, _ in rows}) == len(rows)
    want = {}
    for d, lv, n in query(db, "SELECT valid_date, danger_level, COUNT(*) FROM warning "
                              "WHERE valid_date BETWEEN '2022-10-01' AND '2023-06-30' "
                              "GROUP BY valid_date, danger_level"):
        want.setdefault(d, {})[lv] = n
    days = [(dt.date(2022, 10, 1) + dt.timedelta(days=k)).isoformat() for k in range(273)]
    s = Serve(db, extra=["-X", "serve.schedule=03:00"], now=LATER)
    try:
        wait_scheduled(s.base)
        code, ctype, html = s.get("/season/2022-23")
        assert code == 200 and ctype.startswith("text/html"), (code, html[:500])
        assert "<script" not in html and "<h1>Season 2022-23</h1>" in html
        assert 'data-from="2022-10-01" data-to="2023-06-30" data-days="273"' in html
        # the day axis: 273 days, the month axis: Oct 2022 .. Jun 2023
        import re
        head = html.split('<table class="season" id="season">')[1].split("<tbody>")[0]
        assert re.findall(r'<th data-date="([0-9-]{10})"', head) == days
        months = re.findall(r'<th class="m" colspan="(\d+)">(\w+ \d{4})</th>', head)
        assert [m for _, m in months] == ["Oct 2022", "Nov 2022", "Dec 2022", "Jan 2023",
                                          "Feb 2023", "Mar 2023", "Apr 2023", "May 2023",
                                          "Jun 2023"], months
        assert sum(int(n) for n, _ in months) == 273
        # a row per catalog region, in catalog order, each with 273 cells
        catalog = [g["id"] for g in json.loads(s.get("/api/regions")[2])]
        table = season_rows(html)
        assert list(table) == catalog and len(catalog) == 46, list(table)
        assert all(len(cells) == 273 for cells in table.values())
        assert '<a href="/region/3022">3022 Trollheimen</a>' in html
        # the fixture's five cells: coloured, the level as text and title, linked
        for d, lv in levels.items():
            cell = table[3022][days.index(d)]
            assert ('data-date="%s" data-level="%d" data-lang="2" style="background:%s;' %
                    (d, lv, colour[lv])) in cell, cell
            assert '<a href="/region/3022?date=%s" title="%s: ' % (d, d) in cell, cell
            assert cell.endswith(">%d</a></td>" % lv), cell
        assert sum(c != "<td></td>" for c in table[3022]) == 5
        for r in SEASON_REGIONS:
            assert all(c != "<td></td>" for c in table[r]), r
        assert all(c == "<td></td>" for r in catalog if r not in SEASON_REGIONS + (3022,)
                   for c in table[r])
        # the stacked bars: per day, the regions at each level = a sqlite count
        bars = season_bars(html)
        assert sorted(bars) == days, len(bars)
        for d in days:
            assert bars[d] == want.get(d, {}), (d, bars[d], want.get(d))
        assert html.count('<text class="month"') == 9
        legend = html.split('<g class="legend"')[1].split("</g>")[0]
        assert all(c in legend for c in colour) and "3 considerable" in legend
        # the links: seasons around it, the front page, a cell's day page
        assert '<a href="/season/2021-22" rel="prev">' in html
        assert '<a href="/season/2023-24" rel="next">' in html
        assert s.get("/region/3022?date=2023-03-02")[0] == 200
        # ?lang=2: the fixture is lang 2 already, lang 1 shown where alone
        code, _, html2 = s.get("/season/2022-23?lang=2")
        assert code == 200 and '<a href="/season/2021-22?lang=2" rel="prev">' in html2
        assert season_bars(html2) == bars and 'data-lang="1"' in html2
        # /?season= is the same page; the front page links to its season
        code, _, same = s.get("/?season=2022-23")
        assert code == 200 and same == html
        code, _, front = s.get("/")
        assert code == 200 and '<a id="season-link" href="/season/2022-23">' in front
        code, _, front = s.get("/?date=2022-12-24&lang=2")
        assert '<a id="season-link" href="/season/2022-23?lang=2">' in front
        # a leap season has 274 days, an empty one no bars
        code, _, html = s.get("/season/2023-24")
        assert code == 200 and 'data-days="274"' in html and not season_bars(html)
        assert all(len(c) == 274 for c in season_rows(html).values())
    finally:
        code, err = s.stop()
        assert code == 0, err[-2000:]


def test_season_page_refuses_bad_seasons_and_langs():
    db = tmpdb()
    open(db, "w").close()  # an empty database file
    s = Serve(db, extra=["-X", "serve.schedule=03:00"])
    try:
        # of the shape YYYY-YY but no season: 400 naming it
        for path in ("/season/2022-24", "/season/2022-22", "/season/1899-00",
                     "/season/2199-00", "/?season=2022-24", "/?season=22-23",
                     "/?season=2022-23x", "/?season=%202022-23", "/?season=2022-23%00"):
            code, ctype, body = s.get(path)
            assert code == 400 and "json" in ctype, (path, code, body[:300])
            assert json.loads(body)["parameter"] == "season", (path, body)
        # not a season path at all: 404
        for path in ("/season/22-23", "/season/2022-23x", "/season/", "/season",
                     "/season/2022-23/", "/season/+022-23", "/season/2022%2D23x"):
            code, ctype, body = s.get(path)
            assert code == 404 and "json" in ctype, (path, code, body[:300])
        for path in ("/season/2022-23?lang=3", "/season/2022-23?lang=0",
                     "/?season=2022-23&lang=3"):
            code, _, body = s.get(path)
            assert code == 400 and json.loads(body)["parameter"] == "lang", (path, body)
        assert s.get("/season/2022-23", method="POST")[0] == 404
        # the first and last seasons: no link past them
        code, _, html = s.get("/season/1900-01")
        assert code == 200 and 'rel="prev"' not in html and \
            '<a href="/season/1901-02" rel="next">' in html
        code, _, html = s.get("/season/2198-99?lang=1")
        assert code == 200 and 'rel="next"' not in html and \
            '<a href="/season/2197-98?lang=1" rel="prev">' in html
        assert s.get("/season/1999-00")[0] == 200
    finally:
        code, err = s.stop()
        assert code == 0, err[-2000:]


def quality_db():
    """The recorded fixture's five days (3022, lang 2), a hole (a chunk the
    replay server answers 404) and a reject (a body that is not JSON)."""
    db, _ = fixture_db()
    fast = ["-X", "fetch.backoff_ms=50", "-X", "fetch.backoff_max_ms=200", "--no-progress"]
    R.reset()
    try:
        R.faults([{"match": "/3022/2/2023-02-20/2023-02-21", "status": 404, "body": "{}"}])
        run("backfill", "--db", db, "--api-base", R.base, "--region", "3022", "--lang", "2",
            "--from", "2023-02-20", "--to", "2023-02-21", "--chunk-days", "2", *fast, check=1)
        R.faults([{"body": "not json <&>"}])
        run("run", "--db", db, "--api-base", R.base, "--region", "3022", "--lang", "2",
            "--from", "2023-03-01", "--to", "2023-03-05", *fast, check=1)
    finally:
        R.reset()
    return db


def quality_rows(html, table):
    import re
    body = html.split('<table id="%s">' % table)[1].split("</table>")[0]
    return [re.findall(r"<td[^>]*>(.*?)</td>", row)
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body.split("<tbody>")[1])]


def quality_fresh(html):
    import re
    body = html.split('<table id="fresh-table">')[1].split("</table>")[0]
    return {(int(r), int(lang)): (int(st), cells) for r, lang, st, cells in re.findall(
        r'<tr class="[a-z]*" data-region="(\d+)" data-lang="(\d)" data-stale="(\d)">(.*?)</tr>',
        body)}


def test_quality_page_shows_coverage_holes_rejects_freshness_and_runs():
    db = quality_db()
    holes = query(db, "SELECT region_id, lang, endpoint, from_date, to_date FROM fetch_hole "
                      "ORDER BY from_date")
    # the 404 chunk, and the range whose body was rejected (a hole too)
    assert holes == [(3022, 2, "detail", "2023-02-20", "2023-02-21"),
                     (3022, 2, "detail", "2023-03-01", "2023-03-05")], holes
    rej = query(db, "SELECT stage, reason, count(*) FROM rejected GROUP BY stage, reason")
    assert len(rej) == 1 and rej[0][0] == "parse", rej
    # in season (2023-03-03): 3022 has today, not stale
    s = Serve(db, extra=["-X", "serve.schedule=03:00"])
    try:
        code, ctype, html = s.get("/quality")
        assert code == 200 and ctype.startswith("text/html"), html[:500]
        assert "<script" not in html and "http://" not in html.replace(
            'xmlns="http://www.w3.org/2000/svg"', "")
        cov = html.split('<table id="coverage-table">')[1].split("</table>")[0]
        row = cov.split('<tr data-region="3022">')[1].split("</tr>")[0]
        # 2022-23 is the current season on 2023-03-03: 1 Dec .. 3 Mar = 93 days
        assert '<td data-season="2022-23" data-stored="5" data-expected="93">5 / 93</td>' \
            in row, row
        assert '<td data-season="2021-22" data-stored="0" data-expected="182">0 / 182</td>' \
            in row, row
        assert "the last 5 seasons" in html and "1 Dec &ndash; 31 May" in html
        assert ["3022", "2", "varsom detail", "2023-02-20", "2023-02-21", "2"] == \
            quality_rows(html, "holes-table")[0][:6], quality_rows(html, "holes-table")
        assert len(quality_rows(html, "holes-table")) == 2 and \
            '<p id="holes-count" data-n="2">2 holes.</p>' in html
        rows = quality_rows(html, "rejects-table")
        assert len(rows) == 1, rows
        stage, reason, n = rows[0][0], rows[0][1], rows[0][2]
        assert (stage, n) == ("parse", "1"), rows
        import html as H
        assert H.unescape(reason) == rej[0][1], (reason, rej)
        assert '<code class="sample">not json &lt;&amp;&gt;</code>' in rows[0][5], rows[0][5]
        fresh = quality_fresh(html)
        assert fresh[(3022, 2)][0] == 0 and '<td class="last">2023-03-05</td>' in \
            fresh[(3022, 2)][1], fresh
        runs = quality_rows(html, "runs-table")
        assert len(runs) >= 3 and all(r[4].endswith(" s") for r in runs), runs
        assert int(runs[0][7]) >= 1, runs  # requests of the last run
        code, _, front = s.get("/")
        assert '<a id="quality-link" href="/quality">data quality</a>' in front
        assert s.get("/quality", method="POST")[0] == 405
    finally:
        code, err = s.stop()
        assert code == 0, err[-2000:]
    # in season and behind (2023-03-20): stale; out of season (2023-06-15): not
    for now, stale, label in (({"AV_FAKE_NOW": "2023-03-20T12:00:00Z"}, 1, "stale"),
                              (LATER, 0, "out of season")):
        s = Serve(db, extra=["-X", "serve.schedule=03:00"], now=now)
        try:
            code, _, html = s.get("/quality")
            assert code == 200, html[:500]
            st, cells = quality_fresh(html)[(3022, 2)]
            assert st == stale and "<td>%s</td>" % label in cells, (now, cells)
            assert ('class="stale" data-region="3022"' in html) == bool(stale)
        finally:
            code, err = s.stop()
            assert code == 0, err[-2000:]


def parallel_get(s, paths):
    """GET each path from a thread of its own, all at once (so that several
    of the server's store connections answer): [(code, body)] in order."""
    out = [None] * len(paths)

    def one(i):
        code, _, body = s.get(paths[i])
        out[i] = (code, body)
    ts = [threading.Thread(target=one, args=(i,)) for i in range(len(paths))]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    return out


def all_from_the_cache(s, paths, bodies):
    """Rounds of parallel GETs of paths, each answer bodies[path], until one
    round is all cache hits (a store connection's first use, or its first
    request after a commit, counts as a change: the first rounds may still
    compute some); (metrics before, metrics after) that round."""
    deadline = time.time() + 30
    while True:
        m1 = samples(s.get("/metrics")[2])
        got = parallel_get(s, paths)
        assert got == [(200, bodies[p]) for p in paths]
        m2 = samples(s.get("/metrics")[2])
        hits = m2["avalanche_http_cache_hits_total"] - m1["avalanche_http_cache_hits_total"]
        if hits == len(paths) + 1:  # and the second /metrics' own part
            return m1, m2
        assert time.time() < deadline, (hits, len(paths), m2)


def test_cached_pages_change_when_another_process_stores_data():
    """The pages, /api/* and /metrics are computed once per data change: the
    same body while nothing changed (counted as cache hits), the new data on
    the first request after another process committed (each of the server's
    store connections sees it), and /metrics' per-request counters move on
    every request."""
    db = tmpdb()
    run("run", "--db", db, "--api-base", R.base, "--region", "3022", "--lang", "2",
        "--from", "2023-03-01", "--to", "2023-03-02", "--no-progress", env=NOW, check=0)
    s = Serve(db, extra=["-X", "serve.schedule=03:00"])
    try:
        wait_scheduled(s.base)
        pages = ["/", "/region/3022", "/season/2022-23", "/quality", "/api/regions",
                 "/api/runs", "/?lang=2&date=2023-03-03", "/?date=2023-03-03&lang=2"]
        first = parallel_get(s, pages * 2)  # every store connection, twice per page
        assert all(c == 200 for c, _ in first), [(p, c) for p, (c, _) in zip(pages * 2, first)]
        before = {p: b for p, (_, b) in zip(pages, first)}
        assert json.loads(before["/api/regions"])[0]["id"] and \
            {r["id"]: r for r in json.loads(before["/api/regions"])}[3022]["last_date"] == \
            "2023-03-02"
        # parameters in another order: the same answer
        assert before["/?lang=2&date=2023-03-03"] == before["/?date=2023-03-03&lang=2"]
        m1, m2 = all_from_the_cache(s, pages * 2, before)
        # per request, even when the rest comes from the cache
        assert m2["avalanche_http_requests_total"] > m1["avalanche_http_requests_total"]
        assert m2["avalanche_warnings"] == 2 and m2["avalanche_run_active"] == 0, m2
        m3 = samples(s.get("/metrics")[2])
        assert m3["avalanche_http_requests_total"] == m2["avalanche_http_requests_total"] + 1
        assert m3["avalanche_http_cache_hits_total"] == m2["avalanche_http_cache_hits_total"] + 1
        assert 'data-date="2023-03-03" data-level="3"' not in before["/"]
        # the entity tag: a client that has this answer gets 304, no body
        code, h, body = get_with(s.base, "/region/3022")
        etag = h["ETag"]
        assert code == 200 and body == before["/region/3022"] and len(etag) == 18, h
        assert h["Cache-Control"] == "no-cache"
        assert get_with(s.base, "/region/3022", {"If-None-Match": etag})[0::2] == (304, "")
        assert get_with(s.base, "/region/3022", {"If-None-Match": '"0"'})[0] == 200
        assert "ETag" not in get_with(s.base, "/metrics")[1]
        assert get_with(s.base, "/api/warnings")[1]["Cache-Control"] == "no-store"
        # another process stores three more days (and a run row)
        run("run", "--db", db, "--api-base", R.base, "--region", "3022", "--lang", "2",
            "--from", "2023-03-03", "--to", "2023-03-05", "--no-progress", env=NOW, check=0)
        # committed when it returned: the first answers after it show it, on
        # every connection
        after = parallel_get(s, pages * 2 + ["/metrics"] * 4)
        for path, (code, body) in zip(pages * 2, after):
            assert code == 200 and body != before[path], path
        for code, body in after[len(pages) * 2:]:
            m = samples(body)
            assert m["avalanche_warnings"] == 5 and m['avalanche_runs_total{status="ok"}'] == 2
        got = dict(zip(pages, (b for _, b in after)))
        assert {r["id"]: r for r in json.loads(got["/api/regions"])}[3022]["last_date"] == \
            "2023-03-05"
        assert len(json.loads(got["/api/runs"])) == 2
        assert 'data-date="2023-03-03" data-level="3"' in got["/"], got["/"][:3000]
        all_from_the_cache(s, pages * 2, got)  # and then cached again
        code, h, body = get_with(s.base, "/region/3022", {"If-None-Match": etag})
        assert code == 200 and body == got["/region/3022"] and h["ETag"] != etag
    finally:
        code, err = s.stop()
        assert code == 0, err[-2000:]


def test_a_cached_page_says_the_new_day_after_midnight():
    """A running clock 10 s before midnight in Oslo (22:59:50 UTC, CET): the
    front page, cached, says the new day once it has begun."""
    db = tmpdb()
    open(db, "w").close()  # an empty database file
    s = Serve(db, extra=["-X", "serve.schedule=03:00"],
              now={"AV_FAKE_NOW": "2023-03-03T22:59:50Z+"})
    try:
        wait_scheduled(s.base)  # after the catch-up run
        code, _, html = s.get("/")
        assert code == 200 and "Today (Europe/Oslo): 2023-03-03." in html, html[:2000]
        deadline = time.time() + 30
        while time.time() < deadline:
            html = s.get("/")[2]
            if "Today (Europe/Oslo): 2023-03-04." in html:
                break
            time.sleep(0.2)
        assert "Today (Europe/Oslo): 2023-03-04." in html, html[:2000]
    finally:
        code, err = s.stop()
        assert code == 0, err[-2000:]


def get_with(base, path, headers=None):
    """(status, headers, body) of a GET (not following redirects)."""
    import http.client
    import urllib.parse
    u = urllib.parse.urlsplit(base)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=20)
    try:
        c.request("GET", path, headers=headers or {})
        r = c.getresponse()
        return r.status, r.headers, r.read().decode()
    finally:
        c.close()


def get_no_redirect(base, path):
    import http.client
    import urllib.parse
    u = urllib.parse.urlsplit(base)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=20)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.getheader("Location"), r.read().decode()
    finally:
        c.close()


def test_front_page_season_parameter_redirects_to_the_season_page():
    db = tmpdb()
    open(db, "w").close()  # an empty database file
    s = Serve(db, extra=["-X", "serve.schedule=03:00"])
    try:
        for path, where in (("/?season=2022-23", "/season/2022-23"),
                            ("/?season=2022-23&lang=2", "/season/2022-23?lang=2"),
                            ("/?lang=1&season=1900-01", "/season/1900-01?lang=1")):
            code, loc, body = get_no_redirect(s.base, path)
            assert (code, loc) == (303, where), (path, code, loc, body)
            assert json.loads(body) == {"location": where}
        code, loc, body = get_no_redirect(s.base, "/?season=2022-24")
        assert code == 400 and loc is None and json.loads(body)["parameter"] == "season"
        code, loc, body = get_no_redirect(s.base, "/?season=2022-23&lang=3")
        assert code == 400 and json.loads(body)["parameter"] == "lang"
        code, loc, _ = get_no_redirect(s.base, "/")
        assert code == 200 and loc is None
    finally:
        code, err = s.stop()
        assert code == 0, err[-2000:]


def test_metrics_count_coverage_holes_per_region():
    """avalanche_coverage_holes (and _hole_days) per region from the store's
    holes, the same rows as /quality and `status`; a run that stores a hole's
    days makes it go (and /metrics, cached, says so at once)."""
    db = quality_db()  # 3022: 2023-02-20..21 and 2023-03-01..05 are holes
    s = Serve(db, extra=["-X", "serve.schedule=03:00"])
    try:
        m = samples(s.get("/metrics")[2])
        assert m['avalanche_coverage_holes{region="3022"}'] == 2, m
        assert m['avalanche_coverage_hole_days{region="3022"}'] == 7, m
        assert m['avalanche_coverage_holes{region="3011"}'] == 0
        assert sum(v for k, v in m.items() if k.startswith("avalanche_coverage_holes{")) == 2
        assert len([k for k in m if k.startswith("avalanche_coverage_holes{")]) >= 40
        assert 'data-n="2"' in s.get("/quality")[2]
        run("run", "--db", db, "--api-base", R.base, "--region", "3022", "--lang", "2",
            "--from", "2023-03-01", "--to", "2023-03-05", "--no-progress", env=NOW, check=0)
        m = samples(s.get("/metrics")[2])
        assert m['avalanche_coverage_holes{region="3022"}'] == 1, m
        assert m['avalanche_coverage_hole_days{region="3022"}'] == 2, m
        assert 'data-n="1"' in s.get("/quality")[2]
    finally:
        code, err = s.stop()
        assert code == 0, err[-2000:]


TESTS = [v for k, v in list(globals().items()) if k.startswith("test_")]

if __name__ == "__main__":
    R = Replay(DETAIL)
    try:
        rc = main("serve", TESTS)
    finally:
        R.stop()
    sys.exit(rc)
