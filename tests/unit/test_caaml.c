/* test_caaml.c - the CAAMLv6 mapping (src/export/caaml.h) value by value,
 * one bulletin of the recorded Detail fixture, the document's tendency and
 * the GeoJSON geometry (src/export/geojson.h). */
#include <stdlib.h>

#include "../../src/core/json.h"
#include "../../src/core/tz.h"
#include "../../src/export/caaml.h"
#include "../../src/export/geojson.h"
#include "../../src/transforms/warning.h"
#include "harness.h"

static void levels_types_stability(void)
{
    CHECK_STR(av_caaml_danger(0), "no_rating"); /* not assessed, not "no_snow" */
    CHECK_STR(av_caaml_danger(1), "low");
    CHECK_STR(av_caaml_danger(3), "considerable");
    CHECK_STR(av_caaml_danger(5), "very_high");
    CHECK(av_caaml_danger(6) == NULL && av_caaml_danger(-1) == NULL);
    CHECK(av_caaml_danger(AV_NULL_INT) == NULL);

    CHECK_STR(av_caaml_problem_type(3), "new_snow");
    CHECK_STR(av_caaml_problem_type(7), "new_snow");
    CHECK_STR(av_caaml_problem_type(5), "wet_snow");
    CHECK_STR(av_caaml_problem_type(45), "wet_snow");
    CHECK_STR(av_caaml_problem_type(10), "wind_slab");
    CHECK_STR(av_caaml_problem_type(30), "persistent_weak_layers");
    CHECK_STR(av_caaml_problem_type(37), "persistent_weak_layers");
    CHECK_STR(av_caaml_problem_type(50), "gliding_snow");
    CHECK(av_caaml_problem_type(0) == NULL); /* pyAvaCore made this gliding_snow */
    CHECK(av_caaml_problem_type(20) == NULL && av_caaml_problem_type(AV_NULL_INT) == NULL);

    CHECK_STR(av_caaml_stability(10, 0), "good");
    CHECK_STR(av_caaml_stability(20, 0), "fair");
    CHECK_STR(av_caaml_stability(30, 21), "poor");
    CHECK_STR(av_caaml_stability(40, 0), "very_poor");
    CHECK_STR(av_caaml_stability(45, 22), "very_poor");
    CHECK_STR(av_caaml_stability(AV_NULL_INT, 21), "poor"); /* API 6.0 */
    CHECK_STR(av_caaml_stability(0, 22), "very_poor");
    CHECK_STR(av_caaml_stability(0, 10), "fair");
    CHECK(av_caaml_stability(0, 0) == NULL && av_caaml_stability(AV_NULL_INT, AV_NULL_INT) == NULL);

    CHECK_STR(av_caaml_frequency(1), "few");
    CHECK_STR(av_caaml_frequency(2), "some");
    CHECK_STR(av_caaml_frequency(3), "many");
    CHECK(av_caaml_frequency(0) == NULL && av_caaml_frequency(4) == NULL);
    CHECK_INT(av_caaml_size(0), 0);
    CHECK_INT(av_caaml_size(1), 1);
    CHECK_INT(av_caaml_size(5), 5);
    CHECK_INT(av_caaml_size(6), 0);
    CHECK_INT(av_caaml_size(AV_NULL_INT), 0);
    CHECK_STR(av_caaml_lang(1), "nb");
    CHECK_STR(av_caaml_lang(2), "en");
    CHECK(av_caaml_lang(3) == NULL);
}

/* n entries; e0/e1 as "lower-upper" with "-" for an open end */
static void elev(int fill, int h1, int h2, int n, int l0, int u0, int l1, int u1)
{
    struct av_problem p = {0};
    struct av_caaml_elev e[2];

    p.exposed_height_fill = fill;
    p.exposed_height_1 = h1;
    p.exposed_height_2 = h2;
    CHECK_INT(av_caaml_elevations(&p, e), n);
    CHECK_INT(e[0].lower, l0);
    CHECK_INT(e[0].upper, u0);
    if (n == 2) {
        CHECK_INT(e[1].lower, l1);
        CHECK_INT(e[1].upper, u1);
    }
}

static void elevations(void)
{
    const int O = AV_NULL_INT;

    elev(1, 1000, 1000, 1, 1000, O, 0, 0);  /* above H1 */
    elev(2, 800, 800, 1, O, 800, 0, 0);     /* below H1 */
    elev(4, 1000, 400, 1, 400, 1000, 0, 0); /* between H2 and H1 */
    elev(4, 400, 1000, 1, 400, 1000, 0, 0); /* either order */
    elev(3, 1200, 400, 2, 1200, O, O, 400); /* above H1 and below H2: two */
    elev(3, 800, 800, 1, O, O, 0, 0);       /* no gap: everywhere */
    elev(3, 400, 1200, 1, O, O, 0, 0);      /* H2 above H1: everywhere */
    elev(3, 1000, 0, 1, 1000, O, 0, 0);     /* nothing below 0 m */
    elev(3, 1010, 990, 1, O, O, 0, 0);      /* rounding closes the gap */
    elev(1, 1250, 0, 1, 1200, O, 0, 0);     /* lower bounds round down */
    elev(2, 1250, 0, 1, O, 1300, 0, 0);     /* upper bounds round up */
    elev(4, 1250, 350, 1, 300, 1300, 0, 0); /* a band never shrinks */
    elev(1, 0, 0, 1, O, O, 0, 0);           /* above 0 m: everywhere */
    elev(2, 0, 0, 1, O, O, 0, 0);
    elev(2, -100, 0, 1, O, O, 0, 0);
    elev(0, 1000, 1000, 1, O, O, 0, 0); /* not given */
    elev(AV_NULL_INT, 1000, 1000, 1, O, O, 0, 0);
    elev(4, AV_NULL_INT, 300, 1, O, O, 0, 0);
    elev(1, 2000000000, 0, 1, O, O, 0, 0); /* not a height */
}

static void times_and_text(void)
{
    char t[AV_CAAML_TIME_LEN];
    struct av_buf b;
    av_ms mid = av_oslo_local_to_utc(av_days_from_civil(2023, 3, 1) * 86400000LL);

    av_caaml_time(mid, t);
    CHECK_STR(t, "2023-03-01T00:00:00+01:00");
    av_caaml_time(mid + 15 * 3600000LL + 560, t);
    CHECK_STR(t, "2023-03-01T15:00:00.560+01:00");
    /* the spring switch: 01:00 UTC on 26 March 2023 is 03:00 CEST */
    av_caaml_time(av_days_from_civil(2023, 3, 26) * 86400000LL + 3600000LL - 1000, t);
    CHECK_STR(t, "2023-03-26T01:59:59+01:00");
    av_caaml_time(av_days_from_civil(2023, 3, 26) * 86400000LL + 3600000LL, t);
    CHECK_STR(t, "2023-03-26T03:00:00+02:00");
    av_caaml_time(av_days_from_civil(2023, 10, 29) * 86400000LL + 3600000LL, t);
    CHECK_STR(t, "2023-10-29T02:00:00+01:00"); /* the autumn one, the second 02:00 */
    av_caaml_time(av_days_from_civil(1969, 12, 31) * 86400000LL, t); /* before the epoch */
    CHECK_STR(t, "1969-12-31T01:00:00+01:00");

    av_buf_init(&b, 0);
    av_caaml_html(&b, "a <b> & c > d\r\ne\nf\rg \n\r\n ");
    CHECK_STR(b.data, "a &lt;b&gt; &amp; c &gt; d<br/>e<br/>f<br/>g");
    av_buf_reset(&b);
    av_caaml_html(&b, NULL);
    av_caaml_html(&b, "  \n");
    CHECK_INT(b.len, 0);
    av_buf_free(&b);
}

/* The 3 March 2023 warning of the recorded Detail fixture, transformed. */
static struct av_warning *fixture(struct av_xform *x, struct av_json *j, char **text, int k)
{
    size_t len;
    char err[AV_ERRBUF_SIZE];
    struct av_warning *w = malloc(sizeof(*w));
    int tok = 1;

    *text = t_read_file(t_fixture("varsom/detail_3022_2023-03-01_to_2023-03-05_lang2_v6.2.1.json"),
                        &len);
    CHECK(*text != NULL && w != NULL);
    if (*text == NULL || w == NULL)
        return NULL;
    CHECK(av_json_parse(j, *text, len, err) == AV_OK);
    for (int i = 0; i < k; i++)
        tok = av_json_skip(j, tok);
    CHECK(av_xform_warning(x, j, tok, 2, w, err) == AV_OK);
    return w;
}

static void bulletin(void)
{
    struct av_json j;
    struct av_xform x;
    struct av_buf b;
    char *text;
    struct av_warning *w;
    struct av_caaml_next next = {3, 0, 0, "Next <day>."};

    av_json_init(&j, 0, 0);
    av_xform_init(&x);
    w = fixture(&x, &j, &text, 2);
    if (w == NULL)
        return;
    av_buf_init(&b, 0);
    next.valid_from = av_oslo_local_to_utc(av_days_from_civil(2023, 3, 4) * 86400000LL);
    next.valid_date = av_days_from_civil(2023, 3, 4);
    av_caaml_bulletin(&b, w, &next);
    CHECK(strncmp(b.data,
                  "{\"bulletinID\":\"NO-3022_2023-03-03\",\"lang\":\"en\","
                  "\"publicationTime\":\"2023-03-02T15:31:48.560+01:00\","
                  "\"validTime\":{\"startTime\":\"2023-03-03T00:00:00+01:00\","
                  "\"endTime\":\"2023-03-04T00:00:00+01:00\"},"
                  "\"nextUpdate\":\"2023-03-04T16:00:00+01:00\",",
                  strlen("{\"bulletinID\":\"NO-3022_2023-03-03\",\"lang\":\"en\","
                         "\"publicationTime\":\"2023-03-02T15:31:48.560+01:00\","
                         "\"validTime\":{\"startTime\":\"2023-03-03T00:00:00+01:00\","
                         "\"endTime\":\"2023-03-04T00:00:00+01:00\"},"
                         "\"nextUpdate\":\"2023-03-04T16:00:00+01:00\",")) == 0);
    CHECK(strstr(b.data, "\"regions\":[{\"regionID\":\"NO-3022\",\"name\":\"Trollheimen\"}]"));
    CHECK(strstr(b.data, "\"dangerRatings\":[{\"mainValue\":\"considerable\"}]"));
    CHECK(strstr(b.data, "{\"problemType\":\"wind_slab\",\"elevation\":{\"lowerBound\":\"700\"},"
                         "\"aspects\":[\"NE\",\"E\",\"SE\",\"S\",\"SW\"],"
                         "\"snowpackStability\":\"very_poor\",\"frequency\":\"few\","
                         "\"avalancheSize\":3,\"dangerRatingValue\":\"considerable\","));
    CHECK(strstr(b.data, "{\"problemType\":\"wet_snow\",\"elevation\":{\"upperBound\":\"500\"}"));
    CHECK(strstr(b.data, "\"highlights\":\"Natural avalanches\""));
    CHECK(strstr(b.data, "\"travelAdvisory\":{\"comment\":\"<ul><li>Wet surface:"));
    CHECK(strstr(b.data, "\"weatherForecast\":{\"comment\":\"20 mm precipitation, up to 35 mm"));
    CHECK(strstr(b.data, "\"customData\":{\"NVE\":{\"RegId\":332626,"));
    CHECK(strstr(b.data,
                 "\"tendency\":[{\"comment\":\"Next &lt;day&gt;.\","
                 "\"tendencyType\":\"steady\",\"validTime\":{\"startTime\":"
                 "\"2023-03-04T00:00:00+01:00\",\"endTime\":\"2023-03-05T00:00:00+01:00\"}}]}"));
    CHECK(b.data[b.len - 1] == '}' && !b.failed);
    /* the document: a tendency only from the next day of the same region */
    {
        struct av_buf out;
        struct av_caaml_doc d;
        av_buf_init(&out, 0);
        av_caaml_doc_begin(&d, &out, w->valid_date);
        av_caaml_doc_add(&d, w);
        w->danger_level = 2;
        w->valid_date++;
        w->main_text = "Tomorrow.";
        av_caaml_doc_add(&d, w); /* after `last`: only the tendency */
        av_caaml_doc_end(&d);
        CHECK_INT(d.bulletins, 1);
        CHECK(strstr(out.data, "\"tendency\":[{\"comment\":\"Tomorrow.\","
                               "\"tendencyType\":\"decreasing\""));
        CHECK(strncmp(out.data, "{\"bulletins\":[\n{", 16) == 0);
        CHECK(strcmp(out.data + out.len - 4, "\n]}\n") == 0);
        av_buf_reset(&out);
        av_caaml_doc_begin(&d, &out, INT64_MAX);
        w->valid_date--;
        av_caaml_doc_add(&d, w);
        w->region_id++;
        w->valid_date++;
        av_caaml_doc_add(&d, w); /* another region: no tendency for the first */
        av_caaml_doc_end(&d);
        CHECK_INT(d.bulletins, 2);
        CHECK(strstr(out.data, "tendency") == NULL);
        av_buf_reset(&out);
        av_caaml_doc_begin(&d, &out, INT64_MAX);
        av_caaml_doc_end(&d);
        CHECK_STR(out.data, "{\"bulletins\":[]}\n");
        av_buf_free(&out);
    }
    /* not assessed: no_rating, and a ceiling that cuts is seen */
    w->danger_level = 0;
    av_buf_reset(&b);
    av_caaml_bulletin(&b, w, NULL);
    CHECK(strstr(b.data, "\"dangerRatings\":[{\"mainValue\":\"no_rating\"}]"));
    av_buf_free(&b);
    av_buf_init(&b, 100);
    av_caaml_bulletin(&b, w, NULL);
    CHECK(b.failed);
    av_buf_free(&b);
    free(w);
    free(text);
    av_xform_free(&x);
    av_json_free(&j);
}

static void geometry(void)
{
    /* SYNTHETIC squares: clockwise outer ring, counter-clockwise hole */
    static const double cw[] = {0, 0, 0, 1, 1, 1, 1, 0, 0, 0};
    static const double ccw[] = {0.2, 0.2, 0.8, 0.2, 0.8, 0.8, 0.2, 0.8, 0.2, 0.2};
    static const double far[] = {5, 5, 5, 6, 6, 6, 5, 5};
    const struct av_ring one[] = {{5, 0, cw}, {5, 1, ccw}};
    const struct av_ring two[] = {{5, 0, cw}, {4, 0, far}, {5, 1, ccw}};
    const struct av_region_polygon p1 = {1, 2, one}, p2 = {2, 3, two};
    struct av_buf b;

    CHECK(av_geojson_ring_area(cw, 5) < 0);
    CHECK(av_geojson_ring_area(ccw, 5) > 0);
    av_buf_init(&b, 0);
    av_geojson_geometry(&b, &p1);
    CHECK_STR(b.data, "{\"type\":\"Polygon\",\"coordinates\":["
                      "[[0.0000,0.0000],[1.0000,0.0000],[1.0000,1.0000],[0.0000,1.0000],"
                      "[0.0000,0.0000]],"
                      "[[0.2000,0.2000],[0.2000,0.8000],[0.8000,0.8000],[0.8000,0.2000],"
                      "[0.2000,0.2000]]]}");
    av_buf_reset(&b);
    av_geojson_geometry(&b, &p2);
    CHECK(strncmp(b.data, "{\"type\":\"MultiPolygon\",\"coordinates\":[[[[0.0000,0.0000],", 56) ==
          0);
    CHECK(strstr(b.data, "]]],[[[5.0000,5.0000],[6.0000,6.0000],[5.0000,6.0000],[5.0000,5.0000]],"
                         "[[0.2000,0.2000],[0.2000,0.8000]"));
    CHECK(strcmp(b.data + b.len - 4, "]]]}") == 0);
    /* every region of the catalog: closed rings, counter-clockwise outside */
    for (int id = 3001; id <= 3046; id++) {
        const struct av_region_polygon *p = av_region_polygon_find(id);
        CHECK(p != NULL);
        for (int i = 0; p && i < p->nrings; i++)
            CHECK(p->rings[i].xy[0] == p->rings[i].xy[2 * p->rings[i].n - 2] &&
                  p->rings[i].xy[1] == p->rings[i].xy[2 * p->rings[i].n - 1]);
    }
    av_buf_free(&b);
}

void suite_caaml(void)
{
    levels_types_stability();
    elevations();
    times_and_text();
    bulletin();
    geometry();
}
