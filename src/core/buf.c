/* buf.c - growable byte buffer with a ceiling. */
#include "buf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void av_buf_init(struct av_buf *b, size_t max)
{
    memset(b, 0, sizeof(*b));
    b->max = max ? max : SIZE_MAX / 2;
}

void av_buf_free(struct av_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void av_buf_reset(struct av_buf *b)
{
    b->len = 0;
    b->failed = 0;
    if (b->data)
        b->data[0] = '\0';
}

av_rc av_buf_reserve(struct av_buf *b, size_t extra)
{
    size_t need, cap;
    char *p;

    if (extra > b->max || b->len > b->max - extra) {
        b->failed = 1;
        return AV_ELIMIT;
    }
    need = b->len + extra + 1;
    if (need <= b->cap)
        return AV_OK;
    cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    if (cap > b->max + 1)
        cap = b->max + 1;
    p = realloc(b->data, cap);
    if (p == NULL) {
        b->failed = 1;
        return AV_ENOMEM;
    }
    b->data = p;
    b->cap = cap;
    return AV_OK;
}

av_rc av_buf_append(struct av_buf *b, const void *p, size_t n)
{
    av_rc rc = av_buf_reserve(b, n);

    if (rc != AV_OK)
        return rc;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return AV_OK;
}

av_rc av_buf_puts(struct av_buf *b, const char *s)
{
    return av_buf_append(b, s, strlen(s));
}

av_rc av_buf_putc(struct av_buf *b, char c)
{
    if (b->len + 1 < b->cap) {
        b->data[b->len++] = c;
        b->data[b->len] = '\0';
        return AV_OK;
    }
    return av_buf_append(b, &c, 1);
}

av_rc av_buf_printf(struct av_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;
    av_rc rc;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = 1;
        return AV_EINVAL;
    }
    rc = av_buf_reserve(b, (size_t)n);
    if (rc != AV_OK)
        return rc;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return AV_OK;
}
