#!/usr/bin/env python3
"""Writes the SYNTHETIC benchmark corpus: N Detail warnings derived from the
real recorded fixture (tests/integration/synth.py), as one JSON array file
(the shape a long API range returns), for the replay server and the Python
baseline loader.

    gen_corpus.py OUT.json [--warnings 100000]

Warnings cover all 46 region ids x 2 languages x consecutive days from
2012-12-01, so the embedded pipeline fetches them as ordinary requests.
"""
import argparse
import datetime as dt
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "integration"))
import synth  # noqa: E402

FIRST = dt.date(2012, 12, 1)
REGIONS = list(range(3001, 3047))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--warnings", type=int, default=100000)
    a = ap.parse_args()
    days = -(-a.warnings // (len(REGIONS) * 2))
    tpls = synth.templates()
    n = 0
    tmp = a.out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("[")
        for region in REGIONS:
            for lang in (1, 2):
                for k in range(days):
                    if n == a.warnings:
                        break
                    day = FIRST + dt.timedelta(days=k)
                    w = synth.warning(tpls[n % len(tpls)], region, day, lang, n + 1)
                    if n:
                        f.write(",")
                    f.write(json.dumps(w, ensure_ascii=False, separators=(",", ":")))
                    n += 1
        f.write("]")
    os.replace(tmp, a.out)
    last = FIRST + dt.timedelta(days=days - 1)
    print(json.dumps({"warnings": n, "bytes": os.path.getsize(a.out), "first": str(FIRST),
                      "last": str(last), "days": days}))


if __name__ == "__main__":
    main()
