/* cql_conn.c - opening connections and the synchronous half of cql.h:
 * the handshake of a new connection (OPTIONS, STARTUP, SASL PLAIN, USE of
 * the remembered keyspace, REGISTER for events when no connection listens,
 * PREPARE of every registered statement), av_cql_connect / close / peer,
 * and QUERY / PREPARE / EXECUTE / BATCH as one request waited for in the
 * event loop (cql_pool.c).
 *
 * Not here: the loop, routing and retries (cql_pool.c), sockets
 * (cql_net.c), discovery (cql_topo.c), the codec (cql_wire.c,
 * cql_result.c, cql_error.c), bind values (cql_value.c).
 *
 * Owns struct av_cql from av_cql_connect() to av_cql_close(): contact
 * points, credentials (wiped on close), the remembered keyspace; and each
 * struct av_cql_prepared with its query text (in the session's registry
 * until freed). How it fails: a connection whose handshake fails is
 * closed and its node marked down; a credentials or configuration refusal
 * (AV_EREMOTE) is the same on every node and ends the connect at once. A
 * server ERROR keeps the connection and maps to AV_ENET (retry later) or
 * AV_EREMOTE (do not), with the server's message in errbuf.
 *
 * Defaults for zero options: connect 5000 ms, request 12000 ms, max_frame
 * 16 MiB (the server's own native_transport_max_frame_size), one
 * connection per host, 1024 requests in flight, refresh every 60 s.
 */
#include "cql_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/clock.h"
#include "../core/log.h"

#define DEFAULT_CONNECT_MS 5000
#define DEFAULT_REQUEST_MS 12000
#define DEFAULT_INFLIGHT 1024
#define DEFAULT_REFRESH_MS 60000
#define DEFAULT_BACKOFF_MAX 5000
#define MAX_AUTH_ROUNDS 8

/* ---- the handshake (blocking, stream 0, nothing else on the socket) ---- */

static const uint8_t *hbody(const struct cql_conn *k, size_t *n)
{
    *n = k->hin.len - k->hoff;
    return (const uint8_t *)k->hin.data + k->hoff;
}

static av_rc hs_error(struct cql_conn *k, char *errbuf)
{
    struct av_cql_error e;
    char why[AV_ERRBUF_SIZE];
    const uint8_t *p;
    size_t n;
    av_rc rc;

    p = hbody(k, &n);
    if ((rc = av_cql_error_decode(&e, p, n, why)) != AV_OK)
        return av_fail(errbuf, rc, "cassandra %s: unreadable ERROR: %s", k->peer, why);
    return av_cql_error_report(&e, errbuf);
}

/* The handshake blocks the loop: bounded by the shorter of the connect and
 * request timeouts (a stopped node accepts TCP but never answers). */
static av_rc hs_exchange(struct cql_conn *k, struct av_cql_w *w, char *errbuf)
{
    int ms = k->c->connect_ms < k->c->request_ms ? k->c->connect_ms : k->c->request_ms;

    return av_cql_conn_exchange(k, w, av_mono_ms() + ms, errbuf);
}

/* The answer is a RESULT (else its error); *res may be NULL. */
static av_rc hs_result(struct cql_conn *k, struct av_cql_result **res, char *errbuf)
{
    char why[AV_ERRBUF_SIZE];
    const uint8_t *p;
    size_t n;
    av_rc rc;

    if (k->rh.opcode == AV_CQL_OP_ERROR)
        return hs_error(k, errbuf);
    if (k->rh.opcode != AV_CQL_OP_RESULT)
        return av_fail(errbuf, AV_EPARSE, "cassandra %s: opcode 0x%02x where a RESULT belongs",
                       k->peer, k->rh.opcode);
    p = hbody(k, &n);
    if (res == NULL)
        return AV_OK;
    if ((rc = av_cql_result_decode(res, p, n, why)) != AV_OK)
        return av_fail(errbuf, rc, "cassandra %s: %s", k->peer, why);
    return AV_OK;
}

static av_rc authenticate(struct cql_conn *k, struct av_cql_w *w, char *errbuf)
{
    struct av_cql *c = k->c;
    char cls[128], *tok = NULL;
    const uint8_t *p;
    size_t n, ul, pl;
    av_rc rc;

    p = hbody(k, &n);
    if ((rc = av_cql_authenticate_decode(p, n, cls, sizeof(cls), errbuf)) != AV_OK)
        return rc;
    if (c->user == NULL)
        return av_fail(errbuf, AV_EREMOTE,
                       "cassandra %s: server requires authentication (%s): set user/password",
                       k->peer, cls);
    /* SASL PLAIN: "\0" user "\0" password */
    ul = strlen(c->user);
    pl = strlen(c->password);
    tok = malloc(ul + pl + 2);
    if (tok == NULL)
        return av_fail(errbuf, AV_ENOMEM, "out of memory");
    tok[0] = '\0';
    memcpy(tok + 1, c->user, ul);
    tok[ul + 1] = '\0';
    memcpy(tok + ul + 2, c->password, pl);
    for (int round = 0; round < MAX_AUTH_ROUNDS; round++) {
        av_cql_w_begin(w, AV_CQL_OP_AUTH_RESPONSE, 0);
        av_cql_put_bytes(w, tok, (int64_t)(ul + pl + 2));
        if ((rc = hs_exchange(k, w, errbuf)) != AV_OK)
            goto done;
        switch (k->rh.opcode) {
        case AV_CQL_OP_AUTH_SUCCESS:
            rc = AV_OK;
            goto done;
        case AV_CQL_OP_AUTH_CHALLENGE:
            continue; /* PLAIN has one step; answer the same again */
        case AV_CQL_OP_ERROR:
            rc = hs_error(k, errbuf);
            goto done;
        default:
            rc = av_fail(errbuf, AV_EPARSE, "cassandra %s: opcode 0x%02x during login",
                         k->peer, k->rh.opcode);
            goto done;
        }
    }
    rc = av_fail(errbuf, AV_EREMOTE, "cassandra %s: login still challenged after %d rounds",
                 k->peer, MAX_AUTH_ROUNDS);
done:
    memset(tok, 0, ul + pl + 2);
    free(tok);
    return rc;
}

static av_rc use_keyspace(struct cql_conn *k, struct av_cql_w *w, char *errbuf)
{
    struct av_cql *c = k->c;
    char use[600];
    size_t n = 0;
    av_rc rc;

    n += (size_t)snprintf(use, sizeof(use), "USE \"");
    for (const char *s = c->keyspace; *s && n < sizeof(use) - 4; s++) {
        if (*s == '"')
            use[n++] = '"';
        use[n++] = *s;
    }
    use[n++] = '"';
    use[n] = '\0';
    av_cql_w_begin(w, AV_CQL_OP_QUERY, 0);
    av_cql_put_long_string(w, use, n);
    av_cql_put_query_params(w, AV_CQL_ONE, NULL, 0, 0, NULL, 0);
    if ((rc = hs_exchange(k, w, errbuf)) != AV_OK)
        return rc;
    rc = hs_result(k, NULL, errbuf);
    if (rc == AV_EREMOTE) { /* keyspace gone (node wiped?): carry on without it */
        av_warn("cassandra %s: %s; keyspace %s forgotten", k->peer, errbuf, c->keyspace);
        free(c->keyspace);
        c->keyspace = NULL;
        rc = AV_OK;
    }
    return rc;
}

/* Every registered statement on the new connection: failures are only
 * logged (a wiped node has no tables yet; UNPREPARED will retry later). */
static av_rc prepare_registry(struct cql_conn *k, struct av_cql_w *w)
{
    char why[AV_ERRBUF_SIZE];
    av_rc rc;

    for (struct av_cql_prepared *p = k->c->preps; p; p = p->next) {
        av_cql_w_begin(w, AV_CQL_OP_PREPARE, 0);
        av_cql_put_long_string(w, p->query, strlen(p->query));
        if ((rc = hs_exchange(k, w, why)) != AV_OK)
            return rc; /* the connection is unusable */
        if (hs_result(k, NULL, why) != AV_OK)
            av_debug("cassandra %s: not prepared here yet: %s", k->peer, why);
    }
    return AV_OK;
}

static av_rc do_register(struct cql_conn *k, struct av_cql_w *w, char *errbuf)
{
    av_rc rc;

    av_cql_w_begin(w, AV_CQL_OP_REGISTER, 0);
    av_cql_put_short(w, 2);
    av_cql_put_string(w, "TOPOLOGY_CHANGE", 15);
    av_cql_put_string(w, "STATUS_CHANGE", 13);
    if ((rc = hs_exchange(k, w, errbuf)) != AV_OK)
        return rc;
    if (k->rh.opcode == AV_CQL_OP_READY) {
        k->c->control = k;
        return AV_OK;
    }
    if (k->rh.opcode == AV_CQL_OP_ERROR)
        return hs_error(k, errbuf);
    return av_fail(errbuf, AV_EPARSE, "cassandra %s: opcode 0x%02x in answer to REGISTER",
                   k->peer, k->rh.opcode);
}

static av_rc handshake(struct cql_conn *k, char *errbuf)
{
    static const char *const keys[] = { "CQL_VERSION" }, *const vals[] = { "3.0.0" };
    struct av_cql_w w;
    char cqlv[32];
    const uint8_t *p;
    size_t n;
    av_rc rc;

    av_cql_w_init(&w, k->c->max_frame);
    av_cql_w_begin(&w, AV_CQL_OP_OPTIONS, 0);
    if ((rc = hs_exchange(k, &w, errbuf)) != AV_OK)
        goto done;
    if (k->rh.opcode == AV_CQL_OP_ERROR) {
        rc = hs_error(k, errbuf);
        goto done;
    }
    p = hbody(k, &n);
    if (k->rh.opcode != AV_CQL_OP_SUPPORTED ||
        av_cql_supported_decode(p, n, cqlv, sizeof(cqlv), NULL) != AV_OK) {
        rc = av_fail(errbuf, AV_EPARSE, "cassandra %s: bad answer to OPTIONS", k->peer);
        goto done;
    }
    av_debug("cassandra %s: CQL_VERSION %s", k->peer, cqlv);

    av_cql_w_begin(&w, AV_CQL_OP_STARTUP, 0);
    av_cql_put_string_map(&w, keys, vals, 1);
    if ((rc = hs_exchange(k, &w, errbuf)) != AV_OK)
        goto done;
    switch (k->rh.opcode) {
    case AV_CQL_OP_READY:
        break;
    case AV_CQL_OP_AUTHENTICATE:
        if ((rc = authenticate(k, &w, errbuf)) != AV_OK)
            goto done;
        break;
    case AV_CQL_OP_ERROR:
        rc = hs_error(k, errbuf);
        goto done;
    default:
        rc = av_fail(errbuf, AV_EPARSE, "cassandra %s: opcode 0x%02x in answer to STARTUP",
                     k->peer, k->rh.opcode);
        goto done;
    }
    if (k->c->keyspace != NULL && (rc = use_keyspace(k, &w, errbuf)) != AV_OK)
        goto done;
    if ((rc = prepare_registry(k, &w)) != AV_OK) {
        snprintf(errbuf, AV_ERRBUF_SIZE, "cassandra %.200s: connection lost preparing", k->peer);
        goto done;
    }
    if (k->c->control == NULL && k->c->discovery) {
        char why[AV_ERRBUF_SIZE];
        if (do_register(k, &w, why) != AV_OK) /* events are a bonus: refresh still runs */
            av_debug("cassandra %s: REGISTER: %s", k->peer, why);
    }
done:
    av_cql_w_free(&w);
    return rc;
}

void av_cql_conn_free(struct cql_conn *k)
{
    if (k == NULL)
        return;
    if (k->fd >= 0)
        close(k->fd);
    av_buf_free(&k->hin);
    av_buf_free(&k->out);
    free(k->in);
    free(k->slots);
    free(k->free_ids);
    free(k);
}

struct cql_conn *av_cql_open_conn(struct av_cql *c, struct cql_node *n, av_rc *rcp,
                                  char *errbuf)
{
    struct cql_conn *k;
    char why[AV_ERRBUF_SIZE];
    av_rc rc;

    if (n->nconns >= AV_CQL_MAX_CONNS) {
        *rcp = av_fail(errbuf, AV_ELIMIT, "cassandra: connection pool full");
        return NULL;
    }
    k = calloc(1, sizeof(*k));
    if (k == NULL || (k->slots = calloc(AV_CQL_STREAMS, sizeof(*k->slots))) == NULL ||
        (k->free_ids = malloc(sizeof(*k->free_ids) * AV_CQL_STREAMS)) == NULL) {
        if (k)
            free(k->slots);
        free(k);
        *rcp = av_fail(errbuf, AV_ENOMEM, "out of memory");
        return NULL;
    }
    k->c = c;
    k->node = n;
    av_buf_init(&k->hin, c->max_frame);
    av_buf_init(&k->out, 0);
    /* lowest ids on top: the server sees small stream numbers */
    for (int s = AV_CQL_STREAMS - 1; s >= 1; s--)
        k->free_ids[k->nfree++] = (int16_t)s;
    av_cql_node_name(n, k->peer, sizeof(k->peer));
    k->fd = av_cql_dial(&n->h, c->connect_ms, why, sizeof(why));
    if (k->fd < 0) {
        rc = av_fail(errbuf, AV_ENET, "cassandra %s: %s", k->peer, why);
    } else {
        rc = handshake(k, errbuf);
    }
    if (rc != AV_OK) {
        if (c->control == k)
            c->control = NULL;
        /* refused logins too: a node that cannot check them (system_auth
         * unavailable) is tried again later, not at every request */
        av_cql_node_down(c, n);
        av_cql_conn_free(k);
        *rcp = rc;
        return NULL;
    }
    av_cql_node_up(n);
    n->backoff_ms = 0;
    k->last_rx = av_mono_ms();
    n->conns[n->nconns++] = k;
    *rcp = AV_OK;
    return k;
}

/* ---- session ----------------------------------------------------------- */

void av_cql_close(struct av_cql *c)
{
    if (c == NULL)
        return;
    c->closing = 1;
    for (int i = 0; i < c->nnodes; i++)
        for (int j = 0; j < c->nodes[i].nconns; j++)
            av_cql_conn_fail(c->nodes[i].conns[j--], AV_ENET, "cassandra: session closed", 0);
    /* the requests that failed over find no node now: drop the delayed */
    while (c->delayed) {
        struct cql_req *q = c->delayed;
        c->delayed = q->next;
        q->retries_left = 0;
        av_cql_finish(c, q, AV_ENET, "cassandra: session closed");
    }
    while (c->dead != NULL) {
        struct cql_conn *k = c->dead;
        c->dead = k->dead_next;
        av_cql_conn_free(k);
    }
    while (c->freeq) {
        struct cql_req *q = c->freeq;
        c->freeq = q->next;
        av_cql_w_free(&q->w);
        free(q);
    }
    for (struct av_cql_prepared *p = c->preps; p; p = p->next)
        p->owner = NULL;
    av_cql_ring_free(&c->ring);
    free(c->kss);
    av_buf_free(&c->rk);
    free(c->user);
    if (c->password) {
        memset(c->password, 0, strlen(c->password));
        free(c->password);
    }
    free(c->keyspace);
    free(c);
}

/* The first contact point that answers. */
static av_rc connect_any(struct av_cql *c, char *errbuf)
{
    char tried[AV_ERRBUF_SIZE] = "", why[AV_ERRBUF_SIZE];
    size_t len = 0;
    av_rc rc = AV_ENET, first = AV_OK;
    int same = 1;

    for (int i = 0; i < c->nnodes; i++) {
        struct cql_node *n = &c->nodes[i];
        char name[300];

        if (av_cql_open_conn(c, n, &rc, why) != NULL) {
            c->last = n->conns[n->nconns - 1];
            snprintf(c->peer, sizeof(c->peer), "%s", c->last->peer);
            return AV_OK;
        }
        if (first == AV_OK)
            first = rc;
        else if (rc != first)
            same = 0;
        if (rc == AV_EREMOTE) /* credentials or config: the same on every node */
            return av_fail(errbuf, rc, "%s", why);
        av_cql_node_name(n, name, sizeof(name));
        if (len < sizeof(tried)) /* name the host unless the reason already does */
            len += (size_t)snprintf(tried + len, sizeof(tried) - len, "%s%s%s%s",
                                    i ? "; " : "", strstr(why, name) ? "" : name,
                                    strstr(why, name) ? "" : ": ", why);
    }
    return av_fail(errbuf, same ? first : AV_ENET, "cassandra: no contact point usable: %s",
                   tried);
}

av_rc av_cql_connect(struct av_cql **out, const struct av_cql_opts *o, char *errbuf)
{
    struct av_cql *c;
    av_rc rc;

    if (out == NULL || o == NULL || o->hosts == NULL)
        return av_fail(errbuf, AV_EINVAL, "cassandra: no hosts given");
    if ((o->user == NULL) != (o->password == NULL))
        return av_fail(errbuf, AV_EINVAL, "cassandra: give both user and password, or neither");
    if (o->connect_timeout_ms < 0 || o->request_timeout_ms < 0 || o->retries < 0 ||
        o->max_inflight < 0 || o->connections_per_host < 0 || o->backoff_max_ms < 0)
        return av_fail(errbuf, AV_EINVAL, "cassandra: negative option");
    if (o->connections_per_host > AV_CQL_MAX_CONNS)
        return av_fail(errbuf, AV_EINVAL, "cassandra: at most %d connections per host",
                       AV_CQL_MAX_CONNS);
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return av_fail(errbuf, AV_ENOMEM, "out of memory");
    c->connect_ms = o->connect_timeout_ms ? o->connect_timeout_ms : DEFAULT_CONNECT_MS;
    c->request_ms = o->request_timeout_ms ? o->request_timeout_ms : DEFAULT_REQUEST_MS;
    c->max_frame = o->max_frame ? o->max_frame : AV_CQL_MAX_FRAME_DEFAULT;
    c->per_host = o->connections_per_host ? o->connections_per_host : 1;
    c->max_inflight = o->max_inflight ? o->max_inflight : DEFAULT_INFLIGHT;
    if (c->max_inflight > AV_CQL_STREAMS - 1)
        c->max_inflight = AV_CQL_STREAMS - 1;
    c->refresh_ms = o->refresh_ms ? o->refresh_ms : DEFAULT_REFRESH_MS;
    c->discovery = o->discover != 0;
    c->retries = o->retries;
    c->backoff_max = o->backoff_max_ms ? o->backoff_max_ms : DEFAULT_BACKOFF_MAX;
    c->stop = o->stop;
    if (o->local_dc && o->local_dc[0]) {
        snprintf(c->local_dc, sizeof(c->local_dc), "%s", o->local_dc);
        c->local_dc_set = 1;
    }
    av_buf_init(&c->rk, 0);
    if ((rc = av_cql_parse_hosts(c, o->hosts, errbuf)) != AV_OK)
        goto fail;
    if (o->user != NULL) {
        c->user = strdup(o->user);
        c->password = strdup(o->password);
        if (c->user == NULL || c->password == NULL) {
            rc = av_fail(errbuf, AV_ENOMEM, "out of memory");
            goto fail;
        }
    }
    if ((rc = connect_any(c, errbuf)) != AV_OK)
        goto fail;
    if (c->discovery)
        av_cql_refresh(c);
    *out = c;
    return AV_OK;

fail:
    av_cql_close(c);
    return rc;
}

const char *av_cql_peer(const struct av_cql *c)
{
    return c != NULL && c->last != NULL && c->last->fd >= 0 ? c->peer : "";
}

/* ---- synchronous requests ------------------------------------------------ */

/* Sends q (encoded) and waits for its answer. */
static av_rc sync_run(struct av_cql *c, struct cql_req *q, struct av_cql_result **res,
                      char *errbuf)
{
    struct cql_wait w;
    av_rc rc;

    memset(&w, 0, sizeof(w));
    q->kind = REQ_SYNC;
    q->wait = &w;
    c->inflight++;
    av_cql_dispatch(c, q);
    rc = av_cql_wait_for(c, &w);
    if (c->last != NULL)
        snprintf(c->peer, sizeof(c->peer), "%s", c->last->peer);
    if (rc != AV_OK) {
        av_cql_result_free(w.res);
        if (errbuf)
            snprintf(errbuf, AV_ERRBUF_SIZE, "%s", w.err);
        return rc;
    }
    if (w.res != NULL && w.res->kind == AV_CQL_RESULT_SCHEMA_CHANGE && !c->in_refresh)
        av_cql_schema_agreement(c, w.conn);
    if (res != NULL)
        *res = w.res;
    else
        av_cql_result_free(w.res);
    return AV_OK;
}

static av_rc entry(struct av_cql *c, char *errbuf)
{
    if (c == NULL)
        return av_fail(errbuf, AV_EINVAL, "cassandra: no connection");
    if (c->depth > 0)
        return av_fail(errbuf, AV_EINVAL, "cassandra: a synchronous call from a callback");
    av_cql_maintain(c);
    while (c->inflight >= c->max_inflight)
        av_cql_pump(c, 1000);
    return AV_OK;
}

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

static av_rc encoded(struct av_cql *c, struct cql_req *q, char *errbuf)
{
    av_rc rc = av_cql_w_end(&q->w);

    if (rc != AV_OK) {
        av_fail(errbuf, rc, "cassandra: request not sent: %s",
                q->w.why ? q->w.why : av_strerror(rc));
        q->kind = REQ_FORGET;
        av_cql_finish(c, q, rc, NULL);
    }
    return rc;
}

av_rc av_cql_sync_query(struct av_cql *c, struct cql_conn *pin, const char *cql,
                        const struct av_cql_value *vals, int n, int consistency,
                        struct av_cql_result **res, char *errbuf)
{
    struct cql_req *q;
    av_rc rc;

    if ((rc = check_args(vals, n, consistency, errbuf)) != AV_OK)
        return rc;
    if ((q = av_cql_req_new(c, REQ_SYNC)) == NULL)
        return av_fail(errbuf, AV_ENOMEM, "out of memory");
    av_cql_w_begin(&q->w, AV_CQL_OP_QUERY, 0);
    av_cql_put_long_string(&q->w, cql, strlen(cql));
    av_cql_put_query_params(&q->w, consistency, vals, n, 0, NULL, 0);
    if ((rc = encoded(c, q, errbuf)) != AV_OK)
        return rc;
    q->pin = pin;
    return sync_run(c, q, res, errbuf);
}

av_rc av_cql_query(struct av_cql *c, const char *cql, const struct av_cql_value *vals, int n,
                   int consistency, struct av_cql_result **res, char *errbuf)
{
    av_rc rc;

    if (cql == NULL)
        return av_fail(errbuf, AV_EINVAL, "cassandra: no connection or no query");
    if ((rc = entry(c, errbuf)) != AV_OK)
        return rc;
    return av_cql_sync_query(c, NULL, cql, vals, n, consistency, res, errbuf);
}

/* PREPARE (routed like any request); fills p's id and metadata. */
static av_rc prepare_once(struct av_cql *c, struct av_cql_prepared *p, struct cql_conn **on,
                          char *errbuf)
{
    struct av_cql_result *r = NULL;
    struct cql_req *q;
    struct cql_wait w;
    uint8_t *id;
    av_rc rc;

    if ((q = av_cql_req_new(c, REQ_SYNC)) == NULL)
        return av_fail(errbuf, AV_ENOMEM, "out of memory");
    av_cql_w_begin(&q->w, AV_CQL_OP_PREPARE, 0);
    av_cql_put_long_string(&q->w, p->query, strlen(p->query));
    if ((rc = encoded(c, q, errbuf)) != AV_OK)
        return rc;
    memset(&w, 0, sizeof(w));
    q->wait = &w;
    c->inflight++;
    av_cql_dispatch(c, q);
    if ((rc = av_cql_wait_for(c, &w)) != AV_OK) {
        av_cql_result_free(w.res);
        if (errbuf)
            snprintf(errbuf, AV_ERRBUF_SIZE, "%s", w.err);
        return rc;
    }
    r = w.res;
    *on = w.conn;
    if (r == NULL || r->kind != AV_CQL_RESULT_PREPARED) {
        rc = av_fail(errbuf, AV_EPARSE, "cassandra: RESULT kind %d in answer to PREPARE",
                     r ? r->kind : -1);
        goto done;
    }
    if ((id = malloc(r->prep_id_len)) == NULL) {
        rc = av_fail(errbuf, AV_ENOMEM, "out of memory");
        goto done;
    }
    memcpy(id, r->prep_id, r->prep_id_len);
    free(p->id);
    p->id = id;
    p->id_len = r->prep_id_len;
    p->nparams = r->nparams;
    p->npk = r->npk;
    memcpy(p->pk, r->pk, sizeof(p->pk[0]) * (size_t)r->npk);
    free(p->ks);
    p->ks = r->prep_ks ? strdup(r->prep_ks) : NULL;
done:
    av_cql_result_free(r);
    return rc;
}

av_rc av_cql_prepare(struct av_cql *c, const char *cql, struct av_cql_prepared **out,
                     char *errbuf)
{
    struct av_cql_prepared *p;
    struct cql_conn *on = NULL;
    av_rc rc;

    if (cql == NULL || out == NULL)
        return av_fail(errbuf, AV_EINVAL, "cassandra: no connection or no query");
    if ((rc = entry(c, errbuf)) != AV_OK)
        return rc;
    p = calloc(1, sizeof(*p));
    if (p == NULL || (p->query = strdup(cql)) == NULL) {
        free(p);
        return av_fail(errbuf, AV_ENOMEM, "out of memory");
    }
    if ((rc = prepare_once(c, p, &on, errbuf)) != AV_OK) {
        av_cql_prepared_free(p);
        return rc;
    }
    p->owner = c;
    p->next = c->preps;
    c->preps = p;
    /* the other open connections learn it too (answers not waited for:
     * an UNPREPARED later re-prepares anyway) */
    for (int i = 0; i < c->nnodes; i++)
        for (int j = 0; j < c->nodes[i].nconns; j++) {
            struct cql_conn *k = c->nodes[i].conns[j];
            struct cql_req *q;
            if (k == on || k->fd < 0 || k->nfree == 0 || (q = av_cql_req_new(c, REQ_FORGET)) ==
                                                             NULL)
                continue;
            av_cql_w_begin(&q->w, AV_CQL_OP_PREPARE, 0);
            av_cql_put_long_string(&q->w, p->query, strlen(p->query));
            if (av_cql_w_end(&q->w) != AV_OK) {
                av_cql_finish(c, q, AV_EINVAL, NULL);
                continue;
            }
            av_cql_send_on(c, k, q);
        }
    *out = p;
    return AV_OK;
}

void av_cql_prepared_free(struct av_cql_prepared *p)
{
    if (p == NULL)
        return;
    if (p->owner != NULL)
        for (struct av_cql_prepared **pp = &p->owner->preps; *pp; pp = &(*pp)->next)
            if (*pp == p) {
                *pp = p->next;
                break;
            }
    free(p->query);
    free(p->id);
    free(p->ks);
    free(p);
}

int av_cql_prepared_params(const struct av_cql_prepared *p)
{
    return p ? p->nparams : -1;
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

av_rc av_cql_execute(struct av_cql *c, struct av_cql_prepared *p,
                     const struct av_cql_value *vals, int n, int consistency, int page_size,
                     const void *paging_state, size_t paging_len,
                     struct av_cql_result **res, char *errbuf)
{
    struct cql_req *q;
    av_rc rc;

    if ((rc = check_args(vals, n, consistency, errbuf)) != AV_OK ||
        (rc = check_bind(p, n, errbuf)) != AV_OK || (rc = entry(c, errbuf)) != AV_OK)
        return rc;
    if ((q = av_cql_req_new(c, REQ_SYNC)) == NULL)
        return av_fail(errbuf, AV_ENOMEM, "out of memory");
    av_cql_enc_execute(q, p, vals, n, consistency, page_size, paging_state, paging_len);
    if ((rc = encoded(c, q, errbuf)) != AV_OK)
        return rc;
    av_cql_req_route(c, q, p, vals, n);
    return sync_run(c, q, res, errbuf);
}

av_rc av_cql_batch(struct av_cql *c, int type, const struct av_cql_batch_item *items, int n,
                   int consistency, char *errbuf)
{
    struct cql_req *q;
    av_rc rc;

    if (items == NULL || n < 1 || n > 65535 || type < 0 || type > 2)
        return av_fail(errbuf, AV_EINVAL, "cassandra: bad batch (type %d, %d statements)",
                       type, n);
    if ((rc = check_args(NULL, 0, consistency, errbuf)) != AV_OK)
        return rc;
    for (int i = 0; i < n; i++)
        if ((rc = check_args(items[i].vals, items[i].n, consistency, errbuf)) != AV_OK ||
            (rc = check_bind(items[i].p, items[i].n, errbuf)) != AV_OK)
            return rc;
    if ((rc = entry(c, errbuf)) != AV_OK)
        return rc;
    if ((q = av_cql_req_new(c, REQ_SYNC)) == NULL)
        return av_fail(errbuf, AV_ENOMEM, "out of memory");
    av_cql_enc_batch(q, type, items, n, consistency);
    if ((rc = encoded(c, q, errbuf)) != AV_OK)
        return rc;
    av_cql_req_route(c, q, items[0].p, items[0].vals, items[0].n);
    return sync_run(c, q, NULL, errbuf);
}
