/* sqlite.c - the embedded store, write side: open, schema migrations,
 * transactions, raw responses, upserts, rejects, fetch state and runs.
 * See store.h for the rules; README.md describes the tables. */
#include "sqlite_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const struct av_opt av_store_opts[] = {
    {"store", "path", AV_OPT_STR, "avalanche.db", 0, 0, NULL, "SQLite database file"},
    {"store", "busy_timeout_ms", AV_OPT_INT, "10000", 0, 600000, NULL,
     "wait this long for a lock held by another process"},
    {"store", "sink", AV_OPT_ENUM, "sqlite", 0, 0, "sqlite|cassandra",
     "where clean warnings go (raw, rejects, state and runs stay in store.path)"},
    {NULL, NULL, 0, NULL, 0, 0, NULL, NULL},
};

const char *const av_warning_cols[AV_WARNING_NCOLS] = {
    "region_id", "valid_date", "lang", "reg_id", "previous_reg_id", "region_name",
    "region_type", "danger_level", "danger_level_name", "valid_from", "valid_to",
    "publish_time", "next_warning_time", "danger_increase_time", "danger_decrease_time",
    "main_text", "avalanche_danger", "emergency_warning", "snow_surface",
    "current_weak_layers", "latest_avalanche_activity", "latest_observations", "author",
    "is_tendency", "utm_zone", "utm_east", "utm_north", "county_ids", "municipality_ids",
    "endpoint", "raw_hash", "raw_id", "ingested_at",
};

const char *const av_problem_cols[AV_PROBLEM_NCOLS] = {
    "region_id", "valid_date", "lang", "problem_id", "problem_type_id", "problem_type_name",
    "avalanche_type_id", "avalanche_type_name", "ext_id", "ext_name", "cause_id",
    "cause_name", "probability_id", "probability_name", "trigger_simple_id",
    "trigger_simple_name", "trigger_sensitivity_id", "trigger_sensitivity_name",
    "destructive_size_id", "destructive_size_name", "propagation_id", "propagation_name",
    "aspects_raw", "aspects", "exposed_height_fill", "exposed_height_1", "exposed_height_2",
    "exposed_min_m", "exposed_max_m", "exposed_heights", "danger_level",
    "danger_level_name", "text",
};

/* Schema migrations: entry k moves user_version k -> k+1. Append only. */
static const char *const migrations[] = {
    /* 0 -> 1 */
    "CREATE TABLE raw_response ("
    "  id INTEGER PRIMARY KEY,"
    "  source TEXT NOT NULL, endpoint TEXT NOT NULL, lang INTEGER, api_version TEXT,"
    "  url TEXT NOT NULL, region_id INTEGER, from_date TEXT, to_date TEXT,"
    "  fetched_at TEXT NOT NULL, http_status INTEGER, body BLOB NOT NULL);"
    "CREATE TABLE warning ("
    "  region_id INTEGER NOT NULL, valid_date TEXT NOT NULL, lang INTEGER NOT NULL,"
    "  reg_id INTEGER, previous_reg_id INTEGER, region_name TEXT, region_type TEXT,"
    "  danger_level INTEGER NOT NULL CHECK (danger_level BETWEEN 0 AND 5),"
    "  danger_level_name TEXT, valid_from TEXT NOT NULL, valid_to TEXT, publish_time TEXT,"
    "  next_warning_time TEXT, danger_increase_time TEXT, danger_decrease_time TEXT,"
    "  main_text TEXT, avalanche_danger TEXT, emergency_warning TEXT, snow_surface TEXT,"
    "  current_weak_layers TEXT, latest_avalanche_activity TEXT, latest_observations TEXT,"
    "  author TEXT, is_tendency INTEGER, utm_zone INTEGER, utm_east INTEGER,"
    "  utm_north INTEGER, county_ids TEXT, municipality_ids TEXT,"
    "  endpoint TEXT NOT NULL, raw_hash TEXT, raw_id INTEGER, ingested_at TEXT NOT NULL,"
    "  PRIMARY KEY (region_id, valid_date, lang));"
    "CREATE TABLE problem ("
    "  region_id INTEGER NOT NULL, valid_date TEXT NOT NULL, lang INTEGER NOT NULL,"
    "  problem_id INTEGER NOT NULL, problem_type_id INTEGER, problem_type_name TEXT,"
    "  avalanche_type_id INTEGER, avalanche_type_name TEXT, ext_id INTEGER, ext_name TEXT,"
    "  cause_id INTEGER, cause_name TEXT, probability_id INTEGER, probability_name TEXT,"
    "  trigger_simple_id INTEGER, trigger_simple_name TEXT, trigger_sensitivity_id INTEGER,"
    "  trigger_sensitivity_name TEXT, destructive_size_id INTEGER,"
    "  destructive_size_name TEXT, propagation_id INTEGER, propagation_name TEXT,"
    "  aspects_raw TEXT, aspects TEXT, exposed_height_fill INTEGER,"
    "  exposed_height_1 INTEGER, exposed_height_2 INTEGER, exposed_min_m INTEGER,"
    "  exposed_max_m INTEGER, exposed_heights TEXT, danger_level INTEGER,"
    "  danger_level_name TEXT, text TEXT,"
    "  PRIMARY KEY (region_id, valid_date, lang, problem_id)) WITHOUT ROWID;"
    "CREATE TABLE advice ("
    "  region_id INTEGER NOT NULL, valid_date TEXT NOT NULL, lang INTEGER NOT NULL,"
    "  advice_id INTEGER NOT NULL, image_url TEXT, text TEXT,"
    "  PRIMARY KEY (region_id, valid_date, lang, advice_id)) WITHOUT ROWID;"
    "CREATE TABLE mountain_weather ("
    "  region_id INTEGER NOT NULL, valid_date TEXT NOT NULL, lang INTEGER NOT NULL,"
    "  last_saved TEXT, cloud_cover_id INTEGER, cloud_cover_name TEXT, comment TEXT,"
    "  texts TEXT,"
    "  rain_most_exposed_mm NUMERIC, rain_average_mm NUMERIC, wind_speed NUMERIC,"
    "  wind_direction NUMERIC, wind_shift_speed NUMERIC, wind_shift_direction NUMERIC,"
    "  wind_shift_start_hour NUMERIC, wind_shift_end_hour NUMERIC,"
    "  temperature_min_c NUMERIC, temperature_max_c NUMERIC, temperature_masl NUMERIC,"
    "  freezing_level_masl NUMERIC, freezing_level_start_hour NUMERIC,"
    "  freezing_level_end_hour NUMERIC, rain_snow_line_masl NUMERIC,"
    "  rain_snow_line_start_hour NUMERIC, rain_snow_line_end_hour NUMERIC,"
    "  other TEXT,"
    "  PRIMARY KEY (region_id, valid_date, lang));"
    "CREATE TABLE rejected ("
    "  id INTEGER PRIMARY KEY, stage TEXT NOT NULL, reason TEXT NOT NULL,"
    "  region_id INTEGER, lang INTEGER, raw_id INTEGER, raw TEXT, hash TEXT NOT NULL,"
    "  first_seen TEXT NOT NULL, last_seen TEXT NOT NULL, seen INTEGER NOT NULL DEFAULT 1,"
    "  UNIQUE (stage, hash));"
    "CREATE TABLE fetch_state ("
    "  region_id INTEGER NOT NULL, lang INTEGER NOT NULL, endpoint TEXT NOT NULL,"
    "  last_date TEXT, last_fetch TEXT, last_status TEXT, last_error TEXT,"
    "  PRIMARY KEY (region_id, lang, endpoint));"
    "CREATE TABLE run ("
    "  id INTEGER PRIMARY KEY, kind TEXT NOT NULL, args TEXT, pid INTEGER,"
    "  started_at TEXT NOT NULL,"
    "  ended_at TEXT, status TEXT NOT NULL, units_total INTEGER DEFAULT 0,"
    "  units_ok INTEGER DEFAULT 0, units_rejected INTEGER DEFAULT 0,"
    "  units_failed INTEGER DEFAULT 0, warnings_stored INTEGER DEFAULT 0,"
    "  warnings_unchanged INTEGER DEFAULT 0, warnings_rejected INTEGER DEFAULT 0,"
    "  error TEXT);",
    /* 1 -> 2: per-region counts of each run */
    "CREATE TABLE run_region ("
    "  run_id INTEGER NOT NULL, region_id INTEGER NOT NULL,"
    "  units_ok INTEGER NOT NULL, units_rejected INTEGER NOT NULL,"
    "  units_failed INTEGER NOT NULL, warnings_stored INTEGER NOT NULL,"
    "  warnings_unchanged INTEGER NOT NULL, warnings_rejected INTEGER NOT NULL,"
    "  error TEXT, PRIMARY KEY (run_id, region_id)) WITHOUT ROWID;",
    /* 2 -> 3: HTTP requests and retries of each run (for /metrics) */
    "ALTER TABLE run ADD COLUMN requests INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE run ADD COLUMN retries INTEGER NOT NULL DEFAULT 0;",
};

#define NMIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

av_rc av_sqlite_err(struct av_store *s, char *errbuf, const char *what)
{
    int code = sqlite3_errcode(s->db);

    if (code == SQLITE_BUSY || code == SQLITE_LOCKED)
        return av_fail(errbuf, AV_EIO,
                       "%s: %s is locked by another process (%s); wait for it or raise "
                       "store.busy_timeout_ms",
                       what, s->path, sqlite3_errmsg(s->db));
    if (code == SQLITE_FULL)
        return av_fail(errbuf, AV_EIO, "%s: disk full writing %s; free space and run again",
                       what, s->path);
    return av_fail(errbuf, AV_EIO, "%s on %s: %s", what, s->path, sqlite3_errmsg(s->db));
}

static av_rc prep(struct av_store *s, sqlite3_stmt **st, const char *sql, char *errbuf)
{
    if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK)
        return av_sqlite_err(s, errbuf, "prepare");
    return AV_OK;
}

static av_rc exec(struct av_store *s, const char *sql, char *errbuf)
{
    char *msg = NULL;

    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        av_rc rc = av_fail(errbuf, AV_EIO, "%s: %s", s->path, msg ? msg : "error");
        sqlite3_free(msg);
        return rc;
    }
    return AV_OK;
}

/* Reads user_version and applies the missing migrations, all inside one
 * write transaction, so two processes opening a new file at once cannot
 * both migrate (the second waits, then finds the schema current). */
static av_rc migrate(struct av_store *s, char *errbuf)
{
    sqlite3_stmt *st;
    int version;
    av_rc rc;

    rc = exec(s, "BEGIN IMMEDIATE", errbuf);
    if (rc != AV_OK)
        return rc;
    if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK) {
        rc = av_sqlite_err(s, errbuf, "read schema version");
        goto fail;
    }
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        rc = av_sqlite_err(s, errbuf, "read schema version");
        goto fail;
    }
    version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (version > NMIGRATIONS) {
        rc = av_fail(errbuf, AV_EIO,
                     "%s has schema version %d but this avalanche knows only up to %d; "
                     "use a newer avalanche",
                     s->path, version, NMIGRATIONS);
        goto fail;
    }
    for (; version < NMIGRATIONS; version++) {
        char sql[64];
        rc = exec(s, migrations[version], errbuf);
        if (rc != AV_OK)
            goto fail;
        snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", version + 1);
        rc = exec(s, sql, errbuf);
        if (rc != AV_OK)
            goto fail;
    }
    return exec(s, "COMMIT", errbuf);
fail:
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

static char *upsert_sql(void)
{
    struct av_buf b;
    int i;

    av_buf_init(&b, 0);
    av_buf_puts(&b, "INSERT INTO warning (");
    for (i = 0; i < AV_WARNING_NCOLS; i++)
        av_buf_printf(&b, "%s%s", i ? "," : "", av_warning_cols[i]);
    av_buf_puts(&b, ") VALUES (");
    for (i = 0; i < AV_WARNING_NCOLS; i++)
        av_buf_printf(&b, "%s?%d", i ? "," : "", i + 1);
    av_buf_puts(&b, ") ON CONFLICT (region_id, valid_date, lang) DO UPDATE SET ");
    for (i = 3; i < AV_WARNING_NCOLS; i++)
        av_buf_printf(&b, "%s%s = excluded.%s", i > 3 ? "," : "", av_warning_cols[i],
                      av_warning_cols[i]);
    /* Latest publication wins; a Simple never replaces the same Detail;
     * an identical record is left alone (so replays change nothing). */
    av_buf_puts(&b,
                " WHERE excluded.raw_hash IS NOT warning.raw_hash AND ("
                "coalesce(excluded.publish_time, '') > coalesce(warning.publish_time, '')"
                " OR (coalesce(excluded.publish_time, '') = coalesce(warning.publish_time, '')"
                " AND NOT (excluded.endpoint = 'simple' AND warning.endpoint = 'detail')))");
    return b.data;
}

static char *insert_sql(const char *table, const char *const *cols, int n)
{
    struct av_buf b;

    av_buf_init(&b, 0);
    av_buf_printf(&b, "INSERT OR REPLACE INTO %s (", table);
    for (int i = 0; i < n; i++)
        av_buf_printf(&b, "%s%s", i ? "," : "", cols[i]);
    av_buf_puts(&b, ") VALUES (");
    for (int i = 0; i < n; i++)
        av_buf_printf(&b, "%s?%d", i ? "," : "", i + 1);
    av_buf_puts(&b, ")");
    return b.data;
}

static av_rc prepare_all(struct av_store *s, char *errbuf)
{
    static const char *const adv_cols[] = {"region_id", "valid_date", "lang", "advice_id",
                                           "image_url", "text"};
    const char *mw_cols[8 + AV_WEATHER_NCOLS + 1] = {
        "region_id", "valid_date", "lang", "last_saved", "cloud_cover_id",
        "cloud_cover_name", "comment", "texts"};
    char *sql;
    av_rc rc;

    for (int i = 0; i < AV_WEATHER_NCOLS; i++)
        mw_cols[8 + i] = av_weather_cols[i].column;
    mw_cols[8 + AV_WEATHER_NCOLS] = "other";

#define PREP(st, q)                                                                      \
    do {                                                                                 \
        rc = prep(s, &s->st, q, errbuf);                                                 \
        if (rc != AV_OK)                                                                 \
            return rc;                                                                   \
    } while (0)
#define PREP_OWNED(st, q)                                                                \
    do {                                                                                 \
        sql = (q);                                                                       \
        if (sql == NULL)                                                                 \
            return AV_ENOMEM;                                                            \
        rc = prep(s, &s->st, sql, errbuf);                                               \
        free(sql);                                                                       \
        if (rc != AV_OK)                                                                 \
            return rc;                                                                   \
    } while (0)

    PREP_OWNED(upsert, upsert_sql());
    PREP_OWNED(ins_problem, insert_sql("problem", av_problem_cols, AV_PROBLEM_NCOLS));
    PREP_OWNED(ins_advice, insert_sql("advice", adv_cols, 6));
    PREP_OWNED(ins_weather, insert_sql("mountain_weather", mw_cols, 8 + AV_WEATHER_NCOLS + 1));
    PREP(del_problems, "DELETE FROM problem WHERE region_id = ?1 AND valid_date = ?2 AND lang = ?3");
    PREP(del_advices, "DELETE FROM advice WHERE region_id = ?1 AND valid_date = ?2 AND lang = ?3");
    PREP(del_weather,
         "DELETE FROM mountain_weather WHERE region_id = ?1 AND valid_date = ?2 AND lang = ?3");
    PREP(ins_raw, "INSERT INTO raw_response (source, endpoint, lang, api_version, url, "
                  "region_id, from_date, to_date, fetched_at, http_status, body) "
                  "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
    PREP(reject, "INSERT INTO rejected (stage, reason, region_id, lang, raw_id, raw, hash, "
                 "first_seen, last_seen) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8) "
                 "ON CONFLICT (stage, hash) DO UPDATE SET last_seen = excluded.last_seen, "
                 "seen = seen + 1, reason = excluded.reason");
    PREP(state_get, "SELECT last_date FROM fetch_state WHERE region_id = ?1 AND lang = ?2 "
                    "AND endpoint = ?3");
    PREP(state_put,
         "INSERT INTO fetch_state (region_id, lang, endpoint, last_date, last_fetch, "
         "last_status, last_error) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
         "ON CONFLICT (region_id, lang, endpoint) DO UPDATE SET "
         "last_date = CASE WHEN excluded.last_date IS NOT NULL AND "
         "(last_date IS NULL OR excluded.last_date > last_date) "
         "THEN excluded.last_date ELSE last_date END, "
         "last_fetch = excluded.last_fetch, last_status = excluded.last_status, "
         "last_error = excluded.last_error");
    PREP(begin, "BEGIN IMMEDIATE");
    PREP(commit, "COMMIT");
    PREP(rollback, "ROLLBACK");
    PREP(sel_problems, "SELECT * FROM problem WHERE region_id = ?1 AND valid_date = ?2 "
                       "AND lang = ?3 ORDER BY problem_id");
#undef PREP
#undef PREP_OWNED
    return AV_OK;
}

av_rc av_store_open(struct av_store **out, const char *path, const struct av_conf *conf,
                    char *errbuf)
{
    struct av_store *s;
    char pragmas[320];
    av_rc rc;

    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return AV_ENOMEM;
    s->path = strdup(path);
    if (s->path == NULL) {
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
    snprintf(pragmas, sizeof(pragmas),
             "PRAGMA busy_timeout = %lld; PRAGMA journal_mode = WAL; "
             "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = OFF; "
             "PRAGMA cache_size = -8192; PRAGMA wal_autocheckpoint = 16384;",
             conf ? av_conf_int(conf, "store.busy_timeout_ms") : 10000LL);
    /* Switching to WAL takes an exclusive lock for a moment and does not
     * wait on the busy handler: retry while another process holds it. */
    for (int waited = 0;; waited += 50) {
        rc = exec(s, pragmas, errbuf);
        if (rc == AV_OK || sqlite3_errcode(s->db) != SQLITE_BUSY ||
            waited >= (conf ? av_conf_int(conf, "store.busy_timeout_ms") : 10000LL))
            break;
        sqlite3_sleep(50);
    }
    if (rc != AV_OK) {
        if (sqlite3_errcode(s->db) == SQLITE_NOTADB)
            rc = av_fail(errbuf, AV_EIO, "%s is not an avalanche database (not SQLite); "
                         "pass another --db", path);
        goto fail;
    }
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
    if (s->in_tx)
        av_store_rollback(s);
    /* Finalize every statement this connection prepared. */
    if (s->db) {
        sqlite3_stmt *st;
        while ((st = sqlite3_next_stmt(s->db, NULL)) != NULL)
            sqlite3_finalize(st);
        sqlite3_close(s->db);
    }
    free(s->path);
    free(s);
}

static av_rc step_done(struct av_store *s, sqlite3_stmt *st, char *errbuf, const char *what)
{
    int r = sqlite3_step(st);

    sqlite3_reset(st);
    if (r != SQLITE_DONE && r != SQLITE_ROW)
        return av_sqlite_err(s, errbuf, what);
    return AV_OK;
}

av_rc av_store_begin(struct av_store *s, char *errbuf)
{
    av_rc rc = step_done(s, s->begin, errbuf, "begin transaction");

    if (rc == AV_OK)
        s->in_tx = 1;
    return rc;
}

av_rc av_store_commit(struct av_store *s, char *errbuf)
{
    av_rc rc = step_done(s, s->commit, errbuf, "commit");

    if (rc == AV_OK)
        s->in_tx = 0;
    return rc;
}

void av_store_rollback(struct av_store *s)
{
    if (!sqlite3_get_autocommit(s->db))
        step_done(s, s->rollback, NULL, "rollback");
    s->in_tx = 0;
}

/* ---- binding helpers ---- */

static void bind_int(sqlite3_stmt *st, int i, int64_t v)
{
    if (v == AV_NULL_INT)
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_int64(st, i, v);
}

/* Text binds are SQLITE_STATIC: every caller keeps the string alive until
 * the statement has been stepped and reset, and rebinds every parameter
 * before the next step (this saves a copy per value on the hot path). */
static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
    if (v == NULL)
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
}

/* b must outlive the step (see bind_text). */
static void bind_ms_buf(sqlite3_stmt *st, int i, av_ms t, char b[AV_STAMP_LEN])
{
    if (t == AV_NULL_MS) {
        sqlite3_bind_null(st, i);
        return;
    }
    av_stamp_format(t, b);
    sqlite3_bind_text(st, i, b, AV_STAMP_LEN - 1, SQLITE_STATIC);
}

static void bind_ms(sqlite3_stmt *st, int i, av_ms t)
{
    char b[AV_STAMP_LEN];

    if (t == AV_NULL_MS) {
        sqlite3_bind_null(st, i);
        return;
    }
    av_stamp_format(t, b);
    sqlite3_bind_text(st, i, b, -1, SQLITE_TRANSIENT);
}

static void bind_date(sqlite3_stmt *st, int i, int64_t days)
{
    char b[AV_DATE_LEN];

    av_date_format(days, b);
    sqlite3_bind_text(st, i, b, 10, SQLITE_TRANSIENT);
}

/* The key's date text lives in the store (one warning at a time). */
static void bind_key(struct av_store *s, sqlite3_stmt *st, const struct av_warning *w)
{
    if (s->key_days != w->valid_date || s->key_date[0] == '\0') {
        av_date_format(w->valid_date, s->key_date);
        s->key_days = w->valid_date;
    }
    sqlite3_bind_int(st, 1, w->region_id);
    sqlite3_bind_text(st, 2, s->key_date, 10, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, w->lang);
}

av_rc av_store_raw_put(struct av_store *s, const struct av_raw_meta *m, const char *body,
                       size_t len, int64_t *raw_id, char *errbuf)
{
    sqlite3_stmt *st = s->ins_raw;
    av_rc rc;

    bind_text(st, 1, m->source);
    bind_text(st, 2, m->endpoint);
    bind_int(st, 3, m->lang);
    bind_text(st, 4, m->api_version);
    bind_text(st, 5, m->url);
    bind_int(st, 6, m->region_id);
    if (m->from_date != INT64_MIN)
        bind_date(st, 7, m->from_date);
    else
        sqlite3_bind_null(st, 7);
    if (m->to_date != INT64_MIN)
        bind_date(st, 8, m->to_date);
    else
        sqlite3_bind_null(st, 8);
    bind_ms(st, 9, m->fetched_at);
    sqlite3_bind_int(st, 10, m->http_status);
    sqlite3_bind_blob64(st, 11, body, len, SQLITE_STATIC);
    rc = step_done(s, st, errbuf, "store raw response");
    sqlite3_clear_bindings(st);
    if (rc == AV_OK && raw_id)
        *raw_id = sqlite3_last_insert_rowid(s->db);
    return rc;
}

static void aspects_text(int mask, char out[32])
{
    size_t n = 0;

    out[0] = '\0';
    for (int i = 0; i < 8; i++) {
        if (mask & (1 << i))
            n += (size_t)sprintf(out + n, "%s%s", n ? "," : "", av_aspect_names[i]);
    }
}

static av_rc put_problem(struct av_store *s, const struct av_warning *w,
                         const struct av_problem *p, char *errbuf)
{
    sqlite3_stmt *st = s->ins_problem;
    char asp[32];
    int i = 4;

    bind_key(s, st, w);
    bind_int(st, i++, p->problem_id);
    bind_int(st, i++, p->type_id);
    bind_text(st, i++, p->type_name);
    bind_int(st, i++, p->aval_type_id);
    bind_text(st, i++, p->aval_type_name);
    bind_int(st, i++, p->ext_id);
    bind_text(st, i++, p->ext_name);
    bind_int(st, i++, p->cause_id);
    bind_text(st, i++, p->cause_name);
    bind_int(st, i++, p->probability_id);
    bind_text(st, i++, p->probability_name);
    bind_int(st, i++, p->trigger_simple_id);
    bind_text(st, i++, p->trigger_simple_name);
    bind_int(st, i++, p->trigger_sensitivity_id);
    bind_text(st, i++, p->trigger_sensitivity_name);
    bind_int(st, i++, p->destructive_size_id);
    bind_text(st, i++, p->destructive_size_name);
    bind_int(st, i++, p->propagation_id);
    bind_text(st, i++, p->propagation_name);
    bind_text(st, i++, p->aspects_raw);
    if (p->aspects == AV_NULL_INT) {
        sqlite3_bind_null(st, i++);
    } else {
        aspects_text(p->aspects, asp);
        sqlite3_bind_text(st, i++, asp, -1, SQLITE_TRANSIENT);
    }
    bind_int(st, i++, p->exposed_height_fill);
    bind_int(st, i++, p->exposed_height_1);
    bind_int(st, i++, p->exposed_height_2);
    bind_int(st, i++, p->exposed_min_m);
    bind_int(st, i++, p->exposed_max_m);
    bind_text(st, i++, p->exposed_text);
    bind_int(st, i++, p->danger_level);
    bind_text(st, i++, p->danger_level_name);
    bind_text(st, i++, p->text);
    return step_done(s, st, errbuf, "store problem");
}

static av_rc put_weather(struct av_store *s, const struct av_warning *w, char *errbuf)
{
    sqlite3_stmt *st = s->ins_weather;
    const char *vals[AV_WEATHER_NCOLS] = {0};
    struct av_buf other;
    av_rc rc;

    av_buf_init(&other, 0);
    for (int k = 0; k < w->n_measurements; k++) {
        const struct av_measurement *m = &w->measurements[k];
        int c = av_weather_col_index(m->type_id, m->subtype_id);
        if (c >= 0 && vals[c] == NULL) {
            vals[c] = m->value;
            continue;
        }
        if (m->value == NULL)
            continue;
        /* Unknown (type, subtype): keep it, as JSON. */
        av_buf_puts(&other, other.len ? "," : "[");
        av_buf_printf(&other, "{\"type_id\":%d,\"subtype_id\":%d,\"type\":", m->type_id,
                      m->subtype_id);
        av_json_quote(&other, m->type_name ? m->type_name : "");
        av_buf_puts(&other, ",\"subtype\":");
        av_json_quote(&other, m->subtype_name ? m->subtype_name : "");
        av_buf_puts(&other, ",\"value\":");
        av_json_quote(&other, m->value);
        av_buf_puts(&other, "}");
    }
    if (other.len)
        av_buf_puts(&other, "]");
    bind_key(s, st, w);
    bind_ms(st, 4, w->mw_last_saved);
    bind_int(st, 5, w->mw_cloud_cover_id);
    bind_text(st, 6, w->mw_cloud_cover_name);
    bind_text(st, 7, w->mw_comment);
    bind_text(st, 8, w->mw_texts);
    for (int c = 0; c < AV_WEATHER_NCOLS; c++)
        bind_text(st, 9 + c, vals[c]);
    bind_text(st, 9 + AV_WEATHER_NCOLS, other.len ? other.data : NULL);
    rc = step_done(s, st, errbuf, "store mountain weather");
    av_buf_free(&other);
    return rc;
}

av_rc av_store_upsert(struct av_store *s, const struct av_warning *w, const char *endpoint,
                      int64_t raw_id, av_ms now, int *changed, char *errbuf)
{
    sqlite3_stmt *st = s->upsert;
    sqlite3_int64 before = sqlite3_last_insert_rowid(s->db);
    char ts[7][AV_STAMP_LEN];
    int i = 4, fresh;
    av_rc rc;

    bind_key(s, st, w);
    bind_int(st, i++, w->reg_id == AV_NULL_INT ? AV_NULL_INT : w->reg_id);
    bind_int(st, i++, w->previous_reg_id);
    bind_text(st, i++, w->region_name);
    bind_text(st, i++, w->region_type[0] ? w->region_type : NULL);
    sqlite3_bind_int(st, i++, w->danger_level);
    bind_text(st, i++, w->danger_level_name);
    bind_ms_buf(st, i++, w->valid_from, ts[0]);
    bind_ms_buf(st, i++, w->valid_to, ts[1]);
    bind_ms_buf(st, i++, w->publish_time, ts[2]);
    bind_ms_buf(st, i++, w->next_warning_time, ts[3]);
    bind_ms_buf(st, i++, w->danger_increase_time, ts[4]);
    bind_ms_buf(st, i++, w->danger_decrease_time, ts[5]);
    bind_text(st, i++, w->main_text);
    bind_text(st, i++, w->avalanche_danger);
    bind_text(st, i++, w->emergency_warning);
    bind_text(st, i++, w->snow_surface);
    bind_text(st, i++, w->current_weak_layers);
    bind_text(st, i++, w->latest_avalanche_activity);
    bind_text(st, i++, w->latest_observations);
    bind_text(st, i++, w->author);
    bind_int(st, i++, w->is_tendency);
    bind_int(st, i++, w->utm_zone);
    bind_int(st, i++, w->utm_east);
    bind_int(st, i++, w->utm_north);
    bind_text(st, i++, w->county_ids);
    bind_text(st, i++, w->municipality_ids);
    bind_text(st, i++, endpoint);
    bind_text(st, i++, w->raw_hash);
    if (raw_id > 0)
        sqlite3_bind_int64(st, i++, raw_id);
    else
        sqlite3_bind_null(st, i++);
    bind_ms_buf(st, i++, now, ts[6]);
    rc = step_done(s, st, errbuf, "store warning");
    if (rc != AV_OK)
        return rc;
    *changed = sqlite3_changes(s->db) > 0;
    if (!*changed)
        return AV_OK;
    /* A new rowid means a fresh insert: no old children to remove. */
    fresh = sqlite3_last_insert_rowid(s->db) != before;
    if (!fresh) {
        sqlite3_stmt *del[3] = {s->del_problems, s->del_advices, s->del_weather};
        for (int k = 0; k < 3; k++) {
            bind_key(s, del[k], w);
            rc = step_done(s, del[k], errbuf, "replace warning children");
            if (rc != AV_OK)
                return rc;
        }
    }
    for (int k = 0; k < w->n_problems; k++) {
        rc = put_problem(s, w, &w->problems[k], errbuf);
        if (rc != AV_OK)
            return rc;
    }
    for (int k = 0; k < w->n_advices; k++) {
        st = s->ins_advice;
        bind_key(s, st, w);
        sqlite3_bind_int(st, 4, w->advices[k].advice_id);
        bind_text(st, 5, w->advices[k].image_url);
        bind_text(st, 6, w->advices[k].text);
        rc = step_done(s, st, errbuf, "store advice");
        if (rc != AV_OK)
            return rc;
    }
    if (w->has_weather)
        return put_weather(s, w, errbuf);
    return AV_OK;
}

av_rc av_store_reject(struct av_store *s, const char *stage, const char *reason,
                      int region_id, int lang, const char *raw, size_t len, int64_t raw_id,
                      av_ms now, char *errbuf)
{
    sqlite3_stmt *st = s->reject;
    char hash[17];

    av_hash_hex(raw ? raw : "", raw ? len : 0, hash);
    bind_text(st, 1, stage);
    bind_text(st, 2, reason);
    bind_int(st, 3, region_id > 0 ? region_id : AV_NULL_INT);
    bind_int(st, 4, lang > 0 ? lang : AV_NULL_INT);
    bind_int(st, 5, raw_id > 0 ? raw_id : AV_NULL_INT);
    if (raw)
        sqlite3_bind_text64(st, 6, raw, len, SQLITE_STATIC, SQLITE_UTF8);
    else
        sqlite3_bind_null(st, 6);
    bind_text(st, 7, hash);
    bind_ms(st, 8, now);
    return step_done(s, st, errbuf, "record rejected input");
}

av_rc av_store_state_get(struct av_store *s, int region_id, int lang, const char *endpoint,
                         int64_t *last_date, char *errbuf)
{
    sqlite3_stmt *st = s->state_get;
    int r;

    *last_date = -1;
    sqlite3_bind_int(st, 1, region_id);
    sqlite3_bind_int(st, 2, lang);
    bind_text(st, 3, endpoint);
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
    bind_text(st, 3, endpoint);
    if (last_date >= 0)
        bind_date(st, 4, last_date);
    else
        sqlite3_bind_null(st, 4);
    bind_ms(st, 5, at);
    bind_text(st, 6, status);
    bind_text(st, 7, error);
    return step_done(s, st, errbuf, "record fetch state");
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
    bind_text(st, 1, kind);
    bind_text(st, 2, args);
    bind_ms(st, 3, now);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)getpid());
    rc = step_done(s, st, errbuf, "record run");
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
    bind_ms(st, 2, now);
    bind_text(st, 3, status);
    sqlite3_bind_int(st, 4, c->units_total);
    sqlite3_bind_int(st, 5, c->units_ok);
    sqlite3_bind_int(st, 6, c->units_rejected);
    sqlite3_bind_int(st, 7, c->units_failed);
    sqlite3_bind_int64(st, 8, c->warnings_stored);
    sqlite3_bind_int64(st, 9, c->warnings_unchanged);
    sqlite3_bind_int64(st, 10, c->warnings_rejected);
    bind_text(st, 11, error);
    sqlite3_bind_int64(st, 12, c->requests);
    sqlite3_bind_int64(st, 13, c->retries);
    rc = step_done(s, st, errbuf, "record run end");
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
    bind_text(st, 9, error && error[0] ? error : NULL);
    rc = step_done(s, st, errbuf, "record run region");
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
                           "error = 'the process ended without finishing the run' "
                           "WHERE id = ?1",
                           -1, &upd, NULL) != SQLITE_OK) {
        sqlite3_finalize(sel);
        return av_sqlite_err(s, errbuf, "update runs");
    }
    while ((r = sqlite3_step(sel)) == SQLITE_ROW) {
        if (sqlite3_column_type(sel, 1) != SQLITE_NULL && alive(sqlite3_column_int64(sel, 1)))
            continue;
        sqlite3_bind_int64(upd, 1, sqlite3_column_int64(sel, 0));
        rc = step_done(s, upd, errbuf, "mark interrupted run");
        if (rc != AV_OK)
            break;
    }
    if (r != SQLITE_ROW && r != SQLITE_DONE && rc == AV_OK)
        rc = av_sqlite_err(s, errbuf, "read runs");
    sqlite3_finalize(sel);
    sqlite3_finalize(upd);
    return rc;
}
