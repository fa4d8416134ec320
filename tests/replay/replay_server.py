#!/usr/bin/env python3
"""Replay server: serves recorded NVE Varsom API responses on loopback.

Used by the integration tests and the benchmark instead of api01.nve.no.
Python 3.11 stdlib only.

    replay_server.py --data PATH [--data PATH ...] [--host 127.0.0.1]
                     [--port 0] [--port-file FILE] [--verbose]

PATH is a .json file (array of warnings, or a RegionSummary array whose
elements carry AvalancheWarningList, which is flattened), a .jsonl file (one
warning per line, blank lines ignored) or a directory (every .json/.jsonl
below it, recursively, sorted by relative path). Each warning is Detail if it
has AvalancheProblems, CountyList, MountainWeather or AvalancheAdvices, else
Simple, and is indexed by (kind, RegionId, LangKey, ValidFrom[:10]) as compact
UTF-8 bytes (key order preserved); a later duplicate replaces an earlier one.
After binding, the port is written atomically to --port-file and
"listening on HOST:PORT" is printed to stdout. SIGTERM/SIGINT exit with 0.

Data: GET <any prefix>/AvalancheWarningByRegion/{Detail|Simple}/{region}/{lang}/{from}/{to}
  -> 200 JSON array of the stored elements with from <= date <= to, by date
  ("[]" if none); 400 for a malformed date, from > to or a non-integer
  region/lang; 404 (JSON body) for any other path. HTTP/1.1 keep-alive.

Control (never logged, never faulted):
  POST   /_control/faults  JSON array of rules -> replaces the rule list
  GET    /_control/faults  current rules, with the remaining "times"
  DELETE /_control/faults  clears the rules
  POST   /_control/reset   clears the rules and the request log
  GET    /_control/log     [{"method","path","status","fault"}...] for every
                           other request in arrival order; "fault" is the index
                           of the rule applied or null; "status" is null for a
                           dropped request (and while a request is in flight)

Fault rule (JSON object, all fields optional, unknown fields rejected with 400):
  match     substring of the request path (incl. query); default: every request
  times     requests the rule applies to (default 1; -1 = forever)
  status    respond with this status (and "body") instead of the data
  headers   extra response headers, e.g. {"Retry-After": "1"} (may replace
            Content-Type; Content-Length is always computed)
  body      string served instead of the real body (status 200 unless "status")
  delay_ms  sleep first, then answer per the other fields (or normally)
  truncate  N: send the headers with the full Content-Length, then only the
            first N bytes of the body, then close the connection
  drop      true: close the connection without sending anything
Rules are checked in order; the first matching rule with times left is used
and its times decremented (under a lock). Note for libcurl clients: libcurl
silently retries a request once on a fresh connection when a *reused*
connection is closed with no reply, so a "drop" with times 1 may go unseen.
"""
import argparse
import bisect
import datetime
import json
import os
import re
import signal
import socket
import socketserver
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DETAIL_KEYS = ("AvalancheProblems", "CountyList", "MountainWeather", "AvalancheAdvices")
DATA_RE = re.compile(r"^(.*)/AvalancheWarningByRegion/(?i:(detail|simple))"
                     r"/([^/]+)/([^/]+)/([^/]+)/([^/]+)/?$")
DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
INT_RE = re.compile(r"^[0-9]{1,9}$")
RULE_FIELDS = {"match": str, "times": int, "status": int, "headers": dict, "body": str,
               "delay_ms": (int, float), "truncate": int, "drop": bool}


# ---------------------------------------------------------------- data store
class Store:
    """(kind, region, lang) -> parallel sorted lists of dates and element bytes."""

    def __init__(self):
        self._load = {}   # (kind, region, lang) -> {date: bytes}, while loading
        self.index = {}   # (kind, region, lang) -> (dates, bodies), after freeze()
        self.files = self.count = self.skipped = 0

    def add(self, obj):
        if isinstance(obj, list):
            for o in obj:
                self.add(o)
            return
        if not isinstance(obj, dict):
            self.skipped += 1
            return
        if isinstance(obj.get("AvalancheWarningList"), list):   # RegionSummary element
            self.add(obj["AvalancheWarningList"])
            return
        try:
            vf = obj["ValidFrom"][:10]
            key = ("detail" if any(k in obj for k in DETAIL_KEYS) else "simple",
                   str(obj["RegionId"]), str(obj["LangKey"]))
        except (KeyError, TypeError):
            self.skipped += 1
            return
        try:
            raw = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        except UnicodeEncodeError:   # lone surrogate in a string: keep it escaped
            raw = json.dumps(obj, separators=(",", ":")).encode("ascii")
        self._load.setdefault(key, {})[vf] = raw
        self.count += 1

    def load_path(self, path):
        if os.path.isdir(path):
            found = []
            for root, _dirs, names in os.walk(path):
                found += [os.path.join(root, n) for n in names if n.endswith((".json", ".jsonl"))]
            for f in sorted(found, key=lambda p: os.path.relpath(p, path)):
                self.load_file(f)
        else:
            self.load_file(path)

    def load_file(self, path):
        self.files += 1
        with open(path, encoding="utf-8-sig") as fh:
            if path.endswith(".jsonl"):
                for n, line in enumerate(fh, 1):
                    if line.strip():
                        try:
                            self.add(json.loads(line))
                        except ValueError as e:
                            raise SystemExit(f"{path}:{n}: {e}")
            else:
                try:
                    self.add(json.load(fh))
                except ValueError as e:
                    raise SystemExit(f"{path}: {e}")

    def freeze(self):
        for key, by_date in self._load.items():
            dates = sorted(by_date)
            self.index[key] = (dates, [by_date[d] for d in dates])
        self._load = {}

    def query(self, kind, region, lang, d1, d2):
        dates, bodies = self.index.get((kind, region, lang), ((), ()))
        i, j = bisect.bisect_left(dates, d1), bisect.bisect_right(dates, d2)
        return b"[" + b",".join(bodies[i:j]) + b"]"


# ---------------------------------------------------------------- faults
def validate_rules(rules):
    if isinstance(rules, dict):
        rules = [rules]
    if not isinstance(rules, list):
        raise ValueError("expected a JSON array of rule objects")
    out = []
    for i, r in enumerate(rules):
        if not isinstance(r, dict):
            raise ValueError(f"rule {i}: not an object")
        for k, v in r.items():
            t = RULE_FIELDS.get(k)
            if t is None:
                raise ValueError(f"rule {i}: unknown field {k!r}")
            if not isinstance(v, t) or (isinstance(v, bool) and t is not bool):
                raise ValueError(f"rule {i}: bad type for {k!r}")
        r = dict(r)
        r.setdefault("times", 1)
        r["headers"] = {str(k): str(v) for k, v in r.get("headers", {}).items()}
        out.append(r)
    return out


class State:
    def __init__(self, store, verbose):
        self.store, self.verbose = store, verbose
        self.lock = threading.Lock()
        self.rules, self.log = [], []

    def arrive(self, method, path):
        """Log the request and consume the first applicable rule: (entry, index, rule)."""
        with self.lock:
            idx = rule = None
            for i, r in enumerate(self.rules):
                if r["times"] != 0 and r.get("match", "") in path:
                    if r["times"] > 0:
                        r["times"] -= 1
                    idx, rule = i, r
                    break
            entry = {"method": method, "path": path, "status": None, "fault": idx}
            self.log.append(entry)
            return entry, idx, rule


# ---------------------------------------------------------------- HTTP
class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "varsom-replay/1"
    disable_nagle_algorithm = True
    timeout = 120   # idle keep-alive connections are closed after this

    def version_string(self):
        return self.server_version

    def log_message(self, fmt, *args):
        if self.server.state.verbose:
            super().log_message(fmt, *args)

    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_GET

    def dispatch(self):
        n = int(self.headers.get("Content-Length") or 0)
        req_body = self.rfile.read(n) if n > 0 else b""
        path = self.path
        try:
            if path.split("?")[0].startswith("/_control/"):
                self.control(path.split("?")[0], req_body)
            else:
                self.serve(path)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def send(self, status, body, headers=None, truncate=None):
        if isinstance(body, str):
            body = body.encode("utf-8")
        hdrs = {"Content-Type": "application/json; charset=utf-8"}
        for k, v in (headers or {}).items():
            hdrs = {hk: hv for hk, hv in hdrs.items() if hk.lower() != k.lower()}
            hdrs[k] = v
        self.send_response(status)
        for k, v in hdrs.items():
            if k.lower() != "content-length":
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command == "HEAD":
            return
        if truncate is not None:
            self.wfile.write(body[:max(0, truncate)])
            self.wfile.flush()
            self.close_connection = True
        else:
            self.wfile.write(body)

    def control(self, path, req_body):
        st = self.server.state
        m = self.command
        if path == "/_control/faults" and m == "POST":
            try:
                rules = validate_rules(json.loads(req_body or b"null"))
            except ValueError as e:
                return self.send(400, json.dumps({"error": str(e)}))
            with st.lock:
                st.rules = rules
        elif path == "/_control/faults" and m == "DELETE":
            with st.lock:
                st.rules = []
        elif path == "/_control/faults" and m == "GET":
            with st.lock:
                out = json.dumps(st.rules)
            return self.send(200, out)
        elif path == "/_control/reset" and m == "POST":
            with st.lock:
                st.rules, st.log = [], []
        elif path == "/_control/log" and m == "GET":
            with st.lock:
                out = json.dumps(st.log, ensure_ascii=False)
            return self.send(200, out)
        else:
            return self.send(404, '{"error":"unknown control endpoint"}')
        self.send(200, '{"ok":true}')

    def serve(self, path):
        entry, _idx, rule = self.server.state.arrive(self.command, path)
        rule = rule or {}
        if rule.get("delay_ms"):
            time.sleep(rule["delay_ms"] / 1000.0)
        if rule.get("drop"):
            self.close_connection = True
            return
        status, body = self.answer(path)
        if "status" in rule:
            status = rule["status"]
            body = rule.get("body", json.dumps({"error": "injected fault", "status": status}))
        elif "body" in rule:
            status, body = 200, rule["body"]
        entry["status"] = status
        self.send(status, body, rule.get("headers"), rule.get("truncate"))

    def answer(self, path):
        m = DATA_RE.match(path.split("?")[0])
        if not m or self.command not in ("GET", "HEAD"):
            return 404, '{"error":"not found"}'
        _prefix, kind, region, lang, d1, d2 = m.groups()
        for d in (d1, d2):
            try:
                if not DATE_RE.match(d):
                    raise ValueError
                datetime.date.fromisoformat(d)
            except ValueError:
                return 400, json.dumps({"error": f"bad date {d!r}, expected YYYY-MM-DD"})
        if d1 > d2:
            return 400, '{"error":"from is after to"}'
        if not (INT_RE.match(region) and INT_RE.match(lang)):
            return 400, '{"error":"regionId and langKey must be integers"}'
        return 200, self.server.state.store.query(kind.lower(), str(int(region)),
                                                  str(int(lang)), d1, d2)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def server_bind(self):   # skip HTTPServer's getfqdn() (a DNS lookup)
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def handle_error(self, request, client_address):
        if self.state.verbose or not isinstance(sys.exc_info()[1], (OSError, ValueError)):
            super().handle_error(request, client_address)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", action="append", required=True, metavar="PATH")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args(argv)

    def stop(_signum, _frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, stop)   # SIGTERM/SIGINT at any point: exit 0
    signal.signal(signal.SIGINT, stop)
    srv = None
    try:
        store = Store()
        t0 = time.monotonic()
        for p in a.data:
            if not os.path.exists(p):
                raise SystemExit(f"replay_server: no such file or directory: {p}")
            store.load_path(p)
        store.freeze()
        print(f"replay_server: {store.count} warnings ({len(store.index)} series) from "
              f"{store.files} files in {time.monotonic() - t0:.2f}s, {store.skipped} skipped",
              file=sys.stderr, flush=True)

        srv = Server((a.host, a.port), Handler)
        srv.state = State(store, a.verbose)
        port = srv.server_address[1]
        if a.port_file:   # temp name + rename: readers never see a partial file
            tmp = f"{a.port_file}.tmp{os.getpid()}"
            with open(tmp, "w") as fh:
                fh.write(f"{port}\n")
            os.replace(tmp, a.port_file)
        print(f"listening on {a.host}:{port}", flush=True)
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        if srv:
            srv.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
