/* dashboard.c - the dashboard page (see dashboard.h). */
#include "dashboard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/tz.h"
#include "../sinks/sink.h"
#include "../sinks/store.h"
#include "../model/regions.h"
#include "region_shapes.h"

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
    int64_t first;
    signed char level[AV_MAX_REGIONS][AV_DASH_DAYS]; /* -1 = nothing stored */
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
    int ri = region_index(w->region_id);
    int64_t d = w->valid_date - g->first;

    if (ri >= 0 && d >= 0 && d < AV_DASH_DAYS && g->level[ri][d] < 0)
        g->level[ri][d] = (signed char)w->danger_level;
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
                "</style></head><body>\n");
}

/* The map of regions coloured by their level on day `day`. */
static void map_svg(struct av_buf *b, struct grid *g, int64_t day)
{
    char d[AV_DATE_LEN];
    int64_t k = day - g->first;

    av_date_format(day, d);
    av_buf_printf(b, "<div><h2>Map, %s</h2><svg id=\"map\" xmlns=\"http://www.w3.org/2000/svg\""
                     " viewBox=\"0 0 400 560\" width=\"400\" height=\"560\" role=\"img\">\n",
                  d);
    for (int i = 0; i < av_region_shapes_count; i++) {
        const struct av_region_shape *sh = &av_region_shapes[i];
        const struct av_region *reg = av_region_find(sh->id);
        int ri = region_index(sh->id);
        int l = ri >= 0 && k >= 0 && k < AV_DASH_DAYS ? g->level[ri][k] : -1;
        av_buf_printf(b, "<a href=\"/region/%d\"><path data-region=\"%d\" data-level=\"%d\" "
                         "fill=\"%s\" d=\"%s\"><title>%d ",
                      sh->id, sh->id, l, colour_of(l), sh->path,
                      sh->id);
        esc(b, reg ? reg->name : "");
        av_buf_printf(b, ": %s</title></path></a>\n", name_of(l));
    }
    av_buf_puts(b, "</svg></div>\n");
}

void av_dashboard(struct av_store *s, struct av_sink *sink, int64_t map_day,
                  struct av_http_resp *r)
{
    struct grid *g = calloc(1, sizeof(*g));
    struct av_buf *b = &r->body;
    struct av_query q = {NULL, 0, 0, 0, 0, 0};
    struct runs_ctx rc = {b};
    char err[AV_ERRBUF_SIZE], d[AV_DATE_LEN];
    int64_t today = av_oslo_today();

    if (g == NULL)
        return;
    memset(g->level, -1, sizeof(g->level));
    g->first = today - (AV_DASH_DAYS - 3);
    q.from = g->first;
    q.to = g->first + AV_DASH_DAYS - 1;
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
    av_buf_puts(b, "</p>\n<div class=\"cols\">");
    map_svg(b, g, map_day);
    av_buf_puts(b, "<div><h2>Last weeks</h2><table class=\"heat\" id=\"heatmap\"><tr><th>region</th>");
    for (int k = 0; k < AV_DASH_DAYS; k++) {
        av_date_format(g->first + k, d);
        av_buf_printf(b, "<th title=\"%s\">%s</th>", d, d + 8);
    }
    av_buf_puts(b, "</tr>\n");
    for (int i = 0; i < av_regions_count(); i++) {
        const struct av_region *reg = av_region_at(i);
        int any = 0;
        for (int k = 0; k < AV_DASH_DAYS; k++)
            any |= g->level[i][k] >= 0;
        if (!reg->active && !any)
            continue;
        av_buf_printf(b, "<tr data-region=\"%d\"><td><a href=\"/region/%d\">%d ", reg->id,
                      reg->id, reg->id);
        esc(b, reg->name);
        av_buf_puts(b, "</a></td>");
        for (int k = 0; k < AV_DASH_DAYS; k++) {
            int l = g->level[i][k];
            av_date_format(g->first + k, d);
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
    char latest[AV_DATE_LEN];
};

static int history_row(void *ud, const struct av_warning *w)
{
    struct region_ctx *c = ud;
    char d[AV_DATE_LEN], pub[AV_STAMP_LEN] = "";
    int l = w->danger_level;

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

void av_region_page(struct av_sink *sink, int region_id, struct av_http_resp *r)
{
    const struct av_region *reg = av_region_find(region_id);
    struct av_buf *b = &r->body;
    int ids[1] = {region_id};
    struct av_query q = {ids, 1, av_oslo_today() - 60, av_oslo_today() + 2, 0,
                         AV_PART_PROBLEMS};
    struct region_ctx c = {b, 0, ""};
    char err[AV_ERRBUF_SIZE], title[128];

    if (reg == NULL) {
        r->status = 404;
        r->type = "text/plain; charset=utf-8";
        av_buf_puts(b, "no such region\n");
        return;
    }
    r->type = "text/html; charset=utf-8";
    snprintf(title, sizeof(title), "%d %s", reg->id, reg->name);
    page_head(b, title);
    av_buf_puts(b, "<p><a href=\"/\">all regions</a></p><h1>");
    esc(b, title);
    av_buf_printf(b, "</h1><p>type %c%s</p>\n<h2>Last 60 days and forecast</h2>"
                     "<table id=\"history\"><tr><th>date</th><th>lang</th><th>danger level</th>"
                     "<th>published (UTC)</th><th>main message</th><th>problems</th></tr>\n",
                  reg->type, reg->active ? ", active" : "");
    if (av_sink_read(sink, &q, history_row, &c, err) != AV_OK) {
        r->status = 500;
        av_buf_puts(b, "<tr><td colspan=\"6\">store error: ");
        esc(b, err);
        av_buf_puts(b, "</td></tr>");
    }
    av_buf_printf(b, "</table><p>%d warnings.</p></body></html>\n", c.rows);
}
