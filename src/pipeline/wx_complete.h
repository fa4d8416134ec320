/* wx_complete.h - which local days of a weather archive request are
 * complete: the rule that decides when an archive day stops being a hole
 * (README "The weather").
 *
 * Local Oslo day D is complete for a request of points pts[0..npts) when
 * every one of those points has a non-null archive temperature for each
 * hour of D: 24 hours, 23 on the spring switch day, 25 on the autumn one
 * (transforms/weather_daily.h: av_wx_local_date, av_wx_day_hours). Records
 * of other points (exact latitude/longitude pair), of other days, from the
 * forecast, or with a null temperature count for nothing; the same point
 * and hour twice counts once.
 *
 * Pure: no I/O, no clock, no globals. Two callers, one rule:
 *   weather_ingest.c  over what the sink holds for the request's points
 *                     after storing a body (run, backfill, process)
 *   to_kafka.c        over the parsed body alone (produce has no sink)
 */
#ifndef AV_WX_COMPLETE_H
#define AV_WX_COMPLETE_H

#include <stddef.h>
#include <stdint.h>

#include "../core/err.h"
#include "../model/weather.h"

/* Marks complete[d] = 1 (else 0) for each local day from + d, d in
 * 0..ndays-1, and sets *last to the latest complete day (-1 when none).
 * hours[0..n) may be in any order, points and sources mixed; nothing is
 * modified but complete and *last. On AV_ENOMEM (its one scratch array)
 * nothing is marked complete and *last is -1: the days stay holes and are
 * fetched again, never wrongly cleared. */
av_rc av_wx_complete_days(const struct av_wx_hour *hours, size_t n, const struct av_point *pts,
                          int npts, int64_t from, int ndays, unsigned char *complete,
                          int64_t *last);

#endif
