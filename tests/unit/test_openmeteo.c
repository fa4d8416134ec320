/* test_openmeteo.c - the Open-Meteo source: weights, URLs, plans, verdicts,
 * the strict parse (on the recorded fixture, set to GMT), and the weather
 * datasets' rules in the SQLite sink (archive over forecast, a null never
 * over a value). Values other than the fixture's are synthetic, written
 * here. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/core/json.h"
#include "../../src/core/tz.h"
#include "../../src/model/dataset.h"
#include "../../src/sinks/sink.h"
#include "../../src/sinks/store.h"
#include "../../src/sources/openmeteo.h"
#include "harness.h"

#define FIX "open-meteo/archive_hourly_-34.76_138.65_2025-01-10_to_2025-01-12_Australia-Adelaide.json"

static int near(double a, double b)
{
    return fabs(a - b) < 1e-9;
}

static void test_weight(void)
{
    /* the pricing FAQ: 2 weeks of 15 variables = 1.5 calls, 4 weeks = 3.0 */
    CHECK(near(av_om_weight(1, 14, 15), 1.5));
    CHECK(near(av_om_weight(1, 28, 15), 3.0));
    CHECK(near(av_om_weight(1, 3, 10), 1.0));  /* never below 1 per point */
    CHECK(near(av_om_weight(5, 3, 9), 5.0));
    CHECK(near(av_om_weight(2, 93, 9), 2 * 0.9 * 93 / 14.0));
    /* open-meteo.md §7's worked example: 46 points, 10 variables, 182 days */
    CHECK(near(av_om_weight(46, 182, 10), 598.0));
    CHECK_INT(av_om_nvars(1), 9);
    CHECK_INT(av_om_nvars(0), 10);
}

static struct av_om_opts opts(void)
{
    struct av_om_opts o = {"http://h/v1/", "http://f/v1", 7, 92, 2, 7, 25, 5};
    return o;
}

static const struct av_point pts2[2] = {{3022, 62.7, 9.1}, {3022, 62.4326, 8.7348}};

static void test_url(void)
{
    struct av_om_opts o = opts();
    struct av_om_unit u = {.region_id = 3022, .archive = 1};
    struct av_point back[4];
    char err[AV_ERRBUF_SIZE];
    int n = 0;

    CHECK(av_date_parse("2024-03-01", &u.from) == AV_OK);
    CHECK(av_date_parse("2024-03-31", &u.to) == AV_OK);
    CHECK(av_om_unit_url(&o, &u, pts2, 2, err) == AV_OK);
    CHECK_STR(u.url, "http://h/v1/archive?latitude=62.7000,62.4326&longitude=9.1000,8.7348"
                     "&hourly=temperature_2m,relative_humidity_2m,precipitation,rain,snowfall,"
                     "snow_depth,wind_speed_10m,wind_direction_10m,wind_gusts_10m"
                     "&start_date=2024-02-29&end_date=2024-03-31&timezone=GMT"
                     "&wind_speed_unit=ms&timeformat=iso8601");
    CHECK_INT(u.npoints, 2);
    CHECK(near(u.weight, av_om_weight(2, 32, 9))); /* GMT days from-1..to */
    u.archive = 0;
    CHECK(av_om_unit_url(&o, &u, pts2, 2, err) == AV_OK);
    CHECK(strncmp(u.url, "http://f/v1/forecast?", 21) == 0);
    CHECK(strstr(u.url, ",wind_gusts_10m,freezing_level_height&") != NULL);
    /* reprocess reads the points back from the URL */
    CHECK(av_om_url_points(u.url, 3022, back, 4, &n, err) == AV_OK);
    CHECK_INT(n, 2);
    CHECK(back[1].latitude == 62.4326 && back[1].longitude == 8.7348);
    CHECK(av_om_url_points(u.url, 3022, back, 1, &n, err) == AV_EPARSE); /* cap */
    CHECK(av_om_url_points("http://h/v1/archive?latitude=1,2&longitude=3", 3022, back, 4, &n,
                           err) == AV_EPARSE);
    CHECK(av_om_url_points("http://h/v1/archive?latitude=1x&longitude=3", 3022, back, 4, &n,
                           err) == AV_EPARSE);
    CHECK(av_om_url_points("http://h/v1/archive", 3022, back, 4, &n, err) == AV_EPARSE);
    /* a URL that cannot fit is an error, never a cut request */
    {
        struct av_om_opts big = o;
        char base[AV_OM_URL_MAX];
        memset(base, 'a', sizeof(base) - 1);
        base[sizeof(base) - 1] = '\0';
        big.archive_base = base;
        u.archive = 1;
        CHECK(av_om_unit_url(&big, &u, pts2, 2, err) == AV_ELIMIT);
    }
}

static void test_plan(void)
{
    struct av_om_opts o = opts();
    struct av_om_unit *u = NULL;
    size_t n = 0;
    char err[AV_ERRBUF_SIZE];
    int64_t today;

    CHECK(av_date_parse("2026-03-10", &today) == AV_OK);
    /* nothing stored: default_days back, all inside the forecast's window */
    CHECK(av_om_plan_region(&o, 3022, pts2, 2, -1, today, INT64_MIN, INT64_MIN, &u, &n, err) ==
          AV_OK);
    CHECK_INT(n, 1);
    CHECK(u && !u[0].archive && u[0].from == today - 7 && u[0].to == today + 2);
    /* the archive complete through today-30: the archive for the days up to
     * today-8, the forecast from today-7 */
    n = 0;
    CHECK(av_om_plan_region(&o, 3022, pts2, 2, today - 30, today, INT64_MIN, INT64_MIN, &u, &n,
                            err) == AV_OK);
    CHECK_INT(n, 2);
    CHECK(u[0].archive && u[0].from == today - 29 && u[0].to == today - 8);
    CHECK(!u[1].archive && u[1].from == today - 7 && u[1].to == today + 2);
    /* a backfill of 101 past days: archive chunks of 92 */
    n = 0;
    CHECK(av_om_plan_region(&o, 3022, pts2, 2, -1, today, today - 400, today - 300, &u, &n,
                            err) == AV_OK);
    CHECK_INT(n, 2);
    CHECK(u[0].archive && u[0].from == today - 400 && u[0].to == today - 309);
    CHECK(u[1].archive && u[1].from == today - 308 && u[1].to == today - 300);
    /* --to before --from */
    n = 0;
    CHECK(av_om_plan_region(&o, 3022, pts2, 2, -1, today, today, today - 1, &u, &n, err) ==
          AV_EINVAL);
    /* a hole is planned from the archive only, never past its lag */
    n = 0;
    CHECK(av_om_plan_hole(&o, 3022, pts2, 2, today - 20, today - 1, today, &u, &n, err) ==
          AV_OK);
    CHECK_INT(n, 1);
    CHECK(u[0].archive && u[0].from == today - 20 && u[0].to == today - 8);
    free(u);
}

static void test_judge(void)
{
    char why[200];
    long long w = 0;
    av_ms now;
    const char *daily = "{\"error\":true,\"reason\":\"Daily API request limit exceeded. "
                        "Please try again tomorrow.\"}";
    const char *minutely = "{\"error\":true,\"reason\":\"Minutely API request limit exceeded. "
                           "Please try again in one minute.\"}";
    const char *hourly = "{\"error\":true,\"reason\":\"Hourly API request limit exceeded. "
                         "Please try again in the next hour.\"}";
    const char *bad = "{\"error\":true,\"reason\":\"Cannot initialize WeatherVariable from "
                      "invalid String value tempeture_2m for key hourly\"}";
    const char *cut = "{\"latitude\":1,\"hourly\":{\"time\":[\"2025-01-10T00:00\"Unexpected "
                      "error while streaming data: timeout";

    CHECK(av_stamp_parse("2026-03-10T12:34:56Z", &now) == AV_OK);
    CHECK(av_om_judge(200, "[{}]\n", 5, now, &w, why, sizeof(why)) == AV_OM_ACCEPT);
    CHECK(av_om_judge(200, cut, strlen(cut), now, &w, why, sizeof(why)) == AV_OM_RETRY);
    CHECK(strstr(why, "truncated") != NULL);
    /* cut exactly after a brace, then the server's text: still truncated */
    CHECK(av_om_judge(200, "{}Unexpected error while streaming data: x}", 43, now, &w, why,
                      sizeof(why)) == AV_OM_RETRY);
    CHECK(av_om_judge(429, daily, strlen(daily), now, &w, why, sizeof(why)) == AV_OM_STOP);
    CHECK(strstr(why, "Daily API request limit exceeded") != NULL);
    CHECK(av_om_judge(429, minutely, strlen(minutely), now, &w, why, sizeof(why)) ==
          AV_OM_WAIT);
    CHECK_INT(w, 60000 - 56000 + 1000); /* the next minute, +1 s */
    CHECK(av_om_judge(429, hourly, strlen(hourly), now, &w, why, sizeof(why)) == AV_OM_WAIT);
    CHECK_INT(w, 3600000 - (34 * 60 + 56) * 1000 + 1000);
    CHECK(av_om_judge(429, "{\"error\":true,\"reason\":\"Too many concurrent requests\"}", 54,
                      now, &w, why, sizeof(why)) == AV_OM_RETRY);
    CHECK(av_om_judge(503, "", 0, now, &w, why, sizeof(why)) == AV_OM_RETRY);
    CHECK(av_om_judge(400, bad, strlen(bad), now, &w, why, sizeof(why)) == AV_OM_FINAL);
    CHECK(strstr(why, "HTTP 400: Cannot initialize WeatherVariable") != NULL);
    CHECK(av_om_judge(404, "not json", 8, now, &w, why, sizeof(why)) == AV_OM_FINAL);
    CHECK(strstr(why, "no reason given") != NULL);
}

/* The fixture as the API answers in GMT (it was recorded in Adelaide time:
 * offset 34200, which a GMT request never gets). */
static char *fixture_gmt(size_t *len)
{
    char *s = t_read_file(t_fixture(FIX), len), *p;

    if (s == NULL)
        return NULL;
    p = strstr(s, "\"utc_offset_seconds\": 34200");
    if (p)
        memcpy(p, "\"utc_offset_seconds\":     0", 27);
    return s;
}

static void test_parse(void)
{
    struct av_json j;
    struct av_wx_hour *h = NULL;
    size_t n = 0, len = 0;
    char err[AV_ERRBUF_SIZE];
    char *s = fixture_gmt(&len), *two;
    struct av_point p1[1] = {{3022, 62.5, 9.0}};
    int64_t from, to;
    av_ms t0;

    CHECK(s != NULL);
    if (s == NULL)
        return;
    av_json_init(&j, 1 << 20, 64);
    CHECK(av_date_parse("2025-01-11", &from) == AV_OK);
    CHECK(av_date_parse("2025-01-12", &to) == AV_OK);
    CHECK(av_om_parse(&j, s, len, p1, 1, from, to, AV_WX_ARCHIVE, 1000, &h, &n, err) == AV_OK);
    CHECK_INT(n, 72);
    CHECK(av_stamp_parse("2025-01-10T00:00:00Z", &t0) == AV_OK);
    if (n == 72) {
        CHECK(h[0].hour == t0 && h[71].hour == t0 + 71 * 3600000LL);
        CHECK(h[0].v[AV_WX_TEMPERATURE] == 20.3 && h[2].v[AV_WX_TEMPERATURE] == 19.2);
        CHECK(h[1].v[AV_WX_HUMIDITY] == 38 && h[0].v[AV_WX_WIND_SPEED] == 1.27);
        CHECK(h[0].v[AV_WX_PRECIPITATION] == 0.0);
        CHECK(isnan(h[0].v[AV_WX_SNOWFALL]) && isnan(h[5].v[AV_WX_FREEZING])); /* not asked */
        CHECK(h[3].region_id == 3022 && h[3].latitude == 62.5 && h[3].longitude == 9.0);
        CHECK(h[3].source == AV_WX_ARCHIVE && h[3].fetched_at == 1000);
    }
    /* hours outside the requested GMT days (from-1..to) */
    n = 0;
    CHECK(av_om_parse(&j, s, len, p1, 1, from + 1, to, AV_WX_ARCHIVE, 1000, &h, &n, err) ==
          AV_EPARSE);
    CHECK(strstr(err, "outside the requested days") != NULL);
    CHECK_INT(n, 0);
    /* two points: an array in request order, location_id from index 1 */
    two = malloc(2 * len + 64);
    if (two) {
        struct av_point p2[2] = {{3022, 62.5, 9.0}, {3022, 62.6, 9.1}};
        const char *obj = strchr(s, '{') + 1;
        sprintf(two, "[%s,{\"location_id\":1,%s]", s, obj);
        n = 0;
        CHECK(av_om_parse(&j, two, strlen(two), p2, 2, from, to, AV_WX_FORECAST, 5, &h, &n,
                          err) == AV_OK);
        CHECK_INT(n, 144);
        if (n == 144)
            CHECK(h[72].latitude == 62.6 && h[72].source == AV_WX_FORECAST);
        n = 0;
        CHECK(av_om_parse(&j, two, strlen(two), p2, 1, from, to, AV_WX_FORECAST, 5, &h, &n,
                          err) == AV_EPARSE); /* 2 answers for 1 point */
        /* the second answer claims to be the third */
        sprintf(two, "[%s,{\"location_id\":2,%s]", s, obj);
        CHECK(av_om_parse(&j, two, strlen(two), p2, 2, from, to, AV_WX_FORECAST, 5, &h, &n,
                          err) == AV_EPARSE);
        CHECK(strstr(err, "location_id") != NULL);
        free(two);
    }
    /* what a GMT request must never get, and what is not weather */
    {
        const char *bad[] = {
            "{\"utc_offset_seconds\":3600,\"hourly\":{\"time\":[]}}",
            "{\"hourly\":{\"time\":[\"2025-01-11T00:30\"]}}",
            "{\"hourly\":{\"time\":[\"2025-01-11T01:00\",\"2025-01-11T01:00\"]}}",
            "{\"hourly\":{\"time\":[\"2025-01-11T00:00\"],\"temperature_2m\":[\"5\"]}}",
            "{\"hourly\":{\"time\":[\"2025-01-11T00:00\"],\"temperature_2m\":[1,2]}}",
            "{\"hourly_units\":{\"wind_speed_10m\":\"km/h\"},\"hourly\":{\"time\":[],"
            "\"wind_speed_10m\":[]}}",
            "{\"error\":true,\"reason\":\"x\"}",
            "[1]",
            "\"x\"",
            "{\"hourly\":{\"time\":[\"2025-01-11T00:00\"]}}garbage",
        };
        for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
            n = 0;
            if (av_om_parse(&j, bad[k], strlen(bad[k]), p1, 1, from, to, AV_WX_ARCHIVE, 1, &h, &n,
                            err) != AV_EPARSE) {
                CHECK(!"bad weather body accepted");
                fprintf(stderr, "  body: %s\n", bad[k]);
            }
        }
    }
    /* nulls are absent values, never 0 */
    {
        const char *nulls = "{\"hourly\":{\"time\":[\"2025-01-11T00:00\"],"
                            "\"temperature_2m\":[null],\"snow_depth\":[0]}}";
        n = 0;
        CHECK(av_om_parse(&j, nulls, strlen(nulls), p1, 1, from, to, AV_WX_ARCHIVE, 1, &h, &n,
                          err) == AV_OK);
        CHECK(n == 1 && isnan(h[0].v[AV_WX_TEMPERATURE]) && h[0].v[AV_WX_SNOW_DEPTH] == 0.0);
    }
    free(h);
    free(s);
    av_json_free(&j);
}

/* ---- the SQLite sink's weather rules ---- */

static struct av_wx_hour hour(int source, av_ms fetched, double t, double depth)
{
    struct av_wx_hour h = {3022, 62.4326, 8.7348, 0, source, fetched, {0}};
    for (int v = 0; v < AV_WX_NVARS; v++)
        h.v[v] = AV_WX_NULL;
    av_stamp_parse("2024-03-01T06:00:00Z", &h.hour);
    h.v[AV_WX_TEMPERATURE] = t;
    h.v[AV_WX_SNOW_DEPTH] = depth;
    return h;
}

static int grab(void *ud, const void *rec)
{
    *(struct av_wx_hour *)ud = *(const struct av_wx_hour *)rec;
    return 0;
}

static struct av_wx_hour put_get(struct av_sink *k, struct av_wx_hour h)
{
    struct av_wx_hour got;
    struct av_query q = {0};
    char err[AV_ERRBUF_SIZE];
    int region = 3022;

    memset(&got, 0, sizeof(got));
    q.regions = &region;
    q.nregions = 1;
    CHECK(av_sink_begin(k, err) == AV_OK);
    CHECK(av_sink_put_rows(k, &av_ds_wx_hourly, &h, 1, err) == AV_OK);
    CHECK(av_sink_commit(k, err) == AV_OK);
    CHECK(av_sink_read_rows(k, &av_ds_wx_hourly, &q, grab, &got, err) == AV_OK);
    return got;
}

static void test_rules(void)
{
    struct av_conf c;
    const struct av_opt *const o[] = {av_store_opts, av_sink_opts, NULL};
    struct av_store *s = NULL;
    struct av_sink k = {0};
    char err[AV_ERRBUF_SIZE], path[512];
    struct av_wx_hour g;

    snprintf(path, sizeof(path), "%s/wx-rules.db", t_tmpdir());
    CHECK(av_conf_init(&c, o, err) == AV_OK);
    CHECK(av_store_open(&s, path, &c, err) == AV_OK);
    CHECK(s && av_sink_open(&k, &(struct av_sink_env){&c, s, NULL}, err) == AV_OK);
    if (k.ops == NULL)
        goto out;
    g = put_get(&k, hour(AV_WX_FORECAST, 100, 1.5, 0.5));
    CHECK(g.source == AV_WX_FORECAST && g.v[AV_WX_TEMPERATURE] == 1.5);
    CHECK(g.v[AV_WX_SNOW_DEPTH] == 0.5 && isnan(g.v[AV_WX_FREEZING]));
    /* a later forecast replaces the forecast */
    g = put_get(&k, hour(AV_WX_FORECAST, 200, 1.25, 0.5));
    CHECK(g.v[AV_WX_TEMPERATURE] == 1.25 && g.fetched_at == 200);
    /* the archive replaces it, but its null snow depth keeps the value */
    g = put_get(&k, hour(AV_WX_ARCHIVE, 150, 2.0, AV_WX_NULL));
    CHECK(g.source == AV_WX_ARCHIVE && g.v[AV_WX_TEMPERATURE] == 2.0);
    CHECK(g.v[AV_WX_SNOW_DEPTH] == 0.5 && g.fetched_at == 150);
    /* a forecast never replaces the archive, whenever it comes */
    g = put_get(&k, hour(AV_WX_FORECAST, 900, 3.0, 0.7));
    CHECK(g.source == AV_WX_ARCHIVE && g.v[AV_WX_TEMPERATURE] == 2.0 && g.fetched_at == 150);
    CHECK(g.v[AV_WX_SNOW_DEPTH] == 0.5);
    /* a later archive fetch does; full precision round-trips */
    g = put_get(&k, hour(AV_WX_ARCHIVE, 300, 0.1 + 0.2, 0.25));
    CHECK(g.v[AV_WX_TEMPERATURE] == 0.1 + 0.2 && g.v[AV_WX_SNOW_DEPTH] == 0.25);
    /* an older archive fetch does not */
    g = put_get(&k, hour(AV_WX_ARCHIVE, 250, -7.0, 0.1));
    CHECK(g.v[AV_WX_TEMPERATURE] == 0.1 + 0.2 && g.fetched_at == 300);
    /* export text: the shortest exact form */
    {
        char tmp[32];
        av_f64_format(0.1 + 0.2, tmp);
        CHECK_STR(tmp, "0.30000000000000004");
        av_f64_format(-7.5, tmp);
        CHECK_STR(tmp, "-7.5");
        av_f64_format(1e-7, tmp);
        CHECK(strtod(tmp, NULL) == 1e-7);
    }
out:
    av_sink_close(&k);
    av_store_close(s);
    av_conf_free(&c);
}

void suite_openmeteo(void)
{
    test_weight();
    test_url();
    test_plan();
    test_judge();
    test_parse();
    test_rules();
}
