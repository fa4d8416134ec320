/* hash.c - the content hash (see hash.h). */
#include "hash.h"

#include <stdint.h>
#include <string.h>

/* A 64-bit content hash, 8 bytes per step (byte-wise FNV-1a cost ~10 us on
 * a 7 KB warning; this is ~8x less). Stable: stored in the database. Each
 * word is mixed with a multiply and a rotate; the tail is padded with its
 * length; a final avalanche (murmur3 fmix64) spreads the bits. */
static uint64_t rotl(uint64_t x, int r)
{
    return (x << r) | (x >> (64 - r));
}

/* The words of s[0..n) into h (the tail padded with zeros). */
static uint64_t mix(uint64_t h, const unsigned char *s, size_t n)
{
    uint64_t w;
    size_t i = 0;

    for (; i + 8 <= n; i += 8) {
        memcpy(&w, s + i, 8);
        h = rotl(h ^ (w * 0x87C37B91114253D5ULL), 31) * 0x4CF5AD432745937FULL;
    }
    w = 0;
    memcpy(&w, s + i, n - i);
    return rotl(h ^ (w * 0x87C37B91114253D5ULL), 31) * 0x4CF5AD432745937FULL;
}

static void finish(uint64_t h, char out[17])
{
    static const char hex[] = "0123456789abcdef";

    h ^= h >> 33;
    h *= 0xFF51AFD7ED558CCDULL;
    h ^= h >> 33;
    h *= 0xC4CEB9FE1A85EC53ULL;
    h ^= h >> 33;
    for (int k = 15; k >= 0; k--) {
        out[k] = hex[h & 15];
        h >>= 4;
    }
    out[16] = '\0';
}

void av_hash_hex(const void *p, size_t n, char out[17])
{
    finish(mix(0x9E3779B97F4A7C15ULL ^ (uint64_t)n, p, n), out);
}

void av_hash_ends_hex(const void *p, size_t n, char out[17])
{
    const unsigned char *s = p;
    enum { END = 8192 };

    if (n <= 2 * END) {
        av_hash_hex(p, n, out);
        return;
    }
    finish(mix(mix(0xC2B2AE3D27D4EB4FULL ^ (uint64_t)n, s, END), s + n - END, END), out);
}
