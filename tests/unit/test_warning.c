/* test_warning.c - the transform on the real recorded responses, plus
 * synthetic edge cases built here (and named so). */
#include <stdlib.h>

#include "../../src/core/json.h"
#include "../../src/transforms/warning.h"
#include "harness.h"

static const char *stamp(av_ms t)
{
    static char b[4][AV_STAMP_LEN];
    static int k;

    if (t == AV_NULL_MS)
        return NULL;
    k = (k + 1) % 4;
    av_stamp_format(t, b[k]);
    return b[k];
}

static const char *date(int64_t d)
{
    static char b[AV_DATE_LEN];

    av_date_format(d, b);
    return b;
}

/* Element i of a JSON array document. */
static int elem(const struct av_json *j, int i)
{
    int e = av_json_first(0);

    while (i-- > 0)
        e = av_json_skip(j, e);
    return e;
}

static void detail_fixture(void)
{
    struct av_json j;
    struct av_xform x;
    struct av_warning *w = malloc(sizeof(*w));
    char err[AV_ERRBUF_SIZE];
    size_t len;
    char *text = t_read_file(
        t_fixture("varsom/detail_3022_2023-03-01_to_2023-03-05_lang2_v6.2.1.json"), &len);
    const struct av_problem *p;

    CHECK(text != NULL);
    if (text == NULL)
        return;
    av_json_init(&j, 0, 0);
    av_xform_init(&x);
    CHECK(av_json_parse(&j, text, len, err) == AV_OK);
    CHECK_INT(av_json_size(&j, 0), 5);

    /* 2023-03-02: the re-issued warning (published 09:11 the same day) */
    CHECK(av_xform_warning(&x, &j, elem(&j, 1), 0, w, err) == AV_OK);
    CHECK_INT(w->region_id, 3022);
    CHECK_STR(date(w->valid_date), "2023-03-02");
    CHECK_INT(w->lang, 2);
    CHECK_INT(w->reg_id, 332657);
    CHECK_INT(w->previous_reg_id, 332423);
    CHECK_STR(w->region_name, "Trollheimen");
    CHECK_STR(w->region_type, "A");
    CHECK_INT(w->danger_level, 2);
    CHECK_STR(w->danger_level_name, "2 Moderate");
    CHECK_STR(stamp(w->valid_from), "2023-03-01T23:00:00.000Z");
    CHECK_STR(stamp(w->valid_to), "2023-03-02T22:59:59.000Z");
    CHECK_STR(stamp(w->publish_time), "2023-03-02T08:11:14.200Z");
    CHECK_STR(stamp(w->next_warning_time), "2023-03-03T15:00:00.000Z");
    CHECK(w->danger_increase_time == AV_NULL_MS);
    CHECK(w->danger_decrease_time == AV_NULL_MS);
    /* trailing space trimmed */
    CHECK_STR(w->main_text, "Be careful in sun-exposed steep slopes and in high north facing "
                            "areas with dry wind slabs. Avoid cornices.");
    CHECK(strncmp(w->avalanche_danger, "Oppdatert varsel 02.03. kl 09:\nKraftig vind", 43) == 0);
    CHECK_STR(w->emergency_warning, "Not given");
    CHECK(strncmp(w->snow_surface, "Det ligger mye snø i fjellet etter en uke", 41) == 0);
    CHECK(strncmp(w->current_weak_layers, "Observasjoner fra Oppdal mandag", 31) == 0);
    CHECK(w->latest_avalanche_activity == NULL);
    CHECK(strncmp(w->latest_observations, "I indre deler av regionen", 25) == 0);
    CHECK_STR(w->author, "Snøskredvarslingen 40");
    CHECK(w->is_tendency == AV_NULL_INT); /* 6.2.1 has no IsTendency */
    CHECK_INT(w->utm_zone, 33);
    CHECK_INT(w->utm_east, 210810);
    CHECK_INT(w->utm_north, 6991060);
    CHECK_STR(w->county_ids, "15,34,50");
    CHECK_STR(w->municipality_ids,
              "1506,1557,1560,1563,1566,1576,3427,3429,3431,3432,5021,5022,5027,5028,5055,"
              "5059,5061");
    CHECK_INT(strlen(w->raw_hash), 16);

    CHECK_INT(w->n_problems, 2);
    p = &w->problems[0];
    CHECK_INT(p->problem_id, 1);
    CHECK_INT(p->type_id, 10);
    CHECK_STR(p->type_name, "Wind drifted snow (slab avalanches)");
    CHECK_INT(p->aval_type_id, 10);
    CHECK_STR(p->aval_type_name, "Slab avalanche");
    CHECK_INT(p->ext_id, 20);
    CHECK_STR(p->ext_name, "Dry slab avalanche");
    CHECK_INT(p->cause_id, 10);
    CHECK_STR(p->cause_name, "Buried weak layer of new snow");
    CHECK_INT(p->probability_id, 3);
    CHECK_STR(p->probability_name, "Possible");
    CHECK_INT(p->trigger_simple_id, 21);
    CHECK_STR(p->trigger_simple_name, "Easy to trigger");
    CHECK_INT(p->trigger_sensitivity_id, 30);
    CHECK_STR(p->trigger_sensitivity_name, "Easy to trigger"); /* "\r\n" trimmed */
    CHECK_INT(p->destructive_size_id, 2);
    CHECK_STR(p->destructive_size_name, "2 - Medium");
    CHECK_INT(p->propagation_id, 1);
    CHECK_STR(p->propagation_name, "Few steep slopes");
    CHECK_STR(p->aspects_raw, "01111000");
    CHECK_INT(p->aspects, AV_ASPECT_NE | AV_ASPECT_E | AV_ASPECT_SE | AV_ASPECT_S);
    CHECK_INT(p->exposed_height_fill, 1);
    CHECK_INT(p->exposed_height_1, 1000);
    CHECK_INT(p->exposed_height_2, 1000);
    CHECK_INT(p->exposed_min_m, 1000);
    CHECK(p->exposed_max_m == AV_NULL_INT);
    CHECK_STR(p->exposed_text, "above 1000 m");
    CHECK_INT(p->danger_level, 2);
    CHECK_STR(p->danger_level_name, "2 Moderate");
    CHECK(strncmp(p->text, "You can easily trigger avalanches on a few steep slopes.", 56) == 0);
    p = &w->problems[1];
    CHECK_INT(p->problem_id, 2);
    CHECK_INT(p->type_id, 5);
    CHECK_INT(p->cause_id, 24);
    CHECK_STR(p->aspects_raw, "00011110");
    CHECK_INT(p->aspects, AV_ASPECT_SE | AV_ASPECT_S | AV_ASPECT_SW | AV_ASPECT_W);
    CHECK_INT(p->exposed_height_fill, 2);
    CHECK(p->exposed_min_m == AV_NULL_INT);
    CHECK_INT(p->exposed_max_m, 1000);
    CHECK_STR(p->exposed_text, "below 1000 m");
    CHECK_INT(p->danger_level, 1);

    CHECK_INT(w->n_advices, 3);
    CHECK_INT(w->advices[0].advice_id, 0);
    CHECK_STR(w->advices[0].image_url,
              "https://api01.nve.no/hydrology/forecast/avalanche/v6.2.1/Images/AvalancheAdvice/"
              "11.jpg");
    CHECK(strncmp(w->advices[0].text, "Wet surface: Move gradually away from the fall line", 51)
          == 0);

    CHECK(w->has_weather);
    CHECK_STR(stamp(w->weather.last_saved), "2023-03-02T08:11:15.520Z");
    CHECK_INT(w->weather.cloud_cover_id, 20);
    CHECK_STR(w->weather.cloud_cover_name, "Partly cloudy");
    CHECK(w->weather.comment == NULL);
    CHECK_STR(w->weather.texts, "3-6 mm precipitation.\nRain up to 500 m a.s.l during the afternoon.\n"
                           "Fresh breeze from west, changing to moderate gale from the "
                           "northwest during renoon.\n-8 °C to -4 °C at 1400 m a.s.l.");
    /* the 17 measurements all have a typed member: nothing left over */
    CHECK_STR(w->weather.rain_most_exposed_mm, "6");
    CHECK_STR(w->weather.rain_average_mm, "3");
    CHECK_STR(w->weather.wind_speed, "Fresh breeze");
    CHECK_STR(w->weather.wind_direction, "W");
    CHECK_STR(w->weather.temperature_min_c, "-8");
    CHECK_STR(w->weather.temperature_max_c, "-4");
    CHECK_STR(w->weather.temperature_masl, "1400");
    CHECK(w->weather.other == NULL);

    /* the Detail fields kept since schema 4 */
    CHECK_INT(w->previous_reg_id, 332423);
    CHECK_STR(w->county_ids, "15,34,50");
    CHECK_STR(w->county_names, "Møre og Romsdal,Innlandet,Trøndelag");
    CHECK(strncmp(w->municipality_names, "Molde,Gjemnes,Tingvoll,", 23) == 0);
    CHECK(strstr(w->municipality_names, ",Midtre Gauldal,") != NULL);
    CHECK_INT(w->exposed_height_1, 0);
    CHECK_INT(w->exposed_height_fill, 1);
    CHECK(w->extreme_weather_id == AV_NULL_INT);
    CHECK(w->extreme_weather_name == NULL);
    CHECK_STR(w->author, "Snøskredvarslingen 40");
    CHECK(w->endpoint == NULL && w->raw_id == AV_NULL_INT); /* the caller's to set */

    /* 2023-03-03: published the afternoon before; emergency warning */
    CHECK(av_xform_warning(&x, &j, elem(&j, 2), 0, w, err) == AV_OK);
    CHECK_STR(date(w->valid_date), "2023-03-03");
    CHECK_INT(w->reg_id, 332626);
    CHECK_INT(w->danger_level, 3);
    CHECK_STR(w->emergency_warning, "Natural avalanches");
    CHECK_STR(stamp(w->publish_time), "2023-03-02T14:31:48.560Z");
    /* 2023-03-01: a DangerDecreaseTime */
    CHECK(av_xform_warning(&x, &j, elem(&j, 0), 0, w, err) == AV_OK);
    CHECK_STR(stamp(w->danger_decrease_time), "2023-03-01T11:00:00.000Z");

    av_json_free(&j);
    av_xform_free(&x);
    free(text);
    free(w);
}

static void simple_fixtures(void)
{
    struct av_json j;
    struct av_xform x;
    struct av_warning *w = malloc(sizeof(*w));
    char err[AV_ERRBUF_SIZE];
    size_t len;
    char *text = t_read_file(
        t_fixture("varsom/coordinates_simple_69.65_18.95_lang1_2026-03-01_to_2026-03-03_v6.3.0."
                  "json"),
        &len);
    int region, list;

    CHECK(text != NULL);
    if (text == NULL)
        return;
    av_json_init(&j, 0, 0);
    av_xform_init(&x);
    CHECK(av_json_parse(&j, text, len, err) == AV_OK);
    CHECK(av_xform_warning(&x, &j, elem(&j, 0), 0, w, err) == AV_OK);
    CHECK_INT(w->region_id, 3011);
    CHECK_STR(w->region_name, "Tromsø");
    CHECK_INT(w->reg_id, 452335);
    CHECK_INT(w->danger_level, 2);
    CHECK_INT(w->lang, 1);
    CHECK_STR(date(w->valid_date), "2026-03-01");
    CHECK_STR(stamp(w->publish_time), "2026-02-28T14:30:59.547Z");
    CHECK(w->n_problems == 0 && w->n_advices == 0 && !w->has_weather);
    CHECK(w->author == NULL && w->county_ids == NULL);
    free(text);

    /* RegionSummary (v6.0.1): assessed warnings carry RegionTypeId 0 */
    text = t_read_file(
        t_fixture("varsom/regionsummary_simple_lang1_2022-01-16_to_2022-01-18_v6.0.1.json"),
        &len);
    CHECK(text != NULL);
    if (text == NULL)
        goto out;
    CHECK(av_json_parse(&j, text, len, err) == AV_OK);
    CHECK_INT(av_json_size(&j, 0), 46);
    region = elem(&j, 2); /* 3003 Nordenskiöld Land */
    list = av_json_get(&j, region, "AvalancheWarningList");
    CHECK_INT(av_json_size(&j, list), 3);
    CHECK(av_xform_warning(&x, &j, av_json_first(list), 0, w, err) == AV_OK);
    CHECK_INT(w->region_id, 3003);
    CHECK_STR(date(w->valid_date), "2022-01-16");
    CHECK_STR(w->region_type, "A");
    CHECK(w->danger_level >= 0 && w->danger_level <= 5);
out:
    av_json_free(&j);
    av_xform_free(&x);
    free(text);
    free(w);
}

/* SYNTHETIC cases written here from varsom-api.md (not API recordings). */
static struct av_json sj;
static struct av_xform sx;

/* Strings live in sx's arena until the next call (freed at the end). */
static av_rc synth(const char *json, struct av_warning *w, char *err)
{
    av_rc rc = av_json_parse(&sj, json, strlen(json), err);

    if (rc == AV_OK)
        rc = av_xform_warning(&sx, &sj, 0, 1, w, err);
    return rc;
}

static void synthetic_cases(void)
{
    struct av_warning *w = malloc(sizeof(*w));

    av_json_init(&sj, 0, 0);
    av_xform_init(&sx);
    char err[AV_ERRBUF_SIZE];

    /* not-assessed day: RegId 0, level "0", nulls everywhere */
    CHECK(synth("{\"RegId\":0,\"RegionId\":3022,\"RegionName\":\"Trollheimen\","
                "\"RegionTypeId\":10,\"RegionTypeName\":\"A\",\"DangerLevel\":\"0\","
                "\"ValidFrom\":\"2023-06-01T00:00:00\",\"ValidTo\":\"2023-06-01T23:59:59\","
                "\"NextWarningTime\":\"2023-06-01T17:00:00\",\"PublishTime\":"
                "\"2023-06-01T00:00:00\",\"MainText\":\"No Rating\",\"LangKey\":2,"
                "\"DangerLevelName\":null,\"Author\":null,\"AvalancheProblems\":null,"
                "\"AvalancheAdvices\":null,\"MountainWeather\":null,\"UtmZone\":0,"
                "\"PreviousWarningRegId\":null,\"CountyList\":[{\"Id\":\"15\",\"Name\":\"X\"}]}",
                w, err) == AV_OK);
    CHECK_INT(w->danger_level, 0);
    CHECK_INT(w->reg_id, 0);
    CHECK_INT(w->lang, 2);
    CHECK(w->n_problems == 0 && w->n_advices == 0 && !w->has_weather);
    CHECK(w->previous_reg_id == AV_NULL_INT);
    /* summer date: CEST */
    CHECK_STR(stamp(w->valid_from), "2023-05-31T22:00:00.000Z");
    /* DangerLevel as an int, IsTendency true, LangKey from the request */
    CHECK(synth("{\"RegionId\":3011,\"DangerLevel\":3,\"ValidFrom\":\"2024-01-02T00:00:00\","
                "\"IsTendency\":true}",
                w, err) == AV_OK);
    CHECK_INT(w->danger_level, 3);
    CHECK_INT(w->is_tendency, 1);
    CHECK_INT(w->lang, 1);
    /* rejects, each with a reason */
    CHECK(synth("{\"DangerLevel\":\"2\",\"ValidFrom\":\"2024-01-02T00:00:00\"}", w, err) ==
          AV_EREJECT);
    CHECK(strstr(err, "RegionId") != NULL);
    CHECK(synth("{\"RegionId\":3011,\"DangerLevel\":\"2\",\"ValidFrom\":\"yesterday\"}", w,
                err) == AV_EREJECT);
    CHECK(strstr(err, "ValidFrom") != NULL);
    CHECK(synth("{\"RegionId\":3011,\"DangerLevel\":\"7\",\"ValidFrom\":\"2024-01-02T00:00:00\"}",
                w, err) == AV_EREJECT);
    CHECK(strstr(err, "outside 0-5") != NULL);
    CHECK(synth("{\"RegionId\":3011,\"DangerLevel\":-1,\"ValidFrom\":\"2024-01-02T00:00:00\"}", w,
                err) == AV_EREJECT);
    CHECK(synth("{\"RegionId\":3011,\"DangerLevel\":\"high\",\"ValidFrom\":\"2024-01-02T00:00:00\"}",
                w, err) == AV_EREJECT);
    CHECK(synth("{\"RegionId\":3011,\"ValidFrom\":\"2024-01-02T00:00:00\"}", w, err) ==
          AV_EREJECT);
    CHECK(synth("{\"RegionId\":\"abc\",\"DangerLevel\":1,\"ValidFrom\":\"2024-01-02T00:00:00\"}",
                w, err) == AV_EREJECT);
    CHECK(synth("{\"RegionId\":3011,\"DangerLevel\":1,\"ValidFrom\":\"2024-01-02T00:00:00\","
                "\"LangKey\":7}",
                w, err) == AV_EREJECT);
    CHECK(synth("[1,2]", w, err) == AV_EREJECT);
    /* wrong types for optional fields become NULL, not rejects */
    CHECK(synth("{\"RegionId\":3011,\"DangerLevel\":1,\"ValidFrom\":\"2024-01-02T00:00:00\","
                "\"MainText\":42,\"UtmZone\":\"x\",\"AvalancheProblems\":{},"
                "\"PublishTime\":\"soon\",\"AvalancheAdvices\":[1,null]}",
                w, err) == AV_OK);
    CHECK(w->main_text == NULL && w->utm_zone == AV_NULL_INT && w->n_problems == 0);
    CHECK(w->publish_time == AV_NULL_MS && w->n_advices == 0);
    /* exposed heights: middle band and sandwich */
    CHECK(synth("{\"RegionId\":3011,\"DangerLevel\":1,\"ValidFrom\":\"2024-01-02T00:00:00\","
                "\"AvalancheProblems\":[{\"AvalancheProblemId\":1,\"ExposedHeightFill\":4,"
                "\"ExposedHeight1\":1200,\"ExposedHeight2\":600,\"ValidExpositions\":\"1000000"
                "1\"},{\"ExposedHeightFill\":3,\"ExposedHeight1\":1200,\"ExposedHeight2\":600,"
                "\"ValidExpositions\":\"1x\"}]}",
                w, err) == AV_OK);
    CHECK_INT(w->n_problems, 2);
    CHECK_INT(w->problems[0].exposed_min_m, 600);
    CHECK_INT(w->problems[0].exposed_max_m, 1200);
    CHECK_INT(w->problems[0].aspects, AV_ASPECT_N | AV_ASPECT_NW);
    CHECK(w->problems[1].exposed_min_m == AV_NULL_INT && w->problems[1].exposed_max_m ==
          AV_NULL_INT);
    CHECK_INT(w->problems[1].problem_id, 2); /* missing id: position */
    CHECK(w->problems[1].aspects == AV_NULL_INT);
    /* mountain weather: the first value of a typed measurement wins, the
     * second and unknown ones go to `other` (JSON); null unknowns are dropped */
    CHECK(synth("{\"RegionId\":3011,\"DangerLevel\":1,\"ValidFrom\":\"2024-01-02T00:00:00\","
                "\"MountainWeather\":{\"MeasurementTypes\":[{\"Id\":10,\"Name\":\"Rain\","
                "\"MeasurementSubTypes\":[{\"Id\":60,\"Value\":null},{\"Id\":60,\"Value\":\"5\"},"
                "{\"Id\":60,\"Name\":\"Again\",\"Value\":\"7\"},{\"Id\":99,\"Name\":\"Snow \\\"new\\\"\","
                "\"Value\":\"12\"},{\"Id\":98,\"Value\":null}]}]}}",
                w, err) == AV_OK);
    CHECK(w->has_weather);
    CHECK_STR(w->weather.rain_most_exposed_mm, "5");
    CHECK(w->weather.rain_average_mm == NULL && w->weather.last_saved == AV_NULL_MS);
    CHECK_STR(w->weather.other,
              "[{\"type_id\":10,\"subtype_id\":60,\"type\":\"Rain\",\"subtype\":\"Again\","
              "\"value\":\"7\"},{\"type_id\":10,\"subtype_id\":99,\"type\":\"Rain\","
              "\"subtype\":\"Snow \\\"new\\\"\",\"value\":\"12\"}]");
    /* names and ids of counties and municipalities, unescaped and in order */
    CHECK(synth("{\"RegionId\":3011,\"DangerLevel\":1,\"ValidFrom\":\"2024-01-02T00:00:00\","
                "\"CountyList\":[{\"Id\":\"54\",\"Name\":\"Troms og Finnm\\u00e1rku\"},"
                "{\"Id\":55},{\"Name\":\"x\"}],\"MunicipalityList\":[]}",
                w, err) == AV_OK);
    CHECK_STR(w->county_ids, "54,55");
    CHECK_STR(w->county_names, "Troms og Finnmárku,x");
    CHECK_STR(w->municipality_ids, "");
    CHECK(w->has_weather == 0 && w->weather.other == NULL);
    av_json_free(&sj);
    av_xform_free(&sx);
    free(w);
}

void suite_warning(void)
{
    detail_fixture();
    simple_fixtures();
    synthetic_cases();
}
