/* run_weather.c - the weather half of run, backfill and serve's runs:
 * plans each region's Open-Meteo requests (sources/openmeteo.h) from the
 * archive's fetch state and holes, paces them to the budgets
 * (weather.budget_minute/hour/day, counted in the state store's api_usage
 * so that several runs on one day share the day's budget) and hands each
 * body to the run's raw_out, as the warnings' loop in cmd_run.c does.
 *
 * Pacing: requests go out in batches that fit the minute's budget; the
 * next batch waits for the next minute. A request that does not fit the
 * hour waits for the next UTC hour (up to weather.wait_max_ms), one that
 * does not fit the day stops the weather part cleanly: what was not sent
 * stays a hole (archive) or is planned again (forecast) by the next run.
 * The API's own verdicts (av_om_judge): a daily-limit 429 stops at once
 * with no retries, minutely/hourly ones wait for their window, a truncated
 * 200 and a 503 are retried, a 400 fails the request with the API's reason.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/clock.h"
#include "../core/log.h"
#include "../model/points.h"
#include "../model/regions.h"
#include "../pipeline/weather_ingest.h"
#include "../sinks/store.h"
#include "../sources/fetch.h"
#include "../sources/openmeteo.h"
#include "cli.h"
#include "run_weather.h"

#define API "open-meteo"

struct av_wx_run {
    struct av_cli *cli;
    struct av_store *store;
    struct av_raw_out *out;
    struct av_om_opts o;
    struct av_om_unit *units;
    size_t n, next; /* planned; the first not yet sent */
    size_t nholes;
    double weight;  /* of the whole plan */
    /* counts */
    long sent, ok, rejected, failed, notsent, hours, days;
    double used;    /* weight sent in this run (retries included) */
    int stopped;    /* the API or the budget ended the weather part */
    char stop_why[AV_ERRBUF_SIZE];
    /* per batch */
    size_t base;
    struct av_run_counts *c;
    struct av_progress *prog;
    int fatal;
    char fatal_msg[AV_ERRBUF_SIZE];
};

int av_wx_wanted(const struct av_cli *cli)
{
    return strstr(av_conf_str(&cli->conf, "plan.sources"), "weather") != NULL;
}

int av_wx_varsom_wanted(const struct av_cli *cli)
{
    return strstr(av_conf_str(&cli->conf, "plan.sources"), "varsom") != NULL;
}

struct hole_ctx {
    struct av_wx_run *w;
    const struct av_point *pts;
    int npts;
    int64_t start, today;
    av_rc rc;
    char *err;
};

static int plan_hole(void *ud, const struct av_hole *h)
{
    struct hole_ctx *hc = ud;
    size_t before = hc->w->n;

    if (h->from >= hc->start)
        return 0; /* the default plan covers it */
    hc->rc = av_om_plan_hole(&hc->w->o, h->region_id, hc->pts, hc->npts, h->from,
                             h->to < hc->start ? h->to : hc->start - 1, hc->today,
                             &hc->w->units, &hc->w->n, hc->err);
    hc->w->nholes += hc->w->n - before;
    return hc->rc != AV_OK;
}

int av_wx_plan(struct av_cli *cli, struct av_store *store, struct av_wx_run **out,
               size_t *nunits)
{
    struct av_wx_run *w = calloc(1, sizeof(*w));
    int ids[AV_MAX_REGIONS], nids;
    int64_t today = av_oslo_today();
    long long bmin = av_conf_int(&cli->conf, "weather.budget_minute");
    char err[AV_ERRBUF_SIZE];
    av_rc rc = AV_OK;

    *out = NULL;
    *nunits = 0;
    if (w == NULL)
        return AV_EXIT_FAIL;
    w->cli = cli;
    w->store = store;
    av_om_opts_from_conf(&w->o, &cli->conf);
    if (av_regions_select(av_conf_str(&cli->conf, "plan.regions"), ids, &nids, err) != AV_OK)
        rc = AV_EINVAL;
    for (int i = 0; rc == AV_OK && i < nids; i++) {
        struct av_point pts[AV_POINTS_MAX];
        int npts;
        int64_t last = -1;

        rc = av_region_points(ids[i], w->o.grid_km, w->o.max_points, pts, AV_POINTS_MAX, &npts,
                              err);
        if (rc == AV_OK)
            rc = av_store_state_get(store, ids[i], 0, AV_OM_EP_ARCHIVE, &last, err);
        if (rc == AV_OK && cli->from == INT64_MIN) {
            struct hole_ctx hc = {w, pts, npts,
                                  last >= 0 ? last + 1 : today - w->o.default_days, today,
                                  AV_OK, err};
            rc = av_store_each_hole(store, ids[i], 0, AV_OM_EP_ARCHIVE, plan_hole, &hc, err);
            if (rc == AV_OK)
                rc = hc.rc;
        }
        if (rc == AV_OK)
            rc = av_om_plan_region(&w->o, ids[i], pts, npts, last, today, cli->from, cli->to,
                                   &w->units, &w->n, err);
    }
    for (size_t i = 0; rc == AV_OK && i < w->n; i++) {
        w->weight += w->units[i].weight;
        if (w->units[i].weight > (double)bmin || w->units[i].weight > 5000.0)
            rc = av_fail(err, AV_EINVAL,
                         "a weather request of region %d weighs %.1f calls, more than "
                         "weather.budget_minute (%lld) or the API's 5000 per request: lower "
                         "weather.chunk_days or weather.max_points",
                         w->units[i].region_id, w->units[i].weight, bmin);
    }
    if (rc != AV_OK) {
        fprintf(stderr, "avalanche: %s\n", err);
        snprintf(cli->run_error, sizeof(cli->run_error), "%s", err);
        av_wx_free(w);
        return rc == AV_EINVAL ? AV_EXIT_USAGE : AV_EXIT_FAIL;
    }
    *out = w;
    *nunits = w->n;
    return AV_EXIT_OK;
}

av_rc av_wx_mark_planned(struct av_wx_run *w, char *err)
{
    av_ms now = av_now();
    av_rc rc = av_store_begin(w->store, err);

    for (size_t i = 0; rc == AV_OK && i < w->n; i++)
        if (w->units[i].archive)
            rc = av_store_hole_add(w->store, w->units[i].region_id, 0, AV_OM_EP_ARCHIVE,
                                   w->units[i].from, w->units[i].to, now, err);
    if (rc == AV_OK)
        return av_store_commit(w->store, err);
    av_store_rollback(w->store);
    return rc;
}

void av_wx_describe(const struct av_wx_run *w, const char *cmd)
{
    if (w->n == 0)
        return;
    av_info("%s: %zu weather request(s), weight %.1f (budgets per minute/hour/day: %lld/%lld/"
            "%lld), %s and %s",
            cmd, w->n, w->weight, av_conf_int(&w->cli->conf, "weather.budget_minute"),
            av_conf_int(&w->cli->conf, "weather.budget_hour"),
            av_conf_int(&w->cli->conf, "weather.budget_day"), w->o.archive_base,
            w->o.forecast_base);
    if (w->nholes)
        av_info("%s: %zu of them for weather days earlier runs left incomplete", cmd,
                w->nholes);
}

static enum av_fetch_verdict judge(void *ctx, size_t index, long status, const char *body,
                                   size_t len, long long *wait_ms, char *why, size_t cap)
{
    (void)ctx;
    (void)index;
    switch (av_om_judge(status, body, len, av_now(), wait_ms, why, cap)) {
    case AV_OM_ACCEPT:
        return AV_FETCH_ACCEPT;
    case AV_OM_RETRY:
        return AV_FETCH_RETRY;
    case AV_OM_WAIT:
        return AV_FETCH_WAIT;
    case AV_OM_STOP:
        return AV_FETCH_STOP;
    default:
        return AV_FETCH_FINAL;
    }
}

static av_rc record_failure(struct av_wx_run *w, const struct av_om_unit *u, const char *why,
                            av_ms now, char *err)
{
    av_rc rc = av_store_begin(w->store, err);

    if (rc == AV_OK)
        rc = av_store_state_put(w->store, u->region_id, 0,
                                u->archive ? AV_OM_EP_ARCHIVE : AV_OM_EP_FORECAST, -1, now,
                                "failed", why, err);
    if (rc == AV_OK)
        rc = av_store_commit(w->store, err);
    if (rc != AV_OK)
        av_store_rollback(w->store);
    return rc;
}

static int on_done(void *ctx, size_t index, const struct av_fetch_result *fr)
{
    struct av_wx_run *w = ctx;
    const struct av_om_unit *u = &w->units[w->base + index];
    char err[AV_ERRBUF_SIZE], f[AV_DATE_LEN], t[AV_DATE_LEN], extra[64];
    struct av_unit_outcome o;
    struct av_raw_meta m = {
        .source = AV_WX_SOURCE, .endpoint = u->archive ? "archive" : "forecast", .lang = 0,
        .url = u->url, .region_id = u->region_id, .from_date = u->from, .to_date = u->to,
        .fetched_at = av_now(), .http_status = (int)fr->http_status,
    };
    av_rc rc = AV_OK;

    av_date_format(u->from, f);
    av_date_format(u->to, t);
    if (fr->attempts > 0) {
        w->sent += fr->attempts;
        w->used += u->weight * fr->attempts;
        if (av_store_usage_add(w->store, API, m.fetched_at, u->weight * fr->attempts,
                               fr->attempts, err) != AV_OK)
            av_warn("weather: %s", err);
    }
    if (w->fatal)
        goto progress;
    if (fr->rc != AV_OK && strstr(fr->error, ": not sent: ") != NULL) {
        w->notsent++; /* the API's daily limit: left for the next run */
        goto progress;
    }
    if (fr->rc != AV_OK) {
        w->failed++;
        w->c->units_failed++;
        av_error("weather region %d %s %s..%s failed: %s", u->region_id,
                 u->archive ? "archive" : "forecast", f, t, fr->error);
        rc = record_failure(w, u, fr->error, m.fetched_at, err);
        if (w->stop_why[0] == '\0' && fr->http_status == 429 &&
            strstr(fr->error, "HTTP 429: Daily") != NULL) {
            w->stopped = 1;
            snprintf(w->stop_why, sizeof(w->stop_why), "%s", strstr(fr->error, "HTTP 429"));
        }
    } else {
        rc = w->out->ops->put(w->out->ctx, &m, fr->body, fr->len, &o, err);
        if (rc == AV_OK && o.rejected) {
            w->rejected++;
            w->c->units_rejected++;
            av_error("weather region %d %s %s..%s rejected: %s (%s)", u->region_id,
                     u->archive ? "archive" : "forecast", f, t, o.reason, o.kept);
        } else if (rc == AV_OK) {
            w->ok++;
            w->c->units_ok++;
            w->hours += o.stored;
            w->days += o.wdays;
        }
    }
    if (rc != AV_OK) {
        w->fatal = 1;
        snprintf(w->fatal_msg, sizeof(w->fatal_msg), "%s", err);
    }
progress:
    snprintf(extra, sizeof(extra), "%ld weather hours", w->hours);
    av_progress_step(w->prog,
                     w->c->units_ok + w->c->units_rejected + w->c->units_failed + w->notsent,
                     extra);
    return w->fatal;
}

/* Sleeps until mono ms `until` (or a signal). */
static void wait_until(long long until)
{
    while (!av_stop && av_mono_ms() < until)
        av_sleep_ms(200);
}

static av_rc used_since(struct av_wx_run *w, av_ms since, double *used, char *err)
{
    return av_store_usage_sum(w->store, API, since, used, NULL, err);
}

int av_wx_fetch(struct av_wx_run *w, struct av_raw_out *out, struct av_run_counts *c,
                struct av_progress *prog, struct av_fetch_stats *stats, char *fatal,
                size_t cap)
{
    const struct av_conf *conf = &w->cli->conf;
    double bmin = (double)av_conf_int(conf, "weather.budget_minute");
    double bhour = (double)av_conf_int(conf, "weather.budget_hour");
    double bday = (double)av_conf_int(conf, "weather.budget_day");
    long long wait_max = av_conf_int(conf, "weather.wait_max_ms");
    struct av_fetch_policy pol = {(int)av_conf_int(conf, "weather.concurrency"),
                                  wait_max > 0 ? wait_max : 1, "weather.wait_max_ms", judge};
    char err[AV_ERRBUF_SIZE];
    const char **urls = NULL;

    w->out = out;
    w->c = c;
    w->prog = prog;
    urls = malloc((w->n ? w->n : 1) * sizeof(*urls));
    if (urls == NULL)
        return -1;
    /* The minute's window: from its first request, 60 s; the hour's and
     * the day's from api_usage (shared with every run of the UTC day). */
    long long minute_start = 0;
    double minute_used = 0;

    while (w->next < w->n && !av_stop && !w->fatal && !w->stopped) {
        av_ms now = av_now();
        double day_used, hour_used, batch = 0;
        size_t k = w->next;
        const struct av_om_unit *u = &w->units[k];
        struct av_fetch_stats st = {0};

        if (used_since(w, now - now % 86400000LL, &day_used, err) != AV_OK ||
            used_since(w, now - now % 3600000LL, &hour_used, err) != AV_OK) {
            w->fatal = 1;
            snprintf(w->fatal_msg, sizeof(w->fatal_msg), "%s", err);
            break;
        }
        if (day_used + u->weight > bday) { /* before any wait: nothing more today */
            w->stopped = 1;
            snprintf(w->stop_why, sizeof(w->stop_why),
                     "today's weather budget is spent (%.1f of weather.budget_day = %.0f "
                     "weighted calls, UTC day)",
                     day_used, bday);
            break;
        }
        if (hour_used + u->weight > bhour) {
            long long to_hour = 3600000LL - now % 3600000LL + 1000;
            if (to_hour > wait_max) {
                w->stopped = 1;
                snprintf(w->stop_why, sizeof(w->stop_why),
                         "this hour's weather budget is spent (%.1f of weather.budget_hour = "
                         "%.0f) and the next hour is further than weather.wait_max_ms",
                         hour_used, bhour);
                break;
            }
            av_info("weather: this hour's budget is spent (%.1f of %.0f); waiting %lld s for "
                    "the next UTC hour",
                    hour_used, bhour, to_hour / 1000);
            wait_until(av_mono_ms() + to_hour);
            continue;
        }
        if (minute_start && av_mono_ms() - minute_start >= 60000) {
            minute_start = 0; /* a new minute */
            minute_used = 0;
        }
        if (minute_used + u->weight > bmin) { /* the next minute */
            wait_until(minute_start + 60000);
            continue;
        }
        if (minute_start == 0)
            minute_start = av_mono_ms();
        while (k < w->n && minute_used + batch + w->units[k].weight <= bmin &&
               hour_used + batch + w->units[k].weight <= bhour &&
               day_used + batch + w->units[k].weight <= bday)
            batch += w->units[k++].weight;
        for (size_t i = w->next; i < k; i++)
            urls[i - w->next] = w->units[i].url;
        w->base = w->next;
        if (av_fetch_all(conf, urls, k - w->next, &pol, on_done, NULL, w, &av_stop, &st, err) !=
            AV_OK) {
            w->fatal = 1;
            snprintf(w->fatal_msg, sizeof(w->fatal_msg), "%s", err);
        }
        minute_used += batch;
        stats->requests += st.requests;
        stats->retries += st.retries;
        stats->failures += st.failures;
        stats->bytes += st.bytes;
        w->next = k;
    }
    free(urls);
    if (w->fatal)
        snprintf(fatal, cap, "%s", w->fatal_msg);
    return w->fatal ? -1 : 0;
}

void av_wx_summary(const struct av_wx_run *w, char *line, size_t cap)
{
    size_t left = w->n - w->next + (size_t)w->notsent;
    int k;

    if (w->n == 0) {
        snprintf(line, cap, "weather: nothing to fetch");
        return;
    }
    /* produce hands the responses to Kafka: what they carry is sent, not
     * stored yet */
    k = snprintf(line, cap,
                 "weather: %zu requests planned (weight %.1f), %ld sent (weight %.1f): %ld ok, "
                 "%ld rejected, %ld failed; %ld hourly values, %ld region-days %s",
                 w->n, w->weight, w->sent, w->used, w->ok, w->rejected, w->failed, w->hours,
                 w->days,
                 w->out && strcmp(w->out->ops->counts, "messages") == 0 ? "produced" : "stored");
    if (k > 0 && (size_t)k < cap && (w->stopped || left))
        snprintf(line + k, cap - (size_t)k, "; %zu left for the next run%s%s", left,
                 w->stop_why[0] ? ": " : "", w->stop_why);
}

int av_wx_stopped(const struct av_wx_run *w)
{
    return w->stopped;
}

void av_wx_free(struct av_wx_run *w)
{
    if (w == NULL)
        return;
    free(w->units);
    free(w);
}
