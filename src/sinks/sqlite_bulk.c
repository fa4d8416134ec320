/* sqlite_bulk.c - the rebuild's bulk path of the SQLite sink (the rules:
 * sqlite_int.h, "The rebuild's bulk path"): one batch of rows per table
 * (the history, the warning, its children), the key map telling a new key,
 * and the eponymous virtual table each batch is read through by its
 * INSERT ... SELECT. Used by the writer thread only. */
#include "sqlite_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One value of a batch: a text as an offset into the batch's bytes. */
struct bval {
    int type; /* SQLITE_NULL, SQLITE_INTEGER, SQLITE_FLOAT, SQLITE_TEXT */
    int len;
    union {
        int64_t i;
        double d;
        size_t off;
    } u;
};

struct batch {
    struct sq_ds *x;   /* its dataset and scratch */
    int ncols;         /* values per row: the columns its INSERT names */
    size_t rows, cap;  /* rows held, rows allocated */
    struct bval *v;    /* rows * ncols */
    struct av_buf text;
    sqlite3_stmt *ins; /* INSERT INTO <base> (...) SELECT ... FROM <module> */
    char module[AV_SQLITE_BASE_LEN + 16];
};

/* the history, the warning, then its children */
#define NBATCH (SQ_NDS + 1)

struct sq_bulk {
    int on;
    unsigned char *map; /* keys put since the clear, SQ_BULK_MAP_BYTES */
    struct batch b[NBATCH];
};

/* ---- the virtual table: a batch's rows as columns c0, c1, ... ---- */

struct bvtab {
    sqlite3_vtab base;
    struct batch *b;
};

struct bcur {
    sqlite3_vtab_cursor base;
    size_t row;
};

static int vt_connect(sqlite3 *db, void *aux, int argc, const char *const *argv,
                      sqlite3_vtab **out, char **err)
{
    struct batch *b = aux;
    struct bvtab *t;
    struct av_buf sql;
    int rc;

    (void)argc;
    (void)argv;
    (void)err;
    av_buf_init(&sql, 0);
    av_buf_puts(&sql, "CREATE TABLE x(");
    for (int i = 0; i < b->ncols; i++)
        av_buf_printf(&sql, "%sc%d", i ? ", " : "", i);
    av_buf_puts(&sql, ")");
    rc = sql.failed ? SQLITE_NOMEM : sqlite3_declare_vtab(db, sql.data);
    av_buf_free(&sql);
    if (rc != SQLITE_OK)
        return rc;
    if ((t = sqlite3_malloc(sizeof(*t))) == NULL)
        return SQLITE_NOMEM;
    memset(t, 0, sizeof(*t));
    t->b = b;
    *out = &t->base;
    return SQLITE_OK;
}

static int vt_best_index(sqlite3_vtab *t, sqlite3_index_info *ix)
{
    (void)t;
    ix->estimatedCost = 512;
    ix->estimatedRows = 512;
    return SQLITE_OK;
}

static int vt_disconnect(sqlite3_vtab *t)
{
    sqlite3_free(t);
    return SQLITE_OK;
}

static int vt_open(sqlite3_vtab *t, sqlite3_vtab_cursor **out)
{
    struct bcur *c = sqlite3_malloc(sizeof(*c));

    (void)t;
    if (c == NULL)
        return SQLITE_NOMEM;
    memset(c, 0, sizeof(*c));
    *out = &c->base;
    return SQLITE_OK;
}

static int vt_close(sqlite3_vtab_cursor *c)
{
    sqlite3_free(c);
    return SQLITE_OK;
}

static int vt_filter(sqlite3_vtab_cursor *c, int idx, const char *s, int argc,
                     sqlite3_value **argv)
{
    (void)idx;
    (void)s;
    (void)argc;
    (void)argv;
    ((struct bcur *)c)->row = 0;
    return SQLITE_OK;
}

static int vt_next(sqlite3_vtab_cursor *c)
{
    ((struct bcur *)c)->row++;
    return SQLITE_OK;
}

static int vt_eof(sqlite3_vtab_cursor *c)
{
    return ((struct bcur *)c)->row >= ((struct bvtab *)c->pVtab)->b->rows;
}

static int vt_column(sqlite3_vtab_cursor *c, sqlite3_context *ctx, int i)
{
    const struct batch *b = ((struct bvtab *)c->pVtab)->b;
    const struct bval *v = &b->v[((struct bcur *)c)->row * (size_t)b->ncols + (size_t)i];

    switch (v->type) {
    case SQLITE_INTEGER:
        sqlite3_result_int64(ctx, v->u.i);
        break;
    case SQLITE_FLOAT:
        sqlite3_result_double(ctx, v->u.d);
        break;
    case SQLITE_TEXT: /* the batch keeps it until the statement is done */
        sqlite3_result_text(ctx, b->text.data + v->u.off, v->len, SQLITE_STATIC);
        break;
    default:
        sqlite3_result_null(ctx);
    }
    return SQLITE_OK;
}

static int vt_rowid(sqlite3_vtab_cursor *c, sqlite3_int64 *rowid)
{
    *rowid = (sqlite3_int64)((struct bcur *)c)->row;
    return SQLITE_OK;
}

/* Eponymous-only (no xCreate): read as "FROM <module name>". */
static const sqlite3_module vt_module = {
    .xConnect = vt_connect,
    .xBestIndex = vt_best_index,
    .xDisconnect = vt_disconnect,
    .xDestroy = vt_disconnect,
    .xOpen = vt_open,
    .xClose = vt_close,
    .xFilter = vt_filter,
    .xNext = vt_next,
    .xEof = vt_eof,
    .xColumn = vt_column,
    .xRowid = vt_rowid,
};

/* ---- the batches ---- */

/* The fields a batch's rows hold: the history's stored ones (not
 * AV_FF_DERIVED), every field of the others. */
static int holds(const struct batch *b, const struct av_field *f)
{
    return b->x->ds->rule != AV_RULE_VERSION || !(f->flags & AV_FF_DERIVED);
}

/* b's INSERT ... SELECT, with the conflict rule and expressions of its
 * usual statement where a new key can still meet them: a child's OR
 * REPLACE (two of one warning with one id: the later wins), the history
 * key's absent version as '' (sqlite_schema.c, version_insert). */
static char *flush_sql(const struct batch *b)
{
    const struct av_dataset *ds = b->x->ds;
    char base[AV_SQLITE_BASE_LEN];
    struct av_buf q;
    int n = 0;

    av_buf_init(&q, 0);
    av_buf_printf(&q, "INSERT %sINTO %s (", ds->rule == AV_RULE_CHILD ? "OR REPLACE " : "",
                  av_sqlite_base(ds, base));
    for (int i = 0; i < ds->nfields; i++)
        if (holds(b, &ds->fields[i]))
            av_buf_printf(&q, "%s%s", n++ ? ", " : "", ds->fields[i].name);
    av_buf_puts(&q, ") SELECT ");
    n = 0;
    for (int i = 0; i < ds->nfields; i++) {
        const struct av_field *f = &ds->fields[i];
        if (!holds(b, f))
            continue;
        if (ds->rule == AV_RULE_VERSION && (f->flags & AV_FF_VERSION) && (f->flags & AV_FF_KEY))
            av_buf_printf(&q, "%scoalesce(c%d, '')", n ? ", " : "", n);
        else
            av_buf_printf(&q, "%sc%d", n ? ", " : "", n);
        n++;
    }
    av_buf_printf(&q, " FROM %s", b->module);
    if (q.failed) {
        av_buf_free(&q);
        return NULL;
    }
    return q.data;
}

/* A new row of b: its ncols values, to be filled (NULL: out of memory). */
static struct bval *row_add(struct batch *b)
{
    if (b->rows == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        struct bval *v = realloc(b->v, cap * (size_t)b->ncols * sizeof(*v));
        if (v == NULL)
            return NULL;
        b->v = v;
        b->cap = cap;
    }
    return &b->v[b->rows++ * (size_t)b->ncols];
}

static av_rc val_keep(struct batch *b, struct bval *dst, const struct sq_val *v)
{
    dst->type = v->type;
    if (v->type == SQLITE_INTEGER)
        dst->u.i = v->i;
    else if (v->type == SQLITE_FLOAT)
        dst->u.d = v->d;
    else if (v->type == SQLITE_TEXT) {
        dst->u.off = b->text.len;
        dst->len = v->len;
        return av_buf_append(&b->text, v->s, (size_t)v->len);
    }
    return AV_OK;
}

/* One record (w: its warning) into b, each value as the usual put binds
 * it: the history's as av_sqlite_put_version does for a new key (no
 * record: it is the clean tables' one), the others' by sq_store_val. */
static av_rc add_record(struct sqlite_sink *k, struct batch *b, const struct av_warning *w,
                        const void *rec, char *errbuf)
{
    const struct av_dataset *ds = b->x->ds;
    struct bval *row = row_add(b);
    av_rc rc = row ? AV_OK : AV_ENOMEM;
    int n = 0;

    for (int i = 0; i < ds->nfields && rc == AV_OK; i++) {
        const struct av_field *f = &ds->fields[i];
        const void *p = av_field_ptr(f, w, rec);
        struct sq_val v;
        if (!holds(b, f))
            continue;
        if (ds->rule != AV_RULE_VERSION)
            rc = sq_store_val(k, f, p, b->x->scratch[i], &v, errbuf);
        else if (f->flags & AV_FF_RECORD)
            v.type = SQLITE_NULL;
        else
            sq_field_val(k, f, p, b->x->scratch[i], &v);
        if (rc == AV_OK)
            rc = val_keep(b, &row[n++], &v);
    }
    if (rc == AV_ENOMEM)
        return av_fail(errbuf, AV_ENOMEM, "out of memory batching a rebuild's rows");
    return rc;
}

/* The bit of w's key in the key map; -1 outside it. */
static long key_bit(const struct av_warning *w)
{
    long r = w->region_id - 3000L, d = (long)(w->valid_date - 10957), l = w->lang - 1L;

    if (r < 0 || r >= 128 || d < 0 || d >= 16384 || l < 0 || l > 1)
        return -1;
    return (r * 16384 + d) * 2 + l;
}

static av_rc bulk_init(struct sqlite_sink *k, char *errbuf)
{
    struct sq_bulk *u = calloc(1, sizeof(*u));
    char base[AV_SQLITE_BASE_LEN];
    av_rc rc = AV_OK;

    if (u == NULL)
        return av_fail(errbuf, AV_ENOMEM, "out of memory starting a rebuild");
    k->bulk = u;
    for (int i = 0; i < NBATCH && rc == AV_OK; i++) {
        struct batch *b = &u->b[i];
        char *sql;
        b->x = &k->ds[i == 0 ? SQ_VER : i - 1];
        for (int f = 0; f < b->x->ds->nfields; f++)
            b->ncols += holds(b, &b->x->ds->fields[f]);
        av_buf_init(&b->text, 0);
        snprintf(b->module, sizeof(b->module), "av_batch_%s", av_sqlite_base(b->x->ds, base));
        if (sqlite3_create_module_v2(k->st->db, b->module, &vt_module, b, NULL) != SQLITE_OK) {
            rc = av_sqlite_err(k->st, errbuf, "start the rebuild");
            break;
        }
        if ((sql = flush_sql(b)) == NULL) {
            rc = av_fail(errbuf, AV_ENOMEM, "out of memory starting a rebuild");
            break;
        }
        if (sqlite3_prepare_v3(k->st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &b->ins, NULL) !=
            SQLITE_OK)
            rc = av_sqlite_err(k->st, errbuf, "prepare the rebuild");
        free(sql);
    }
    if (rc != AV_OK)
        av_sqlite_bulk_free(k);
    return rc;
}

av_rc av_sqlite_bulk_start(struct sqlite_sink *k, char *errbuf)
{
    av_rc rc;

    if (k->bulk_rows <= 0) /* off: every row the usual way */
        return AV_OK;
    if ((rc = k->bulk ? AV_OK : bulk_init(k, errbuf)) != AV_OK)
        return rc;
    av_sqlite_bulk_stop(k);
    if ((k->bulk->map = calloc(1, SQ_BULK_MAP_BYTES)) == NULL)
        return av_fail(errbuf, AV_ENOMEM, "out of memory starting a rebuild");
    k->bulk->on = 1;
    k->st->rebuild = k;
    return AV_OK;
}

int av_sqlite_bulk_put(struct sqlite_sink *k, const struct av_warning *w, int *changed, av_rc *rc,
                char *errbuf)
{
    struct sq_bulk *u = k->bulk;
    long bit;

    *rc = AV_OK;
    if (u == NULL || !u->on)
        return 0;
    bit = key_bit(w);
    if (bit < 0 || (u->map[bit >> 3] & (1u << (bit & 7)))) {
        *rc = av_sqlite_bulk_flush(k, errbuf); /* then the usual way, which reads */
        return 0;
    }
    u->map[bit >> 3] |= (unsigned char)(1u << (bit & 7));
    /* the usual put's order: history, warning (its names first), children */
    *rc = add_record(k, &u->b[0], w, w, errbuf);
    if (*rc == AV_OK)
        *rc = add_record(k, &u->b[1], w, w, errbuf);
    for (int d = 1; d < SQ_NDS && *rc == AV_OK; d++)
        for (int r = 0; r < av_ds_count(k->ds[d].ds, w) && *rc == AV_OK; r++)
            *rc = add_record(k, &u->b[d + 1], w, av_ds_record(k->ds[d].ds, w, r), errbuf);
    for (int i = 0; i < NBATCH && *rc == AV_OK; i++)
        if (u->b[i].rows >= (size_t)k->bulk_rows || u->b[i].text.len >= SQ_BULK_TEXT) {
            *rc = av_sqlite_bulk_flush(k, errbuf);
            break;
        }
    *changed = 1;
    return 1;
}

/* Empties every batch (their memory kept). */
static void drop_rows(struct sq_bulk *u)
{
    for (int i = 0; i < NBATCH; i++) {
        u->b[i].rows = 0;
        av_buf_reset(&u->b[i].text);
    }
}

av_rc av_sqlite_bulk_flush(struct sqlite_sink *k, char *errbuf)
{
    struct sq_bulk *u = k->bulk;
    av_rc rc = AV_OK;

    if (u == NULL || !u->on)
        return AV_OK;
    for (int i = 0; i < NBATCH && rc == AV_OK; i++) {
        struct batch *b = &u->b[i];
        int r;
        if (b->rows == 0)
            continue;
        r = sqlite3_step(b->ins);
        sqlite3_reset(b->ins);
        if (r != SQLITE_DONE) /* the rebuild fails: its transaction is rolled back */
            rc = av_sqlite_err(k->st, errbuf, "store warnings (rebuild)");
    }
    drop_rows(u);
    return rc;
}

void av_sqlite_bulk_stop(struct sqlite_sink *k)
{
    struct sq_bulk *u = k->bulk;

    if (u == NULL)
        return;
    drop_rows(u);
    free(u->map);
    u->map = NULL;
    u->on = 0;
    if (k->st->rebuild == k)
        k->st->rebuild = NULL;
}

void av_sqlite_bulk_free(struct sqlite_sink *k)
{
    struct sq_bulk *u = k->bulk;

    if (u == NULL)
        return;
    av_sqlite_bulk_stop(k);
    for (int i = 0; i < NBATCH; i++) {
        struct batch *b = &u->b[i];
        sqlite3_finalize(b->ins);
        if (b->module[0]) /* no module by that name any more */
            sqlite3_create_module_v2(k->st->db, b->module, NULL, NULL, NULL);
        av_buf_free(&b->text);
        free(b->v);
    }
    free(u);
    k->bulk = NULL;
}
