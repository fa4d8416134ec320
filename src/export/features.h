/* features.h - `export features`: one model-ready row per region, local
 * date and language, with the published danger level as the target and,
 * as features, only what avalanche had stored at the target's publication
 * instant T (no look-ahead). The columns, their types and what each may
 * see in time: the description av_ds_features (src/model/dataset_features.c),
 * `avalanche datasets`, docs/datasets.md ("features").
 *
 * The cut-off T of a row is the publish_time of the version of the
 * warning used as the target: the latest publication of the key, or with
 * an as-of instant the one av_versions_as_of() picks (a version without a
 * PublishTime counts from its first_seen). Then:
 *   - level_d1..d3: the level of day D-k as published by T (the history's
 *     latest version of D-k not after T; null when none was out);
 *   - the problem summary: the target version's own problems;
 *   - past weather, the windows of the 24, 72 and 168 hours before T: the
 *     hour stamps h with end - n h <= h < end, end = the first whole UTC
 *     hour at or after T (so an hour stamped at T is not before T). Every
 *     stored hour of the window counts whatever its fetch time (weather
 *     that had happened by T: a later archive value is a better estimate
 *     of it, not news about the target). Aggregated over the region's
 *     points by the `weather` dataset's rules (av_wx_aggregate_span);
 *     the values are null unless the window is complete (its `hours`, the
 *     aggregation's, equal n); forecast_hours counts the hour stamps
 *     whose stored value is a forecast at some point;
 *   - the forecast of day D: the hours of local day D, known at T only when
 *     every one of them was fetched at or before T (fetched_at <= T), then
 *     aggregated like a day of the `weather` dataset. A day with an hour
 *     fetched after T is null: the store keeps one value per hour (archive
 *     replaces forecast, a later fetch an earlier one), so what it held at
 *     T is gone. Hours at or after T before D's local midnight are in no
 *     column (neither past at T nor day D).
 *
 * Reads only through the sink interface (src/sinks/sink.h: the history,
 * read_versions/load_version, and the hourly weather, read_rows), so it
 * works for every sink that keeps AV_PART_VERSIONS and AV_PART_WX_HOURLY
 * (SQLite and Cassandra). The computation over what was read is pure
 * (the av_fx_* functions; unit-tested).
 *
 * Errors: the sink's (AV_ENET, AV_EIO, ...), AV_ENOMEM, AV_EINVAL when the
 * sink keeps no history or no hourly weather; one line in errbuf.
 */
#ifndef AV_FEATURES_H
#define AV_FEATURES_H

#include <stdint.h>

#include "../core/err.h"
#include "../model/record.h"
#include "../model/weather.h"

/* The weather values of a day, in the order of the rows' arrays. */
enum {
    AV_FX_PRECIP,   /* precipitation_sum, mm */
    AV_FX_SNOWFALL, /* snowfall_sum, cm */
    AV_FX_TMEAN,    /* temperature_2m_mean, °C */
    AV_FX_TMIN,     /* temperature_2m_min, °C */
    AV_FX_TMAX,     /* temperature_2m_max, °C */
    AV_FX_WMEAN,    /* wind_speed_10m_mean, m/s */
    AV_FX_WMAX,     /* wind_speed_10m_max, m/s */
    AV_FX_NVARS
};
#define AV_FX_LEVEL_DAYS 3 /* level_d1 .. level_d3 */
/* The past windows: hours before T, in column order. */
#define AV_FX_NWIN 3
extern const int av_fx_win_hours[AV_FX_NWIN]; /* 24, 72, 168 */
/* Problem types with a 0/1 column, in column order. */
#define AV_FX_NTYPES 7
extern const int av_fx_types[AV_FX_NTYPES]; /* 3, 5, 7, 10, 30, 45, 50 */

/* One window of hours before T. */
struct av_fx_win {
    int hours;          /* the aggregation's: most non-null temperature hours of any point */
    int forecast_hours; /* hour stamps whose stored value is a forecast at some point */
    double v[AV_FX_NVARS]; /* NaN unless hours == the window's length */
};

/* One row (the record of av_ds_features). */
struct av_feature {
    int region_id;
    int64_t valid_date;
    int lang;
    int danger_level;  /* the target */
    av_ms cutoff;      /* T */
    av_ms publish_time; /* the target version's (AV_NULL_MS when it had none) */
    int version;       /* its place among the key's publications */
    int level_prev[AV_FX_LEVEL_DAYS]; /* D-1, D-2, D-3 as of T */
    int problem_count;
    char problem_types[64]; /* "10,5": type ids in problem order; "" none */
    int has_type[AV_FX_NTYPES];
    int max_size, max_probability, max_propagation, max_sensitivity;
    int main_type, main_aspects, main_fill, main_h1, main_h2, main_min_m, main_max_m;
    struct av_fx_win win[AV_FX_NWIN];
    double d0[AV_FX_NVARS]; /* day D as stored at T (NaN: not known at T) */
    int d0_hours;           /* the aggregation's hours of D; AV_NULL_INT when not known */
    const char *d0_source;  /* "archive", "forecast", "mixed", NULL */
    av_ms d0_fetched_at;    /* the latest fetch of D's hours */
};

/* ---- the pure parts ---- */

/* The hour stamps of the window of nh hours before t: [*first, *end),
 * *end = the first whole UTC hour at or after t, *first = *end - nh h. */
void av_fx_window_bounds(av_ms t, int nh, av_ms *first, av_ms *end);
/* The window of nh hours before t into w from one region's hours[0..n),
 * sorted by hour (any order within an hour): hours, forecast_hours and
 * the values (av_wx_aggregate_span over the window's records; NaN unless
 * complete). t == AV_NULL_MS: an empty window. Errors: the aggregation's. */
av_rc av_fx_past_window(const struct av_wx_hour *hours, size_t n, av_ms t, int nh,
                        struct av_fx_win *w, char *errbuf);
/* The d0 columns of f (d0 .. d0_fetched_at) for local day date as stored
 * at t from the same sorted hours: null unless the day has hours and every
 * one was fetched at or before t. Errors: the aggregation's. */
av_rc av_fx_day_forecast(const struct av_wx_hour *hours, size_t n, int64_t date, av_ms t,
                         struct av_feature *f, char *errbuf);
/* The values of one aggregate, in AV_FX_* order. */
void av_fx_day_values(const struct av_wx_day *d, double out[AV_FX_NVARS]);
/* Whether hours whose latest fetch was last_fetch were all stored by t
 * (AV_NULL_MS last_fetch: no hours, never). */
int av_fx_day_known(av_ms last_fetch, av_ms t);
/* The problem summary of the warning w into f (problem_count ...
 * main_max_m): maxima over the problems that have the value (null when
 * none); the main problem is the one with the lowest problem_id (the
 * API's AvalancheProblemId: 1 is the main one; ties: the first). */
void av_fx_problems(struct av_feature *f, const struct av_warning *w);
/* The cut-off of a version: its publish_time, or first_seen without one. */
av_ms av_fx_cutoff(av_ms publish_time, av_ms first_seen);

/* ---- the export ---- */

struct av_sink;
struct av_query;
typedef int (*av_feature_fn)(void *ud, const struct av_feature *f);

/* The rows for q's regions (NULL = all), dates (from..to) and lang (0 =
 * every language), in (region_id, valid_date, lang) order; as_of ==
 * AV_NULL_MS for the latest publications, else the version published by
 * as_of (keys with none are left out). fn returning non-zero stops. */
av_rc av_features_read(struct av_sink *s, const struct av_query *q, av_ms as_of,
                       av_feature_fn fn, void *ud, char *errbuf);

#endif
