/* cql.h - our client for the Cassandra native protocol v4 (CQL binary).
 *
 * No C driver is packaged for Debian, so the project speaks the protocol
 * itself (../shared/real-servers.md §C; Cassandra 3.x-5.x and ScyllaDB all
 * serve v4). Synchronous: one request in flight per connection (stream 0),
 * or a few writes pipelined on streams 1..n (av_cql_pipeline).
 *
 * What it owns: one TCP connection at a time to one of several contact
 * points; on a lost connection the next call reconnects, trying the contact
 * points in turn. Prepared statements remember their query text, so an
 * UNPREPARED answer (node restarted, other node) re-prepares transparently.
 *
 * How it fails (av_rc):
 *   AV_ENET     retry later: connection lost or refused, timeouts, and the
 *               server errors Unavailable, Overloaded, Is_bootstrapping,
 *               Write_timeout, Read_timeout, Truncate_error, Server_error;
 *   AV_EREMOTE  do not retry: Syntax, Invalid, Unauthorized, Config,
 *               Already_exists, Protocol, Authentication (bad credentials),
 *               Function_failure, Write_failure, Read_failure;
 *   AV_EPARSE   a malformed frame or body from the server;
 *   AV_ELIMIT   a frame larger than max_frame;
 *   AV_EINVAL   bad arguments.
 * errbuf always gets one line with the server's own message when there is one.
 *
 * Layers: the codec behind cql_frame.h - cql_wire.c, cql_result.c,
 * cql_error.c (pure encode/decode, fuzzed and unit-tested with vectors
 * computed from the spec); cql_net.c (contact points, sockets, frames) and
 * cql_conn.c (handshake, requests) behind cql_int.h; cql_value.c (bind
 * values). Nothing else in the project includes the protocol details.
 */
#ifndef AV_CQL_H
#define AV_CQL_H

#include <stddef.h>
#include <stdint.h>

#include "../core/err.h"

/* Value types we bind and read. */
enum av_cql_type {
    AV_CQL_NULL = 0,
    AV_CQL_UNSET,     /* bind only: leave the column untouched */
    AV_CQL_INT,       /* int (4 bytes) */
    AV_CQL_BIGINT,    /* bigint, counter */
    AV_CQL_SMALLINT,
    AV_CQL_TINYINT,
    AV_CQL_BOOLEAN,
    AV_CQL_DOUBLE,
    AV_CQL_TEXT,      /* text, varchar, ascii */
    AV_CQL_BLOB,
    AV_CQL_TIMESTAMP, /* ms since the Unix epoch */
    AV_CQL_DATE,      /* days since 1970-01-01 (signed; the wire adds 2^31) */
    AV_CQL_UUID,      /* uuid, timeuuid: 16 bytes */
    AV_CQL_LIST_TEXT, /* list<text> (and set<text> on read) */
    AV_CQL_OTHER      /* read only: a type we do not decode (raw bytes) */
};

struct av_cql_value {
    enum av_cql_type type;
    union {
        int64_t i;     /* INT..TINYINT, BOOLEAN (0/1), TIMESTAMP, DATE */
        double d;      /* DOUBLE */
        struct {
            const char *p; /* TEXT, BLOB, OTHER: bytes, not NUL-terminated */
            size_t n;
        } s;
        uint8_t uuid[16];
        struct {
            const char *const *items; /* bind: NUL-terminated strings */
            int n;
        } list;
    } u;
};

/* Constructors for binding. */
struct av_cql_value av_cql_null(void);
/* v4 "unset" (length -2): the column keeps whatever it holds; unlike null,
 * it writes no tombstone. Bind only (QUERY, EXECUTE, BATCH values). */
struct av_cql_value av_cql_unset(void);
struct av_cql_value av_cql_int(int32_t v);
struct av_cql_value av_cql_bigint(int64_t v);
struct av_cql_value av_cql_smallint(int16_t v);
struct av_cql_value av_cql_tinyint(int8_t v);
struct av_cql_value av_cql_bool(int v);
struct av_cql_value av_cql_double(double v);
struct av_cql_value av_cql_text(const char *s); /* NULL -> null */
struct av_cql_value av_cql_timestamp(int64_t ms);
struct av_cql_value av_cql_date(int64_t days);
struct av_cql_value av_cql_list_text(const char *const *items, int n);

enum av_cql_consistency {
    AV_CQL_ANY = 0, AV_CQL_ONE = 1, AV_CQL_TWO = 2, AV_CQL_THREE = 3, AV_CQL_QUORUM = 4,
    AV_CQL_ALL = 5, AV_CQL_LOCAL_QUORUM = 6, AV_CQL_EACH_QUORUM = 7, AV_CQL_SERIAL = 8,
    AV_CQL_LOCAL_SERIAL = 9, AV_CQL_LOCAL_ONE = 10
};
/* "ONE", "local_quorum", ... -> value; -1 if unknown. */
int av_cql_consistency_parse(const char *name);

struct av_cql_opts {
    const char *hosts;        /* "h1,h2:9043" (default port 9042) */
    const char *user;         /* NULL: no authentication offered */
    const char *password;
    int connect_timeout_ms;   /* per contact point */
    int request_timeout_ms;   /* per request (send + answer) */
    size_t max_frame;         /* ceiling for any frame we read, e.g. 16 MiB */
};

struct av_cql;          /* a connection (with failover) */
struct av_cql_prepared; /* a prepared statement */
struct av_cql_result;   /* a decoded RESULT */

/* Connects to the first contact point that answers and completes
 * OPTIONS/STARTUP (and PasswordAuthenticator when asked). On failure
 * nothing is left open and errbuf names every host tried. */
av_rc av_cql_connect(struct av_cql **out, const struct av_cql_opts *o, char *errbuf);
void av_cql_close(struct av_cql *c); /* accepts NULL */
/* "host:port" of the node currently connected (or "" when none). */
const char *av_cql_peer(const struct av_cql *c);

/* QUERY with optional bound values (may be NULL/0); res may be NULL when
 * the caller does not need the result. */
av_rc av_cql_query(struct av_cql *c, const char *cql, const struct av_cql_value *vals, int n,
                   int consistency, struct av_cql_result **res, char *errbuf);

av_rc av_cql_prepare(struct av_cql *c, const char *cql, struct av_cql_prepared **out,
                     char *errbuf);
void av_cql_prepared_free(struct av_cql_prepared *p);
/* Number of bind markers of a prepared statement. */
int av_cql_prepared_params(const struct av_cql_prepared *p);

/* EXECUTE. page_size > 0 asks for paging; paging_state (from the previous
 * page's result, may be NULL) continues. */
av_rc av_cql_execute(struct av_cql *c, struct av_cql_prepared *p,
                     const struct av_cql_value *vals, int n, int consistency, int page_size,
                     const void *paging_state, size_t paging_len,
                     struct av_cql_result **res, char *errbuf);

struct av_cql_batch_item {
    struct av_cql_prepared *p;
    const struct av_cql_value *vals;
    int n;
};
/* BATCH of prepared statements: type 0 logged, 1 unlogged, 2 counter. */
av_rc av_cql_batch(struct av_cql *c, int type, const struct av_cql_batch_item *items, int n,
                   int consistency, char *errbuf);

/* One write of a pipeline: a BATCH (type 0-2, like av_cql_batch) of items,
 * or an EXECUTE (type AV_CQL_OP_EXEC) of items[0]. No result is kept. */
#define AV_CQL_OP_EXEC 3
#define AV_CQL_PIPELINE_MAX 8
struct av_cql_op {
    int type;
    const struct av_cql_batch_item *items;
    int nitems;
    int consistency;
};
/* Sends n writes at once (streams 1..n) and waits for every answer: one
 * round trip instead of n. UNPREPARED re-prepares and sends all again
 * once; otherwise returns the first failure (AV_OK when all succeeded).
 * After AV_ENET some may have been applied: give only idempotent writes
 * (e.g. with USING TIMESTAMP). */
av_rc av_cql_pipeline(struct av_cql *c, const struct av_cql_op *ops, int n, char *errbuf);

/* Results. kind: 1 void, 2 rows, 3 set_keyspace, 4 prepared, 5 schema_change. */
int av_cql_result_kind(const struct av_cql_result *r);
int av_cql_result_rows(const struct av_cql_result *r);
int av_cql_result_columns(const struct av_cql_result *r);
const char *av_cql_result_column_name(const struct av_cql_result *r, int col);
enum av_cql_type av_cql_result_column_type(const struct av_cql_result *r, int col);
/* Value of (row, col); strings point into the result (valid until freed).
 * LIST_TEXT on read: items are not available as C strings; use
 * av_cql_result_list_item(). */
av_rc av_cql_result_get(const struct av_cql_result *r, int row, int col,
                        struct av_cql_value *out);
/* Item k of a list<text>/set<text> cell: bytes and length; AV_EPARSE if absent. */
av_rc av_cql_result_list_item(const struct av_cql_result *r, int row, int col, int k,
                              const char **p, size_t *n);
/* Paging state of a rows result (NULL when this was the last page). */
const void *av_cql_result_paging(const struct av_cql_result *r, size_t *len);
/* set_keyspace / schema_change: the keyspace name (else NULL). */
const char *av_cql_result_keyspace(const struct av_cql_result *r);
void av_cql_result_free(struct av_cql_result *r); /* accepts NULL */

#endif
