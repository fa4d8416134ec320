/* sqlite_int.h - private to the SQLite state store and sink (sqlite.c,
 * sqlite_state.c, sqlite_read.c, sqlite_schema.c). */
#ifndef AV_SQLITE_INT_H
#define AV_SQLITE_INT_H

#include <sqlite3.h>

#include "../core/buf.h"
#include "../core/tz.h"
#include "sink.h"
#include "store.h"

struct av_store {
    sqlite3 *db;
    char *path;
    int tx_depth; /* nested av_store_begin calls; 0 = no transaction */
    sqlite3_stmt *ins_raw, *reject, *state_get, *state_put;
    sqlite3_stmt *hole_sel, *hole_del, *hole_ins;
    sqlite3_stmt *body_get, *body_ins;
    sqlite3_stmt *begin, *commit, *rollback;
};

/* One dataset's statements in the SQLite sink. */
struct sq_ds {
    const struct av_dataset *ds;
    sqlite3_stmt *ins; /* warning: the upsert; children: INSERT OR REPLACE */
    sqlite3_stmt *del; /* children: DELETE by the warning's key */
    sqlite3_stmt *sel; /* children: SELECT by the warning's key */
    char (*scratch)[32]; /* per field: formatted values bound SQLITE_STATIC */
};

#define SQ_NDS 4  /* the warning and its children: av_datasets[0..4) */
#define SQ_NALL 6 /* every dataset, av_datasets order (then the weather) */

struct sqlite_sink {
    struct av_store *st;
    struct sq_ds ds[SQ_NALL];
    int64_t date_days; /* the last date bound, as text in date */
    char date[AV_DATE_LEN];
};

av_rc av_sqlite_err(struct av_store *s, char *errbuf, const char *what);
/* Steps st once and resets it; AV_OK on DONE or ROW. */
av_rc av_sqlite_step(struct av_store *s, sqlite3_stmt *st, char *errbuf, const char *what);
av_rc av_sqlite_exec(struct av_store *s, const char *sql, char *errbuf);

static inline void sq_bind_int(sqlite3_stmt *st, int i, int64_t v)
{
    if (v == AV_NULL_INT)
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_int64(st, i, v);
}

/* Text binds are SQLITE_STATIC: every caller keeps the string alive until
 * the statement has been stepped and reset, and rebinds every parameter
 * before the next step (this saves a copy per value on the hot path). */
static inline void sq_bind_text(sqlite3_stmt *st, int i, const char *v)
{
    if (v == NULL)
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
}

static inline void sq_bind_ms(sqlite3_stmt *st, int i, av_ms t)
{
    char b[AV_STAMP_LEN];

    if (t == AV_NULL_MS) {
        sqlite3_bind_null(st, i);
        return;
    }
    av_stamp_format(t, b);
    sqlite3_bind_text(st, i, b, -1, SQLITE_TRANSIENT);
}

static inline void sq_bind_date(sqlite3_stmt *st, int i, int64_t days)
{
    char b[AV_DATE_LEN];

    av_date_format(days, b);
    sqlite3_bind_text(st, i, b, 10, SQLITE_TRANSIENT);
}

/* The schema version this avalanche writes, and the state tables' SQL
 * that moves a file to version v (v >= 1; "" when only clean tables
 * change). */
int av_sqlite_schema_version(void);
const char *av_sqlite_state_migration(int version);
/* Generated SQL (sqlite_schema.c): malloc'd, NULL when out of memory. */
char *av_sqlite_sql_migration(int version); /* tables and columns added in version */
char *av_sqlite_sql_insert(const struct av_dataset *ds);
char *av_sqlite_sql_delete(const struct av_dataset *ds);
char *av_sqlite_sql_select_children(const struct av_dataset *ds);
char *av_sqlite_sql_select(const struct av_query *q);
char *av_sqlite_sql_count(const struct av_dataset *ds, const struct av_query *q);
char *av_sqlite_sql_clear(void);
/* Records of a flat dataset (rule RANKED/REPLACE) by region and range. */
char *av_sqlite_sql_select_rows(const struct av_dataset *ds, const struct av_query *q);

/* The sink's read side (sqlite_read.c). */
av_rc av_sqlite_sink_read(void *s, const struct av_query *q, av_sink_row_fn fn, void *ud,
                          char *errbuf);
av_rc av_sqlite_sink_read_rows(void *s, const struct av_dataset *ds, const struct av_query *q,
                               av_sink_rec_fn fn, void *ud, char *errbuf);
av_rc av_sqlite_sink_count(void *s, const struct av_dataset *ds, const struct av_query *q,
                           long *n, char *errbuf);

#endif
