/* quality_chart.c - the chart of the last runs (see quality_chart.h). */
#include "quality_chart.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "dash_quality.h" /* av_quality_utf8_trim */
#include "html.h"

#define QC_DUR "#5b7fa6" /* duration bars */
#define QC_REQ "#7fbf7b" /* requests bars */
#define QC_RTY "#c2410c" /* the retries among them */

/* s cut to fit cap, never inside a UTF-8 sequence; NULL is "". */
static void cut(char *out, size_t cap, const char *s)
{
    size_t n = s ? strlen(s) : 0;

    if (n > cap - 1)
        n = av_quality_utf8_trim(s, cap - 1);
    if (n)
        memcpy(out, s, n);
    out[n] = '\0';
}

int av_qc_add_newest_first(struct av_qc *c, int64_t id, const char *kind, const char *status,
                           const char *started, double seconds, long requests, long retries)
{
    struct av_qc_run *r;

    if (c->n >= AV_QC_MAX)
        return 0;
    r = &c->run[c->n++];
    r->id = id;
    cut(r->kind, sizeof(r->kind), kind);
    cut(r->status, sizeof(r->status), status);
    cut(r->started, sizeof(r->started), started);
    r->seconds = isfinite(seconds) && seconds >= 0 ? seconds : -1;
    r->requests = requests < 0 ? 0 : requests;
    r->retries = retries < 0 ? 0 : retries > r->requests ? r->requests : retries;
    return 1;
}

/* The smallest 1-2-5 x 10^k at or above both m and least. */
static double top_of(double m, double least)
{
    static const double f[] = {1, 2, 5};

    for (double p = 1; p < 1e15; p *= 10)
        for (int i = 0; i < 3; i++)
            if (f[i] * p >= least && f[i] * p >= m)
                return f[i] * p;
    return 1e15;
}

void av_qc_layout(struct av_qc *c)
{
    double smax = 0, rmax = 0;

    for (int i = 0; i < c->n / 2; i++) { /* oldest first */
        struct av_qc_run t = c->run[i];
        c->run[i] = c->run[c->n - 1 - i];
        c->run[c->n - 1 - i] = t;
    }
    for (int i = 0; i < c->n; i++) {
        if (c->run[i].seconds > smax)
            smax = c->run[i].seconds;
        if ((double)c->run[i].requests > rmax)
            rmax = (double)c->run[i].requests;
    }
    c->s_top = top_of(smax, 1);
    c->req_top = top_of(rmax, 5);
}

static double clamp(double v, double lo, double hi)
{
    return isnan(v) ? hi : v < lo ? lo : v > hi ? hi : v;
}

double av_qc_x(const struct av_qc *c, int i)
{
    int n = c->n < 1 ? 1 : c->n;

    i = i < 0 ? 0 : i > n ? n : i;
    return AV_QC_PL + i * ((AV_QC_PR - AV_QC_PL) / n);
}

double av_qc_sy(const struct av_qc *c, double s)
{
    return clamp(AV_QC_PB - s / c->s_top * (AV_QC_PB - AV_QC_PT), AV_QC_PT, AV_QC_PB);
}

double av_qc_ry(const struct av_qc *c, double n)
{
    return clamp(AV_QC_PB - n / c->req_top * (AV_QC_PB - AV_QC_PT), AV_QC_PT, AV_QC_PB);
}

void av_qc_svg(struct av_buf *b, const struct av_qc *c)
{
    double sw = av_qc_x(c, 1) - av_qc_x(c, 0);
    int every = sw >= 28 ? 1 : (int)ceil(28 / sw);

    if (c->n == 0) {
        av_buf_puts(b, "<p id=\"runs-chart-note\">No runs yet.</p>\n");
        return;
    }
    av_buf_printf(b,
                  "<svg id=\"runs-chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d "
                  "%d\" width=\"%d\" height=\"%d\" role=\"img\" aria-describedby=\"runs-desc\" "
                  "font-family=\"system-ui,sans-serif\" font-size=\"10\" aria-label=\"Duration, "
                  "requests and retries of the last %d runs\"><title>Duration, requests and "
                  "retries of the last %d runs</title>\n<desc id=\"runs-desc\">Oldest on the "
                  "left. Per run: a bar for its duration (left axis, seconds; none while it "
                  "runs) and a bar for its HTTP requests (right axis) whose top part is the "
                  "retries among them.</desc>\n",
                  AV_QC_W, AV_QC_H, AV_QC_W, AV_QC_H, c->n, c->n);
    /* grid and axes */
    av_buf_puts(b, "<g stroke=\"#e6e6e6\">");
    for (int i = 1; i <= 5; i++) /* 1-2-5 tops: fifths are round */
        av_buf_printf(b, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>", AV_QC_PL,
                      AV_QC_PR, av_qc_sy(c, c->s_top * i / 5), av_qc_sy(c, c->s_top * i / 5));
    av_buf_printf(b, "</g><path d=\"M%.1f %.1fV%.1fH%.1fV%.1f\" fill=\"none\" stroke=\"#777\"/>"
                     "<g fill=\"#333\">",
                  AV_QC_PL, AV_QC_PT, AV_QC_PB, AV_QC_PR, AV_QC_PT);
    for (int i = 0; i <= 5; i++) {
        av_buf_printf(b, "<text class=\"s-tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%g"
                         "</text>",
                      AV_QC_PL - 4, av_qc_sy(c, c->s_top * i / 5) + 3, c->s_top * i / 5);
        av_buf_printf(b, "<text class=\"r-tick\" x=\"%.1f\" y=\"%.1f\">%g</text>", AV_QC_PR + 4,
                      av_qc_ry(c, c->req_top * i / 5) + 3, c->req_top * i / 5);
    }
    av_buf_printf(b,
                  "<text x=\"%.1f\" y=\"12\" text-anchor=\"middle\">seconds</text>"
                  "<text x=\"%.1f\" y=\"12\" text-anchor=\"middle\">requests</text>"
                  "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">run id</text></g>\n",
                  AV_QC_PL, AV_QC_PR, AV_QC_PL - 4, AV_QC_PB + 13);
    for (int i = 0; i < c->n; i++) {
        const struct av_qc_run *r = &c->run[i];
        double x = av_qc_x(c, i), yr = av_qc_ry(c, (double)r->requests);
        double yt = av_qc_ry(c, (double)(r->requests - r->retries));
        av_buf_printf(b,
                      "<g class=\"run\" data-run=\"%lld\" data-seconds=\"%.1f\" "
                      "data-requests=\"%ld\" data-retries=\"%ld\"><title>run %lld (",
                      (long long)r->id, r->seconds < 0 ? -1.0 : r->seconds, r->requests,
                      r->retries, (long long)r->id);
        av_html_esc(b, r->kind);
        av_buf_puts(b, ", ");
        av_html_esc(b, r->status);
        av_buf_puts(b, "), started ");
        av_html_esc(b, r->started);
        if (r->seconds >= 0)
            av_buf_printf(b, ": %.1f s", r->seconds);
        else
            av_buf_puts(b, ": no duration");
        av_buf_printf(b, ", %ld requests, %ld retries</title>", r->requests, r->retries);
        if (r->seconds >= 0) {
            double y = av_qc_sy(c, r->seconds);
            av_buf_printf(b,
                          "<rect class=\"dur\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                          "height=\"%.1f\" fill=\"" QC_DUR "\"/>",
                          x + sw * 0.1, y, sw * 0.4, AV_QC_PB - y);
        }
        av_buf_printf(b,
                      "<rect class=\"req\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                      "fill=\"" QC_REQ "\"/>",
                      x + sw * 0.5, yr, sw * 0.4, AV_QC_PB - yr);
        if (r->retries > 0)
            av_buf_printf(b,
                          "<rect class=\"rty\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                          "height=\"%.1f\" fill=\"" QC_RTY "\"/>",
                          x + sw * 0.5, yr, sw * 0.4, yt - yr);
        if (strcmp(r->status, "ok") != 0)
            av_buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
                             "fill=\"#b91c1c\">%c</text>",
                          x + sw / 2, AV_QC_PT - 2,
                          r->status[0] >= 'a' && r->status[0] <= 'z' ? r->status[0] : '?');
        if (i % every == 0 || i == c->n - 1)
            av_buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
                             "fill=\"#333\">%lld</text>",
                          x + sw / 2, AV_QC_PB + 13, (long long)r->id);
        av_buf_puts(b, "</g>\n");
    }
    av_buf_printf(b,
                  "<g fill=\"#333\"><rect x=\"%.0f\" y=\"%.0f\" width=\"10\" height=\"10\" "
                  "fill=\"" QC_DUR "\"/><text x=\"%.0f\" y=\"%.0f\">duration, s</text>"
                  "<rect x=\"%.0f\" y=\"%.0f\" width=\"10\" height=\"10\" fill=\"" QC_REQ "\"/>"
                  "<text x=\"%.0f\" y=\"%.0f\">requests</text>"
                  "<rect x=\"%.0f\" y=\"%.0f\" width=\"10\" height=\"10\" fill=\"" QC_RTY "\"/>"
                  "<text x=\"%.0f\" y=\"%.0f\">retries (of the requests)</text>"
                  "<text x=\"%.0f\" y=\"%.0f\" fill=\"#b91c1c\">p, f, i, r above a run: "
                  "partial, failed, interrupted, running</text></g>\n</svg>\n",
                  AV_QC_PL, AV_QC_LEG - 9, AV_QC_PL + 14, AV_QC_LEG, AV_QC_PL + 100,
                  AV_QC_LEG - 9, AV_QC_PL + 114, AV_QC_LEG, AV_QC_PL + 180, AV_QC_LEG - 9,
                  AV_QC_PL + 194, AV_QC_LEG, AV_QC_PL + 340, AV_QC_LEG);
}
