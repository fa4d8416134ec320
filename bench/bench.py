#!/usr/bin/env python3
"""Embedded-pipeline benchmark: `avalanche run` (fetch from the loopback
replay server + transform + SQLite), `avalanche reprocess` (stored raw ->
clean tables, no network) and the plain Python loader, side by side on one
SYNTHETIC corpus, in one invocation (ratios, not absolute numbers, are what
to compare across machines).

    bench/bench.py [--warnings 100000] [--repeat 1] [--out build/bench/results.json]

Measures wall time, user+sys CPU and peak RSS (getrusage of the child via
os.wait4) for each step; warnings/s = corpus warnings / wall seconds;
MB/s = corpus JSON bytes / wall seconds.
"""
import argparse
import json
import os
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
    a = ap.parse_args()
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
    try:
        while not os.path.exists(port_file):
            if srv.poll() is not None:
                raise RuntimeError("replay server died")
            time.sleep(0.2)
        with open(port_file) as f:
            base = "http://127.0.0.1:%s/api" % f.read().strip()
        db = os.path.join(BUILD, "bench.db")
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(db + suffix):
                os.unlink(db + suffix)
        steps = [
            ("avalanche run", [BIN, "run", "--db", db, "--api-base", base, "--region", "all",
                               "--lang", "both", "--from", meta["first"], "--to", meta["last"],
                               "--no-progress"]),
            ("avalanche reprocess", [BIN, "reprocess", "--db", db, "--no-progress"]),
        ]
        kenv = None
        if a.kafka:
            kenv = dict(os.environ, KAFKA_DEV_PORT="19192",
                        KAFKA_DEV_DIR=os.path.join(BUILD, "kafka"))
            subprocess.run([os.path.join(ROOT, "scripts", "kafka-dev"), "start"], env=kenv,
                           check=True, capture_output=True)
            brokers = "127.0.0.1:19192"
            kdb = os.path.join(BUILD, "kafka.db")
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(kdb + suffix):
                    os.unlink(kdb + suffix)
            steps.append(("avalanche produce", [BIN, "produce", "--db",
                                                os.path.join(BUILD, "produce-state.db"),
                                                "--brokers", brokers, "--topic", "bench",
                                                "--api-base", base, "--region", "all",
                                                "--lang", "both", "--from", meta["first"],
                                                "--to", meta["last"], "--no-progress"]))
            steps.append(("avalanche process", [BIN, "process", "--db", kdb, "--brokers",
                                                brokers, "--topic", "bench", "--group",
                                                "bench-%d" % time.time(), "--until-idle"]))
            if a.cassandra:
                cenv = dict(os.environ, CASSANDRA_DEV_PORT="29042",
                            CASSANDRA_DEV_STORAGE_PORT="27000",
                            CASSANDRA_DEV_DIR=os.path.join(BUILD, "cass"))
                subprocess.run([os.path.join(ROOT, "scripts", "cassandra-dev"), "start"],
                               env=cenv, check=True, capture_output=True)
                steps.append(("process --sink cassandra",
                              [BIN, "process", "--db", os.path.join(BUILD, "cass-state.db"),
                               "--brokers", brokers, "--topic", "bench", "--group",
                               "bench-cass-%d" % time.time(), "--until-idle", "--sink",
                               "cassandra", "--cassandra-hosts", "127.0.0.1:29042",
                               "-X", "cassandra.user=cassandra",
                               "-X", "cassandra.password=cassandra",
                               "-X", "cassandra.write_consistency=one"]))
        if not a.skip_python:
            pydb = os.path.join(BUILD, "python.db")
            if os.path.exists(pydb):
                os.unlink(pydb)
            steps.append(("python loader", [sys.executable, os.path.join(HERE, "py_loader.py"),
                                            corpus, pydb]))
        for name, args in steps:
            wall, cpu, rss, out = run_measured(args)
            r = {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "peak_rss_mb":
                 round(rss / 1024, 1), "warnings_per_s": round(meta["warnings"] / wall),
                 "mb_per_s": round(mb / wall, 1)}
            results["steps"][name] = r
            print("%-20s %7.2f s wall %7.2f s cpu %8d warnings/s %7.1f MB/s  peak RSS %7.1f MB"
                  % (name, wall, cpu, r["warnings_per_s"], r["mb_per_s"], r["peak_rss_mb"]),
                  flush=True)
        stored = subprocess.run(["sqlite3", db, "select count(*) from warning"],
                                capture_output=True, text=True).stdout.strip()
        results["warnings_stored"] = int(stored or 0)
        print("stored by avalanche: %s warnings" % stored)
    finally:
        srv.terminate()
        srv.wait()
        if a.kafka:
            subprocess.run([os.path.join(ROOT, "scripts", "kafka-dev"), "stop"], env=kenv,
                           capture_output=True)
        if a.kafka and a.cassandra:
            subprocess.run([os.path.join(ROOT, "scripts", "cassandra-dev"), "stop"], env=cenv,
                           capture_output=True)
    with open(a.out, "w") as f:
        json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
