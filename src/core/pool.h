/* pool.h - a string pool: copies that stay put until the pool is reset.
 *
 * Readers copy the strings of one record here so that they outlive the
 * library's row (SQLite's next step, a CQL result page). Blocks of 64 KiB
 * (or one string's size) are never moved; av_pool_reset() keeps the first
 * block for reuse, av_pool_free() releases everything. A copy that cannot
 * be allocated returns NULL and sets the pool's oom flag. */
#ifndef AV_POOL_H
#define AV_POOL_H

#include <stddef.h>

struct av_pool_block;

struct av_pool {
    struct av_pool_block *head;
    int oom; /* an allocation failed since the last reset */
};

/* NUL-terminated copy of n bytes of s; NULL for s == NULL or out of memory. */
const char *av_pool_dup(struct av_pool *p, const char *s, size_t n);
void av_pool_reset(struct av_pool *p);
void av_pool_free(struct av_pool *p);

#endif
