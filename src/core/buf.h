/* buf.h - a growable byte buffer with a ceiling.
 *
 * Owns its memory. Growing past max is AV_ELIMIT and leaves the buffer as it
 * was; data is always NUL-terminated after len (so it can be used as a C
 * string when it holds text). A failed append also sets `failed`, which
 * sticks until av_buf_reset(): a writer can append freely and check once
 * that nothing was cut.
 */
#ifndef AV_BUF_H
#define AV_BUF_H

#include <stddef.h>

#include "err.h"

struct av_buf {
    char *data;
    size_t len; /* bytes used, excluding the trailing NUL */
    size_t cap; /* bytes allocated */
    size_t max; /* ceiling; 0 = SIZE_MAX/2 */
    int failed; /* an append failed since the last reset (content is cut) */
};

void av_buf_init(struct av_buf *b, size_t max);
void av_buf_free(struct av_buf *b);
void av_buf_reset(struct av_buf *b); /* len = 0, keeps memory */
av_rc av_buf_reserve(struct av_buf *b, size_t extra);
av_rc av_buf_append(struct av_buf *b, const void *p, size_t n);
av_rc av_buf_puts(struct av_buf *b, const char *s);
av_rc av_buf_putc(struct av_buf *b, char c);
av_rc av_buf_printf(struct av_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
