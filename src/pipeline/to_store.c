/* to_store.c - fetched responses into the state store and the sink (the
 * raw_out of run and backfill, see raw_out.h): per unit one transaction
 * holding the raw body, the clean records, the rejects, the fetch state and
 * the unit's days cleared from the holes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../sources/openmeteo.h"
#include "ingest.h"
#include "raw_out.h"
#include "weather_ingest.h"

struct to_store {
    struct av_store *store;
    struct av_sink *sink;
    struct av_ingest ig;
    struct av_wx_ingest wx;
};

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

static av_rc put(void *ctx, const struct av_raw_meta *m, const char *body, size_t len,
                 struct av_unit_outcome *o, char *errbuf)
{
    struct to_store *t = ctx;
    struct av_ingest_result res;
    int64_t raw_id = 0;
    av_rc rc;

    memset(o, 0, sizeof(*o));
    if (strcmp(m->source, AV_WX_SOURCE) == 0)
        return put_weather(t, m, body, len, o, errbuf);
    rc = av_store_begin(t->store, errbuf);
    if (rc == AV_OK && (rc = av_sink_begin(t->sink, errbuf)) != AV_OK)
        av_store_rollback(t->store);
    if (rc != AV_OK)
        return rc;
    rc = av_store_raw_put(t->store, m, body, len, &raw_id, errbuf);
    if (rc == AV_OK)
        rc = av_ingest_body(&t->ig, m, raw_id, body, len, m->fetched_at, &res, errbuf);
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

static av_rc finish(void *ctx, char *note, size_t cap, char *errbuf)
{
    (void)ctx;
    (void)errbuf;
    if (cap)
        note[0] = '\0';
    return AV_OK;
}

static void close_out(void *ctx)
{
    struct to_store *t = ctx;

    if (t == NULL)
        return;
    av_ingest_free(&t->ig);
    av_wx_ingest_free(&t->wx);
    free(t);
}

static const struct av_raw_out_ops to_store_ops = {
    .counts = "warnings",
    .put = put,
    .finish = finish,
    .close = close_out,
};

av_rc av_to_store_open(struct av_raw_out *out, struct av_store *store, struct av_sink *sink,
                       const struct av_conf *c, char *errbuf)
{
    struct to_store *t = calloc(1, sizeof(*t));

    if (t == NULL || av_ingest_init(&t->ig, store, sink, c) != AV_OK ||
        av_wx_ingest_init(&t->wx, store, sink, c) != AV_OK) {
        close_out(t);
        return av_fail(errbuf, AV_ENOMEM, "out of memory");
    }
    t->store = store;
    t->sink = sink;
    out->ops = &to_store_ops;
    out->ctx = t;
    return AV_OK;
}
