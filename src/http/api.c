/* api.c - HTTP routes of `serve` (see api.h). */
#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/json.h"
#include "../core/tz.h"
#include "../sinks/export.h"
#include "../sinks/sink.h"
#include "../sinks/store.h"
#include "../sinks/store_json.h"
#include "../model/regions.h"
#include "../transport/kafka.h"
#include "dashboard.h"

static void json_error(struct av_http_resp *r, int status, const char *msg, const char *param)
{
    r->status = status;
    r->type = "application/json";
    av_buf_reset(&r->body);
    av_buf_puts(&r->body, "{\"error\":");
    av_json_quote(&r->body, msg);
    if (param) {
        av_buf_puts(&r->body, ",\"parameter\":");
        av_json_quote(&r->body, param);
    }
    av_buf_puts(&r->body, "}\n");
}

/* The state store and the sink, opened on first use by this thread. */
static int store_ready(struct av_api *a, struct av_http_resp *r)
{
    char err[AV_ERRBUF_SIZE];

    if (a->store && a->sink.ops)
        return 1;
    if (a->store == NULL && av_store_open(&a->store, a->db_path, a->conf, err) != AV_OK) {
        json_error(r, 503, err, NULL);
        return 0;
    }
    if (av_sink_open(&a->sink, &(struct av_sink_env){a->conf, a->store, a->stop}, err) !=
        AV_OK) {
        json_error(r, 503, err, NULL);
        return 0;
    }
    return 1;
}

/* ---- /api/warnings ---- */

struct wctx {
    struct av_buf *out;
    int n;
};

static int add_warning(void *ud, const struct av_warning *w)
{
    struct wctx *c = ud;

    av_buf_puts(c->out, c->n++ ? ",\n" : "\n");
    av_export_json(c->out, &av_ds_warning, w, w);
    return 0;
}

static int parse_date_param(const struct av_http_req *req, const char *name, int64_t *out,
                            struct av_http_resp *r)
{
    const char *v = av_http_query(req, name);

    if (v == NULL || *v == '\0')
        return 1;
    if (av_date_parse(v, out) != AV_OK) {
        json_error(r, 400, "not a date: use YYYY-MM-DD", name);
        return 0;
    }
    return 1;
}

static void api_warnings(struct av_api *a, const struct av_http_req *req,
                         struct av_http_resp *r)
{
    struct av_query q = {NULL, 0, INT64_MIN, INT64_MAX, 0, AV_PART_PROBLEMS};
    int ids[AV_MAX_REGIONS], n = 0;
    const char *region = av_http_query(req, "region"), *lang = av_http_query(req, "lang");
    char err[AV_ERRBUF_SIZE];
    struct wctx c = {&r->body, 0};

    if (region && *region) {
        if (av_regions_select(region, ids, &n, err) != AV_OK) {
            json_error(r, 400, err, "region");
            return;
        }
        q.regions = ids;
        q.nregions = n;
    }
    if (!parse_date_param(req, "from", &q.from, r) || !parse_date_param(req, "to", &q.to, r))
        return;
    if (q.from != INT64_MIN && q.to != INT64_MAX && q.from > q.to) {
        json_error(r, 400, "from is after to", "from");
        return;
    }
    if (q.from == INT64_MIN && q.to == INT64_MAX) /* default: the last 30 days */
        q.from = av_oslo_today() - 30;
    if (lang && *lang) {
        if (strcmp(lang, "1") != 0 && strcmp(lang, "2") != 0) {
            json_error(r, 400, "lang must be 1 or 2", "lang");
            return;
        }
        q.lang = atoi(lang);
    }
    if (!store_ready(a, r))
        return;
    av_buf_putc(&r->body, '[');
    if (av_sink_read(&a->sink, &q, add_warning, &c, err) != AV_OK) {
        json_error(r, 500, err, NULL);
        return;
    }
    av_buf_puts(&r->body, "\n]\n");
}

/* ---- /api/regions ---- */

struct rctx {
    const char *last[AV_MAX_REGIONS * 2];
    char store[AV_MAX_REGIONS * 2][AV_DATE_LEN];
    int region[AV_MAX_REGIONS * 2];
    int n;
};

static int collect_state(void *ud, const struct av_state_row *s)
{
    struct rctx *c = ud;

    if (s->last_date == NULL || c->n >= AV_MAX_REGIONS * 2)
        return 0;
    for (int i = 0; i < c->n; i++) {
        if (c->region[i] == s->region_id) {
            if (strcmp(s->last_date, c->store[i]) > 0)
                snprintf(c->store[i], AV_DATE_LEN, "%s", s->last_date);
            return 0;
        }
    }
    c->region[c->n] = s->region_id;
    snprintf(c->store[c->n], AV_DATE_LEN, "%s", s->last_date);
    c->n++;
    return 0;
}

static const char *last_date_of(const struct rctx *c, int region)
{
    for (int i = 0; i < c->n; i++)
        if (c->region[i] == region)
            return c->store[i];
    return NULL;
}

static void api_regions(struct av_api *a, struct av_http_resp *r)
{
    struct rctx *c = calloc(1, sizeof(*c));
    char err[AV_ERRBUF_SIZE];

    if (c == NULL || !store_ready(a, r)) {
        free(c);
        return;
    }
    if (av_store_each_state(a->store, collect_state, c, err) != AV_OK) {
        json_error(r, 500, err, NULL);
        free(c);
        return;
    }
    av_buf_putc(&r->body, '[');
    for (int i = 0; i < av_regions_count(); i++) {
        const struct av_region *g = av_region_at(i);
        av_buf_puts(&r->body, i ? ",\n" : "\n");
        av_json_region(&r->body, g, 1, last_date_of(c, g->id));
    }
    av_buf_puts(&r->body, "\n]\n");
    free(c);
}

/* ---- /api/runs ---- */

struct runctx {
    struct av_buf *out;
    int n;
};

static int add_run(void *ud, const struct av_run_row *x)
{
    struct runctx *c = ud;

    av_buf_puts(c->out, c->n++ ? ",\n" : "\n");
    av_json_run(c->out, x);
    return 0;
}

static void api_runs(struct av_api *a, const struct av_http_req *req, struct av_http_resp *r)
{
    const char *lim = av_http_query(req, "limit");
    int limit = 20;
    char err[AV_ERRBUF_SIZE];
    struct runctx c = {&r->body, 0};

    if (lim && *lim) {
        char *end;
        long v = strtol(lim, &end, 10);
        if (*end != '\0' || v < 1 || v > 1000) {
            json_error(r, 400, "limit must be 1..1000", "limit");
            return;
        }
        limit = (int)v;
    }
    if (!store_ready(a, r))
        return;
    av_buf_putc(&r->body, '[');
    if (av_store_each_run(a->store, limit, add_run, &c, err) != AV_OK) {
        json_error(r, 500, err, NULL);
        return;
    }
    av_buf_puts(&r->body, "\n]\n");
}

static void post_run(struct av_api *a, const struct av_http_req *req, struct av_http_resp *r)
{
    const char *auth = av_http_header(req, "Authorization");
    size_t tl = strlen(a->token);

    if (tl == 0) {
        json_error(r, 403, "starting runs over HTTP is off: set serve.token", NULL);
        return;
    }
    if (auth == NULL || strncmp(auth, "Bearer ", 7) != 0 || strlen(auth + 7) != tl ||
        strcmp(auth + 7, a->token) != 0) {
        json_error(r, 401, "missing or wrong bearer token", NULL);
        return;
    }
    a->run_requested = 1;
    r->status = 202;
    av_buf_printf(&r->body, "{\"status\":\"%s\"}\n",
                  a->run_active ? "queued (a run is in progress)" : "starting");
}

/* ---- /metrics ---- */

static int metric_state(void *ud, const struct av_state_row *s)
{
    struct av_buf *b = ud;
    int64_t d;

    if (s->last_date && av_date_parse(s->last_date, &d) == AV_OK)
        av_buf_printf(b,
                      "avalanche_last_date_seconds{region=\"%d\",lang=\"%d\",endpoint=\"%s\"} "
                      "%lld\n",
                      s->region_id, s->lang, s->endpoint ? s->endpoint : "",
                      (long long)d * 86400);
    return 0;
}

static void metrics(struct av_api *a, struct av_http_resp *r)
{
    struct av_run_totals t;
    struct av_query all = {NULL, 0, INT64_MIN, INT64_MAX, 0, 0};
    char err[AV_ERRBUF_SIZE];
    long nw = 0, nrej = 0;

    if (!store_ready(a, r))
        return;
    if (av_store_run_totals(a->store, &t, err) != AV_OK ||
        av_sink_count(&a->sink, &av_ds_warning, &all, &nw, err) != AV_OK ||
        av_store_count(a->store, "rejected", &nrej, err) != AV_OK) {
        json_error(r, 500, err, NULL);
        return;
    }
    r->type = "text/plain; version=0.0.4; charset=utf-8";
    av_buf_printf(&r->body,
                  "# HELP avalanche_runs_total Runs recorded in the store, by status.\n"
                  "# TYPE avalanche_runs_total counter\n"
                  "avalanche_runs_total{status=\"ok\"} %ld\n"
                  "avalanche_runs_total{status=\"partial\"} %ld\n"
                  "avalanche_runs_total{status=\"failed\"} %ld\n"
                  "avalanche_runs_total{status=\"interrupted\"} %ld\n"
                  "# HELP avalanche_run_active 1 while a run is in progress in this daemon.\n"
                  "# TYPE avalanche_run_active gauge\n"
                  "avalanche_run_active %d\n"
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
                  t.ok, t.partial, t.failed, t.interrupted, (int)a->run_active,
                  t.warnings_stored, t.warnings_rejected, t.requests, t.retries,
                  t.units_failed);
    if (nw >= 0) /* a sink that cannot count cheaply leaves the gauge out */
        av_buf_printf(&r->body,
                      "# HELP avalanche_warnings Warnings in the store.\n"
                      "# TYPE avalanche_warnings gauge\n"
                      "avalanche_warnings %ld\n",
                      nw);
    av_buf_printf(&r->body,
                  "# HELP avalanche_rejected Rejected inputs in the store.\n"
                  "# TYPE avalanche_rejected gauge\n"
                  "avalanche_rejected %ld\n"
                  "# HELP avalanche_http_requests_total HTTP requests served.\n"
                  "# TYPE avalanche_http_requests_total counter\n"
                  "avalanche_http_requests_total %ld\n"
                  "# HELP avalanche_last_date_seconds Latest stored valid date (UTC midnight "
                  "of the local date), per region.\n"
                  "# TYPE avalanche_last_date_seconds gauge\n",
                  nrej, a->requests);
    if (av_store_each_state(a->store, metric_state, &r->body, err) != AV_OK) {
        json_error(r, 500, err, NULL);
        return;
    }
    if (av_conf_str(a->conf, "stream.brokers")[0] != '\0') {
        /* streaming mode: the processors' consumer-group lag */
        struct av_kafka_lag lag[256];
        int n = 0;
        const char *topic = av_conf_str(a->conf, "stream.topic");
        const char *group = av_conf_str(a->conf, "stream.group");
        av_buf_puts(&r->body, "# HELP avalanche_kafka_consumer_lag Messages not yet "
                              "processed, per partition.\n"
                              "# TYPE avalanche_kafka_consumer_lag gauge\n");
        if (av_kafka_lag(a->conf, topic, lag, 256, &n, err) != AV_OK) {
            av_buf_printf(&r->body, "avalanche_kafka_up 0\n");
            return;
        }
        for (int i = 0; i < n; i++)
            av_buf_printf(&r->body,
                          "avalanche_kafka_consumer_lag{topic=\"%s\",group=\"%s\","
                          "partition=\"%d\"} %lld\n",
                          topic, group, (int)lag[i].partition, (long long)lag[i].lag);
        av_buf_puts(&r->body, "avalanche_kafka_up 1\n");
    }
}

void av_api_handle(void *ud, const struct av_http_req *req, struct av_http_resp *r)
{
    struct av_api *a = ud;
    int get = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;

    a->requests++;
    if (strcmp(req->path, "/healthz") == 0 && get) {
        if (store_ready(a, r))
            av_buf_puts(&r->body, "{\"status\":\"ok\"}\n");
    } else if (strcmp(req->path, "/metrics") == 0 && get) {
        metrics(a, r);
    } else if (strcmp(req->path, "/api/regions") == 0 && get) {
        api_regions(a, r);
    } else if (strcmp(req->path, "/api/warnings") == 0 && get) {
        api_warnings(a, req, r);
    } else if (strcmp(req->path, "/api/runs") == 0 && get) {
        api_runs(a, req, r);
    } else if (strcmp(req->path, "/api/runs") == 0 && strcmp(req->method, "POST") == 0) {
        post_run(a, req, r);
    } else if (strcmp(req->path, "/") == 0 && get) {
        int64_t day = av_oslo_today();
        if (!parse_date_param(req, "date", &day, r))
            return;
        if (store_ready(a, r))
            av_dashboard(a->store, &a->sink, day, r);
    } else if (strncmp(req->path, "/region/", 8) == 0 && get) {
        char *end;
        long id = strtol(req->path + 8, &end, 10);
        if (*end != '\0' || av_region_find((int)id) == NULL)
            json_error(r, 404, "no such region", NULL);
        else if (store_ready(a, r))
            av_region_page(&a->sink, (int)id, r);
    } else if (strcmp(req->path, "/api/runs") == 0 || strcmp(req->path, "/metrics") == 0 ||
               strcmp(req->path, "/api/warnings") == 0 || strcmp(req->path, "/") == 0) {
        json_error(r, 405, "method not allowed", NULL);
    } else {
        json_error(r, 404, "no such resource", NULL);
    }
}

void av_api_close(struct av_api *a)
{
    av_sink_close(&a->sink); /* before the store: the SQLite sink lives in it */
    av_store_close(a->store);
    a->store = NULL;
}
