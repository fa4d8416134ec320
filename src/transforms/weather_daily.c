/* weather_daily.c - hourly weather records -> daily records per Europe/Oslo
 * day (the contract is in weather_daily.h).
 *
 * One pass after one sort: an index of the records is sorted by (local
 * day, point, hour, priority), so each day, each point within the day and
 * each hour within the point are contiguous runs. An hour run is merged
 * into one hour, folded into the point's accumulators; a finished point
 * folds its daily values into the region's; a finished day is emitted.
 * Summation order is the sorted order, so the input order never changes a
 * bit of the result. A span (av_wx_aggregate_span) is the same pass with
 * every record filed under one day.
 */
#include "weather_daily.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MS_PER_HOUR 3600000LL
#define MS_PER_DAY 86400000LL
#define DIR_MIN_RESULTANT 1e-9 /* below this, a vector mean has no direction */

/* Source bits, so a day's sources can be unioned. */
#define BIT_ARCHIVE 1u
#define BIT_FORECAST 2u

/* The daily columns, in struct av_wx_day's order. */
enum {
    D_TMIN,
    D_TMEAN,
    D_TMAX,
    D_PRECIP,
    D_RAIN,
    D_SNOWFALL,
    D_SNOWDEPTH,
    D_WSMEAN,
    D_WSMAX,
    D_GUSTMAX,
    D_DIR,
    D_HUMIDITY,
    D_FREEZING,
    D_N
};

struct ent {
    int64_t day; /* local date of r->hour */
    size_t pos;  /* input position: the last tie-break */
    const struct av_wx_hour *r;
};

/* One hourly variable at one point over one day. */
struct acc {
    size_t n;             /* non-null hours */
    double sum, min, max; /* of the values */
    double s, c;          /* sums of sin and cos (directions) */
};

/* One column of the region over one day: the points' daily values. */
struct region {
    double sum[D_N];
    size_t n[D_N];
    double s, c; /* directions: sums of sin and cos of the points' ones */
};

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;

    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

int64_t av_wx_local_date(av_ms t) { return floor_div(av_oslo_utc_to_local(t), MS_PER_DAY); }

void av_wx_local_day_hours(int64_t date, av_ms *first, av_ms *end)
{
    /* Local midnight always exists once in Oslo (the switches are at 02:00
     * and 03:00 local), so the conversion is unambiguous. */
    *first = av_oslo_local_to_utc(date * MS_PER_DAY);
    *end = av_oslo_local_to_utc((date + 1) * MS_PER_DAY);
}

int av_wx_day_hours(int64_t date)
{
    av_ms first, end;

    av_wx_local_day_hours(date, &first, &end);
    return (int)((end - first) / MS_PER_HOUR);
}

static int cmp_double(double a, double b) { return (a > b) - (a < b); }

static int cmp_i64(int64_t a, int64_t b) { return (a > b) - (a < b); }

/* Day, point, hour ascending; then the winner of a duplicate first: higher
 * source, later fetched_at, earlier input position. */
static int cmp_ent(const void *pa, const void *pb)
{
    const struct ent *a = pa, *b = pb;
    int c;

    if ((c = cmp_i64(a->day, b->day)) != 0)
        return c;
    if ((c = cmp_double(a->r->latitude, b->r->latitude)) != 0)
        return c;
    if ((c = cmp_double(a->r->longitude, b->r->longitude)) != 0)
        return c;
    if ((c = cmp_i64(a->r->hour, b->r->hour)) != 0)
        return c;
    if ((c = cmp_i64(b->r->source, a->r->source)) != 0)
        return c;
    if ((c = cmp_i64(b->r->fetched_at, a->r->fetched_at)) != 0)
        return c;
    return (a->pos > b->pos) - (a->pos < b->pos);
}

static int same_point(const struct av_wx_hour *a, const struct av_wx_hour *b)
{
    return a->latitude == b->latitude && a->longitude == b->longitude;
}

static unsigned source_bit(int source)
{
    return source == AV_WX_ARCHIVE ? BIT_ARCHIVE : BIT_FORECAST;
}

static double mean_or_null(double sum, size_t n) { return n ? sum / (double)n : AV_WX_NULL; }

/* Unit-vector mean of n directions whose sines and cosines sum to s and c:
 * degrees in [0, 360), or null when n is 0 or the mean vector is (nearly)
 * zero. */
static double vector_mean(double s, double c, size_t n)
{
    double ms, mc, deg;

    if (n == 0)
        return AV_WX_NULL;
    ms = s / (double)n;
    mc = c / (double)n;
    if (hypot(ms, mc) < DIR_MIN_RESULTANT)
        return AV_WX_NULL;
    deg = atan2(ms, mc) * (180.0 / M_PI);
    if (deg < 0)
        deg += 360.0;
    if (deg >= 360.0) /* a tiny negative angle plus 360 can round to 360 */
        deg -= 360.0;
    return deg;
}

static void acc_add(struct acc *a, int var, double v)
{
    if (a->n == 0 || v < a->min)
        a->min = v;
    if (a->n == 0 || v > a->max)
        a->max = v;
    a->n++;
    a->sum += v;
    if (var == AV_WX_WIND_DIR) {
        double rad = v * (M_PI / 180.0);
        a->s += sin(rad);
        a->c += cos(rad);
    }
}

/* Merges the duplicates e[0..k) of one point and hour (winner first) and
 * adds the merged hour to acc[]. Returns the sources it used. */
static unsigned add_hour(struct acc acc[AV_WX_NVARS], const struct ent *e, size_t k)
{
    unsigned bits = 0;

    for (int var = 0; var < AV_WX_NVARS; var++) {
        for (size_t j = 0; j < k; j++) {
            double v = e[j].r->v[var];
            if (!av_wx_isnull(v)) {
                acc_add(&acc[var], var, v);
                bits |= source_bit(e[j].r->source);
                break;
            }
        }
    }
    return bits ? bits : source_bit(e[0].r->source);
}

/* One point's daily values from its accumulators. */
static void point_day(const struct acc acc[AV_WX_NVARS], double d[D_N])
{
    const struct acc *t = &acc[AV_WX_TEMPERATURE];
    const struct acc *w = &acc[AV_WX_WIND_SPEED];
    const struct acc *dir = &acc[AV_WX_WIND_DIR];

    d[D_TMIN] = t->n ? t->min : AV_WX_NULL;
    d[D_TMEAN] = mean_or_null(t->sum, t->n);
    d[D_TMAX] = t->n ? t->max : AV_WX_NULL;
    d[D_PRECIP] = acc[AV_WX_PRECIPITATION].n ? acc[AV_WX_PRECIPITATION].sum : AV_WX_NULL;
    d[D_RAIN] = acc[AV_WX_RAIN].n ? acc[AV_WX_RAIN].sum : AV_WX_NULL;
    d[D_SNOWFALL] = acc[AV_WX_SNOWFALL].n ? acc[AV_WX_SNOWFALL].sum : AV_WX_NULL;
    d[D_SNOWDEPTH] = mean_or_null(acc[AV_WX_SNOW_DEPTH].sum, acc[AV_WX_SNOW_DEPTH].n);
    d[D_WSMEAN] = mean_or_null(w->sum, w->n);
    d[D_WSMAX] = w->n ? w->max : AV_WX_NULL;
    d[D_GUSTMAX] = acc[AV_WX_GUSTS].n ? acc[AV_WX_GUSTS].max : AV_WX_NULL;
    d[D_DIR] = vector_mean(dir->s, dir->c, dir->n);
    d[D_HUMIDITY] = mean_or_null(acc[AV_WX_HUMIDITY].sum, acc[AV_WX_HUMIDITY].n);
    d[D_FREEZING] = mean_or_null(acc[AV_WX_FREEZING].sum, acc[AV_WX_FREEZING].n);
}

static void region_add(struct region *g, const double d[D_N])
{
    for (int k = 0; k < D_N; k++) {
        if (av_wx_isnull(d[k]))
            continue;
        g->n[k]++;
        if (k == D_DIR) {
            double rad = d[k] * (M_PI / 180.0);
            g->s += sin(rad);
            g->c += cos(rad);
        } else {
            g->sum[k] += d[k];
        }
    }
}

static void region_emit(const struct region *g, struct av_wx_day *day)
{
    double v[D_N];

    for (int k = 0; k < D_N; k++)
        v[k] = k == D_DIR ? vector_mean(g->s, g->c, g->n[k]) : mean_or_null(g->sum[k], g->n[k]);
    day->temperature_min = v[D_TMIN];
    day->temperature_mean = v[D_TMEAN];
    day->temperature_max = v[D_TMAX];
    day->precipitation_sum = v[D_PRECIP];
    day->rain_sum = v[D_RAIN];
    day->snowfall_sum = v[D_SNOWFALL];
    day->snow_depth_mean = v[D_SNOWDEPTH];
    day->wind_speed_mean = v[D_WSMEAN];
    day->wind_speed_max = v[D_WSMAX];
    day->gusts_max = v[D_GUSTMAX];
    day->wind_direction_dominant = v[D_DIR];
    day->humidity_mean = v[D_HUMIDITY];
    day->freezing_level_mean = v[D_FREEZING];
}

/* AV_OK or AV_EINVAL with the first bad record named in errbuf. */
static av_rc validate(const struct av_wx_hour *hours, size_t n, char *errbuf)
{
    const av_ms lo = av_days_from_civil(1, 1, 1) * MS_PER_DAY;
    const av_ms hi = av_days_from_civil(10000, 1, 1) * MS_PER_DAY;

    if (n > 0 && hours == NULL)
        return av_fail(errbuf, AV_EINVAL, "weather aggregation: %zu records at NULL", n);
    for (size_t i = 0; i < n; i++) {
        const struct av_wx_hour *r = &hours[i];
        if (r->region_id != hours[0].region_id)
            return av_fail(errbuf, AV_EINVAL,
                           "weather aggregation: record %zu is region %d, record 0 region %d; "
                           "aggregate one region per call",
                           i, r->region_id, hours[0].region_id);
        if (r->source != AV_WX_ARCHIVE && r->source != AV_WX_FORECAST)
            return av_fail(errbuf, AV_EINVAL,
                           "weather aggregation: record %zu has source %d, "
                           "expected archive (%d) or forecast (%d)",
                           i, r->source, AV_WX_ARCHIVE, AV_WX_FORECAST);
        if (!isfinite(r->latitude) || !isfinite(r->longitude))
            return av_fail(errbuf, AV_EINVAL,
                           "weather aggregation: record %zu has no finite latitude/longitude", i);
        if (r->hour < lo || r->hour >= hi)
            return av_fail(errbuf, AV_EINVAL,
                           "weather aggregation: record %zu has hour %lld ms, outside years "
                           "1-9999",
                           i, (long long)r->hour);
    }
    return AV_OK;
}

/* av_wx_aggregate, or with span every record in one group (day 0). */
static av_rc aggregate(const struct av_wx_hour *hours, size_t n, av_ms now, int span,
                       struct av_wx_day **out, size_t *nout, char *errbuf)
{
    struct ent *e = NULL;
    struct av_wx_day *days = NULL;
    size_t ndays = 0, i, d;
    av_rc rc;

    if ((rc = validate(hours, n, errbuf)) != AV_OK)
        return rc;
    if (n == 0) {
        *out = NULL;
        *nout = 0;
        return AV_OK;
    }
    if (n > SIZE_MAX / sizeof(*e))
        return av_fail(errbuf, AV_ENOMEM, "weather aggregation: %zu records: too many", n);
    e = malloc(n * sizeof(*e));
    if (e == NULL)
        return av_fail(errbuf, AV_ENOMEM, "weather aggregation: no memory for %zu records", n);
    for (i = 0; i < n; i++) {
        e[i].day = span ? 0 : av_wx_local_date(hours[i].hour);
        e[i].pos = i;
        e[i].r = &hours[i];
    }
    qsort(e, n, sizeof(*e), cmp_ent);

    for (i = 0; i < n; i++)
        if (i == 0 || e[i].day != e[i - 1].day)
            ndays++;
    days = calloc(ndays, sizeof(*days));
    if (days == NULL) {
        rc = av_fail(errbuf, AV_ENOMEM, "weather aggregation: no memory for %zu days", ndays);
        goto fail;
    }

    for (i = 0, d = 0; i < n; d++) {
        struct av_wx_day *day = &days[d];
        struct region g = {0};
        unsigned bits = 0;
        size_t most_hours = 0;

        day->region_id = e[i].r->region_id;
        day->date = e[i].day;
        day->computed_at = now;
        while (i < n && e[i].day == day->date) {
            const struct av_wx_hour *p = e[i].r;
            struct acc acc[AV_WX_NVARS] = {0};
            double pd[D_N];

            while (i < n && e[i].day == day->date && same_point(e[i].r, p)) {
                size_t j = i + 1;
                while (j < n && e[j].day == day->date && same_point(e[j].r, p) &&
                       e[j].r->hour == e[i].r->hour)
                    j++;
                bits |= add_hour(acc, &e[i], j - i);
                i = j;
            }
            point_day(acc, pd);
            region_add(&g, pd);
            day->points++;
            if (acc[AV_WX_TEMPERATURE].n > most_hours)
                most_hours = acc[AV_WX_TEMPERATURE].n;
        }
        day->hours = most_hours > INT_MAX ? INT_MAX : (int)most_hours;
        day->source = bits == BIT_ARCHIVE    ? AV_WX_ARCHIVE
                      : bits == BIT_FORECAST ? AV_WX_FORECAST
                                             : 0;
        region_emit(&g, day);
    }

    free(e);
    *out = days;
    *nout = ndays;
    return AV_OK;

fail:
    free(days);
    free(e);
    return rc;
}

av_rc av_wx_aggregate(const struct av_wx_hour *hours, size_t n, av_ms now, struct av_wx_day **out,
                      size_t *nout, char *errbuf)
{
    return aggregate(hours, n, now, 0, out, nout, errbuf);
}

av_rc av_wx_aggregate_span(const struct av_wx_hour *hours, size_t n, struct av_wx_day *out,
                           char *errbuf)
{
    struct av_wx_day *one = NULL;
    size_t k = 0;
    av_rc rc = aggregate(hours, n, 0, 1, &one, &k, errbuf);

    if (rc != AV_OK)
        return rc;
    if (k == 1) {
        *out = *one;
    } else { /* no records */
        memset(out, 0, sizeof(*out));
        region_emit(&(struct region){0}, out);
    }
    free(one);
    return AV_OK;
}
