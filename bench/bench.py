#!/usr/bin/env python3
"""Embedded-pipeline benchmark: `avalanche run` (fetch from the loopback
replay server + transform + SQLite), `avalanche reprocess` (stored raw ->
clean tables, no network) and the plain Python loader, side by side on one
SYNTHETIC corpus, in one invocation (ratios, not absolute numbers, are what
to compare across machines).

    bench/bench.py [--warnings 100000] [--out build/bench/results.json]
                   [--baseline OLD_BINARY] [--duckdb] [--floor] [--repeat N] [--workers N]
                   [--kafka [--cassandra [--pyspark]]]

Measures wall time, user+sys CPU and peak RSS (getrusage of the child via
os.wait4) for each step; warnings/s = corpus warnings / wall seconds;
MB/s = corpus JSON bytes / wall seconds.

With --baseline, the avalanche steps (run, reprocess, and with --kafka
process, process --sink cassandra) are measured for the old binary ("before")
and build/avalanche ("after"), interleaved N times in alternating order
(before, after, after, before, ...), each binary on its own db, consumer
group and keyspace.
results.json then gets "compare": step -> {before, after (medians over the
N repetitions), ratio_wall (after / before median wall)}; "steps" holds the
after medians and the steps run once (produce, python loader: after binary).

With --duckdb (issue 13), the reprocess step is interleaved the same way
with bench/duckdb_load.py (DuckDB's read_json CTAS of the corpus, 2
threads; label "duckdb", run by AV_DUCKDB_PYTHON, the venv bench/run
makes), and its entry in "compare" gets ratio_vs_duckdb (after / duckdb
median wall). build/avalanche can be another binary with AVALANCHE_BIN.

With --floor, the reprocess step is also interleaved with
bench/sqlite_floor.py (label "floor": SQLite alone rebuilding a copy of
the after db in place, DELETE then INSERT ... SELECT of the same rows in
one transaction, WAL and checkpoint, i.e. the writes without any of our
work), and its entry gets
ratio_vs_floor (after / floor) and, with --duckdb, floor_vs_duckdb.

With --kafka --cassandra --pyspark (issue 12), the `process --sink
cassandra` step is interleaved the same way with bench/pyspark_cassandra.py
(PySpark 3.5 Structured Streaming + the Spark Cassandra connector, local[2],
draining the same topic into a keyspace of its own on the same node; label
"pyspark", run by AV_PYSPARK_PYTHON, the venv bench/run makes), and its
entry in "compare" gets speedup_vs_pyspark (our warnings/s / PySpark's =
PySpark median wall / after median wall), the comparator's own split of its
wall time (setup_s: JVM, packages and DDL; stream_s), the rows each side
stored (counted in Cassandra afterwards) and, for each side, node_cpu_s: the
Cassandra node's CPU during its runs (/proc/PID/stat before and after; it
includes any compaction left over from the run before).

Ports and dirs of the servers it starts (defaults in brackets):
AV_BENCH_KAFKA_PORT [19192] (the KRaft controller takes the next port),
AV_BENCH_CASSANDRA_PORT [29042], AV_BENCH_CASSANDRA_STORAGE_PORT [27000];
their data dirs are under AV_BENCH_DIR [build/bench].
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, ".."))
BUILD = os.path.abspath(os.environ.get("AV_BENCH_DIR") or os.path.join(ROOT, "build",
                                                                      "bench"))
BIN = os.environ.get("AVALANCHE_BIN") or os.path.join(ROOT, "build", "avalanche")
# The DuckDB comparator's interpreter (bench/run makes the venv).
DUCKDB_PY = os.environ.get("AV_DUCKDB_PYTHON") or os.path.expanduser(
    "~/.cache/avalanche/duckdb-venv/bin/python")
# The PySpark comparator's interpreter (bench/run makes the venv).
PYSPARK_PY = os.environ.get("AV_PYSPARK_PYTHON") or os.path.expanduser(
    "~/.cache/avalanche/pyspark-venv/bin/python")
KAFKA_PORT = os.environ.get("AV_BENCH_KAFKA_PORT", "19192")
CASS_PORT = os.environ.get("AV_BENCH_CASSANDRA_PORT", "29042")
CASS_STORAGE_PORT = os.environ.get("AV_BENCH_CASSANDRA_STORAGE_PORT", "27000")


def run_measured(args, env=None):
    """Runs args; returns (wall s, cpu s, maxrss KB, stdout)."""
    t = time.time()
    pid = os.fork()
    if pid == 0:
        fd = os.open(os.path.join(BUILD, "last.log"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        try:
            os.execvpe(args[0], args, env or os.environ)
        finally:
            os._exit(127)
    _, status, ru = os.wait4(pid, 0)
    wall = time.time() - t
    with open(os.path.join(BUILD, "last.log"), encoding="utf-8", errors="replace") as f:
        out = f.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError("%s failed:\n%s" % (" ".join(args), out[-2000:]))
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss, out


def fresh(db):
    """Deletes an SQLite file and its -wal/-shm."""
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.unlink(db + suffix)


def db_path(stem, label):
    """build/bench/STEM.db; STEM-before.db / STEM-after.db when comparing."""
    return os.path.join(BUILD, "%s-%s.db" % (stem, label) if label else stem + ".db")


def unique(base, label, i):
    """A consumer group never used before: BASE-<unix time>, or
    BASE-<label>-<unix time>-<repetition> when comparing."""
    if label is None:
        return "%s-%d" % (base, time.time())
    return "%s-%s-%d-%d" % (base, label, time.time(), i)


def record(wall, cpu, rss_kb, meta, mb):
    return {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "peak_rss_mb":
            round(rss_kb / 1024, 1), "warnings_per_s": round(meta["warnings"] / wall),
            "mb_per_s": round(mb / wall, 1)}


def node_cpu(pid_file):
    """CPU seconds (user+sys) the process in pid_file has used so far, or
    None (no pid file, process gone)."""
    try:
        with open(pid_file) as f:
            pid = f.read().strip()
        with open("/proc/%s/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def compare(name, make_args, bins, repeat, meta, mb, node_pid=None):
    """Runs make_args(label, binary, i) for each binary in turn, repeat times,
    interleaved and in alternating order (before-after, after-before, ...) so
    that what one run leaves behind (dirty pages being written back, a
    compacting node) does not always land on the same binary; returns
    {label: medians + each wall, ..., ratio_wall}. With node_pid (a pid
    file), each label also gets node_cpu_s: that process's CPU during its
    runs (median), e.g. the Cassandra node's."""
    got = {label: [] for label, _ in bins}
    said = {label: [] for label, _ in bins}  # a comparator's last stdout line, as JSON
    ncpu = {label: [] for label, _ in bins}
    for i in range(repeat):
        for label, binary in (bins if i % 2 == 0 else list(reversed(bins))):
            n0 = node_cpu(node_pid) if node_pid else None
            wall, cpu, rss, out = run_measured(make_args(label, binary, i))
            n1 = node_cpu(node_pid) if node_pid else None
            if n0 is not None and n1 is not None:
                ncpu[label].append(n1 - n0)
            got[label].append((wall, cpu, rss))
            if label == "pyspark":
                said[label].append(last_json(out))
            print("%-24s %-6s %d/%d %7.2f s wall %7.2f s cpu  peak RSS %7.1f MB"
                  % (name, label, i + 1, repeat, wall, cpu, rss / 1024), flush=True)
    res, med = {}, {}
    for label, runs in got.items():
        walls, cpus, rsss = zip(*runs)
        med[label] = statistics.median(walls)
        res[label] = record(med[label], statistics.median(cpus), statistics.median(rsss),
                            meta, mb)
        res[label]["wall_s_each"] = [round(w, 2) for w in walls]
        if ncpu[label]:
            res[label]["node_cpu_s"] = round(statistics.median(ncpu[label]), 2)
            res[label]["node_cpu_s_each"] = [round(x, 2) for x in ncpu[label]]
    if "before" in med:
        res["ratio_wall"] = round(med["after"] / med["before"], 3)
    if "duckdb" in med:
        res["ratio_vs_duckdb"] = round(med["after"] / med["duckdb"], 3)
    if "floor" in med:
        res["ratio_vs_floor"] = round(med["after"] / med["floor"], 3)
        if "duckdb" in med:
            res["floor_vs_duckdb"] = round(med["floor"] / med["duckdb"], 3)
    if "pyspark" in med:
        res["speedup_vs_pyspark"] = round(med["pyspark"] / med["after"], 3)
        for k in ("setup_s", "stream_s"):
            v = [d[k] for d in said["pyspark"] if k in d]
            if v:
                res["pyspark"][k] = statistics.median(v)
        res["pyspark"]["said"] = said["pyspark"]
    return res


def last_json(out):
    """The last line of out that parses as a JSON object ({} if none)."""
    for line in reversed(out.splitlines()):
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                pass
    return {}


def print_compare(compared, repeat):
    for name, c in compared.items():
        if "duckdb" in c:
            d, a = c["duckdb"], c["after"]
            print("\n%s vs DuckDB (median of %d): %.2f s / %.2f s wall = %.3f, cpu %.2f / "
                  "%.2f s, peak RSS %.1f / %.1f MB" % (name, repeat, a["wall_s"], d["wall_s"],
                                                       c["ratio_vs_duckdb"], a["cpu_s"],
                                                       d["cpu_s"], a["peak_rss_mb"],
                                                       d["peak_rss_mb"]))
        if "floor" in c:
            f, a = c["floor"], c["after"]
            print("%s vs SQLite alone rebuilding its tables in place (median of %d): %.2f s / %.2f s wall = "
                  "%.3f, cpu %.2f / %.2f s%s" % (
                      name, repeat, a["wall_s"], f["wall_s"], c["ratio_vs_floor"], a["cpu_s"],
                      f["cpu_s"], "; floor / DuckDB %.3f" % c["floor_vs_duckdb"]
                      if "floor_vs_duckdb" in c else ""))
        if "pyspark" in c:
            s, a = c["pyspark"], c["after"]
            print("\n%s vs PySpark Structured Streaming + Spark Cassandra connector "
                  "(median of %d):" % (name, repeat))
            print("%-10s %9s %9s %10s %11s %12s" % ("", "wall s", "CPU s", "peak RSS",
                                                    "warnings/s", "node CPU s"))
            for label, r in (("avalanche", a), ("pyspark", s)):
                print("%-10s %9.2f %9.2f %7.1f MB %11d %12s" % (label, r["wall_s"], r["cpu_s"],
                                                                r["peak_rss_mb"],
                                                                r["warnings_per_s"],
                                                                r.get("node_cpu_s", "?")))
            print("speedup (our warnings/s / PySpark's): %.2fx (issue 12 asks >= 5x); PySpark "
                  "setup (JVM, packages, DDL) %s s of its wall" % (c["speedup_vs_pyspark"],
                                                                   s.get("setup_s", "?")))
    compared = {k: v for k, v in compared.items() if "before" in v}
    if not compared:
        return
    print("\nbefore vs after (median of %d; ratio = after / before wall):" % repeat)
    print("%-24s %10s %10s %6s %9s %9s %9s %9s" % ("step", "wall bef.", "wall aft.", "ratio",
                                                   "cpu bef.", "cpu aft.", "RSS bef.",
                                                   "RSS aft."))
    for name, c in compared.items():
        b, a = c["before"], c["after"]
        print("%-24s %8.2f s %8.2f s %6.3f %7.2f s %7.2f s %6.1f MB %6.1f MB"
              % (name, b["wall_s"], a["wall_s"], c["ratio_wall"], b["cpu_s"], a["cpu_s"],
                 b["peak_rss_mb"], a["peak_rss_mb"]))


def count_warnings(db):
    return subprocess.run(["sqlite3", db, "select count(*) from warning"],
                          capture_output=True, text=True).stdout.strip()


CASS_TABLES = ("warnings_by_region", "warnings_by_date", "problems_by_region",
               "warning_versions_by_region")
COUNT_ROWS = r"""
import json, sys
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import Cluster
from cassandra.query import SimpleStatement
port, keyspaces, tables = int(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3:]
c = Cluster(["127.0.0.1"], port=port,
            auth_provider=PlainTextAuthProvider("cassandra", "cassandra"))
s = c.connect()
s.default_timeout = 300
out = {}
for ks in keyspaces:
    out[ks] = {}
    for t in tables:
        key = s.execute("select * from %s.%s limit 1" % (ks, t)).column_names[0]
        q = SimpleStatement("select %s from %s.%s" % (key, ks, t), fetch_size=5000)
        out[ks][t] = sum(1 for _ in s.execute(q))
print(json.dumps(out))
"""


def count_cassandra(keyspaces):
    """{label: {keyspace: {table: rows}}}, counted by paging through each
    table with Debian's python3-cassandra (what scripts/cassandra-dev uses);
    an error text instead when that fails."""
    res = {}
    for label, kss in keyspaces.items():
        p = subprocess.run(["/usr/bin/python3", "-c", COUNT_ROWS, CASS_PORT, json.dumps(kss)]
                           + list(CASS_TABLES), capture_output=True, text=True)
        res[label] = json.loads(p.stdout) if p.returncode == 0 else \
            {"error": p.stderr.strip()[-300:]}
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--warnings", type=int, default=100000)
    ap.add_argument("--out", default=os.path.join(BUILD, "results.json"))
    ap.add_argument("--skip-python", action="store_true")
    ap.add_argument("--cassandra", action="store_true",
                    help="with --kafka: also process the topic into a local Cassandra node "
                         "(scripts/cassandra-dev)")
    ap.add_argument("--kafka", action="store_true",
                    help="also produce the corpus to a local broker (scripts/kafka-dev) and "
                         "process it into SQLite")
    ap.add_argument("--baseline", metavar="PATH",
                    help="another avalanche binary (\"before\") to measure side by side, "
                         "interleaved, with build/avalanche (\"after\")")
    ap.add_argument("--repeat", type=int, default=1,
                    help="with --baseline: runs of each compared step per binary (median)")
    ap.add_argument("--duckdb", action="store_true",
                    help="also load the corpus with DuckDB (bench/duckdb_load.py, 2 threads), "
                         "interleaved with reprocess")
    ap.add_argument("--pyspark", action="store_true",
                    help="with --kafka --cassandra: also drain the topic into the node with "
                         "PySpark Structured Streaming (bench/pyspark_cassandra.py), "
                         "interleaved with process --sink cassandra")
    ap.add_argument("--server", choices=("replay", "static"), default="replay",
                    help="what serves the corpus: the replay server, or bench/static_server.py "
                         "(the same bytes, less CPU)")
    ap.add_argument("--floor", action="store_true",
                    help="also time bench/sqlite_floor.py (SQLite alone rebuilding the clean "
                    "tables in place, INSERT ... SELECT), interleaved with reprocess")
    ap.add_argument("--workers", type=int, metavar="N",
                    help="reprocess.workers of the after binary (default: its own, one per CPU)")
    a = ap.parse_args()
    if a.repeat < 1 or (a.repeat != 1 and not (a.baseline or a.duckdb or a.pyspark)):
        ap.error("--repeat N needs --baseline, --duckdb or --pyspark and N >= 1")
    if a.pyspark and not (a.kafka and a.cassandra):
        ap.error("--pyspark needs --kafka --cassandra")
    if a.baseline:
        a.baseline = os.path.abspath(a.baseline)
        if not os.access(a.baseline, os.X_OK):
            ap.error("--baseline %s: not an executable file" % a.baseline)
    # Compared steps run for both binaries; the others once with build/avalanche.
    bins = [("before", a.baseline), ("after", BIN)] if a.baseline else None
    # reprocess and the DuckDB load, side by side (and the baseline's reprocess)
    rbins = (bins or [("after", BIN)]) + [("duckdb", DUCKDB_PY)] if a.duckdb else bins
    if a.floor:
        rbins = (rbins or [("after", BIN)]) + [("floor", sys.executable)]
    # process --sink cassandra and the PySpark comparator, side by side
    cbins = (bins or [("after", BIN)]) + [("pyspark", PYSPARK_PY)] if a.pyspark else bins
    keyspaces = {}  # label -> the keyspaces it wrote (counted at the end)
    stamp = int(time.time())
    os.makedirs(BUILD, exist_ok=True)
    corpus = os.path.join(BUILD, "synthetic_corpus_%d.json" % a.warnings)
    meta_path = corpus + ".meta"
    if not os.path.exists(meta_path):
        meta = subprocess.run([sys.executable, os.path.join(HERE, "gen_corpus.py"), corpus,
                               "--warnings", str(a.warnings)], check=True, capture_output=True,
                              text=True).stdout
        with open(meta_path, "w") as f:
            f.write(meta)
    with open(meta_path) as f:
        meta = json.load(f)
    mb = meta["bytes"] / 1e6
    print("corpus: %d synthetic Detail warnings, %.0f MB, %s..%s" %
          (meta["warnings"], mb, meta["first"], meta["last"]), flush=True)

    port_file = os.path.join(BUILD, "port")
    if os.path.exists(port_file):
        os.unlink(port_file)
    server = os.path.join(HERE, "static_server.py") if a.server == "static" else \
        os.path.join(ROOT, "tests", "replay", "replay_server.py")
    srv = subprocess.Popen([sys.executable, server,
                            "--data", corpus, "--port", "0", "--port-file", port_file],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    results = {"corpus": meta, "steps": {}, "server": a.server}
    if bins:
        results["compare"] = {}
    kenv = cenv = None
    try:
        while not os.path.exists(port_file):
            if srv.poll() is not None:
                raise RuntimeError("replay server died")
            time.sleep(0.2)
        with open(port_file) as f:
            base = "http://127.0.0.1:%s/api" % f.read().strip()
        fetch = ["--api-base", base, "--region", "all", "--lang", "both", "--from",
                 meta["first"], "--to", meta["last"], "--no-progress"]

        # Each step: (name, compared, args(label, binary, i)). label is None when
        # not comparing (or for a step run once), else "before"/"after"; i is the
        # repetition. Each binary gets its own db: schema versions may differ.
        def warnings_only(binary):
            """The warnings alone (builds since issue 10 also fetch the weather
            by default; older ones know no --sources)."""
            h = subprocess.run([binary, "help-config"], capture_output=True, text=True)
            return ["--sources", "varsom"] if "sources" in h.stdout else []

        def run(label, binary, i):
            fresh(db_path("bench", label))  # every repetition starts from an empty db
            return [binary, "run", "--db", db_path("bench", label)] + fetch + \
                warnings_only(binary)

        def reprocess(label, binary, i):  # rebuilds in one transaction: may repeat on one db
            if label == "duckdb":
                return [binary, os.path.join(HERE, "duckdb_load.py"), corpus,
                        os.path.join(BUILD, "duckdb.db"), "--threads", "2"]
            if label == "floor":  # SQLite alone rebuilding a copy of the after db in place
                src = db_path("bench", "after" if bins else None)
                floor = os.path.join(BUILD, "floor.db")
                fresh(floor)
                shutil.copy(src, floor)  # not timed
                return [binary, os.path.join(HERE, "sqlite_floor.py"), src, floor]
            if label == "after" and a.workers is not None:
                return [binary, "reprocess", "--db", db_path("bench", label), "--no-progress",
                        "-X", "reprocess.workers=%d" % a.workers]
            # without --baseline the db is bench.db (label None), also with --duckdb
            return [binary, "reprocess", "--db",
                    db_path("bench", label if bins else None), "--no-progress"]

        steps = [("avalanche run", True, run), ("avalanche reprocess", "r", reprocess)]
        if a.kafka:
            kenv = dict(os.environ, KAFKA_DEV_PORT=KAFKA_PORT,
                        KAFKA_DEV_DIR=os.path.join(BUILD, "kafka"))
            subprocess.run([os.path.join(ROOT, "scripts", "kafka-dev"), "start"], env=kenv,
                           check=True, capture_output=True)
            brokers = ["--brokers", "127.0.0.1:" + KAFKA_PORT, "--topic", "bench"]

            def produce(label, binary, i):  # once, by build/avalanche; both process it
                return [binary, "produce", "--db", os.path.join(BUILD, "produce-state.db")] + \
                    warnings_only(binary) + \
                    brokers + fetch

            def process(label, binary, i):  # own group + fresh db per binary and repetition
                fresh(db_path("kafka", label))
                return [binary, "process", "--db", db_path("kafka", label)] + brokers + \
                    ["--group", unique("bench", label, i), "--until-idle"]

            steps += [("avalanche produce", False, produce), ("avalanche process", True, process)]
            if a.cassandra:
                cenv = dict(os.environ, CASSANDRA_DEV_PORT=CASS_PORT,
                            CASSANDRA_DEV_STORAGE_PORT=CASS_STORAGE_PORT,
                            CASSANDRA_DEV_DIR=os.path.join(BUILD, "cass"))
                subprocess.run([os.path.join(ROOT, "scripts", "cassandra-dev"), "start"],
                               env=cenv, check=True, capture_output=True)

                def cass(label, binary, i):
                    if label == "pyspark":  # the same topic, from the start, own keyspace
                        ks = "bench_pyspark_%d_%d" % (stamp, i)
                        keyspaces.setdefault(label, []).append(ks)
                        return [binary, os.path.join(HERE, "pyspark_cassandra.py")] + brokers + \
                            ["--cassandra", "127.0.0.1:" + CASS_PORT, "--keyspace", ks,
                             "--checkpoint", os.path.join(BUILD, "pyspark-checkpoint")]
                    args = [binary, "process", "--db", db_path("cass-state", label)] + brokers + \
                        ["--group", unique("bench-cass", label, i), "--until-idle", "--sink",
                         "cassandra", "--cassandra-hosts", "127.0.0.1:" + CASS_PORT,
                         "-X", "cassandra.user=cassandra", "-X", "cassandra.password=cassandra",
                         "-X", "cassandra.write_consistency=one"]
                    if label is None:
                        return args
                    # Comparing: own state db, group and keyspace, all new, so that
                    # nothing written before (by the other binary, an earlier
                    # repetition or invocation) makes the writes cheaper.
                    fresh(db_path("cass-state", label))
                    ks = "bench_%s_%d_%d" % (label, stamp, i)
                    keyspaces.setdefault(label, []).append(ks)
                    return args + ["--keyspace", ks]

                steps.append(("process --sink cassandra", "c", cass))
        if not a.skip_python:
            pydb = os.path.join(BUILD, "python.db")

            def python(label, binary, i):
                if os.path.exists(pydb):
                    os.unlink(pydb)
                return [sys.executable, os.path.join(HERE, "py_loader.py"), corpus, pydb]

            steps.append(("python loader", False, python))
        if (rbins or cbins) and "compare" not in results:
            results["compare"] = {}
        for name, compared, make_args in steps:
            use = rbins if compared == "r" else cbins if compared == "c" else bins
            if use and compared:
                node = os.path.join(BUILD, "cass", "cassandra.pid") if compared == "c" else None
                c = results["compare"][name] = compare(name, make_args, use, a.repeat, meta, mb,
                                                       node)
                results["steps"][name] = {k: v for k, v in c["after"].items()
                                          if k != "wall_s_each"}
                continue
            wall, cpu, rss, out = run_measured(make_args(None, BIN, 0))
            r = record(wall, cpu, rss, meta, mb)
            results["steps"][name] = r
            print("%-20s %7.2f s wall %7.2f s cpu %8d warnings/s %7.1f MB/s  peak RSS %7.1f MB"
                  % (name, wall, cpu, r["warnings_per_s"], r["mb_per_s"], r["peak_rss_mb"]),
                  flush=True)
        for label in (["before", "after"] if bins else [None]):
            results["db_mb" + ("_" + label if label else "")] = round(
                os.path.getsize(db_path("bench", label)) / 1e6, 1)
        print("database: " + ", ".join("%s %.1f MB" % (k, v) for k, v in results.items()
                                       if k.startswith("db_mb")))
        stored = count_warnings(db_path("bench", "after" if bins else None))
        results["warnings_stored"] = int(stored or 0)
        print("stored by avalanche: %s warnings" % stored)
        if keyspaces:
            results["cassandra_rows"] = count_cassandra(keyspaces)
            for label, per in results["cassandra_rows"].items():
                print("stored in Cassandra by %s: %s" % (label, per.get("error") or "; ".join(
                    "%s: %s" % (ks, ", ".join("%s %s" % tv for tv in rows.items()))
                    for ks, rows in per.items())))
        if rbins or cbins:
            print_compare(results["compare"], a.repeat)
        if bins:
            before = count_warnings(db_path("bench", "before"))
            results["warnings_stored_before"] = int(before or 0)
            print("stored by the baseline: %s warnings%s" %
                  (before, "" if before == stored else "  (DIFFERS from after)"))
    finally:
        srv.terminate()
        srv.wait()
        if kenv:
            subprocess.run([os.path.join(ROOT, "scripts", "kafka-dev"), "stop"], env=kenv,
                           capture_output=True)
        if cenv:
            subprocess.run([os.path.join(ROOT, "scripts", "cassandra-dev"), "stop"], env=cenv,
                           capture_output=True)
    with open(a.out, "w") as f:
        json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
