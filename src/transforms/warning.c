/* warning.c - raw Varsom warning JSON -> struct av_warning. Pure. */
#include "warning.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../core/hash.h"
#include "../model/regions.h"

/* Mountain-weather measurements with a typed member (varsom-api.md §7);
 * the others go to av_weather.other. */
static const struct {
    int type_id, subtype_id;
    size_t off;
} weather_map[] = {
#define M(t, s, member) {t, s, offsetof(struct av_weather, member)}
    M(10, 60, rain_most_exposed_mm),  M(10, 70, rain_average_mm),
    M(20, 20, wind_speed),            M(20, 50, wind_direction),
    M(30, 20, wind_shift_speed),      M(30, 50, wind_shift_direction),
    M(30, 100, wind_shift_start_hour), M(30, 110, wind_shift_end_hour),
    M(40, 30, temperature_min_c),     M(40, 40, temperature_max_c),
    M(40, 90, temperature_masl),      M(50, 90, freezing_level_masl),
    M(50, 100, freezing_level_start_hour), M(50, 110, freezing_level_end_hour),
    M(55, 90, rain_snow_line_masl),   M(55, 100, rain_snow_line_start_hour),
    M(55, 110, rain_snow_line_end_hour),
#undef M
};

#define NWEATHER (sizeof(weather_map) / sizeof(weather_map[0]))

void av_xform_init(struct av_xform *x)
{
    av_buf_init(&x->arena, 0);
    av_buf_init(&x->tmp, 0);
}

void av_xform_free(struct av_xform *x)
{
    av_buf_free(&x->arena);
    av_buf_free(&x->tmp);
}

/* The arena's ceiling is pinned to its capacity for the whole warning, so
 * it never moves (pointers into it stay valid) and anything that would not
 * fit fails instead: the first failure sticks in rc and rejects the
 * warning at the end. */
struct ctx {
    struct av_json *j;
    struct av_buf *arena;
    av_rc rc;
};

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Copies n bytes + NUL into the arena; NULL (and rc set) when full. */
static const char *put(struct ctx *c, const char *p, size_t n)
{
    size_t off = c->arena->len;

    if (c->rc != AV_OK)
        return NULL;
    if (av_buf_append(c->arena, p, n) != AV_OK || av_buf_putc(c->arena, '\0') != AV_OK) {
        c->rc = AV_ELIMIT;
        return NULL;
    }
    return c->arena->data + off;
}

/* String (trimmed) or NULL when absent, null or not a string. */
static const char *str_at(struct ctx *c, int tok)
{
    size_t off;
    char *s, *e;

    if (av_json_type(c->j, tok) != AV_JSON_STRING || c->rc != AV_OK)
        return NULL;
    if (av_json_str(c->j, tok, c->arena, &off) != AV_OK) {
        c->rc = AV_ELIMIT;
        return NULL;
    }
    s = c->arena->data + off;
    while (is_space(*s))
        s++;
    e = s + strlen(s);
    while (e > s && is_space(e[-1]))
        *--e = '\0';
    return s;
}

static const char *str(struct ctx *c, int obj, const char *key)
{
    return str_at(c, av_json_get(c->j, obj, key));
}

static int int_at(struct ctx *c, int tok)
{
    int64_t v;

    if (av_json_int(c->j, tok, &v) != AV_OK || v < -2147483647 || v > 2147483647)
        return AV_NULL_INT;
    return (int)v;
}

static int num(struct ctx *c, int obj, const char *key)
{
    return int_at(c, av_json_get(c->j, obj, key));
}

static int64_t num64(struct ctx *c, int obj, const char *key)
{
    int64_t v;

    if (av_json_int(c->j, av_json_get(c->j, obj, key), &v) != AV_OK)
        return AV_NULL_INT;
    return v;
}

/* Local Oslo stamp -> UTC instant, AV_NULL_MS when absent or malformed. */
static av_ms stamp(struct ctx *c, int obj, const char *key, av_ms *local_out)
{
    int tok = av_json_get(c->j, obj, key);
    const char *p;
    size_t n;
    av_ms local;

    if (av_json_type(c->j, tok) != AV_JSON_STRING)
        return AV_NULL_MS;
    p = av_json_raw(c->j, tok, &n);
    while (n > 0 && is_space(p[n - 1]))
        n--;
    if (av_local_stamp_parse(p, n, &local) != AV_OK)
        return AV_NULL_MS;
    if (local_out)
        *local_out = local;
    return av_oslo_local_to_utc(local);
}

/* CountyList / MunicipalityList in one pass: the "Id"s joined as "15,34,50"
 * (raw: strings or numbers) and the "Name"s joined the same way
 * (unescaped, collected in tmp first). Both NULL when the array is absent. */
static void id_name_lists(struct ctx *c, int obj, const char *key, struct av_buf *tmp,
                          const char **ids, const char **names)
{
    int arr = av_json_get(c->j, obj, key), e, n;
    size_t start = c->arena->len, off;

    *ids = *names = NULL;
    if (av_json_type(c->j, arr) != AV_JSON_ARRAY || c->rc != AV_OK)
        return;
    av_buf_reset(tmp);
    n = av_json_size(c->j, arr);
    e = av_json_first(arr);
    for (int k = 0; k < n; k++, e = av_json_skip(c->j, e)) {
        int id = av_json_get(c->j, e, "Id"), name = av_json_get(c->j, e, "Name");
        enum av_json_type t = av_json_type(c->j, id);
        if (t == AV_JSON_STRING || t == AV_JSON_NUMBER) {
            size_t l;
            const char *p = av_json_raw(c->j, id, &l);
            if ((c->arena->len > start && av_buf_putc(c->arena, ',') != AV_OK) ||
                av_buf_append(c->arena, p, l) != AV_OK)
                goto full;
        }
        if (av_json_type(c->j, name) == AV_JSON_STRING) {
            if (tmp->len)
                av_buf_putc(tmp, ',');
            if (av_json_str(c->j, name, tmp, &off) == AV_OK)
                tmp->len--; /* drop its NUL: the list goes on */
        }
    }
    if (av_buf_putc(c->arena, '\0') != AV_OK)
        goto full;
    *ids = c->arena->data + start;
    *names = put(c, tmp->data ? tmp->data : "", tmp->len);
    return;
full:
    c->rc = AV_ELIMIT;
}

static void decode_heights(struct ctx *c, struct av_problem *p)
{
    int h1 = p->exposed_height_1, h2 = p->exposed_height_2, n;
    char o[64];

    p->exposed_min_m = p->exposed_max_m = AV_NULL_INT;
    p->exposed_text = NULL;
    if (p->exposed_height_fill == AV_NULL_INT || h1 == AV_NULL_INT)
        return;
    switch (p->exposed_height_fill) {
    case 1:
        p->exposed_min_m = h1;
        n = snprintf(o, sizeof(o), "above %d m", h1);
        break;
    case 2:
        p->exposed_max_m = h1;
        n = snprintf(o, sizeof(o), "below %d m", h1);
        break;
    case 3:
        if (h2 == AV_NULL_INT)
            return;
        n = snprintf(o, sizeof(o), "below %d m and above %d m", h2, h1);
        break;
    case 4:
        if (h2 == AV_NULL_INT)
            return;
        p->exposed_min_m = h2 < h1 ? h2 : h1;
        p->exposed_max_m = h2 < h1 ? h1 : h2;
        n = snprintf(o, sizeof(o), "%d-%d m", p->exposed_min_m, p->exposed_max_m);
        break;
    default:
        return;
    }
    p->exposed_text = put(c, o, (size_t)n);
}

/* Members are read in the API's order (cheap lookups, see av_json_get). */
static void problem(struct ctx *c, int o, struct av_problem *p)
{
    p->problem_id = num(c, o, "AvalancheProblemId");
    p->ext_id = num(c, o, "AvalancheExtId");
    p->ext_name = str(c, o, "AvalancheExtName");
    p->cause_id = num(c, o, "AvalCauseId");
    p->cause_name = str(c, o, "AvalCauseName");
    p->probability_id = num(c, o, "AvalProbabilityId");
    p->probability_name = str(c, o, "AvalProbabilityName");
    p->trigger_simple_id = num(c, o, "AvalTriggerSimpleId");
    p->trigger_simple_name = str(c, o, "AvalTriggerSimpleName");
    p->trigger_sensitivity_id = num(c, o, "AvalTriggerSensitivityId");
    p->trigger_sensitivity_name = str(c, o, "AvalTriggerSensitivityName");
    p->destructive_size_id = num(c, o, "DestructiveSizeExtId");
    p->destructive_size_name = str(c, o, "DestructiveSizeExtName");
    p->propagation_id = num(c, o, "AvalPropagationId");
    p->propagation_name = str(c, o, "AvalPropagationName");
    p->aval_type_id = num(c, o, "AvalancheTypeId");
    p->aval_type_name = str(c, o, "AvalancheTypeName");
    p->type_id = num(c, o, "AvalancheProblemTypeId");
    p->type_name = str(c, o, "AvalancheProblemTypeName");
    p->aspects_raw = str(c, o, "ValidExpositions");
    p->aspects = av_aspects_from_raw(p->aspects_raw);
    p->exposed_height_1 = num(c, o, "ExposedHeight1");
    p->exposed_height_2 = num(c, o, "ExposedHeight2");
    p->exposed_height_fill = num(c, o, "ExposedHeightFill");
    decode_heights(c, p);
    p->text = str(c, o, "TriggerSenitivityPropagationDestuctiveSizeText");
    p->danger_level = num(c, o, "DangerLevel");
    p->danger_level_name = str(c, o, "DangerLevelName");
}

/* MeasurementTexts, sorted by SortOrder, joined with "\n". */
static const char *weather_texts(struct ctx *c, int mw)
{
    int arr = av_json_get(c->j, mw, "MeasurementTexts"), n, e;
    int order[64], toks[64], m = 0;
    size_t start, end;

    if (av_json_type(c->j, arr) != AV_JSON_ARRAY)
        return NULL;
    n = av_json_size(c->j, arr);
    e = av_json_first(arr);
    for (int k = 0; k < n && m < 64; k++, e = av_json_skip(c->j, e)) {
        int t = av_json_get(c->j, e, "Text");
        if (av_json_type(c->j, t) != AV_JSON_STRING)
            continue;
        order[m] = num(c, e, "SortOrder");
        toks[m++] = t;
    }
    for (int a = 1; a < m; a++) { /* insertion sort, stable */
        int o = order[a], t = toks[a], b = a - 1;
        while (b >= 0 && order[b] > o) {
            order[b + 1] = order[b];
            toks[b + 1] = toks[b];
            b--;
        }
        order[b + 1] = o;
        toks[b + 1] = t;
    }
    if (m == 0 || c->rc != AV_OK)
        return NULL;
    /* Each text is unescaped and trimmed at the arena's end, then moved
     * down to follow the previous one: the joined string grows in place. */
    start = end = c->arena->len;
    for (int a = 0; a < m; a++) {
        const char *t = str_at(c, toks[a]);
        char *dst = c->arena->data + end;
        size_t l;
        if (t == NULL)
            return NULL;
        l = strlen(t);
        if (a > 0)
            *dst++ = '\n'; /* over the NUL of the text so far */
        memmove(dst, t, l + 1);
        end = (size_t)(dst - c->arena->data) + l;
        c->arena->len = end + 1;
    }
    return c->arena->data + start;
}

/* The unknown measurement m as one JSON object, appended to o. */
static void weather_other(struct av_buf *o, int type_id, const char *type_name, int sub_id,
                          const char *sub_name, const char *value)
{
    av_buf_puts(o, o->len ? "," : "[");
    av_buf_printf(o, "{\"type_id\":%d,\"subtype_id\":%d,\"type\":", type_id, sub_id);
    av_json_quote(o, type_name ? type_name : "");
    av_buf_puts(o, ",\"subtype\":");
    av_json_quote(o, sub_name ? sub_name : "");
    av_buf_puts(o, ",\"value\":");
    av_json_quote(o, value);
    av_buf_puts(o, "}");
}

static av_rc weather(struct ctx *c, int mw, struct av_warning *w, struct av_buf *other,
                     char *errbuf)
{
    struct av_weather *x = &w->weather;
    int types, n, e, count = 0;

    memset(x, 0, sizeof(*x));
    x->last_saved = AV_NULL_MS;
    x->cloud_cover_id = AV_NULL_INT;
    w->has_weather = av_json_type(c->j, mw) == AV_JSON_OBJECT;
    if (!w->has_weather)
        return AV_OK;
    x->last_saved = stamp(c, mw, "LastSavedTime", NULL);
    x->cloud_cover_id = num(c, mw, "CloudCoverId");
    x->cloud_cover_name = str(c, mw, "CloudCoverName");
    x->comment = str(c, mw, "Comment");
    x->texts = weather_texts(c, mw);
    types = av_json_get(c->j, mw, "MeasurementTypes");
    if (av_json_type(c->j, types) != AV_JSON_ARRAY)
        return AV_OK;
    av_buf_reset(other);
    n = av_json_size(c->j, types);
    e = av_json_first(types);
    for (int k = 0; k < n; k++, e = av_json_skip(c->j, e)) {
        /* in the API's member order; the name only matters for `other` */
        int type_id = num(c, e, "Id"), name_tok = av_json_get(c->j, e, "Name");
        int subs = av_json_get(c->j, e, "MeasurementSubTypes"), sn, s;
        const char *type_name = NULL;

        if (av_json_type(c->j, subs) != AV_JSON_ARRAY)
            continue;
        sn = av_json_size(c->j, subs);
        s = av_json_first(subs);
        for (int q = 0; q < sn; q++, s = av_json_skip(c->j, s)) {
            int sub_id;
            const char *value, **slot = NULL;
            if (av_json_type(c->j, s) != AV_JSON_OBJECT)
                continue;
            if (++count > AV_MAX_MEASUREMENTS)
                return av_fail(errbuf, AV_EREJECT, "more than %d mountain-weather measurements",
                               AV_MAX_MEASUREMENTS);
            sub_id = num(c, s, "Id");
            value = str(c, s, "Value");
            for (size_t i = 0; i < NWEATHER; i++)
                if (weather_map[i].type_id == type_id && weather_map[i].subtype_id == sub_id)
                    slot = (const char **)(void *)((char *)x + weather_map[i].off);
            if (slot && *slot == NULL) { /* the first one with a value wins */
                *slot = value;
                continue;
            }
            if (value == NULL)
                continue;
            if (type_name == NULL)
                type_name = str_at(c, name_tok);
            weather_other(other, type_id, type_name, sub_id, str(c, s, "Name"), value);
        }
    }
    if (other->len) {
        av_buf_putc(other, ']');
        x->other = put(c, other->data, other->len);
    }
    return AV_OK;
}

static char type_letter(struct ctx *c, int o)
{
    int id = num(c, o, "RegionTypeId");
    const char *name = str(c, o, "RegionTypeName");

    if (name && (strcmp(name, "A") == 0 || strcmp(name, "B") == 0))
        return name[0];
    if (id == 10)
        return 'A';
    if (id == 20)
        return 'B';
    /* RegionSummary sends 0/"Ikke gitt" for assessed warnings: use the
     * built-in catalog (static data, still pure). */
    {
        const struct av_region *r = av_region_find(num(c, o, "RegionId"));
        return r ? r->type : 0;
    }
}

static av_rc children(struct ctx *c, int tok, struct av_warning *w, const char *d,
                      char *errbuf)
{
    struct av_json *doc = c->j;
    int arr, n, e;

    arr = av_json_get(doc, tok, "AvalancheProblems");
    if (av_json_type(doc, arr) == AV_JSON_ARRAY) {
        n = av_json_size(doc, arr);
        if (n > AV_MAX_PROBLEMS)
            return av_fail(errbuf, AV_EREJECT, "region %d %s: %d avalanche problems (limit %d)",
                           w->region_id, d, n, AV_MAX_PROBLEMS);
        e = av_json_first(arr);
        for (int k = 0; k < n; k++, e = av_json_skip(doc, e)) {
            if (av_json_type(doc, e) != AV_JSON_OBJECT)
                continue;
            problem(c, e, &w->problems[w->n_problems]);
            if (w->problems[w->n_problems].problem_id == AV_NULL_INT)
                w->problems[w->n_problems].problem_id = w->n_problems + 1;
            w->n_problems++;
        }
    }
    arr = av_json_get(doc, tok, "AvalancheAdvices");
    if (av_json_type(doc, arr) == AV_JSON_ARRAY) {
        n = av_json_size(doc, arr);
        if (n > AV_MAX_ADVICES)
            return av_fail(errbuf, AV_EREJECT, "region %d %s: %d advices (limit %d)",
                           w->region_id, d, n, AV_MAX_ADVICES);
        e = av_json_first(arr);
        for (int k = 0; k < n; k++, e = av_json_skip(doc, e)) {
            struct av_advice *a;
            if (av_json_type(doc, e) != AV_JSON_OBJECT)
                continue;
            a = &w->advices[w->n_advices];
            a->advice_id = num(c, e, "AdviceID");
            if (a->advice_id == AV_NULL_INT)
                a->advice_id = w->n_advices;
            a->image_url = str(c, e, "ImageUrl");
            a->text = str(c, e, "Text");
            w->n_advices++;
        }
    }
    return AV_OK;
}

av_rc av_xform_warning(struct av_xform *x, struct av_json *doc, int tok,
                       int lang_hint, struct av_warning *w, char *errbuf)
{
    struct ctx c = {doc, &x->arena, AV_OK};
    size_t span_len;
    const char *span;
    av_ms local_from;
    int64_t dl;
    int lang, b;
    char d[AV_DATE_LEN];
    av_rc rc, level_rc;

    if (av_json_type(doc, tok) != AV_JSON_OBJECT)
        return av_fail(errbuf, AV_EREJECT, "warning is not a JSON object");
    span = av_json_span(doc, tok, &span_len);
    /* Unescaped strings never exceed 3x their raw bytes (+1 NUL each), the
     * joined lists and weather texts at most as much again: reserve that,
     * then pin the ceiling so the arena cannot move. */
    x->arena.max = SIZE_MAX / 2;
    av_buf_reset(&x->arena);
    rc = av_buf_reserve(&x->arena, span_len * 6 + 4096);
    if (rc != AV_OK)
        return rc;
    x->arena.max = x->arena.cap - 1;

    w->n_problems = w->n_advices = w->has_weather = 0;
    w->endpoint = NULL;
    w->raw_id = AV_NULL_INT;
    w->ingested_at = AV_NULL_MS;
    /* The key and the level first (in the API's member order), so bad
     * records are refused before any other work. */
    w->region_id = num(&c, tok, "RegionId");
    if (w->region_id == AV_NULL_INT || w->region_id <= 0)
        return av_fail(errbuf, AV_EREJECT, "missing or invalid RegionId");
    level_rc = av_json_int(doc, av_json_get(doc, tok, "DangerLevel"), &dl);
    w->valid_from = stamp(&c, tok, "ValidFrom", &local_from);
    if (w->valid_from == AV_NULL_MS)
        return av_fail(errbuf, AV_EREJECT, "region %d: missing or unparseable ValidFrom",
                       w->region_id);
    w->valid_date = local_from >= 0 ? local_from / 86400000 : (local_from - 86399999) / 86400000;
    av_date_format(w->valid_date, d);
    lang = num(&c, tok, "LangKey");
    if (lang == AV_NULL_INT)
        lang = lang_hint;
    if (lang != 1 && lang != 2)
        return av_fail(errbuf, AV_EREJECT, "region %d %s: missing or invalid LangKey",
                       w->region_id, d);
    w->lang = lang;
    if (level_rc != AV_OK)
        return av_fail(errbuf, AV_EREJECT, "region %d %s: missing or non-integer DangerLevel",
                       w->region_id, d);
    if (dl < 0 || dl > 5)
        return av_fail(errbuf, AV_EREJECT, "region %d %s: DangerLevel %lld outside 0-5",
                       w->region_id, d, (long long)dl);
    w->danger_level = (int)dl;

    /* The rest, in the API's member order. */
    id_name_lists(&c, tok, "CountyList", &x->tmp, &w->county_ids, &w->county_names);
    id_name_lists(&c, tok, "MunicipalityList", &x->tmp, &w->municipality_ids,
                  &w->municipality_names);
    w->previous_reg_id = num64(&c, tok, "PreviousWarningRegId");
    w->danger_level_name = str(&c, tok, "DangerLevelName");
    w->utm_zone = num(&c, tok, "UtmZone");
    w->utm_east = num(&c, tok, "UtmEast");
    w->utm_north = num(&c, tok, "UtmNorth");
    w->author = str(&c, tok, "Author");
    w->avalanche_danger = str(&c, tok, "AvalancheDanger");
    w->emergency_warning = str(&c, tok, "EmergencyWarning");
    w->snow_surface = str(&c, tok, "SnowSurface");
    w->current_weak_layers = str(&c, tok, "CurrentWeaklayers");
    w->latest_avalanche_activity = str(&c, tok, "LatestAvalancheActivity");
    w->latest_observations = str(&c, tok, "LatestObservations");
    w->exposed_height_fill = num(&c, tok, "ExposedHeightFill");
    w->exposed_height_1 = num(&c, tok, "ExposedHeight1");
    rc = weather(&c, av_json_get(doc, tok, "MountainWeather"), w, &x->tmp, errbuf);
    if (rc == AV_OK)
        rc = children(&c, tok, w, d, errbuf);
    if (rc != AV_OK)
        return rc;
    w->extreme_weather_id = num(&c, tok, "ExtremWeatherId");
    w->extreme_weather_name = str(&c, tok, "ExtremWeatherName");
    w->reg_id = num64(&c, tok, "RegId");
    w->region_name = str(&c, tok, "RegionName");
    w->region_type[0] = type_letter(&c, tok);
    w->region_type[1] = '\0';
    w->valid_to = stamp(&c, tok, "ValidTo", NULL);
    w->next_warning_time = stamp(&c, tok, "NextWarningTime", NULL);
    w->publish_time = stamp(&c, tok, "PublishTime", NULL);
    w->danger_increase_time = stamp(&c, tok, "DangerIncreaseTime", NULL);
    w->danger_decrease_time = stamp(&c, tok, "DangerDecreaseTime", NULL);
    w->main_text = str(&c, tok, "MainText");
    w->is_tendency =
        av_json_bool(doc, av_json_get(doc, tok, "IsTendency"), &b) == AV_OK ? b : AV_NULL_INT;
    if (c.rc != AV_OK)
        return av_fail(errbuf, AV_EREJECT, "region %d %s: warning of %zu bytes does not fit the "
                       "transform's arena", w->region_id, d, span_len);
    av_hash_hex(span, span_len, w->raw_hash);
    return AV_OK;
}
