"""The dashboard in a real headless Chromium (Debian's chromium): the DOM
as the browser built it (--dump-dom) and a screenshot whose pixels are
checked for the danger-level colours of the heatmap and the map, and for
the region page's weather chart. The screenshots are kept as test
artifacts in build/test-artifacts/. The database holds the fixture's
warnings and SYNTHETIC weather (the replay server's Open-Meteo answers).
"""
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BIN, DETAIL, ROOT, Replay, main, run, tmpdb  # noqa: E402

R = None
SERVE = None
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
    import time
    import urllib.request
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
        deadline = time.time() + 60
        while True:
            with urllib.request.urlopen(base + "/healthz", timeout=10) as r:
                if json.loads(r.read())["next_run"] is not None:
                    break
            assert time.time() < deadline, "serve never decided its next run"
            time.sleep(0.05)
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
                 "--window-size=900,700", SERVE + "/region/3022")
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
                 "--window-size=900,1600", path)
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


TESTS = [v for k, v in list(globals().items()) if k.startswith("test_")]

if __name__ == "__main__":
    import json
    import time
    import urllib.request
    R = Replay(DETAIL)
    proc = None
    try:
        db = tmpdb()
        env = dict(os.environ, AV_FAKE_NOW="2023-03-03T12:00:00Z")
        # warnings and weather, both clocks at the same instant (serve's own
        # runs would fetch the warnings only, and none is due after this one)
        R._call("POST", "/_control/openmeteo", {"now": env["AV_FAKE_NOW"]})
        wx = "http://127.0.0.1:%d/v1" % R.port
        run("run", "--db", db, "--api-base", R.base, "--region", "3022", "--lang", "2",
            "--sources", "varsom,weather", "--from", "2023-01-10", "--to", "2023-03-05",
            "-X", "weather.archive_base=" + wx, "-X", "weather.forecast_base=" + wx,
            "--no-progress", env={"AV_FAKE_NOW": env["AV_FAKE_NOW"]}, check=0)
        proc = subprocess.Popen([BIN, "serve", "--db", db, "--api-base", R.base, "--region",
                                 "3022", "--lang", "2", "--listen", "127.0.0.1:0",
                                 "--no-progress"],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                env=env)
        SERVE = proc.stdout.readline().split()[-1].rstrip("/")
        deadline = time.time() + 60
        while True:  # serve has started once it has decided its next run
            with urllib.request.urlopen(SERVE + "/healthz", timeout=10) as r:
                if json.loads(r.read())["next_run"] is not None:
                    break
            assert time.time() < deadline, "serve never decided its next run"
            time.sleep(0.05)
        rc = main("browser", TESTS)
    finally:
        if proc:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
        R.stop()
    sys.exit(rc)
