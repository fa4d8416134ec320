/* cql_conn.c - the connection half of cql.h: contact points, sockets,
 * handshake (OPTIONS, STARTUP, SASL PLAIN), synchronous requests on stream
 * 0, QUERY / PREPARE / EXECUTE / BATCH, and transparent re-prepare.
 *
 * One request in flight: a request is written whole, then frames are read
 * until the answer on stream 0 arrives (EVENT frames are skipped). Any
 * transport failure, timeout or unreadable frame closes the socket (the
 * stream could be out of step) and the call returns AV_ENET (AV_EPARSE /
 * AV_ELIMIT for bad frames); the next call reconnects, starting with the
 * contact point after the one that was lost. The codec is cql_frame.c.
 *
 * Defaults for zero options: connect 5000 ms, request 12000 ms, max_frame
 * 16 MiB (the server's own native_transport_max_frame_size).
 */
#include "cql.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../core/log.h"
#include "cql_frame.h"

#define DEFAULT_PORT "9042"
#define DEFAULT_CONNECT_MS 5000
#define DEFAULT_REQUEST_MS 12000
#define MAX_HOSTS 64
#define MAX_AUTH_ROUNDS 8

struct host {
    char name[256]; /* name or address, IPv6 without brackets */
    char port[8];
};

struct av_cql {
    struct host *hosts;
    int nhosts;
    int next; /* contact point to try first when (re)connecting */
    char *user, *password;
    int connect_ms, request_ms;
    size_t max_frame;
    char *keyspace; /* from the last USE: replayed after a reconnect */

    int fd; /* -1: not connected */
    char peer[300];
    struct av_cql_w w;         /* the request being sent */
    struct av_buf in;          /* body of the last frame read */
    struct av_cql_header rh;   /* its header */
    size_t off;                /* where the message starts (after prefixes) */
    int32_t last_code;         /* code of the last ERROR answer, else -1 */
};

struct av_cql_prepared {
    char *query;
    uint8_t *id;
    size_t id_len;
    int nparams;
};

/* ---- values and names -------------------------------------------------- */

struct av_cql_value av_cql_null(void)
{
    struct av_cql_value v;

    memset(&v, 0, sizeof(v));
    v.type = AV_CQL_NULL;
    return v;
}

static struct av_cql_value num(enum av_cql_type t, int64_t i)
{
    struct av_cql_value v = av_cql_null();

    v.type = t;
    v.u.i = i;
    return v;
}

struct av_cql_value av_cql_int(int32_t v) { return num(AV_CQL_INT, v); }
struct av_cql_value av_cql_bigint(int64_t v) { return num(AV_CQL_BIGINT, v); }
struct av_cql_value av_cql_smallint(int16_t v) { return num(AV_CQL_SMALLINT, v); }
struct av_cql_value av_cql_tinyint(int8_t v) { return num(AV_CQL_TINYINT, v); }
struct av_cql_value av_cql_bool(int v) { return num(AV_CQL_BOOLEAN, v != 0); }
struct av_cql_value av_cql_timestamp(int64_t ms) { return num(AV_CQL_TIMESTAMP, ms); }
struct av_cql_value av_cql_date(int64_t days) { return num(AV_CQL_DATE, days); }

struct av_cql_value av_cql_double(double d)
{
    struct av_cql_value v = av_cql_null();

    v.type = AV_CQL_DOUBLE;
    v.u.d = d;
    return v;
}

struct av_cql_value av_cql_text(const char *s)
{
    struct av_cql_value v = av_cql_null();

    if (s == NULL)
        return v;
    v.type = AV_CQL_TEXT;
    v.u.s.p = s;
    v.u.s.n = strlen(s);
    return v;
}

struct av_cql_value av_cql_list_text(const char *const *items, int n)
{
    struct av_cql_value v = av_cql_null();

    v.type = AV_CQL_LIST_TEXT;
    v.u.list.items = items;
    v.u.list.n = n;
    return v;
}

int av_cql_consistency_parse(const char *name)
{
    if (name == NULL)
        return -1;
    for (int cl = AV_CQL_ANY; cl <= AV_CQL_LOCAL_ONE; cl++)
        if (strcasecmp(name, av_cql_consistency_name(cl)) == 0)
            return cl;
    return -1;
}

/* ---- contact points ---------------------------------------------------- */

/* "h1, h2:9043, [::1]:9042" -> c->hosts. */
static av_rc parse_hosts(struct av_cql *c, const char *list, char *errbuf)
{
    const char *s = list;

    c->hosts = calloc(MAX_HOSTS, sizeof(*c->hosts));
    if (c->hosts == NULL)
        return av_fail(errbuf, AV_ENOMEM, "out of memory");
    while (*s) {
        const char *e = strchr(s, ','), *end, *colon = NULL, *name = s;
        size_t nlen, plen = 0;
        struct host *h;
        long port = 0;

        end = e ? e : s + strlen(s);
        while (name < end && (*name == ' ' || *name == '\t'))
            name++;
        while (end > name && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        if (name == end)
            return av_fail(errbuf, AV_EINVAL, "cassandra hosts \"%s\": empty contact point",
                           list);
        if (*name == '[') { /* [v6]:port */
            const char *rb = memchr(name, ']', (size_t)(end - name));
            if (rb == NULL || (rb + 1 != end && rb[1] != ':'))
                return av_fail(errbuf, AV_EINVAL, "cassandra hosts \"%s\": bad [address]",
                               list);
            colon = rb + 1 != end ? rb + 1 : NULL;
            nlen = (size_t)(rb - name - 1);
            name++;
        } else {
            const char *first = memchr(name, ':', (size_t)(end - name));
            /* one colon: host:port; more: a bare IPv6 address */
            if (first && memchr(first + 1, ':', (size_t)(end - first - 1)) == NULL)
                colon = first;
            nlen = colon ? (size_t)(colon - name) : (size_t)(end - name);
        }
        if (colon) {
            plen = (size_t)(end - colon - 1);
            if (plen == 0 || plen > 5 || strspn(colon + 1, "0123456789") < plen)
                port = -1;
            else
                port = strtol(colon + 1, NULL, 10);
            if (port < 1 || port > 65535)
                return av_fail(errbuf, AV_EINVAL, "cassandra hosts \"%s\": bad port \"%.*s\"",
                               list, (int)plen, colon + 1);
        }
        if (nlen == 0 || nlen >= sizeof(h->name))
            return av_fail(errbuf, AV_EINVAL, "cassandra hosts \"%s\": bad host name", list);
        if (c->nhosts == MAX_HOSTS)
            return av_fail(errbuf, AV_EINVAL, "cassandra hosts: more than %d contact points",
                           MAX_HOSTS);
        h = &c->hosts[c->nhosts++];
        memcpy(h->name, name, nlen);
        h->name[nlen] = '\0';
        if (colon)
            snprintf(h->port, sizeof(h->port), "%ld", port);
        else
            snprintf(h->port, sizeof(h->port), "%s", DEFAULT_PORT);
        s = e ? e + 1 : end + strlen(end);
    }
    if (c->nhosts == 0)
        return av_fail(errbuf, AV_EINVAL, "cassandra hosts: no contact point given");
    return AV_OK;
}

/* ---- sockets ----------------------------------------------------------- */

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* 1 ready, 0 deadline passed, -1 error (errno). */
static int wait_fd(int fd, short events, int64_t deadline)
{
    struct pollfd pfd = { fd, events, 0 };

    for (;;) {
        int64_t left = deadline - now_ms();
        int n;

        if (left <= 0)
            return 0;
        n = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
        if (n > 0)
            return 1;
        if (n < 0 && errno != EINTR)
            return -1;
    }
}

static void drop(struct av_cql *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

/* TCP connect to one contact point (every address it resolves to) within
 * timeout_ms. On failure why gets the reason. */
static int dial(const struct host *h, int timeout_ms, char *why, size_t whylen)
{
    struct addrinfo hints, *res = NULL, *ai;
    int64_t deadline = now_ms() + timeout_ms;
    int fd = -1, gai, one = 1;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    gai = getaddrinfo(h->name, h->port, &hints, &res);
    if (gai != 0) {
        snprintf(why, whylen, "%s", gai_strerror(gai));
        return -1;
    }
    snprintf(why, whylen, "no address");
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        int err = 0, w;
        socklen_t elen = sizeof(err);

        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    ai->ai_protocol);
        if (fd < 0) {
            snprintf(why, whylen, "socket: %s", strerror(errno));
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
            if (errno != EINPROGRESS) {
                err = errno;
            } else if ((w = wait_fd(fd, POLLOUT, deadline)) <= 0) {
                err = w == 0 ? ETIMEDOUT : errno;
            } else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0) {
                err = errno;
            }
        }
        if (err == 0)
            break;
        snprintf(why, whylen, "%s", err == ETIMEDOUT ? "connect timed out" : strerror(err));
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd >= 0)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

static av_rc net_fail(struct av_cql *c, char *errbuf, const char *what, int err)
{
    av_rc rc = av_fail(errbuf, AV_ENET, "cassandra %s: %s: %s", c->peer, what,
                       err ? strerror(err) : "connection closed by the server");
    drop(c);
    return rc;
}

static av_rc send_all(struct av_cql *c, const uint8_t *p, size_t n, int64_t deadline,
                      char *errbuf)
{
    while (n > 0) {
        ssize_t k = send(c->fd, p, n, MSG_NOSIGNAL);
        int w;

        if (k > 0) {
            p += k;
            n -= (size_t)k;
            continue;
        }
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            return net_fail(c, errbuf, "send", errno);
        if ((w = wait_fd(c->fd, POLLOUT, deadline)) <= 0) {
            if (w == 0) {
                av_fail(errbuf, AV_ENET, "cassandra %s: request not sent within %d ms",
                        c->peer, c->request_ms);
                drop(c);
                return AV_ENET;
            }
            return net_fail(c, errbuf, "poll", errno);
        }
    }
    return AV_OK;
}

static av_rc recv_all(struct av_cql *c, uint8_t *p, size_t n, int64_t deadline, char *errbuf)
{
    while (n > 0) {
        ssize_t k = recv(c->fd, p, n, 0);
        int w;

        if (k > 0) {
            p += k;
            n -= (size_t)k;
            continue;
        }
        if (k == 0)
            return net_fail(c, errbuf, "recv", 0);
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return net_fail(c, errbuf, "recv", errno);
        if ((w = wait_fd(c->fd, POLLIN, deadline)) <= 0) {
            if (w == 0) {
                av_fail(errbuf, AV_ENET, "cassandra %s: no answer within %d ms", c->peer,
                        c->request_ms);
                drop(c);
                return AV_ENET;
            }
            return net_fail(c, errbuf, "poll", errno);
        }
    }
    return AV_OK;
}

/* Reads one frame into c->rh / c->in and skips its prefixes (c->off).
 * A frame we cannot use leaves the stream out of step: drop. */
static av_rc read_frame(struct av_cql *c, int64_t deadline, char *errbuf)
{
    uint8_t hdr[AV_CQL_HEADER_LEN];
    struct av_cql_prefix pre;
    char why[AV_ERRBUF_SIZE];
    av_rc rc;

    if ((rc = recv_all(c, hdr, sizeof(hdr), deadline, errbuf)) != AV_OK)
        return rc;
    if ((rc = av_cql_header_decode(&c->rh, hdr, sizeof(hdr), c->max_frame, why)) != AV_OK)
        goto bad;
    if (!(c->rh.version & AV_CQL_RESPONSE)) {
        rc = av_fail(why, AV_EPARSE, "frame without the response bit");
        goto bad;
    }
    if (c->rh.flags & AV_CQL_F_COMPRESSION) {
        rc = av_fail(why, AV_EPARSE, "compressed frame, but no compression was negotiated");
        goto bad;
    }
    av_buf_reset(&c->in);
    if ((rc = av_buf_reserve(&c->in, c->rh.length)) != AV_OK) {
        av_fail(why, rc, "no room for a frame of %lu bytes", (unsigned long)c->rh.length);
        goto bad;
    }
    if ((rc = recv_all(c, (uint8_t *)c->in.data, c->rh.length, deadline, errbuf)) != AV_OK)
        return rc;
    c->in.len = c->rh.length;
    c->in.data[c->in.len] = '\0';
    rc = av_cql_body_prefix(c->rh.flags, (const uint8_t *)c->in.data, c->in.len, &pre, why);
    if (rc != AV_OK)
        goto bad;
    c->off = pre.off;
    if (pre.nwarn > 0)
        av_warn("cassandra %s: server warning: %.*s%s", c->peer,
                (int)(pre.warn_len > 300 ? 300 : pre.warn_len), pre.warn,
                pre.nwarn > 1 ? " (and more)" : "");
    return AV_OK;

bad:
    av_fail(errbuf, rc, "cassandra %s: %s", c->peer, why);
    drop(c);
    return rc;
}

static const uint8_t *msg_body(const struct av_cql *c, size_t *n)
{
    *n = c->in.len - c->off;
    return (const uint8_t *)c->in.data + c->off;
}

/* Sends the frame in c->w and reads frames until the answer on stream 0. */
static av_rc exchange(struct av_cql *c, char *errbuf)
{
    int64_t deadline = now_ms() + c->request_ms;
    av_rc rc;

    if ((rc = av_cql_w_end(&c->w)) != AV_OK)
        return av_fail(errbuf, rc, "cassandra: request not sent: %s",
                       c->w.why ? c->w.why : av_strerror(rc));
    if (c->fd < 0)
        return av_fail(errbuf, AV_ENET, "cassandra: not connected");
    if ((rc = send_all(c, (const uint8_t *)c->w.b.data, c->w.b.len, deadline, errbuf)) !=
        AV_OK)
        return rc;
    for (;;) {
        if ((rc = read_frame(c, deadline, errbuf)) != AV_OK)
            return rc;
        if (c->rh.opcode == AV_CQL_OP_EVENT || c->rh.stream < 0)
            continue; /* pushed events (never REGISTERed, but harmless) */
        if (c->rh.stream != 0) {
            rc = av_fail(errbuf, AV_EPARSE, "cassandra %s: answer on stream %d, expected 0",
                         c->peer, c->rh.stream);
            drop(c);
            return rc;
        }
        return AV_OK;
    }
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
        drop(c);
        return rc;
    }
    c->last_code = e.code;
    return av_cql_error_report(&e, errbuf);
}

/* Sends c->w and expects a RESULT; *res (may be NULL) gets it. */
static av_rc request(struct av_cql *c, struct av_cql_result **res, char *errbuf)
{
    struct av_cql_result *r = NULL;
    char why[AV_ERRBUF_SIZE];
    const uint8_t *p;
    size_t n;
    av_rc rc;

    c->last_code = -1;
    if ((rc = exchange(c, errbuf)) != AV_OK)
        return rc;
    if (c->rh.opcode == AV_CQL_OP_ERROR)
        return server_error(c, errbuf);
    if (c->rh.opcode != AV_CQL_OP_RESULT) {
        rc = av_fail(errbuf, AV_EPARSE, "cassandra %s: opcode 0x%02x where a RESULT belongs",
                     c->peer, c->rh.opcode);
        drop(c);
        return rc;
    }
    p = msg_body(c, &n);
    if ((rc = av_cql_result_decode(&r, p, n, why)) != AV_OK) {
        av_fail(errbuf, rc, "cassandra %s: %s", c->peer, why);
        if (rc == AV_EPARSE)
            drop(c);
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

/* ---- handshake --------------------------------------------------------- */

static av_rc authenticate(struct av_cql *c, char *errbuf)
{
    char cls[128], *tok = NULL;
    const uint8_t *p;
    size_t n, ul, pl;
    av_rc rc;

    p = msg_body(c, &n);
    if ((rc = av_cql_authenticate_decode(p, n, cls, sizeof(cls), errbuf)) != AV_OK) {
        drop(c);
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
        if ((rc = exchange(c, errbuf)) != AV_OK)
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
    if ((rc = exchange(c, errbuf)) != AV_OK)
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
    if ((rc = exchange(c, errbuf)) != AV_OK)
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
        fd = dial(h, c->connect_ms, why, sizeof(why));
        if (fd < 0) {
            rc = AV_ENET;
        } else {
            c->fd = fd;
            rc = handshake(c, why);
            if (rc == AV_OK) {
                c->next = (idx + 1) % c->nhosts;
                return AV_OK;
            }
            drop(c);
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
    drop(c);
    av_cql_w_free(&c->w);
    av_buf_free(&c->in);
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
    if ((rc = parse_hosts(c, o->hosts, errbuf)) != AV_OK)
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
        av_cql_w_begin(&c->w, AV_CQL_OP_EXECUTE, 0);
        av_cql_put_short_bytes(&c->w, p->id, p->id_len);
        av_cql_put_query_params(&c->w, consistency, vals, n, page_size, paging_state,
                                paging_len);
        rc = request(c, res, errbuf);
        if (rc == AV_OK || c->last_code != AV_CQL_E_UNPREPARED || attempt > 0)
            return rc;
        /* node restarted or another node: prepare again, retry once */
        av_debug("cassandra %s: re-preparing %.80s", c->peer, p->query);
        if ((rc = prepare_on(c, p, errbuf)) != AV_OK)
            return rc;
        if ((rc = check_bind(p, n, errbuf)) != AV_OK)
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
        av_cql_w_begin(&c->w, AV_CQL_OP_BATCH, 0);
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
        rc = request(c, NULL, errbuf);
        if (rc == AV_OK || c->last_code != AV_CQL_E_UNPREPARED || attempt > 0)
            return rc;
        /* re-prepare every distinct statement: after a restart none is known */
        for (int i = 0; i < n; i++) {
            int seen = 0;
            for (int j = 0; j < i && !seen; j++)
                seen = items[j].p == items[i].p;
            if (seen)
                continue;
            if ((rc = prepare_on(c, items[i].p, errbuf)) != AV_OK ||
                (rc = check_bind(items[i].p, items[i].n, errbuf)) != AV_OK)
                return rc;
        }
    }
}
