/* dashboard.h - the HTML pages of `serve`: last runs, per-region freshness
 * (stale ones highlighted) and a region x day heatmap of danger levels in
 * the standard danger-level colours; a page per region with its danger
 * and weather charts (region_svg.h, wx_chart.h) and warning history. Server-rendered, small inline
 * CSS and SVG, no external resources, no JavaScript needed. */
#ifndef AV_DASHBOARD_H
#define AV_DASHBOARD_H

#include <stdint.h>

#include "dash_front.h"
#include "dash_season.h"
#include "http.h"

struct av_store;
struct av_sink;

/* The front page for `day` (days; today when none is asked): the map
 * coloured by each region's level that day, the count of regions at each
 * level, the heatmap over day - 18 .. day + 2 (dash_front.h), links to the
 * day before, the day after and today; freshness and the last runs stay
 * relative to today. lang 1|2 = the language wanted (0 = not asked: 1,
 * and links without it); a region-day stored in one language only shows
 * that one. Warnings come from the sink (one read of the window),
 * freshness and runs from the state store. */
void av_dashboard(struct av_store *s, struct av_sink *sink, int64_t day, int lang,
                  struct av_http_resp *r);
/* A page per region (/region/ID): the window of region_chart.h (today -
 * 60 .. today + 2 without parameters; ?date=D: D - 60 .. D + 2 and the
 * full warning of D; ?season=YYYY-YY: 1 Oct .. 30 Jun of that season, and
 * with ?date= too the day's warning under the season's charts), links to
 * the season before and after (this region's page) and to /season/YYYY-YY,
 * then three charts on one day axis: the danger level per day as a step
 * chart, the avalanche problems as a timeline (region_svg.h), the daily
 * weather (precipitation, snowfall, temperature) with each day's level,
 * and the warnings with their problems. Texts in ?lang=1|2 (1 when not
 * asked) where a day has it, else in the language stored (one language
 * per day). Without weather (none stored, or a sink that does not keep
 * it) a one-line note replaces its chart. Two reads of the window (the
 * charts, then the table in the language kept) and the day's; a read
 * error of any part makes the answer a 500. */
struct av_region_view {
    int64_t day; /* ?date=; AV_DAY_LATEST (dash_region.h) when none */
    int season;  /* ?season=, its first year; 0 when none */
    int lang;    /* ?lang= 1|2; 0 when not asked */
};
/* The region page's parameters, strictly (params.h): 1 good (all absent
 * is good), 0 answered 400 naming the parameter (date, season, lang). */
int av_region_params(const struct av_http_req *req, struct av_region_view *v,
                     struct av_http_resp *r);
void av_region_page_view(struct av_sink *sink, int region_id, const struct av_region_view *v,
                         struct av_http_resp *r);
/* The page without parameters, and with ?date= only. */
void av_region_page(struct av_sink *sink, int region_id, struct av_http_resp *r);
void av_region_page_day(struct av_sink *sink, int region_id, int64_t day, struct av_http_resp *r);
/* The season page (/season/YYYY-YY, dash_season.c) of the season starting
 * in `year` (AV_SEASON_MIN..AV_SEASON_MAX, else 404): every catalog region
 * x every day of 1 Oct .. 30 Jun (dash_season.h), each cell with a warning
 * coloured, its level as text and title, linked to /region/ID?date=D;
 * an SVG of stacked bars of the regions at each level per day; links to
 * the previous and next season. lang as for av_dashboard. One read of
 * the season from the sink; a read error or a page that does not fit is
 * a 500. */
void av_season_page(struct av_sink *sink, int year, int lang, struct av_http_resp *r);
/* The data-quality page (/quality, dash_quality.c): coverage per region
 * and season (the last AV_QUALITY_SEASONS; "-" when the sink is not the
 * SQLite one), the holes, the rejects by stage and reason with a sample,
 * freshness per source and region (stale only in season), the last runs
 * with duration, requests and retries, as a table and a chart
 * (quality_chart.h). Reads the state store only, each
 * read bounded; a read error or a page that does not fit is a 500. */
void av_quality_page(struct av_store *s, struct av_sink *sink, struct av_http_resp *r);

#endif
