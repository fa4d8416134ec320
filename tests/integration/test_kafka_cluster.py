"""Streaming on a real 3-broker Apache Kafka cluster on this machine
(scripts/kafka-dev --nodes 3: KRaft, every broker also a controller voter,
127.0.0.1 on three ports). produce creates its topics with replication 3
(stream.replication = 3, one partition: one leader to kill) and the brokers'
min.insync.replicas = 2, so an acknowledged write is on two brokers at least.

Fault tests, each ending with "export equals the embedded export (`run` into
SQLite of the same replayed SYNTHETIC warnings), nothing lost or doubled":
  - the partition leader broker killed (SIGKILL) during `produce`, then
    restarted;
  - the partition leader broker killed during `process` into SQLite, then
    restarted.
And the throughput of `produce` and `process` on the 3-broker cluster and on
one broker (started here too), same corpus, same run, printed for the bench.

SYNTHETIC warnings (tests/integration/synth.py) served by the replay server.
Takes 4-5 minutes here (three JVMs, then a fourth for the comparison). Not
part of `make test`: run it alone (or in `make test-cluster`). Ports and dirs:
AV_KCLUSTER_PORT (19800: nodes on 19800-19805), AV_KCLUSTER_DIR,
AV_KCLUSTER_SINGLE_PORT (19810), AV_KCLUSTER_SINGLE_DIR; the comparison's
size: AV_KCLUSTER_BENCH_DAYS (365), AV_KCLUSTER_BENCH_RUNS (3).
"""
import datetime as dt
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import synth  # noqa: E402
from harness import BIN, ROOT, Replay, export, main, query, run, tmpdb  # noqa: E402

KAFKA_DEV = os.path.join(ROOT, "scripts", "kafka-dev")
PORT = int(os.environ.get("AV_KCLUSTER_PORT", "19800"))       # nodes: PORT, +2, +4
KENV = dict(os.environ, KAFKA_DEV_PORT=str(PORT),
            KAFKA_DEV_DIR=os.environ.get("AV_KCLUSTER_DIR",
                                         os.path.join(ROOT, "build", "it", "kafka-cluster3")))
BROKERS = ",".join("127.0.0.1:%d" % (PORT + 2 * i) for i in range(3))
# one broker, for the throughput comparison only
PORT1 = int(os.environ.get("AV_KCLUSTER_SINGLE_PORT", "19810"))
KENV1 = dict(os.environ, KAFKA_DEV_PORT=str(PORT1),
             KAFKA_DEV_DIR=os.environ.get("AV_KCLUSTER_SINGLE_DIR",
                                          os.path.join(ROOT, "build", "it", "kafka-single")))
BROKER1 = "127.0.0.1:%d" % PORT1
FAST = ["-X", "fetch.backoff_ms=50", "-X", "fetch.backoff_max_ms=200", "--no-progress"]
# AV_KCLUSTER_REPLICATION=1 shows that the fault tests can fail: the topic
# then lives on its leader only
REPL = ["-X", "stream.replication=" + os.environ.get("AV_KCLUSTER_REPLICATION", "3"),
        "-X", "stream.partitions=1"]
SESSION = ["-X", "kafka.session.timeout.ms=6000"]
REGIONS = sorted(synth.REGIONS)
DAYS = 60
ARGS = ["--region", ",".join(map(str, REGIONS)), "--lang", "both", "--from", "2023-01-01",
        "--to", (dt.date(2023, 1, 1) + dt.timedelta(days=DAYS - 1)).isoformat(),
        "--chunk-days", "5"]
TOTAL = len(REGIONS) * 2 * DAYS      # 2880
REQUESTS = len(REGIONS) * 2 * DAYS // 5
SRV = None
EMB = None


def dev(*args, env=KENV, timeout=300):
    p = subprocess.run([KAFKA_DEV, *args], env=env, capture_output=True, text=True,
                       timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError("kafka-dev %s failed:\n%s%s" % (" ".join(args), p.stdout,
                                                           p.stderr[-3000:]))
    return p.stdout.strip()


def node(cmd, i):
    return dev("--nodes", "3", cmd, str(i))


def topic():
    return "kc" + uuid.uuid4().hex[:8]


def metadata(t, brokers=BROKERS):
    """kcat's view of topic t (the independent reader), or None while the
    topic does not exist yet."""
    p = subprocess.run(["kcat", "-b", brokers, "-L", "-J", "-t", t, "-m", "5"],
                       capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        return None
    md = json.loads(p.stdout)
    parts = md["topics"][0].get("partitions") or []
    return md if parts and not md["topics"][0].get("error") else None


def partition(t, brokers=BROKERS):
    md = metadata(t, brokers)
    return md and md["topics"][0]["partitions"][0]


class Bg:
    """avalanche in the background, its stderr in a file (a pipe nobody reads
    while it runs would fill up and block it)."""

    def __init__(self, cmd):
        self.err_file = tempfile.TemporaryFile(mode="w+")
        self.p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.err_file, text=True)

    def poll(self):
        return self.p.poll()

    def finish(self, timeout=300):
        """(exit status, stdout, stderr); killed if it takes too long, and
        then the test fails with the end of its stderr."""
        try:
            out = self.p.communicate(timeout=timeout)[0]
        except subprocess.TimeoutExpired:
            self.stop()
            self.err_file.seek(0)
            raise AssertionError("%s still running after %d s; its stderr ends:\n%s" %
                                 (self.p.args[1], timeout, self.err_file.read()[-4000:]))
        finally:
            self.stop()
        self.err_file.seek(0)
        return self.p.returncode, out, self.err_file.read()

    def stop(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


def wait_for(what, cond, timeout=120, alive=None):
    deadline = time.time() + timeout
    while True:
        v = cond()
        if v:
            return v
        if alive is not None and alive.poll() is not None:
            raise AssertionError("%s: the process ended first: %s" %
                                 (what, alive.finish()[2][-2000:]))
        assert time.time() < deadline, "%s: not within %d s" % (what, timeout)
        time.sleep(0.1)


def in_sync(t, n=3):
    """Polls until partition 0 of t has n replicas in sync (a restarted broker
    has caught up) and returns its leader."""
    def ok():
        p = partition(t)
        return p and len(p["isrs"]) == n and p["leader"] >= 1 and p
    return wait_for("%d in-sync replicas of %s" % (n, t), ok, timeout=180)["leader"]


def end_offset(t, brokers=BROKERS):
    """Messages in topic t: the end offsets (status --json with a group that
    never committed: lag = end), or -1 while the topic cannot be read."""
    db = tmpdb()
    open(db, "w").close()
    p = run("status", "--db", db, "--json", "--brokers", brokers, "--topic", t, "--group",
            "nobody-" + t, check=None)
    if p.returncode != 0:
        return -1
    return json.loads(p.stdout)["kafka"]["lag"]


def kcat_messages(t):
    p = subprocess.run(["kcat", "-b", BROKERS, "-t", t, "-C", "-e", "-J", "-q"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return [json.loads(line) for line in p.stdout.splitlines() if line.strip()]


def once_each(t):
    """Every warning of the corpus once in t: nothing lost, nothing doubled."""
    msgs = kcat_messages(t)
    keys = [(m["key"], json.loads(m["payload"])["LangKey"],
             json.loads(m["payload"])["ValidFrom"]) for m in msgs]
    assert len(keys) == TOTAL and len(set(keys)) == TOTAL, (len(keys), len(set(keys)))


def produce(t, brokers=BROKERS, *extra):
    return run("produce", "--db", tmpdb("state.db"), "--brokers", brokers, "--topic", t,
               "-X", "stream.weather_topic=" + t + ".wx", "--api-base", SRV.base, *ARGS,
               *extra, *FAST, check=0, timeout=300)


def process_cmd(db, t, brokers=BROKERS, *extra):
    return [BIN, "process", "--db", db, "--brokers", brokers, "--topic", t, "-X",
            "stream.weather_topic=" + t + ".wx", "--group", "g" + t, "--until-idle", *SESSION,
            *extra]


def same_as_embedded(db):
    assert query(db, "select count(*) from warning")[0][0] == TOTAL
    got = export(db)
    assert got == export(EMB), (len(got.splitlines()), len(export(EMB).splitlines()))
    assert export(db, "problems") == export(EMB, "problems")


def test_topics_have_replication_3_and_min_insync_replicas_2():
    t = topic()
    produce(t, BROKERS, *REPL)
    p = partition(t)
    assert sorted(r["id"] for r in p["replicas"]) == [1, 2, 3], p
    assert sorted(r["id"] for r in p["isrs"]) == [1, 2, 3], p
    out = dev("tool", "kafka.admin.ConfigCommand", "--bootstrap-server", BROKERS,
              "--entity-type", "topics", "--entity-name", t, "--describe", "--all")
    assert "  min.insync.replicas=2 " in out, out
    once_each(t)
    db = tmpdb()
    run(*process_cmd(db, t)[1:], check=0, timeout=300)
    same_as_embedded(db)
    # the group's offsets are replicated too: a dead broker loses no commit
    p = partition("__consumer_offsets")
    assert sorted(r["id"] for r in p["replicas"]) == [1, 2, 3], p


def test_leader_killed_during_produce_loses_and_doubles_nothing():
    t = topic()
    SRV.reset()
    SRV.faults([{"delay_ms": 30, "times": -1}])   # produce takes ~20 s
    killed = None
    proc = Bg([BIN, "produce", "--db", tmpdb("state.db"), "--brokers", BROKERS, "--topic", t,
               "-X", "stream.weather_topic=" + t + ".wx", "--api-base", SRV.base, *ARGS, *REPL,
               "--concurrency", "1", *FAST])
    try:
        # kill once part of the corpus is in the topic, with most still to come
        wait_for("messages in " + t, lambda: end_offset(t) >= 200, alive=proc)
        answered = len(SRV.log())
        leader = partition(t)["leader"]
        node("kill-node", leader)
        killed = leader
        assert proc.poll() is None and answered < REQUESTS // 2, answered
        rc, out, err = proc.finish()
        assert len(SRV.log()) == REQUESTS > answered   # went on after the kill
        new = partition(t)
        assert new["leader"] != leader, new
    finally:
        SRV.faults([])
        proc.stop()
        if killed:
            node("start-node", killed)
    assert rc == 0, (out, err[-3000:])
    assert "%d delivered, 0 not delivered" % TOTAL in out, out
    print("      produce: leader %d killed after %d of %d requests, new leader %d" %
          (leader, answered, REQUESTS, new["leader"]), flush=True)
    in_sync(t)     # the restarted broker caught up
    once_each(t)
    db = tmpdb()
    run(*process_cmd(db, t)[1:], check=0, timeout=300)
    same_as_embedded(db)


def test_leader_killed_during_process_loses_and_doubles_nothing():
    t = topic()
    produce(t, BROKERS, *REPL)
    leader = in_sync(t)
    db = tmpdb()
    # one warning per store transaction, and fetches and a prefetch of 64 KiB
    # (instead of 8 MiB: the whole topic) so that the consumer has to fetch the rest from
    # the new leader
    proc = Bg(process_cmd(db, t, BROKERS, "-X", "stream.batch=1",
                          "-X", "stream.max_message_bytes=1048576",
                          "-X", "kafka.queued.max.messages.kbytes=64",
                          "-X", "kafka.fetch.max.bytes=1048576",
                          "-X", "kafka.max.partition.fetch.bytes=65536"))
    killed = None

    def stored():
        try:
            return query(db, "select count(*) from warning")[0][0]
        except Exception:  # not created yet
            return 0
    try:
        wait_for("warnings stored", lambda: stored() >= 100, alive=proc)
        coordinator = partition("__consumer_offsets")["leader"]   # exists once a group did
        node("kill-node", leader)
        killed = leader
        at_kill = stored()
        assert proc.poll() is None and at_kill < TOTAL // 2, at_kill
        t_kill = time.time()
        rc, out, err = proc.finish()
        took = time.time() - t_kill
    finally:
        proc.stop()
        if killed:
            node("start-node", killed)
    assert rc == 0, (out, err[-3000:])
    print("      process: leader %d killed after %d of %d stored (group coordinator: "
          "broker %d), new leader %d, the rest stored %.1f s after the kill" %
          (leader, at_kill, TOTAL, coordinator, partition(t)["leader"], took), flush=True)
    same_as_embedded(db)
    assert query(db, "select status from run order by id") == [("ok",)]
    # the group's commits survived: nothing left to read
    assert "process: 0 messages" in run(*process_cmd(db, t)[1:], check=0, timeout=300).stdout
    in_sync(t)


def timed(cmd):
    """(wall s, CPU s of the child, stdout)"""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.time()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    took = time.time() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert p.returncode == 0, p.stderr[-3000:]
    return took, r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime, p.stdout


def one_run(brokers, replication, got):
    """produce then process (default batch) of the bench corpus on a fresh
    topic (default 6 partitions); appends (warnings/s, CPU s) of each to got."""
    t = topic()
    took, cpu, out = timed([BIN, "produce", "--db", tmpdb("state.db"), "--brokers", brokers,
                            "--topic", t, "-X", "stream.weather_topic=" + t + ".wx",
                            "-X", "stream.replication=%d" % replication, "--api-base",
                            BENCH.base, *BENCH_ARGS, *FAST])
    assert "%d delivered, 0 not delivered" % BENCH_TOTAL in out, out
    got["produce"].append((BENCH_TOTAL / took, cpu))
    db = tmpdb()
    took, cpu, out = timed(process_cmd(db, t, brokers))
    assert "%d warnings stored" % BENCH_TOTAL in out, out
    got["process"].append((BENCH_TOTAL / took, cpu))


BENCH = None
BENCH_DAYS = int(os.environ.get("AV_KCLUSTER_BENCH_DAYS", "365"))
BENCH_ARGS = ["--region", ",".join(map(str, REGIONS)), "--lang", "both", "--from",
              "2022-01-01", "--to",
              (dt.date(2022, 1, 1) + dt.timedelta(days=BENCH_DAYS - 1)).isoformat()]
BENCH_TOTAL = len(REGIONS) * 2 * BENCH_DAYS


def test_throughput_on_3_brokers_and_on_1():
    """The same corpus on one broker (replication 1) and on the cluster
    (replication 3), runs interleaved so that both see the same machine."""
    global BENCH
    runs = int(os.environ.get("AV_KCLUSTER_BENCH_RUNS", "3"))
    data = tempfile.mkdtemp(prefix="av-synth-")
    synth.write_jsonl(os.path.join(data, "synthetic_kbench.jsonl"), REGIONS,
                      dt.date(2022, 1, 1), BENCH_DAYS, langs=(1, 2))
    BENCH = Replay(data)
    one = {"produce": [], "process": []}
    three = {"produce": [], "process": []}
    try:
        dev("start", env=KENV1)
        for _ in range(runs):
            one_run(BROKER1, 1, one)
            one_run(BROKERS, 3, three)
    finally:
        BENCH.stop()
        dev("stop", env=KENV1)
    print("      %d SYNTHETIC warnings, median of %d runs (load average %s):" %
          (BENCH_TOTAL, runs, " ".join(open("/proc/loadavg").read().split()[:3])), flush=True)
    for name, got in (("1 broker,  replication 1", one), ("3 brokers, replication 3", three)):
        for cmd in ("produce", "process"):
            rates = [r for r, _ in got[cmd]]
            print("      %s: %-7s %6.0f warnings/s, CPU %.2f s (runs: %s warnings/s)" %
                  (name, cmd, statistics.median(rates),
                   statistics.median(c for _, c in got[cmd]),
                   " ".join("%.0f" % r for r in rates)), flush=True)


if __name__ == "__main__":
    TESTS = [v for k, v in list(globals().items()) if k.startswith("test_")]
    t0 = time.time()
    try:
        print("kafka cluster: " + dev("--nodes", "3", "start").splitlines()[-1], flush=True)
    except Exception as e:
        print("the cluster did not start: %s" % e)
        print("kafka-cluster: 0 passed, %d failed" % len(TESTS))
        subprocess.run([KAFKA_DEV, "--nodes", "3", "stop"], env=KENV, capture_output=True)
        sys.exit(1)
    data = tempfile.mkdtemp(prefix="av-synth-")
    synth.write_jsonl(os.path.join(data, "synthetic_kcluster.jsonl"), REGIONS,
                      dt.date(2023, 1, 1), DAYS, langs=(1, 2))
    SRV = Replay(data)
    try:
        EMB = tmpdb()
        run("run", "--db", EMB, "--api-base", SRV.base, *ARGS, *FAST, check=0, timeout=300)
        rc = main("kafka-cluster", TESTS)
    finally:
        SRV.stop()
        subprocess.run([KAFKA_DEV, "--nodes", "3", "stop"], env=KENV, capture_output=True)
        subprocess.run([KAFKA_DEV, "stop"], env=KENV1, capture_output=True)
        print("kafka cluster suite took %.0f s" % (time.time() - t0))
    sys.exit(rc)
