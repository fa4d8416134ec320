/* warning.h - the transform: one raw Varsom warning (JSON) -> clean records.
 *
 * Pure code: no I/O, no clock, no globals. Input is a parsed JSON document
 * and the token of one warning object (an element of the API's array);
 * output is a struct av_warning whose strings live in the transform's arena
 * until the next call. Accepts API 6.0-6.3 shapes, Simple and Detail:
 * missing keys, nulls and wrong JSON types become NULL fields; DangerLevel
 * may be a string or an int; names are trimmed (the API leaves "\r\n" and
 * trailing spaces).
 *
 * A warning is rejected (AV_EREJECT, reason in errbuf) when it has no
 * usable RegionId, no parseable ValidFrom, no LangKey (and no hint), a
 * danger level outside 0-5, or more problems/advices/measurements than the
 * ceilings below. Everything else is kept.
 *
 * Times: the API's local Oslo wall-clock stamps become UTC instants
 * (av_ms); valid_date is the local date of ValidFrom (the natural key).
 */
#ifndef AV_WARNING_H
#define AV_WARNING_H

#include <stdint.h>

#include "../core/buf.h"
#include "../core/json.h"
#include "../core/tz.h"

#define AV_NULL_INT INT32_MIN  /* an absent integer field */
#define AV_NULL_MS INT64_MIN   /* an absent instant */
#define AV_MAX_PROBLEMS 16
#define AV_MAX_ADVICES 32
#define AV_MAX_MEASUREMENTS 96

enum { AV_ASPECT_N = 1, AV_ASPECT_NE = 2, AV_ASPECT_E = 4, AV_ASPECT_SE = 8,
       AV_ASPECT_S = 16, AV_ASPECT_SW = 32, AV_ASPECT_W = 64, AV_ASPECT_NW = 128 };

extern const char *const av_aspect_names[8]; /* "N", "NE", ... "NW" */

struct av_problem {
    int problem_id;
    int type_id;
    const char *type_name;
    int aval_type_id;
    const char *aval_type_name;
    int ext_id;
    const char *ext_name;
    int cause_id;
    const char *cause_name;
    int probability_id;
    const char *probability_name;
    int trigger_simple_id;
    const char *trigger_simple_name;
    int trigger_sensitivity_id;
    const char *trigger_sensitivity_name;
    int destructive_size_id;
    const char *destructive_size_name;
    int propagation_id;
    const char *propagation_name;
    const char *aspects_raw; /* the API's 8-char '0'/'1' string, or NULL */
    int aspects;             /* AV_ASPECT_* bits; AV_NULL_INT when raw is unusable */
    int exposed_height_fill; /* 1 above H1, 2 below H1, 3 above H1 + below H2, 4 H2..H1 */
    int exposed_height_1;
    int exposed_height_2;
    int exposed_min_m;       /* decoded band (NULL = open end); both NULL for fill 3 */
    int exposed_max_m;
    const char *exposed_text; /* "above 1000 m", "below 600 m", "600-1000 m", ... */
    int danger_level;
    const char *danger_level_name;
    const char *text; /* TriggerSenitivityPropagationDestuctiveSizeText */
};

struct av_advice {
    int advice_id;
    const char *image_url;
    const char *text;
};

struct av_measurement {
    int type_id;
    const char *type_name;
    int type_sort;
    int subtype_id;
    const char *subtype_name;
    int subtype_sort;
    const char *value; /* the API sends strings, numbers included; may be NULL */
};

struct av_warning {
    /* natural key */
    int region_id;
    int64_t valid_date; /* local Oslo date of ValidFrom, days since 1970-01-01 */
    int lang;           /* 1 Norwegian, 2 English */

    int64_t reg_id;
    int64_t previous_reg_id; /* AV_NULL_INT as int64 when absent */
    const char *region_name;
    char region_type[2]; /* "A", "B" or "" */
    int danger_level;    /* 0 = not assessed */
    const char *danger_level_name;
    av_ms valid_from, valid_to, publish_time, next_warning_time;
    av_ms danger_increase_time, danger_decrease_time;
    const char *main_text;
    const char *avalanche_danger;
    const char *emergency_warning;
    const char *snow_surface;
    const char *current_weak_layers;
    const char *latest_avalanche_activity;
    const char *latest_observations;
    const char *author;
    int is_tendency; /* 0/1, AV_NULL_INT before API 6.3 */
    int utm_zone, utm_east, utm_north;
    const char *county_ids;       /* "15,34,50" */
    const char *municipality_ids; /* "1506,1557" */

    /* MountainWeather header (Detail) */
    int has_weather;
    av_ms mw_last_saved;
    int mw_cloud_cover_id;
    const char *mw_cloud_cover_name;
    const char *mw_comment;
    const char *mw_texts; /* MeasurementTexts in sort order, "\n"-joined */

    char raw_hash[17]; /* 64-bit hash of the raw JSON bytes, hex (av_hash_hex) */

    int n_problems, n_advices, n_measurements;
    struct av_problem problems[AV_MAX_PROBLEMS];
    struct av_advice advices[AV_MAX_ADVICES];
    struct av_measurement measurements[AV_MAX_MEASUREMENTS];
};

/* Typed columns for the mountain-weather measurements seen in the API
 * (varsom-api.md §7). Unknown (type, subtype) pairs are kept elsewhere. */
struct av_weather_col {
    int type_id, subtype_id;
    const char *column;
};
#define AV_WEATHER_NCOLS 17
extern const struct av_weather_col av_weather_cols[AV_WEATHER_NCOLS];
/* Index into av_weather_cols, or -1. */
int av_weather_col_index(int type_id, int subtype_id);

struct av_xform {
    struct av_buf arena; /* strings of the last warning */
};

void av_xform_init(struct av_xform *x);
void av_xform_free(struct av_xform *x);

/* Transforms the warning object at token tok of doc into *w. lang_hint is
 * the requested language (used when LangKey is absent; 0 = none).
 * AV_OK, AV_EREJECT (reason in errbuf) or AV_ENOMEM. */
av_rc av_xform_warning(struct av_xform *x, struct av_json *doc, int tok,
                       int lang_hint, struct av_warning *w, char *errbuf);

/* 64-bit content hash of p[0..n) as 16 hex digits (little-endian words). */
void av_hash_hex(const void *p, size_t n, char out[17]);

#endif
