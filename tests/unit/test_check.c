/* test_check.c - the verdict of `status --check` (src/pipeline/check.h):
 * season bounds, staleness hours, and each condition's level and line.
 * Every value here is SYNTHETIC. */
#include "../../src/core/tz.h"
#include "../../src/pipeline/check.h"
#include "harness.h"

static int64_t day(const char *s)
{
    int64_t d = -1;
    av_date_parse(s, &d);
    return d;
}

/* Noon UTC of the day s (13:00 in Oslo in winter). */
static av_ms noon(const char *s) { return day(s) * 86400000LL + 12 * 3600000LL; }

static const struct av_check_limits LIM = {36, 1201, 531, 7, 3, 1000};

static void base(struct av_check_facts *f, const struct av_check_region *r, int n,
                 const char *today)
{
    memset(f, 0, sizeof(*f));
    f->now = noon(today);
    f->today = day(today);
    f->regions = r;
    f->nregions = n;
    f->wx_last_complete = -1;
    f->run_status = "ok";
    f->run_id = 7;
    f->lag = -1;
}

static void mmdd_and_season(void)
{
    int v = -1;

    CHECK_INT(av_check_mmdd("12-01", &v), 0);
    CHECK_INT(v, 1201);
    CHECK_INT(av_check_mmdd("02-29", &v), 0);
    CHECK_INT(v, 229);
    v = -1;
    CHECK_INT(av_check_mmdd("13-01", &v), -1);
    CHECK_INT(av_check_mmdd("04-31", &v), -1);
    CHECK_INT(av_check_mmdd("4-01", &v), -1);
    CHECK_INT(av_check_mmdd("04-011", &v), -1);
    CHECK_INT(av_check_mmdd("", &v), -1);
    CHECK_INT(av_check_mmdd(NULL, &v), -1);
    CHECK_INT(v, -1);
    CHECK(av_check_in_season(day("2023-12-01"), 1201, 531));
    CHECK(av_check_in_season(day("2024-01-15"), 1201, 531));
    CHECK(av_check_in_season(day("2024-05-31"), 1201, 531));
    CHECK(!av_check_in_season(day("2024-06-01"), 1201, 531));
    CHECK(!av_check_in_season(day("2023-11-30"), 1201, 531));
    CHECK(av_check_in_season(day("2023-07-01"), 601, 831));
    CHECK(!av_check_in_season(day("2023-09-01"), 601, 831));
}

static void stale_hours(void)
{
    /* 2023-03-03 ends at 23:00Z (CET); noon UTC on 03-05 is 37 h later */
    CHECK_INT(av_check_stale_hours(day("2023-03-03"), noon("2023-03-05")), 37);
    CHECK_INT(av_check_stale_hours(day("2023-03-05"), noon("2023-03-05")), -11);
    /* summer time: 2023-07-01 ends at 22:00Z */
    CHECK_INT(av_check_stale_hours(day("2023-07-01"), noon("2023-07-02")), 14);
}

static void verdicts(void)
{
    struct av_check_region r[3] = {
        {3011, 0}, {3022, 0}, {3023, -1}}; /* 3023: nothing stored, never stale */
    struct av_check_facts f;
    char msg[512];

    r[0].last_date = day("2023-03-05");
    r[1].last_date = day("2023-03-05");
    base(&f, r, 3, "2023-03-04");
    CHECK_INT(av_check_eval(&f, &LIM, msg, sizeof(msg)), AV_CHECK_OK);
    CHECK_STR(msg, "AVALANCHE OK - 2 regions current, last run ok | regions=3 stale=0 holes=0");

    /* 3022 last stored 03-03, now 03-06 noon: 61 h */
    r[1].last_date = day("2023-03-03");
    base(&f, r, 3, "2023-03-06");
    CHECK_INT(av_check_eval(&f, &LIM, msg, sizeof(msg)), AV_CHECK_CRITICAL);
    CHECK(strstr(msg, "AVALANCHE CRITICAL - region 3022 stale 61 h (check.stale_hours 36)") == msg);
    CHECK(strstr(msg, "more stale") == NULL); /* 3011: 03-05 ended 13 h ago */
    CHECK(strstr(msg, "stale=1 ") != NULL);
    base(&f, r, 3, "2023-03-07"); /* now 3011 too (37 h) */
    CHECK_INT(av_check_eval(&f, &LIM, msg, sizeof(msg)), AV_CHECK_CRITICAL);
    CHECK(strstr(msg, "region 3022 stale 85 h (check.stale_hours 36) and 1 more stale "
                      "region |") != NULL);

    /* the same out of season: OK, and said */
    r[0].last_date = day("2023-05-20");
    r[1].last_date = day("2023-05-20");
    base(&f, r, 3, "2023-06-10");
    CHECK_INT(av_check_eval(&f, &LIM, msg, sizeof(msg)), AV_CHECK_OK);
    CHECK(strstr(msg, "out of season") != NULL);

    /* a failed run is critical even when everything is current */
    r[0].last_date = r[1].last_date = day("2023-03-05");
    base(&f, r, 3, "2023-03-04");
    f.run_status = "failed";
    f.run_error = "3 of 24 requests failed";
    CHECK_INT(av_check_eval(&f, &LIM, msg, sizeof(msg)), AV_CHECK_CRITICAL);
    CHECK(strstr(msg, "AVALANCHE CRITICAL - last run 7 failed: 3 of 24 requests failed |") == msg);

    /* partial: a warning */
    f.run_status = "partial";
    CHECK_INT(av_check_eval(&f, &LIM, msg, sizeof(msg)), AV_CHECK_WARNING);
    CHECK(strstr(msg, "AVALANCHE WARNING - last run 7 partial") == msg);

    /* a hole */
    base(&f, r, 3, "2023-03-04");
    f.holes = 2;
    f.hole_region = 3022;
    f.hole_from = day("2023-03-01");
    f.hole_to = day("2023-03-02");
    CHECK_INT(av_check_eval(&f, &LIM, msg, sizeof(msg)), AV_CHECK_WARNING);
    CHECK(strstr(msg, "AVALANCHE WARNING - 2 holes (region 3022 2023-03-01..2023-03-02 not "
                      "stored) |") == msg);

    /* the weather: 03-04 - 7 - 3 = 02-22 is the oldest allowed */
    base(&f, r, 3, "2023-03-04");
    f.wx_last_complete = day("2023-02-22");
    f.wx_region = 3011;
    CHECK_INT(av_check_eval(&f, &LIM, msg, sizeof(msg)), AV_CHECK_OK);
    CHECK(strstr(msg, "weather_age_days=10") != NULL);
    f.wx_last_complete = day("2023-02-21");
    CHECK_INT(av_check_eval(&f, &LIM, msg, sizeof(msg)), AV_CHECK_WARNING);
    CHECK(strstr(msg, "weather behind: region 3011 last complete day 2023-02-21") != NULL);

    /* the lag: above max_lag only */
    base(&f, r, 3, "2023-03-04");
    f.lag = 1000;
    CHECK_INT(av_check_eval(&f, &LIM, msg, sizeof(msg)), AV_CHECK_OK);
    CHECK(strstr(msg, " lag=1000;1000") != NULL);
    f.lag = 1001;
    CHECK_INT(av_check_eval(&f, &LIM, msg, sizeof(msg)), AV_CHECK_WARNING);
    CHECK(strstr(msg, "consumer lag 1001 (check.max_lag 1000)") != NULL);

    /* critical wins, and every problem is named */
    f.run_status = "failed";
    f.run_error = "boom";
    CHECK_INT(av_check_eval(&f, &LIM, msg, sizeof(msg)), AV_CHECK_CRITICAL);
    CHECK(strstr(msg, "last run 7 failed: boom, consumer lag 1001") != NULL);

    /* nothing stored at all: critical */
    base(&f, r + 2, 1, "2023-03-04");
    CHECK_INT(av_check_eval(&f, &LIM, msg, sizeof(msg)), AV_CHECK_CRITICAL);
    CHECK(strstr(msg, "no warnings stored") != NULL);

    /* a tiny buffer is cut, never overrun */
    base(&f, r, 3, "2023-03-04");
    msg[8] = 'x';
    CHECK_INT(av_check_eval(&f, &LIM, msg, 8), AV_CHECK_OK);
    CHECK_STR(msg, "AVALANC");
    CHECK(msg[8] == 'x');
}

void suite_check(void)
{
    mmdd_and_season();
    stale_hours();
    verdicts();
}
