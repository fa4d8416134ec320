/* dashboard.h - the HTML page of `serve`: last runs, per-region freshness
 * (stale ones highlighted) and a region x day heatmap of danger levels in
 * the standard danger-level colours. Server-rendered, small inline CSS,
 * no external resources, no JavaScript needed. */
#ifndef AV_DASHBOARD_H
#define AV_DASHBOARD_H

#include "http.h"

struct av_store;

#define AV_DASH_DAYS 21 /* heatmap: today - 18 .. today + 2 */

void av_dashboard(struct av_store *s, struct av_http_resp *r);

#endif
