/* dash_quality.c - the data-quality page (see dash_quality.h and
 * dashboard.h av_quality_page). Reads the state store only, each read
 * bounded (GROUP BY and LIMIT in SQL, or a callback that stops); every
 * text is escaped, every colour comes with a text label. */
#include "dash_quality.h"

#include <stdio.h>
#include <string.h>

#include "../core/tz.h"
#include "../model/regions.h"
#include "../sinks/sink.h"
#include "../sinks/store.h"
#include "dashboard.h"
#include "html.h"
#include "quality_chart.h"

#define MAX_HOLES 200   /* rows shown; the count says how many more */
#define MAX_GROUPS 50   /* reject groups */
#define MAX_RUNS 20     /* runs */
#define MAX_STATES 1024 /* fetch_state rows looked at */

/* ---- pure helpers ---- */

int av_quality_in_season(int64_t day)
{
    int y, m, d;

    av_civil_from_days(day, &y, &m, &d);
    return m == 12 || m <= 5;
}

int av_quality_expected(int season, int64_t today)
{
    int64_t first = av_days_from_civil(season, 12, 1);
    int64_t last = av_days_from_civil(season + 1, 5, 31);

    if (today < first)
        return 0;
    if (today < last)
        last = today;
    return (int)(last - first + 1);
}

size_t av_quality_utf8_trim(const char *s, size_t len)
{
    size_t i = len, k = 0;
    unsigned char c;

    /* back over at most 3 continuation bytes to the sequence's lead */
    while (i > 0 && k < 3 && ((unsigned char)s[i - 1] & 0xC0) == 0x80)
        i--, k++;
    if (i == 0)
        return k ? 0 : len;
    c = (unsigned char)s[i - 1];
    if (c < 0x80)
        return len; /* ASCII last (any continuation bytes after it are stray) */
    if (c >= 0xC0) {
        size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
        return k + 1 >= need ? len : i - 1;
    }
    return len;
}

/* ---- the page ---- */

static void plain(struct av_http_resp *r, int status, const char *what, const char *err)
{
    r->status = status;
    r->type = "text/plain; charset=utf-8";
    av_buf_reset(&r->body);
    av_buf_printf(&r->body, "%s%s\n", what, err ? err : "");
}

static const char *source_of(const char *endpoint)
{
    return strcmp(endpoint, "archive") == 0 || strcmp(endpoint, "forecast") == 0 ? "open-meteo"
                                                                                 : "varsom";
}

struct cov {
    int first; /* the oldest season shown */
    long days[AV_MAX_REGIONS][AV_QUALITY_SEASONS];
};

static int region_index(int id)
{
    for (int i = 0; i < av_regions_count() && i < AV_MAX_REGIONS; i++)
        if (av_region_at(i)->id == id)
            return i;
    return -1;
}

static int cov_put(void *ud, int region_id, int season, long days)
{
    struct cov *c = ud;
    int i = region_index(region_id), k = season - c->first;

    if (i >= 0 && k >= 0 && k < AV_QUALITY_SEASONS)
        c->days[i][k] = days;
    return 0;
}

static void coverage(struct av_buf *b, const struct cov *c, int known, int64_t today)
{
    char n[AV_SEASON_NAME_LEN];

    av_buf_printf(b,
                  "<h2 id=\"coverage\">Coverage</h2>\n<p>Days with a warning stored (any "
                  "language) / days expected, per region and season, the last %d seasons. "
                  "Expected: A regions get a daily warning 1 Dec &ndash; 31 May, so a season "
                  "expects every day of that window up to today (%s); B regions are not "
                  "expected to publish daily (&ldquo;-&rdquo;). Days outside the window are "
                  "not counted.%s</p>\n<table id=\"coverage-table\"><thead><tr><th>region</th>",
                  AV_QUALITY_SEASONS, "Oslo date",
                  known ? "" : " This sink cannot count its warnings: &ldquo;-&rdquo;.");
    for (int k = AV_QUALITY_SEASONS - 1; k >= 0; k--) {
        av_season_name(c->first + k, n);
        av_buf_printf(b, "<th>%s%s</th>", n, k == AV_QUALITY_SEASONS - 1 ? " (current)" : "");
    }
    av_buf_puts(b, "</tr></thead>\n<tbody>\n");
    for (int i = 0; i < av_regions_count() && i < AV_MAX_REGIONS; i++) {
        const struct av_region *reg = av_region_at(i);
        av_buf_printf(b, "<tr data-region=\"%d\"><td><a href=\"/region/%d\">%d ", reg->id, reg->id,
                      reg->id);
        av_html_esc(b, reg->name);
        av_buf_printf(b, "</a> (%c)</td>", reg->type == 'A' ? 'A' : 'B');
        for (int k = AV_QUALITY_SEASONS - 1; k >= 0; k--) {
            int season = c->first + k, exp = av_quality_expected(season, today);
            av_season_name(season, n);
            av_buf_printf(b, "<td data-season=\"%s\"", n);
            if (!known)
                av_buf_puts(b, ">-");
            else if (reg->type == 'A')
                av_buf_printf(b, " data-stored=\"%ld\" data-expected=\"%d\">%ld / %d",
                              c->days[i][k], exp, c->days[i][k], exp);
            else
                av_buf_printf(b, " data-stored=\"%ld\">%ld / -", c->days[i][k], c->days[i][k]);
            av_buf_puts(b, "</td>");
        }
        av_buf_puts(b, "</tr>\n");
    }
    av_buf_puts(b, "</tbody></table>\n");
}

struct holes {
    struct av_buf *b;
    long n;
};

static int hole_row(void *ud, const struct av_hole *h)
{
    struct holes *x = ud;
    char f[AV_DATE_LEN], t[AV_DATE_LEN], since[AV_STAMP_LEN], lang[8];

    if (++x->n > MAX_HOLES)
        return 0; /* keep counting (a cheap loop), show no more */
    av_date_format(h->from, f);
    av_date_format(h->to, t);
    av_stamp_format(h->since, since);
    snprintf(lang, sizeof(lang), "%d", h->lang);
    av_buf_printf(x->b, "<tr data-region=\"%d\"><td>%d</td><td>%s</td><td>", h->region_id,
                  h->region_id, lang);
    av_html_esc(x->b, source_of(h->endpoint));
    av_buf_puts(x->b, " ");
    av_html_esc(x->b, h->endpoint);
    av_buf_printf(x->b, "</td><td>%s</td><td>%s</td><td>%lld</td><td>%s</td></tr>\n", f, t,
                  (long long)(h->to - h->from + 1), since);
    return 0;
}

static int group_row(void *ud, const struct av_reject_group *g)
{
    struct av_buf *b = ud;
    char sample[AV_REJECT_SAMPLE_MAX + 1];
    size_t n = g->sample ? g->sample_len : 0;

    if (n > AV_REJECT_SAMPLE_MAX)
        n = AV_REJECT_SAMPLE_MAX;
    if (n)
        memcpy(sample, g->sample, n);
    n = av_quality_utf8_trim(sample, n);
    sample[n] = '\0';
    av_buf_puts(b, "<tr><td class=\"stage\">");
    av_html_esc(b, g->stage);
    av_buf_puts(b, "</td><td class=\"reason\">");
    av_html_esc(b, g->reason);
    av_buf_printf(b, "</td><td class=\"count\">%ld</td><td>%ld</td><td>", g->rows, g->seen);
    av_html_esc(b, g->last_seen);
    av_buf_puts(b, "</td><td><code class=\"sample\">");
    av_html_esc(b, sample); /* stops at a NUL byte in the raw text */
    av_buf_printf(b, "</code>%s</td></tr>\n",
                  g->sample_len >= AV_REJECT_SAMPLE_MAX ? " &hellip;" : "");
    return 0;
}

struct fresh {
    struct av_buf *b;
    int64_t today;
    int n;
};

static int state_row(void *ud, const struct av_state_row *s)
{
    struct fresh *x = ud;
    const struct av_region *reg = av_region_find(s->region_id);
    int warn = s->lang == 1 || s->lang == 2, stale = 0;
    int64_t ld = -1;
    char behind[24] = "-";

    if (++x->n > MAX_STATES)
        return 1;
    if (!warn && !(s->lang == 0 && strcmp(s->endpoint, "archive") == 0))
        return 0; /* the forecast's state says nothing about complete days */
    if (s->last_date && av_date_parse(s->last_date, &ld) == AV_OK)
        snprintf(behind, sizeof(behind), "%lld", (long long)(x->today - ld));
    else
        ld = -1;
    /* a warning region is stale only in season (an A region, nothing for
     * today); out of season a region that does not publish is not */
    if (warn && reg && reg->type == 'A' && av_quality_in_season(x->today))
        stale = ld < x->today;
    av_buf_printf(x->b,
                  "<tr class=\"%s\" data-region=\"%d\" data-lang=\"%d\" data-stale=\"%d\">"
                  "<td>",
                  stale ? "stale" : "", s->region_id, s->lang, stale);
    av_html_esc(x->b, warn ? "varsom" : "open-meteo");
    av_buf_printf(x->b, "</td><td>%d</td><td>%d</td><td>", s->region_id, s->lang);
    av_html_esc(x->b, s->endpoint);
    av_buf_puts(x->b, "</td><td class=\"last\">");
    av_html_esc(x->b, s->last_date ? s->last_date : "none");
    av_buf_printf(x->b, "</td><td>%s</td><td>%s</td><td>", behind,
                  stale                                     ? "stale"
                  : warn && !av_quality_in_season(x->today) ? "out of season"
                                                            : "ok");
    av_html_esc(x->b, s->last_status);
    av_buf_puts(x->b, "</td></tr>\n");
    return 0;
}

static int run_row(void *ud, const struct av_run_row *r)
{
    struct av_buf *b = ud;
    av_ms t0, t1;
    char dur[32] = "-";

    if (r->started_at && r->ended_at && av_stamp_parse(r->started_at, &t0) == AV_OK &&
        av_stamp_parse(r->ended_at, &t1) == AV_OK)
        snprintf(dur, sizeof(dur), "%.1f s", (double)(t1 - t0) / 1000.0);
    av_buf_printf(b, "<tr data-run=\"%lld\"><td>%lld</td><td>", (long long)r->id, (long long)r->id);
    av_html_esc(b, r->kind);
    av_buf_printf(b, "</td><td class=\"run-%s\">", r->status ? r->status : "");
    av_html_esc(b, r->status);
    av_buf_puts(b, "</td><td>");
    av_html_esc(b, r->started_at);
    av_buf_printf(b, "</td><td>%s</td><td>%d/%d</td><td>%ld</td><td>%ld</td><td>%ld</td><td>", dur,
                  r->c.units_ok, r->c.units_total, r->c.warnings_stored, r->c.requests,
                  r->c.retries);
    av_html_esc(b, r->error);
    av_buf_puts(b, "</td></tr>\n");
    return 0;
}

static int chart_run(void *ud, const struct av_run_row *r)
{
    av_ms t0, t1;
    double sec = -1;

    if (r->started_at && r->ended_at && av_stamp_parse(r->started_at, &t0) == AV_OK &&
        av_stamp_parse(r->ended_at, &t1) == AV_OK)
        sec = (double)(t1 - t0) / 1000.0;
    av_qc_add_newest_first(ud, r->id, r->kind, r->status, r->started_at, sec, r->c.requests,
                           r->c.retries);
    return 0;
}

void av_quality_page(struct av_store *s, struct av_sink *sink, struct av_http_resp *r)
{
    struct av_qc qc = {0};
    struct av_buf *b = &r->body;
    char err[AV_ERRBUF_SIZE], today_s[AV_DATE_LEN];
    int64_t today = av_oslo_today();
    int known = sink && sink->ops == &av_sink_sqlite;
    struct holes h = {b, 0};
    struct fresh f = {b, today, 0};
    struct cov cv;

    memset(&cv, 0, sizeof(cv));
    cv.first = av_season_of(today) - (AV_QUALITY_SEASONS - 1);
    if (known && av_store_each_coverage(s, cv.first, AV_MAX_REGIONS * AV_QUALITY_SEASONS, cov_put,
                                        &cv, err) != AV_OK) {
        plain(r, 500, "store error: ", err);
        return;
    }
    av_date_format(today, today_s);
    r->type = "text/html; charset=utf-8";
    av_buf_printf(b,
                  "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                  "<title>Data quality</title><style>"
                  "body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}"
                  "table{border-collapse:collapse;margin-bottom:1.5em}"
                  "th,td{border:1px solid #ddd;padding:2px 6px;text-align:left}"
                  ".stale{background:#ffe0e0}.run-failed,.run-interrupted{background:#ffe0e0}"
                  "code.sample{white-space:pre-wrap;word-break:break-all;font-size:12px}"
                  "</style></head><body>\n<p id=\"nav\"><a href=\"/\">all regions</a></p>\n"
                  "<h1>Data quality</h1>\n<p id=\"today\" data-date=\"%s\">Today (Oslo): %s, "
                  "%s.</p>\n",
                  today_s, today_s,
                  av_quality_in_season(today) ? "in the warning season (1 Dec &ndash; 31 May)"
                                              : "out of the warning season (1 Dec &ndash; 31 May)");
    coverage(b, &cv, known, today);

    av_buf_puts(b, "<h2 id=\"holes\">Holes</h2>\n<p>Days a run planned and did not store "
                   "yet; later runs plan them again.</p>\n<table id=\"holes-table\"><thead><tr>"
                   "<th>region</th><th>lang</th><th>source</th><th>from</th><th>to</th>"
                   "<th>days</th><th>since</th></tr></thead><tbody>\n");
    if (av_store_each_hole(s, 0, 0, NULL, hole_row, &h, err) != AV_OK) {
        plain(r, 500, "store error: ", err);
        return;
    }
    av_buf_printf(b, "</tbody></table>\n<p id=\"holes-count\" data-n=\"%ld\">%ld holes", h.n, h.n);
    if (h.n > MAX_HOLES)
        av_buf_printf(b, ", the first %d shown", MAX_HOLES);
    av_buf_puts(b, ".</p>\n");

    av_buf_printf(b,
                  "<h2 id=\"rejects\">Rejects</h2>\n<p>Grouped by stage and reason (at most "
                  "%d groups, most rows first); the sample is the first %d bytes of the "
                  "group's oldest row.</p>\n<table id=\"rejects-table\"><thead><tr>"
                  "<th>stage</th><th>reason</th><th>rows</th><th>seen</th><th>last seen</th>"
                  "<th>sample</th></tr></thead><tbody>\n",
                  MAX_GROUPS, AV_REJECT_SAMPLE_MAX);
    if (av_store_each_reject_group(s, MAX_GROUPS, group_row, b, err) != AV_OK) {
        plain(r, 500, "store error: ", err);
        return;
    }
    av_buf_puts(b, "</tbody></table>\n<h2 id=\"freshness\">Freshness</h2>\n<p>Warnings: the "
                   "last stored date per region and language; stale (marked) only in season, "
                   "for an A region without a warning for today. Weather: the last complete "
                   "day of the archive. Days behind = today minus the last date.</p>\n"
                   "<table id=\"fresh-table\"><thead><tr><th>source</th><th>region</th>"
                   "<th>lang</th><th>endpoint</th><th>last date</th><th>days behind</th>"
                   "<th>state</th><th>last status</th></tr></thead><tbody>\n");
    if (av_store_each_state(s, state_row, &f, err) != AV_OK) {
        plain(r, 500, "store error: ", err);
        return;
    }
    if (av_store_each_run(s, AV_QC_MAX, chart_run, &qc, err) != AV_OK) {
        plain(r, 500, "store error: ", err);
        return;
    }
    av_qc_layout(&qc);
    av_buf_printf(b, "</tbody></table>\n<h2 id=\"runs\">Last runs</h2>\n<p>The last %d: "
                     "duration, requests and retries.</p>\n",
                  qc.n);
    av_qc_svg(b, &qc);
    av_buf_printf(b,
                  "<p>The last %d.</p>\n"
                  "<table id=\"runs-table\"><thead><tr><th>id</th><th>kind</th>"
                  "<th>status</th><th>started</th><th>duration</th><th>units ok</th>"
                  "<th>warnings stored</th><th>requests</th><th>retries</th><th>error</th>"
                  "</tr></thead><tbody>\n",
                  MAX_RUNS);
    if (av_store_each_run(s, MAX_RUNS, run_row, b, err) != AV_OK) {
        plain(r, 500, "store error: ", err);
        return;
    }
    av_buf_puts(b, "</tbody></table>\n</body></html>\n");
    if (b->failed)
        plain(r, 500, "the quality page did not fit the answer's ceiling", NULL);
}
