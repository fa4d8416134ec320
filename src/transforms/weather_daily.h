/* weather_daily.h - the transform: one region's hourly weather records
 * (struct av_wx_hour) -> one daily record per Europe/Oslo calendar day
 * (struct av_wx_day), both in src/model/weather.h.
 *
 * Pure code: no I/O, no clock (the caller passes computed_at), no globals.
 * It neither fetches nor stores; it does not decide which hours to read
 * (av_wx_local_day_hours() tells the caller) and it does not round.
 *
 * The contract (the store, the export and the scheduler rely on it):
 *
 *   Input: hourly records of ONE region's points (a point is its exact
 *   latitude/longitude pair), for any range of hours, in any order, points
 *   mixed. `hour` is the UTC instant of the hour stamp.
 *
 *   Day: a record belongs to local day D when av_oslo_utc_to_local(hour)
 *   falls on D, i.e. local stamps 00:00 to 23:00 of D: 24 hours, 23 on the
 *   spring switch day (last Sunday of March), 25 on the autumn one (last
 *   Sunday of October). So 2024-01-15T23:00Z is on local 2024-01-16.
 *
 *   Output: one struct av_wx_day per local day with at least one record,
 *   ordered by date. Per point and day, over that point's non-null hours
 *   of each variable (NaN skipped per variable):
 *       temperature         min, mean, max
 *       precipitation, rain, snowfall   sum
 *       snow_depth, relative humidity, freezing level   mean
 *       wind_speed          mean, max
 *       gusts               max
 *       wind direction      unit-vector mean: atan2(mean sin, mean cos) in
 *                           degrees, in [0, 360); null when the resultant
 *                           length is below 1e-9 (e.g. 0 and 180)
 *   A variable with no non-null hour that day is null for that point; so
 *   is a sum (null, never 0).
 *   The region's value of each column is the mean of the points' non-null
 *   daily values (null if none); the region's direction is the unit-vector
 *   mean of the points' dominant directions (same 1e-9 rule).
 *       points  = points with at least one record that day (even all-null)
 *       hours   = the most non-null temperature hours of any point that day
 *       source  = AV_WX_ARCHIVE if every record of the day is archive,
 *                 AV_WX_FORECAST if every one is forecast, 0 if mixed
 *       region_id from the records, computed_at = `now`.
 *
 *   Duplicates (same point and hour twice, e.g. an archive and a forecast
 *   fetch) are merged by weather.h's rule before anything is counted: per
 *   variable, the value of the higher source wins, then the later
 *   fetched_at, then the earlier input position; a null never replaces a
 *   value. The merged hour counts once, and its source for `source` is each
 *   source that supplied a value (the winner's alone if all are null).
 *
 * Cost: O(n log n) time (one sort of an index), O(n) extra memory.
 */
#ifndef AV_WEATHER_DAILY_H
#define AV_WEATHER_DAILY_H

#include <stddef.h>
#include <stdint.h>

#include "../core/err.h"
#include "../core/tz.h"
#include "../model/weather.h"

/* Aggregates hours[0..n) as described above. On success *out is a malloc'd
 * array of *nout days, ordered by date, that the caller frees (NULL and 0
 * when n is 0). hours is not modified and may be freed afterwards.
 * Fails, leaving *out and *nout untouched and nothing allocated, with:
 *   AV_EINVAL  records of different regions mixed, a source other than
 *              archive/forecast, a non-finite latitude/longitude, an hour
 *              outside years 1-9999, or hours NULL with n > 0 (one line in
 *              errbuf: which record and what is wrong);
 *   AV_ENOMEM  allocation failed.
 * errbuf is AV_ERRBUF_SIZE bytes or NULL. */
av_rc av_wx_aggregate(const struct av_wx_hour *hours, size_t n, av_ms now, struct av_wx_day **out,
                      size_t *nout, char *errbuf);

/* The aggregate of hours[0..n) as ONE group, whatever local days they fall
 * on: the rules of a day above (duplicates merged, nulls skipped per
 * variable, each point's min/mean/max/sum over its hours, then the mean
 * over the points; points, hours and source alike), so the span of one
 * local day's hours gives that day's record bit for bit. For windows of
 * hours that are not calendar days (src/export/features.h). out->date
 * and computed_at are 0; n == 0 gives points 0, hours 0 and every value
 * null. Fails as av_wx_aggregate (out untouched). */
av_rc av_wx_aggregate_span(const struct av_wx_hour *hours, size_t n, struct av_wx_day *out,
                           char *errbuf);

/* Local Oslo date (days since 1970-01-01) of the UTC instant t, the day the
 * aggregation files an hour stamp under. */
int64_t av_wx_local_date(av_ms t);

/* The UTC hour stamps of local day `date` (years 1-9999): [*first, *end),
 * *first = local midnight of date as a UTC instant, *end = that of the next
 * day; 24, 23 or 25 hours apart. The hours to read back for that day. */
void av_wx_local_day_hours(int64_t date, av_ms *first, av_ms *end);

/* Length of local day `date` in hours: 24, 23 (spring switch) or 25. */
int av_wx_day_hours(int64_t date);

#endif
