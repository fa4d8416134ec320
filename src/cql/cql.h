/* cql.h - our client for the Cassandra native protocol v4 (CQL binary).
 *
 * No C driver is packaged for Debian, so the project speaks the protocol
 * itself (../shared/real-servers.md §C; Cassandra 3.x-5.x and ScyllaDB all
 * serve v4).
 *
 * Shape: one struct av_cql is a session with a cluster. It owns a pool of
 * TCP connections per node (connections_per_host), each carrying many
 * requests at once on stream ids 1..32767 (v4 streams are signed 16-bit;
 * stream 0 is kept for the handshake), answers matched by stream in any
 * order. No threads: a single-threaded event loop (poll() over the pool's
 * sockets) runs only inside the calls below, driven by the caller:
 * av_cql_submit() queues a request with a callback and makes what progress
 * it can without blocking (or blocks while the in-flight window is full:
 * backpressure), av_cql_drain() runs the loop until every request has
 * completed. The synchronous calls (query, prepare, execute, batch,
 * pipeline) are a submit plus a wait for that one answer; requests of other
 * callers complete (their callbacks run) meanwhile. Not thread-safe: one
 * thread per struct av_cql.
 *
 * Cluster metadata (opts.discover): after the first connection the client reads
 * system.local and system.peers (every node's address, data center, rack
 * and tokens) and system_schema.keyspaces (replication), and registers for
 * TOPOLOGY_CHANGE and STATUS_CHANGE events on one connection; it reads them
 * again when an event or a schema change says so and every refresh_ms.
 * Discovered nodes are dialled on the contact point's port (rpc_address of
 * system.peers; 0.0.0.0 falls back to peer).
 *
 * Routing: a prepared statement knows its keyspace and which bind markers
 * are the partition key (from PREPARE), so an EXECUTE or a BATCH (its first
 * statement) is routed token-aware: Murmur3 of the serialized key
 * (cql_ring.h), the replicas from the ring and the keyspace's replication
 * (SimpleStrategy, NetworkTopologyStrategy), those of local_dc first (empty:
 * the data center of the first contact point that answered), in placement
 * order, then the other local nodes, then other data centers. Requests
 * without a token go round-robin over the local nodes.
 *
 * Failure handling: a node is marked down when a connect, the handshake or
 * a connection fails, or nothing at all arrives on a connection for
 * request_timeout_ms while requests wait on it (a stopped or partitioned
 * node: the connection is closed, every request on it fails over); a
 * request without an answer in time on a connection that still answers
 * fails over alone (its stream stays taken until the late answer). The
 * handshake of a new connection blocks the loop for at most the shorter of
 * the two timeouts. A down node
 * is tried again after a backoff (250 ms doubling to 10 s, reset by a
 * successful connect) or when a STATUS_CHANGE UP event names it. When no
 * node is up a request dials them anyway (the caller's retry paces that).
 * A request that failed with AV_ENET (below) is sent again ONLY if it is
 * idempotent (struct av_cql_op.idempotent; the synchronous calls are not
 * idempotent, except av_cql_pipeline whose contract says so): first on the
 * next replica/node not yet tried, then, `retries` times, after a backoff
 * (100 ms doubling to backoff_max_ms; never once *stop is set). Writes with
 * USING TIMESTAMP (upserts: the same cells with the same timestamp) are
 * idempotent; counter updates, appends to lists and LWTs are not.
 * Prepared statements remember their query text and are prepared on each
 * new connection; an UNPREPARED answer (node restarted) re-prepares on that
 * connection and sends the request again, once.
 *
 * How it fails (av_rc):
 *   AV_ENET     retry later: connection lost or refused, timeouts, and the
 *               server errors Unavailable, Overloaded, Is_bootstrapping,
 *               Write_timeout, Read_timeout, Truncate_error, Server_error;
 *   AV_EREMOTE  do not retry: Syntax, Invalid, Unauthorized, Config,
 *               Already_exists, Protocol, Authentication (bad credentials),
 *               Function_failure, Write_failure, Read_failure;
 *   AV_EPARSE   a malformed frame or body from the server (the connection
 *               is closed: its stream is out of step);
 *   AV_ELIMIT   a frame larger than max_frame;
 *   AV_EINVAL   bad arguments.
 * errbuf always gets one line with the server's own message when there is one.
 *
 * Layers: the codec behind cql_frame.h - cql_wire.c, cql_result.c,
 * cql_error.c - and cql_ring.c behind cql_ring.h (Murmur3, ring, events,
 * replication: pure, fuzzed and unit-tested); cql_net.c (contact points,
 * sockets, frames), cql_pool.c (the event loop: streams, window, routing,
 * deadlines, retries), cql_topo.c (discovery, refresh, events) and
 * cql_conn.c (handshake, the synchronous API) behind cql_int.h;
 * cql_value.c (bind values); cql_batch.c (open batches, over cql_pool.c's
 * submit). Nothing else in the project includes the
 * protocol details.
 */
#ifndef AV_CQL_H
#define AV_CQL_H

#include <stddef.h>
#include <signal.h>
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
    int connect_timeout_ms;   /* per contact point (and handshake); 0: 5000 */
    int request_timeout_ms;   /* per request attempt (send + answer); 0: 12000 */
    size_t max_frame;         /* ceiling for any frame we read, e.g. 16 MiB */
    /* Zero means the default for every field below. */
    int connections_per_host; /* 0: 1 */
    int max_inflight;         /* requests in flight in the whole session; 0: 1024 */
    const char *local_dc;     /* NULL/"": the first contact point's data center */
    int refresh_ms;           /* ring refresh period; 0: 60000; < 0 never */
    int discover;             /* 1: read the nodes and the ring (token routing, events);
                               * 0: only the contact points, round-robin */
    int retries;              /* backoff retries of an idempotent request; 0: none */
    int backoff_max_ms;       /* 0: 5000 */
    volatile sig_atomic_t *stop; /* set: no more backoff retries (may be NULL) */
};

struct av_cql;          /* a session: the connection pool of a cluster */
struct av_cql_prepared; /* a prepared statement */
struct av_cql_result;   /* a decoded RESULT */

/* Connects to the first contact point that answers and completes
 * OPTIONS/STARTUP (and PasswordAuthenticator when asked), then discovers
 * the cluster (with discover; a discovery failure only logs a
 * warning: the contact points still work). On failure nothing is left
 * open and errbuf names every host tried. */
av_rc av_cql_connect(struct av_cql **out, const struct av_cql_opts *o, char *errbuf);
void av_cql_close(struct av_cql *c); /* accepts NULL */
/* "host:port" of the node the last request was answered by while its
 * connection is still open (or "" when none is). */
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

/* One write: a BATCH (type 0-2, like av_cql_batch) of items, or an
 * EXECUTE (type AV_CQL_OP_EXEC) of items[0]. Values are encoded when the op
 * is submitted: the caller's memory may go as soon as av_cql_submit returns.
 * idempotent = 1 allows sending it again (another replica, after a
 * backoff) when an attempt failed with AV_ENET, even though the first
 * attempt may have been applied: say so only for writes that give the same
 * result applied twice (upserts with USING TIMESTAMP). */
#define AV_CQL_OP_EXEC 3
#define AV_CQL_PIPELINE_MAX 8
struct av_cql_op {
    int type;
    const struct av_cql_batch_item *items;
    int nitems;
    int consistency;
    int idempotent;
};

/* Called once per submitted op when it completed (acknowledged, or failed
 * for good after the retries it was allowed): rc AV_OK or as above, err
 * the line for errbuf (valid during the call). Runs inside av_cql_submit,
 * av_cql_drain or any other call of this client on the same session
 * (possibly before av_cql_submit returns); it must not call this client
 * except av_cql_inflight. */
typedef void (*av_cql_done_fn)(void *ud, av_rc rc, const char *err);

/* Queues op (and sends what the sockets take now). Blocks, running the
 * loop, while max_inflight requests are in flight or their frames (kept
 * until answered, for retries) hold 64 MiB. Returns AV_OK when the
 * callback will be (or was already) called; otherwise (bad arguments, a
 * frame too large, out of memory; also when called from a callback) the
 * error, and fn is never called. Network failures go to the callback. */
av_rc av_cql_submit(struct av_cql *c, const struct av_cql_op *op, av_cql_done_fn fn, void *ud,
                    char *errbuf);
/* Runs the loop until no request is in flight (every callback has run).
 * AV_EINVAL from a callback; else AV_OK (requests report their own errors). */
av_rc av_cql_drain(struct av_cql *c, char *errbuf);
/* Requests submitted and not completed. */
int av_cql_inflight(const struct av_cql *c);
/* Nodes known (contact points and discovered), and how many are up. */
int av_cql_nodes(const struct av_cql *c, int *up);

/* An open batch (cql_batch.c): one BATCH request built statement by
 * statement in its own memory, so that a caller can gather the writes of
 * many calls (e.g. many warnings of one partition) and send them as one
 * request. Each append encodes its values at once: the caller's memory may
 * go when av_cql_obatch_add returns. Routed, like a BATCH, by the
 * partition key of its first statement (give statements of one partition:
 * Cassandra applies them as one mutation and checks no batch size for it).
 * Memory: what was appended, up to max_frame; the caller bounds it (count
 * and bytes below) and submits.
 *
 * How it fails: av_cql_obatch_add returns AV_EINVAL (wrong number of
 * values, an out-of-range value, not prepared), AV_ELIMIT (65535
 * statements, or the frame would pass max_frame) or AV_ENOMEM, and then
 * leaves the batch exactly as before the call: send what is in it and add
 * again to the emptied batch. Submitting is av_cql_submit's contract. */
struct av_cql_obatch;
/* type: 0 logged, 1 unlogged, 2 counter. */
av_rc av_cql_obatch_new(struct av_cql *c, int type, struct av_cql_obatch **out, char *errbuf);
void av_cql_obatch_free(struct av_cql_obatch *b); /* accepts NULL */
av_rc av_cql_obatch_add(struct av_cql_obatch *b, struct av_cql_prepared *p,
                        const struct av_cql_value *vals, int n, char *errbuf);
int av_cql_obatch_count(const struct av_cql_obatch *b);  /* statements in it */
size_t av_cql_obatch_bytes(const struct av_cql_obatch *b); /* its frame so far */
/* Empties b (what was appended is dropped, memory kept). */
void av_cql_obatch_clear(struct av_cql_obatch *b);
/* Sends b as one request (av_cql_submit: backpressure, fn called once,
 * idempotent as in struct av_cql_op) and leaves it empty for reuse; its
 * bytes move to the request, nothing is copied. An empty b: AV_OK and fn
 * is never called. */
av_rc av_cql_obatch_submit(struct av_cql *c, struct av_cql_obatch *b, int consistency,
                           int idempotent, av_cql_done_fn fn, void *ud, char *errbuf);

/* Sends n writes at once and waits for every answer: one round trip
 * instead of n. Each is idempotent (see struct av_cql_op), whatever its
 * flag says: give only idempotent writes. Returns the first failure
 * (AV_OK when all succeeded). */
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
