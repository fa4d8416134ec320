/* cql_int.h - private to the connection half of src/cql (cql_net.c,
 * cql_conn.c): struct av_cql and the transport calls cql_conn.c builds
 * the protocol on. The codec is cql_frame.h; nothing outside src/cql
 * includes either.
 *
 * cql_net.c owns the socket (c->fd) and the clock: every deadline is
 * computed there from CLOCK_MONOTONIC. Any transport failure, timeout or
 * unusable frame closes the socket (av_cql_drop) and returns AV_ENET
 * (AV_EPARSE / AV_ELIMIT for bad frames), errbuf naming the peer.
 */
#ifndef AV_CQL_INT_H
#define AV_CQL_INT_H

#include <stddef.h>
#include <stdint.h>

#include "../core/buf.h"
#include "../core/err.h"
#include "cql.h"
#include "cql_frame.h"

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
    struct av_buf out;         /* frames of a pipeline, sent together */
    struct av_buf in;          /* body of the last frame read */
    struct av_cql_header rh;   /* its header */
    size_t off;                /* where the message starts (after prefixes) */
    int32_t last_code;         /* code of the last ERROR answer, else -1 */
};

/* "h1, h2:9043, [::1]:9042" -> c->hosts (allocated here, freed by
 * av_cql_close). AV_EINVAL names the bad contact point. */
av_rc av_cql_parse_hosts(struct av_cql *c, const char *list, char *errbuf);

/* TCP connect to one contact point (every address it resolves to) within
 * timeout_ms: a non-blocking socket with TCP_NODELAY, or -1 with the
 * reason in why. */
int av_cql_dial(const struct host *h, int timeout_ms, char *why, size_t whylen);

/* Closes the socket if open; c->fd becomes -1. */
void av_cql_drop(struct av_cql *c);

/* Sends the frame in c->w and reads frames until the answer on stream 0
 * (EVENT frames are skipped); within c->request_ms. On success c->rh,
 * c->in and c->off hold the answer. */
av_rc av_cql_exchange(struct av_cql *c, char *errbuf);

/* The pieces of av_cql_exchange, for pipelines: the deadline of a request
 * (now + request_ms), sending bytes whole, and reading the next answer
 * (EVENT frames skipped; c->rh.stream says which request it answers). */
int64_t av_cql_deadline(const struct av_cql *c);
av_rc av_cql_send(struct av_cql *c, const void *p, size_t n, int64_t deadline, char *errbuf);
av_rc av_cql_answer(struct av_cql *c, int64_t deadline, char *errbuf);

#endif
