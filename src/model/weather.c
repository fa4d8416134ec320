/* weather.c - the names of weather.h: the API's variable names and the
 * source labels. Pure constants. */
#include "weather.h"

const char *const av_wx_var_names[AV_WX_NVARS] = {
    [AV_WX_TEMPERATURE] = "temperature_2m",  [AV_WX_HUMIDITY] = "relative_humidity_2m",
    [AV_WX_PRECIPITATION] = "precipitation", [AV_WX_RAIN] = "rain",
    [AV_WX_SNOWFALL] = "snowfall",           [AV_WX_SNOW_DEPTH] = "snow_depth",
    [AV_WX_WIND_SPEED] = "wind_speed_10m",   [AV_WX_WIND_DIR] = "wind_direction_10m",
    [AV_WX_GUSTS] = "wind_gusts_10m",        [AV_WX_FREEZING] = "freezing_level_height",
};

/* Any other value is a bug upstream; it gets a label rather than NULL so
 * that logging it cannot crash. */
const char *av_wx_source_name(int source)
{
    switch (source) {
    case AV_WX_ARCHIVE: return "archive";
    case AV_WX_FORECAST: return "forecast";
    case 0: return "mixed";
    default: return "unknown";
    }
}
