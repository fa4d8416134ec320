#!/usr/bin/env python3
"""Structural checks of the source tree (issue 8's definition of done, kept
true): each column of the warning and problem datasets is spelled in string
literals of one file only (the dataset description); no .c file is over 800
lines (GENERATED ones excepted); main.c exports nothing but main; every
global symbol has the av_ prefix; each external library is called from its
own files only; transforms do not reach into sources. Needs the objects of
`make` (build/obj). Prints "lint: N passed, N failed"."""
import json
import os
import re
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("AVALANCHE_BIN", os.path.join(ROOT, "build", "avalanche"))
OBJ = os.path.join(ROOT, "build", "obj", "src")
DESCRIPTION = "src/model/dataset.c"
# the dataset descriptions: the stored datasets, and the features table
# (which names the columns it is computed from)
DESCRIPTIONS = (DESCRIPTION, "src/model/dataset_features.c")

# The same word in another sense, per file: the columns and why. Nothing
# else may spell a column of the warning or problem dataset.
OTHER_SENSE = {
    "src/sinks/sqlite.c": ({"region_id", "lang", "endpoint", "raw_id"},
                           "the state tables' own columns (raw_response, rejected, fetch_state)"),
    "src/sinks/sqlite_schema.c": ({"region_id", "lang", "endpoint", "raw_id"},
                                  "the migrations of the state tables"),
    "src/sinks/sqlite_state.c": ({"region_id", "lang", "endpoint", "raw_id"},
                                 "fetch state, holes and runs (state tables)"),
    "src/pipeline/ingest.c": ({"lang"}, "the validate stage's reasons (LangKey vs lang)"),
    "src/sinks/store_json.c": ({"region_id", "lang", "endpoint"},
                               "JSON of fetch-state rows and holes"),
    "src/sinks/sqlite_read.c": ({"region_id", "lang", "endpoint"},
                                "queries of the state tables"),
    "src/pipeline/to_kafka.c": ({"region_id", "lang", "endpoint"},
                                "Kafka headers of the raw envelope; the api.endpoint key"),
    "src/cli/cmd_process.c": ({"lang", "endpoint"}, "Kafka headers read back"),
    "src/sources/varsom.c": ({"lang", "endpoint"}, "configuration keys plan.lang, api.endpoint"),
    "src/cli/options.c": ({"lang", "endpoint", "text"},
                          "the flags --lang, --endpoint, --log-format text|json and their help"),
    "src/core/log.c": ({"text"}, "the log.format choice text"),
    "src/cli/common.c": ({"lang"}, "the plan.lang key"),
    "src/cli/cmd_run.c": ({"lang", "endpoint"}, "log lines"),
    "src/cli/cmd_status.c": ({"lang", "region_id"},
                             "a column header of the status table; regions --points"),
    "src/http/api.c": ({"lang", "text"}, "the query parameter lang, a MIME type"),
    "src/http/metrics.c": ({"lang", "endpoint", "text"}, "Prometheus labels, a MIME type"),
    "src/http/dashboard.c": ({"lang", "text"}, "HTML attributes, CSS, MIME types"),
    "src/http/dash_region.c": ({"lang"}, "an HTML id (day-lang)"),
    "src/http/quality_chart.c": ({"text"}, "the SVG <text> element"),
    "src/http/region_svg.c": ({"text"}, "the SVG <text> element"),
    "src/http/wx_svg.c": ({"text"}, "the SVG <text> element"),
    "src/http/dash_season.c": ({"lang", "text"}, "the query parameter lang, SVG text elements"),
    "src/http/dash_quality.c": ({"lang", "endpoint", "text"},
                                "column headers and data-lang of the state tables' rows "
                                "(fetch_state, fetch_hole), MIME types"),
    "src/http/rose.c": ({"aspects", "text"}, "the rose's SVG (text-anchor, data-aspects-known) "
                        "and its notes in words"),
    "src/cql/cql_wire.c": ({"text"}, "CQL type names in error messages"),
    "src/export/caaml.c": ({"lang", "aspects"}, "CAAMLv6 member names (a bulletin's lang, "
                           "a problem's aspects)"),
    "src/cli/export_doc.c": ({"lang"}, "the --lang flag in messages"),
    "src/http/api_doc.c": ({"lang"}, "the query parameter lang, the plan.lang key"),
    "src/sinks/cassandra_schema.c": ({"text"}, "the CQL type text"),
}

# Generated files, exempt from the 800-line limit: file -> its generator.
GENERATED = {
    "src/model/region_polygons.c": "scripts/gen-region-polygons.py",
}

passed = failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print("FAIL  " + what)


def sources():
    for d, _, files in os.walk(os.path.join(ROOT, "src")):
        for f in sorted(files):
            if f.endswith((".c", ".h")):
                yield os.path.relpath(os.path.join(d, f), ROOT)


STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"')
COMMENT = re.compile(r"/\*.*?\*/", re.S)


def literals(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        text = COMMENT.sub(" ", f.read())
    return [m.group(0)[1:-1] for m in STRING.finditer(text)]


def columns():
    out = subprocess.run([BIN, "datasets", "--json"], capture_output=True, text=True,
                         check=True).stdout
    ds = {d["name"]: d for d in json.loads(out)}
    return sorted({f["name"] for n in ("warnings", "problems") for f in ds[n]["fields"]})


def main():
    lits = {p: literals(p) for p in sources()}
    for col in columns():
        word = re.compile(r"(?<![A-Za-z0-9_])%s(?![A-Za-z0-9_])" % re.escape(col))
        files = sorted(p for p, ls in lits.items() if any(word.search(s) for s in ls))
        extra = [p for p in files
                 if p not in DESCRIPTIONS and col not in OTHER_SENSE.get(p, ((),))[0]]
        check(not extra, "column %s spelled in string literals of %s" % (col, ", ".join(extra)))
    for p in sources():
        if p.endswith(".c"):
            with open(os.path.join(ROOT, p), encoding="utf-8") as f:
                n = sum(1 for _ in f)
            check(n <= 800 or p in GENERATED, "%s has %d lines (limit 800)" % (p, n))
        if p.startswith("src/transforms/"):
            with open(os.path.join(ROOT, p), encoding="utf-8") as f:
                check("../sources/" not in f.read(), "%s includes src/sources/" % p)
    # symbols: defined globals and the libraries each object calls
    libs = {"sqlite3_": {"sinks/sqlite.o", "sinks/sqlite_state.o", "sinks/sqlite_read.o",
                         "sinks/sqlite_history.o", "sinks/sqlite_bulk.o"},
            "curl_": {"sources/fetch.o"},
            "rd_kafka_": {"transport/kafka.o"}, "MHD_": {"http/http.o"},
            "ZSTD_": {"sinks/raw_codec.o"}}
    for d, _, files in os.walk(OBJ):
        for f in files:
            if not f.endswith(".o"):
                continue
            rel = os.path.relpath(os.path.join(d, f), OBJ)
            if not os.path.exists(os.path.join(ROOT, "src", rel[:-2] + ".c")):
                continue  # left over from a source that moved or went
            nm = subprocess.run(["nm", "-g", os.path.join(d, f)], capture_output=True,
                                text=True, check=True).stdout.split("\n")
            defined = [l.split()[-1] for l in nm if re.match(r"^[0-9a-f]+ [TDBRC] ", l)]
            undefined = [l.split()[-1] for l in nm if re.match(r"^\s+U ", l)]
            if rel == "cli/main.o":
                check(defined == ["main"], "cli/main.c exports %s" % defined)
            else:
                bad = [s for s in defined if not s.startswith("av_")]
                check(not bad, "%s exports symbols without the av_ prefix: %s" % (rel, bad))
            for prefix, owners in libs.items():
                calls = [s for s in undefined if s.startswith(prefix)]
                check(not calls or rel in owners,
                      "%s calls %s* (only %s may)" % (rel, prefix, ", ".join(sorted(owners))))
    print("lint: %d passed, %d failed" % (passed, failed))
    return failed != 0


if __name__ == "__main__":
    sys.exit(main())
