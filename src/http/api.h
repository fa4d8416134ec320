/* api.h - what `serve` answers over HTTP: JSON API, Prometheus metrics,
 * health, and the HTML dashboard. Reads the store through its own SQLite
 * connection (the HTTP thread's); asks the daemon for runs through
 * av_api.run_requested.
 *
 *   GET  /healthz                 {"status":"ok"} (503 if the store fails)
 *   GET  /metrics                 Prometheus text format 0.0.4
 *   GET  /api/regions             catalog + freshness per region
 *   GET  /api/warnings?region=&from=&to=&lang=   JSON array (export shape)
 *   GET  /api/runs[?limit=]       last runs
 *   POST /api/runs                start a run: 202; needs "Authorization:
 *                                 Bearer <serve.token>"; 403 when no token is
 *                                 configured, 401 when it does not match
 *   GET  /                        dashboard (server-rendered HTML)
 * Bad parameters: 400 {"error": "...", "parameter": "..."}.
 */
#ifndef AV_API_H
#define AV_API_H

#include <signal.h>

#include "../core/conf.h"
#include "../sinks/sink.h"
#include "http.h"

struct av_store;

struct av_api {
    const struct av_conf *conf;
    const char *db_path;
    const char *token;                 /* "" = POST /api/runs refused */
    volatile sig_atomic_t run_requested;
    volatile sig_atomic_t run_active;
    volatile sig_atomic_t *stop;       /* the daemon's stop flag (ends sink retries) */
    struct av_store *store;            /* opened by the HTTP thread */
    struct av_sink sink;               /* on store, opened by the HTTP thread */
    long requests;
};

void av_api_handle(void *ud, const struct av_http_req *req, struct av_http_resp *resp);
void av_api_close(struct av_api *a);

#endif
