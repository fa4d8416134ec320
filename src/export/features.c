/* features.c - `export features` (the rules are in features.h): per
 * region, every publication of its warnings (the sink's history) and the
 * hourly weather its rows need (the week before the earliest cut-off to
 * the last day D), sorted by hour, are read; then each row is computed
 * from them alone, a window being a binary-searched slice of the hours.
 * One region at a time, so memory is one region's history and hours. */
#include "features.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../model/regions.h"
#include "../sinks/sink.h"
#include "../transforms/weather_daily.h"

const int av_fx_types[AV_FX_NTYPES] = {3, 5, 7, 10, 30, 45, 50};

/* ---- the pure parts ---- */

#define MS_PER_HOUR 3600000LL

const int av_fx_win_hours[AV_FX_NWIN] = {24, 72, 168};

void av_fx_window_bounds(av_ms t, int nh, av_ms *first, av_ms *end)
{
    av_ms e = t / MS_PER_HOUR * MS_PER_HOUR; /* floor for t >= 0 */

    if (e > t) /* t < 0: division truncated up */
        e -= MS_PER_HOUR;
    if (e < t)
        e += MS_PER_HOUR;
    *end = e;
    *first = e - (av_ms)nh * MS_PER_HOUR;
}

/* The first of hours[0..n) (sorted by hour) stamped at or after t. */
static size_t lower(const struct av_wx_hour *hours, size_t n, av_ms t)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (hours[mid].hour < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

av_rc av_fx_past_window(const struct av_wx_hour *hours, size_t n, av_ms t, int nh,
                        struct av_fx_win *w, char *errbuf)
{
    struct av_wx_day agg;
    av_ms first, end;
    size_t a, b;
    av_rc rc;

    w->hours = w->forecast_hours = 0;
    for (int v = 0; v < AV_FX_NVARS; v++)
        w->v[v] = NAN;
    if (t == AV_NULL_MS)
        return AV_OK;
    av_fx_window_bounds(t, nh, &first, &end);
    a = lower(hours, n, first);
    b = lower(hours, n, end);
    for (size_t i = a; i < b; i++) {
        int fc = 0;
        size_t j = i;
        for (; j < b && hours[j].hour == hours[i].hour; j++)
            fc |= hours[j].source == AV_WX_FORECAST;
        w->forecast_hours += fc;
        i = j - 1;
    }
    rc = av_wx_aggregate_span(hours + a, b - a, &agg, errbuf);
    if (rc != AV_OK)
        return rc;
    w->hours = agg.hours;
    if (agg.hours == nh)
        av_fx_day_values(&agg, w->v);
    return AV_OK;
}

av_rc av_fx_day_forecast(const struct av_wx_hour *hours, size_t n, int64_t date, av_ms t,
                         struct av_feature *f, char *errbuf)
{
    struct av_wx_day agg;
    av_ms first, end, last = AV_NULL_MS;
    size_t a, b;
    av_rc rc;

    for (int v = 0; v < AV_FX_NVARS; v++)
        f->d0[v] = NAN;
    f->d0_hours = AV_NULL_INT;
    f->d0_source = NULL;
    f->d0_fetched_at = AV_NULL_MS;
    av_wx_local_day_hours(date, &first, &end);
    a = lower(hours, n, first);
    b = lower(hours, n, end);
    for (size_t i = a; i < b; i++)
        if (last == AV_NULL_MS || hours[i].fetched_at > last)
            last = hours[i].fetched_at;
    if (!av_fx_day_known(last, t))
        return AV_OK;
    rc = av_wx_aggregate_span(hours + a, b - a, &agg, errbuf);
    if (rc != AV_OK)
        return rc;
    av_fx_day_values(&agg, f->d0);
    f->d0_hours = agg.hours;
    f->d0_source = av_wx_source_name(agg.source);
    f->d0_fetched_at = last;
    return AV_OK;
}

void av_fx_day_values(const struct av_wx_day *d, double out[AV_FX_NVARS])
{
    out[AV_FX_PRECIP] = d->precipitation_sum;
    out[AV_FX_SNOWFALL] = d->snowfall_sum;
    out[AV_FX_TMEAN] = d->temperature_mean;
    out[AV_FX_TMIN] = d->temperature_min;
    out[AV_FX_TMAX] = d->temperature_max;
    out[AV_FX_WMEAN] = d->wind_speed_mean;
    out[AV_FX_WMAX] = d->wind_speed_max;
}

int av_fx_day_known(av_ms last_fetch, av_ms t)
{
    return last_fetch != AV_NULL_MS && t != AV_NULL_MS && last_fetch <= t;
}

static void take_max(int *acc, int v)
{
    if (v != AV_NULL_INT && (*acc == AV_NULL_INT || v > *acc))
        *acc = v;
}

void av_fx_problems(struct av_feature *f, const struct av_warning *w)
{
    const struct av_problem *main = NULL;
    size_t len = 0;

    f->problem_count = w->n_problems;
    f->problem_types[0] = '\0';
    for (int t = 0; t < AV_FX_NTYPES; t++)
        f->has_type[t] = 0;
    f->max_size = f->max_probability = f->max_propagation = f->max_sensitivity = AV_NULL_INT;
    for (int i = 0; i < w->n_problems; i++) {
        const struct av_problem *p = &w->problems[i];
        if (main == NULL || (p->problem_id != AV_NULL_INT &&
                             (main->problem_id == AV_NULL_INT || p->problem_id < main->problem_id)))
            main = p;
        if (p->type_id != AV_NULL_INT && len + 12 < sizeof(f->problem_types)) {
            int n = snprintf(f->problem_types + len, sizeof(f->problem_types) - len, "%s%d",
                             len ? "," : "", p->type_id);
            len += n > 0 ? (size_t)n : 0;
        }
        for (int t = 0; t < AV_FX_NTYPES; t++)
            if (p->type_id == av_fx_types[t])
                f->has_type[t] = 1;
        take_max(&f->max_size, p->destructive_size_id);
        take_max(&f->max_probability, p->probability_id);
        take_max(&f->max_propagation, p->propagation_id);
        take_max(&f->max_sensitivity, p->trigger_sensitivity_id);
    }
    f->main_type = main ? main->type_id : AV_NULL_INT;
    f->main_aspects = main ? main->aspects : AV_NULL_INT;
    f->main_fill = main ? main->exposed_height_fill : AV_NULL_INT;
    f->main_h1 = main ? main->exposed_height_1 : AV_NULL_INT;
    f->main_h2 = main ? main->exposed_height_2 : AV_NULL_INT;
    f->main_min_m = main ? main->exposed_min_m : AV_NULL_INT;
    f->main_max_m = main ? main->exposed_max_m : AV_NULL_INT;
}

av_ms av_fx_cutoff(av_ms publish_time, av_ms first_seen)
{
    return publish_time != AV_NULL_MS ? publish_time : first_seen;
}

/* ---- one region's history ---- */

struct ver {
    int lang;
    int64_t date;
    struct av_version_meta m;
    struct av_feature f; /* the target part: key, level, problems */
};

struct hist {
    struct ver *v;
    int n, cap;
    av_rc rc;
    char *errbuf;
};

static int take_version(void *ud, const struct av_warning *w)
{
    struct hist *h = ud;
    struct ver *x;

    if (h->n == h->cap) {
        int cap = h->cap ? h->cap * 2 : 256;
        struct ver *g = realloc(h->v, (size_t)cap * sizeof(*g));
        if (g == NULL) {
            h->rc = av_fail(h->errbuf, AV_ENOMEM, "out of memory reading the history");
            return 1;
        }
        h->v = g;
        h->cap = cap;
    }
    x = &h->v[h->n++];
    memset(x, 0, sizeof(*x));
    x->lang = w->lang;
    x->date = w->valid_date;
    x->m.publish_time = w->publish_time;
    x->m.first_seen = w->first_seen;
    x->m.version = w->version;
    x->m.superseded_at = w->superseded_at;
    x->f.region_id = w->region_id;
    x->f.valid_date = w->valid_date;
    x->f.lang = w->lang;
    x->f.danger_level = w->danger_level;
    x->f.publish_time = w->publish_time;
    x->f.version = w->version;
    av_fx_problems(&x->f, w);
    return 0;
}

/* The first version of (date, lang) and how many there are (0: none);
 * v is in (date, lang, version) order. */
static int find_key(const struct ver *v, int n, int64_t date, int lang, int *len)
{
    int lo = 0, hi = n, at;

    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (v[mid].date < date || (v[mid].date == date && v[mid].lang < lang))
            lo = mid + 1;
        else
            hi = mid;
    }
    at = lo;
    while (lo < n && v[lo].date == date && v[lo].lang == lang)
        lo++;
    *len = lo - at;
    return at;
}

/* The version of a key av_versions_as_of() picks at t, or -1 (meta:
 * scratch for len entries). */
static int pick(const struct ver *g, int len, av_ms t, struct av_version_meta *meta)
{
    for (int i = 0; i < len; i++)
        meta[i] = g[i].m;
    return av_versions_as_of(meta, len, t);
}

/* ---- one region's hours, sorted by hour ---- */

struct wx {
    struct av_wx_hour *h;
    size_t n, cap;
    av_rc rc;
    char *errbuf;
};

static int take_hour(void *ud, const void *rec)
{
    struct wx *x = ud;

    if (x->n == x->cap) {
        size_t cap = x->cap ? x->cap * 2 : 4096;
        struct av_wx_hour *g = realloc(x->h, cap * sizeof(*g));
        if (g == NULL) {
            x->rc = av_fail(x->errbuf, AV_ENOMEM, "out of memory reading the weather");
            return 1;
        }
        x->h = g;
        x->cap = cap;
    }
    x->h[x->n++] = *(const struct av_wx_hour *)rec;
    return 0;
}

static int cmp_hour(const void *pa, const void *pb)
{
    const struct av_wx_hour *a = pa, *b = pb;

    if (a->hour != b->hour)
        return a->hour < b->hour ? -1 : 1;
    if (a->latitude != b->latitude)
        return a->latitude < b->latitude ? -1 : 1;
    return (a->longitude > b->longitude) - (a->longitude < b->longitude);
}

/* Reads region's stored hours stamped in [from, to), sorted by hour. */
static av_rc wx_load(struct av_sink *s, int region, av_ms from, av_ms to, struct wx *x,
                     char *errbuf)
{
    struct av_query q = {0};
    av_rc rc;

    memset(x, 0, sizeof(*x));
    x->errbuf = errbuf;
    q.regions = &region;
    q.nregions = 1;
    q.from = av_wx_local_date(from);
    q.to = av_wx_local_date(to);
    q.from_ms = from;
    q.to_ms = to;
    rc = av_sink_read_rows(s, &av_ds_wx_hourly, &q, take_hour, x, errbuf);
    if (rc == AV_OK)
        rc = x->rc;
    if (rc == AV_OK && x->n > 1)
        qsort(x->h, x->n, sizeof(*x->h), cmp_hour);
    return rc;
}

/* ---- the rows of one region ---- */

static int in_range(const struct av_query *q, int64_t d)
{
    return d >= q->from && d <= q->to;
}

/* The target version of a key (g[0..len)) or -1 when none by as_of. */
static int target(const struct ver *g, int len, av_ms as_of, struct av_version_meta *meta)
{
    return as_of == AV_NULL_MS ? len - 1 : pick(g, len, as_of, meta);
}

/* Widens [*from, *to) to the hours the row of g[t_at] reads: its windows
 * before T and its day D. */
static void hours_needed(const struct ver *g, av_ms *from, av_ms *to)
{
    av_ms t = av_fx_cutoff(g->m.publish_time, g->m.first_seen), a, b;

    if (t != AV_NULL_MS) {
        av_fx_window_bounds(t, av_fx_win_hours[AV_FX_NWIN - 1], &a, &b);
        *from = a < *from ? a : *from;
        *to = b > *to ? b : *to;
    }
    av_wx_local_day_hours(g->date, &a, &b);
    *from = a < *from ? a : *from;
    *to = b > *to ? b : *to;
}

/* The weather columns of f from the region's sorted hours. */
static av_rc weather(const struct wx *x, struct av_feature *f, char *errbuf)
{
    av_rc rc = AV_OK;

    for (int w = 0; w < AV_FX_NWIN && rc == AV_OK; w++)
        rc = av_fx_past_window(x->h, x->n, f->cutoff, av_fx_win_hours[w], &f->win[w], errbuf);
    if (rc == AV_OK)
        rc = av_fx_day_forecast(x->h, x->n, f->valid_date, f->cutoff, f, errbuf);
    return rc;
}

static av_rc region_rows(struct av_sink *s, int region, const struct av_query *q, av_ms as_of,
                         av_feature_fn fn, void *ud, int *stop, char *errbuf)
{
    struct hist h = {NULL, 0, 0, AV_OK, errbuf};
    struct av_query hq = *q;
    struct av_version_meta *meta = NULL;
    struct wx x;
    av_ms from = INT64_MAX, to = INT64_MIN;
    int maxlen = 0;
    av_rc rc;

    memset(&x, 0, sizeof(x));
    hq.regions = &region;
    hq.nregions = 1;
    hq.parts = AV_PART_PROBLEMS;
    hq.from = q->from == INT64_MIN ? INT64_MIN : q->from - AV_FX_LEVEL_DAYS;
    rc = av_sink_read_history(s, &hq, AV_NULL_MS, take_version, &h, errbuf);
    if (rc == AV_OK)
        rc = h.rc;
    for (int i = 0, len; rc == AV_OK && i < h.n; i += len) {
        find_key(h.v, h.n, h.v[i].date, h.v[i].lang, &len);
        if (len > maxlen)
            maxlen = len;
    }
    if (rc != AV_OK || maxlen == 0)
        goto out;
    meta = malloc((size_t)maxlen * sizeof(*meta));
    if (meta == NULL) {
        rc = av_fail(errbuf, AV_ENOMEM, "out of memory computing the features");
        goto out;
    }
    for (int i = 0, len, t_at; i < h.n; i += len) {
        find_key(h.v, h.n, h.v[i].date, h.v[i].lang, &len);
        if (in_range(q, h.v[i].date) && (t_at = target(&h.v[i], len, as_of, meta)) >= 0)
            hours_needed(&h.v[i + t_at], &from, &to);
    }
    if (from > to)
        goto out; /* no row */
    rc = wx_load(s, region, from, to, &x, errbuf);
    for (int i = 0, len; rc == AV_OK && i < h.n && !*stop; i += len) {
        const struct ver *g = &h.v[i];
        struct av_feature f;
        int t_at;
        find_key(h.v, h.n, g->date, g->lang, &len);
        if (!in_range(q, g->date))
            continue;
        t_at = target(g, len, as_of, meta);
        if (t_at < 0)
            continue; /* not published by as_of */
        f = g[t_at].f;
        f.cutoff = av_fx_cutoff(g[t_at].m.publish_time, g[t_at].m.first_seen);
        for (int k = 1; k <= AV_FX_LEVEL_DAYS; k++) {
            int n, at = find_key(h.v, h.n, g->date - k, g->lang, &n), p;
            p = n ? pick(&h.v[at], n, f.cutoff, meta) : -1;
            f.level_prev[k - 1] = p >= 0 ? h.v[at + p].f.danger_level : AV_NULL_INT;
        }
        rc = weather(&x, &f, errbuf);
        if (rc == AV_OK)
            *stop = fn(ud, &f) != 0;
    }
out:
    free(x.h);
    free(meta);
    free(h.v);
    return rc;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;

    return (x > y) - (x < y);
}

av_rc av_features_read(struct av_sink *s, const struct av_query *q, av_ms as_of,
                       av_feature_fn fn, void *ud, char *errbuf)
{
    int ids[AV_MAX_REGIONS], n = 0, stop = 0;
    av_rc rc = AV_OK;

    if (!av_sink_keeps(s, &av_ds_version) || !av_sink_keeps(s, &av_ds_wx_hourly))
        return av_fail(errbuf, AV_EINVAL,
                       "the %s sink keeps no %s: features need the publication history and "
                       "the hourly weather",
                       av_sink_name(s),
                       av_sink_keeps(s, &av_ds_version) ? "hourly weather"
                                                        : "publication history");
    if (q->regions) {
        for (int i = 0; i < q->nregions && n < AV_MAX_REGIONS; i++)
            ids[n++] = q->regions[i];
    } else {
        for (int i = 0; i < av_regions_count() && n < AV_MAX_REGIONS; i++)
            ids[n++] = av_region_at(i)->id;
    }
    qsort(ids, (size_t)n, sizeof(ids[0]), cmp_int);
    for (int i = 0; i < n && rc == AV_OK && !stop; i++)
        if (i == 0 || ids[i] != ids[i - 1])
            rc = region_rows(s, ids[i], q, as_of, fn, ud, &stop, errbuf);
    return rc;
}
