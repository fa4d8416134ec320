/* dash_quality.h - the data-quality page (/quality): coverage per region
 * and season, the holes, the rejects by stage and reason, freshness per
 * source and region, the last runs with their requests and retries (a
 * chart of their durations, requests and retries: quality_chart.h). The
 * helpers here are pure (dates in, counts out) for the unit tests; the
 * page itself is av_quality_page (dashboard.h). */
#ifndef AV_DASH_QUALITY_H
#define AV_DASH_QUALITY_H

#include <stddef.h>
#include <stdint.h>

/* Seasons shown in the coverage table: the current one and the
 * AV_QUALITY_SEASONS - 1 before it. */
#define AV_QUALITY_SEASONS 5

/* 1 when day (days) is inside a warning season's publishing window,
 * 1 Dec .. 31 May (Oslo dates), else 0. */
int av_quality_in_season(int64_t day);
/* Days an A region is expected to have a warning for in the season
 * starting in `season` (the year of its December), as seen on `today`:
 * the days of 1 Dec .. 31 May up to and including today (0 before
 * 1 Dec of that season, the whole window once it is over). */
int av_quality_expected(int season, int64_t today);
/* The length of s[0..len) without a UTF-8 sequence cut at its end. */
size_t av_quality_utf8_trim(const char *s, size_t len);

#endif
