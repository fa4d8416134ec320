/* dash_region.c - the chosen day of a region page (see dash_region.h). */
#include "dash_region.h"

#include <stdio.h>
#include <string.h>

#include "../core/tz.h"
#include "../model/dataset.h"
#include "../model/record.h"
#include "../model/regions.h"
#include "../sinks/sink.h"
#include "../sinks/sink_latest.h"
#include "html.h"
#include "rose.h"

/* varsom.no's page of one region's warning on one day. The pattern is the
 * one of the page cited in varsom-api.md section 6 (table A):
 * www.varsom.no/snoskredvarsling/varsel/Trollheimen/2021-02-06. Names with
 * spaces or non-ASCII letters are percent-encoded (UTF-8); that varsom.no
 * resolves those the same way is not verified. */
#define VARSOM_DAY "https://www.varsom.no/snoskredvarsling/varsel/"

struct day_ctx {
    struct av_buf *b;
    int64_t latest; /* the latest stored day (no ?date=) */
    int n;          /* warnings written (pass 2) */
};

/* Escaped text with its "\n" paragraph breaks kept as <br>. */
static void para(struct av_buf *b, const char *s)
{
    char tmp[512];
    size_t n;

    while (s && *s) {
        n = strcspn(s, "\n");
        while (n > 0) {
            size_t k = n < sizeof(tmp) - 1 ? n : sizeof(tmp) - 1;
            memcpy(tmp, s, k);
            tmp[k] = '\0';
            av_html_esc(b, tmp);
            s += k;
            n -= k;
        }
        if (*s == '\n') {
            av_buf_puts(b, "<br>");
            s++;
        }
    }
}

/* <h3>title</h3><p>text</p> when the text is there. */
static void section(struct av_buf *b, const char *cls, const char *title, const char *s)
{
    if (s == NULL || *s == '\0')
        return;
    av_buf_printf(b, "<h3>%s</h3><p class=\"%s\">", title, cls);
    para(b, s);
    av_buf_puts(b, "</p>\n");
}

/* One <tr> of a problem's facts when the value is there. */
static void fact(struct av_buf *b, const char *name, const char *v)
{
    if (v == NULL || *v == '\0')
        return;
    av_buf_printf(b, "<tr><th>%s</th><td>", name);
    para(b, v);
    av_buf_puts(b, "</td></tr>");
}

static void problem(struct av_buf *b, const struct av_problem *p, int k)
{
    struct av_rose rose;
    char asp[AV_ASPECTS_TEXT_LEN] = "";

    av_rose_plan(p->aspects, p->exposed_height_fill, p->exposed_height_1, p->exposed_height_2,
                 &rose);
    if (rose.aspects_known)
        av_aspects_format(rose.aspects, asp);
    av_buf_printf(b, "<div class=\"problem\" data-problem=\"%d\" data-exposed=\"%s\"><h4>", k + 1,
                  asp);
    av_html_esc(b, p->type_name ? p->type_name : "avalanche problem");
    av_buf_puts(b, "</h4><div class=\"cols\">");
    av_rose_svg(b, &rose);
    av_buf_puts(b, "<table class=\"facts\">");
    fact(b, "Avalanche type", p->aval_type_name);
    fact(b, "Cause (weak layer)", p->cause_name);
    fact(b, "Size", p->destructive_size_name);
    fact(b, "Sensitivity to triggers", p->trigger_sensitivity_name);
    fact(b, "Probability", p->probability_name);
    fact(b, "Propagation", p->propagation_name);
    fact(b, "Elevation", p->exposed_text);
    fact(b, "Danger level", p->danger_level_name);
    av_buf_puts(b, "</table></div>");
    if (p->text && *p->text) {
        av_buf_puts(b, "<p class=\"problem-desc\">");
        para(b, p->text);
        av_buf_puts(b, "</p>");
    }
    av_buf_puts(b, "</div>\n");
}

static void weather(struct av_buf *b, const struct av_weather *x)
{
    av_buf_puts(b, "<h3>Mountain weather</h3><table class=\"facts\" id=\"mountain-weather\">");
    fact(b, "Cloud cover", x->cloud_cover_name);
    fact(b, "Wind speed", x->wind_speed);
    fact(b, "Wind direction", x->wind_direction);
    fact(b, "Rain, most exposed area (mm)", x->rain_most_exposed_mm);
    fact(b, "Rain, average (mm)", x->rain_average_mm);
    fact(b, "Temperature min (°C)", x->temperature_min_c);
    fact(b, "Temperature max (°C)", x->temperature_max_c);
    fact(b, "Temperature at (m a.s.l.)", x->temperature_masl);
    fact(b, "Freezing level (m a.s.l.)", x->freezing_level_masl);
    fact(b, "Rain/snow line (m a.s.l.)", x->rain_snow_line_masl);
    fact(b, "Comment", x->comment);
    fact(b, "Forecast", x->texts);
    av_buf_puts(b, "</table>\n");
}

static int day_row(void *ud, const struct av_warning *w)
{
    struct day_ctx *c = ud;
    struct av_buf *b = c->b;
    char pub[AV_STAMP_LEN] = "";
    int np = w->n_problems < 0                 ? 0
             : w->n_problems > AV_MAX_PROBLEMS ? AV_MAX_PROBLEMS
                                               : w->n_problems;
    int na = w->n_advices < 0 ? 0 : w->n_advices > AV_MAX_ADVICES ? AV_MAX_ADVICES : w->n_advices;

    if (w->publish_time != AV_NULL_MS)
        av_stamp_format(w->publish_time, pub);
    av_buf_printf(b,
                  "<section class=\"warning\" data-language=\"%d\"><p>Danger level: "
                  "<b class=\"level\" data-level=\"%d\">",
                  w->lang, w->danger_level);
    if (w->danger_level_name && *w->danger_level_name)
        av_html_esc(b, w->danger_level_name);
    else
        av_buf_printf(b, "%d", w->danger_level);
    av_buf_printf(b, "</b> · language %d · published %s (UTC)</p>\n", w->lang, pub[0] ? pub : "-");
    av_buf_puts(b, "<h3>Main message</h3><p class=\"main-message\">");
    para(b, w->main_text);
    av_buf_puts(b, "</p>\n");
    section(b, "emergency", "Emergency warning", w->emergency_warning);
    section(b, "danger-assessment", "Danger assessment", w->avalanche_danger);
    section(b, "snow-surface", "Snow surface", w->snow_surface);
    section(b, "weak-layers", "Current weak layers", w->current_weak_layers);
    section(b, "activity", "Latest avalanche activity", w->latest_avalanche_activity);
    section(b, "observations", "Latest observations", w->latest_observations);
    av_buf_printf(b, "<h3>Avalanche problems (%d)</h3>\n", np);
    for (int k = 0; k < np; k++)
        problem(b, &w->problems[k], k);
    if (na > 0) {
        av_buf_puts(b, "<h3>Advice</h3><ul class=\"advices\">");
        for (int k = 0; k < na; k++) {
            av_buf_puts(b, "<li>");
            para(b, w->advices[k].text);
            av_buf_puts(b, "</li>");
        }
        av_buf_puts(b, "</ul>\n");
    }
    if (w->has_weather)
        weather(b, &w->weather);
    av_buf_puts(b, "</section>\n");
    c->n++;
    return 0;
}

/* A day's link when the day can be written and read back as YYYY-MM-DD. */
static int day_ok(int64_t day, char d[AV_DATE_LEN])
{
    int64_t back;

    if (day < -800000 || day > 3000000) /* beyond years 0..9999 */
        return 0;
    av_date_format(day, d);
    return av_date_parse(d, &back) == AV_OK && back == day;
}

/* The name percent-encoded for a URL path segment (unreserved bytes kept). */
static void url_name(struct av_buf *b, const char *s)
{
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~')
            av_buf_putc(b, (char)c);
        else
            av_buf_printf(b, "%%%02X", c);
    }
}

av_rc av_region_day(struct av_buf *b, struct av_sink *sink, const struct av_region *reg,
                    int64_t day, int lang, const char *keep, char *errbuf)
{
    int ids[1] = {reg->id};
    struct av_query q = {ids, 1, INT64_MIN, INT64_MAX, 0, 0};
    struct day_ctx c = {b, AV_DAY_LATEST, 0};
    char d[AV_DATE_LEN], o[AV_DATE_LEN];
    av_rc rc;

    av_buf_puts(b, "<div id=\"day\">");
    if (day == AV_DAY_LATEST) {
        int found;
        /* windows back from today, not the region's whole history */
        if ((rc = av_sink_latest_day(sink, &q, av_oslo_today(), &c.latest, &found, errbuf)) !=
            AV_OK)
            goto fail;
        if (!found) {
            av_buf_puts(b, "<p id=\"day-note\">No warning is stored for this region yet."
                           "</p></div>\n");
            return AV_OK;
        }
        if (day_ok(c.latest, d))
            av_buf_printf(b,
                          "<p id=\"day-latest\">The full warning of the latest stored "
                          "day, with its avalanche roses: <a href=\"/region/%d?date=%s%s\">"
                          "%s</a>.</p>",
                          reg->id, d, keep, d);
        av_buf_puts(b, "</div>\n");
        return AV_OK;
    }
    if (!day_ok(day, d)) { /* the date parser only gives days that are */
        av_buf_puts(b, "<p id=\"day-note\">No such day.</p></div>\n");
        return AV_OK;
    }
    av_buf_printf(b, "<h2>Warning for %s</h2><p class=\"day-nav\">", d);
    if (day_ok(day - 1, o))
        av_buf_printf(b, "<a id=\"day-prev\" href=\"/region/%d?date=%s%s\">&larr; %s</a> · ",
                      reg->id, o, keep, o);
    av_buf_puts(b, "<a id=\"varsom-link\" href=\"" VARSOM_DAY);
    url_name(b, reg->name);
    av_buf_printf(b, "/%s\">this warning on varsom.no</a>", d);
    if (day_ok(day + 1, o))
        av_buf_printf(b, " · <a id=\"day-next\" href=\"/region/%d?date=%s%s\">%s &rarr;</a>",
                      reg->id, o, keep, o);
    av_buf_puts(b, "</p>\n");
    q.from = q.to = day;
    q.parts = AV_PART_PROBLEMS | AV_PART_ADVICES | AV_PART_WEATHER;
    q.lang = lang == 2 ? 2 : 1; /* the wanted language, else the other */
    if ((rc = av_sink_read(sink, &q, day_row, &c, errbuf)) != AV_OK)
        goto fail;
    if (c.n == 0) {
        q.lang = 3 - q.lang;
        if ((rc = av_sink_read(sink, &q, day_row, &c, errbuf)) != AV_OK)
            goto fail;
        if (c.n > 0)
            av_buf_printf(b, "<p id=\"day-lang\">Shown in language %d: language %d is "
                             "not stored for this day.</p>\n", q.lang, 3 - q.lang);
    }
    if (c.n == 0)
        av_buf_printf(b, "<p id=\"day-note\">No warning is stored for this region on %s.</p>\n", d);
    av_buf_puts(b, "</div>\n");
    return AV_OK;

fail:
    av_buf_puts(b, "<p id=\"day-error\">The warning could not be read: ");
    av_html_esc(b, errbuf);
    av_buf_puts(b, "</p></div>\n");
    return rc;
}
