/* region_chart.h - the region page's window (/region/ID, ?season=, ?date=)
 * and what its two danger charts show: the danger level per day (a step
 * chart) and the avalanche problems per day (a timeline, one row per
 * problem type, each mark's height the problem's destructive size). Pure
 * (no I/O, no HTML, no allocation): dashboard.c fills it from one read of
 * the window, region_svg.c draws it, tests/unit/test_regionchart.c checks
 * it on hostile input.
 *
 * The window: ?season=YYYY-YY is 1 Oct .. 30 Jun of that season; otherwise
 * the 63 days day - 60 .. day + 2 around the asked ?date= (today when
 * none): the lead-up a forecaster reads a day against, the same as the
 * page without parameters, moved. The charts share the x axis of the
 * weather chart (wx_chart.h: AV_WXC_PL .. AV_WXC_PR over the same days,
 * the same view box width), so the three line up day for day.
 *
 * Language: a day keeps the warning of the wanted language (1 when none
 * is asked for); a day stored in the other language only keeps that one
 * (the rule of the front page, dash_front.h). The problem types' names
 * come from the kept warnings (the wanted language's name wins).
 *
 * Values come from a store that can be changed outside avalanche: a level
 * outside 0-5 is no level; a destructive size outside 1-5 is "size
 * unknown" (0); a problem type beyond AV_RGC_MAX_TYPES distinct ones, or
 * more than AV_MAX_PROBLEMS problems in a warning, is left out and
 * counted in `dropped`.
 *
 *   danger chart (AV_RGC_W x AV_RGC_DANGER_H):
 *     DT  +-----------------------------------+   level 5
 *         |      ___                          |
 *         |  ___|   |___    step line, and a  |
 *     DB  +-----------------------------------+   level 0 (baseline)
 *   timeline (AV_RGC_W x av_rgc_timeline_h()): per problem type a row of
 *   AV_RGC_ROW_H: its name on the first line, then a mark per run of days
 *   with the same size, standing on the row's base, AV_RGC_MARK_H(size)
 *   high.
 */
#ifndef AV_REGION_CHART_H
#define AV_REGION_CHART_H

#include <stdint.h>

#include "../model/record.h"
#include "wx_chart.h"

#define AV_RGC_MAX_DAYS AV_WXC_MAX_DAYS /* the longest window */
#define AV_RGC_AROUND 60                /* days before the day of a ?date= window */
#define AV_RGC_AFTER 2                  /* and after it (the forecast days) */
#define AV_RGC_MAX_TYPES 16             /* problem types kept (the API has 9) */
#define AV_RGC_NAME_LEN 96              /* a type's or a size's name, cut (UTF-8 safe) */

/* Geometry, SVG user units; x as in wx_chart.h. */
#define AV_RGC_W AV_WXC_W
#define AV_RGC_DANGER_H 140
#define AV_RGC_DT 18.0    /* level 5 */
#define AV_RGC_DB 108.0   /* level 0 */
#define AV_RGC_ROW_H 26.0 /* a timeline row */
#define AV_RGC_TT 14.0    /* the first row's top */
#define AV_RGC_MARK_H(size) (4.0 + 2.0 * (double)(size)) /* 4 (unknown) .. 14 (size 5) */

struct av_rgc {
    int64_t first;  /* the window's first day (days since 1970-01-01) */
    int ndays;      /* 1..AV_RGC_MAX_DAYS */
    int want_lang;  /* 1 or 2 */
    int dropped;    /* problems left out (see above) */
    int ntypes;     /* problem types seen: the rows, in order of type id after layout */
    struct {
        int id;                       /* the API's AvalancheProblemTypeId */
        int name_lang;                /* the name's language; 0 none */
        char name[AV_RGC_NAME_LEN];   /* "" when none was stored */
        signed char size[AV_RGC_MAX_DAYS]; /* -1 not active; 0 size unknown; 1-5 */
    } type[AV_RGC_MAX_TYPES];
    char size_name[6][AV_RGC_NAME_LEN]; /* "3 - Large" as stored; [0] unused */
    signed char level[AV_RGC_MAX_DAYS]; /* 0-5; -1 none */
    signed char lang[AV_RGC_MAX_DAYS];  /* the kept warning's language; 0 none */
};

/* The window: season (a first year, 0 = none) wins; else day - 60 ..
 * day + 2, day = today when AV_DAY_LATEST (dash_region.h) is passed. */
void av_rgc_window(int season, int64_t day, int64_t today, int64_t *first, int *ndays);

/* An empty chart of ndays (clamped to 1..AV_RGC_MAX_DAYS) from first;
 * lang 1|2 (anything else: 1). */
void av_rgc_init(struct av_rgc *c, int64_t first, int ndays, int lang);
/* Day index of date in the window, -1 when outside. */
int av_rgc_index(const struct av_rgc *c, int64_t date);
/* w's level and problems for its day, by the language rule: 1 kept
 * (replacing the other language's), 0 ignored (outside, or the day
 * already holds this language or the wanted one). */
int av_rgc_put(struct av_rgc *c, const struct av_warning *w);
/* The language kept for date (0 none, or outside): the one whose texts
 * the page shows that day. */
int av_rgc_lang_of(const struct av_rgc *c, int64_t date);
/* Sorts the rows by type id and drops the rows no kept day uses (a type
 * only the replaced language had). Call once after the last put. */
void av_rgc_layout(struct av_rgc *c);

/* Coordinates (clamped; a level outside 0-5 maps to the baseline). */
double av_rgc_x(const struct av_rgc *c, int k); /* left edge of day k (k = ndays: right edge) */
double av_rgc_level_y(int level);
double av_rgc_timeline_h(const struct av_rgc *c); /* the timeline's height, > 0 */
double av_rgc_row_base(const struct av_rgc *c, int row); /* the baseline of row `row` */

/* The danger-level scale of every page: colour and name of 0-5
 * ("3 considerable"); outside 0-5 a white "no data". */
const char *av_level_colour(int level);
const char *av_level_name(int level);

#endif
