/* caaml.c - one warning as a CAAMLv6 bulletin, and the document around
 * the bulletins (see caaml.h; the mapping of each value is caaml_map.c,
 * the reasons docs/caaml.md). */
#include "caaml.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "../core/json.h"
#include "../core/tz.h"
#include "../model/regions.h"

/* ---- small JSON writing helpers ---- */

/* ,"key": (no comma before the first member: *n counts the members) */
static void key(struct av_buf *b, int *n, const char *k)
{
    if ((*n)++)
        av_buf_putc(b, ',');
    av_json_quote(b, k);
    av_buf_putc(b, ':');
}

static void str_member(struct av_buf *b, int *n, const char *k, const char *v)
{
    if (v == NULL)
        return;
    key(b, n, k);
    av_json_quote(b, v);
}

static void int_member(struct av_buf *b, int *n, const char *k, int64_t v)
{
    if (v == AV_NULL_INT)
        return;
    key(b, n, k);
    av_buf_printf(b, "%lld", (long long)v);
}

static void time_member(struct av_buf *b, int *n, const char *k, av_ms t)
{
    char s[AV_CAAML_TIME_LEN];

    if (t == AV_NULL_MS)
        return;
    av_caaml_time(t, s);
    str_member(b, n, k, s);
}

/* Whether s has anything but white space (what av_caaml_html keeps). */
static int has_text(const char *s)
{
    for (; s && *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
            return 1;
    return 0;
}

/* "key":"<HTML of the parts, joined by sep>" when any part has text. */
static void html_member(struct av_buf *b, struct av_buf *tmp, int *n, const char *k,
                        const char *const *parts, int nparts, const char *sep)
{
    int any = 0;

    av_buf_reset(tmp);
    for (int i = 0; i < nparts; i++) {
        if (!has_text(parts[i]))
            continue;
        if (any++)
            av_buf_puts(tmp, sep);
        av_caaml_html(tmp, parts[i]);
    }
    if (any) {
        key(b, n, k);
        av_json_quote(b, tmp->data);
    }
}

/* ---- customData.NVE: the Varsom values under the API's own names ---- */

enum kind { K_INT, K_STR };
struct nve_field {
    const char *name;
    enum kind kind;
    size_t off;
};
#define PI(n, m)                                                                                   \
    {                                                                                              \
        n, K_INT, offsetof(struct av_problem, m)                                                   \
    }
#define PS(n, m)                                                                                   \
    {                                                                                              \
        n, K_STR, offsetof(struct av_problem, m)                                                   \
    }
static const struct nve_field problem_fields[] = {
    PI("AvalancheProblemId", problem_id),
    PI("AvalancheProblemTypeId", type_id),
    PS("AvalancheProblemTypeName", type_name),
    PI("AvalancheTypeId", aval_type_id),
    PS("AvalancheTypeName", aval_type_name),
    PI("AvalancheExtId", ext_id),
    PS("AvalancheExtName", ext_name),
    PI("AvalCauseId", cause_id),
    PS("AvalCauseName", cause_name),
    PI("AvalProbabilityId", probability_id),
    PS("AvalProbabilityName", probability_name),
    PI("AvalTriggerSimpleId", trigger_simple_id),
    PS("AvalTriggerSimpleName", trigger_simple_name),
    PI("AvalTriggerSensitivityId", trigger_sensitivity_id),
    PS("AvalTriggerSensitivityName", trigger_sensitivity_name),
    PI("DestructiveSizeExtId", destructive_size_id),
    PS("DestructiveSizeExtName", destructive_size_name),
    PI("AvalPropagationId", propagation_id),
    PS("AvalPropagationName", propagation_name),
    PS("ValidExpositions", aspects_raw),
    PI("ExposedHeightFill", exposed_height_fill),
    PI("ExposedHeight1", exposed_height_1),
    PI("ExposedHeight2", exposed_height_2),
    PI("DangerLevel", danger_level),
    PS("DangerLevelName", danger_level_name),
    PS("TriggerSenitivityPropagationDestuctiveSizeText", text),
};

static void nve_problem(struct av_buf *b, const struct av_problem *p)
{
    int n = 0;

    av_buf_putc(b, '{');
    for (size_t i = 0; i < sizeof(problem_fields) / sizeof(problem_fields[0]); i++) {
        const char *at = (const char *)p + problem_fields[i].off;
        if (problem_fields[i].kind == K_INT)
            int_member(b, &n, problem_fields[i].name, *(const int *)at);
        else
            str_member(b, &n, problem_fields[i].name, *(const char *const *)at);
    }
    av_buf_putc(b, '}');
}

/* "ids" and "names", comma-joined by the transform, back as [{Id, Name}];
 * nothing when their counts differ (a name with a comma). */
static void id_list(struct av_buf *b, int *n, const char *k, const char *ids, const char *names)
{
    int ci = 0, cn = 0;
    struct av_buf one;

    if (ids == NULL || names == NULL || *ids == '\0')
        return;
    for (const char *p = ids; *p; p++)
        ci += *p == ',';
    for (const char *p = names; *p; p++)
        cn += *p == ',';
    if (ci != cn)
        return;
    av_buf_init(&one, b->max);
    key(b, n, k);
    av_buf_putc(b, '[');
    for (int e = 0; e <= ci; e++) {
        size_t li = strcspn(ids, ","), lm = strcspn(names, ",");
        av_buf_puts(b, e ? ",{\"Id\":" : "{\"Id\":");
        av_buf_reset(&one);
        av_buf_append(&one, ids, li);
        av_json_quote(b, one.data ? one.data : "");
        av_buf_puts(b, ",\"Name\":");
        av_buf_reset(&one);
        av_buf_append(&one, names, lm);
        av_json_quote(b, one.data ? one.data : "");
        av_buf_putc(b, '}');
        ids += li + (ids[li] == ',');
        names += lm + (names[lm] == ',');
    }
    av_buf_putc(b, ']');
    av_buf_free(&one);
}

static void custom_data(struct av_buf *b, const struct av_warning *w)
{
    int n = 0, k;

    av_buf_puts(b, "\"customData\":{\"NVE\":{");
    int_member(b, &n, "RegId", w->reg_id);
    int_member(b, &n, "PreviousWarningRegId", w->previous_reg_id);
    int_member(b, &n, "RegionId", w->region_id);
    if (w->region_type[0])
        str_member(b, &n, "RegionTypeName", w->region_type);
    int_member(b, &n, "LangKey", w->lang);
    int_member(b, &n, "DangerLevel", w->danger_level);
    str_member(b, &n, "DangerLevelName", w->danger_level_name);
    time_member(b, &n, "ValidFrom", w->valid_from);
    time_member(b, &n, "ValidTo", w->valid_to);
    time_member(b, &n, "DangerIncreaseTime", w->danger_increase_time);
    time_member(b, &n, "DangerDecreaseTime", w->danger_decrease_time);
    if (w->is_tendency != AV_NULL_INT) {
        key(b, &n, "IsTendency");
        av_buf_puts(b, w->is_tendency ? "true" : "false");
    }
    str_member(b, &n, "Author", w->author);
    str_member(b, &n, "EmergencyWarning", w->emergency_warning);
    str_member(b, &n, "LatestAvalancheActivity", w->latest_avalanche_activity);
    str_member(b, &n, "LatestObservations", w->latest_observations);
    int_member(b, &n, "ExtremWeatherId", w->extreme_weather_id);
    str_member(b, &n, "ExtremWeatherName", w->extreme_weather_name);
    int_member(b, &n, "UtmZone", w->utm_zone);
    int_member(b, &n, "UtmEast", w->utm_east);
    int_member(b, &n, "UtmNorth", w->utm_north);
    id_list(b, &n, "CountyList", w->county_ids, w->county_names);
    id_list(b, &n, "MunicipalityList", w->municipality_ids, w->municipality_names);
    str_member(b, &n, "Endpoint", w->endpoint);
    if (w->n_advices > 0) {
        key(b, &n, "AvalancheAdvices");
        av_buf_putc(b, '[');
        for (k = 0; k < w->n_advices; k++) {
            int m = 0;
            av_buf_puts(b, k ? ",{" : "{");
            int_member(b, &m, "AdviceID", w->advices[k].advice_id);
            str_member(b, &m, "ImageUrl", w->advices[k].image_url);
            av_buf_putc(b, '}');
        }
        av_buf_putc(b, ']');
    }
    if (w->has_weather) {
        int m = 0;
        key(b, &n, "MountainWeather");
        av_buf_putc(b, '{');
        time_member(b, &m, "LastSavedTime", w->weather.last_saved);
        int_member(b, &m, "CloudCoverId", w->weather.cloud_cover_id);
        str_member(b, &m, "CloudCoverName", w->weather.cloud_cover_name);
        av_buf_putc(b, '}');
    }
    /* problems CAAML has no type for (0 "not given", ids it does not know) */
    for (k = 0; k < w->n_problems; k++)
        if (av_caaml_problem_type(w->problems[k].type_id) == NULL)
            break;
    if (k < w->n_problems) {
        int first = 1;
        key(b, &n, "AvalancheProblems");
        av_buf_putc(b, '[');
        for (; k < w->n_problems; k++) {
            if (av_caaml_problem_type(w->problems[k].type_id) != NULL)
                continue;
            if (!first)
                av_buf_putc(b, ',');
            first = 0;
            nve_problem(b, &w->problems[k]);
        }
        av_buf_putc(b, ']');
    }
    av_buf_puts(b, "}}");
}

/* ---- the bulletin ---- */

static void elevation(struct av_buf *b, int *n, const struct av_caaml_elev *e)
{
    int m = 0;

    if (e->lower == AV_NULL_INT && e->upper == AV_NULL_INT)
        return;
    key(b, n, "elevation");
    av_buf_putc(b, '{');
    if (e->lower != AV_NULL_INT) {
        key(b, &m, "lowerBound");
        av_buf_printf(b, "\"%d\"", e->lower);
    }
    if (e->upper != AV_NULL_INT) {
        key(b, &m, "upperBound");
        av_buf_printf(b, "\"%d\"", e->upper);
    }
    av_buf_putc(b, '}');
}

/* One CAAML problem per elevation entry (two for ExposedHeightFill 3). */
static int problem(struct av_buf *b, struct av_buf *tmp, const struct av_problem *p, int count)
{
    const char *type = av_caaml_problem_type(p->type_id);
    const char *stab = av_caaml_stability(p->trigger_sensitivity_id, p->trigger_simple_id);
    const char *freq = av_caaml_frequency(p->propagation_id);
    const char *level = p->danger_level >= 1 ? av_caaml_danger(p->danger_level) : NULL;
    struct av_caaml_elev el[2];
    int ne, size = av_caaml_size(p->destructive_size_id);

    if (type == NULL)
        return count;
    ne = av_caaml_elevations(p, el);
    for (int e = 0; e < ne; e++) {
        int n = 0;
        av_buf_puts(b, count++ ? ",{" : "{");
        str_member(b, &n, "problemType", type);
        elevation(b, &n, &el[e]);
        if (p->aspects != AV_NULL_INT && (p->aspects & 0xff) != 0) {
            int first = 1;
            key(b, &n, "aspects");
            av_buf_putc(b, '[');
            for (int a = 0; a < 8; a++) {
                if (!(p->aspects & (1 << a)))
                    continue;
                av_buf_printf(b, "%s\"%s\"", first ? "" : ",", av_aspect_names[a]);
                first = 0;
            }
            av_buf_putc(b, ']');
        }
        str_member(b, &n, "snowpackStability", stab);
        str_member(b, &n, "frequency", freq);
        if (size) {
            key(b, &n, "avalancheSize");
            av_buf_printf(b, "%d", size);
        }
        str_member(b, &n, "dangerRatingValue", level);
        html_member(b, tmp, &n, "comment", &p->text, 1, "");
        key(b, &n, "customData");
        av_buf_puts(b, "{\"NVE\":");
        nve_problem(b, p);
        av_buf_puts(b, "}}");
    }
    return count;
}

/* The weather forecast's text: MeasurementTexts (6.2 on) and the comment;
 * without texts (6.0) the measurements in words. */
static void weather_text(struct av_buf *b, struct av_buf *tmp, int *n, const struct av_warning *w)
{
    const struct av_weather *x = &w->weather;
    const char *parts[2] = {x->texts, x->comment};
    char line[6][200];    /* at most six measurement lines */
    const char *lines[7]; /* and the comment */
    int nl = 0, en = w->lang == 2;

    if (!w->has_weather)
        return;
    if (!has_text(x->texts)) {
        if (x->cloud_cover_name)
            snprintf(line[nl++], sizeof(line[0]), "%s.", x->cloud_cover_name);
        if (x->rain_average_mm || x->rain_most_exposed_mm)
            snprintf(line[nl++], sizeof(line[0]),
                     en ? "Precipitation: %s mm, %s mm in the most exposed areas."
                        : "Nedbør: %s mm, %s mm i de mest utsatte områdene.",
                     x->rain_average_mm ? x->rain_average_mm : "-",
                     x->rain_most_exposed_mm ? x->rain_most_exposed_mm : "-");
        if (x->wind_speed)
            snprintf(line[nl++], sizeof(line[0]), en ? "Wind: %s from %s." : "Vind: %s fra %s.",
                     x->wind_speed, x->wind_direction ? x->wind_direction : "-");
        if (x->wind_shift_speed)
            snprintf(line[nl++], sizeof(line[0]),
                     en ? "Wind shift to %s from %s, %s-%s h."
                        : "Vindskift til %s fra %s, kl. %s-%s.",
                     x->wind_shift_speed, x->wind_shift_direction ? x->wind_shift_direction : "-",
                     x->wind_shift_start_hour ? x->wind_shift_start_hour : "-",
                     x->wind_shift_end_hour ? x->wind_shift_end_hour : "-");
        if (x->temperature_min_c || x->temperature_max_c)
            snprintf(line[nl++], sizeof(line[0]),
                     en ? "Temperature: %s to %s °C at %s m a.s.l."
                        : "Temperatur: %s til %s °C i %s moh.",
                     x->temperature_min_c ? x->temperature_min_c : "-",
                     x->temperature_max_c ? x->temperature_max_c : "-",
                     x->temperature_masl ? x->temperature_masl : "-");
        if (x->freezing_level_masl)
            snprintf(line[nl++], sizeof(line[0]),
                     en ? "Freezing level: %s m a.s.l." : "Nullgradsgrense: %s moh.",
                     x->freezing_level_masl);
        for (int i = 0; i < nl; i++)
            lines[i] = line[i];
        if (has_text(x->comment))
            lines[nl++] = x->comment;
        html_member(b, tmp, n, "comment", lines, nl, "<br/>");
        return;
    }
    html_member(b, tmp, n, "comment", parts, 2, "<br/>");
}

static int64_t midnight_after(int64_t valid_date)
{
    return av_oslo_local_to_utc((valid_date + 1) * 86400000LL);
}

/* The half-open validity: the day from ValidFrom to the next local
 * midnight (Varsom's 23:59:59 is the last second of the day); a ValidTo
 * that is not at the end of the day is kept as it is. */
static av_ms valid_end(const struct av_warning *w)
{
    av_ms end = midnight_after(w->valid_date);

    if (w->valid_to != AV_NULL_MS && (w->valid_to < end - 60000 || w->valid_to > end))
        return w->valid_to;
    return end;
}

static void provider(struct av_buf *b, int *n, const struct av_warning *w)
{
    int m = 0;

    key(b, n, "source");
    av_buf_puts(b, "{\"provider\":{");
    str_member(b, &m, "name",
               w->lang == 2 ? "Norwegian Avalanche Warning Service (NVE), varsom.no"
                            : "Snøskredvarslingen i Norge (NVE), varsom.no");
    str_member(b, &m, "website",
               w->lang == 2 ? "https://www.varsom.no/en/avalanches/avalanche-warnings/"
                            : "https://www.varsom.no/");
    if (has_text(w->author)) {
        key(b, &m, "contactPerson");
        av_buf_puts(b, "{\"name\":");
        av_json_quote(b, w->author);
        av_buf_putc(b, '}');
    }
    av_buf_puts(b, "}}");
}

/* Everything but the tendency and the closing brace. */
static void bulletin_open(struct av_buf *b, const struct av_warning *w)
{
    struct av_buf tmp;
    const struct av_region *reg = av_region_find(w->region_id);
    const char *name = w->region_name ? w->region_name : reg ? reg->name : NULL;
    const char *level = av_caaml_danger(w->danger_level);
    const char *snow[2] = {w->snow_surface, w->current_weak_layers};
    char id[64], date[AV_DATE_LEN];
    int n = 0, count = 0;

    av_buf_init(&tmp, b->max);
    av_date_format(w->valid_date, date);
    av_buf_putc(b, '{');
    snprintf(id, sizeof(id), "NO-%d_%s", w->region_id, date);
    str_member(b, &n, "bulletinID", id);
    str_member(b, &n, "lang", av_caaml_lang(w->lang));
    time_member(b, &n, "publicationTime", w->publish_time);
    key(b, &n, "validTime");
    {
        int m = 0;
        av_buf_putc(b, '{');
        time_member(b, &m, "startTime",
                    w->valid_from != AV_NULL_MS ? w->valid_from
                                                : av_oslo_local_to_utc(w->valid_date * 86400000LL));
        time_member(b, &m, "endTime", valid_end(w));
        av_buf_putc(b, '}');
    }
    time_member(b, &n, "nextUpdate", w->next_warning_time);
    provider(b, &n, w);
    key(b, &n, "regions");
    av_buf_printf(b, "[{\"regionID\":\"NO-%d\"", w->region_id);
    if (name) {
        av_buf_puts(b, ",\"name\":");
        av_json_quote(b, name);
    }
    av_buf_puts(b, "}]");
    key(b, &n, "dangerRatings");
    av_buf_printf(b, "[{\"mainValue\":\"%s\"}]", level ? level : "no_rating");
    for (int k = 0; k < w->n_problems; k++)
        if (av_caaml_problem_type(w->problems[k].type_id))
            count++;
    if (count) {
        key(b, &n, "avalancheProblems");
        av_buf_putc(b, '[');
        count = 0;
        for (int k = 0; k < w->n_problems; k++)
            count = problem(b, &tmp, &w->problems[k], count);
        av_buf_putc(b, ']');
    }
    if (has_text(w->emergency_warning) && strcmp(w->emergency_warning, "Not given") != 0 &&
        strcmp(w->emergency_warning, "Ikke gitt") != 0)
        html_member(b, &tmp, &n, "highlights", &w->emergency_warning, 1, "");
    if (has_text(w->main_text) || has_text(w->avalanche_danger)) {
        int m = 0;
        key(b, &n, "avalancheActivity");
        av_buf_putc(b, '{');
        html_member(b, &tmp, &m, "highlights", &w->main_text, 1, "");
        html_member(b, &tmp, &m, "comment", &w->avalanche_danger, 1, "");
        av_buf_putc(b, '}');
    }
    if (has_text(snow[0]) || has_text(snow[1])) {
        int m = 0;
        key(b, &n, "snowpackStructure");
        av_buf_putc(b, '{');
        html_member(b, &tmp, &m, "comment", snow, 2, "<br/><br/>");
        av_buf_putc(b, '}');
    }
    av_buf_reset(&tmp);
    for (int k = 0; k < w->n_advices; k++) {
        if (!has_text(w->advices[k].text))
            continue;
        av_buf_puts(&tmp, tmp.len ? "<li>" : "<ul><li>");
        av_caaml_html(&tmp, w->advices[k].text);
        av_buf_puts(&tmp, "</li>");
    }
    if (tmp.len) { /* the advices as a list */
        av_buf_puts(&tmp, "</ul>");
        key(b, &n, "travelAdvisory");
        av_buf_puts(b, "{\"comment\":");
        av_json_quote(b, tmp.data);
        av_buf_putc(b, '}');
    }
    if (w->has_weather) {
        size_t at = b->len;
        int m = 0;
        key(b, &n, "weatherForecast");
        av_buf_putc(b, '{');
        weather_text(b, &tmp, &m, w);
        if (m == 0) { /* nothing to say: no member at all */
            b->len = at;
            b->data[at] = '\0';
            n--;
        } else {
            av_buf_putc(b, '}');
        }
    }
    av_buf_putc(b, ','); /* bulletinID came first */
    custom_data(b, w);
    av_buf_free(&tmp);
}

/* ,"tendency":[...] when both days are rated; then the closing brace. */
static void bulletin_close(struct av_buf *b, int level, const struct av_caaml_next *next)
{
    if (next && level >= 1 && level <= 5 && next->danger_level >= 1 && next->danger_level <= 5) {
        struct av_buf tmp;
        int m = 0;
        av_buf_init(&tmp, b->max);
        av_buf_puts(b, ",\"tendency\":[{");
        html_member(b, &tmp, &m, "comment", &next->main_text, 1, "");
        key(b, &m, "tendencyType");
        av_buf_printf(b, "\"%s\"",
                      next->danger_level > level   ? "increasing"
                      : next->danger_level < level ? "decreasing"
                                                   : "steady");
        key(b, &m, "validTime");
        av_buf_putc(b, '{');
        m = 0;
        time_member(b, &m, "startTime", next->valid_from);
        time_member(b, &m, "endTime", midnight_after(next->valid_date));
        av_buf_puts(b, "}}]");
        av_buf_free(&tmp);
    }
    av_buf_putc(b, '}');
}

void av_caaml_bulletin(struct av_buf *b, const struct av_warning *w,
                       const struct av_caaml_next *next)
{
    bulletin_open(b, w);
    bulletin_close(b, w->danger_level, next);
}

/* ---- the document ---- */

void av_caaml_doc_begin(struct av_caaml_doc *d, struct av_buf *out, int64_t last)
{
    memset(d, 0, sizeof(*d));
    d->out = out;
    d->last = last;
    av_buf_init(&d->held, out->max);
    d->held_date = INT64_MIN;
    av_buf_puts(out, "{\"bulletins\":[");
}

static void release(struct av_caaml_doc *d, const struct av_caaml_next *next)
{
    if (d->held_date == INT64_MIN)
        return;
    if (d->bulletins++)
        av_buf_puts(d->out, ",\n");
    else
        av_buf_putc(d->out, '\n');
    av_buf_append(d->out, d->held.data, d->held.len);
    bulletin_close(d->out, d->held_level, next);
    if (d->held.failed)
        d->out->failed = 1;
    av_buf_reset(&d->held);
    d->held_date = INT64_MIN;
}

void av_caaml_doc_add(struct av_caaml_doc *d, const struct av_warning *w)
{
    if (d->held_date != INT64_MIN) {
        struct av_caaml_next next = {w->danger_level,
                                     w->valid_from != AV_NULL_MS
                                         ? w->valid_from
                                         : av_oslo_local_to_utc(w->valid_date * 86400000LL),
                                     w->valid_date, w->main_text};
        int follows = w->region_id == d->held_region && w->valid_date == d->held_date + 1;
        release(d, follows ? &next : NULL);
    }
    if (w->valid_date > d->last)
        return; /* only the tendency of the day before */
    bulletin_open(&d->held, w);
    d->held_region = w->region_id;
    d->held_level = w->danger_level;
    d->held_date = w->valid_date;
}

void av_caaml_doc_end(struct av_caaml_doc *d)
{
    release(d, NULL);
    av_buf_puts(d->out, d->bulletins ? "\n]}\n" : "]}\n");
    av_buf_free(&d->held);
}
