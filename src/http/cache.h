/* cache.h - serve's response cache: what a page (or the data part of
 * /metrics) shows is computed once per data change, not per request.
 *
 * Keys: the canonical request (api.c: a route tag, the path and the query's
 * parameters sorted by name, av_http_query_canon), looked up by a 64-bit
 * hash and compared whole. Values: a complete body, its content type and an
 * entity tag made from the body's bytes (AV_CACHE_ETAG_LEN: the same body,
 * the same tag, whatever the generation); the caller puts 200 answers only
 * (never an error, never a cut body).
 *
 * Validity. An entry is tagged with the data generation the caller read
 * *before* it read the entry's data, and is served only while that is still
 * the current generation. The generation is a global counter that callers
 * bump when they see the data change (av_cache_generation(c, 1)): serve
 * reads, at the start of each request, its connection's SQLite PRAGMA
 * data_version (which moves when another connection, in any process,
 * committed) and compares it with the value that same connection read last;
 * a difference, or a connection's first use, is a change. Every commit is
 * thus followed by a bump before any request that starts after it reads a
 * generation, so no entry read before the commit is served after it. On top
 * of that an entry ends at a wall-clock instant (until: the pages say
 * "today", so the next midnight, Europe/Oslo or UTC) and, when set, at a
 * monotonic deadline (mono_until: a TTL, for data the SQLite file does not
 * see change, e.g. warnings in Cassandra).
 *
 * Bounds: at most AV_CACHE_ENTRIES entries and max_bytes of keys and bodies
 * together; an answer larger than max_bytes / 4 is not kept. A put drops
 * the entries of older generations (they can never be served again), then
 * the least recently used ones until the new one fits. max_bytes 0: no
 * cache (av_cache_new gives NULL, and every function accepts NULL: get
 * misses, put does nothing, the generation stays 0).
 *
 * Threads: every function may be called from any thread (one mutex; a hit
 * copies its body out of the cache outside the lock, holding a reference).
 * Out of memory: the entry is not kept, nothing fails.
 */
#ifndef AV_CACHE_H
#define AV_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "../core/buf.h"
#include "../core/tz.h"

#define AV_CACHE_ENTRIES 512
#define AV_CACHE_KEY_MAX 4096 /* a longer key is not cached */
#define AV_CACHE_ETAG_LEN 20  /* "\"" + 16 hex digits + "\"" + NUL */

struct av_cache;

struct av_cache_stats {
    long hits, misses; /* lookups since the start */
    long entries;
    size_t bytes;
    uint64_t generation;
};

/* NULL when max_bytes is 0 (or out of memory: then uncached too). */
struct av_cache *av_cache_new(size_t max_bytes);
void av_cache_free(struct av_cache *c); /* accepts NULL */

/* The current generation, bumped first when changed. */
uint64_t av_cache_generation(struct av_cache *c, int changed);

/* 1: a valid entry for key; its body appended to out (out->failed set if
 * it did not fit), *type and etag set (etag may be NULL). 0: none (a stale
 * one is dropped). now is av_now(), mono av_mono_ms(). */
int av_cache_get(struct av_cache *c, const char *key, size_t klen, av_ms now, int64_t mono,
                 struct av_buf *out, const char **type, char *etag);
/* Keeps body under key, tagged gen (read before the data was), until the
 * wall-clock instant until and, if mono_until > 0, the monotonic one.
 * type must outlive the cache (a string literal). Nothing is kept when gen
 * is no longer current. Returns 1 when kept, with its tag in etag (if not
 * NULL), else 0. */
int av_cache_put(struct av_cache *c, const char *key, size_t klen, uint64_t gen, av_ms until,
                 int64_t mono_until, const char *type, const char *body, size_t len,
                 char *etag);
/* The entity tag av_cache_put gives body. */
void av_cache_etag(const char *body, size_t len, char out[AV_CACHE_ETAG_LEN]);

void av_cache_stats(struct av_cache *c, struct av_cache_stats *st);

#endif
