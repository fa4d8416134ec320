/* cache.c - the response cache (see cache.h): a fixed table of entries
 * searched linearly by hash (AV_CACHE_ENTRIES is small), reference-counted
 * bodies so that a hit copies outside the lock. */
#include "cache.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct body {
    int refs; /* the entry's own, plus one per hit being copied; under mu */
    char etag[AV_CACHE_ETAG_LEN];
    size_t len;
    char data[];
};

struct entry {
    uint64_t hash, gen, used; /* used: the tick of its last hit or put */
    char *key;
    size_t klen;
    av_ms until;
    int64_t mono_until;
    const char *type;
    struct body *b;
};

struct av_cache {
    pthread_mutex_t mu;
    size_t max_bytes, bytes;
    uint64_t gen, tick;
    long hits, misses;
    int n;
    struct entry e[AV_CACHE_ENTRIES];
};

static uint64_t hash_of(const char *p, size_t n)
{
    uint64_t h = 14695981039346656037ULL; /* FNV-1a */

    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

void av_cache_etag(const char *body, size_t len, char out[AV_CACHE_ETAG_LEN])
{
    snprintf(out, AV_CACHE_ETAG_LEN, "\"%016llx\"", (unsigned long long)hash_of(body, len));
}

struct av_cache *av_cache_new(size_t max_bytes)
{
    struct av_cache *c;

    if (max_bytes == 0 || (c = calloc(1, sizeof(*c))) == NULL)
        return NULL;
    pthread_mutex_init(&c->mu, NULL);
    c->max_bytes = max_bytes;
    return c;
}

static void body_unref(struct body *b) /* under mu */
{
    if (--b->refs == 0)
        free(b);
}

/* Drops entry i (under mu): the last one moves into its place. */
static void drop(struct av_cache *c, int i)
{
    struct entry *e = &c->e[i];

    c->bytes -= e->klen + e->b->len;
    body_unref(e->b);
    free(e->key);
    c->e[i] = c->e[--c->n];
}

void av_cache_free(struct av_cache *c)
{
    if (c == NULL)
        return;
    while (c->n > 0)
        drop(c, c->n - 1);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

uint64_t av_cache_generation(struct av_cache *c, int changed)
{
    uint64_t g;

    if (c == NULL)
        return 0;
    pthread_mutex_lock(&c->mu);
    if (changed)
        c->gen++;
    g = c->gen;
    pthread_mutex_unlock(&c->mu);
    return g;
}

static int find(const struct av_cache *c, uint64_t h, const char *key, size_t klen)
{
    for (int i = 0; i < c->n; i++)
        if (c->e[i].hash == h && c->e[i].klen == klen && memcmp(c->e[i].key, key, klen) == 0)
            return i;
    return -1;
}

int av_cache_get(struct av_cache *c, const char *key, size_t klen, av_ms now, int64_t mono,
                 struct av_buf *out, const char **type, char *etag)
{
    uint64_t h = hash_of(key, klen);
    struct body *b = NULL;
    int i;

    if (c == NULL)
        return 0;
    pthread_mutex_lock(&c->mu);
    if ((i = find(c, h, key, klen)) >= 0) {
        struct entry *e = &c->e[i];
        if (e->gen != c->gen || now >= e->until || (e->mono_until > 0 && mono >= e->mono_until)) {
            drop(c, i); /* never valid again: generations and clocks only go forward */
        } else {
            e->used = ++c->tick;
            b = e->b;
            b->refs++;
            *type = e->type;
            if (etag)
                memcpy(etag, b->etag, AV_CACHE_ETAG_LEN);
        }
    }
    if (b)
        c->hits++;
    else
        c->misses++;
    pthread_mutex_unlock(&c->mu);
    if (b == NULL)
        return 0;
    av_buf_append(out, b->data, b->len); /* outside the lock: the reference keeps it */
    pthread_mutex_lock(&c->mu);
    body_unref(b);
    pthread_mutex_unlock(&c->mu);
    return 1;
}

int av_cache_put(struct av_cache *c, const char *key, size_t klen, uint64_t gen, av_ms until,
                 int64_t mono_until, const char *type, const char *body, size_t len, char *etag)
{
    struct body *b;
    char *k;
    int i;

    if (c == NULL || klen > AV_CACHE_KEY_MAX || klen + len > c->max_bytes / 4)
        return 0;
    b = malloc(sizeof(*b) + len);
    k = malloc(klen ? klen : 1);
    if (b == NULL || k == NULL) {
        free(b);
        free(k);
        return 0;
    }
    b->refs = 1;
    b->len = len;
    av_cache_etag(body, len, b->etag);
    memcpy(b->data, body, len);
    memcpy(k, key, klen);
    pthread_mutex_lock(&c->mu);
    if (gen != c->gen) { /* the data changed while this was computed */
        pthread_mutex_unlock(&c->mu);
        free(b);
        free(k);
        return 0;
    }
    for (i = c->n - 1; i >= 0; i--) /* the same key, and every older generation */
        if (c->e[i].gen != c->gen ||
            (c->e[i].klen == klen && memcmp(c->e[i].key, key, klen) == 0))
            drop(c, i);
    while (c->n > 0 && (c->n == AV_CACHE_ENTRIES || c->bytes + klen + len > c->max_bytes)) {
        int lru = 0;
        for (i = 1; i < c->n; i++)
            if (c->e[i].used < c->e[lru].used)
                lru = i;
        drop(c, lru);
    }
    c->e[c->n++] = (struct entry){hash_of(key, klen), gen, ++c->tick, k, klen, until,
                                  mono_until, type, b};
    c->bytes += klen + len;
    if (etag)
        memcpy(etag, b->etag, AV_CACHE_ETAG_LEN); /* b stays: the entry's reference */
    pthread_mutex_unlock(&c->mu);
    return 1;
}

void av_cache_stats(struct av_cache *c, struct av_cache_stats *st)
{
    memset(st, 0, sizeof(*st));
    if (c == NULL)
        return;
    pthread_mutex_lock(&c->mu);
    st->hits = c->hits;
    st->misses = c->misses;
    st->entries = c->n;
    st->bytes = c->bytes;
    st->generation = c->gen;
    pthread_mutex_unlock(&c->mu);
}
