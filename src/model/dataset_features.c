/* dataset_features.c - the description of the computed `features` dataset
 * (av_ds_features, declared in dataset.h; the record is struct av_feature
 * of src/export/features.h, which computes it). Its own file because it
 * is long: every column says what it may see in time, and these doc
 * strings are docs/datasets.md's table (`make docs`). */
#include <stddef.h>

#include "../export/features.h"
#include "dataset.h"

#define FX(name, t, flags, member, doc)                                                   \
    {name, t, flags, offsetof(struct av_feature, member), 0, 1, 0, 0, doc}
#define FXV(name, member, doc) FX(name, AV_FT_F64, 0, member, doc)
#define FXLEVEL(k)                                                                        \
    FX("level_d" #k, AV_FT_I32, 0, level_prev[k - 1],                                     \
       "the danger level of day D-" #k " (same region and language) as published at T: "  \
       "its latest publication whose publish_time is not after T; null when none was out " \
       "by T (a correction published after T is not seen)")
#define FXTYPE(i, id, what)                                                               \
    FX("problem_type_" #id, AV_FT_BOOL, 0, has_type[i],                                   \
       "1 when the target version has a problem of type " #id " (" what "), else 0")
/* The seven weather values of a window or day, each point's value over
 * its hours, then the mean over the points (the `weather` dataset's
 * rules); `when` says which hours and what they may see. */
#define FXWX(pre, arr, when)                                                              \
    FXV(pre "precipitation_sum", arr[AV_FX_PRECIP], "mm, each point's sum; " when),       \
    FXV(pre "snowfall_sum", arr[AV_FX_SNOWFALL], "cm, each point's sum; " when),          \
    FXV(pre "temperature_2m_mean", arr[AV_FX_TMEAN], "°C, each point's mean; " when),     \
    FXV(pre "temperature_2m_min", arr[AV_FX_TMIN], "°C, each point's minimum; " when),    \
    FXV(pre "temperature_2m_max", arr[AV_FX_TMAX], "°C, each point's maximum; " when),    \
    FXV(pre "wind_speed_10m_mean", arr[AV_FX_WMEAN], "m/s, each point's mean; " when),    \
    FXV(pre "wind_speed_10m_max", arr[AV_FX_WMAX], "m/s, each point's maximum; " when)
/* Window w of n hours before T. */
#define FXWIN(w, n)                                                                       \
    FX("wx_" #n "h_hours", AV_FT_I32, AV_FF_NOTNULL, win[w].hours,                        \
       "of the " #n " UTC hour stamps before T (the " #n " up to the first whole hour at " \
       "or after T, so an hour stamped at T is not before T), the most any point of the "  \
       "region has a temperature for (the `weather` dataset's hours); " #n " = complete"), \
    FX("wx_" #n "h_forecast_hours", AV_FT_I32, AV_FF_NOTNULL, win[w].forecast_hours,      \
       "how many of those hour stamps have a forecast value stored (at some point); the "  \
       "others are archive (reanalysis) values, perhaps fetched after T"),                 \
    FXWX("wx_" #n "h_", win[w].v,                                                         \
         "over the " #n " hours before T, averaged over the points; every stored value of " \
         "those hours whatever its fetch time (weather that had happened at T); null "     \
         "unless wx_" #n "h_hours is " #n)

static const struct av_field feature_fields[] = {
    FX("region_id", AV_FT_I32, AV_FF_KEY, region_id, "forecast region"),
    FX("valid_date", AV_FT_DATE, AV_FF_KEY, valid_date,
       "D, the local Norwegian date the warning is for"),
    FX("lang", AV_FT_I8, AV_FF_KEY, lang, "1 Norwegian, 2 English: the warning's language"),
    {"danger_level", AV_FT_I8, AV_FF_NOTNULL, offsetof(struct av_feature, danger_level), 0, 1,
     0, 5,
     "TARGET, not a feature: the level of the version used, the latest publication (with "
     "--as-of T0 the latest one not after T0); 0 not assessed .. 5 very high"},
    FX("publish_time", AV_FT_TIME, 0, publish_time, "that version's PublishTime"),
    FX("cutoff", AV_FT_TIME, AV_FF_NOTNULL, cutoff,
       "T, the row's cut-off: that version's publish_time (its first_seen when it has none); "
       "every column below sees only what was published by T, and weather of hours before "
       "T or stored by T"),
    FX("version", AV_FT_I32, 0, version,
       "that version's place among the key's stored publications (1, 2, ...; --history)"),
    FXLEVEL(1),
    FXLEVEL(2),
    FXLEVEL(3),
    FX("problem_count", AV_FT_I32, 0, problem_count,
       "problems of the target version (the warning itself: published at T)"),
    {"problem_types", AV_FT_CHARS, 0, offsetof(struct av_feature, problem_types),
     sizeof(((struct av_feature *)0)->problem_types), 1, 0, 0,
     "their problem_type_id values in problem order (problem_id), \"10,5\"; null when none"},
    FXTYPE(0, 3, "new snow, loose"),
    FXTYPE(1, 5, "wet snow, loose"),
    FXTYPE(2, 7, "new snow slab"),
    FXTYPE(3, 10, "wind slab"),
    FXTYPE(4, 30, "persistent weak layer"),
    FXTYPE(5, 45, "wet slab"),
    FXTYPE(6, 50, "gliding snow"),
    FX("max_destructive_size", AV_FT_I32, 0, max_size,
       "largest destructive_size_id of its problems (1 small .. 5 extreme); null when none "
       "has one"),
    FX("max_probability", AV_FT_I32, 0, max_probability,
       "largest probability_id (2 unlikely, 3 possible, 5 likely, 7 very likely)"),
    FX("max_propagation", AV_FT_I32, 0, max_propagation,
       "largest propagation_id (1 few, 2 some, 3 many steep slopes)"),
    FX("max_trigger_sensitivity", AV_FT_I32, 0, max_sensitivity,
       "largest trigger_sensitivity_id (10 very hard .. 45 spontaneous)"),
    FX("main_problem_type_id", AV_FT_I32, 0, main_type,
       "the main problem's type: the problem with the lowest problem_id (the API's "
       "AvalancheProblemId, 1 = main); null without problems"),
    FX("main_aspects", AV_FT_ASPECTS, 0, main_aspects, "the main problem's aspects"),
    FX("main_exposed_height_fill", AV_FT_I32, 0, main_fill,
       "the main problem's elevation band: 1 above H1, 2 below H1, 3 above H1 and below H2, "
       "4 between H2 and H1"),
    FX("main_exposed_height_1", AV_FT_I32, 0, main_h1, "its H1, m"),
    FX("main_exposed_height_2", AV_FT_I32, 0, main_h2, "its H2, m"),
    FX("main_exposed_min_m", AV_FT_I32, 0, main_min_m,
       "lower end of its decoded band (null = open; both null for fill 3)"),
    FX("main_exposed_max_m", AV_FT_I32, 0, main_max_m, "upper end of its decoded band"),
    FXWIN(0, 24),
    FXWIN(1, 72),
    FXWIN(2, 168),
    FXWX("wx_d0_", d0,
         "day D's value as stored at T (a forecast when T is before D) from the stored hours "
         "of local day D, averaged over the points; null unless every one of them was fetched "
         "at or before T (a later fetch replaced what was known at T)"),
    FX("wx_d0_hours", AV_FT_I32, 0, d0_hours,
       "the most hours of D any point has a temperature for (24 on a complete ordinary day, "
       "23 or 25 on the clock-change days); null when D is not known at T"),
    FX("wx_d0_source", AV_FT_TEXT, 0, d0_source,
       "where D's hours came from: archive, forecast or mixed; null when D is not known at T"),
    FX("wx_d0_fetched_at", AV_FT_TIME, 0, d0_fetched_at,
       "the latest fetch of D's hours (not after T); null when D is not known at T"),
};

const struct av_dataset av_ds_features = {
    .name = "features",
    .doc = "One row per region, local date D and language for modelling (`export features`): "
           "the published danger level (the target) and, as features, only what was known at "
           "the target's publish time T (no look-ahead): the warnings published by T, the "
           "weather of the hours before T, the forecast of D as stored at T. Computed when "
           "exported from the publication history and the hourly weather; the rules: "
           "docs/datasets.md, **Features**.",
    .fields = feature_fields,
    .nfields = (int)(sizeof(feature_fields) / sizeof(feature_fields[0])),
    .nkeys = 3,
    .since = 1,
    .rule = AV_RULE_REPLACE,
    .elem_size = sizeof(struct av_feature),
};
