/* cql_answer.c - what the pool does with the frames a connection reads
 * (the answers half of cql_pool.c's event loop, see cql.h): frames cut out
 * of the read buffer, each matched to its request by stream id (in any
 * order), results and errors handed to the request's callback, prepared
 * statements recorded, an UNPREPARED answer re-prepared on the connection
 * and the request sent again once, EVENT frames to cql_topo.c. Every wire
 * length is checked by the decoders (cql_wire.c, cql_result.c). */
#include "cql_int.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../core/clock.h"
#include "../core/log.h"

/* ---- answers ------------------------------------------------------------- */

static struct av_cql_prepared *find_prepared(struct av_cql *c, const uint8_t *id, size_t n)
{
    for (struct av_cql_prepared *p = c->preps; p; p = p->next)
        if (p->id_len == n && memcmp(p->id, id, n) == 0)
            return p;
    return NULL;
}

/* A PREPARE answer for p: its id and key metadata. */
static av_rc take_prepared(struct av_cql_prepared *p, const struct av_cql_result *r,
                           char *errbuf)
{
    uint8_t *id;

    if (r->kind != AV_CQL_RESULT_PREPARED)
        return av_fail(errbuf, AV_EPARSE, "cassandra: RESULT kind %d in answer to PREPARE",
                       r->kind);
    if ((id = malloc(r->prep_id_len)) == NULL)
        return av_fail(errbuf, AV_ENOMEM, "out of memory");
    memcpy(id, r->prep_id, r->prep_id_len);
    free(p->id);
    p->id = id;
    p->id_len = r->prep_id_len;
    p->nparams = r->nparams;
    p->npk = r->npk <= AV_CQL_MAX_PK ? r->npk : 0;
    memcpy(p->pk, r->pk, sizeof(p->pk[0]) * (size_t)p->npk);
    if (r->prep_ks != NULL && (p->ks == NULL || strcmp(p->ks, r->prep_ks) != 0)) {
        free(p->ks);
        p->ks = strdup(r->prep_ks);
    }
    return AV_OK;
}

/* The parent's frame names the old id of p where the node gave a new one
 * (Cassandra's ids are digests of the query, so they do not change; other
 * servers may differ): the ids of p in an EXECUTE or a BATCH, rewritten in
 * place when the length is the same. 0 if a statement could not be. */
static int patch_ids(struct cql_req *q, const uint8_t *old, size_t oldn,
                     const struct av_cql_prepared *p)
{
    uint8_t *f = (uint8_t *)q->w.b.data;
    size_t n = q->w.b.len, off = AV_CQL_HEADER_LEN;
    int items = 1, batch = f[4] == AV_CQL_OP_BATCH;

    if (oldn == p->id_len && memcmp(old, p->id, oldn) == 0)
        return 1;
    if (batch) {
        if (n < off + 3)
            return 0;
        items = f[off + 1] << 8 | f[off + 2];
        off += 3;
    }
    for (int i = 0; i < items; i++) {
        size_t idn;
        if (batch) {
            if (off >= n || f[off] != 1)
                return 0; /* not a prepared statement: we only send those */
            off++;
        }
        if (off + 2 > n)
            return 0;
        idn = (size_t)(f[off] << 8 | f[off + 1]);
        off += 2;
        if (off + idn > n)
            return 0;
        if (idn == oldn && memcmp(f + off, old, oldn) == 0) {
            if (p->id_len != oldn)
                return 0;
            memcpy(f + off, p->id, oldn);
        }
        off += idn;
        if (!batch)
            return 1;
        if (off + 2 > n)
            return 0;
        {
            int nv = f[off] << 8 | f[off + 1];
            off += 2;
            for (int v = 0; v < nv; v++) {
                int32_t len;
                if (off + 4 > n)
                    return 0;
                len = (int32_t)av_cql_be32(f + off);
                off += 4;
                if (len > 0) {
                    if ((size_t)len > n - off)
                        return 0;
                    off += (size_t)len;
                }
            }
        }
    }
    return 1;
}

void av_cql_resend_parent(struct av_cql *c, struct cql_req *r, struct cql_conn *k)
{
    struct cql_req *parent = r->parent;

    if (!patch_ids(parent, r->old_id, r->old_id_len, r->prep)) {
        av_cql_finish(c, parent, AV_EREMOTE, "cassandra: the node gave a statement another id");
        return;
    }
    if (k->fd < 0 || k->nfree == 0) {
        av_cql_req_again(c, parent, AV_ENET, "cassandra: connection lost while re-preparing");
        return;
    }
    av_cql_send_on(c, k, parent);
}

/* UNPREPARED for q on k: PREPARE again there, then q again (once). */
static int reprepare(struct av_cql *c, struct cql_conn *k, struct cql_req *q,
                     const struct av_cql_error *e)
{
    struct av_cql_prepared *p = find_prepared(c, e->id, e->id_len);
    struct cql_req *r;

    if (p == NULL || q->reprepared || q->kind == REQ_REPREP || q->kind == REQ_FORGET)
        return 0;
    if ((r = av_cql_req_new(c, REQ_REPREP)) == NULL)
        return 0;
    av_debug("cassandra %s: re-preparing %.80s", k->peer, p->query);
    av_cql_w_begin(&r->w, AV_CQL_OP_PREPARE, 0);
    av_cql_put_long_string(&r->w, p->query, strlen(p->query));
    if (av_cql_w_end(&r->w) != AV_OK) {
        av_cql_req_release(c, r);
        return 0;
    }
    r->parent = q;
    r->prep = p;
    r->pin = k;
    r->old_id_len = p->id_len < sizeof(r->old_id) ? p->id_len : 0;
    memcpy(r->old_id, p->id, r->old_id_len);
    q->reprepared = 1;
    av_cql_send_on(c, k, r);
    return 1;
}

static void on_result(struct av_cql *c, struct cql_conn *k, struct cql_req *q,
                      const uint8_t *p, size_t n)
{
    struct av_cql_result *r = NULL;
    char why[AV_ERRBUF_SIZE];
    av_rc rc;

    if (q->kind == REQ_USER || q->kind == REQ_FORGET) {
        /* writes: a RESULT is the acknowledgement; nothing to keep */
        av_cql_finish(c, q, AV_OK, NULL);
        return;
    }
    if ((rc = av_cql_result_decode(&r, p, n, why)) != AV_OK) {
        char line[AV_ERRBUF_SIZE];
        snprintf(line, sizeof(line), "cassandra %.80s: %.160s", k->peer, why);
        av_cql_finish(c, q, rc, line);
        return;
    }
    if (q->kind == REQ_REPREP) {
        rc = take_prepared(q->prep, r, why);
        av_cql_result_free(r);
        av_cql_finish(c, q, rc, rc == AV_OK ? NULL : why);
        return;
    }
    if (r->kind == AV_CQL_RESULT_SET_KEYSPACE && r->keyspace != NULL) {
        char *ks = strdup(r->keyspace);
        if (ks != NULL) {
            free(c->keyspace);
            c->keyspace = ks;
        }
        /* USE is per connection: the others go once idle, new ones replay it */
        for (int i = 0; i < c->nnodes; i++)
            for (int j = 0; j < c->nodes[i].nconns; j++)
                if (c->nodes[i].conns[j] != k)
                    c->nodes[i].conns[j]->retired = 1;
    }
    if (r->kind == AV_CQL_RESULT_SCHEMA_CHANGE)
        c->need_refresh = 1;
    q->wait->res = r;
    q->wait->conn = k;
    av_cql_finish(c, q, AV_OK, NULL);
}

static void on_frame(struct av_cql *c, struct cql_conn *k, const struct av_cql_header *h,
                     const uint8_t *body, size_t n)
{
    struct av_cql_prefix pre;
    char why[AV_ERRBUF_SIZE], line[AV_ERRBUF_SIZE];
    struct cql_req *q;

    if (h->opcode == AV_CQL_OP_EVENT || h->stream < 0) {
        if (h->opcode == AV_CQL_OP_EVENT &&
            av_cql_body_prefix(h->flags, body, n, &pre, why) == AV_OK)
            av_cql_on_event(c, body + pre.off, n - pre.off);
        return;
    }
    if (k->slots[h->stream] == ORPHAN) { /* the late answer of a timed-out request */
        k->slots[h->stream] = NULL;
        av_cql_free_stream(k, h->stream);
        k->orphans--;
        return;
    }
    if ((q = k->slots[h->stream]) == NULL) {
        snprintf(line, sizeof(line), "cassandra %.80s: answer on stream %d, which has no request",
                 k->peer, h->stream);
        av_cql_conn_fail(k, AV_EPARSE, line, 1);
        return;
    }
    av_cql_fifo_remove(k, q);
    k->slots[h->stream] = NULL;
    av_cql_free_stream(k, h->stream);
    k->inflight--;
    q->conn = NULL;
    c->last = k;
    if (av_cql_body_prefix(h->flags, body, n, &pre, why) != AV_OK) {
        snprintf(line, sizeof(line), "cassandra %.80s: %.160s", k->peer, why);
        av_cql_finish(c, q, AV_EPARSE, line);
        return;
    }
    if (pre.nwarn > 0)
        av_warn("cassandra %s: server warning: %.*s%s", k->peer,
                (int)(pre.warn_len > 300 ? 300 : pre.warn_len), pre.warn,
                pre.nwarn > 1 ? " (and more)" : "");
    body += pre.off;
    n -= pre.off;
    switch (h->opcode) {
    case AV_CQL_OP_RESULT:
        on_result(c, k, q, body, n);
        return;
    case AV_CQL_OP_READY:
        if (q->kind == REQ_SYNC && q->wait->expect_ready) {
            q->wait->conn = k;
            av_cql_finish(c, q, AV_OK, NULL);
            return;
        }
        break;
    case AV_CQL_OP_ERROR: {
        struct av_cql_error e;
        av_rc rc;
        if (av_cql_error_decode(&e, body, n, why) != AV_OK) {
            snprintf(line, sizeof(line), "cassandra %.80s: unreadable ERROR: %.140s", k->peer, why);
            av_cql_finish(c, q, AV_EPARSE, line);
            return;
        }
        if (e.code == AV_CQL_E_UNPREPARED && reprepare(c, k, q, &e))
            return;
        rc = av_cql_error_report(&e, line);
        av_cql_req_again(c, q, rc, line);
        return;
    }
    default:
        break;
    }
    snprintf(line, sizeof(line), "cassandra %.80s: opcode 0x%02x where a RESULT belongs", k->peer,
             h->opcode);
    av_cql_finish(c, q, AV_EPARSE, line);
}

/* Every whole frame in k->in. */
void av_cql_parse_frames(struct av_cql *c, struct cql_conn *k)
{
    size_t pos = 0;

    while (k->fd >= 0 && k->in_len - pos >= AV_CQL_HEADER_LEN) {
        struct av_cql_header h;
        char why[AV_ERRBUF_SIZE], line[AV_ERRBUF_SIZE];
        av_rc rc;

        rc = av_cql_header_decode(&h, k->in + pos, k->in_len - pos, c->max_frame, why);
        if (rc == AV_OK && !(h.version & AV_CQL_RESPONSE))
            rc = av_fail(why, AV_EPARSE, "frame without the response bit");
        if (rc == AV_OK && (h.flags & AV_CQL_F_COMPRESSION))
            rc = av_fail(why, AV_EPARSE, "compressed frame, but no compression was negotiated");
        if (rc != AV_OK) {
            snprintf(line, sizeof(line), "cassandra %.80s: %.160s", k->peer, why);
            av_cql_conn_fail(k, rc, line, 1);
            return;
        }
        if (k->in_len - pos - AV_CQL_HEADER_LEN < h.length)
            break;
        on_frame(c, k, &h, k->in + pos + AV_CQL_HEADER_LEN, h.length);
        pos += AV_CQL_HEADER_LEN + (size_t)h.length;
    }
    if (k->fd >= 0 && pos > 0) {
        memmove(k->in, k->in + pos, k->in_len - pos);
        k->in_len -= pos;
    }
}
