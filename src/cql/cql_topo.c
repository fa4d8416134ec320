/* cql_topo.c - what the session knows about the cluster: the nodes
 * (contact points and those system.peers lists), their data centers and
 * tokens (the ring), the keyspaces' replication, server events
 * (TOPOLOGY_CHANGE, STATUS_CHANGE) and waiting for schema agreement after
 * a DDL statement.
 *
 * Not here: the pure decoders and the replica walk (cql_ring.c), routing
 * with them (cql_pool.c).
 *
 * Owns c->ring, c->kss and the node table's metadata fields. How it fails:
 * it does not - a refresh that cannot read the system tables logs a
 * warning and keeps the previous picture (token routing is an
 * optimisation; without it requests go round-robin).
 */
#include "cql_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/clock.h"
#include "../core/log.h"

#define AGREEMENT_MS 10000

/* Up to n requests pinned to k, all sent before any answer is awaited. */
struct batchq {
    struct cql_wait w[4];
    int n;
};

static void bq_add(struct av_cql *c, struct cql_conn *k, struct batchq *b, const char *cql,
                   int reg)
{
    struct cql_wait *w = &b->w[b->n++];
    struct cql_req *q;

    memset(w, 0, sizeof(*w));
    if ((q = av_cql_req_new(c, REQ_SYNC)) == NULL) {
        w->done = 1;
        w->rc = AV_ENOMEM;
        return;
    }
    if (reg) {
        av_cql_w_begin(&q->w, AV_CQL_OP_REGISTER, 0);
        av_cql_put_short(&q->w, 2);
        av_cql_put_string(&q->w, "TOPOLOGY_CHANGE", 15);
        av_cql_put_string(&q->w, "STATUS_CHANGE", 13);
        w->expect_ready = 1;
    } else {
        av_cql_w_begin(&q->w, AV_CQL_OP_QUERY, 0);
        av_cql_put_long_string(&q->w, cql, strlen(cql));
        av_cql_put_query_params(&q->w, AV_CQL_ONE, NULL, 0, 5000, NULL, 0);
    }
    if (av_cql_w_end(&q->w) != AV_OK) {
        q->kind = REQ_FORGET;
        av_cql_finish(c, q, AV_EINVAL, NULL);
        w->done = 1;
        w->rc = AV_EINVAL;
        return;
    }
    q->wait = w;
    q->pin = k;
    c->inflight++;
    av_cql_dispatch(c, q);
}

/* Waits for all; AV_OK when every one succeeded (else errbuf: the first). */
static av_rc bq_wait(struct av_cql *c, struct batchq *b, char *errbuf)
{
    av_rc first = AV_OK;

    for (int i = 0; i < b->n; i++) {
        av_rc rc = av_cql_wait_for(c, &b->w[i]);
        if (rc != AV_OK && first == AV_OK) {
            first = rc;
            snprintf(errbuf, AV_ERRBUF_SIZE, "%s", b->w[i].err);
        }
    }
    return first;
}

static void bq_free(struct batchq *b)
{
    for (int i = 0; i < b->n; i++)
        av_cql_result_free(b->w[i].res);
}

/* Column col of row as a NUL-terminated string ("" when null / not text). */
static void cell_text(const struct av_cql_result *r, int row, int col, char *out, size_t cap)
{
    struct av_cql_value v;

    out[0] = '\0';
    if (av_cql_result_get(r, row, col, &v) == AV_OK &&
        (v.type == AV_CQL_TEXT || v.type == AV_CQL_OTHER || v.type == AV_CQL_BLOB))
        snprintf(out, cap, "%.*s", (int)(v.u.s.n >= cap ? cap - 1 : v.u.s.n), v.u.s.p);
}

/* An inet cell in text form ("" when null or malformed). */
static void cell_inet(const struct av_cql_result *r, int row, int col, char *out, size_t cap)
{
    struct av_cql_value v;

    out[0] = '\0';
    if (av_cql_result_get(r, row, col, &v) == AV_OK && v.type == AV_CQL_OTHER &&
        av_cql_inet_format((const uint8_t *)v.u.s.p, v.u.s.n, out, cap, NULL) != AV_OK)
        out[0] = '\0';
}

static struct cql_node *find_node(struct av_cql *c, const char *addr)
{
    for (int i = 0; i < c->nnodes; i++)
        if ((c->nodes[i].addr[0] && strcmp(c->nodes[i].addr, addr) == 0) ||
            strcmp(c->nodes[i].h.name, addr) == 0)
            return &c->nodes[i];
    return NULL;
}

/* The tokens (set<text>) of row into the ring entries. */
static void add_tokens(const struct av_cql_result *r, int row, int col, int node,
                       struct av_cql_ring_entry **e, int *n, int *cap)
{
    struct av_cql_value v;

    if (av_cql_result_get(r, row, col, &v) != AV_OK || v.type != AV_CQL_LIST_TEXT)
        return;
    for (int k = 0; k < v.u.list.n; k++) {
        const char *p;
        size_t len;
        int64_t t;
        if (av_cql_result_list_item(r, row, col, k, &p, &len) != AV_OK ||
            av_cql_token_parse(p, len, &t, NULL) != AV_OK)
            continue;
        if (*n == *cap) {
            int nc = *cap ? *cap * 2 : 256;
            struct av_cql_ring_entry *ne = realloc(*e, sizeof(**e) * (size_t)nc);
            if (ne == NULL)
                return;
            *e = ne;
            *cap = nc;
        }
        (*e)[(*n)++] = (struct av_cql_ring_entry){t, node};
    }
}

static void take_keyspaces(struct av_cql *c, const struct av_cql_result *r)
{
    int n = av_cql_result_rows(r);
    struct cql_keyspace *ks = calloc((size_t)(n ? n : 1), sizeof(*ks));

    if (ks == NULL)
        return;
    for (int i = 0; i < n; i++) {
        struct av_cql_value v;
        cell_text(r, i, 0, ks[i].name, sizeof(ks[i].name));
        ks[i].ok = av_cql_result_get(r, i, 1, &v) == AV_OK && v.type == AV_CQL_OTHER &&
                   av_cql_repl_decode((const uint8_t *)v.u.s.p, v.u.s.n, &ks[i].repl, NULL) ==
                       AV_OK;
    }
    free(c->kss);
    c->kss = ks;
    c->nks = n;
}

void av_cql_refresh(struct av_cql *c)
{
    struct av_cql_ring_entry *e = NULL;
    struct batchq b;
    struct cql_conn *k;
    struct cql_node *self;
    const struct av_cql_result *loc, *peers;
    char why[AV_ERRBUF_SIZE] = "", port[8];
    int ne = 0, cap = 0;
    int64_t now = av_mono_ms();

    if (!c->discovery || c->in_refresh)
        return;
    c->need_refresh = 0;
    c->next_refresh = c->refresh_ms > 0 ? now + c->refresh_ms : INT64_MAX;
    if ((k = av_cql_any_conn(c)) == NULL)
        return; /* nothing open: the next request connects, the next round reads */
    c->in_refresh = 1;
    self = k->node;
    snprintf(port, sizeof(port), "%s", self->h.port);
    b.n = 0;
    bq_add(c, k, &b, "SELECT data_center, rack, tokens, rpc_address FROM system.local", 0);
    bq_add(c, k, &b, "SELECT peer, rpc_address, data_center, rack, tokens FROM system.peers",
           0);
    bq_add(c, k, &b, "SELECT keyspace_name, replication FROM system_schema.keyspaces", 0);
    if (c->control == NULL)
        bq_add(c, k, &b, NULL, 1);
    if (bq_wait(c, &b, why) != AV_OK && (b.w[0].rc != AV_OK || b.w[1].rc != AV_OK)) {
        av_warn("cassandra: cluster metadata not read (routing stays as it was): %s", why);
        c->need_refresh = 1;
        c->next_refresh = now + 1000;
        goto done;
    }
    if (b.n == 4 && b.w[3].rc == AV_OK && b.w[3].conn != NULL)
        c->control = b.w[3].conn;
    loc = b.w[0].res;
    peers = b.w[1].res;
    if (loc == NULL || peers == NULL || av_cql_result_rows(loc) < 1)
        goto done;
    for (int i = 0; i < c->nnodes; i++)
        c->nodes[i].seen = 0;
    /* self: the node answering (not necessarily findable by address) */
    cell_text(loc, 0, 0, self->dc, sizeof(self->dc));
    cell_text(loc, 0, 1, self->rack, sizeof(self->rack));
    cell_inet(loc, 0, 3, self->addr, sizeof(self->addr));
    self->seen = 1;
    self->gone = 0;
    add_tokens(loc, 0, 2, (int)(self - c->nodes), &e, &ne, &cap);
    if (!c->local_dc_set && c->local_dc[0] == '\0' && self->dc[0])
        snprintf(c->local_dc, sizeof(c->local_dc), "%s", self->dc);
    for (int row = 0; row < av_cql_result_rows(peers); row++) {
        char addr[64], peer[64];
        struct cql_node *n;
        cell_inet(peers, row, 1, addr, sizeof(addr));
        cell_inet(peers, row, 0, peer, sizeof(peer));
        if (addr[0] == '\0' || strcmp(addr, "0.0.0.0") == 0 || strcmp(addr, "::") == 0)
            snprintf(addr, sizeof(addr), "%s", peer);
        if (addr[0] == '\0')
            continue;
        if ((n = find_node(c, addr)) == NULL) {
            if (c->nnodes == AV_CQL_MAX_NODES)
                continue;
            n = &c->nodes[c->nnodes++];
            memset(n, 0, sizeof(*n));
            snprintf(n->h.name, sizeof(n->h.name), "%s", addr);
            snprintf(n->h.port, sizeof(n->h.port), "%s", port);
            n->up = 1;
            av_info("cassandra: discovered node %s:%s", addr, port);
        }
        snprintf(n->addr, sizeof(n->addr), "%s", addr);
        cell_text(peers, row, 2, n->dc, sizeof(n->dc));
        cell_text(peers, row, 3, n->rack, sizeof(n->rack));
        if (n->gone)
            av_info("cassandra: node %s is back in system.peers", addr);
        n->seen = 1;
        n->gone = 0;
        add_tokens(peers, row, 4, (int)(n - c->nodes), &e, &ne, &cap);
    }
    for (int i = 0; i < c->nnodes; i++) {
        struct cql_node *n = &c->nodes[i];
        if (!n->seen && !n->contact && !n->gone) {
            av_info("cassandra: node %s left the cluster", n->h.name);
            n->gone = 1;
            for (int j = 0; j < n->nconns; j++)
                n->conns[j]->retired = 1;
        }
        c->node_dc[i] = n->dc;
    }
    av_cql_ring_set(&c->ring, e, ne);
    e = NULL;
    if (b.w[2].rc == AV_OK && b.w[2].res != NULL)
        take_keyspaces(c, b.w[2].res);
    av_debug("cassandra: ring of %d tokens over %d nodes, local dc %s", c->ring.n, c->nnodes,
             c->local_dc[0] ? c->local_dc : "(any)");
done:
    free(e);
    bq_free(&b);
    c->in_refresh = 0;
}

void av_cql_maintain(struct av_cql *c)
{
    if (!c->discovery || c->in_refresh || c->depth > 0)
        return;
    if (c->need_refresh || av_mono_ms() >= c->next_refresh)
        av_cql_refresh(c);
}

const struct av_cql_repl *av_cql_ks_repl(struct av_cql *c, const char *ks)
{
    for (int i = 0; i < c->nks; i++)
        if (strcmp(c->kss[i].name, ks) == 0)
            return c->kss[i].ok ? &c->kss[i].repl : NULL;
    c->need_refresh = 1; /* a keyspace made after the last refresh */
    return NULL;
}

void av_cql_on_event(struct av_cql *c, const uint8_t *p, size_t n)
{
    struct av_cql_event ev;
    struct cql_node *nd;
    char why[AV_ERRBUF_SIZE];

    if (av_cql_event_decode(p, n, &ev, why) != AV_OK) {
        av_warn("cassandra: unreadable EVENT ignored: %s", why);
        return;
    }
    if (ev.kind == AV_CQL_EV_SCHEMA)
        return;
    av_info("cassandra: event %s %s %s", ev.kind == AV_CQL_EV_TOPOLOGY ? "topology" : "status",
            ev.change, ev.addr);
    nd = find_node(c, ev.addr);
    if (ev.kind == AV_CQL_EV_TOPOLOGY || nd == NULL) {
        c->need_refresh = 1;
        return;
    }
    if (strcmp(ev.change, "UP") == 0)
        av_cql_node_up(nd);
    else if (strcmp(ev.change, "DOWN") == 0 && nd->up)
        av_cql_node_down(c, nd);
}

void av_cql_schema_agreement(struct av_cql *c, struct cql_conn *k)
{
    int64_t deadline = av_mono_ms() + AGREEMENT_MS;

    (void)k;
    if (!c->discovery || av_cql_nodes(c, NULL) <= 1)
        return;
    c->in_refresh = 1;
    for (;;) {
        struct batchq b;
        struct cql_conn *kk = av_cql_any_conn(c);
        char why[AV_ERRBUF_SIZE], mine[64] = "", theirs[64], addr[64];
        int agree = 1;

        if (kk == NULL)
            break;
        b.n = 0;
        bq_add(c, kk, &b, "SELECT schema_version FROM system.local", 0);
        bq_add(c, kk, &b, "SELECT peer, rpc_address, schema_version FROM system.peers", 0);
        if (bq_wait(c, &b, why) != AV_OK) {
            bq_free(&b);
            break;
        }
        if (b.w[0].res && av_cql_result_rows(b.w[0].res) > 0) {
            struct av_cql_value v;
            if (av_cql_result_get(b.w[0].res, 0, 0, &v) == AV_OK && v.type == AV_CQL_UUID)
                memcpy(mine, v.u.uuid, 16);
        }
        for (int row = 0; b.w[1].res && row < av_cql_result_rows(b.w[1].res); row++) {
            struct av_cql_value v;
            struct cql_node *nd;
            cell_inet(b.w[1].res, row, 1, addr, sizeof(addr));
            if (addr[0] == '\0' || strcmp(addr, "0.0.0.0") == 0)
                cell_inet(b.w[1].res, row, 0, addr, sizeof(addr));
            nd = find_node(c, addr);
            if (nd != NULL && !nd->up)
                continue; /* a down node agrees when it comes back */
            if (av_cql_result_get(b.w[1].res, row, 2, &v) != AV_OK || v.type != AV_CQL_UUID)
                continue;
            memcpy(theirs, v.u.uuid, 16);
            if (memcmp(mine, theirs, 16) != 0)
                agree = 0;
        }
        bq_free(&b);
        if (agree)
            break;
        if (av_mono_ms() >= deadline) {
            av_warn("cassandra: schema versions still differ after %d ms; going on",
                    AGREEMENT_MS);
            break;
        }
        av_sleep_ms(200);
    }
    c->in_refresh = 0;
}
