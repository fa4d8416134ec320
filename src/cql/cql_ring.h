/* cql_ring.h - private to src/cql: the pure half of token-aware routing
 * and of the cluster's metadata, implemented by cql_ring.c.
 *
 * No I/O, no sockets, no clock: cql_topo.c feeds it what system.local,
 * system.peers and system_schema.keyspaces answered and what EVENT frames
 * said; cql_pool.c asks it which nodes own a partition. The unit tests
 * (tests/unit/test_cql_ring.c) check the hash against tokens computed by a
 * real Cassandra node, and tests/fuzz/fuzz_cql_frame.c throws random bytes
 * at every decoder here. Everything from the wire is hostile: lengths are
 * checked before use and bad input is AV_EPARSE with one line in errbuf.
 *
 * Murmur3: Cassandra's Murmur3Partitioner is MurmurHash3_x64_128 (seed 0)
 * of the serialized partition key, the first 64 bits as a signed token,
 * INT64_MIN mapped to INT64_MAX; Cassandra's variant sign-extends the tail
 * bytes (Java's byte is signed: org.apache.cassandra.utils.MurmurHash), so
 * keys whose last len % 16 bytes include one >= 0x80 hash differently from
 * the reference C code.
 *
 * The partition key bytes (the routing key): one key column, its value's
 * bytes; several, each as [short] length + bytes + one 0 byte (Cassandra's
 * CompositeType).
 */
#ifndef AV_CQL_RING_H
#define AV_CQL_RING_H

#include <stddef.h>
#include <stdint.h>

#include "../core/buf.h"
#include "../core/err.h"
#include "cql.h"

/* Cassandra's token of a partition key's bytes. */
int64_t av_cql_murmur3(const void *key, size_t len);

/* A token as system.local / system.peers list it: a decimal int64, an
 * optional '-', no spaces. AV_EPARSE for anything else or out of range. */
av_rc av_cql_token_parse(const char *s, size_t n, int64_t *out, char *errbuf);

/* The routing key of bound values: the partition key columns are vals[pk[0..npk)]
 * (bind marker indexes from PREPARE). Appended to out; AV_EINVAL if an index
 * is out of range or a key value is null/unset (no token then). */
av_rc av_cql_routing_key(struct av_buf *out, const struct av_cql_value *vals, int n,
                         const uint16_t *pk, int npk, char *errbuf);

/* ---- replication ------------------------------------------------------- */

#define AV_CQL_MAX_DCS 8
struct av_cql_repl {
    int simple;                    /* SimpleStrategy: rf; else per data center */
    int rf;
    int ndc;
    char dc[AV_CQL_MAX_DCS][64];
    int dcrf[AV_CQL_MAX_DCS];
};
/* system_schema.keyspaces.replication (a map<text, text> cell's bytes):
 * SimpleStrategy with replication_factor, NetworkTopologyStrategy with one
 * entry per data center. Other strategies (LocalStrategy, EverywhereStrategy)
 * give AV_EINVAL: route without tokens. */
av_rc av_cql_repl_decode(const uint8_t *p, size_t n, struct av_cql_repl *out, char *errbuf);

/* ---- the ring ---------------------------------------------------------- */

struct av_cql_ring_entry {
    int64_t token;
    int node; /* index into the caller's node table */
};
struct av_cql_ring {
    struct av_cql_ring_entry *e; /* sorted by token */
    int n;
};
/* Sorts the n entries (taken over: freed by av_cql_ring_free). */
void av_cql_ring_set(struct av_cql_ring *r, struct av_cql_ring_entry *e, int n);
void av_cql_ring_free(struct av_cql_ring *r);
/* The replicas of token t in placement order (the owner of the first ring
 * token >= t, wrapping, then clockwise): for SimpleStrategy the first rf
 * distinct nodes; for NetworkTopologyStrategy the first dcrf distinct nodes
 * of each data center (node_dc[node] names it; racks are not considered,
 * so with several racks per DC the order can differ from Cassandra's:
 * routing is then one hop longer, never wrong). Writes at most max
 * indexes to out and returns how many. */
int av_cql_ring_replicas(const struct av_cql_ring *r, int64_t t, const struct av_cql_repl *rep,
                         const char *const *node_dc, int nnodes, int *out, int max);

/* ---- server events ----------------------------------------------------- */

enum av_cql_event_kind { AV_CQL_EV_TOPOLOGY = 1, AV_CQL_EV_STATUS, AV_CQL_EV_SCHEMA };
struct av_cql_event {
    enum av_cql_event_kind kind;
    char change[32]; /* NEW_NODE, REMOVED_NODE, MOVED_NODE, UP, DOWN; schema: CREATED... */
    char addr[64];   /* topology/status: the node's address, text form */
    int port;
};
/* An EVENT body (after prefixes). SCHEMA_CHANGE is recognized and its
 * body skipped (change set, addr empty). */
av_rc av_cql_event_decode(const uint8_t *p, size_t n, struct av_cql_event *ev, char *errbuf);

/* An inet cell (4 or 16 bytes) in text form; AV_EPARSE for another length. */
av_rc av_cql_inet_format(const uint8_t *p, size_t n, char *out, size_t cap, char *errbuf);

#endif
