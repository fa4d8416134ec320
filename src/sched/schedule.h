/* schedule.h - when the daemon runs: a list of local Europe/Oslo times of
 * day, turned into UTC instants, with catch-up and retry backoff. Pure
 * code: the clock is a parameter, so every rule is testable, DST days
 * included.
 *
 * Rules: each listed local time occurs once per local calendar day. A time
 * that does not exist on a spring-forward day (e.g. 02:30) runs at the
 * same wall-clock offset after the switch (03:30 CEST); a time that occurs
 * twice on a fall-back day runs at its first occurrence only. A run is due
 * at start ("catch up") when the last successful run is older than the
 * latest scheduled instant.
 */
#ifndef AV_SCHEDULE_H
#define AV_SCHEDULE_H

#include "../core/err.h"
#include "../core/tz.h"

#define AV_SCHED_MAX 24

struct av_sched {
    int n;
    int minutes[AV_SCHED_MAX]; /* local minutes after midnight, sorted, unique */
};

/* Parses "07:30,16:30" (HH:MM, comma separated). */
av_rc av_sched_parse(struct av_sched *s, const char *spec, char *errbuf);
/* The first scheduled instant strictly after now. */
av_ms av_sched_next(const struct av_sched *s, av_ms now);
/* The latest scheduled instant at or before now. */
av_ms av_sched_last(const struct av_sched *s, av_ms now);
/* True when a run should start now to catch up: no successful run yet
 * (last_ok < 0) or the last one is older than av_sched_last(now). */
int av_sched_due(const struct av_sched *s, av_ms last_ok, av_ms now);
/* Delay before retry number attempt (1-based): base * 2^(attempt-1),
 * capped at max. */
long av_sched_backoff(int attempt, long base_ms, long max_ms);

#endif
