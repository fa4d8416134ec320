/* to_kafka.c - fetched responses to Kafka, one message per warning (the
 * raw_out of produce, see raw_out.h; message format in kafka.h). The state
 * store keeps only the fetch state and the holes; both move in finish()
 * once every message was delivered, so a failed produce is planned again
 * in full. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/json.h"
#include "../core/tz.h"
#include "../model/regions.h"
#include "../transport/kafka.h"
#include "raw_out.h"

/* The latest date produced per (region, lang): the fetch state to be. */
struct produced {
    int region_id, lang;
    int64_t max_date;
};

/* A unit whose warnings were all handed to the producer: once delivered,
 * its days are no longer a hole. */
struct sent {
    int region_id, lang;
    int64_t from, to;
};

struct to_kafka {
    const struct av_conf *conf;
    struct av_store *store;
    struct av_kafka *k;
    const char *topic, *dlq;
    struct av_json doc;
    struct produced seen[AV_MAX_REGIONS * 2];
    int nseen;
    long messages;
    struct sent *sent;
    size_t nsent, capsent;
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

static av_rc put(void *ctx, const struct av_raw_meta *m, const char *body, size_t len,
                 struct av_unit_outcome *o, char *errbuf)
{
    struct to_kafka *t = ctx;
    struct av_json *doc = &t->doc;
    char key[16], lang[4], from[AV_DATE_LEN], to[AV_DATE_LEN], at[AV_STAMP_LEN];
    struct av_kafka_header h[10] = {
        {"source", m->source}, {"endpoint", m->endpoint}, {"lang", lang},
        {"api_version", m->api_version}, {"url", m->url}, {"fetched_at", at},
        {"region_id", key}, {"from_date", from}, {"to_date", to}, {NULL, NULL},
    };
    struct produced *st = seen_for(t, m->region_id, m->lang);
    av_rc rc;
    int n, e;

    memset(o, 0, sizeof(*o));
    snprintf(key, sizeof(key), "%d", m->region_id);
    snprintf(lang, sizeof(lang), "%d", m->lang);
    av_date_format(m->from_date, from);
    av_date_format(m->to_date, to);
    av_stamp_format(m->fetched_at, at);
    rc = av_json_parse(doc, body, len, o->reason);
    if (rc == AV_OK && av_json_type(doc, 0) != AV_JSON_ARRAY)
        rc = av_fail(o->reason, AV_EPARSE, "response is JSON but not an array of warnings");
    if (rc != AV_OK) {
        h[9].name = "reason";
        h[9].value = o->reason;
        o->rejected = 1;
        snprintf(o->kept, sizeof(o->kept), "sent to %s", t->dlq);
        return av_kafka_produce(t->k, t->dlq, key, body, len, h, 10, errbuf);
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
    if (t->nsent == t->capsent) {
        size_t cap = t->capsent ? t->capsent * 2 : 64;
        struct sent *g = realloc(t->sent, cap * sizeof(*g));
        if (g == NULL)
            return av_fail(errbuf, AV_ENOMEM, "out of memory");
        t->sent = g;
        t->capsent = cap;
    }
    t->sent[t->nsent++] = (struct sent){m->region_id, m->lang, m->from_date, m->to_date};
    return AV_OK;
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

    snprintf(note, cap, "produce: %ld messages to %s, %ld delivered, %ld not delivered",
             t->messages, t->topic, delivered, failed);
    if (rc != AV_OK)
        return rc;
    rc = av_store_begin(t->store, errbuf);
    for (int i = 0; rc == AV_OK && i < t->nseen; i++)
        rc = av_store_state_put(t->store, t->seen[i].region_id, t->seen[i].lang,
                                av_conf_str(t->conf, "api.endpoint"), t->seen[i].max_date, now,
                                "produced", NULL, errbuf);
    for (size_t i = 0; rc == AV_OK && failed == 0 && i < t->nsent; i++)
        rc = av_store_hole_clear(t->store, t->sent[i].region_id, t->sent[i].lang,
                                 av_conf_str(t->conf, "api.endpoint"), t->sent[i].from,
                                 t->sent[i].to, errbuf);
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
    av_json_init(&t->doc, (int)av_conf_int(c, "json.max_tokens"),
                 (int)av_conf_int(c, "json.max_depth"));
    rc = av_kafka_producer_open(&t->k, c, errbuf);
    if (rc != AV_OK) {
        close_out(t);
        return rc == AV_ENOMEM ? rc : AV_EINVAL;
    }
    rc = av_kafka_ensure_topic(t->k, t->topic, errbuf);
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
