/* to_store.c - fetched responses into the state store and the sink (the
 * raw_out of run and backfill, see raw_out.h). Per unit: the raw body, the
 * clean records, the rejects, the fetch state and the unit's days cleared
 * from the holes, all in one transaction, which since issue 13 holds up to
 * run.commit_units units (or run.commit_ms of them): the per-unit
 * transactions nest inside it (store.h), a unit's failure rolls the whole
 * batch back, and outcomes are reported only once the batch is committed.
 *
 * Pipelined (submit): the bodies go to an ingest pool (ingest_pool.h) whose
 * run.workers threads parse and transform them and whose writer thread
 * calls apply_unit in submission order, so upserts, history and rejects
 * are those of the sequential run, while the fetching thread goes on
 * fetching. The writer commits a batch when it is full, older than
 * run.commit_ms, or when it has applied everything queued (idle: the
 * fetches are slower than the writes). Outcomes of a committed batch wait
 * in `ready` (under mu, the only state the two threads share here besides
 * the pool's) until the fetching thread delivers them to done(), in its
 * next submit or flush. Everything else is the writer's while the pool has
 * work, and the fetching thread's after a drain (flush, put, finish). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/clock.h"
#include "../sources/openmeteo.h"
#include "ingest.h"
#include "ingest_pool.h"
#include "raw_out.h"
#include "weather_ingest.h"

/* A unit applied in the open batch, its outcome not reported yet. */
struct pending {
    size_t unit;
    struct av_unit_outcome o;
};

struct to_store {
    struct av_store *store;
    struct av_sink *sink;
    struct av_ingest ig;
    struct av_wx_ingest wx;
    struct av_ingest_pool *pool; /* made on the first submit */
    int workers;
    const struct av_conf *conf;
    /* the open batch: a store transaction holding npend units */
    int in_tx;
    av_ms tx_started;
    int commit_units;
    long commit_ms;
    struct pending *pend; /* [commit_units] */
    int npend;
    /* committed, not yet delivered (writer -> fetching thread) */
    pthread_mutex_t mu;
    struct pending *ready; /* [nready], capacity cap */
    size_t nready, cap;
    av_unit_done_fn done;
    void *ud;
};

static av_rc batch_begin(struct to_store *t, char *errbuf)
{
    av_rc rc;

    if (t->in_tx)
        return AV_OK;
    if ((rc = av_store_begin(t->store, errbuf)) != AV_OK)
        return rc;
    t->in_tx = 1;
    t->tx_started = av_mono_ms();
    return AV_OK;
}

/* Ends the open batch: commits it, then queues its outcomes for deliver(). */
static av_rc batch_commit(struct to_store *t, char *errbuf)
{
    av_rc rc;
    int n = t->npend;

    if (!t->in_tx)
        return AV_OK;
    t->in_tx = 0;
    t->npend = 0;
    if ((rc = av_store_commit(t->store, errbuf)) != AV_OK) {
        av_store_rollback(t->store);
        return rc;
    }
    pthread_mutex_lock(&t->mu);
    if (t->nready + (size_t)n > t->cap) {
        size_t cap = (t->nready + (size_t)n) * 2;
        struct pending *r = realloc(t->ready, cap * sizeof(*r));
        if (r == NULL) { /* the run stops; these count failed though committed */
            pthread_mutex_unlock(&t->mu);
            return av_fail(errbuf, AV_ENOMEM, "out of memory");
        }
        t->ready = r;
        t->cap = cap;
    }
    memcpy(t->ready + t->nready, t->pend, (size_t)n * sizeof(*t->pend));
    t->nready += (size_t)n;
    pthread_mutex_unlock(&t->mu);
    return AV_OK;
}

/* The fetching thread: the outcomes committed so far, to done(). */
static void deliver(struct to_store *t)
{
    struct pending *r;
    size_t n;

    pthread_mutex_lock(&t->mu);
    r = t->ready;
    n = t->nready;
    t->ready = NULL;
    t->nready = t->cap = 0;
    pthread_mutex_unlock(&t->mu);
    for (size_t i = 0; i < n; i++)
        t->done(t->ud, r[i].unit, &r[i].o);
    free(r);
}

/* After an error inside the batch: nothing of it stays, nothing is reported. */
static void batch_abort(struct to_store *t)
{
    if (t->in_tx)
        av_store_rollback(t->store);
    t->in_tx = 0;
    t->npend = 0;
}

/* A weather response: hourly and daily records; the archive's fetch state
 * is its latest complete day, and only complete days stop being holes. */
static av_rc put_weather(struct to_store *t, const struct av_raw_meta *m, const char *body,
                         size_t len, struct av_unit_outcome *o, char *errbuf)
{
    struct av_wx_result res = {0};
    int archive = strcmp(m->endpoint, "archive") == 0;
    const char *ep = archive ? AV_OM_EP_ARCHIVE : AV_OM_EP_FORECAST;
    int64_t raw_id = 0;
    av_rc rc;

    rc = av_store_begin(t->store, errbuf);
    if (rc == AV_OK && (rc = av_sink_begin(t->sink, errbuf)) != AV_OK)
        av_store_rollback(t->store);
    if (rc != AV_OK)
        return rc;
    rc = av_store_raw_put(t->store, m, body, len, &raw_id, errbuf);
    if (rc == AV_OK)
        rc = av_wx_ingest_body(&t->wx, m, raw_id, body, len, m->fetched_at, &res, errbuf);
    if (rc == AV_OK)
        rc = av_sink_commit(t->sink, errbuf);
    if (rc == AV_OK)
        rc = av_store_state_put(t->store, m->region_id, 0, ep,
                                archive && !res.parse_failed ? res.last_complete : -1,
                                m->fetched_at, res.parse_failed ? "rejected" : "ok",
                                res.parse_failed ? res.reason : NULL, errbuf);
    for (int d = 0; rc == AV_OK && archive && d < res.ndays; d++) {
        int e = d;
        if (!res.complete[d])
            continue;
        while (e + 1 < res.ndays && res.complete[e + 1])
            e++;
        rc = av_store_hole_clear(t->store, m->region_id, 0, ep, m->from_date + d,
                                 m->from_date + e, errbuf);
        d = e;
    }
    if (rc == AV_OK)
        rc = av_store_commit(t->store, errbuf);
    if (rc != AV_OK) {
        av_sink_rollback(t->sink);
        av_store_rollback(t->store);
        av_wx_result_free(&res);
        return rc;
    }
    o->rejected = res.parse_failed;
    o->stored = res.hours_stored;
    o->wdays = res.days_stored;
    memcpy(o->reason, res.reason, sizeof(o->reason));
    snprintf(o->kept, sizeof(o->kept), "raw response kept; see `avalanche status`");
    av_wx_result_free(&res);
    return AV_OK;
}

/* One warnings unit, prepared in p, in its own (nested) transaction. */
static av_rc store_unit(struct to_store *t, const struct av_raw_meta *m,
                        struct av_ingest_prep *p, const char *body, size_t len,
                        struct av_unit_outcome *o, char *errbuf)
{
    struct av_ingest_result res;
    int64_t raw_id = 0;
    av_rc rc;

    memset(o, 0, sizeof(*o));
    rc = av_store_begin(t->store, errbuf);
    if (rc == AV_OK && (rc = av_sink_begin(t->sink, errbuf)) != AV_OK)
        av_store_rollback(t->store);
    if (rc != AV_OK)
        return rc;
    rc = av_store_raw_put(t->store, m, body, len, &raw_id, errbuf);
    if (rc == AV_OK)
        rc = av_ingest_apply(&t->ig, p, m, raw_id, body, len, m->fetched_at, &res, errbuf);
    if (rc == AV_OK)
        rc = av_sink_commit(t->sink, errbuf);
    /* The fetch state moves only once the sink holds the records. */
    if (rc == AV_OK)
        rc = av_store_state_put(t->store, m->region_id, m->lang, m->endpoint,
                                res.parse_failed ? -1 : res.max_date, m->fetched_at,
                                res.parse_failed ? "rejected" : "ok",
                                res.parse_failed ? res.reason : NULL, errbuf);
    /* stored (even if some warnings were refused): no longer a hole; a
     * body rejected whole stays one, for the next run */
    if (rc == AV_OK && !res.parse_failed && m->from_date != INT64_MIN)
        rc = av_store_hole_clear(t->store, m->region_id, m->lang, m->endpoint, m->from_date,
                                 m->to_date, errbuf);
    if (rc == AV_OK)
        rc = av_store_commit(t->store, errbuf);
    if (rc != AV_OK) {
        av_sink_rollback(t->sink);
        av_store_rollback(t->store);
        return rc;
    }
    o->rejected = res.parse_failed;
    o->stored = res.stored;
    o->unchanged = res.unchanged;
    o->wrejected = res.rejected;
    memcpy(o->reason, res.reason, sizeof(o->reason));
    snprintf(o->kept, sizeof(o->kept), "raw response kept; see `avalanche status`");
    return AV_OK;
}

/* The pool's writer half: a submitted unit, prepared, into the batch (in
 * submission order); the batch is committed when full or old enough. */
static av_rc apply_unit(void *ud, int64_t id, const struct av_raw_meta *m,
                        struct av_ingest_prep *p, const char *body, size_t len, char *errbuf)
{
    struct to_store *t = ud;
    struct pending *pd;
    av_rc rc;

    if ((rc = batch_begin(t, errbuf)) != AV_OK)
        return rc;
    pd = &t->pend[t->npend];
    pd->unit = (size_t)id;
    if ((rc = store_unit(t, m, p, body, len, &pd->o, errbuf)) != AV_OK) {
        batch_abort(t);
        return rc;
    }
    t->npend++;
    if (t->npend >= t->commit_units || av_mono_ms() - t->tx_started >= t->commit_ms)
        return batch_commit(t, errbuf);
    return AV_OK;
}

/* The writer, having applied everything queued: the fetches are slower
 * than the writes, commit what it has. */
static av_rc idle(void *ud, char *errbuf)
{
    return batch_commit(ud, errbuf);
}

static av_rc flush(void *ctx, char *errbuf)
{
    struct to_store *t = ctx;
    av_rc rc = AV_OK;

    if (t->pool)
        rc = av_ingest_pool_drain(t->pool, errbuf); /* then the writer is idle */
    if (rc == AV_OK)
        rc = batch_commit(t, errbuf);
    else
        batch_abort(t);
    if (t->done)
        deliver(t); /* what was committed, also before an error */
    return rc;
}

static av_rc submit(void *ctx, size_t unit, const struct av_raw_meta *m, const char *body,
                    size_t len, av_unit_done_fn done, void *ud, char *errbuf)
{
    struct to_store *t = ctx;
    av_rc rc = AV_OK;

    t->done = done;
    t->ud = ud;
    if (t->pool == NULL)
        rc = av_ingest_pool_open_writer(&t->pool, t->workers, t->conf, apply_unit, idle, t,
                                        errbuf);
    if (rc == AV_OK)
        rc = av_ingest_pool_submit_body(t->pool, (int64_t)unit, m, body, len, errbuf);
    deliver(t);
    return rc;
}

/* One unit now (the weather, and callers that do not submit): after what
 * was submitted, in a transaction of its own. */
static av_rc put(void *ctx, const struct av_raw_meta *m, const char *body, size_t len,
                 struct av_unit_outcome *o, char *errbuf)
{
    struct to_store *t = ctx;
    av_rc rc;

    memset(o, 0, sizeof(*o));
    if ((rc = flush(t, errbuf)) != AV_OK)
        return rc;
    if (strcmp(m->source, AV_WX_SOURCE) == 0)
        return put_weather(t, m, body, len, o, errbuf);
    av_ingest_prepare(&t->ig.prep, m, body, len);
    return store_unit(t, m, &t->ig.prep, body, len, o, errbuf);
}

static av_rc finish(void *ctx, char *note, size_t cap, char *errbuf)
{
    if (cap)
        note[0] = '\0';
    return flush(ctx, errbuf);
}

static void close_out(void *ctx)
{
    struct to_store *t = ctx;

    if (t == NULL)
        return;
    av_ingest_pool_close(t->pool); /* the threads stop before what they use goes */
    batch_abort(t);                /* not finished: nothing of the batch was reported */
    free(t->pend);
    free(t->ready);
    pthread_mutex_destroy(&t->mu);
    av_ingest_free(&t->ig);
    av_wx_ingest_free(&t->wx);
    free(t);
}

static const struct av_raw_out_ops to_store_ops = {
    .counts = "warnings",
    .put = put,
    .submit = submit,
    .flush = flush,
    .finish = finish,
    .close = close_out,
};

av_rc av_to_store_open(struct av_raw_out *out, struct av_store *store, struct av_sink *sink,
                       const struct av_conf *c, char *errbuf)
{
    struct to_store *t = calloc(1, sizeof(*t));

    if (t)
        pthread_mutex_init(&t->mu, NULL);
    if (t == NULL || av_ingest_init(&t->ig, store, sink, c) != AV_OK ||
        av_wx_ingest_init(&t->wx, store, sink, c) != AV_OK) {
        close_out(t);
        return av_fail(errbuf, AV_ENOMEM, "out of memory");
    }
    t->store = store;
    t->sink = sink;
    t->conf = c;
    t->workers = (int)av_conf_int(c, "run.workers");
    if (t->workers == 0)
        t->workers = av_ingest_pool_auto_workers();
    t->commit_units = (int)av_conf_int(c, "run.commit_units");
    t->commit_ms = (long)av_conf_int(c, "run.commit_ms");
    t->pend = calloc((size_t)t->commit_units, sizeof(*t->pend));
    if (t->pend == NULL) {
        close_out(t);
        return av_fail(errbuf, AV_ENOMEM, "out of memory");
    }
    out->ops = &to_store_ops;
    out->ctx = t;
    return AV_OK;
}
