/* cql_pool.c - the session's event loop (cql.h): requests with stream ids
 * on the pooled connections, answers matched by stream in any order, the
 * in-flight window, routing (token-aware, DC-aware, round-robin), per
 * request deadlines, nodes marked down and up, fail-over of idempotent
 * requests to the next node and backoff retries, re-prepare on UNPREPARED,
 * av_cql_submit / av_cql_drain and the synchronous wait.
 *
 * Not here: the answers (cql_answer.c), sockets (cql_net.c), the EXECUTE
 * and BATCH encoders and a request's token (cql_batch.c), the
 * handshake and the synchronous calls (cql_conn.c), the ring's contents
 * and events (cql_topo.c, cql_ring.c).
 *
 * Owns the requests (struct cql_req, cql_int.h) from av_cql_req_new to
 * their completion (av_cql_finish puts them on the free list). How it
 * fails: a request's failure goes to its completion; a connection that
 * fails (I/O error, a bad frame, a request without an answer in time) is
 * closed, its node marked down, and every request on it fails over or
 * fails with AV_ENET.
 */
#include "cql_int.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/clock.h"
#include "../core/log.h"

#define SWEEP_MS 50
#define NODE_BACKOFF_MIN 250
#define NODE_BACKOFF_MAX 10000
#define FREE_KEEP 4096
#define KEEP_FRAME ((size_t)64 << 10)
#define SPREAD_AT 32 /* in flight on every connection of a node: open another */

/* A stream whose request timed out and went elsewhere (cql_int.h) */
struct cql_req av_cql_orphan_mark;

/* ---- requests ------------------------------------------------------------ */

struct cql_req *av_cql_req_new(struct av_cql *c, enum cql_req_kind kind)
{
    struct cql_req *q = c->freeq;
    struct av_cql_w w;

    if (q != NULL) {
        c->freeq = q->next;
        c->nfreeq--;
        w = q->w;
    } else {
        if ((q = malloc(sizeof(*q))) == NULL)
            return NULL;
        av_cql_w_init(&w, c->max_frame);
    }
    memset(q, 0, sizeof(*q));
    q->w = w;
    q->kind = kind;
    q->retries_left = c->retries;
    q->wait_ms = 100;
    return q;
}

void av_cql_req_release(struct av_cql *c, struct cql_req *q)
{
    /* kept for reuse: small frames only (an open batch's is large and
     * rare; FREE_KEEP of them would hold gigabytes) */
    if (q->w.b.cap > KEEP_FRAME || c->nfreeq >= FREE_KEEP) {
        av_cql_w_free(&q->w);
        free(q);
        return;
    }
    q->next = c->freeq;
    c->freeq = q;
    c->nfreeq++;
}

/* ---- completion ------------------------------------------------------------ */


void av_cql_finish(struct av_cql *c, struct cql_req *q, av_rc rc, const char *err)
{
    switch (q->kind) {
    case REQ_USER:
        c->inflight--;
        c->inflight_bytes -= q->w.b.len;
        c->depth++;
        q->fn(q->ud, rc, err ? err : "");
        c->depth--;
        break;
    case REQ_SYNC:
        c->inflight--;
        q->wait->rc = rc;
        q->wait->done = 1;
        snprintf(q->wait->err, sizeof(q->wait->err), "%s", err ? err : "");
        break;
    case REQ_REPREP:
        if (rc == AV_OK)
            av_cql_resend_parent(c, q, q->pin);
        else {
            struct cql_req *parent = q->parent;
            parent->last_rc = rc;
            snprintf(parent->last_err, sizeof(parent->last_err), "%s", err ? err : "");
            av_cql_finish(c, parent, rc, err);
        }
        break;
    case REQ_FORGET:
        break;
    }
    av_cql_req_release(c, q);
}

/* ---- nodes -------------------------------------------------------------- */

void av_cql_node_down(struct av_cql *c, struct cql_node *n)
{
    (void)c;
    n->up = 0;
    n->backoff_ms = n->backoff_ms ? n->backoff_ms * 2 : NODE_BACKOFF_MIN;
    if (n->backoff_ms > NODE_BACKOFF_MAX)
        n->backoff_ms = NODE_BACKOFF_MAX;
    n->retry_at = av_mono_ms() + n->backoff_ms;
}

void av_cql_node_up(struct cql_node *n)
{
    n->up = 1;
    n->retry_at = 0;
}

static int usable(const struct cql_node *n, int64_t now)
{
    return !n->gone && (n->up || now >= n->retry_at);
}

static int local(const struct av_cql *c, const struct cql_node *n)
{
    return c->local_dc[0] == '\0' || n->dc[0] == '\0' || strcmp(n->dc, c->local_dc) == 0;
}

/* The nodes to try for q, best first. */
static int candidates(struct av_cql *c, const struct cql_req *q, struct cql_node **out)
{
    int n = 0, reps[AV_CQL_MAX_NODES], nr = 0;
    const struct av_cql_repl *rep = NULL;
    char in[AV_CQL_MAX_NODES] = {0};

    if (q->has_token && q->ks && (rep = av_cql_ks_repl(c, q->ks)) != NULL)
        nr = av_cql_ring_replicas(&c->ring, q->token, rep, c->node_dc, c->nnodes, reps,
                                  AV_CQL_MAX_NODES);
    for (int i = 0; i < nr; i++) /* local replicas, placement order */
        if (!c->nodes[reps[i]].gone && local(c, &c->nodes[reps[i]])) {
            out[n++] = &c->nodes[reps[i]];
            in[reps[i]] = 1;
        }
    if (c->nnodes > 0) { /* the other local nodes, round-robin */
        int start = c->next++ % c->nnodes;
        if (c->next >= c->nnodes * 1000)
            c->next = 0;
        for (int k = 0; k < c->nnodes; k++) {
            int i = (start + k) % c->nnodes;
            if (!in[i] && !c->nodes[i].gone && local(c, &c->nodes[i])) {
                out[n++] = &c->nodes[i];
                in[i] = 1;
            }
        }
    }
    for (int i = 0; i < nr; i++) /* remote replicas */
        if (!in[reps[i]] && !c->nodes[reps[i]].gone) {
            out[n++] = &c->nodes[reps[i]];
            in[reps[i]] = 1;
        }
    for (int i = 0; i < c->nnodes; i++)
        if (!in[i] && !c->nodes[i].gone)
            out[n++] = &c->nodes[i];
    return n;
}

static int tried(const struct cql_req *q, const struct cql_node *n)
{
    for (int i = 0; i < q->ntried; i++)
        if (q->tried[i] == n)
            return 1;
    return 0;
}

/* A connection of node n with a free stream (opening one if the pool has
 * room and every open one is busy); NULL if the node cannot be reached. */
static struct cql_conn *pick_conn(struct av_cql *c, struct cql_node *n, char *why)
{
    struct cql_conn *best = NULL;
    av_rc rc;

    for (int i = 0; i < n->nconns; i++) {
        struct cql_conn *k = n->conns[i];
        if (k->fd < 0 || k->retired || k->nfree == 0)
            continue;
        if (best == NULL || k->inflight < best->inflight)
            best = k;
    }
    if (n->nconns < c->per_host && (best == NULL || best->inflight >= SPREAD_AT)) {
        struct cql_conn *k = av_cql_open_conn(c, n, &rc, why);
        if (k != NULL)
            return k;
    }
    return best;
}

/* ---- sending ------------------------------------------------------------- */

void av_cql_free_stream(struct cql_conn *k, int16_t s)
{
    if (s == 0)
        k->zero_busy = 0;
    else
        k->free_ids[k->nfree++] = s;
}

void av_cql_fifo_remove(struct cql_conn *k, struct cql_req *q)
{
    if (q->fprev)
        q->fprev->fnext = q->fnext;
    else
        k->fhead = q->fnext;
    if (q->fnext)
        q->fnext->fprev = q->fprev;
    else
        k->ftail = q->fprev;
    q->fprev = q->fnext = NULL;
}

void av_cql_send_on(struct av_cql *c, struct cql_conn *k, struct cql_req *q)
{
    int16_t s;
    uint8_t *f = (uint8_t *)q->w.b.data;

    /* A synchronous request (or a re-prepare) takes stream 0 when it is
     * free, as a one-at-a-time client would; everything else the stack. */
    if ((q->kind == REQ_SYNC || q->kind == REQ_REPREP) && k->slots[0] == NULL && !k->zero_busy) {
        s = 0;
        k->zero_busy = 1;
    } else {
        s = k->free_ids[--k->nfree];
    }

    f[2] = (uint8_t)((uint16_t)s >> 8);
    f[3] = (uint8_t)s;
    if (av_buf_append(&k->out, q->w.b.data, q->w.b.len) != AV_OK) {
        av_cql_free_stream(k, s);
        av_buf_reset(&k->out); /* the sticky failure would refuse everything after */
        k->out_off = 0;
        av_cql_finish(c, q, AV_ENOMEM, "cassandra: out of memory queueing a request");
        return;
    }
    k->slots[s] = q;
    q->conn = k;
    q->stream = s;
    q->deadline = av_mono_ms() + c->request_ms;
    if (k->fhead == NULL)
        k->last_rx = av_mono_ms(); /* idle until now: the clock starts with this one */
    k->inflight++;
    q->fprev = k->ftail;
    q->fnext = NULL;
    if (k->ftail)
        k->ftail->fnext = q;
    else
        k->fhead = q;
    k->ftail = q;
    c->pending_out++;
}

/* Back to the delayed list for a backoff retry, or finished with its last
 * error. */
static void delay_or_finish(struct av_cql *c, struct cql_req *q)
{
    if (q->idempotent && q->retries_left > 0 && !(c->stop && *c->stop)) {
        q->retries_left--;
        q->due = av_mono_ms() + q->wait_ms;
        /* one line a second, however many requests wait */
        if (q->due - c->retry_logged >= 1000) {
            av_warn("cassandra: %s; retrying in %d ms (idempotent write, %d retries left)",
                    q->last_err, q->wait_ms, q->retries_left);
            c->retry_logged = q->due;
        }
        q->wait_ms = q->wait_ms * 2 > c->backoff_max ? c->backoff_max : q->wait_ms * 2;
        q->ntried = 0;
        q->next = c->delayed;
        c->delayed = q;
        return;
    }
    av_cql_finish(c, q, q->last_rc != AV_OK ? q->last_rc : AV_ENET,
                  q->last_err[0] ? q->last_err : "cassandra: no node available");
}

void av_cql_dispatch(struct av_cql *c, struct cql_req *q)
{
    struct cql_node *cand[AV_CQL_MAX_NODES];
    char why[AV_ERRBUF_SIZE] = "";
    int64_t now = av_mono_ms();
    int n, any_up = 0;

    if (c->closing) {
        av_cql_finish(c, q, AV_ENET, "cassandra: session closed");
        return;
    }
    if (q->pin != NULL) {
        if (q->pin->fd >= 0 && q->pin->nfree > 0) {
            av_cql_send_on(c, q->pin, q);
            return;
        }
        av_cql_finish(c, q, AV_ENET, "cassandra: connection lost");
        return;
    }
    n = candidates(c, q, cand);
    for (int pass = 0; pass < 2; pass++) {
        /* pass 0: nodes up (or due for a retry); pass 1, when none is up:
         * the others too (the caller's backoff paces the dialling) */
        for (int i = 0; i < n; i++) {
            struct cql_node *nd = cand[i];
            struct cql_conn *k;
            if (tried(q, nd))
                continue;
            if (pass == 0 && !usable(nd, now))
                continue;
            if (pass == 1 && usable(nd, now))
                continue; /* tried in pass 0 */
            any_up |= nd->up;
            if ((k = pick_conn(c, nd, why)) == NULL) {
                q->last_rc = AV_ENET;
                snprintf(q->last_err, sizeof(q->last_err), "%s", why);
                continue;
            }
            if (q->ntried < AV_CQL_MAX_TRIED)
                q->tried[q->ntried++] = nd;
            av_cql_send_on(c, k, q);
            return;
        }
        for (int i = 0; i < n && !any_up; i++)
            any_up = cand[i]->up;
        if (any_up || q->ntried > 0)
            break;
    }
    if (q->last_err[0] == '\0') {
        q->last_rc = AV_ENET;
        snprintf(q->last_err, sizeof(q->last_err), "cassandra: no node available (%d known)",
                 c->nnodes);
    }
    delay_or_finish(c, q);
}

/* After a failed attempt: the next node for an idempotent request, else done. */
void av_cql_req_again(struct av_cql *c, struct cql_req *q, av_rc rc, const char *why)
{
    q->last_rc = rc;
    snprintf(q->last_err, sizeof(q->last_err), "%s", why);
    if (rc != AV_ENET || !q->idempotent || q->pin != NULL) {
        av_cql_finish(c, q, rc, why);
        return;
    }
    av_cql_dispatch(c, q);
}

/* ---- connections ----------------------------------------------------------- */

void av_cql_conn_fail(struct cql_conn *k, av_rc rc, const char *why, int down)
{
    struct av_cql *c = k->c;
    struct cql_node *n = k->node;
    struct cql_req *q;

    if (k->fd < 0)
        return;
    av_debug("cassandra %s: connection closed: %s", k->peer, why);
    close(k->fd);
    k->fd = -1;
    for (int i = 0; i < n->nconns; i++)
        if (n->conns[i] == k) {
            n->conns[i] = n->conns[--n->nconns];
            break;
        }
    if (c->control == k) {
        c->control = NULL;
        c->need_refresh = 1;
    }
    if (c->last == k)
        c->last = NULL;
    if (down)
        av_cql_node_down(c, n);
    k->dead_next = c->dead;
    c->dead = k;
    /* every request on it: fail over or fail */
    while ((q = k->fhead) != NULL) {
        av_cql_fifo_remove(k, q);
        k->slots[q->stream] = NULL;
        av_cql_free_stream(k, q->stream);
        k->inflight--;
        q->conn = NULL;
        /* a bad frame (AV_EPARSE, AV_ELIMIT) is not retried */
        av_cql_req_again(c, q, rc == AV_OK ? AV_ENET : rc, why);
    }
}

struct cql_conn *av_cql_any_conn(struct av_cql *c)
{
    if (c->last != NULL && c->last->fd >= 0 && !c->last->retired && c->last->nfree > 0)
        return c->last;
    for (int i = 0; i < c->nnodes; i++)
        for (int j = 0; j < c->nodes[i].nconns; j++) {
            struct cql_conn *k = c->nodes[i].conns[j];
            if (k->fd >= 0 && !k->retired && k->nfree > 0)
                return k;
        }
    return NULL;
}

/* ---- the loop ------------------------------------------------------------ */

static void sweep(struct av_cql *c, int64_t now)
{
    struct cql_req **pp = &c->delayed, *due = NULL;

    /* connections whose oldest request has waited too long */
    for (int i = 0; i < c->nnodes; i++)
        for (int j = 0; j < c->nodes[i].nconns; j++) {
            struct cql_conn *k = c->nodes[i].conns[j];
            if (k->fhead != NULL && k->fhead->deadline <= now &&
                now - k->last_rx >= c->request_ms) {
                /* nothing at all for request_ms: the node stalls (stopped,
                 * partitioned): close, mark it down, fail everything over */
                char line[AV_ERRBUF_SIZE];
                snprintf(line, sizeof(line), "cassandra %.80s: no answer within %d ms", k->peer,
                         c->request_ms);
                av_warn("%s: closing the connection, node marked down", line);
                av_cql_conn_fail(k, AV_ENET, line, 1);
                j--; /* the pool moved its last connection here */
                continue;
            }
            /* the node answers, but not these: each goes elsewhere (if it
             * may), its stream kept until the late answer comes */
            while (k->fhead != NULL && k->fhead->deadline <= now) {
                struct cql_req *q = k->fhead;
                char line[AV_ERRBUF_SIZE];
                av_cql_fifo_remove(k, q);
                k->slots[q->stream] = ORPHAN;
                k->orphans++;
                k->inflight--;
                q->conn = NULL;
                snprintf(line, sizeof(line), "cassandra %.80s: no answer within %d ms", k->peer,
                         c->request_ms);
                av_cql_req_again(c, q, AV_ENET, line);
            }
            if (k->retired && k->inflight == 0) {
                av_cql_conn_fail(k, AV_OK, "retired", 0);
                j--;
            }
        }
    /* backoff retries that are due (or cut short by a stop) */
    while (*pp != NULL) {
        struct cql_req *q = *pp;
        if (q->due <= now || (c->stop && *c->stop)) {
            *pp = q->next;
            q->next = due;
            due = q;
        } else {
            pp = &q->next;
        }
    }
    while (due != NULL) {
        struct cql_req *q = due;
        due = q->next;
        q->next = NULL;
        if (c->stop && *c->stop)
            av_cql_finish(c, q, q->last_rc, q->last_err);
        else
            av_cql_dispatch(c, q);
    }
}

void av_cql_pump(struct av_cql *c, int timeout_ms)
{
    struct pollfd pf[AV_CQL_MAX_NODES * AV_CQL_MAX_CONNS];
    struct cql_conn *ks[AV_CQL_MAX_NODES * AV_CQL_MAX_CONNS];
    int n = 0;
    int64_t now = av_mono_ms(), wake = now + timeout_ms;

    c->pending_out = 0;
    for (int i = 0; i < c->nnodes; i++)
        for (int j = 0; j < c->nodes[i].nconns; j++) {
            struct cql_conn *k = c->nodes[i].conns[j];
            char why[AV_ERRBUF_SIZE];
            /* write first: most of the time the socket takes it all */
            if (k->out_off < k->out.len && av_cql_conn_write(k, why, sizeof(why)) != 0) {
                char line[AV_ERRBUF_SIZE];
                snprintf(line, sizeof(line), "cassandra %.80s: %.160s", k->peer, why);
                av_cql_conn_fail(k, AV_ENET, line, 1);
                j--;
                continue;
            }
            pf[n].fd = k->fd;
            pf[n].events = POLLIN | (k->out_off < k->out.len ? POLLOUT : 0);
            pf[n].revents = 0;
            ks[n++] = k;
            if (k->fhead != NULL && k->fhead->deadline < wake)
                wake = k->fhead->deadline;
        }
    for (struct cql_req *q = c->delayed; q; q = q->next)
        if (q->due < wake)
            wake = q->due;
    if (timeout_ms > 0) {
        int64_t t = wake - now;
        timeout_ms = t < 0 ? 0 : t > 1000 ? 1000 : (int)t;
    }
    if (n > 0) {
        int got = poll(pf, (nfds_t)n, timeout_ms);
        if (got < 0 && errno != EINTR)
            av_warn("cassandra: poll: %s", strerror(errno));
        for (int i = 0; got > 0 && i < n; i++) {
            struct cql_conn *k = ks[i];
            char why[AV_ERRBUF_SIZE], line[AV_ERRBUF_SIZE];
            if (k->fd < 0 || pf[i].revents == 0)
                continue;
            if (pf[i].revents & POLLOUT && av_cql_conn_write(k, why, sizeof(why)) != 0) {
                snprintf(line, sizeof(line), "cassandra %.80s: %.160s", k->peer, why);
                av_cql_conn_fail(k, AV_ENET, line, 1);
                continue;
            }
            if (pf[i].revents & (POLLIN | POLLHUP | POLLERR)) {
                int r = av_cql_conn_read(k, why, sizeof(why));
                k->last_rx = av_mono_ms();
                av_cql_parse_frames(c, k); /* what arrived before an EOF still counts */
                if (r != 0 && k->fd >= 0) {
                    snprintf(line, sizeof(line), "cassandra %.80s: %.160s", k->peer, why);
                    av_cql_conn_fail(k, AV_ENET, line, 1);
                }
            }
            if (pf[i].revents & POLLNVAL && k->fd >= 0)
                av_cql_conn_fail(k, AV_ENET, "cassandra: bad socket", 1);
        }
    } else if (timeout_ms > 0) {
        av_sleep_ms(timeout_ms);
    }
    now = av_mono_ms();
    if (now - c->last_sweep >= SWEEP_MS || c->delayed != NULL) {
        c->last_sweep = now;
        sweep(c, now);
    }
    /* answers may have queued requests (fail-over, re-prepare): send them */
    for (int i = 0; i < c->nnodes; i++)
        for (int j = 0; j < c->nodes[i].nconns; j++) {
            struct cql_conn *k = c->nodes[i].conns[j];
            char why[AV_ERRBUF_SIZE], line[AV_ERRBUF_SIZE];
            if (k->out_off < k->out.len && av_cql_conn_write(k, why, sizeof(why)) != 0) {
                snprintf(line, sizeof(line), "cassandra %.80s: %.160s", k->peer, why);
                av_cql_conn_fail(k, AV_ENET, line, 1);
                j--;
            }
        }
    while (c->dead != NULL) {
        struct cql_conn *k = c->dead;
        c->dead = k->dead_next;
        av_cql_conn_free(k);
    }
}

/* Whether anything can still complete (else waiting would never end). */
static int live(const struct av_cql *c)
{
    if (c->delayed != NULL)
        return 1;
    for (int i = 0; i < c->nnodes; i++)
        for (int j = 0; j < c->nodes[i].nconns; j++)
            if (c->nodes[i].conns[j]->inflight > 0)
                return 1;
    return 0;
}

av_rc av_cql_wait_for(struct av_cql *c, struct cql_wait *w)
{
    while (!w->done) {
        if (!live(c)) {
            w->rc = av_fail(w->err, AV_ENET, "cassandra: request lost (no connection)");
            w->done = 1;
            break;
        }
        av_cql_pump(c, 1000);
    }
    return w->rc;
}

/* ---- public API ------------------------------------------------------------ */

static av_rc check_args(const struct av_cql_value *vals, int n, int consistency,
                        char *errbuf)
{
    if (n < 0 || n > 65535 || (n > 0 && vals == NULL))
        return av_fail(errbuf, AV_EINVAL, "cassandra: bad number of values (%d)", n);
    if (consistency < AV_CQL_ANY || consistency > AV_CQL_LOCAL_ONE)
        return av_fail(errbuf, AV_EINVAL, "cassandra: unknown consistency level %d",
                       consistency);
    return AV_OK;
}

static av_rc check_bind(const struct av_cql_prepared *p, int n, char *errbuf)
{
    if (p == NULL || p->id == NULL)
        return av_fail(errbuf, AV_EINVAL, "cassandra: no prepared statement");
    if (n != p->nparams)
        return av_fail(errbuf, AV_EINVAL, "cassandra: statement has %d bind markers, got %d "
                       "values: %.80s", p->nparams, n, p->query);
    return AV_OK;
}

static av_rc check_op(const struct av_cql_op *op, char *errbuf)
{
    av_rc rc;

    if (op == NULL || op->items == NULL || op->nitems < 1 || op->nitems > 65535 ||
        op->type < 0 || op->type > AV_CQL_OP_EXEC ||
        (op->type == AV_CQL_OP_EXEC && op->nitems != 1))
        return av_fail(errbuf, AV_EINVAL, "cassandra: bad op (type %d, %d statements)",
                       op ? op->type : -1, op ? op->nitems : 0);
    rc = check_args(NULL, 0, op->consistency, errbuf);
    for (int i = 0; rc == AV_OK && i < op->nitems; i++)
        if ((rc = check_args(op->items[i].vals, op->items[i].n, op->consistency, errbuf)) ==
            AV_OK)
            rc = check_bind(op->items[i].p, op->items[i].n, errbuf);
    return rc;
}

/* The frame of op into q->w. */
static av_rc encode_op(struct av_cql *c, struct cql_req *q, const struct av_cql_op *op,
                       char *errbuf)
{
    av_rc rc;

    if (op->type == AV_CQL_OP_EXEC)
        av_cql_enc_execute(q, op->items[0].p, op->items[0].vals, op->items[0].n,
                           op->consistency, 0, NULL, 0);
    else
        av_cql_enc_batch(q, op->type, op->items, op->nitems, op->consistency);
    if ((rc = av_cql_w_end(&q->w)) != AV_OK)
        return av_fail(errbuf, rc, "cassandra: request not sent: %s",
                       q->w.why ? q->w.why : av_strerror(rc));
    av_cql_req_route(c, q, op->items[0].p, op->items[0].vals, op->items[0].n);
    return AV_OK;
}

av_rc av_cql_submit(struct av_cql *c, const struct av_cql_op *op, av_cql_done_fn fn, void *ud,
                    char *errbuf)
{
    struct cql_req *q;
    av_rc rc;

    if (c == NULL || fn == NULL)
        return av_fail(errbuf, AV_EINVAL, "cassandra: no session or no callback");
    if (c->depth > 0)
        return av_fail(errbuf, AV_EINVAL, "cassandra: av_cql_submit from a callback");
    if ((rc = check_op(op, errbuf)) != AV_OK)
        return rc;
    av_cql_admit(c);
    if ((q = av_cql_req_new(c, REQ_USER)) == NULL)
        return av_fail(errbuf, AV_ENOMEM, "out of memory");
    if ((rc = encode_op(c, q, op, errbuf)) != AV_OK) {
        av_cql_req_release(c, q);
        return rc;
    }
    av_cql_submit_req(c, q, fn, ud, op->idempotent);
    return AV_OK;
}

void av_cql_admit(struct av_cql *c)
{
    av_cql_maintain(c);
    /* backpressure: the window, and the bytes the requests in it hold */
    while (c->inflight >= c->max_inflight ||
           (c->inflight > 0 && c->inflight_bytes >= AV_CQL_INFLIGHT_BYTES))
        av_cql_pump(c, 1000);
}

void av_cql_submit_req(struct av_cql *c, struct cql_req *q, av_cql_done_fn fn, void *ud,
                       int idempotent)
{
    q->fn = fn;
    q->ud = ud;
    q->idempotent = idempotent != 0;
    c->inflight++;
    c->inflight_bytes += q->w.b.len;
    av_cql_dispatch(c, q);
    /* make progress without blocking: send, and take the answers there are */
    if (c->pending_out >= 4 || c->inflight >= c->max_inflight / 2)
        av_cql_pump(c, 0);
}

av_rc av_cql_drain(struct av_cql *c, char *errbuf)
{
    if (c == NULL)
        return AV_OK;
    if (c->depth > 0)
        return av_fail(errbuf, AV_EINVAL, "cassandra: av_cql_drain from a callback");
    while (c->inflight > 0) {
        if (!live(c)) { /* cannot happen: every request is on a connection or delayed */
            av_warn("cassandra: %d requests lost track of", c->inflight);
            break;
        }
        av_cql_pump(c, 1000);
    }
    return AV_OK;
}

int av_cql_inflight(const struct av_cql *c)
{
    return c ? c->inflight : 0;
}

int av_cql_nodes(const struct av_cql *c, int *up)
{
    int n = 0, u = 0;

    for (int i = 0; c && i < c->nnodes; i++) {
        if (c->nodes[i].gone)
            continue;
        n++;
        u += c->nodes[i].up;
    }
    if (up)
        *up = u;
    return n;
}

struct pipe_state {
    int left;
    av_rc first;
    char err[AV_ERRBUF_SIZE];
};

static void pipe_done(void *ud, av_rc rc, const char *err)
{
    struct pipe_state *ps = ud;

    ps->left--;
    if (rc != AV_OK && ps->first == AV_OK) {
        ps->first = rc;
        snprintf(ps->err, sizeof(ps->err), "%s", err);
    }
}

av_rc av_cql_pipeline(struct av_cql *c, const struct av_cql_op *ops, int n, char *errbuf)
{
    struct pipe_state ps = {0, AV_OK, ""};
    av_rc rc;

    if (c == NULL || ops == NULL || n < 1 || n > AV_CQL_PIPELINE_MAX)
        return av_fail(errbuf, AV_EINVAL, "cassandra: bad pipeline (%d requests)", n);
    if (c->depth > 0)
        return av_fail(errbuf, AV_EINVAL, "cassandra: av_cql_pipeline from a callback");
    for (int i = 0; i < n; i++)
        if ((rc = check_op(&ops[i], errbuf)) != AV_OK)
            return rc;
    for (int i = 0; i < n; i++) {
        struct av_cql_op op = ops[i];
        op.idempotent = 1;
        if ((rc = av_cql_submit(c, &op, pipe_done, &ps, errbuf)) != AV_OK) {
            ps.first = ps.first == AV_OK ? rc : ps.first;
            break;
        }
        ps.left++;
    }
    while (ps.left > 0 && live(c))
        av_cql_pump(c, 1000);
    if (ps.first != AV_OK && errbuf && ps.err[0])
        snprintf(errbuf, AV_ERRBUF_SIZE, "%s", ps.err);
    return ps.first;
}
