/* weather.h - the clean weather records: hourly values at a point and the
 * daily aggregate of a region, as every part of the pipeline sees them.
 *
 * The Open-Meteo source (src/sources/openmeteo.c) fills hourly records from
 * the API's JSON (units: °C, %, mm, cm, m, m/s, degrees; requested in GMT,
 * so `hour` is a UTC instant); the aggregation (src/transforms/
 * weather_daily.c) turns a region's hourly records into daily ones per
 * Europe/Oslo calendar day; sinks write and read both; export formats them.
 * Which member is which column: src/model/dataset.c (weather_hourly,
 * weather_daily).
 *
 * Absent values: NaN for every measured value (av_wx_isnull); a null from
 * the API is NaN, never 0.
 */
#ifndef AV_WEATHER_H
#define AV_WEATHER_H

#include <math.h>
#include <stdint.h>

#include "../core/tz.h"

/* The hourly variables, in the order of struct av_wx_hour's v[] and of the
 * request's `hourly=` list. The archive has no freezing level (its value
 * stays null). */
enum {
    AV_WX_TEMPERATURE,   /* temperature_2m, °C */
    AV_WX_HUMIDITY,      /* relative_humidity_2m, % */
    AV_WX_PRECIPITATION, /* precipitation, mm (preceding hour) */
    AV_WX_RAIN,          /* rain, mm (preceding hour) */
    AV_WX_SNOWFALL,      /* snowfall, cm (preceding hour) */
    AV_WX_SNOW_DEPTH,    /* snow_depth, m */
    AV_WX_WIND_SPEED,    /* wind_speed_10m, m/s */
    AV_WX_WIND_DIR,      /* wind_direction_10m, degrees */
    AV_WX_GUSTS,         /* wind_gusts_10m, m/s */
    AV_WX_FREEZING,      /* freezing_level_height, m (forecast only) */
    AV_WX_NVARS
};

/* The API's names of the variables above, in that order. */
extern const char *const av_wx_var_names[AV_WX_NVARS];

/* Where an hourly value came from; the higher one replaces the lower for
 * the same point and hour (a null never replaces a value). */
enum av_wx_source { AV_WX_FORECAST = 1, AV_WX_ARCHIVE = 2 };

/* "forecast" / "archive" / "mixed" (0). */
const char *av_wx_source_name(int source);

#define AV_WX_NULL NAN
static inline int av_wx_isnull(double v) { return isnan(v); }

/* A point: degrees, rounded to 4 decimals (what the requests send, and the
 * key of its hourly rows). */
struct av_point {
    int region_id;
    double latitude, longitude;
};

/* One hour at one point. */
struct av_wx_hour {
    int region_id;        /* the region whose request fetched it */
    double latitude, longitude; /* the requested point (key) */
    av_ms hour;           /* UTC instant of the hour stamp (key) */
    int source;           /* AV_WX_ARCHIVE | AV_WX_FORECAST */
    av_ms fetched_at;
    double v[AV_WX_NVARS];
};

/* One region on one local Oslo day: each point's daily value per
 * variable, then the mean over the points that have one. */
struct av_wx_day {
    int region_id;
    int64_t date;  /* local Oslo date, days since 1970-01-01 (key) */
    int points;    /* points that have at least one hour that day */
    int hours;     /* most non-null temperature hours of any point */
    int source;    /* AV_WX_ARCHIVE, AV_WX_FORECAST, or 0 = mixed */
    double temperature_min, temperature_mean, temperature_max; /* °C */
    double precipitation_sum, rain_sum; /* mm */
    double snowfall_sum;                /* cm */
    double snow_depth_mean;             /* m */
    double wind_speed_mean, wind_speed_max, gusts_max; /* m/s */
    double wind_direction_dominant;     /* degrees, vector mean */
    double humidity_mean;               /* % */
    double freezing_level_mean;         /* m */
    av_ms computed_at;
};

#endif
