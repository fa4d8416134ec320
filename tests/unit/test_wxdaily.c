/* test_wxdaily.c - the daily weather aggregation (src/transforms/
 * weather_daily.h) and the names of src/model/weather.h.
 *
 * Every record here is SYNTHETIC, built in this file: values chosen so the
 * expected daily figures are exact in binary floating point (integers,
 * halves, quarters), so most checks compare with ==. */
#include <math.h>
#include <stdlib.h>

#include "../../src/model/weather.h"
#include "../../src/transforms/weather_daily.h"
#include "harness.h"

#define HOUR_MS 3600000LL
#define DAY_MS 86400000LL
#define REGION 3011
#define NOW 1700000000000LL

#define CHECK_DBL(a, b)                                                                            \
    do {                                                                                           \
        double a_ = (a), b_ = (b);                                                                 \
        t_checks++;                                                                                \
        if (!(a_ == b_)) {                                                                         \
            t_failed++;                                                                            \
            fprintf(stderr, "%s:%d: %s == %.17g, expected %.17g\n", __FILE__, __LINE__, #a, a_,    \
                    b_);                                                                           \
        }                                                                                          \
    } while (0)

#define CHECK_NEAR(a, b, eps)                                                                      \
    do {                                                                                           \
        double a_ = (a), b_ = (b);                                                                 \
        t_checks++;                                                                                \
        if (!(fabs(a_ - b_) <= (eps))) {                                                           \
            t_failed++;                                                                            \
            fprintf(stderr, "%s:%d: %s == %.17g, expected %.17g\n", __FILE__, __LINE__, #a, a_,    \
                    b_);                                                                           \
        }                                                                                          \
    } while (0)

#define CHECK_NULL(a)                                                                              \
    do {                                                                                           \
        double a_ = (a);                                                                           \
        t_checks++;                                                                                \
        if (!av_wx_isnull(a_)) {                                                                   \
            t_failed++;                                                                            \
            fprintf(stderr, "%s:%d: %s == %.17g, expected null\n", __FILE__, __LINE__, #a, a_);    \
        }                                                                                          \
    } while (0)

static int64_t date(int y, int m, int d) { return av_days_from_civil(y, m, d); }

static av_ms utc(int y, int m, int d, int h) { return date(y, m, d) * DAY_MS + h * HOUR_MS; }

/* A synthetic record: every value null until the test sets it. */
static struct av_wx_hour rec(double lat, double lon, av_ms hour, int source)
{
    struct av_wx_hour r = {0};

    r.region_id = REGION;
    r.latitude = lat;
    r.longitude = lon;
    r.hour = hour;
    r.source = source;
    r.fetched_at = hour + HOUR_MS;
    for (int k = 0; k < AV_WX_NVARS; k++)
        r.v[k] = AV_WX_NULL;
    return r;
}

static const struct av_wx_day *find(const struct av_wx_day *d, size_t n, int64_t day)
{
    for (size_t i = 0; i < n; i++)
        if (d[i].date == day)
            return &d[i];
    return NULL;
}

/* Runs the aggregation, expecting success; *n gets the day count. */
static struct av_wx_day *agg(const struct av_wx_hour *r, size_t nr, size_t *n)
{
    struct av_wx_day *out = NULL;
    char err[AV_ERRBUF_SIZE] = "";

    *n = 0;
    CHECK(av_wx_aggregate(r, nr, NOW, &out, n, err) == AV_OK);
    if (err[0])
        fprintf(stderr, "aggregate: %s\n", err);
    return out;
}

static int same(double a, double b) { return (av_wx_isnull(a) && av_wx_isnull(b)) || a == b; }

static int same_day(const struct av_wx_day *a, const struct av_wx_day *b)
{
    return a->region_id == b->region_id && a->date == b->date && a->points == b->points &&
           a->hours == b->hours && a->source == b->source && a->computed_at == b->computed_at &&
           same(a->temperature_min, b->temperature_min) &&
           same(a->temperature_mean, b->temperature_mean) &&
           same(a->temperature_max, b->temperature_max) &&
           same(a->precipitation_sum, b->precipitation_sum) && same(a->rain_sum, b->rain_sum) &&
           same(a->snowfall_sum, b->snowfall_sum) && same(a->snow_depth_mean, b->snow_depth_mean) &&
           same(a->wind_speed_mean, b->wind_speed_mean) &&
           same(a->wind_speed_max, b->wind_speed_max) && same(a->gusts_max, b->gusts_max) &&
           same(a->wind_direction_dominant, b->wind_direction_dominant) &&
           same(a->humidity_mean, b->humidity_mean) &&
           same(a->freezing_level_mean, b->freezing_level_mean);
}

static void names(void)
{
    static const char *const want[AV_WX_NVARS] = {
        "temperature_2m", "relative_humidity_2m", "precipitation",  "rain",
        "snowfall",       "snow_depth",           "wind_speed_10m", "wind_direction_10m",
        "wind_gusts_10m", "freezing_level_height"};

    for (int k = 0; k < AV_WX_NVARS; k++)
        CHECK_STR(av_wx_var_names[k], want[k]);
    CHECK_STR(av_wx_source_name(AV_WX_ARCHIVE), "archive");
    CHECK_STR(av_wx_source_name(AV_WX_FORECAST), "forecast");
    CHECK_STR(av_wx_source_name(0), "mixed");
}

/* An ordinary winter day: local 2024-01-16 runs from 23:00 UTC on the 15th
 * to 22:00 UTC on the 16th (24 hour stamps). */
static void winter_day(void)
{
    struct av_wx_hour r[26];
    struct av_wx_day *out;
    const struct av_wx_day *d;
    av_ms first, end;
    size_t n;

    av_wx_local_day_hours(date(2024, 1, 16), &first, &end);
    CHECK_INT(first, utc(2024, 1, 15, 23));
    CHECK_INT(end, utc(2024, 1, 16, 23));
    CHECK_INT(av_wx_day_hours(date(2024, 1, 16)), 24);
    CHECK_INT(av_wx_day_hours(date(2024, 7, 1)), 24);
    CHECK_INT(av_wx_local_date(utc(2024, 1, 15, 22)), date(2024, 1, 15));
    CHECK_INT(av_wx_local_date(utc(2024, 1, 15, 23)), date(2024, 1, 16));
    CHECK_INT(av_wx_local_date(utc(2024, 1, 16, 22)), date(2024, 1, 16));
    CHECK_INT(av_wx_local_date(utc(2024, 1, 16, 23)), date(2024, 1, 17));

    /* synthetic: k = -1 (22:00Z on the 15th) and k = 24 (23:00Z on the 16th)
     * are the neighbours; k = 0..23 the day, temperature k - 10 */
    for (int k = -1; k <= 24; k++) {
        struct av_wx_hour *h = &r[k + 1];
        *h = rec(61.5, 7.25, first + k * HOUR_MS, AV_WX_ARCHIVE);
        if (k == -1) {
            h->v[AV_WX_TEMPERATURE] = 100;
            h->v[AV_WX_PRECIPITATION] = 7;
        } else if (k == 24) {
            h->v[AV_WX_TEMPERATURE] = -100;
        } else {
            h->v[AV_WX_TEMPERATURE] = k - 10;
            h->v[AV_WX_PRECIPITATION] = 0.5;
            h->v[AV_WX_WIND_SPEED] = k;
            h->v[AV_WX_GUSTS] = k + 1;
            h->v[AV_WX_HUMIDITY] = 80;
            h->v[AV_WX_SNOW_DEPTH] = 1.25;
            h->v[AV_WX_FREEZING] = 500 + k;
            h->v[AV_WX_WIND_DIR] = 270;
        }
    }
    out = agg(r, 26, &n);
    CHECK_INT(n, 3);
    if (n == 3) {
        CHECK_INT(out[0].date, date(2024, 1, 15)); /* ordered by date */
        CHECK_INT(out[1].date, date(2024, 1, 16));
        CHECK_INT(out[2].date, date(2024, 1, 17));
        CHECK_DBL(out[0].temperature_mean, 100);
        CHECK_DBL(out[0].precipitation_sum, 7);
        CHECK_INT(out[0].hours, 1);
        CHECK_DBL(out[2].temperature_mean, -100);
        CHECK_NULL(out[2].precipitation_sum);
    }
    d = find(out, n, date(2024, 1, 16));
    CHECK(d != NULL);
    if (d) {
        CHECK_INT(d->region_id, REGION);
        CHECK_INT(d->computed_at, NOW);
        CHECK_INT(d->points, 1);
        CHECK_INT(d->hours, 24);
        CHECK_INT(d->source, AV_WX_ARCHIVE);
        CHECK_DBL(d->temperature_min, -10); /* the first hour, 23:00Z on the 15th */
        CHECK_DBL(d->temperature_max, 13);  /* the last hour, 22:00Z on the 16th */
        CHECK_DBL(d->temperature_mean, 1.5);
        CHECK_DBL(d->precipitation_sum, 12);
        CHECK_NULL(d->rain_sum);
        CHECK_NULL(d->snowfall_sum);
        CHECK_DBL(d->snow_depth_mean, 1.25);
        CHECK_DBL(d->wind_speed_mean, 11.5);
        CHECK_DBL(d->wind_speed_max, 23);
        CHECK_DBL(d->gusts_max, 24);
        CHECK_NEAR(d->wind_direction_dominant, 270, 1e-9);
        CHECK_DBL(d->humidity_mean, 80);
        CHECK_DBL(d->freezing_level_mean, 511.5);
    }
    free(out);

    /* a lone record at 23:00 UTC on 2024-01-15 is local 2024-01-16 */
    r[0] = rec(61.5, 7.25, utc(2024, 1, 15, 23), AV_WX_FORECAST);
    r[0].v[AV_WX_TEMPERATURE] = -3.5;
    out = agg(r, 1, &n);
    CHECK_INT(n, 1);
    if (n == 1) {
        CHECK_INT(out[0].date, date(2024, 1, 16));
        CHECK_DBL(out[0].temperature_mean, -3.5);
        CHECK_INT(out[0].source, AV_WX_FORECAST);
    }
    free(out);
}

/* hours[] for one point, synthetic temperature 0, every hour from..to
 * (UTC, to exclusive); checks each local day d0..d1 (wholly inside) has
 * av_wx_day_hours() hours and the days add up. */
static void continuous(av_ms from, av_ms to, int64_t d0, int64_t d1)
{
    size_t nr = (size_t)((to - from) / HOUR_MS), n, total = 0;
    struct av_wx_hour *r = calloc(nr, sizeof(*r));
    struct av_wx_day *out;

    if (r == NULL) {
        CHECK(r != NULL);
        return;
    }
    for (size_t i = 0; i < nr; i++) {
        r[i] = rec(60.0, 8.0, from + (av_ms)i * HOUR_MS, AV_WX_ARCHIVE);
        r[i].v[AV_WX_TEMPERATURE] = 0;
    }
    out = agg(r, nr, &n);
    for (size_t i = 0; i < n; i++)
        total += (size_t)out[i].hours;
    CHECK_INT(total, nr);
    for (int64_t d = d0; d <= d1; d++) {
        const struct av_wx_day *day = find(out, n, d);
        CHECK(day != NULL);
        if (day)
            CHECK_INT(day->hours, av_wx_day_hours(d));
    }
    free(out);
    free(r);
}

/* The DST switch days, with synthetic hours on and around them. */
static void switch_days(void)
{
    struct av_wx_hour r[27];
    struct av_wx_day *out;
    const struct av_wx_day *d;
    av_ms first, end;
    size_t n;

    /* spring: 2024-03-31 local 00:00 = 23:00Z (CET), 24:00 = 22:00Z (CEST) */
    av_wx_local_day_hours(date(2024, 3, 31), &first, &end);
    CHECK_INT(first, utc(2024, 3, 30, 23));
    CHECK_INT(end, utc(2024, 3, 31, 22));
    CHECK_INT(av_wx_day_hours(date(2024, 3, 31)), 23);
    CHECK_INT(av_wx_day_hours(date(2024, 3, 30)), 24);
    CHECK_INT(av_wx_day_hours(date(2024, 4, 1)), 24);
    for (int k = -1; k <= 23; k++) {
        struct av_wx_hour *h = &r[k + 1];
        *h = rec(61.5, 7.25, first + k * HOUR_MS, AV_WX_ARCHIVE);
        h->v[AV_WX_TEMPERATURE] = (k < 0 || k > 22) ? 1000 : k;
        h->v[AV_WX_PRECIPITATION] = k;
        h->v[AV_WX_SNOWFALL] = 0.25;
    }
    out = agg(r, 25, &n);
    CHECK_INT(n, 3);
    d = find(out, n, date(2024, 3, 31));
    CHECK(d != NULL);
    if (d) {
        CHECK_INT(d->hours, 23);
        CHECK_DBL(d->temperature_min, 0);
        CHECK_DBL(d->temperature_max, 22);
        CHECK_DBL(d->temperature_mean, 11);   /* 253 / 23 */
        CHECK_DBL(d->precipitation_sum, 253); /* 0 + 1 + ... + 22 */
        CHECK_DBL(d->snowfall_sum, 5.75);     /* 23 * 0.25 */
    }
    free(out);

    /* autumn: 2024-10-27 local 00:00 = 22:00Z (CEST), 24:00 = 23:00Z (CET) */
    av_wx_local_day_hours(date(2024, 10, 27), &first, &end);
    CHECK_INT(first, utc(2024, 10, 26, 22));
    CHECK_INT(end, utc(2024, 10, 27, 23));
    CHECK_INT(av_wx_day_hours(date(2024, 10, 27)), 25);
    CHECK_INT(av_wx_day_hours(date(2024, 10, 26)), 24);
    CHECK_INT(av_wx_day_hours(date(2024, 10, 28)), 24);
    for (int k = -1; k <= 25; k++) {
        struct av_wx_hour *h = &r[k + 1];
        *h = rec(61.5, 7.25, first + k * HOUR_MS, AV_WX_FORECAST);
        h->v[AV_WX_TEMPERATURE] = (k < 0 || k > 24) ? 1000 : k - 12;
        h->v[AV_WX_PRECIPITATION] = k;
        h->v[AV_WX_RAIN] = 0.5;
        h->v[AV_WX_WIND_SPEED] = k;
    }
    out = agg(r, 27, &n);
    CHECK_INT(n, 3);
    d = find(out, n, date(2024, 10, 27));
    CHECK(d != NULL);
    if (d) {
        CHECK_INT(d->hours, 25);
        CHECK_INT(d->source, AV_WX_FORECAST);
        CHECK_DBL(d->temperature_min, -12);
        CHECK_DBL(d->temperature_max, 12);
        CHECK_DBL(d->temperature_mean, 0);
        CHECK_DBL(d->precipitation_sum, 300); /* 0 + 1 + ... + 24 */
        CHECK_DBL(d->rain_sum, 12.5);         /* 25 * 0.5 */
        CHECK_DBL(d->wind_speed_mean, 12);
        CHECK_DBL(d->wind_speed_max, 24);
    }
    free(out);

    /* whole weeks of hours across both switches */
    continuous(utc(2024, 3, 28, 0), utc(2024, 4, 3, 0), date(2024, 3, 29), date(2024, 4, 2));
    continuous(utc(2024, 10, 24, 0), utc(2024, 10, 30, 0), date(2024, 10, 25), date(2024, 10, 29));
}

/* Nulls are skipped per variable; an all-null variable (sums too) is null. */
static void nulls(void)
{
    struct av_wx_hour r[24];
    struct av_wx_day *out;
    av_ms first, end;
    size_t n;

    av_wx_local_day_hours(date(2024, 2, 10), &first, &end);
    for (int k = 0; k < 24; k++) {
        r[k] = rec(61.5, 7.25, first + k * HOUR_MS, AV_WX_ARCHIVE);
        /* synthetic: three non-null temperatures, rain 0 once, snowfall in
         * two hours, one wind speed; humidity, precipitation, direction,
         * gusts, snow depth and freezing level all null */
        if (k == 3)
            r[k].v[AV_WX_TEMPERATURE] = 2;
        if (k == 10)
            r[k].v[AV_WX_TEMPERATURE] = 4;
        if (k == 20)
            r[k].v[AV_WX_TEMPERATURE] = 9;
        if (k == 5)
            r[k].v[AV_WX_RAIN] = 0;
        if (k == 6 || k == 7)
            r[k].v[AV_WX_SNOWFALL] = 1.5;
        if (k == 0)
            r[k].v[AV_WX_WIND_SPEED] = 3;
    }
    out = agg(r, 24, &n);
    CHECK_INT(n, 1);
    if (n == 1) {
        CHECK_INT(out[0].points, 1);
        CHECK_INT(out[0].hours, 3);
        CHECK_DBL(out[0].temperature_mean, 5); /* (2 + 4 + 9) / 3, not / 24 */
        CHECK_DBL(out[0].temperature_min, 2);
        CHECK_DBL(out[0].temperature_max, 9);
        CHECK_NULL(out[0].precipitation_sum); /* null, not 0 */
        CHECK(out[0].precipitation_sum != 0.0);
        CHECK_DBL(out[0].rain_sum, 0); /* one real 0: a 0, not null */
        CHECK(!av_wx_isnull(out[0].rain_sum));
        CHECK_DBL(out[0].snowfall_sum, 3);
        CHECK_DBL(out[0].wind_speed_mean, 3);
        CHECK_DBL(out[0].wind_speed_max, 3);
        CHECK_NULL(out[0].humidity_mean);
        CHECK_NULL(out[0].wind_direction_dominant);
        CHECK_NULL(out[0].gusts_max);
        CHECK_NULL(out[0].snow_depth_mean);
        CHECK_NULL(out[0].freezing_level_mean);
    }
    free(out);

    /* no temperature at all: hours 0, the temperatures null */
    for (int k = 0; k < 24; k++)
        r[k].v[AV_WX_TEMPERATURE] = AV_WX_NULL;
    out = agg(r, 24, &n);
    CHECK_INT(n, 1);
    if (n == 1) {
        CHECK_INT(out[0].hours, 0);
        CHECK_INT(out[0].points, 1);
        CHECK_NULL(out[0].temperature_min);
        CHECK_NULL(out[0].temperature_mean);
        CHECK_NULL(out[0].temperature_max);
    }
    free(out);
}

/* Synthetic points A (24 hours), B (10 hours) and C (one all-null hour) on
 * local 2024-02-12; returns the record count. */
static size_t three_points(struct av_wx_hour *r, double dir_a, double dir_b)
{
    av_ms first, end;
    size_t nr = 0;

    av_wx_local_day_hours(date(2024, 2, 12), &first, &end);
    for (int k = 0; k < 24; k++) {
        struct av_wx_hour *h = &r[nr++];
        *h = rec(61.1, 7.1, first + k * HOUR_MS, AV_WX_ARCHIVE);
        h->v[AV_WX_TEMPERATURE] = (k % 2) ? 2 : 0; /* min 0, mean 1, max 2 */
        h->v[AV_WX_PRECIPITATION] = k < 2 ? 1 : 0; /* sum 2 */
        h->v[AV_WX_HUMIDITY] = 80;
        h->v[AV_WX_WIND_DIR] = dir_a;
        h->v[AV_WX_GUSTS] = 10;
    }
    for (int k = 0; k < 10; k++) {
        struct av_wx_hour *h = &r[nr++];
        *h = rec(61.2, 7.2, first + k * HOUR_MS, AV_WX_ARCHIVE);
        h->v[AV_WX_TEMPERATURE] = 3;                 /* min, mean, max 3 */
        h->v[AV_WX_PRECIPITATION] = k < 8 ? 0.5 : 0; /* sum 4 */
        h->v[AV_WX_WIND_DIR] = dir_b;
        h->v[AV_WX_GUSTS] = 20;
    }
    r[nr++] = rec(61.3, 7.3, first + 5 * HOUR_MS, AV_WX_ARCHIVE);
    return nr;
}

static void two_points(void)
{
    struct av_wx_hour r[40], shuffled[40];
    struct av_wx_day *out, *out2;
    size_t nr = three_points(r, 90, 180), n, n2;
    unsigned seed = 12345;

    out = agg(r, nr, &n);
    CHECK_INT(n, 1);
    if (n == 1) {
        CHECK_INT(out[0].date, date(2024, 2, 12));
        CHECK_INT(out[0].points, 3);                           /* C counts: it has a record */
        CHECK_INT(out[0].hours, 24);                           /* max(24, 10, 0) */
        CHECK_DBL(out[0].precipitation_sum, 3);                /* (2 + 4) / 2; C's null skipped */
        CHECK_DBL(out[0].temperature_mean, 2);                 /* (1 + 3) / 2 */
        CHECK_DBL(out[0].temperature_min, 1.5);                /* (0 + 3) / 2 */
        CHECK_DBL(out[0].temperature_max, 2.5);                /* (2 + 3) / 2 */
        CHECK_DBL(out[0].humidity_mean, 80);                   /* A only */
        CHECK_DBL(out[0].gusts_max, 15);                       /* (10 + 20) / 2 */
        CHECK_NEAR(out[0].wind_direction_dominant, 135, 1e-9); /* A 90, B 180 */
        CHECK_INT(out[0].source, AV_WX_ARCHIVE);
    }

    /* the same records reversed, then shuffled: the same bits */
    for (size_t i = 0; i < nr; i++)
        shuffled[i] = r[nr - 1 - i];
    out2 = agg(shuffled, nr, &n2);
    CHECK_INT(n2, n);
    if (n2 == n && n == 1)
        CHECK(same_day(&out[0], &out2[0]));
    free(out2);
    for (size_t i = nr - 1; i > 0; i--) {
        size_t j;
        struct av_wx_hour t;
        seed = seed * 1103515245u + 12345u;
        j = (seed >> 8) % (i + 1);
        t = shuffled[i];
        shuffled[i] = shuffled[j];
        shuffled[j] = t;
    }
    out2 = agg(shuffled, nr, &n2);
    CHECK_INT(n2, n);
    if (n2 == n && n == 1)
        CHECK(same_day(&out[0], &out2[0]));
    free(out2);
    free(out);

    /* the region's direction: points at 0 and 180 cancel out */
    nr = three_points(r, 0, 180);
    out = agg(r, nr, &n);
    CHECK_INT(n, 1);
    if (n == 1)
        CHECK_NULL(out[0].wind_direction_dominant);
    free(out);
}

/* Dominant direction of one point's day with the given synthetic hours. */
static double dir_of(const double *dirs, int k)
{
    struct av_wx_hour r[8];
    struct av_wx_day *out;
    size_t n;
    double d = -1;

    for (int i = 0; i < k; i++) {
        r[i] = rec(61.5, 7.25, utc(2024, 2, 20, 6 + i), AV_WX_ARCHIVE);
        r[i].v[AV_WX_WIND_DIR] = dirs[i];
    }
    out = agg(r, (size_t)k, &n);
    CHECK_INT(n, 1);
    if (n == 1)
        d = out[0].wind_direction_dominant;
    free(out);
    return d;
}

static void directions(void)
{
    static const double north[] = {350, 10}, se[] = {90, 180}, opposite[] = {0, 180};
    static const double one[] = {270}, three[] = {0, 90, 180};
    double d;

    d = dir_of(north, 2); /* 0 or 360, normalised into [0, 360) */
    CHECK(d >= 0 && d < 360);
    CHECK_NEAR(fmin(d, 360 - d), 0, 1e-9);
    CHECK_NEAR(dir_of(se, 2), 135, 1e-9);
    CHECK_NULL(dir_of(opposite, 2));
    CHECK_NEAR(dir_of(one, 1), 270, 1e-9);
    CHECK_NEAR(dir_of(three, 3), 90, 1e-9); /* 0 and 180 cancel, 90 stays */
}

/* archive, forecast or mixed per day; duplicates of an hour merged */
static void sources(void)
{
    struct av_wx_hour r[8];
    struct av_wx_day *out;
    const struct av_wx_day *d;
    size_t n;

    /* synthetic: the 10th all archive, the 11th all forecast, the 12th both */
    r[0] = rec(61.5, 7.25, utc(2024, 3, 10, 10), AV_WX_ARCHIVE);
    r[1] = rec(61.5, 7.25, utc(2024, 3, 10, 11), AV_WX_ARCHIVE);
    r[2] = rec(61.5, 7.25, utc(2024, 3, 11, 10), AV_WX_FORECAST);
    r[3] = rec(61.6, 7.25, utc(2024, 3, 11, 10), AV_WX_FORECAST);
    r[4] = rec(61.5, 7.25, utc(2024, 3, 12, 10), AV_WX_ARCHIVE);
    r[5] = rec(61.6, 7.25, utc(2024, 3, 12, 10), AV_WX_FORECAST);
    for (int i = 0; i < 6; i++)
        r[i].v[AV_WX_TEMPERATURE] = 1;
    out = agg(r, 6, &n);
    CHECK_INT(n, 3);
    d = find(out, n, date(2024, 3, 10));
    CHECK(d && d->source == AV_WX_ARCHIVE);
    d = find(out, n, date(2024, 3, 11));
    CHECK(d && d->source == AV_WX_FORECAST);
    d = find(out, n, date(2024, 3, 12));
    CHECK(d && d->source == 0);
    free(out);

    /* the same point and hour from both: archive wins, counted once */
    r[0] = rec(61.5, 7.25, utc(2024, 3, 10, 10), AV_WX_FORECAST);
    r[0].v[AV_WX_TEMPERATURE] = 5;
    r[1] = rec(61.5, 7.25, utc(2024, 3, 10, 10), AV_WX_ARCHIVE);
    r[1].v[AV_WX_TEMPERATURE] = 1;
    out = agg(r, 2, &n);
    CHECK_INT(n, 1);
    if (n == 1) {
        CHECK_INT(out[0].hours, 1);
        CHECK_INT(out[0].points, 1);
        CHECK_DBL(out[0].temperature_mean, 1);
        CHECK_INT(out[0].source, AV_WX_ARCHIVE);
    }
    free(out);

    /* a forecast value fills the archive's null: both sources used */
    r[0].v[AV_WX_FREEZING] = 900;
    out = agg(r, 2, &n);
    CHECK_INT(n, 1);
    if (n == 1) {
        CHECK_DBL(out[0].temperature_mean, 1);
        CHECK_DBL(out[0].freezing_level_mean, 900);
        CHECK_INT(out[0].source, 0);
    }
    free(out);

    /* two forecasts of the same hour: the later fetch wins */
    r[0] = rec(61.5, 7.25, utc(2024, 3, 10, 10), AV_WX_FORECAST);
    r[0].v[AV_WX_TEMPERATURE] = 5;
    r[1] = r[0];
    r[1].fetched_at += HOUR_MS;
    r[1].v[AV_WX_TEMPERATURE] = 6;
    out = agg(r, 2, &n);
    CHECK_INT(n, 1);
    if (n == 1)
        CHECK_DBL(out[0].temperature_mean, 6);
    free(out);
}

static void errors(void)
{
    struct av_wx_hour r[2] = {0};
    struct av_wx_day sentinel, *out = &sentinel;
    size_t n = 77;
    char err[AV_ERRBUF_SIZE] = "";

    /* nothing in, nothing out */
    CHECK(av_wx_aggregate(r, 0, NOW, &out, &n, err) == AV_OK);
    CHECK(out == NULL);
    CHECK_INT(n, 0);

    /* two regions mixed: refused, out-parameters untouched */
    out = &sentinel;
    n = 77;
    r[0] = rec(61.5, 7.25, utc(2024, 3, 10, 10), AV_WX_ARCHIVE);
    r[1] = rec(61.5, 7.25, utc(2024, 3, 10, 11), AV_WX_ARCHIVE);
    r[1].region_id = REGION + 1;
    CHECK(av_wx_aggregate(r, 2, NOW, &out, &n, err) == AV_EINVAL);
    CHECK(out == &sentinel);
    CHECK_INT(n, 77);
    CHECK(strstr(err, "region") != NULL);
    CHECK(av_wx_aggregate(r, 2, NOW, &out, &n, NULL) == AV_EINVAL);

    /* a source that is neither archive nor forecast */
    r[1].region_id = REGION;
    r[1].source = 0;
    CHECK(av_wx_aggregate(r, 2, NOW, &out, &n, err) == AV_EINVAL);
    CHECK(out == &sentinel);

    /* a point without coordinates */
    r[1].source = AV_WX_ARCHIVE;
    r[1].latitude = AV_WX_NULL;
    CHECK(av_wx_aggregate(r, 2, NOW, &out, &n, err) == AV_EINVAL);
    CHECK(av_wx_aggregate(NULL, 2, NOW, &out, &n, err) == AV_EINVAL);
    CHECK(out == &sentinel);
    CHECK_INT(n, 77);
}

void suite_wxdaily(void)
{
    names();
    winter_day();
    switch_days();
    nulls();
    two_points();
    directions();
    sources();
    errors();
}
