/* test_quality.c - the data-quality page's pure helpers
 * (src/http/dash_quality.h): the warning season's window, the days
 * expected per season, the UTF-8 trim of a cut sample. SYNTHETIC values. */
#include "../../src/core/tz.h"
#include "../../src/http/dash_quality.h"
#include "harness.h"

static void window(void)
{
    CHECK_INT(av_quality_in_season(av_days_from_civil(2022, 11, 30)), 0);
    CHECK_INT(av_quality_in_season(av_days_from_civil(2022, 12, 1)), 1);
    CHECK_INT(av_quality_in_season(av_days_from_civil(2023, 3, 1)), 1);
    CHECK_INT(av_quality_in_season(av_days_from_civil(2023, 5, 31)), 1);
    CHECK_INT(av_quality_in_season(av_days_from_civil(2023, 6, 1)), 0);
    CHECK_INT(av_quality_in_season(av_days_from_civil(2023, 7, 15)), 0);
}

static void expected(void)
{
    /* over: 1 Dec 2022 .. 31 May 2023 = 31 + 31 + 28 + 31 + 30 + 31 */
    CHECK_INT(av_quality_expected(2022, av_days_from_civil(2024, 1, 1)), 182);
    CHECK_INT(av_quality_expected(2023, av_days_from_civil(2024, 7, 1)), 183); /* leap */
    CHECK_INT(av_quality_expected(2022, av_days_from_civil(2022, 11, 30)), 0);
    CHECK_INT(av_quality_expected(2022, av_days_from_civil(2022, 12, 1)), 1);
    CHECK_INT(av_quality_expected(2022, av_days_from_civil(2023, 3, 5)), 95);
    CHECK_INT(av_quality_expected(2022, av_days_from_civil(2023, 5, 31)), 182);
}

static void trim(void)
{
    CHECK_INT((int)av_quality_utf8_trim("abc", 3), 3);
    CHECK_INT((int)av_quality_utf8_trim("", 0), 0);
    CHECK_INT((int)av_quality_utf8_trim("a\xc3\xb8", 3), 3); /* complete ø */
    CHECK_INT((int)av_quality_utf8_trim("a\xc3", 2), 1);     /* cut ø */
    CHECK_INT((int)av_quality_utf8_trim("a\xe2\x82", 3), 1); /* cut € */
    CHECK_INT((int)av_quality_utf8_trim("a\xe2\x82\xac", 4), 4);
    CHECK_INT((int)av_quality_utf8_trim("a\xf0\x9f\x8f", 4), 1);
    CHECK_INT((int)av_quality_utf8_trim("\x80\x80\x80\x80", 4), 4); /* stray: kept */
}

void suite_quality(void)
{
    window();
    expected();
    trim();
}
