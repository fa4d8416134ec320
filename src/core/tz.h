/* tz.h - calendar dates and Europe/Oslo local time, without the C library's
 * time zone machinery (no TZ variable, no tzdata, thread-safe, testable).
 *
 * Days are counted from 1970-01-01 (proleptic Gregorian). Instants are int64
 * milliseconds since the Unix epoch, UTC. Europe/Oslo is CET (UTC+1) with
 * CEST (UTC+2) from 01:00 UTC on the last Sunday of March to 01:00 UTC on
 * the last Sunday of October (EU rule, in force since 1996; the API's data
 * start in 2012).
 *
 * Local times that do not exist (the spring-forward hour) are read as if
 * still in CET, landing after the switch; local times that occur twice (the
 * fall-back hour) resolve to the first occurrence (CEST).
 */
#ifndef AV_TZ_H
#define AV_TZ_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

typedef int64_t av_ms; /* instant, ms since epoch, UTC */

#define AV_DATE_LEN 11  /* "YYYY-MM-DD" + NUL */
#define AV_STAMP_LEN 25 /* "YYYY-MM-DDTHH:MM:SS.sssZ" + NUL */

int64_t av_days_from_civil(int y, int m, int d);
void av_civil_from_days(int64_t days, int *y, int *m, int *d);
int av_weekday(int64_t days); /* 0 = Sunday */

/* "YYYY-MM-DD" (exactly, valid calendar date) -> days. */
av_rc av_date_parse(const char *s, int64_t *days);
void av_date_format(int64_t days, char out[AV_DATE_LEN]);

/* True when the instant falls in CEST. */
int av_oslo_is_dst(av_ms t);
/* Offset of Oslo local time from UTC at instant t, in seconds (3600/7200). */
int av_oslo_offset(av_ms t);
/* Naive local ms (local wall clock read as if UTC) -> UTC instant. */
av_ms av_oslo_local_to_utc(av_ms local);
/* UTC instant -> naive local ms. */
av_ms av_oslo_utc_to_local(av_ms t);

/* Parses "YYYY-MM-DDTHH:MM:SS" with an optional ".f", ".ff" or ".fff"
 * (at most 7 digits are accepted; digits beyond ms are dropped) and no
 * offset, as the Varsom API sends local Oslo time. *local gets the naive
 * local ms; use av_oslo_local_to_utc() for the instant. */
av_rc av_local_stamp_parse(const char *s, size_t len, av_ms *local);

/* UTC instant -> "YYYY-MM-DDTHH:MM:SS.sssZ". */
void av_stamp_format(av_ms t, char out[AV_STAMP_LEN]);
/* Parses what av_stamp_format writes (ms part optional). */
av_rc av_stamp_parse(const char *s, av_ms *t);

/* Current instant; honours AV_FAKE_NOW="YYYY-MM-DDTHH:MM:SSZ" for tests
 * (a clock that stands still there), or "...Z+" (one that starts there
 * when first read and runs). */
av_ms av_now(void);
/* Today's local Oslo date as days. */
int64_t av_oslo_today(void);

#endif
