/* check.c - the verdict of `status --check` from gathered facts (pure; see
 * check.h). The gathering is in src/cli/cmd_status.c. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "check.h"

const struct av_opt av_check_opts[] = {
    {"check", "stale_hours", AV_OPT_INT, "36", 1, 8760, NULL,
     "status --check: CRITICAL when a region's last stored warning day ended more than this "
     "many hours ago (in season only)"},
    {"check", "season_start", AV_OPT_STR, "12-01", 0, 0, NULL,
     "status --check: first day (MM-DD) of the season in which staleness counts"},
    {"check", "season_end", AV_OPT_STR, "05-31", 0, 0, NULL,
     "status --check: last day (MM-DD) of the season in which staleness counts"},
    {"check", "weather_behind_days", AV_OPT_INT, "3", 0, 365, NULL,
     "status --check: WARNING when the weather's last complete day is older than today - "
     "weather.archive_lag_days - this"},
    {"check", "max_lag", AV_OPT_INT, "10000", 0, 1000000000, NULL,
     "status --check --brokers: WARNING when the consumer group's lag is above this"},
    {NULL, NULL, AV_OPT_STR, NULL, 0, 0, NULL, NULL},
};

int av_check_mmdd(const char *s, int *mmdd)
{
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int m, d;

    if (s == NULL || strlen(s) != 5 || s[2] != '-' || s[0] < '0' || s[0] > '9' || s[1] < '0' ||
        s[1] > '9' || s[3] < '0' || s[3] > '9' || s[4] < '0' || s[4] > '9')
        return -1;
    m = (s[0] - '0') * 10 + (s[1] - '0');
    d = (s[3] - '0') * 10 + (s[4] - '0');
    if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
        return -1;
    *mmdd = m * 100 + d;
    return 0;
}

int av_check_in_season(int64_t day, int start, int end)
{
    int y, m, d, x;

    av_civil_from_days(day, &y, &m, &d);
    x = m * 100 + d;
    if (start <= end)
        return x >= start && x <= end;
    return x >= start || x <= end;
}

long av_check_stale_hours(int64_t last_date, av_ms now)
{
    av_ms end = av_oslo_local_to_utc((last_date + 1) * 86400000LL);
    av_ms diff = now - end;

    /* whole hours, rounded towards minus infinity */
    return (long)(diff >= 0 ? diff / 3600000 : -((-diff + 3599999) / 3600000));
}

/* A line that grows; whatever does not fit in cap is dropped. */
struct line {
    char *p;
    size_t cap, len;
};

static void add(struct line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(struct line *l, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (l->len + 1 >= l->cap)
        return;
    va_start(ap, fmt);
    n = vsnprintf(l->p + l->len, l->cap - l->len, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    l->len += (size_t)n;
    if (l->len >= l->cap)
        l->len = l->cap - 1;
}

/* Appends one problem, separated from the ones before by ", ". */
static void problem(struct line *l, int *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void problem(struct line *l, int *n, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    add(l, "%s%s", *n ? ", " : "", tmp);
    (*n)++;
}

enum av_check_level av_check_eval(const struct av_check_facts *f, const struct av_check_limits *lim,
                                  char *msg, size_t cap)
{
    static const char *const names[] = {"OK", "WARNING", "CRITICAL", "UNKNOWN"};
    char body[1024], d1[AV_DATE_LEN], d2[AV_DATE_LEN];
    struct line l = {body, sizeof(body), 0}, out = {msg, cap, 0};
    enum av_check_level level = AV_CHECK_OK;
    int in_season = av_check_in_season(f->today, lim->season_start, lim->season_end);
    int nprob = 0, nstale = 0, worst = -1, nempty = 0;
    long worst_h = 0;

    body[0] = '\0';
    if (cap)
        msg[0] = '\0';
    /* critical first: stale regions (in season), a failed last run */
    for (int i = 0; i < f->nregions; i++) {
        long h;
        if (f->regions[i].last_date < 0) {
            nempty++;
            continue;
        }
        h = av_check_stale_hours(f->regions[i].last_date, f->now);
        if (h > lim->stale_hours) {
            nstale++;
            if (worst < 0 || h > worst_h) {
                worst = i;
                worst_h = h;
            }
        }
    }
    if (in_season && nstale) {
        level = AV_CHECK_CRITICAL;
        problem(&l, &nprob, "region %d stale %ld h (check.stale_hours %d)",
                f->regions[worst].region_id, worst_h, lim->stale_hours);
        if (nstale > 1)
            add(&l, " and %d more stale region%s", nstale - 1, nstale > 2 ? "s" : "");
    }
    if (f->run_status && strcmp(f->run_status, "failed") == 0) {
        level = AV_CHECK_CRITICAL;
        problem(&l, &nprob, "last run %lld failed: %s", f->run_id,
                f->run_error ? f->run_error : "(no reason recorded)");
    }
    if (f->nregions == 0 || nempty == f->nregions) {
        level = AV_CHECK_CRITICAL;
        problem(&l, &nprob, "no warnings stored");
    }
    /* warnings */
    if (f->run_status && strcmp(f->run_status, "partial") == 0) {
        if (level < AV_CHECK_WARNING)
            level = AV_CHECK_WARNING;
        problem(&l, &nprob, "last run %lld partial: %s", f->run_id,
                f->run_error ? f->run_error : "some requests failed");
    }
    if (f->holes > 0) {
        if (level < AV_CHECK_WARNING)
            level = AV_CHECK_WARNING;
        av_date_format(f->hole_from, d1);
        av_date_format(f->hole_to, d2);
        problem(&l, &nprob, "%ld hole%s (region %d %s..%s not stored)", f->holes,
                f->holes > 1 ? "s" : "", f->hole_region, d1, d2);
    }
    if (f->wx_last_complete >= 0 &&
        f->wx_last_complete < f->today - lim->archive_lag_days - lim->weather_behind_days) {
        if (level < AV_CHECK_WARNING)
            level = AV_CHECK_WARNING;
        av_date_format(f->wx_last_complete, d1);
        problem(&l, &nprob,
                "weather behind: region %d last complete day %s (%lld days old; "
                "weather.archive_lag_days %d + check.weather_behind_days %d)",
                f->wx_region, d1, (long long)(f->today - f->wx_last_complete),
                lim->archive_lag_days, lim->weather_behind_days);
    }
    if (f->lag >= 0 && f->lag > lim->max_lag) {
        if (level < AV_CHECK_WARNING)
            level = AV_CHECK_WARNING;
        problem(&l, &nprob, "consumer lag %lld (check.max_lag %lld)", f->lag, lim->max_lag);
    }
    if (nprob == 0)
        add(&l, "%d region%s current%s, last run %s", f->nregions - nempty,
            f->nregions - nempty == 1 ? "" : "s",
            in_season ? "" : " (out of season: staleness not checked)",
            f->run_status ? f->run_status : "none");
    add(&out, "AVALANCHE %s - %s | regions=%d stale=%d holes=%ld", names[level], body, f->nregions,
        nstale, f->holes);
    if (f->wx_last_complete >= 0)
        add(&out, " weather_age_days=%lld", (long long)(f->today - f->wx_last_complete));
    if (f->lag >= 0)
        add(&out, " lag=%lld;%lld", f->lag, lim->max_lag);
    return level;
}
