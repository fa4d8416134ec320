/* wx_svg.c - the weather chart of a region page drawn as SVG (see
 * wx_svg.h; the layout is wx_chart.c's). */
#include "wx_svg.h"

#include <math.h>
#include <stdio.h>

#include "../model/dataset.h"
#include "../sinks/sink.h"
#include "html.h"
#include "region_chart.h"

#define WX_PRECIP "#2f6db5" /* precipitation bars */
#define WX_SNOW "#9ad0f5"   /* snowfall bars */
#define WX_MEAN "#c0392b"   /* mean temperature line */
#define WX_BAND "#e06666"   /* min-max band (translucent) */

static int wx_row(void *ud, const void *rec)
{
    av_wxc_add_weather(ud, rec);
    return 0;
}

/* A chart value for a title ("-" when absent). The chart only keeps
 * values weather can have, so "%.1f" is short; snprintf bounds it anyway. */
static const char *num(double v, char out[16])
{
    if (isnan(v))
        snprintf(out, 16, "-");
    else
        snprintf(out, 16, "%.1f", v + 0.0); /* + 0.0: no "-0.0" */
    return out;
}

/* Each day with weather or a level: a group whose title says its values,
 * its two bars and its danger level cell. */
static void wx_days(struct av_buf *b, const struct av_wxc *c)
{
    double sw = av_wxc_slot(c);
    char d[AV_DATE_LEN], n[5][16];

    for (int k = 0; k < c->ndays; k++) {
        const struct av_wxc_day *x = &c->day[k];
        double x0 = av_wxc_x(c, k);
        if (!x->wx && x->level < 0)
            continue;
        av_date_format(c->first + k, d);
        av_buf_printf(b, "<g data-date=\"%s\"><title>%s: ", d, d);
        if (x->wx)
            av_buf_printf(b,
                          "precipitation %s mm, snowfall %s cm, temperature %s °C "
                          "(%s to %s)",
                          num(x->precip, n[0]), num(x->snow, n[1]), num(x->tmean, n[2]),
                          num(x->tmin, n[3]), num(x->tmax, n[4]));
        else
            av_buf_puts(b, "no weather");
        if (x->level >= 0)
            av_buf_printf(b, "; danger level %s", av_level_name(x->level));
        av_buf_puts(b, "</title>");
        if (!isnan(x->precip)) {
            double y = av_wxc_ay(c, x->precip);
            av_buf_printf(b,
                          "<rect class=\"pr\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                          "height=\"%.1f\" fill=\"" WX_PRECIP "\"/>",
                          x0 + sw * 0.1, y, sw * 0.4, AV_WXC_PB - y);
        }
        if (!isnan(x->snow)) {
            double y = av_wxc_ay(c, x->snow);
            av_buf_printf(b,
                          "<rect class=\"sn\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                          "height=\"%.1f\" fill=\"" WX_SNOW "\"/>",
                          x0 + sw * 0.5, y, sw * 0.4, AV_WXC_PB - y);
        }
        if (x->level >= 0)
            av_buf_printf(b,
                          "<rect class=\"dl\" data-level=\"%d\" x=\"%.1f\" y=\"%.1f\" "
                          "width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>",
                          x->level, x0, AV_WXC_DT, sw, AV_WXC_DH, av_level_colour(x->level));
        av_buf_puts(b, "</g>\n");
    }
}

/* The temperature: a min-max band and a mean line over each run of days
 * that have them (a lone day: a whisker, a dot). */
static void wx_temperature(struct av_buf *b, const struct av_wxc *c)
{
    double sw = av_wxc_slot(c);

    for (int k = 0; k < c->ndays;) {
        int e = k;
        while (e < c->ndays && !isnan(c->day[e].tmin) && !isnan(c->day[e].tmax))
            e++;
        if (e == k) {
            k++;
            continue;
        }
        if (e - k == 1) {
            double x = av_wxc_x(c, k) + sw / 2;
            av_buf_printf(b,
                          "<line class=\"band\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" "
                          "y2=\"%.1f\" stroke=\"" WX_BAND "\" stroke-opacity=\".5\" "
                          "stroke-width=\"3\"/>\n",
                          x, x, av_wxc_ty(c, c->day[k].tmax), av_wxc_ty(c, c->day[k].tmin));
        } else {
            av_buf_puts(b, "<polygon class=\"band\" fill=\"" WX_BAND "\" fill-opacity=\".3\" "
                           "points=\"");
            for (int i = k; i < e; i++)
                av_buf_printf(b, "%.1f,%.1f ", av_wxc_x(c, i) + sw / 2,
                              av_wxc_ty(c, c->day[i].tmax));
            for (int i = e - 1; i >= k; i--)
                av_buf_printf(b, "%.1f,%.1f%s", av_wxc_x(c, i) + sw / 2,
                              av_wxc_ty(c, c->day[i].tmin), i > k ? " " : "");
            av_buf_puts(b, "\"/>\n");
        }
        k = e;
    }
    for (int k = 0; k < c->ndays;) {
        int e = k;
        while (e < c->ndays && !isnan(c->day[e].tmean))
            e++;
        if (e == k) {
            k++;
            continue;
        }
        if (e - k == 1) {
            av_buf_printf(b,
                          "<circle class=\"mean\" cx=\"%.1f\" cy=\"%.1f\" r=\"2\" "
                          "fill=\"" WX_MEAN "\"/>\n",
                          av_wxc_x(c, k) + sw / 2, av_wxc_ty(c, c->day[k].tmean));
        } else {
            av_buf_puts(b, "<polyline class=\"mean\" fill=\"none\" stroke=\"" WX_MEAN "\" "
                           "stroke-width=\"1.5\" points=\"");
            for (int i = k; i < e; i++)
                av_buf_printf(b, "%.1f,%.1f%s", av_wxc_x(c, i) + sw / 2,
                              av_wxc_ty(c, c->day[i].tmean), i + 1 < e ? " " : "");
            av_buf_puts(b, "\"/>\n");
        }
        k = e;
    }
}

/* Grid, both value axes with their units, the day axis and the legend. */
static void wx_axes(struct av_buf *b, const struct av_wxc *c, int64_t today)
{
    int nt = (int)lround((c->t_hi - c->t_lo) / c->t_step), every;
    double sw = av_wxc_slot(c);
    char d[AV_DATE_LEN];
    int k;

    nt = nt < 1 ? 1 : nt > 40 ? 40 : nt; /* the layout keeps it under 30 */
    av_buf_puts(b, "<g stroke=\"#e6e6e6\">");
    for (int i = 0; i <= nt; i++) {
        double y = av_wxc_ty(c, c->t_lo + i * c->t_step);
        av_buf_printf(b, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>", AV_WXC_PL,
                      AV_WXC_PR, y, y);
    }
    av_buf_puts(b, "</g>\n");
    if (c->t_lo < 0 && c->t_hi > 0)
        av_buf_printf(b,
                      "<line class=\"zero\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" "
                      "y2=\"%.1f\" stroke=\"#999\" stroke-dasharray=\"3 3\"/>\n",
                      AV_WXC_PL, AV_WXC_PR, av_wxc_ty(c, 0), av_wxc_ty(c, 0));
    av_buf_printf(b, "<path d=\"M%.1f %.1fV%.1fH%.1fV%.1f\" fill=\"none\" stroke=\"#777\"/>\n",
                  AV_WXC_PL, AV_WXC_PT, AV_WXC_PB, AV_WXC_PR, AV_WXC_PT);
    av_buf_puts(b, "<g fill=\"#333\">");
    for (int i = 0; i <= nt; i++)
        av_buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.0f</text>",
                      AV_WXC_PL - 4, av_wxc_ty(c, c->t_lo + i * c->t_step) + 3,
                      c->t_lo + i * c->t_step + 0.0);
    for (int i = 0; i <= 5; i++)
        av_buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\">%.0f</text>", AV_WXC_PR + 4,
                      av_wxc_ay(c, i * c->a_step) + 3, i * c->a_step);
    av_buf_printf(b,
                  "<text x=\"%.1f\" y=\"12\" text-anchor=\"middle\">°C</text>"
                  "<text x=\"%.1f\" y=\"12\" text-anchor=\"middle\">mm · cm</text>"
                  "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">level</text>",
                  AV_WXC_PL, AV_WXC_PR, AV_WXC_PL - 4, AV_WXC_DT + 8);
    /* day labels on Mondays, every week or every few when the days are narrow */
    every = sw * 7 >= 48 ? 1 : (int)ceil(48 / (sw * 7));
    for (k = 0; k < c->ndays && av_weekday(c->first + k) != 1; k++)
        ;
    for (; k < c->ndays; k += 7 * every) {
        double x = av_wxc_x(c, k) + sw / 2;
        av_date_format(c->first + k, d);
        av_buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>", x,
                      AV_WXC_DT + AV_WXC_DH + 13, d + 5);
    }
    av_buf_printf(b,
                  "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">day (Europe/Oslo)"
                  "</text>",
                  AV_WXC_PR, AV_WXC_DT + AV_WXC_DH + 27);
    if ((k = av_wxc_index(c, today)) >= 0)
        av_buf_printf(b,
                      "<line class=\"today\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" "
                      "y2=\"%.1f\" stroke=\"#555\" stroke-dasharray=\"2 2\"/>"
                      "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">today</text>",
                      av_wxc_x(c, k) + sw / 2, av_wxc_x(c, k) + sw / 2, AV_WXC_PT,
                      AV_WXC_DT + AV_WXC_DH, av_wxc_x(c, k) + sw / 2 - 3, AV_WXC_PT + 9);
    /* the legend */
    av_buf_printf(b,
                  "<rect x=\"%.0f\" y=\"%.0f\" width=\"10\" height=\"10\" fill=\"" WX_PRECIP
                  "\"/><text x=\"%.0f\" y=\"%.0f\">precipitation, mm</text>"
                  "<rect x=\"%.0f\" y=\"%.0f\" width=\"10\" height=\"10\" fill=\"" WX_SNOW
                  "\"/><text x=\"%.0f\" y=\"%.0f\">snowfall, cm</text>"
                  "<line x1=\"%.0f\" x2=\"%.0f\" y1=\"%.0f\" y2=\"%.0f\" stroke=\"" WX_MEAN
                  "\" stroke-width=\"2\"/><text x=\"%.0f\" y=\"%.0f\">mean temperature, °C</text>"
                  "<rect x=\"%.0f\" y=\"%.0f\" width=\"10\" height=\"10\" fill=\"" WX_BAND
                  "\" fill-opacity=\".3\"/><text x=\"%.0f\" y=\"%.0f\">min–max, °C</text>",
                  AV_WXC_PL, AV_WXC_LEG - 9, AV_WXC_PL + 14, AV_WXC_LEG, AV_WXC_PL + 118,
                  AV_WXC_LEG - 9, AV_WXC_PL + 132, AV_WXC_LEG, AV_WXC_PL + 206, AV_WXC_PL + 220,
                  AV_WXC_LEG - 4, AV_WXC_LEG - 4, AV_WXC_PL + 224, AV_WXC_LEG, AV_WXC_PL + 340,
                  AV_WXC_LEG - 9, AV_WXC_PL + 354, AV_WXC_LEG);
    for (int l = 1; l <= 5; l++)
        av_buf_printf(b, "<rect x=\"%.0f\" y=\"%.0f\" width=\"10\" height=\"10\" fill=\"%s\"/>",
                      AV_WXC_PL + 420 + 10 * (l - 1), AV_WXC_LEG - 9, av_level_colour(l));
    av_buf_printf(b, "<text x=\"%.0f\" y=\"%.0f\">danger level 1–5</text></g>\n", AV_WXC_PL + 474,
                  AV_WXC_LEG);
}

/* The chart; `title` is the region's "ID name" (escaped here). */
static void wx_svg(struct av_buf *b, const struct av_wxc *c, const char *title, int64_t today)
{
    char d0[AV_DATE_LEN], d1[AV_DATE_LEN], lo[16], hi[16];

    av_date_format(c->first, d0);
    av_date_format(c->first + c->ndays - 1, d1);
    av_buf_printf(b,
                  "<svg id=\"wx-chart\" xmlns=\"http://www.w3.org/2000/svg\" "
                  "viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" role=\"img\" "
                  "aria-describedby=\"wx-desc\" font-family=\"system-ui,sans-serif\" "
                  "font-size=\"10\" aria-label=\"Daily weather and danger level, ",
                  AV_WXC_W, AV_WXC_H, AV_WXC_W, AV_WXC_H);
    av_html_esc(b, title);
    av_buf_printf(b, ", %s to %s\"><title>Daily weather and danger level, ", d0, d1);
    av_html_esc(b, title);
    av_buf_printf(b,
                  ", %s to %s</title>\n<desc id=\"wx-desc\">%d of %d days have weather "
                  "(Open-Meteo, the mean over the region's points): %.1f mm of "
                  "precipitation and %.1f cm of snowfall in all, temperatures from %s to "
                  "%s °C. Bars: each day's precipitation (mm) and snowfall (cm), right "
                  "axis. Line: the daily mean temperature in its min–max band, left axis "
                  "(°C). Cells under the days: the danger level. Days without weather are "
                  "blank.",
                  d0, d1, c->nwx, c->ndays, c->precip_total, c->snow_total, num(c->t_coldest, lo),
                  num(c->t_warmest, hi));
    if (c->rejected)
        av_buf_printf(b, " %d values no weather can have were left out.", c->rejected);
    av_buf_puts(b, "</desc>\n");
    wx_axes(b, c, today);
    wx_days(b, c);
    wx_temperature(b, c);
    av_buf_puts(b, "</svg>\n");
}

void av_wx_section(struct av_buf *b, struct av_sink *sink, const struct av_query *q,
                   struct av_wxc *chart, const char *title, int64_t today,
                   struct av_http_resp *r)
{
    char err[AV_ERRBUF_SIZE];

    av_buf_puts(b, "<h2>Weather and danger level</h2>\n");
    if (!av_sink_keeps(sink, &av_ds_wx_daily)) {
        av_buf_puts(b, "<p id=\"wx-note\">No weather here: the ");
        av_html_esc(b, av_sink_name(sink));
        av_buf_puts(b, " sink does not keep it (store.sink = sqlite does).</p>\n");
        return;
    }
    if (av_sink_read_rows(sink, &av_ds_wx_daily, q, wx_row, chart, err) != AV_OK) {
        r->status = 500;
        av_buf_puts(b, "<p id=\"wx-note\">The weather could not be read: ");
        av_html_esc(b, err);
        av_buf_puts(b, "</p>\n");
        return;
    }
    if (chart->nwx == 0) {
        av_buf_puts(b, "<p id=\"wx-note\">No weather stored for these days (runs with "
                       "--sources varsom,weather fetch it).</p>\n");
        return;
    }
    av_wxc_layout(chart);
    wx_svg(b, chart, title, today);
    av_buf_puts(b, "<p class=\"credit\">Weather data by <a href=\"https://open-meteo.com/\">"
                   "Open-Meteo.com</a> (<a href=\"https://creativecommons.org/licenses/by/4.0/"
                   "\">CC BY 4.0</a>).</p>\n");
}
