/* test_cache.c - serve's response cache (src/http/cache.h): hits while the
 * generation holds, nothing served or kept across a bump, the clock and TTL
 * bounds, the same key replaced, least recently used out first within the
 * byte and entry bounds, and a cache of size 0 that is no cache. Keys and
 * bodies are SYNTHETIC. */
#include <stdio.h>
#include <stdlib.h>

#include "../../src/http/cache.h"
#include "harness.h"

static int get(struct av_cache *c, const char *key, av_ms now, int64_t mono, const char *want)
{
    struct av_buf b;
    const char *type = NULL;
    char etag[AV_CACHE_ETAG_LEN], want_etag[AV_CACHE_ETAG_LEN];
    int hit;

    av_buf_init(&b, 0);
    hit = av_cache_get(c, key, strlen(key), now, mono, &b, &type, etag);
    if (hit && want) {
        CHECK_STR(b.data, want);
        CHECK_STR(type, "text/plain");
        av_cache_etag(want, strlen(want), want_etag);
        CHECK_STR(etag, want_etag);
    }
    av_buf_free(&b);
    return hit;
}

static void put(struct av_cache *c, const char *key, uint64_t gen, av_ms until, int64_t mono,
                const char *body)
{
    char etag[AV_CACHE_ETAG_LEN], want[AV_CACHE_ETAG_LEN];

    if (av_cache_put(c, key, strlen(key), gen, until, mono, "text/plain", body, strlen(body),
                     etag)) {
        av_cache_etag(body, strlen(body), want);
        CHECK_STR(etag, want);
    }
}

static void generations_and_clocks(void)
{
    struct av_cache *c = av_cache_new(1 << 20);
    struct av_cache_stats st;
    uint64_t g = av_cache_generation(c, 1);

    CHECK(c != NULL);
    CHECK_INT(av_cache_generation(c, 0), g);
    CHECK(!get(c, "/a", 0, 0, NULL)); /* a miss */
    put(c, "/a", g, 1000, 0, "one");
    CHECK(get(c, "/a", 0, 0, "one"));
    CHECK(get(c, "/a", 999, 5, "one"));
    CHECK(!get(c, "/b", 0, 0, NULL));
    /* the wall-clock bound: gone at `until` (and dropped) */
    CHECK(!get(c, "/a", 1000, 0, NULL));
    put(c, "/a", g, 1000, 0, "one");
    /* a bump: never served again; a put tagged with the old generation
     * (computed from data read before the change) is not kept */
    CHECK_INT(av_cache_generation(c, 1), g + 1);
    CHECK(!get(c, "/a", 0, 0, NULL));
    put(c, "/a", g, 1000, 0, "stale");
    CHECK(!get(c, "/a", 0, 0, NULL));
    g++;
    /* the TTL (monotonic): served before mono_until, not at it */
    put(c, "/t", g, 1000, 50, "ttl");
    CHECK(get(c, "/t", 0, 49, "ttl"));
    CHECK(!get(c, "/t", 0, 50, NULL));
    /* the same key again: replaced */
    put(c, "/r", g, 1000, 0, "first");
    put(c, "/r", g, 1000, 0, "second");
    CHECK(get(c, "/r", 0, 0, "second"));
    av_cache_stats(c, &st);
    CHECK_INT(st.entries, 1);
    CHECK_INT(st.bytes, strlen("/r") + strlen("second"));
    CHECK_INT(st.generation, g);
    CHECK_INT(st.hits, 4);
    CHECK_INT(st.misses, 6);
    { /* entity tags: of the bytes, quoted */
        char e1[AV_CACHE_ETAG_LEN], e2[AV_CACHE_ETAG_LEN];
        av_cache_etag("first", 5, e1);
        av_cache_etag("second", 6, e2);
        CHECK(strcmp(e1, e2) != 0 && strlen(e1) == 18 && e1[0] == '"' && e1[17] == '"');
    }
    /* keys differ by any byte, not by their hash alone */
    put(c, "/r?x=1", g, 1000, 0, "x1");
    CHECK(get(c, "/r?x=1", 0, 0, "x1"));
    CHECK(!get(c, "/r?x=2", 0, 0, NULL));
    av_cache_free(c);
}

static void bounds(void)
{
    /* 4,000 bytes: an answer above 1,000 is not kept; LRU goes first */
    struct av_cache *c = av_cache_new(4000);
    uint64_t g = av_cache_generation(c, 1);
    char big[1200], key[32];
    struct av_cache_stats st;

    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    put(c, "/big", g, 1000, 0, big);
    CHECK(!get(c, "/big", 0, 0, NULL));
    big[900] = '\0'; /* 900-byte bodies: four fit, a fifth evicts one */
    for (int i = 0; i < 4; i++) {
        snprintf(key, sizeof(key), "/p%d", i);
        put(c, key, g, 1000, 0, big);
    }
    CHECK(get(c, "/p0", 0, 0, NULL)); /* /p1 is now the least recently used */
    put(c, "/p4", g, 1000, 0, big);
    CHECK(!get(c, "/p1", 0, 0, NULL));
    CHECK(get(c, "/p0", 0, 0, NULL) && get(c, "/p2", 0, 0, NULL) && get(c, "/p3", 0, 0, NULL) &&
          get(c, "/p4", 0, 0, NULL));
    av_cache_stats(c, &st);
    CHECK(st.bytes <= 4000 && st.entries == 4);
    av_cache_free(c);
    /* the entry bound */
    c = av_cache_new(1 << 20);
    g = av_cache_generation(c, 1);
    for (int i = 0; i < AV_CACHE_ENTRIES + 10; i++) {
        snprintf(key, sizeof(key), "/e%d", i);
        put(c, key, g, 1000, 0, "e");
    }
    av_cache_stats(c, &st);
    CHECK_INT(st.entries, AV_CACHE_ENTRIES);
    CHECK(!get(c, "/e0", 0, 0, NULL));
    snprintf(key, sizeof(key), "/e%d", AV_CACHE_ENTRIES + 9);
    CHECK(get(c, key, 0, 0, "e"));
    /* a bump empties it at the next put */
    av_cache_generation(c, 1);
    put(c, "/new", g + 1, 1000, 0, "n");
    av_cache_stats(c, &st);
    CHECK_INT(st.entries, 1);
    av_cache_free(c);
}

static void off(void)
{
    struct av_cache_stats st;

    CHECK(av_cache_new(0) == NULL);
    CHECK_INT(av_cache_generation(NULL, 1), 0);
    put(NULL, "/a", 0, 1000, 0, "a");
    CHECK(!get(NULL, "/a", 0, 0, NULL));
    av_cache_stats(NULL, &st);
    CHECK_INT(st.entries, 0);
    av_cache_free(NULL);
}

void suite_cache(void)
{
    generations_and_clocks();
    bounds();
    off();
}
