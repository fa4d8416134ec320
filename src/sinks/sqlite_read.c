/* sqlite_read.c - the embedded store, read side: warnings with their
 * problems for export, raw responses for reprocess, state and runs for
 * status. See store.h. */
#include "sqlite_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *ctext(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

/* Strings of one warning and its problems must outlive the next
 * sqlite3_step() of the problem query, so they are copied into a pool of
 * fixed blocks (never moved; reset per warning). */
struct pool_block {
    struct pool_block *next;
    size_t used, cap;
    char data[];
};

struct pool {
    struct pool_block *head;
};

static const char *pool_dup(struct pool *p, const char *s)
{
    size_t n;
    struct pool_block *b;

    if (s == NULL)
        return NULL;
    n = strlen(s) + 1;
    b = p->head;
    if (b == NULL || b->cap - b->used < n) {
        size_t cap = n > 65536 ? n : 65536;
        b = malloc(sizeof(*b) + cap);
        if (b == NULL)
            return NULL;
        b->next = p->head;
        b->used = 0;
        b->cap = cap;
        p->head = b;
    }
    memcpy(b->data + b->used, s, n);
    b->used += n;
    return b->data + b->used - n;
}

static void pool_reset(struct pool *p, int release)
{
    while (p->head && (release || p->head->next)) {
        struct pool_block *next = p->head->next;
        free(p->head);
        p->head = next;
    }
    if (p->head)
        p->head->used = 0;
}

static struct pool *cur_pool;

/* Column text copied into the current pool. */
static const char *ptext(sqlite3_stmt *st, int i)
{
    return pool_dup(cur_pool, ctext(st, i));
}

static int cint(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? AV_NULL_INT : sqlite3_column_int(st, i);
}

static av_ms cms(sqlite3_stmt *st, int i)
{
    av_ms t;

    if (sqlite3_column_type(st, i) == SQLITE_NULL || av_stamp_parse(ctext(st, i), &t) != AV_OK)
        return AV_NULL_MS;
    return t;
}

static int aspects_from_raw(const char *s)
{
    int m = 0;

    if (s == NULL || strlen(s) != 8)
        return AV_NULL_INT;
    for (int i = 0; i < 8; i++)
        if (s[i] == '1')
            m |= 1 << i;
    return m;
}

static void read_problem(sqlite3_stmt *st, struct av_problem *p)
{
    int i = 3;

    p->problem_id = cint(st, i++);
    p->type_id = cint(st, i++);
    p->type_name = ptext(st, i++);
    p->aval_type_id = cint(st, i++);
    p->aval_type_name = ptext(st, i++);
    p->ext_id = cint(st, i++);
    p->ext_name = ptext(st, i++);
    p->cause_id = cint(st, i++);
    p->cause_name = ptext(st, i++);
    p->probability_id = cint(st, i++);
    p->probability_name = ptext(st, i++);
    p->trigger_simple_id = cint(st, i++);
    p->trigger_simple_name = ptext(st, i++);
    p->trigger_sensitivity_id = cint(st, i++);
    p->trigger_sensitivity_name = ptext(st, i++);
    p->destructive_size_id = cint(st, i++);
    p->destructive_size_name = ptext(st, i++);
    p->propagation_id = cint(st, i++);
    p->propagation_name = ptext(st, i++);
    p->aspects_raw = ptext(st, i++);
    p->aspects = aspects_from_raw(p->aspects_raw);
    i++; /* decoded aspects text: recomputed from the raw string */
    p->exposed_height_fill = cint(st, i++);
    p->exposed_height_1 = cint(st, i++);
    p->exposed_height_2 = cint(st, i++);
    p->exposed_min_m = cint(st, i++);
    p->exposed_max_m = cint(st, i++);
    p->exposed_text = ptext(st, i++);
    p->danger_level = cint(st, i++);
    p->danger_level_name = ptext(st, i++);
    p->text = ptext(st, i++);
}

static void read_warning(sqlite3_stmt *st, struct av_warning *w)
{
    int i = 0;
    const char *rt;

    memset(w, 0, offsetof(struct av_warning, problems));
    w->region_id = sqlite3_column_int(st, i++);
    av_date_parse(ctext(st, i++), &w->valid_date);
    w->lang = sqlite3_column_int(st, i++);
    w->reg_id = sqlite3_column_type(st, i) == SQLITE_NULL ? AV_NULL_INT
                                                          : sqlite3_column_int64(st, i);
    i++;
    w->previous_reg_id = sqlite3_column_type(st, i) == SQLITE_NULL
                             ? AV_NULL_INT
                             : sqlite3_column_int64(st, i);
    i++;
    w->region_name = ctext(st, i++);
    rt = ctext(st, i++);
    w->region_type[0] = rt && (rt[0] == 'A' || rt[0] == 'B') ? rt[0] : '\0';
    w->danger_level = sqlite3_column_int(st, i++);
    w->danger_level_name = ctext(st, i++);
    w->valid_from = cms(st, i++);
    w->valid_to = cms(st, i++);
    w->publish_time = cms(st, i++);
    w->next_warning_time = cms(st, i++);
    w->danger_increase_time = cms(st, i++);
    w->danger_decrease_time = cms(st, i++);
    w->main_text = ctext(st, i++);
    w->avalanche_danger = ctext(st, i++);
    w->emergency_warning = ctext(st, i++);
    w->snow_surface = ctext(st, i++);
    w->current_weak_layers = ctext(st, i++);
    w->latest_avalanche_activity = ctext(st, i++);
    w->latest_observations = ctext(st, i++);
    w->author = ctext(st, i++);
    w->is_tendency = cint(st, i++);
    w->utm_zone = cint(st, i++);
    w->utm_east = cint(st, i++);
    w->utm_north = cint(st, i++);
    w->county_ids = ctext(st, i++);
    w->municipality_ids = ctext(st, i++);
    i++; /* endpoint */
    rt = ctext(st, i++);
    snprintf(w->raw_hash, sizeof(w->raw_hash), "%s", rt ? rt : "");
    w->mw_last_saved = AV_NULL_MS;
    w->mw_cloud_cover_id = AV_NULL_INT;
}

av_rc av_store_each_warning(struct av_store *s, const struct av_query *q,
                            int (*fn)(void *ud, const struct av_warning *w), void *ud,
                            char *errbuf)
{
    struct av_warning *w;
    struct pool pool = {NULL};
    struct av_buf sql;
    sqlite3_stmt *st = NULL;
    char d[AV_DATE_LEN];
    av_rc rc = AV_OK;
    int r, i;

    w = malloc(sizeof(*w));
    if (w == NULL)
        return AV_ENOMEM;
    av_buf_init(&sql, 0);
    av_buf_puts(&sql, "SELECT ");
    for (i = 0; i < AV_WARNING_NCOLS; i++)
        av_buf_printf(&sql, "%s%s", i ? "," : "", av_warning_cols[i]);
    av_buf_puts(&sql, " FROM warning WHERE 1");
    if (q->from != INT64_MIN) {
        av_date_format(q->from, d);
        av_buf_printf(&sql, " AND valid_date >= '%s'", d);
    }
    if (q->to != INT64_MAX) {
        av_date_format(q->to, d);
        av_buf_printf(&sql, " AND valid_date <= '%s'", d);
    }
    if (q->lang)
        av_buf_printf(&sql, " AND lang = %d", q->lang);
    if (q->regions && q->nregions > 0) {
        av_buf_puts(&sql, " AND region_id IN (");
        for (i = 0; i < q->nregions; i++)
            av_buf_printf(&sql, "%s%d", i ? "," : "", q->regions[i]);
        av_buf_puts(&sql, ")");
    }
    av_buf_puts(&sql, " ORDER BY region_id, valid_date, lang");
    if (sql.data == NULL || sqlite3_prepare_v2(s->db, sql.data, -1, &st, NULL) != SQLITE_OK) {
        rc = av_sqlite_err(s, errbuf, "query warnings");
        goto out;
    }
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        sqlite3_stmt *p = s->sel_problems;
        int pr;

        cur_pool = &pool;
        pool_reset(&pool, 0);
        read_warning(st, w);
        sqlite3_bind_int(p, 1, w->region_id);
        sqlite3_bind_text(p, 2, ctext(st, 1), -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(p, 3, w->lang);
        while ((pr = sqlite3_step(p)) == SQLITE_ROW && w->n_problems < AV_MAX_PROBLEMS)
            read_problem(p, &w->problems[w->n_problems++]);
        if (pr != SQLITE_ROW && pr != SQLITE_DONE) {
            sqlite3_reset(p);
            rc = av_sqlite_err(s, errbuf, "query problems");
            goto out;
        }
        if (fn(ud, w) != 0) {
            sqlite3_reset(p);
            break;
        }
        sqlite3_reset(p);
    }
    if (r != SQLITE_ROW && r != SQLITE_DONE)
        rc = av_sqlite_err(s, errbuf, "query warnings");
out:
    pool_reset(&pool, 1);
    cur_pool = NULL;
    sqlite3_finalize(st);
    av_buf_free(&sql);
    free(w);
    return rc;
}

av_rc av_store_each_raw(struct av_store *s,
                        int (*fn)(void *ud, int64_t raw_id, const struct av_raw_meta *m,
                                  const char *body, size_t len),
                        void *ud, char *errbuf)
{
    sqlite3_stmt *st;
    int r;
    av_rc rc = AV_OK;

    if (sqlite3_prepare_v2(s->db,
                           "SELECT id, source, endpoint, lang, api_version, url, region_id, "
                           "from_date, to_date, fetched_at, http_status, body "
                           "FROM raw_response ORDER BY id",
                           -1, &st, NULL) != SQLITE_OK)
        return av_sqlite_err(s, errbuf, "query raw responses");
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        struct av_raw_meta m;
        const char *body = sqlite3_column_blob(st, 11);
        size_t len = (size_t)sqlite3_column_bytes(st, 11);

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
        if (fn(ud, sqlite3_column_int64(st, 0), &m, body ? body : "", len) != 0)
            break;
    }
    if (r != SQLITE_ROW && r != SQLITE_DONE)
        rc = av_sqlite_err(s, errbuf, "read raw responses");
    sqlite3_finalize(st);
    return rc;
}

av_rc av_store_clear_clean(struct av_store *s, char *errbuf)
{
    char *msg = NULL;

    if (sqlite3_exec(s->db,
                     "DELETE FROM warning; DELETE FROM problem; DELETE FROM advice; "
                     "DELETE FROM mountain_weather; DELETE FROM rejected WHERE stage != 'fetch';",
                     NULL, NULL, &msg) != SQLITE_OK) {
        av_rc rc = av_fail(errbuf, AV_EIO, "clear clean tables in %s: %s", s->path, msg);
        sqlite3_free(msg);
        return rc;
    }
    return AV_OK;
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
            "(SELECT count(*) FROM warning w WHERE w.region_id = f.region_id "
            "  AND w.lang = f.lang), "
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
            .warnings = sqlite3_column_int64(st, 7),
            .rejects = sqlite3_column_int64(st, 8),
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
                           "warnings_stored, warnings_unchanged, warnings_rejected "
                           "FROM run ORDER BY id DESC LIMIT ?1",
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
        if (fn(ud, &row) != 0)
            break;
    }
    if (r != SQLITE_ROW && r != SQLITE_DONE)
        rc = av_sqlite_err(s, errbuf, "read runs");
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
