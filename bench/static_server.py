#!/usr/bin/env python3
"""A fast static stand-in for the replay server, for the benchmark only
(issue 13: is the replay server the limit of `avalanche run`?).

    bench/static_server.py --data CORPUS [--data ...] [--host 127.0.0.1]
                           [--port 0] [--port-file FILE]
    bench/static_server.py --data CORPUS --verify http://127.0.0.1:PORT

Same command line as tests/replay/replay_server.py (--data, --port,
--port-file; "listening on HOST:PORT" on stdout), so bench/bench.py can
start one or the other. It answers the warnings' data URLs exactly as the
replay server does, byte for byte:

    GET <any prefix>/AvalancheWarningByRegion/{Detail|Simple}/{region}/{lang}/{from}/{to}
    -> 200 "[" + the stored elements with from <= date <= to, by date, joined by "," + "]"

and the same 400 bodies for a bad date, from > to or a non-integer region
or lang, 404 '{"error":"not found"}' for any other path. The elements are
the replay server's own (its Store class, imported: the same compact UTF-8
bytes). What it does not do: faults, /_control/*, the Open-Meteo weather
(the benchmark fetches the warnings only, --sources varsom).

Why it is faster: at start each (kind, region, lang) series is encoded
once into one bytes object, its elements joined by ",", with the offset of
each element; an answer is the slice between two offsets, sent with
socket.sendmsg from a memoryview (no join, no copy in Python), after a
hand-written header. One thread per connection (curl keeps
fetch.concurrency = 4 alive), no BaseHTTPRequestHandler parsing.

--verify URL: fetches URL/_control/log from a running replay server (after
an `avalanche run` against it), asks every data path logged of both
servers' answers (the replay server over HTTP, this one in-process) and
exits 0 only if every status and body is identical.
"""
import argparse
import bisect
import datetime
import importlib.util
import json
import os
import re
import signal
import socket
import sys
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, ".."))


def load_replay():
    path = os.path.join(ROOT, "tests", "replay", "replay_server.py")
    spec = importlib.util.spec_from_file_location("replay_server", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


replay = load_replay()
DATA_RE, DATE_RE, INT_RE = replay.DATA_RE, replay.DATE_RE, replay.INT_RE


class Series:
    """One (kind, region, lang): dates, the elements joined by ",", and the
    offset of each element's first byte (plus the end)."""

    def __init__(self, dates, bodies):
        self.dates = dates
        self.offsets = []
        pos = 0
        for b in bodies:
            self.offsets.append(pos)
            pos += len(b) + 1
        self.offsets.append(pos)  # one past the last "," (there is none: -1 below)
        self.blob = memoryview(b",".join(bodies))

    def slice(self, d1, d2):
        i, j = bisect.bisect_left(self.dates, d1), bisect.bisect_right(self.dates, d2)
        if i >= j:
            return self.blob[0:0]
        return self.blob[self.offsets[i]:self.offsets[j] - 1]


class Static:
    def __init__(self, paths):
        store = replay.Store()
        for p in paths:
            if not os.path.exists(p):
                raise SystemExit("static_server: no such file or directory: %s" % p)
            store.load_path(p)
        store.freeze()
        self.count = store.count
        self.series = {k: Series(d, b) for k, (d, b) in store.index.items()}

    def answer(self, method, path):
        """(status, [body pieces]) exactly as replay_server's answer()."""
        m = DATA_RE.match(path.split("?")[0])
        if not m or method not in ("GET", "HEAD"):
            return 404, [b'{"error":"not found"}']
        _prefix, kind, region, lang, d1, d2 = m.groups()
        for d in (d1, d2):
            try:
                if not DATE_RE.match(d):
                    raise ValueError
                datetime.date.fromisoformat(d)
            except ValueError:
                return 400, [json.dumps({"error": f"bad date {d!r}, expected YYYY-MM-DD"})
                             .encode()]
        if d1 > d2:
            return 400, [b'{"error":"from is after to"}']
        if not (INT_RE.match(region) and INT_RE.match(lang)):
            return 400, [b'{"error":"regionId and langKey must be integers"}']
        s = self.series.get((kind.lower(), str(int(region)), str(int(lang))))
        if s is None:
            return 200, [b"[]"]
        return 200, [b"[", s.slice(d1, d2), b"]"]


REASON = {200: b"OK", 400: b"Bad Request", 404: b"Not Found"}


def serve_conn(st, conn):
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    buf = b""
    try:
        while True:
            while b"\r\n\r\n" not in buf:
                got = conn.recv(65536)
                if not got:
                    return
                buf += got
            head, _, buf = buf.partition(b"\r\n\r\n")
            lines = head.split(b"\r\n")
            method, path, _version = lines[0].decode("latin-1").split(" ", 2)
            close = False
            length = 0
            for h in lines[1:]:
                k, _, v = h.partition(b":")
                k = k.strip().lower()
                if k == b"content-length":
                    length = int(v)
                elif k == b"connection" and v.strip().lower() == b"close":
                    close = True
            while len(buf) < length:  # a request body: read and drop
                got = conn.recv(65536)
                if not got:
                    return
                buf += got
            buf = buf[length:]
            status, pieces = st.answer(method, path)
            n = sum(len(p) for p in pieces)
            hdr = (b"HTTP/1.1 %d %s\r\nServer: static-replay/1\r\n"
                   b"Content-Type: application/json; charset=utf-8\r\n"
                   b"Content-Length: %d\r\n%s\r\n"
                   % (status, REASON.get(status, b"?"), n,
                      b"Connection: close\r\n" if close else b""))
            out = [hdr] + ([] if method == "HEAD" else pieces)
            while out:
                sent = conn.sendmsg(out)
                while out and sent >= len(out[0]):
                    sent -= len(out[0])
                    out.pop(0)
                if out and sent:
                    out[0] = memoryview(out[0])[sent:]
            if close:
                return
    except (ConnectionError, ValueError, OSError):
        return
    finally:
        conn.close()


def verify(st, base):
    with urllib.request.urlopen(base + "/_control/log", timeout=30) as r:
        log = json.loads(r.read())
    paths = sorted({e["path"] for e in log if e["method"] == "GET"})
    bad = 0
    for p in paths:
        try:
            with urllib.request.urlopen(base + p, timeout=30) as r:
                want = (r.status, r.read())
        except urllib.error.HTTPError as e:
            want = (e.code, e.read())
        status, pieces = st.answer("GET", p)
        got = (status, b"".join(bytes(x) for x in pieces))
        if got != want:
            bad += 1
            print("DIFFERS: %s (%d, %d bytes) vs replay (%d, %d bytes)"
                  % (p, got[0], len(got[1]), want[0], len(want[1])))
    print("verify: %d paths, %d differ" % (len(paths), bad))
    return 1 if bad or not paths else 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", action="append", default=[], metavar="PATH")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--verify", metavar="REPLAY_URL")
    a = ap.parse_args(argv)
    t0 = time.monotonic()
    st = Static(a.data)
    print("static_server: %d warnings (%d series) in %.2fs"
          % (st.count, len(st.series), time.monotonic() - t0), file=sys.stderr, flush=True)
    if a.verify:
        return verify(st, a.verify.rstrip("/"))

    def stop(_signum, _frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((a.host, a.port))
    ls.listen(128)
    port = ls.getsockname()[1]
    if a.port_file:  # temp name + rename: readers never see a partial file
        tmp = "%s.tmp%d" % (a.port_file, os.getpid())
        with open(tmp, "w") as fh:
            fh.write("%d\n" % port)
        os.replace(tmp, a.port_file)
    print("listening on %s:%d" % (a.host, port), flush=True)
    try:
        while True:
            conn, _ = ls.accept()
            threading.Thread(target=serve_conn, args=(st, conn), daemon=True).start()
    except KeyboardInterrupt:
        pass
    finally:
        ls.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
