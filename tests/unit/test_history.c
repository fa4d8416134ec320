/* test_history.c - the publication history's pure parts: the order of
 * publications (the clean tables' rule), version numbers and
 * superseded_at, the as-of pick, and a warning's record as JSON and back. */
#include <stdlib.h>

#include "../../src/core/json.h"
#include "../../src/core/pool.h"
#include "../../src/sinks/export.h"
#include "../../src/sinks/record_json.h"
#include "../../src/transforms/warning.h"
#include "harness.h"

#define T(h) ((av_ms)(h) * 3600000) /* hour h as an instant */

static void order_rule(void)
{
    struct av_pub d10 = {T(10), "detail", "a"}, s10 = {T(10), "simple", "b"};
    struct av_pub d16 = {T(16), "detail", "c"}, none = {AV_NULL_MS, "detail", "d"};
    struct av_pub d10b = {T(10), "detail", "e"}, same = {T(10), "detail", "a"};

    CHECK(av_pub_cmp(T(1), T(2)) < 0 && av_pub_cmp(T(2), T(1)) > 0);
    CHECK(av_pub_cmp(T(1), T(1)) == 0);
    CHECK(av_pub_cmp(AV_NULL_MS, T(-100000)) < 0); /* absent before every instant */
    CHECK(av_pub_cmp(AV_NULL_MS, AV_NULL_MS) == 0);
    CHECK(av_pub_replaces(&d16, &d10));   /* the later publication wins */
    CHECK(!av_pub_replaces(&d10, &d16));  /* an older one never */
    CHECK(!av_pub_replaces(&s10, &d10));  /* a Simple never replaces the Detail */
    CHECK(av_pub_replaces(&d10, &s10));   /* ... the Detail replaces the Simple */
    CHECK(av_pub_replaces(&d10b, &d10));  /* a correction without a new time: the newer copy */
    CHECK(!av_pub_replaces(&same, &d10)); /* identical content: nothing */
    CHECK(av_pub_replaces(&d10, &none));  /* a dated one replaces one without */
    CHECK(!av_pub_replaces(&none, &d10));
}

static void versions(void)
{
    /* stored in any order; one without a PublishTime, seen at hour 12 */
    struct av_version_meta v[4] = {
        {T(16), T(17), 0, 0}, {AV_NULL_MS, T(12), 0, 0}, {T(10), T(11), 0, 0},
        {T(20), T(21), 0, 0}};

    av_versions_order(v, 4);
    CHECK(v[0].publish_time == AV_NULL_MS && v[1].publish_time == T(10));
    CHECK(v[2].publish_time == T(16) && v[3].publish_time == T(20));
    for (int i = 0; i < 4; i++)
        CHECK_INT(v[i].version, i + 1);
    CHECK(v[0].superseded_at == T(10) && v[1].superseded_at == T(16));
    CHECK(v[2].superseded_at == T(20) && v[3].superseded_at == AV_NULL_MS);
    CHECK(v[1].first_seen == T(11)); /* the rest of each record travels along */
    /* as of t: the latest published not after t; the undated one from its
     * first_seen */
    CHECK_INT(av_versions_as_of(v, 4, T(9)), -1);
    CHECK_INT(av_versions_as_of(v, 4, T(10)), 1); /* at T counts: not after */
    CHECK_INT(av_versions_as_of(v, 4, T(15)), 1);
    CHECK_INT(av_versions_as_of(v, 4, T(16) - 1), 1);
    CHECK_INT(av_versions_as_of(v, 4, T(16)), 2);
    CHECK_INT(av_versions_as_of(v, 4, T(1000)), 3);
    CHECK_INT(av_versions_as_of(v, 1, T(11)), -1); /* undated, not yet seen */
    CHECK_INT(av_versions_as_of(v, 1, T(12)), 0);
    av_versions_order(v, 0); /* nothing to do */
    av_versions_order(v, 1);
    CHECK(v[0].version == 1 && v[0].superseded_at == AV_NULL_MS);
}

static char *jsonl(const struct av_warning *w, const struct av_dataset *ds)
{
    struct av_export e;
    char *buf = NULL, err[AV_ERRBUF_SIZE];
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    av_export_init(&e, f, ds, AV_FMT_JSONL);
    CHECK(av_export_warning(&e, w) == 0);
    CHECK(av_export_finish(&e, err) == AV_OK);
    fclose(f);
    return buf;
}

/* Each recorded Detail warning -> record JSON -> back: every dataset's
 * export (and the bookkeeping) the same. */
static void record_round_trip(void)
{
    static const struct av_dataset *const dss[] = {&av_ds_warning, &av_ds_problem,
                                                   &av_ds_advice, &av_ds_weather};
    size_t len;
    char *text = t_read_file(t_fixture("varsom/detail_3022_2023-03-01_to_2023-03-05_lang2_v6.2.1.json"),
                             &len);
    struct av_json doc, rj;
    struct av_xform x;
    struct av_warning *w = malloc(sizeof(*w)), *back = malloc(sizeof(*back));
    struct av_pool pool = {NULL, 0};
    struct av_buf b;
    char err[AV_ERRBUF_SIZE];
    int n = 0;

    CHECK(text != NULL);
    if (text == NULL)
        return;
    av_json_init(&doc, 0, 0);
    av_json_init(&rj, 0, 0);
    av_xform_init(&x);
    av_buf_init(&b, 0);
    CHECK(av_json_parse(&doc, text, len, err) == AV_OK);
    for (int i = 0, e = av_json_first(0); i < av_json_size(&doc, 0);
         i++, e = av_json_skip(&doc, e)) {
        CHECK(av_xform_warning(&x, &doc, e, 2, w, err) == AV_OK);
        w->endpoint = "detail";
        w->raw_id = 7;
        w->ingested_at = T(400000);
        av_buf_reset(&b);
        av_record_json(&b, w);
        CHECK(!b.failed);
        av_pool_reset(&pool);
        CHECK(av_record_parse(&rj, b.data, b.len, back, &pool, err) == AV_OK);
        for (int d = 0; d < 4; d++) {
            char *a = jsonl(w, dss[d]), *c = jsonl(back, dss[d]);
            CHECK_STR(c, a);
            free(a);
            free(c);
        }
        CHECK_STR(back->endpoint, "detail");
        CHECK_STR(back->raw_hash, w->raw_hash);
        CHECK(back->raw_id == 7 && back->ingested_at == T(400000));
        CHECK_INT(back->n_problems, w->n_problems);
        n++;
    }
    CHECK_INT(n, 5);
    /* not a record */
    CHECK(av_record_parse(&rj, "[1]", 3, back, &pool, err) == AV_EPARSE);
    CHECK(av_record_parse(&rj, "{\"lang\":2}", 10, back, &pool, err) == AV_EPARSE);
    CHECK(av_record_parse(&rj, "{\"region_id\":3022,\"valid_date\":\"2023-03-01\",\"lang\":2,"
                               "\"problems\":{}}", 63, back, &pool, err) == AV_EPARSE);
    av_buf_free(&b);
    av_pool_free(&pool);
    av_json_free(&doc);
    av_json_free(&rj);
    av_xform_free(&x);
    free(w);
    free(back);
    free(text);
}

void suite_history(void);
void suite_history(void)
{
    order_rule();
    versions();
    record_round_trip();
}
