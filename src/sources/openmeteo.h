/* openmeteo.h - the Open-Meteo weather API as data: request URLs, their
 * weight against the free limits, the fetch plan, what an answer means,
 * and the parse of a response into hourly records. Pure code (no I/O).
 *
 * A weather unit is one request: one region's points (a comma list; the
 * API answers an array in request order), one endpoint, the local Oslo
 * days from..to. The API applies a named time zone as one fixed offset for
 * the whole series, so requests always ask for GMT and cover the GMT days
 * from-1..to: local day `from` starts at 22:00 or 23:00 UTC the day before.
 * Days older than today - weather.archive_lag_days come from the archive
 * (/archive), the recent and coming ones, through today +
 * plan.forecast_days, from the forecast endpoint (/forecast, which also
 * has the freezing level). Wind is requested in m/s.
 *
 * Weight (what the free API counts, ../shared/open-meteo.md §7): per point
 * max(1, v/10 * max(1, days/14)) for v variables, summed over the points.
 *
 * Parsing is strict: the answer must have exactly one object per requested
 * point (in order; location_id, when present, equal to its index), offset
 * 0 (GMT), a time array of "YYYY-MM-DDTHH:MM" hours inside the requested
 * GMT days, value arrays as long as it holding numbers or null, and the
 * units we asked for. Anything else is AV_EPARSE with one line saying
 * what and where (the caller rejects the body whole).
 */
#ifndef AV_OPENMETEO_H
#define AV_OPENMETEO_H

#include <stddef.h>
#include <stdint.h>

#include "../core/conf.h"
#include "../core/err.h"
#include "../core/json.h"
#include "../model/weather.h"

#define AV_OM_ARCHIVE_BASE "https://archive-api.open-meteo.com/v1"
#define AV_OM_FORECAST_BASE "https://api.open-meteo.com/v1"
#define AV_OM_MAX_POINTS 50 /* per region (weather.max_points bounds) */
#define AV_OM_URL_MAX 2048

extern const struct av_opt av_openmeteo_opts[];

/* The fetch-state and hole "endpoint" names of the two sources (lang 0). */
#define AV_OM_EP_ARCHIVE "archive"
#define AV_OM_EP_FORECAST "forecast"

struct av_om_unit {
    int region_id;
    int archive;      /* 1 archive, 0 forecast */
    int64_t from, to; /* local days, inclusive */
    int npoints;
    double weight;
    int hole;         /* planned from a hole an earlier run left */
    char url[AV_OM_URL_MAX];
};

struct av_om_opts {
    const char *archive_base, *forecast_base;
    int archive_lag_days, chunk_days, forecast_days, default_days;
    int grid_km, max_points;
};

void av_om_opts_from_conf(struct av_om_opts *o, const struct av_conf *c);

/* Number of hourly variables a request of that endpoint asks for. */
int av_om_nvars(int archive);
/* The weight of one request: npoints points, days GMT days, nvars. */
double av_om_weight(int npoints, int days, int nvars);

/* The URL of one unit (u->region_id, archive, from, to) for its points;
 * sets u->url, npoints and weight. AV_ELIMIT when it does not fit. */
av_rc av_om_unit_url(const struct av_om_opts *o, struct av_om_unit *u,
                     const struct av_point *pts, int npoints, char *errbuf);

/* The requested points of a URL this module built (for reprocess, which
 * must not depend on today's grid settings). AV_EPARSE when the URL has
 * no latitude/longitude lists of equal length, or more than cap points. */
av_rc av_om_url_points(const char *url, int region_id, struct av_point *pts, int cap, int *n,
                       char *errbuf);

/* The plan for one region: archive units (in chunks of weather.chunk_days)
 * for the days before today - archive_lag_days, one forecast unit for the
 * rest through today + forecast_days. from/to = INT64_MIN: not given; then
 * the archive starts after last_complete (-1: default_days before today).
 * Appends to *units (realloc'd). */
av_rc av_om_plan_region(const struct av_om_opts *o, int region, const struct av_point *pts,
                        int npoints, int64_t last_complete, int64_t today, int64_t from,
                        int64_t to, struct av_om_unit **units, size_t *n, char *errbuf);
/* Archive units for a hole from..to (clipped to before today - lag). */
av_rc av_om_plan_hole(const struct av_om_opts *o, int region, const struct av_point *pts,
                      int npoints, int64_t from, int64_t to, int64_t today,
                      struct av_om_unit **units, size_t *n, char *errbuf);

/* What an answer means, for the fetcher (sources/fetch.h judge). */
enum av_om_verdict {
    AV_OM_ACCEPT,     /* a complete 2xx body: parse it */
    AV_OM_RETRY,      /* truncated 200, 503, too many concurrent requests */
    AV_OM_WAIT,       /* minutely/hourly limit: *wait_ms until the next window */
    AV_OM_STOP,       /* daily limit: no more weather requests in this run */
    AV_OM_FINAL       /* 400 or another 4xx: not retried */
};
/* status and body of a finished request; why gets one line (the API's
 * "reason" when it sent one). now: the UTC instant (for the windows). */
enum av_om_verdict av_om_judge(long status, const char *body, size_t len, av_ms now,
                               long long *wait_ms, char *why, size_t cap);

/* Parses an answer to a request for pts[0..npoints) covering local days
 * from..to (GMT days from-1..to): appends each point's hours to *out
 * (realloc'd, *n updated) with source (AV_WX_ARCHIVE or AV_WX_FORECAST)
 * and fetched_at set. j is reused. */
av_rc av_om_parse(struct av_json *j, const char *body, size_t len, const struct av_point *pts,
                  int npoints, int64_t from, int64_t to, int source, av_ms fetched_at,
                  struct av_wx_hour **out, size_t *n, char *errbuf);

#endif
