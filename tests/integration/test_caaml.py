"""CAAMLv6 and GeoJSON exports (issue 14): the real binary, a real SQLite file
filled by `run` from the replay server, and the official EAWS schema.

Data: every recorded Varsom fixture (the Detail response, 3022 English, API
6.2.1; the Simple 6.3.0 response, 3011 Norwegian; the 2022 RegionSummary,
46 regions, Norwegian, with not-assessed days of RegId 0) and SYNTHETIC
Detail warnings made here from the recorded one (nothing recorded has them):
the same days in Norwegian, API 6.0 and 6.3 shapes (IsTendency), not-assessed
Detail days, every problem type and ExposedHeightFill code, heights off the
100 m grid, HTML-like text, and days around the spring clock change.

Schema checks run in a venv with jsonschema + rfc3339-validator from PyPI
(tests/requirements-caaml.txt), made under ~/.cache/avalanche/ when missing:
without rfc3339-validator jsonschema does not check "date-time" at all, so
the suite first proves the checker rejects a time without an offset.

Run: python3 tests/integration/test_caaml.py  (AVALANCHE_BIN selects the build)
"""
import copy
import datetime as dt
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (BIN, DETAIL, ROOT, SHARED, SIMPLE, SUMMARY, Replay, main,  # noqa: E402
                     run, tmpdb)

SCHEMA = os.path.join(SHARED, "fixtures", "caaml", "CAAMLv6_BulletinEAWS.json")
EXAMPLE = os.path.join(SHARED, "fixtures", "caaml", "example_2022-03-03_avalanche_report_en.json")
POLYGONS = os.path.join(SHARED, "fixtures", "regions", "varsom_regions_2019-02-12.geojson")
REQS = os.path.join(ROOT, "tests", "requirements-caaml.txt")
FAST = ["-X", "fetch.backoff_ms=50", "-X", "fetch.backoff_max_ms=200", "--no-progress"]
ELEVATION = re.compile(r"treeline|0|[1-9][0-9]*00")  # fullmatch: a multiple of 100
R = None
DB = None          # the database every test reads (made once)
SOURCES = {}       # (region, date, lang) -> the source warning (the API's JSON)


# ---------------------------------------------------------------- the venv

def venv_python():
    """The venv's python with the pinned packages, made when missing."""
    with open(REQS, "rb") as f:
        key = hashlib.sha256(f.read()).hexdigest()[:16]
    home = os.path.join(os.path.expanduser("~"), ".cache", "avalanche", "caaml-venv-" + key)
    py = os.path.join(home, "bin", "python")
    marker = os.path.join(home, ".installed")
    if not os.path.exists(marker):
        subprocess.run([sys.executable, "-m", "venv", "--clear", home], check=True)
        subprocess.run([py, "-m", "pip", "install", "-q", "--disable-pip-version-check",
                        "-r", REQS], check=True, timeout=600)
        with open(marker, "w") as f:
            f.write(key + "\n")
    return py


VALIDATE = r"""
import json, sys
import jsonschema
schema = json.load(open(sys.argv[1]))
checker = jsonschema.FormatChecker()
v = jsonschema.Draft7Validator(schema, format_checker=checker)
out = {"date_time_checked": "date-time" in checker.checkers, "errors": {}}
for path in sys.argv[2:]:
    doc = json.load(open(path))
    out["errors"][path] = ["%s: %s" % ("/".join(map(str, e.absolute_path)), e.message)
                           for e in v.iter_errors(doc)]
print(json.dumps(out))
"""


def validate(*docs):
    """{file: [errors]} for each document (dicts), validated with format
    checking against the official schema."""
    d = tempfile.mkdtemp(prefix="av-caaml-")
    paths = []
    for i, doc in enumerate(docs):
        paths.append(os.path.join(d, "doc%d.json" % i))
        with open(paths[-1], "w", encoding="utf-8") as f:
            json.dump(doc, f, ensure_ascii=False)
    p = subprocess.run([venv_python(), "-c", VALIDATE, SCHEMA, *paths], capture_output=True,
                       text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    res = json.loads(p.stdout)
    assert res["date_time_checked"], "jsonschema's FormatChecker does not check date-time"
    return [res["errors"][x] for x in paths]


# ---------------------------------------------------------------- the data

def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def oslo_offset_h(utc):
    """Europe/Oslo's offset (1 or 2) at a naive UTC datetime: CEST from 01:00
    UTC on the last Sunday of March to 01:00 UTC on the last Sunday of October
    (the EU rule; written here again, not taken from the program)."""
    def last_sunday(month):
        d = dt.datetime(utc.year, month, 31 if month in (3, 10) else 30, 1)
        return d - dt.timedelta(days=(d.weekday() + 1) % 7)
    return 2 if last_sunday(3) <= utc < last_sunday(10) else 1


def local_to_utc(naive):
    """A Varsom local stamp -> naive UTC (the first reading when ambiguous)."""
    t = dt.datetime.fromisoformat(naive)
    for off in (2, 1):
        u = t - dt.timedelta(hours=off)
        if oslo_offset_h(u) == off:
            return u
    return t - dt.timedelta(hours=1)


def check_time(caaml, naive_local):
    """caaml is the same instant as the Varsom stamp, with Oslo's offset then."""
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?\+0[12]:00", caaml), caaml
    got = dt.datetime.fromisoformat(caaml)
    want = local_to_utc(naive_local)
    assert got.astimezone(dt.timezone.utc).replace(tzinfo=None) == want, (caaml, naive_local)
    assert got.utcoffset() == dt.timedelta(hours=oslo_offset_h(want)), (caaml, naive_local)


def html(s):
    """The CAAML text of a Varsom text (docs/caaml.md): trailing white space
    dropped, & < > escaped, line breaks as <br/>."""
    s = s.rstrip(" \t\r\n")
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"\r\n|\n|\r", "<br/>", s)


def synthetic():
    """SYNTHETIC Detail warnings (see the module doc), as a list."""
    tpl = load(DETAIL)
    out = []
    # the five recorded days again in Norwegian (LangKey 1)
    for w in tpl:
        x = copy.deepcopy(w)
        x["LangKey"] = 1
        out.append(x)

    def moved(w, region, day, name):
        x = copy.deepcopy(w)
        x.update(RegionId=region, RegionName=name, LangKey=1,
                 ValidFrom=day + "T00:00:00", ValidTo=day + "T23:59:59",
                 RegId=900000 + len(out), PreviousWarningRegId=None)
        return x

    # API 6.0 shape (no sensitivity, per-problem level, texts, 6.2 fields),
    # every problem type and height code, HTML-like text: 3016, 1-3 March
    v60_drop = ("AvalTriggerSensitivityId", "AvalTriggerSensitivityName", "DangerLevel",
                "DangerLevelName", "TriggerSenitivityPropagationDestuctiveSizeText")
    base = tpl[0]["AvalancheProblems"][0]

    def problem(pid, type_id, fill, h1, h2, expo="11100001", simple=21, size=2, prop=2):
        p = copy.deepcopy(base)
        for k in v60_drop:
            p.pop(k, None)
        p.update(AvalancheProblemId=pid, AvalancheProblemTypeId=type_id,
                 AvalancheProblemTypeName="type %d" % type_id, ExposedHeightFill=fill,
                 ExposedHeight1=h1, ExposedHeight2=h2, ValidExpositions=expo,
                 AvalTriggerSimpleId=simple, DestructiveSizeExtId=size, AvalPropagationId=prop)
        return p

    for k, (day, level) in enumerate((("2023-03-01", "3"), ("2023-03-02", "4"),
                                      ("2023-03-03", "1"))):
        x = moved(tpl[k], 3016, day, "Salten")
        for key in ("ExtremWeatherId", "ExtremWeatherName", "DangerIncreaseTime",
                    "DangerDecreaseTime"):
            x.pop(key, None)
        x["MountainWeather"].pop("MeasurementTexts", None)
        x["DangerLevel"] = level
        x["EmergencyWarning"] = "Ikke gitt"
        x["MainText"] = "SYNTHETIC <b>fet</b> & mer\r\nlinje to  "
        x["AvalancheDanger"] = "Avsnitt 1.\n\nAvsnitt 2 > 1. "
        x["AvalancheAdvices"] = [{"AdviceID": 0, "ImageUrl": None, "Text": "  "},
                                 {"AdviceID": 1, "ImageUrl": "https://example.invalid/1.jpg",
                                  "Text": "Unngå <bratt> terreng & skavler."}]
        x["AvalancheProblems"] = [
            problem(1, 3, 3, 1200, 400, simple=21, size=1, prop=1),
            problem(2, 7, 4, 1250, 350, simple=22, size=3, prop=3),
            problem(3, 45, 1, 0, 0, simple=10, size=4),
            problem(4, 50, 2, 650, 650, expo="00000000", size=5),
            problem(5, 30, 3, 800, 800, expo="10000000", size=0, prop=0),
            problem(6, 0, 1, 500, 500),
            problem(7, 37, 1, 1801, 1801),
            problem(8, 10, 3, 1000, 0),
        ]
        out.append(x)
    # API 6.3: a reduced IsTendency warning, then a not-assessed day
    t = moved(tpl[4], 3016, "2023-03-04", "Salten")
    t.update(IsTendency=True, DangerLevel="2", AvalancheProblems=None, AvalancheAdvices=None,
             MountainWeather=None, AvalancheDanger=None, SnowSurface=None,
             CurrentWeaklayers=None, LatestObservations=None, EmergencyWarning="Ikke gitt")
    out.append(t)

    def not_assessed(region, name, day, lang):
        x = copy.deepcopy(tpl[0])
        x.update(RegId=0, RegionId=region, RegionName=name, LangKey=lang, DangerLevel="0",
                 DangerLevelName=None, ValidFrom=day + "T00:00:00",
                 ValidTo=day + "T23:59:59", PublishTime=day + "T00:00:00",
                 NextWarningTime=day + "T17:00:00", MainText=["", "Ikke vurdert",
                                                              "No Rating"][lang],
                 Author=None, AvalancheDanger=None, EmergencyWarning=None, SnowSurface=None,
                 CurrentWeaklayers=None, LatestAvalancheActivity=None,
                 LatestObservations=None, MountainWeather=None, AvalancheProblems=None,
                 AvalancheAdvices=None, PreviousWarningRegId=None, UtmZone=0, UtmEast=0,
                 UtmNorth=0, ExposedHeight1=0, ExposedHeightFill=0, IsTendency=False,
                 DangerIncreaseTime=None, DangerDecreaseTime=None)
        return x

    out.append(not_assessed(3016, "Salten", "2023-03-05", 1))
    for region, name in ((3010, "Lyngen"), (3011, "Tromsø")):
        for day in ("2023-03-01", "2023-03-02", "2023-03-03"):
            for lang in (1, 2):
                out.append(not_assessed(region, name, day, lang))
    # the spring clock change: 26 March 2023 has 23 hours; 27 March is CEST
    for day, k in (("2023-03-26", 0), ("2023-03-27", 1)):
        x = copy.deepcopy(tpl[k])
        x.update(ValidFrom=day + "T00:00:00", ValidTo=day + "T23:59:59",
                 PublishTime="2023-03-25T15:00:00" if k == 0 else "2023-03-26T15:00:00.5",
                 NextWarningTime=day + "T16:00:00", RegId=910000 + k)
        out.append(x)
    return out


def setup_db():
    """Stores the recorded and synthetic warnings via run; fills SOURCES."""
    global DB
    DB = tmpdb()
    run("run", "--db", DB, "--api-base", R.base, "--region", "3010,3011,3016,3022", "--lang",
        "both", "--from", "2023-03-01", "--to", "2023-03-27", *FAST, check=0)
    run("run", "--db", DB, "--api-base", R.base, "--endpoint", "simple", "--region", "3011",
        "--lang", "1", "--from", "2026-03-01", "--to", "2026-03-03", *FAST, check=0)
    run("run", "--db", DB, "--api-base", R.base, "--endpoint", "simple", "--region", "all",
        "--lang", "1", "--from", "2022-01-16", "--to", "2022-01-18", *FAST, check=0)


def sources(synth_file):
    out = {}
    summary = [w for r in load(SUMMARY) for w in r["AvalancheWarningList"]]
    for w in load(DETAIL) + load(SIMPLE) + summary + load(synth_file):
        out[(w["RegionId"], w["ValidFrom"][:10], w["LangKey"])] = w
    return out


def caaml(*args):
    p = run("export", "caaml", "--db", DB, *args, check=0)
    return p.stdout, json.loads(p.stdout)


def by_id(doc):
    return {b["bulletinID"]: b for b in doc["bulletins"]}


# ---------------------------------------------------------------- CAAML tests

def test_the_format_checker_really_checks_date_time():
    with open(EXAMPLE, encoding="utf-8") as f:
        good = json.load(f)
    bad = copy.deepcopy(good)
    bad["bulletins"][0]["publicationTime"] = "2021-12-01T15:42:45"  # pyAvaCore's, no offset
    errs = validate(good, bad)
    assert errs[0] == [], errs[0]
    assert len(errs[1]) == 1 and "is not a 'date-time'" in errs[1][0], errs[1]


def test_every_fixture_converts_and_validates_with_format_checking():
    _, nb = caaml("--lang", "1")
    _, en = caaml("--lang", "2")
    assert len(nb["bulletins"]) == sum(1 for k in SOURCES if k[2] == 1), len(nb["bulletins"])
    assert len(en["bulletins"]) == sum(1 for k in SOURCES if k[2] == 2), len(en["bulletins"])
    errs = validate(nb, en)
    assert errs == [[], []], errs[0][:5] + errs[1][:5]
    # and a time without an offset in our own output is caught
    bad = copy.deepcopy(en)
    bad["bulletins"][0]["validTime"]["startTime"] = "2023-03-01T00:00:00"
    (e,) = validate(bad)
    assert len(e) == 1 and "validTime/startTime" in e[0], e


def expected_elevations(p):
    """[(lower, upper)] of a Varsom problem per docs/caaml.md (None = open)."""
    fill, h1, h2 = p.get("ExposedHeightFill"), p.get("ExposedHeight1"), p.get("ExposedHeight2")
    down = (lambda h: None if h is None or h <= 0 else h // 100 * 100)
    up = (lambda h: None if h is None or h <= 0 else -(-h // 100) * 100)
    if fill == 1:
        return [(down(h1), None)]
    if fill == 2:
        return [(None, up(h1))]
    if fill == 4:
        return [(down(min(h1, h2)), up(max(h1, h2)))]
    if fill == 3:
        lo, hi = down(h1), up(h2)
        if lo is None or (hi is not None and hi >= lo):
            return [(None, None)]
        return [(lo, None)] if hi is None else [(lo, None), (None, hi)]
    return [(None, None)]


TYPES = {3: "new_snow", 7: "new_snow", 5: "wet_snow", 45: "wet_snow", 10: "wind_slab",
         30: "persistent_weak_layers", 37: "persistent_weak_layers", 50: "gliding_snow"}
LEVELS = ["no_rating", "low", "moderate", "considerable", "high", "very_high"]
STABILITY = {10: "good", 20: "fair", 30: "poor", 40: "very_poor", 45: "very_poor"}
SIMPLE_STABILITY = {10: "fair", 21: "poor", 22: "very_poor"}
ASPECTS = ["N", "NE", "E", "SE", "S", "SW", "W", "NW"]


def check_bulletin(b, w):
    """One bulletin against its source warning, field by field."""
    lang = w["LangKey"]
    assert b["lang"] == ["", "nb", "en"][lang]
    assert b["regions"] == [{"regionID": "NO-%d" % w["RegionId"], "name": w["RegionName"]}]
    check_time(b["publicationTime"], w["PublishTime"])
    check_time(b["validTime"]["startTime"], w["ValidFrom"])
    next_day = (dt.date.fromisoformat(w["ValidFrom"][:10]) + dt.timedelta(days=1)).isoformat()
    check_time(b["validTime"]["endTime"], next_day + "T00:00:00")
    check_time(b["nextUpdate"], w["NextWarningTime"])
    assert b["dangerRatings"] == [{"mainValue": LEVELS[int(w["DangerLevel"])]}]
    nve = b["customData"]["NVE"]
    assert nve["RegId"] == w["RegId"] and nve["DangerLevel"] == int(w["DangerLevel"])
    if w.get("PreviousWarningRegId") is not None:
        assert nve["PreviousWarningRegId"] == w["PreviousWarningRegId"]
    if "IsTendency" in w:
        assert nve["IsTendency"] is w["IsTendency"]
    # the problems: one per elevation entry, in order; unmapped ones in customData
    want, unmapped = [], []
    for p in w.get("AvalancheProblems") or []:
        if p["AvalancheProblemTypeId"] not in TYPES:
            unmapped.append(p["AvalancheProblemId"])
            continue
        for lo, hi in expected_elevations(p):
            e = {}
            if lo is not None:
                e["lowerBound"] = str(lo)
            if hi is not None:
                e["upperBound"] = str(hi)
            x = {"problemType": TYPES[p["AvalancheProblemTypeId"]]}
            if e:
                x["elevation"] = e
            aspects = [a for a, c in zip(ASPECTS, p["ValidExpositions"]) if c == "1"]
            if aspects:
                x["aspects"] = aspects
            stab = STABILITY.get(p.get("AvalTriggerSensitivityId")) or \
                SIMPLE_STABILITY.get(p.get("AvalTriggerSimpleId"))
            if stab:
                x["snowpackStability"] = stab
            freq = {1: "few", 2: "some", 3: "many"}.get(p.get("AvalPropagationId"))
            if freq:
                x["frequency"] = freq
            if 1 <= (p.get("DestructiveSizeExtId") or 0) <= 5:
                x["avalancheSize"] = p["DestructiveSizeExtId"]
            if 1 <= (p.get("DangerLevel") or 0) <= 5:
                x["dangerRatingValue"] = LEVELS[p["DangerLevel"]]
            text = p.get("TriggerSenitivityPropagationDestuctiveSizeText")
            if text and text.strip():
                x["comment"] = html(text)
            want.append((x, p["AvalancheProblemId"]))
    got = b.get("avalancheProblems", [])
    assert [{k: v for k, v in g.items() if k != "customData"} for g in got] == \
        [x for x, _ in want], (got, want)
    assert [g["customData"]["NVE"]["AvalancheProblemId"] for g in got] == [i for _, i in want]
    assert [p["AvalancheProblemId"] for p in nve.get("AvalancheProblems", [])] == unmapped
    # texts in their homes
    emergency = w.get("EmergencyWarning")
    if emergency and emergency.strip() and emergency not in ("Not given", "Ikke gitt"):
        assert b["highlights"] == html(emergency)
    else:
        assert "highlights" not in b
    act = {}
    if (w.get("MainText") or "").strip():
        act["highlights"] = html(w["MainText"])
    if (w.get("AvalancheDanger") or "").strip():
        act["comment"] = html(w["AvalancheDanger"])
    assert b.get("avalancheActivity", {}) == act, (b.get("avalancheActivity"), act)
    snow = [html(t) for t in (w.get("SnowSurface"), w.get("CurrentWeaklayers"))
            if t and t.strip()]
    assert b.get("snowpackStructure", {}) == ({"comment": "<br/><br/>".join(snow)} if snow
                                               else {})
    advices = [html(a["Text"]) for a in w.get("AvalancheAdvices") or [] if a["Text"].strip()]
    assert b.get("travelAdvisory", {}) == (
        {"comment": "<ul>" + "".join("<li>%s</li>" % a for a in advices) + "</ul>"}
        if advices else {})
    mw = w.get("MountainWeather")
    if mw and mw.get("MeasurementTexts"):
        texts = [t["Text"] for t in sorted(mw["MeasurementTexts"], key=lambda t: t["SortOrder"])]
        comment = html("\n".join(texts))
        if (mw.get("Comment") or "").strip():
            comment += "<br/>" + html(mw["Comment"])
        assert b["weatherForecast"] == {"comment": comment}
    elif mw:  # API 6.0: the measurements in words
        c = b["weatherForecast"]["comment"]
        assert mw["CloudCoverName"] in c and ("°C" in c), c
    else:
        assert "weatherForecast" not in b


def test_fields_match_the_source_warnings():
    _, nb = caaml("--lang", "1")
    _, en = caaml("--lang", "2")
    got = {**{(k, 1): b for k, b in by_id(nb).items()}, **{(k, 2): b for k, b in by_id(en).items()}}
    n = 0
    for (region, day, lang), w in SOURCES.items():
        check_bulletin(got[("NO-%d_%s" % (region, day), lang)], w)
        n += 1
    # 3022 1-5 March x2, 3016 1-5 March, 3010/3011 x3 days x2, 3022 26-27 March,
    # the Simple 3011 x3 and the RegionSummary's 46 regions x3
    assert n == len(got) == 10 + 5 + 12 + 2 + 3 + 138, (n, len(got))


def test_elevations_are_multiples_of_100_or_treeline():
    seen = 0
    for lang in ("1", "2"):
        _, doc = caaml("--lang", lang)
        for b in doc["bulletins"]:
            for x in b.get("avalancheProblems", []) + b.get("dangerRatings", []):
                for v in x.get("elevation", {}).values():
                    assert ELEVATION.fullmatch(v), (b["bulletinID"], v)
                    seen += 1
    assert seen > 20, seen
    # the schema alone would let "1250" through (its pattern is not anchored)
    _, doc = caaml("--lang", "1", "--region", "3016", "--date", "2023-03-01")
    band = doc["bulletins"][0]["avalancheProblems"][2]["elevation"]  # after fill 3's two
    assert band == {"lowerBound": "300", "upperBound": "1300"}, band  # 350-1250 widened


def test_bulletin_ids_are_unique_and_the_same_in_both_languages():
    _, nb = caaml("--lang", "1")
    _, en = caaml("--lang", "2")
    for doc in (nb, en):
        ids = [b["bulletinID"] for b in doc["bulletins"]]
        assert len(ids) == len(set(ids)), [i for i in ids if ids.count(i) > 1][:5]
        assert all(re.fullmatch(r"NO-30\d\d_\d{4}-\d\d-\d\d", i) for i in ids)
    zero = [b for b in nb["bulletins"] if b["customData"]["NVE"]["RegId"] == 0]
    assert len(zero) > 50, len(zero)  # RegionSummary and synthetic not-assessed days
    assert all(b["dangerRatings"] == [{"mainValue": "no_rating"}] for b in zero)
    both = set(by_id(nb)) & set(by_id(en))
    assert len(both) == 5 + 6 + 0, sorted(both)  # 3022 1-5 March, 3010/3011 not assessed


def test_tendency_from_the_next_day():
    _, doc = caaml("--lang", "1", "--region", "3016")
    b = by_id(doc)
    t1 = b["NO-3016_2023-03-01"]["tendency"]
    assert t1 == [{"comment": html(SOURCES[(3016, "2023-03-02", 1)]["MainText"]),
                   "tendencyType": "increasing",
                   "validTime": {"startTime": "2023-03-02T00:00:00+01:00",
                                 "endTime": "2023-03-03T00:00:00+01:00"}}], t1
    assert b["NO-3016_2023-03-02"]["tendency"][0]["tendencyType"] == "decreasing"
    assert b["NO-3016_2023-03-03"]["tendency"][0]["tendencyType"] == "increasing"  # 1 -> 2
    assert "tendency" not in b["NO-3016_2023-03-04"]  # the next day is not assessed
    assert "tendency" not in b["NO-3016_2023-03-05"]
    # --date D still reads D + 1 for the tendency, and writes only D
    _, one = caaml("--lang", "1", "--region", "3016", "--date", "2023-03-02")
    assert [x["bulletinID"] for x in one["bulletins"]] == ["NO-3016_2023-03-02"]
    assert one["bulletins"][0] == b["NO-3016_2023-03-02"]


def test_the_clock_change_gives_each_instant_its_offset():
    _, doc = caaml("--lang", "2", "--region", "3022", "--from", "2023-03-26")
    b = by_id(doc)
    assert b["NO-3022_2023-03-26"]["validTime"] == {"startTime": "2023-03-26T00:00:00+01:00",
                                                    "endTime": "2023-03-27T00:00:00+02:00"}
    assert b["NO-3022_2023-03-27"]["publicationTime"] == "2023-03-26T15:00:00.500+02:00"
    assert b["NO-3022_2023-03-26"]["tendency"][0]["validTime"]["endTime"] == \
        "2023-03-28T00:00:00+02:00"


def test_flags_date_lang_format_and_out():
    a, _ = caaml("--lang", "2", "--date", "2023-03-03")
    b, _ = caaml("--lang", "2", "--from", "2023-03-03", "--to", "2023-03-03")
    assert a == b
    p = run("export", "caaml", "--db", DB, "--date", "2023-03-03", "--from", "2023-03-01",
            check=2)
    assert "--date" in p.stderr, p.stderr
    p = run("export", "caaml", "--db", DB, "--lang", "both", check=2)
    assert "one language" in p.stderr, p.stderr
    p = run("export", "caaml", "--db", DB, "--format", "csv", check=2)
    assert "JSON document" in p.stderr, p.stderr
    p = run("export", "geojson", "--db", DB, "--from", "2023-03-01", "--to", "2023-03-02",
            check=2)
    assert "one day" in p.stderr, p.stderr
    p = run("export", "caaml", "--db", DB, "--date", "2023-02-30", check=2)
    out = os.path.join(tempfile.mkdtemp(prefix="av-caaml-"), "bulletins.json")
    p = run("export", "caaml", "--db", DB, "--lang", "2", "--date", "2023-03-03", "--out", out,
            check=0)
    with open(out, encoding="utf-8") as f:
        assert f.read() == a
    assert "exported 3 caaml" in p.stderr, p.stderr  # 3010, 3011, 3022
    assert [x for x in os.listdir(os.path.dirname(out))] == ["bulletins.json"]
    # default language: the first of plan.lang (1)
    c, _ = caaml("--date", "2023-03-03")
    d, _ = caaml("--lang", "1", "--date", "2023-03-03")
    assert c == d
    # nothing stored for the day: an empty, valid collection
    e, doc = caaml("--date", "2030-01-01")
    assert doc == {"bulletins": []} and validate(doc) == [[]]


# ---------------------------------------------------------------- GeoJSON tests

def ring_area(ring):
    return sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:])) / 2


def polygons_of(geom):
    assert geom["type"] in ("Polygon", "MultiPolygon"), geom["type"]
    return [geom["coordinates"]] if geom["type"] == "Polygon" else geom["coordinates"]


def export_rows(*args):
    p = run("export", "warnings", "--db", DB, "--format", "jsonl", *args, check=0)
    return [json.loads(x) for x in p.stdout.splitlines()]


def test_geojson_follows_rfc7946_and_carries_the_stored_warnings():
    p = run("export", "geojson", "--db", DB, "--date", "2023-03-03", "--lang", "1", check=0)
    doc = json.loads(p.stdout)
    assert doc["type"] == "FeatureCollection" and set(doc) == {"type", "features"}
    feats = doc["features"]
    assert [f["id"] for f in feats] == list(range(3001, 3047))
    src = {f["properties"]["omradeID"]: f for f in load(POLYGONS)["features"]}
    for f in feats:
        assert f["type"] == "Feature" and set(f) == {"type", "id", "geometry", "properties"}
        for poly in polygons_of(f["geometry"]):
            for k, ring in enumerate(poly):
                assert len(ring) >= 4 and ring[0] == ring[-1], f["id"]
                # RFC 7946 3.1.6: exterior rings counter-clockwise, holes clockwise
                assert (ring_area(ring) > 0) == (k == 0), (f["id"], k, ring_area(ring))
                for lon, lat in ring:  # WGS84 lon, lat; Norway and Svalbard
                    assert -180 <= lon <= 180 and -90 <= lat <= 90
                    assert 4 <= lon <= 35 and 57 <= lat <= 81.5, (f["id"], lon, lat)
        # the same vertices as NVE's polygons (the order reversed there)
        want = polygons_of(src[f["id"]]["geometry"])
        got = polygons_of(f["geometry"])
        assert len(got) == len(want)
        for gp, wp in zip(got, want):
            for gr, wr in zip(gp, wp):
                norm = [[round(x, 4), round(y, 4)] for x, y in wr]
                assert gr == norm or gr == norm[::-1], f["id"]
    # properties: the stored warning as `export warnings` writes it, or nulls
    rows = {r["region_id"]: r for r in export_rows("--from", "2023-03-03", "--to",
                                                   "2023-03-03", "--lang", "1")}
    assert sorted(rows) == [3010, 3011, 3016, 3022]
    keys = set(rows[3022])
    for f in feats:
        props = f["properties"]
        assert set(props) == keys, f["id"]
        if f["id"] in rows:
            assert props == rows[f["id"]], f["id"]
        else:
            assert props["danger_level"] is None and props["problems"] == []
            assert props["region_id"] == f["id"] and props["valid_date"] == "2023-03-03"
            assert props["lang"] == 1 and props["region_name"]
    assert feats[3022 - 3001]["properties"]["danger_level"] == 3
    assert feats[3022 - 3001]["properties"]["main_text"] == \
        SOURCES[(3022, "2023-03-03", 1)]["MainText"]
    assert len(feats[3016 - 3001]["properties"]["problems"]) == 8
    # --region picks features
    p = run("export", "geojson", "--db", DB, "--date", "2023-03-03", "--region", "3022,3001",
            check=0)
    assert [f["id"] for f in json.loads(p.stdout)["features"]] == [3001, 3022]


# ---------------------------------------------------------------- serve

class Serve:
    def __init__(self, db):
        env = dict(os.environ, AV_FAKE_NOW="2023-03-03T12:00:00Z")
        self.proc = subprocess.Popen(
            [BIN, "serve", "--db", db, "--api-base", R.base, "--region", "3022", "--lang", "2",
             "--listen", "127.0.0.1:0", "--no-progress"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        line = self.proc.stdout.readline()
        assert line.startswith("serving on http://127.0.0.1:"), line
        self.base = line.split()[-1].rstrip("/")
        deadline = time.time() + 60  # after its catch-up run: nothing changes under us
        while True:
            with urllib.request.urlopen(self.base + "/healthz", timeout=10) as r:
                if json.loads(r.read())["next_run"] is not None:
                    break
            assert time.time() < deadline, "serve never scheduled"
            time.sleep(0.05)

    def get(self, path):
        try:
            with urllib.request.urlopen(self.base + path, timeout=30) as r:
                return r.status, r.headers.get("Content-Type"), r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.headers.get("Content-Type"), e.read().decode()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.communicate(timeout=30)


def test_api_answers_the_same_documents_as_the_cli():
    s = Serve(DB)
    try:
        for q, args in (("date=2023-03-03&lang=2", ["--date", "2023-03-03", "--lang", "2"]),
                        ("date=2023-03-01&lang=1&region=3016,3022",
                         ["--date", "2023-03-01", "--lang", "1", "--region", "3016,3022"]),
                        ("date=2023-03-02", ["--date", "2023-03-02", "--lang", "2"])):
            st, ctype, body = s.get("/api/caaml?" + q)
            assert st == 200 and ctype.startswith("application/json"), (st, body[:200])
            assert body == run("export", "caaml", "--db", DB, *args, check=0).stdout, q
            st, ctype, body = s.get("/api/map.geojson?" + q)
            assert st == 200 and ctype.startswith("application/geo+json"), (st, ctype)
            assert body == run("export", "geojson", "--db", DB, *args, check=0).stdout, q
        for path in ("/api/caaml", "/api/map.geojson"):
            for q, param in (("date=2023-02-30", "date"), ("date=2023-3-1", "date"),
                             ("date=2023-03-01&lang=3", "lang"), ("lang=both", "lang"),
                             ("region=9999", "region"), ("region=x", "region")):
                st, ctype, body = s.get(path + "?" + q)
                assert st == 400 and json.loads(body)["parameter"] == param, (path, q, st, body)
        st, _, body = s.get("/api/caaml")  # today (the fake now): 3 March
        assert st == 200 and body == run("export", "caaml", "--db", DB, "--date", "2023-03-03",
                                         "--lang", "2", check=0).stdout
    finally:
        s.stop()


TESTS = [v for k, v in list(globals().items()) if k.startswith("test_")]

if __name__ == "__main__":
    data = tempfile.mkdtemp(prefix="av-caaml-synth-")
    synth_file = os.path.join(data, "synthetic_caaml_detail.json")
    with open(synth_file, "w", encoding="utf-8") as f:
        json.dump(synthetic(), f, ensure_ascii=False)
    R = Replay(DETAIL, SIMPLE, SUMMARY, synth_file)
    try:
        SOURCES.update(sources(synth_file))
        setup_db()
        rc = main("caaml", TESTS)
    finally:
        R.stop()
    sys.exit(rc)
