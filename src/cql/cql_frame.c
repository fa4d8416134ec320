/* cql_frame.c - the CQL native protocol v4 codec: frame header, request
 * body writer, response body reader, RESULT and ERROR decoding, and the
 * result accessors of cql.h.
 *
 * No I/O. The wire formats are drawn in cql_frame.h. Every length read from
 * the wire is compared with the bytes that remain before it is used.
 */
#include "cql_frame.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TYPE_DEPTH 32 /* nesting of list<map<...>> options */

/* ---- frame header ------------------------------------------------------ */

void av_cql_header_encode(uint8_t out[AV_CQL_HEADER_LEN], const struct av_cql_header *h)
{
    uint16_t s = (uint16_t)h->stream;

    out[0] = h->version;
    out[1] = h->flags;
    out[2] = (uint8_t)(s >> 8);
    out[3] = (uint8_t)s;
    out[4] = h->opcode;
    out[5] = (uint8_t)(h->length >> 24);
    out[6] = (uint8_t)(h->length >> 16);
    out[7] = (uint8_t)(h->length >> 8);
    out[8] = (uint8_t)h->length;
}

av_rc av_cql_header_decode(struct av_cql_header *h, const uint8_t *p, size_t n,
                           size_t max_frame, char *errbuf)
{
    struct av_cql_header t;

    if (n < AV_CQL_HEADER_LEN)
        return av_fail(errbuf, AV_EPARSE, "CQL frame header truncated: %zu of 9 bytes", n);
    t.version = p[0];
    t.flags = p[1];
    t.stream = (int16_t)(uint16_t)((unsigned)p[2] << 8 | p[3]);
    t.opcode = p[4];
    t.length = (uint32_t)p[5] << 24 | (uint32_t)p[6] << 16 | (uint32_t)p[7] << 8 | p[8];
    if ((t.version & 0x7f) != AV_CQL_VERSION)
        return av_fail(errbuf, AV_EPARSE,
                       "CQL frame of protocol v%d (version byte 0x%02x); we speak v4 only",
                       t.version & 0x7f, t.version);
    if (t.length > max_frame)
        return av_fail(errbuf, AV_ELIMIT,
                       "CQL frame body of %lu bytes (opcode 0x%02x) exceeds max_frame %zu",
                       (unsigned long)t.length, t.opcode, max_frame);
    *h = t;
    return AV_OK;
}

/* ---- body writer ------------------------------------------------------- */

void av_cql_w_init(struct av_cql_w *w, size_t max_frame)
{
    av_buf_init(&w->b, max_frame ? max_frame + AV_CQL_HEADER_LEN : 0);
    w->rc = AV_OK;
    w->why = NULL;
}

void av_cql_w_free(struct av_cql_w *w)
{
    av_buf_free(&w->b);
}

static void w_fail(struct av_cql_w *w, av_rc rc, const char *why)
{
    if (w->rc == AV_OK) {
        w->rc = rc;
        w->why = why;
    }
}

void av_cql_put_raw(struct av_cql_w *w, const void *p, size_t n)
{
    av_rc rc;

    if (w->rc != AV_OK || n == 0)
        return;
    rc = av_buf_append(&w->b, p, n);
    if (rc != AV_OK)
        w_fail(w, rc, rc == AV_ELIMIT ? "request frame exceeds max_frame" : "out of memory");
}

void av_cql_w_begin(struct av_cql_w *w, uint8_t opcode, int16_t stream)
{
    struct av_cql_header h = { AV_CQL_VERSION, 0, stream, opcode, 0 };
    uint8_t hdr[AV_CQL_HEADER_LEN];

    av_buf_reset(&w->b);
    w->rc = AV_OK;
    w->why = NULL;
    av_cql_header_encode(hdr, &h);
    av_cql_put_raw(w, hdr, sizeof(hdr));
}

av_rc av_cql_w_end(struct av_cql_w *w)
{
    size_t body;
    uint8_t *p;

    if (w->rc != AV_OK)
        return w->rc;
    if (w->b.len < AV_CQL_HEADER_LEN) {
        w_fail(w, AV_EINVAL, "frame not started");
        return w->rc;
    }
    body = w->b.len - AV_CQL_HEADER_LEN;
    if (body > UINT32_MAX) {
        w_fail(w, AV_ELIMIT, "request frame too large");
        return w->rc;
    }
    p = (uint8_t *)w->b.data;
    p[5] = (uint8_t)(body >> 24);
    p[6] = (uint8_t)(body >> 16);
    p[7] = (uint8_t)(body >> 8);
    p[8] = (uint8_t)body;
    return AV_OK;
}

const uint8_t *av_cql_w_body(const struct av_cql_w *w, size_t *len)
{
    if (w->b.len < AV_CQL_HEADER_LEN) {
        *len = 0;
        return NULL;
    }
    *len = w->b.len - AV_CQL_HEADER_LEN;
    return (const uint8_t *)w->b.data + AV_CQL_HEADER_LEN;
}

void av_cql_put_byte(struct av_cql_w *w, uint8_t v)
{
    av_cql_put_raw(w, &v, 1);
}

void av_cql_put_short(struct av_cql_w *w, uint16_t v)
{
    uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };

    av_cql_put_raw(w, b, 2);
}

void av_cql_put_int(struct av_cql_w *w, int32_t v)
{
    uint32_t u = (uint32_t)v;
    uint8_t b[4] = { (uint8_t)(u >> 24), (uint8_t)(u >> 16), (uint8_t)(u >> 8), (uint8_t)u };

    av_cql_put_raw(w, b, 4);
}

void av_cql_put_long(struct av_cql_w *w, int64_t v)
{
    uint64_t u = (uint64_t)v;
    uint8_t b[8];

    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(u >> (56 - 8 * i));
    av_cql_put_raw(w, b, 8);
}

void av_cql_put_string(struct av_cql_w *w, const char *s, size_t n)
{
    if (n > UINT16_MAX) {
        w_fail(w, AV_EINVAL, "[string] longer than 65535 bytes");
        return;
    }
    av_cql_put_short(w, (uint16_t)n);
    av_cql_put_raw(w, s, n);
}

void av_cql_put_long_string(struct av_cql_w *w, const char *s, size_t n)
{
    if (n > INT32_MAX) {
        w_fail(w, AV_ELIMIT, "[long string] longer than 2^31-1 bytes");
        return;
    }
    av_cql_put_int(w, (int32_t)n);
    av_cql_put_raw(w, s, n);
}

void av_cql_put_bytes(struct av_cql_w *w, const void *p, int64_t n)
{
    if (n < 0) {
        av_cql_put_int(w, -1);
        return;
    }
    if (n > INT32_MAX) {
        w_fail(w, AV_ELIMIT, "[bytes] longer than 2^31-1 bytes");
        return;
    }
    av_cql_put_int(w, (int32_t)n);
    av_cql_put_raw(w, p, (size_t)n);
}

void av_cql_put_short_bytes(struct av_cql_w *w, const void *p, size_t n)
{
    if (n > UINT16_MAX) {
        w_fail(w, AV_EINVAL, "[short bytes] longer than 65535 bytes");
        return;
    }
    av_cql_put_short(w, (uint16_t)n);
    av_cql_put_raw(w, p, n);
}

void av_cql_put_string_map(struct av_cql_w *w, const char *const *keys,
                           const char *const *vals, int n)
{
    if (n < 0 || n > UINT16_MAX) {
        w_fail(w, AV_EINVAL, "[string map] size out of range");
        return;
    }
    av_cql_put_short(w, (uint16_t)n);
    for (int i = 0; i < n; i++) {
        av_cql_put_string(w, keys[i], strlen(keys[i]));
        av_cql_put_string(w, vals[i], strlen(vals[i]));
    }
}

/* list<text> as a [value]: [int] total, [int] n, n x ([int] len + bytes). */
static void put_list_text(struct av_cql_w *w, const char *const *items, int n)
{
    int64_t total = 4;

    if (n < 0 || (n > 0 && items == NULL)) {
        w_fail(w, AV_EINVAL, "list<text> value with a bad item count");
        return;
    }
    for (int i = 0; i < n; i++) {
        if (items[i] == NULL) {
            w_fail(w, AV_EINVAL, "list<text> item is NULL (collections cannot hold null)");
            return;
        }
        total += 4 + (int64_t)strlen(items[i]);
        if (total > INT32_MAX) {
            w_fail(w, AV_ELIMIT, "list<text> value longer than 2^31-1 bytes");
            return;
        }
    }
    av_cql_put_int(w, (int32_t)total);
    av_cql_put_int(w, n);
    for (int i = 0; i < n; i++)
        av_cql_put_bytes(w, items[i], (int64_t)strlen(items[i]));
}

void av_cql_put_value(struct av_cql_w *w, const struct av_cql_value *v)
{
    uint64_t u;

    switch (v->type) {
    case AV_CQL_NULL:
        av_cql_put_int(w, -1);
        return;
    case AV_CQL_UNSET:
        av_cql_put_int(w, -2);
        return;
    case AV_CQL_INT:
        if (v->u.i < INT32_MIN || v->u.i > INT32_MAX)
            break;
        av_cql_put_int(w, 4);
        av_cql_put_int(w, (int32_t)v->u.i);
        return;
    case AV_CQL_BIGINT:
    case AV_CQL_TIMESTAMP:
        av_cql_put_int(w, 8);
        av_cql_put_long(w, v->u.i);
        return;
    case AV_CQL_SMALLINT:
        if (v->u.i < INT16_MIN || v->u.i > INT16_MAX)
            break;
        av_cql_put_int(w, 2);
        av_cql_put_short(w, (uint16_t)(int16_t)v->u.i);
        return;
    case AV_CQL_TINYINT:
        if (v->u.i < INT8_MIN || v->u.i > INT8_MAX)
            break;
        av_cql_put_int(w, 1);
        av_cql_put_byte(w, (uint8_t)(int8_t)v->u.i);
        return;
    case AV_CQL_BOOLEAN:
        av_cql_put_int(w, 1);
        av_cql_put_byte(w, v->u.i != 0);
        return;
    case AV_CQL_DOUBLE:
        memcpy(&u, &v->u.d, 8);
        av_cql_put_int(w, 8);
        av_cql_put_long(w, (int64_t)u);
        return;
    case AV_CQL_DATE:
        if (v->u.i < INT32_MIN || v->u.i > INT32_MAX)
            break;
        /* days + 2^31 as an unsigned 32-bit number, written big-endian */
        av_cql_put_int(w, 4);
        av_cql_put_int(w, (int32_t)((uint32_t)(v->u.i + 2147483648LL)));
        return;
    case AV_CQL_UUID:
        av_cql_put_int(w, 16);
        av_cql_put_raw(w, v->u.uuid, 16);
        return;
    case AV_CQL_TEXT:
    case AV_CQL_BLOB:
    case AV_CQL_OTHER:
        if (v->u.s.p == NULL && v->u.s.n > 0) {
            w_fail(w, AV_EINVAL, "text/blob value with NULL bytes");
            return;
        }
        if (v->u.s.n > INT32_MAX) {
            w_fail(w, AV_ELIMIT, "value longer than 2^31-1 bytes");
            return;
        }
        av_cql_put_bytes(w, v->u.s.p, (int64_t)v->u.s.n);
        return;
    case AV_CQL_LIST_TEXT:
        put_list_text(w, v->u.list.items, v->u.list.n);
        return;
    default:
        w_fail(w, AV_EINVAL, "unknown value type");
        return;
    }
    w_fail(w, AV_EINVAL, "number out of range for its CQL type");
}

void av_cql_put_query_params(struct av_cql_w *w, int consistency,
                             const struct av_cql_value *vals, int n, int page_size,
                             const void *paging_state, size_t paging_len)
{
    uint8_t flags = 0;

    if (consistency < 0 || consistency > UINT16_MAX || n < 0 || n > UINT16_MAX ||
        (n > 0 && vals == NULL)) {
        w_fail(w, AV_EINVAL, "bad query parameters (consistency or value count)");
        return;
    }
    if (n > 0)
        flags |= AV_CQL_Q_VALUES;
    if (page_size > 0)
        flags |= AV_CQL_Q_PAGE_SIZE;
    if (paging_state != NULL)
        flags |= AV_CQL_Q_PAGING_STATE;
    av_cql_put_short(w, (uint16_t)consistency);
    av_cql_put_byte(w, flags);
    if (n > 0) {
        av_cql_put_short(w, (uint16_t)n);
        for (int i = 0; i < n; i++)
            av_cql_put_value(w, &vals[i]);
    }
    if (page_size > 0)
        av_cql_put_int(w, page_size);
    if (paging_state != NULL) {
        if (paging_len > INT32_MAX) {
            w_fail(w, AV_EINVAL, "paging state too long");
            return;
        }
        av_cql_put_bytes(w, paging_state, (int64_t)paging_len);
    }
}

static const char *const cl_names[] = {
    "ANY", "ONE", "TWO", "THREE", "QUORUM", "ALL", "LOCAL_QUORUM", "EACH_QUORUM",
    "SERIAL", "LOCAL_SERIAL", "LOCAL_ONE"
};

const char *av_cql_consistency_name(int cl)
{
    if (cl < 0 || cl >= (int)(sizeof(cl_names) / sizeof(cl_names[0])))
        return "?";
    return cl_names[cl];
}

/* ---- body reader ------------------------------------------------------- */

void av_cql_rd_init(struct av_cql_rd *r, const void *p, size_t n, char *errbuf)
{
    r->p = p;
    r->n = n;
    r->off = 0;
    r->errbuf = errbuf;
}

static av_rc need(struct av_cql_rd *r, size_t k, const char *what)
{
    if (k > r->n - r->off)
        return av_fail(r->errbuf, AV_EPARSE,
                       "malformed CQL body: %s needs %zu bytes at offset %zu, %zu left", what,
                       k, r->off, r->n - r->off);
    return AV_OK;
}

av_rc av_cql_rd_raw(struct av_cql_rd *r, size_t n, const uint8_t **p, const char *what)
{
    av_rc rc = need(r, n, what);

    if (rc != AV_OK)
        return rc;
    *p = r->p + r->off;
    r->off += n;
    return AV_OK;
}

av_rc av_cql_rd_byte(struct av_cql_rd *r, uint8_t *v, const char *what)
{
    const uint8_t *p;
    av_rc rc = av_cql_rd_raw(r, 1, &p, what);

    if (rc == AV_OK)
        *v = p[0];
    return rc;
}

av_rc av_cql_rd_short(struct av_cql_rd *r, uint16_t *v, const char *what)
{
    const uint8_t *p;
    av_rc rc = av_cql_rd_raw(r, 2, &p, what);

    if (rc == AV_OK)
        *v = (uint16_t)((unsigned)p[0] << 8 | p[1]);
    return rc;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const uint8_t *p)
{
    return (uint64_t)be32(p) << 32 | be32(p + 4);
}

av_rc av_cql_rd_int(struct av_cql_rd *r, int32_t *v, const char *what)
{
    const uint8_t *p;
    av_rc rc = av_cql_rd_raw(r, 4, &p, what);

    if (rc == AV_OK)
        *v = (int32_t)be32(p);
    return rc;
}

av_rc av_cql_rd_long(struct av_cql_rd *r, int64_t *v, const char *what)
{
    const uint8_t *p;
    av_rc rc = av_cql_rd_raw(r, 8, &p, what);

    if (rc == AV_OK)
        *v = (int64_t)be64(p);
    return rc;
}

av_rc av_cql_rd_string(struct av_cql_rd *r, const char **s, size_t *n, const char *what)
{
    uint16_t len;
    const uint8_t *p;
    av_rc rc;

    if ((rc = av_cql_rd_short(r, &len, what)) != AV_OK)
        return rc;
    if ((rc = av_cql_rd_raw(r, len, &p, what)) != AV_OK)
        return rc;
    *s = (const char *)p;
    *n = len;
    return AV_OK;
}

av_rc av_cql_rd_bytes(struct av_cql_rd *r, const uint8_t **p, int32_t *n, const char *what)
{
    int32_t len;
    av_rc rc;

    if ((rc = av_cql_rd_int(r, &len, what)) != AV_OK)
        return rc;
    if (len < 0) {
        *p = NULL;
        *n = -1;
        return AV_OK;
    }
    if ((rc = av_cql_rd_raw(r, (size_t)len, p, what)) != AV_OK)
        return rc;
    *n = len;
    return AV_OK;
}

av_rc av_cql_rd_short_bytes(struct av_cql_rd *r, const uint8_t **p, size_t *n,
                            const char *what)
{
    uint16_t len;
    av_rc rc;

    if ((rc = av_cql_rd_short(r, &len, what)) != AV_OK)
        return rc;
    if ((rc = av_cql_rd_raw(r, len, p, what)) != AV_OK)
        return rc;
    *n = len;
    return AV_OK;
}

av_rc av_cql_rd_string_list(struct av_cql_rd *r, int *count, const char *what)
{
    uint16_t n;
    const char *s;
    size_t len;
    av_rc rc;

    if ((rc = av_cql_rd_short(r, &n, what)) != AV_OK)
        return rc;
    for (int i = 0; i < n; i++)
        if ((rc = av_cql_rd_string(r, &s, &len, what)) != AV_OK)
            return rc;
    *count = n;
    return AV_OK;
}

av_rc av_cql_body_prefix(uint8_t flags, const uint8_t *p, size_t n, struct av_cql_prefix *out,
                         char *errbuf)
{
    struct av_cql_rd r;
    struct av_cql_prefix t = { 0, 0, NULL, 0 };
    const uint8_t *q;
    av_rc rc;

    av_cql_rd_init(&r, p, n, errbuf);
    if (flags & AV_CQL_F_TRACING) {
        if ((rc = av_cql_rd_raw(&r, 16, &q, "tracing id")) != AV_OK)
            return rc;
    }
    if (flags & AV_CQL_F_WARNING) {
        uint16_t nw;

        if ((rc = av_cql_rd_short(&r, &nw, "warning count")) != AV_OK)
            return rc;
        for (int i = 0; i < nw; i++) {
            const char *s;
            size_t len;

            if ((rc = av_cql_rd_string(&r, &s, &len, "warning")) != AV_OK)
                return rc;
            if (i == 0) {
                t.warn = s;
                t.warn_len = len;
            }
        }
        t.nwarn = nw;
    }
    if (flags & AV_CQL_F_CUSTOM_PAYLOAD) {
        uint16_t np;

        if ((rc = av_cql_rd_short(&r, &np, "custom payload count")) != AV_OK)
            return rc;
        for (int i = 0; i < np; i++) {
            const char *k;
            size_t klen;
            int32_t vlen;

            if ((rc = av_cql_rd_string(&r, &k, &klen, "custom payload key")) != AV_OK ||
                (rc = av_cql_rd_bytes(&r, &q, &vlen, "custom payload value")) != AV_OK)
                return rc;
        }
    }
    t.off = r.off;
    *out = t;
    return AV_OK;
}

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
                          struct av_cql_col **out)
{
    struct av_cql_col *cols = NULL;
    const char *s;
    size_t len;
    av_rc rc;

    if (flags & AV_CQL_M_GLOBAL_TABLES_SPEC) {
        if ((rc = av_cql_rd_string(r, &s, &len, "global keyspace")) != AV_OK ||
            (rc = av_cql_rd_string(r, &s, &len, "global table")) != AV_OK)
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
            if ((rc = av_cql_rd_string(r, &s, &len, "column keyspace")) != AV_OK ||
                (rc = av_cql_rd_string(r, &s, &len, "column table")) != AV_OK)
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
    return rd_col_specs(r, flags, count, &res->cols);
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
    if ((rc = rd_col_specs(r, flags, count, &res->params)) != AV_OK)
        return rc;
    res->nparams = count;
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
    case AV_CQL_INT: v.u.i = (int32_t)be32(p); break;
    case AV_CQL_DATE: v.u.i = (int64_t)be32(p) - 2147483648LL; break;
    case AV_CQL_BIGINT: case AV_CQL_TIMESTAMP: v.u.i = (int64_t)be64(p); break;
    case AV_CQL_DOUBLE:
        u = be64(p);
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

/* ---- ERROR ------------------------------------------------------------- */

static const struct {
    int32_t code;
    const char *name;
    av_rc rc;
} errors[] = {
    { AV_CQL_E_SERVER, "Server", AV_ENET },
    { AV_CQL_E_PROTOCOL, "Protocol", AV_EREMOTE },
    { AV_CQL_E_AUTH, "Authentication", AV_EREMOTE },
    { AV_CQL_E_UNAVAILABLE, "Unavailable", AV_ENET },
    { AV_CQL_E_OVERLOADED, "Overloaded", AV_ENET },
    { AV_CQL_E_BOOTSTRAPPING, "Is_bootstrapping", AV_ENET },
    { AV_CQL_E_TRUNCATE, "Truncate", AV_ENET },
    { AV_CQL_E_WRITE_TIMEOUT, "Write_timeout", AV_ENET },
    { AV_CQL_E_READ_TIMEOUT, "Read_timeout", AV_ENET },
    { AV_CQL_E_READ_FAILURE, "Read_failure", AV_EREMOTE },
    { AV_CQL_E_FUNCTION_FAILURE, "Function_failure", AV_EREMOTE },
    { AV_CQL_E_WRITE_FAILURE, "Write_failure", AV_EREMOTE },
    { AV_CQL_E_SYNTAX, "Syntax", AV_EREMOTE },
    { AV_CQL_E_UNAUTHORIZED, "Unauthorized", AV_EREMOTE },
    { AV_CQL_E_INVALID, "Invalid", AV_EREMOTE },
    { AV_CQL_E_CONFIG, "Config", AV_EREMOTE },
    { AV_CQL_E_ALREADY_EXISTS, "Already_exists", AV_EREMOTE },
    { AV_CQL_E_UNPREPARED, "Unprepared", AV_EREMOTE },
};

#define NERRORS ((int)(sizeof(errors) / sizeof(errors[0])))

av_rc av_cql_error_rc(int32_t code)
{
    for (int i = 0; i < NERRORS; i++)
        if (errors[i].code == code)
            return errors[i].rc;
    return AV_EREMOTE; /* unknown codes: do not retry blindly */
}

const char *av_cql_error_name(int32_t code)
{
    for (int i = 0; i < NERRORS; i++)
        if (errors[i].code == code)
            return errors[i].name;
    return "unknown";
}

/* <cl><received><blockfor>: shared by timeouts and failures. */
static av_rc rd_cl_counts(struct av_cql_rd *r, struct av_cql_error *e)
{
    uint16_t cl;
    int32_t received, blockfor;
    av_rc rc;

    if ((rc = av_cql_rd_short(r, &cl, "error consistency")) != AV_OK ||
        (rc = av_cql_rd_int(r, &received, "error received")) != AV_OK ||
        (rc = av_cql_rd_int(r, &blockfor, "error blockfor")) != AV_OK)
        return rc;
    e->cl = cl;
    e->received = received;
    e->blockfor = blockfor;
    return AV_OK;
}

av_rc av_cql_error_decode(struct av_cql_error *e, const uint8_t *body, size_t n,
                          char *errbuf)
{
    struct av_cql_error t;
    struct av_cql_rd r;
    uint16_t cl;
    uint8_t b;
    int32_t v1, v2;
    int args;
    av_rc rc;

    memset(&t, 0, sizeof(t));
    av_cql_rd_init(&r, body, n, errbuf);
    if ((rc = av_cql_rd_int(&r, &t.code, "error code")) != AV_OK ||
        (rc = av_cql_rd_string(&r, &t.msg, &t.msg_len, "error message")) != AV_OK)
        return rc;
    switch (t.code) {
    case AV_CQL_E_UNAVAILABLE:
        if ((rc = av_cql_rd_short(&r, &cl, "error consistency")) != AV_OK ||
            (rc = av_cql_rd_int(&r, &v1, "error required")) != AV_OK ||
            (rc = av_cql_rd_int(&r, &v2, "error alive")) != AV_OK)
            return rc;
        t.cl = cl;
        t.required = v1;
        t.alive = v2;
        break;
    case AV_CQL_E_WRITE_TIMEOUT:
        if ((rc = rd_cl_counts(&r, &t)) != AV_OK ||
            (rc = av_cql_rd_string(&r, &t.write_type, &t.write_type_len, "write type")) !=
                AV_OK)
            return rc;
        break;
    case AV_CQL_E_READ_TIMEOUT:
        if ((rc = rd_cl_counts(&r, &t)) != AV_OK ||
            (rc = av_cql_rd_byte(&r, &b, "data present")) != AV_OK)
            return rc;
        t.data_present = b;
        break;
    case AV_CQL_E_READ_FAILURE:
        if ((rc = rd_cl_counts(&r, &t)) != AV_OK ||
            (rc = av_cql_rd_int(&r, &v1, "failure count")) != AV_OK ||
            (rc = av_cql_rd_byte(&r, &b, "data present")) != AV_OK)
            return rc;
        t.numfailures = v1;
        t.data_present = b;
        break;
    case AV_CQL_E_WRITE_FAILURE:
        if ((rc = rd_cl_counts(&r, &t)) != AV_OK ||
            (rc = av_cql_rd_int(&r, &v1, "failure count")) != AV_OK ||
            (rc = av_cql_rd_string(&r, &t.write_type, &t.write_type_len, "write type")) !=
                AV_OK)
            return rc;
        t.numfailures = v1;
        break;
    case AV_CQL_E_FUNCTION_FAILURE:
        if ((rc = av_cql_rd_string(&r, &t.ks, &t.ks_len, "function keyspace")) != AV_OK ||
            (rc = av_cql_rd_string(&r, &t.table, &t.table_len, "function name")) != AV_OK ||
            (rc = av_cql_rd_string_list(&r, &args, "function argument types")) != AV_OK)
            return rc;
        break;
    case AV_CQL_E_ALREADY_EXISTS:
        if ((rc = av_cql_rd_string(&r, &t.ks, &t.ks_len, "existing keyspace")) != AV_OK ||
            (rc = av_cql_rd_string(&r, &t.table, &t.table_len, "existing table")) != AV_OK)
            return rc;
        break;
    case AV_CQL_E_UNPREPARED:
        if ((rc = av_cql_rd_short_bytes(&r, &t.id, &t.id_len, "unprepared id")) != AV_OK)
            return rc;
        break;
    default:
        break;
    }
    *e = t;
    return AV_OK;
}

av_rc av_cql_error_report(const struct av_cql_error *e, char *errbuf)
{
    char extra[96] = "", msg[161];
    size_t n = e->msg_len < sizeof(msg) - 1 ? e->msg_len : sizeof(msg) - 1;

    /* one line: the server's control characters (newlines) become spaces */
    for (size_t i = 0; i < n; i++)
        msg[i] = (unsigned char)e->msg[i] < 0x20 ? ' ' : e->msg[i];
    msg[n] = '\0';

    switch (e->code) {
    case AV_CQL_E_UNAVAILABLE:
        snprintf(extra, sizeof(extra), " (%s: %d required, %d alive)",
                 av_cql_consistency_name(e->cl), e->required, e->alive);
        break;
    case AV_CQL_E_WRITE_TIMEOUT:
    case AV_CQL_E_WRITE_FAILURE:
    case AV_CQL_E_READ_TIMEOUT:
    case AV_CQL_E_READ_FAILURE:
        snprintf(extra, sizeof(extra), " (%s: %d of %d replicas answered)",
                 av_cql_consistency_name(e->cl), e->received, e->blockfor);
        break;
    default:
        break;
    }
    return av_fail(errbuf, av_cql_error_rc(e->code), "cassandra %s error (0x%04x): %s%s",
                   av_cql_error_name(e->code), (unsigned)e->code, msg, extra);
}

/* ---- handshake bodies -------------------------------------------------- */

static void copy_str(char *dst, size_t cap, const char *s, size_t n)
{
    if (dst == NULL || cap == 0)
        return;
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, s, n);
    dst[n] = '\0';
}

av_rc av_cql_supported_decode(const uint8_t *p, size_t n, char *cql_version, size_t cap,
                              char *errbuf)
{
    struct av_cql_rd r;
    uint16_t keys, vals;
    const char *k, *v;
    size_t klen, vlen;
    av_rc rc;

    copy_str(cql_version, cap, "", 0);
    av_cql_rd_init(&r, p, n, errbuf);
    if ((rc = av_cql_rd_short(&r, &keys, "SUPPORTED size")) != AV_OK)
        return rc;
    for (int i = 0; i < keys; i++) {
        if ((rc = av_cql_rd_string(&r, &k, &klen, "SUPPORTED key")) != AV_OK ||
            (rc = av_cql_rd_short(&r, &vals, "SUPPORTED value count")) != AV_OK)
            return rc;
        for (int j = 0; j < vals; j++) {
            if ((rc = av_cql_rd_string(&r, &v, &vlen, "SUPPORTED value")) != AV_OK)
                return rc;
            if (j == 0 && klen == 11 && memcmp(k, "CQL_VERSION", 11) == 0)
                copy_str(cql_version, cap, v, vlen);
        }
    }
    return AV_OK;
}

av_rc av_cql_authenticate_decode(const uint8_t *p, size_t n, char *cls, size_t cap,
                                 char *errbuf)
{
    struct av_cql_rd r;
    const char *s;
    size_t len;
    av_rc rc;

    av_cql_rd_init(&r, p, n, errbuf);
    if ((rc = av_cql_rd_string(&r, &s, &len, "authenticator class")) != AV_OK)
        return rc;
    copy_str(cls, cap, s, len);
    return AV_OK;
}

av_rc av_cql_token_decode(const uint8_t *p, size_t n, const uint8_t **tok, int32_t *len,
                          char *errbuf)
{
    struct av_cql_rd r;

    av_cql_rd_init(&r, p, n, errbuf);
    return av_cql_rd_bytes(&r, tok, len, "auth token");
}
