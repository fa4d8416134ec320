/* sqlite_read.c - the SQLite state store and sink, read side: warnings with
 * the children a query asks for (columns from the dataset descriptions),
 * counts, raw responses for reprocess, state and runs for status. See
 * store.h and sink.h. */
#include "sqlite_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/pool.h"
#include "raw_codec.h"
#include "record_json.h"

static const char *ctext(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

static av_ms cms(sqlite3_stmt *st, int i)
{
    av_ms t;

    if (sqlite3_column_type(st, i) == SQLITE_NULL || av_stamp_parse(ctext(st, i), &t) != AV_OK)
        return AV_NULL_MS;
    return t;
}


/* Column i into the value at p; strings are copied into pool. */
static void read_field(sqlite3_stmt *st, int i, const struct av_field *f, void *p,
                       struct av_pool *pool)
{
    if (sqlite3_column_type(st, i) == SQLITE_NULL)
        av_field_set_null(f, p);
    else if (f->type == AV_FT_F64)
        *(double *)p = sqlite3_column_double(st, i);
    else if (av_field_is_integer(f))
        av_field_set_int(f, p, sqlite3_column_int64(st, i));
    else
        av_field_set_text(f, p, ctext(st, i), (size_t)sqlite3_column_bytes(st, i), pool);
}

/* The children of w that q asks for, by the warning's key. */
static av_rc read_children(struct sqlite_sink *k, const struct av_query *q,
                           struct av_warning *w, struct av_pool *pool, char *errbuf)
{
    for (int d = 1; d < SQ_NDS; d++) {
        struct sq_ds *x = &k->ds[d];
        const struct av_dataset *ds = x->ds;
        int *count = (int *)(void *)((char *)w + ds->count_off), r;

        *count = 0;
        if (!(q->parts & ds->part))
            continue;
        for (int j = 0; j <= AV_KEY_LANG; j++) {
            const struct av_field *f = av_ds_key(ds, j);
            const void *p = av_field_ptr(f, w, NULL);
            if (av_field_is_integer(f))
                sqlite3_bind_int64(x->sel, j + 1, av_field_get_int(f, p));
            else
                sqlite3_bind_text(x->sel, j + 1, av_field_get_text(f, p, x->scratch[j]), -1,
                                  SQLITE_STATIC);
        }
        while ((r = sqlite3_step(x->sel)) == SQLITE_ROW && *count < ds->max) {
            void *rec = av_ds_record(ds, w, *count);
            int col = 0;
            for (int i = 0; i < ds->nfields; i++) {
                const struct av_field *f = &ds->fields[i];
                if (!(f->flags & AV_FF_PARENT))
                    read_field(x->sel, col++, f, (char *)rec + f->off, pool);
            }
            if (av_ds_check(ds, w, rec, errbuf) != AV_OK) {
                sqlite3_reset(x->sel);
                return AV_EPARSE;
            }
            (*count)++;
        }
        sqlite3_reset(x->sel);
        if (r != SQLITE_ROW && r != SQLITE_DONE)
            return av_sqlite_err(k->st, errbuf, "query warning children");
    }
    return AV_OK;
}

av_rc av_sqlite_sink_read(void *impl, const struct av_query *q, av_sink_row_fn fn, void *ud,
                          char *errbuf)
{
    /* a rebuild's batched rows first (sqlite_int.h) */
    if (av_sqlite_bulk_flush(impl, errbuf) != AV_OK)
        return AV_EIO;
    struct sqlite_sink *k = impl;
    const struct av_dataset *ds = &av_ds_warning;
    struct av_warning *w = malloc(sizeof(*w));
    struct av_pool pool = {NULL, 0};
    sqlite3_stmt *st = NULL;
    char *sql = av_sqlite_sql_select(q);
    av_rc rc = AV_OK;
    int r;

    if (w == NULL || sql == NULL) {
        rc = AV_ENOMEM;
        goto out;
    }
    if (sqlite3_prepare_v2(k->st->db, sql, -1, &st, NULL) != SQLITE_OK) {
        rc = av_sqlite_err(k->st, errbuf, "query warnings");
        goto out;
    }
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        av_pool_reset(&pool);
        memset(w, 0, AV_WARNING_HEAD_SIZE);
        for (int i = 0; i < ds->nfields; i++)
            read_field(st, i, &ds->fields[i], (char *)w + ds->fields[i].off, &pool);
        w->n_problems = w->n_advices = w->has_weather = 0;
        rc = av_ds_check(ds, w, w, errbuf);
        if (rc == AV_OK)
            rc = read_children(k, q, w, &pool, errbuf);
        if (rc == AV_OK && pool.oom)
            rc = av_fail(errbuf, AV_ENOMEM, "out of memory reading warnings");
        if (rc != AV_OK || fn(ud, w) != 0)
            break;
    }
    if (rc == AV_OK && r != SQLITE_ROW && r != SQLITE_DONE)
        rc = av_sqlite_err(k->st, errbuf, "query warnings");
out:
    av_pool_free(&pool);
    sqlite3_finalize(st);
    free(sql);
    free(w);
    return rc;
}

av_rc av_sqlite_load_current(struct sqlite_sink *k, int region_id, int64_t valid_date, int lang,
                             struct av_warning *w, struct av_pool *pool, int *found,
                             char *errbuf)
{
    const struct av_dataset *ds = &av_ds_warning;
    struct av_query all = {.parts = AV_PART_WARNINGS};
    sqlite3_stmt *st = k->wsel;
    char d[AV_DATE_LEN];
    av_rc rc = AV_OK;
    int r;

    av_date_format(valid_date, d);
    sqlite3_bind_int(st, 1, region_id);
    sqlite3_bind_text(st, 2, d, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 3, lang);
    r = sqlite3_step(st);
    *found = r == SQLITE_ROW;
    if (*found) {
        memset(w, 0, AV_WARNING_HEAD_SIZE);
        for (int i = 0; i < ds->nfields; i++)
            read_field(st, i, &ds->fields[i], (char *)w + ds->fields[i].off, pool);
        w->n_problems = w->n_advices = w->has_weather = 0;
        rc = av_ds_check(ds, w, w, errbuf);
    }
    sqlite3_reset(st);
    if (r != SQLITE_ROW && r != SQLITE_DONE)
        return av_sqlite_err(k->st, errbuf, "query a warning");
    if (rc == AV_OK && *found)
        rc = read_children(k, &all, w, pool, errbuf);
    return rc;
}

av_rc av_sqlite_sink_read_versions(void *impl, const struct av_query *q, av_sink_version_fn fn,
                                   void *ud, char *errbuf)
{
    /* a rebuild's batched rows first (sqlite_int.h) */
    if (av_sqlite_bulk_flush(impl, errbuf) != AV_OK)
        return AV_EIO;
    struct sqlite_sink *k = impl;
    sqlite3_stmt *st = NULL;
    char *sql = av_sqlite_sql_select_versions(q);
    av_rc rc = AV_OK;
    int r = SQLITE_DONE;

    if (sql == NULL)
        return AV_ENOMEM;
    if (sqlite3_prepare_v2(k->st->db, sql, -1, &st, NULL) != SQLITE_OK) {
        rc = av_sqlite_err(k->st, errbuf, "query the history");
        goto out;
    }
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        struct av_version_row v;
        memset(&v, 0, sizeof(v));
        v.region_id = sqlite3_column_int(st, 0);
        if (ctext(st, 1) == NULL || av_date_parse(ctext(st, 1), &v.valid_date) != AV_OK) {
            rc = av_fail(errbuf, AV_EPARSE, "%s: a history row with the date \"%s\" (changed "
                         "outside avalanche?); run `avalanche reprocess`", k->st->path,
                         ctext(st, 1) ? ctext(st, 1) : "");
            break;
        }
        v.lang = sqlite3_column_int(st, 2);
        v.m.publish_time = cms(st, 3); /* '' (none) reads as absent */
        v.m.first_seen = cms(st, 4);
        v.m.superseded_at = AV_NULL_MS;
        if (fn(ud, &v) != 0)
            break;
    }
    if (rc == AV_OK && r != SQLITE_ROW && r != SQLITE_DONE)
        rc = av_sqlite_err(k->st, errbuf, "query the history");
out:
    sqlite3_finalize(st);
    free(sql);
    return rc;
}

av_rc av_sqlite_sink_load_version(void *impl, const struct av_version_row *v,
                                  struct av_warning *w, struct av_pool *pool, char *errbuf)
{
    /* a rebuild's batched rows first (sqlite_int.h) */
    if (av_sqlite_bulk_flush(impl, errbuf) != AV_OK)
        return AV_EIO;
    struct sqlite_sink *k = impl;
    sqlite3_stmt *st = k->rec;
    char d[AV_DATE_LEN], t[AV_STAMP_LEN] = "";
    int r, found = 0;
    av_rc rc = AV_OK;

    av_date_format(v->valid_date, d);
    if (v->m.publish_time != AV_NULL_MS)
        av_stamp_format(v->m.publish_time, t);
    sqlite3_bind_int(st, 1, v->region_id);
    sqlite3_bind_text(st, 2, d, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 3, v->lang);
    sqlite3_bind_text(st, 4, t, -1, SQLITE_TRANSIENT);
    r = sqlite3_step(st);
    if (r == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        rc = av_record_parse(&k->doc, (const char *)sqlite3_column_text(st, 0),
                             (size_t)sqlite3_column_bytes(st, 0), w, pool, errbuf);
    else if (r == SQLITE_ROW)
        found = 1; /* the clean tables hold it */
    sqlite3_reset(st);
    if (r != SQLITE_ROW && r != SQLITE_DONE)
        return av_sqlite_err(k->st, errbuf, "read a version");
    if (rc != AV_OK || r == SQLITE_DONE)
        return rc != AV_OK ? rc : av_fail(errbuf, AV_EIO, "%s: a version vanished while read",
                                          k->st->path);
    if (found) {
        rc = av_sqlite_load_current(k, v->region_id, v->valid_date, v->lang, w, pool, &found,
                                    errbuf);
        if (rc == AV_OK && !found)
            rc = av_fail(errbuf, AV_EIO, "%s: the history names a warning the clean tables do "
                         "not hold (changed outside avalanche?); run `avalanche reprocess`",
                         k->st->path);
    }
    return rc;
}

av_rc av_sqlite_sink_read_rows(void *impl, const struct av_dataset *ds, const struct av_query *q,
                               av_sink_rec_fn fn, void *ud, char *errbuf)
{
    /* a rebuild's batched rows first (sqlite_int.h) */
    if (av_sqlite_bulk_flush(impl, errbuf) != AV_OK)
        return AV_EIO;
    struct sqlite_sink *k = impl;
    struct av_pool pool = {NULL, 0};
    sqlite3_stmt *st = NULL;
    char *sql = av_sqlite_sql_select_rows(ds, q);
    void *rec = calloc(1, ds->elem_size);
    av_rc rc = AV_OK;
    int r = SQLITE_DONE;

    if (sql == NULL || rec == NULL) {
        rc = AV_ENOMEM;
        goto out;
    }
    if (sqlite3_prepare_v2(k->st->db, sql, -1, &st, NULL) != SQLITE_OK) {
        rc = av_sqlite_err(k->st, errbuf, ds->table);
        goto out;
    }
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        av_pool_reset(&pool);
        for (int i = 0; i < ds->nfields; i++)
            read_field(st, i, &ds->fields[i], (char *)rec + ds->fields[i].off, &pool);
        rc = av_ds_check(ds, rec, rec, errbuf);
        if (rc != AV_OK || fn(ud, rec) != 0)
            break;
    }
    if (rc == AV_OK && r != SQLITE_ROW && r != SQLITE_DONE)
        rc = av_sqlite_err(k->st, errbuf, ds->table);
out:
    av_pool_free(&pool);
    sqlite3_finalize(st);
    free(sql);
    free(rec);
    return rc;
}

av_rc av_sqlite_sink_count(void *impl, const struct av_dataset *ds, const struct av_query *q,
                           long *n, char *errbuf)
{
    /* a rebuild's batched rows first (sqlite_int.h) */
    if (av_sqlite_bulk_flush(impl, errbuf) != AV_OK)
        return AV_EIO;
    struct sqlite_sink *k = impl;
    sqlite3_stmt *st = NULL;
    char *sql = av_sqlite_sql_count(ds, q);
    av_rc rc = AV_OK;

    if (sql == NULL)
        return AV_ENOMEM;
    if (sqlite3_prepare_v2(k->st->db, sql, -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW)
        rc = av_sqlite_err(k->st, errbuf, "count rows");
    else
        *n = (long)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    free(sql);
    return rc;
}

av_rc av_store_each_raw_stored(struct av_store *s, av_raw_stored_fn fn, void *ud,
                               char *errbuf)
{
    sqlite3_stmt *st;
    int r;
    av_rc rc = AV_OK;

    if (sqlite3_prepare_v2(s->db,
                           "SELECT r.id, r.source, r.endpoint, r.lang, r.api_version, r.url, "
                           "r.region_id, r.from_date, r.to_date, r.fetched_at, r.http_status, "
                           "CASE WHEN r.body_id IS NULL THEN r.body ELSE b.body END, "
                           "r.body_id IS NOT NULL AND b.id IS NULL, "
                           "CASE WHEN r.body_id IS NULL THEN 0 ELSE b.codec END, "
                           "CASE WHEN r.body_id IS NULL THEN length(r.body) ELSE b.size END "
                           "FROM raw_response r LEFT JOIN raw_body b ON b.id = r.body_id "
                           "ORDER BY r.id",
                           -1, &st, NULL) != SQLITE_OK)
        return av_sqlite_err(s, errbuf, "query raw responses");
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        struct av_raw_meta m;
        struct av_raw_stored b;

        b.data = sqlite3_column_blob(st, 11);
        b.len = (size_t)sqlite3_column_bytes(st, 11);
        if (b.data == NULL)
            b.data = "";
        b.codec = sqlite3_column_int(st, 13);
        b.size = (size_t)sqlite3_column_int64(st, 14);
        m.source = ctext(st, 1);
        m.endpoint = ctext(st, 2);
        m.lang = sqlite3_column_int(st, 3);
        m.api_version = ctext(st, 4);
        m.url = ctext(st, 5);
        m.region_id = sqlite3_column_int(st, 6);
        m.from_date = m.to_date = INT64_MIN;
        if (ctext(st, 7))
            av_date_parse(ctext(st, 7), &m.from_date);
        if (ctext(st, 8))
            av_date_parse(ctext(st, 8), &m.to_date);
        m.fetched_at = cms(st, 9);
        m.http_status = sqlite3_column_int(st, 10);
        if (sqlite3_column_int(st, 12)) {
            rc = av_fail(errbuf, AV_EIO, "%s: raw response %lld points at a raw_body row that "
                         "is not there (changed outside avalanche?); restore a backup",
                         s->path, (long long)sqlite3_column_int64(st, 0));
            break;
        }
        if (fn(ud, sqlite3_column_int64(st, 0), &m, &b) != 0)
            break;
    }
    if (rc == AV_OK && r != SQLITE_ROW && r != SQLITE_DONE)
        rc = av_sqlite_err(s, errbuf, "read raw responses");
    sqlite3_finalize(st);
    return rc;
}

struct each_raw_ctx {
    struct av_store *s;
    int (*fn)(void *ud, int64_t raw_id, const struct av_raw_meta *m, const char *body,
              size_t len);
    void *ud;
    av_rc rc;
    char *errbuf;
};

static int each_decoded(void *ud, int64_t raw_id, const struct av_raw_meta *m,
                        const struct av_raw_stored *b)
{
    struct each_raw_ctx *c = ud;

    c->rc = av_raw_decode(c->s->codec, b->codec, b->data, b->len, b->size, &c->s->dbuf, c->errbuf);
    if (c->rc != AV_OK) {
        char why[AV_ERRBUF_SIZE];
        snprintf(why, sizeof(why), "%s", c->errbuf);
        c->rc = av_fail(c->errbuf, c->rc, "%s: raw response %lld: %s (changed outside "
                        "avalanche?); restore a backup", c->s->path, (long long)raw_id, why);
        return 1;
    }
    return c->fn(c->ud, raw_id, m, c->s->dbuf.data, c->s->dbuf.len);
}

av_rc av_store_each_raw(struct av_store *s,
                        int (*fn)(void *ud, int64_t raw_id, const struct av_raw_meta *m,
                                  const char *body, size_t len),
                        void *ud, char *errbuf)
{
    struct each_raw_ctx c = {s, fn, ud, AV_OK, errbuf};
    av_rc rc = av_store_each_raw_stored(s, each_decoded, &c, errbuf);

    return rc != AV_OK ? rc : c.rc;
}

av_rc av_store_each_state(struct av_store *s,
                          int (*fn)(void *ud, const struct av_state_row *r), void *ud,
                          char *errbuf)
{
    sqlite3_stmt *st;
    int r;
    av_rc rc = AV_OK;

    if (sqlite3_prepare_v2(
            s->db,
            "SELECT f.region_id, f.lang, f.endpoint, f.last_date, f.last_fetch, f.last_status, "
            "f.last_error, "
            "(SELECT count(*) FROM rejected r WHERE r.region_id = f.region_id "
            "  AND r.lang = f.lang) "
            "FROM fetch_state f ORDER BY f.region_id, f.lang, f.endpoint",
            -1, &st, NULL) != SQLITE_OK)
        return av_sqlite_err(s, errbuf, "query fetch state");
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        struct av_state_row row = {
            .region_id = sqlite3_column_int(st, 0),
            .lang = sqlite3_column_int(st, 1),
            .endpoint = ctext(st, 2),
            .last_date = ctext(st, 3),
            .last_fetch = ctext(st, 4),
            .last_status = ctext(st, 5),
            .last_error = ctext(st, 6),
            .rejects = sqlite3_column_int64(st, 7),
        };
        if (fn(ud, &row) != 0)
            break;
    }
    if (r != SQLITE_ROW && r != SQLITE_DONE)
        rc = av_sqlite_err(s, errbuf, "read fetch state");
    sqlite3_finalize(st);
    return rc;
}

av_rc av_store_each_run(struct av_store *s, int limit,
                        int (*fn)(void *ud, const struct av_run_row *r), void *ud,
                        char *errbuf)
{
    sqlite3_stmt *st;
    int r;
    av_rc rc = AV_OK;

    if (sqlite3_prepare_v2(s->db,
                           "SELECT id, kind, status, started_at, ended_at, error, args, "
                           "units_total, units_ok, units_rejected, units_failed, "
                           "warnings_stored, warnings_unchanged, warnings_rejected, "
                           "requests, retries FROM run ORDER BY id DESC LIMIT ?1",
                           -1, &st, NULL) != SQLITE_OK)
        return av_sqlite_err(s, errbuf, "query runs");
    sqlite3_bind_int(st, 1, limit);
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        struct av_run_row row = {
            .id = sqlite3_column_int64(st, 0),
            .kind = ctext(st, 1),
            .status = ctext(st, 2),
            .started_at = ctext(st, 3),
            .ended_at = ctext(st, 4),
            .error = ctext(st, 5),
            .args = ctext(st, 6),
        };
        row.c.units_total = sqlite3_column_int(st, 7);
        row.c.units_ok = sqlite3_column_int(st, 8);
        row.c.units_rejected = sqlite3_column_int(st, 9);
        row.c.units_failed = sqlite3_column_int(st, 10);
        row.c.warnings_stored = sqlite3_column_int64(st, 11);
        row.c.warnings_unchanged = sqlite3_column_int64(st, 12);
        row.c.warnings_rejected = sqlite3_column_int64(st, 13);
        row.c.requests = sqlite3_column_int64(st, 14);
        row.c.retries = sqlite3_column_int64(st, 15);
        if (fn(ud, &row) != 0)
            break;
    }
    if (r != SQLITE_ROW && r != SQLITE_DONE)
        rc = av_sqlite_err(s, errbuf, "read runs");
    sqlite3_finalize(st);
    return rc;
}

av_rc av_store_raw_stats(struct av_store *s, struct av_raw_stats *out, char *errbuf)
{
    sqlite3_stmt *st;
    av_rc rc = AV_OK;

    /* bodies stored before schema 6 are inline in raw_response (length()
     * of a blob reads its size, not its content) */
    if (sqlite3_prepare_v2(s->db,
                           "SELECT (SELECT count(*) FROM raw_response), "
                           "(SELECT count(*) FROM raw_body) + (SELECT count(*) FROM "
                           "raw_response WHERE body_id IS NULL), "
                           "(SELECT coalesce(sum(size), 0) FROM raw_body) + (SELECT "
                           "coalesce(sum(length(body)), 0) FROM raw_response WHERE body_id IS "
                           "NULL)",
                           -1, &st, NULL) != SQLITE_OK)
        return av_sqlite_err(s, errbuf, "count raw responses");
    if (sqlite3_step(st) == SQLITE_ROW) {
        out->responses = (long)sqlite3_column_int64(st, 0);
        out->bodies = (long)sqlite3_column_int64(st, 1);
        out->bytes = (long long)sqlite3_column_int64(st, 2);
    } else {
        rc = av_sqlite_err(s, errbuf, "count raw responses");
    }
    sqlite3_finalize(st);
    return rc;
}

av_rc av_store_count(struct av_store *s, const char *table, long *n, char *errbuf)
{
    char sql[128];
    sqlite3_stmt *st;
    av_rc rc = AV_OK;

    snprintf(sql, sizeof(sql), "SELECT count(*) FROM \"%s\"", table);
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return av_sqlite_err(s, errbuf, "count rows");
    if (sqlite3_step(st) == SQLITE_ROW)
        *n = (long)sqlite3_column_int64(st, 0);
    else
        rc = av_sqlite_err(s, errbuf, "count rows");
    sqlite3_finalize(st);
    return rc;
}

av_rc av_store_data_version(struct av_store *s, int64_t *v, char *errbuf)
{
    sqlite3_stmt *st;
    av_rc rc = AV_OK;

    if (sqlite3_prepare_v2(s->db, "PRAGMA data_version", -1, &st, NULL) != SQLITE_OK)
        return av_sqlite_err(s, errbuf, "read data_version");
    if (sqlite3_step(st) == SQLITE_ROW)
        *v = sqlite3_column_int64(st, 0);
    else
        rc = av_sqlite_err(s, errbuf, "read data_version");
    sqlite3_finalize(st);
    return rc;
}

av_rc av_store_last_good_run(struct av_store *s, const char *kind, av_ms *started,
                             char *errbuf)
{
    sqlite3_stmt *st;
    int r;
    av_rc rc = AV_OK;

    *started = -1;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT max(started_at) FROM run WHERE kind = ?1 "
                           "AND status IN ('ok', 'partial')",
                           -1, &st, NULL) != SQLITE_OK)
        return av_sqlite_err(s, errbuf, "query runs");
    sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
    r = sqlite3_step(st);
    if (r == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        av_stamp_parse(ctext(st, 0), started);
    else if (r != SQLITE_ROW && r != SQLITE_DONE)
        rc = av_sqlite_err(s, errbuf, "query runs");
    sqlite3_finalize(st);
    return rc;
}

av_rc av_store_run_totals(struct av_store *s, struct av_run_totals *t, char *errbuf)
{
    sqlite3_stmt *st;
    int r;
    av_rc rc = AV_OK;

    memset(t, 0, sizeof(*t));
    if (sqlite3_prepare_v2(s->db,
                           "SELECT status, count(*), sum(warnings_stored), "
                           "sum(warnings_rejected), sum(units_failed), sum(requests), "
                           "sum(retries) FROM run GROUP BY status",
                           -1, &st, NULL) != SQLITE_OK)
        return av_sqlite_err(s, errbuf, "query runs");
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        const char *status = ctext(st, 0);
        long n = (long)sqlite3_column_int64(st, 1);
        if (strcmp(status, "ok") == 0)
            t->ok = n;
        else if (strcmp(status, "partial") == 0)
            t->partial = n;
        else if (strcmp(status, "failed") == 0)
            t->failed = n;
        else if (strcmp(status, "interrupted") == 0)
            t->interrupted = n;
        else if (strcmp(status, "running") == 0)
            t->running = n;
        t->warnings_stored += (long)sqlite3_column_int64(st, 2);
        t->warnings_rejected += (long)sqlite3_column_int64(st, 3);
        t->units_failed += (long)sqlite3_column_int64(st, 4);
        t->requests += (long)sqlite3_column_int64(st, 5);
        t->retries += (long)sqlite3_column_int64(st, 6);
    }
    if (r != SQLITE_DONE)
        rc = av_sqlite_err(s, errbuf, "query runs");
    sqlite3_finalize(st);
    return rc;
}

/* ---- the data-quality page (/quality) ---- */

av_rc av_store_each_reject_group(struct av_store *s, int limit,
                                 int (*fn)(void *ud, const struct av_reject_group *g), void *ud,
                                 char *errbuf)
{
    sqlite3_stmt *st;
    int r;
    av_rc rc = AV_OK;

    if (sqlite3_prepare_v2(
            s->db,
            "SELECT g.stage, g.reason, g.n, g.seen, g.last, "
            "  (SELECT substr(CAST(x.raw AS BLOB), 1, ?2) FROM rejected x "
            "   WHERE x.stage = g.stage AND x.reason = g.reason ORDER BY x.id LIMIT 1) "
            "FROM (SELECT stage, reason, count(*) AS n, sum(seen) AS seen, "
            "      max(last_seen) AS last FROM rejected GROUP BY stage, reason "
            "      ORDER BY n DESC, stage, reason LIMIT ?1) g",
            -1, &st, NULL) != SQLITE_OK)
        return av_sqlite_err(s, errbuf, "query rejects");
    sqlite3_bind_int(st, 1, limit);
    sqlite3_bind_int(st, 2, AV_REJECT_SAMPLE_MAX);
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        struct av_reject_group g = {
            .stage = ctext(st, 0),
            .reason = ctext(st, 1),
            .rows = (long)sqlite3_column_int64(st, 2),
            .seen = (long)sqlite3_column_int64(st, 3),
            .last_seen = ctext(st, 4),
            .sample = (const char *)sqlite3_column_blob(st, 5),
            .sample_len = (size_t)sqlite3_column_bytes(st, 5),
        };
        if (fn(ud, &g) != 0)
            break;
    }
    if (r != SQLITE_ROW && r != SQLITE_DONE)
        rc = av_sqlite_err(s, errbuf, "read rejects");
    sqlite3_finalize(st);
    return rc;
}

av_rc av_store_each_coverage(struct av_store *s, int first_season, int limit,
                             int (*fn)(void *ud, int region_id, int season, long days), void *ud,
                             char *errbuf)
{
    const char *date = av_ds_key(&av_ds_warning, AV_KEY_DATE)->name;
    char sql[768], from[AV_DATE_LEN];
    sqlite3_stmt *st;
    int r;
    av_rc rc = AV_OK;

    /* the column's name from the description (the lint keeps it there) */
    snprintf(sql, sizeof(sql),
             "SELECT region_id, CAST(substr(%s, 1, 4) AS INTEGER) - "
             "  (CAST(substr(%s, 6, 2) AS INTEGER) < 10) AS season, count(DISTINCT %s) "
             "FROM %s WHERE %s >= ?1 AND substr(%s, 6, 2) IN "
             "('12', '01', '02', '03', '04', '05') "
             "GROUP BY region_id, season ORDER BY region_id, season LIMIT ?2",
             date, date, date, av_ds_warning.table, date, date);
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return av_sqlite_err(s, errbuf, "query coverage");
    av_date_format(av_days_from_civil(first_season, 12, 1), from);
    sqlite3_bind_text(st, 1, from, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 2, limit);
    while ((r = sqlite3_step(st)) == SQLITE_ROW)
        if (fn(ud, sqlite3_column_int(st, 0), sqlite3_column_int(st, 1),
               (long)sqlite3_column_int64(st, 2)) != 0)
            break;
    if (r != SQLITE_ROW && r != SQLITE_DONE)
        rc = av_sqlite_err(s, errbuf, "read coverage");
    sqlite3_finalize(st);
    return rc;
}
