/* test_export.c - JSONL and CSV writers: shapes, nulls, RFC 4180 quoting. */
#include <stdlib.h>

#include "../../src/core/json.h"
#include "../../src/sinks/export.h"
#include "../../src/transforms/warning.h"
#include "harness.h"

static char *export_raw(const struct av_warning *w, const struct av_dataset *ds,
                        enum av_format fmt, int csv_raw)
{
    struct av_export e;
    char *buf = NULL, err[AV_ERRBUF_SIZE];
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    av_export_init(&e, f, ds, fmt);
    e.csv_raw = csv_raw;
    if (w)
        CHECK(av_export_warning(&e, w) == 0);
    CHECK(av_export_finish(&e, err) == AV_OK);
    fclose(f);
    return buf;
}

static char *export_str(const struct av_warning *w, const struct av_dataset *ds,
                        enum av_format fmt)
{
    return export_raw(w, ds, fmt, 0);
}

/* CSV injection: text cells a spreadsheet would evaluate get a leading '
 * (and quotes); numbers, including negative ones, and --csv-raw do not. */
static void formula_guard(void)
{
    /* SYNTHETIC texts in the shapes of an attack */
    const char *json =
        "{\"RegionId\":3011,\"DangerLevel\":\"3\",\"LangKey\":1,"
        "\"ValidFrom\":\"2024-01-02T00:00:00\",\"MainText\":\"=HYPERLINK(\\\"http://x\\\")\","
        "\"AvalancheAdvices\":[{\"AdviceID\":1,\"Text\":\"-Stay\"},{\"AdviceID\":2,"
        "\"Text\":\"@SUM(A1)\"},{\"AdviceID\":3,\"Text\":\"+1\"},{\"AdviceID\":4,"
        "\"Text\":\"fine = fine\"}],"
        "\"MountainWeather\":{\"MeasurementTypes\":[{\"Id\":10,"
        "\"MeasurementSubTypes\":[{\"Id\":60,\"Value\":\"-3\"}]}]}}";
    struct av_json j;
    struct av_xform x;
    struct av_warning *w = malloc(sizeof(*w));
    char err[AV_ERRBUF_SIZE], *out;

    av_json_init(&j, 0, 0);
    av_xform_init(&x);
    CHECK(av_json_parse(&j, json, strlen(json), err) == AV_OK);
    CHECK(av_xform_warning(&x, &j, 0, 0, w, err) == AV_OK);
    out = export_str(w, &av_ds_advice, AV_FMT_CSV);
    CHECK_STR(out, "region_id,valid_date,lang,advice_id,image_url,text\r\n"
                   "3011,2024-01-02,1,1,,\"'-Stay\"\r\n3011,2024-01-02,1,2,,\"'@SUM(A1)\"\r\n"
                   "3011,2024-01-02,1,3,,\"'+1\"\r\n3011,2024-01-02,1,4,,fine = fine\r\n");
    free(out);
    out = export_str(w, &av_ds_warning, AV_FMT_CSV);
    CHECK(strstr(out, ",\"'=HYPERLINK(\"\"http://x\"\")\",") != NULL);
    free(out);
    out = export_raw(w, &av_ds_warning, AV_FMT_CSV, 1);
    CHECK(strstr(out, ",\"=HYPERLINK(\"\"http://x\"\")\",") != NULL);
    free(out);
    out = export_raw(w, &av_ds_advice, AV_FMT_CSV, 1);
    CHECK(strstr(out, ",,-Stay\r\n") != NULL && strstr(out, ",,@SUM(A1)\r\n") != NULL);
    free(out);
    out = export_str(w, &av_ds_weather, AV_FMT_CSV);
    CHECK(strstr(out, ",-3,") != NULL && strstr(out, "'-3") == NULL); /* a number */
    free(out);
    /* JSON is never changed */
    out = export_str(w, &av_ds_advice, AV_FMT_JSONL);
    CHECK(strstr(out, "\"text\":\"-Stay\"") != NULL);
    free(out);
    av_json_free(&j);
    av_xform_free(&x);
    free(w);
}

void suite_export(void)
{
    /* SYNTHETIC warning with text that needs quoting */
    const char *json =
        "{\"RegId\":7,\"RegionId\":3011,\"RegionName\":\"Tromsø\",\"RegionTypeId\":10,"
        "\"DangerLevel\":\"3\",\"LangKey\":1,\"ValidFrom\":\"2024-01-02T00:00:00\","
        "\"PublishTime\":\"2024-01-01T15:30:00.5\",\"MainText\":\"Say \\\"hi\\\", then\\nleave\","
        "\"AvalancheProblems\":[{\"AvalancheProblemId\":1,\"AvalancheProblemTypeId\":10,"
        "\"ValidExpositions\":\"11000001\",\"ExposedHeightFill\":1,\"ExposedHeight1\":800,"
        "\"ExposedHeight2\":800,\"TriggerSenitivityPropagationDestuctiveSizeText\":\"Easy\"}],"
        "\"CountyList\":[{\"Id\":\"55\",\"Name\":\"Troms\"}],\"ExtremWeatherId\":3,"
        "\"AvalancheAdvices\":[{\"AdviceID\":0,\"Text\":\"Stay, then go\"}],"
        "\"MountainWeather\":{\"CloudCoverId\":10,\"MeasurementTypes\":[{\"Id\":10,"
        "\"MeasurementSubTypes\":[{\"Id\":60,\"Value\":\"8\"}]},{\"Id\":20,"
        "\"MeasurementSubTypes\":[{\"Id\":50,\"Value\":\"NW\"}]}]}}";
    struct av_json j;
    struct av_xform x;
    struct av_warning *w = malloc(sizeof(*w));
    char err[AV_ERRBUF_SIZE], *out;

    av_json_init(&j, 0, 0);
    av_xform_init(&x);
    CHECK(av_json_parse(&j, json, strlen(json), err) == AV_OK);
    CHECK(av_xform_warning(&x, &j, 0, 0, w, err) == AV_OK);

    out = export_str(w, &av_ds_warning, AV_FMT_JSONL);
    CHECK(strncmp(out, "{\"region_id\":3011,\"region_name\":\"Tromsø\",\"region_type\":\"A\","
                       "\"valid_date\":\"2024-01-02\",\"lang\":1,\"reg_id\":7,\"danger_level\":3,"
                       "\"danger_level_name\":null,\"valid_from\":\"2024-01-01T23:00:00.000Z\"",
                  180) == 0);
    CHECK(strstr(out, "\"publish_time\":\"2024-01-01T14:30:00.500Z\"") != NULL);
    CHECK(strstr(out, "\"main_text\":\"Say \\\"hi\\\", then\\nleave\"") != NULL);
    CHECK(strstr(out, "\"problems\":[{\"problem_id\":1,\"problem_type_id\":10,") != NULL);
    CHECK(strstr(out, "\"aspects\":[\"N\",\"NE\",\"NW\"]") != NULL);
    CHECK(strstr(out, "\"exposed_height_fill\":1,\"exposed_height_1\":800,"
                      "\"exposed_height_2\":800") != NULL);
    CHECK(out[strlen(out) - 1] == '\n' && strchr(out, '\n') == out + strlen(out) - 1);
    {
        /* the line is valid JSON */
        struct av_json k;
        av_json_init(&k, 0, 0);
        CHECK(av_json_parse(&k, out, strlen(out), err) == AV_OK);
        CHECK_INT(av_json_size(&k, av_json_get(&k, 0, "problems")), 1);
        av_json_free(&k);
    }
    free(out);

    out = export_str(w, &av_ds_warning, AV_FMT_CSV);
    CHECK(strncmp(out, "region_id,region_name,region_type,valid_date,lang,reg_id,", 57) == 0);
    CHECK(strstr(out, "\r\n3011,Tromsø,A,2024-01-02,1,7,3,,2024-01-01T23:00:00.000Z,") != NULL);
    CHECK(strstr(out, ",\"Say \"\"hi\"\", then\nleave\",") != NULL);
    CHECK(strstr(out, ",1\r\n") != NULL); /* problem_count */
    free(out);

    out = export_str(w, &av_ds_problem, AV_FMT_CSV);
    CHECK(strstr(out, "region_id,valid_date,lang,problem_id,problem_type_id,") == out);
    CHECK(strstr(out, "\r\n3011,2024-01-02,1,1,10,") != NULL);
    CHECK(strstr(out, ",\"N,NE,NW\",") != NULL);
    free(out);

    out = export_str(w, &av_ds_problem, AV_FMT_JSONL);
    CHECK(strncmp(out, "{\"region_id\":3011,\"valid_date\":\"2024-01-02\",\"lang\":1,"
                       "\"problem_id\":1,",
                  68) == 0);
    /* the trigger text is exported (new in schema 4), the raw aspects not */
    CHECK(strstr(out, ",\"text\":\"Easy\"}\n") != NULL);
    CHECK(strstr(out, "aspects_raw") == NULL);
    free(out);

    /* the fields the transform used to drop, at the end of the record */
    out = export_str(w, &av_ds_warning, AV_FMT_JSONL);
    CHECK(strstr(out, ",\"utm_north\":null,\"previous_reg_id\":null,\"county_ids\":\"55\","
                      "\"municipality_ids\":null,\"county_names\":\"Troms\","
                      "\"municipality_names\":null,\"exposed_height_1\":null,"
                      "\"exposed_height_fill\":null,\"extreme_weather_id\":3,"
                      "\"extreme_weather_name\":null,\"problems\":[") != NULL);
    /* the store's bookkeeping is not exported */
    CHECK(strstr(out, "raw_hash") == NULL && strstr(out, "endpoint") == NULL);
    free(out);

    /* advices and mountain weather are datasets of their own */
    out = export_str(w, &av_ds_advice, AV_FMT_CSV);
    CHECK_STR(out, "region_id,valid_date,lang,advice_id,image_url,text\r\n"
                   "3011,2024-01-02,1,0,,\"Stay, then go\"\r\n");
    free(out);
    out = export_str(w, &av_ds_weather, AV_FMT_JSONL);
    /* numbers as numbers, words as strings, missing ones null */
    CHECK(strstr(out, "\"cloud_cover_id\":10,") != NULL);
    CHECK(strstr(out, "\"rain_most_exposed_mm\":8,") != NULL);
    CHECK(strstr(out, "\"wind_direction\":\"NW\",") != NULL);
    CHECK(strstr(out, "\"wind_speed\":null,") != NULL);
    free(out);

    /* an empty CSV export still has its header */
    out = export_str(NULL, &av_ds_problem, AV_FMT_CSV);
    CHECK(strncmp(out, "region_id,valid_date,lang,problem_id", 36) == 0);
    free(out);
    av_json_free(&j);
    av_xform_free(&x);
    free(w);
    formula_guard();
}
