/* test_wxchart.c - the region page's weather chart: its layout
 * (src/http/wx_chart.h) on ordinary and hostile values, and the page
 * itself (av_region_page) over fake sinks: one that keeps no weather, one
 * whose weather has every kind of bad value, one whose read fails.
 *
 * Every record here is SYNTHETIC, built in this file. */
#include <math.h>
#include <stdlib.h>

#include "../../src/core/tz.h"
#include "../../src/http/dashboard.h"
#include "../../src/http/wx_chart.h"
#include "../../src/sinks/sink.h"
#include "harness.h"

static struct av_wx_day wx(int64_t date, double tmin, double tmean, double tmax, double p, double s)
{
    struct av_wx_day d;

    memset(&d, 0, sizeof(d));
    d.region_id = 3022;
    d.date = date;
    d.temperature_min = tmin;
    d.temperature_mean = tmean;
    d.temperature_max = tmax;
    d.precipitation_sum = p;
    d.snowfall_sum = s;
    d.rain_sum = d.snow_depth_mean = d.wind_speed_mean = NAN;
    return d;
}

static void window_and_days(void)
{
    static struct av_wxc c;
    struct av_wx_day d;

    av_wxc_init(&c, 100, 63);
    CHECK_INT(c.ndays, 63);
    CHECK_INT(av_wxc_index(&c, 99), -1);
    CHECK_INT(av_wxc_index(&c, 100), 0);
    CHECK_INT(av_wxc_index(&c, 162), 62);
    CHECK_INT(av_wxc_index(&c, 163), -1);
    CHECK_INT(av_wxc_index(&c, INT64_MIN), -1);
    CHECK_INT(av_wxc_index(&c, INT64_MAX), -1);
    d = wx(101, -5, -2, 1, 3, 2);
    CHECK_INT(av_wxc_add_weather(&c, &d), 1);
    CHECK_INT(av_wxc_add_weather(&c, &d), 0); /* the first record of a day wins */
    d = wx(163, 0, 0, 0, 0, 0);
    CHECK_INT(av_wxc_add_weather(&c, &d), 0);
    d = wx(INT64_MIN, 0, 0, 0, 0, 0);
    CHECK_INT(av_wxc_add_weather(&c, &d), 0);
    CHECK_INT(c.nwx, 1);
    CHECK(av_wxc_set_level(&c, 101, 3) && c.day[1].level == 3);
    CHECK(!av_wxc_set_level(&c, 101, 2) && c.day[1].level == 3);
    CHECK(!av_wxc_set_level(&c, 102, 6) && !av_wxc_set_level(&c, 102, -1));
    CHECK(!av_wxc_set_level(&c, 99, 1) && c.day[2].level == -1);
    /* the window is bounded whatever the caller asks */
    av_wxc_init(&c, INT64_MAX, 100000);
    CHECK_INT(c.ndays, AV_WXC_MAX_DAYS);
    CHECK_INT(av_wxc_index(&c, INT64_MAX), -1);
    CHECK_INT(av_wxc_index(&c, INT64_MAX - 1), AV_WXC_MAX_DAYS - 1);
    CHECK(av_wxc_index(&c, c.first + c.ndays - 1) == c.ndays - 1);
    av_wxc_init(&c, 0, -3);
    CHECK_INT(c.ndays, 1);
}

static void scales(void)
{
    static struct av_wxc c;
    struct av_wx_day d;

    av_wxc_init(&c, 0, 10); /* no weather: default scales */
    av_wxc_layout(&c);
    CHECK(c.t_lo == -10 && c.t_hi == 10 && c.t_step == 5 && c.a_hi == 5 && c.a_step == 1);
    CHECK(isnan(c.t_coldest) && isnan(c.t_warmest) && c.precip_total == 0);
    d = wx(2, -3.25, -1, 1.5, 12.5, 7);
    av_wxc_add_weather(&c, &d);
    d = wx(3, -8, -4, 0, 0.5, 0);
    av_wxc_add_weather(&c, &d);
    av_wxc_layout(&c);
    CHECK(c.t_lo <= -8 && c.t_hi >= 1.5 && c.t_hi - c.t_lo >= 10 && c.t_step == 5);
    CHECK(fmod(c.t_lo, 5) == 0 && fmod(c.t_hi, 5) == 0);
    CHECK(c.a_hi == 20 && c.a_step == 4);
    CHECK(c.precip_total == 13 && c.snow_total == 7 && c.t_coldest == -8 && c.t_warmest == 1.5);
    CHECK(c.rejected == 0);
    /* a wide range takes wider steps, always within what weather can be */
    d = wx(4, -89, 0, 59, 1999, 0);
    av_wxc_add_weather(&c, &d);
    av_wxc_layout(&c);
    CHECK(c.t_step == 20 && c.t_lo >= -100 && c.t_hi <= 60 && c.a_hi == AV_WXC_AMOUNT_MAX);
}

static int inside(double v, double lo, double hi) { return v >= lo && v <= hi; }

static void hostile_values(void)
{
    static struct av_wxc c;
    struct av_wx_day d;

    av_wxc_init(&c, 0, 5);
    d = wx(0, NAN, NAN, NAN, NAN, NAN); /* nulls: absent, not refused */
    av_wxc_add_weather(&c, &d);
    CHECK(c.rejected == 0 && c.day[0].wx && isnan(c.day[0].tmean));
    d = wx(1, -INFINITY, 1e308, INFINITY, -5, 2001);
    av_wxc_add_weather(&c, &d);
    CHECK_INT(c.rejected, 5);
    CHECK(isnan(c.day[1].tmin) && isnan(c.day[1].tmean) && isnan(c.day[1].tmax));
    CHECK(isnan(c.day[1].precip) && isnan(c.day[1].snow));
    d = wx(2, -1e-300, -0.0, 60, 0, 2000); /* the edges are weather */
    av_wxc_add_weather(&c, &d);
    CHECK_INT(c.rejected, 5);
    CHECK(c.day[2].tmax == 60 && c.day[2].snow == 2000 && c.day[2].precip == 0);
    av_wxc_layout(&c);
    /* every coordinate stays in the plot, whatever it is asked */
    {
        const double vals[] = {NAN, INFINITY, -INFINITY, 1e308, -1e308, 0, -5, 1e9};
        for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
            CHECK(inside(av_wxc_ty(&c, vals[i]), AV_WXC_PT, AV_WXC_PB));
            CHECK(inside(av_wxc_ay(&c, vals[i]), AV_WXC_PT, AV_WXC_PB));
        }
    }
    CHECK(av_wxc_ty(&c, 1e308) == AV_WXC_PT && av_wxc_ty(&c, -1e308) == AV_WXC_PB);
    CHECK(av_wxc_ay(&c, 0) == AV_WXC_PB && av_wxc_ay(&c, NAN) == AV_WXC_PB);
    CHECK(av_wxc_x(&c, -7) == AV_WXC_PL && av_wxc_x(&c, 1 << 30) == AV_WXC_PR);
    CHECK(av_wxc_x(&c, 5) == AV_WXC_PR && av_wxc_x(&c, 0) == AV_WXC_PL);
}

/* ---- the page over fake sinks ---- */

static int64_t g_today;
static int g_read_fails;

static av_rc fake_read(void *s, const struct av_query *q, av_sink_row_fn fn, void *ud, char *errbuf)
{
    static struct av_warning w;

    (void)s;
    (void)q;
    (void)errbuf;
    memset(&w, 0, sizeof(w));
    w.region_id = 3022;
    w.lang = 2;
    w.publish_time = AV_NULL_MS;
    for (int k = -2; k <= 0; k++) {
        w.valid_date = g_today + k;
        w.danger_level = 3 + k; /* 1, 2, 3 */
        fn(ud, &w);
    }
    return AV_OK;
}

static av_rc fake_read_rows(void *s, const struct av_dataset *ds, const struct av_query *q,
                            av_sink_rec_fn fn, void *ud, char *errbuf)
{
    struct av_wx_day d[6];

    (void)s;
    (void)ds;
    if (g_read_fails)
        return av_fail(errbuf, AV_EPARSE, "weather_daily 3022 <x>: broken");
    d[0] = wx(q->from, -4, -2, 0, 3.5, 2);            /* the window's first day */
    d[1] = wx(g_today - 3, NAN, 1e308, NAN, -1, NAN); /* hostile */
    d[2] = wx(g_today - 2, -INFINITY, -3, 4, INFINITY, 1e300);
    d[3] = wx(g_today - 1, -6, -5, -1, 10, 12);
    d[4] = wx(g_today + 99, -6, -5, -1, 10, 12); /* outside: ignored */
    d[5] = wx(INT64_MIN, -6, -5, -1, 10, 12);
    for (int i = 0; i < 6; i++)
        fn(ud, &d[i]);
    return AV_OK;
}

/* Every coordinate attribute of the SVG inside the view box. */
static int svg_in_bounds(const char *svg)
{
    static const char *const xs[] = {" x=\"", " x1=\"", " x2=\"", " cx=\"", " width=\""};
    static const char *const ys[] = {" y=\"", " y1=\"", " y2=\"", " cy=\"", " height=\""};
    const char *p;

    for (int a = 0; a < 5; a++) {
        for (p = strstr(svg, xs[a]); p; p = strstr(p + 1, xs[a]))
            if (!inside(strtod(p + strlen(xs[a]), NULL), 0, AV_WXC_W))
                return 0;
        for (p = strstr(svg, ys[a]); p; p = strstr(p + 1, ys[a]))
            if (!inside(strtod(p + strlen(ys[a]), NULL), 0, AV_WXC_H))
                return 0;
    }
    for (p = strstr(svg, " points=\""); p; p = strstr(p + 1, " points=\"")) {
        char *e = (char *)p + 9;
        while (*e != '"') {
            double x = strtod(e, &e), y;
            if (*e++ != ',')
                return 0;
            y = strtod(e, &e);
            if (!inside(x, 0, AV_WXC_W) || !inside(y, 0, AV_WXC_H))
                return 0;
            while (*e == ' ')
                e++;
        }
    }
    return 1;
}

static int count(const char *s, const char *what)
{
    int n = 0;

    for (const char *p = strstr(s, what); p; p = strstr(p + 1, what))
        n++;
    return n;
}

static void page(const struct av_sink_ops *ops, struct av_http_resp *r)
{
    struct av_sink sink = {ops, NULL};

    memset(r, 0, sizeof(*r));
    r->status = 200;
    av_buf_init(&r->body, 1 << 20);
    av_region_page(&sink, 3022, r);
}

static void region_page(void)
{
    struct av_sink_ops no_wx = {.name = "cassandra", .parts = AV_PART_WARNINGS, .read = fake_read};
    struct av_sink_ops with_wx = {.name = "fake",
                                  .parts = AV_PART_WARNINGS | AV_PART_WX_DAILY,
                                  .read = fake_read,
                                  .read_rows = fake_read_rows};
    struct av_http_resp r;
    const char *svg;

    g_today = av_oslo_today();
    page(&no_wx, &r);
    CHECK(r.status == 200 && !r.body.failed);
    CHECK(strstr(r.body.data, "<p id=\"wx-note\">No weather here: the cassandra sink") != NULL);
    CHECK(strstr(r.body.data, "<svg id=\"wx-chart\"") == NULL &&
          strstr(r.body.data, "Open-Meteo") == NULL);
    CHECK(strstr(r.body.data, "<svg id=\"danger-chart\"") != NULL); /* the levels still are */
    CHECK_INT(count(r.body.data, "<tr data-date="), 3);
    av_buf_free(&r.body);

    page(&with_wx, &r);
    CHECK(r.status == 200 && !r.body.failed);
    svg = strstr(r.body.data, "<svg id=\"wx-chart\"");
    CHECK(svg != NULL && strstr(r.body.data, "wx-note") == NULL);
    if (svg) {
        CHECK(svg_in_bounds(svg));
        CHECK_INT(count(svg, "class=\"pr\""), 2); /* days with a precipitation that can be */
        CHECK_INT(count(svg, "class=\"sn\""), 2);
        CHECK_INT(count(svg, "class=\"dl\""), 3);
        CHECK_INT(count(svg, "<g data-date="), 5); /* 4 with weather, one more with a level */
        CHECK(strstr(svg, "data-level=\"3\" x=") != NULL);
        CHECK(strstr(svg, "5 values no weather can have were left out") != NULL);
        CHECK(strstr(svg, "</svg>") != NULL && strstr(svg, "<title>") != NULL);
        CHECK(strstr(svg, "aria-label=\"Daily weather and danger level, 3022 Trollheimen, ") !=
              NULL);
    }
    CHECK(strstr(r.body.data, "nan") == NULL && strstr(r.body.data, "inf") == NULL);
    CHECK(strstr(r.body.data, "Weather data by <a href=\"https://open-meteo.com/\">"
                              "Open-Meteo.com</a>") != NULL);
    CHECK_INT(count(r.body.data, "<tr data-date="), 3);
    av_buf_free(&r.body);

    g_read_fails = 1;
    page(&with_wx, &r);
    CHECK(r.status == 500);
    CHECK(strstr(r.body.data, "The weather could not be read: weather_daily 3022 &lt;x&gt;") !=
          NULL);
    CHECK_INT(count(r.body.data, "<tr data-date="), 3); /* the warnings are still shown */
    av_buf_free(&r.body);
    g_read_fails = 0;
}

void suite_wxchart(void)
{
    window_and_days();
    scales();
    hostile_values();
    region_page();
}
