/* cql_int.h - private to the session half of src/cql (cql_net.c,
 * cql_pool.c, cql_topo.c, cql_conn.c): struct av_cql, its nodes,
 * connections and requests, and the calls those files share. The codec is
 * cql_frame.h and cql_ring.h; nothing outside src/cql includes any of them.
 *
 * Ownership: the session owns its nodes (a fixed table, entries never
 * move, removed nodes are only marked gone), each node its connections,
 * each connection the requests in flight on it (slots by stream id), the
 * session the requests waiting for a backoff retry (delayed list) and a
 * free list of request structs for reuse. A request is in exactly one of:
 * a connection's slot, the delayed list, held by a re-prepare, the free
 * list. Every deadline uses av_mono_ms (core/clock.h).
 */
#ifndef AV_CQL_INT_H
#define AV_CQL_INT_H

#include <stddef.h>
#include <stdint.h>

#include "../core/buf.h"
#include "../core/err.h"
#include "cql.h"
#include "cql_frame.h"
#include "cql_ring.h"

#define AV_CQL_MAX_NODES 64
#define AV_CQL_MAX_CONNS 8      /* connections_per_host ceiling */
#define AV_CQL_STREAMS 32768    /* v4: 0..32767; 0: handshake, then synchronous calls */
#define AV_CQL_MAX_PK 16
#define AV_CQL_MAX_TRIED 8
#define AV_CQL_INFLIGHT_BYTES ((size_t)64 << 20) /* frames kept for answers (and retries) */

struct host {
    char name[256]; /* name or address, IPv6 without brackets */
    char port[8];
};

struct cql_conn;
struct cql_req;

struct cql_node {
    struct host h;    /* what we dial */
    char addr[64];    /* rpc_address as the cluster names it ("" unknown) */
    char dc[64], rack[64];
    int contact;      /* from the contact point list */
    int gone;         /* no longer in system.peers */
    int up;           /* believed up */
    int64_t retry_at; /* down: earliest reconnect (ms, monotonic) */
    int backoff_ms;
    int seen;         /* refresh bookkeeping */
    struct cql_conn *conns[AV_CQL_MAX_CONNS];
    int nconns;
};

struct cql_conn {
    struct av_cql *c;
    struct cql_node *node;
    int fd;
    char peer[300];
    int retired;           /* closed once idle; no new requests */
    /* blocking exchanges (handshake) */
    struct av_cql_header rh;
    struct av_buf hin;     /* body of the last frame read while blocking */
    size_t hoff;
    /* the loop */
    struct av_buf out;     /* frames waiting to be written, from out_off */
    size_t out_off;
    uint8_t *in;           /* bytes read, not yet consumed */
    size_t in_len, in_cap;
    struct cql_req **slots; /* by stream id, AV_CQL_STREAMS entries */
    int16_t *free_ids;      /* stack of free stream ids (1..32767) */
    int nfree;
    int zero_busy;          /* stream 0 (synchronous requests) in use */
    int inflight;
    struct cql_req *fhead, *ftail; /* in flight, in send order (= deadline order) */
    int orphans;            /* streams of timed-out requests, until their answer */
    int64_t last_rx;        /* when bytes last arrived (ms) */
    struct cql_conn *dead_next;    /* closed, freed at the end of the loop round */
};

enum cql_req_kind {
    REQ_USER,    /* av_cql_submit: fn(ud, rc, err) */
    REQ_SYNC,    /* a synchronous call waiting: fills struct cql_wait */
    REQ_REPREP,  /* PREPARE for parent, then sends it again */
    REQ_FORGET   /* fire and forget (prepare on other nodes) */
};

struct cql_wait {
    int done;
    av_rc rc;
    struct av_cql_result *res; /* REQ_SYNC: the RESULT (or NULL) */
    struct cql_conn *conn;     /* which connection answered */
    char err[AV_ERRBUF_SIZE];
    int expect_ready;          /* REGISTER: READY is the success answer */
};

struct cql_req {
    enum cql_req_kind kind;
    struct av_cql_w w;          /* the whole frame; the stream is patched per send */
    struct cql_conn *conn;      /* while in a slot */
    int16_t stream;
    int64_t deadline;           /* of the current attempt */
    int idempotent;
    int has_token;
    int64_t token;
    const char *ks;             /* the statement's keyspace (prepared), for replicas */
    struct cql_conn *pin;       /* only this connection (system tables of a node) */
    struct cql_node *tried[AV_CQL_MAX_TRIED];
    int ntried;
    int retries_left;
    int wait_ms;                /* next backoff */
    int64_t due;                /* delayed: when to send again */
    int reprepared;
    av_rc last_rc;
    char last_err[AV_ERRBUF_SIZE];
    av_cql_done_fn fn;
    void *ud;
    struct cql_wait *wait;      /* REQ_SYNC */
    struct cql_req *parent;     /* REQ_REPREP */
    struct av_cql_prepared *prep; /* REQ_REPREP: the statement */
    uint8_t old_id[64];         /* REQ_REPREP: its id as the parent's frame has it */
    size_t old_id_len;
    struct cql_req *next;       /* delayed / free list */
    struct cql_req *fprev, *fnext; /* a connection's in-flight list, oldest first */
};

struct av_cql_prepared {
    struct av_cql *owner;       /* NULL after the session closed */
    struct av_cql_prepared *next; /* the session's registry */
    char *query;
    uint8_t *id;
    size_t id_len;
    int nparams;
    int npk;
    uint16_t pk[AV_CQL_MAX_PK];
    char *ks;                   /* keyspace of the bind markers, else NULL */
};

struct cql_keyspace {
    char name[64];
    int ok; /* repl usable for tokens */
    struct av_cql_repl repl;
};

struct av_cql {
    struct cql_node nodes[AV_CQL_MAX_NODES];
    int nnodes;
    int next;               /* round-robin cursor */
    char *user, *password;
    int connect_ms, request_ms;
    size_t max_frame;
    int per_host, max_inflight, refresh_ms, discovery, retries, backoff_max;
    volatile sig_atomic_t *stop;
    char local_dc[64];      /* as configured, else learned */
    int local_dc_set;
    char *keyspace;         /* from the last USE: replayed on new connections */
    char peer[300];         /* of the last answer */
    struct cql_conn *last;  /* the connection that answered last */

    struct av_cql_ring ring;
    struct cql_keyspace *kss;
    int nks;
    const char *node_dc[AV_CQL_MAX_NODES];

    struct cql_conn *control; /* registered for events */
    int64_t next_refresh;
    int need_refresh;
    int in_refresh;
    int closing;            /* av_cql_close: nothing is sent any more */

    struct av_cql_prepared *preps; /* registry */
    int inflight;           /* submitted, not completed (user and sync) */
    size_t inflight_bytes;  /* the frames of the user requests among them */
    struct cql_req *delayed;
    struct cql_req *freeq;
    int nfreeq;
    int depth;              /* >0 inside a callback */
    int64_t last_sweep;
    int64_t retry_logged;   /* when a backoff retry was last logged */
    struct cql_conn *dead;  /* closed connections not yet freed */
    int pending_out;        /* submits since the last round of the loop */
    struct av_buf rk;       /* routing key scratch */
};

/* ---- cql_net.c ---------------------------------------------------------- */

/* "h1, h2:9043, [::1]:9042" -> c->nodes (contact points). AV_EINVAL names
 * the bad contact point. */
av_rc av_cql_parse_hosts(struct av_cql *c, const char *list, char *errbuf);
/* TCP connect within timeout_ms: a non-blocking socket with TCP_NODELAY,
 * or -1 with the reason in why. */
int av_cql_dial(const struct host *h, int timeout_ms, char *why, size_t whylen);
/* Blocking exchange on a fresh connection (stream 0, nothing else in
 * flight): sends w's frame and reads the answer into k->rh / k->hin. */
av_rc av_cql_conn_exchange(struct cql_conn *k, struct av_cql_w *w, int64_t deadline,
                           char *errbuf);
/* Non-blocking: writes what the socket takes of k->out. -1 on failure
 * (why set), else 0. */
int av_cql_conn_write(struct cql_conn *k, char *why, size_t whylen);
/* Non-blocking: reads what is there into k->in. -1 on failure or EOF. */
int av_cql_conn_read(struct cql_conn *k, char *why, size_t whylen);
/* "host:port" of a node. */
void av_cql_node_name(const struct cql_node *n, char *out, size_t cap);

/* ---- cql_conn.c ---------------------------------------------------------- */

/* Dials node n, handshakes (login, USE, REGISTER if no control
 * connection, prepares the registry) and adds the connection to its pool.
 * On failure the node is marked down and NULL returned (errbuf says why,
 * *rcp the av_rc). */
struct cql_conn *av_cql_open_conn(struct av_cql *c, struct cql_node *n, av_rc *rcp,
                                  char *errbuf);
void av_cql_conn_free(struct cql_conn *k);

/* ---- cql_pool.c ---------------------------------------------------------- */

struct cql_req *av_cql_req_new(struct av_cql *c, enum cql_req_kind kind);
/* Encodes into q->w (frame at stream 0, patched at send). */
void av_cql_enc_execute(struct cql_req *q, const struct av_cql_prepared *p,
                        const struct av_cql_value *vals, int n, int consistency, int page_size,
                        const void *paging_state, size_t paging_len);
void av_cql_enc_batch(struct cql_req *q, int type, const struct av_cql_batch_item *items, int n,
                      int consistency);
/* Token of the first statement's key, if it has one. */
void av_cql_req_route(struct av_cql *c, struct cql_req *q, const struct av_cql_prepared *p,
                      const struct av_cql_value *vals, int n);
/* Sends q on connection k now (k has a free stream). */
void av_cql_send_on(struct av_cql *c, struct cql_conn *k, struct cql_req *q);
/* Completes a request (its callback, its waiter, its parent). */
void av_cql_finish(struct av_cql *c, struct cql_req *q, av_rc rc, const char *err);
/* Some open connection (the last that answered if still open), or NULL. */
struct cql_conn *av_cql_any_conn(struct av_cql *c);
/* Routes and sends q (or fails it through its completion). */
void av_cql_dispatch(struct av_cql *c, struct cql_req *q);
/* Before a user request: maintenance, and the loop while the window is
 * full (backpressure). */
void av_cql_admit(struct av_cql *c);
/* Sends a user request whose frame (q->w) and route are set: fn, ud and
 * idempotent as av_cql_submit's, then what progress can be made now. */
void av_cql_submit_req(struct av_cql *c, struct cql_req *q, av_cql_done_fn fn, void *ud,
                       int idempotent);
/* Runs the loop until w->done. */
av_rc av_cql_wait_for(struct av_cql *c, struct cql_wait *w);
/* One round of the loop: poll up to timeout_ms, then reads, writes,
 * timeouts, due retries. */
void av_cql_pump(struct av_cql *c, int timeout_ms);
/* Closes a connection after a failure: the node is marked down (down != 0),
 * its requests fail over or fail. */
void av_cql_conn_fail(struct cql_conn *k, av_rc rc, const char *why, int down);
void av_cql_node_down(struct av_cql *c, struct cql_node *n);
void av_cql_node_up(struct cql_node *n);
/* A synchronous QUERY (optionally pinned to one connection). */
av_rc av_cql_sync_query(struct av_cql *c, struct cql_conn *pin, const char *cql,
                        const struct av_cql_value *vals, int n, int consistency,
                        struct av_cql_result **res, char *errbuf);

/* Shared by cql_pool.c (sending, the loop) and cql_answer.c (answers). */
/* The slot mark of a stream whose request timed out and went elsewhere:
 * its late answer is dropped, then the stream is free again. */
extern struct cql_req av_cql_orphan_mark;
#define ORPHAN (&av_cql_orphan_mark)
void av_cql_req_release(struct av_cql *c, struct cql_req *q);
void av_cql_free_stream(struct cql_conn *k, int16_t s);
void av_cql_fifo_remove(struct cql_conn *k, struct cql_req *q);
void av_cql_req_again(struct av_cql *c, struct cql_req *q, av_rc rc, const char *why);
void av_cql_resend_parent(struct av_cql *c, struct cql_req *r, struct cql_conn *k);
/* Cuts the whole frames out of k's read buffer and handles each. */
void av_cql_parse_frames(struct av_cql *c, struct cql_conn *k);

/* ---- cql_topo.c ---------------------------------------------------------- */

/* Reads the nodes, the ring and the keyspaces (through any connection),
 * registers for events if nothing is. Failures are logged, not returned
 * (the old picture stays). */
void av_cql_refresh(struct av_cql *c);
/* Refreshes when due or asked for (outside callbacks only). */
void av_cql_maintain(struct av_cql *c);
/* An EVENT frame's body. */
void av_cql_on_event(struct av_cql *c, const uint8_t *p, size_t n);
/* The keyspace's replication, or NULL when unknown (then asks a refresh). */
const struct av_cql_repl *av_cql_ks_repl(struct av_cql *c, const char *ks);
/* After a schema change: waits (up to 10 s) until the nodes agree. */
void av_cql_schema_agreement(struct av_cql *c, struct cql_conn *k);

#endif
