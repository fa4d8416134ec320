#!/usr/bin/env python3
"""Embedded-pipeline benchmark: `avalanche run` (fetch from the loopback
replay server + transform + SQLite), `avalanche reprocess` (stored raw ->
clean tables, no network) and the plain Python loader, side by side on one
SYNTHETIC corpus, in one invocation (ratios, not absolute numbers, are what
to compare across machines).

    bench/bench.py [--warnings 100000] [--out build/bench/results.json]
                   [--baseline OLD_BINARY [--repeat N]] [--kafka [--cassandra]]

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
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, ".."))
BUILD = os.path.join(ROOT, "build", "bench")
BIN = os.path.join(ROOT, "build", "avalanche")


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


def compare(name, make_args, bins, repeat, meta, mb):
    """Runs make_args(label, binary, i) for each binary in turn, repeat times,
    interleaved and in alternating order (before-after, after-before, ...) so
    that what one run leaves behind (dirty pages being written back, a
    compacting node) does not always land on the same binary; returns
    {label: medians + each wall, ..., ratio_wall}."""
    got = {label: [] for label, _ in bins}
    for i in range(repeat):
        for label, binary in (bins if i % 2 == 0 else list(reversed(bins))):
            wall, cpu, rss, _ = run_measured(make_args(label, binary, i))
            got[label].append((wall, cpu, rss))
            print("%-24s %-6s %d/%d %7.2f s wall %7.2f s cpu  peak RSS %7.1f MB"
                  % (name, label, i + 1, repeat, wall, cpu, rss / 1024), flush=True)
    res, med = {}, {}
    for label, runs in got.items():
        walls, cpus, rsss = zip(*runs)
        med[label] = statistics.median(walls)
        res[label] = record(med[label], statistics.median(cpus), statistics.median(rsss),
                            meta, mb)
        res[label]["wall_s_each"] = [round(w, 2) for w in walls]
    res["ratio_wall"] = round(med["after"] / med["before"], 3)
    return res


def print_compare(compared, repeat):
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
    a = ap.parse_args()
    if a.repeat < 1 or (a.repeat != 1 and not a.baseline):
        ap.error("--repeat N needs --baseline and N >= 1")
    if a.baseline:
        a.baseline = os.path.abspath(a.baseline)
        if not os.access(a.baseline, os.X_OK):
            ap.error("--baseline %s: not an executable file" % a.baseline)
    # Compared steps run for both binaries; the others once with build/avalanche.
    bins = [("before", a.baseline), ("after", BIN)] if a.baseline else None
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
    srv = subprocess.Popen([sys.executable, os.path.join(ROOT, "tests", "replay",
                                                         "replay_server.py"),
                            "--data", corpus, "--port", "0", "--port-file", port_file],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    results = {"corpus": meta, "steps": {}}
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
            return [binary, "reprocess", "--db", db_path("bench", label), "--no-progress"]

        steps = [("avalanche run", True, run), ("avalanche reprocess", True, reprocess)]
        if a.kafka:
            kenv = dict(os.environ, KAFKA_DEV_PORT="19192",
                        KAFKA_DEV_DIR=os.path.join(BUILD, "kafka"))
            subprocess.run([os.path.join(ROOT, "scripts", "kafka-dev"), "start"], env=kenv,
                           check=True, capture_output=True)
            brokers = ["--brokers", "127.0.0.1:19192", "--topic", "bench"]

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
                cenv = dict(os.environ, CASSANDRA_DEV_PORT="29042",
                            CASSANDRA_DEV_STORAGE_PORT="27000",
                            CASSANDRA_DEV_DIR=os.path.join(BUILD, "cass"))
                subprocess.run([os.path.join(ROOT, "scripts", "cassandra-dev"), "start"],
                               env=cenv, check=True, capture_output=True)

                def cass(label, binary, i):
                    args = [binary, "process", "--db", db_path("cass-state", label)] + brokers + \
                        ["--group", unique("bench-cass", label, i), "--until-idle", "--sink",
                         "cassandra", "--cassandra-hosts", "127.0.0.1:29042",
                         "-X", "cassandra.user=cassandra", "-X", "cassandra.password=cassandra",
                         "-X", "cassandra.write_consistency=one"]
                    if label is None:
                        return args
                    # Comparing: own state db, group and keyspace, all new, so that
                    # nothing written before (by the other binary, an earlier
                    # repetition or invocation) makes the writes cheaper.
                    fresh(db_path("cass-state", label))
                    return args + ["--keyspace", "bench_%s_%d_%d" % (label, stamp, i)]

                steps.append(("process --sink cassandra", True, cass))
        if not a.skip_python:
            pydb = os.path.join(BUILD, "python.db")

            def python(label, binary, i):
                if os.path.exists(pydb):
                    os.unlink(pydb)
                return [sys.executable, os.path.join(HERE, "py_loader.py"), corpus, pydb]

            steps.append(("python loader", False, python))
        for name, compared, make_args in steps:
            if bins and compared:
                c = results["compare"][name] = compare(name, make_args, bins, a.repeat, meta, mb)
                results["steps"][name] = {k: v for k, v in c["after"].items()
                                          if k != "wall_s_each"}
                continue
            wall, cpu, rss, out = run_measured(make_args(None, BIN, 0))
            r = record(wall, cpu, rss, meta, mb)
            results["steps"][name] = r
            print("%-20s %7.2f s wall %7.2f s cpu %8d warnings/s %7.1f MB/s  peak RSS %7.1f MB"
                  % (name, wall, cpu, r["warnings_per_s"], r["mb_per_s"], r["peak_rss_mb"]),
                  flush=True)
        stored = count_warnings(db_path("bench", "after" if bins else None))
        results["warnings_stored"] = int(stored or 0)
        print("stored by avalanche: %s warnings" % stored)
        if bins:
            before = count_warnings(db_path("bench", "before"))
            results["warnings_stored_before"] = int(before or 0)
            print("stored by the baseline: %s warnings%s" %
                  (before, "" if before == stored else "  (DIFFERS from after)"))
            print_compare(results["compare"], a.repeat)
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
