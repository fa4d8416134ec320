/* check.h - `status --check`: the monitoring verdict, Nagios style.
 *
 * Pure: av_check_eval() takes the facts src/cli/cmd_status.c gathered from the
 * store (and the brokers) and the thresholds, and returns a level and one
 * line ("AVALANCHE CRITICAL - region 3022 stale 51 h (check.stale_hours
 * 36) | stale=1 ..."). No I/O, no clock: "now" is one of the facts.
 *
 * Levels are the Nagios plugin exit codes: 0 OK, 1 WARNING, 2 CRITICAL,
 * 3 UNKNOWN (the check could not run: no database, a bad setting).
 */
#ifndef AV_CHECK_H
#define AV_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "../core/conf.h"
#include "../core/tz.h"

enum av_check_level {
    AV_CHECK_OK = 0,
    AV_CHECK_WARNING = 1,
    AV_CHECK_CRITICAL = 2,
    AV_CHECK_UNKNOWN = 3
};

/* check.stale_hours, check.season_start/_end, check.weather_behind_days,
 * check.max_lag. */
extern const struct av_opt av_check_opts[];

/* One region's last stored warning day (the latest over its languages). */
struct av_check_region {
    int region_id;
    int64_t last_date; /* days; -1 = nothing stored */
};

struct av_check_facts {
    av_ms now;
    int64_t today; /* Oslo date of now, days */
    const struct av_check_region *regions;
    int nregions;
    /* the weather: the oldest "last complete day" over the regions that
     * have weather rows; -1 = no weather rows (weather not fetched) */
    int64_t wx_last_complete;
    int wx_region;
    /* the latest run: status NULL = no run recorded */
    const char *run_status, *run_error;
    long long run_id;
    /* holes (fetch_hole rows): count, and the first one */
    long holes;
    int hole_region;
    int64_t hole_from, hole_to;
    /* consumer lag (summed over partitions, both topics); -1 = not asked */
    long long lag;
};

struct av_check_limits {
    int stale_hours;
    int season_start, season_end; /* month * 100 + day */
    int archive_lag_days;         /* weather.archive_lag_days */
    int weather_behind_days;
    long long max_lag;
};

/* "MM-DD" -> month * 100 + day (02-29 allowed). 0 on success, -1 if bad. */
int av_check_mmdd(const char *s, int *mmdd);
/* Whether day (days) falls between start and end (MMDD, inclusive; a
 * range that wraps the new year, 12-01..05-31, is understood). */
int av_check_in_season(int64_t day, int start, int end);
/* Hours between the end of the local Oslo day last_date and now (how long
 * no stored warning has covered "now"); negative while one does. */
long av_check_stale_hours(int64_t last_date, av_ms now);

/* Writes one line (no newline) into msg (truncated to cap) and returns the
 * level: CRITICAL for a stale region in season or a failed last run;
 * WARNING for a partial last run, a hole, the weather behind or the lag
 * above max_lag; OK otherwise. Perfdata follows '|'. */
enum av_check_level av_check_eval(const struct av_check_facts *f, const struct av_check_limits *l,
                                  char *msg, size_t cap);

#endif
