/* raw_codec.h - how raw response bodies are kept in raw_body: as received
 * (codec 0, every row stored before schema 9) or as one zstd frame
 * (codec 1, what avalanche writes now). The only user of libzstd.
 *
 * Level 1, chosen by measurement (bench/README.md, issue 13): the recorded
 * Detail fixture shrinks 10.1x (level 3: 10.3x at ~20% more CPU, level 9:
 * 11.7x at an eighth of the speed), the synthetic corpus 39x; it encodes at
 * ~1.7 GB/s and decodes at ~4 GB/s on this project's machine. No
 * dictionary: bodies are tens to hundreds of KB, where one buys nothing.
 *
 * No globals: callable from any thread, each with its own av_raw_codec.
 * A body that does not decode (not a frame, cut, or a size other than the
 * one stored) is AV_EIO with the reason in errbuf: the row was changed
 * outside avalanche. */
#ifndef AV_RAW_CODEC_H
#define AV_RAW_CODEC_H

#include <stddef.h>

#include "../core/buf.h"
#include "../core/err.h"

#define AV_CODEC_NONE 0
#define AV_CODEC_ZSTD 1
#define AV_CODEC_LEVEL 1

/* libzstd's contexts, kept between calls (a new one per call would be
 * allocated and page-faulted in for every body). One per thread at a
 * time; zero-initialised is ready (NULL pointers: made on first use). */
struct av_raw_codec {
    void *cctx, *dctx;
};
void av_raw_codec_free(struct av_raw_codec *z);

/* body (len bytes) as one zstd frame into out (replacing its content). */
av_rc av_raw_encode(struct av_raw_codec *z, const void *body, size_t len, struct av_buf *out,
                    char *errbuf);
/* The stored bytes of codec into out: exactly size bytes (the raw_body
 * row's size) or AV_EIO. Codec 0 copies. */
av_rc av_raw_decode(struct av_raw_codec *z, int codec, const void *stored, size_t n,
                    size_t size, struct av_buf *out, char *errbuf);

#endif
