/* dashboard.h - the HTML pages of `serve`: last runs, per-region freshness
 * (stale ones highlighted) and a region x day heatmap of danger levels in
 * the standard danger-level colours; a page per region with its weather
 * chart (wx_chart.h) and warning history. Server-rendered, small inline
 * CSS and SVG, no external resources, no JavaScript needed. */
#ifndef AV_DASHBOARD_H
#define AV_DASHBOARD_H

#include <stdint.h>

#include "http.h"

struct av_store;
struct av_sink;

#define AV_DASH_DAYS 21 /* heatmap: today - 18 .. today + 2 */

/* The dashboard; map_day = the day the map shows (days; usually today).
 * Warnings come from the sink, freshness and runs from the state store. */
void av_dashboard(struct av_store *s, struct av_sink *sink, int64_t map_day,
                  struct av_http_resp *r);
/* A page per region, over today - 60 .. today + 2: a chart of the daily
 * weather (precipitation, snowfall, temperature) with each day's danger
 * level, then the warnings with their problems. Without weather (none
 * stored, or a sink that does not keep it) a one-line note replaces the
 * chart; a read error of either part makes the answer a 500. */
void av_region_page(struct av_sink *sink, int region_id, struct av_http_resp *r);

#endif
