/* test_dashfront.c - the front page's grid (src/http/dash_front.h): the
 * window around the day asked for, which language a cell keeps, and the
 * counts per danger level. Every value here is SYNTHETIC. */
#include "../../src/core/tz.h"
#include "../../src/http/dash_front.h"
#include "harness.h"

static void window_and_bounds(void)
{
    static struct av_dash_grid g;
    int64_t d;
    int lang;

    av_date_parse("2023-03-02", &d);
    av_dash_grid_init(&g, d, 0);
    CHECK_INT(g.first, d - 18);
    CHECK_INT(g.want_lang, 1);
    CHECK_INT(av_dash_grid_at(&g, 0, d, &lang), -1);
    CHECK_INT(lang, 0);
    /* the window's first and last days are in, their neighbours out */
    CHECK_INT(av_dash_grid_put(&g, 0, d - 18, 1, 2), 1);
    CHECK_INT(av_dash_grid_put(&g, 0, d + 2, 1, 3), 1);
    CHECK_INT(av_dash_grid_put(&g, 0, d - 19, 1, 2), 0);
    CHECK_INT(av_dash_grid_put(&g, 0, d + 3, 1, 2), 0);
    CHECK_INT(av_dash_grid_at(&g, 0, d - 18, NULL), 2);
    CHECK_INT(av_dash_grid_at(&g, 0, d + 2, NULL), 3);
    CHECK_INT(av_dash_grid_at(&g, 0, d + 3, NULL), -1);
    /* no region, a level no warning has: ignored, never out of bounds */
    CHECK_INT(av_dash_grid_put(&g, -1, d, 1, 2), 0);
    CHECK_INT(av_dash_grid_put(&g, AV_MAX_REGIONS, d, 1, 2), 0);
    CHECK_INT(av_dash_grid_put(&g, 1, d, 1, 6), 0);
    CHECK_INT(av_dash_grid_put(&g, 1, d, 1, -1), 0);
    CHECK_INT(av_dash_grid_at(&g, AV_MAX_REGIONS, d, &lang), -1);
    CHECK_INT(av_dash_grid_at(&g, 1, d, NULL), -1);
}

static void language(void)
{
    static struct av_dash_grid g;
    int64_t d = 19418; /* 2023-03-02 */
    int lang;

    /* lang 2 wanted: it replaces lang 1 whatever the order, never the reverse */
    av_dash_grid_init(&g, d, 2);
    CHECK_INT(av_dash_grid_put(&g, 0, d, 1, 2), 1);
    CHECK_INT(av_dash_grid_put(&g, 0, d, 2, 3), 1);
    CHECK_INT(av_dash_grid_put(&g, 0, d, 1, 4), 0);
    CHECK_INT(av_dash_grid_at(&g, 0, d, &lang), 3);
    CHECK_INT(lang, 2);
    /* the first warning of the wanted language stays (a second is ignored) */
    CHECK_INT(av_dash_grid_put(&g, 0, d, 2, 5), 0);
    CHECK_INT(av_dash_grid_at(&g, 0, d, NULL), 3);
    /* only the other language stored: it is shown */
    CHECK_INT(av_dash_grid_put(&g, 1, d, 1, 1), 1);
    CHECK_INT(av_dash_grid_at(&g, 1, d, &lang), 1);
    CHECK_INT(lang, 1);
    /* nothing asked for (0) and anything else mean lang 1 */
    av_dash_grid_init(&g, d, 7);
    CHECK_INT(g.want_lang, 1);
    CHECK_INT(av_dash_grid_put(&g, 0, d, 2, 3), 1);
    CHECK_INT(av_dash_grid_put(&g, 0, d, 1, 2), 1);
    CHECK_INT(av_dash_grid_put(&g, 0, d, 2, 4), 0);
    CHECK_INT(av_dash_grid_at(&g, 0, d, &lang), 2);
    CHECK_INT(lang, 1);
}

static void counts(void)
{
    static struct av_dash_grid g;
    int64_t d = 19418;
    int n[7];

    av_dash_grid_init(&g, d, 1);
    av_dash_grid_put(&g, 0, d, 1, 0);
    av_dash_grid_put(&g, 1, d, 1, 3);
    av_dash_grid_put(&g, 2, d, 2, 3);
    av_dash_grid_put(&g, 3, d, 1, 5);
    av_dash_grid_put(&g, 4, d - 1, 1, 4); /* another day: not counted */
    CHECK_INT(av_dash_grid_counts(&g, 46, d, n), 4);
    CHECK_INT(n[0], 1);
    CHECK_INT(n[1], 0);
    CHECK_INT(n[2], 0);
    CHECK_INT(n[3], 2);
    CHECK_INT(n[4], 0);
    CHECK_INT(n[5], 1);
    CHECK_INT(n[6], 42);
    /* more regions than the grid holds: counted up to its size */
    CHECK_INT(av_dash_grid_counts(&g, AV_MAX_REGIONS + 5, d, n), 4);
    CHECK_INT(n[6], AV_MAX_REGIONS - 4);
    /* a day outside the window: nothing there */
    CHECK_INT(av_dash_grid_counts(&g, 46, d + 30, n), 0);
    CHECK_INT(n[6], 46);
}

void suite_dash_front(void)
{
    window_and_bounds();
    language();
    counts();
}
