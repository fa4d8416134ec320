/* wx_svg.h - the weather section of a region page: the daily weather read
 * from the sink (the weather dataset) into the chart's layout (wx_chart.h)
 * and drawn as SVG — precipitation and snowfall bars, the mean temperature
 * in its min-max band, each day's values in a title, axes with units, a
 * legend — credited to Open-Meteo. Without weather (none stored for the
 * days, or a sink that does not keep it) a one-line note says why. HTML
 * only; every text from the store is escaped. */
#ifndef AV_WX_SVG_H
#define AV_WX_SVG_H

#include <stdint.h>

#include "../core/buf.h"
#include "http.h"
#include "wx_chart.h"

struct av_sink;
struct av_query;

/* Appends the section (its <h2>, the chart or the note) to b for the days
 * and region of q into chart (already set up for the window: wx_chart.h);
 * title is the region's "ID name" (escaped here); today draws the today
 * line. A read error writes a note and sets r->status to 500. */
void av_wx_section(struct av_buf *b, struct av_sink *sink, const struct av_query *q,
                   struct av_wxc *chart, const char *title, int64_t today,
                   struct av_http_resp *r);

#endif
