/* sqlite_state.c - the SQLite state store's bookkeeping: fetch state per
 * (region, lang, endpoint), the holes (days planned but not stored), runs
 * and their per-region counts, the recovery of runs whose process died
 * (see store.h); and the names stored once (sqlite_int.h): the writer's
 * text -> id map and the conversion of the clean tables to that layout. */
#include "sqlite_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

av_rc av_store_state_get(struct av_store *s, int region_id, int lang, const char *endpoint,
                         int64_t *last_date, char *errbuf)
{
    sqlite3_stmt *st = s->state_get;
    int r;

    *last_date = -1;
    sqlite3_bind_int(st, 1, region_id);
    sqlite3_bind_int(st, 2, lang);
    sq_bind_text(st, 3, endpoint);
    r = sqlite3_step(st);
    if (r == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_TEXT)
        av_date_parse((const char *)sqlite3_column_text(st, 0), last_date);
    sqlite3_reset(st);
    if (r != SQLITE_ROW && r != SQLITE_DONE)
        return av_sqlite_err(s, errbuf, "read fetch state");
    return AV_OK;
}

av_rc av_store_state_put(struct av_store *s, int region_id, int lang, const char *endpoint,
                         int64_t last_date, av_ms at, const char *status, const char *error,
                         char *errbuf)
{
    sqlite3_stmt *st = s->state_put;

    sqlite3_bind_int(st, 1, region_id);
    sqlite3_bind_int(st, 2, lang);
    sq_bind_text(st, 3, endpoint);
    if (last_date >= 0)
        sq_bind_date(st, 4, last_date);
    else
        sqlite3_bind_null(st, 4);
    sq_bind_ms(st, 5, at);
    sq_bind_text(st, 6, status);
    sq_bind_text(st, 7, error);
    return av_sqlite_step(s, st, errbuf, "record fetch state");
}

av_rc av_store_run_begin(struct av_store *s, const char *kind, const char *args, av_ms now,
                         int64_t *run_id, char *errbuf)
{
    sqlite3_stmt *st;
    av_rc rc;

    if (sqlite3_prepare_v2(s->db,
                           "INSERT INTO run (kind, args, started_at, status, pid) "
                           "VALUES (?1, ?2, ?3, 'running', ?4)",
                           -1, &st, NULL) != SQLITE_OK)
        return av_sqlite_err(s, errbuf, "record run");
    sq_bind_text(st, 1, kind);
    sq_bind_text(st, 2, args);
    sq_bind_ms(st, 3, now);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)getpid());
    rc = av_sqlite_step(s, st, errbuf, "record run");
    sqlite3_finalize(st);
    if (rc == AV_OK)
        *run_id = sqlite3_last_insert_rowid(s->db);
    return rc;
}

av_rc av_store_run_end(struct av_store *s, int64_t run_id, const char *status,
                       const struct av_run_counts *c, const char *error, av_ms now,
                       char *errbuf)
{
    sqlite3_stmt *st;
    av_rc rc;

    if (sqlite3_prepare_v2(s->db,
                           "UPDATE run SET ended_at = ?2, status = ?3, units_total = ?4, "
                           "units_ok = ?5, units_rejected = ?6, units_failed = ?7, "
                           "warnings_stored = ?8, warnings_unchanged = ?9, "
                           "warnings_rejected = ?10, error = ?11, requests = ?12, "
                           "retries = ?13 WHERE id = ?1",
                           -1, &st, NULL) != SQLITE_OK)
        return av_sqlite_err(s, errbuf, "record run end");
    sqlite3_bind_int64(st, 1, run_id);
    sq_bind_ms(st, 2, now);
    sq_bind_text(st, 3, status);
    sqlite3_bind_int(st, 4, c->units_total);
    sqlite3_bind_int(st, 5, c->units_ok);
    sqlite3_bind_int(st, 6, c->units_rejected);
    sqlite3_bind_int(st, 7, c->units_failed);
    sqlite3_bind_int64(st, 8, c->warnings_stored);
    sqlite3_bind_int64(st, 9, c->warnings_unchanged);
    sqlite3_bind_int64(st, 10, c->warnings_rejected);
    sq_bind_text(st, 11, error);
    sqlite3_bind_int64(st, 12, c->requests);
    sqlite3_bind_int64(st, 13, c->retries);
    rc = av_sqlite_step(s, st, errbuf, "record run end");
    sqlite3_finalize(st);
    return rc;
}

av_rc av_store_run_region(struct av_store *s, int64_t run_id, int region_id,
                          const struct av_run_counts *c, const char *error, char *errbuf)
{
    sqlite3_stmt *st;
    av_rc rc;

    if (sqlite3_prepare_v2(s->db,
                           "INSERT OR REPLACE INTO run_region (run_id, region_id, units_ok, "
                           "units_rejected, units_failed, warnings_stored, warnings_unchanged, "
                           "warnings_rejected, error) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                           -1, &st, NULL) != SQLITE_OK)
        return av_sqlite_err(s, errbuf, "record run region");
    sqlite3_bind_int64(st, 1, run_id);
    sqlite3_bind_int(st, 2, region_id);
    sqlite3_bind_int(st, 3, c->units_ok);
    sqlite3_bind_int(st, 4, c->units_rejected);
    sqlite3_bind_int(st, 5, c->units_failed);
    sqlite3_bind_int64(st, 6, c->warnings_stored);
    sqlite3_bind_int64(st, 7, c->warnings_unchanged);
    sqlite3_bind_int64(st, 8, c->warnings_rejected);
    sq_bind_text(st, 9, error && error[0] ? error : NULL);
    rc = av_sqlite_step(s, st, errbuf, "record run region");
    sqlite3_finalize(st);
    return rc;
}

av_rc av_store_runs_recover(struct av_store *s, int (*alive)(long pid), char *errbuf)
{
    sqlite3_stmt *sel, *upd;
    av_rc rc = AV_OK;
    int r;

    if (sqlite3_prepare_v2(s->db, "SELECT id, pid FROM run WHERE status = 'running'", -1,
                           &sel, NULL) != SQLITE_OK)
        return av_sqlite_err(s, errbuf, "read runs");
    if (sqlite3_prepare_v2(s->db,
                           "UPDATE run SET status = 'interrupted', "
                           "error = 'the run did not record its end (its process ended, or "
                           "its database was busy)' WHERE id = ?1",
                           -1, &upd, NULL) != SQLITE_OK) {
        sqlite3_finalize(sel);
        return av_sqlite_err(s, errbuf, "update runs");
    }
    while ((r = sqlite3_step(sel)) == SQLITE_ROW) {
        if (sqlite3_column_type(sel, 1) != SQLITE_NULL && alive(sqlite3_column_int64(sel, 1)))
            continue;
        sqlite3_bind_int64(upd, 1, sqlite3_column_int64(sel, 0));
        rc = av_sqlite_step(s, upd, errbuf, "mark interrupted run");
        if (rc != AV_OK)
            break;
    }
    if (r != SQLITE_ROW && r != SQLITE_DONE && rc == AV_OK)
        rc = av_sqlite_err(s, errbuf, "read runs");
    sqlite3_finalize(sel);
    sqlite3_finalize(upd);
    return rc;
}

av_rc av_store_clear_derived_rejects(struct av_store *s, char *errbuf)
{
    return av_sqlite_exec(s, "DELETE FROM rejected WHERE stage != 'fetch' AND raw_id IS NOT NULL", errbuf);
}

av_rc av_store_run_failed(struct av_store *s, const char *kind, const char *args,
                          av_ms started, av_ms ended, const char *error, char *errbuf)
{
    struct av_run_counts none = {0};
    int64_t id;
    av_rc rc = av_store_run_begin(s, kind, args, started, &id, errbuf);

    if (rc == AV_OK)
        rc = av_store_run_end(s, id, "failed", &none, error, ended, errbuf);
    return rc;
}

/* ---- holes ---- */

struct hole_span {
    int64_t from, to;
    av_ms since;
};

/* The holes of (region, lang, endpoint) that meet from..to (with slack
 * days on each side: 1 finds adjacent ones too), removed from the table
 * and returned in *out (malloc'd). */
static av_rc take_holes(struct av_store *s, int region_id, int lang, const char *endpoint,
                        int64_t from, int64_t to, int slack, struct hole_span **out, int *n,
                        char *errbuf)
{
    sqlite3_stmt *st = s->hole_sel;
    struct hole_span *v = NULL;
    int r, cap = 0;
    av_rc rc = AV_OK;

    *n = 0;
    sqlite3_bind_int(st, 1, region_id);
    sqlite3_bind_int(st, 2, lang);
    sq_bind_text(st, 3, endpoint);
    sq_bind_date(st, 4, from - slack);
    sq_bind_date(st, 5, to + slack);
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        struct hole_span h;
        if (av_date_parse((const char *)sqlite3_column_text(st, 0), &h.from) != AV_OK ||
            av_date_parse((const char *)sqlite3_column_text(st, 1), &h.to) != AV_OK ||
            av_stamp_parse((const char *)sqlite3_column_text(st, 2), &h.since) != AV_OK) {
            rc = av_fail(errbuf, AV_EIO, "%s: a fetch_hole row of region %d is not dates "
                         "(tampered?); delete it with sqlite3 and run again", s->path,
                         region_id);
            break;
        }
        if (*n == cap) {
            struct hole_span *g = realloc(v, (size_t)(cap = cap ? cap * 2 : 4) * sizeof(*v));
            if (g == NULL) {
                rc = AV_ENOMEM;
                break;
            }
            v = g;
        }
        v[(*n)++] = h;
    }
    if (rc == AV_OK && r != SQLITE_DONE)
        rc = av_sqlite_err(s, errbuf, "read holes");
    sqlite3_reset(st);
    for (int i = 0; rc == AV_OK && i < *n; i++) {
        st = s->hole_del;
        sqlite3_bind_int(st, 1, region_id);
        sqlite3_bind_int(st, 2, lang);
        sq_bind_text(st, 3, endpoint);
        sq_bind_date(st, 4, v[i].from);
        rc = av_sqlite_step(s, st, errbuf, "record holes");
    }
    if (rc != AV_OK) {
        free(v);
        v = NULL;
        *n = 0;
    }
    *out = v;
    return rc;
}

static av_rc put_hole(struct av_store *s, int region_id, int lang, const char *endpoint,
                      int64_t from, int64_t to, av_ms since, char *errbuf)
{
    sqlite3_stmt *st = s->hole_ins;

    sqlite3_bind_int(st, 1, region_id);
    sqlite3_bind_int(st, 2, lang);
    sq_bind_text(st, 3, endpoint);
    sq_bind_date(st, 4, from);
    sq_bind_date(st, 5, to);
    sq_bind_ms(st, 6, since);
    return av_sqlite_step(s, st, errbuf, "record holes");
}

av_rc av_store_hole_add(struct av_store *s, int region_id, int lang, const char *endpoint,
                        int64_t from, int64_t to, av_ms now, char *errbuf)
{
    struct hole_span *v;
    int n;
    av_rc rc = take_holes(s, region_id, lang, endpoint, from, to, 1, &v, &n, errbuf);

    for (int i = 0; rc == AV_OK && i < n; i++) {
        from = v[i].from < from ? v[i].from : from;
        to = v[i].to > to ? v[i].to : to;
        now = v[i].since < now ? v[i].since : now;
    }
    if (rc == AV_OK)
        rc = put_hole(s, region_id, lang, endpoint, from, to, now, errbuf);
    free(v);
    return rc;
}

av_rc av_store_hole_clear(struct av_store *s, int region_id, int lang, const char *endpoint,
                          int64_t from, int64_t to, char *errbuf)
{
    struct hole_span *v;
    int n;
    av_rc rc = take_holes(s, region_id, lang, endpoint, from, to, 0, &v, &n, errbuf);

    for (int i = 0; rc == AV_OK && i < n; i++) {
        if (v[i].from < from)
            rc = put_hole(s, region_id, lang, endpoint, v[i].from, from - 1, v[i].since,
                          errbuf);
        if (rc == AV_OK && v[i].to > to)
            rc = put_hole(s, region_id, lang, endpoint, to + 1, v[i].to, v[i].since, errbuf);
    }
    free(v);
    return rc;
}

av_rc av_store_each_hole(struct av_store *s, int region_id, int lang, const char *endpoint,
                         int (*fn)(void *ud, const struct av_hole *h), void *ud, char *errbuf)
{
    sqlite3_stmt *st;
    int r;
    av_rc rc = AV_OK;

    if (sqlite3_prepare_v2(s->db,
                           "SELECT region_id, lang, endpoint, from_date, to_date, since "
                           "FROM fetch_hole WHERE ?1 = 0 OR (region_id = ?1 AND lang = ?2 "
                           "AND endpoint = ?3) ORDER BY region_id, lang, endpoint, from_date",
                           -1, &st, NULL) != SQLITE_OK)
        return av_sqlite_err(s, errbuf, "read holes");
    sqlite3_bind_int(st, 1, region_id);
    sqlite3_bind_int(st, 2, lang);
    sq_bind_text(st, 3, endpoint ? endpoint : "");
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        struct av_hole h;
        h.region_id = sqlite3_column_int(st, 0);
        h.lang = sqlite3_column_int(st, 1);
        h.endpoint = (const char *)sqlite3_column_text(st, 2);
        if (h.endpoint == NULL ||
            av_date_parse((const char *)sqlite3_column_text(st, 3), &h.from) != AV_OK ||
            av_date_parse((const char *)sqlite3_column_text(st, 4), &h.to) != AV_OK ||
            av_stamp_parse((const char *)sqlite3_column_text(st, 5), &h.since) != AV_OK ||
            h.from > h.to) {
            rc = av_fail(errbuf, AV_EIO, "%s: a fetch_hole row of region %d is not a date "
                         "range (tampered?); delete it with sqlite3 and run again", s->path,
                         h.region_id);
            break;
        }
        if (fn(ud, &h) != 0)
            break;
    }
    if (rc == AV_OK && r != SQLITE_ROW && r != SQLITE_DONE)
        rc = av_sqlite_err(s, errbuf, "read holes");
    sqlite3_finalize(st);
    return rc;
}

/* ---- API usage (the weather budget) ---- */

av_rc av_store_usage_add(struct av_store *s, const char *api, av_ms at, double weight,
                         long requests, char *errbuf)
{
    sqlite3_stmt *st;
    char hour[AV_STAMP_LEN];
    av_rc rc;

    av_stamp_format(at - at % 3600000, hour);
    hour[13] = '\0'; /* "YYYY-MM-DDTHH", UTC */
    if (sqlite3_prepare_v2(s->db,
                           "INSERT INTO api_usage (api, hour, requests, weight) "
                           "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (api, hour) DO UPDATE SET "
                           "requests = requests + excluded.requests, "
                           "weight = weight + excluded.weight",
                           -1, &st, NULL) != SQLITE_OK)
        return av_sqlite_err(s, errbuf, "record API usage");
    sq_bind_text(st, 1, api);
    sqlite3_bind_text(st, 2, hour, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, requests);
    sqlite3_bind_double(st, 4, weight);
    rc = av_sqlite_step(s, st, errbuf, "record API usage");
    sqlite3_finalize(st);
    return rc;
}

av_rc av_store_usage_sum(struct av_store *s, const char *api, av_ms since, double *weight,
                         long *requests, char *errbuf)
{
    sqlite3_stmt *st;
    char hour[AV_STAMP_LEN];
    int r;

    *weight = 0;
    if (requests)
        *requests = 0;
    av_stamp_format(since - since % 3600000, hour);
    hour[13] = '\0';
    if (sqlite3_prepare_v2(s->db,
                           "SELECT coalesce(sum(weight), 0), coalesce(sum(requests), 0) "
                           "FROM api_usage WHERE api = ?1 AND hour >= ?2",
                           -1, &st, NULL) != SQLITE_OK)
        return av_sqlite_err(s, errbuf, "read API usage");
    sq_bind_text(st, 1, api);
    sqlite3_bind_text(st, 2, hour, -1, SQLITE_TRANSIENT);
    r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        *weight = sqlite3_column_double(st, 0);
        if (requests)
            *requests = (long)sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    return r == SQLITE_ROW ? AV_OK : av_sqlite_err(s, errbuf, "read API usage");
}

/* ---- names stored once (sqlite_int.h) ---- */

static uint64_t name_hash(const char *v, size_t n)
{
    uint64_t h = 1469598103934665603ULL;

    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)v[i]) * 1099511628211ULL;
    return h;
}

void av_sqlite_names_reset(struct av_store *s)
{
    struct av_names *m = s->names;

    if (m == NULL || m->n == 0)
        return;
    for (int i = 0; i < AV_NAMES_SLOTS; i++) {
        free(m->slot[i].s);
        m->slot[i].s = NULL;
    }
    m->n = 0;
}

void av_sqlite_names_free(struct av_store *s)
{
    if (s->names == NULL)
        return;
    av_sqlite_names_reset(s); /* its statements: finalized with the connection's */
    free(s->names);
    s->names = NULL;
}

/* The id of v in the table, inserted when new. */
static av_rc name_lookup(struct av_store *s, const char *v, size_t n, int64_t *id, char *errbuf)
{
    struct av_names *m = s->names;
    int r;

    sqlite3_bind_text64(m->get, 1, v, n, SQLITE_STATIC, SQLITE_UTF8);
    r = sqlite3_step(m->get);
    if (r == SQLITE_ROW)
        *id = sqlite3_column_int64(m->get, 0);
    sqlite3_reset(m->get);
    if (r == SQLITE_ROW)
        return AV_OK;
    if (r != SQLITE_DONE)
        return av_sqlite_err(s, errbuf, "read names");
    sqlite3_bind_text64(m->ins, 1, v, n, SQLITE_STATIC, SQLITE_UTF8);
    if (av_sqlite_step(s, m->ins, errbuf, "store a name") != AV_OK)
        return AV_EIO;
    *id = sqlite3_last_insert_rowid(s->db);
    return AV_OK;
}

av_rc av_sqlite_name_id(struct av_store *s, const char *v, size_t n, int64_t *id, char *errbuf)
{
    struct av_names *m = s->names;
    size_t i;
    av_rc rc;

    if (m == NULL) {
        if ((m = calloc(1, sizeof(*m))) == NULL)
            return AV_ENOMEM;
        if (sqlite3_prepare_v2(s->db, "SELECT id FROM names WHERE value = ?1", -1, &m->get,
                               NULL) != SQLITE_OK ||
            sqlite3_prepare_v2(s->db, "INSERT INTO names (value) VALUES (?1)", -1, &m->ins,
                               NULL) != SQLITE_OK) {
            rc = av_sqlite_err(s, errbuf, "prepare names");
            sqlite3_finalize(m->get);
            free(m);
            return rc;
        }
        s->names = m;
    }
    i = (size_t)(name_hash(v, n) % AV_NAMES_SLOTS);
    if (n <= AV_NAMES_LEN)
        for (; m->slot[i].s; i = (i + 1) % AV_NAMES_SLOTS)
            if (m->slot[i].len == n && memcmp(m->slot[i].s, v, n) == 0) {
                *id = m->slot[i].id;
                return AV_OK;
            }
    if ((rc = name_lookup(s, v, n, id, errbuf)) != AV_OK)
        return rc;
    if (n <= AV_NAMES_LEN && m->n < AV_NAMES_MAX && (m->slot[i].s = malloc(n + 1)) != NULL) {
        memcpy(m->slot[i].s, v, n);
        m->slot[i].s[n] = '\0';
        m->slot[i].len = n;
        m->slot[i].id = *id;
        m->n++;
    }
    return AV_OK;
}

/* The type of the schema object called name ("table", "view"; "" when none). */
static void object_type(struct av_store *s, const char *name, char out[8])
{
    sqlite3_stmt *st;

    out[0] = '\0';
    if (sqlite3_prepare_v2(s->db, "SELECT type FROM sqlite_master WHERE name = ?1", -1, &st,
                           NULL) != SQLITE_OK)
        return;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        snprintf(out, 8, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
}

/* Whether table's column col is declared INTEGER. */
static int integer_column(struct av_store *s, const char *table, const char *col)
{
    sqlite3_stmt *st;
    int yes = 0;

    if (sqlite3_prepare_v2(s->db, "SELECT type FROM pragma_table_info(?1) WHERE name = ?2", -1,
                           &st, NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, col, -1, SQLITE_STATIC);
    yes = sqlite3_step(st) == SQLITE_ROW &&
          strcmp((const char *)sqlite3_column_text(st, 0), "INTEGER") == 0;
    sqlite3_finalize(st);
    return yes;
}

unsigned av_sqlite_names_split(struct av_store *s)
{
    char base[AV_SQLITE_BASE_LEN], type[8];
    unsigned split = 0;

    for (int d = 0; av_datasets[d]; d++) {
        if (!av_sqlite_has_names(av_datasets[d]))
            continue;
        object_type(s, av_sqlite_base(av_datasets[d], base), type);
        if (strcmp(type, "table") == 0)
            split |= 1u << d;
    }
    return split;
}

/* Whether ds's view is there as this avalanche makes it. */
static int view_current(struct av_store *s, const struct av_dataset *ds)
{
    char *want = av_sqlite_sql_names_view(ds), *from, *end;
    sqlite3_stmt *st;
    int same = 0;

    if (want == NULL)
        return 1; /* out of memory: tried again at the next open */
    from = strstr(want, "CREATE VIEW");
    end = from ? strchr(from, ';') : NULL;
    if (end && sqlite3_prepare_v2(s->db, "SELECT sql FROM sqlite_master WHERE type = 'view' "
                                  "AND name = ?1", -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, ds->table, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) {
            const char *have = (const char *)sqlite3_column_text(st, 0);
            same = have && strlen(have) == (size_t)(end - from) &&
                   memcmp(have, from, (size_t)(end - from)) == 0;
        }
        sqlite3_finalize(st);
    }
    free(want);
    return same;
}

/* Which names of ds are stored as text (lookup[i]) and from where (*src;
 * NULL when ds is stored as described). */
static void names_state(struct av_store *s, const struct av_dataset *ds, char base[],
                        unsigned char *lookup, const char **src)
{
    char type[8];

    *src = NULL;
    if (!av_sqlite_has_names(ds))
        return;
    object_type(s, ds->table, type);
    if (strcmp(type, "table") == 0) { /* stored before names were */
        *src = ds->table;
        for (int i = 0; i < ds->nfields; i++)
            lookup[i] = (ds->fields[i].flags & AV_FF_NAME) != 0;
        return;
    }
    av_sqlite_base(ds, base);
    for (int i = 0; i < ds->nfields; i++) {
        lookup[i] = (ds->fields[i].flags & AV_FF_NAME) && !(ds->fields[i].flags & AV_FF_DERIVED) &&
                    !integer_column(s, base, ds->fields[i].name);
        if (lookup[i])
            *src = base; /* a field newly marked: its texts become ids */
    }
    if (*src == NULL && !view_current(s, ds))
        *src = base; /* the view is missing or older: made again */
}

int av_sqlite_names_current(struct av_store *s)
{
    for (int d = 0; av_datasets[d]; d++) {
        const struct av_dataset *ds = av_datasets[d];
        char base[AV_SQLITE_BASE_LEN];
        unsigned char lookup[64] = {0};
        const char *src;
        if (ds->nfields > 64)
            return 0;
        names_state(s, ds, base, lookup, &src);
        if (src)
            return 0;
    }
    return 1;
}

av_rc av_sqlite_names_upgrade(struct av_store *s, int all, char *errbuf)
{
    av_rc rc = AV_OK;

    for (int d = 0; av_datasets[d] && rc == AV_OK; d++) {
        const struct av_dataset *ds = av_datasets[d];
        char base[AV_SQLITE_BASE_LEN], *sql = NULL;
        unsigned char lookup[64] = {0};
        const char *src;
        int any = 0;
        if (!av_sqlite_has_names(ds) || ds->nfields > 64)
            continue;
        names_state(s, ds, base, lookup, &src);
        for (int i = 0; i < ds->nfields; i++)
            any |= lookup[i];
        if (src && any) {
            if ((sql = av_sqlite_sql_names_convert(ds, src, lookup)) == NULL)
                return AV_ENOMEM;
            rc = av_sqlite_exec(s, sql, errbuf);
            free(sql);
        }
        if (rc == AV_OK && (src || all)) {
            if ((sql = av_sqlite_sql_names_view(ds)) == NULL)
                return AV_ENOMEM;
            rc = av_sqlite_exec(s, sql, errbuf);
            free(sql);
        }
    }
    return rc;
}
