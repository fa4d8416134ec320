"""contrib/airflow/avalanche_dag.py under a real Apache Airflow: each test is
an `airflow dags test avalanche_warnings SLOT` (the whole DAG run in one
process, SQLite metadata in a temporary AIRFLOW_HOME) with the program's
warnings and weather from the loopback replay server (the recorded varsom
fixtures; the weather SYNTHETIC). The states come from Airflow's metadata
database, the stored rows from the program's.

Run through tests/integration/test_airflow.sh, which makes the virtualenv
($AIRFLOW_VENV). AVALANCHE_BIN selects the build.
"""
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BIN, DETAIL, FIXTURES, ROOT, Replay, main, query  # noqa: E402

DAG_ID = "avalanche_warnings"
DAGS = os.path.join(ROOT, "contrib", "airflow")
NOW = "2023-03-03T12:00:00Z"  # the program's clock (AV_FAKE_NOW) and the weather's
SLOT = "2023-03-03T16:30:00+01:00"  # the afternoon slot of that day (Oslo)
DAY = "2023-03-03"
R = None
TMP = None  # everything a run of the suite writes, removed at its end
HOME = None  # AIRFLOW_HOME, in TMP
AIRFLOW = None


def reset():
    R.reset()
    R._call("POST", "/_control/openmeteo", {"now": NOW})


def setup_files():
    """A fresh database path, export dir and config file for one test."""
    d = tempfile.mkdtemp(dir=TMP)
    conf = os.path.join(d, "avalanche.conf")
    wx = "http://127.0.0.1:%d/v1" % R.port
    with open(conf, "w") as f:
        f.write("[api]\nbase = %s\n[weather]\narchive_base = %s\nforecast_base = %s\n"
                "[fetch]\nbackoff_ms = 50\nbackoff_max_ms = 200\n" % (R.base, wx, wx))
    return os.path.join(d, "avalanche.db"), os.path.join(d, "exports"), conf


def env_for(db, exports, conf, **extra):
    e = dict(os.environ)
    # the DAG runs the default sources (warnings and weather), both on loopback
    e.pop("AVALANCHE_PLAN_SOURCES", None)
    e.update(AIRFLOW_HOME=HOME, AIRFLOW__CORE__DAGS_FOLDER=DAGS,
             AIRFLOW__CORE__LOAD_EXAMPLES="False", PYTHONDONTWRITEBYTECODE="1",
             PYTHONUNBUFFERED="1", AVALANCHE_BIN=BIN, AVALANCHE_DB=db,
             AVALANCHE_EXPORT_DIR=exports, AVALANCHE_CONFIG=conf, AV_FAKE_NOW=NOW,
             AVALANCHE_ARGS="--region 3022 --lang 2", AVALANCHE_AIRFLOW_RETRIES="0")
    e.update(extra)
    return e


def dags_test(env, slot=SLOT, timeout=300):
    p = subprocess.run([AIRFLOW, "dags", "test", DAG_ID, slot], env=env, capture_output=True,
                       text=True, timeout=timeout)
    return p.returncode, p.stdout + p.stderr


def last_run():
    """(state, {task_id: (state, try_number)}) of the newest DAG run."""
    db = os.path.join(HOME, "airflow.db")
    run_id, state = query(db, "select run_id, state from dag_run where dag_id = ? "
                              "order by id desc limit 1", DAG_ID)[0]
    tis = query(db, "select task_id, state, try_number from task_instance "
                    "where dag_id = ? and run_id = ?", DAG_ID, run_id)
    return state, {t: (s, n) for t, s, n in tis}


def fixture_days(lo, hi):
    """(region, date, lang) of the recorded detail warnings from lo to hi."""
    with open(DETAIL, encoding="utf-8") as f:
        ws = json.load(f)
    return sorted((w["RegionId"], w["ValidFrom"][:10], w["LangKey"]) for w in ws
                  if lo <= w["ValidFrom"][:10] <= hi)


def tries_of_run(out):
    """The dags test output of each try of the task `run`, in order."""
    return out.split("[DAG TEST] starting task_id=run ")[1:]


def requested():
    return sorted(e["path"].split("/Detail/")[1] for e in R.log() if "/Detail/" in e["path"])


def test_dag_follows_airflows_conventions():
    code = """if 1:
        import json, sys
        sys.path.insert(0, %r)
        from avalanche_dag import dag as d
        a = d.default_args
        print(json.dumps({
            "tz": d.timezone.name, "catchup": d.catchup, "max_active_runs": d.max_active_runs,
            "schedule": str(getattr(d, "schedule", None) or d.schedule_interval),  # 3.x, 2.x
            "tasks": sorted(d.task_ids),
            "up": sorted(d.get_task("export_warnings").upstream_task_ids),
            "retries": a["retries"], "delay": a["retry_delay"].total_seconds(),
            "backoff": a["retry_exponential_backoff"]}))""" % DAGS
    env = dict(os.environ, AIRFLOW_HOME=HOME, PYTHONDONTWRITEBYTECODE="1")
    for k in ("AVALANCHE_AIRFLOW_RETRIES", "AVALANCHE_AIRFLOW_RETRY_DELAY"):
        env.pop(k, None)
    p = subprocess.run([os.path.join(os.path.dirname(AIRFLOW), "python"), "-c", code],
                       env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    got = json.loads(p.stdout.strip().splitlines()[-1])
    assert got == {"tz": "Europe/Oslo", "catchup": False, "max_active_runs": 1,
                   "schedule": "30 7,16 * * *", "tasks": ["export_warnings", "run"],
                   "up": ["run"], "retries": 4, "delay": 300.0, "backoff": True}, got


def test_a_run_stores_the_warnings_and_exports_the_day():
    reset()
    db, exports, conf = setup_files()
    rc, out = dags_test(env_for(db, exports, conf))
    assert rc == 0, out[-4000:]
    state, tis = last_run()
    assert state == "success" and tis == {"run": ("success", 1),
                                          "export_warnings": ("success", 1)}, (state, tis)
    # the program planned its own window (today - 7 .. today + 2), not Airflow's dates
    assert requested() == ["3022/2/2023-02-24/2023-03-05"], requested()
    want = fixture_days("2023-02-24", "2023-03-05")
    assert len(want) == 5, want
    assert query(db, "select region_id, valid_date, lang from warning order by 2") == want
    assert query(db, "select status from run") == [("ok",)]
    assert query(db, "select count(*) from weather_daily where region_id = 3022 and "
                     "date = ?", DAY) == [(1,)]
    assert "total: 2 units (2 ok, 0 rejected, 0 failed), 5 warnings stored" in out, out[-4000:]
    # the day's file: the warnings valid from the slot's Oslo date on
    path = os.path.join(exports, "warnings-%s.jsonl" % DAY)
    with open(path, encoding="utf-8") as f:
        rows = [json.loads(x) for x in f]
    assert [(r["region_id"], r["valid_date"], r["lang"]) for r in rows] == \
        [w for w in want if w[1] >= DAY], rows
    assert os.listdir(exports) == ["warnings-%s.jsonl" % DAY], os.listdir(exports)
    ours = subprocess.run([BIN, "export", "warnings", "--db", db, "--format", "jsonl",
                           "--from", DAY], capture_output=True, text=True, check=True).stdout
    with open(path, encoding="utf-8") as f:
        assert f.read() == ours


def test_a_failed_run_fails_the_task_after_its_retries():
    reset()
    R.faults([{"status": 500, "times": -1}])
    db, exports, conf = setup_files()
    env = env_for(db, exports, conf, AVALANCHE_AIRFLOW_RETRIES="1",
                  AVALANCHE_AIRFLOW_RETRY_DELAY="1")
    rc, out = dags_test(env, slot="2023-03-03T07:30:00+01:00")
    R.faults([])
    assert rc != 0, out[-4000:]
    state, tis = last_run()
    assert state == "failed" and tis == {"run": ("failed", 2),
                                         "export_warnings": ("upstream_failed", 0)}, (state, tis)
    # each try's summary is in the task log, then Airflow's word on the exit status
    line = "total: 2 units (0 ok, 0 rejected, 2 failed), 0 warnings stored"
    tries = tries_of_run(out)
    assert len(tries) == 2 and all(line in t for t in tries), out[-6000:]
    assert "non-zero exit code 1" in out, out[-4000:]
    assert query(db, "select status from run") == [("failed",), ("failed",)]
    assert query(db, "select count(*) from warning") == [(0,)]
    assert not os.path.exists(exports)


def test_the_run_lock_is_respected_and_the_retry_runs_it():
    """Another process holds the database's run lock (as serve or a manual
    backfill would): the first try fails with the program's message, the
    retry after the delay runs once the lock is free."""
    reset()
    db, exports, conf = setup_files()
    lock = open(db + ".lock", "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    logf = open(os.path.join(os.path.dirname(db), "dags-test.log"), "w")
    proc = subprocess.Popen([AIRFLOW, "dags", "test", DAG_ID, "2023-03-02T16:30:00+01:00"],
                            env=env_for(db, exports, conf, AVALANCHE_AIRFLOW_RETRIES="1",
                                        AVALANCHE_AIRFLOW_RETRY_DELAY="3"),
                            stdout=logf, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        busy = "another run is in progress on %s" % db
        deadline = time.time() + 180
        while True:
            with open(logf.name, encoding="utf-8", errors="replace") as f:
                if busy in f.read():
                    break
            assert proc.poll() is None, "dags test ended before the first try failed"
            assert time.time() < deadline, "no lock message within 180 s"
            time.sleep(0.02)
        # refused before it started: no run recorded (no database yet, even)
        assert not os.path.exists(db) or query(db, "select count(*) from run") == [(0,)]
        fcntl.flock(lock, fcntl.LOCK_UN)
        rc = proc.wait(300)
    finally:
        lock.close()
        if proc.poll() is None:  # a failed assertion: the run, its tasks' children too
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        logf.close()
    with open(logf.name, encoding="utf-8", errors="replace") as f:
        out = f.read()
    assert rc == 0, out[-4000:]
    state, tis = last_run()
    assert state == "success" and tis == {"run": ("success", 2),
                                          "export_warnings": ("success", 1)}, (state, tis)
    tries = tries_of_run(out)
    assert len(tries) == 2 and busy in tries[0] and busy not in tries[1], out[-6000:]
    assert "total: 2 units (2 ok, 0 rejected, 0 failed), 5 warnings stored" in tries[1]
    assert query(db, "select status from run") == [("ok",)]
    assert query(db, "select count(*) from warning") == [(5,)]
    assert os.path.exists(os.path.join(exports, "warnings-2023-03-02.jsonl"))


TESTS = [
    test_dag_follows_airflows_conventions,
    test_a_run_stores_the_warnings_and_exports_the_day,
    test_a_failed_run_fails_the_task_after_its_retries,
    test_the_run_lock_is_respected_and_the_retry_runs_it,
]

if __name__ == "__main__":
    venv = os.environ.get("AIRFLOW_VENV")
    if not venv or not os.path.exists(os.path.join(venv, "bin", "airflow")):
        print("airflow: run through tests/integration/test_airflow.sh (no $AIRFLOW_VENV)")
        print("airflow: 0 passed, 1 failed")
        sys.exit(1)
    AIRFLOW = os.path.join(venv, "bin", "airflow")
    os.environ["PYTHONDONTWRITEBYTECODE"] = "1"  # no __pycache__ in contrib/airflow
    TMP = tempfile.mkdtemp(prefix="av-airflow-")
    HOME = os.path.join(TMP, "home")
    p = subprocess.run([AIRFLOW, "db", "migrate"], capture_output=True, text=True, timeout=300,
                       env=dict(os.environ, AIRFLOW_HOME=HOME, AIRFLOW__CORE__DAGS_FOLDER=DAGS,
                                AIRFLOW__CORE__LOAD_EXAMPLES="False"))
    if p.returncode != 0:
        shutil.rmtree(TMP, ignore_errors=True)
        print(p.stdout[-3000:] + p.stderr[-3000:])
        print("airflow: 0 passed, 1 failed")
        sys.exit(1)
    R = Replay(FIXTURES)
    try:
        rc = main("airflow", TESTS)
    finally:
        R.stop()
        shutil.rmtree(TMP, ignore_errors=True)
    sys.exit(rc)
