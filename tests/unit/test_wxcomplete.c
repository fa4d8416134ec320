/* test_wxcomplete.c - when an archive day stops being a hole
 * (src/pipeline/wx_complete.c): every point, every hour of the local day
 * (23/24/25), an archive temperature. Synthetic hours written here. */
#include <stdlib.h>

#include "../../src/core/tz.h"
#include "../../src/pipeline/wx_complete.h"
#include "../../src/transforms/weather_daily.h"
#include "harness.h"

static const struct av_point pts[2] = {{3022, 62.5, 9.0}, {3022, 62.6, 9.1}};

/* All hours of local days from..from+ndays-1 for both points. */
static size_t fill(struct av_wx_hour *h, int64_t from, int ndays, int source)
{
    size_t n = 0;
    av_ms first, end, unused;

    av_wx_local_day_hours(from, &first, &unused);
    av_wx_local_day_hours(from + ndays - 1, &unused, &end);
    for (int p = 0; p < 2; p++)
        for (av_ms t = first; t < end; t += 3600000) {
            struct av_wx_hour x = {3022, pts[p].latitude, pts[p].longitude, t, source, 1, {0}};
            for (int v = 0; v < AV_WX_NVARS; v++)
                x.v[v] = AV_WX_NULL;
            x.v[AV_WX_TEMPERATURE] = -1.5;
            h[n++] = x;
        }
    return n;
}

void suite_wxcomplete(void)
{
    struct av_wx_hour *h = malloc(2 * 5 * 25 * sizeof(*h) + 8 * sizeof(*h));
    unsigned char c[5];
    int64_t from = av_days_from_civil(2024, 3, 29), last = 0; /* 03-31: 23 hours */
    size_t n;

    if (h == NULL)
        return;
    n = fill(h, from, 5, AV_WX_ARCHIVE);
    CHECK_INT(n, 2 * (24 + 24 + 23 + 24 + 24));
    CHECK(av_wx_complete_days(h, n, pts, 2, from, 5, c, &last) == AV_OK);
    CHECK(c[0] && c[1] && c[2] && c[3] && c[4] && last == from + 4);
    /* one null temperature of one point on the switch day */
    for (size_t i = 0; i < n; i++)
        if (h[i].latitude == 62.6 && av_wx_local_date(h[i].hour) == from + 2) {
            h[i].v[AV_WX_TEMPERATURE] = AV_WX_NULL;
            break;
        }
    CHECK(av_wx_complete_days(h, n, pts, 2, from, 5, c, &last) == AV_OK);
    CHECK(c[1] && !c[2] && c[3] && last == from + 4);
    /* a duplicate of another hour does not stand in for the missing one */
    h[n] = h[0];
    CHECK(av_wx_complete_days(h, n + 1, pts, 2, from, 5, c, &last) == AV_OK);
    CHECK(!c[2]);
    /* the forecast never completes a day; nor does a third point's data */
    n = fill(h, from, 5, AV_WX_FORECAST);
    CHECK(av_wx_complete_days(h, n, pts, 2, from, 5, c, &last) == AV_OK);
    CHECK(!c[0] && !c[4] && last == -1);
    {
        struct av_point three[3] = {pts[0], pts[1], {3022, 62.7, 9.2}};
        n = fill(h, from, 5, AV_WX_ARCHIVE);
        CHECK(av_wx_complete_days(h, n, three, 3, from, 5, c, &last) == AV_OK);
        CHECK(!c[0] && last == -1); /* the third point has nothing */
    }
    /* the last day missing its final hour (the archive's delay) */
    n = fill(h, from, 5, AV_WX_ARCHIVE);
    CHECK(av_wx_complete_days(h, n - 1, pts, 2, from, 5, c, &last) == AV_OK);
    CHECK(c[3] && !c[4] && last == from + 3);
    free(h);
}
