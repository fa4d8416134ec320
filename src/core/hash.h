/* hash.h - a fast 64-bit content hash as 16 hex digits: identical bytes,
 * identical hash. Stored in the database (warning.raw_hash, rejected.hash),
 * so it never changes. Not cryptographic. */
#ifndef AV_HASH_H
#define AV_HASH_H

#include <stddef.h>

/* Hash of p[0..n) as 16 hex digits + NUL (little-endian words). */
void av_hash_hex(const void *p, size_t n, char out[17]);
/* A lookup key for large inputs (raw_body.hash): av_hash_hex of inputs up
 * to 16 KiB, else a hash of the length and the first and last 8 KiB only.
 * Equal inputs get equal keys; inputs that differ only in the middle share
 * one, so a caller compares the bytes on a match. Constant cost per input
 * (a 60 MB response body is not read twice). As stable as av_hash_hex. */
void av_hash_ends_hex(const void *p, size_t n, char out[17]);

#endif
