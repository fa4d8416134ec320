/* openmeteo.c - Open-Meteo URLs, weights, plans, verdicts and the response
 * parser. Pure. See openmeteo.h. */
#include "openmeteo.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/tz.h"

const struct av_opt av_openmeteo_opts[] = {
    {"plan", "sources", AV_OPT_ENUM, "varsom,weather", 0, 0, "varsom|weather|varsom,weather",
     "what run, backfill and serve fetch: the warnings, the weather, or both"},
    {"weather", "archive_base", AV_OPT_STR, AV_OM_ARCHIVE_BASE, 0, 0, NULL,
     "Open-Meteo historical weather base URL (the client appends /archive)"},
    {"weather", "forecast_base", AV_OPT_STR, AV_OM_FORECAST_BASE, 0, 0, NULL,
     "Open-Meteo forecast base URL (the client appends /forecast)"},
    {"weather", "archive_lag_days", AV_OPT_INT, "7", 5, 92, NULL,
     "days older than today - N come from the archive, newer ones from the forecast "
     "API (at least 5: the archive's reanalysis lags ~5 days, and a day neither "
     "serves would stay empty until the archive has it; the forecast keeps 92 past days)"},
    {"weather", "chunk_days", AV_OPT_INT, "92", 1, 366, NULL, "days per archive request"},
    {"weather", "concurrency", AV_OPT_INT, "1", 1, 5, NULL,
     "weather requests at once (the free API runs one per client and queues four)"},
    {"weather", "budget_minute", AV_OPT_INT, "500", 1, 100000000, NULL,
     "weighted calls per minute (the free API allows 600)"},
    {"weather", "budget_hour", AV_OPT_INT, "4000", 1, 100000000, NULL,
     "weighted calls per UTC hour (the free API allows 5,000)"},
    {"weather", "budget_day", AV_OPT_INT, "8000", 1, 100000000, NULL,
     "weighted calls per UTC day; a plan beyond it stops cleanly and the next run "
     "resumes (the free API allows 10,000)"},
    {"weather", "wait_max_ms", AV_OPT_INT, "3900000", 0, 86400000, NULL,
     "longest wait for the next minute or hour window of the budget or the API's limit; "
     "beyond it the rest of the plan is left for the next run"},
    {NULL, NULL, 0, NULL, 0, 0, NULL, NULL},
};

void av_om_opts_from_conf(struct av_om_opts *o, const struct av_conf *c)
{
    o->archive_base = av_conf_str(c, "weather.archive_base");
    o->forecast_base = av_conf_str(c, "weather.forecast_base");
    o->archive_lag_days = (int)av_conf_int(c, "weather.archive_lag_days");
    o->chunk_days = (int)av_conf_int(c, "weather.chunk_days");
    o->forecast_days = (int)av_conf_int(c, "plan.forecast_days");
    o->default_days = (int)av_conf_int(c, "plan.default_days");
    o->grid_km = (int)av_conf_int(c, "weather.grid_km");
    o->max_points = (int)av_conf_int(c, "weather.max_points");
}

int av_om_nvars(int archive)
{
    return archive ? AV_WX_NVARS - 1 : AV_WX_NVARS; /* the archive has no freezing level */
}

double av_om_weight(int npoints, int days, int nvars)
{
    double v = nvars / 10.0, per = v * (days / 14.0 > 1.0 ? days / 14.0 : 1.0);

    if (per < 1.0)
        per = 1.0;
    return per * npoints;
}

av_rc av_om_unit_url(const struct av_om_opts *o, struct av_om_unit *u,
                     const struct av_point *pts, int npoints, char *errbuf)
{
    const char *base = u->archive ? o->archive_base : o->forecast_base;
    size_t bl = strlen(base), len;
    char f[AV_DATE_LEN], t[AV_DATE_LEN];
    int nv = av_om_nvars(u->archive), w;

    while (bl > 0 && base[bl - 1] == '/')
        bl--;
    w = snprintf(u->url, sizeof(u->url), "%.*s/%s?latitude=", (int)bl, base,
                 u->archive ? "archive" : "forecast");
    for (int i = 0; i < npoints && w >= 0 && (size_t)w < sizeof(u->url); i++)
        w += snprintf(u->url + w, sizeof(u->url) - (size_t)w, "%s%.4f", i ? "," : "",
                      pts[i].latitude);
    if (w >= 0 && (size_t)w < sizeof(u->url))
        w += snprintf(u->url + w, sizeof(u->url) - (size_t)w, "&longitude=");
    for (int i = 0; i < npoints && w >= 0 && (size_t)w < sizeof(u->url); i++)
        w += snprintf(u->url + w, sizeof(u->url) - (size_t)w, "%s%.4f", i ? "," : "",
                      pts[i].longitude);
    if (w >= 0 && (size_t)w < sizeof(u->url))
        w += snprintf(u->url + w, sizeof(u->url) - (size_t)w, "&hourly=");
    for (int v = 0; v < nv && w >= 0 && (size_t)w < sizeof(u->url); v++)
        w += snprintf(u->url + w, sizeof(u->url) - (size_t)w, "%s%s", v ? "," : "",
                      av_wx_var_names[v]);
    av_date_format(u->from - 1, f);
    av_date_format(u->to, t);
    if (w >= 0 && (size_t)w < sizeof(u->url))
        w += snprintf(u->url + w, sizeof(u->url) - (size_t)w,
                      "&start_date=%s&end_date=%s&timezone=GMT&wind_speed_unit=ms"
                      "&timeformat=iso8601",
                      f, t);
    len = w < 0 ? sizeof(u->url) : (size_t)w;
    if (len >= sizeof(u->url))
        return av_fail(errbuf, AV_ELIMIT,
                       "weather request URL for region %d is over %d bytes (base URL too long "
                       "or too many points)",
                       u->region_id, AV_OM_URL_MAX - 1);
    u->npoints = npoints;
    u->weight = av_om_weight(npoints, (int)(u->to - u->from + 2), nv);
    return AV_OK;
}

/* The comma list of numbers after "name=" in url's query. */
static int url_list(const char *url, const char *name, double *out, int cap, int *n)
{
    const char *q = strchr(url, '?'), *p;
    size_t nl = strlen(name);

    *n = 0;
    if (q == NULL)
        return -1;
    for (p = q + 1; *p;) {
        if (strncmp(p, name, nl) == 0 && p[nl] == '=') {
            p += nl + 1;
            for (;;) {
                char *e;
                double v = strtod(p, &e);
                if (e == p || *n >= cap || !isfinite(v))
                    return -1;
                out[(*n)++] = v;
                p = e;
                if (*p != ',')
                    return *p == '&' || *p == '\0' ? 0 : -1;
                p++;
            }
        }
        p = strchr(p, '&');
        if (p == NULL)
            break;
        p++;
    }
    return -1;
}

av_rc av_om_url_points(const char *url, int region_id, struct av_point *pts, int cap, int *n,
                       char *errbuf)
{
    double lat[AV_OM_MAX_POINTS], lon[AV_OM_MAX_POINTS];
    int nlat, nlon;

    if (cap > AV_OM_MAX_POINTS)
        cap = AV_OM_MAX_POINTS;
    if (url_list(url, "latitude", lat, cap, &nlat) != 0 ||
        url_list(url, "longitude", lon, cap, &nlon) != 0 || nlat != nlon || nlat == 0)
        return av_fail(errbuf, AV_EPARSE,
                       "weather request URL has no equal latitude/longitude lists of at most "
                       "%d points: %.120s",
                       cap, url);
    for (int i = 0; i < nlat; i++) {
        pts[i].region_id = region_id;
        pts[i].latitude = lat[i];
        pts[i].longitude = lon[i];
    }
    *n = nlat;
    return AV_OK;
}

static av_rc add_unit(const struct av_om_opts *o, int region, int archive, int64_t from,
                      int64_t to, int hole, const struct av_point *pts, int npoints,
                      struct av_om_unit **units, size_t *n, char *errbuf)
{
    struct av_om_unit *grown = realloc(*units, (*n + 1) * sizeof(**units)), *u;

    if (grown == NULL)
        return av_fail(errbuf, AV_ENOMEM, "out of memory planning weather requests");
    *units = grown;
    u = &grown[*n];
    memset(u, 0, sizeof(*u));
    u->region_id = region;
    u->archive = archive;
    u->from = from;
    u->to = to;
    u->hole = hole;
    if (av_om_unit_url(o, u, pts, npoints, errbuf) != AV_OK)
        return AV_ELIMIT;
    (*n)++;
    return AV_OK;
}

static av_rc archive_units(const struct av_om_opts *o, int region, const struct av_point *pts,
                           int npoints, int64_t from, int64_t to, int hole,
                           struct av_om_unit **units, size_t *n, char *errbuf)
{
    for (int64_t d = from; d <= to; d += o->chunk_days) {
        int64_t last = d + o->chunk_days - 1;
        av_rc rc = add_unit(o, region, 1, d, last < to ? last : to, hole, pts, npoints, units,
                            n, errbuf);
        if (rc != AV_OK)
            return rc;
    }
    return AV_OK;
}

av_rc av_om_plan_region(const struct av_om_opts *o, int region, const struct av_point *pts,
                        int npoints, int64_t last_complete, int64_t today, int64_t from,
                        int64_t to, struct av_om_unit **units, size_t *n, char *errbuf)
{
    int64_t split = today - o->archive_lag_days; /* first day from the forecast */
    int64_t end = today + o->forecast_days, start;
    av_rc rc;

    if (from != INT64_MIN) {
        start = from;
        if (to != INT64_MIN && to < end)
            end = to;
    } else {
        start = last_complete >= 0 ? last_complete + 1 : today - o->default_days;
        if (to != INT64_MIN && to < end)
            end = to;
    }
    if (from != INT64_MIN && start > end)
        return av_fail(errbuf, AV_EINVAL, "empty date range: --from is after --to");
    rc = archive_units(o, region, pts, npoints, start, end < split - 1 ? end : split - 1, 0,
                       units, n, errbuf);
    if (rc == AV_OK && end >= split)
        rc = add_unit(o, region, 0, start > split ? start : split, end, 0, pts, npoints, units,
                      n, errbuf);
    return rc;
}

av_rc av_om_plan_hole(const struct av_om_opts *o, int region, const struct av_point *pts,
                      int npoints, int64_t from, int64_t to, int64_t today,
                      struct av_om_unit **units, size_t *n, char *errbuf)
{
    int64_t last = today - o->archive_lag_days - 1;

    return archive_units(o, region, pts, npoints, from, to < last ? to : last, 1, units, n,
                         errbuf);
}

/* ---- verdicts ---- */

/* The "reason" of an Open-Meteo error body, or "". */
static void reason_of(const char *body, size_t len, char *out, size_t cap)
{
    struct av_json j;
    struct av_buf b;
    size_t off;
    int r;

    out[0] = '\0';
    if (body == NULL || len == 0)
        return;
    av_json_init(&j, 1024, 8);
    av_buf_init(&b, 4096);
    if (av_json_parse(&j, body, len, NULL) == AV_OK && (r = av_json_get(&j, 0, "reason")) >= 0 &&
        av_json_str(&j, r, &b, &off) == AV_OK) {
        const char *s = b.data + off;
        size_t k = 0;
        for (; *s && k + 1 < cap; s++) /* one printable line */
            out[k++] = (unsigned char)*s < 0x20 ? ' ' : *s;
        out[k] = '\0';
    }
    av_buf_free(&b);
    av_json_free(&j);
}

static int complete_json(const char *body, size_t len)
{
    static const char marker[] = "Unexpected error while streaming data";

    while (len > 0 && (body[len - 1] == ' ' || body[len - 1] == '\n' || body[len - 1] == '\r' ||
                       body[len - 1] == '\t'))
        len--;
    if (len == 0 || (body[len - 1] != '}' && body[len - 1] != ']'))
        return 0;
    return memmem(body, len, marker, sizeof(marker) - 1) == NULL;
}

enum av_om_verdict av_om_judge(long status, const char *body, size_t len, av_ms now,
                               long long *wait_ms, char *why, size_t cap)
{
    char reason[200];

    *wait_ms = 0;
    if (status >= 200 && status < 300) {
        if (complete_json(body, len))
            return AV_OM_ACCEPT;
        snprintf(why, cap, "HTTP %ld with a truncated body (%zu bytes; the server's stream "
                           "broke off)", status, len);
        return AV_OM_RETRY;
    }
    reason_of(body, len, reason, sizeof(reason));
    if (status == 429) {
        if (strncmp(reason, "Daily", 5) == 0) {
            snprintf(why, cap, "HTTP 429: %s", reason);
            return AV_OM_STOP;
        }
        if (strncmp(reason, "Minutely", 8) == 0 || strncmp(reason, "Hourly", 6) == 0) {
            long long win = reason[0] == 'M' ? 60000LL : 3600000LL;
            *wait_ms = win - (long long)(now % win) + 1000; /* the next fixed window, +1 s */
            snprintf(why, cap, "HTTP 429: %s", reason);
            return AV_OM_WAIT;
        }
        snprintf(why, cap, "HTTP 429%s%s", reason[0] ? ": " : "", reason);
        return AV_OM_RETRY;
    }
    if (status >= 500) {
        snprintf(why, cap, "HTTP %ld%s%s", status, reason[0] ? ": " : "", reason);
        return AV_OM_RETRY;
    }
    snprintf(why, cap, "HTTP %ld%s%s", status, reason[0] ? ": " : " (no reason given)", reason);
    return AV_OM_FINAL;
}

/* ---- parse ---- */

static const char *const want_unit[AV_WX_NVARS] = {
    "\xc2\xb0" "C", "%", "mm", "mm", "cm", "m", "m/s", "\xc2\xb0", "m/s", "m",
};

static int tok_is(const struct av_json *j, int i, const char *s)
{
    size_t n;
    const char *p;

    if (av_json_type(j, i) != AV_JSON_STRING)
        return 0;
    p = av_json_raw(j, i, &n);
    return n == strlen(s) && memcmp(p, s, n) == 0;
}

/* The unit string of an object, compared with its \u escapes resolved. */
static int unit_ok(struct av_json *j, int units, int v, struct av_buf *tmp)
{
    int u = av_json_get(j, units, av_wx_var_names[v]);
    size_t off;

    if (u < 0)
        return 1; /* no units block entry: nothing to contradict */
    av_buf_reset(tmp);
    if (av_json_str(j, u, tmp, &off) != AV_OK)
        return 0;
    return strcmp(tmp->data + off, want_unit[v]) == 0;
}

static int parse_hour(const char *p, size_t n, av_ms *t)
{
    char d[AV_DATE_LEN];
    int64_t days;
    int h, m;

    if (n != 16 || p[10] != 'T' || p[13] != ':')
        return -1;
    memcpy(d, p, 10);
    d[10] = '\0';
    if (av_date_parse(d, &days) != AV_OK || p[11] < '0' || p[11] > '9' || p[12] < '0' ||
        p[12] > '9' || p[14] != '0' || p[15] != '0')
        return -1;
    h = (p[11] - '0') * 10 + (p[12] - '0');
    m = 0;
    if (h > 23)
        return -1;
    *t = (days * 86400LL + h * 3600LL + m) * 1000LL;
    return 0;
}

static int number(const struct av_json *j, int i, double *v)
{
    char tmp[40];
    size_t n;
    const char *p;
    char *e;

    if (av_json_type(j, i) == AV_JSON_NULL) {
        *v = AV_WX_NULL;
        return 0;
    }
    if (av_json_type(j, i) != AV_JSON_NUMBER)
        return -1;
    p = av_json_raw(j, i, &n);
    if (n >= sizeof(tmp))
        return -1;
    memcpy(tmp, p, n);
    tmp[n] = '\0';
    *v = strtod(tmp, &e);
    return *e == '\0' && isfinite(*v) ? 0 : -1;
}

static av_rc parse_point(struct av_json *j, int obj, int k, const struct av_point *pt,
                         av_ms lo, av_ms hi, int source, av_ms fetched_at,
                         struct av_wx_hour **out, size_t *n, struct av_buf *tmp, char *errbuf)
{
    int hourly, units, times, arr[AV_WX_NVARS], nt, lid, off;
    int64_t v64;
    struct av_wx_hour *grown;
    size_t base;

    if (av_json_type(j, obj) != AV_JSON_OBJECT)
        return av_fail(errbuf, AV_EPARSE, "point %d: not a JSON object", k);
    if ((lid = av_json_get(j, obj, "location_id")) >= 0 &&
        (av_json_int(j, lid, &v64) != AV_OK || v64 != k))
        return av_fail(errbuf, AV_EPARSE, "point %d: location_id is not %d (answers out of "
                                          "request order)", k, k);
    if ((off = av_json_get(j, obj, "utc_offset_seconds")) >= 0 &&
        (av_json_int(j, off, &v64) != AV_OK || v64 != 0))
        return av_fail(errbuf, AV_EPARSE, "point %d: utc_offset_seconds is not 0 (GMT was "
                                          "requested)", k);
    hourly = av_json_get(j, obj, "hourly");
    units = av_json_get(j, obj, "hourly_units");
    if (av_json_type(j, hourly) != AV_JSON_OBJECT)
        return av_fail(errbuf, AV_EPARSE, "point %d: no \"hourly\" object", k);
    times = av_json_get(j, hourly, "time");
    if (av_json_type(j, times) != AV_JSON_ARRAY)
        return av_fail(errbuf, AV_EPARSE, "point %d: no hourly \"time\" array", k);
    nt = av_json_size(j, times);
    if (units >= 0 && av_json_type(j, units) == AV_JSON_OBJECT) {
        int tu = av_json_get(j, units, "time");
        if (tu >= 0 && !tok_is(j, tu, "iso8601"))
            return av_fail(errbuf, AV_EPARSE, "point %d: hourly time is not iso8601", k);
    }
    for (int v = 0; v < AV_WX_NVARS; v++) {
        arr[v] = av_json_get(j, hourly, av_wx_var_names[v]);
        if (arr[v] < 0)
            continue;
        if (av_json_type(j, arr[v]) != AV_JSON_ARRAY || av_json_size(j, arr[v]) != nt)
            return av_fail(errbuf, AV_EPARSE, "point %d: %s is not an array of %d values", k,
                           av_wx_var_names[v], nt);
        if (units >= 0 && av_json_type(j, units) == AV_JSON_OBJECT && !unit_ok(j, units, v, tmp))
            return av_fail(errbuf, AV_EPARSE, "point %d: %s is not in %s", k,
                           av_wx_var_names[v], want_unit[v]);
        arr[v] = av_json_first(arr[v]);
    }
    grown = realloc(*out, (*n + (size_t)nt + 1) * sizeof(**out));
    if (grown == NULL)
        return av_fail(errbuf, AV_ENOMEM, "out of memory reading %d hours", nt);
    *out = grown;
    base = *n;
    for (int i = 0, t = av_json_first(times); i < nt; i++, t = av_json_skip(j, t)) {
        struct av_wx_hour *h = &grown[base + (size_t)i];
        const char *p;
        size_t len;

        if (av_json_type(j, t) != AV_JSON_STRING)
            return av_fail(errbuf, AV_EPARSE, "point %d: time[%d] is not a string", k, i);
        p = av_json_raw(j, t, &len);
        if (parse_hour(p, len, &h->hour) != 0)
            return av_fail(errbuf, AV_EPARSE, "point %d: time[%d] \"%.*s\" is not "
                                              "YYYY-MM-DDTHH:00", k, i, (int)(len > 20 ? 20 : len), p);
        if (h->hour < lo || h->hour >= hi)
            return av_fail(errbuf, AV_EPARSE, "point %d: time[%d] %.*s is outside the "
                                              "requested days", k, i, (int)len, p);
        if (i > 0 && h->hour <= h[-1].hour)
            return av_fail(errbuf, AV_EPARSE, "point %d: time[%d] %.*s is not after the "
                                              "hour before", k, i, (int)len, p);
        h->region_id = pt->region_id;
        h->latitude = pt->latitude;
        h->longitude = pt->longitude;
        h->source = source;
        h->fetched_at = fetched_at;
        for (int v = 0; v < AV_WX_NVARS; v++) {
            if (arr[v] < 0) {
                h->v[v] = AV_WX_NULL;
                continue;
            }
            if (number(j, arr[v], &h->v[v]) != 0)
                return av_fail(errbuf, AV_EPARSE, "point %d: %s[%d] is not a number or null",
                               k, av_wx_var_names[v], i);
            arr[v] = av_json_skip(j, arr[v]);
        }
    }
    *n = base + (size_t)nt;
    return AV_OK;
}

av_rc av_om_parse(struct av_json *j, const char *body, size_t len, const struct av_point *pts,
                  int npoints, int64_t from, int64_t to, int source, av_ms fetched_at,
                  struct av_wx_hour **out, size_t *n, char *errbuf)
{
    char e[AV_ERRBUF_SIZE];
    av_ms lo = (from - 1) * 86400000LL, hi = (to + 1) * 86400000LL;
    struct av_buf tmp;
    size_t before = *n;
    av_rc rc = AV_OK;

    if (av_json_parse(j, body, len, e) != AV_OK)
        return av_fail(errbuf, AV_EPARSE, "not JSON: %s", e);
    av_buf_init(&tmp, 4096);
    if (av_json_type(j, 0) == AV_JSON_ARRAY) {
        int i = av_json_first(0), k = 0, size = av_json_size(j, 0);
        if (size != npoints)
            rc = av_fail(errbuf, AV_EPARSE, "%d answers for %d requested points", size,
                         npoints);
        for (; rc == AV_OK && k < size; k++, i = av_json_skip(j, i))
            rc = parse_point(j, i, k, &pts[k], lo, hi, source, fetched_at, out, n, &tmp,
                             errbuf);
    } else if (av_json_type(j, 0) == AV_JSON_OBJECT) {
        if (av_json_get(j, 0, "error") >= 0)
            rc = av_fail(errbuf, AV_EPARSE, "an error object, not weather");
        else if (npoints != 1)
            rc = av_fail(errbuf, AV_EPARSE, "1 answer for %d requested points", npoints);
        else
            rc = parse_point(j, 0, 0, &pts[0], lo, hi, source, fetched_at, out, n, &tmp,
                             errbuf);
    } else {
        rc = av_fail(errbuf, AV_EPARSE, "neither an object nor an array of objects");
    }
    av_buf_free(&tmp);
    if (rc != AV_OK)
        *n = before;
    return rc;
}
