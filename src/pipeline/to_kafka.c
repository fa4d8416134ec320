/* to_kafka.c - fetched responses to Kafka (the raw_out of produce, see
 * raw_out.h; message formats in kafka.h): one message per warning on
 * stream.topic, one per weather response on stream.weather_topic, the
 * body's bytes untouched. The state store keeps only the fetch state and
 * the holes; both move in finish() once every message was delivered, so a
 * failed produce is planned again in full.
 *
 * The weather's archive days stop being holes only where they are
 * complete (wx_complete.h). The producer has no sink to read back, so it
 * parses each body (the same strict parser as run) and decides from the
 * body alone; a body that does not parse goes to the dead-letter topic
 * with stage and reason, and its days stay holes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/json.h"
#include "../core/tz.h"
#include "../model/regions.h"
#include "../sources/openmeteo.h"
#include "../transforms/weather_daily.h"
#include "../transport/kafka.h"
#include "raw_out.h"
#include "weather_ingest.h"
#include "wx_complete.h"

/* The latest date produced per (region, lang): the fetch state to be. */
struct produced {
    int region_id, lang;
    int64_t max_date;
};

/* Days handed to the producer in full (a unit's warnings; a weather
 * archive unit's complete days): once delivered, no longer a hole. */
struct sent {
    int region_id, lang;
    const char *endpoint; /* NULL: api.endpoint */
    int64_t from, to;
};

/* The weather fetch state to be of (region, endpoint): its last unit's
 * outcome and the latest complete archive day. */
struct wx_state {
    int region_id, archive;
    int64_t last_complete;
    av_ms at;
    int rejected;
    char reason[AV_ERRBUF_SIZE];
};

struct to_kafka {
    const struct av_conf *conf;
    struct av_store *store;
    struct av_kafka *k;
    const char *topic, *dlq, *wtopic;
    struct av_json doc;
    struct produced seen[AV_MAX_REGIONS * 2];
    int nseen;
    long messages, wmessages;
    struct sent *sent;
    size_t nsent, capsent;
    struct wx_state wx[AV_MAX_REGIONS * 2];
    int nwx;
    struct av_wx_hour *hours; /* the weather body being sent, parsed */
    unsigned char *complete;  /* its days: complete or not */
    int capcomplete;
};

static struct produced *seen_for(struct to_kafka *t, int region, int lang)
{
    for (int i = 0; i < t->nseen; i++)
        if (t->seen[i].region_id == region && t->seen[i].lang == lang)
            return &t->seen[i];
    if (t->nseen == AV_MAX_REGIONS * 2)
        return NULL;
    t->seen[t->nseen] = (struct produced){region, lang, -1};
    return &t->seen[t->nseen++];
}

static struct wx_state *wx_for(struct to_kafka *t, int region, int archive)
{
    for (int i = 0; i < t->nwx; i++)
        if (t->wx[i].region_id == region && t->wx[i].archive == archive)
            return &t->wx[i];
    if (t->nwx == AV_MAX_REGIONS * 2)
        return NULL;
    memset(&t->wx[t->nwx], 0, sizeof(t->wx[0]));
    t->wx[t->nwx].region_id = region;
    t->wx[t->nwx].archive = archive;
    t->wx[t->nwx].last_complete = -1;
    return &t->wx[t->nwx++];
}

static av_rc add_sent(struct to_kafka *t, int region, int lang, const char *endpoint,
                      int64_t from, int64_t to, char *errbuf)
{
    if (t->nsent == t->capsent) {
        size_t cap = t->capsent ? t->capsent * 2 : 64;
        struct sent *g = realloc(t->sent, cap * sizeof(*g));
        if (g == NULL)
            return av_fail(errbuf, AV_ENOMEM, "out of memory");
        t->sent = g;
        t->capsent = cap;
    }
    t->sent[t->nsent++] = (struct sent){region, lang, endpoint, from, to};
    return AV_OK;
}

static void wx_rejected(struct wx_state *st, const struct av_raw_meta *m,
                        struct av_unit_outcome *o, const char *kept)
{
    o->rejected = 1;
    snprintf(o->kept, sizeof(o->kept), "%s", kept);
    if (st) {
        st->at = m->fetched_at;
        st->rejected = 1;
        memcpy(st->reason, o->reason, sizeof(st->reason));
    }
}

/* Hours of the request's local days that carry a value (what run stores). */
static long carried(const struct av_wx_hour *h, size_t n, int64_t from, int64_t to)
{
    av_ms lo, hi, x;
    long count = 0;

    av_wx_local_day_hours(from, &lo, &x);
    av_wx_local_day_hours(to, &x, &hi);
    for (size_t i = 0; i < n; i++) {
        int any = 0;
        for (int v = 0; v < AV_WX_NVARS && !any; v++)
            any = !av_wx_isnull(h[i].v[v]);
        count += any && h[i].hour >= lo && h[i].hour < hi;
    }
    return count;
}

/* One weather response: one message on the weather topic (a body that
 * does not parse: to the dead-letter topic; one over the size ceiling: not
 * sent), its complete archive days remembered for finish(). */
static av_rc put_weather(struct to_kafka *t, const struct av_raw_meta *m, const char *body,
                         size_t len, struct av_unit_outcome *o, char *errbuf)
{
    struct av_point pts[AV_OM_MAX_POINTS];
    char key[16], from[AV_DATE_LEN], to[AV_DATE_LEN], at[AV_STAMP_LEN], status[16];
    struct av_kafka_header h[11] = {
        {"source", m->source}, {"endpoint", m->endpoint}, {"lang", "0"},
        {"url", m->url}, {"fetched_at", at}, {"region_id", key},
        {"from_date", from}, {"to_date", to}, {"http_status", status},
        {"stage", NULL}, {"reason", o->reason},
    };
    int archive = strcmp(m->endpoint, AV_OM_EP_ARCHIVE) == 0, npts = 0, ndays;
    struct wx_state *st = wx_for(t, m->region_id, archive);
    size_t n = 0;
    int64_t last = -1;
    av_rc rc = AV_OK;

    snprintf(key, sizeof(key), "%d", m->region_id);
    snprintf(status, sizeof(status), "%d", m->http_status);
    av_date_format(m->from_date, from);
    av_date_format(m->to_date, to);
    av_stamp_format(m->fetched_at, at);
    h[9].value = "validate";
    if (m->from_date == INT64_MIN || m->to_date < m->from_date ||
        m->to_date - m->from_date > 3660)
        rc = av_fail(o->reason, AV_EINVAL, "weather response without a usable day range");
    if (rc == AV_OK)
        rc = av_om_url_points(m->url ? m->url : "", m->region_id, pts, AV_OM_MAX_POINTS,
                              &npts, o->reason);
    if (rc == AV_OK) {
        h[9].value = "parse";
        rc = av_om_parse(&t->doc, body, len, pts, npts, m->from_date, m->to_date,
                         archive ? AV_WX_ARCHIVE : AV_WX_FORECAST, m->fetched_at, &t->hours,
                         &n, o->reason);
        if (rc == AV_ENOMEM)
            return av_fail(errbuf, rc, "out of memory parsing a weather response of %zu bytes",
                           len);
    }
    if (rc != AV_OK) {
        char kept[96];
        snprintf(kept, sizeof(kept), "sent to %s", t->dlq);
        rc = av_kafka_produce(t->k, t->dlq, key, body, len, h, 11, errbuf);
        if (rc == AV_ELIMIT)
            snprintf(kept, sizeof(kept), "too large for %s: not sent", t->dlq);
        wx_rejected(st, m, o, kept);
        return rc == AV_ELIMIT ? AV_OK : rc;
    }
    ndays = (int)(m->to_date - m->from_date + 1);
    if (archive && ndays > t->capcomplete) {
        unsigned char *g = realloc(t->complete, (size_t)ndays);
        if (g == NULL)
            return av_fail(errbuf, AV_ENOMEM, "out of memory");
        t->complete = g;
        t->capcomplete = ndays;
    }
    /* out of memory marks nothing complete: the days stay holes */
    if (archive && av_wx_complete_days(t->hours, n, pts, npts, m->from_date, ndays,
                                       t->complete, &last) != AV_OK)
        memset(t->complete, 0, (size_t)ndays);
    rc = av_kafka_produce(t->k, t->wtopic, key, body, len, h, 9, errbuf);
    if (rc == AV_ELIMIT) { /* the unit stays planned: fewer days per request fit */
        snprintf(o->reason, sizeof(o->reason), "%s", errbuf);
        wx_rejected(st, m, o, "not sent");
        return AV_OK;
    }
    if (rc != AV_OK)
        return rc;
    t->wmessages++;
    o->stored = carried(t->hours, n, m->from_date, m->to_date);
    o->wdays = ndays;
    if (st) {
        st->at = m->fetched_at;
        st->rejected = 0;
        st->reason[0] = '\0';
        if (last > st->last_complete)
            st->last_complete = last;
    }
    for (int d = 0; archive && d < ndays; d++) {
        int e = d;
        if (!t->complete[d])
            continue;
        while (e + 1 < ndays && t->complete[e + 1])
            e++;
        rc = add_sent(t, m->region_id, 0, AV_OM_EP_ARCHIVE, m->from_date + d,
                      m->from_date + e, errbuf);
        if (rc != AV_OK)
            return rc;
        d = e;
    }
    return AV_OK;
}

static av_rc put(void *ctx, const struct av_raw_meta *m, const char *body, size_t len,
                 struct av_unit_outcome *o, char *errbuf)
{
    struct to_kafka *t = ctx;
    struct av_json *doc = &t->doc;
    char key[16], lang[4], from[AV_DATE_LEN], to[AV_DATE_LEN], at[AV_STAMP_LEN];
    struct av_kafka_header h[11] = {
        {"source", m->source}, {"endpoint", m->endpoint}, {"lang", lang},
        {"api_version", m->api_version}, {"url", m->url}, {"fetched_at", at},
        {"region_id", key}, {"from_date", from}, {"to_date", to}, {"stage", "parse"},
        {"reason", o->reason},
    };
    struct produced *st;
    av_rc rc;
    int n, e;

    memset(o, 0, sizeof(*o));
    if (strcmp(m->source, AV_WX_SOURCE) == 0)
        return put_weather(t, m, body, len, o, errbuf);
    st = seen_for(t, m->region_id, m->lang);
    snprintf(key, sizeof(key), "%d", m->region_id);
    snprintf(lang, sizeof(lang), "%d", m->lang);
    av_date_format(m->from_date, from);
    av_date_format(m->to_date, to);
    av_stamp_format(m->fetched_at, at);
    rc = av_json_parse(doc, body, len, o->reason);
    if (rc == AV_OK && av_json_type(doc, 0) != AV_JSON_ARRAY)
        rc = av_fail(o->reason, AV_EPARSE, "response is JSON but not an array of warnings");
    if (rc != AV_OK) {
        o->rejected = 1;
        snprintf(o->kept, sizeof(o->kept), "sent to %s", t->dlq);
        rc = av_kafka_produce(t->k, t->dlq, key, body, len, h, 11, errbuf);
        if (rc == AV_ELIMIT) /* still a hole: the next run fetches it again */
            snprintf(o->kept, sizeof(o->kept), "too large for %s: not sent", t->dlq);
        return rc == AV_ELIMIT ? AV_OK : rc;
    }
    n = av_json_size(doc, 0);
    e = av_json_first(0);
    for (int i = 0; i < n; i++, e = av_json_skip(doc, e)) {
        size_t l;
        const char *span = av_json_span(doc, e, &l);
        int vf = av_json_get(doc, e, "ValidFrom");
        av_ms local;

        if (st && av_json_type(doc, vf) == AV_JSON_STRING) {
            size_t vl;
            const char *p = av_json_raw(doc, vf, &vl);
            if (av_local_stamp_parse(p, vl, &local) == AV_OK && local / 86400000 > st->max_date)
                st->max_date = local / 86400000;
        }
        rc = av_kafka_produce(t->k, t->topic, key, span, l, h, 9, errbuf);
        if (rc != AV_OK)
            return rc;
        o->stored++;
        t->messages++;
    }
    if (m->from_date == INT64_MIN)
        return AV_OK;
    return add_sent(t, m->region_id, m->lang, NULL, m->from_date, m->to_date, errbuf);
}

/* Everything delivered: only now may the plan move forward. */
static av_rc finish(void *ctx, char *note, size_t cap, char *errbuf)
{
    struct to_kafka *t = ctx;
    long delivered = 0, failed = 0;
    int timeout = (int)av_conf_int(t->conf, "stream.timeout_ms");
    av_ms now = av_now();
    av_rc rc = av_kafka_flush(t->k, timeout > 60000 ? timeout : 60000, &delivered, &failed,
                              errbuf);

    if (t->wmessages)
        snprintf(note, cap, "produce: %ld messages to %s, %ld to %s, %ld delivered, %ld not "
                 "delivered", t->messages, t->topic, t->wmessages, t->wtopic, delivered, failed);
    else
        snprintf(note, cap, "produce: %ld messages to %s, %ld delivered, %ld not delivered",
                 t->messages, t->topic, delivered, failed);
    if (rc != AV_OK)
        return rc;
    rc = av_store_begin(t->store, errbuf);
    for (int i = 0; rc == AV_OK && i < t->nseen; i++)
        rc = av_store_state_put(t->store, t->seen[i].region_id, t->seen[i].lang,
                                av_conf_str(t->conf, "api.endpoint"), t->seen[i].max_date, now,
                                "produced", NULL, errbuf);
    for (int i = 0; rc == AV_OK && i < t->nwx; i++) {
        const struct wx_state *w = &t->wx[i];
        rc = av_store_state_put(t->store, w->region_id, 0,
                                w->archive ? AV_OM_EP_ARCHIVE : AV_OM_EP_FORECAST,
                                w->archive ? w->last_complete : -1, w->at,
                                w->rejected ? "rejected" : "produced",
                                w->rejected ? w->reason : NULL, errbuf);
    }
    for (size_t i = 0; rc == AV_OK && failed == 0 && i < t->nsent; i++)
        rc = av_store_hole_clear(t->store, t->sent[i].region_id, t->sent[i].lang,
                                 t->sent[i].endpoint ? t->sent[i].endpoint
                                                     : av_conf_str(t->conf, "api.endpoint"),
                                 t->sent[i].from, t->sent[i].to, errbuf);
    if (rc == AV_OK)
        rc = av_store_commit(t->store, errbuf);
    if (rc != AV_OK)
        av_store_rollback(t->store);
    return rc;
}

static void close_out(void *ctx)
{
    struct to_kafka *t = ctx;

    if (t == NULL)
        return;
    av_kafka_close(t->k);
    av_json_free(&t->doc);
    free(t->sent);
    free(t->hours);
    free(t->complete);
    free(t);
}

static const struct av_raw_out_ops to_kafka_ops = {
    .counts = "messages",
    .put = put,
    .finish = finish,
    .close = close_out,
};

av_rc av_to_kafka_open(struct av_raw_out *out, struct av_store *store, const struct av_conf *c,
                       char *errbuf)
{
    struct to_kafka *t = calloc(1, sizeof(*t));
    av_rc rc;

    if (t == NULL)
        return AV_ENOMEM;
    t->conf = c;
    t->store = store;
    t->topic = av_conf_str(c, "stream.topic");
    t->dlq = av_conf_str(c, "stream.dlq_topic");
    t->wtopic = av_conf_str(c, "stream.weather_topic");
    av_json_init(&t->doc, (int)av_conf_int(c, "json.max_tokens"),
                 (int)av_conf_int(c, "json.max_depth"));
    rc = av_kafka_producer_open(&t->k, c, errbuf);
    if (rc != AV_OK) {
        close_out(t);
        return rc == AV_ENOMEM ? rc : AV_EINVAL;
    }
    rc = av_kafka_ensure_topic(t->k, t->topic, errbuf);
    if (rc == AV_OK)
        rc = av_kafka_ensure_topic(t->k, t->wtopic, errbuf);
    if (rc == AV_OK)
        rc = av_kafka_ensure_topic(t->k, t->dlq, errbuf);
    if (rc != AV_OK) {
        close_out(t);
        return rc == AV_EINVAL ? AV_EIO : rc;
    }
    out->ops = &to_kafka_ops;
    out->ctx = t;
    return AV_OK;
}
