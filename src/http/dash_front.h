/* dash_front.h - what the front page (dashboard.c, av_dashboard) shows,
 * computed without I/O: the region x day grid of danger levels around the
 * day asked for, the language each cell's level comes from, and the count
 * of regions at each level on that day.
 *
 * The window is the same shape whatever the day: day - 18 .. day + 2
 * (AV_DASH_DAYS = 21 days), so `/?date=<today>` is the page `/` shows and
 * a past day D shows the 18 days before it and the two after it (what was
 * the forecast on D). One bounded read (that window) fills it.
 *
 * Language: a cell keeps the warning of the wanted language (1 when none
 * is asked for); a region-day stored in the other language only keeps
 * that one, so a database with one language shows it whatever is asked.
 */
#ifndef AV_DASH_FRONT_H
#define AV_DASH_FRONT_H

#include <stdint.h>

#include "../model/regions.h"

#define AV_DASH_DAYS 21 /* the heatmap: day - AV_DASH_BEFORE .. day + 2 */
#define AV_DASH_BEFORE 18

struct av_dash_grid {
    int64_t first; /* the window's first day (days since 1970-01-01) */
    int want_lang; /* 1 or 2 */
    signed char level[AV_MAX_REGIONS][AV_DASH_DAYS]; /* 0-5; -1 = nothing stored */
    signed char lang[AV_MAX_REGIONS][AV_DASH_DAYS];  /* the level's language; 0 = none */
};

/* An empty grid for the window around `day`; lang 1|2 (anything else: 1). */
void av_dash_grid_init(struct av_dash_grid *g, int64_t day, int lang);

/* The warning of region index ri (catalog order) for `date` in `lang`
 * with `level`: kept when the cell is empty, or when it holds the other
 * language and this one is wanted. Outside the window, a region index
 * out of 0..AV_MAX_REGIONS-1 or a level outside 0-5: ignored. Returns 1
 * when kept. */
int av_dash_grid_put(struct av_dash_grid *g, int ri, int64_t date, int lang, int level);

/* The cell of region ri on `date`: its level (-1 none or outside the
 * window); *lang (may be NULL) its language, 0 for none. */
int av_dash_grid_at(const struct av_dash_grid *g, int ri, int64_t date, int *lang);

/* For `date`: counts[l] = how many of the first nregions regions have
 * level l (0-5), counts[6] = how many have none. Returns the regions
 * with a level. */
int av_dash_grid_counts(const struct av_dash_grid *g, int nregions, int64_t date, int counts[7]);

#endif
