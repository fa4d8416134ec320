/* wx_chart.h - the layout of the region page's weather chart: a region's
 * daily weather and its danger levels on one day axis, turned into
 * coordinates that are always inside the chart. Pure (no I/O, no HTML, no
 * allocation): dashboard.c draws the SVG from it, and the unit tests check
 * the bounds on hostile input.
 *
 * Input: one slot per day of a window (first .. first + ndays - 1). A day
 * takes at most one weather record and one danger level (the first given
 * wins); days outside the window are ignored. The values come from a store
 * that can be changed outside avalanche, so they are hostile: NaN (null)
 * is absent; an infinity or a value no weather has (°C outside -90..60,
 * precipitation or snowfall below 0 or above 2000 a day) is absent too and
 * counted in `rejected`. The scales are derived from what is left, so
 * they are bounded by construction, and every coordinate function clamps
 * once more.
 *
 *   0,0 +--------------------------------------------------+ AV_WXC_W
 *       |  °C                                      mm · cm |
 *    PT |  +--------------------------------------------+  |
 *       |  | min-max band and mean line (left axis, °C) |  |
 *       |  | bars per day: precipitation mm | snowfall  |  |
 *       |  |   cm (right axis, from 0)                  |  |
 *    PB |  +--------------------------------------------+  |
 *    DT |  | danger level, one cell per day (DH high)   |  |
 *       |    day labels (Mondays)         day (Europe/Oslo)|
 *  LEG  |  legend                                          |
 *       +--------------------------------------------------+ AV_WXC_H
 *     PL ^                                             ^ PR
 */
#ifndef AV_WX_CHART_H
#define AV_WX_CHART_H

#include <stdint.h>

#include "../model/weather.h"

#define AV_WXC_MAX_DAYS 400 /* the longest window a chart takes */

/* The view box and the plot's edges, in SVG user units. */
#define AV_WXC_W 720
#define AV_WXC_H 280
#define AV_WXC_PL 46.0   /* plot left: the temperature axis */
#define AV_WXC_PR 674.0  /* plot right: the precipitation / snowfall axis */
#define AV_WXC_PT 22.0   /* plot top */
#define AV_WXC_PB 198.0  /* plot bottom: 0 mm, the lowest temperature tick */
#define AV_WXC_DT 204.0  /* the danger level band's top */
#define AV_WXC_DH 10.0   /* and its height */
#define AV_WXC_LEG 262.0 /* the legend's baseline */

/* What weather can be; beyond it a value is refused (see above). */
#define AV_WXC_T_MIN (-90.0)
#define AV_WXC_T_MAX 60.0
#define AV_WXC_AMOUNT_MAX 2000.0

struct av_wxc_day {
    int wx;                   /* a weather record was given for the day */
    double tmin, tmean, tmax; /* °C; NaN = absent */
    double precip, snow;      /* mm, cm; NaN = absent */
    int level;                /* danger level 0-5; -1 = none */
};

struct av_wxc {
    int64_t first; /* the window's first day (days since 1970-01-01) */
    int ndays;     /* 1..AV_WXC_MAX_DAYS */
    struct av_wxc_day day[AV_WXC_MAX_DAYS];
    int nwx;      /* days with a weather record */
    int rejected; /* values left out as impossible */
    /* set by av_wxc_layout() */
    double t_lo, t_hi, t_step;       /* temperature axis, °C: t_lo < t_hi */
    double a_hi, a_step;             /* amount axis from 0 (mm and cm): a_hi > 0 */
    double precip_total, snow_total; /* over the window (mm, cm) */
    double t_coldest, t_warmest;     /* lowest minimum, highest maximum; NaN = none */
};

/* An empty chart of ndays (clamped to 1..AV_WXC_MAX_DAYS) from first. */
void av_wxc_init(struct av_wxc *c, int64_t first, int ndays);
/* Day index of date in the window, -1 when outside. */
int av_wxc_index(const struct av_wxc *c, int64_t date);
/* Takes d's values for its day: 1 when used, 0 when outside the window or
 * the day already has a record. */
int av_wxc_add_weather(struct av_wxc *c, const struct av_wx_day *d);
/* The danger level of a day (the first one given; a level outside 0-5 is
 * ignored): 1 when used. */
int av_wxc_set_level(struct av_wxc *c, int64_t date, int level);
/* The scales and totals, after the days are in. */
void av_wxc_layout(struct av_wxc *c);

/* Coordinates, each clamped to the plot (NaN maps to the plot's bottom). */
double av_wxc_slot(const struct av_wxc *c);     /* width of one day */
double av_wxc_x(const struct av_wxc *c, int k); /* left edge of day k */
double av_wxc_ty(const struct av_wxc *c, double celsius);
double av_wxc_ay(const struct av_wxc *c, double amount);

#endif
