#!/usr/bin/env python3
"""What SQLite alone costs to rebuild, in place, what `avalanche reprocess`
rebuilds: the floor under any rebuild that stores the same rows in the
same tables of a live WAL file (issue 13). Not part of the product;
bench/bench.py --floor runs it side by side with reprocess and DuckDB.

    sqlite_floor.py SRC.db OUT.db

OUT.db is a copy of SRC.db (made beforehand: bench.py copies it before
timing). In one transaction, as reprocess does, every table reprocess
rebuilds (everything but the raw responses and the fetch, run and usage
state) is emptied and refilled from SRC, attached, by INSERT ... SELECT
... WHERE 1 (the WHERE keeps SQLite from copying whole records, its
"xfer" shortcut, so each row is decoded and encoded again as a rebuild
must); the connection is closed, which checkpoints the WAL into the file
as reprocess's commit does. synchronous=NORMAL, an 8 MiB cache and
secure_delete off, as avalanche. No parsing, binds, upsert decisions or
history lookups: SQLite's b-trees, WAL and checkpoint for the same bytes.
Prints one JSON line: rows per table, OUT's size, the SQLite version.
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
    for p in (src, out):
        if not os.path.exists(p):
            sys.exit("sqlite_floor.py: %s does not exist (OUT is a copy of SRC, made first)" % p)
    o = sqlite3.connect(out, isolation_level=None)
    tables = [n for (n,) in o.execute(
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "ORDER BY rootpage") if n not in STATE]
    o.execute("PRAGMA journal_mode = WAL")
    o.execute("PRAGMA synchronous = NORMAL")
    o.execute("PRAGMA cache_size = -8192")
    o.execute("PRAGMA secure_delete = OFF")
    o.execute("ATTACH ? AS s", (src,))
    rows = {}
    o.execute("BEGIN IMMEDIATE")
    for n in tables:
        o.execute('DELETE FROM main."%s"' % n)
    for n in tables:
        o.execute('INSERT INTO main."%s" SELECT * FROM s."%s" WHERE 1' % (n, n))
        rows[n] = o.execute("SELECT changes()").fetchone()[0]
    o.execute("COMMIT")
    o.execute("DETACH s")
    page = o.execute("PRAGMA page_size").fetchone()[0]
    o.close()  # the last connection: checkpoints the WAL into the file
    print(json.dumps({"rows": rows, "bytes": os.path.getsize(out), "page_size": page,
                      "sqlite": sqlite3.sqlite_version}))


if __name__ == "__main__":
    main()
