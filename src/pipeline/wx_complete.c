/* wx_complete.c - complete local days of a weather archive request. See
 * wx_complete.h. */
#include "wx_complete.h"

#include <stdlib.h>
#include <string.h>

#include "../transforms/weather_daily.h"

#define MS_PER_HOUR 3600000LL

av_rc av_wx_complete_days(const struct av_wx_hour *hours, size_t n, const struct av_point *pts,
                          int npts, int64_t from, int ndays, unsigned char *complete,
                          int64_t *last)
{
    /* per day: its first UTC hour; per (day, point): one bit per hour seen
     * (at most 25 hours, so a 32-bit mask; duplicates set the same bit) */
    av_ms *first;
    uint32_t *seen;
    size_t cells;

    *last = -1;
    if (ndays <= 0)
        return AV_OK;
    memset(complete, 0, (size_t)ndays);
    if (npts <= 0)
        return AV_OK;
    cells = (size_t)ndays * (size_t)npts;
    first = malloc((size_t)ndays * sizeof(*first));
    seen = calloc(cells, sizeof(*seen));
    if (first == NULL || seen == NULL) {
        free(first);
        free(seen);
        return AV_ENOMEM;
    }
    for (int d = 0; d < ndays; d++) {
        av_ms end;
        av_wx_local_day_hours(from + d, &first[d], &end);
    }
    for (size_t i = 0; i < n; i++) {
        const struct av_wx_hour *h = &hours[i];
        int64_t d;
        av_ms off;
        int p = 0;

        if (h->source != AV_WX_ARCHIVE || av_wx_isnull(h->v[AV_WX_TEMPERATURE]))
            continue;
        d = av_wx_local_date(h->hour) - from;
        if (d < 0 || d >= ndays)
            continue;
        off = h->hour - first[d];
        if (off < 0 || off % MS_PER_HOUR != 0 || off / MS_PER_HOUR >= 32)
            continue; /* not an hour stamp of that day */
        while (p < npts &&
               !(pts[p].latitude == h->latitude && pts[p].longitude == h->longitude))
            p++;
        if (p < npts)
            seen[(size_t)d * (size_t)npts + (size_t)p] |= 1u << (off / MS_PER_HOUR);
    }
    for (int d = 0; d < ndays; d++) {
        int hrs = av_wx_day_hours(from + d);
        uint32_t all = hrs >= 32 ? 0xffffffffu : (1u << hrs) - 1u;
        int ok = 1;

        for (int p = 0; p < npts && ok; p++)
            ok = (seen[(size_t)d * (size_t)npts + (size_t)p] & all) == all;
        complete[d] = (unsigned char)ok;
        if (ok)
            *last = from + d;
    }
    free(first);
    free(seen);
    return AV_OK;
}
