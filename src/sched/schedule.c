/* schedule.c - local-time schedule, catch-up and backoff. See schedule.h. */
#include "schedule.h"

#include <stdlib.h>
#include <string.h>

#define DAY_MS 86400000LL

static int cmp(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

av_rc av_sched_parse(struct av_sched *s, const char *spec, char *errbuf)
{
    const char *p = spec;

    s->n = 0;
    while (*p) {
        int hh, mm;
        size_t l = strcspn(p, ",");
        while (*p == ' ') {
            p++;
            l--;
        }
        if (l < 5 || p[2] != ':' || p[0] < '0' || p[0] > '2' || p[1] < '0' || p[1] > '9' ||
            p[3] < '0' || p[3] > '5' || p[4] < '0' || p[4] > '9' || (l > 5 && p[5] != ' '))
            return av_fail(errbuf, AV_EINVAL,
                           "bad schedule \"%s\": use local times HH:MM separated by commas",
                           spec);
        hh = (p[0] - '0') * 10 + (p[1] - '0');
        mm = (p[3] - '0') * 10 + (p[4] - '0');
        if (hh > 23)
            return av_fail(errbuf, AV_EINVAL, "bad schedule \"%s\": hour %d", spec, hh);
        if (s->n == AV_SCHED_MAX)
            return av_fail(errbuf, AV_ELIMIT, "schedule \"%s\" has more than %d times", spec,
                           AV_SCHED_MAX);
        s->minutes[s->n++] = hh * 60 + mm;
        p += l;
        if (*p == ',')
            p++;
    }
    if (s->n == 0)
        return av_fail(errbuf, AV_EINVAL, "empty schedule: give at least one HH:MM");
    qsort(s->minutes, (size_t)s->n, sizeof(int), cmp);
    {
        int u = 1;
        for (int i = 1; i < s->n; i++)
            if (s->minutes[i] != s->minutes[u - 1])
                s->minutes[u++] = s->minutes[i];
        s->n = u;
    }
    return AV_OK;
}

static int64_t local_day(av_ms t)
{
    av_ms l = av_oslo_utc_to_local(t);

    return l >= 0 ? l / DAY_MS : (l - DAY_MS + 1) / DAY_MS;
}

static av_ms at(int64_t day, int minutes)
{
    return av_oslo_local_to_utc(day * DAY_MS + (av_ms)minutes * 60000);
}

av_ms av_sched_next(const struct av_sched *s, av_ms now)
{
    int64_t d0 = local_day(now);
    av_ms best = INT64_MAX;

    for (int64_t d = d0 - 1; d <= d0 + 2; d++)
        for (int i = 0; i < s->n; i++) {
            av_ms t = at(d, s->minutes[i]);
            if (t > now && t < best)
                best = t;
        }
    return best;
}

av_ms av_sched_last(const struct av_sched *s, av_ms now)
{
    int64_t d0 = local_day(now);
    av_ms best = INT64_MIN;

    for (int64_t d = d0 - 2; d <= d0 + 1; d++)
        for (int i = 0; i < s->n; i++) {
            av_ms t = at(d, s->minutes[i]);
            if (t <= now && t > best)
                best = t;
        }
    return best;
}

int av_sched_due(const struct av_sched *s, av_ms last_ok, av_ms now)
{
    return last_ok < 0 || last_ok < av_sched_last(s, now);
}

long av_sched_backoff(int attempt, long base_ms, long max_ms)
{
    long d = base_ms;

    for (int k = 1; k < attempt && d < max_ms; k++)
        d *= 2;
    return d > max_ms ? max_ms : d;
}
