/* cql_net.c - the transport under cql_conn.c: contact point parsing,
 * non-blocking TCP sockets, deadlines, sending a request frame whole and
 * reading answer frames (header checked against max_frame before the body
 * is read, response prefixes skipped, server warnings logged).
 *
 * Not here: the handshake and the requests (cql_conn.c), the codec
 * (cql_wire.c). One request in flight on stream 0, or a pipeline of a few
 * on streams 1..n (av_cql_send + av_cql_answer, see av_cql_pipeline).
 *
 * Owns the socket of a connection; deadlines use av_mono_ms (core/clock.h).
 * How it fails: any transport failure, timeout or frame we cannot use
 * leaves the stream out of step, so the socket is closed
 * (av_cql_drop) and the call returns AV_ENET (AV_EPARSE / AV_ELIMIT for bad
 * frames) with one line in errbuf naming the peer; the next call of
 * cql_conn.c reconnects.
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
#define MAX_HOSTS 64

/* ---- contact points ---------------------------------------------------- */

/* "h1, h2:9043, [::1]:9042" -> c->hosts. */
av_rc av_cql_parse_hosts(struct av_cql *c, const char *list, char *errbuf)
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

void av_cql_drop(struct av_cql *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
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

static av_rc net_fail(struct av_cql *c, char *errbuf, const char *what, int err)
{
    av_rc rc = av_fail(errbuf, AV_ENET, "cassandra %s: %s: %s", c->peer, what,
                       err ? strerror(err) : "connection closed by the server");
    av_cql_drop(c);
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
                av_cql_drop(c);
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
                av_cql_drop(c);
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
    av_cql_drop(c);
    return rc;
}

int64_t av_cql_deadline(const struct av_cql *c)
{
    return av_mono_ms() + c->request_ms;
}

av_rc av_cql_send(struct av_cql *c, const void *p, size_t n, int64_t deadline, char *errbuf)
{
    if (c->fd < 0)
        return av_fail(errbuf, AV_ENET, "cassandra: not connected");
    return send_all(c, p, n, deadline, errbuf);
}

av_rc av_cql_answer(struct av_cql *c, int64_t deadline, char *errbuf)
{
    av_rc rc;

    for (;;) {
        if ((rc = read_frame(c, deadline, errbuf)) != AV_OK)
            return rc;
        if (c->rh.opcode != AV_CQL_OP_EVENT && c->rh.stream >= 0)
            return AV_OK;
        /* pushed events (never REGISTERed, but harmless) */
    }
}

/* Sends the frame in c->w and reads frames until the answer on stream 0. */
av_rc av_cql_exchange(struct av_cql *c, char *errbuf)
{
    int64_t deadline = av_cql_deadline(c);
    av_rc rc;

    if ((rc = av_cql_w_end(&c->w)) != AV_OK)
        return av_fail(errbuf, rc, "cassandra: request not sent: %s",
                       c->w.why ? c->w.why : av_strerror(rc));
    if ((rc = av_cql_send(c, c->w.b.data, c->w.b.len, deadline, errbuf)) != AV_OK ||
        (rc = av_cql_answer(c, deadline, errbuf)) != AV_OK)
        return rc;
    if (c->rh.stream != 0) {
        rc = av_fail(errbuf, AV_EPARSE, "cassandra %s: answer on stream %d, expected 0",
                     c->peer, c->rh.stream);
        av_cql_drop(c);
        return rc;
    }
    return AV_OK;
}
