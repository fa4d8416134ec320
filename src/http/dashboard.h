/* dashboard.h - the HTML pages of `serve`: last runs, per-region freshness
 * (stale ones highlighted) and a region x day heatmap of danger levels in
 * the standard danger-level colours; a page per region with its weather
 * chart (wx_chart.h) and warning history. Server-rendered, small inline
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
/* A page per region, over today - 60 .. today + 2: a link to the full
 * warning of the latest stored day, a chart of the daily
 * weather (precipitation, snowfall, temperature) with each day's danger
 * level, then the warnings with their problems. Without weather (none
 * stored, or a sink that does not keep it) a one-line note replaces the
 * chart; a read error of any part makes the answer a 500. */
void av_region_page(struct av_sink *sink, int region_id, struct av_http_resp *r);
/* The same page for /region/ID?date=D: the link is replaced by the full
 * warning of day D with a rose per avalanche problem (dash_region.h). */
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
 * with duration, requests and retries. Reads the state store only, each
 * read bounded; a read error or a page that does not fit is a 500. */
void av_quality_page(struct av_store *s, struct av_sink *sink, struct av_http_resp *r);

#endif
