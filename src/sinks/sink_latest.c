/* sink_latest.c - the latest stored day in growing windows back from a
 * day near it (see sink_latest.h). */
#include "sink_latest.h"

#include "../core/tz.h"

struct latest {
    int found;
    int64_t day;
};

static int keep_latest(void *ud, const struct av_warning *w)
{
    struct latest *l = ud;

    if (!l->found || w->valid_date > l->day)
        l->day = w->valid_date;
    l->found = 1;
    return 0;
}

av_rc av_sink_latest_day(struct av_sink *s, const struct av_query *q, int64_t near,
                         int64_t *day, int *found, char *errbuf)
{
    const int64_t floor = av_days_from_civil(1900, 1, 1);
    struct av_query w = *q;
    struct latest l = {0, 0};
    int64_t span = 31;
    av_rc rc;

    w.parts = 0;
    w.after = 0;
    w.from_ms = w.to_ms = 0;
    w.to = INT64_MAX;
    w.from = near - span;
    for (;;) {
        if (w.from < floor)
            w.from = INT64_MIN; /* the rest, at once */
        if ((rc = av_sink_read(s, &w, keep_latest, &l, errbuf)) != AV_OK)
            return rc;
        if (l.found || w.from == INT64_MIN)
            break;
        w.to = w.from - 1;
        span *= 4;
        w.from = w.to - span + 1;
    }
    *found = l.found;
    *day = l.day;
    return AV_OK;
}
