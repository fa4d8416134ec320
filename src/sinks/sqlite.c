/* sqlite.c - the SQLite state store and sink, write side: open, schema
 * migrations, nested transactions, raw responses, rejects, and the sink's
 * put (binds driven by the dataset descriptions), which also keeps the
 * publication history (sqlite_history.c). Fetch state, holes and
 * runs: sqlite_state.c.
 * See store.h and sink.h for the rules; README.md describes the tables. */
#include "sqlite_int.h"

#include "../core/hash.h"
#include "../core/log.h"
#include "../core/pool.h"
#include "raw_codec.h"
#include "record_json.h"

#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

const struct av_opt av_store_opts[] = {
    {"store", "path", AV_OPT_STR, "avalanche.db", 0, 0, NULL, "SQLite database file"},
    {"store", "busy_timeout_ms", AV_OPT_INT, "10000", 0, 600000, NULL,
     "wait this long for a lock held by another process"},
    {"store", "rebuild_batch", AV_OPT_INT, "512", 0, 65536, NULL,
     "rows per table that reprocess writes with one INSERT ... SELECT (0 = one statement "
     "per row, as run does)"},
    {NULL, NULL, 0, NULL, 0, 0, NULL, NULL},
};

/* Whether the database or its WAL is within 64 KiB of RLIMIT_FSIZE (a
 * write past it fails with EFBIG, which SQLite reports as an I/O error;
 * its errno is not reliably kept). */
static int at_size_limit(const char *path)
{
    struct rlimit rl;
    struct stat st;
    char wal[4200];

    if (getrlimit(RLIMIT_FSIZE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
        return 0;
    snprintf(wal, sizeof(wal), "%s-wal", path);
    return (stat(path, &st) == 0 && (rlim_t)st.st_size + 65536 >= rl.rlim_cur) ||
           (stat(wal, &st) == 0 && (rlim_t)st.st_size + 65536 >= rl.rlim_cur);
}

av_rc av_sqlite_err(struct av_store *s, char *errbuf, const char *what)
{
    int code = sqlite3_extended_errcode(s->db);

    if ((code & 0xff) == SQLITE_BUSY || (code & 0xff) == SQLITE_LOCKED)
        return av_fail(errbuf, AV_EIO,
                       "%s: %s is locked by another process (%s); wait for it or raise "
                       "store.busy_timeout_ms",
                       what, s->path, sqlite3_errmsg(s->db));
    if ((code & 0xff) == SQLITE_FULL)
        return av_fail(errbuf, AV_EIO, "%s: disk full writing %s; free space and run again",
                       what, s->path);
    if ((code & 0xff) == SQLITE_IOERR && at_size_limit(s->path))
        return av_fail(errbuf, AV_EIO, "%s: %s reached the file size limit (ulimit -f); raise "
                       "it and run again", what, s->path);
    return av_fail(errbuf, AV_EIO, "%s on %s: %s", what, s->path, sqlite3_errmsg(s->db));
}

static av_rc prep(struct av_store *s, sqlite3_stmt **st, const char *sql, char *errbuf)
{
    if (sql == NULL)
        return av_fail(errbuf, AV_ENOMEM, "out of memory building SQL");
    if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK)
        return av_sqlite_err(s, errbuf, "prepare");
    return AV_OK;
}

/* prep() of generated SQL, which it frees. */
static av_rc prep_owned(struct av_store *s, sqlite3_stmt **st, char *sql, char *errbuf)
{
    av_rc rc = prep(s, st, sql, errbuf);

    free(sql);
    return rc;
}

av_rc av_sqlite_exec(struct av_store *s, const char *sql, char *errbuf)
{
    char *msg = NULL;

    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        sqlite3_free(msg); /* sqlite3_errmsg() says the same */
        return av_sqlite_err(s, errbuf, "write");
    }
    return AV_OK;
}

/* The file's schema version (PRAGMA user_version); AV_EIO when unreadable. */
static av_rc read_version(struct av_store *s, int *version, char *errbuf)
{
    sqlite3_stmt *st;
    av_rc rc = AV_OK;

    if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        return av_sqlite_err(s, errbuf, "read schema version");
    if (sqlite3_step(st) == SQLITE_ROW)
        *version = sqlite3_column_int(st, 0);
    else
        rc = av_sqlite_err(s, errbuf, "read schema version");
    sqlite3_finalize(st);
    return rc;
}

/* The file's page size (4096 when unreadable). */
static int page_size(struct av_store *s)
{
    sqlite3_stmt *st;
    int n = 0;

    if (sqlite3_prepare_v2(s->db, "PRAGMA page_size", -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW)
            n = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
    }
    return n >= 512 ? n : 4096;
}

/* Whether table has column col (a migration that adds one is skipped when
 * a file set back to an older version by hand has it already). */
static int has_column(struct av_store *s, const char *table, const char *col)
{
    sqlite3_stmt *st;
    int found = 0;

    if (sqlite3_prepare_v2(s->db, "SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2", -1,
                           &st, NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, col, -1, SQLITE_STATIC);
    found = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return found;
}

/* Applies the missing migrations inside one write transaction, so two
 * processes opening a new file at once cannot both migrate (the second
 * waits, then finds the schema current). A current file is not locked at
 * all: readers open it while another process writes. A version this
 * avalanche does not know (newer, or negative from a tampered file) is
 * refused before anything is written. */
static av_rc migrate(struct av_store *s, char *errbuf)
{
    int version, from, columns = 0;
    unsigned split;
    av_rc rc;

    if ((rc = read_version(s, &version, errbuf)) != AV_OK)
        return rc;
    if (version == av_sqlite_schema_version() && av_sqlite_names_current(s))
        return AV_OK;
    if ((rc = av_sqlite_exec(s, "BEGIN IMMEDIATE", errbuf)) != AV_OK)
        return rc;
    if ((rc = read_version(s, &version, errbuf)) != AV_OK)
        goto fail;
    from = version;
    if (version > av_sqlite_schema_version() || version < 0) {
        rc = av_fail(errbuf, AV_EIO,
                     version < 0 ? "%s has schema version %d, which no avalanche writes (the "
                                   "file was changed outside avalanche); restore a backup"
                                 : "%s has schema version %d but this avalanche knows only up "
                                   "to %d; use a newer avalanche",
                     s->path, version, av_sqlite_schema_version());
        goto fail;
    }
    split = av_sqlite_names_split(s);
    for (; version < av_sqlite_schema_version(); version++) {
        char sql[64], *gen = av_sqlite_sql_migration(version + 1, split);
        if (gen == NULL) {
            rc = av_fail(errbuf, AV_ENOMEM, "out of memory migrating %s", s->path);
            goto fail;
        }
        if (version + 1 != AV_SQLITE_CODEC_VERSION || !has_column(s, "raw_body", "codec"))
            rc = av_sqlite_exec(s, av_sqlite_state_migration(version + 1), errbuf);
        else
            rc = AV_OK;
        if (rc == AV_OK)
            rc = av_sqlite_exec(s, gen, errbuf);
        if (rc == AV_OK && from > 0) {
            char *fill = av_sqlite_sql_data_migration(version + 1);
            rc = fill ? av_sqlite_exec(s, fill, errbuf)
                      : av_fail(errbuf, AV_ENOMEM, "out of memory migrating %s", s->path);
            free(fill);
        }
        columns |= strstr(gen, "ADD COLUMN") != NULL;
        free(gen);
        if (rc != AV_OK)
            goto fail;
        snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", version + 1);
        rc = av_sqlite_exec(s, sql, errbuf);
        if (rc != AV_OK)
            goto fail;
    }
    /* names stored once (sqlite_int.h): tables of text converted, views */
    if ((rc = av_sqlite_names_upgrade(s, from != version, errbuf)) != AV_OK)
        goto fail;
    rc = av_sqlite_exec(s, "COMMIT", errbuf);
    if (rc == AV_OK && from > 0 && from != version)
        av_info("%s migrated from schema %d to %d%s%s", s->path, from,
                av_sqlite_schema_version(),
                columns ? "; new columns stay empty for warnings stored before: `avalanche "
                          "reprocess` fills them from the raw responses"
                        : "",
                from < 8 ? "; the publication history starts with the warnings stored: "
                           "`avalanche reprocess` adds the earlier publications the raw "
                           "responses hold"
                         : "");
    return rc;
fail:
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

int av_store_schema_version(void)
{
    return av_sqlite_schema_version();
}

static av_rc prepare_all(struct av_store *s, char *errbuf)
{
    av_rc rc = AV_OK;

    if (rc == AV_OK)
        rc = prep(s, &s->ins_raw,
                  "INSERT INTO raw_response (source, endpoint, lang, api_version, url, "
                  "region_id, from_date, to_date, fetched_at, http_status, body, body_id) "
                  "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, X'', ?11)",
                  errbuf);
    if (rc == AV_OK)
        rc = prep(s, &s->body_get, "SELECT id, body, codec, size FROM raw_body WHERE hash = ?1",
                  errbuf);
    if (rc == AV_OK)
        rc = prep(s, &s->body_ins,
                  "INSERT INTO raw_body (hash, size, body, codec) VALUES (?1, ?2, ?3, ?4)", errbuf);
    if (rc == AV_OK)
        rc = prep(s, &s->reject,
                  "INSERT INTO rejected (stage, reason, region_id, lang, raw_id, raw, hash, "
                  "first_seen, last_seen) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8) "
                  "ON CONFLICT (stage, hash) DO UPDATE SET last_seen = excluded.last_seen, "
                  "seen = seen + 1, reason = excluded.reason",
                  errbuf);
    if (rc == AV_OK)
        rc = prep(s, &s->state_get,
                  "SELECT last_date FROM fetch_state WHERE region_id = ?1 AND lang = ?2 "
                  "AND endpoint = ?3",
                  errbuf);
    if (rc == AV_OK)
        rc = prep(s, &s->state_put,
                  "INSERT INTO fetch_state (region_id, lang, endpoint, last_date, last_fetch, "
                  "last_status, last_error) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
                  "ON CONFLICT (region_id, lang, endpoint) DO UPDATE SET "
                  "last_date = CASE WHEN excluded.last_date IS NOT NULL AND "
                  "(last_date IS NULL OR excluded.last_date > last_date) "
                  "THEN excluded.last_date ELSE last_date END, "
                  "last_fetch = excluded.last_fetch, last_status = excluded.last_status, "
                  "last_error = excluded.last_error",
                  errbuf);
    if (rc == AV_OK)
        rc = prep(s, &s->hole_sel,
                  "SELECT from_date, to_date, since FROM fetch_hole WHERE region_id = ?1 "
                  "AND lang = ?2 AND endpoint = ?3 AND to_date >= ?4 AND from_date <= ?5",
                  errbuf);
    if (rc == AV_OK)
        rc = prep(s, &s->hole_del,
                  "DELETE FROM fetch_hole WHERE region_id = ?1 AND lang = ?2 AND "
                  "endpoint = ?3 AND from_date = ?4",
                  errbuf);
    if (rc == AV_OK)
        rc = prep(s, &s->hole_ins,
                  "INSERT INTO fetch_hole (region_id, lang, endpoint, from_date, to_date, "
                  "since) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                  errbuf);
    if (rc == AV_OK)
        rc = prep(s, &s->begin, "BEGIN IMMEDIATE", errbuf);
    if (rc == AV_OK)
        rc = prep(s, &s->commit, "COMMIT", errbuf);
    if (rc == AV_OK)
        rc = prep(s, &s->rollback, "ROLLBACK", errbuf);
    return rc;
}

av_rc av_store_open(struct av_store **out, const char *path, const struct av_conf *conf,
                    char *errbuf)
{
    struct av_store *s;
    long long busy = conf ? av_conf_int(conf, "store.busy_timeout_ms") : 10000LL;
    char pragmas[320];
    av_rc rc;

    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return AV_ENOMEM;
    s->path = strdup(path);
    av_buf_init(&s->zbuf, 0);
    av_buf_init(&s->dbuf, 0);
    s->codec = calloc(1, sizeof(*s->codec));
    if (s->path == NULL || s->codec == NULL) {
        free(s->codec);
        free(s->path);
        free(s);
        return AV_ENOMEM;
    }
    /* One connection per thread of ours: no SQLite mutexes needed. */
    if (sqlite3_open_v2(path, &s->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        rc = av_fail(errbuf, AV_EIO, "cannot open database %s: %s (check the path and its "
                     "directory permissions)",
                     path, s->db ? sqlite3_errmsg(s->db) : "out of memory");
        goto fail;
    }
    /* page_size: new files only (an existing one keeps its own).
     * secure_delete: Debian's libsqlite3 is built with it on, so every page
     * a rebuild frees (all the clean tables') was zeroed and written to the
     * WAL before being written again (10% of reprocess's profile samples in
     * one measurement, 7% of its wall in another; bench/README.md). The file
     * holds public warnings and what we derive from them, nothing to
     * scrub; upstream SQLite's default is off too. */
    snprintf(pragmas, sizeof(pragmas),
             "PRAGMA busy_timeout = %lld; PRAGMA page_size = %d; PRAGMA journal_mode = WAL; "
             "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = OFF; "
             "PRAGMA cache_size = -8192; PRAGMA secure_delete = OFF;",
             busy, AV_SQLITE_PAGE_SIZE);
    /* Switching to WAL takes an exclusive lock for a moment and does not
     * wait on the busy handler: retry while another process holds it. */
    for (int waited = 0;; waited += 50) {
        rc = av_sqlite_exec(s, pragmas, errbuf);
        if (rc == AV_OK || sqlite3_errcode(s->db) != SQLITE_BUSY || waited >= busy)
            break;
        sqlite3_sleep(50);
    }
    if (rc != AV_OK) {
        if (sqlite3_errcode(s->db) == SQLITE_NOTADB)
            rc = av_fail(errbuf, AV_EIO, "%s is not an avalanche database (not SQLite); "
                         "pass another --db", path);
        goto fail;
    }
    /* a checkpoint every 64 MiB of WAL, whatever the file's page size */
    snprintf(pragmas, sizeof(pragmas), "PRAGMA wal_autocheckpoint = %d;",
             (64 << 20) / page_size(s));
    rc = av_sqlite_exec(s, pragmas, errbuf);
    if (rc == AV_OK)
        rc = migrate(s, errbuf);
    if (rc != AV_OK)
        goto fail;
    rc = prepare_all(s, errbuf);
    if (rc != AV_OK)
        goto fail;
    *out = s;
    return AV_OK;
fail:
    av_store_close(s);
    return rc;
}

void av_store_close(struct av_store *s)
{
    if (s == NULL)
        return;
    if (s->tx_depth)
        av_store_rollback(s);
    /* Finalize every statement this connection prepared (a sink's too). */
    if (s->db) {
        sqlite3_stmt *st;
        while ((st = sqlite3_next_stmt(s->db, NULL)) != NULL)
            sqlite3_finalize(st);
        sqlite3_close(s->db);
    }
    av_sqlite_names_free(s);
    av_buf_free(&s->zbuf);
    av_buf_free(&s->dbuf);
    if (s->codec)
        av_raw_codec_free(s->codec);
    free(s->codec);
    free(s->path);
    free(s);
}

av_rc av_sqlite_step(struct av_store *s, sqlite3_stmt *st, char *errbuf, const char *what)
{
    int r = sqlite3_step(st);

    sqlite3_reset(st);
    if (r != SQLITE_DONE && r != SQLITE_ROW)
        return av_sqlite_err(s, errbuf, what);
    return AV_OK;
}

av_rc av_store_begin(struct av_store *s, char *errbuf)
{
    if (s->tx_depth == 0) {
        av_rc rc = av_sqlite_step(s, s->begin, errbuf, "begin transaction");
        av_sqlite_names_reset(s); /* its ids: committed ones only */
        if (rc != AV_OK)
            return rc;
    }
    s->tx_depth++;
    return AV_OK;
}

av_rc av_store_commit(struct av_store *s, char *errbuf)
{
    av_rc rc;

    if (s->tx_depth == 0)
        return av_fail(errbuf, AV_EIO, "commit on %s: the transaction was rolled back",
                       s->path);
    if (s->tx_depth > 1) {
        s->tx_depth--;
        return AV_OK;
    }
    if (s->rebuild && (rc = av_sqlite_bulk_flush(s->rebuild, errbuf)) != AV_OK) {
        av_store_rollback(s);
        return rc;
    }
    rc = av_sqlite_step(s, s->commit, errbuf, "commit");
    if (rc != AV_OK) {
        av_store_rollback(s);
        return rc;
    }
    s->tx_depth = 0;
    if (s->rebuild) /* the rebuild is over, its rows in */
        av_sqlite_bulk_stop(s->rebuild);
    return AV_OK;
}

void av_store_rollback(struct av_store *s)
{
    if (!sqlite3_get_autocommit(s->db))
        av_sqlite_step(s, s->rollback, NULL, "rollback");
    s->tx_depth = 0;
    av_sqlite_names_reset(s); /* it may hold ids rolled back */
    if (s->rebuild) /* its batched rows go with the rest */
        av_sqlite_bulk_stop(s->rebuild);
}

/* ---- the SQLite sink: clean records in the same file ---- */

/* Binds the value at p as parameter i + 1 of x->ins (sq_store_val). */
static av_rc bind_value(struct sqlite_sink *k, struct sq_ds *x, int i, const void *p,
                        char *errbuf)
{
    struct sq_val v;
    av_rc rc = sq_store_val(k, &x->ds->fields[i], p, x->scratch[i], &v, errbuf);

    if (rc == AV_OK)
        sq_bind_val(x->ins, i + 1, &v);
    return rc;
}

/* Binds every field of one record (w: its warning) to x->ins. */
static av_rc bind_record(struct sqlite_sink *k, struct sq_ds *x, const struct av_warning *w,
                         const void *rec, char *errbuf)
{
    const struct av_field *f = x->ds->fields;
    av_rc rc = AV_OK;

    for (int i = 0; i < x->ds->nfields && rc == AV_OK; i++, f++)
        rc = bind_value(k, x, i, av_field_ptr(f, w, rec), errbuf);
    return rc;
}

static av_rc sink_put(void *impl, const struct av_warning *w, int *changed, char *errbuf)
{
    struct sqlite_sink *k = impl;
    struct av_store *s = k->st;
    int fresh;
    av_rc rc;

    if (av_sqlite_bulk_put(k, w, changed, &rc, errbuf) || rc != AV_OK)
        return rc; /* a rebuild's new key, batched (sqlite_bulk.c) */
    if ((rc = av_sqlite_put_version(k, w, errbuf)) != AV_OK) /* sqlite_history.c */
        return rc;
    if ((rc = bind_record(k, &k->ds[0], w, w, errbuf)) != AV_OK)
        return rc;
    /* The upsert sets the last rowid only when it inserts (an UPDATE
     * leaves it), and never to INT64_MIN (new rowids are max + 1, or
     * random positive ones at the limit). Comparing with the rowid from
     * before the step instead took an insert for a replacement whenever
     * the history row just stored had the same rowid, which a rebuild
     * makes the rule: three needless child DELETEs per warning. */
    sqlite3_set_last_insert_rowid(s->db, INT64_MIN);
    rc = av_sqlite_step(s, k->ds[0].ins, errbuf, "store warning");
    if (rc != AV_OK)
        return rc;
    *changed = sqlite3_changes(s->db) > 0;
    if (!*changed)
        return AV_OK;
    /* A fresh insert: no old children to remove. */
    fresh = sqlite3_last_insert_rowid(s->db) != INT64_MIN;
    for (int d = 1; d < SQ_NDS; d++) {
        struct sq_ds *x = &k->ds[d];
        if (!fresh) {
            sq_bind_parent_key(k, x, x->del, w);
            rc = av_sqlite_step(s, x->del, errbuf, "replace warning children");
            if (rc != AV_OK)
                return rc;
        }
        for (int r = 0; r < av_ds_count(x->ds, w); r++) {
            rc = bind_record(k, x, w, av_ds_record(x->ds, w, r), errbuf);
            if (rc == AV_OK)
                rc = av_sqlite_step(s, x->ins, errbuf, "store warning children");
            if (rc != AV_OK)
                return rc;
        }
    }
    return AV_OK;
}

/* Flat datasets: each record by its key under the dataset's rule (the
 * statement generated from the description). */
static av_rc sink_put_rows(void *impl, const struct av_dataset *ds, const void *recs, size_t n,
                           char *errbuf)
{
    struct sqlite_sink *k = impl;
    struct sq_ds *x = NULL;

    for (int d = SQ_NDS; d < SQ_NFLAT; d++)
        if (k->ds[d].ds == ds)
            x = &k->ds[d];
    if (x == NULL)
        return av_fail(errbuf, AV_EINVAL, "the sqlite sink has no flat dataset %s", ds->name);
    if (av_sqlite_bulk_flush(k, errbuf) != AV_OK)
        return AV_EIO;
    for (size_t r = 0; r < n; r++) {
        const void *rec = (const char *)recs + r * ds->elem_size;
        av_rc rc = AV_OK;
        for (int i = 0; i < ds->nfields && rc == AV_OK; i++)
            rc = bind_value(k, x, i, (const char *)rec + ds->fields[i].off, errbuf);
        if (rc == AV_OK)
            rc = av_sqlite_step(k->st, x->ins, errbuf, ds->table);
        if (rc != AV_OK)
            return rc;
    }
    return AV_OK;
}

static void sink_close(void *impl)
{
    struct sqlite_sink *k = impl;

    if (k == NULL)
        return;
    av_sqlite_bulk_free(k);
    for (int d = 0; d < SQ_NALL; d++) {
        sqlite3_finalize(k->ds[d].ins);
        sqlite3_finalize(k->ds[d].del);
        sqlite3_finalize(k->ds[d].sel);
        free(k->ds[d].scratch);
    }
    sqlite3_finalize(k->cur);
    sqlite3_finalize(k->fill);
    sqlite3_finalize(k->rec);
    sqlite3_finalize(k->wsel);
    av_buf_free(&k->json);
    av_json_free(&k->doc);
    free(k->old);
    free(k);
}

static av_rc sink_open(void **out, const struct av_sink_env *env, char *errbuf)
{
    struct sqlite_sink *k;
    av_rc rc = AV_OK;

    if (env->store == NULL)
        return av_fail(errbuf, AV_EINVAL, "the sqlite sink needs the state store");
    k = calloc(1, sizeof(*k));
    if (k == NULL)
        return AV_ENOMEM;
    k->st = env->store;
    k->bulk_rows = env->conf ? (int)av_conf_int(env->conf, "store.rebuild_batch") : 512;
    for (int d = 0; d < SQ_NALL && rc == AV_OK; d++) {
        struct sq_ds *x = &k->ds[d];
        x->ds = av_datasets[d];
        x->scratch = calloc((size_t)x->ds->nfields, sizeof(*x->scratch));
        if (x->scratch == NULL) {
            rc = AV_ENOMEM;
            break;
        }
        rc = prep_owned(k->st, &x->ins, av_sqlite_sql_insert(x->ds), errbuf);
        if (rc == AV_OK && x->ds->parent)
            rc = prep_owned(k->st, &x->del, av_sqlite_sql_delete(x->ds), errbuf);
        if (rc == AV_OK && x->ds->parent)
            rc = prep_owned(k->st, &x->sel, av_sqlite_sql_select_children(x->ds), errbuf);
    }
    av_buf_init(&k->json, 0);
    av_json_init(&k->doc, 0, 0);
    k->old = malloc(sizeof(*k->old));
    if (rc == AV_OK && k->old == NULL)
        rc = AV_ENOMEM;
    if (rc == AV_OK)
        rc = prep_owned(k->st, &k->cur, av_sqlite_sql_stored_pub(), errbuf);
    if (rc == AV_OK)
        rc = prep_owned(k->st, &k->fill, av_sqlite_sql_version_record(1), errbuf);
    if (rc == AV_OK)
        rc = prep_owned(k->st, &k->rec, av_sqlite_sql_version_record(0), errbuf);
    if (rc == AV_OK)
        rc = prep_owned(k->st, &k->wsel, av_sqlite_sql_select_current(), errbuf);
    if (rc != AV_OK) {
        sink_close(k);
        return rc;
    }
    *out = k;
    return AV_OK;
}

static av_rc sink_begin(void *impl, char *errbuf)
{
    return av_store_begin(((struct sqlite_sink *)impl)->st, errbuf);
}

static av_rc sink_commit(void *impl, char *errbuf)
{
    return av_store_commit(((struct sqlite_sink *)impl)->st, errbuf);
}

static void sink_rollback(void *impl)
{
    av_store_rollback(((struct sqlite_sink *)impl)->st);
}

static av_rc sink_clear(void *impl, char *errbuf)
{
    struct av_store *s = ((struct sqlite_sink *)impl)->st;
    char *sql = av_sqlite_sql_clear();
    av_rc rc;

    if (sql == NULL)
        return AV_ENOMEM;
    rc = av_sqlite_exec(s, sql, errbuf);
    free(sql);
    if (rc == AV_OK) /* inside the rebuild's transaction: every key is new now */
        rc = av_sqlite_bulk_start((struct sqlite_sink *)impl, errbuf);
    return rc;
}

const struct av_sink_ops av_sink_sqlite = {
    .name = "sqlite",
    .parts = AV_PART_WARNINGS | AV_PART_WX_HOURLY | AV_PART_WX_DAILY | AV_PART_VERSIONS,
    .open = sink_open,
    .begin = sink_begin,
    .put = sink_put,
    .commit = sink_commit,
    .rollback = sink_rollback,
    .clear = sink_clear,
    .read = av_sqlite_sink_read,
    .put_rows = sink_put_rows,
    .read_rows = av_sqlite_sink_read_rows,
    .count = av_sqlite_sink_count,
    .read_versions = av_sqlite_sink_read_versions,
    .load_version = av_sqlite_sink_load_version,
    .close = sink_close,
};

/* ---- the state tables ---- */

static long long next_body_id(struct av_store *s)
{
    sqlite3_stmt *st;
    long long id = 1;

    if (sqlite3_prepare_v2(s->db, "SELECT coalesce(max(id), 0) + 1 FROM raw_body", -1, &st,
                           NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW)
            id = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    return id;
}

/* The raw_body row holding exactly body: an existing one (same key and
 * the same bytes once decoded) or a new one, stored as a zstd frame
 * (codec 1, raw_codec.h; its size column is the body's own size). Keys are "<hash>-<size>[.k]", the hash
 * over the body's ends (av_hash_ends_hex): k counts different bodies that
 * share a key (same size, same first and last 8 KiB). Past 8 of them the
 * body is stored under a key of its own, not deduplicated: bounded work
 * per body whatever a server sends. */
static av_rc body_id(struct av_store *s, const char *body, size_t len, int64_t *id,
                     char *errbuf)
{
    char hash[17], key[64];
    sqlite3_stmt *st = s->body_get;
    av_rc rc = AV_OK;

    av_hash_ends_hex(body, len, hash);
    for (int k = 0; k <= 8; k++) {
        int r, same;
        if (k == 0)
            snprintf(key, sizeof(key), "%s-%zu", hash, len);
        else if (k < 8)
            snprintf(key, sizeof(key), "%s-%zu.%d", hash, len, k);
        else /* unique: the id the row will get (ids only grow, no row is deleted) */
            snprintf(key, sizeof(key), "%s-%zu.r%lld", hash, len, next_body_id(s));
        sq_bind_text(st, 1, key);
        r = sqlite3_step(st);
        if (r == SQLITE_DONE) {
            sqlite3_reset(st);
            if ((rc = av_raw_encode(s->codec, body, len, &s->zbuf, errbuf)) != AV_OK)
                return rc;
            st = s->body_ins;
            sq_bind_text(st, 1, key);
            sqlite3_bind_int64(st, 2, (sqlite3_int64)len);
            sqlite3_bind_blob64(st, 3, s->zbuf.data, s->zbuf.len, SQLITE_STATIC);
            sqlite3_bind_int(st, 4, AV_CODEC_ZSTD);
            rc = av_sqlite_step(s, st, errbuf, "store raw response");
            sqlite3_clear_bindings(st);
            if (rc == AV_OK)
                *id = sqlite3_last_insert_rowid(s->db);
            return rc;
        }
        if (r != SQLITE_ROW) {
            rc = av_sqlite_err(s, errbuf, "read raw bodies");
            sqlite3_reset(st);
            return rc;
        }
        same = (size_t)sqlite3_column_int64(st, 3) == len &&
               av_raw_decode(s->codec, sqlite3_column_int(st, 2), sqlite3_column_blob(st, 1),
                             (size_t)sqlite3_column_bytes(st, 1), len, &s->dbuf, NULL) == AV_OK &&
               (len == 0 || memcmp(s->dbuf.data, body, len) == 0);
        *id = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
        if (same)
            return AV_OK;
    }
    return av_fail(errbuf, AV_EIO, "%s: raw body key %s is taken (changed outside "
                   "avalanche?)", s->path, key);
}

av_rc av_store_raw_put(struct av_store *s, const struct av_raw_meta *m, const char *body,
                       size_t len, int64_t *raw_id, char *errbuf)
{
    sqlite3_stmt *st = s->ins_raw;
    int64_t bid = 0;
    av_rc rc = body_id(s, body ? body : "", body ? len : 0, &bid, errbuf);

    if (rc != AV_OK)
        return rc;

    sq_bind_text(st, 1, m->source);
    sq_bind_text(st, 2, m->endpoint);
    sq_bind_int(st, 3, m->lang);
    sq_bind_text(st, 4, m->api_version);
    sq_bind_text(st, 5, m->url);
    sq_bind_int(st, 6, m->region_id);
    if (m->from_date != INT64_MIN)
        sq_bind_date(st, 7, m->from_date);
    else
        sqlite3_bind_null(st, 7);
    if (m->to_date != INT64_MIN)
        sq_bind_date(st, 8, m->to_date);
    else
        sqlite3_bind_null(st, 8);
    sq_bind_ms(st, 9, m->fetched_at);
    sqlite3_bind_int(st, 10, m->http_status);
    sqlite3_bind_int64(st, 11, bid);
    rc = av_sqlite_step(s, st, errbuf, "store raw response");
    sqlite3_clear_bindings(st);
    if (rc == AV_OK && raw_id)
        *raw_id = sqlite3_last_insert_rowid(s->db);
    return rc;
}

av_rc av_store_reject(struct av_store *s, const char *stage, const char *reason,
                      int region_id, int lang, const char *raw, size_t len, int64_t raw_id,
                      av_ms now, char *errbuf)
{
    sqlite3_stmt *st = s->reject;
    char hash[17];

    av_hash_hex(raw ? raw : "", raw ? len : 0, hash);
    /* the whole input is in raw_body (raw_id): keep only its head here */
    if (raw && raw_id > 0 && len > AV_REJECT_RAW_MAX) {
        len = AV_REJECT_RAW_MAX;
        while (len > 0 && ((unsigned char)raw[len] & 0xC0) == 0x80)
            len--; /* not in the middle of a UTF-8 sequence */
    }
    sq_bind_text(st, 1, stage);
    sq_bind_text(st, 2, reason);
    sq_bind_int(st, 3, region_id > 0 ? region_id : AV_NULL_INT);
    sq_bind_int(st, 4, lang > 0 ? lang : AV_NULL_INT);
    sq_bind_int(st, 5, raw_id > 0 ? raw_id : AV_NULL_INT);
    if (raw)
        sqlite3_bind_text64(st, 6, raw, len, SQLITE_STATIC, SQLITE_UTF8);
    else
        sqlite3_bind_null(st, 6);
    sq_bind_text(st, 7, hash);
    sq_bind_ms(st, 8, now);
    return av_sqlite_step(s, st, errbuf, "record rejected input");
}
