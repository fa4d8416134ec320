#!/usr/bin/env python3
"""What SQLite alone costs to write what `avalanche reprocess` writes: the
floor under any rebuild that stores the same rows in the same tables
(issue 13). Not part of the product; bench/bench.py --floor runs it side
by side with reprocess and the DuckDB load.

    sqlite_floor.py SRC.db OUT.db

SRC.db is an avalanche database after a run or reprocess. OUT.db is made
new with SRC's page size, WAL journal and the DDL of every table reprocess
rebuilds (everything but the raw responses and the fetch, run and usage
state) with their indexes; then one transaction copies each table's rows
from SRC, attached, in its storage order (INSERT ... SELECT: no parsing,
no binds, no upsert decisions, no history lookups, one statement per
table), and the connection is closed, which checkpoints the WAL into the
file as reprocess's commit does. synchronous=NORMAL as in avalanche.

So it measures the b-tree inserts, the WAL and the checkpoint for the
same bytes, plus reading SRC's pages from the page cache (run it after
SRC was read once; bench.py does). Prints one JSON line: rows per table,
OUT's size, the SQLite version.
"""
import json
import os
import sqlite3
import sys

# Not rebuilt by reprocess: the stored responses and the fetch/run state.
STATE = {"raw_response", "raw_body", "fetch_state", "fetch_hole", "run", "run_region",
         "api_usage"}


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: sqlite_floor.py SRC.db OUT.db")
    src, out = sys.argv[1], sys.argv[2]
    if not os.path.exists(src):
        sys.exit("sqlite_floor.py: %s does not exist (make it with avalanche run)" % src)
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(out + suffix):
            os.unlink(out + suffix)
    s = sqlite3.connect("file:%s?mode=ro" % src, uri=True)
    page = s.execute("PRAGMA page_size").fetchone()[0]
    tables = [(n, sql) for n, sql in s.execute(
        "SELECT name, sql FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE "
        "'sqlite_%' ORDER BY rootpage") if n not in STATE]
    names = {n for n, _ in tables}
    indexes = [sql for tbl, sql in s.execute(
        "SELECT tbl_name, sql FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL")
        if tbl in names]
    s.close()

    o = sqlite3.connect(out, isolation_level=None)
    o.execute("PRAGMA page_size = %d" % page)
    o.execute("PRAGMA journal_mode = WAL")
    o.execute("PRAGMA synchronous = NORMAL")
    for _, sql in tables:
        o.execute(sql)
    for sql in indexes:
        o.execute(sql)
    o.execute("ATTACH ? AS s", (src,))
    rows = {}
    o.execute("BEGIN")
    for n, _ in tables:
        o.execute('INSERT INTO main."%s" SELECT * FROM s."%s"' % (n, n))
        rows[n] = o.execute("SELECT changes()").fetchone()[0]
    o.execute("COMMIT")
    o.execute("DETACH s")
    o.close()  # the last connection: checkpoints the WAL into the file
    print(json.dumps({"rows": rows, "bytes": os.path.getsize(out), "page_size": page,
                      "sqlite": sqlite3.sqlite_version}))


if __name__ == "__main__":
    main()
