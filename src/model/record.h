/* record.h - the clean records: one warning with its problems, advices and
 * mountain weather, as every part of the pipeline sees them.
 *
 * The transform (src/transforms/) fills them from the API's JSON; sinks
 * write and read them back (src/sinks/); export formats them. Which member
 * is which column, its type and its meaning: src/model/dataset.c, the one
 * description of each dataset. A record does not own its strings: they
 * live in whoever filled it (the transform's arena, a reader's pool) until
 * that one's next call.
 *
 * Absent values: AV_NULL_INT for integers (also the 64-bit ones),
 * AV_NULL_MS for instants, NULL for strings, "" for region_type.
 */
#ifndef AV_RECORD_H
#define AV_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "../core/tz.h"

#define AV_NULL_INT INT32_MIN /* an absent integer field */
#define AV_NULL_MS INT64_MIN  /* an absent instant */
#define AV_MAX_PROBLEMS 16
#define AV_MAX_ADVICES 32
#define AV_MAX_MEASUREMENTS 96 /* mountain-weather measurements per warning */

/* Aspects as bits, N first and clockwise (the API's 8-character string). */
enum { AV_ASPECT_N = 1, AV_ASPECT_NE = 2, AV_ASPECT_E = 4, AV_ASPECT_SE = 8,
       AV_ASPECT_S = 16, AV_ASPECT_SW = 32, AV_ASPECT_W = 64, AV_ASPECT_NW = 128 };

extern const char *const av_aspect_names[8]; /* "N", "NE", ... "NW" */

#define AV_ASPECTS_TEXT_LEN 24 /* "N,NE,E,SE,S,SW,W,NW" + NUL */
/* The API's "01111000" -> bits; AV_NULL_INT unless 8 characters of 0/1. */
int av_aspects_from_raw(const char *raw);
/* Bits -> "NE,E,SE,S" ("" for none); the inverse of av_aspects_parse(). */
void av_aspects_format(int mask, char out[AV_ASPECTS_TEXT_LEN]);
/* "NE,E" -> bits; AV_NULL_INT on an unknown name. */
int av_aspects_parse(const char *text, size_t len);

struct av_problem {
    int problem_id; /* 1 = main problem */
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
    int exposed_min_m;        /* decoded band (NULL = open end); both NULL for fill 3 */
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

/* MountainWeather (Detail). The typed values are the API's strings (numbers
 * as text, or words: "NW", "Strong breeze"); measurements without a typed
 * member are kept in `other` as a JSON array. */
struct av_weather {
    av_ms last_saved;
    int cloud_cover_id;
    const char *cloud_cover_name;
    const char *comment;
    const char *texts; /* MeasurementTexts in sort order, "\n"-joined */
    const char *rain_most_exposed_mm, *rain_average_mm;
    const char *wind_speed, *wind_direction;
    const char *wind_shift_speed, *wind_shift_direction;
    const char *wind_shift_start_hour, *wind_shift_end_hour;
    const char *temperature_min_c, *temperature_max_c, *temperature_masl;
    const char *freezing_level_masl, *freezing_level_start_hour, *freezing_level_end_hour;
    const char *rain_snow_line_masl, *rain_snow_line_start_hour, *rain_snow_line_end_hour;
    const char *other;
};

struct av_warning {
    /* natural key */
    int region_id;
    int64_t valid_date; /* local Oslo date of ValidFrom, days since 1970-01-01 */
    int lang;           /* 1 Norwegian, 2 English */

    int64_t reg_id;
    int64_t previous_reg_id;
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
    const char *county_ids;         /* "15,34,50" */
    const char *county_names;       /* "Møre og Romsdal,Innlandet,Trøndelag" */
    const char *municipality_ids;   /* "1506,1557" */
    const char *municipality_names; /* "Molde,Gjemnes" */
    int exposed_height_1, exposed_height_fill; /* top-level copies; meaning unknown */
    int extreme_weather_id;
    const char *extreme_weather_name;

    /* where it came from: set by whoever stores it (src/pipeline/ingest.c) */
    const char *endpoint; /* "detail" | "simple" */
    char raw_hash[17];    /* 64-bit hash of the raw JSON bytes, hex (av_hash_hex) */
    int64_t raw_id;       /* the stored raw response, AV_NULL_INT when none */
    av_ms ingested_at;
    /* its publication history (dataset.h, av_ds_version): first_seen is the
     * fetch time of the response that carried it (set with endpoint; a
     * history read gives the earliest); version (1, 2, ...) and
     * superseded_at (the next publication's time, AV_NULL_MS for the
     * latest) are set by history reads only */
    av_ms first_seen;
    int version;
    av_ms superseded_at;

    int n_problems, n_advices;
    int has_weather; /* 0 or 1: the number of weather records */
    struct av_problem problems[AV_MAX_PROBLEMS];
    struct av_advice advices[AV_MAX_ADVICES];
    struct av_weather weather;
};

/* Everything before the child arrays: what a reader clears per record. */
#define AV_WARNING_HEAD_SIZE offsetof(struct av_warning, problems)

#endif
