/* region_svg.h - the region page's two danger charts drawn as inline SVG
 * from their layout (region_chart.h): the danger level per day as a step
 * chart (id="danger-chart") and the avalanche problems as a timeline
 * (id="problem-timeline"). Both are as wide as the weather chart and use
 * its x axis, so the three line up day for day. No I/O; every text from
 * the store is escaped; every colour comes with a text (a <title> per
 * mark, a legend in words).
 *
 * What a test can read from the DOM:
 *   danger chart: <rect class="lv" data-from data-to data-level> per run
 *     of days at one level, its height (AV_RGC_DB - y) = level x 18;
 *   timeline: <g class="ptype" data-type="ID"> per problem type (in type
 *     id order) holding <rect class="pm" data-from data-to data-size> per
 *     run of days with that size, its height AV_RGC_MARK_H(size);
 *   both: <line class="today"> and <line class="chosen"> (the ?date= day)
 *     when those days are in the window.
 */
#ifndef AV_REGION_SVG_H
#define AV_REGION_SVG_H

#include <stdint.h>

#include "../core/buf.h"
#include "region_chart.h"

/* Appends the step chart, or a note (id="danger-note") when no day of
 * the window has a level. title is the region's "ID name" (escaped here);
 * chosen = the ?date= day or AV_DAY_LATEST. */
void av_rgc_danger_svg(struct av_buf *b, const struct av_rgc *c, const char *title, int64_t today,
                       int64_t chosen);
/* Appends the timeline, or a note (id="timeline-note") when no day has a
 * problem. Call av_rgc_layout() first. */
void av_rgc_timeline_svg(struct av_buf *b, const struct av_rgc *c, const char *title,
                         int64_t today, int64_t chosen);

#endif
