"""Crash consistency: `run`, `backfill` and `reprocess` killed with SIGKILL
at 20+ random points each, then run again, must end exactly where a clean
run ends (the same exports), with an intact database every time.

A point counts only if the process was still running when the signal was
sent (poll() before kill): a kill that lands after the work finished is
retried, never counted. The random delays cover the whole of a clean run
(open, migrations, plan, fetch, commits, run bookkeeping), measured first.
The seed is printed so a failing sequence can be replayed (CRASH_SEED).

SYNTHETIC data (tests/integration/synth.py) served by the replay server.
Run: python3 tests/integration/test_crash.py (AVALANCHE_BIN selects the build)
"""
import datetime as dt
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import synth  # noqa: E402
from harness import BIN, Replay, export, main, query, run, tmpdb  # noqa: E402

POINTS = int(os.environ.get("CRASH_POINTS", "20"))
SEED = int(os.environ.get("CRASH_SEED", str(int(time.time()))))
RNG = random.Random(SEED)
SRV = None
ARGS = []
BIG = []
FAST = ["-X", "fetch.backoff_ms=50", "-X", "fetch.backoff_max_ms=200", "--no-progress"]


def setup():
    global SRV, ARGS
    data = tempfile.mkdtemp(prefix="av-synth-")
    synth.write_jsonl(os.path.join(data, "synthetic_crash.jsonl"), sorted(synth.REGIONS),
                      dt.date(2023, 1, 1), 40, langs=(1, 2))
    SRV = Replay(data)
    ARGS = ["--api-base", SRV.base, "--region", ",".join(map(str, sorted(synth.REGIONS)[:12])),
            "--lang", "1", "--from", "2023-01-01", "--to", "2023-02-09", "--chunk-days", "5",
            "--concurrency", "2", *FAST]
    # reprocess is fast: it gets the whole corpus (24 regions, both languages)
    BIG.extend(["--api-base", SRV.base, "--region", ",".join(map(str, sorted(synth.REGIONS))),
                "--lang", "both", "--from", "2023-01-01", "--to", "2023-02-09", *FAST])


def exports(db):
    return export(db), export(db, "problems"), export(db, "advices")


def kill_loop(cmd, prepare, want, budget_s, args=None):
    """prepare() -> a database to run cmd on; kills cmd at random points
    until POINTS of them landed on a live process; after each: integrity,
    then cmd again, then the exports must equal want."""
    args = args or ARGS
    clean = prepare()
    t0 = time.time()
    run(*cmd, "--db", clean, *args, check=0)
    took = time.time() - t0
    assert exports(clean) == want
    landed, tries, deadline = 0, 0, time.time() + budget_s
    while landed < POINTS:
        assert time.time() < deadline, "only %d of %d kills landed in %d s (%d tries)" % (
            landed, POINTS, budget_s, tries)
        tries += 1
        db = prepare()
        proc = subprocess.Popen([BIN, *cmd, "--db", db, *args], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        time.sleep(RNG.uniform(0, took))
        alive = proc.poll() is None
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if not alive:
            continue  # it had finished: not a crash point
        landed += 1
        if os.path.exists(db):
            assert query(db, "pragma integrity_check") == [("ok",)], (cmd, landed)
        p = run(*cmd, "--db", db, *args)
        assert p.returncode == 0, (cmd, landed, p.stderr[-2000:])
        assert exports(db) == want, (cmd, landed)
        assert query(db, "pragma integrity_check") == [("ok",)]
        assert query(db, "select count(*) from run where status = 'running'") == [(0,)]
        if cmd[0] != "reprocess":  # nothing planned is left unstored
            assert query(db, "select count(*) from fetch_hole") == [(0,)], (cmd, landed)
    print("      %s: %d kills landed in %d tries (clean run %.2f s)" %
          (cmd[0], landed, tries, took), flush=True)


def reference(args=None, n=480):
    db = tmpdb()
    run("run", "--db", db, *(args or ARGS), check=0)
    want = exports(db)
    assert len(want[0].splitlines()) == n
    return db, want


def test_run_killed_anywhere_then_rerun_equals_a_clean_run():
    _, want = reference()
    SRV.faults([{"delay_ms": 15, "times": -1}])  # a run that takes long enough to hit
    try:
        kill_loop(["run"], tmpdb, want, 600)
    finally:
        SRV.faults([])


def test_backfill_killed_anywhere_then_rerun_equals_a_clean_run():
    _, want = reference()
    SRV.faults([{"delay_ms": 15, "times": -1}])
    try:
        kill_loop(["backfill"], tmpdb, want, 600)
    finally:
        SRV.faults([])


def test_reprocess_killed_anywhere_then_rerun_equals_a_clean_run():
    src, want = reference(BIG, 1920)

    def copy():
        db = tmpdb()
        query(src, "pragma wal_checkpoint(truncate)")
        shutil.copy(src, db)
        return db

    kill_loop(["reprocess"], copy, want, 600, BIG)


def test_parallel_reprocess_equals_the_sequential_one_and_a_kill_keeps_the_old_tables():
    # issue 13: reprocess.workers threads prepare the bodies, one writer
    # applies them in order: 0 (no threads), 1 and 3 workers give the same
    # clean tables and history; a kill at any point (SIGKILL, the threads
    # too) leaves the previous clean tables as they were, before any rerun.
    src, want = reference(BIG, 1920)
    query(src, "pragma wal_checkpoint(truncate)")
    history = export(src, "warnings", "jsonl", "--history")
    got = {}
    for n in (0, 1, 3):
        db = tmpdb()
        shutil.copy(src, db)
        p = run("reprocess", "--db", db, "-X", "reprocess.workers=%d" % n, *BIG)
        assert p.returncode == 0, p.stderr[-2000:]
        got[n] = (exports(db), export(db, "warnings", "jsonl", "--history"))
    assert got[0] == got[1] == got[3] == (want, history)
    args = ["-X", "reprocess.workers=3", *BIG]
    t0 = time.time()
    db = tmpdb()
    shutil.copy(src, db)
    run("reprocess", "--db", db, *args, check=0)
    took = time.time() - t0
    landed, tries, deadline = 0, 0, time.time() + 600
    while landed < POINTS // 2:
        assert time.time() < deadline, "only %d kills landed (%d tries)" % (landed, tries)
        tries += 1
        db = tmpdb()
        shutil.copy(src, db)
        proc = subprocess.Popen([BIN, "reprocess", "--db", db, *args],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(RNG.uniform(0, took))
        alive = proc.poll() is None
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if not alive:
            continue
        landed += 1
        assert query(db, "pragma integrity_check") == [("ok",)], landed
        # nothing of the killed rebuild shows: the previous tables, whole
        assert exports(db) == want, landed
        assert export(db, "warnings", "jsonl", "--history") == history, landed
    print("      reprocess (3 workers): %d kills landed in %d tries (clean %.2f s)" %
          (landed, tries, took), flush=True)


def clean_tables(db):
    """Every clean table's rows, rowids included where the table has them."""
    got = {}
    for (t,) in query(db, "SELECT name FROM sqlite_schema WHERE type = 'table' AND name IN "
                      "('warning_rows', 'problem_rows', 'advice', 'mountain_weather_rows', "
                      "'warning_version', 'names', 'rejected', 'weather_daily', "
                      "'weather_hourly') ORDER BY name"):
        without = query(db, "SELECT sql LIKE '%WITHOUT ROWID%' FROM sqlite_schema WHERE "
                        "name = ?", t)[0][0]
        got[t] = query(db, ("SELECT * FROM %s" if without else  # in key order
                            "SELECT rowid, * FROM %s ORDER BY rowid") % t)
    return got


def test_rebuild_in_batches_equals_row_by_row():
    # issue 13: reprocess writes a new key's rows in batches, one INSERT ...
    # SELECT per table (store.rebuild_batch; 0 = a statement per row). The
    # raw responses hold every key twice (a second run with other chunks),
    # so the second copy of each goes the usual way after the batches
    # before it are flushed. Any batch size: the same tables, rowids and
    # name ids included, the same exports and history.
    src, want = reference(BIG, 1920)
    p = run("run", "--db", src, *BIG, "--chunk-days", "7")
    assert p.returncode == 0 and "0 warnings stored, 1920 unchanged" in p.stdout, p.stdout
    history = export(src, "warnings", "jsonl", "--history")
    tables = {}
    for n in (0, 1, 5, 512):
        db = tmpdb()
        shutil.copy(src, db)
        p = run("reprocess", "--db", db, "-X", "store.rebuild_batch=%d" % n, *BIG,
                env={"AV_FAKE_NOW": "2023-03-01T12:00:00Z"})  # one ingested_at for all
        assert p.returncode == 0, p.stderr[-2000:]
        assert "1920 warnings stored" in p.stdout, p.stdout
        assert exports(db) == want and export(db, "warnings", "jsonl", "--history") == history
        tables[n] = clean_tables(db)
        assert query(db, "pragma integrity_check") == [("ok",)]
    assert len(tables[0]["warning_rows"]) == 1920 and len(tables[0]["names"]) > 10
    assert tables[1] == tables[0] and tables[5] == tables[0] and tables[512] == tables[0]


# A second process with one connection open through the whole reprocess,
# reading the three tables in one read transaction per loop; it prints one
# line per state change ("old", "new" or what it saw), then "end".
READER = r"""
import json, os, sqlite3, sys
db, stop, n = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
con = sqlite3.connect(db, timeout=30, isolation_level=None)
last, reads = None, 0
while True:
    done = os.path.exists(stop)
    try:
        con.execute("BEGIN")
        got = {t: con.execute("SELECT count(*), count(*) FILTER (WHERE %s = 'OLD-MARK') "
                              "FROM %s" % (c, t)).fetchone() for t, c in
               (("warning", "author"), ("problem", "text"), ("advice", "text"))}
        con.execute("COMMIT")
        if all(got[t] == (n[t], n[t]) for t in n):
            state = "old"
        elif all(got[t] == (n[t], 0) for t in n):
            state = "new"
        else:
            state = "mix " + json.dumps(got)
    except Exception as e:  # noqa: BLE001 - every error is a failure here
        state = "error %r" % e
    reads += 1
    if state != last:
        print(state, flush=True)
        last = state
    if done:
        break
print("end %d" % reads, flush=True)
"""


def test_reprocess_with_a_reader_open_throughout_it_sees_old_or_new_never_a_mix():
    # issue 13: a reader connection (serve's kind) open from before the
    # reprocess to after it sees the previous tables, then the rebuilt
    # ones, with no error and no state in between; a second reprocess
    # while it stays open works too.
    src, want = reference(BIG, 1920)
    query(src, "pragma wal_checkpoint(truncate)")
    db = tmpdb()
    shutil.copy(src, db)
    con = __import__("sqlite3").connect(db)
    con.execute("UPDATE warning SET author = 'OLD-MARK'")
    con.execute("UPDATE problem SET text = 'OLD-MARK'")
    con.execute("UPDATE advice SET text = 'OLD-MARK'")
    con.commit()
    n = {t: con.execute("SELECT count(*) FROM %s" % t).fetchone()[0]
         for t in ("warning", "problem", "advice")}
    con.close()
    assert min(n.values()) > 0, n
    stop = db + ".stop"
    reader = subprocess.Popen([sys.executable, "-c", READER, db, stop, __import__("json").dumps(n)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert reader.stdout.readline().strip() == "old"  # it reads before the rebuild starts
    for _ in range(2):
        p = run("reprocess", "--db", db, "-X", "reprocess.workers=2", *BIG)
        assert p.returncode == 0, p.stderr[-2000:]
    with open(stop, "w"):
        pass
    out, err = reader.communicate(timeout=60)
    lines = out.split("\n")
    assert reader.returncode == 0, err[-2000:]
    assert lines[0] == "new" and lines[1].startswith("end "), (lines, err[-2000:])
    assert int(lines[1].split()[1]) > 10, lines  # it kept reading during the rebuilds
    assert exports(db) == want
    assert query(db, "pragma integrity_check") == [("ok",)]


TESTS = [v for k, v in list(globals().items()) if k.startswith("test_")]

if __name__ == "__main__":
    print("crash: seed %d (CRASH_SEED to replay), %d points per command" % (SEED, POINTS),
          flush=True)
    setup()
    try:
        rc = main("crash", TESTS)
    finally:
        SRV.stop()
    sys.exit(rc)
