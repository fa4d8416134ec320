/* raw_codec.c - raw bodies as zstd frames. See raw_codec.h. */
#include "raw_codec.h"

#include <zstd.h>

void av_raw_codec_free(struct av_raw_codec *z)
{
    ZSTD_freeCCtx(z->cctx);
    ZSTD_freeDCtx(z->dctx);
    z->cctx = z->dctx = NULL;
}

av_rc av_raw_encode(struct av_raw_codec *z, const void *body, size_t len, struct av_buf *out,
                    char *errbuf)
{
    size_t cap = ZSTD_compressBound(len), n;

    if (z->cctx == NULL && (z->cctx = ZSTD_createCCtx()) == NULL)
        return av_fail(errbuf, AV_ENOMEM, "out of memory compressing a %zu-byte body", len);
    av_buf_reset(out);
    if (av_buf_reserve(out, cap) != AV_OK)
        return av_fail(errbuf, AV_ENOMEM, "out of memory compressing a %zu-byte body", len);
    n = ZSTD_compressCCtx(z->cctx, out->data, cap, body, len, AV_CODEC_LEVEL);
    if (ZSTD_isError(n))
        return av_fail(errbuf, AV_EIO, "compressing a %zu-byte body: %s", len,
                       ZSTD_getErrorName(n));
    out->len = n;
    out->data[n] = '\0';
    return AV_OK;
}

av_rc av_raw_decode(struct av_raw_codec *z, int codec, const void *stored, size_t n,
                    size_t size, struct av_buf *out, char *errbuf)
{
    size_t got;

    av_buf_reset(out);
    if (codec == AV_CODEC_NONE) {
        if (n != size)
            return av_fail(errbuf, AV_EIO, "a raw body of %zu bytes where %zu were stored", n,
                           size);
        return av_buf_append(out, stored, n) == AV_OK
                   ? AV_OK
                   : av_fail(errbuf, AV_ENOMEM, "out of memory reading a raw body");
    }
    if (codec != AV_CODEC_ZSTD)
        return av_fail(errbuf, AV_EIO, "a raw body in codec %d, which this avalanche does not "
                       "know (use a newer avalanche)", codec);
    if (ZSTD_getFrameContentSize(stored, n) != (unsigned long long)size)
        return av_fail(errbuf, AV_EIO, "a compressed raw body that does not say its size %zu",
                       size);
    if (av_buf_reserve(out, size) != AV_OK ||
        (z->dctx == NULL && (z->dctx = ZSTD_createDCtx()) == NULL))
        return av_fail(errbuf, AV_ENOMEM, "out of memory reading a %zu-byte raw body", size);
    got = ZSTD_decompressDCtx(z->dctx, out->data, size + 1, stored, n);
    if (ZSTD_isError(got) || got != size)
        return av_fail(errbuf, AV_EIO, "a compressed raw body does not decode: %s",
                       ZSTD_isError(got) ? ZSTD_getErrorName(got) : "wrong size");
    out->len = size;
    out->data[size] = '\0';
    return AV_OK;
}
