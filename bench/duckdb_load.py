#!/usr/bin/env python3
"""The comparator of issue 13: what a data engineer would write with DuckDB
to load the same SYNTHETIC corpus (one JSON array file): `CREATE TABLE AS
SELECT ... FROM read_json(...)` into a DuckDB file, with 2 threads. It keeps
8 warning fields and the flattened avalanche problems (12 fields each, ~20
columns in all), no upsert rule, no raw bodies, no advices or mountain
weather: less than `avalanche reprocess` stores. Not part of the product.

    duckdb_load.py CORPUS.json DB [--threads 2]

Runs under the venv bench/run makes (~/.cache/avalanche/duckdb-venv, `pip
install duckdb`: Debian's pip is PEP-668 locked). Prints the counts as JSON.
"""
import argparse
import json
import os

import duckdb

# Only the members read: DuckDB's JSON reader skips the others (its
# projection pushdown), the fastest way to write this load.
PROBLEM = ("STRUCT(AvalancheProblemId INTEGER, AvalancheProblemTypeId INTEGER, "
           "AvalancheProblemTypeName VARCHAR, AvalCauseId INTEGER, AvalProbabilityId INTEGER, "
           "AvalTriggerSimpleId INTEGER, DestructiveSizeExtId INTEGER, "
           "AvalPropagationId INTEGER, ValidExpositions VARCHAR, ExposedHeight1 INTEGER, "
           "ExposedHeight2 INTEGER, DangerLevel INTEGER)[]")
COLUMNS = {"RegionId": "INTEGER", "ValidFrom": "TIMESTAMP", "LangKey": "INTEGER",
           "RegId": "BIGINT", "RegionName": "VARCHAR", "DangerLevel": "VARCHAR",
           "PublishTime": "TIMESTAMP", "MainText": "VARCHAR", "AvalancheProblems": PROBLEM}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus")
    ap.add_argument("db")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    for suffix in ("", ".wal"):
        if os.path.exists(a.db + suffix):
            os.unlink(a.db + suffix)
    con = duckdb.connect(a.db, config={"threads": a.threads})
    cols = "{%s}" % ", ".join("'%s': '%s'" % kv for kv in COLUMNS.items())
    con.execute("CREATE TEMP TABLE src AS SELECT * FROM read_json(?, format = 'array', "
                "columns = %s)" % cols, [a.corpus])
    con.execute("CREATE TABLE warning AS SELECT RegionId AS region_id, "
                "CAST(ValidFrom AS DATE) AS valid_date, LangKey AS lang, RegId AS reg_id, "
                "RegionName AS region_name, CAST(DangerLevel AS INTEGER) AS danger_level, "
                "PublishTime AS publish_time, MainText AS main_text FROM src")
    con.execute("CREATE TABLE problem AS SELECT region_id, valid_date, lang, "
                "p.AvalancheProblemId AS problem_id, p.AvalancheProblemTypeId AS type_id, "
                "p.AvalancheProblemTypeName AS type_name, p.AvalCauseId AS cause_id, "
                "p.AvalProbabilityId AS probability_id, "
                "p.AvalTriggerSimpleId AS trigger_simple_id, "
                "p.DestructiveSizeExtId AS destructive_size_id, "
                "p.AvalPropagationId AS propagation_id, p.ValidExpositions AS aspects, "
                "p.ExposedHeight1 AS exposed_height_1, p.ExposedHeight2 AS exposed_height_2, "
                "p.DangerLevel AS danger_level FROM (SELECT RegionId AS region_id, "
                "CAST(ValidFrom AS DATE) AS valid_date, LangKey AS lang, "
                "unnest(AvalancheProblems) AS p FROM src)")
    con.execute("DROP TABLE src")
    con.execute("CHECKPOINT")
    n = con.execute("SELECT count(*) FROM warning").fetchone()[0]
    p = con.execute("SELECT count(*) FROM problem").fetchone()[0]
    con.close()
    print(json.dumps({"warnings": n, "problems": p, "duckdb": duckdb.__version__,
                      "bytes": os.path.getsize(a.db)}))


if __name__ == "__main__":
    main()
