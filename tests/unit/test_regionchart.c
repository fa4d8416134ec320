/* test_regionchart.c - the region page's window and danger charts
 * (src/http/region_chart.h, region_svg.h) and the data-quality page's runs
 * chart (src/http/quality_chart.h), on SYNTHETIC warnings and runs,
 * hostile ones included. */
#include <math.h>
#include <stdlib.h>

#include "../../src/core/tz.h"
#include "../../src/http/dash_region.h"
#include "../../src/http/quality_chart.h"
#include "../../src/http/region_chart.h"
#include "../../src/http/region_svg.h"
#include "harness.h"

static int count(const char *s, const char *what)
{
    int n = 0;

    for (const char *p = strstr(s, what); p; p = strstr(p + 1, what))
        n++;
    return n;
}

/* A synthetic warning of region 3022 on day with one problem per (type,
 * size) pair given. */
static struct av_warning *warn(int64_t day, int lang, int level, int np, const int *types,
                               const int *sizes)
{
    static struct av_warning w;
    static const char *const names[2] = {"Vindtransportert snø", "Wind drifted snow"};

    memset(&w, 0, sizeof(w));
    w.region_id = 3022;
    w.valid_date = day;
    w.lang = lang;
    w.danger_level = level;
    w.n_problems = np;
    for (int i = 0; i < np && i < AV_MAX_PROBLEMS; i++) {
        w.problems[i].type_id = types[i];
        w.problems[i].type_name = names[lang == 2];
        w.problems[i].destructive_size_id = sizes[i];
        w.problems[i].destructive_size_name = sizes[i] == 3 ? "3 - Large" : NULL;
    }
    return &w;
}

static void window(void)
{
    int64_t first;
    int n;

    av_rgc_window(2023, AV_DAY_LATEST, 0, &first, &n); /* with a 29 Feb */
    CHECK(first == av_days_from_civil(2023, 10, 1) && n == 274);
    av_rgc_window(2022, av_days_from_civil(2023, 3, 2), 0, &first, &n); /* season wins */
    CHECK(first == av_days_from_civil(2022, 10, 1) && n == 273);
    av_rgc_window(0, AV_DAY_LATEST, 20000, &first, &n);
    CHECK(first == 20000 - 60 && n == 63);
    av_rgc_window(0, 19000, 20000, &first, &n);
    CHECK(first == 19000 - 60 && n == 63);
}

static void language_and_rows(void)
{
    struct av_rgc *c = malloc(sizeof(*c));
    int t1[] = {10, 5}, s1[] = {3, 1}, t2[] = {30}, s2[] = {9}, tx[] = {10, 10}, sx[] = {1, 4};

    av_rgc_init(c, 100, 10, 0); /* not asked: language 1 wanted */
    CHECK_INT(c->want_lang, 1);
    CHECK_INT(av_rgc_put(c, warn(100, 2, 3, 2, t1, s1)), 1); /* only the other language yet */
    CHECK_INT(av_rgc_lang_of(c, 100), 2);
    CHECK_INT(av_rgc_put(c, warn(100, 2, 4, 1, t2, s2)), 0); /* the same language again */
    CHECK_INT(av_rgc_put(c, warn(100, 1, 2, 1, t2, s2)), 1); /* the wanted one replaces it */
    CHECK_INT(av_rgc_lang_of(c, 100), 1);
    CHECK_INT(c->level[0], 2);
    CHECK_INT(av_rgc_put(c, warn(100, 2, 5, 2, t1, s1)), 0); /* never over the wanted one */
    CHECK_INT(av_rgc_put(c, warn(99, 1, 2, 2, t1, s1)), 0);  /* outside */
    CHECK_INT(av_rgc_put(c, warn(110, 1, 2, 2, t1, s1)), 0);
    CHECK_INT(av_rgc_put(c, warn(101, 1, 9, 2, t1, s1)), 1); /* a level no scale has */
    CHECK_INT(c->level[1], -1);
    CHECK_INT(av_rgc_put(c, warn(102, 2, 1, 2, tx, sx)), 1); /* one type twice: larger size */
    av_rgc_layout(c);
    /* type 5 and 10 from day 101, 30 from day 100 (day 100's 10 and 5 went) */
    CHECK_INT(c->ntypes, 3);
    CHECK(c->type[0].id == 5 && c->type[1].id == 10 && c->type[2].id == 30);
    CHECK_INT(c->type[2].size[0], 0); /* size 9: unknown */
    CHECK(c->type[0].size[0] == -1 && c->type[1].size[0] == -1);
    CHECK_INT(c->type[1].size[1], 3);
    CHECK_INT(c->type[1].size[2], 4);
    CHECK_STR(c->type[1].name, "Vindtransportert snø"); /* the wanted language's name */
    CHECK_STR(c->size_name[3], "3 - Large");
    CHECK_INT(c->dropped, 0);
    free(c);
}

static void hostile(void)
{
    struct av_rgc *c = malloc(sizeof(*c));
    struct av_warning *w;
    int types[AV_MAX_PROBLEMS], sizes[AV_MAX_PROBLEMS];
    char longname[300];

    av_rgc_init(c, INT64_MAX, 1 << 20, 2); /* clamped, no overflow */
    CHECK_INT(c->ndays, AV_RGC_MAX_DAYS);
    CHECK(c->first + c->ndays > c->first);
    av_rgc_init(c, 0, 40, 2);
    for (int d = 0; d < 2; d++) { /* 32 distinct types over two days: 16 kept */
        for (int i = 0; i < AV_MAX_PROBLEMS; i++) {
            types[i] = d * 100 + i;
            sizes[i] = i - 3; /* -3 .. 12 */
        }
        w = warn(d, 2, 3, AV_MAX_PROBLEMS, types, sizes);
        w->n_problems = d ? 1000 : AV_MAX_PROBLEMS; /* more than the array holds */
        av_rgc_put(c, w);
    }
    CHECK_INT(c->ntypes, AV_RGC_MAX_TYPES);
    CHECK_INT(c->dropped, AV_MAX_PROBLEMS + (1000 - AV_MAX_PROBLEMS));
    w = warn(5, 2, -7, 1, types, sizes);
    w->n_problems = -4;
    CHECK_INT(av_rgc_put(c, w), 1);
    CHECK_INT(c->level[5], -1);
    /* a long name is cut at a character boundary */
    memset(longname, 0, sizeof(longname));
    for (int i = 0; i + 2 < (int)sizeof(longname) - 1; i += 2)
        memcpy(longname + i, "ø", 2);
    av_rgc_init(c, 0, 3, 2);
    w = warn(0, 2, 2, 1, types, sizes);
    w->problems[0].type_name = longname;
    av_rgc_put(c, w);
    CHECK(strlen(c->type[0].name) < AV_RGC_NAME_LEN && strlen(c->type[0].name) % 2 == 0);
    av_rgc_layout(c);
    /* coordinates stay in the plot whatever they are asked */
    CHECK(av_rgc_x(c, -5) == AV_WXC_PL && av_rgc_x(c, 1 << 30) == AV_WXC_PR);
    CHECK(av_rgc_level_y(99) == AV_RGC_DB && av_rgc_level_y(-1) == AV_RGC_DB);
    CHECK(av_rgc_level_y(5) == AV_RGC_DT && av_rgc_level_y(0) == AV_RGC_DB);
    CHECK(av_rgc_row_base(c, 99) == av_rgc_row_base(c, 0)); /* one row */
    CHECK(av_rgc_timeline_h(c) > av_rgc_row_base(c, 0));
    CHECK_STR(av_level_colour(3), "#ff9900");
    CHECK_STR(av_level_name(6), "no data");
    free(c);
}

static void drawing(void)
{
    struct av_rgc *c = malloc(sizeof(*c));
    struct av_buf b;
    int t[] = {10}, s3[] = {3}, s2[] = {2};

    av_rgc_init(c, 1000, 10, 2);
    av_buf_init(&b, 1 << 20);
    av_rgc_layout(c);
    av_rgc_danger_svg(&b, c, "3022 <x>", 0, AV_DAY_LATEST);
    av_rgc_timeline_svg(&b, c, "3022 <x>", 0, AV_DAY_LATEST);
    av_buf_putc(&b, '\0');
    CHECK(strstr(b.data, "id=\"danger-note\"") && strstr(b.data, "id=\"timeline-note\""));
    CHECK(strstr(b.data, "<svg") == NULL);
    av_buf_reset(&b);
    /* levels 2 2 3 _ 3; the problem active on 1000-1001 (size 3) and 1004 (2) */
    av_rgc_put(c, warn(1000, 2, 2, 1, t, s3));
    av_rgc_put(c, warn(1001, 2, 2, 1, t, s3));
    av_rgc_put(c, warn(1002, 2, 3, 0, t, s3));
    av_rgc_put(c, warn(1004, 2, 3, 1, t, s2));
    av_rgc_layout(c);
    av_rgc_danger_svg(&b, c, "3022 <x>", 1002, 1004);
    av_rgc_timeline_svg(&b, c, "3022 <x>", 1002, 1004);
    av_buf_putc(&b, '\0');
    CHECK_INT(count(b.data, "<rect class=\"lv\""), 3); /* runs: 2 2 | 3 | 3 */
    CHECK_INT(count(b.data, "<path class=\"step\""), 2); /* broken at the day without one */
    CHECK_INT(count(b.data, "<rect class=\"pm\""), 2);
    CHECK(strstr(b.data, "data-from=\"1972-09-27\" data-to=\"1972-09-28\" data-size=\"3\"") != NULL);
    CHECK(strstr(b.data, "destructive size 3 - Large") != NULL);
    CHECK(strstr(b.data, "height=\"36.0\" fill=\"#ffff00\"") != NULL); /* level 2: 2 x 18 */
    CHECK_INT(count(b.data, "class=\"today\""), 2);
    CHECK_INT(count(b.data, "class=\"chosen\""), 2);
    CHECK(strstr(b.data, "<x>") == NULL && strstr(b.data, "3022 &lt;x&gt;") != NULL);
    CHECK(strstr(b.data, "nan") == NULL && strstr(b.data, "inf") == NULL);
    av_buf_free(&b);
    free(c);
}

static void runs_chart(void)
{
    struct av_qc c;
    struct av_buf b;

    memset(&c, 0, sizeof(c));
    av_buf_init(&b, 1 << 20);
    av_qc_layout(&c);
    av_qc_svg(&b, &c);
    av_buf_putc(&b, '\0');
    CHECK(strstr(b.data, "runs-chart-note") != NULL);
    av_buf_reset(&b);
    /* newest first, as the store gives them */
    CHECK_INT(av_qc_add_newest_first(&c, 3, "run", "failed", "2023-03-03T12:00:00Z", 7.5, 12, 30),
              1);
    av_qc_add_newest_first(&c, 2, "backfill", "ok", NULL, -3, -5, 2); /* hostile counts */
    av_qc_add_newest_first(&c, 1, "run", "<b>", "x", NAN, 3, 1);
    for (int i = 3; i < AV_QC_MAX + 5; i++)
        av_qc_add_newest_first(&c, -i, "run", "ok", "", 1, 1, 0);
    CHECK_INT(c.n, AV_QC_MAX);
    av_qc_layout(&c);
    CHECK(c.run[AV_QC_MAX - 1].id == 3 && c.run[AV_QC_MAX - 3].id == 1); /* oldest first */
    CHECK_INT(c.run[AV_QC_MAX - 1].retries, 12); /* never more than the requests */
    CHECK(c.run[AV_QC_MAX - 2].seconds < 0 && c.run[AV_QC_MAX - 2].requests == 0);
    CHECK(c.run[AV_QC_MAX - 2].retries == 0 && c.run[AV_QC_MAX - 3].seconds < 0);
    CHECK(c.s_top == 10 && c.req_top == 20);
    CHECK(av_qc_sy(&c, 1e300) == AV_QC_PT && av_qc_sy(&c, -1) == AV_QC_PB);
    CHECK(av_qc_ry(&c, NAN) == AV_QC_PB && av_qc_x(&c, 999) == AV_QC_PR);
    av_qc_svg(&b, &c);
    av_buf_putc(&b, '\0');
    CHECK_INT(count(b.data, "<g class=\"run\""), AV_QC_MAX);
    CHECK_INT(count(b.data, "<rect class=\"dur\""), AV_QC_MAX - 2);
    CHECK_INT(count(b.data, "<rect class=\"rty\""), 2);
    CHECK(strstr(b.data, "data-run=\"3\" data-seconds=\"7.5\" data-requests=\"12\" "
                         "data-retries=\"12\"") != NULL);
    CHECK(strstr(b.data, "<b>") == NULL && strstr(b.data, "&lt;b&gt;") != NULL);
    CHECK(strstr(b.data, "nan") == NULL && strstr(b.data, "inf") == NULL);
    av_buf_free(&b);
}

void suite_regionchart(void)
{
    window();
    language_and_rows();
    hostile();
    drawing();
    runs_chart();
}
