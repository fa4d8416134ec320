/* cql_net.c - the transport under the session: contact point parsing,
 * non-blocking TCP sockets, the blocking exchange of a fresh connection's
 * handshake (stream 0, header checked against max_frame before the body is
 * read, response prefixes skipped, server warnings logged), and the
 * non-blocking reads and writes the event loop (cql_pool.c) does.
 *
 * Owns nothing beyond the calls: sockets belong to their struct cql_conn
 * (cql_int.h). How it fails: a transport failure, a timeout or an unusable
 * frame is AV_ENET (AV_EPARSE / AV_ELIMIT for bad frames) with one line in
 * errbuf naming the peer; the caller closes the connection.
 */
#include "cql_int.h"

#include "../core/clock.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../core/log.h"

#define DEFAULT_PORT "9042"

/* ---- contact points ---------------------------------------------------- */

/* "h1, h2:9043, [::1]:9042" -> c->hosts. */
av_rc av_cql_parse_hosts(struct av_cql *c, const char *list, char *errbuf)
{
    const char *s = list;

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
        if (c->nnodes == AV_CQL_MAX_NODES)
            return av_fail(errbuf, AV_EINVAL, "cassandra hosts: more than %d contact points",
                           AV_CQL_MAX_NODES);
        c->nodes[c->nnodes].contact = 1;
        c->nodes[c->nnodes].up = 1;
        h = &c->nodes[c->nnodes++].h;
        memcpy(h->name, name, nlen);
        h->name[nlen] = '\0';
        if (colon)
            snprintf(h->port, sizeof(h->port), "%ld", port);
        else
            snprintf(h->port, sizeof(h->port), "%s", DEFAULT_PORT);
        s = e ? e + 1 : end + strlen(end);
    }
    if (c->nnodes == 0)
        return av_fail(errbuf, AV_EINVAL, "cassandra hosts: no contact point given");
    return AV_OK;
}

/* ---- sockets ----------------------------------------------------------- */

/* 1 ready, 0 deadline passed, -1 error (errno). */
static int wait_fd(int fd, short events, int64_t deadline)
{
    struct pollfd pfd = { fd, events, 0 };

    for (;;) {
        int64_t left = deadline - av_mono_ms();
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

/* TCP connect to one contact point (every address it resolves to) within
 * timeout_ms. On failure why gets the reason. */
int av_cql_dial(const struct host *h, int timeout_ms, char *why, size_t whylen)
{
    struct addrinfo hints, *res = NULL, *ai;
    int64_t deadline = av_mono_ms() + timeout_ms;
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

void av_cql_node_name(const struct cql_node *n, char *out, size_t cap)
{
    snprintf(out, cap, strchr(n->h.name, ':') ? "[%s]:%s" : "%s:%s", n->h.name, n->h.port);
}

/* ---- blocking: the handshake of a fresh connection ----------------------- */

static av_rc net_fail(struct cql_conn *k, char *errbuf, const char *what, int err)
{
    return av_fail(errbuf, AV_ENET, "cassandra %s: %s: %s", k->peer, what,
                   err ? strerror(err) : "connection closed by the server");
}

static av_rc send_all(struct cql_conn *k, const uint8_t *p, size_t n, int64_t deadline,
                      char *errbuf)
{
    while (n > 0) {
        ssize_t got = send(k->fd, p, n, MSG_NOSIGNAL);
        int w;

        if (got > 0) {
            p += got;
            n -= (size_t)got;
            continue;
        }
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            return net_fail(k, errbuf, "send", errno);
        if ((w = wait_fd(k->fd, POLLOUT, deadline)) <= 0)
            return w == 0 ? av_fail(errbuf, AV_ENET, "cassandra %s: request not sent in time",
                                    k->peer)
                          : net_fail(k, errbuf, "poll", errno);
    }
    return AV_OK;
}

static av_rc recv_all(struct cql_conn *k, uint8_t *p, size_t n, int64_t deadline, char *errbuf)
{
    while (n > 0) {
        ssize_t got = recv(k->fd, p, n, 0);
        int w;

        if (got > 0) {
            p += got;
            n -= (size_t)got;
            continue;
        }
        if (got == 0)
            return net_fail(k, errbuf, "recv", 0);
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return net_fail(k, errbuf, "recv", errno);
        if ((w = wait_fd(k->fd, POLLIN, deadline)) <= 0)
            return w == 0 ? av_fail(errbuf, AV_ENET, "cassandra %s: no answer within %d ms",
                                    k->peer, k->c->connect_ms < k->c->request_ms
                                                 ? k->c->connect_ms
                                                 : k->c->request_ms)
                          : net_fail(k, errbuf, "poll", errno);
    }
    return AV_OK;
}

/* One frame into k->rh / k->hin, prefixes skipped (k->hoff). */
static av_rc read_frame(struct cql_conn *k, int64_t deadline, char *errbuf)
{
    uint8_t hdr[AV_CQL_HEADER_LEN];
    struct av_cql_prefix pre;
    char why[AV_ERRBUF_SIZE];
    av_rc rc;

    if ((rc = recv_all(k, hdr, sizeof(hdr), deadline, errbuf)) != AV_OK)
        return rc;
    if ((rc = av_cql_header_decode(&k->rh, hdr, sizeof(hdr), k->c->max_frame, why)) != AV_OK)
        goto bad;
    if (!(k->rh.version & AV_CQL_RESPONSE)) {
        rc = av_fail(why, AV_EPARSE, "frame without the response bit");
        goto bad;
    }
    if (k->rh.flags & AV_CQL_F_COMPRESSION) {
        rc = av_fail(why, AV_EPARSE, "compressed frame, but no compression was negotiated");
        goto bad;
    }
    av_buf_reset(&k->hin);
    if ((rc = av_buf_reserve(&k->hin, k->rh.length)) != AV_OK) {
        av_fail(why, rc, "no room for a frame of %lu bytes", (unsigned long)k->rh.length);
        goto bad;
    }
    if ((rc = recv_all(k, (uint8_t *)k->hin.data, k->rh.length, deadline, errbuf)) != AV_OK)
        return rc;
    k->hin.len = k->rh.length;
    k->hin.data[k->hin.len] = '\0';
    rc = av_cql_body_prefix(k->rh.flags, (const uint8_t *)k->hin.data, k->hin.len, &pre, why);
    if (rc != AV_OK)
        goto bad;
    k->hoff = pre.off;
    if (pre.nwarn > 0)
        av_warn("cassandra %s: server warning: %.*s%s", k->peer,
                (int)(pre.warn_len > 300 ? 300 : pre.warn_len), pre.warn,
                pre.nwarn > 1 ? " (and more)" : "");
    return AV_OK;
bad:
    return av_fail(errbuf, rc, "cassandra %s: %s", k->peer, why);
}

av_rc av_cql_conn_exchange(struct cql_conn *k, struct av_cql_w *w, int64_t deadline,
                           char *errbuf)
{
    av_rc rc;

    if ((rc = av_cql_w_end(w)) != AV_OK)
        return av_fail(errbuf, rc, "cassandra: request not sent: %s",
                       w->why ? w->why : av_strerror(rc));
    if ((rc = send_all(k, (const uint8_t *)w->b.data, w->b.len, deadline, errbuf)) != AV_OK)
        return rc;
    for (;;) {
        if ((rc = read_frame(k, deadline, errbuf)) != AV_OK)
            return rc;
        if (k->rh.opcode == AV_CQL_OP_EVENT || k->rh.stream < 0)
            continue; /* an event before we are ready for it */
        if (k->rh.stream != 0)
            return av_fail(errbuf, AV_EPARSE, "cassandra %s: answer on stream %d, expected 0",
                           k->peer, k->rh.stream);
        return AV_OK;
    }
}

/* ---- non-blocking: the loop's reads and writes --------------------------- */

int av_cql_conn_write(struct cql_conn *k, char *why, size_t whylen)
{
    while (k->out_off < k->out.len) {
        ssize_t got = send(k->fd, k->out.data + k->out_off, k->out.len - k->out_off,
                           MSG_NOSIGNAL);
        if (got > 0) {
            k->out_off += (size_t)got;
            continue;
        }
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        snprintf(why, whylen, "send: %s", got < 0 ? strerror(errno) : "nothing sent");
        return -1;
    }
    av_buf_reset(&k->out);
    k->out_off = 0;
    return 0;
}

#define READ_CHUNK 65536

int av_cql_conn_read(struct cql_conn *k, char *why, size_t whylen)
{
    size_t total = 0;

    for (;;) {
        ssize_t got;

        if (k->in_cap - k->in_len < READ_CHUNK) {
            size_t cap = k->in_cap ? k->in_cap * 2 : 4 * READ_CHUNK;
            uint8_t *p;
            while (cap - k->in_len < READ_CHUNK)
                cap *= 2;
            if ((p = realloc(k->in, cap)) == NULL) {
                snprintf(why, whylen, "out of memory reading");
                return -1;
            }
            k->in = p;
            k->in_cap = cap;
        }
        got = recv(k->fd, k->in + k->in_len, k->in_cap - k->in_len, 0);
        if (got > 0) {
            k->in_len += (size_t)got;
            total += (size_t)got;
            /* a short read: the socket is empty now; or enough for one
             * round (the frames are parsed before reading on) */
            if (k->in_len < k->in_cap || total >= 16 * READ_CHUNK)
                return 0;
            continue;
        }
        if (got == 0) {
            snprintf(why, whylen, "connection closed by the server");
            return -1;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 0;
        snprintf(why, whylen, "recv: %s", strerror(errno));
        return -1;
    }
}
