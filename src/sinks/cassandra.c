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
#include "record_json.h"

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
    {"cassandra", "max_inflight", AV_OPT_INT, "1024", 1, 32767, NULL,
     "writes in flight at once (the window; more waits for answers)"},
    {"cassandra", "connections_per_host", AV_OPT_INT, "1", 1, 8, NULL,
     "connections to each node (each carries many requests)"},
    {"cassandra", "batch_warnings", AV_OPT_INT, "8", 1, 4096, NULL,
     "warnings gathered into one request per partition (a region's rows, problems and "
     "history; a date's rows) before it is sent; commit sends the rest"},
    {"cassandra", "batch_kib", AV_OPT_INT, "512", 1, 8192, NULL,
     "a partition's request is sent once it holds this many KiB (or batch_warnings)"},
    {"cassandra", "local_dc", AV_OPT_STR, "", 0, 0, NULL,
     "data center to route to first (empty: the first contact point's)"},
    {"cassandra", "discovery", AV_OPT_INT, "1", 0, 1, NULL,
     "1: find the other nodes and the token ring (system.peers), route each write to a "
     "replica; 0: only the contact points"},
    {"cassandra", "refresh_s", AV_OPT_INT, "60", 1, 86400, NULL,
     "seconds between reads of the ring (also on topology events)"},
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
    if (av_cass_settle(s, NULL) != AV_OK)
        av_warn("cassandra: writes failed before close: %s", s->werr);
    for (int i = 0; i < s->nopen; i++) /* not committed: dropped */
        av_cql_obatch_free(s->open[i].b);
    av_buf_free(&s->json);
    for (int t = 0; t < AV_CT_N; t++) {
        av_cql_prepared_free(s->ins[t]);
        av_cql_prepared_free(s->sel[t]);
    }
    av_cql_prepared_free(s->del_problems);
    av_cql_prepared_free(s->sel_region);
    av_cql_prepared_free(s->sel_problems);
    av_cql_prepared_free(s->seen_version);
    av_cql_prepared_free(s->sel_versions);
    av_cql_prepared_free(s->sel_record);
    av_json_free(&s->doc);
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
    av_json_init(&s->doc, 0, 0);
    av_buf_init(&s->json, 0);
    s->stop = env->stop;
    s->batch_warnings = (int)av_conf_int(c, "cassandra.batch_warnings");
    s->batch_bytes = (size_t)av_conf_int(c, "cassandra.batch_kib") << 10;
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
    o.max_inflight = (int)av_conf_int(c, "cassandra.max_inflight");
    o.connections_per_host = (int)av_conf_int(c, "cassandra.connections_per_host");
    o.local_dc = av_conf_str(c, "cassandra.local_dc");
    o.discover = (int)av_conf_int(c, "cassandra.discovery");
    o.refresh_ms = (int)av_conf_int(c, "cassandra.refresh_s") * 1000;
    /* writes retry inside the client (they are idempotent): the same policy */
    o.retries = s->retries;
    o.backoff_max_ms = (int)s->backoff_max;
    o.stop = env->stop;
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
    case AV_FT_F64:
        return av_field_is_null(f, p) ? av_cql_null() : av_cql_double(*(const double *)p);
    case AV_FT_WXSRC: { /* its name: a static string */
        char tmp[32];
        return av_cql_text(av_field_get_text(f, p, tmp));
    }
    default: /* text */
        return av_cql_text(*(const char *const *)p);
    }
}

/* Binds the n columns of a record (w: its warning), then the timestamp.
 * unset: a null that is not a key is bound unset (no cell, no tombstone).
 * That is right only where everything older of the record is deleted
 * anyway, as a warning's problems are (their delete at ts - 1 covers every
 * older cell); a warning row must bind null, or a newer publication that
 * lacks a field would keep the older one's value. */
static int record_values(const struct av_field *const *cols, int n, const struct av_warning *w,
                         const void *rec, int64_t ts, int unset, struct av_cql_value *v,
                         const char *asp[8])
{
    for (int i = 0; i < n; i++) {
        v[i] = av_cass_value(cols[i], av_field_ptr(cols[i], w, rec), asp);
        if (unset && v[i].type == AV_CQL_NULL && !(cols[i]->flags & AV_FF_KEY))
            v[i] = av_cql_unset();
    }
    v[n] = av_cql_bigint(ts);
    return n + 1;
}

/* The history row of w (av_ds_version): the whole warning as its record,
 * written with the publication's timestamp like the warning (within one
 * publication the clean tables' rule), and first_seen with one that makes
 * the earliest fetch win (AV_CASS_SEEN_TS). vv: 7 values, sv: 6; record's
 * text in json. */
static void version_values(const struct av_warning *w, int64_t ts, struct av_buf *json,
                           struct av_cql_value *vv, struct av_cql_value *sv)
{
    const struct av_dataset *ds = &av_ds_version;
    av_ms pub = w->publish_time != AV_NULL_MS ? w->publish_time : AV_CASS_NO_PUB;
    int n = 0;

    av_buf_reset(json);
    av_record_json(json, w);
    for (int i = 0; i < ds->nfields; i++) {
        const struct av_field *f = &ds->fields[i];
        if (f->flags & (AV_FF_LOCAL | AV_FF_DERIVED | AV_FF_EARLIEST))
            continue;
        if (f->flags & AV_FF_RECORD)
            vv[n++] = av_cql_text(json->failed ? NULL : json->data);
        else if (f->flags & AV_FF_VERSION)
            vv[n++] = av_cql_timestamp(pub);
        else
            vv[n++] = av_cass_value(f, av_field_ptr(f, w, w), NULL);
    }
    vv[n] = av_cql_bigint(ts);
    sv[0] = av_cql_bigint(AV_CASS_SEEN_TS(w->first_seen));
    sv[1] = av_cql_timestamp(w->first_seen);
    for (int k = 0; k <= AV_KEY_LANG; k++) {
        const struct av_field *f = av_ds_key(ds, k);
        sv[2 + k] = av_cass_value(f, av_field_ptr(f, w, w), NULL);
    }
    sv[5] = av_cql_timestamp(pub);
}

/* A write of put() acknowledged or failed for good (the client retried
 * it already: writes are idempotent). The first failure is kept for the
 * next put() or commit(). */
static void write_done(void *ud, av_rc rc, const char *err)
{
    struct av_cass *s = ud;

    if (rc != AV_OK && s->wrc == AV_OK) {
        s->wrc = rc;
        snprintf(s->werr, sizeof(s->werr), "%s", err);
    }
}

av_rc av_cass_settle(struct av_cass *s, char *errbuf)
{
    av_rc rc = av_cql_drain(s->cql, errbuf);

    if (rc == AV_OK && (rc = s->wrc) != AV_OK && errbuf)
        snprintf(errbuf, AV_ERRBUF_SIZE, "%s", s->werr);
    s->wrc = AV_OK;
    return rc;
}

/* The write timestamp of w: its publication in us (an absent PublishTime
 * is older than every real one, as in SQLite), + 1 for a Detail so that it
 * beats the Simple of the same publication. */
static int64_t write_ts(const struct av_warning *w)
{
    av_ms pub = w->publish_time != AV_NULL_MS ? w->publish_time : AV_CASS_NO_PUB;

    return pub * 1000 + (w->endpoint && strcmp(w->endpoint, "detail") == 0 ? 1 : 0);
}

/* ---- put(): the open batches (cassandra_int.h) ---- */

/* Sends slot o's batch (retried by the client on AV_ENET: the writes are
 * idempotent); the slot stays, empty. */
static av_rc open_send(struct av_cass *s, struct av_cass_open *o, char *errbuf)
{
    o->warnings = 0;
    s->nreq += av_cql_obatch_count(o->b) > 0;
    return av_cql_obatch_submit(s->cql, o->b, s->wcl, 1, write_done, s, errbuf);
}

/* The slot of partition (part, key), made when missing: a new one, else
 * the first empty one, else the one used least recently (sent first). */
static av_rc open_slot(struct av_cass *s, int part, int64_t key, struct av_cass_open **out,
                       char *errbuf)
{
    struct av_cass_open *o = NULL;
    av_rc rc;

    for (int i = 0; i < s->nopen; i++)
        if (s->open[i].part == part && s->open[i].key == key) {
            *out = &s->open[i];
            return AV_OK;
        }
    if (s->nopen < AV_CASS_OPEN_MAX) {
        o = &s->open[s->nopen];
        if ((rc = av_cql_obatch_new(s->cql, 1, &o->b, errbuf)) != AV_OK)
            return rc;
        s->nopen++;
    } else {
        for (int i = 0; i < s->nopen; i++) {
            struct av_cass_open *q = &s->open[i];
            if (av_cql_obatch_count(q->b) == 0) {
                o = q;
                break;
            }
            if (o == NULL || q->last < o->last)
                o = q;
        }
        if ((rc = open_send(s, o, errbuf)) != AV_OK)
            return rc;
    }
    o->part = part;
    o->key = key;
    o->warnings = 0;
    *out = o;
    return AV_OK;
}

/* Slot o, ready for one more warning: sent first when full. */
static av_rc open_for_warning(struct av_cass *s, int part, int64_t key,
                              struct av_cass_open **out, char *errbuf)
{
    av_rc rc = open_slot(s, part, key, out, errbuf);

    if (rc == AV_OK && ((*out)->warnings >= s->batch_warnings ||
                        av_cql_obatch_bytes((*out)->b) >= s->batch_bytes))
        rc = open_send(s, *out, errbuf);
    if (rc == AV_OK) {
        (*out)->warnings++;
        (*out)->last = ++s->tick;
    }
    return rc;
}

/* One statement into slot o; a batch that cannot take it (max_frame) is
 * sent and the statement starts the next one. */
static av_rc open_add(struct av_cass *s, struct av_cass_open *o, struct av_cql_prepared *p,
                      const struct av_cql_value *v, int n, char *errbuf)
{
    av_rc rc = av_cql_obatch_add(o->b, p, v, n, errbuf);

    if (rc == AV_ELIMIT && av_cql_obatch_count(o->b) > 0 &&
        (rc = open_send(s, o, errbuf)) == AV_OK) {
        o->warnings = 1;
        rc = av_cql_obatch_add(o->b, p, v, n, errbuf);
    }
    return rc;
}

/* Keeps the open batches under AV_CASS_OPEN_BYTES together: the largest go. */
static av_rc open_bound(struct av_cass *s, char *errbuf)
{
    for (;;) {
        size_t total = 0;
        struct av_cass_open *big = NULL;
        for (int i = 0; i < s->nopen; i++) {
            size_t n = av_cql_obatch_count(s->open[i].b) ? av_cql_obatch_bytes(s->open[i].b) : 0;
            total += n;
            if (n > 0 && (big == NULL || n > av_cql_obatch_bytes(big->b)))
                big = &s->open[i];
        }
        if (total <= AV_CASS_OPEN_BYTES || big == NULL)
            return AV_OK;
        av_rc rc = open_send(s, big, errbuf);
        if (rc != AV_OK)
            return rc;
    }
}

/* Every open batch: sent (send = 1) or dropped. The first failure. */
static av_rc open_all(struct av_cass *s, int send, char *errbuf)
{
    av_rc first = AV_OK;

    for (int i = 0; i < s->nopen; i++) {
        av_rc rc = AV_OK;
        if (send && first == AV_OK)
            rc = open_send(s, &s->open[i], errbuf);
        else
            av_cql_obatch_clear(s->open[i].b);
        s->open[i].warnings = 0;
        if (rc != AV_OK)
            first = rc;
    }
    return first;
}

/* A warning's writes join the open batches of its partitions (cassandra_int.h):
 * in its region's, the delete of its old problems, its problems, its
 * warnings_by_region row, its history row and first_seen; in its date's,
 * its warnings_by_date row. The values are encoded into the batches at
 * once. Which publication of a key wins is decided by the write
 * timestamps, not by the order of arrival or of the statements in a batch
 * (two publications of one key in one batch are two sets of cells with
 * their own timestamps; the node keeps the newer). commit() sends what is
 * left and waits for every answer. */
static av_rc sink_put(void *impl, const struct av_warning *w, int *changed, char *errbuf)
{
    struct av_cass *s = impl;
    struct av_cql_value wv[AV_CASS_MAXCOLS + 1], pv[AV_CASS_MAXCOLS + 1];
    struct av_cql_value dv[4], vv[8], sv[6];
    const char *asp[8];
    struct av_cass_open *o;
    int nw;
    int64_t ts = write_ts(w);
    av_rc rc;

    if (s->wrc != AV_OK) { /* an earlier write failed: the transaction is lost */
        snprintf(errbuf, AV_ERRBUF_SIZE, "%s", s->werr);
        return s->wrc;
    }
    version_values(w, ts, &s->json, vv, sv);
    if (s->json.failed)
        return av_fail(errbuf, AV_ENOMEM, "out of memory writing the history");
    /* The warning's old problems go, one microsecond before the new ones. */
    dv[0] = av_cql_bigint(ts - 1);
    for (int k = 0; k <= AV_KEY_LANG; k++) {
        const struct av_field *f = av_ds_key(&av_ds_problem, k);
        dv[k + 1] = av_cass_value(f, av_field_ptr(f, w, NULL), NULL);
    }
    if ((rc = open_for_warning(s, AV_CASS_PART_REGION, w->region_id, &o, errbuf)) != AV_OK ||
        (rc = open_add(s, o, s->del_problems, dv, 4, errbuf)) != AV_OK)
        return rc;
    for (int k = 0; k < w->n_problems; k++) {
        int np = record_values(s->pcols, s->npcols, w, &w->problems[k], ts, 1, pv, asp);
        if ((rc = open_add(s, o, s->ins[AV_CT_PROBLEMS], pv, np, errbuf)) != AV_OK)
            return rc;
    }
    nw = record_values(s->wcols, s->nwcols, w, w, ts, 0, wv, asp);
    if ((rc = open_add(s, o, s->ins[AV_CT_BY_REGION], wv, nw, errbuf)) != AV_OK ||
        (rc = open_add(s, o, s->ins[AV_CT_VERSIONS], vv, 7, errbuf)) != AV_OK ||
        (rc = open_add(s, o, s->seen_version, sv, 6, errbuf)) != AV_OK)
        return rc;
    if ((rc = open_for_warning(s, AV_CASS_PART_DATE, w->valid_date, &o, errbuf)) != AV_OK ||
        (rc = open_add(s, o, s->ins[AV_CT_BY_DATE], wv, nw, errbuf)) != AV_OK ||
        (rc = open_bound(s, errbuf)) != AV_OK)
        return rc;
    s->nput++;
    *changed = 1; /* last-write-wins decides on the server */
    return AV_OK;
}

/* ---- flat datasets: the weather ----
 *
 * Rows go out in unlogged batches of one partition each (a single-partition
 * batch is one mutation, and Cassandra checks no batch size for it), up to
 * ROWS_PER_BATCH rows, AV_CQL_PIPELINE_MAX batches per round trip.
 *
 * The RANKED rule (weather hours) is Cassandra's last-write-wins per cell:
 * every row is written USING TIMESTAMP rank * 2^52 + fetched_at in us, so
 * the archive (rank 2) beats any forecast (rank 1) whatever the order of
 * arrival and, within a source, the later fetch wins (until fetched_at
 * reaches 2^52 us, the year 2112); a null is bound unset, so it writes no
 * cell and never replaces a value. Per value, then: the value of the
 * highest (rank, fetch) that has one. The REPLACE rule (daily weather)
 * binds nulls as nulls and takes the server's timestamp: the last
 * computation written wins, as INSERT OR REPLACE in SQLite (computed_at
 * could tie: one `now` per run). */

#define ROWS_PER_BATCH 200
#define RANK_SHIFT 52
#define VALS_PER_ROW (AV_CASS_MAXCOLS + 2) /* columns, year, timestamp */

/* The batches of one round trip, and the values they point at. */
struct rows_out {
    struct av_cass *s;
    struct av_cql_op ops[AV_CQL_PIPELINE_MAX];
    struct av_cql_batch_item items[AV_CQL_PIPELINE_MAX * ROWS_PER_BATCH];
    struct av_cql_value vals[AV_CQL_PIPELINE_MAX * ROWS_PER_BATCH][VALS_PER_ROW];
    int nops, nitems;
};

static av_rc rows_flush(struct rows_out *o, char *errbuf)
{
    struct av_cass_backoff b = {0, 0};
    av_rc rc;

    if (o->nops == 0)
        return AV_OK;
    do
        rc = av_cql_pipeline(o->s->cql, o->ops, o->nops, errbuf);
    while (av_cass_again(o->s, &b, rc, errbuf));
    o->nops = o->nitems = 0;
    return rc;
}

/* Room for one more row of statement st (fresh: it starts a partition);
 * *v gets its values. Sends what is waiting first when full. */
static av_rc rows_next(struct rows_out *o, struct av_cql_prepared *st, int nvals, int fresh,
                       struct av_cql_value **v, char *errbuf)
{
    struct av_cql_op *op = o->nops ? &o->ops[o->nops - 1] : NULL;
    av_rc rc;

    if (op == NULL || fresh || op->nitems == ROWS_PER_BATCH) {
        if (o->nops == AV_CQL_PIPELINE_MAX && (rc = rows_flush(o, errbuf)) != AV_OK)
            return rc;
        op = &o->ops[o->nops++];
        *op = (struct av_cql_op){1, &o->items[o->nitems], 0, o->s->wcl};
    }
    *v = o->vals[o->nitems];
    o->items[o->nitems++] = (struct av_cql_batch_item){st, *v, nvals};
    op->nitems++;
    return AV_OK;
}

/* A record's place in table t, for sorting: its partition fields (in key
 * order), for a points table its clustering fields too, and in k[4] the
 * year; i is the record. */
struct pkey {
    double k[5];
    size_t i;
};

static int cmp_pkey(const void *a, const void *b)
{
    const struct pkey *x = a, *y = b;

    for (int j = 0; j < 5; j++)
        if (x->k[j] != y->k[j])
            return x->k[j] < y->k[j] ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* Whether a and b agree on their first n fields (and the year, if asked). */
static int same_place(const struct pkey *a, const struct pkey *b, int n, int year)
{
    for (int j = 0; j < n; j++)
        if (a->k[j] != b->k[j])
            return 0;
    return !year || a->k[4] == b->k[4];
}

static double key_f64(const struct av_dataset *ds, int k, const void *rec)
{
    return av_field_get_f64(av_ds_key(ds, k), (const char *)rec + av_ds_key(ds, k)->off);
}

static void make_pkey(const struct av_cass_table *t, const void *rec, size_t i, struct pkey *pk)
{
    const struct av_dataset *ds = t->ds;
    int n = 0, r = av_cass_range_key(ds);

    memset(pk, 0, sizeof(*pk));
    pk->i = i;
    for (int k = 0; k < ds->nkeys && n < 4; k++)
        if (t->partition & (1u << k))
            pk->k[n++] = key_f64(ds, k, rec);
    for (int k = 0; t->year == AV_CY_POINTS && k < ds->nkeys && n < 4; k++)
        if (!(t->partition & (1u << k)) && k != r)
            pk->k[n++] = key_f64(ds, k, rec);
    if (t->year != AV_CY_NONE)
        pk->k[4] = av_cass_year(*(const av_ms *)((const char *)rec + av_ds_key(ds, r)->off));
}

static int partition_fields(const struct av_cass_table *t)
{
    int n = 0;

    for (int k = 0; k < t->ds->nkeys; k++)
        n += (t->partition & (1u << k)) != 0;
    return n;
}

/* The write timestamp of a RANKED record: rank * 2^52 + version (ms) in us. */
static av_rc ranked_ts(const struct av_dataset *ds, const void *rec, int64_t *ts, char *errbuf)
{
    const struct av_field *rf = av_ds_role(ds, AV_FF_RANK), *vf = av_ds_role(ds, AV_FF_VERSION);
    int64_t rank, ver;

    if (rf == NULL || vf == NULL)
        return av_fail(errbuf, AV_EINVAL, "%s has no rank or version field", ds->name);
    rank = av_field_get_int(rf, (const char *)rec + rf->off);
    ver = av_field_get_int(vf, (const char *)rec + vf->off);
    if (rank < 0 || rank >= (1 << (63 - RANK_SHIFT)) || ver < 0 ||
        ver >= ((int64_t)1 << RANK_SHIFT) / 1000)
        return av_fail(errbuf, AV_EINVAL, "%s: %s %lld or %s %lld beyond what a write "
                       "timestamp can order", ds->name, rf->name, (long long)rank, vf->name,
                       (long long)ver);
    *ts = (rank << RANK_SHIFT) + ver * 1000;
    return AV_OK;
}

/* Table t's rows of the n records at recs (points: one per distinct point
 * and year), partition by partition; pk has room for n. */
static av_rc put_table(struct av_cass *s, struct rows_out *o, int ti, const void *recs,
                       size_t n, struct pkey *pk, char *errbuf)
{
    const struct av_cass_table *t = &av_cass_tables[ti];
    const struct av_field *cols[AV_CASS_MAXCOLS];
    int nc = av_cass_table_columns(t, cols), ranked = t->ds->rule == AV_RULE_RANKED;
    int np = partition_fields(t), ts = av_cass_client_ts(t); /* weather: RANKED only */
    int nv = nc + (t->year != AV_CY_NONE) + ts;
    av_rc rc = AV_OK;

    for (size_t r = 0; r < n; r++)
        make_pkey(t, (const char *)recs + r * t->ds->elem_size, r, &pk[r]);
    qsort(pk, n, sizeof(*pk), cmp_pkey);
    for (size_t r = 0; rc == AV_OK && r < n; r++) {
        const char *rec = (const char *)recs + pk[r].i * t->ds->elem_size;
        struct av_cql_value *v;
        int64_t stamp = 0;
        int k = 0, fresh;
        if (t->year == AV_CY_POINTS && r > 0 && same_place(&pk[r - 1], &pk[r], 4, 1))
            continue; /* this point and year again */
        if (ts && (rc = ranked_ts(t->ds, rec, &stamp, errbuf)) != AV_OK)
            break;
        fresh = r == 0 || !same_place(&pk[r - 1], &pk[r], np, t->year == AV_CY_PARTITION);
        if ((rc = rows_next(o, s->ins[ti], nv, fresh, &v, errbuf)) != AV_OK)
            break;
        for (int i = 0; i < nc; i++) {
            const void *p = rec + cols[i]->off;
            /* RANKED: a null leaves the stored value (unset, no tombstone) */
            v[k++] = ranked && !(cols[i]->flags & AV_FF_KEY) && av_field_is_null(cols[i], p)
                         ? av_cql_unset()
                         : av_cass_value(cols[i], p, NULL);
        }
        if (t->year != AV_CY_NONE)
            v[k++] = av_cql_int((int32_t)pk[r].k[4]);
        if (ts)
            v[k++] = av_cql_bigint(stamp);
    }
    if (rc == AV_OK)
        rc = rows_flush(o, errbuf);
    return rc;
}

static av_rc sink_put_rows(void *impl, const struct av_dataset *ds, const void *recs, size_t n,
                           char *errbuf)
{
    struct av_cass *s = impl;
    struct rows_out *o;
    struct pkey *pk;
    av_rc rc;

    if (ds != &av_ds_wx_hourly && ds != &av_ds_wx_daily)
        return av_fail(errbuf, AV_EINVAL, "the cassandra sink has no flat dataset %s",
                       ds->name);
    if (n == 0)
        return AV_OK;
    o = calloc(1, sizeof(*o));
    pk = malloc(n * sizeof(*pk));
    if (o == NULL || pk == NULL) {
        free(o);
        free(pk);
        return av_fail(errbuf, AV_ENOMEM, "out of memory writing %zu %s rows", n, ds->name);
    }
    o->s = s;
    /* the points first: a reader finds hours through them */
    if (ds == &av_ds_wx_hourly) {
        rc = put_table(s, o, AV_CT_WX_POINTS, recs, n, pk, errbuf);
        if (rc == AV_OK)
            rc = put_table(s, o, AV_CT_WX_HOURLY, recs, n, pk, errbuf);
    } else {
        rc = put_table(s, o, AV_CT_WX_DAILY, recs, n, pk, errbuf);
    }
    free(pk);
    free(o);
    return rc;
}

static av_rc sink_begin(void *impl, char *errbuf)
{
    (void)impl;
    (void)errbuf;
    return AV_OK;
}

/* Returns when every write put() submitted is acknowledged (or the first
 * failure, once the client's retries are spent). */
static av_rc sink_commit(void *impl, char *errbuf)
{
    struct av_cass *s = impl;
    av_rc rc = s->wrc == AV_OK ? open_all(s, 1, errbuf) : open_all(s, 0, NULL);
    av_rc rc2 = av_cass_settle(s, rc == AV_OK ? errbuf : NULL);

    if (s->nput > 0)
        av_debug("cassandra: commit: %ld warnings in %ld batches", s->nput, s->nreq);
    s->nput = s->nreq = 0;
    return rc != AV_OK ? rc : rc2;
}

/* Nothing to undo (writes are idempotent): the open batches are dropped,
 * the writes in flight waited for, their failures dropped with the
 * transaction. */
static void sink_rollback(void *impl)
{
    struct av_cass *s = impl;

    open_all(s, 0, NULL);
    av_cass_settle(s, NULL);
    s->nput = s->nreq = 0;
}

const struct av_sink_ops av_sink_cassandra = {
    .name = "cassandra",
    .parts = AV_PART_WARNING | AV_PART_PROBLEMS | AV_PART_WX_HOURLY | AV_PART_WX_DAILY |
             AV_PART_VERSIONS,
    .open = sink_open,
    .begin = sink_begin,
    .put = sink_put,
    .commit = sink_commit,
    .rollback = sink_rollback,
    .clear = NULL, /* upserts by key with write timestamps: a rebuild overwrites */
    .read = av_cass_read,
    .put_rows = sink_put_rows,
    .read_rows = av_cass_read_rows,
    .count = NULL,
    .read_versions = av_cass_read_versions,
    .load_version = av_cass_load_version,
    .close = sink_close,
};
