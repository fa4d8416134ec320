/* rose.c - the avalanche rose (see rose.h). */
#include "rose.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../model/record.h"
#include "html.h"

#define CX 65.0
#define CY 65.0
#define R_OUT 48.0
#define R_LABEL 58.0
#define ROSE_ON "#1f4e99"  /* an exposed segment */
#define ROSE_OFF "#ffffff" /* a segment where the problem does not apply */

static int height_ok(int h) { return h != AV_NULL_INT && h >= 0 && h <= AV_ROSE_MAX_M; }

/* The aspects only: one band for the whole sector, and why. */
static void aspects_only(struct av_rose *r, const char *note)
{
    r->nbands = 1;
    r->filled = 1;
    snprintf(r->band[0], sizeof(r->band[0]), "elevation unknown");
    r->height[0] = '\0';
    r->note = note;
}

void av_rose_plan(int aspects, int fill, int h1, int h2, struct av_rose *out)
{
    struct av_rose r;
    int lo, hi;

    memset(&r, 0, sizeof(r));
    r.aspects_known = aspects >= 0 && aspects <= 255;
    r.aspects = r.aspects_known ? aspects : 0;
    switch (fill) {
    case 1:
    case 2:
        if (!height_ok(h1)) {
            aspects_only(&r, "the height is missing or out of range: aspects only");
            break;
        }
        r.nbands = 2;
        r.filled = fill == 1 ? 1u : 2u;
        snprintf(r.band[0], sizeof(r.band[0]), "above %d m", h1);
        snprintf(r.band[1], sizeof(r.band[1]), "below %d m", h1);
        snprintf(r.height, sizeof(r.height), "%s", r.band[fill - 1]);
        break;
    case 3:
    case 4:
        if (!height_ok(h1) || !height_ok(h2)) {
            aspects_only(&r, "a height is missing or out of range: aspects only");
            break;
        }
        if ((fill == 3 && h1 <= h2) || (fill == 4 && h1 == h2)) {
            aspects_only(&r, "the heights do not make a band: aspects only");
            break;
        }
        hi = fill == 3 ? h1 : h1 > h2 ? h1 : h2;
        lo = fill == 3 ? h2 : h1 > h2 ? h2 : h1;
        r.nbands = 3;
        r.filled = fill == 3 ? 5u : 2u;
        snprintf(r.band[0], sizeof(r.band[0]), "above %d m", hi);
        snprintf(r.band[1], sizeof(r.band[1]), "%d to %d m", lo, hi);
        snprintf(r.band[2], sizeof(r.band[2]), "below %d m", lo);
        if (fill == 3)
            snprintf(r.height, sizeof(r.height), "above %d m and below %d m", hi, lo);
        else
            snprintf(r.height, sizeof(r.height), "%d to %d m", lo, hi);
        break;
    case 0:
    case AV_NULL_INT: aspects_only(&r, "the elevation is not given: aspects only"); break;
    default: aspects_only(&r, "the elevation code is unknown: aspects only"); break;
    }
    *out = r;
}

/* The point at radius rad on direction deg (clockwise from north). */
static void pt(double rad, double deg, double *x, double *y)
{
    double a = deg * 3.14159265358979323846 / 180.0;

    *x = CX + rad * sin(a);
    *y = CY - rad * cos(a);
}

/* An annular sector r0..r1 (r0 = 0: a pie slice) around direction k*45. */
static void sector(struct av_buf *b, int k, double r0, double r1)
{
    double a0 = k * 45.0 - 22.5, a1 = k * 45.0 + 22.5, x, y;

    pt(r1, a0, &x, &y);
    av_buf_printf(b, "M%.2f %.2f", x, y);
    pt(r1, a1, &x, &y);
    av_buf_printf(b, "A%.2f %.2f 0 0 1 %.2f %.2f", r1, r1, x, y);
    if (r0 <= 0) {
        av_buf_printf(b, "L%.2f %.2fZ", CX, CY);
        return;
    }
    pt(r0, a1, &x, &y);
    av_buf_printf(b, "L%.2f %.2f", x, y);
    pt(r0, a0, &x, &y);
    av_buf_printf(b, "A%.2f %.2f 0 0 0 %.2f %.2fZ", r0, r0, x, y);
}

/* The rose in words: aspects, heights, notes, and the meaning of each band. */
static void label(struct av_buf *b, const struct av_rose *r, int key)
{
    static const char *const where[3][3] = {{"the whole sector"},
                                            {"inner disc", "outer ring"},
                                            {"inner disc", "middle ring", "outer ring"}};
    char asp[AV_ASPECTS_TEXT_LEN];
    int nb = r->nbands >= 1 && r->nbands <= 3 ? r->nbands : 1;

    av_aspects_format(r->aspects & 255, asp);
    if (!r->aspects_known)
        av_buf_puts(b, "Aspects unknown");
    else
        av_buf_printf(b, "Aspects: %s", asp[0] ? asp : "none");
    if (r->height[0]) {
        av_buf_puts(b, "; elevation: ");
        av_html_esc(b, r->height);
    }
    av_buf_puts(b, ".");
    if (r->note) {
        av_buf_puts(b, " Note: ");
        av_html_esc(b, r->note);
        av_buf_puts(b, ".");
    }
    if (!key || nb == 1)
        return;
    av_buf_puts(b, " Centre = high:");
    for (int k = 0; k < nb; k++) {
        av_buf_printf(b, "%s %s ", k ? ";" : "", where[nb - 1][k]);
        av_html_esc(b, r->band[k]);
        av_buf_puts(b, (r->filled >> k) & 1 ? " (exposed)" : " (not exposed)");
    }
    av_buf_puts(b, ".");
}

void av_rose_svg(struct av_buf *b, const struct av_rose *r)
{
    static const char *const compass[4] = {"N", "E", "S", "W"};
    int nb = r->nbands >= 1 && r->nbands <= 3 ? r->nbands : 1;
    int aspects = r->aspects_known ? r->aspects & 255 : 0;

    av_buf_printf(b,
                  "<figure class=\"rose\" data-bands=\"%d\" data-aspects-known=\"%d\" "
                  "style=\"margin:0;max-width:280px\">"
                  "<svg class=\"rose-svg\" xmlns=\"http://www.w3.org/2000/svg\" "
                  "viewBox=\"0 0 130 130\" width=\"130\" height=\"130\" role=\"img\" "
                  "font-family=\"system-ui,sans-serif\" font-size=\"10\" aria-label=\"",
                  nb, r->aspects_known);
    label(b, r, 0);
    av_buf_puts(b, "\"><title>Avalanche rose. ");
    label(b, r, 1);
    av_buf_puts(b, "</title>\n");
    for (int a = 0; a < 8; a++) {
        for (int k = 0; k < nb; k++) {
            int on = ((aspects >> a) & 1) && ((r->filled >> k) & 1);
            av_buf_printf(b,
                          "<path class=\"seg\" data-aspect=\"%s\" data-band=\"%d\" "
                          "data-filled=\"%d\" fill=\"%s\" stroke=\"#555\" "
                          "stroke-width=\".6\" d=\"",
                          av_aspect_names[a], k, on, on ? ROSE_ON : ROSE_OFF);
            sector(b, a, R_OUT * k / nb, R_OUT * (k + 1) / nb);
            av_buf_printf(b, "\"><title>%s, ", av_aspect_names[a]);
            av_html_esc(b, r->band[k]);
            av_buf_puts(b, on ? ": exposed" : ": not exposed");
            av_buf_puts(b, "</title></path>\n");
        }
    }
    for (int i = 0; i < 4; i++) {
        double x, y;
        pt(R_LABEL, i * 90.0, &x, &y);
        av_buf_printf(b,
                      "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
                      "dominant-baseline=\"middle\">%s</text>",
                      x, y, compass[i]);
    }
    av_buf_puts(b, "</svg><figcaption>");
    label(b, r, 1);
    av_buf_puts(b, "</figcaption></figure>\n");
}
