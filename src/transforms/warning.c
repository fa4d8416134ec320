/* warning.c - raw Varsom warning JSON -> struct av_warning. Pure. */
#include "warning.h"

#include "../sources/regions.h"

#include <stdio.h>
#include <string.h>

const char *const av_aspect_names[8] = {"N", "NE", "E", "SE", "S", "SW", "W", "NW"};

const struct av_weather_col av_weather_cols[AV_WEATHER_NCOLS] = {
    {10, 60, "rain_most_exposed_mm"},
    {10, 70, "rain_average_mm"},
    {20, 20, "wind_speed"},
    {20, 50, "wind_direction"},
    {30, 20, "wind_shift_speed"},
    {30, 50, "wind_shift_direction"},
    {30, 100, "wind_shift_start_hour"},
    {30, 110, "wind_shift_end_hour"},
    {40, 30, "temperature_min_c"},
    {40, 40, "temperature_max_c"},
    {40, 90, "temperature_masl"},
    {50, 90, "freezing_level_masl"},
    {50, 100, "freezing_level_start_hour"},
    {50, 110, "freezing_level_end_hour"},
    {55, 90, "rain_snow_line_masl"},
    {55, 100, "rain_snow_line_start_hour"},
    {55, 110, "rain_snow_line_end_hour"},
};

int av_weather_col_index(int type_id, int subtype_id)
{
    for (int i = 0; i < AV_WEATHER_NCOLS; i++)
        if (av_weather_cols[i].type_id == type_id && av_weather_cols[i].subtype_id == subtype_id)
            return i;
    return -1;
}

void av_xform_init(struct av_xform *x)
{
    av_buf_init(&x->arena, 0);
}

void av_xform_free(struct av_xform *x)
{
    av_buf_free(&x->arena);
}

/* A 64-bit content hash, 8 bytes per step (byte-wise FNV-1a cost ~10 us on
 * a 7 KB warning; this is ~8x less). Stable: stored in the database. Each
 * word is mixed with a multiply and a rotate; the tail is padded with its
 * length; a final avalanche (murmur3 fmix64) spreads the bits. */
static uint64_t rotl(uint64_t x, int r)
{
    return (x << r) | (x >> (64 - r));
}

void av_hash_hex(const void *p, size_t n, char out[17])
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = p;
    uint64_t h = 0x9E3779B97F4A7C15ULL ^ (uint64_t)n, w;
    size_t i = 0;

    for (; i + 8 <= n; i += 8) {
        memcpy(&w, s + i, 8);
        h = rotl(h ^ (w * 0x87C37B91114253D5ULL), 31) * 0x4CF5AD432745937FULL;
    }
    w = 0;
    memcpy(&w, s + i, n - i);
    h = rotl(h ^ (w * 0x87C37B91114253D5ULL), 31) * 0x4CF5AD432745937FULL;
    h ^= h >> 33;
    h *= 0xFF51AFD7ED558CCDULL;
    h ^= h >> 33;
    h *= 0xC4CEB9FE1A85EC53ULL;
    h ^= h >> 33;
    for (int k = 15; k >= 0; k--) {
        out[k] = hex[h & 15];
        h >>= 4;
    }
    out[16] = '\0';
}

/* The arena is reserved up front for the whole warning, so pointers into
 * it stay valid while we fill the struct. */
struct ctx {
    struct av_json *j;
    struct av_buf *arena;
};

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* String member (trimmed) or NULL when absent, null or not a string. */
static const char *str_at(struct ctx *c, int tok)
{
    size_t off;
    char *s, *e;

    if (av_json_type(c->j, tok) != AV_JSON_STRING)
        return NULL;
    if (av_json_str(c->j, tok, c->arena, &off) != AV_OK)
        return NULL; /* cannot happen: reserved */
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

/* Joins the "Id" members of an array of objects: "15,34,50". */
static const char *id_list(struct ctx *c, int obj, const char *key)
{
    int arr = av_json_get(c->j, obj, key), e, n;
    size_t start;

    if (av_json_type(c->j, arr) != AV_JSON_ARRAY)
        return NULL;
    start = c->arena->len;
    n = av_json_size(c->j, arr);
    e = av_json_first(arr);
    for (int k = 0; k < n; k++, e = av_json_skip(c->j, e)) {
        int id = av_json_get(c->j, e, "Id");
        const char *p;
        size_t l;
        enum av_json_type t = av_json_type(c->j, id);
        if (t != AV_JSON_STRING && t != AV_JSON_NUMBER)
            continue;
        p = av_json_raw(c->j, id, &l);
        if (c->arena->len > start)
            c->arena->data[c->arena->len++] = ',';
        memcpy(c->arena->data + c->arena->len, p, l);
        c->arena->len += l;
    }
    c->arena->data[c->arena->len++] = '\0';
    return c->arena->data + start;
}

static void decode_heights(struct ctx *c, struct av_problem *p)
{
    int h1 = p->exposed_height_1, h2 = p->exposed_height_2;
    char *o = c->arena->data + c->arena->len;
    int n = 0;

    p->exposed_min_m = p->exposed_max_m = AV_NULL_INT;
    p->exposed_text = NULL;
    if (p->exposed_height_fill == AV_NULL_INT || h1 == AV_NULL_INT)
        return;
    switch (p->exposed_height_fill) {
    case 1:
        p->exposed_min_m = h1;
        n = sprintf(o, "above %d m", h1);
        break;
    case 2:
        p->exposed_max_m = h1;
        n = sprintf(o, "below %d m", h1);
        break;
    case 3:
        if (h2 == AV_NULL_INT)
            return;
        n = sprintf(o, "below %d m and above %d m", h2, h1);
        break;
    case 4:
        if (h2 == AV_NULL_INT)
            return;
        p->exposed_min_m = h2 < h1 ? h2 : h1;
        p->exposed_max_m = h2 < h1 ? h1 : h2;
        n = sprintf(o, "%d-%d m", p->exposed_min_m, p->exposed_max_m);
        break;
    default:
        return;
    }
    p->exposed_text = o;
    c->arena->len += (size_t)n + 1;
}

static int aspects_mask(const char *s)
{
    int m = 0;

    if (s == NULL || strlen(s) != 8)
        return AV_NULL_INT;
    for (int i = 0; i < 8; i++) {
        if (s[i] == '1')
            m |= 1 << i;
        else if (s[i] != '0')
            return AV_NULL_INT;
    }
    return m;
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
    p->aspects = aspects_mask(p->aspects_raw);
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
    const char *texts[64];
    size_t start;

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
    if (m == 0)
        return NULL;
    for (int a = 0; a < m; a++)
        texts[a] = str_at(c, toks[a]);
    start = c->arena->len;
    for (int a = 0; a < m; a++) {
        size_t l = strlen(texts[a]);
        if (a > 0)
            c->arena->data[c->arena->len++] = '\n';
        memcpy(c->arena->data + c->arena->len, texts[a], l);
        c->arena->len += l;
    }
    c->arena->data[c->arena->len++] = '\0';
    return c->arena->data + start;
}

static av_rc weather(struct ctx *c, int mw, struct av_warning *w, char *errbuf)
{
    int types, n, e;

    w->has_weather = av_json_type(c->j, mw) == AV_JSON_OBJECT;
    w->mw_last_saved = AV_NULL_MS;
    w->mw_cloud_cover_id = AV_NULL_INT;
    w->mw_cloud_cover_name = w->mw_comment = w->mw_texts = NULL;
    if (!w->has_weather)
        return AV_OK;
    w->mw_last_saved = stamp(c, mw, "LastSavedTime", NULL);
    w->mw_cloud_cover_id = num(c, mw, "CloudCoverId");
    w->mw_cloud_cover_name = str(c, mw, "CloudCoverName");
    w->mw_comment = str(c, mw, "Comment");
    w->mw_texts = weather_texts(c, mw);
    types = av_json_get(c->j, mw, "MeasurementTypes");
    if (av_json_type(c->j, types) != AV_JSON_ARRAY)
        return AV_OK;
    n = av_json_size(c->j, types);
    e = av_json_first(types);
    for (int k = 0; k < n; k++, e = av_json_skip(c->j, e)) {
        int subs = av_json_get(c->j, e, "MeasurementSubTypes"), sn, s;
        int type_id = num(c, e, "Id"), type_sort = num(c, e, "SortOrder");
        const char *type_name = str(c, e, "Name");

        if (av_json_type(c->j, subs) != AV_JSON_ARRAY)
            continue;
        sn = av_json_size(c->j, subs);
        s = av_json_first(subs);
        for (int q = 0; q < sn; q++, s = av_json_skip(c->j, s)) {
            struct av_measurement *m;
            if (av_json_type(c->j, s) != AV_JSON_OBJECT)
                continue;
            if (w->n_measurements == AV_MAX_MEASUREMENTS)
                return av_fail(errbuf, AV_EREJECT,
                               "more than %d mountain-weather measurements",
                               AV_MAX_MEASUREMENTS);
            m = &w->measurements[w->n_measurements++];
            m->type_id = type_id;
            m->type_name = type_name;
            m->type_sort = type_sort;
            m->subtype_id = num(c, s, "Id");
            m->subtype_name = str(c, s, "Name");
            m->subtype_sort = num(c, s, "SortOrder");
            m->value = str(c, s, "Value");
        }
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

av_rc av_xform_warning(struct av_xform *x, struct av_json *doc, int tok,
                       int lang_hint, struct av_warning *w, char *errbuf)
{
    struct ctx c = {doc, &x->arena};
    size_t span_len;
    const char *span;
    av_ms local_from;
    int64_t dl;
    int lang, arr, n, e;
    char d[AV_DATE_LEN];
    av_rc rc, level_rc;

    if (av_json_type(doc, tok) != AV_JSON_OBJECT)
        return av_fail(errbuf, AV_EREJECT, "warning is not a JSON object");
    span = av_json_span(doc, tok, &span_len);
    av_buf_reset(&x->arena);
    /* Unescaped strings never exceed 3x their raw bytes (+1 NUL each), the
     * joined weather texts at most as much again; id lists and height
     * texts fit in the slack. So pointers into the arena stay valid. */
    rc = av_buf_reserve(&x->arena, span_len * 6 + 4096);
    if (rc != AV_OK)
        return rc;

    w->n_problems = w->n_advices = w->n_measurements = 0;
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
    w->county_ids = id_list(&c, tok, "CountyList");
    w->municipality_ids = id_list(&c, tok, "MunicipalityList");
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
    rc = weather(&c, av_json_get(doc, tok, "MountainWeather"), w, errbuf);
    if (rc != AV_OK)
        return rc;
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
            problem(&c, e, &w->problems[w->n_problems]);
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
            a->advice_id = num(&c, e, "AdviceID");
            if (a->advice_id == AV_NULL_INT)
                a->advice_id = w->n_advices;
            a->image_url = str(&c, e, "ImageUrl");
            a->text = str(&c, e, "Text");
            w->n_advices++;
        }
    }
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
    {
        int b;
        w->is_tendency = av_json_bool(doc, av_json_get(doc, tok, "IsTendency"), &b) == AV_OK
                             ? b
                             : AV_NULL_INT;
    }
    av_hash_hex(span, span_len, w->raw_hash);
    return AV_OK;
}
