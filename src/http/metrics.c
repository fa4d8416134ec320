/* metrics.c - GET /metrics (Prometheus text format 0.0.4) and the thread
 * that computes the consumer group's lag for it. The lag needs the brokers
 * (metadata and offset requests that block for stream.timeout_ms when they
 * are down), so it is fetched every serve.lag_interval_ms in the
 * background and /metrics serves the last value with its age, plus
 * avalanche_kafka_up for whether the last attempt worked. The weather's
 * series come from the state store's small tables: api_usage (a row per
 * UTC hour) and fetch_state (a row per region, language and endpoint).
 *
 * Two parts: what the store says (av_api_metrics_data; api.c caches it with
 * the pages, so it is read once per data change) and what this process says
 * now (av_api_metrics_live: run_active, the request and cache counters, the
 * lag and its age), written on every request after the first part. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../core/clock.h"
#include "../core/log.h"
#include "../core/tz.h"
#include "../model/regions.h"
#include "../sinks/store.h"
#include "../sources/openmeteo.h"
#include "api.h"

#define WX_API "open-meteo" /* api_usage.api of the weather (src/cli/run_weather.c) */

static void *lag_loop(void *arg)
{
    struct av_api *a = arg;
    struct av_api_lag *l = &a->lag;
    const char *topic = av_conf_str(a->conf, "stream.topic");
    long every = (long)av_conf_int(a->conf, "serve.lag_interval_ms");

    pthread_mutex_lock(&l->mu);
    while (!l->stopping) {
        struct av_kafka_lag part[256];
        char err[AV_ERRBUF_SIZE];
        struct timespec until;
        int n = 0;
        av_rc rc;

        pthread_mutex_unlock(&l->mu);
        rc = av_kafka_lag(a->conf, topic, part, 256, &n, err); /* may block: not locked */
        pthread_mutex_lock(&l->mu);
        if (rc != AV_OK && (l->up || !l->tried)) /* said once per outage */
            av_warn("metrics: consumer lag: %s", err);
        l->tried = 1;
        l->up = rc == AV_OK;
        if (rc == AV_OK) {
            l->have = 1;
            l->n = n;
            memcpy(l->part, part, (size_t)n * sizeof(part[0]));
            l->at_mono = av_mono_ms();
        }
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += every / 1000;
        until.tv_nsec += (every % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        while (!l->stopping && pthread_cond_timedwait(&l->wake, &l->mu, &until) == 0)
            ;
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

void av_api_lag_start(struct av_api *a)
{
    if (av_conf_str(a->conf, "stream.brokers")[0] == '\0' || a->lag.running)
        return;
    a->lag.running = pthread_create(&a->lag.thread, NULL, lag_loop, a) == 0;
}

void av_api_lag_stop(struct av_api *a)
{
    if (!a->lag.running)
        return;
    pthread_mutex_lock(&a->lag.mu);
    a->lag.stopping = 1;
    pthread_cond_signal(&a->lag.wake);
    pthread_mutex_unlock(&a->lag.mu);
    pthread_join(a->lag.thread, NULL);
    a->lag.running = 0;
}

/* One pass over fetch_state (a row per region, language and endpoint):
 * every row's last date into `b`, and each region's last complete weather
 * day (lang 0, endpoint archive) into `wx`, a family of its own. */
struct state_ctx {
    struct av_buf *b, *wx;
};

static int metric_state(void *ud, const struct av_state_row *s)
{
    struct state_ctx *c = ud;
    int64_t d;

    if (s->last_date == NULL || av_date_parse(s->last_date, &d) != AV_OK)
        return 0;
    av_buf_printf(c->b,
                  "avalanche_last_date_seconds{region=\"%d\",lang=\"%d\",endpoint=\"%s\"} "
                  "%lld\n",
                  s->region_id, s->lang, s->endpoint ? s->endpoint : "", (long long)d * 86400);
    /* the instant the local day began: 00:00 Europe/Oslo */
    if (s->lang == 0 && s->endpoint && strcmp(s->endpoint, AV_OM_EP_ARCHIVE) == 0)
        av_buf_printf(c->wx,
                      "avalanche_weather_last_complete_day_timestamp_seconds{region=\"%d\"} "
                      "%lld\n",
                      s->region_id, (long long)(av_oslo_local_to_utc(d * 86400000) / 1000));
    return 0;
}

/* The weather's use of the Open-Meteo API (api_usage: a row per UTC hour,
 * summed through its key) and its daily budget. */
static av_rc weather_metrics(struct av_api *a, struct av_api_slot *slot, struct av_buf *b,
                             char *err)
{
    av_ms now = av_now();
    double weight = 0, today = 0;
    long requests = 0;
    char w[32], t[32];
    av_rc rc;

    if ((rc = av_store_usage_sum(slot->store, WX_API, 0, &weight, &requests, err)) != AV_OK ||
        (rc = av_store_usage_sum(slot->store, WX_API, now - now % 86400000, &today, NULL,
                                 err)) != AV_OK)
        return rc;
    av_f64_format(weight, w);
    av_f64_format(today, t);
    av_buf_printf(b,
                  "# HELP avalanche_weather_requests_total Requests sent to Open-Meteo, failed "
                  "ones included.\n"
                  "# TYPE avalanche_weather_requests_total counter\n"
                  "avalanche_weather_requests_total %ld\n"
                  "# HELP avalanche_weather_weight_total Weighted API calls used at Open-Meteo "
                  "(a request counts by its points, variables and days).\n"
                  "# TYPE avalanche_weather_weight_total counter\n"
                  "avalanche_weather_weight_total %s\n"
                  "# HELP avalanche_weather_weight_utc_day Weighted calls used since 00:00 UTC "
                  "today.\n"
                  "# TYPE avalanche_weather_weight_utc_day gauge\n"
                  "avalanche_weather_weight_utc_day %s\n"
                  "# HELP avalanche_weather_weight_budget_utc_day Weighted calls runs may use "
                  "in a UTC day (weather.budget_day).\n"
                  "# TYPE avalanche_weather_weight_budget_utc_day gauge\n"
                  "avalanche_weather_weight_budget_utc_day %lld\n",
                  requests, w, t, (long long)av_conf_int(a->conf, "weather.budget_day"));
    return AV_OK;
}

/* The last lag computed, with its age (nothing before the first one). */
static void lag_metrics(struct av_api *a, struct av_buf *b)
{
    struct av_api_lag *l = &a->lag;
    const char *topic = av_conf_str(a->conf, "stream.topic");
    const char *group = av_conf_str(a->conf, "stream.group");

    av_buf_puts(b, "# HELP avalanche_kafka_consumer_lag Messages not yet processed, per "
                   "partition (as of avalanche_kafka_lag_age_seconds ago).\n"
                   "# TYPE avalanche_kafka_consumer_lag gauge\n");
    pthread_mutex_lock(&l->mu);
    for (int i = 0; l->have && i < l->n; i++)
        av_buf_printf(b,
                      "avalanche_kafka_consumer_lag{topic=\"%s\",group=\"%s\",partition=\"%d\"} "
                      "%lld\n",
                      topic, group, (int)l->part[i].partition, (long long)l->part[i].lag);
    if (l->have)
        av_buf_printf(b,
                      "# HELP avalanche_kafka_lag_age_seconds How old the lag values are.\n"
                      "# TYPE avalanche_kafka_lag_age_seconds gauge\n"
                      "avalanche_kafka_lag_age_seconds %.1f\n",
                      (double)(av_mono_ms() - l->at_mono) / 1000.0);
    av_buf_printf(b,
                  "# HELP avalanche_kafka_up 1 when the last lag request to the brokers "
                  "worked.\n# TYPE avalanche_kafka_up gauge\navalanche_kafka_up %d\n",
                  l->up);
    pthread_mutex_unlock(&l->mu);
}

/* Holes (fetch_hole rows, av_store_each_hole: the same reader as `status`
 * and the data-quality page) counted per region, with their days. */
struct holes_ctx {
    int n;
    int region[AV_MAX_REGIONS * 2];
    long holes[AV_MAX_REGIONS * 2], days[AV_MAX_REGIONS * 2];
};

static int count_hole(void *ud, const struct av_hole *h)
{
    struct holes_ctx *c = ud;
    int i = 0;

    while (i < c->n && c->region[i] != h->region_id)
        i++;
    if (i == c->n) {
        if (c->n == AV_MAX_REGIONS * 2)
            return 0; /* not a catalog region: beyond what is listed */
        c->region[c->n++] = h->region_id;
    }
    c->holes[i]++;
    c->days[i] += (long)(h->to - h->from + 1);
    return 0;
}

static av_rc hole_metrics(struct av_api_slot *slot, struct av_buf *b, char *err)
{
    struct holes_ctx c;
    av_rc rc;

    c.n = 0;
    for (int i = 0; i < av_regions_count(); i++) { /* every region, 0 when none */
        c.region[c.n] = av_region_at(i)->id;
        c.holes[c.n] = c.days[c.n] = 0;
        c.n++;
    }
    for (int i = c.n; i < AV_MAX_REGIONS * 2; i++)
        c.holes[i] = c.days[i] = 0;
    if ((rc = av_store_each_hole(slot->store, 0, 0, NULL, count_hole, &c, err)) != AV_OK)
        return rc;
    av_buf_puts(b, "# HELP avalanche_coverage_holes Holes per region: ranges of days a run "
                   "planned and did not store yet (any language and endpoint; `avalanche "
                   "status` lists them).\n"
                   "# TYPE avalanche_coverage_holes gauge\n");
    for (int i = 0; i < c.n; i++)
        av_buf_printf(b, "avalanche_coverage_holes{region=\"%d\"} %ld\n", c.region[i],
                      c.holes[i]);
    av_buf_puts(b, "# HELP avalanche_coverage_hole_days Days in the region's holes (a day "
                   "missing in two languages counts twice).\n"
                   "# TYPE avalanche_coverage_hole_days gauge\n");
    for (int i = 0; i < c.n; i++)
        av_buf_printf(b, "avalanche_coverage_hole_days{region=\"%d\"} %ld\n", c.region[i],
                      c.days[i]);
    return AV_OK;
}

av_rc av_api_metrics_data(struct av_api *a, struct av_api_slot *slot, struct av_buf *b,
                          char *err)
{
    struct av_run_totals t;
    struct av_query all = {NULL, 0, INT64_MIN, INT64_MAX, 0, 0};
    long nw = 0, nrej = 0;
    struct av_buf wx;
    struct state_ctx sc;
    av_rc rc;

    if ((rc = av_store_run_totals(slot->store, &t, err)) != AV_OK ||
        (rc = av_sink_count(&slot->sink, &av_ds_warning, &all, &nw, err)) != AV_OK ||
        (rc = av_store_count(slot->store, "rejected", &nrej, err)) != AV_OK)
        return rc;
    av_buf_printf(b,
                  "# HELP avalanche_runs_total Runs recorded in the store, by status.\n"
                  "# TYPE avalanche_runs_total counter\n"
                  "avalanche_runs_total{status=\"ok\"} %ld\n"
                  "avalanche_runs_total{status=\"partial\"} %ld\n"
                  "avalanche_runs_total{status=\"failed\"} %ld\n"
                  "avalanche_runs_total{status=\"interrupted\"} %ld\n"
                  "# HELP avalanche_warnings_stored_total Warnings stored or replaced by runs.\n"
                  "# TYPE avalanche_warnings_stored_total counter\n"
                  "avalanche_warnings_stored_total %ld\n"
                  "# HELP avalanche_warnings_rejected_total Warnings rejected by runs.\n"
                  "# TYPE avalanche_warnings_rejected_total counter\n"
                  "avalanche_warnings_rejected_total %ld\n"
                  "# HELP avalanche_fetch_requests_total HTTP requests to the API, retries "
                  "included.\n"
                  "# TYPE avalanche_fetch_requests_total counter\n"
                  "avalanche_fetch_requests_total %ld\n"
                  "# HELP avalanche_fetch_retries_total Requests retried (errors, 429, 5xx).\n"
                  "# TYPE avalanche_fetch_retries_total counter\n"
                  "avalanche_fetch_retries_total %ld\n"
                  "# HELP avalanche_fetch_units_failed_total Requests that failed after "
                  "retries.\n"
                  "# TYPE avalanche_fetch_units_failed_total counter\n"
                  "avalanche_fetch_units_failed_total %ld\n",
                  t.ok, t.partial, t.failed, t.interrupted, t.warnings_stored,
                  t.warnings_rejected, t.requests, t.retries, t.units_failed);
    if (nw >= 0) /* a sink that cannot count cheaply leaves the gauge out */
        av_buf_printf(b,
                      "# HELP avalanche_warnings Warnings in the store.\n"
                      "# TYPE avalanche_warnings gauge\n"
                      "avalanche_warnings %ld\n",
                      nw);
    av_buf_printf(b,
                  "# HELP avalanche_rejected Rejected inputs in the store.\n"
                  "# TYPE avalanche_rejected gauge\n"
                  "avalanche_rejected %ld\n"
                  "# HELP avalanche_last_date_seconds Latest stored valid date (UTC midnight "
                  "of the local date), per region.\n"
                  "# TYPE avalanche_last_date_seconds gauge\n",
                  nrej);
    av_buf_init(&wx, b->max);
    sc = (struct state_ctx){b, &wx};
    if ((rc = av_store_each_state(slot->store, metric_state, &sc, err)) != AV_OK ||
        (rc = weather_metrics(a, slot, b, err)) != AV_OK ||
        (rc = hole_metrics(slot, b, err)) != AV_OK) {
        av_buf_free(&wx);
        return rc;
    }
    av_buf_puts(b,
                "# HELP avalanche_weather_last_complete_day_timestamp_seconds The region's last "
                "complete weather day (the archive's every hour at every point) as the Unix "
                "time of its 00:00 Europe/Oslo.\n"
                "# TYPE avalanche_weather_last_complete_day_timestamp_seconds gauge\n");
    av_buf_append(b, wx.data, wx.len);
    if (wx.failed)
        b->failed = 1; /* never a cut answer: the server makes it a 500 */
    av_buf_free(&wx);
    return AV_OK;
}

void av_api_metrics_live(struct av_api *a, struct av_buf *b)
{
    struct av_cache_stats cs;

    av_cache_stats(a->cache, &cs);
    av_buf_printf(b,
                  "# HELP avalanche_run_active 1 while a run is in progress in this daemon.\n"
                  "# TYPE avalanche_run_active gauge\n"
                  "avalanche_run_active %d\n"
                  "# HELP avalanche_http_requests_total HTTP requests served.\n"
                  "# TYPE avalanche_http_requests_total counter\n"
                  "avalanche_http_requests_total %ld\n"
                  "# HELP avalanche_http_cache_hits_total Answers served from the response "
                  "cache.\n"
                  "# TYPE avalanche_http_cache_hits_total counter\n"
                  "avalanche_http_cache_hits_total %ld\n"
                  "# HELP avalanche_http_cache_misses_total Cacheable answers computed (not "
                  "cached yet, or the data changed).\n"
                  "# TYPE avalanche_http_cache_misses_total counter\n"
                  "avalanche_http_cache_misses_total %ld\n"
                  "# HELP avalanche_http_cache_bytes Bytes held by the response cache "
                  "(serve.cache_mb).\n"
                  "# TYPE avalanche_http_cache_bytes gauge\n"
                  "avalanche_http_cache_bytes %zu\n",
                  __atomic_load_n(&a->run_active, __ATOMIC_SEQ_CST),
                  __atomic_load_n(&a->requests, __ATOMIC_RELAXED), cs.hits, cs.misses,
                  cs.bytes);
    if (av_conf_str(a->conf, "stream.brokers")[0] != '\0')
        lag_metrics(a, b);
}
