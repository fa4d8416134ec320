/* dashboard.h - the HTML page of `serve`: last runs, per-region freshness
 * (stale ones highlighted) and a region x day heatmap of danger levels in
 * the standard danger-level colours. Server-rendered, small inline CSS,
 * no external resources, no JavaScript needed. */
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
/* A page per region: recent history and the latest warning's problems. */
void av_region_page(struct av_sink *sink, int region_id, struct av_http_resp *r);

#endif
