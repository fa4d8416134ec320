#!/usr/bin/env python3
"""Self-test for replay_server.py (stdlib only).

Starts the server on port 0 with the recorded fixtures plus a generated .jsonl
directory, exercises data filtering and every fault kind, and ends by printing
exactly one line "replay: N passed, M failed" (exit status 1 on any failure).
Unittest's own report goes to stderr.
"""
import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(HERE, "replay_server.py")
FIX = os.environ.get("VARSOM_FIXTURES", "/work/shared/fixtures/varsom")
DETAIL = os.path.join(FIX, "detail_3022_2023-03-01_to_2023-03-05_lang2_v6.2.1.json")
COORDS = os.path.join(FIX, "coordinates_simple_69.65_18.95_lang1_2026-03-01_to_2026-03-03_v6.3.0.json")
SUMMARY = os.path.join(FIX, "regionsummary_simple_lang1_2022-01-16_to_2022-01-18_v6.0.1.json")
BASE = "/hydrology/forecast/avalanche/v6.3.0/api"

PROC = PORT = TMP = None


def compact(obj):
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def start_server(data, port_file):
    """Start a server; its stderr goes to port_file + ".err". Returns (proc, port)."""
    with open(port_file + ".err", "w") as err:
        proc = subprocess.Popen([sys.executable, SERVER, "--port", "0", "--port-file", port_file]
                                + [x for d in data for x in ("--data", d)],
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
    PROC, PORT = start_server([DETAIL, COORDS, SUMMARY, d], port_file)
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
