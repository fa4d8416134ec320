"""Integration test helpers: the replay server, running the binary, and a
tiny runner whose last line is "<name>: N passed, N failed" (read by CI).

Stdlib only. The binary under test is $AVALANCHE_BIN (default
build/avalanche); run the suite again with build/asan/avalanche for the
sanitizer pass.
"""
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
SHARED = os.environ.get("AV_SHARED", os.path.join(ROOT, "..", "shared"))
FIXTURES = os.path.join(SHARED, "fixtures", "varsom")
DETAIL = os.path.join(FIXTURES, "detail_3022_2023-03-01_to_2023-03-05_lang2_v6.2.1.json")
SIMPLE = os.path.join(FIXTURES,
                      "coordinates_simple_69.65_18.95_lang1_2026-03-01_to_2026-03-03_v6.3.0.json")
SUMMARY = os.path.join(FIXTURES, "regionsummary_simple_lang1_2022-01-16_to_2022-01-18_v6.0.1.json")
BIN = os.path.abspath(os.environ.get("AVALANCHE_BIN", os.path.join(ROOT, "build", "avalanche")))
# The warnings' tests fetch the warnings only (the default also fetches the
# weather, from the internet); the weather's tests (test_weather.py) set
# plan.sources themselves and test the default.
os.environ.setdefault("AVALANCHE_PLAN_SOURCES", "varsom")


class Replay:
    """The loopback replay server (tests/replay/replay_server.py)."""

    def __init__(self, *data):
        self.dir = tempfile.mkdtemp(prefix="av-replay-")
        port_file = os.path.join(self.dir, "port")
        args = [sys.executable, os.path.join(ROOT, "tests", "replay", "replay_server.py"),
                "--port", "0", "--port-file", port_file]
        for d in data:
            args += ["--data", d]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 60
        while not os.path.exists(port_file):
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("replay server did not start: %s" %
                                   self.proc.stderr.read().decode(errors="replace"))
            time.sleep(0.05)
        with open(port_file) as f:
            self.port = int(f.read().strip())
        self.base = "http://127.0.0.1:%d/hydrology/forecast/avalanche/v6.3.0/api" % self.port

    def _call(self, method, path, body=None):
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (self.port, path), method=method,
                                     data=None if body is None else json.dumps(body).encode())
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read() or b"null")

    def faults(self, rules):
        self._call("POST", "/_control/faults", rules)

    def reset(self):
        self._call("POST", "/_control/reset", {})

    def log(self):
        return self._call("GET", "/_control/log")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def run(*args, timeout=120, env=None, check=None):
    """Runs the binary; returns CompletedProcess (text). check = expected rc."""
    e = dict(os.environ)
    e.setdefault("ASAN_OPTIONS", "detect_leaks=1")
    if env:
        e.update(env)
    p = subprocess.run([BIN] + [str(a) for a in args], capture_output=True, text=True,
                       timeout=timeout, env=e)
    if check is not None and p.returncode != check:
        raise AssertionError("avalanche %s: exit %d, expected %d\nstdout:\n%s\nstderr:\n%s" %
                             (" ".join(map(str, args)), p.returncode, check, p.stdout,
                              p.stderr))
    return p


def query(db, sql, *params):
    con = sqlite3.connect(db)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def export(db, dataset="warnings", fmt="jsonl", *extra):
    return run("export", dataset, "--db", db, "--format", fmt, *extra, check=0).stdout


def tmpdb(name="t.db"):
    return os.path.join(tempfile.mkdtemp(prefix="av-it-"), name)


def main(name, tests):
    """Runs each test function; prints one line each and the summary."""
    passed = failed = 0
    only = os.environ.get("ONLY")
    # SKIP="name-part:why,...": tests a build cannot run (said, never silent)
    skip = [x.split(":", 1) for x in os.environ.get("SKIP", "").split(",") if x]
    for t in tests:
        if only and only not in t.__name__:
            continue
        why = [w for part, w in skip if part in t.__name__]
        if why:
            print("skip  %-45s (%s)" % (t.__name__, why[0]), flush=True)
            continue
        start = time.time()
        try:
            t()
            passed += 1
            print("ok    %-45s %5.1fs" % (t.__name__, time.time() - start), flush=True)
        except Exception:  # report and go on
            failed += 1
            print("FAIL  %s\n%s" % (t.__name__, traceback.format_exc()), flush=True)
    print("%s: %d passed, %d failed" % (name, passed, failed), flush=True)
    return 1 if failed else 0
