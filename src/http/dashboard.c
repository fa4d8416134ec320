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
#include "region_chart.h"
#include "region_svg.h"
#include "api.h"
#include "params.h"
#include "region_shapes.h"
#include "wx_chart.h"
#include "wx_svg.h"

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

/* The level's colour and name (region_chart.h); a level outside 0-5
 * (which the store's reader refuses) is shown as unknown rather than read
 * out of bounds. */
#define colour_of av_level_colour
#define name_of av_level_name

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
                      l, av_level_colour(l), av_level_name(l), n[l]);
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
        av_buf_printf(b, "<span style=\"background:%s\"></span>%s", av_level_colour(l),
                      av_level_name(l));
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
    int region_id;
    const char *keep;     /* the query kept in day links, escaped ("" or "&amp;...") */
    struct av_wxc *chart; /* takes each day's danger level (pass 1) */
    struct av_rgc *dang;  /* the danger charts (pass 1); the language per day (pass 2) */
};

/* Pass 1: the levels and problems of the window, by the language rule. */
static int model_row(void *ud, const struct av_warning *w)
{
    struct region_ctx *c = ud;

    av_rgc_put(c->dang, w);
    return 0;
}

/* Pass 2: the table row of each day, in the language pass 1 kept. */
static int history_row(void *ud, const struct av_warning *w)
{
    struct region_ctx *c = ud;
    char d[AV_DATE_LEN], pub[AV_STAMP_LEN] = "";
    int l = w->danger_level;

    if (w->lang != av_rgc_lang_of(c->dang, w->valid_date))
        return 0;
    av_date_format(w->valid_date, d);
    if (w->publish_time != AV_NULL_MS)
        av_stamp_format(w->publish_time, pub);
    av_buf_printf(c->b, "<tr data-date=\"%s\" data-lang=\"%d\"><td><a href=\"/region/%d?"
                        "date=%s%s\">%s</a></td><td>%d</td>"
                        "<td style=\"background:%s;color:%s\">%s</td><td>%s</td><td>",
                  d, w->lang, c->region_id, d, c->keep, d, w->lang, colour_of(l),
                  l == 5 ? "#fff" : "#000", name_of(l), pub);
    esc(c->b, w->main_text ? w->main_text : "");
    av_buf_puts(c->b, "</td><td>");
    for (int k = 0; k < w->n_problems && k < AV_MAX_PROBLEMS; k++) {
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

int av_region_params(const struct av_http_req *req, struct av_region_view *v,
                     struct av_http_resp *r)
{
    long n;
    int rc;

    v->day = AV_DAY_LATEST;
    v->season = 0;
    v->lang = 0;
    if (av_param_date(av_http_query(req, "date"), &v->day) < 0) {
        av_api_error(r, 400, "not a date: use YYYY-MM-DD", "date");
        return 0;
    }
    if (av_param_season(av_http_query(req, "season"), &v->season) < 0) {
        av_api_error(r, 400,
                     "season must be YYYY-YY, the second year the first + 1 (2022-23), "
                     "1900-01 to 2198-99",
                     "season");
        return 0;
    }
    if ((rc = av_param_int(av_http_query(req, "lang"), 1, 2, &n)) < 0) {
        av_api_error(r, 400, "lang must be 1 or 2", "lang");
        return 0;
    }
    if (rc == 1)
        v->lang = (int)n;
    return 1;
}

void av_region_page(struct av_sink *sink, int region_id, struct av_http_resp *r)
{
    struct av_region_view v = {AV_DAY_LATEST, 0, 0};

    av_region_page_view(sink, region_id, &v, r);
}

void av_region_page_day(struct av_sink *sink, int region_id, int64_t day, struct av_http_resp *r)
{
    struct av_region_view v = {day, 0, 0};

    av_region_page_view(sink, region_id, &v, r);
}

/* "?season=..&lang=.." style link text to the region page, escaped for
 * an attribute: the parts given (season 0, day AV_DAY_LATEST, lang 0 =
 * left out). */
static void region_href(struct av_buf *b, int id, int season, int64_t day, int lang)
{
    const char *sep = "?";
    char d[AV_DATE_LEN], sn[AV_SEASON_NAME_LEN];

    av_buf_printf(b, "/region/%d", id);
    if (season) {
        av_season_name(season, sn);
        av_buf_printf(b, "%sseason=%s", sep, sn);
        sep = "&amp;";
    }
    if (day != AV_DAY_LATEST) {
        av_date_format(day, d);
        av_buf_printf(b, "%sdate=%s", sep, d);
        sep = "&amp;";
    }
    if (lang)
        av_buf_printf(b, "%slang=%d", sep, lang);
}

/* Under the title: the window shown, the seasons around it (this
 * region's and every region's), the 60-day view, the languages. */
static void region_nav(struct av_buf *b, const struct av_region *reg,
                       const struct av_region_view *v, const struct av_rgc *g, int64_t today)
{
    char d0[AV_DATE_LEN], d1[AV_DATE_LEN], sn[AV_SEASON_NAME_LEN];
    int sy = v->season ? v->season : av_season_of(v->day == AV_DAY_LATEST ? today : v->day);

    av_date_format(g->first, d0);
    av_date_format(g->first + g->ndays - 1, d1);
    av_season_name(sy, sn);
    av_buf_printf(b, "<p id=\"window\" data-from=\"%s\" data-to=\"%s\">Showing %s to %s", d0, d1,
                  d0, d1);
    if (v->season)
        av_buf_printf(b, ", the season %s (1 Oct &ndash; 30 Jun)", sn);
    else
        av_buf_printf(b, ", 60 days before %s and 2 after",
                      v->day == AV_DAY_LATEST ? "today" : "the day asked");
    av_buf_puts(b, ".</p>\n<p id=\"seasons\">");
    if (sy - 1 >= AV_SEASON_MIN) {
        av_season_name(sy - 1, sn);
        av_buf_puts(b, "<a id=\"season-prev\" rel=\"prev\" href=\"");
        region_href(b, reg->id, sy - 1, AV_DAY_LATEST, v->lang);
        av_buf_printf(b, "\">&larr; season %s</a> · ", sn);
    }
    av_season_name(sy, sn);
    if (v->season)
        av_buf_printf(b, "<strong>season %s</strong>", sn);
    else {
        av_buf_puts(b, "<a id=\"season-this\" href=\"");
        region_href(b, reg->id, sy, v->day, v->lang);
        av_buf_printf(b, "\">the whole season %s</a>", sn);
    }
    if (sy + 1 <= AV_SEASON_MAX) {
        av_season_name(sy + 1, sn);
        av_buf_puts(b, " · <a id=\"season-next\" rel=\"next\" href=\"");
        region_href(b, reg->id, sy + 1, AV_DAY_LATEST, v->lang);
        av_buf_printf(b, "\">season %s &rarr;</a>", sn);
    }
    if (v->season) {
        av_buf_puts(b, " · <a id=\"window-60\" href=\"");
        region_href(b, reg->id, 0, v->day, v->lang);
        av_buf_puts(b, "\">60 days</a>");
    }
    av_season_name(sy, sn);
    av_buf_printf(b, " · <a id=\"season-all\" href=\"/season/%s%s\">season %s, every region</a>"
                     "</p>\n<p id=\"langs\">Texts in language %d",
                  sn, v->lang == 2 ? "?lang=2" : v->lang == 1 ? "?lang=1" : "", sn, g->want_lang);
    av_buf_puts(b, " where stored, else the other (");
    for (int l = 1; l <= 2; l++) {
        av_buf_printf(b, "%s<a id=\"lang-%d\" href=\"", l == 2 ? " · " : "", l);
        region_href(b, reg->id, v->season, v->day, l);
        av_buf_printf(b, "\">%s</a>", l == 1 ? "1 Norwegian" : "2 English");
    }
    av_buf_puts(b, ").</p>\n");
}

void av_region_page_view(struct av_sink *sink, int region_id, const struct av_region_view *v,
                         struct av_http_resp *r)
{
    const struct av_region *reg = av_region_find(region_id);
    struct av_buf *b = &r->body, hist, keep;
    int64_t today = av_oslo_today(), first;
    int ids[1] = {region_id}, ndays;
    struct av_query q = {ids, 1, 0, 0, 0, AV_PART_PROBLEMS};
    struct av_wxc *chart;
    struct av_rgc *dang;
    struct region_ctx c;
    char err[AV_ERRBUF_SIZE], title[128];
    av_rc hrc;

    if (reg == NULL) {
        r->status = 404;
        r->type = "text/plain; charset=utf-8";
        av_buf_puts(b, "no such region\n");
        return;
    }
    chart = malloc(sizeof(*chart));
    dang = malloc(sizeof(*dang));
    if (chart == NULL || dang == NULL) {
        free(chart);
        free(dang);
        r->status = 500;
        r->type = "text/plain; charset=utf-8";
        av_buf_puts(b, "out of memory\n");
        return;
    }
    av_rgc_window(v->season, v->day, today, &first, &ndays);
    q.from = first;
    q.to = first + ndays - 1;
    av_wxc_init(chart, first, ndays);
    av_rgc_init(dang, first, ndays, v->lang);
    av_buf_init(&keep, 256); /* what day links keep: the season and the language */
    if (v->season) {
        char sn[AV_SEASON_NAME_LEN];
        av_season_name(v->season, sn);
        av_buf_printf(&keep, "&amp;season=%s", sn);
    }
    if (v->lang)
        av_buf_printf(&keep, "&amp;lang=%d", v->lang);
    av_buf_putc(&keep, '\0');
    /* The warnings first: pass 1 keeps a language per day and fills the
     * charts, pass 2 writes that language's rows into their own buffer. */
    av_buf_init(&hist, b->max);
    c = (struct region_ctx){&hist, 0, region_id, keep.data ? keep.data : "", chart, dang};
    hrc = av_sink_read(sink, &q, model_row, &c, err);
    if (hrc == AV_OK)
        hrc = av_sink_read(sink, &q, history_row, &c, err);
    av_rgc_layout(dang);
    for (int k = 0; k < ndays; k++)
        av_wxc_set_level(chart, first + k, dang->level[k]);
    r->type = "text/html; charset=utf-8";
    snprintf(title, sizeof(title), "%d %s", reg->id, reg->name);
    page_head(b, title);
    av_buf_puts(b, "<p><a href=\"/\">all regions</a> · <a href=\"/quality\">data quality</a></p>"
                   "<h1>");
    esc(b, title);
    av_buf_printf(b, "</h1><p>type %c%s</p>\n", reg->type, reg->active ? ", active" : "");
    region_nav(b, reg, v, dang, today);
    if (v->day != AV_DAY_LATEST && av_rgc_index(dang, v->day) < 0)
        av_buf_puts(b, "<p id=\"chosen-outside\">The day asked lies outside the season shown."
                       "</p>\n");
    /* the three charts one under the other, on one day axis */
    av_buf_puts(b, "<h2>Danger level and avalanche problems</h2>\n");
    av_rgc_danger_svg(b, dang, title, today, v->day);
    av_rgc_timeline_svg(b, dang, title, today, v->day);
    av_wx_section(b, sink, &q, chart, title, today, r);
    {
        char derr[AV_ERRBUF_SIZE]; /* err still holds the history's error */
        if (av_region_day(b, sink, reg, v->day, v->lang, c.keep, derr) != AV_OK)
            r->status = 500;
    }
    {
        char d0[AV_DATE_LEN], d1[AV_DATE_LEN];
        av_date_format(first, d0);
        av_date_format(first + ndays - 1, d1);
        av_buf_printf(b, "<h2>Warnings, %s to %s</h2>", d0, d1);
    }
    av_buf_puts(b, "<table id=\"history\"><tr><th>date</th><th>lang</th><th>danger level</th>"
                   "<th>published (UTC)</th><th>main message</th><th>problems</th></tr>\n");
    av_buf_append(b, hist.data, hist.len);
    if (hist.failed || keep.failed)
        b->failed = 1; /* never a cut page: the server answers 500 */
    if (hrc != AV_OK) {
        r->status = 500;
        av_buf_puts(b, "<tr><td colspan=\"6\">store error: ");
        esc(b, err);
        av_buf_puts(b, "</td></tr>");
    }
    av_buf_printf(b, "</table><p>%d warnings.</p></body></html>\n", c.rows);
    av_buf_free(&hist);
    av_buf_free(&keep);
    free(chart);
    free(dang);
}
