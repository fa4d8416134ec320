/* region_svg.c - the region page's danger charts as SVG (see region_svg.h). */
#include "region_svg.h"

#include <math.h>
#include <stdio.h>

#include "../core/tz.h"
#include "dash_region.h" /* AV_DAY_LATEST */
#include "html.h"

/* The destructive size's shade (light to dark: small to very large);
 * [0] = size unknown. Each mark also says its size in its title. */
static const char *const size_shade[6] = {"#bdbdbd", "#c6dbef", "#9ecae1",
                                          "#6baed6", "#3182bd", "#08519c"};

static double slot(const struct av_rgc *c) { return av_rgc_x(c, 1) - av_rgc_x(c, 0); }

static void open_svg(struct av_buf *b, const char *id, double h, const char *what,
                     const char *title, const struct av_rgc *c)
{
    char d0[AV_DATE_LEN], d1[AV_DATE_LEN];

    av_date_format(c->first, d0);
    av_date_format(c->first + c->ndays - 1, d1);
    av_buf_printf(b,
                  "<svg id=\"%s\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %.0f\" "
                  "width=\"%d\" height=\"%.0f\" role=\"img\" aria-describedby=\"%s-desc\" "
                  "font-family=\"system-ui,sans-serif\" font-size=\"10\" aria-label=\"%s, ",
                  id, AV_RGC_W, h, AV_RGC_W, h, id, what);
    av_html_esc(b, title);
    av_buf_printf(b, ", %s to %s\"><title>%s, ", d0, d1, what);
    av_html_esc(b, title);
    av_buf_printf(b, ", %s to %s</title>\n<desc id=\"%s-desc\">", d0, d1, id);
}

/* Day labels under y (Mondays, every week or every few when the days are
 * narrow: the weather chart's rule, so the labels line up too), the
 * today and chosen-day lines from top to bottom. */
static void day_axis(struct av_buf *b, const struct av_rgc *c, double top, double bottom,
                     int64_t today, int64_t chosen)
{
    double sw = slot(c);
    int every = sw * 7 >= 48 ? 1 : (int)ceil(48 / (sw * 7)), k;
    char d[AV_DATE_LEN];

    av_buf_puts(b, "<g fill=\"#333\">");
    for (k = 0; k < c->ndays && av_weekday(c->first + k) != 1; k++)
        ;
    for (; k < c->ndays; k += 7 * every) {
        av_date_format(c->first + k, d);
        av_buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>",
                      av_rgc_x(c, k) + sw / 2, bottom + 13, d + 5);
    }
    av_buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">day (Europe/Oslo)</text>",
                  AV_WXC_PR, bottom + 27);
    if ((k = av_rgc_index(c, today)) >= 0)
        av_buf_printf(b,
                      "<line class=\"today\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" "
                      "stroke=\"#555\" stroke-dasharray=\"2 2\"/><text x=\"%.1f\" y=\"%.1f\" "
                      "text-anchor=\"end\">today</text>",
                      av_rgc_x(c, k) + sw / 2, av_rgc_x(c, k) + sw / 2, top, bottom,
                      av_rgc_x(c, k) + sw / 2 - 3, top - 3);
    if (chosen != AV_DAY_LATEST && (k = av_rgc_index(c, chosen)) >= 0) {
        av_date_format(chosen, d);
        av_buf_printf(b,
                      "<line class=\"chosen\" data-date=\"%s\" x1=\"%.1f\" x2=\"%.1f\" "
                      "y1=\"%.1f\" y2=\"%.1f\" stroke=\"#c00\" stroke-width=\"1.5\"/>"
                      "<text x=\"%.1f\" y=\"%.1f\" fill=\"#c00\">%s</text>",
                      d, av_rgc_x(c, k) + sw / 2, av_rgc_x(c, k) + sw / 2, top, bottom,
                      av_rgc_x(c, k) + sw / 2 + 3, top - 3, d);
    }
    av_buf_puts(b, "</g>\n");
}

void av_rgc_danger_svg(struct av_buf *b, const struct av_rgc *c, const char *title, int64_t today,
                       int64_t chosen)
{
    int n[6] = {0}, with = 0;
    char d0[AV_DATE_LEN], d1[AV_DATE_LEN];

    for (int k = 0; k < c->ndays; k++)
        if (c->level[k] >= 0) {
            n[(int)c->level[k]]++;
            with++;
        }
    if (with == 0) {
        av_buf_puts(b, "<p id=\"danger-note\">No danger level is stored for these days.</p>\n");
        return;
    }
    open_svg(b, "danger-chart", AV_RGC_DANGER_H, "Danger level per day", title, c);
    av_buf_printf(b, "%d of %d days have a danger level (language %d where stored, else the "
                     "other):", with, c->ndays, c->want_lang);
    for (int l = 0, sep = 0; l <= 5; l++)
        if (n[l])
            av_buf_printf(b, "%s %s %d %s", sep++ ? "," : "", av_level_name(l), n[l],
                          n[l] == 1 ? "day" : "days");
    av_buf_puts(b, ". The line steps to each day's level; the area under it has the level's "
                   "colour. Days without a warning are blank.</desc>\n");
    /* the grid and the level axis */
    av_buf_puts(b, "<g stroke=\"#e6e6e6\">");
    for (int l = 1; l <= 5; l++)
        av_buf_printf(b, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>", AV_WXC_PL,
                      AV_WXC_PR, av_rgc_level_y(l), av_rgc_level_y(l));
    av_buf_puts(b, "</g><g fill=\"#333\">");
    for (int l = 0; l <= 5; l++)
        av_buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%d</text>",
                      AV_WXC_PL - 4, av_rgc_level_y(l) + 3, l);
    av_buf_printf(b, "<text x=\"%.1f\" y=\"10\" text-anchor=\"middle\">level</text></g>\n",
                  AV_WXC_PL);
    /* an area per run of days at one level */
    for (int k = 0; k < c->ndays;) {
        int l = c->level[k], e = k;
        double y;
        if (l < 0) {
            k++;
            continue;
        }
        while (e + 1 < c->ndays && c->level[e + 1] == l)
            e++;
        av_date_format(c->first + k, d0);
        av_date_format(c->first + e, d1);
        y = av_rgc_level_y(l);
        av_buf_printf(b,
                      "<rect class=\"lv\" data-from=\"%s\" data-to=\"%s\" data-level=\"%d\" "
                      "x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\" fill=\"%s\"",
                      d0, d1, l, av_rgc_x(c, k), l ? y : AV_RGC_DB - 2,
                      av_rgc_x(c, e + 1) - av_rgc_x(c, k), l ? AV_RGC_DB - y : 2.0,
                      av_level_colour(l));
        if (k == e)
            av_buf_printf(b, "><title>%s: %s</title></rect>\n", d0, av_level_name(l));
        else
            av_buf_printf(b, "><title>%s to %s (%d days): %s</title></rect>\n", d0, d1,
                          e - k + 1, av_level_name(l));
        k = e + 1;
    }
    /* the step line over each run of days with a level */
    for (int k = 0; k < c->ndays;) {
        int e = k;
        if (c->level[k] < 0) {
            k++;
            continue;
        }
        av_buf_printf(b, "<path class=\"step\" fill=\"none\" stroke=\"#222\" "
                         "stroke-width=\"1.5\" d=\"M%.2f %.1f",
                      av_rgc_x(c, k), av_rgc_level_y(c->level[k]));
        for (; e < c->ndays && c->level[e] >= 0; e++) {
            if (e > k && c->level[e] != c->level[e - 1])
                av_buf_printf(b, "V%.1f", av_rgc_level_y(c->level[e]));
            av_buf_printf(b, "H%.2f", av_rgc_x(c, e + 1));
        }
        av_buf_puts(b, "\"/>\n");
        k = e;
    }
    av_buf_printf(b, "<path d=\"M%.1f %.1fV%.1fH%.1f\" fill=\"none\" stroke=\"#777\"/>\n",
                  AV_WXC_PL, AV_RGC_DT, AV_RGC_DB, AV_WXC_PR);
    day_axis(b, c, AV_RGC_DT, AV_RGC_DB, today, chosen);
    av_buf_puts(b, "</svg>\n");
}

void av_rgc_timeline_svg(struct av_buf *b, const struct av_rgc *c, const char *title,
                         int64_t today, int64_t chosen)
{
    double h = av_rgc_timeline_h(c), sw = slot(c), inset = sw >= 4 ? 0.4 : 0;
    double bottom = av_rgc_row_base(c, c->ntypes - 1) + 2;
    char d0[AV_DATE_LEN], d1[AV_DATE_LEN];

    if (c->ntypes == 0) {
        av_buf_puts(b, "<p id=\"timeline-note\">No avalanche problem is stored for these "
                       "days.</p>\n");
        return;
    }
    open_svg(b, "problem-timeline", h, "Avalanche problems per day", title, c);
    av_buf_printf(b, "%d avalanche problem types in these days, one row each (by type id). "
                     "A mark spans the days a problem was active; its height and shade grow "
                     "with the destructive size (1 small to 5 very large; grey and lowest: "
                     "size unknown).",
                  c->ntypes);
    if (c->dropped)
        av_buf_printf(b, " %d problems beyond %d types were left out.", c->dropped,
                      AV_RGC_MAX_TYPES);
    av_buf_puts(b, "</desc>\n");
    for (int i = 0; i < c->ntypes; i++) {
        double base = av_rgc_row_base(c, i);
        av_buf_printf(b, "<g class=\"ptype\" data-type=\"%d\"><line x1=\"%.1f\" x2=\"%.1f\" "
                         "y1=\"%.1f\" y2=\"%.1f\" stroke=\"#e6e6e6\"/><text x=\"%.1f\" "
                         "y=\"%.1f\" fill=\"#333\">",
                      c->type[i].id, AV_WXC_PL, AV_WXC_PR, base + 0.5, base + 0.5,
                      AV_WXC_PL + 2, base - AV_RGC_ROW_H + 11);
        if (c->type[i].name[0])
            av_html_esc(b, c->type[i].name);
        else
            av_buf_printf(b, "problem type %d", c->type[i].id);
        av_buf_puts(b, "</text>");
        for (int k = 0; k < c->ndays;) {
            int s = c->type[i].size[k], e = k;
            double mh;
            if (s < 0) {
                k++;
                continue;
            }
            while (e + 1 < c->ndays && c->type[i].size[e + 1] == s)
                e++;
            mh = AV_RGC_MARK_H(s);
            av_date_format(c->first + k, d0);
            av_date_format(c->first + e, d1);
            av_buf_printf(b,
                          "<rect class=\"pm\" data-from=\"%s\" data-to=\"%s\" data-size=\"%d\" "
                          "x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\" fill=\"%s\">"
                          "<title>%s",
                          d0, d1, s, av_rgc_x(c, k) + inset, base - mh,
                          av_rgc_x(c, e + 1) - av_rgc_x(c, k) - 2 * inset, mh, size_shade[s], d0);
            if (e > k)
                av_buf_printf(b, " to %s (%d days)", d1, e - k + 1);
            av_buf_puts(b, ": ");
            if (c->type[i].name[0])
                av_html_esc(b, c->type[i].name);
            else
                av_buf_printf(b, "problem type %d", c->type[i].id);
            if (s == 0)
                av_buf_puts(b, ", size unknown");
            else if (c->size_name[s][0]) {
                av_buf_puts(b, ", destructive size ");
                av_html_esc(b, c->size_name[s]);
            } else
                av_buf_printf(b, ", destructive size %d", s);
            av_buf_puts(b, "</title></rect>");
            k = e + 1;
        }
        av_buf_puts(b, "</g>\n");
    }
    day_axis(b, c, AV_RGC_TT, bottom, today, chosen);
    /* the legend: each shade with its size in words */
    av_buf_puts(b, "<g fill=\"#333\">");
    for (int i = 0; i <= 5; i++) {
        int s = i < 5 ? i + 1 : 0;
        double x = AV_WXC_PL + 70 * i;
        av_buf_printf(b, "<rect x=\"%.0f\" y=\"%.1f\" width=\"10\" height=\"%.0f\" "
                         "fill=\"%s\"/>",
                      x, h - 4 - AV_RGC_MARK_H(s), AV_RGC_MARK_H(s), size_shade[s]);
        if (s)
            av_buf_printf(b, "<text x=\"%.0f\" y=\"%.1f\">size %d</text>", x + 13, h - 4, s);
        else
            av_buf_printf(b, "<text x=\"%.0f\" y=\"%.1f\">size unknown</text>", x + 13, h - 4);
    }
    av_buf_puts(b, "</g>\n</svg>\n");
}
