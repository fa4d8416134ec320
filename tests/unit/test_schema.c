/* test_schema.c - the Cassandra tables generated from the dataset
 * descriptions are the tables of avalanche 0.1.0 (3dfe610) plus the columns
 * added since: same keys, same clustering, same column types; and the
 * weather tables added with schema 7. (The SQLite
 * side is checked by migrating a 0.1.0 file in test_store.c.) */
#include <stdlib.h>

#include "../../src/core/buf.h"
#include "../../src/sinks/cassandra_int.h"
#include "harness.h"

/* The 0.1.0 DDL, history kept here: "name type" pairs and the key clause. */
static const char *const v01_warning_cols =
    "region_id int, valid_date date, lang tinyint, reg_id bigint, previous_reg_id bigint, "
    "region_name text, region_type text, danger_level tinyint, danger_level_name text, "
    "valid_from timestamp, valid_to timestamp, publish_time timestamp, "
    "next_warning_time timestamp, danger_increase_time timestamp, "
    "danger_decrease_time timestamp, is_tendency boolean, main_text text, "
    "avalanche_danger text, emergency_warning text, snow_surface text, "
    "current_weak_layers text, latest_avalanche_activity text, latest_observations text, "
    "author text, utm_zone int, utm_east int, utm_north int, county_ids text, "
    "municipality_ids text, endpoint text";
static const char *const v01_problem_cols =
    "region_id int, valid_date date, lang tinyint, problem_id int, problem_type_id int, "
    "problem_type_name text, avalanche_type_id int, avalanche_type_name text, ext_id int, "
    "ext_name text, cause_id int, cause_name text, probability_id int, "
    "probability_name text, trigger_simple_id int, trigger_simple_name text, "
    "trigger_sensitivity_id int, trigger_sensitivity_name text, destructive_size_id int, "
    "destructive_size_name text, propagation_id int, propagation_name text, "
    "aspects_raw text, aspects list<text>, exposed_height_fill int, exposed_height_1 int, "
    "exposed_height_2 int, exposed_min_m int, exposed_max_m int, exposed_heights text, "
    "danger_level int, danger_level_name text, text text";
static const char *const added_warning_cols =
    "county_names text, municipality_names text, exposed_height_1 int, "
    "exposed_height_fill int, extreme_weather_id int, extreme_weather_name text";

/* Whether every "name type" of list occurs in ddl as a column. */
static int has_all(const char *ddl, const char *list)
{
    char item[96];

    for (const char *p = list; *p;) {
        size_t n = strcspn(p, ",");
        int ok;
        snprintf(item, sizeof(item), "%.*s, ", (int)n, p);
        ok = strstr(ddl, item) != NULL;
        if (!ok) {
            fprintf(stderr, "missing column \"%.*s\" in %s\n", (int)n, p, ddl);
            return 0;
        }
        p += n;
        while (*p == ',' || *p == ' ')
            p++;
    }
    return 1;
}

static int count_cols(const char *ddl)
{
    int n = 0;
    const char *end = strstr(ddl, "PRIMARY KEY");

    for (const char *p = strchr(ddl, '('); p && p < end; p++)
        n += *p == ',';
    return n;
}

/* The weather tables (schema 7), whole: columns from weather_hourly and
 * weather_daily in description order, double for F64, text for the source,
 * and the UTC year bucketing the hours (a partition per point and year). */
static const char *const wx_tables[] = {
    "CREATE TABLE IF NOT EXISTS ks.weather_hourly_by_point (region_id int, latitude double, "
    "longitude double, time timestamp, source text, fetched_at timestamp, temperature_2m "
    "double, relative_humidity_2m double, precipitation double, rain double, snowfall double, "
    "snow_depth double, wind_speed_10m double, wind_direction_10m double, wind_gusts_10m "
    "double, freezing_level_height double, year int, PRIMARY KEY ((region_id, latitude, "
    "longitude, year), time))",
    "CREATE TABLE IF NOT EXISTS ks.weather_points_by_region (region_id int, latitude double, "
    "longitude double, year int, PRIMARY KEY ((region_id), latitude, longitude, year))",
    "CREATE TABLE IF NOT EXISTS ks.weather_daily_by_region (region_id int, date date, points "
    "int, hours int, source text, temperature_2m_min double, temperature_2m_mean double, "
    "temperature_2m_max double, precipitation_sum double, rain_sum double, snowfall_sum "
    "double, snow_depth_mean double, wind_speed_10m_mean double, wind_speed_10m_max double, "
    "wind_gusts_10m_max double, wind_direction_10m_dominant double, relative_humidity_2m_mean "
    "double, freezing_level_height_mean double, computed_at timestamp, PRIMARY KEY "
    "((region_id), date))",
};

static void weather_tables(void)
{
    for (int t = AV_CT_WX_HOURLY; t < AV_CT_N; t++) {
        struct av_buf b;
        av_buf_init(&b, 0);
        av_cass_create_table(&b, "ks", &av_cass_tables[t]);
        CHECK(b.data != NULL);
        if (b.data != NULL)
            CHECK_STR(b.data, wx_tables[t - AV_CT_WX_HOURLY]);
        av_buf_free(&b);
    }
    CHECK_INT(av_cass_client_ts(&av_cass_tables[AV_CT_WX_HOURLY]), 1); /* rank and fetch */
    CHECK_INT(av_cass_client_ts(&av_cass_tables[AV_CT_WX_POINTS]), 0);
    CHECK_INT(av_cass_client_ts(&av_cass_tables[AV_CT_WX_DAILY]), 0);  /* the server's */
    CHECK_INT(av_cass_client_ts(&av_cass_tables[AV_CT_BY_REGION]), 1); /* the publication */
    /* the year bucket is the UTC year, also before 1970 */
    CHECK_INT(av_cass_year(0), 1970);
    CHECK_INT(av_cass_year(-1), 1969);
    CHECK_INT(av_cass_year(1704067200000LL - 1), 2023); /* 2023-12-31T23:59:59.999Z */
    CHECK_INT(av_cass_year(1704067200000LL), 2024);
}

void suite_schema(void)
{
    static const char *const keys[AV_CT_PROBLEMS + 1] = {
        "PRIMARY KEY ((region_id), valid_date, lang)) WITH CLUSTERING ORDER BY "
        "(valid_date DESC, lang ASC)",
        "PRIMARY KEY ((valid_date), region_id, lang))",
        "PRIMARY KEY ((region_id), valid_date, lang, problem_id))",
    };
    static const char *const names[AV_CT_PROBLEMS + 1] = {
        "warnings_by_region", "warnings_by_date", "problems_by_region"};

    for (int t = 0; t <= AV_CT_PROBLEMS; t++) {
        struct av_buf b;
        const struct av_field *cols[AV_CASS_MAXCOLS];
        int problems = t == AV_CT_PROBLEMS;
        av_buf_init(&b, 0);
        av_cass_create_table(&b, "ks", &av_cass_tables[t]);
        CHECK(b.data != NULL);
        if (b.data == NULL)
            continue;
        CHECK_STR(av_cass_tables[t].name, names[t]);
        CHECK(strncmp(b.data, "CREATE TABLE IF NOT EXISTS ks.", 30) == 0);
        CHECK(strstr(b.data, keys[t]) != NULL && strcmp(strstr(b.data, keys[t]), keys[t]) == 0);
        CHECK(has_all(b.data, problems ? v01_problem_cols : v01_warning_cols));
        if (!problems)
            CHECK(has_all(b.data, added_warning_cols));
        /* nothing else: 0.1.0's columns, the added ones, and no bookkeeping */
        CHECK_INT(count_cols(b.data), problems ? 33 : 36);
        CHECK_INT(av_cass_columns(av_cass_tables[t].ds, cols), problems ? 33 : 36);
        CHECK(strstr(b.data, "raw_hash") == NULL && strstr(b.data, "ingested_at") == NULL);
        av_buf_free(&b);
    }
    /* every table fits the sink's fixed arrays */
    for (int d = 0; av_datasets[d]; d++)
        CHECK(av_datasets[d]->nfields < AV_CASS_MAXCOLS);
    weather_tables();
}
