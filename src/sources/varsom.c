/* varsom.c - Varsom API URLs and fetch planning. Pure. */
#include "varsom.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/tz.h"

const struct av_opt av_varsom_opts[] = {
    {"api", "base", AV_OPT_STR, AV_DEFAULT_API_BASE, 0, 0, NULL,
     "Varsom API base URL (the part before /AvalancheWarningByRegion)"},
    {"api", "endpoint", AV_OPT_ENUM, "detail", 0, 0, "detail|simple",
     "Detail warnings (problems, advices, weather) or Simple ones"},
    {"plan", "regions", AV_OPT_STR, "A", 0, 0, NULL,
     "regions to fetch: A (active), all, or ids like 3011,3022"},
    {"plan", "lang", AV_OPT_ENUM, "1", 0, 0, "1|2|both", "1 Norwegian, 2 English, or both"},
    {"plan", "overlap_days", AV_OPT_INT, "3", 0, 365, NULL,
     "re-fetch this many days before the last stored date (re-issued warnings)"},
    {"plan", "forecast_days", AV_OPT_INT, "2", 0, 10, NULL, "fetch through today + N"},
    {"plan", "default_days", AV_OPT_INT, "7", 0, 3660, NULL,
     "with nothing stored, start this many days before today"},
    {"plan", "chunk_days", AV_OPT_INT, "30", 1, 366, NULL, "days per request"},
    {"plan", "earliest", AV_OPT_STR, "2012-12-01", 0, 0, NULL,
     "the first day of NVE's daily warnings (the 2012-13 season): a --from before it "
     "needs --force"},
    {NULL, NULL, 0, NULL, 0, 0, NULL, NULL},
};

void av_plan_opts_from_conf(struct av_plan_opts *o, const struct av_conf *c)
{
    o->base = av_conf_str(c, "api.base");
    o->endpoint = av_conf_str(c, "api.endpoint");
    o->chunk_days = (int)av_conf_int(c, "plan.chunk_days");
    o->overlap_days = (int)av_conf_int(c, "plan.overlap_days");
    o->forecast_days = (int)av_conf_int(c, "plan.forecast_days");
    o->default_days = (int)av_conf_int(c, "plan.default_days");
}

av_rc av_varsom_url(char *out, size_t cap, const char *base, const char *endpoint,
                    int region, int lang, int64_t from, int64_t to)
{
    char f[AV_DATE_LEN], t[AV_DATE_LEN];
    size_t bl = strlen(base);
    int n;

    while (bl > 0 && base[bl - 1] == '/')
        bl--;
    av_date_format(from, f);
    av_date_format(to, t);
    n = snprintf(out, cap, "%.*s/AvalancheWarningByRegion/%s/%d/%d/%s/%s", (int)bl, base,
                 strcmp(endpoint, "simple") == 0 ? "Simple" : "Detail", region, lang, f, t);
    if (n < 0 || (size_t)n >= cap)
        return AV_ELIMIT;
    return AV_OK;
}

void av_varsom_api_version(const char *base, char out[16])
{
    const char *p = strstr(base, "/v");

    out[0] = '\0';
    while (p != NULL) {
        size_t n = strspn(p + 2, "0123456789.");
        if (n > 0 && n < 16 && (p[2 + n] == '/' || p[2 + n] == '\0')) {
            memcpy(out, p + 2, n);
            out[n] = '\0';
            return;
        }
        p = strstr(p + 2, "/v");
    }
}

int64_t av_plan_default_start(const struct av_plan_opts *o, int64_t last_date, int64_t today)
{
    int64_t start = last_date >= 0 ? last_date - o->overlap_days : today - o->default_days;

    return start > today + o->forecast_days ? today + o->forecast_days : start;
}

av_rc av_plan_region(const struct av_plan_opts *o, int region, int lang, int64_t last_date,
                     int64_t today, int64_t from, int64_t to, struct av_unit **units,
                     size_t *n, char *errbuf)
{
    struct av_unit *grown;
    int64_t start, end, d;

    if (from != INT64_MIN) {
        start = from;
        end = to != INT64_MIN ? to : today + o->forecast_days;
    } else {
        start = av_plan_default_start(o, last_date, today);
        end = to != INT64_MIN ? to : today + o->forecast_days;
        if (start > end)
            start = end;
    }
    if (start > end)
        return av_fail(errbuf, AV_EINVAL, "empty date range: --from is after --to");
    grown = realloc(*units, (*n + (size_t)((end - start) / o->chunk_days + 1)) * sizeof(**units));
    if (grown == NULL)
        return AV_ENOMEM;
    *units = grown;
    for (d = start; d <= end; d += o->chunk_days) {
        struct av_unit *u = &(*units)[(*n)++];
        int64_t last = d + o->chunk_days - 1;

        u->region_id = region;
        u->lang = lang;
        u->from = d;
        u->to = last < end ? last : end;
        if (av_varsom_url(u->url, sizeof(u->url), o->base, o->endpoint, region, lang, u->from,
                          u->to) != AV_OK)
            return av_fail(errbuf, AV_ELIMIT, "API base URL is too long (over %d bytes)",
                           AV_URL_MAX - 64);
    }
    return AV_OK;
}
