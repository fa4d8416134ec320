/* api.h - what `serve` answers over HTTP: JSON API, Prometheus metrics,
 * health, and the HTML dashboard.
 *
 *   GET  /healthz                 {"status":"ok"} (503 if the store fails)
 *   GET  /metrics                 Prometheus text format 0.0.4
 *   GET  /api/regions             catalog + freshness per region
 *   GET  /api/warnings?region=&from=&to=&lang=&limit=&after=
 *                                 JSON array (export shape), at most limit
 *                                 warnings (default 5000, 1-10000); when
 *                                 there are more, a Link: <...>; rel="next"
 *                                 header carries the after= of the next page
 *   GET  /api/runs[?limit=]       last runs
 *   POST /api/runs                start a run: 202; needs "Authorization:
 *                                 Bearer <serve.token>" (compared in constant
 *                                 time); 403 when no token is configured, 401
 *                                 when it does not match
 *   GET  /, /region/ID            dashboard pages (server-rendered HTML)
 *   GET  /season/YYYY-YY, /quality the season and data-quality pages;
 *                                 /?season=YYYY-YY[&lang=] answers 303 with
 *                                 Location: /season/YYYY-YY[?lang=]
 * Bad parameters: 400 {"error": "...", "parameter": "..."}.
 *
 * Cache (cache.h): the pages, /api/regions, /api/runs and the store's part
 * of /metrics are computed once per data change and kept, keyed by path
 * and parameters; each request on a slot first reads that slot's
 * connection's data_version (av_store_data_version), and a change bumps
 * the cache's generation. Entries also end at the next midnight (Oslo or
 * UTC) and, with a sink other than SQLite, after serve.cache_ttl_ms. What
 * this process knows now (run_active, the request counters, the lag) is
 * written per request. /api/warnings (paged, up to 32 MiB) and /healthz
 * are never cached. A kept answer (not /metrics) carries an ETag of its
 * bytes and Cache-Control: no-cache; a request whose If-None-Match holds
 * that tag gets 304 without a body.
 *
 * Threads: handlers run in several connection threads at once. Each takes
 * one of AV_API_SLOTS connection slots (a state-store connection and an
 * instance of the configured sink, opened on first use) for the request;
 * /healthz has a slot of its own, so it answers while the others are busy.
 * The consumer group's lag for /metrics is computed by a thread of its own
 * (metrics.c) and served with its age, so a broker that is down never
 * holds up an answer.
 */
#ifndef AV_API_H
#define AV_API_H

#include <pthread.h>
#include <signal.h>

#include "../core/conf.h"
#include "../sinks/sink.h"
#include "../transport/kafka.h"
#include "cache.h"
#include "http.h"

struct av_store;

#define AV_API_SLOTS 8

struct av_api_slot {
    struct av_store *store;
    struct av_sink sink;
    int busy;
    int dv_seen;  /* dv holds the data_version this connection read last */
    int64_t dv;
};

/* The lag of the consumer group, as last computed in the background. */
struct av_api_lag {
    pthread_t thread;
    int running, stopping;
    pthread_mutex_t mu;
    pthread_cond_t wake;
    int have, up, tried;    /* a value was ever computed; the last attempt worked; one ran */
    int64_t at_mono;        /* when the last value was computed (av_mono_ms) */
    int n;
    struct av_kafka_lag part[256];
};

struct av_api {
    const struct av_conf *conf;
    const char *db_path;
    const char *token;            /* "" = POST /api/runs refused */
    volatile sig_atomic_t *stop;  /* the daemon's stop flag (ends sink retries) */
    int run_requested, run_active; /* shared with the daemon (atomics) */
    int64_t next_run;             /* av_ms of the next scheduled run, -1 none (atomic) */
    long requests;                /* atomic */
    pthread_mutex_t mu;
    pthread_cond_t freed;
    struct av_api_slot slots[AV_API_SLOTS];
    pthread_mutex_t health_mu;
    struct av_api_slot health;
    struct av_api_lag lag;
    struct av_cache *cache;       /* NULL: serve.cache_mb = 0 */
    int64_t cache_ttl_ms;         /* serve.cache_ttl_ms */
};

/* Replaces r's body with {"error": msg[, "parameter": param]}. */
void av_api_error(struct av_http_resp *r, int status, const char *msg, const char *param);

void av_api_init(struct av_api *a, const struct av_conf *conf, const char *db_path,
                 const char *token, volatile sig_atomic_t *stop);
void av_api_handle(void *ud, const struct av_http_req *req, struct av_http_resp *resp);
/* After the server stopped: closes every slot and the lag thread. */
void av_api_close(struct av_api *a);

/* The daemon's side: whether a run was asked for (and clear the request),
 * and whether one is going on (for the answer to POST /api/runs). */
int av_api_take_run_request(struct av_api *a);
void av_api_set_run_active(struct av_api *a, int on);
/* When the daemon will run next (-1: not decided, or a run is going on);
 * /healthz shows it. */
void av_api_set_next_run(struct av_api *a, av_ms when);

/* metrics.c: /metrics in two parts, the store's (cached with the pages;
 * an error is the caller's 500) and this process's, written per request. */
av_rc av_api_metrics_data(struct av_api *a, struct av_api_slot *slot, struct av_buf *b,
                          char *err);
void av_api_metrics_live(struct av_api *a, struct av_buf *b);
void av_api_lag_start(struct av_api *a); /* when stream.brokers is set */
void av_api_lag_stop(struct av_api *a);

#endif
