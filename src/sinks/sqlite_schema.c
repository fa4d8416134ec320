/* sqlite_schema.c - the SQL text of the SQLite store: the state tables'
 * migrations, and, generated from the dataset descriptions, the clean
 * tables' CREATE TABLE and ALTER TABLE per schema version,
 * the upsert with the latest-publication rule, child inserts, deletes,
 * selects and counts. Pure string building (no libsqlite3 here); every
 * function returns a malloc'd NUL-terminated string, or NULL when out of
 * memory. */
#include "sqlite_int.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../model/weather.h"

/* Schema migrations of the state tables: entry k moves user_version k to
 * k+1 (append only). The clean tables of each step are generated from the
 * dataset descriptions (fields and tables with since = k+1), so a field
 * added there with a new `since` is the whole change: the schema version
 * is the higher of this list's length and the descriptions' version. */
static const char *const state_migrations[] = {
    /* 0 -> 1 */
    "CREATE TABLE raw_response ("
    "  id INTEGER PRIMARY KEY,"
    "  source TEXT NOT NULL, endpoint TEXT NOT NULL, lang INTEGER, api_version TEXT,"
    "  url TEXT NOT NULL, region_id INTEGER, from_date TEXT, to_date TEXT,"
    "  fetched_at TEXT NOT NULL, http_status INTEGER, body BLOB NOT NULL);"
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
    /* 3 -> 4: clean tables only (the Detail fields of the descriptions) */
    "",
    /* 4 -> 5: days planned and not stored yet (store.h) */
    "CREATE TABLE fetch_hole ("
    "  region_id INTEGER NOT NULL, lang INTEGER NOT NULL, endpoint TEXT NOT NULL,"
    "  from_date TEXT NOT NULL, to_date TEXT NOT NULL, since TEXT NOT NULL,"
    "  PRIMARY KEY (region_id, lang, endpoint, from_date)) WITHOUT ROWID;",
    /* 5 -> 6: one copy of each response body (raw_response.body stays for
     * the rows stored before; new rows point at raw_body) */
    "CREATE TABLE raw_body ("
    "  id INTEGER PRIMARY KEY, hash TEXT NOT NULL UNIQUE, size INTEGER NOT NULL,"
    "  body BLOB NOT NULL);"
    "ALTER TABLE raw_response ADD COLUMN body_id INTEGER REFERENCES raw_body (id);",
    /* 6 -> 7: weather (clean tables from the descriptions) and the API
     * budget it is paced to */
    "CREATE TABLE api_usage ("
    "  api TEXT NOT NULL, hour TEXT NOT NULL, requests INTEGER NOT NULL,"
    "  weight REAL NOT NULL, PRIMARY KEY (api, hour)) WITHOUT ROWID;",
    /* 7 -> 8: clean tables only (the publication history) */
    "",
    /* 8 -> 9: how each body is kept (raw_codec.h): the rows stored before
     * stay as received (0), new ones are zstd frames (1). sqlite.c skips
     * this when the column is there already (a file set back by hand). */
    "ALTER TABLE raw_body ADD COLUMN codec INTEGER NOT NULL DEFAULT 0;",
    /* 9 -> 10: names stored once (AV_FF_NAME, sqlite_int.h); the clean
     * tables are converted by av_sqlite_names_upgrade */
    "CREATE TABLE IF NOT EXISTS names (id INTEGER PRIMARY KEY, value TEXT NOT NULL UNIQUE);",
};

#define NSTATE ((int)(sizeof(state_migrations) / sizeof(state_migrations[0])))

int av_sqlite_schema_version(void)
{
    return av_datasets_version() > NSTATE ? av_datasets_version() : NSTATE;
}

const char *av_sqlite_state_migration(int version)
{
    return version >= 1 && version <= NSTATE ? state_migrations[version - 1] : "";
}

static const char *sql_type(enum av_ftype t)
{
    switch (t) {
    case AV_FT_I8:
    case AV_FT_I32:
    case AV_FT_I64:
    case AV_FT_BOOL:
        return "INTEGER";
    case AV_FT_NUMTEXT:
        return "NUMERIC"; /* "8" is stored as 8, "NW" as text */
    case AV_FT_F64:
        return "REAL";
    default:
        return "TEXT";
    }
}

/* split: the column of a base table (a name's id, sqlite_int.h). */
static void column_def(struct av_buf *b, const struct av_field *f, int split)
{
    av_buf_printf(b, "%s %s", f->name,
                  split && (f->flags & AV_FF_NAME) ? "INTEGER" : sql_type(f->type));
    if (f->flags & (AV_FF_KEY | AV_FF_NOTNULL))
        av_buf_puts(b, " NOT NULL");
    if (f->lo < f->hi)
        av_buf_printf(b, " CHECK (%s BETWEEN %d AND %d)", f->name, f->lo, f->hi);
}

/* "k1, k2, k3" (parent_only: the parent's part of a child's key). */
static void key_list(struct av_buf *b, const struct av_dataset *ds, int parent_only)
{
    for (int k = 0; k < ds->nkeys; k++) {
        const struct av_field *f = av_ds_key(ds, k);
        if (parent_only && !(f->flags & AV_FF_PARENT))
            break;
        av_buf_printf(b, "%s%s", k ? ", " : "", f->name);
    }
}

/* "k1 = ?1 AND k2 = ?2 AND k3 = ?3": the warning's key. */
static void parent_match(struct av_buf *b, const struct av_dataset *ds)
{
    for (int k = 0; k <= AV_KEY_LANG; k++)
        av_buf_printf(b, "%s%s = ?%d", k ? " AND " : "", av_ds_key(ds, k)->name, k + 1);
}

static char *done(struct av_buf *b)
{
    if (b->failed) { /* an append failed for memory: never a cut statement */
        av_buf_free(b);
        return NULL;
    }
    return b->data;
}

/* CREATE TABLE name for ds with the fields of schema v and before (not
 * the derived ones), its key as the primary key; split: names as ids. */
static void create_table(struct av_buf *b, const struct av_dataset *ds, const char *name, int v,
                         int split)
{
    av_buf_printf(b, "CREATE TABLE %s (", name);
    for (int i = 0; i < ds->nfields; i++) {
        if (ds->fields[i].since > v || (ds->fields[i].flags & AV_FF_DERIVED))
            continue;
        column_def(b, &ds->fields[i], split);
        av_buf_puts(b, ", ");
    }
    av_buf_puts(b, "PRIMARY KEY (");
    key_list(b, ds, 0);
    av_buf_printf(b, "))%s;", ds->rowid ? "" : " WITHOUT ROWID");
}

int av_sqlite_has_names(const struct av_dataset *ds)
{
    for (int i = 0; i < ds->nfields; i++)
        if (ds->fields[i].flags & AV_FF_NAME)
            return 1;
    return 0;
}

const char *av_sqlite_base(const struct av_dataset *ds, char out[AV_SQLITE_BASE_LEN])
{
    if (!av_sqlite_has_names(ds))
        return ds->table;
    snprintf(out, AV_SQLITE_BASE_LEN, "%s_rows", ds->table);
    return out;
}

int av_store_view_base(const struct av_dataset *ds, char base[64])
{
    if (ds->table == NULL || !av_sqlite_has_names(ds))
        return 0;
    snprintf(base, 64, "%s", av_sqlite_base(ds, (char[AV_SQLITE_BASE_LEN]){0}));
    return 1;
}

char *av_sqlite_sql_migration(int v, unsigned split)
{
    char base[AV_SQLITE_BASE_LEN];

    struct av_buf b;

    av_buf_init(&b, 0);
    av_buf_puts(&b, "");
    for (int d = 0; av_datasets[d]; d++) {
        const struct av_dataset *ds = av_datasets[d];
        if (ds->since == v) {
            create_table(&b, ds, ds->table, v, 0);
            av_buf_puts(&b, "\n");
        } else if (ds->since < v) {
            int sp = (split >> d) & 1;
            for (int i = 0; i < ds->nfields; i++) {
                if (ds->fields[i].since != v || (ds->fields[i].flags & AV_FF_DERIVED))
                    continue;
                av_buf_printf(&b, "ALTER TABLE %s ADD COLUMN ",
                              sp ? av_sqlite_base(ds, base) : ds->table);
                column_def(&b, &ds->fields[i], sp);
                av_buf_puts(&b, ";\n");
            }
        }
    }
    return done(&b);
}

/* The warning's upsert keeps the latest publication: it replaces the
 * stored row only when the record differs (content hash) and its version
 * (publish time) is newer, or equal and not a Simple over a Detail. */
static void upsert_rule(struct av_buf *b, const struct av_dataset *ds)
{
    char base[AV_SQLITE_BASE_LEN];
    const char *t = av_sqlite_base(ds, base);
    const char *hash = av_ds_role(ds, AV_FF_HASH)->name;
    const char *ver = av_ds_role(ds, AV_FF_VERSION)->name;
    const char *src = av_ds_role(ds, AV_FF_SOURCE)->name;
    int first = 1;

    av_buf_puts(b, " ON CONFLICT (");
    key_list(b, ds, 0);
    av_buf_puts(b, ") DO UPDATE SET ");
    for (int i = 0; i < ds->nfields; i++) {
        const struct av_field *f = &ds->fields[i];
        if (f->flags & AV_FF_KEY)
            continue;
        av_buf_printf(b, "%s%s = excluded.%s", first ? "" : ", ", f->name, f->name);
        first = 0;
    }
    av_buf_printf(b,
                  " WHERE excluded.%s IS NOT %s.%s AND ("
                  "coalesce(excluded.%s, '') > coalesce(%s.%s, '')"
                  " OR (coalesce(excluded.%s, '') = coalesce(%s.%s, '')"
                  " AND NOT (excluded.%s = 'simple' AND %s.%s = 'detail')))",
                  hash, t, hash, ver, t, ver, ver, t, ver, src, t, src);
}

/* The rank of a RANKED field's text value (its WXSRC names). */
static void rank_of(struct av_buf *b, const char *tbl, const char *col)
{
    av_buf_printf(b, "(CASE %s.%s WHEN '%s' THEN %d WHEN '%s' THEN %d ELSE 0 END)", tbl, col,
                  av_wx_source_name(AV_WX_ARCHIVE), AV_WX_ARCHIVE,
                  av_wx_source_name(AV_WX_FORECAST), AV_WX_FORECAST);
}

/* Weather hours: the record with the higher rank (archive over forecast),
 * then the later version (fetch), wins; per value, a null never replaces
 * a value (the loser's value fills the winner's null). */
static void ranked_rule(struct av_buf *b, const struct av_dataset *ds)
{
    char base[AV_SQLITE_BASE_LEN];
    const char *t = av_sqlite_base(ds, base);
    const char *rank = av_ds_role(ds, AV_FF_RANK)->name;
    const char *ver = av_ds_role(ds, AV_FF_VERSION)->name;
    struct av_buf w;
    int first = 1;

    av_buf_init(&w, 0);
    av_buf_puts(&w, "(");
    rank_of(&w, "excluded", rank);
    av_buf_puts(&w, " > ");
    rank_of(&w, t, rank);
    av_buf_puts(&w, " OR (");
    rank_of(&w, "excluded", rank);
    av_buf_puts(&w, " = ");
    rank_of(&w, t, rank);
    av_buf_printf(&w, " AND excluded.%s >= %s.%s))", ver, t, ver);
    av_buf_puts(b, " ON CONFLICT (");
    key_list(b, ds, 0);
    av_buf_puts(b, ") DO UPDATE SET ");
    for (int i = 0; i < ds->nfields; i++) {
        const struct av_field *f = &ds->fields[i];
        const char *n = f->name;
        if (f->flags & AV_FF_KEY)
            continue;
        if (f->flags & (AV_FF_RANK | AV_FF_VERSION))
            av_buf_printf(b, "%s%s = CASE WHEN %s THEN excluded.%s ELSE %s.%s END",
                          first ? "" : ", ", n, w.data ? w.data : "", n, t, n);
        else
            av_buf_printf(b, "%s%s = CASE WHEN %s THEN coalesce(excluded.%s, %s.%s) ELSE "
                             "coalesce(%s.%s, excluded.%s) END",
                          first ? "" : ", ", n, w.data ? w.data : "", n, t, n, t, n, n);
        first = 0;
    }
    if (w.data == NULL)
        b->failed = 1;
    av_buf_free(&w);
}

/* The history: one row per (key, publish_time; an absent one stored as
 * '', before every instant, as coalesce() orders the clean tables); on a
 * second copy of a publication the earliest first_seen stays and the
 * clean tables' rule decides the content (hash, source, record). */
static char *version_insert(const struct av_dataset *ds)
{
    char base[AV_SQLITE_BASE_LEN];
    const char *t = av_sqlite_base(ds, base);
    const char *hash = av_ds_role(ds, AV_FF_HASH)->name;
    const char *src = av_ds_role(ds, AV_FF_SOURCE)->name;
    struct av_buf b;
    int n = 0, first = 1;

    av_buf_init(&b, 0);
    av_buf_printf(&b, "INSERT INTO %s (", t);
    for (int i = 0; i < ds->nfields; i++)
        if (!(ds->fields[i].flags & AV_FF_DERIVED))
            av_buf_printf(&b, "%s%s", n++ ? ", " : "", ds->fields[i].name);
    av_buf_puts(&b, ") VALUES (");
    n = 0;
    for (int i = 0; i < ds->nfields; i++) {
        const struct av_field *f = &ds->fields[i];
        if (f->flags & AV_FF_DERIVED)
            continue;
        n++;
        if ((f->flags & AV_FF_VERSION) && (f->flags & AV_FF_KEY))
            av_buf_printf(&b, "%scoalesce(?%d, '')", n > 1 ? ", " : "", n);
        else
            av_buf_printf(&b, "%s?%d", n > 1 ? ", " : "", n);
    }
    av_buf_puts(&b, ") ON CONFLICT (");
    key_list(&b, ds, 0);
    av_buf_puts(&b, ") DO UPDATE SET ");
    for (int i = 0; i < ds->nfields; i++) {
        const struct av_field *f = &ds->fields[i];
        if (f->flags & (AV_FF_DERIVED | AV_FF_KEY))
            continue;
        if (f->flags & AV_FF_EARLIEST)
            av_buf_printf(&b, "%s%s = min(%s.%s, excluded.%s)", first ? "" : ", ", f->name, t,
                          f->name, f->name);
        else
            av_buf_printf(&b,
                          "%s%s = CASE WHEN excluded.%s IS NOT %s.%s AND NOT (excluded.%s = "
                          "'simple' AND %s.%s = 'detail') THEN excluded.%s ELSE %s.%s END",
                          first ? "" : ", ", f->name, hash, t, hash, src, t, src, f->name, t,
                          f->name);
        first = 0;
    }
    return done(&b);
}

char *av_sqlite_sql_insert(const struct av_dataset *ds)
{
    char base[AV_SQLITE_BASE_LEN];
    struct av_buf b;

    if (ds->rule == AV_RULE_VERSION)
        return version_insert(ds);

    av_buf_init(&b, 0);
    av_buf_printf(&b, "INSERT %sINTO %s (",
                  ds->rule == AV_RULE_CHILD || ds->rule == AV_RULE_REPLACE ? "OR REPLACE " : "",
                  av_sqlite_base(ds, base));
    for (int i = 0; i < ds->nfields; i++)
        av_buf_printf(&b, "%s%s", i ? ", " : "", ds->fields[i].name);
    av_buf_puts(&b, ") VALUES (");
    for (int i = 0; i < ds->nfields; i++)
        av_buf_printf(&b, "%s?%d", i ? ", " : "", i + 1);
    av_buf_puts(&b, ")");
    if (ds->rule == AV_RULE_PUBLICATION)
        upsert_rule(&b, ds);
    else if (ds->rule == AV_RULE_RANKED)
        ranked_rule(&b, ds);
    return done(&b);
}

char *av_sqlite_sql_delete(const struct av_dataset *ds)
{
    char base[AV_SQLITE_BASE_LEN];
    struct av_buf b;

    av_buf_init(&b, 0);
    av_buf_printf(&b, "DELETE FROM %s WHERE ", av_sqlite_base(ds, base));
    parent_match(&b, ds);
    return done(&b);
}

/* Own fields of a child (those the parent does not hold), by its key. */
char *av_sqlite_sql_select_children(const struct av_dataset *ds)
{
    struct av_buf b;
    int first = 1;

    av_buf_init(&b, 0);
    av_buf_puts(&b, "SELECT ");
    for (int i = 0; i < ds->nfields; i++) {
        if (ds->fields[i].flags & AV_FF_PARENT)
            continue;
        av_buf_printf(&b, "%s%s", first ? "" : ", ", ds->fields[i].name);
        first = 0;
    }
    av_buf_printf(&b, " FROM %s WHERE ", ds->table);
    parent_match(&b, ds);
    av_buf_puts(&b, " ORDER BY ");
    key_list(&b, ds, 0);
    return done(&b);
}

/* " WHERE ..." of a query on a dataset's key (dates only when with_dates). */
static void where(struct av_buf *b, const struct av_dataset *ds, const struct av_query *q,
                  int with_dates)
{
    const char *and = " WHERE ";
    char d[AV_DATE_LEN];

    if (with_dates && q->from != INT64_MIN) {
        av_date_format(q->from, d);
        av_buf_printf(b, "%s%s >= '%s'", and, av_ds_key(ds, AV_KEY_DATE)->name, d);
        and = " AND ";
    }
    if (with_dates && q->to != INT64_MAX) {
        av_date_format(q->to, d);
        av_buf_printf(b, "%s%s <= '%s'", and, av_ds_key(ds, AV_KEY_DATE)->name, d);
        and = " AND ";
    }
    if (q->lang) {
        av_buf_printf(b, "%s%s = %d", and, av_ds_key(ds, AV_KEY_LANG)->name, q->lang);
        and = " AND ";
    }
    if (q->regions && q->nregions > 0) {
        av_buf_printf(b, "%s%s IN (", and, av_ds_key(ds, AV_KEY_REGION)->name);
        for (int i = 0; i < q->nregions; i++)
            av_buf_printf(b, "%s%d", i ? "," : "", q->regions[i]);
        av_buf_puts(b, ")");
        and = " AND ";
    }
    if (with_dates && q->after) { /* the key after the given one (row values) */
        av_date_format(q->after_date, d);
        av_buf_printf(b, "%s(%s, %s, %s) > (%d, '%s', %d)", and,
                      av_ds_key(ds, AV_KEY_REGION)->name, av_ds_key(ds, AV_KEY_DATE)->name,
                      av_ds_key(ds, AV_KEY_LANG)->name, q->after_region, d, q->after_lang);
    }
}

char *av_sqlite_sql_select(const struct av_query *q)
{
    const struct av_dataset *ds = &av_ds_warning;
    struct av_buf b;

    av_buf_init(&b, 0);
    av_buf_puts(&b, "SELECT ");
    for (int i = 0; i < ds->nfields; i++)
        av_buf_printf(&b, "%s%s", i ? ", " : "", ds->fields[i].name);
    av_buf_printf(&b, " FROM %s", ds->table);
    where(&b, ds, q, 1);
    av_buf_puts(&b, " ORDER BY ");
    key_list(&b, ds, 0);
    return done(&b);
}

char *av_sqlite_sql_select_versions(const struct av_query *q)
{
    const struct av_dataset *ds = &av_ds_version;
    struct av_query dq = *q;
    struct av_buf b;

    dq.after = 0;
    av_buf_init(&b, 0);
    av_buf_printf(&b, "SELECT %s, %s, %s, %s, %s FROM %s", av_ds_key(ds, AV_KEY_REGION)->name,
                  av_ds_key(ds, AV_KEY_DATE)->name, av_ds_key(ds, AV_KEY_LANG)->name,
                  av_ds_role(ds, AV_FF_VERSION)->name, av_ds_role(ds, AV_FF_EARLIEST)->name,
                  ds->table);
    where(&b, ds, &dq, 1);
    av_buf_puts(&b, " ORDER BY ");
    key_list(&b, ds, 0);
    return done(&b);
}

/* The warning's field at offset off (the history's fields live there). */
static const struct av_field *warning_field_at(size_t off)
{
    for (int i = 0; i < av_ds_warning.nfields; i++)
        if (av_ds_warning.fields[i].off == off)
            return &av_ds_warning.fields[i];
    return NULL;
}

/* 7 -> 8: every warning stored before is its key's one known publication,
 * first seen when the raw response it came from was fetched (or, from
 * Kafka, when it was stored). `reprocess` recovers the earlier ones the
 * raw responses hold. Generated from the descriptions: each field of the
 * history is the warning's field at the same place. */
char *av_sqlite_sql_data_migration(int version)
{
    const struct av_dataset *ds = &av_ds_version;
    const struct av_field *raw = warning_field_at(offsetof(struct av_warning, raw_id));
    const struct av_field *ing = warning_field_at(offsetof(struct av_warning, ingested_at));
    struct av_buf b;
    int n = 0;

    av_buf_init(&b, 0);
    av_buf_puts(&b, "");
    if (version != ds->since || raw == NULL || ing == NULL)
        return done(&b);
    av_buf_printf(&b, "INSERT OR IGNORE INTO %s (", ds->table);
    for (int i = 0; i < ds->nfields; i++)
        if (!(ds->fields[i].flags & AV_FF_DERIVED))
            av_buf_printf(&b, "%s%s", n++ ? ", " : "", ds->fields[i].name);
    av_buf_puts(&b, ") SELECT ");
    n = 0;
    for (int i = 0; i < ds->nfields; i++) {
        const struct av_field *f = &ds->fields[i], *w = warning_field_at(f->off);
        if (f->flags & AV_FF_DERIVED)
            continue;
        av_buf_puts(&b, n++ ? ", " : "");
        if (f->flags & AV_FF_RECORD)
            av_buf_puts(&b, "NULL"); /* the clean tables hold it */
        else if (f->flags & AV_FF_EARLIEST)
            av_buf_printf(&b, "coalesce((SELECT r.fetched_at FROM raw_response r WHERE "
                              "r.id = w.%s), w.%s)", raw->name, ing->name);
        else if (w && (f->flags & AV_FF_VERSION))
            av_buf_printf(&b, "coalesce(w.%s, '')", w->name);
        else if (w)
            av_buf_printf(&b, "w.%s", w->name);
        else
            av_buf_puts(&b, "NULL");
    }
    av_buf_printf(&b, " FROM %s w;", av_ds_warning.table);
    return done(&b);
}

char *av_sqlite_sql_stored_pub(void)
{
    const struct av_dataset *ds = &av_ds_warning;
    struct av_buf b;

    av_buf_init(&b, 0);
    av_buf_printf(&b, "SELECT %s, %s, %s FROM %s WHERE ", av_ds_role(ds, AV_FF_VERSION)->name,
                  av_ds_role(ds, AV_FF_SOURCE)->name, av_ds_role(ds, AV_FF_HASH)->name,
                  ds->table);
    parent_match(&b, ds);
    return done(&b);
}

char *av_sqlite_sql_version_record(int set)
{
    const struct av_dataset *ds = &av_ds_version;
    const char *rec = av_ds_role(ds, AV_FF_RECORD)->name;
    struct av_buf b;

    av_buf_init(&b, 0);
    if (set)
        av_buf_printf(&b, "UPDATE %s SET %s = ?5 WHERE ", ds->table, rec);
    else
        av_buf_printf(&b, "SELECT %s FROM %s WHERE ", rec, ds->table);
    parent_match(&b, ds);
    av_buf_printf(&b, " AND %s = ?4", av_ds_role(ds, AV_FF_VERSION)->name);
    return done(&b);
}

char *av_sqlite_sql_select_current(void)
{
    const struct av_dataset *ds = &av_ds_warning;
    struct av_buf b;

    av_buf_init(&b, 0);
    av_buf_puts(&b, "SELECT ");
    for (int i = 0; i < ds->nfields; i++)
        av_buf_printf(&b, "%s%s", i ? ", " : "", ds->fields[i].name);
    av_buf_printf(&b, " FROM %s WHERE ", ds->table);
    parent_match(&b, ds);
    return done(&b);
}

char *av_sqlite_sql_count(const struct av_dataset *ds, const struct av_query *q)
{
    char base[AV_SQLITE_BASE_LEN];
    struct av_buf b;

    av_buf_init(&b, 0);
    av_buf_printf(&b, "SELECT count(*) FROM %s", av_sqlite_base(ds, base));
    where(&b, ds, q, 0);
    return done(&b);
}

char *av_sqlite_sql_clear(void)
{
    char base[AV_SQLITE_BASE_LEN];
    struct av_buf b;

    av_buf_init(&b, 0);
    for (int d = 0; av_datasets[d]; d++)
        av_buf_printf(&b, "DELETE FROM %s;", av_sqlite_base(av_datasets[d], base));
    return done(&b);
}

char *av_sqlite_sql_select_rows(const struct av_dataset *ds, const struct av_query *q)
{
    const struct av_field *range = NULL;
    const char *and = " WHERE ";
    struct av_buf b;
    char t[AV_STAMP_LEN];

    for (int k = 0; k < ds->nkeys; k++) {
        const struct av_field *f = av_ds_key(ds, k);
        if (f->type == AV_FT_DATE || f->type == AV_FT_TIME)
            range = f;
    }
    av_buf_init(&b, 0);
    av_buf_puts(&b, "SELECT ");
    for (int i = 0; i < ds->nfields; i++)
        av_buf_printf(&b, "%s%s", i ? ", " : "", ds->fields[i].name);
    av_buf_printf(&b, " FROM %s", ds->table);
    if (q->regions && q->nregions > 0) {
        av_buf_printf(&b, "%s%s IN (", and, av_ds_key(ds, 0)->name);
        for (int i = 0; i < q->nregions; i++)
            av_buf_printf(&b, "%s%d", i ? "," : "", q->regions[i]);
        av_buf_puts(&b, ")");
        and = " AND ";
    }
    if (range && range->type == AV_FT_TIME && (q->from_ms || q->to_ms)) {
        av_stamp_format(q->from_ms, t);
        av_buf_printf(&b, "%s%s >= '%s'", and, range->name, t);
        av_stamp_format(q->to_ms, t);
        av_buf_printf(&b, " AND %s < '%s'", range->name, t);
    } else if (range && range->type == AV_FT_DATE) {
        if (q->from != INT64_MIN) {
            av_date_format(q->from, t);
            av_buf_printf(&b, "%s%s >= '%s'", and, range->name, t);
            and = " AND ";
        }
        if (q->to != INT64_MAX) {
            av_date_format(q->to, t);
            av_buf_printf(&b, "%s%s <= '%s'", and, range->name, t);
        }
    }
    av_buf_puts(&b, " ORDER BY ");
    key_list(&b, ds, 0);
    return done(&b);
}

/* ---- names stored once (AV_FF_NAME, sqlite_int.h) ---- */

char *av_sqlite_sql_names_convert(const struct av_dataset *ds, const char *src,
                                  const unsigned char *lookup)
{
    char base[AV_SQLITE_BASE_LEN];
    const char *t = av_sqlite_base(ds, base);
    struct av_buf b;
    int n = 0;

    av_buf_init(&b, 0);
    if (strcmp(src, t) == 0) { /* a base table gets more names: rebuilt from a copy */
        av_buf_printf(&b, "DROP VIEW IF EXISTS %s;", ds->table);
        av_buf_printf(&b, "ALTER TABLE %s RENAME TO %s_old;", t, t);
        src = NULL;
    }
    for (int i = 0; i < ds->nfields; i++)
        if (lookup[i])
            av_buf_printf(&b, "INSERT OR IGNORE INTO names (value) SELECT DISTINCT %s FROM %s%s "
                              "WHERE %s IS NOT NULL;",
                          ds->fields[i].name, src ? src : t, src ? "" : "_old", ds->fields[i].name);
    create_table(&b, ds, t, INT_MAX, 1);
    av_buf_printf(&b, "INSERT INTO %s (", t);
    for (int i = 0; i < ds->nfields; i++)
        if (!(ds->fields[i].flags & AV_FF_DERIVED))
            av_buf_printf(&b, "%s%s", n++ ? ", " : "", ds->fields[i].name);
    av_buf_puts(&b, ") SELECT ");
    n = 0;
    for (int i = 0; i < ds->nfields; i++) {
        const char *c = ds->fields[i].name;
        if (ds->fields[i].flags & AV_FF_DERIVED)
            continue;
        if (lookup[i])
            av_buf_printf(&b, "%s(SELECT id FROM names WHERE value = o.%s)", n++ ? ", " : "", c);
        else
            av_buf_printf(&b, "%so.%s", n++ ? ", " : "", c);
    }
    if (src)
        av_buf_printf(&b, " FROM %s o;DROP TABLE %s;", src, src);
    else
        av_buf_printf(&b, " FROM %s_old o;DROP TABLE %s_old;", t, t);
    return done(&b);
}

/* The names among NEW's values, stored (in a trigger). */
static void new_names(struct av_buf *b, const struct av_dataset *ds)
{
    for (int i = 0; i < ds->nfields; i++)
        if (ds->fields[i].flags & AV_FF_NAME)
            av_buf_printf(b, "INSERT OR IGNORE INTO names (value) SELECT NEW.%s WHERE NEW.%s IS "
                             "NOT NULL;",
                          ds->fields[i].name, ds->fields[i].name);
}

/* NEW's value of field i as the base table stores it. */
static void new_value(struct av_buf *b, const struct av_field *f)
{
    if (f->flags & AV_FF_NAME)
        av_buf_printf(b, "(SELECT id FROM names WHERE value = NEW.%s)", f->name);
    else
        av_buf_printf(b, "NEW.%s", f->name);
}

/* INSERT, UPDATE and DELETE on the view write the base table, so the
 * documented table stays writable by hand (sqlite3 shell) as before. */
static void view_triggers(struct av_buf *b, const struct av_dataset *ds, const char *t)
{
    const char *v = ds->table;
    int n = 0;

    av_buf_printf(b, "CREATE TRIGGER %s_insert INSTEAD OF INSERT ON %s BEGIN ", v, v);
    new_names(b, ds);
    av_buf_printf(b, "INSERT INTO %s (", t);
    for (int i = 0; i < ds->nfields; i++)
        if (!(ds->fields[i].flags & AV_FF_DERIVED))
            av_buf_printf(b, "%s%s", n++ ? ", " : "", ds->fields[i].name);
    av_buf_puts(b, ") VALUES (");
    n = 0;
    for (int i = 0; i < ds->nfields; i++)
        if (!(ds->fields[i].flags & AV_FF_DERIVED)) {
            av_buf_puts(b, n++ ? ", " : "");
            new_value(b, &ds->fields[i]);
        }
    av_buf_puts(b, "); END;");
    av_buf_printf(b, "CREATE TRIGGER %s_update INSTEAD OF UPDATE ON %s BEGIN ", v, v);
    new_names(b, ds);
    av_buf_printf(b, "UPDATE %s SET ", t);
    n = 0;
    for (int i = 0; i < ds->nfields; i++)
        if (!(ds->fields[i].flags & AV_FF_DERIVED)) {
            av_buf_printf(b, "%s%s = ", n++ ? ", " : "", ds->fields[i].name);
            new_value(b, &ds->fields[i]);
        }
    av_buf_puts(b, " WHERE ");
    for (int k = 0; k < ds->nkeys; k++)
        av_buf_printf(b, "%s%s = OLD.%s", k ? " AND " : "", av_ds_key(ds, k)->name,
                      av_ds_key(ds, k)->name);
    av_buf_puts(b, "; END;");
    av_buf_printf(b, "CREATE TRIGGER %s_delete INSTEAD OF DELETE ON %s BEGIN DELETE FROM %s WHERE ",
                  v, v, t);
    for (int k = 0; k < ds->nkeys; k++)
        av_buf_printf(b, "%s%s = OLD.%s", k ? " AND " : "", av_ds_key(ds, k)->name,
                      av_ds_key(ds, k)->name);
    av_buf_puts(b, "; END;");
}

char *av_sqlite_sql_names_view(const struct av_dataset *ds)
{
    char base[AV_SQLITE_BASE_LEN];
    struct av_buf b;
    int n = 0;

    av_buf_init(&b, 0);
    av_buf_printf(&b, "DROP VIEW IF EXISTS %s;CREATE VIEW %s AS SELECT ", ds->table, ds->table);
    for (int i = 0; i < ds->nfields; i++) {
        const char *c = ds->fields[i].name;
        if (ds->fields[i].flags & AV_FF_DERIVED)
            continue;
        if (ds->fields[i].flags & AV_FF_NAME)
            av_buf_printf(&b, "%sn%d.value AS %s", n++ ? ", " : "", i, c);
        else
            av_buf_printf(&b, "%sr.%s AS %s", n++ ? ", " : "", c, c);
    }
    /* joins, not subqueries: the rowid lookups cost next to nothing then
     * (measured: bench notes), and a query that uses no name skips them */
    av_buf_printf(&b, " FROM %s r", av_sqlite_base(ds, base));
    for (int i = 0; i < ds->nfields; i++)
        if (ds->fields[i].flags & AV_FF_NAME)
            av_buf_printf(&b, " LEFT JOIN names n%d ON n%d.id = r.%s", i, i,
                          ds->fields[i].name);
    av_buf_puts(&b, ";");
    view_triggers(&b, ds, av_sqlite_base(ds, base));
    return done(&b);
}
