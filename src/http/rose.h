/* rose.h - the avalanche rose of one avalanche problem: the 8 aspects
 * (N at the top, then clockwise NE, E, SE, S, SW, W, NW) times elevation
 * bands, drawn as inline SVG. Pure (no I/O, no allocation besides the
 * caller's buffer); the region page (dash_region.c) draws one per problem
 * and tests/unit/test_rose.c checks what is coloured.
 *
 * Each aspect is a 45-degree sector centred on its direction. The sector is
 * cut into elevation bands: the centre is the top of the mountain, so the
 * inner disc is the highest band and the outer ring the lowest. What is
 * drawn for each ExposedHeightFill (H1 = ExposedHeight1, H2 =
 * ExposedHeight2; varsom-api.md section 6, decoded like
 * src/transforms/warning.c):
 *
 *   fill 1  above H1           2 bands: inner "above H1" coloured,
 *                                       outer "below H1" white
 *   fill 2  below H1           2 bands: inner "above H1" white,
 *                                       outer "below H1" coloured
 *   fill 3  above H1 and       3 bands: inner "above H1" and outer
 *           below H2                    "below H2" coloured, middle
 *           (H1 > H2)                   "H2 to H1" white
 *   fill 4  between H2 and H1  3 bands: middle "lower to upper" coloured
 *           (either order)              (lower = min, upper = max),
 *                                       inner and outer white
 *   other   (0, absent, any    1 band:  the whole sector of each exposed
 *           unknown code, a             aspect coloured, and a note says
 *           height absent or            that the elevation is unknown
 *           outside 0..9000 m,          (the aspects only)
 *           fill 3 with H1 <= H2,
 *           fill 4 with H1 == H2)
 *
 * Coloured = the problem applies there: an exposed aspect in an exposed
 * band. Aspects are the AV_ASPECT_* bits; a value outside 0..255 (absent,
 * negative, higher bits) is unknown: nothing is coloured and a note says so.
 *
 * Every segment is a <path class="seg"> with data-aspect ("N".."NW"),
 * data-band (0 = the highest) and data-filled ("1"/"0") and a <title>
 * ("NE, above 1000 m: exposed"). The figure's caption (and the SVG's title
 * and aria-label) say the aspects, the heights and what each band means in
 * words, so colour is never the only carrier.
 */
#ifndef AV_ROSE_H
#define AV_ROSE_H

#include "../core/buf.h"

#define AV_ROSE_MAX_M 9000 /* heights above this (or below 0) are not believed */

struct av_rose {
    int aspects;       /* 0..255; 0 when unknown */
    int aspects_known; /* 0: the aspects were absent or out of range */
    int nbands;        /* 1..3; band 0 is the highest (the inner disc) */
    unsigned filled;   /* bit k: band k is exposed */
    char band[3][48];  /* each band in words: "above 1000 m", ... */
    char height[64];   /* the exposed heights in words; "" when unknown */
    const char *note;  /* NULL, or why the elevation part is left out */
};

/* The plan of a rose from a problem's stored fields (hostile: any int).
 * Always succeeds; see the table above. */
void av_rose_plan(int aspects, int fill, int h1, int h2, struct av_rose *out);

/* Appends the rose as <figure class="rose">...</figure>. A cut buffer is
 * the caller's to check (b->failed). */
void av_rose_svg(struct av_buf *b, const struct av_rose *r);

#endif
