/* dash_season.c - the season page (see dash_season.h and dashboard.h
 * av_season_page): the grid (pure code) and its drawing, a region x day
 * table and an SVG of stacked bars per day. Reads the warnings through
 * the sink, nothing else; every text is escaped. */
#include "dash_season.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/tz.h"
#include "../sinks/sink.h"
#include "dashboard.h"
#include "html.h"
#include "params.h"
#include "region_chart.h" /* av_level_colour, av_level_name */

/* ---- the grid ---- */

void av_season_init(struct av_season *s, int year, int lang)
{
    memset(s->level, -1, sizeof(s->level));
    memset(s->lang, 0, sizeof(s->lang));
    s->year = year;
    s->first = av_days_from_civil(year, 10, 1);
    s->ndays = (int)(av_days_from_civil(year + 1, 7, 1) - s->first);
    if (s->ndays > AV_SEASON_DAYS_MAX) /* never: 273 or 274 */
        s->ndays = AV_SEASON_DAYS_MAX;
    s->want_lang = lang == 2 ? 2 : 1;
}

int av_season_put(struct av_season *s, int ri, int64_t date, int lang, int level)
{
    int64_t k = date - s->first;

    if (ri < 0 || ri >= AV_MAX_REGIONS || k < 0 || k >= s->ndays || level < 0 || level > 5)
        return 0;
    if (s->level[ri][k] >= 0 && (s->lang[ri][k] == s->want_lang || lang != s->want_lang))
        return 0;
    s->level[ri][k] = (signed char)level;
    s->lang[ri][k] = (signed char)(lang == 1 || lang == 2 ? lang : 0);
    return 1;
}

int av_season_at(const struct av_season *s, int ri, int64_t date, int *lang)
{
    int64_t k = date - s->first;
    int in = ri >= 0 && ri < AV_MAX_REGIONS && k >= 0 && k < s->ndays;

    if (lang)
        *lang = in ? s->lang[ri][k] : 0;
    return in ? s->level[ri][k] : -1;
}

int av_season_counts(const struct av_season *s, int nregions, int64_t date, int counts[7])
{
    int with = 0;

    memset(counts, 0, 7 * sizeof(counts[0]));
    if (nregions > AV_MAX_REGIONS)
        nregions = AV_MAX_REGIONS;
    for (int i = 0; i < nregions; i++) {
        int l = av_season_at(s, i, date, NULL);
        counts[l >= 0 ? l : 6]++;
        with += l >= 0;
    }
    return with;
}

int av_season_of(int64_t day)
{
    int y, m, d;

    av_civil_from_days(day, &y, &m, &d);
    return m >= 10 ? y : y - 1;
}

void av_season_name(int year, char out[AV_SEASON_NAME_LEN])
{
    unsigned y = (unsigned)year % 10000, n = ((unsigned)year + 1) % 100;

    out[0] = (char)('0' + y / 1000);
    out[1] = (char)('0' + y / 100 % 10);
    out[2] = (char)('0' + y / 10 % 10);
    out[3] = (char)('0' + y % 10);
    out[4] = '-';
    out[5] = (char)('0' + n / 10);
    out[6] = (char)('0' + n % 10);
    out[7] = '\0';
}

/* ---- the page ---- */

/* The danger levels' colours and names: region_chart.h's one table. */
static const char *const month_name[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* The chart (px): a bar per day, a region is BAR_UNIT high. */
#define CH_LEFT 36
#define CH_TOP 10
#define CH_DAY 4
#define BAR_UNIT 3
#define CELL_BYTES 200 /* a table cell with its link (about 180) */
#define DAY_BYTES 1024 /* a day's header cell and its bar (about 800) */

static int region_index(int id)
{
    for (int i = 0; i < av_regions_count(); i++)
        if (av_region_at(i)->id == id)
            return i;
    return -1;
}

static int fill(void *ud, const struct av_warning *w)
{
    av_season_put(ud, region_index(w->region_id), w->valid_date, w->lang, w->danger_level);
    return 0;
}

static void plain(struct av_http_resp *r, int status, const char *what, const char *err)
{
    r->status = status;
    r->type = "text/plain; charset=utf-8";
    av_buf_reset(&r->body);
    av_buf_printf(&r->body, "%s%s\n", what, err ? err : "");
}

/* A link to the season starting in year, keeping lang; none outside
 * the seasons /season/ takes. */
static void season_link(struct av_buf *b, int year, int lang, const char *rel, const char *fmt)
{
    char n[AV_SEASON_NAME_LEN], text[32];

    if (year < AV_SEASON_MIN || year > AV_SEASON_MAX)
        return;
    av_season_name(year, n);
    snprintf(text, sizeof(text), fmt, n);
    av_buf_printf(b, " · <a href=\"/season/%s", n);
    if (lang)
        av_buf_printf(b, "?lang=%d", lang);
    av_buf_printf(b, "\" rel=\"%s\">%s</a>", rel, text);
}

static void head(struct av_buf *b, const char *n)
{
    av_buf_printf(b,
                  "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                  "<title>Season %s</title><link rel=\"canonical\" href=\"/season/%s\">"
                  "<style>"
                  "body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}"
                  ".wrap{overflow-x:auto;max-width:100%%}"
                  "table.season{border-collapse:collapse;margin-bottom:1.5em}"
                  ".season th,.season td{border:1px solid #ddd;padding:0}"
                  ".season th{font-weight:normal;font-size:11px;text-align:left}"
                  ".season th.r{position:sticky;left:0;background:#fff;white-space:nowrap;"
                  "padding:0 6px}"
                  ".season td{width:10px;min-width:10px;height:14px;font-size:9px;"
                  "text-align:center}"
                  ".season td a{display:block;color:inherit;text-decoration:none}"
                  ".season thead th{font-size:9px;text-align:center}"
                  ".legend span{display:inline-block;width:14px;height:14px;"
                  "margin:0 4px 0 10px;vertical-align:middle;border:1px solid #999}"
                  "</style></head><body>\n",
                  n, n);
}

/* The header rows: the months (spanning their days), then the days
 * (each with its date as data and title; the 1st, 10th and 20th shown). */
static void table_head(struct av_buf *b, const struct av_season *g)
{
    char d[AV_DATE_LEN];
    int y, m, dd;

    av_buf_puts(b, "<thead><tr><th class=\"r\" rowspan=\"2\">region</th>");
    for (int k = 0; k < g->ndays;) {
        int span;
        av_civil_from_days(g->first + k, &y, &m, &dd);
        span =
            (int)(av_days_from_civil(m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1, 1) - (g->first + k));
        if (span > g->ndays - k)
            span = g->ndays - k;
        av_buf_printf(b, "<th class=\"m\" colspan=\"%d\">%s %d</th>", span, month_name[m - 1], y);
        k += span;
    }
    av_buf_puts(b, "</tr>\n<tr>");
    for (int k = 0; k < g->ndays; k++) {
        av_civil_from_days(g->first + k, &y, &m, &dd);
        av_date_format(g->first + k, d);
        if (dd == 1 || dd == 10 || dd == 20)
            av_buf_printf(b, "<th data-date=\"%s\" title=\"%s\">%d</th>", d, d, dd);
        else
            av_buf_printf(b, "<th data-date=\"%s\" title=\"%s\"></th>", d, d);
    }
    av_buf_puts(b, "</tr></thead>\n");
}

/* A row per catalog region; a cell per day, with a warning its level
 * as text, colour and title and a link to the region's page for that
 * day; without one blank. */
static void table_rows(struct av_buf *b, const struct av_season *g)
{
    char d[AV_DATE_LEN];

    av_buf_puts(b, "<tbody>\n");
    for (int i = 0; i < av_regions_count() && i < AV_MAX_REGIONS; i++) {
        const struct av_region *reg = av_region_at(i);
        av_buf_printf(b,
                      "<tr data-region=\"%d\"><th class=\"r\" scope=\"row\">"
                      "<a href=\"/region/%d\">%d ",
                      reg->id, reg->id, reg->id);
        av_html_esc(b, reg->name);
        av_buf_puts(b, "</a></th>");
        for (int k = 0; k < g->ndays; k++) {
            int l = g->level[i][k];
            if (l < 0 || l > 5) {
                av_buf_puts(b, "<td></td>");
                continue;
            }
            av_date_format(g->first + k, d);
            av_buf_printf(b,
                          "<td data-date=\"%s\" data-level=\"%d\" data-lang=\"%d\" "
                          "style=\"background:%s;color:%s\"><a href=\"/region/%d?date=%s\" "
                          "title=\"%s: %s\">%d</a></td>",
                          d, l, g->lang[i][k], av_level_colour(l), l == 5 ? "#fff" : "#000", reg->id, d, d,
                          av_level_name(l), l);
        }
        av_buf_puts(b, "</tr>\n");
    }
    av_buf_puts(b, "</tbody>\n");
}

/* Per day, the regions at each level stacked from level 0 up, with a
 * title that says the counts; the y axis in regions, the month axis, the
 * legend. Days without a warning have no bar. */
static void bars_svg(struct av_buf *b, const struct av_season *g, const char *n)
{
    int nreg = av_regions_count(), plot = nreg * BAR_UNIT, base = CH_TOP + plot;
    int w = CH_LEFT + g->ndays * CH_DAY + 10, h = base + 56;
    char d[AV_DATE_LEN];
    int y, m, dd;

    av_buf_printf(b,
                  "<svg id=\"season-bars\" xmlns=\"http://www.w3.org/2000/svg\" "
                  "viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" role=\"img\" "
                  "font-family=\"system-ui,sans-serif\" font-size=\"10\" "
                  "aria-label=\"Regions at each danger level per day, season %s\">"
                  "<title>Regions at each danger level per day, season %s</title>\n",
                  w, h, w, h, n, n);
    /* y axis: every 10 regions */
    av_buf_puts(b, "<g stroke=\"#e6e6e6\">");
    for (int v = 0; v <= nreg; v += 10)
        av_buf_printf(b, "<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\"/>", CH_LEFT,
                      CH_LEFT + g->ndays * CH_DAY, base - v * BAR_UNIT, base - v * BAR_UNIT);
    av_buf_puts(b, "</g><g fill=\"#333\">");
    for (int v = 0; v <= nreg; v += 10)
        av_buf_printf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%d</text>", CH_LEFT - 4,
                      base - v * BAR_UNIT + 3, v);
    av_buf_printf(b, "<text x=\"0\" y=\"%d\">regions</text></g>\n", CH_TOP - 1);
    /* the bars */
    for (int k = 0; k < g->ndays; k++) {
        int c[7], with = av_season_counts(g, nreg, g->first + k, c), top = base;
        if (with == 0)
            continue;
        av_date_format(g->first + k, d);
        av_buf_printf(b, "<g class=\"day\" data-date=\"%s\"><title>%s:", d, d);
        for (int l = 0; l <= 5; l++)
            if (c[l])
                av_buf_printf(b, " %s %d,", av_level_name(l), c[l]);
        av_buf_printf(b, " no warning %d</title>", c[6]);
        for (int l = 0; l <= 5; l++) {
            if (c[l] == 0)
                continue;
            top -= c[l] * BAR_UNIT;
            av_buf_printf(b,
                          "<rect data-level=\"%d\" data-n=\"%d\" x=\"%d\" y=\"%d\" "
                          "width=\"%d\" height=\"%d\" fill=\"%s\"/>",
                          l, c[l], CH_LEFT + k * CH_DAY, top, CH_DAY - 1, c[l] * BAR_UNIT,
                          av_level_colour(l));
        }
        av_buf_puts(b, "</g>\n");
    }
    /* the month axis */
    av_buf_printf(b, "<path d=\"M%d %dH%d\" stroke=\"#777\"/><g fill=\"#333\">", CH_LEFT, base,
                  CH_LEFT + g->ndays * CH_DAY);
    for (int k = 0; k < g->ndays; k++) {
        av_civil_from_days(g->first + k, &y, &m, &dd);
        if (dd != 1)
            continue;
        av_buf_printf(b,
                      "<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" stroke=\"#777\"/>"
                      "<text class=\"month\" x=\"%d\" y=\"%d\">%s %d</text>",
                      CH_LEFT + k * CH_DAY, CH_LEFT + k * CH_DAY, base, base + 4,
                      CH_LEFT + k * CH_DAY + 2, base + 14, month_name[m - 1], y);
    }
    av_buf_puts(b, "</g>\n<g class=\"legend\" fill=\"#333\">");
    for (int l = 0; l <= 5; l++)
        av_buf_printf(b,
                      "<rect x=\"%d\" y=\"%d\" width=\"10\" height=\"10\" fill=\"%s\" "
                      "stroke=\"#999\"/><text x=\"%d\" y=\"%d\">%s</text>",
                      CH_LEFT + l * 110, base + 30, av_level_colour(l), CH_LEFT + l * 110 + 14, base + 39,
                      av_level_name(l));
    av_buf_puts(b, "</g></svg>\n");
}

void av_season_page(struct av_sink *sink, int year, int lang, struct av_http_resp *r)
{
    struct av_season *g;
    struct av_query q = {NULL, 0, 0, 0, 0, 0};
    struct av_buf *b = &r->body;
    char err[AV_ERRBUF_SIZE], n[AV_SEASON_NAME_LEN], d0[AV_DATE_LEN], d1[AV_DATE_LEN];
    long cells = 0;
    size_t need;

    if (year < AV_SEASON_MIN || year > AV_SEASON_MAX) {
        plain(r, 404, "no such season", NULL);
        return;
    }
    if ((g = malloc(sizeof(*g))) == NULL) {
        plain(r, 500, "out of memory", NULL);
        return;
    }
    av_season_init(g, year, lang);
    q.from = g->first; /* one bounded read: the season, both languages */
    q.to = g->first + g->ndays - 1;
    if (av_sink_read(sink, &q, fill, g, err) != AV_OK) {
        plain(r, 500, "store error: ", err);
        free(g);
        return;
    }
    /* The page is at most CELL_BYTES per cell and DAY_BYTES per day
     * (its header and its bar): reserve it at once, so growing does not
     * fail half-way; were it to, the answer is a 500, never a cut page. */
    need = (size_t)av_regions_count() * (size_t)g->ndays * CELL_BYTES +
           (size_t)g->ndays * DAY_BYTES + 65536;
    if (av_buf_reserve(b, need) != AV_OK) {
        plain(r, 500, "out of memory", NULL);
        free(g);
        return;
    }
    for (int i = 0; i < av_regions_count() && i < AV_MAX_REGIONS; i++)
        for (int k = 0; k < g->ndays; k++)
            cells += g->level[i][k] >= 0;
    av_season_name(year, n);
    av_date_format(g->first, d0);
    av_date_format(g->first + g->ndays - 1, d1);
    r->type = "text/html; charset=utf-8";
    head(b, n);
    av_buf_printf(b, "<p id=\"nav\"><a href=\"/%s\">all regions</a>",
                  lang == 1   ? "?lang=1"
                  : lang == 2 ? "?lang=2"
                              : "");
    season_link(b, year - 1, lang, "prev", "&larr; %s");
    season_link(b, year + 1, lang, "next", "%s &rarr;");
    av_buf_printf(b,
                  "</p>\n<h1>Season %s</h1>\n<p id=\"season-span\" data-from=\"%s\" "
                  "data-to=\"%s\" data-days=\"%d\">%s to %s: %d days, %d regions, %ld "
                  "region-days with a warning (language %d where stored, else the "
                  "other). Data: NVE / varsom.no (NLOD).</p>\n",
                  n, d0, d1, g->ndays, d0, d1, g->ndays, av_regions_count(), cells, g->want_lang);
    av_buf_puts(b, "<p class=\"legend\">");
    for (int l = 0; l <= 5; l++)
        av_buf_printf(b, "<span style=\"background:%s\"></span>%s", av_level_colour(l), av_level_name(l));
    av_buf_puts(b, " · blank: no warning stored</p>\n<h2>Regions per danger level</h2>\n");
    av_buf_puts(b, "<div class=\"wrap\">");
    bars_svg(b, g, n);
    av_buf_puts(b, "</div>\n<h2>Danger level per region and day</h2>\n<div class=\"wrap\">"
                   "<table class=\"season\" id=\"season\">");
    table_head(b, g);
    table_rows(b, g);
    av_buf_puts(b, "</table></div>\n</body></html>\n");
    if (b->failed) /* the server would answer 500 too; say why */
        plain(r, 500, "the season page did not fit the answer's ceiling", NULL);
    free(g);
}
