/* http.h - a small HTTP server: the only user of libmicrohttpd.
 *
 * One internal thread accepts connections and calls the handler for each
 * complete request (request bodies are read and discarded: the API takes
 * parameters in the query string). The handler fills a status, a content
 * type and a body; this module adds Content-Length and sends it. Binds to
 * the given address only (loopback by default).
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
    struct av_buf body; /* owned by the server; append to it */
};

typedef void (*av_http_handler)(void *ud, const struct av_http_req *req,
                                struct av_http_resp *resp);

/* Query-string parameter (decoded) or NULL. */
const char *av_http_query(const struct av_http_req *r, const char *key);
/* Request header or NULL. */
const char *av_http_header(const struct av_http_req *r, const char *name);

/* listen: "ADDR:PORT" (IPv4), e.g. "127.0.0.1:8080"; port 0 picks one
 * (see av_http_port). */
av_rc av_http_start(struct av_http **out, const char *listen, av_http_handler h, void *ud,
                    char *errbuf);
int av_http_port(const struct av_http *s);
void av_http_stop(struct av_http *s); /* accepts NULL */

#endif
