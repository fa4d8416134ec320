/* test_rose.c - the avalanche rose (src/http/rose.h): which segments are
 * coloured for each ExposedHeightFill and several aspect masks, read back
 * from the SVG text (data-aspect / data-band / data-filled), and hostile
 * inputs (aspects -1 or beyond 8 bits, fill 99, heights out of range).
 *
 * Every input here is SYNTHETIC, built in this file. */
#include <stdlib.h>

#include "../../src/core/buf.h"
#include "../../src/http/rose.h"
#include "../../src/model/record.h"
#include "harness.h"

struct seen {
    int segs;          /* segments drawn */
    int on;            /* segments coloured */
    int aspects;       /* aspects with a coloured segment */
    unsigned bands;    /* bands with a coloured segment */
    int in_bounds;     /* every path coordinate inside 0..130 */
    struct av_buf svg; /* the figure */
};

static int aspect_bit(const char *name, size_t n)
{
    for (int a = 0; a < 8; a++)
        if (strlen(av_aspect_names[a]) == n && strncmp(av_aspect_names[a], name, n) == 0)
            return 1 << a;
    return 0;
}

/* Draws the rose and reads back what is coloured. */
static void draw(int aspects, int fill, int h1, int h2, struct av_rose *r, struct seen *s)
{
    const char *p;

    memset(s, 0, sizeof(*s));
    av_rose_plan(aspects, fill, h1, h2, r);
    av_buf_init(&s->svg, 1 << 20);
    av_rose_svg(&s->svg, r);
    s->in_bounds = 1;
    for (p = strstr(s->svg.data, "<path class=\"seg\""); p;
         p = strstr(p + 1, "<path class=\"seg\"")) {
        const char *a = strstr(p, "data-aspect=\"") + 13, *d;
        int band = atoi(strstr(p, "data-band=\"") + 11);
        int on = strstr(p, "data-filled=\"")[13] == '1';
        s->segs++;
        if (on) {
            s->on++;
            s->aspects |= aspect_bit(a, strcspn(a, "\""));
            s->bands |= 1u << band;
        }
        for (d = strstr(p, " d=\"") + 4; *d != '"'; d++) {
            char *e;
            double v = strtod(d, &e);
            if (e != d) {
                if (!(v >= 0 && v <= 130))
                    s->in_bounds = 0;
                d = e - 1;
            }
        }
    }
}

static void fills(void)
{
    struct av_rose r;
    struct seen s;
    int ne_to_s = AV_ASPECT_NE | AV_ASPECT_E | AV_ASPECT_SE | AV_ASPECT_S;

    /* fill 1: above H1 = the inner disc of two bands */
    draw(ne_to_s, 1, 1000, 1000, &r, &s);
    CHECK_INT(r.nbands, 2);
    CHECK_INT(s.segs, 16);
    CHECK_INT(s.on, 4);
    CHECK_INT(s.aspects, ne_to_s);
    CHECK_INT(s.bands, 1);
    CHECK(s.in_bounds);
    CHECK_STR(r.height, "above 1000 m");
    CHECK(r.note == NULL);
    CHECK(strstr(s.svg.data, "<figcaption>Aspects: NE,E,SE,S; elevation: above 1000 m.") != NULL);
    CHECK(strstr(s.svg.data, "inner disc above 1000 m (exposed); outer ring below 1000 m "
                             "(not exposed)") != NULL);
    CHECK(strstr(s.svg.data, "data-aspect=\"NE\" data-band=\"0\" data-filled=\"1\"") != NULL);
    CHECK(strstr(s.svg.data, "data-aspect=\"N\" data-band=\"0\" data-filled=\"0\"") != NULL);
    CHECK(strstr(s.svg.data, "<title>NE, above 1000 m: exposed</title>") != NULL);
    CHECK(strstr(s.svg.data, "<title>NE, below 1000 m: not exposed</title>") != NULL);
    av_buf_free(&s.svg);

    /* fill 2: below H1 = the outer ring; all eight aspects */
    draw(255, 2, 800, 800, &r, &s);
    CHECK_INT(r.nbands, 2);
    CHECK_INT(s.on, 8);
    CHECK_INT(s.aspects, 255);
    CHECK_INT(s.bands, 2);
    CHECK_STR(r.height, "below 800 m");
    CHECK(strstr(s.svg.data, "Aspects: N,NE,E,SE,S,SW,W,NW; elevation: below 800 m.") != NULL);
    av_buf_free(&s.svg);

    /* fill 3: above H1 and below H2 = inner disc and outer ring of three */
    draw(AV_ASPECT_N | AV_ASPECT_NW, 3, 1200, 600, &r, &s);
    CHECK_INT(r.nbands, 3);
    CHECK_INT(s.segs, 24);
    CHECK_INT(s.on, 4);
    CHECK_INT(s.aspects, AV_ASPECT_N | AV_ASPECT_NW);
    CHECK_INT(s.bands, 5);
    CHECK(s.in_bounds);
    CHECK_STR(r.height, "above 1200 m and below 600 m");
    CHECK_STR(r.band[1], "600 to 1200 m");
    CHECK(strstr(s.svg.data, "middle ring 600 to 1200 m (not exposed)") != NULL);
    av_buf_free(&s.svg);

    /* fill 4: between H2 and H1 = the middle ring, in either order */
    draw(AV_ASPECT_S, 4, 1000, 500, &r, &s);
    CHECK_INT(r.nbands, 3);
    CHECK_INT(s.on, 1);
    CHECK_INT(s.bands, 2);
    CHECK_STR(r.height, "500 to 1000 m");
    av_buf_free(&s.svg);
    draw(AV_ASPECT_S | AV_ASPECT_W, 4, 500, 1000, &r, &s);
    CHECK_INT(s.on, 2);
    CHECK_INT(s.aspects, AV_ASPECT_S | AV_ASPECT_W);
    CHECK_INT(s.bands, 2);
    CHECK_STR(r.height, "500 to 1000 m");
    av_buf_free(&s.svg);

    /* no aspect: nothing coloured, and the label says so */
    draw(0, 1, 1000, 1000, &r, &s);
    CHECK_INT(s.on, 0);
    CHECK(strstr(s.svg.data, "Aspects: none; elevation: above 1000 m.") != NULL);
    av_buf_free(&s.svg);
}

static void hostile(void)
{
    struct av_rose r;
    struct seen s;

    /* aspects out of 8 bits: unknown, nothing coloured */
    static const int bad_aspects[] = {-1, 256, 0x1FF, AV_NULL_INT, 2147483647};
    for (size_t i = 0; i < sizeof(bad_aspects) / sizeof(bad_aspects[0]); i++) {
        draw(bad_aspects[i], 1, 1000, 1000, &r, &s);
        CHECK(!r.aspects_known);
        CHECK_INT(s.on, 0);
        CHECK_INT(s.segs, 16);
        CHECK(strstr(s.svg.data, "Aspects unknown; elevation: above 1000 m.") != NULL);
        av_buf_free(&s.svg);
    }

    /* unknown fill: the aspects only, one band, with a note */
    static const int bad_fill[] = {99, -1, 5, AV_NULL_INT, 0};
    for (size_t i = 0; i < sizeof(bad_fill) / sizeof(bad_fill[0]); i++) {
        draw(AV_ASPECT_E | AV_ASPECT_W, bad_fill[i], 1000, 1000, &r, &s);
        CHECK_INT(r.nbands, 1);
        CHECK_INT(s.segs, 8);
        CHECK_INT(s.on, 2);
        CHECK_INT(s.aspects, AV_ASPECT_E | AV_ASPECT_W);
        CHECK(r.note != NULL && r.height[0] == '\0');
        CHECK(strstr(s.svg.data, "<figcaption>Aspects: E,W. Note: the elevation ") != NULL);
        CHECK(strstr(s.svg.data, "<title>E, elevation unknown: exposed</title>") != NULL);
        av_buf_free(&s.svg);
    }
    draw(1, 99, 1000, 1000, &r, &s);
    CHECK(strstr(s.svg.data, "the elevation code is unknown: aspects only") != NULL);
    av_buf_free(&s.svg);

    /* heights out of range or absent: the aspects only */
    static const int bad_h[][3] = {
        {1, -5, 0},     {2, 100000, 0}, {1, AV_NULL_INT, 0}, {3, 1000, AV_NULL_INT}, {4, 500, 9001},
        {3, 600, 1200}, {3, 800, 800},  {4, 700, 700},       {1, INT32_MAX, 0}};
    for (size_t i = 0; i < sizeof(bad_h) / sizeof(bad_h[0]); i++) {
        draw(AV_ASPECT_N, bad_h[i][0], bad_h[i][1], bad_h[i][2], &r, &s);
        CHECK_INT(r.nbands, 1);
        CHECK_INT(s.on, 1);
        CHECK(r.note != NULL && strstr(r.note, "aspects only") != NULL);
        CHECK(s.in_bounds); /* strtod reads nan and inf too: they fail it */
        av_buf_free(&s.svg);
    }

    /* both unknown: still a whole rose, all white, two notes in words */
    draw(-1, 99, -1, -1, &r, &s);
    CHECK_INT(s.segs, 8);
    CHECK_INT(s.on, 0);
    CHECK(strstr(s.svg.data, "Aspects unknown. Note: the elevation code is unknown") != NULL);
    av_buf_free(&s.svg);

    /* a buffer too small: the cut is flagged, never overrun */
    {
        struct av_buf b;
        av_rose_plan(255, 3, 1200, 600, &r);
        av_buf_init(&b, 100);
        av_rose_svg(&b, &r);
        CHECK(b.failed && b.len <= 100);
        av_buf_free(&b);
    }
}

void suite_rose(void)
{
    fills();
    hostile();
}
