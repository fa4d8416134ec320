/* cassandra.c - the Cassandra sink (see cassandra.h): options, opening,
 * the retry policy, and writing a warning with its problems. Schema and
 * statements: cassandra_schema.c; reading back: cassandra_read.c. Talks to
 * Cassandra only through src/cql/cql.h. */
#include "cassandra_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/clock.h"
#include "../core/log.h"

const struct av_opt av_cassandra_opts[] = {
    {"cassandra", "hosts", AV_OPT_STR, "127.0.0.1:9042", 0, 0, NULL,
     "contact points, host[:port][,host[:port]]"},
    {"cassandra", "keyspace", AV_OPT_STR, "avalanche", 0, 0, NULL, "keyspace"},
    {"cassandra", "user", AV_OPT_STR, "", 0, 0, NULL,
     "user for PasswordAuthenticator (or AVALANCHE_CASSANDRA_USER)"},
    {"cassandra", "password", AV_OPT_STR, "", 0, 0, NULL,
     "password (or AVALANCHE_CASSANDRA_PASSWORD)"},
    {"cassandra", "replication", AV_OPT_STR, "SimpleStrategy:1", 0, 0, NULL,
     "keyspace replication when creating it: SimpleStrategy:N or "
     "NetworkTopologyStrategy:dc1=3,dc2=2"},
    {"cassandra", "write_consistency", AV_OPT_STR, "local_quorum", 0, 0, NULL,
     "consistency of writes (one, quorum, local_quorum, all, ...)"},
    {"cassandra", "read_consistency", AV_OPT_STR, "local_quorum", 0, 0, NULL,
     "consistency of reads (export)"},
    {"cassandra", "connect_timeout_ms", AV_OPT_INT, "5000", 100, 600000, NULL,
     "TCP connect timeout per contact point"},
    {"cassandra", "request_timeout_ms", AV_OPT_INT, "12000", 100, 600000, NULL,
     "timeout of one request"},
    {"cassandra", "max_frame_bytes", AV_OPT_INT, "16777216", 65536, 268435456, NULL,
     "largest frame accepted from the server"},
    {"cassandra", "retries", AV_OPT_INT, "12", 0, 1000, NULL,
     "retries of a write or read on connection loss, timeouts, unavailable nodes"},
    {"cassandra", "backoff_max_ms", AV_OPT_INT, "5000", 10, 600000, NULL,
     "longest wait between retries (starts at 100 ms, doubles)"},
    {NULL, NULL, 0, NULL, 0, 0, NULL, NULL},
};

int av_cass_again(struct av_cass *s, struct av_cass_backoff *b, av_rc rc, const char *errbuf)
{
    if (rc != AV_ENET || b->tries >= s->retries || (s->stop && *s->stop))
        return 0;
    if (b->wait_ms == 0)
        b->wait_ms = 100;
    av_warn("cassandra: %s; retrying in %ld ms", errbuf, b->wait_ms);
    av_sleep_ms(b->wait_ms);
    b->wait_ms = b->wait_ms * 2 > s->backoff_max ? s->backoff_max : b->wait_ms * 2;
    b->tries++;
    return 1;
}

static int ident_ok(const char *s)
{
    if (*s == '\0' || strlen(s) > 48)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return 0;
    return 1;
}

static void sink_close(void *impl)
{
    struct av_cass *s = impl;

    if (s == NULL)
        return;
    for (int t = 0; t < AV_CT_N; t++)
        av_cql_prepared_free(s->ins[t]);
    av_cql_prepared_free(s->del_problems);
    av_cql_prepared_free(s->sel_region);
    av_cql_prepared_free(s->sel_problems);
    av_cql_close(s->cql);
    free(s);
}

/* Connects, creates keyspace and tables if missing, prepares statements. */
static av_rc sink_open(void **out, const struct av_sink_env *env, char *errbuf)
{
    const struct av_conf *c = env->conf;
    const char *ks = av_conf_str(c, "cassandra.keyspace");
    struct av_cass *s;
    struct av_cass_backoff b = {0, 0};
    struct av_cql_opts o;
    av_rc rc;

    if (!ident_ok(ks))
        return av_fail(errbuf, AV_EINVAL, "cassandra.keyspace \"%s\": use lower-case letters, "
                       "digits and _", ks);
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return AV_ENOMEM;
    snprintf(s->ks, sizeof(s->ks), "%s", ks);
    s->stop = env->stop;
    s->nwcols = av_cass_columns(&av_ds_warning, s->wcols);
    s->npcols = av_cass_columns(&av_ds_problem, s->pcols);
    s->wcl = av_cql_consistency_parse(av_conf_str(c, "cassandra.write_consistency"));
    s->rcl = av_cql_consistency_parse(av_conf_str(c, "cassandra.read_consistency"));
    if (s->wcl < 0 || s->rcl < 0) {
        free(s);
        return av_fail(errbuf, AV_EINVAL, "cassandra.*_consistency: unknown level (use one, "
                       "two, three, quorum, all, local_quorum, each_quorum, local_one)");
    }
    s->retries = (int)av_conf_int(c, "cassandra.retries");
    s->backoff_max = (long)av_conf_int(c, "cassandra.backoff_max_ms");
    memset(&o, 0, sizeof(o));
    o.hosts = av_conf_str(c, "cassandra.hosts");
    o.user = av_conf_str(c, "cassandra.user")[0] ? av_conf_str(c, "cassandra.user") : NULL;
    o.password = av_conf_str(c, "cassandra.password");
    o.connect_timeout_ms = (int)av_conf_int(c, "cassandra.connect_timeout_ms");
    o.request_timeout_ms = (int)av_conf_int(c, "cassandra.request_timeout_ms");
    o.max_frame = (size_t)av_conf_int(c, "cassandra.max_frame_bytes");
    do
        rc = av_cql_connect(&s->cql, &o, errbuf);
    while (av_cass_again(s, &b, rc, errbuf));
    if (rc == AV_OK)
        rc = av_cass_create_schema(s, av_conf_str(c, "cassandra.replication"), errbuf);
    if (rc == AV_OK)
        rc = av_cass_prepare_all(s, errbuf);
    if (rc != AV_OK) {
        sink_close(s);
        return rc;
    }
    *out = s;
    return AV_OK;
}

/* ---- write ---- */

struct av_cql_value av_cass_value(const struct av_field *f, const void *p, const char *asp[8])
{
    int n = 0, i;
    int64_t l;

    switch (f->type) {
    case AV_FT_I8:
    case AV_FT_I32:
    case AV_FT_BOOL:
        i = *(const int *)p;
        if (i == AV_NULL_INT)
            return av_cql_null();
        return f->type == AV_FT_I8 ? av_cql_tinyint((int8_t)i)
               : f->type == AV_FT_BOOL ? av_cql_bool(i)
                                       : av_cql_int(i);
    case AV_FT_I64:
        l = *(const int64_t *)p;
        return l == AV_NULL_INT ? av_cql_null() : av_cql_bigint(l);
    case AV_FT_TIME:
        l = *(const av_ms *)p;
        return l == AV_NULL_MS ? av_cql_null() : av_cql_timestamp(l);
    case AV_FT_DATE:
        return av_cql_date(*(const int64_t *)p);
    case AV_FT_ASPECTS:
        i = *(const int *)p;
        if (i == AV_NULL_INT)
            return av_cql_null();
        for (int k = 0; k < 8; k++)
            if (i & (1 << k))
                asp[n++] = av_aspect_names[k];
        return av_cql_list_text(asp, n);
    case AV_FT_CHARS:
        return av_cql_text(*(const char *)p ? (const char *)p : NULL);
    default: /* text */
        return av_cql_text(*(const char *const *)p);
    }
}

/* Binds the n columns of a record (w: its warning), then the timestamp. */
static int record_values(const struct av_field *const *cols, int n, const struct av_warning *w,
                         const void *rec, int64_t ts, struct av_cql_value *v,
                         const char *asp[8])
{
    for (int i = 0; i < n; i++)
        v[i] = av_cass_value(cols[i], av_field_ptr(cols[i], w, rec), asp);
    v[n] = av_cql_bigint(ts);
    return n + 1;
}

static av_rc sink_put(void *impl, const struct av_warning *w, int *changed, char *errbuf)
{
    struct av_cass *s = impl;
    struct av_cql_value wv[AV_CASS_MAXCOLS + 1], pv[AV_MAX_PROBLEMS][AV_CASS_MAXCOLS + 1];
    struct av_cql_value dv[4];
    const char *asp[AV_MAX_PROBLEMS + 1][8];
    struct av_cql_batch_item items[AV_MAX_PROBLEMS + 2], by_date;
    struct av_cql_op ops[2];
    struct av_cass_backoff b = {0, 0};
    int n = 0, nw;
    av_ms pub = w->publish_time != AV_NULL_MS ? w->publish_time : w->valid_from;
    int64_t ts = pub * 1000 + (w->endpoint && strcmp(w->endpoint, "detail") == 0 ? 1 : 0);
    av_rc rc;

    nw = record_values(s->wcols, s->nwcols, w, w, ts, wv, asp[AV_MAX_PROBLEMS]);
    /* The warning's old problems go, one microsecond before the new ones. */
    dv[0] = av_cql_bigint(ts - 1);
    for (int k = 0; k <= AV_KEY_LANG; k++) {
        const struct av_field *f = av_ds_key(&av_ds_problem, k);
        dv[k + 1] = av_cass_value(f, av_field_ptr(f, w, NULL), NULL);
    }
    items[n++] = (struct av_cql_batch_item){s->del_problems, dv, 4};
    for (int k = 0; k < w->n_problems; k++) {
        int np = record_values(s->pcols, s->npcols, w, &w->problems[k], ts, pv[k], asp[k]);
        items[n++] = (struct av_cql_batch_item){s->ins[AV_CT_PROBLEMS], pv[k], np};
    }
    items[n++] = (struct av_cql_batch_item){s->ins[AV_CT_BY_REGION], wv, nw};
    /* The batch (one partition) and the by-date row (another) go out
     * together and are answered together: one round trip. Retrying both
     * is harmless, the write timestamps make them idempotent. */
    ops[0] = (struct av_cql_op){1, items, n, s->wcl};
    ops[1] = (struct av_cql_op){AV_CQL_OP_EXEC, &by_date, 1, s->wcl};
    by_date = (struct av_cql_batch_item){s->ins[AV_CT_BY_DATE], wv, nw};
    do
        rc = av_cql_pipeline(s->cql, ops, 2, errbuf);
    while (av_cass_again(s, &b, rc, errbuf));
    if (rc == AV_OK)
        *changed = 1; /* last-write-wins decides on the server */
    return rc;
}

/* Writes are durable when put() returns: nothing to commit or undo. */
static av_rc sink_nop(void *impl, char *errbuf)
{
    (void)impl;
    (void)errbuf;
    return AV_OK;
}

static void sink_rollback(void *impl)
{
    (void)impl;
}

const struct av_sink_ops av_sink_cassandra = {
    .name = "cassandra",
    .parts = AV_PART_WARNING | AV_PART_PROBLEMS,
    .open = sink_open,
    .begin = sink_nop,
    .put = sink_put,
    .commit = sink_nop,
    .rollback = sink_rollback,
    .clear = NULL, /* upserts by key with write timestamps: a rebuild overwrites */
    .read = av_cass_read,
    .count = NULL,
    .close = sink_close,
};
