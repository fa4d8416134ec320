/* sqlite_int.h - private to the SQLite state store and sink (sqlite.c,
 * sqlite_state.c, sqlite_read.c, sqlite_schema.c, sqlite_history.c,
 * sqlite_bulk.c). */
#ifndef AV_SQLITE_INT_H
#define AV_SQLITE_INT_H

#include <math.h>
#include <sqlite3.h>
#include <string.h>

#include "../core/buf.h"
#include "../core/json.h"
#include "../core/tz.h"
#include "raw_codec.h"
#include "sink.h"
#include "store.h"

/* Names stored once (AV_FF_NAME in dataset.h): a dataset with such fields
 * keeps its rows in the base table "<table>_rows", each name as the id of
 * its row in `names` (id, value; a value is never deleted, so an id never
 * changes meaning), and is read through the view "<table>" with the
 * documented columns (a LEFT JOIN of `names` per name; INSTEAD OF
 * triggers make INSERT, UPDATE and DELETE on it write the base table).
 * A file whose tables or views differ from that (schema 9 and before, a
 * field newly marked, an older view) is converted when opened, in the
 * migration's transaction (sqlite_state.c). The writer maps text -> id
 * in memory (struct av_names, at most AV_NAMES_MAX values of up to
 * AV_NAMES_LEN bytes; others are looked up in the table each time); the
 * map is emptied when a transaction begins or rolls back, so it never
 * holds an id that was rolled back. */
#define AV_NAMES_SLOTS 4096
#define AV_NAMES_MAX 3072
#define AV_NAMES_LEN 1024
struct av_names {
    sqlite3_stmt *get, *ins;
    int n;
    struct av_name_slot {
        char *s; /* NULL = free */
        size_t len;
        int64_t id;
    } slot[AV_NAMES_SLOTS];
};

struct av_store {
    sqlite3 *db;
    char *path;
    int tx_depth; /* nested av_store_begin calls; 0 = no transaction */
    sqlite3_stmt *ins_raw, *reject, *state_get, *state_put;
    sqlite3_stmt *hole_sel, *hole_del, *hole_ins;
    sqlite3_stmt *body_get, *body_ins;
    sqlite3_stmt *begin, *commit, *rollback;
    struct av_buf zbuf, dbuf; /* a body encoded (raw_codec.h), a stored one decoded */
    struct av_raw_codec *codec; /* their contexts */
    struct av_names *names;     /* the writer's map (NULL until a name is stored) */
    /* the sink whose rebuild batches the transaction still holds (set by
     * av_sqlite_bulk_start): the real COMMIT flushes them first, a rollback drops
     * them (sqlite_bulk.c) */
    struct sqlite_sink *rebuild;
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
#define SQ_NFLAT 6 /* then the weather: av_datasets[4..6) */
#define SQ_NALL 7 /* every dataset, av_datasets order (last the history) */
#define SQ_VER 6  /* the history, av_ds_version */

struct sqlite_sink {
    struct av_store *st;
    struct sq_ds ds[SQ_NALL];
    int64_t date_days; /* the last date bound, as text in date */
    char date[AV_DATE_LEN];
    /* the history (av_ds_version): the stored publication of a key
     * (cur), a superseded version's record (fill), a version's record
     * (rec), the stored warning by key (wsel); scratch for them */
    sqlite3_stmt *cur, *fill, *rec, *wsel;
    struct av_warning *old;
    struct av_buf json;
    struct av_json doc;
    struct sq_bulk *bulk; /* the rebuild's batches (sqlite_bulk.c); NULL until one */
    int bulk_rows;        /* store.rebuild_batch: rows per batch; 0 = no bulk path */
};

/* The rebuild's bulk path (sqlite_bulk.c; store.rebuild_batch, 0 = off).
 * Once the sink has cleared the
 * clean tables inside a transaction (reprocess), a warning whose key has
 * not been put since is new: nothing to look up, replace or delete. Its
 * rows (history, warning, children), as the usual put would bind them,
 * go to one in-memory batch per table, each written by one INSERT ...
 * SELECT from a virtual table over the batch (module av_batch_<table>)
 * instead of one statement per row, which costs SQLite more per row
 * (reprocess 4.57 -> 4.06 s with it, 5 alternating runs). Batches are flushed
 * before anything reads or writes the sink otherwise (a key seen again or
 * outside the key map goes the usual way after the flush), when full, and
 * by the real COMMIT, so every statement sees the rows before it and the
 * tables end the same, rowids and name ids included; a rollback drops
 * them. Memory while a rebuild is on: the key map (SQ_BULK_MAP_BYTES) and
 * batches of at most store.rebuild_batch rows or SQ_BULK_TEXT bytes of
 * text.
 * Errors: AV_ENOMEM, or SQLite's at the flush (AV_EIO), which fail the
 * rebuild as a put would. */
#define SQ_BULK_TEXT (4u << 20)
/* keys mapped: regions 3000..3127, dates 2000-01-01 + 16384 days, 2 langs */
#define SQ_BULK_MAP_BYTES (128u * 16384u * 2u / 8u)
struct sq_bulk;
/* Turns the bulk path on: the clean tables were just emptied in the open
 * transaction. */
av_rc av_sqlite_bulk_start(struct sqlite_sink *k, char *errbuf);
/* 1: w was taken (stored when flushed; *changed = 1). 0: w is not for the
 * bulk path (the batches are flushed; put it the usual way), or *rc says
 * why it failed. */
int av_sqlite_bulk_put(struct sqlite_sink *k, const struct av_warning *w, int *changed, av_rc *rc,
                char *errbuf);
/* Writes what the batches hold (AV_OK when nothing or off). */
av_rc av_sqlite_bulk_flush(struct sqlite_sink *k, char *errbuf);
/* Off: the batches dropped (after a flush: empty), the key map freed. */
void av_sqlite_bulk_stop(struct sqlite_sink *k);
void av_sqlite_bulk_free(struct sqlite_sink *k);

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

/* A value as it is bound: SQLITE_NULL, SQLITE_INTEGER (i), SQLITE_FLOAT
 * (d) or SQLITE_TEXT (s, len bytes; valid until the next value of its
 * field is taken, see sq_field_val). */
struct sq_val {
    int type;
    int len;
    int64_t i;
    double d;
    const char *s;
};

static inline void sq_text_val(struct sq_val *v, const char *s)
{
    if (s == NULL) {
        v->type = SQLITE_NULL;
        return;
    }
    v->type = SQLITE_TEXT;
    v->s = s;
    v->len = (int)strlen(s);
}

/* The value at p of field f (the hot path of every write: one switch per
 * value). Formatted text goes to scratch, which must outlive its use (a
 * bound statement's step); dates repeat within a warning and come from the
 * sink's one-entry cache (every statement is stepped before the next one
 * is bound, so a cached date never changes under a bound statement). */
static inline void sq_field_val(struct sqlite_sink *k, const struct av_field *f, const void *p,
                                char scratch[32], struct sq_val *v)
{
    v->type = SQLITE_NULL;
    switch (f->type) {
    case AV_FT_I8:
    case AV_FT_I32:
    case AV_FT_BOOL:
        if (*(const int *)p != AV_NULL_INT) {
            v->type = SQLITE_INTEGER;
            v->i = *(const int *)p;
        }
        break;
    case AV_FT_I64:
        if (*(const int64_t *)p != AV_NULL_INT) {
            v->type = SQLITE_INTEGER;
            v->i = *(const int64_t *)p;
        }
        break;
    case AV_FT_TEXT:
    case AV_FT_NUMTEXT:
        sq_text_val(v, *(const char *const *)p);
        break;
    case AV_FT_CHARS:
        sq_text_val(v, *(const char *)p ? (const char *)p : NULL);
        break;
    case AV_FT_TIME:
        if (*(const av_ms *)p != AV_NULL_MS) {
            av_stamp_format(*(const av_ms *)p, scratch);
            v->type = SQLITE_TEXT;
            v->s = scratch;
            v->len = AV_STAMP_LEN - 1;
        }
        break;
    case AV_FT_DATE:
        if (k->date_days != *(const int64_t *)p || k->date[0] == '\0') {
            k->date_days = *(const int64_t *)p;
            av_date_format(k->date_days, k->date);
        }
        v->type = SQLITE_TEXT;
        v->s = k->date;
        v->len = 10;
        break;
    case AV_FT_F64:
        if (!isnan(*(const double *)p)) {
            v->type = SQLITE_FLOAT;
            v->d = *(const double *)p;
        }
        break;
    default: /* aspects, weather source */
        sq_text_val(v, av_field_get_text(f, p, scratch));
    }
}

/* Binds v as parameter i of st (text SQLITE_STATIC, see sq_bind_text). */
static inline void sq_bind_val(sqlite3_stmt *st, int i, const struct sq_val *v)
{
    switch (v->type) {
    case SQLITE_INTEGER:
        sqlite3_bind_int64(st, i, v->i);
        break;
    case SQLITE_FLOAT:
        sqlite3_bind_double(st, i, v->d);
        break;
    case SQLITE_TEXT:
        sqlite3_bind_text(st, i, v->s, v->len, SQLITE_STATIC);
        break;
    default:
        sqlite3_bind_null(st, i);
    }
}

/* Binds the value at p as parameter i of st. */
static inline void sq_bind_field(struct sqlite_sink *k, sqlite3_stmt *st, int i,
                                 const struct av_field *f, const void *p, char scratch[32])
{
    struct sq_val v;

    sq_field_val(k, f, p, scratch, &v);
    sq_bind_val(st, i, &v);
}

/* Binds the warning's key as ?1..?3 of st. */
static inline void sq_bind_parent_key(struct sqlite_sink *k, struct sq_ds *x, sqlite3_stmt *st,
                                      const struct av_warning *w)
{
    for (int j = 0; j <= AV_KEY_LANG; j++) {
        const struct av_field *f = av_ds_key(x->ds, j);
        sq_bind_field(k, st, j + 1, f, av_field_ptr(f, w, w), x->scratch[j]);
    }
}

/* The page size of a new database file (issue 13; files made before keep
 * theirs, 4096, and work the same). Rows of a warning are ~2.4 KB, so
 * 4 KiB pages held one or two and left a fifth of the table unused; and a
 * rebuild (reprocess) writes and checkpoints a WAL of the whole clean
 * tables, whose per-frame cost falls with larger pages. Measured figures:
 * bench/README.md, "Faster than DuckDB". */
#define AV_SQLITE_PAGE_SIZE 16384

/* Whether ds has AV_FF_NAME fields; its base table (ds->table when not). */
int av_sqlite_has_names(const struct av_dataset *ds);
#define AV_SQLITE_BASE_LEN 64
const char *av_sqlite_base(const struct av_dataset *ds, char out[AV_SQLITE_BASE_LEN]);
/* The id of the name s (n bytes) in `names`, inserted when new
 * (sqlite_state.c). */
av_rc av_sqlite_name_id(struct av_store *s, const char *v, size_t n, int64_t *id, char *errbuf);

/* The value of field f at p as a sink table stores it: a name
 * (AV_FF_NAME) as its id in `names`, else as sq_field_val. */
static inline av_rc sq_store_val(struct sqlite_sink *k, const struct av_field *f, const void *p,
                                 char scratch[32], struct sq_val *v, char *errbuf)
{
    const char *t;

    if (!(f->flags & AV_FF_NAME)) {
        sq_field_val(k, f, p, scratch, v);
        return AV_OK;
    }
    v->type = SQLITE_NULL;
    if ((t = av_field_get_text(f, p, scratch)) == NULL)
        return AV_OK;
    v->type = SQLITE_INTEGER;
    return av_sqlite_name_id(k->st, t, strlen(t), &v->i, errbuf);
}
/* Empties the writer's map (a transaction begins or rolls back). */
void av_sqlite_names_reset(struct av_store *s);
void av_sqlite_names_free(struct av_store *s);
/* Bit d set when av_datasets[d] is stored split (its base table exists). */
unsigned av_sqlite_names_split(struct av_store *s);
/* Whether every dataset is stored as its description says: those with
 * names split, every name column of their base table an integer. */
int av_sqlite_names_current(struct av_store *s);
/* Converts what is not (a table of text names -> base table + ids, inside
 * the caller's transaction); views: every view again when all, else only
 * the converted ones' (a migration changed columns). */
av_rc av_sqlite_names_upgrade(struct av_store *s, int all, char *errbuf);
/* Generated SQL (sqlite_schema.c): src's rows into ds's base table, the
 * fields with lookup[i] from text to ids (src dropped); ds's view. */
char *av_sqlite_sql_names_convert(const struct av_dataset *ds, const char *src,
                                  const unsigned char *lookup);
char *av_sqlite_sql_names_view(const struct av_dataset *ds);

/* The schema version this avalanche writes, and the state tables' SQL
 * that moves a file to version v (v >= 1; "" when only clean tables
 * change). */
int av_sqlite_schema_version(void);
/* The version whose state migration adds raw_body.codec (raw_codec.h). */
#define AV_SQLITE_CODEC_VERSION 9
const char *av_sqlite_state_migration(int version);
/* Generated SQL (sqlite_schema.c): malloc'd, NULL when out of memory. */
/* tables and columns added in version; bit d of split: av_datasets[d]'s
 * columns go to its base table (av_sqlite_names_split) */
char *av_sqlite_sql_migration(int version, unsigned split);
char *av_sqlite_sql_insert(const struct av_dataset *ds);
char *av_sqlite_sql_delete(const struct av_dataset *ds);
char *av_sqlite_sql_select_children(const struct av_dataset *ds);
char *av_sqlite_sql_select(const struct av_query *q);
char *av_sqlite_sql_count(const struct av_dataset *ds, const struct av_query *q);
char *av_sqlite_sql_clear(void);
/* Records of a flat dataset (rule RANKED/REPLACE) by region and range. */
char *av_sqlite_sql_select_rows(const struct av_dataset *ds, const struct av_query *q);
/* The history's version rows (key, publish_time, first_seen) of q, in key
 * and publication order. */
char *av_sqlite_sql_select_versions(const struct av_query *q);
/* Rows to fill in after migrating to version v ("" when none): the
 * history starts with the publication each warning holds. */
char *av_sqlite_sql_data_migration(int version);
/* Every field of the warning stored under the key ?1..?3. */
char *av_sqlite_sql_select_current(void);
/* The stored warning's (publish_time, endpoint, raw_hash) by the key ?1..?3. */
char *av_sqlite_sql_stored_pub(void);
/* A version's record by key ?1..?3 and publish_time ?4 ('' = none):
 * set = 1 its UPDATE to ?5, else its SELECT. */
char *av_sqlite_sql_version_record(int set);

/* The history, write side (sqlite_history.c): w's publication, before the
 * clean tables get w (sink put, same transaction). */
av_rc av_sqlite_put_version(struct sqlite_sink *k, const struct av_warning *w, char *errbuf);

/* The sink's read side (sqlite_read.c). */
av_rc av_sqlite_sink_read(void *s, const struct av_query *q, av_sink_row_fn fn, void *ud,
                          char *errbuf);
av_rc av_sqlite_sink_read_rows(void *s, const struct av_dataset *ds, const struct av_query *q,
                               av_sink_rec_fn fn, void *ud, char *errbuf);
av_rc av_sqlite_sink_count(void *s, const struct av_dataset *ds, const struct av_query *q,
                           long *n, char *errbuf);
/* The warning stored under (region, date, lang) with all its children into
 * w (strings in pool); *found = 0 when there is none. */
av_rc av_sqlite_load_current(struct sqlite_sink *k, int region_id, int64_t valid_date, int lang,
                             struct av_warning *w, struct av_pool *pool, int *found,
                             char *errbuf);
av_rc av_sqlite_sink_read_versions(void *s, const struct av_query *q, av_sink_version_fn fn,
                                   void *ud, char *errbuf);
av_rc av_sqlite_sink_load_version(void *s, const struct av_version_row *v, struct av_warning *w,
                                  struct av_pool *pool, char *errbuf);

#endif
