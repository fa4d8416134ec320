#!/usr/bin/env python3
"""The baseline: a plain Python loader of the same corpus, the way such a
job is usually written (stdlib json + sqlite3, whole file at once). It
keeps the same natural key and "latest publication wins" rule, and stores
warnings and problems (not advices or weather: less work than avalanche).

    py_loader.py CORPUS.json DB
"""
import json
import sqlite3
import sys


def main():
    corpus, db = sys.argv[1], sys.argv[2]
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    con.execute("CREATE TABLE IF NOT EXISTS warning (region_id INT, valid_date TEXT, lang INT, "
                "reg_id INT, danger_level INT, publish_time TEXT, main_text TEXT, raw TEXT, "
                "PRIMARY KEY (region_id, valid_date, lang))")
    con.execute("CREATE TABLE IF NOT EXISTS problem (region_id INT, valid_date TEXT, lang INT, "
                "problem_id INT, type_id INT, cause_id INT, aspects TEXT, "
                "PRIMARY KEY (region_id, valid_date, lang, problem_id))")
    with open(corpus, encoding="utf-8") as f:
        data = json.load(f)
    with con:
        for w in data:
            key = (w["RegionId"], w["ValidFrom"][:10], w["LangKey"])
            con.execute(
                "INSERT INTO warning VALUES (?,?,?,?,?,?,?,?) ON CONFLICT DO UPDATE SET "
                "reg_id=excluded.reg_id, danger_level=excluded.danger_level, "
                "publish_time=excluded.publish_time, main_text=excluded.main_text, "
                "raw=excluded.raw WHERE excluded.publish_time >= warning.publish_time",
                key + (w["RegId"], int(w["DangerLevel"]), w["PublishTime"], w["MainText"],
                       json.dumps(w)))
            for p in w.get("AvalancheProblems") or []:
                con.execute("INSERT OR REPLACE INTO problem VALUES (?,?,?,?,?,?,?)",
                            key + (p["AvalancheProblemId"], p["AvalancheProblemTypeId"],
                                   p["AvalCauseId"], p["ValidExpositions"]))
    print(len(data))


if __name__ == "__main__":
    main()
