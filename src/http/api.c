/* api.c - HTTP routes of `serve` (see api.h): the connection slots, the
 * JSON API, the dispatch and the use of the response cache (cache.h);
 * /metrics is metrics.c, the pages dashboard.c. Every parameter is parsed
 * strictly and a bad one answered 400 naming it, before any cache lookup. */
#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/clock.h"
#include "../core/json.h"
#include "../core/tz.h"
#include "../model/regions.h"
#include "../sinks/export.h"
#include "../sinks/store.h"
#include "../sinks/store_json.h"
#include "api_doc.h"
#include "dashboard.h"
#include "params.h"

#define DEFAULT_LIMIT 5000
#define MAX_LIMIT 10000
#define PAGE_BYTES ((size_t)32 << 20) /* a page ends early past this */

void av_api_error(struct av_http_resp *r, int status, const char *msg, const char *param)
{
    r->status = status;
    r->type = "application/json";
    r->link[0] = '\0';
    av_buf_reset(&r->body);
    av_buf_puts(&r->body, "{\"error\":");
    av_json_quote(&r->body, msg);
    if (param) {
        av_buf_puts(&r->body, ",\"parameter\":");
        av_json_quote(&r->body, param);
    }
    av_buf_puts(&r->body, "}\n");
}

void av_api_init(struct av_api *a, const struct av_conf *conf, const char *db_path,
                 const char *token, volatile sig_atomic_t *stop)
{
    memset(a, 0, sizeof(*a));
    a->conf = conf;
    a->db_path = db_path;
    a->token = token;
    a->stop = stop;
    a->next_run = -1;
    a->cache = av_cache_new((size_t)av_conf_int(conf, "serve.cache_mb") << 20);
    a->cache_ttl_ms = av_conf_int(conf, "serve.cache_ttl_ms");
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->freed, NULL);
    pthread_mutex_init(&a->health_mu, NULL);
    pthread_mutex_init(&a->lag.mu, NULL);
    pthread_cond_init(&a->lag.wake, NULL);
}

static void slot_close(struct av_api_slot *s)
{
    av_sink_close(&s->sink); /* before the store: the SQLite sink lives in it */
    av_store_close(s->store);
    s->store = NULL;
}

/* The slot's store and sink, opened when first needed; 503 when not. */
static int slot_ready(struct av_api *a, struct av_api_slot *s, struct av_http_resp *r)
{
    char err[AV_ERRBUF_SIZE];

    if (s->store && s->sink.ops)
        return 1;
    if (s->store == NULL && av_store_open(&s->store, a->db_path, a->conf, err) != AV_OK) {
        av_api_error(r, 503, err, NULL);
        return 0;
    }
    if (av_sink_open(&s->sink, &(struct av_sink_env){a->conf, s->store, a->stop}, err) !=
        AV_OK) {
        av_api_error(r, 503, err, NULL);
        return 0;
    }
    return 1;
}

/* A free slot for this request, waiting up to 10 s for one; NULL (503
 * answered) when all stay busy or the one found cannot open. */
static struct av_api_slot *slot_take(struct av_api *a, struct av_http_resp *r)
{
    struct av_api_slot *s = NULL;
    struct timespec until;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    pthread_mutex_lock(&a->mu);
    for (;;) {
        for (int i = 0; i < AV_API_SLOTS && s == NULL; i++)
            if (!a->slots[i].busy && a->slots[i].store) /* an open one first */
                s = &a->slots[i];
        for (int i = 0; i < AV_API_SLOTS && s == NULL; i++)
            if (!a->slots[i].busy)
                s = &a->slots[i];
        if (s || pthread_cond_timedwait(&a->freed, &a->mu, &until) != 0)
            break;
    }
    if (s)
        s->busy = 1;
    pthread_mutex_unlock(&a->mu);
    if (s == NULL)
        av_api_error(r, 503, "the server is busy: every store connection is in use", NULL);
    else if (!slot_ready(a, s, r)) {
        pthread_mutex_lock(&a->mu);
        s->busy = 0;
        pthread_cond_signal(&a->freed);
        pthread_mutex_unlock(&a->mu);
        s = NULL;
    }
    return s;
}

static void slot_give(struct av_api *a, struct av_api_slot *s)
{
    pthread_mutex_lock(&a->mu);
    s->busy = 0;
    pthread_cond_signal(&a->freed);
    pthread_mutex_unlock(&a->mu);
}

/* ---- strict parameters ---- */

/* A date parameter: 1 absent or good, 0 bad (answered 400). */
static int date_param(const struct av_http_req *req, const char *name, int64_t *out,
                      struct av_http_resp *r)
{
    if (av_param_date(av_http_query(req, name), out) < 0) {
        av_api_error(r, 400, "not a date: use YYYY-MM-DD", name);
        return 0;
    }
    return 1;
}

/* The front page's date=YYYY-MM-DD (else *day is left as it is) and
 * lang=1|2 (else *lang is left 0): 1 absent or good, 0 bad (answered 400). */
static int front_params(const struct av_http_req *req, int64_t *day, int *lang,
                        struct av_http_resp *r)
{
    long v;
    int rc;

    if (!date_param(req, "date", day, r))
        return 0;
    if ((rc = av_param_int(av_http_query(req, "lang"), 1, 2, &v)) < 0) {
        av_api_error(r, 400, "lang must be 1 or 2", "lang");
        return 0;
    }
    if (rc == 1)
        *lang = (int)v;
    return 1;
}

/* The season page: /season/YYYY-YY (not of that shape: 404; of that
 * shape but no season: 400 "season") with lang=1|2, or /?season=YYYY-YY
 * (the same page; front_params checks its lang). *year stays 0 for any
 * other path: 1 not a season or good, 0 answered. */
static int season_route(const struct av_http_req *req, const char *p, int *year, int *lang,
                        struct av_http_resp *r)
{
    static const char bad[] = "season must be YYYY-YY, the second year the first + 1 "
                              "(2022-23), 1900-01 to 2198-99";
    long v;
    int rc;

    if (strcmp(p, "/") == 0) {
        if (av_param_season(av_http_query(req, "season"), year) < 0) {
            av_api_error(r, 400, bad, "season");
            return 0;
        }
        return 1;
    }
    if (strncmp(p, "/season/", 8) != 0)
        return 1;
    if ((rc = av_param_season_path(p, year)) <= 0) {
        if (rc == 0)
            av_api_error(r, 404, "no such season: use /season/YYYY-YY", NULL);
        else
            av_api_error(r, 400, bad, "season");
        return 0;
    }
    if ((rc = av_param_int(av_http_query(req, "lang"), 1, 2, &v)) < 0) {
        av_api_error(r, 400, "lang must be 1 or 2", "lang");
        return 0;
    }
    if (rc == 1)
        *lang = (int)v;
    return 1;
}

/* after=REGION:YYYY-MM-DD:LANG, the key of the last warning of a page:
 * 1 absent or good, 0 bad. */
static int after_param(const char *v, struct av_query *q)
{
    int rc = av_param_after(v, &q->after_region, &q->after_date, &q->after_lang);

    q->after = rc == 1;
    return rc >= 0;
}

/* Appends k=v to a query string, percent-encoding v. */
static void qs_add(struct av_buf *b, const char *k, const char *v)
{
    static const char hex[] = "0123456789ABCDEF";

    if (v == NULL || *v == '\0')
        return;
    av_buf_printf(b, "%s%s=", b->len ? "&" : "", k);
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.')
            av_buf_putc(b, (char)*p);
        else
            av_buf_printf(b, "%%%c%c", hex[*p >> 4], hex[*p & 15]);
    }
}

/* ---- /api/warnings ---- */

struct wctx {
    struct av_buf *out, one;
    long n, limit;
    int more, too_big;
    int region, lang;
    int64_t date; /* the key of the last warning given */
};

static int add_warning(void *ud, const struct av_warning *w)
{
    struct wctx *c = ud;

    if (c->n == c->limit || (c->n > 0 && c->out->len > PAGE_BYTES)) {
        c->more = 1; /* one more exists: the page ends here */
        return 1;
    }
    av_buf_reset(&c->one);
    av_export_json(&c->one, &av_ds_warning, w, w);
    if (c->one.failed || c->out->len + c->one.len + 8 > c->out->max) {
        c->too_big = c->n == 0;
        c->more = c->n > 0;
        return 1;
    }
    av_buf_puts(c->out, c->n++ ? ",\n" : "\n");
    av_buf_append(c->out, c->one.data, c->one.len);
    c->region = w->region_id;
    c->date = w->valid_date;
    c->lang = w->lang;
    return 0;
}

static void api_warnings(struct av_api *a, const struct av_http_req *req,
                         struct av_http_resp *r)
{
    struct av_query q = {NULL, 0, INT64_MIN, INT64_MAX, 0, AV_PART_PROBLEMS};
    int ids[AV_MAX_REGIONS], n = 0;
    const char *region = av_http_query(req, "region"), *lang = av_http_query(req, "lang");
    const char *from = av_http_query(req, "from"), *to = av_http_query(req, "to");
    char err[AV_ERRBUF_SIZE], d[AV_DATE_LEN], limit_s[16];
    struct wctx c = {&r->body, {0}, 0, DEFAULT_LIMIT, 0, 0, 0, 0, 0};
    struct av_api_slot *s;
    long v;
    av_rc rc;

    if (region && *region) {
        if (av_regions_select(region, ids, &n, err) != AV_OK) {
            av_api_error(r, 400, err, "region");
            return;
        }
        q.regions = ids;
        q.nregions = n;
    }
    if (!date_param(req, "from", &q.from, r) || !date_param(req, "to", &q.to, r))
        return;
    if (q.from != INT64_MIN && q.to != INT64_MAX && q.from > q.to) {
        av_api_error(r, 400, "from is after to", "from");
        return;
    }
    if (q.from == INT64_MIN && q.to == INT64_MAX) /* default: the last 30 days */
        q.from = av_oslo_today() - 30;
    switch (av_param_int(lang, 1, 2, &v)) {
    case -1:
        av_api_error(r, 400, "lang must be 1 or 2", "lang");
        return;
    case 1:
        q.lang = (int)v;
    }
    switch (av_param_int(av_http_query(req, "limit"), 1, MAX_LIMIT, &v)) {
    case -1:
        av_api_error(r, 400, "limit must be 1..10000", "limit");
        return;
    case 1:
        c.limit = v;
    }
    if (!after_param(av_http_query(req, "after"), &q)) {
        av_api_error(r, 400, "after must be REGION:YYYY-MM-DD:LANG (from a Link header)",
                     "after");
        return;
    }
    if ((s = slot_take(a, r)) == NULL)
        return;
    av_buf_init(&c.one, r->body.max);
    av_buf_putc(&r->body, '[');
    rc = av_sink_read(&s->sink, &q, add_warning, &c, err);
    slot_give(a, s);
    av_buf_free(&c.one);
    if (rc != AV_OK) {
        av_api_error(r, 500, err, NULL);
        return;
    }
    if (c.too_big) {
        av_api_error(r, 500, "one warning is larger than the answer ceiling", NULL);
        return;
    }
    av_buf_puts(&r->body, "\n]\n");
    if (c.more) { /* the next page: the same query after the last key */
        struct av_buf qs;
        av_buf_init(&qs, 400);
        qs_add(&qs, "region", region);
        if (from && *from) {
            av_date_format(q.from, d);
            qs_add(&qs, "from", d);
        }
        qs_add(&qs, "to", to);
        qs_add(&qs, "lang", lang);
        snprintf(limit_s, sizeof(limit_s), "%ld", c.limit);
        qs_add(&qs, "limit", limit_s);
        av_date_format(c.date, d);
        av_buf_printf(&qs, "&after=%d:%s:%d", c.region, d, c.lang);
        if (!qs.failed)
            snprintf(r->link, sizeof(r->link), "</api/warnings?%s>; rel=\"next\"", qs.data);
        av_buf_free(&qs);
    }
}

/* ---- /api/regions ---- */

struct rctx {
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

static void api_regions(struct av_api *a, struct av_api_slot *s, struct av_http_resp *r)
{
    struct rctx *c = calloc(1, sizeof(*c));
    char err[AV_ERRBUF_SIZE];

    if (c == NULL) {
        av_api_error(r, 500, "out of memory", NULL);
        return;
    }
    (void)a;
    if (av_store_each_state(s->store, collect_state, c, err) != AV_OK) {
        av_api_error(r, 500, err, NULL);
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

static void api_runs(struct av_api_slot *s, const struct av_http_req *req,
                     struct av_http_resp *r)
{
    long limit = 20;
    char err[AV_ERRBUF_SIZE];
    struct runctx c = {&r->body, 0};

    if (av_param_int(av_http_query(req, "limit"), 1, 1000, &limit) < 0) {
        av_api_error(r, 400, "limit must be 1..1000", "limit");
        return;
    }
    av_buf_putc(&r->body, '[');
    if (av_store_each_run(s->store, (int)limit, add_run, &c, err) != AV_OK) {
        av_api_error(r, 500, err, NULL);
        return;
    }
    av_buf_puts(&r->body, "\n]\n");
}

/* ---- POST /api/runs ---- */

/* a == b over every byte of the longer one: no early exit on a mismatch,
 * so the time taken says nothing about how much of the token was right. */
static int same_secret(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), n = la > lb ? la : lb;
    unsigned char diff = (unsigned char)(la != lb);

    for (size_t i = 0; i < n; i++)
        diff |= (unsigned char)((i < la ? a[i] : 0) ^ (i < lb ? b[i] : 0));
    return diff == 0;
}

static void post_run(struct av_api *a, const struct av_http_req *req, struct av_http_resp *r)
{
    const char *auth = av_http_header(req, "Authorization");

    if (a->token[0] == '\0') {
        av_api_error(r, 403, "starting runs over HTTP is off: set serve.token", NULL);
        return;
    }
    if (auth == NULL || strncmp(auth, "Bearer ", 7) != 0 || !same_secret(auth + 7, a->token)) {
        av_api_error(r, 401, "missing or wrong bearer token", NULL);
        return;
    }
    __atomic_store_n(&a->run_requested, 1, __ATOMIC_SEQ_CST);
    r->status = 202;
    av_buf_printf(&r->body, "{\"status\":\"%s\"}\n",
                  __atomic_load_n(&a->run_active, __ATOMIC_SEQ_CST)
                      ? "queued (a run is in progress)"
                      : "starting");
}

int av_api_take_run_request(struct av_api *a)
{
    return __atomic_exchange_n(&a->run_requested, 0, __ATOMIC_SEQ_CST);
}

void av_api_set_next_run(struct av_api *a, av_ms when)
{
    __atomic_store_n(&a->next_run, (int64_t)when, __ATOMIC_SEQ_CST);
}

void av_api_set_run_active(struct av_api *a, int on)
{
    __atomic_store_n(&a->run_active, on, __ATOMIC_SEQ_CST);
}

/* ---- the cached answers (cache.h) ---- */

enum page_kind { PAGE_FRONT, PAGE_REGION, PAGE_SEASON, PAGE_QUALITY, PAGE_METRICS,
                 PAGE_REGIONS, PAGE_RUNS };

/* A GET answer whose parameters were checked: what render() computes. */
struct page {
    enum page_kind kind;
    int region, season, lang;
    int64_t day;
    struct av_region_view rview;
};

static void render(struct av_api *a, struct av_api_slot *s, const struct av_http_req *req,
                   const struct page *pg, struct av_http_resp *r)
{
    char err[AV_ERRBUF_SIZE];

    switch (pg->kind) {
    case PAGE_METRICS:
        if (av_api_metrics_data(a, s, &r->body, err) != AV_OK)
            av_api_error(r, 500, err, NULL);
        else
            r->type = "text/plain; version=0.0.4; charset=utf-8";
        break;
    case PAGE_REGIONS:
        api_regions(a, s, r);
        break;
    case PAGE_RUNS:
        api_runs(s, req, r);
        break;
    case PAGE_QUALITY:
        av_quality_page(s->store, &s->sink, r);
        break;
    case PAGE_REGION:
        av_region_page_view(&s->sink, pg->region, &pg->rview, r);
        break;
    case PAGE_SEASON:
        av_season_page(&s->sink, pg->season, pg->lang, r);
        break;
    case PAGE_FRONT:
        av_dashboard(s->store, &s->sink, pg->day, pg->lang, r);
        break;
    }
}

/* The cache's generation for a request on slot s, read before any of its
 * data: a data_version other than the one this connection read last, or
 * its first use, is a change. *ok = 0 when it cannot be read (then the
 * answer is neither served from the cache nor kept). */
static uint64_t slot_generation(struct av_api *a, struct av_api_slot *s, int *ok)
{
    char err[AV_ERRBUF_SIZE];
    int64_t v;
    int changed;

    if (a->cache == NULL) { /* serve.cache_mb = 0 */
        *ok = 0;
        return 0;
    }
    if (av_store_data_version(s->store, &v, err) != AV_OK) {
        s->dv_seen = 0;
        *ok = 0;
        return av_cache_generation(a->cache, 1);
    }
    changed = !s->dv_seen || v != s->dv;
    s->dv = v;
    s->dv_seen = 1;
    *ok = 1;
    return av_cache_generation(a->cache, changed);
}

/* The first midnight after now, Europe/Oslo or UTC: the pages say what
 * "today" is (Oslo) and /metrics sums the weather's UTC day. */
static av_ms day_end(av_ms now)
{
    int64_t local = av_oslo_utc_to_local(now), day = local / 86400000 - (local % 86400000 < 0);
    av_ms oslo = av_oslo_local_to_utc((day + 1) * 86400000);
    av_ms utc = (now / 86400000 - (now % 86400000 < 0) + 1) * 86400000;

    return oslo < utc ? oslo : utc;
}

/* Answers pg from the cache when it holds it for this generation, else
 * computes it (render) and keeps it when it is a whole 200; /metrics then
 * gets its live part, on every request. */
static void answer(struct av_api *a, struct av_api_slot *s, const struct av_http_req *req,
                   const struct page *pg, struct av_http_resp *r)
{
    av_ms now = av_now();
    int64_t mono = av_mono_ms(), mono_until = 0;
    int ok, hit = 0;
    uint64_t gen = slot_generation(a, s, &ok);
    const char *type, *inm;
    char etag[AV_CACHE_ETAG_LEN] = "";
    struct av_buf key;

    if (s->sink.ops != &av_sink_sqlite) { /* writes there do not move data_version */
        ok = ok && a->cache_ttl_ms > 0;
        mono_until = mono + a->cache_ttl_ms;
    }
    av_buf_init(&key, AV_CACHE_KEY_MAX + 1);
    av_buf_printf(&key, "%d %s?", (int)pg->kind, req->path);
    av_http_query_canon(req, &key);
    ok = ok && a->cache && !key.failed;
    if (ok && av_cache_get(a->cache, key.data, key.len, now, mono, &r->body, &type, etag)) {
        r->type = type;
        hit = 1;
    }
    if (!hit) {
        render(a, s, req, pg, r);
        if (!(ok && r->status == 200 && !r->body.failed &&
              av_cache_put(a->cache, key.data, key.len, gen, day_end(now), mono_until, r->type,
                           r->body.data, r->body.len, etag)))
            etag[0] = '\0';
    }
    av_buf_free(&key);
    if (pg->kind == PAGE_METRICS) { /* no tag: the live part differs every time */
        if (r->status == 200)
            av_api_metrics_live(a, &r->body);
        return;
    }
    if (etag[0] == '\0')
        return;
    snprintf(r->etag, sizeof(r->etag), "%s", etag); /* the client may keep its copy */
    if ((inm = av_http_header(req, "If-None-Match")) != NULL && strstr(inm, etag)) {
        r->status = 304; /* what it has is what this is */
        av_buf_reset(&r->body);
    }
}

/* /?season=YYYY-YY[&lang=N]: the season page lives at its own address. */
static void season_redirect(int year, int lang, struct av_http_resp *r)
{
    char sn[AV_SEASON_NAME_LEN];

    av_season_name(year, sn);
    snprintf(r->location, sizeof(r->location), "/season/%s%s", sn,
             lang == 1 ? "?lang=1" : lang == 2 ? "?lang=2" : "");
    r->status = 303;
    av_buf_puts(&r->body, "{\"location\":");
    av_json_quote(&r->body, r->location);
    av_buf_puts(&r->body, "}\n");
}

/* ---- dispatch ---- */

static void healthz(struct av_api *a, struct av_http_resp *r)
{
    pthread_mutex_lock(&a->health_mu);
    if (slot_ready(a, &a->health, r)) {
        int64_t next = __atomic_load_n(&a->next_run, __ATOMIC_SEQ_CST);
        char when[AV_STAMP_LEN];
        av_buf_printf(&r->body, "{\"status\":\"ok\",\"run_active\":%s,\"next_run\":",
                      __atomic_load_n(&a->run_active, __ATOMIC_SEQ_CST) ? "true" : "false");
        if (next >= 0) {
            av_stamp_format((av_ms)next, when);
            av_buf_printf(&r->body, "\"%s\"}\n", when);
        } else {
            av_buf_puts(&r->body, "null}\n");
        }
    }
    pthread_mutex_unlock(&a->health_mu);
}

void av_api_handle(void *ud, const struct av_http_req *req, struct av_http_resp *r)
{
    struct av_api *a = ud;
    const char *p = req->path;
    int get = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
    int post = strcmp(req->method, "POST") == 0, region = 0, lang = 0, season = 0;
    struct av_api_slot *s;
    struct av_region_view rview;
    struct page pg = {0};
    int64_t day;

    __atomic_add_fetch(&a->requests, 1, __ATOMIC_RELAXED);
    if (strcmp(p, "/healthz") == 0 && get) {
        healthz(a, r);
        return;
    }
    if (strcmp(p, "/api/runs") == 0 && post) {
        post_run(a, req, r);
        return;
    }
    if (strcmp(p, "/api/warnings") == 0 && get) {
        api_warnings(a, req, r);
        return;
    }
    if (av_api_doc_route(p) && get) { /* /api/caaml, /api/map.geojson (api_doc.h) */
        struct av_doc_req doc;
        if (av_api_doc_params(a->conf, req, av_api_doc_route(p), &doc, r) &&
            (s = slot_take(a, r)) != NULL) {
            av_api_doc(&s->sink, &doc, r);
            slot_give(a, s);
        }
        return;
    }
    if (strcmp(p, "/quality") == 0) { /* the data-quality page (dash_quality.c) */
        if (!get)
            av_api_error(r, 405, "method not allowed", NULL);
        else if ((s = slot_take(a, r)) != NULL) {
            answer(a, s, req, &(struct page){.kind = PAGE_QUALITY}, r);
            slot_give(a, s);
        }
        return;
    }
    if (strncmp(p, "/region/", 8) == 0 && get && (region = av_param_region_path(p)) == 0) {
        av_api_error(r, 404, "no such region", NULL);
        return;
    }
    day = av_oslo_today();
    if (strcmp(p, "/") == 0 && get && !front_params(req, &day, &lang, r))
        return;
    if (get && !season_route(req, p, &season, &lang, r))
        return;
    if (region && !av_region_params(req, &rview, r)) /* date, season, lang (dashboard.h) */
        return;
    if (!get || (strcmp(p, "/metrics") != 0 && strcmp(p, "/api/regions") != 0 &&
                 strcmp(p, "/api/runs") != 0 && strcmp(p, "/") != 0 && region == 0 &&
                 season == 0)) {
        if (strcmp(p, "/api/runs") == 0 || strcmp(p, "/metrics") == 0 ||
            strcmp(p, "/api/warnings") == 0 || strcmp(p, "/") == 0)
            av_api_error(r, 405, "method not allowed", NULL);
        else
            av_api_error(r, 404, "no such resource", NULL);
        return;
    }
    if (season && strcmp(p, "/") == 0) {
        season_redirect(season, lang, r);
        return;
    }
    if (region)
        pg.rview = rview;
    pg.kind = strcmp(p, "/metrics") == 0       ? PAGE_METRICS
              : strcmp(p, "/api/regions") == 0 ? PAGE_REGIONS
              : strcmp(p, "/api/runs") == 0    ? PAGE_RUNS
              : region                         ? PAGE_REGION
              : season                         ? PAGE_SEASON
                                               : PAGE_FRONT;
    pg.region = region;
    pg.season = season;
    pg.lang = lang;
    pg.day = day;
    if ((s = slot_take(a, r)) == NULL)
        return;
    answer(a, s, req, &pg, r);
    slot_give(a, s);
}

void av_api_close(struct av_api *a)
{
    av_api_lag_stop(a);
    for (int i = 0; i < AV_API_SLOTS; i++)
        slot_close(&a->slots[i]);
    slot_close(&a->health);
    pthread_mutex_destroy(&a->mu);
    pthread_cond_destroy(&a->freed);
    pthread_mutex_destroy(&a->health_mu);
    pthread_mutex_destroy(&a->lag.mu);
    pthread_cond_destroy(&a->lag.wake);
    av_cache_free(a->cache);
    a->cache = NULL;
}
