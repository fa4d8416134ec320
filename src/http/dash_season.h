/* dash_season.h - the season page (/season/YYYY-YY, dashboard.h
 * av_season_page): the whole season as a region x day grid of danger
 * levels and, per day, how many regions were at each level. This header
 * is the grid, computed without I/O; dash_season.c also draws the page.
 *
 * A season runs from 1 Oct of its first year to 30 Jun of the next:
 * 273 days, 274 when it holds a 29 Feb (2023-24). One bounded read (those
 * days, both languages) fills the grid; nothing outside the season is
 * kept, so the page never exceeds AV_MAX_REGIONS x AV_SEASON_DAYS_MAX
 * cells (46 x 274 with the catalog of regions.h).
 *
 * Language: the rule of the front page (dash_front.h): a cell keeps the
 * warning of the wanted language (1 when none is asked for); a region-day
 * stored in the other language only keeps that one.
 */
#ifndef AV_DASH_SEASON_H
#define AV_DASH_SEASON_H

#include <stdint.h>

#include "../model/regions.h"
#include "params.h" /* AV_SEASON_MIN, AV_SEASON_MAX */

#define AV_SEASON_DAYS_MAX 274 /* 1 Oct .. 30 Jun with a 29 Feb */
#define AV_SEASON_NAME_LEN 8   /* "2022-23" + NUL */

struct av_season {
    int year;      /* the first year: the season year-(year+1) */
    int64_t first; /* 1 Oct of year (days since 1970-01-01) */
    int ndays;     /* 273 or 274 */
    int want_lang; /* 1 or 2 */
    signed char level[AV_MAX_REGIONS][AV_SEASON_DAYS_MAX]; /* 0-5; -1 = nothing stored */
    signed char lang[AV_MAX_REGIONS][AV_SEASON_DAYS_MAX];  /* the level's language; 0 = none */
};

/* An empty grid for the season that starts in `year`; lang 1|2
 * (anything else: 1). */
void av_season_init(struct av_season *s, int year, int lang);

/* The warning of region index ri (catalog order) for `date` in `lang`
 * with `level`: kept when the cell is empty, or when it holds the other
 * language and this one is wanted. Outside the season, a region index
 * out of 0..AV_MAX_REGIONS-1 or a level outside 0-5: ignored. Returns 1
 * when kept. */
int av_season_put(struct av_season *s, int ri, int64_t date, int lang, int level);

/* The cell of region ri on `date`: its level (-1 none or outside the
 * season); *lang (may be NULL) its language, 0 for none. */
int av_season_at(const struct av_season *s, int ri, int64_t date, int *lang);

/* For `date`: counts[l] = how many of the first nregions regions have
 * level l (0-5), counts[6] = how many have none. Returns the regions
 * with a level. */
int av_season_counts(const struct av_season *s, int nregions, int64_t date, int counts[7]);

/* The first year of the season `day` falls in; from 1 Jul to 30 Sep,
 * between seasons, the one that ended on 30 Jun. */
int av_season_of(int64_t day);

/* "YYYY-YY" for the season starting in year (0 <= year <= 9998). */
void av_season_name(int year, char out[AV_SEASON_NAME_LEN]);

#endif
