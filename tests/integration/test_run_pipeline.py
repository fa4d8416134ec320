"""issue 13: `run` pipelined. run.workers threads parse and transform the
fetched bodies, the fetching thread writes them in arrival order, and
run.commit_units units share one transaction. These tests hold it to the
rules of one transaction per unit: the same stored results and the same
accounting (summary, run rows, fetch state, holes, rejects) whatever the
workers and the batch size; a kill -9 loses nothing already reported
stored and leaves the plan state consistent with what is committed; a
store that fails mid-batch counts every unreported unit failed.

The data is SYNTHETIC (tests/integration/synth.py), served by the loopback
replay server with injected faults.

Run: python3 tests/integration/test_run_pipeline.py  (AVALANCHE_BIN selects
the build; AV_BASELINE_BIN=another binary also compares against that one)
"""
import datetime as dt
import os
import json
import random
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import synth  # noqa: E402
from harness import BIN, Replay, export, main, query, run, tmpdb  # noqa: E402

NOW = "2023-03-20T12:00:00Z"  # AV_FAKE_NOW: fetched_at, first_seen, ... are pinned
ENV = {"AV_FAKE_NOW": NOW}
FAST = ["-X", "fetch.backoff_ms=20", "-X", "fetch.backoff_max_ms=50"]
REGIONS = sorted(synth.REGIONS)[:8]
DAYS = 40


def corpus_dir(name, regions=REGIONS, days=DAYS, langs=(1, 2)):
    d = tempfile.mkdtemp(prefix="av-pipe-")
    synth.write_jsonl(os.path.join(d, "synthetic_%s.jsonl" % name), regions,
                      dt.date(2023, 1, 1), days, langs=langs)
    return d


def plan_args(srv, regions=REGIONS, days=DAYS, concurrency=1, chunk=5, lang="both"):
    last = dt.date(2023, 1, 1) + dt.timedelta(days=days - 1)
    return ["--api-base", srv.base, "--region", ",".join(map(str, regions)), "--lang", lang,
            "--from", "2023-01-01", "--to", last.isoformat(), "--chunk-days", str(chunk),
            "--concurrency", str(concurrency), *FAST]


def faults(srv):
    """By path, so that every run meets the same ones whatever the order: a
    body that is not JSON (rejected whole), a 404 (failed) after another
    unit of its region was rejected whole (the region's error is the last
    one's), two 500s then the answer (retried), and an answer holding a
    warning of another region (that warning rejected by validate, the unit
    ok)."""
    r0, r1, r2 = REGIONS[0], REGIONS[1], REGIONS[2]
    tpl = synth.templates()[0]
    foreign = synth.warning(tpl, REGIONS[3], dt.date(2023, 1, 12), 1, 999)
    mixed = json.dumps([synth.warning(tpl, r2, dt.date(2023, 1, 11), 1, 998), foreign])
    srv.faults([
        {"match": "/%d/1/2023-01-06/" % r0, "body": "this is not JSON", "times": -1},
        {"match": "/%d/2/2023-01-11/" % r1, "body": "[{\"cut", "times": -1},
        {"match": "/%d/2/2023-01-16/" % r1, "status": 404, "times": -1},
        {"match": "/%d/2/2023-01-21/" % r0, "status": 500, "times": 2},
        {"match": "/%d/1/2023-01-11/" % r2, "body": mixed, "times": -1},
    ])


TABLES = {
    "raw_response": "select source, endpoint, lang, api_version, url, region_id, from_date, "
                    "to_date from raw_response order by url",  # a retried unit comes later
    "rejected": "select stage, reason, region_id, lang, raw, hash, first_seen, last_seen, seen "
                "from rejected order by stage, hash",
    "fetch_state": "select * from fetch_state order by 1, 2, 3",
    "fetch_hole": "select * from fetch_hole order by 1, 2, 3, 4",
    "run": "select kind, status, units_total, units_ok, units_rejected, units_failed, "
           "warnings_stored from run order by id",
    "run_region": "select * from run_region order by 1, 2",
}


def snapshot(db, binary=None):
    """Everything a run leaves that must not depend on its threads."""
    env = dict(os.environ, **ENV)

    def exp(*a):
        return subprocess.run([binary or BIN, "export", *a, "--db", db], capture_output=True,
                              text=True, env=env, check=True).stdout
    snap = {t: query(db, q) for t, q in TABLES.items()}
    snap["run_region"] = [r[1:] for r in snap["run_region"]]  # without run ids
    for ds in ("warnings", "problems", "advices"):
        snap[ds] = exp(ds, "--format", "jsonl")
    snap["history"] = exp("warnings", "--format", "jsonl", "--history")
    return snap


def run_bin(binary, *args, env=None):
    e = dict(os.environ, **ENV)
    e.setdefault("ASAN_OPTIONS", "detect_leaks=1")
    e.update(env or {})
    return subprocess.run([binary] + [str(a) for a in args], capture_output=True, text=True,
                          timeout=300, env=e)


def summary_lines(out):
    return [line for line in out.splitlines() if line.strip()]


def test_workers_and_batches_change_nothing():
    srv = Replay(corpus_dir("same"))
    try:
        args = plan_args(srv)
        modes = [("one per unit", BIN, ["-X", "run.workers=1", "-X", "run.commit_units=1"]),
                 ("default", BIN, []),
                 ("3 workers, 7 a batch", BIN, ["-X", "run.workers=3", "-X",
                                                "run.commit_units=7"]),
                 ("one batch", BIN, ["-X", "run.workers=2", "-X", "run.commit_units=4096",
                                     "-X", "run.commit_ms=600000"])]
        if os.environ.get("AV_BASELINE_BIN"):
            modes.append(("baseline", os.path.abspath(os.environ["AV_BASELINE_BIN"]), []))
        got = []
        for name, binary, extra in modes:
            srv.reset()
            faults(srv)
            db = tmpdb()
            p = run_bin(binary, "run", "--db", db, "--no-progress", *args, *extra)
            assert p.returncode == 1, (name, p.returncode, p.stderr)  # partial
            got.append((name, summary_lines(p.stdout), snapshot(db, binary)))
        first = got[0]
        stages = sorted({r[0] for r in first[2]["rejected"]})
        assert stages == ["parse", "validate"], stages
        # 128 units: two rejected whole, one failed; 640 warnings but those
        # three units' 5 each and 4 of the mixed answer's
        assert first[2]["run"][0][1:] == ("partial", 128, 125, 2, 1, 621), first[2]["run"]
        errs = [r for r in first[2]["run_region"] if r[0] == REGIONS[1]]
        assert len(errs) == 1 and "404" in str(errs[0]), errs
        for name, out, snap in got[1:]:
            assert out == first[1], (name, out, first[1])
            for k in snap:
                assert snap[k] == first[2][k], (name, k)
    finally:
        srv.stop()


def progress_counts(text):
    """The stored counts the progress bar showed ("N warnings")."""
    return [int(n) for n in re.findall(r"(\d+) warnings", text)]


def test_kill_9_loses_nothing_reported_and_keeps_the_plan_consistent():
    """kill -9 at random points of a pipelined, batched run (4 times, each
    resuming the last): what the progress bar had shown stored is in the
    file, every unit whose raw response is committed has left the holes and
    every hole's days have no rows yet (a fresh file), and the final rerun
    stores exactly what an uninterrupted run stores."""
    regions = sorted(synth.REGIONS)[:12]
    srv = Replay(corpus_dir("kill", regions, 40, langs=(1,)))
    try:
        args = ["--api-base", srv.base, "--region", ",".join(map(str, regions)), "--lang", "1",
                "--from", "2023-01-01", "--to", "2023-02-09", "--chunk-days", "2",
                "--concurrency", "2", *FAST, "-X", "run.workers=2", "-X", "run.commit_units=5"]
        clean = tmpdb()
        p = run_bin(BIN, "run", "--db", clean, "--no-progress", *args)
        assert p.returncode == 0, p.stderr
        want = snapshot(clean)
        assert len(want["warnings"].splitlines()) == 480
        srv.faults([{"delay_ms": 15, "times": -1}])
        db = tmpdb()
        rnd = random.Random(13)
        last_raw = 0
        for k in range(4):
            proc = subprocess.Popen([BIN, "run", "--db", db, "--progress", *args],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                    env=dict(os.environ, **ENV))
            # kill once the bar has moved past a random point (not after a guess
            # of time): stderr read as it comes
            buf = b""
            target = rnd.randrange(5, 60)
            deadline = time.time() + 60
            while time.time() < deadline:
                ch = os.read(proc.stderr.fileno(), 4096)
                if not ch:
                    break
                buf += ch
                counts = progress_counts(buf.decode(errors="replace"))
                if counts and counts[-1] >= target:
                    break
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            while True:  # all it had written before it died: reported too
                ch = os.read(proc.stderr.fileno(), 4096)
                if not ch:
                    break
                buf += ch
            proc.stderr.close()
            shown = progress_counts(buf.decode(errors="replace"))
            shown_max = max(shown) if shown else 0
            stored = query(db, "select count(*) from warning")[0][0]
            assert stored >= shown_max, (k, stored, shown_max)
            assert query(db, "pragma integrity_check") == [("ok",)]
            # the plan state matches what is committed: a unit's raw response
            # and its leaving the holes land together
            # (this run's: each run plans the whole range as holes again)
            raws = query(db, "select region_id, from_date, to_date from raw_response "
                             "where source = 'varsom' and id > ?", last_raw)
            last_raw = query(db, "select coalesce(max(id), 0) from raw_response")[0][0]
            holes = query(db, "select region_id, from_date, to_date from fetch_hole "
                              "where endpoint = 'detail'")
            for r in raws:
                assert not any(h[0] == r[0] and h[1] <= r[1] and r[2] <= h[2] for h in holes), \
                    (k, r, holes)
            for h in holes if k == 0 else ():  # a fresh file: no rows of a hole's days
                n = query(db, "select count(*) from warning where region_id = ? and "
                              "valid_date between ? and ?", h[0], h[1], h[2])[0][0]
                assert n == 0, (k, h, n)
            # and the fetch state never runs ahead of the rows
            for region, last in query(db, "select region_id, last_date from fetch_state "
                                          "where last_date is not null"):
                top = query(db, "select max(valid_date) from warning where region_id = ?",
                            region)[0][0]
                assert top is not None and last <= top, (k, region, top, last)
        srv.faults([])
        p = run_bin(BIN, "run", "--db", db, "--no-progress", *args)
        assert p.returncode == 0, p.stderr
        got = snapshot(db)
        for ds in ("warnings", "problems", "advices", "history"):
            assert got[ds] == want[ds], ds
        assert query(db, "select count(*) from fetch_hole") == [(0,)]
    finally:
        srv.stop()


def test_store_failing_mid_batch_counts_the_unreported_failed():
    """The store refuses one unit's raw response (a SYNTHETIC trigger in the
    file, as a full disk would): with one transaction per unit the units
    before it are kept and it alone fails; with 6 a batch the batch it is
    in is rolled back whole. Either way exactly the units counted ok are
    committed, the rest of what was submitted counts failed, the run is
    failed and every unit not committed stays a hole."""
    srv = Replay(corpus_dir("fail", REGIONS, 40, langs=(1,)))
    try:
        args = plan_args(srv, lang="1") + ["-X", "run.workers=2"]
        seen = {}
        for units in (1, 6):
            db = tmpdb()
            # a first run makes the file (one unit, an empty answer)
            run("run", "--db", db, "--api-base", srv.base, "--region", str(REGIONS[0]),
                "--lang", "1", "--from", "2022-01-01", "--to", "2022-01-01", "--no-progress",
                check=0)
            con = sqlite3.connect(db)
            con.execute("create trigger synthetic_full before insert on raw_response "
                        "when new.region_id = %d and new.from_date = '2023-01-26' "
                        "begin select raise(abort, 'synthetic: disk full'); end" % REGIONS[1])
            con.commit()
            con.close()
            p = run_bin(BIN, "run", "--db", db, "--no-progress", *args, "-X",
                        "run.commit_units=%d" % units)
            assert p.returncode == 1, (p.returncode, p.stderr)
            assert "stopped:" in p.stderr and "synthetic: disk full" in p.stderr, p.stderr
            status, total, ok, rej, failed, stored = query(
                db, "select status, units_total, units_ok, units_rejected, units_failed, "
                    "warnings_stored from run where id = 2")[0]
            assert status == "failed" and rej == 0, status
            committed = query(db, "select count(*) from raw_response where from_date >= "
                                  "'2023-01-01'")[0][0]
            assert ok == committed, (units, ok, committed)
            assert stored == query(db, "select count(*) from warning")[0][0]
            m = re.search(r"total: (\d+) units \((\d+) ok, (\d+) rejected, (\d+) failed\)",
                          p.stdout)
            assert m and (int(m[2]), int(m[4])) == (ok, failed), p.stdout
            hole_days = query(db, "select sum(julianday(to_date) - julianday(from_date) + 1) "
                                  "from fetch_hole")[0][0]
            assert hole_days == (total - ok) * 5, (hole_days, total, ok)  # 5-day units
            seen[units] = ok, failed
        k = seen[1][0]  # the failing unit's place in the plan (one at a time)
        # it fails; so do the units fetched and queued behind it (at most the
        # pool's 8 slots and the one being submitted), not stored either
        assert k > 6 and 1 <= seen[1][1] <= 1 + 8 + 1, seen
        # batched: its batch (at most 5 units before it; the writer also
        # commits whenever it has caught up with the fetches), and only
        # its batch, is gone
        assert k - 5 <= seen[6][0] <= k, seen
        assert k - seen[6][0] + 1 <= seen[6][1] <= k - seen[6][0] + 1 + 8 + 1, seen
    finally:
        srv.stop()


def test_worker_threads_are_few_and_named():
    """run.workers=3: three threads named av-ingest and one av-writer while
    it runs (the fetching thread is the main one)."""
    srv = Replay(corpus_dir("threads", REGIONS[:2], 40, langs=(1,)))
    try:
        srv.faults([{"delay_ms": 30, "times": -1}])
        db = tmpdb()
        proc = subprocess.Popen([BIN, "run", "--db", db, "--no-progress",
                                 *plan_args(srv, REGIONS[:2], 40, chunk=1, lang="1"),
                                 "-X", "run.workers=3"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        names = []
        deadline = time.time() + 60
        while time.time() < deadline and proc.poll() is None:
            try:
                names = [open("/proc/%d/task/%s/comm" % (proc.pid, t)).read().strip()
                         for t in os.listdir("/proc/%d/task" % proc.pid)]
            except OSError:
                break
            if names.count("av-ingest") == 3 and "av-writer" in names:
                break
            time.sleep(0.02)
        proc.kill()
        proc.wait()
        assert names.count("av-ingest") == 3 and names.count("av-writer") == 1, names
        # the rest: the fetching (main) thread, and libcurl's resolver or a
        # sanitizer's own thread when there are any
        assert "avalanche" in names, names
    finally:
        srv.stop()


if __name__ == "__main__":
    sys.exit(main("run_pipeline", [
        test_workers_and_batches_change_nothing,
        test_kill_9_loses_nothing_reported_and_keeps_the_plan_consistent,
        test_store_failing_mid_batch_counts_the_unreported_failed,
        test_worker_threads_are_few_and_named,
    ]))
