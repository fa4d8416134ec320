/* varsom.h - the Varsom API as data: URLs and the fetch plan. Pure code.
 *
 * A fetch unit is one request: (region, lang, endpoint, from..to). The plan
 * for a (region, lang) covers, unless an explicit range is given, from the
 * last stored valid date minus plan.overlap_days (warnings are re-issued)
 * through today + plan.forecast_days; with nothing stored yet it starts
 * plan.default_days before today. Ranges are cut into chunks of at most
 * plan.chunk_days days (inclusive on both ends, as the API is).
 */
#ifndef AV_VARSOM_H
#define AV_VARSOM_H

#include <stddef.h>
#include <stdint.h>

#include "../core/conf.h"
#include "../core/err.h"

#define AV_DEFAULT_API_BASE "https://api01.nve.no/hydrology/forecast/avalanche/v6.3.0/api"
#define AV_URL_MAX 512

extern const struct av_opt av_varsom_opts[];

struct av_unit {
    int region_id;
    int lang;
    int64_t from, to; /* days, inclusive */
    char url[AV_URL_MAX];
};

struct av_plan_opts {
    const char *base;     /* API base URL, no trailing slash needed */
    const char *endpoint; /* "detail" | "simple" */
    int chunk_days, overlap_days, forecast_days, default_days;
};

/* Reads plan.* and api.* options. */
void av_plan_opts_from_conf(struct av_plan_opts *o, const struct av_conf *c);

/* Builds base + /AvalancheWarningByRegion/{Detail|Simple}/{region}/{lang}/{from}/{to}. */
av_rc av_varsom_url(char *out, size_t cap, const char *base, const char *endpoint,
                    int region, int lang, int64_t from, int64_t to);

/* "6.3.0" from a base URL containing "/v6.3.0/", else NULL-terminated "". */
void av_varsom_api_version(const char *base, char out[16]);

/* The first day a default plan (no --from) fetches: the last stored date
 * minus overlap_days, or default_days before today with nothing stored
 * (never after today + forecast_days). */
int64_t av_plan_default_start(const struct av_plan_opts *o, int64_t last_date, int64_t today);

/* Plans units for one (region, lang). last_date < 0 = nothing stored;
 * from/to = INT64_MIN for "not given". Appends to *units (realloc'd),
 * updating *n. */
av_rc av_plan_region(const struct av_plan_opts *o, int region, int lang, int64_t last_date,
                     int64_t today, int64_t from, int64_t to, struct av_unit **units,
                     size_t *n, char *errbuf);

#endif
