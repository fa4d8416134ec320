/* caaml_map.c - the value mapping of caaml.h: Varsom ids and codes ->
 * CAAMLv6 enumerations, elevations, times with offsets, HTML texts. Each
 * choice is argued in docs/caaml.md. */
#include <stdio.h>
#include <string.h>

#include "../core/tz.h"
#include "caaml.h"

const char *av_caaml_danger(int level)
{
    static const char *const names[] = {"no_rating",    "low",  "moderate",
                                        "considerable", "high", "very_high"};

    return level >= 0 && level <= 5 ? names[level] : NULL;
}

const char *av_caaml_problem_type(int type_id)
{
    switch (type_id) {
    case 3: /* new snow, loose snow avalanches */
    case 7: /* new snow, slab avalanches */ return "new_snow";
    case 5: /* wet snow, loose snow avalanches */
    case 45: /* wet snow, slab avalanches */ return "wet_snow";
    case 10: return "wind_slab";
    case 30:
    case 37: /* the old "deep persistent weak layer" */ return "persistent_weak_layers";
    case 50: return "gliding_snow";
    default: return NULL;
    }
}

const char *av_caaml_stability(int sensitivity_id, int trigger_simple_id)
{
    switch (sensitivity_id) {
    case 10: /* very hard to trigger */ return "good";
    case 20: /* hard to trigger */ return "fair";
    case 30: /* easy to trigger */ return "poor";
    case 40: /* very easy to trigger */
    case 45: /* spontaneous (natural) release */ return "very_poor";
    }
    switch (trigger_simple_id) { /* API 6.0: the coarser trigger */
    case 10: /* high additional load */ return "fair";
    case 21: /* low additional load */ return "poor";
    case 22: /* spontaneous release */ return "very_poor";
    }
    return NULL;
}

const char *av_caaml_frequency(int propagation_id)
{
    switch (propagation_id) {
    case 1: return "few";
    case 2: return "some";
    case 3: return "many";
    default: return NULL;
    }
}

int av_caaml_size(int destructive_size_id)
{
    return destructive_size_id >= 1 && destructive_size_id <= 5 ? destructive_size_id : 0;
}

#define MAX_HEIGHT 100000 /* metres; anything above is not a height */

/* A height as a lower bound (rounded down to 100 m; 0 or less: open) or
 * an upper bound (rounded up; 0 or less: nothing lies below it, open). */
static int lower_of(int h)
{
    return h == AV_NULL_INT || h <= 0 || h > MAX_HEIGHT ? AV_NULL_INT : h / 100 * 100;
}

static int upper_of(int h)
{
    return h == AV_NULL_INT || h <= 0 || h > MAX_HEIGHT ? AV_NULL_INT : (h + 99) / 100 * 100;
}

int av_caaml_elevations(const struct av_problem *p, struct av_caaml_elev out[2])
{
    int h1 = p->exposed_height_1, h2 = p->exposed_height_2;

    out[0].lower = out[0].upper = out[1].lower = out[1].upper = AV_NULL_INT;
    switch (p->exposed_height_fill) {
    case 1: /* above H1 */ out[0].lower = lower_of(h1); return 1;
    case 2: /* below H1 */ out[0].upper = upper_of(h1); return 1;
    case 3: /* above H1 and below H2: the band between them is spared */
        if (h1 == AV_NULL_INT || h2 == AV_NULL_INT)
            return 1;
        out[0].lower = lower_of(h1);
        out[1].upper = upper_of(h2);
        if (out[0].lower == AV_NULL_INT ||
            (out[1].upper != AV_NULL_INT && out[1].upper >= out[0].lower)) {
            /* everything above 0 m, or no gap left (H2 >= H1, or by rounding) */
            out[0].lower = out[1].upper = AV_NULL_INT;
            return 1;
        }
        return out[1].upper == AV_NULL_INT ? 1 : 2; /* nothing below H2: above H1 only */
    case 4:                                         /* between H2 and H1 */
        if (h1 == AV_NULL_INT || h2 == AV_NULL_INT)
            return 1;
        out[0].lower = lower_of(h1 < h2 ? h1 : h2);
        out[0].upper = upper_of(h1 < h2 ? h2 : h1);
        return 1;
    default: return 1;
    }
}

void av_caaml_time(av_ms t, char out[AV_CAAML_TIME_LEN])
{
    int off = av_oslo_offset(t), y, m, d;
    av_ms local = av_oslo_utc_to_local(t);
    int64_t days = local / 86400000, ms;

    if (local % 86400000 < 0)
        days--;
    ms = local - days * 86400000;
    av_civil_from_days(days, &y, &m, &d);
    if (ms % 1000)
        snprintf(out, AV_CAAML_TIME_LEN, "%04d-%02d-%02dT%02d:%02d:%02d.%03d+%02d:%02d", y, m, d,
                 (int)(ms / 3600000), (int)(ms / 60000 % 60), (int)(ms / 1000 % 60),
                 (int)(ms % 1000), off / 3600, off / 60 % 60);
    else
        snprintf(out, AV_CAAML_TIME_LEN, "%04d-%02d-%02dT%02d:%02d:%02d+%02d:%02d", y, m, d,
                 (int)(ms / 3600000), (int)(ms / 60000 % 60), (int)(ms / 1000 % 60), off / 3600,
                 off / 60 % 60);
}

const char *av_caaml_lang(int lang) { return lang == 1 ? "nb" : lang == 2 ? "en" : NULL; }

void av_caaml_html(struct av_buf *b, const char *s)
{
    size_t n;

    if (s == NULL)
        return;
    n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
        n--;
    for (size_t i = 0; i < n; i++) {
        switch (s[i]) {
        case '&': av_buf_puts(b, "&amp;"); break;
        case '<': av_buf_puts(b, "&lt;"); break;
        case '>': av_buf_puts(b, "&gt;"); break;
        case '\r':
            if (i + 1 < n && s[i + 1] == '\n')
                i++;
            /* fall through */
        case '\n': av_buf_puts(b, "<br/>"); break;
        default: av_buf_putc(b, s[i]);
        }
    }
}
