/* http.c - libmicrohttpd behind av_http (see http.h).
 *
 * Threads: libmicrohttpd's listening thread plus one per connection; a
 * "sweeper" of ours closes connections that are still sending their
 * request line and headers after header_timeout_ms. It never touches
 * libmicrohttpd's descriptors: each connection's socket is dup()ed when it
 * starts, and the sweeper shuts the socket down through that copy (the
 * connection's thread then sees the end of the stream and cleans up). */
#include "http.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../core/clock.h"
#include "../core/json.h"
#include "../core/log.h"
#include "params.h"

#define MAX_PARAMS 64
#define BODY_MAX ((size_t)64 << 20)

/* One client connection, from its start to its close. */
struct conn {
    struct conn *prev, *next;
    int fd;           /* our dup of the socket, -1 if none */
    int64_t since;    /* when the request being read began (monotonic ms) */
    int reading;      /* 1 until the request's headers are complete */
    int killed;
    uint32_t ip;      /* IPv4, network order */
    int loopback;
};

struct av_http {
    struct MHD_Daemon *d;
    av_http_handler h;
    void *ud;
    int port;
    struct av_http_opts o;
    pthread_mutex_t mu;
    pthread_cond_t wake;
    struct conn *conns;
    int stopping;
    pthread_t sweeper;
    int sweeping;
};

const char *av_http_query(const struct av_http_req *r, const char *key)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
}

/* av_http_query_canon: the parameters as MHD has them (checked before the
 * handler runs: at most MAX_PARAMS, no NUL). */
struct qpair {
    const char *k, *v;
    size_t kn, vn;
};
struct qpairs {
    int n;
    struct qpair p[MAX_PARAMS];
};

static enum MHD_Result collect_param(void *cls, enum MHD_ValueKind kind, const char *key,
                                     size_t key_size, const char *value, size_t value_size)
{
    struct qpairs *q = cls;

    (void)kind;
    if (q->n == MAX_PARAMS)
        return MHD_NO;
    q->p[q->n++] = (struct qpair){key, value, key_size, value ? value_size : 0};
    return MHD_YES;
}

static int key_cmp(const struct qpair *a, const struct qpair *b)
{
    size_t n = a->kn < b->kn ? a->kn : b->kn;
    int c = memcmp(a->k, b->k, n);

    return c ? c : (a->kn > b->kn) - (a->kn < b->kn);
}

static void canon_put(struct av_buf *out, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '&' || c == '=' || c == '%' || c < 0x20 || c == 0x7f)
            av_buf_printf(out, "%%%02X", c);
        else
            av_buf_putc(out, (char)c);
    }
}

void av_http_query_canon(const struct av_http_req *r, struct av_buf *out)
{
    struct qpairs q;

    q.n = 0;
    MHD_get_connection_values_n(r->conn, MHD_GET_ARGUMENT_KIND, collect_param, &q);
    for (int i = 1; i < q.n; i++) { /* insertion sort: stable, n <= 64 */
        struct qpair x = q.p[i];
        int j = i;
        for (; j > 0 && key_cmp(&q.p[j - 1], &x) > 0; j--)
            q.p[j] = q.p[j - 1];
        q.p[j] = x;
    }
    for (int i = 0; i < q.n; i++) {
        if (i)
            av_buf_putc(out, '&');
        canon_put(out, q.p[i].k, q.p[i].kn);
        if (q.p[i].v) {
            av_buf_putc(out, '=');
            canon_put(out, q.p[i].v, q.p[i].vn);
        }
    }
}

const char *av_http_header(const struct av_http_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

/* ---- connections: accounting, per-IP limit, header deadline ---- */

static void on_notify(void *cls, struct MHD_Connection *connection, void **socket_context,
                      enum MHD_ConnectionNotificationCode toe)
{
    struct av_http *s = cls;
    struct conn *c = *socket_context;

    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *fi =
            MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
        const union MHD_ConnectionInfo *ai =
            MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        c = calloc(1, sizeof(*c));
        if (c == NULL)
            return; /* not tracked: only the deadline is lost for it */
        c->fd = fi ? dup(fi->connect_fd) : -1;
        c->since = av_mono_ms();
        c->reading = 1;
        if (ai && ai->client_addr && ai->client_addr->sa_family == AF_INET) {
            c->ip = ((const struct sockaddr_in *)(const void *)ai->client_addr)->sin_addr.s_addr;
            c->loopback = (ntohl(c->ip) >> 24) == 127;
        }
        pthread_mutex_lock(&s->mu);
        c->next = s->conns;
        if (s->conns)
            s->conns->prev = c;
        s->conns = c;
        pthread_mutex_unlock(&s->mu);
        *socket_context = c;
    } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED && c != NULL) {
        pthread_mutex_lock(&s->mu);
        if (c->prev)
            c->prev->next = c->next;
        else
            s->conns = c->next;
        if (c->next)
            c->next->prev = c->prev;
        pthread_mutex_unlock(&s->mu);
        if (c->fd >= 0)
            close(c->fd);
        free(c);
        *socket_context = NULL;
    }
}

static struct conn *conn_of(struct MHD_Connection *connection)
{
    const union MHD_ConnectionInfo *i =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

    return i ? i->socket_context : NULL;
}

/* A request was answered: the connection may now wait for the next one,
 * under the same deadline. */
static void on_completed(void *cls, struct MHD_Connection *connection, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct av_http *s = cls;
    struct conn *c = conn_of(connection);

    (void)req_cls;
    (void)toe;
    if (c == NULL)
        return;
    pthread_mutex_lock(&s->mu);
    c->since = av_mono_ms();
    c->reading = 1;
    pthread_mutex_unlock(&s->mu);
}

static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr, socklen_t len)
{
    struct av_http *s = cls;
    uint32_t ip;
    int n = 0;

    if (s->o.max_per_ip <= 0 || addr == NULL || addr->sa_family != AF_INET ||
        len < (socklen_t)sizeof(struct sockaddr_in))
        return MHD_YES;
    ip = ((const struct sockaddr_in *)(const void *)addr)->sin_addr.s_addr;
    if ((ntohl(ip) >> 24) == 127)
        return MHD_YES; /* loopback: the operator's own tools */
    pthread_mutex_lock(&s->mu);
    for (struct conn *c = s->conns; c; c = c->next)
        n += c->ip == ip;
    pthread_mutex_unlock(&s->mu);
    return n < s->o.max_per_ip ? MHD_YES : MHD_NO;
}

static void *sweep(void *arg)
{
    struct av_http *s = arg;

    pthread_mutex_lock(&s->mu);
    while (!s->stopping) {
        struct timespec ts;
        int64_t now = av_mono_ms();
        for (struct conn *c = s->conns; c; c = c->next) {
            if (c->reading && !c->killed && c->fd >= 0 &&
                now - c->since > s->o.header_timeout_ms) {
                shutdown(c->fd, SHUT_RDWR); /* through our copy: see the top */
                c->killed = 1;
            }
        }
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 100 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&s->wake, &s->mu, &ts);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* libmicrohttpd's own messages (a client that hung up, one the header
 * deadline closed): routine, so only with --verbose. */
static void on_log(void *cls, const char *fmt, va_list ap)
{
    char line[512];
    size_t n;

    (void)cls;
    vsnprintf(line, sizeof(line), fmt, ap);
    n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    av_debug("http: %s", line);
}

/* ---- requests ---- */

static enum MHD_Result send_buf(struct MHD_Connection *conn, unsigned status, const char *type,
                                const char *data, size_t len, const char *link,
                                const char *location, const char *etag)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)(data ? data : ""), MHD_RESPMEM_MUST_COPY);
    enum MHD_Result ret;

    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Cache-Control", etag && etag[0] ? "no-cache" : "no-store");
    if (etag && etag[0])
        MHD_add_response_header(r, "ETag", etag);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    if (link && link[0])
        MHD_add_response_header(r, "Link", link);
    if (location && location[0])
        MHD_add_response_header(r, "Location", location);
    ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

struct param_check {
    int n;
    char bad[96]; /* the offending parameter's name, or its position */
    const char *why;
};

static enum MHD_Result check_param(void *cls, enum MHD_ValueKind kind, const char *key,
                                   size_t key_size, const char *value, size_t value_size)
{
    struct param_check *pc = cls;
    int key_ok = av_param_text_ok(key, key_size);

    (void)kind;
    pc->n++;
    if (key_ok && (value == NULL || av_param_text_ok(value, value_size)))
        return pc->n <= MAX_PARAMS ? MHD_YES : MHD_NO;
    if (key_ok && key_size < sizeof(pc->bad))
        snprintf(pc->bad, sizeof(pc->bad), "%.*s", (int)key_size, key);
    else
        snprintf(pc->bad, sizeof(pc->bad), "parameter %d", pc->n);
    pc->why = "a NUL byte or invalid UTF-8 in the query string";
    return MHD_NO;
}

static enum MHD_Result bad_request(struct MHD_Connection *conn, const char *msg,
                                   const char *param)
{
    struct av_buf b;
    enum MHD_Result ret;

    av_buf_init(&b, 0);
    av_buf_puts(&b, "{\"error\":");
    av_json_quote(&b, msg);
    if (param) {
        av_buf_puts(&b, ",\"parameter\":");
        av_json_quote(&b, param);
    }
    av_buf_puts(&b, "}\n");
    ret = send_buf(conn, 400, "application/json", b.data, b.len, NULL, NULL, NULL);
    av_buf_free(&b);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload, size_t *upload_size, void **state)
{
    static int answered;
    struct av_http *s = cls;
    struct av_http_req req = {method, url, conn};
    struct av_http_resp resp;
    struct param_check pc = {0, "", NULL};
    struct conn *c = conn_of(conn);
    enum MHD_Result ret;

    (void)version;
    (void)upload;
    if (*state == &answered) { /* the rest of a body we do not read */
        *upload_size = 0;
        return MHD_YES;
    }
    /* headers complete: the deadline no longer applies */
    if (c) {
        pthread_mutex_lock(&s->mu);
        c->reading = 0;
        pthread_mutex_unlock(&s->mu);
    }
    *state = &answered;
    MHD_get_connection_values_n(conn, MHD_GET_ARGUMENT_KIND, check_param, &pc);
    if (pc.why)
        return bad_request(conn, pc.why, pc.bad);
    if (pc.n > MAX_PARAMS)
        return bad_request(conn, "more than 64 query parameters", NULL);
    if (!av_param_text_ok(url, strlen(url)))
        return bad_request(conn, "invalid UTF-8 in the path", NULL);
    /* A body is never read: answer now (libmicrohttpd then closes the
     * connection instead of draining it). */
    memset(&resp, 0, sizeof(resp));
    resp.status = 200;
    resp.type = "application/json";
    av_buf_init(&resp.body, BODY_MAX);
    s->h(s->ud, &req, &resp);
    if (resp.body.failed) { /* never a cut body */
        static const char too_big[] =
            "{\"error\":\"the answer did not fit the server's 64 MiB ceiling; ask for less "
            "(from/to, region, limit)\"}\n";
        ret = send_buf(conn, 500, "application/json", too_big, sizeof(too_big) - 1, NULL,
                       NULL, NULL);
    } else {
        ret = send_buf(conn, (unsigned)resp.status, resp.type, resp.body.data, resp.body.len,
                       resp.link, resp.location, resp.etag);
    }
    av_buf_free(&resp.body);
    return ret;
}

/* ---- start and stop ---- */

/* Room for every connection (twice: ours is dup()ed) and the rest. */
static void raise_fd_limit(int max_connections)
{
    struct rlimit rl;
    rlim_t want = (rlim_t)max_connections * 2 + 256;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
        return;
    rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
    setrlimit(RLIMIT_NOFILE, &rl);
}

av_rc av_http_start(struct av_http **out, const struct av_http_opts *o, av_http_handler h,
                    void *ud, char *errbuf)
{
    struct av_http *s;
    struct sockaddr_in sa;
    char host[64];
    int port;
    const union MHD_DaemonInfo *info;
    av_rc rc = av_param_listen(o->listen, host, sizeof(host), &port, errbuf);

    if (rc != AV_OK)
        return rc;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, host, &sa.sin_addr);
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return AV_ENOMEM;
    s->h = h;
    s->ud = ud;
    s->o = *o;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->wake, NULL);
    raise_fd_limit(o->max_connections);
    s->d = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
            MHD_USE_ERROR_LOG,
        0, on_accept, s, on_request, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)(o->idle_timeout_s > 0 ? o->idle_timeout_s : 30),
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)o->max_connections,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(512 * 1024),
        MHD_OPTION_THREAD_STACK_SIZE, (size_t)(1 << 20),
        MHD_OPTION_NOTIFY_CONNECTION, on_notify, s,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_EXTERNAL_LOGGER, on_log, s,
        MHD_OPTION_END);
    if (s->d == NULL) {
        pthread_mutex_destroy(&s->mu);
        pthread_cond_destroy(&s->wake);
        free(s);
        return av_fail(errbuf, AV_EIO, "cannot listen on %s (in use? try another --listen)",
                       o->listen);
    }
    if (pthread_create(&s->sweeper, NULL, sweep, s) == 0)
        s->sweeping = 1;
    info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : port;
    *out = s;
    return AV_OK;
}

int av_http_port(const struct av_http *s)
{
    return s->port;
}

void av_http_stop(struct av_http *s)
{
    if (s == NULL)
        return;
    pthread_mutex_lock(&s->mu);
    s->stopping = 1;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->mu);
    if (s->sweeping)
        pthread_join(s->sweeper, NULL);
    MHD_stop_daemon(s->d);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->wake);
    free(s);
}
