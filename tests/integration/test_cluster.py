"""The Cassandra sink on a real 3-node Apache Cassandra 5.0 cluster on this
machine (scripts/cassandra-dev --nodes 3: 127.0.0.1, .2, .3), keyspace
replication SimpleStrategy 3, writes and reads at LOCAL_QUORUM, one Kafka
broker (scripts/kafka-dev). Our CQL client is given one contact point and
finds the other nodes and the ring itself (system.peers).

Fault tests, each ending with "export equals the embedded export, nothing
lost or doubled":
  - a node killed (SIGKILL) in the middle of `process --sink cassandra`,
    then restarted;
  - a node that stops answering (SIGSTOP for some seconds) does not stall
    the writer beyond its request deadline;
  - a node stopped (SIGSTOP) while the client refreshes the ring every
    second: a partition during the refresh.

SYNTHETIC warnings (tests/integration/synth.py) served by the replay server.
Takes ~5-8 minutes here (three JVMs start one after the other). Not part of
`make test`: run it alone (or in a `make test-cluster`).
"""
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import synth  # noqa: E402
from harness import BIN, ROOT, Replay, export, main, run, tmpdb  # noqa: E402

PORT = os.environ.get("AV_CLUSTER_PORT", "19542")
CENV = dict(os.environ, CASSANDRA_DEV_PORT=PORT,
            CASSANDRA_DEV_STORAGE_PORT=os.environ.get("AV_CLUSTER_STORAGE_PORT", "17500"),
            CASSANDRA_DEV_DIR=os.environ.get("AV_CLUSTER_DIR",
                                             os.path.join(ROOT, "build", "it", "cass-cluster")),
            CASSANDRA_DEV_TIMEOUT="300")
KPORT = os.environ.get("AV_CLUSTER_KAFKA_PORT", "19692")
KENV = dict(os.environ, KAFKA_DEV_PORT=KPORT,
            KAFKA_DEV_DIR=os.environ.get("AV_CLUSTER_KAFKA_DIR",
                                         os.path.join(ROOT, "build", "it", "kafka-cluster")))
CONTACT = "127.0.0.1:" + PORT           # one contact point: the rest is discovered
BROKERS = "127.0.0.1:" + KPORT
AUTH = {"AVALANCHE_CASSANDRA_USER": "cassandra", "AVALANCHE_CASSANDRA_PASSWORD": "cassandra"}
FAST = ["-X", "fetch.backoff_ms=50", "-X", "fetch.backoff_max_ms=200", "--no-progress"]
QUORUM = ["-X", "cassandra.write_consistency=local_quorum",
          "-X", "cassandra.read_consistency=local_quorum",
          "-X", "cassandra.replication=SimpleStrategy:3"]
REGIONS = sorted(synth.REGIONS)
DAYS = 40
ARGS = ["--region", ",".join(map(str, REGIONS)), "--lang", "both", "--from", "2023-01-01",
        "--to", (dt.date(2023, 1, 1) + dt.timedelta(days=DAYS - 1)).isoformat()]
TOTAL = len(REGIONS) * 2 * DAYS
SRV = None
EMB = None


def dev(*args, env=CENV, timeout=600):
    p = subprocess.run([os.path.join(ROOT, "scripts", args[0]), *args[1:]], env=env,
                       capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError("%s failed:\n%s%s" % (" ".join(args), p.stdout, p.stderr[-3000:]))
    return p.stdout.strip()


def node(cmd, i):
    return dev("cassandra-dev", "--nodes", "3", cmd, str(i))


def keyspace():
    return "cl_" + uuid.uuid4().hex[:10]


def topic():
    return "cl" + uuid.uuid4().hex[:8]


def lag(t, group):
    db = tmpdb()
    open(db, "w").close()
    p = run("status", "--db", db, "--json", "--brokers", BROKERS, "--topic", t, "--group",
            group, check=0)
    return json.loads(p.stdout)["kafka"]["lag"]


def cass(*args, ks, env=None, timeout=300, check=0):
    e = dict(AUTH)
    if env:
        e.update(env)
    return run(*args, "--sink", "cassandra", "--cassandra-hosts", CONTACT, "--keyspace", ks,
               *QUORUM, env=e, check=check, timeout=timeout)


def produced():
    """A topic holding the synthetic corpus, and its consumer group."""
    t = topic()
    run("produce", "--db", tmpdb(), "--brokers", BROKERS, "--topic", t, "--api-base", SRV.base,
        *ARGS, *FAST, check=0, timeout=300)
    group = "g" + t
    assert lag(t, group) == TOTAL
    return t, group


def process(t, group, ks, *extra):
    env = dict(os.environ, **AUTH)
    return subprocess.Popen([BIN, "process", "--db", tmpdb(), "--brokers", BROKERS, "--topic", t,
                             "--group", group, "--until-idle", "-X", "stream.batch=50",
                             "--sink", "cassandra", "--cassandra-hosts", CONTACT,
                             "--keyspace", ks, *QUORUM, "-X", "cassandra.retries=100", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def finish(proc, timeout=400):
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, (out, err[-3000:])
    return out, err


def wait_stored_some(t, group, proc, at_least=200):
    deadline = time.time() + 180
    while time.time() < deadline and lag(t, group) > TOTAL - at_least:
        assert proc.poll() is None, proc.communicate()[1][-2000:]
        time.sleep(0.1)
    left = lag(t, group)
    assert 0 < left < TOTAL, left
    return left


def schema_agreed(timeout=120):
    """Polls (python3-cassandra, each node asked about itself) until every
    node has the same schema version: a node back from SIGSTOP or a restart
    learns the keyspaces created meanwhile a few seconds later."""
    code = (
        "import sys\n"
        "from cassandra.cluster import Cluster\n"
        "from cassandra.policies import WhiteListRoundRobinPolicy\n"
        "from cassandra.cluster import ExecutionProfile, EXEC_PROFILE_DEFAULT\n"
        "v = set()\n"
        "for h in ('127.0.0.1', '127.0.0.2', '127.0.0.3'):\n"
        "    p = ExecutionProfile(load_balancing_policy=WhiteListRoundRobinPolicy([h]))\n"
        "    c = Cluster([h], port=%s, protocol_version=4,\n"
        "                execution_profiles={EXEC_PROFILE_DEFAULT: p})\n"
        "    v.add(str(c.connect().execute('SELECT schema_version FROM system.local')"
        ".one()[0]))\n"
        "    c.shutdown()\n"
        "sys.exit(0 if len(v) == 1 else 1)\n" % PORT)
    deadline = time.time() + timeout
    while time.time() < deadline:
        if subprocess.run(["/usr/bin/python3", "-c", code], capture_output=True,
                          timeout=120).returncode == 0:
            return
        time.sleep(1)
    raise AssertionError("schema versions still differ after %d s" % timeout)


def same_as_embedded(ks):
    schema_agreed()
    got = cass("export", "warnings", "--db", tmpdb(), ks=ks).stdout
    assert got == export(EMB), (len(got.splitlines()), len(export(EMB).splitlines()))
    assert cass("export", "problems", "--db", tmpdb(), ks=ks).stdout == export(EMB, "problems")


def test_client_discovers_the_ring_from_one_contact_point():
    ks = keyspace()
    p = cass("run", "--db", tmpdb(), "--api-base", SRV.base, "--region", "3022", "--lang", "2",
             "--from", "2023-01-01", "--to", "2023-01-05", *FAST, "-v", ks=ks)
    assert "discovered node 127.0.0.2:" + PORT in p.stderr, p.stderr[-2000:]
    assert "discovered node 127.0.0.3:" + PORT in p.stderr, p.stderr[-2000:]
    assert "ring of 3 tokens over 3 nodes" in p.stderr, p.stderr[-2000:]


def test_node_killed_mid_process_at_local_quorum_loses_nothing():
    t, group = produced()
    ks = keyspace()
    proc = process(t, group, ks)
    try:
        wait_stored_some(t, group, proc)
        node("kill-node", 2)          # SIGKILL: no goodbye, connections just die
        out, err = finish(proc)
    finally:
        node("restart-node", 2)
    same_as_embedded(ks)


def test_a_stopped_node_does_not_stall_the_writer_beyond_its_deadline():
    t, group = produced()
    ks = keyspace()
    proc = process(t, group, ks, "-X", "cassandra.request_timeout_ms=2000")
    paused = False
    try:
        wait_stored_some(t, group, proc)
        node("pause-node", 3)         # SIGSTOP: the sockets stay open, nothing answers
        paused, t0 = True, time.time()
        out, err = finish(proc, timeout=300)
        took = time.time() - t0
    finally:
        if paused:
            node("resume-node", 3)
    assert "no answer within 2000 ms" in err, err[-2000:]
    # the rest of the topic at LOCAL_QUORUM on two nodes: far less than the
    # retries' worst case (100 x 5 s) would be if the writer waited on node 3
    assert took < 120, took
    same_as_embedded(ks)


def test_ring_refresh_with_a_stopped_node():
    t, group = produced()
    ks = keyspace()
    node("pause-node", 3)
    try:
        proc = process(t, group, ks, "-X", "cassandra.refresh_s=1",
                       "-X", "cassandra.request_timeout_ms=2000",
                       "-X", "cassandra.connect_timeout_ms=1000")
        out, err = finish(proc, timeout=400)
    finally:
        node("resume-node", 3)
    same_as_embedded(ks)


if __name__ == "__main__":
    TESTS = [v for k, v in list(globals().items()) if k.startswith("test_")]
    t0 = time.time()
    try:
        print("cassandra cluster: " + dev("cassandra-dev", "--nodes", "3", "start")
              .splitlines()[-1], flush=True)
        print("kafka: " + dev("kafka-dev", "start", env=KENV).splitlines()[-1], flush=True)
    except Exception as e:
        print("a server did not start: %s" % e)
        print("cluster: 0 passed, %d failed" % len(TESTS))
        subprocess.run([os.path.join(ROOT, "scripts", "cassandra-dev"), "--nodes", "3", "stop"],
                       env=CENV, capture_output=True)
        subprocess.run([os.path.join(ROOT, "scripts", "kafka-dev"), "stop"], env=KENV,
                       capture_output=True)
        sys.exit(1)
    data = tempfile.mkdtemp(prefix="av-synth-")
    synth.write_jsonl(os.path.join(data, "synthetic_cluster.jsonl"), REGIONS,
                      dt.date(2023, 1, 1), DAYS, langs=(1, 2))
    SRV = Replay(data)
    try:
        EMB = tmpdb()
        run("run", "--db", EMB, "--api-base", SRV.base, *ARGS, *FAST, check=0, timeout=300)
        rc = main("cluster", TESTS)
    finally:
        SRV.stop()
        subprocess.run([os.path.join(ROOT, "scripts", "cassandra-dev"), "--nodes", "3", "stop"],
                       env=CENV, capture_output=True)
        subprocess.run([os.path.join(ROOT, "scripts", "kafka-dev"), "stop"], env=KENV,
                       capture_output=True)
        print("cluster suite took %.0f s" % (time.time() - t0))
    sys.exit(rc)
