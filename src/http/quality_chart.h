/* quality_chart.h - the data-quality page's chart of the last runs: per
 * run, oldest on the left, its duration (a bar, left axis, seconds) and
 * its HTTP requests (a bar, right axis) with the retries among them (the
 * bar's top part). Values in, inline SVG out (id="runs-chart"); no I/O:
 * dash_quality.c collects the runs from the state store, the unit tests
 * check the scales and the bounds on hostile values (a duration below 0 or
 * a run still going: no duration bar; counts below 0: 0; retries above
 * the requests: the requests).
 *
 *   0,0 +-------------------------------------------------+ AV_QC_W
 *       | s                                      requests |
 *    PT |  +-------------------------------------------+  |
 *       |  |  per run: [duration][requests, retries on top]
 *    PB |  +-------------------------------------------+  |
 *       |    run ids                                      |
 *  LEG  |  legend                                         |
 *       +-------------------------------------------------+ AV_QC_H
 */
#ifndef AV_QUALITY_CHART_H
#define AV_QUALITY_CHART_H

#include <stdint.h>

#include "../core/buf.h"

#define AV_QC_MAX 50 /* runs drawn */
#define AV_QC_W 720
#define AV_QC_H 230
#define AV_QC_PL 56.0
#define AV_QC_PR 664.0
#define AV_QC_PT 22.0
#define AV_QC_PB 170.0
#define AV_QC_LEG 222.0

struct av_qc_run {
    int64_t id;
    char kind[16], status[16]; /* cut */
    char started[32];          /* the stored stamp, cut */
    double seconds;            /* < 0: none (still running, or no end) */
    long requests, retries;
};

struct av_qc {
    int n; /* runs, oldest first */
    struct av_qc_run run[AV_QC_MAX];
    double s_top;   /* duration axis top, seconds (> 0) */
    double req_top; /* requests axis top (>= 1) */
};

/* Adds a run given newest first (the store's order); beyond AV_QC_MAX
 * ignored. Returns 1 when kept. Strings may be NULL. */
int av_qc_add_newest_first(struct av_qc *c, int64_t id, const char *kind, const char *status,
                           const char *started, double seconds, long requests, long retries);
/* The scales, after the last add: the smallest 1-2-5 step top holding
 * every value. */
void av_qc_layout(struct av_qc *c);
/* Coordinates (clamped to the plot). */
double av_qc_x(const struct av_qc *c, int i); /* left edge of run i's slot */
double av_qc_sy(const struct av_qc *c, double seconds);
double av_qc_ry(const struct av_qc *c, double requests);
/* The chart, or a note (id="runs-chart-note") without runs. */
void av_qc_svg(struct av_buf *b, const struct av_qc *c);

#endif
