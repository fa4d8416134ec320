/* test_season.c - the season page's pure parts: the strict parsers of
 * "YYYY-YY" and "/season/YYYY-YY" (src/http/params.h) and the season's
 * grid (src/http/dash_season.h). Every value here is SYNTHETIC. */
#include "../../src/core/tz.h"
#include "../../src/http/dash_season.h"
#include "../../src/http/params.h"
#include "harness.h"

static void parse_value(void)
{
    static const char *const bad[] = {
        "2022-24", "2022-22", "22-23",   "2022-23x", "2022-2",   "2022-023", "02022-23",
        "2022/23", "+022-23", "2022 23", " 2022-23", "2022-23 ", "1899-00",  "2199-00",
        "2200-01", "0000-01", "abcd-ef", "2022-",    "-23",      "2022_23",  "2022--3"};
    int y = -7;

    CHECK_INT(av_param_season(NULL, &y), 0);
    CHECK_INT(av_param_season("", &y), 0);
    CHECK_INT(y, -7);
    CHECK_INT(av_param_season("2022-23", &y), 1);
    CHECK_INT(y, 2022);
    CHECK_INT(av_param_season("1999-00", &y), 1);
    CHECK_INT(y, 1999);
    CHECK_INT(av_param_season("1900-01", &y), 1);
    CHECK_INT(y, 1900);
    CHECK_INT(av_param_season("2198-99", &y), 1);
    CHECK_INT(y, 2198);
    y = -7;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (av_param_season(bad[i], &y) != -1)
            fprintf(stderr, "season \"%s\" accepted\n", bad[i]);
        CHECK_INT(av_param_season(bad[i], &y), -1);
    }
    CHECK_INT(y, -7); /* untouched on failure */
}

static void parse_path(void)
{
    int y = -7;

    CHECK_INT(av_param_season_path("/season/2022-23", &y), 1);
    CHECK_INT(y, 2022);
    /* not of the shape: 0 (a 404) */
    y = -7;
    CHECK_INT(av_param_season_path("/season/", &y), 0);
    CHECK_INT(av_param_season_path("/season/22-23", &y), 0);
    CHECK_INT(av_param_season_path("/season/2022-23x", &y), 0);
    CHECK_INT(av_param_season_path("/season/2022-23/", &y), 0);
    CHECK_INT(av_param_season_path("/season/2022", &y), 0);
    CHECK_INT(av_param_season_path("/seasons/2022-23", &y), 0);
    CHECK_INT(av_param_season_path("/region/2022-23", &y), 0);
    CHECK_INT(av_param_season_path("/season/+022-23", &y), 0);
    /* of the shape but no season: -1 (a 400 naming "season") */
    CHECK_INT(av_param_season_path("/season/2022-24", &y), -1);
    CHECK_INT(av_param_season_path("/season/1899-00", &y), -1);
    CHECK_INT(av_param_season_path("/season/2199-00", &y), -1);
    CHECK_INT(y, -7);
}

static void days_and_names(void)
{
    static struct av_season g;
    char n[AV_SEASON_NAME_LEN];
    int64_t d;

    av_season_init(&g, 2022, 0);
    av_date_parse("2022-10-01", &d);
    CHECK_INT(g.first, d);
    CHECK_INT(g.ndays, 273);
    CHECK_INT(g.want_lang, 1);
    av_season_init(&g, 2023, 2); /* 29 Feb 2024 */
    CHECK_INT(g.ndays, 274);
    CHECK_INT(g.want_lang, 2);
    av_season_init(&g, 1999, 7);
    CHECK_INT(g.ndays, 274); /* 2000 is a leap year */
    CHECK_INT(g.want_lang, 1);
    av_season_init(&g, 2099, 1);
    CHECK_INT(g.ndays, 273); /* 2100 is not */
    av_season_name(2022, n);
    CHECK_STR(n, "2022-23");
    av_season_name(1999, n);
    CHECK_STR(n, "1999-00");
    av_season_name(1900, n);
    CHECK_STR(n, "1900-01");
    av_date_parse("2022-10-01", &d);
    CHECK_INT(av_season_of(d), 2022);
    CHECK_INT(av_season_of(d - 1), 2021); /* 30 Sep: the season that ended */
    av_date_parse("2023-06-30", &d);
    CHECK_INT(av_season_of(d), 2022);
    av_date_parse("2023-07-01", &d);
    CHECK_INT(av_season_of(d), 2022);
    av_date_parse("2026-12-01", &d);
    CHECK_INT(av_season_of(d), 2026);
}

static void grid(void)
{
    static struct av_season g;
    int64_t first, last;
    int lang, c[7];

    av_season_init(&g, 2022, 1);
    first = g.first;
    last = g.first + g.ndays - 1;
    /* the first and last days are in, their neighbours out */
    CHECK_INT(av_season_put(&g, 0, first, 1, 2), 1);
    CHECK_INT(av_season_put(&g, 0, last, 1, 3), 1);
    CHECK_INT(av_season_put(&g, 0, first - 1, 1, 2), 0);
    CHECK_INT(av_season_put(&g, 0, last + 1, 1, 2), 0);
    CHECK_INT(av_season_at(&g, 0, first, &lang), 2);
    CHECK_INT(lang, 1);
    CHECK_INT(av_season_at(&g, 0, last, NULL), 3);
    CHECK_INT(av_season_at(&g, 0, last + 1, &lang), -1);
    CHECK_INT(lang, 0);
    /* no region, a level no warning has: ignored, never out of bounds */
    CHECK_INT(av_season_put(&g, -1, first, 1, 2), 0);
    CHECK_INT(av_season_put(&g, AV_MAX_REGIONS, first, 1, 2), 0);
    CHECK_INT(av_season_put(&g, 1, first, 1, 6), 0);
    CHECK_INT(av_season_put(&g, 1, first, 1, -1), 0);
    CHECK_INT(av_season_at(&g, AV_MAX_REGIONS, first, &lang), -1);
    /* language: the wanted one wins whatever the order, the other fills in */
    CHECK_INT(av_season_put(&g, 1, first + 5, 2, 4), 1);
    CHECK_INT(av_season_put(&g, 1, first + 5, 1, 1), 1);
    CHECK_INT(av_season_put(&g, 1, first + 5, 2, 5), 0);
    CHECK_INT(av_season_at(&g, 1, first + 5, &lang), 1);
    CHECK_INT(lang, 1);
    CHECK_INT(av_season_put(&g, 2, first + 5, 2, 4), 1);
    CHECK_INT(av_season_at(&g, 2, first + 5, &lang), 4);
    CHECK_INT(lang, 2);
    /* counts of the day */
    CHECK_INT(av_season_counts(&g, 46, first + 5, c), 2);
    CHECK_INT(c[1], 1);
    CHECK_INT(c[4], 1);
    CHECK_INT(c[6], 44);
    CHECK_INT(av_season_counts(&g, 1000, first + 5, c), 2); /* clamped */
    CHECK_INT(c[6], AV_MAX_REGIONS - 2);
    CHECK_INT(av_season_counts(&g, 46, last + 1, c), 0);
    CHECK_INT(c[6], 46);
}

void suite_season(void)
{
    parse_value();
    parse_path();
    days_and_names();
    grid();
}
