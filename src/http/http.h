/* http.h - a small HTTP server: the only user of libmicrohttpd.
 *
 * A thread per connection (a slow handler never holds up another client),
 * at most max_connections at once, non-loopback clients at most max_per_ip
 * each. A client has header_timeout_ms for its whole request line and
 * headers, then its connection is closed (slow clients cannot hold the
 * server); an idle keep-alive connection closes after idle_timeout_s.
 *
 * Before the handler runs, the request is checked: at most 64 query
 * parameters, no NUL bytes (%00) and valid UTF-8 in every name and value;
 * otherwise 400 with a JSON error naming the parameter (never echoing
 * invalid bytes). The API takes no request bodies: a request that sends
 * one is answered at once, without reading it, and its connection closed.
 * The handler fills a status, a content type and a body (and optionally a
 * Link, a Location or an ETag header); this module adds Content-Length and
 * sends it.
 * Binds to the given address only (loopback by default).
 */
#ifndef AV_HTTP_H
#define AV_HTTP_H

#include "../core/buf.h"
#include "../core/err.h"

struct av_http;

struct av_http_req {
    const char *method; /* "GET", "POST", ... */
    const char *path;   /* without the query string */
    void *conn;         /* private */
};

struct av_http_resp {
    int status;         /* default 200 */
    const char *type;   /* default "application/json" */
    struct av_buf body; /* owned by the server; append to it (ceiling 64 MiB) */
    char link[512];     /* a Link header, "" for none */
    char location[512]; /* a Location header (redirects), "" for none */
    char etag[24];      /* an ETag header, "" for none; with one the answer is
                           Cache-Control: no-cache (revalidate), else no-store */
};

typedef void (*av_http_handler)(void *ud, const struct av_http_req *req,
                                struct av_http_resp *resp);

struct av_http_opts {
    const char *listen;    /* "ADDR:PORT" (IPv4), port 0 picks one (av_http_port) */
    int max_connections;   /* at once */
    int max_per_ip;        /* per non-loopback client address; 0 = no limit */
    int header_timeout_ms; /* request line + headers */
    int idle_timeout_s;    /* an idle keep-alive connection */
};

/* Query-string parameter (decoded, checked as above) or NULL. */
const char *av_http_query(const struct av_http_req *r, const char *key);
/* Appends the query's parameters to out in a canonical order: sorted by
 * name (byte order; repeated names keep their order), "name=value" joined
 * by '&', '&', '=', '%' and control bytes in them %XX-escaped, a name
 * without '=' in the request without it here. Two requests with the same
 * parameters in any order give the same text (a cache key). */
void av_http_query_canon(const struct av_http_req *r, struct av_buf *out);
/* Request header or NULL. */
const char *av_http_header(const struct av_http_req *r, const char *name);

/* The handler may run in several threads at once. */
av_rc av_http_start(struct av_http **out, const struct av_http_opts *o, av_http_handler h,
                    void *ud, char *errbuf);
int av_http_port(const struct av_http *s);
void av_http_stop(struct av_http *s); /* accepts NULL */

#endif
