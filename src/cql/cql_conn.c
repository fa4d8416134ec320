/* cql_conn.c - the connection half of cql.h: handshake (OPTIONS, STARTUP,
 * SASL PLAIN), synchronous requests on stream 0, QUERY / PREPARE /
 * EXECUTE / BATCH, and transparent re-prepare.
 *
 * Not here: contact points, sockets and reading frames (cql_net.c), the
 * codec (cql_wire.c, cql_result.c, cql_error.c), bind values (cql_value.c).
 *
 * Owns a struct av_cql (cql_int.h) from av_cql_connect() to av_cql_close():
 * its contact points, credentials (wiped on close), the remembered keyspace
 * and the request and answer buffers; and each struct av_cql_prepared with
 * its query text. How it fails: any transport failure, timeout or
 * unreadable frame closes the socket (the stream could be out of step) and
 * the call returns AV_ENET (AV_EPARSE / AV_ELIMIT for bad frames); the next
 * call reconnects, starting with the contact point after the one that was
 * lost. A server ERROR keeps the connection and maps to AV_ENET (retry
 * later) or AV_EREMOTE (do not), with the server's message in errbuf.
 *
 * Defaults for zero options: connect 5000 ms, request 12000 ms, max_frame
 * 16 MiB (the server's own native_transport_max_frame_size).
 */
#include "cql_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/log.h"

#define DEFAULT_CONNECT_MS 5000
#define DEFAULT_REQUEST_MS 12000
#define MAX_AUTH_ROUNDS 8

struct av_cql_prepared {
    char *query;
    uint8_t *id;
    size_t id_len;
    int nparams;
};

/* ---- requests ---------------------------------------------------------- */

static const uint8_t *msg_body(const struct av_cql *c, size_t *n)
{
    *n = c->in.len - c->off;
    return (const uint8_t *)c->in.data + c->off;
}

/* The answer is an ERROR: report it and remember the code. A body we
 * cannot read is AV_EPARSE and drops the connection. */
static av_rc server_error(struct av_cql *c, char *errbuf)
{
    struct av_cql_error e;
    char why[AV_ERRBUF_SIZE];
    const uint8_t *p;
    size_t n;
    av_rc rc;

    p = msg_body(c, &n);
    if ((rc = av_cql_error_decode(&e, p, n, why)) != AV_OK) {
        av_fail(errbuf, rc, "cassandra %s: unreadable ERROR: %s", c->peer, why);
        av_cql_drop(c);
        return rc;
    }
    c->last_code = e.code;
    return av_cql_error_report(&e, errbuf);
}

/* The answer in c->rh/c->in as a RESULT; *res (may be NULL) gets it. An
 * ERROR answer sets c->last_code and returns its av_rc. */
static av_rc take_result(struct av_cql *c, struct av_cql_result **res, char *errbuf)
{
    struct av_cql_result *r = NULL;
    char why[AV_ERRBUF_SIZE];
    const uint8_t *p;
    size_t n;
    av_rc rc;

    c->last_code = -1;
    if (c->rh.opcode == AV_CQL_OP_ERROR)
        return server_error(c, errbuf);
    if (c->rh.opcode != AV_CQL_OP_RESULT) {
        rc = av_fail(errbuf, AV_EPARSE, "cassandra %s: opcode 0x%02x where a RESULT belongs",
                     c->peer, c->rh.opcode);
        av_cql_drop(c);
        return rc;
    }
    p = msg_body(c, &n);
    if ((rc = av_cql_result_decode(&r, p, n, why)) != AV_OK) {
        av_fail(errbuf, rc, "cassandra %s: %s", c->peer, why);
        if (rc == AV_EPARSE)
            av_cql_drop(c);
        return rc;
    }
    if (r->kind == AV_CQL_RESULT_SET_KEYSPACE && r->keyspace != NULL) {
        char *ks = strdup(r->keyspace);
        if (ks != NULL) {
            free(c->keyspace);
            c->keyspace = ks;
        }
    }
    if (res != NULL)
        *res = r;
    else
        av_cql_result_free(r);
    return AV_OK;
}

/* Sends c->w and expects a RESULT; *res (may be NULL) gets it. */
static av_rc request(struct av_cql *c, struct av_cql_result **res, char *errbuf)
{
    av_rc rc;

    c->last_code = -1;
    if ((rc = av_cql_exchange(c, errbuf)) != AV_OK)
        return rc;
    return take_result(c, res, errbuf);
}

/* ---- handshake --------------------------------------------------------- */

static av_rc authenticate(struct av_cql *c, char *errbuf)
{
    char cls[128], *tok = NULL;
    const uint8_t *p;
    size_t n, ul, pl;
    av_rc rc;

    p = msg_body(c, &n);
    if ((rc = av_cql_authenticate_decode(p, n, cls, sizeof(cls), errbuf)) != AV_OK) {
        av_cql_drop(c);
        return rc;
    }
    if (c->user == NULL)
        return av_fail(errbuf, AV_EREMOTE,
                       "cassandra %s: server requires authentication (%s): set user/password",
                       c->peer, cls);
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
        av_cql_w_begin(&c->w, AV_CQL_OP_AUTH_RESPONSE, 0);
        av_cql_put_bytes(&c->w, tok, (int64_t)(ul + pl + 2));
        if ((rc = av_cql_exchange(c, errbuf)) != AV_OK)
            goto done;
        switch (c->rh.opcode) {
        case AV_CQL_OP_AUTH_SUCCESS:
            rc = AV_OK;
            goto done;
        case AV_CQL_OP_AUTH_CHALLENGE:
            continue; /* PLAIN has one step; answer the same again */
        case AV_CQL_OP_ERROR:
            rc = server_error(c, errbuf);
            goto done;
        default:
            rc = av_fail(errbuf, AV_EPARSE, "cassandra %s: opcode 0x%02x during login",
                         c->peer, c->rh.opcode);
            goto done;
        }
    }
    rc = av_fail(errbuf, AV_EREMOTE, "cassandra %s: login still challenged after %d rounds",
                 c->peer, MAX_AUTH_ROUNDS);
done:
    memset(tok, 0, ul + pl + 2);
    free(tok);
    return rc;
}

/* OPTIONS -> SUPPORTED, STARTUP -> READY or AUTHENTICATE..., then USE of
 * the remembered keyspace. */
static av_rc handshake(struct av_cql *c, char *errbuf)
{
    static const char *const keys[] = { "CQL_VERSION" }, *const vals[] = { "3.0.0" };
    char cqlv[32];
    const uint8_t *p;
    size_t n;
    av_rc rc;

    av_cql_w_begin(&c->w, AV_CQL_OP_OPTIONS, 0);
    if ((rc = av_cql_exchange(c, errbuf)) != AV_OK)
        return rc;
    if (c->rh.opcode == AV_CQL_OP_ERROR)
        return server_error(c, errbuf);
    p = msg_body(c, &n);
    if (c->rh.opcode != AV_CQL_OP_SUPPORTED ||
        av_cql_supported_decode(p, n, cqlv, sizeof(cqlv), NULL) != AV_OK)
        return av_fail(errbuf, AV_EPARSE, "cassandra %s: bad answer to OPTIONS", c->peer);
    av_debug("cassandra %s: CQL_VERSION %s", c->peer, cqlv);

    av_cql_w_begin(&c->w, AV_CQL_OP_STARTUP, 0);
    av_cql_put_string_map(&c->w, keys, vals, 1);
    if ((rc = av_cql_exchange(c, errbuf)) != AV_OK)
        return rc;
    switch (c->rh.opcode) {
    case AV_CQL_OP_READY:
        break;
    case AV_CQL_OP_AUTHENTICATE:
        if ((rc = authenticate(c, errbuf)) != AV_OK)
            return rc;
        break;
    case AV_CQL_OP_ERROR:
        return server_error(c, errbuf);
    default:
        return av_fail(errbuf, AV_EPARSE, "cassandra %s: opcode 0x%02x in answer to STARTUP",
                       c->peer, c->rh.opcode);
    }
    if (c->keyspace != NULL) {
        char use[600];
        size_t k = 0;

        k += (size_t)snprintf(use, sizeof(use), "USE \"");
        for (const char *s = c->keyspace; *s && k < sizeof(use) - 4; s++) {
            if (*s == '"')
                use[k++] = '"';
            use[k++] = *s;
        }
        use[k++] = '"';
        use[k] = '\0';
        av_cql_w_begin(&c->w, AV_CQL_OP_QUERY, 0);
        av_cql_put_long_string(&c->w, use, k);
        av_cql_put_query_params(&c->w, AV_CQL_ONE, NULL, 0, 0, NULL, 0);
        rc = request(c, NULL, errbuf);
        if (rc == AV_EREMOTE) { /* keyspace gone (node wiped?): carry on without it */
            av_warn("cassandra %s: %s; keyspace %s forgotten", c->peer, errbuf, c->keyspace);
            free(c->keyspace);
            c->keyspace = NULL;
            rc = AV_OK;
        }
        return rc;
    }
    return AV_OK;
}

/* Tries every contact point, starting with c->next. On success c->next
 * moves past the node we got, so a reconnect tries the others first. */
static av_rc connect_any(struct av_cql *c, char *errbuf)
{
    char tried[AV_ERRBUF_SIZE] = "", why[AV_ERRBUF_SIZE];
    size_t len = 0;
    av_rc rc = AV_ENET, first = AV_OK;
    int same = 1;

    for (int i = 0; i < c->nhosts; i++) {
        int idx = (c->next + i) % c->nhosts;
        const struct host *h = &c->hosts[idx];
        int fd;

        snprintf(c->peer, sizeof(c->peer), strchr(h->name, ':') ? "[%s]:%s" : "%s:%s",
                 h->name, h->port);
        fd = av_cql_dial(h, c->connect_ms, why, sizeof(why));
        if (fd < 0) {
            rc = AV_ENET;
        } else {
            c->fd = fd;
            rc = handshake(c, why);
            if (rc == AV_OK) {
                c->next = (idx + 1) % c->nhosts;
                return AV_OK;
            }
            av_cql_drop(c);
        }
        if (first == AV_OK)
            first = rc;
        else if (rc != first)
            same = 0;
        if (rc == AV_EREMOTE) { /* credentials or config: the same on every node */
            c->peer[0] = '\0';
            return av_fail(errbuf, rc, "%s", why);
        }
        if (len < sizeof(tried)) /* name the host unless the reason already does */
            len += (size_t)snprintf(tried + len, sizeof(tried) - len, "%s%s%s%s",
                                    i ? "; " : "", strstr(why, c->peer) ? "" : c->peer,
                                    strstr(why, c->peer) ? "" : ": ", why);
    }
    c->peer[0] = '\0';
    c->next = (c->next + 1) % c->nhosts;
    return av_fail(errbuf, same ? first : AV_ENET, "cassandra: no contact point usable: %s",
                   tried);
}

static av_rc ensure(struct av_cql *c, char *errbuf)
{
    if (c->fd >= 0)
        return AV_OK;
    return connect_any(c, errbuf);
}

/* ---- public API -------------------------------------------------------- */

void av_cql_close(struct av_cql *c)
{
    if (c == NULL)
        return;
    av_cql_drop(c);
    av_cql_w_free(&c->w);
    av_buf_free(&c->in);
    av_buf_free(&c->out);
    free(c->hosts);
    free(c->user);
    if (c->password) {
        memset(c->password, 0, strlen(c->password));
        free(c->password);
    }
    free(c->keyspace);
    free(c);
}

av_rc av_cql_connect(struct av_cql **out, const struct av_cql_opts *o, char *errbuf)
{
    struct av_cql *c;
    av_rc rc;

    if (out == NULL || o == NULL || o->hosts == NULL)
        return av_fail(errbuf, AV_EINVAL, "cassandra: no hosts given");
    if ((o->user == NULL) != (o->password == NULL))
        return av_fail(errbuf, AV_EINVAL, "cassandra: give both user and password, or neither");
    if (o->connect_timeout_ms < 0 || o->request_timeout_ms < 0)
        return av_fail(errbuf, AV_EINVAL, "cassandra: negative timeout");
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return av_fail(errbuf, AV_ENOMEM, "out of memory");
    c->fd = -1;
    c->last_code = -1;
    c->connect_ms = o->connect_timeout_ms ? o->connect_timeout_ms : DEFAULT_CONNECT_MS;
    c->request_ms = o->request_timeout_ms ? o->request_timeout_ms : DEFAULT_REQUEST_MS;
    c->max_frame = o->max_frame ? o->max_frame : AV_CQL_MAX_FRAME_DEFAULT;
    av_cql_w_init(&c->w, c->max_frame);
    av_buf_init(&c->in, c->max_frame);
    av_buf_init(&c->out, (size_t)AV_CQL_PIPELINE_MAX * c->max_frame);
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
    *out = c;
    return AV_OK;

fail:
    av_cql_close(c);
    return rc;
}

const char *av_cql_peer(const struct av_cql *c)
{
    return c != NULL && c->fd >= 0 ? c->peer : "";
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

av_rc av_cql_query(struct av_cql *c, const char *cql, const struct av_cql_value *vals, int n,
                   int consistency, struct av_cql_result **res, char *errbuf)
{
    av_rc rc;

    if (c == NULL || cql == NULL)
        return av_fail(errbuf, AV_EINVAL, "cassandra: no connection or no query");
    if ((rc = check_args(vals, n, consistency, errbuf)) != AV_OK)
        return rc;
    if ((rc = ensure(c, errbuf)) != AV_OK)
        return rc;
    av_cql_w_begin(&c->w, AV_CQL_OP_QUERY, 0);
    av_cql_put_long_string(&c->w, cql, strlen(cql));
    av_cql_put_query_params(&c->w, consistency, vals, n, 0, NULL, 0);
    return request(c, res, errbuf);
}

/* PREPARE on the current connection; fills id and nparams of p. */
static av_rc prepare_on(struct av_cql *c, struct av_cql_prepared *p, char *errbuf)
{
    struct av_cql_result *r = NULL;
    uint8_t *id;
    av_rc rc;

    if ((rc = ensure(c, errbuf)) != AV_OK)
        return rc;
    av_cql_w_begin(&c->w, AV_CQL_OP_PREPARE, 0);
    av_cql_put_long_string(&c->w, p->query, strlen(p->query));
    if ((rc = request(c, &r, errbuf)) != AV_OK)
        return rc;
    if (r->kind != AV_CQL_RESULT_PREPARED) {
        rc = av_fail(errbuf, AV_EPARSE, "cassandra %s: RESULT kind %d in answer to PREPARE",
                     c->peer, r->kind);
        goto done;
    }
    id = malloc(r->prep_id_len);
    if (id == NULL) {
        rc = av_fail(errbuf, AV_ENOMEM, "out of memory");
        goto done;
    }
    memcpy(id, r->prep_id, r->prep_id_len);
    free(p->id);
    p->id = id;
    p->id_len = r->prep_id_len;
    p->nparams = r->nparams;
done:
    av_cql_result_free(r);
    return rc;
}

av_rc av_cql_prepare(struct av_cql *c, const char *cql, struct av_cql_prepared **out,
                     char *errbuf)
{
    struct av_cql_prepared *p;
    av_rc rc;

    if (c == NULL || cql == NULL || out == NULL)
        return av_fail(errbuf, AV_EINVAL, "cassandra: no connection or no query");
    p = calloc(1, sizeof(*p));
    if (p == NULL || (p->query = strdup(cql)) == NULL) {
        free(p);
        return av_fail(errbuf, AV_ENOMEM, "out of memory");
    }
    if ((rc = prepare_on(c, p, errbuf)) != AV_OK) {
        av_cql_prepared_free(p);
        return rc;
    }
    *out = p;
    return AV_OK;
}

void av_cql_prepared_free(struct av_cql_prepared *p)
{
    if (p == NULL)
        return;
    free(p->query);
    free(p->id);
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

/* EXECUTE and BATCH frames into c->w, on a stream. */
static void encode_execute(struct av_cql *c, const struct av_cql_prepared *p,
                           const struct av_cql_value *vals, int n, int consistency,
                           int page_size, const void *paging_state, size_t paging_len,
                           int16_t stream)
{
    av_cql_w_begin(&c->w, AV_CQL_OP_EXECUTE, stream);
    av_cql_put_short_bytes(&c->w, p->id, p->id_len);
    av_cql_put_query_params(&c->w, consistency, vals, n, page_size, paging_state, paging_len);
}

static void encode_batch(struct av_cql *c, int type, const struct av_cql_batch_item *items,
                         int n, int consistency, int16_t stream)
{
    av_cql_w_begin(&c->w, AV_CQL_OP_BATCH, stream);
    av_cql_put_byte(&c->w, (uint8_t)type);
    av_cql_put_short(&c->w, (uint16_t)n);
    for (int i = 0; i < n; i++) {
        av_cql_put_byte(&c->w, 1); /* kind: prepared id */
        av_cql_put_short_bytes(&c->w, items[i].p->id, items[i].p->id_len);
        av_cql_put_short(&c->w, (uint16_t)items[i].n);
        for (int k = 0; k < items[i].n; k++)
            av_cql_put_value(&c->w, &items[i].vals[k]);
    }
    av_cql_put_short(&c->w, (uint16_t)consistency);
    av_cql_put_byte(&c->w, 0); /* flags */
}

/* Prepares again every distinct statement of items (after a restart the
 * node knows none of them). */
static av_rc reprepare(struct av_cql *c, const struct av_cql_batch_item *items, int n,
                       char *errbuf)
{
    av_rc rc;

    for (int i = 0; i < n; i++) {
        int seen = 0;
        for (int j = 0; j < i && !seen; j++)
            seen = items[j].p == items[i].p;
        if (seen)
            continue;
        av_debug("cassandra %s: re-preparing %.80s", c->peer, items[i].p->query);
        if ((rc = prepare_on(c, items[i].p, errbuf)) != AV_OK ||
            (rc = check_bind(items[i].p, items[i].n, errbuf)) != AV_OK)
            return rc;
    }
    return AV_OK;
}

av_rc av_cql_execute(struct av_cql *c, struct av_cql_prepared *p,
                     const struct av_cql_value *vals, int n, int consistency, int page_size,
                     const void *paging_state, size_t paging_len,
                     struct av_cql_result **res, char *errbuf)
{
    av_rc rc;

    if (c == NULL)
        return av_fail(errbuf, AV_EINVAL, "cassandra: no connection");
    if ((rc = check_args(vals, n, consistency, errbuf)) != AV_OK ||
        (rc = check_bind(p, n, errbuf)) != AV_OK)
        return rc;
    for (int attempt = 0;; attempt++) {
        if ((rc = ensure(c, errbuf)) != AV_OK)
            return rc;
        encode_execute(c, p, vals, n, consistency, page_size, paging_state, paging_len, 0);
        rc = request(c, res, errbuf);
        if (rc == AV_OK || c->last_code != AV_CQL_E_UNPREPARED || attempt > 0)
            return rc;
        /* node restarted or another node: prepare again, retry once */
        if ((rc = reprepare(c, &(struct av_cql_batch_item){p, vals, n}, 1, errbuf)) != AV_OK)
            return rc;
    }
}

av_rc av_cql_batch(struct av_cql *c, int type, const struct av_cql_batch_item *items, int n,
                   int consistency, char *errbuf)
{
    av_rc rc;

    if (c == NULL || items == NULL || n < 1 || n > 65535 || type < 0 || type > 2)
        return av_fail(errbuf, AV_EINVAL, "cassandra: bad batch (type %d, %d statements)",
                       type, n);
    if ((rc = check_args(NULL, 0, consistency, errbuf)) != AV_OK)
        return rc;
    for (int i = 0; i < n; i++)
        if ((rc = check_args(items[i].vals, items[i].n, consistency, errbuf)) != AV_OK ||
            (rc = check_bind(items[i].p, items[i].n, errbuf)) != AV_OK)
            return rc;
    for (int attempt = 0;; attempt++) {
        if ((rc = ensure(c, errbuf)) != AV_OK)
            return rc;
        encode_batch(c, type, items, n, consistency, 0);
        rc = request(c, NULL, errbuf);
        if (rc == AV_OK || c->last_code != AV_CQL_E_UNPREPARED || attempt > 0)
            return rc;
        if ((rc = reprepare(c, items, n, errbuf)) != AV_OK)
            return rc;
    }
}

/* Checks an op's arguments like av_cql_execute/batch do. */
static av_rc check_op(const struct av_cql_op *op, char *errbuf)
{
    av_rc rc = check_args(NULL, 0, op->consistency, errbuf);

    if (op->nitems < 1 || op->nitems > 65535 || op->type < 0 || op->type > AV_CQL_OP_EXEC ||
        (op->type == AV_CQL_OP_EXEC && op->nitems != 1))
        return av_fail(errbuf, AV_EINVAL, "cassandra: bad pipelined op (type %d, %d statements)",
                       op->type, op->nitems);
    for (int i = 0; rc == AV_OK && i < op->nitems; i++)
        if ((rc = check_args(op->items[i].vals, op->items[i].n, op->consistency, errbuf)) ==
            AV_OK)
            rc = check_bind(op->items[i].p, op->items[i].n, errbuf);
    return rc;
}

/* Encodes every op (stream i + 1) into c->out. */
static av_rc encode_ops(struct av_cql *c, const struct av_cql_op *ops, int n, char *errbuf)
{
    av_rc rc;

    av_buf_reset(&c->out);
    for (int i = 0; i < n; i++) {
        const struct av_cql_op *op = &ops[i];
        if (op->type == AV_CQL_OP_EXEC)
            encode_execute(c, op->items[0].p, op->items[0].vals, op->items[0].n, op->consistency,
                           0, NULL, 0, (int16_t)(i + 1));
        else
            encode_batch(c, op->type, op->items, op->nitems, op->consistency,
                         (int16_t)(i + 1));
        if ((rc = av_cql_w_end(&c->w)) != AV_OK)
            return av_fail(errbuf, rc, "cassandra: request not sent: %s",
                           c->w.why ? c->w.why : av_strerror(rc));
        if ((rc = av_buf_append(&c->out, c->w.b.data, c->w.b.len)) != AV_OK)
            return av_fail(errbuf, rc, "cassandra: pipeline of %d requests too large", n);
    }
    return AV_OK;
}

av_rc av_cql_pipeline(struct av_cql *c, const struct av_cql_op *ops, int n, char *errbuf)
{
    char why[AV_ERRBUF_SIZE];
    av_rc rc;

    if (c == NULL || ops == NULL || n < 1 || n > AV_CQL_PIPELINE_MAX)
        return av_fail(errbuf, AV_EINVAL, "cassandra: bad pipeline (%d requests)", n);
    for (int i = 0; i < n; i++)
        if ((rc = check_op(&ops[i], errbuf)) != AV_OK)
            return rc;
    for (int attempt = 0;; attempt++) {
        av_rc first = AV_OK;
        int answered[AV_CQL_PIPELINE_MAX + 1] = {0}, unprepared = 0;
        int64_t deadline;

        if ((rc = ensure(c, errbuf)) != AV_OK || (rc = encode_ops(c, ops, n, errbuf)) != AV_OK)
            return rc;
        deadline = av_cql_deadline(c);
        if ((rc = av_cql_send(c, c->out.data, c->out.len, deadline, errbuf)) != AV_OK)
            return rc;
        /* every answer, in any order; a lost connection loses them all */
        for (int k = 0; k < n; k++) {
            int s;
            if ((rc = av_cql_answer(c, deadline, errbuf)) != AV_OK)
                return rc;
            s = c->rh.stream;
            if (s < 1 || s > n || answered[s]) {
                rc = av_fail(errbuf, AV_EPARSE, "cassandra %s: answer on stream %d, expected "
                             "one of 1..%d", c->peer, s, n);
                av_cql_drop(c);
                return rc;
            }
            answered[s] = 1;
            rc = take_result(c, NULL, why);
            unprepared |= rc != AV_OK && c->last_code == AV_CQL_E_UNPREPARED;
            if (rc != AV_OK && first == AV_OK) {
                first = rc;
                if (errbuf)
                    snprintf(errbuf, AV_ERRBUF_SIZE, "%s", why);
            }
            if (c->fd < 0) /* an answer we could not read: the stream is out of step */
                return rc;
        }
        if (first == AV_OK || !unprepared || attempt > 0)
            return first;
        /* node restarted or another node: prepare again (each statement
         * once), send all again (pipelined writes are idempotent) */
        for (int i = 0; i < n; i++) {
            for (int k = 0; k < ops[i].nitems; k++) {
                const struct av_cql_batch_item *it = &ops[i].items[k];
                int seen = 0;
                for (int j = 0; j <= i && !seen; j++)
                    for (int m = 0; m < (j < i ? ops[j].nitems : k) && !seen; m++)
                        seen = ops[j].items[m].p == it->p;
                if (!seen && (rc = reprepare(c, it, 1, errbuf)) != AV_OK)
                    return rc;
            }
        }
    }
}
