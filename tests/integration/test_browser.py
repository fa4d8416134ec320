"""The dashboard in a real headless Chromium (Debian's chromium): the DOM
as the browser built it (--dump-dom) and a screenshot whose pixels are
checked for the danger-level colours of the heatmap and the map, and for
the region page's weather chart. The screenshots are kept as test
artifacts in build/test-artifacts/. The database holds the fixture's
warnings and SYNTHETIC weather (the replay server's Open-Meteo answers),
and a SYNTHETIC season of region 3011 (2021-22, 1 Dec - 31 May, both
languages; tests/integration/synth.py, written to synthetic_season_*.jsonl)
whose charts are checked day by day against the database. HTTP tests of
every page parameter's 400 are here too.
"""
import datetime as dt
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BIN, DETAIL, ROOT, Replay, main, query, run, tmpdb  # noqa: E402
import synth  # noqa: E402

R = None
SERVE = None
DB = None
SYNTH_REGION, SYNTH_FIRST, SYNTH_DAYS = 3011, dt.date(2021, 12, 1), 182  # 1 Dec - 31 May
ART = os.path.join(ROOT, "build", "test-artifacts")
CHROME = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars"]


def png_pixels(path):
    """Decodes an 8-bit RGB/RGBA non-interlaced PNG (what Chromium writes)."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, w = 8, b"", 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, inter = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and ctype in (2, 6) and inter == 0, (depth, ctype, inter)
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = w * bpp
    prev = bytearray(stride)
    pixels = {}
    i = 0
    for _ in range(h):
        ft = raw[i]
        line = bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if ft == 1:
                line[x] = (line[x] + a) & 255
            elif ft == 2:
                line[x] = (line[x] + b) & 255
            elif ft == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif ft == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        for x in range(0, stride, bpp):
            rgb = bytes(line[x:x + 3])
            pixels[rgb] = pixels.get(rgb, 0) + 1
        prev = line
    return pixels


def chromium(*args):
    profile = tempfile.mkdtemp(prefix="av-chrome-")
    p = subprocess.run([CHROME, *FLAGS, "--user-data-dir=" + profile, *args],
                       capture_output=True, text=True, timeout=120)
    shutil.rmtree(profile, ignore_errors=True)
    return p


def console_messages(stderr):
    """What the page logged to the console (Chromium writes each message to
    stderr as an INFO:CONSOLE line with --enable-logging=stderr), markup
    errors such as a bad SVG attribute included."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


def test_dashboard_renders_regions_heatmap_and_map():
    dom = chromium("--dump-dom", SERVE + "/?date=2023-03-03")
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    assert "Trollheimen" in html and "Tromsø" in html and "Nordenskiöld Land" in html
    assert html.count('<path data-region="') == 46
    assert '<path data-region="3022" data-level="3" fill="#ff9900"' in html
    assert 'data-date="2023-03-02" data-level="2" style="background:#ffff00' in html
    os.makedirs(ART, exist_ok=True)
    shot = os.path.join(ART, "dashboard.png")
    p = chromium("--screenshot=" + shot, "--window-size=1400,1100", SERVE + "/?date=2023-03-03")
    assert p.returncode == 0 and os.path.exists(shot), p.stderr[-2000:]
    px = png_pixels(shot)
    orange = px.get(bytes.fromhex("ff9900"), 0)   # level 3: heatmap cells + the region
    yellow = px.get(bytes.fromhex("ffff00"), 0)   # level 2: heatmap cells
    green = px.get(bytes.fromhex("ccff66"), 0)    # the legend swatch for level 1
    assert orange > 300 and yellow > 300 and green > 50, (orange, yellow, green)


def test_dashboard_for_a_past_day_colours_the_map():
    """serve's today is 2023-06-15, months after the fixture's days: the page
    for 2023-03-02 colours region 3022 with that day's level (2, yellow), the
    page for today leaves it grey."""
    import json
    db = tmpdb()
    # stored without a fake clock: its run is newer than serve's today, so
    # serve does not catch up (nothing but the fixture in the database)
    run("run", "--db", db, "--api-base", R.base, "--region", "3022", "--lang", "2",
        "--from", "2023-03-01", "--to", "2023-03-05", "--no-progress", check=0)
    proc = subprocess.Popen([BIN, "serve", "--db", db, "--api-base", R.base, "--region",
                             "3022", "--lang", "2", "--listen", "127.0.0.1:0", "--no-progress",
                             "-X", "serve.schedule=03:00"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env=dict(os.environ, AV_FAKE_NOW="2023-06-15T12:00:00Z"))
    try:
        base = proc.stdout.readline().split()[-1].rstrip("/")
        wait_scheduled(base)
        dom = chromium("--enable-logging=stderr", "--v=0", "--dump-dom",
                       base + "/?date=2023-03-02")
        assert dom.returncode == 0, dom.stderr[-2000:]
        assert console_messages(dom.stderr) == [], console_messages(dom.stderr)
        html = dom.stdout
        assert html.count('<path data-region="') == 46
        assert '<path data-region="3022" data-level="2" fill="#ffff00"' in html
        assert '<a href="/?date=2023-03-01" rel="prev">' in html
        assert '<tr data-level="2"><td><span class="sw" style="background:#ffff00"></span>' \
            '2 moderate</td><td>1</td></tr>' in html
        os.makedirs(ART, exist_ok=True)
        yellow = {}
        for name, path in (("past", "/?date=2023-03-02"), ("today", "/")):
            shot = os.path.join(ART, "dashboard-%s.png" % name)
            p = chromium("--screenshot=" + shot, "--window-size=1400,1100", base + path)
            assert p.returncode == 0 and os.path.exists(shot), p.stderr[-2000:]
            yellow[name] = png_pixels(shot).get(bytes.fromhex("ffff00"), 0)
        # today: the legend swatch and the counts' swatch; the past day adds
        # the region on the map and its heatmap cells
        assert yellow["past"] > yellow["today"] + 1000, yellow
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def test_region_page_renders_history():
    dom = chromium("--dump-dom", SERVE + "/region/3022")
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "3022 Trollheimen" in dom.stdout
    assert dom.stdout.count('<tr data-date="2023-03-0') == 5
    assert "Wind drifted snow (slab avalanches) (above 1000 m)" in dom.stdout


def test_region_page_renders_the_weather_chart_without_console_errors():
    dom = chromium("--enable-logging=stderr", "--v=0", "--dump-dom", SERVE + "/region/3022")
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert console_messages(dom.stderr) == [], console_messages(dom.stderr)
    html = dom.stdout
    assert '<svg id="wx-chart"' in html and html.count('class="pr"') == 55, html[:3000]
    assert 'href="https://open-meteo.com/"' in html
    os.makedirs(ART, exist_ok=True)
    shot = os.path.join(ART, "region-weather.png")
    p = chromium("--enable-logging=stderr", "--v=0", "--screenshot=" + shot,
                 "--window-size=900,1100", SERVE + "/region/3022")  # under the danger charts
    assert p.returncode == 0 and os.path.exists(shot), p.stderr[-2000:]
    assert console_messages(p.stderr) == [], console_messages(p.stderr)
    px = png_pixels(shot)
    precip = px.get(bytes.fromhex("2f6db5"), 0)  # the precipitation bars and swatch
    snow = px.get(bytes.fromhex("9ad0f5"), 0)    # the snowfall bars and swatch
    orange = px.get(bytes.fromhex("ff9900"), 0)  # level 3 in the band and the table
    assert precip > 300 and snow > 300 and orange > 100, (precip, snow, orange)


def test_region_day_renders_its_roses_without_console_errors():
    """/region/3022?date=2023-03-02: the full warning with one avalanche rose
    per problem (2 that day), as the browser builds it, and their coloured
    segments on the screenshot."""
    path = SERVE + "/region/3022?date=2023-03-02"
    dom = chromium("--enable-logging=stderr", "--v=0", "--dump-dom", path)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert console_messages(dom.stderr) == [], console_messages(dom.stderr)
    html = dom.stdout
    assert html.count('<figure class="rose"') == 2, html[:3000]
    # 01111000 above 1000 m and 00011110 below 1000 m: 4 + 4 coloured segments
    assert html.count('data-filled="1"') == 8
    assert 'data-aspect="NE" data-band="0" data-filled="1"' in html
    assert 'data-aspect="SW" data-band="1" data-filled="1"' in html
    assert "Aspects: NE,E,SE,S; elevation: above 1000 m." in html
    os.makedirs(ART, exist_ok=True)
    shot = os.path.join(ART, "region-day-roses.png")
    p = chromium("--enable-logging=stderr", "--v=0", "--screenshot=" + shot,
                 "--window-size=900,2600", path)  # under the three charts
    assert p.returncode == 0 and os.path.exists(shot), p.stderr[-2000:]
    assert console_messages(p.stderr) == [], console_messages(p.stderr)
    blue = png_pixels(shot).get(bytes.fromhex("1f4e99"), 0)  # the exposed segments
    assert blue > 500, blue


def test_season_page_renders_without_console_errors():
    """/season/2022-23: every region x day of the season, the fixture's five
    days coloured, and their stacked bars, as the browser builds them."""
    path = SERVE + "/season/2022-23"
    dom = chromium("--enable-logging=stderr", "--v=0", "--dump-dom", path)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert console_messages(dom.stderr) == [], console_messages(dom.stderr)
    html = dom.stdout
    assert html.count('<tr data-region="') == 46
    assert html.count("<th data-date=") == 273
    assert html.count(' data-level="') == 5 + 5  # the cells and their bars
    assert html.count('<g class="day"') == 5
    assert 'data-date="2023-03-03" data-level="3" data-lang="2" style="background:#ff9900' \
        in html
    assert '<a href="/region/3022?date=2023-03-03" title="2023-03-03: 3 considerable">3</a>' \
        in html
    os.makedirs(ART, exist_ok=True)
    shot = os.path.join(ART, "season.png")
    p = chromium("--enable-logging=stderr", "--v=0", "--screenshot=" + shot,
                 "--window-size=3400,1300", path)
    assert p.returncode == 0 and os.path.exists(shot), p.stderr[-2000:]
    assert console_messages(p.stderr) == [], console_messages(p.stderr)
    orange = png_pixels(shot).get(bytes.fromhex("ff9900"), 0)  # cells, bars, legends
    assert orange > 250, orange


def test_quality_page_renders_without_console_errors():
    """/quality: coverage, holes, rejects, freshness (the warnings' and the
    weather archive's last days) and the last runs, as the browser builds
    them."""
    path = SERVE + "/quality"
    dom = chromium("--enable-logging=stderr", "--v=0", "--dump-dom", path)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert console_messages(dom.stderr) == [], console_messages(dom.stderr)
    html = dom.stdout
    for t in ("coverage-table", "holes-table", "rejects-table", "fresh-table", "runs-table"):
        assert '<table id="%s">' % t in html, t
    cov = html.split('<table id="coverage-table">')[1].split("</table>")[0]
    assert cov.count('<tr data-region="') == 46
    assert 'data-region="3022" data-lang="2" data-stale="0"' in html
    assert 'data-region="3022" data-lang="0" data-stale="0"' in html  # the weather archive
    os.makedirs(ART, exist_ok=True)
    shot = os.path.join(ART, "quality.png")
    p = chromium("--enable-logging=stderr", "--v=0", "--screenshot=" + shot,
                 "--window-size=1400,1100", path)
    assert p.returncode == 0 and os.path.exists(shot), p.stderr[-2000:]
    assert console_messages(p.stderr) == [], console_messages(p.stderr)



def get(path, base=None):
    """(status, content type, body) of a plain HTTP GET."""
    import urllib.error
    import urllib.request
    try:
        with urllib.request.urlopen((base or SERVE) + path, timeout=60) as r:
            return r.status, r.headers.get("Content-Type"), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type"), e.read().decode()


ATTR = re.compile(r'([a-z0-9-]+)="([^"]*)"')


def elements(html, tag, cls):
    """The attributes of each <tag class="cls" ...> in html."""
    return [dict(ATTR.findall(m.group(1)))
            for m in re.finditer(r'<%s class="%s"([^>]*)>' % (tag, cls), html)]


def svg_of(html, id_):
    start = html.index('<svg id="%s"' % id_)
    return html[start:html.index("</svg>", start) + 6]


def days(a, b):
    """The ISO dates a .. b, inclusive."""
    d0, d1 = dt.date.fromisoformat(a), dt.date.fromisoformat(b)
    return [(d0 + dt.timedelta(k)).isoformat() for k in range((d1 - d0).days + 1)]


def wait_scheduled(base):
    """Polls serve's /healthz until it has decided its next run (it has
    started, and its catch-up run, if any, is over)."""
    import time
    import urllib.request
    deadline = time.time() + 60
    while True:
        with urllib.request.urlopen(base + "/healthz", timeout=10) as r:
            if json.loads(r.read())["next_run"] is not None:
                return
        assert time.time() < deadline, "serve never decided its next run"
        time.sleep(0.05)


def dom_of(path, base=None):
    """The DOM Chromium built for path, with no console message."""
    dom = chromium("--enable-logging=stderr", "--v=0", "--dump-dom", (base or SERVE) + path)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert console_messages(dom.stderr) == [], console_messages(dom.stderr)
    return dom.stdout


def chart_levels(html):
    """{date: level} from the danger chart's runs, each run's height checked."""
    got = {}
    for r in elements(svg_of(html, "danger-chart"), "rect", "lv"):
        level = int(r["data-level"])
        assert abs(float(r["height"]) - (level * 18 if level else 2)) < 0.06, r
        for d in days(r["data-from"], r["data-to"]):
            assert d not in got, (d, r)
            got[d] = level
    return got


def timeline_marks(html):
    """(type ids in row order, {(date, type, size)}) from the problem timeline,
    each mark's height checked against its size."""
    tl = svg_of(html, "problem-timeline")
    rows = re.findall(r'<g class="ptype" data-type="(\d+)">(.*?)</g>', tl, re.S)
    marks = set()
    for t, body in rows:
        for r in elements(body, "rect", "pm"):
            size = int(r["data-size"])
            assert abs(float(r["height"]) - (4 + 2 * size)) < 0.06, r
            for d in days(r["data-from"], r["data-to"]):
                marks.add((d, int(t), size))
    return [int(t) for t, _ in rows], marks


def test_region_season_charts_equal_the_stored_days():
    """/region/3011?season=2021-22 (the SYNTHETIC season, both languages
    stored, with levels and problems that differ between them): the step
    chart's level of every day and the timeline's marks (type, day, size)
    equal the database's rows of the language shown: 1 when none is
    asked for, 2 with ?lang=2; the table has one row per day in it."""
    sql_levels = "SELECT valid_date, danger_level FROM warning WHERE region_id = ? AND lang = ?"
    sql_marks = ("SELECT valid_date, problem_type_id, max(destructive_size_id) FROM problem "
                 "WHERE region_id = ? AND lang = ? GROUP BY valid_date, problem_type_id")
    stored = {lang: dict(query(DB, sql_levels, SYNTH_REGION, lang)) for lang in (1, 2)}
    assert len(stored[1]) == len(stored[2]) == SYNTH_DAYS
    assert stored[1] != stored[2]  # the languages can be told apart
    for lang, q in ((1, ""), (2, "&lang=2")):
        html = dom_of("/region/%d?season=2021-22%s" % (SYNTH_REGION, q))
        assert '<p id="window" data-from="2021-10-01" data-to="2022-06-30">' in html
        assert chart_levels(html) == stored[lang]
        marks = {(d, t, s if s is not None and 1 <= s <= 5 else 0)
                 for d, t, s in query(DB, sql_marks, SYNTH_REGION, lang)}
        order, got = timeline_marks(html)
        assert order == sorted({t for _, t, _ in marks}), order
        assert got == marks, (len(got), len(marks), sorted(got ^ marks)[:5])
        rows = re.findall(r'<tr data-date="([0-9-]+)" data-lang="(\d)">', html)
        assert len(rows) == SYNTH_DAYS and {int(x) for _, x in rows} == {lang}, len(rows)
        assert '<a id="season-prev" rel="prev" href="/region/3011?season=2020-21%s">' % \
            q.replace("&", "&amp;") in html
        assert '<a id="season-next" rel="next" href="/region/3011?season=2022-23%s">' % \
            q.replace("&", "&amp;") in html
        assert '<a id="season-all" href="/season/2021-22%s">' % q.replace("&", "?") in html
        assert "<script" not in html
    # the page sizes: the whole season of both languages stays small
    for path in ("/region/3011?season=2021-22", "/region/3011?season=2021-22&lang=2"):
        code, _, body = get(path)
        assert code == 200 and len(body.encode()) < 400_000, (path, len(body))
        print("      %s: %d bytes" % (path, len(body.encode())))
    os.makedirs(ART, exist_ok=True)
    shot = os.path.join(ART, "region-season-synthetic.png")
    p = chromium("--screenshot=" + shot, "--window-size=900,1000",
                 SERVE + "/region/3011?season=2021-22")
    assert p.returncode == 0 and os.path.exists(shot), p.stderr[-2000:]
    px = png_pixels(shot)
    # level 2 and 3 areas, and the shades of sizes 1-3 in the timeline
    for colour in ("ffff00", "ff9900", "c6dbef", "9ecae1", "6baed6"):
        assert px.get(bytes.fromhex(colour), 0) > 100, (colour, px.get(bytes.fromhex(colour)))


def test_region_charts_share_the_weather_charts_day_axis():
    """/region/3022?season=2022-23&date=2023-03-03: the recorded fixture's
    days in the step chart and the timeline (types and sizes as in the
    fixture file), each day at the x of the same day in the weather chart,
    the chosen day marked in both, and the day's full warning below."""
    with open(DETAIL, encoding="utf-8") as f:
        fixture = json.load(f)
    want_levels = {w["ValidFrom"][:10]: w["DangerLevel"] for w in fixture}
    want_marks = {(w["ValidFrom"][:10], p["AvalancheProblemTypeId"], p["DestructiveSizeExtId"])
                  for w in fixture for p in w["AvalancheProblems"]}
    html = dom_of("/region/3022?season=2022-23&date=2023-03-03")
    assert chart_levels(html) == {d: int(v) for d, v in want_levels.items()}
    order, got = timeline_marks(html)
    assert got == want_marks and order == [3, 5, 10], (got, order)
    danger, wx = svg_of(html, "danger-chart"), svg_of(html, "wx-chart")
    tl = svg_of(html, "problem-timeline")
    width = {re.search(r'viewBox="0 0 (\d+) ', x).group(1) for x in (danger, wx, tl)}
    assert width == {"720"}, width
    wx_x = {}
    for g in re.finditer(r'<g data-date="([0-9-]+)">(.*?)</g>', wx, re.S):
        dl = elements(g.group(2), "rect", "dl")
        if dl:
            wx_x[g.group(1)] = float(dl[0]["x"])
    assert set(wx_x) == set(want_levels), wx_x
    for r in elements(danger, "rect", "lv"):
        assert abs(float(r["x"]) - wx_x[r["data-from"]]) < 0.06, (r, wx_x)
    chosen = [float(c["x1"]) for x in (danger, tl) for c in elements(x, "line", "chosen")]
    assert len(chosen) == 2 and abs(chosen[0] - chosen[1]) < 0.01, chosen
    assert '<line class="chosen" data-date="2023-03-03"' in danger
    assert "<h2>Warning for 2023-03-03</h2>" in html
    assert html.count('<figure class="rose"') == 2  # that day's two problems
    assert '<a id="day-next" href="/region/3022?date=2023-03-04&amp;season=2022-23">' in html
    assert '<a id="varsom-link" href="https://www.varsom.no/snoskredvarsling/varsel/' \
        'Trollheimen/2023-03-03">' in html
    # stored in language 2 only: shown, and said so when 1 is asked for
    html = dom_of("/region/3022?date=2023-03-03&lang=1")
    assert '<p id="day-lang">' in html and 'data-language="2"' in html
    assert chart_levels(html) == {d: int(v) for d, v in want_levels.items()}
    # no parameter: the 63 days around today (2023-03-03), as before
    html = dom_of("/region/3022")
    assert '<p id="window" data-from="2023-01-02" data-to="2023-03-05">' in html
    assert chart_levels(html) == {d: int(v) for d, v in want_levels.items()}
    assert '<a id="season-this" href="/region/3022?season=2022-23">' in html
    os.makedirs(ART, exist_ok=True)
    shot = os.path.join(ART, "region-season-fixture.png")
    p = chromium("--screenshot=" + shot, "--window-size=900,1100",
                 SERVE + "/region/3022?season=2022-23&date=2023-03-03")
    assert p.returncode == 0 and os.path.exists(shot), p.stderr[-2000:]
    px = png_pixels(shot)
    assert px.get(bytes.fromhex("ff9900"), 0) > 100 and px.get(bytes.fromhex("6baed6"), 0) > 20


def test_every_page_parameter_is_checked():
    """A bad value of each page parameter is a 400 in JSON naming it; an
    empty one is absent."""
    bad = {
        "date": ["2023-02-30", "2023-3-02", "x", "2023-03-02%00", "%FF", "+2023-03-02"],
        "season": ["2022-24", "1899-00", "2199-00", "22-23", "2022-23x", "%00"],
        "lang": ["0", "3", "01", "+1", "x", "1%20"],
    }
    pages = {"/region/3022": ("date", "season", "lang"), "/": ("date", "season", "lang"),
             "/season/2022-23": ("lang",)}
    n = 0
    for page, params in pages.items():
        for param in params:
            for v in bad[param]:
                for extra in ("", "&lang=2"):
                    if param == "lang" and extra:
                        continue
                    path = "%s?%s=%s%s" % (page, param, v, extra)
                    code, ctype, body = get(path)
                    assert code == 400 and ctype == "application/json", (path, code, body)
                    assert json.loads(body)["parameter"] == param, (path, body)
                    n += 1
            code, _, body = get("%s?%s=" % (page, param))
            assert code == 200, (page, param, code, body[:300])
    assert get("/season/2022-24")[0] == 400 and get("/season/2022-2")[0] == 404
    assert get("/region/3022?season=2022-23&date=2023-03-02&lang=2")[0] == 200
    assert n > 40, n


def test_quality_page_lists_a_hole_a_reject_and_charts_the_runs():
    """A database with a hole made here (a backfill chunk answered 404), a
    reject caused here (a body that is not JSON) and a retry (one 503):
    /quality as the browser builds it lists the hole and the reject, and
    its runs chart has a bar per run with the run table's requests and
    retries."""
    db = tmpdb()
    fast = ["-X", "fetch.backoff_ms=50", "-X", "fetch.backoff_max_ms=200", "--no-progress"]
    R.reset()
    try:
        R.faults([{"match": "/3022/2/2023-02-20/2023-02-21", "status": 404, "body": "{}"}])
        run("backfill", "--db", db, "--api-base", R.base, "--region", "3022", "--lang", "2",
            "--from", "2023-02-20", "--to", "2023-02-21", "--chunk-days", "2", *fast, check=1)
        R.faults([{"match": "/3022/2/2023-03-01", "body": "not json <&>"}])
        run("run", "--db", db, "--api-base", R.base, "--region", "3022", "--lang", "2",
            "--from", "2023-03-01", "--to", "2023-03-05", *fast, check=1)
        R.faults([{"match": "/3022/2/2023-03-01", "status": 503, "times": 1}])
        run("run", "--db", db, "--api-base", R.base, "--region", "3022", "--lang", "2",
            "--from", "2023-03-01", "--to", "2023-03-05", *fast, check=0)
    finally:
        R.reset()
    runs = query(db, "SELECT id, requests, retries FROM run ORDER BY id")
    assert len(runs) == 3 and runs[2][2] >= 1, runs
    proc = subprocess.Popen([BIN, "serve", "--db", db, "--api-base", R.base, "--region",
                             "3022", "--lang", "2", "--listen", "127.0.0.1:0", "--no-progress",
                             "-X", "serve.schedule=03:00"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env=dict(os.environ, AV_FAKE_NOW="2023-03-03T12:00:00Z"))
    try:
        base = proc.stdout.readline().split()[-1].rstrip("/")
        wait_scheduled(base)
        html = dom_of("/quality", base)
        holes = html.split('<table id="holes-table">')[1].split("</table>")[0]
        assert re.search(r"<td>3022</td><td>2</td><td>varsom detail</td><td>2023-02-20</td>"
                         r"<td>2023-02-21</td><td>2</td>", holes), holes
        rejects = html.split('<table id="rejects-table">')[1].split("</table>")[0]
        assert '<td class="stage">parse</td>' in rejects and \
            '<code class="sample">not json &lt;&amp;&gt;</code>' in rejects, rejects
        chart = svg_of(html, "runs-chart")
        got = [(int(g["data-run"]), int(g["data-requests"]), int(g["data-retries"]))
               for g in elements(chart, "g", "run")]
        assert got == [tuple(r) for r in runs], (got, runs)  # oldest first
        assert len(elements(chart, "rect", "rty")) == sum(1 for r in runs if r[2] > 0)
        for label in ("duration, s", "requests", "retries (of the requests)"):
            assert ">%s</text>" % label in chart, label
        os.makedirs(ART, exist_ok=True)
        shot = os.path.join(ART, "quality-runs.png")
        p = chromium("--screenshot=" + shot, "--window-size=1000,2400", base + "/quality")
        assert p.returncode == 0 and os.path.exists(shot), p.stderr[-2000:]
        px = png_pixels(shot)
        assert px.get(bytes.fromhex("7fbf7b"), 0) > 100 and px.get(bytes.fromhex("c2410c"), 0) > 5
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


TESTS = [v for k, v in list(globals().items()) if k.startswith("test_")]

if __name__ == "__main__":
    import json
    synth_dir = tempfile.mkdtemp(prefix="av-synth-")
    synth_file = os.path.join(synth_dir, "synthetic_season_%d_2021-22.jsonl" % SYNTH_REGION)
    synth.write_jsonl(synth_file, [SYNTH_REGION], SYNTH_FIRST, SYNTH_DAYS)
    R = Replay(DETAIL, synth_file)
    proc = None
    try:
        db = DB = tmpdb()
        env = dict(os.environ, AV_FAKE_NOW="2023-03-03T12:00:00Z")
        # warnings and weather, both clocks at the same instant (serve's own
        # runs would fetch the warnings only, and none is due after this one)
        R._call("POST", "/_control/openmeteo", {"now": env["AV_FAKE_NOW"]})
        wx = "http://127.0.0.1:%d/v1" % R.port
        run("run", "--db", db, "--api-base", R.base, "--region", "3022", "--lang", "2",
            "--sources", "varsom,weather", "--from", "2023-01-10", "--to", "2023-03-05",
            "-X", "weather.archive_base=" + wx, "-X", "weather.forecast_base=" + wx,
            "--no-progress", env={"AV_FAKE_NOW": env["AV_FAKE_NOW"]}, check=0)
        run("run", "--db", db, "--api-base", R.base, "--region", str(SYNTH_REGION), "--lang",
            "both", "--from", SYNTH_FIRST.isoformat(),
            "--to", (SYNTH_FIRST + dt.timedelta(SYNTH_DAYS - 1)).isoformat(), "--no-progress",
            env={"AV_FAKE_NOW": env["AV_FAKE_NOW"]}, check=0)
        proc = subprocess.Popen([BIN, "serve", "--db", db, "--api-base", R.base, "--region",
                                 "3022", "--lang", "2", "--listen", "127.0.0.1:0",
                                 "--no-progress"],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                env=env)
        SERVE = proc.stdout.readline().split()[-1].rstrip("/")
        wait_scheduled(SERVE)
        rc = main("browser", TESTS)
    finally:
        if proc:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
        R.stop()
    sys.exit(rc)
