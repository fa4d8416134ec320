/* cql_result.c - RESULT bodies of CQL native protocol v4 (Void, Rows,
 * Set_keyspace, Prepared, Schema_change) and the result accessors of
 * cql.h (av_cql_result_*).
 *
 * Not here: the reader it is built on (cql_wire.c), ERROR (cql_error.c).
 * No I/O; the format of struct av_cql_result is in cql_frame.h.
 *
 * Owns: a decoded result owns a copy of the body (cells and the paging
 * state point into it) and NUL-terminated copies of names; free it with
 * av_cql_result_free(). How it fails: counts read from the wire are checked
 * against the bytes that remain before anything is allocated; malformed
 * bodies give AV_EPARSE (AV_ENOMEM when out of memory) with one line in
 * errbuf, and av_cql_result_decode() then frees everything it built and
 * leaves *out untouched. The accessors never read past a cell: a cell whose
 * length does not fit its type is AV_EPARSE, a bad row or column AV_EINVAL.
 */
#include "cql_frame.h"

#include <stdlib.h>
#include <string.h>

#define MAX_TYPE_DEPTH 32 /* nesting of list<map<...>> options */

/* ---- RESULT ------------------------------------------------------------ */

static av_rc dup_str(struct av_cql_rd *r, char **out, const char *what)
{
    const char *s;
    size_t n;
    av_rc rc;

    if ((rc = av_cql_rd_string(r, &s, &n, what)) != AV_OK)
        return rc;
    *out = malloc(n + 1);
    if (*out == NULL)
        return av_fail(r->errbuf, AV_ENOMEM, "out of memory decoding a CQL result");
    memcpy(*out, s, n);
    (*out)[n] = '\0';
    return AV_OK;
}

/* An [option]: the type of a column, recursively for collections, UDTs
 * and tuples. *t is how we read the values (AV_CQL_OTHER: raw bytes). */
static av_rc rd_option(struct av_cql_rd *r, int depth, uint16_t *id, enum av_cql_type *t)
{
    uint16_t sub_id, n;
    enum av_cql_type sub;
    const char *s;
    size_t len;
    av_rc rc;

    if (depth > MAX_TYPE_DEPTH)
        return av_fail(r->errbuf, AV_EPARSE,
                       "malformed CQL body: column type nested deeper than %d at offset %zu",
                       MAX_TYPE_DEPTH, r->off);
    if ((rc = av_cql_rd_short(r, id, "column type")) != AV_OK)
        return rc;
    switch (*id) {
    case 0x0000: /* custom: Java class name (duration, vector, ...) */
        *t = AV_CQL_OTHER;
        return av_cql_rd_string(r, &s, &len, "custom type class");
    case 0x0001: case 0x000D: *t = AV_CQL_TEXT; return AV_OK;
    case 0x0002: case 0x0005: *t = AV_CQL_BIGINT; return AV_OK;
    case 0x0003: *t = AV_CQL_BLOB; return AV_OK;
    case 0x0004: *t = AV_CQL_BOOLEAN; return AV_OK;
    case 0x0007: *t = AV_CQL_DOUBLE; return AV_OK;
    case 0x0009: *t = AV_CQL_INT; return AV_OK;
    case 0x000B: *t = AV_CQL_TIMESTAMP; return AV_OK;
    case 0x000C: case 0x000F: *t = AV_CQL_UUID; return AV_OK;
    case 0x0011: *t = AV_CQL_DATE; return AV_OK;
    case 0x0013: *t = AV_CQL_SMALLINT; return AV_OK;
    case 0x0014: *t = AV_CQL_TINYINT; return AV_OK;
    case 0x0006: case 0x0008: case 0x000E: case 0x0010: case 0x0012:
        *t = AV_CQL_OTHER; /* decimal, float, varint, inet, time */
        return AV_OK;
    case 0x0020: /* list */
    case 0x0022: /* set */
        if ((rc = rd_option(r, depth + 1, &sub_id, &sub)) != AV_OK)
            return rc;
        *t = sub == AV_CQL_TEXT ? AV_CQL_LIST_TEXT : AV_CQL_OTHER;
        return AV_OK;
    case 0x0021: /* map */
        *t = AV_CQL_OTHER;
        if ((rc = rd_option(r, depth + 1, &sub_id, &sub)) != AV_OK)
            return rc;
        return rd_option(r, depth + 1, &sub_id, &sub);
    case 0x0030: /* UDT: ks, name, n x (field name, type) */
        *t = AV_CQL_OTHER;
        if ((rc = av_cql_rd_string(r, &s, &len, "UDT keyspace")) != AV_OK ||
            (rc = av_cql_rd_string(r, &s, &len, "UDT name")) != AV_OK ||
            (rc = av_cql_rd_short(r, &n, "UDT field count")) != AV_OK)
            return rc;
        for (int i = 0; i < n; i++) {
            if ((rc = av_cql_rd_string(r, &s, &len, "UDT field name")) != AV_OK ||
                (rc = rd_option(r, depth + 1, &sub_id, &sub)) != AV_OK)
                return rc;
        }
        return AV_OK;
    case 0x0031: /* tuple: n x type */
        *t = AV_CQL_OTHER;
        if ((rc = av_cql_rd_short(r, &n, "tuple size")) != AV_OK)
            return rc;
        for (int i = 0; i < n; i++)
            if ((rc = rd_option(r, depth + 1, &sub_id, &sub)) != AV_OK)
                return rc;
        return AV_OK;
    default:
        return av_fail(r->errbuf, AV_EPARSE,
                       "malformed CQL body: unknown column type 0x%04x at offset %zu", *id,
                       r->off - 2);
    }
}

static void free_cols(struct av_cql_col *cols, int n)
{
    if (cols == NULL)
        return;
    for (int i = 0; i < n; i++)
        free(cols[i].name);
    free(cols);
}

/* [global_table_spec?] + count x col_spec. Each spec takes at least 4 bytes
 * (name + type), checked before allocating. */
static av_rc rd_col_specs(struct av_cql_rd *r, int32_t flags, int32_t count,
                          struct av_cql_col **out, char **ks)
{
    struct av_cql_col *cols = NULL;
    const char *s;
    size_t len;
    av_rc rc;

    if (flags & AV_CQL_M_GLOBAL_TABLES_SPEC) {
        if ((rc = av_cql_rd_string(r, &s, &len, "global keyspace")) != AV_OK)
            return rc;
        if (ks != NULL && *ks == NULL && (*ks = strndup(s, len)) == NULL)
            return av_fail(r->errbuf, AV_ENOMEM, "out of memory decoding CQL metadata");
        if ((rc = av_cql_rd_string(r, &s, &len, "global table")) != AV_OK)
            return rc;
    }
    if ((size_t)count > (r->n - r->off) / 4)
        return av_fail(r->errbuf, AV_EPARSE,
                       "malformed CQL body: %ld column specs cannot fit in %zu bytes",
                       (long)count, r->n - r->off);
    if (count == 0) {
        *out = NULL;
        return AV_OK;
    }
    cols = calloc((size_t)count, sizeof(*cols));
    if (cols == NULL)
        return av_fail(r->errbuf, AV_ENOMEM, "out of memory decoding CQL metadata");
    for (int32_t i = 0; i < count; i++) {
        if (!(flags & AV_CQL_M_GLOBAL_TABLES_SPEC)) {
            if ((rc = av_cql_rd_string(r, &s, &len, "column keyspace")) != AV_OK)
                goto fail;
            if (ks != NULL && *ks == NULL && (*ks = strndup(s, len)) == NULL) {
                rc = av_fail(r->errbuf, AV_ENOMEM, "out of memory decoding CQL metadata");
                goto fail;
            }
            if ((rc = av_cql_rd_string(r, &s, &len, "column table")) != AV_OK)
                goto fail;
        }
        if ((rc = dup_str(r, &cols[i].name, "column name")) != AV_OK ||
            (rc = rd_option(r, 0, &cols[i].type_id, &cols[i].type)) != AV_OK)
            goto fail;
    }
    *out = cols;
    return AV_OK;

fail:
    free_cols(cols, count);
    return rc;
}

/* Rows <metadata>: flags, columns_count, paging state?, specs unless
 * No_metadata. Fills ncols, cols, has_metadata, paging. */
static av_rc rd_rows_metadata(struct av_cql_rd *r, struct av_cql_result *res)
{
    int32_t flags, count, plen;
    const uint8_t *pst;
    av_rc rc;

    if ((rc = av_cql_rd_int(r, &flags, "metadata flags")) != AV_OK ||
        (rc = av_cql_rd_int(r, &count, "column count")) != AV_OK)
        return rc;
    if (count < 0)
        return av_fail(r->errbuf, AV_EPARSE, "malformed CQL body: negative column count %ld",
                       (long)count);
    if (flags & AV_CQL_M_HAS_MORE_PAGES) {
        if ((rc = av_cql_rd_bytes(r, &pst, &plen, "paging state")) != AV_OK)
            return rc;
        if (plen >= 0) {
            res->paging = pst;
            res->paging_len = (size_t)plen;
        }
    }
    res->ncols = count;
    if (flags & AV_CQL_M_NO_METADATA) {
        res->has_metadata = 0;
        return AV_OK;
    }
    res->has_metadata = 1;
    return rd_col_specs(r, flags, count, &res->cols, NULL);
}

static av_rc rd_rows(struct av_cql_rd *r, struct av_cql_result *res)
{
    int32_t nrows;
    size_t ncells;
    av_rc rc;

    if ((rc = rd_rows_metadata(r, res)) != AV_OK)
        return rc;
    if ((rc = av_cql_rd_int(r, &nrows, "row count")) != AV_OK)
        return rc;
    if (nrows < 0)
        return av_fail(r->errbuf, AV_EPARSE, "malformed CQL body: negative row count %ld",
                       (long)nrows);
    res->nrows = nrows;
    if (res->ncols == 0 || nrows == 0)
        return AV_OK;
    /* every cell takes at least its 4-byte length */
    if ((size_t)nrows > (r->n - r->off) / 4 / (size_t)res->ncols)
        return av_fail(r->errbuf, AV_EPARSE,
                       "malformed CQL body: %ld rows x %d columns cannot fit in %zu bytes",
                       (long)nrows, res->ncols, r->n - r->off);
    ncells = (size_t)nrows * (size_t)res->ncols;
    res->cells = calloc(ncells, sizeof(*res->cells));
    if (res->cells == NULL)
        return av_fail(r->errbuf, AV_ENOMEM, "out of memory for %zu CQL cells", ncells);
    for (size_t i = 0; i < ncells; i++) {
        if ((rc = av_cql_rd_bytes(r, &res->cells[i].p, &res->cells[i].len, "cell")) != AV_OK)
            return rc;
    }
    return AV_OK;
}

static av_rc rd_prepared(struct av_cql_rd *r, struct av_cql_result *res)
{
    int32_t flags, count, pk_count;
    const uint8_t *q;
    av_rc rc;

    if ((rc = av_cql_rd_short_bytes(r, &res->prep_id, &res->prep_id_len, "prepared id")) !=
            AV_OK ||
        (rc = av_cql_rd_int(r, &flags, "prepared flags")) != AV_OK ||
        (rc = av_cql_rd_int(r, &count, "bind marker count")) != AV_OK ||
        (rc = av_cql_rd_int(r, &pk_count, "partition key count")) != AV_OK)
        return rc;
    if (res->prep_id_len == 0)
        return av_fail(r->errbuf, AV_EPARSE, "malformed CQL body: empty prepared id");
    if (count < 0 || pk_count < 0)
        return av_fail(r->errbuf, AV_EPARSE,
                       "malformed CQL body: negative bind marker or key count");
    if ((size_t)pk_count > (r->n - r->off) / 2)
        return av_fail(r->errbuf, AV_EPARSE,
                       "malformed CQL body: %ld key indexes cannot fit in %zu bytes",
                       (long)pk_count, r->n - r->off);
    if ((rc = av_cql_rd_raw(r, (size_t)pk_count * 2, &q, "partition key indexes")) != AV_OK)
        return rc;
    if ((rc = rd_col_specs(r, flags, count, &res->params, &res->prep_ks)) != AV_OK)
        return rc;
    res->nparams = count;
    /* the key's bind markers, for token routing: only when all are usable */
    if (pk_count <= 16) {
        for (int32_t i = 0; i < pk_count; i++) {
            uint16_t k = (uint16_t)(q[2 * i] << 8 | q[2 * i + 1]);
            if (k >= count) {
                pk_count = 0;
                break;
            }
            res->pk[i] = k;
        }
        res->npk = (int)pk_count;
    }
    return rd_rows_metadata(r, res);
}

static av_rc rd_schema_change(struct av_cql_rd *r, struct av_cql_result *res)
{
    int args;
    av_rc rc;

    if ((rc = dup_str(r, &res->change_type, "schema change type")) != AV_OK ||
        (rc = dup_str(r, &res->target, "schema change target")) != AV_OK ||
        (rc = dup_str(r, &res->keyspace, "schema change keyspace")) != AV_OK)
        return rc;
    if (strcmp(res->target, "KEYSPACE") == 0)
        return AV_OK;
    if ((rc = dup_str(r, &res->name, "schema change name")) != AV_OK)
        return rc;
    if (strcmp(res->target, "TABLE") == 0 || strcmp(res->target, "TYPE") == 0)
        return AV_OK;
    if (strcmp(res->target, "FUNCTION") == 0 || strcmp(res->target, "AGGREGATE") == 0)
        return av_cql_rd_string_list(r, &args, "function argument types");
    return av_fail(r->errbuf, AV_EPARSE, "malformed CQL body: schema change target \"%.40s\"",
                   res->target);
}

void av_cql_result_free(struct av_cql_result *r)
{
    if (r == NULL)
        return;
    free_cols(r->cols, r->ncols);
    free_cols(r->params, r->nparams);
    free(r->cells);
    free(r->keyspace);
    free(r->change_type);
    free(r->target);
    free(r->name);
    free(r->prep_ks);
    free(r->body);
    free(r);
}

av_rc av_cql_result_decode(struct av_cql_result **out, const uint8_t *body, size_t n,
                           char *errbuf)
{
    struct av_cql_result *res;
    struct av_cql_rd r;
    int32_t kind;
    av_rc rc;

    res = calloc(1, sizeof(*res));
    if (res == NULL)
        return av_fail(errbuf, AV_ENOMEM, "out of memory decoding a CQL result");
    res->body = malloc(n ? n : 1);
    if (res->body == NULL) {
        free(res);
        return av_fail(errbuf, AV_ENOMEM, "out of memory for a CQL result of %zu bytes", n);
    }
    if (n)
        memcpy(res->body, body, n);
    res->body_len = n;
    av_cql_rd_init(&r, res->body, n, errbuf);
    if ((rc = av_cql_rd_int(&r, &kind, "result kind")) != AV_OK)
        goto fail;
    res->kind = kind;
    switch (kind) {
    case AV_CQL_RESULT_VOID:
        break;
    case AV_CQL_RESULT_ROWS:
        rc = rd_rows(&r, res);
        break;
    case AV_CQL_RESULT_SET_KEYSPACE:
        rc = dup_str(&r, &res->keyspace, "keyspace");
        break;
    case AV_CQL_RESULT_PREPARED:
        rc = rd_prepared(&r, res);
        break;
    case AV_CQL_RESULT_SCHEMA_CHANGE:
        rc = rd_schema_change(&r, res);
        break;
    default:
        rc = av_fail(errbuf, AV_EPARSE, "malformed CQL body: unknown RESULT kind %ld",
                     (long)kind);
    }
    if (rc != AV_OK)
        goto fail;
    if (kind != AV_CQL_RESULT_ROWS) /* accessors: rows/cells only for Rows */
        res->nrows = 0;
    *out = res;
    return AV_OK;

fail:
    /* ncols may count columns whose specs were never allocated */
    if (res->cols == NULL)
        res->ncols = 0;
    if (res->params == NULL)
        res->nparams = 0;
    av_cql_result_free(res);
    return rc;
}

/* ---- result accessors (cql.h) ------------------------------------------ */

int av_cql_result_kind(const struct av_cql_result *r)
{
    return r ? r->kind : 0;
}

int av_cql_result_rows(const struct av_cql_result *r)
{
    return r && r->kind == AV_CQL_RESULT_ROWS ? r->nrows : 0;
}

int av_cql_result_columns(const struct av_cql_result *r)
{
    return r ? r->ncols : 0;
}

const char *av_cql_result_column_name(const struct av_cql_result *r, int col)
{
    if (r == NULL || r->cols == NULL || col < 0 || col >= r->ncols)
        return NULL;
    return r->cols[col].name;
}

enum av_cql_type av_cql_result_column_type(const struct av_cql_result *r, int col)
{
    if (r == NULL || r->cols == NULL || col < 0 || col >= r->ncols)
        return AV_CQL_OTHER;
    return r->cols[col].type;
}

static const struct av_cql_cell *cell_at(const struct av_cql_result *r, int row, int col)
{
    if (r == NULL || r->kind != AV_CQL_RESULT_ROWS || r->cells == NULL || row < 0 ||
        row >= r->nrows || col < 0 || col >= r->ncols)
        return NULL;
    return &r->cells[(size_t)row * (size_t)r->ncols + (size_t)col];
}

/* A list/set cell: [int] n, then n x [bytes]. Walks to item k (k < 0: the
 * whole list) and checks every length on the way. */
static av_rc list_walk(const struct av_cql_cell *c, int k, int *count, const char **p,
                       size_t *n)
{
    struct av_cql_rd r;
    int32_t items, len;
    const uint8_t *q;

    av_cql_rd_init(&r, c->p, (size_t)c->len, NULL);
    if (av_cql_rd_int(&r, &items, "list size") != AV_OK || items < 0)
        return AV_EPARSE;
    if (k >= items)
        return AV_EPARSE;
    for (int32_t i = 0; i < items; i++) {
        if (av_cql_rd_bytes(&r, &q, &len, "list item") != AV_OK || len < 0)
            return AV_EPARSE;
        if (i == k) {
            *p = (const char *)q;
            *n = (size_t)len;
            return AV_OK;
        }
    }
    *count = items;
    return AV_OK;
}

av_rc av_cql_result_get(const struct av_cql_result *r, int row, int col,
                        struct av_cql_value *out)
{
    const struct av_cql_cell *c = cell_at(r, row, col);
    struct av_cql_value v;
    const uint8_t *p;
    uint64_t u;
    size_t want;
    int count;
    const char *ip;
    size_t in;

    if (c == NULL)
        return AV_EINVAL;
    memset(&v, 0, sizeof(v));
    v.type = r->cols ? r->cols[col].type : AV_CQL_OTHER;
    p = c->p;
    if (c->len < 0) {
        v.type = AV_CQL_NULL;
        *out = v;
        return AV_OK;
    }
    switch (v.type) {
    case AV_CQL_INT: case AV_CQL_DATE: want = 4; break;
    case AV_CQL_BIGINT: case AV_CQL_TIMESTAMP: case AV_CQL_DOUBLE: want = 8; break;
    case AV_CQL_SMALLINT: want = 2; break;
    case AV_CQL_TINYINT: case AV_CQL_BOOLEAN: want = 1; break;
    case AV_CQL_UUID: want = 16; break;
    default: want = 0;
    }
    if (want && c->len == 0) {
        /* a legacy "empty" value of a fixed-size type reads as null */
        v.type = AV_CQL_NULL;
        *out = v;
        return AV_OK;
    }
    if (want && (size_t)c->len != want)
        return AV_EPARSE;
    switch (v.type) {
    case AV_CQL_INT: v.u.i = (int32_t)av_cql_be32(p); break;
    case AV_CQL_DATE: v.u.i = (int64_t)av_cql_be32(p) - 2147483648LL; break;
    case AV_CQL_BIGINT: case AV_CQL_TIMESTAMP: v.u.i = (int64_t)av_cql_be64(p); break;
    case AV_CQL_DOUBLE:
        u = av_cql_be64(p);
        memcpy(&v.u.d, &u, 8);
        break;
    case AV_CQL_SMALLINT: v.u.i = (int16_t)(uint16_t)((unsigned)p[0] << 8 | p[1]); break;
    case AV_CQL_TINYINT: v.u.i = (int8_t)p[0]; break;
    case AV_CQL_BOOLEAN: v.u.i = p[0] != 0; break;
    case AV_CQL_UUID: memcpy(v.u.uuid, p, 16); break;
    case AV_CQL_LIST_TEXT:
        if (list_walk(c, -1, &count, &ip, &in) != AV_OK)
            return AV_EPARSE;
        v.u.list.items = NULL;
        v.u.list.n = count;
        break;
    default: /* TEXT, BLOB, OTHER */
        v.u.s.p = (const char *)p;
        v.u.s.n = (size_t)c->len;
    }
    *out = v;
    return AV_OK;
}

av_rc av_cql_result_list_item(const struct av_cql_result *r, int row, int col, int k,
                              const char **p, size_t *n)
{
    const struct av_cql_cell *c = cell_at(r, row, col);
    int count;

    if (c == NULL)
        return AV_EINVAL;
    if (c->len < 0 || k < 0 || r->cols == NULL || r->cols[col].type != AV_CQL_LIST_TEXT)
        return AV_EPARSE;
    return list_walk(c, k, &count, p, n);
}

const void *av_cql_result_paging(const struct av_cql_result *r, size_t *len)
{
    if (r == NULL || r->paging == NULL) {
        if (len)
            *len = 0;
        return NULL;
    }
    if (len)
        *len = r->paging_len;
    return r->paging;
}

const char *av_cql_result_keyspace(const struct av_cql_result *r)
{
    return r ? r->keyspace : NULL;
}
