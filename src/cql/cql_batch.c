/* cql_batch.c - the request frames that carry statements: the EXECUTE and
 * BATCH encoders of the pool's requests and a request's routing token
 * (av_cql_enc_*, av_cql_req_route, cql_int.h), and open batches (cql.h): a
 * BATCH frame built statement by statement in the batch's own writer
 * (cql_frame.h's av_cql_batch_*), the routing token of its first
 * statement, and the hand-over of the frame to a request of the pool
 * (cql_pool.c's av_cql_admit / av_cql_submit_req) by swapping writers, so
 * nothing is copied.
 *
 * Owns its writer and a routing-key scratch buffer. How it fails: an
 * append that cannot be encoded leaves the batch as it was (AV_EINVAL,
 * AV_ELIMIT, AV_ENOMEM); submitting fails on a callback's stack or out of
 * memory, the batch kept. */
#include "cql_int.h"

#include <stdlib.h>
#include <string.h>

/* ---- a request's frame and token -------------------------------------- */

void av_cql_enc_execute(struct cql_req *q, const struct av_cql_prepared *p,
                        const struct av_cql_value *vals, int n, int consistency, int page_size,
                        const void *paging_state, size_t paging_len)
{
    av_cql_w_begin(&q->w, AV_CQL_OP_EXECUTE, 0);
    av_cql_put_short_bytes(&q->w, p->id, p->id_len);
    av_cql_put_query_params(&q->w, consistency, vals, n, page_size, paging_state, paging_len);
}

void av_cql_enc_batch(struct cql_req *q, int type, const struct av_cql_batch_item *items, int n,
                      int consistency)
{
    av_cql_w_begin(&q->w, AV_CQL_OP_BATCH, 0);
    av_cql_put_byte(&q->w, (uint8_t)type);
    av_cql_put_short(&q->w, (uint16_t)n);
    for (int i = 0; i < n; i++) {
        av_cql_put_byte(&q->w, 1); /* kind: prepared id */
        av_cql_put_short_bytes(&q->w, items[i].p->id, items[i].p->id_len);
        av_cql_put_short(&q->w, (uint16_t)items[i].n);
        for (int k = 0; k < items[i].n; k++)
            av_cql_put_value(&q->w, &items[i].vals[k]);
    }
    av_cql_put_short(&q->w, (uint16_t)consistency);
    av_cql_put_byte(&q->w, 0); /* flags */
}

void av_cql_req_route(struct av_cql *c, struct cql_req *q, const struct av_cql_prepared *p,
                      const struct av_cql_value *vals, int n)
{
    if (p == NULL || p->npk < 1 || p->ks == NULL || c->ring.n == 0)
        return;
    av_buf_reset(&c->rk);
    if (av_cql_routing_key(&c->rk, vals, n, p->pk, p->npk, NULL) != AV_OK || c->rk.failed)
        return;
    q->token = av_cql_murmur3(c->rk.data, c->rk.len);
    q->has_token = 1;
    q->ks = p->ks;
}

/* ---- open batches ------------------------------------------------------ */

struct av_cql_obatch {
    struct av_cql *c;
    int type;
    struct av_cql_w w;
    int has_token;
    int64_t token;
    const char *ks;  /* keyspace of the first statement (its prepared's) */
    struct av_buf rk; /* routing key scratch */
};

av_rc av_cql_obatch_new(struct av_cql *c, int type, struct av_cql_obatch **out, char *errbuf)
{
    struct av_cql_obatch *b;

    if (c == NULL || type < 0 || type > 2)
        return av_fail(errbuf, AV_EINVAL, "cassandra: bad batch type %d", type);
    if ((b = calloc(1, sizeof(*b))) == NULL)
        return av_fail(errbuf, AV_ENOMEM, "out of memory");
    b->c = c;
    b->type = type;
    av_cql_w_init(&b->w, c->max_frame);
    av_buf_init(&b->rk, 0);
    av_cql_batch_begin(&b->w, type);
    if (b->w.rc != AV_OK) {
        av_cql_obatch_free(b);
        return av_fail(errbuf, AV_ENOMEM, "out of memory");
    }
    *out = b;
    return AV_OK;
}

void av_cql_obatch_free(struct av_cql_obatch *b)
{
    if (b == NULL)
        return;
    av_cql_w_free(&b->w);
    av_buf_free(&b->rk);
    free(b);
}

int av_cql_obatch_count(const struct av_cql_obatch *b)
{
    return av_cql_batch_count(&b->w);
}

size_t av_cql_obatch_bytes(const struct av_cql_obatch *b)
{
    return b->w.b.len;
}

void av_cql_obatch_clear(struct av_cql_obatch *b)
{
    av_cql_batch_begin(&b->w, b->type);
    b->has_token = 0;
    b->ks = NULL;
}

av_rc av_cql_obatch_add(struct av_cql_obatch *b, struct av_cql_prepared *p,
                        const struct av_cql_value *vals, int n, char *errbuf)
{
    int first = av_cql_batch_count(&b->w) == 0;
    av_rc rc;

    if (p == NULL || p->id == NULL)
        return av_fail(errbuf, AV_EINVAL, "cassandra: no prepared statement");
    if (n != p->nparams)
        return av_fail(errbuf, AV_EINVAL, "cassandra: statement has %d bind markers, got %d "
                       "values: %.80s", p->nparams, n, p->query);
    if (b->w.rc != AV_OK) /* only if begin ran out of memory: start again */
        av_cql_obatch_clear(b);
    if ((rc = av_cql_batch_add(&b->w, p->id, p->id_len, vals, n)) != AV_OK)
        return av_fail(errbuf, rc, "cassandra: statement not added to the batch: %s",
                       rc == AV_ELIMIT ? "the request would exceed max_frame or 65535 "
                                         "statements"
                       : rc == AV_ENOMEM ? "out of memory"
                                         : "a value out of range");
    if (first && p->npk > 0 && p->ks != NULL) {
        av_buf_reset(&b->rk);
        if (av_cql_routing_key(&b->rk, vals, n, p->pk, p->npk, NULL) == AV_OK &&
            !b->rk.failed) {
            b->token = av_cql_murmur3(b->rk.data, b->rk.len);
            b->has_token = 1;
            b->ks = p->ks;
        }
    }
    return AV_OK;
}

av_rc av_cql_obatch_submit(struct av_cql *c, struct av_cql_obatch *b, int consistency,
                           int idempotent, av_cql_done_fn fn, void *ud, char *errbuf)
{
    struct cql_req *q;
    struct av_cql_w spare;
    av_rc rc;

    if (c == NULL || b == NULL || fn == NULL || b->c != c)
        return av_fail(errbuf, AV_EINVAL, "cassandra: no session, batch or callback");
    if (c->depth > 0)
        return av_fail(errbuf, AV_EINVAL, "cassandra: av_cql_obatch_submit from a callback");
    if (consistency < AV_CQL_ANY || consistency > AV_CQL_LOCAL_ONE)
        return av_fail(errbuf, AV_EINVAL, "cassandra: unknown consistency level %d",
                       consistency);
    if (av_cql_batch_count(&b->w) == 0)
        return AV_OK;
    av_cql_admit(c);
    if ((q = av_cql_req_new(c, REQ_USER)) == NULL)
        return av_fail(errbuf, AV_ENOMEM, "out of memory");
    /* the tail always fits: av_cql_batch_add kept room for it */
    if ((rc = av_cql_batch_finish(&b->w, consistency)) != AV_OK) {
        av_fail(errbuf, rc, "cassandra: batch not sent: %s",
                b->w.why ? b->w.why : av_strerror(rc));
        av_cql_req_release(c, q);
        av_cql_obatch_clear(b); /* its tail is half written */
        return rc;
    }
    spare = q->w; /* the request's writer comes back to b for the next batch */
    q->w = b->w;
    b->w = spare;
    q->has_token = b->has_token;
    q->token = b->token;
    q->ks = b->ks;
    av_cql_obatch_clear(b);
    av_cql_submit_req(c, q, fn, ud, idempotent);
    return AV_OK;
}
