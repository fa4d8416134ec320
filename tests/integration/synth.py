"""SYNTHETIC Varsom warnings derived from the real recorded Detail fixture.

Nothing here is API output: each warning is a copy of one of the five real
2023-03 Trollheimen warnings (../shared/fixtures/varsom/detail_3022_...json)
with its region, dates, ids and publish time rewritten so that a corpus can
cover many regions and days. Used by the integration tests (kill -9, many
units) and by bench/gen_corpus.py. Every generated object carries no marker
field (the transform must see the API's shape), so files written from here
are named synthetic_*.
"""
import datetime as dt
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.environ.get("AV_SHARED", os.path.join(HERE, "..", "..", "..", "shared"))
DETAIL = os.path.join(SHARED, "fixtures", "varsom",
                      "detail_3022_2023-03-01_to_2023-03-05_lang2_v6.2.1.json")

REGIONS = {
    3003: "Nordenskiöld Land", 3006: "Finnmarkskysten", 3007: "Vest-Finnmark",
    3009: "Nord-Troms", 3010: "Lyngen", 3011: "Tromsø", 3012: "Sør-Troms",
    3013: "Indre Troms", 3014: "Lofoten og Vesterålen", 3015: "Ofoten", 3016: "Salten",
    3017: "Svartisen", 3018: "Helgeland", 3022: "Trollheimen", 3023: "Romsdal",
    3024: "Sunnmøre", 3027: "Indre Fjordane", 3028: "Jotunheimen", 3029: "Indre Sogn",
    3031: "Voss", 3032: "Hallingdal", 3034: "Hardanger", 3035: "Vest-Telemark",
    3037: "Heiane",
}


def templates():
    with open(DETAIL, encoding="utf-8") as f:
        return json.load(f)


def warning(tpl, region, day, lang, serial):
    """One synthetic warning: template tpl moved to region/day/lang."""
    w = dict(tpl)
    prev = day - dt.timedelta(days=1)
    w["RegId"] = 1_000_000 + serial
    w["PreviousWarningRegId"] = None
    w["RegionId"] = region
    w["RegionName"] = REGIONS.get(region, "Region %d" % region)
    w["RegionTypeId"] = 10
    w["RegionTypeName"] = "A"
    w["LangKey"] = lang
    w["ValidFrom"] = day.strftime("%Y-%m-%dT00:00:00")
    w["ValidTo"] = day.strftime("%Y-%m-%dT23:59:59")
    w["NextWarningTime"] = day.strftime("%Y-%m-%dT16:00:00")
    w["PublishTime"] = prev.strftime("%Y-%m-%dT15:3") + "%d:%02d.%d" % (
        serial % 10, serial % 60, serial % 7)
    return w


def corpus(regions, first, days, langs=(1, 2)):
    """Yields (region, lang, day, warning) for every combination."""
    tpls = templates()
    serial = 0
    for region in regions:
        for lang in langs:
            for k in range(days):
                day = first + dt.timedelta(days=k)
                serial += 1
                yield region, lang, day, warning(tpls[serial % len(tpls)], region, day, lang,
                                                 serial)


def write_jsonl(path, regions, first, days, langs=(1, 2)):
    n = 0
    with open(path, "w", encoding="utf-8") as f:
        for _, _, _, w in corpus(regions, first, days, langs):
            f.write(json.dumps(w, ensure_ascii=False, separators=(",", ":")))
            f.write("\n")
            n += 1
    return n
