/* cql_wire.c - the primitive wire codec of CQL native protocol v4: the
 * 9-byte frame header, the request body writer (av_cql_w, av_cql_put_*),
 * the response body reader (av_cql_rd_*), the response prefixes (tracing
 * id, warnings, custom payload) and the consistency level names.
 *
 * Not here: what a RESULT means (cql_result.c), ERROR and the handshake
 * bodies (cql_error.c), sockets (cql_net.c). No I/O; the formats are drawn
 * in cql_frame.h.
 *
 * Owns nothing but the writer's buffer (av_cql_w_init/av_cql_w_free). How
 * it fails: the writer's first error sticks in w->rc (with w->why) and
 * later puts do nothing; every reader checks the bytes that remain before
 * it reads and answers AV_EPARSE naming the field, its offset and what was
 * left; a header whose length exceeds max_frame is AV_ELIMIT.
 */
#include "cql_frame.h"

#include <string.h>

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

/* ---- BATCH, statement by statement ------------------------------------ */

#define BATCH_TAIL 3 /* consistency + flags */

void av_cql_batch_begin(struct av_cql_w *w, int type)
{
    av_cql_w_begin(w, AV_CQL_OP_BATCH, 0);
    av_cql_put_byte(w, (uint8_t)type);
    av_cql_put_short(w, 0);
}

int av_cql_batch_count(const struct av_cql_w *w)
{
    const uint8_t *p = (const uint8_t *)w->b.data;

    if (w->b.len < AV_CQL_BATCH_COUNT_OFF + 2 || p[4] != AV_CQL_OP_BATCH)
        return 0;
    return p[AV_CQL_BATCH_COUNT_OFF] << 8 | p[AV_CQL_BATCH_COUNT_OFF + 1];
}

av_rc av_cql_batch_add(struct av_cql_w *w, const uint8_t *id, size_t id_len,
                       const struct av_cql_value *vals, int n)
{
    size_t mark = w->b.len;
    int count = av_cql_batch_count(w);
    uint8_t *p;
    av_rc rc;

    if (w->rc != AV_OK)
        return w->rc;
    if (w->b.len < AV_CQL_BATCH_COUNT_OFF + 2 || ((uint8_t *)w->b.data)[4] != AV_CQL_OP_BATCH)
        return AV_EINVAL; /* not started */
    if (count >= 65535)
        return AV_ELIMIT;
    if (n < 0 || n > 65535 || (n > 0 && vals == NULL) || id_len > 65535)
        return AV_EINVAL;
    av_cql_put_byte(w, 1); /* kind: prepared id */
    av_cql_put_short_bytes(w, id, id_len);
    av_cql_put_short(w, (uint16_t)n);
    for (int k = 0; k < n; k++)
        av_cql_put_value(w, &vals[k]);
    /* room for the tail, so that finishing cannot fail on the ceiling */
    if (w->rc == AV_OK && av_buf_reserve(&w->b, BATCH_TAIL) != AV_OK)
        w_fail(w, AV_ELIMIT, "request frame exceeds max_frame");
    if ((rc = w->rc) != AV_OK) { /* undo: the frame as it was */
        w->b.len = mark;
        w->b.data[mark] = '\0';
        w->b.failed = 0;
        w->rc = AV_OK;
        w->why = NULL;
        return rc;
    }
    p = (uint8_t *)w->b.data;
    count++;
    p[AV_CQL_BATCH_COUNT_OFF] = (uint8_t)(count >> 8);
    p[AV_CQL_BATCH_COUNT_OFF + 1] = (uint8_t)count;
    return AV_OK;
}

av_rc av_cql_batch_finish(struct av_cql_w *w, int consistency)
{
    if (consistency < 0 || consistency > UINT16_MAX)
        w_fail(w, AV_EINVAL, "bad consistency");
    av_cql_put_short(w, (uint16_t)consistency);
    av_cql_put_byte(w, 0); /* flags: no serial consistency, no default timestamp */
    return av_cql_w_end(w);
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

av_rc av_cql_rd_int(struct av_cql_rd *r, int32_t *v, const char *what)
{
    const uint8_t *p;
    av_rc rc = av_cql_rd_raw(r, 4, &p, what);

    if (rc == AV_OK)
        *v = (int32_t)av_cql_be32(p);
    return rc;
}

av_rc av_cql_rd_long(struct av_cql_rd *r, int64_t *v, const char *what)
{
    const uint8_t *p;
    av_rc rc = av_cql_rd_raw(r, 8, &p, what);

    if (rc == AV_OK)
        *v = (int64_t)av_cql_be64(p);
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
