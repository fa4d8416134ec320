/* hash.h - a fast 64-bit content hash as 16 hex digits: identical bytes,
 * identical hash. Stored in the database (warning.raw_hash, rejected.hash),
 * so it never changes. Not cryptographic. */
#ifndef AV_HASH_H
#define AV_HASH_H

#include <stddef.h>

/* Hash of p[0..n) as 16 hex digits + NUL (little-endian words). */
void av_hash_hex(const void *p, size_t n, char out[17]);

#endif
