/* dashboard.c - the dashboard page (see dashboard.h). */
#include "dashboard.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/tz.h"
#include "../sinks/sink.h"
#include "../sinks/store.h"
#include "../model/regions.h"
#include "dash_region.h"
#include "region_shapes.h"
#include "wx_chart.h"

/* Danger level colours used by the European avalanche warning services. */
static const char *const level_colour[6] = {"#d9d9d9", "#ccff66", "#ffff00",
                                            "#ff9900", "#ff0000", "#000000"};
static const char *const level_name[6] = {"not assessed", "1 low", "2 moderate",
                                          "3 considerable", "4 high", "5 very high"};

static void esc(struct av_buf *b, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<': av_buf_puts(b, "&lt;"); break;
        case '>': av_buf_puts(b, "&gt;"); break;
        case '&': av_buf_puts(b, "&amp;"); break;
        case '"': av_buf_puts(b, "&quot;"); break;
        default: av_buf_putc(b, *s);
        }
    }
}

struct grid {
    struct av_dash_grid cells; /* the levels of the window (dash_front.h) */
    char last[AV_MAX_REGIONS][AV_DATE_LEN];
};

/* The level's colour and name; a level outside 0-5 (which the store's
 * reader refuses) would be shown as unknown rather than read out of bounds. */
static const char *colour_of(int l)
{
    return l >= 0 && l <= 5 ? level_colour[l] : "#ffffff";
}

static const char *name_of(int l)
{
    return l >= 0 && l <= 5 ? level_name[l] : "no data";
}

static int region_index(int id)
{
    for (int i = 0; i < av_regions_count(); i++)
        if (av_region_at(i)->id == id)
            return i;
    return -1;
}

static int fill(void *ud, const struct av_warning *w)
{
    struct grid *g = ud;

    av_dash_grid_put(&g->cells, region_index(w->region_id), w->valid_date, w->lang,
                     w->danger_level);
    return 0;
}

static int last_date(void *ud, const struct av_state_row *s)
{
    struct grid *g = ud;
    int ri = region_index(s->region_id);

    if (ri >= 0 && s->last_date && strcmp(s->last_date, g->last[ri]) > 0)
        snprintf(g->last[ri], AV_DATE_LEN, "%s", s->last_date);
    return 0;
}

struct runs_ctx {
    struct av_buf *b;
};

static int run_row(void *ud, const struct av_run_row *x)
{
    struct av_buf *b = ((struct runs_ctx *)ud)->b;

    av_buf_printf(b, "<tr class=\"run-%s\"><td>%lld</td><td>", x->status, (long long)x->id);
    esc(b, x->kind);
    av_buf_puts(b, "</td><td>");
    esc(b, x->status);
    av_buf_puts(b, "</td><td>");
    esc(b, x->started_at);
    av_buf_puts(b, "</td><td>");
    {
        av_ms t0, t1;
        if (x->ended_at && av_stamp_parse(x->started_at, &t0) == AV_OK &&
            av_stamp_parse(x->ended_at, &t1) == AV_OK)
            av_buf_printf(b, "%.1f s", (double)(t1 - t0) / 1000.0);
        else
            av_buf_puts(b, "-");
    }
    av_buf_printf(b, "</td><td>%d/%d</td><td>%ld</td><td>%ld</td><td>", x->c.units_ok,
                  x->c.units_total, x->c.warnings_stored, x->c.warnings_rejected);
    esc(b, x->error ? x->error : "");
    av_buf_puts(b, "</td></tr>\n");
    return 0;
}

static void page_head(struct av_buf *b, const char *title)
{
    av_buf_puts(b,
                "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                "<title>");
    esc(b, title);
    av_buf_puts(b,
                "</title><style>"
                "body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}"
                "table{border-collapse:collapse;margin-bottom:1.5em}"
                "td,th{border:1px solid #ccc;padding:2px 6px;text-align:left;vertical-align:top}"
                ".heat td.c{width:18px;height:18px;padding:0;text-align:center;font-size:11px}"
                ".stale{background:#ffe0e0}.run-failed,.run-interrupted{background:#ffe0e0}"
                ".run-partial{background:#fff4d0}.legend span{display:inline-block;width:14px;"
                "height:14px;margin:0 4px 0 10px;vertical-align:middle;border:1px solid #999}"
                "#map path{stroke:#333;stroke-width:.5}#map a:hover path{stroke-width:2}"
                ".cols{display:flex;gap:2em;flex-wrap:wrap}"
                ".sw{display:inline-block;width:12px;height:12px;margin-right:6px;"
                "vertical-align:middle;border:1px solid #999}"
                ".heat th.sel{background:#333;color:#fff}"
                "</style></head><body>\n");
}

/* The map of regions coloured by their level on day `day`. */
static void map_svg(struct av_buf *b, struct grid *g, int64_t day)
{
    char d[AV_DATE_LEN];

    av_date_format(day, d);
    av_buf_printf(b, "<div><h2>Map, %s</h2><svg id=\"map\" xmlns=\"http://www.w3.org/2000/svg\""
                     " viewBox=\"0 0 400 560\" width=\"400\" height=\"560\" role=\"img\">\n",
                  d);
    for (int i = 0; i < av_region_shapes_count; i++) {
        const struct av_region_shape *sh = &av_region_shapes[i];
        const struct av_region *reg = av_region_find(sh->id);
        int lang, l = av_dash_grid_at(&g->cells, region_index(sh->id), day, &lang);
        av_buf_printf(b, "<a href=\"/region/%d\"><path data-region=\"%d\" data-level=\"%d\" "
                         "fill=\"%s\" data-lang=\"%d\" d=\"%s\"><title>%d ",
                      sh->id, sh->id, l, colour_of(l), lang, sh->path, sh->id);
        esc(b, reg ? reg->name : "");
        av_buf_printf(b, ": %s</title></path></a>\n", name_of(l));
    }
    av_buf_puts(b, "</svg>\n");
}

/* Under the map: how many regions are at each level on `day`, as a table
 * with the level's colour and name (the colour is never the only cue). */
static void day_counts(struct av_buf *b, const struct grid *g, int64_t day)
{
    int n[7], with = av_dash_grid_counts(&g->cells, av_regions_count(), day, n);
    char d[AV_DATE_LEN];

    av_date_format(day, d);
    av_buf_printf(b, "<table id=\"counts\" data-date=\"%s\"><caption>Regions per danger "
                     "level, %s</caption><tr><th>danger level</th><th>regions</th></tr>\n",
                  d, d);
    for (int l = 0; l <= 5; l++)
        av_buf_printf(b, "<tr data-level=\"%d\"><td><span class=\"sw\" style=\"background:%s\">"
                         "</span>%s</td><td>%d</td></tr>\n",
                      l, level_colour[l], level_name[l], n[l]);
    av_buf_printf(b, "<tr data-level=\"-1\"><td>no warning stored</td><td>%d</td></tr>"
                     "<tr><th>with a warning</th><th>%d</th></tr></table></div>\n",
                  n[6], with);
}

/* A link to the front page for `day` (or, dated = 0, today's: no date),
 * keeping lang. */
static void day_link(struct av_buf *b, int dated, int64_t day, int lang, const char *rel,
                     const char *text)
{
    char d[AV_DATE_LEN];

    av_buf_puts(b, "<a href=\"/");
    if (dated) {
        av_date_format(day, d);
        av_buf_printf(b, "?date=%s", d);
    }
    if (lang)
        av_buf_printf(b, "%slang=%d", dated ? "&amp;" : "?", lang);
    av_buf_printf(b, "\"%s%s%s>%s</a>", rel ? " rel=\"" : "", rel ? rel : "", rel ? "\"" : "",
                  text);
}

/* The day shown and links to the day before, the day after and today;
 * a neighbour outside the dates ?date= accepts gets no link. */
static void day_nav(struct av_buf *b, int64_t day, int64_t today, int lang)
{
    char d[AV_DATE_LEN], t[AV_DATE_LEN + 8];
    int64_t back;

    av_date_format(day, d);
    av_buf_printf(b, "<p id=\"days\">Showing <strong>%s</strong>%s", d,
                  day == today ? " (today)" : "");
    for (int step = -1; step <= 1; step += 2) {
        av_date_format(day + step, d);
        if (av_date_parse(d, &back) != AV_OK || back != day + step)
            continue;
        snprintf(t, sizeof(t), step < 0 ? "&larr; %s" : "%s &rarr;", d);
        av_buf_puts(b, " · ");
        day_link(b, 1, day + step, lang, step < 0 ? "prev" : "next", t);
    }
    av_buf_puts(b, " · ");
    day_link(b, 0, today, lang, NULL, "today");
    { /* the season of the day shown (the current one for today) */
        int sy = av_season_of(day);
        char sn[AV_SEASON_NAME_LEN];
        av_season_name(sy, sn);
        if (sy >= AV_SEASON_MIN && sy <= AV_SEASON_MAX)
            av_buf_printf(b, " · <a id=\"season-link\" href=\"/season/%s%s\">season %s</a>",
                          sn, lang == 2 ? "?lang=2" : lang == 1 ? "?lang=1" : "", sn);
    }
    av_buf_puts(b, " · <a id=\"quality-link\" href=\"/quality\">data quality</a></p>\n");
}

void av_dashboard(struct av_store *s, struct av_sink *sink, int64_t map_day, int lang,
                  struct av_http_resp *r)
{
    struct grid *g = calloc(1, sizeof(*g));
    struct av_buf *b = &r->body;
    struct av_query q = {NULL, 0, 0, 0, 0, 0};
    struct runs_ctx rc = {b};
    char err[AV_ERRBUF_SIZE], d[AV_DATE_LEN];
    int64_t today = av_oslo_today();

    if (g == NULL) {
        r->status = 500;
        r->type = "text/plain; charset=utf-8";
        av_buf_puts(b, "out of memory\n");
        return;
    }
    av_dash_grid_init(&g->cells, map_day, lang);
    q.from = g->cells.first; /* one bounded read: the window, both languages */
    q.to = g->cells.first + AV_DASH_DAYS - 1;
    if (av_sink_read(sink, &q, fill, g, err) != AV_OK ||
        av_store_each_state(s, last_date, g, err) != AV_OK) {
        r->status = 500;
        r->type = "text/plain; charset=utf-8";
        av_buf_printf(b, "store error: %s\n", err);
        free(g);
        return;
    }
    r->type = "text/html; charset=utf-8";
    page_head(b, "avalanche");
    av_buf_puts(b, "<h1>avalanche</h1>\n");
    av_date_format(today, d);
    av_buf_printf(b, "<p>Today (Europe/Oslo): %s. Data: NVE / varsom.no (NLOD).</p>\n", d);

    av_buf_puts(b, "<h2>Danger levels</h2><p class=\"legend\">");
    for (int l = 0; l <= 5; l++)
        av_buf_printf(b, "<span style=\"background:%s\"></span>%s", level_colour[l],
                      level_name[l]);
    av_buf_puts(b, "</p>\n");
    day_nav(b, map_day, today, lang);
    av_buf_puts(b, "<div class=\"cols\">");
    map_svg(b, g, map_day);
    day_counts(b, g, map_day);
    av_date_format(g->cells.first, d);
    av_buf_printf(b, "<div><h2>%s weeks</h2><p>%s to ", map_day == today ? "Last" : "Three", d);
    av_date_format(g->cells.first + AV_DASH_DAYS - 1, d);
    av_buf_printf(b, "%s</p><table class=\"heat\" id=\"heatmap\"><tr><th>region</th>", d);
    for (int k = 0; k < AV_DASH_DAYS; k++) {
        av_date_format(g->cells.first + k, d);
        av_buf_printf(b, "<th title=\"%s\"%s>%s</th>", d,
                      g->cells.first + k == map_day ? " class=\"sel\"" : "", d + 8);
    }
    av_buf_puts(b, "</tr>\n");
    for (int i = 0; i < av_regions_count(); i++) {
        const struct av_region *reg = av_region_at(i);
        int any = 0;
        for (int k = 0; k < AV_DASH_DAYS; k++)
            any |= g->cells.level[i][k] >= 0;
        if (!reg->active && !any)
            continue;
        av_buf_printf(b, "<tr data-region=\"%d\"><td><a href=\"/region/%d\">%d ", reg->id,
                      reg->id, reg->id);
        esc(b, reg->name);
        av_buf_puts(b, "</a></td>");
        for (int k = 0; k < AV_DASH_DAYS; k++) {
            int l = g->cells.level[i][k];
            av_date_format(g->cells.first + k, d);
            if (l < 0)
                av_buf_printf(b, "<td class=\"c\" data-date=\"%s\"></td>", d);
            else
                av_buf_printf(b,
                              "<td class=\"c\" data-date=\"%s\" data-level=\"%d\" "
                              "style=\"background:%s;color:%s\" title=\"%s\">%d</td>",
                              d, l, colour_of(l), l == 5 ? "#fff" : "#000", name_of(l),
                              l);
        }
        av_buf_puts(b, "</tr>\n");
    }
    av_buf_puts(b, "</table></div></div>\n<h2>Freshness</h2><table id=\"freshness\"><tr><th>region</th>"
                   "<th>latest stored date</th><th>days behind today</th></tr>\n");
    for (int i = 0; i < av_regions_count(); i++) {
        const struct av_region *reg = av_region_at(i);
        int64_t ld = 0;
        int known = g->last[i][0] && av_date_parse(g->last[i], &ld) == AV_OK;
        /* Stale: nothing stored for today yet (the plan reaches today + 2). */
        int stale = !known || ld < today;

        if (!reg->active && !known)
            continue;
        av_buf_printf(b, "<tr class=\"%s\" data-region=\"%d\"><td>%d ", stale ? "stale" : "",
                      reg->id, reg->id);
        esc(b, reg->name);
        if (known)
            av_buf_printf(b, "</td><td>%s</td><td>%lld</td></tr>\n", g->last[i],
                          (long long)(today - ld));
        else
            av_buf_puts(b, "</td><td>never</td><td></td></tr>\n");
    }
    av_buf_puts(b, "</table>\n<h2>Last runs</h2><table id=\"runs\"><tr><th>id</th><th>kind</th>"
                   "<th>status</th><th>started (UTC)</th><th>duration</th><th>requests ok</th>"
                   "<th>stored</th><th>rejected</th><th>error</th></tr>\n");
    av_store_each_run(s, 15, run_row, &rc, err);
    av_buf_puts(b, "</table>\n<p><a href=\"/api/regions\">/api/regions</a> · "
                   "<a href=\"/api/warnings\">/api/warnings</a> · <a href=\"/api/runs\">"
                   "/api/runs</a> · <a href=\"/metrics\">/metrics</a></p></body></html>\n");
    free(g);
}

/* ---- a page per region ---- */

struct region_ctx {
    struct av_buf *b;
    int rows;
    struct av_wxc *chart; /* takes each day's danger level */
};

static int history_row(void *ud, const struct av_warning *w)
{
    struct region_ctx *c = ud;
    char d[AV_DATE_LEN], pub[AV_STAMP_LEN] = "";
    int l = w->danger_level;

    av_wxc_set_level(c->chart, w->valid_date, l);
    av_date_format(w->valid_date, d);
    if (w->publish_time != AV_NULL_MS)
        av_stamp_format(w->publish_time, pub);
    av_buf_printf(c->b, "<tr data-date=\"%s\" data-lang=\"%d\"><td>%s</td><td>%d</td>"
                        "<td style=\"background:%s;color:%s\">%s</td><td>%s</td><td>",
                  d, w->lang, d, w->lang, colour_of(l), l == 5 ? "#fff" : "#000",
                  name_of(l), pub);
    esc(c->b, w->main_text ? w->main_text : "");
    av_buf_puts(c->b, "</td><td>");
    for (int k = 0; k < w->n_problems; k++) {
        const struct av_problem *p = &w->problems[k];
        if (k)
            av_buf_puts(c->b, "<br>");
        esc(c->b, p->type_name ? p->type_name : "?");
        if (p->exposed_text) {
            av_buf_puts(c->b, " (");
            esc(c->b, p->exposed_text);
            av_buf_puts(c->b, ")");
        }
    }
    av_buf_puts(c->b, "</td></tr>\n");
    c->rows++;
    return 0;
}

/* ---- the weather chart (layout: wx_chart.h; here only the drawing) ---- */

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
            av_buf_printf(b, "; danger level %s", name_of(x->level));
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
                          x->level, x0, AV_WXC_DT, sw, AV_WXC_DH, colour_of(x->level));
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
                      AV_WXC_PL + 420 + 10 * (l - 1), AV_WXC_LEG - 9, level_colour[l]);
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
    esc(b, title);
    av_buf_printf(b, ", %s to %s\"><title>Daily weather and danger level, ", d0, d1);
    esc(b, title);
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

/* The weather section of a region page: the chart with its credit, or a
 * line that says why there is none. A read error makes the answer a 500. */
static void wx_section(struct av_buf *b, struct av_sink *sink, const struct av_query *q,
                       struct av_wxc *chart, const char *title, int64_t today,
                       struct av_http_resp *r)
{
    char err[AV_ERRBUF_SIZE];

    av_buf_puts(b, "<h2>Weather and danger level</h2>\n");
    if (!av_sink_keeps(sink, &av_ds_wx_daily)) {
        av_buf_puts(b, "<p id=\"wx-note\">No weather here: the ");
        esc(b, av_sink_name(sink));
        av_buf_puts(b, " sink does not keep it (store.sink = sqlite does).</p>\n");
        return;
    }
    if (av_sink_read_rows(sink, &av_ds_wx_daily, q, wx_row, chart, err) != AV_OK) {
        r->status = 500;
        av_buf_puts(b, "<p id=\"wx-note\">The weather could not be read: ");
        esc(b, err);
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

void av_region_page(struct av_sink *sink, int region_id, struct av_http_resp *r)
{
    av_region_page_day(sink, region_id, AV_DAY_LATEST, r);
}

void av_region_page_day(struct av_sink *sink, int region_id, int64_t day, struct av_http_resp *r)
{
    const struct av_region *reg = av_region_find(region_id);
    struct av_buf *b = &r->body, hist;
    int64_t today = av_oslo_today();
    int ids[1] = {region_id};
    struct av_query q = {ids, 1, today - 60, today + 2, 0, AV_PART_PROBLEMS};
    struct av_wxc *chart;
    struct region_ctx c;
    char err[AV_ERRBUF_SIZE], title[128];
    av_rc hrc;

    if (reg == NULL) {
        r->status = 404;
        r->type = "text/plain; charset=utf-8";
        av_buf_puts(b, "no such region\n");
        return;
    }
    if ((chart = malloc(sizeof(*chart))) == NULL) {
        r->status = 500;
        r->type = "text/plain; charset=utf-8";
        av_buf_puts(b, "out of memory\n");
        return;
    }
    av_wxc_init(chart, q.from, (int)(q.to - q.from + 1));
    /* The warnings first, into their own buffer: the chart above them
     * needs their levels. */
    av_buf_init(&hist, b->max);
    c = (struct region_ctx){&hist, 0, chart};
    hrc = av_sink_read(sink, &q, history_row, &c, err);
    r->type = "text/html; charset=utf-8";
    snprintf(title, sizeof(title), "%d %s", reg->id, reg->name);
    page_head(b, title);
    av_buf_puts(b, "<p><a href=\"/\">all regions</a></p><h1>");
    esc(b, title);
    av_buf_printf(b, "</h1><p>type %c%s</p>\n", reg->type, reg->active ? ", active" : "");
    {
        char derr[AV_ERRBUF_SIZE]; /* err still holds the history's error */
        if (av_region_day(b, sink, reg, day, derr) != AV_OK)
            r->status = 500;
    }
    wx_section(b, sink, &q, chart, title, today, r);
    av_buf_puts(b, "<h2>Last 60 days and forecast</h2>"
                   "<table id=\"history\"><tr><th>date</th><th>lang</th><th>danger level</th>"
                   "<th>published (UTC)</th><th>main message</th><th>problems</th></tr>\n");
    av_buf_append(b, hist.data, hist.len);
    if (hist.failed)
        b->failed = 1; /* never a cut page: the server answers 500 */
    if (hrc != AV_OK) {
        r->status = 500;
        av_buf_puts(b, "<tr><td colspan=\"6\">store error: ");
        esc(b, err);
        av_buf_puts(b, "</td></tr>");
    }
    av_buf_printf(b, "</table><p>%d warnings.</p></body></html>\n", c.rows);
    av_buf_free(&hist);
    free(chart);
}
