/* test_tz.c - dates and Europe/Oslo conversions, both DST switch days. */
#include "../../src/core/tz.h"
#include "harness.h"

static const char *utc_of_local(const char *local)
{
    static char out[AV_STAMP_LEN];
    av_ms l;

    if (av_local_stamp_parse(local, strlen(local), &l) != AV_OK)
        return "PARSE ERROR";
    av_stamp_format(av_oslo_local_to_utc(l), out);
    return out;
}

static const char *local_of_utc(const char *utc)
{
    static char out[AV_STAMP_LEN];
    av_ms t;

    if (av_stamp_parse(utc, &t) != AV_OK)
        return "PARSE ERROR";
    av_stamp_format(av_oslo_utc_to_local(t), out);
    out[23] = '\0'; /* naive local: drop the Z */
    return out;
}

void suite_tz(void)
{
    int64_t d;
    char buf[AV_DATE_LEN];
    av_ms t;

    /* civil dates */
    CHECK_INT(av_days_from_civil(1970, 1, 1), 0);
    CHECK_INT(av_days_from_civil(2000, 3, 1), 11017);
    CHECK(av_date_parse("2024-02-29", &d) == AV_OK);
    av_date_format(d, buf);
    CHECK_STR(buf, "2024-02-29");
    CHECK(av_date_parse("2023-02-29", &d) == AV_EPARSE);
    CHECK(av_date_parse("2023-13-01", &d) == AV_EPARSE);
    CHECK(av_date_parse("2023-1-01", &d) == AV_EPARSE);
    CHECK(av_date_parse("2023-01-01x", &d) == AV_EPARSE);
    CHECK(av_date_parse("", &d) == AV_EPARSE);
    CHECK_INT(av_weekday(av_days_from_civil(2023, 3, 26)), 0); /* a Sunday */

    /* winter and summer */
    CHECK_STR(utc_of_local("2023-01-15T12:00:00"), "2023-01-15T11:00:00.000Z");
    CHECK_STR(utc_of_local("2023-07-15T12:00:00"), "2023-07-15T10:00:00.000Z");

    /* spring forward: Sunday 2023-03-26, 02:00 local jumps to 03:00 */
    CHECK_STR(utc_of_local("2023-03-26T00:00:00"), "2023-03-25T23:00:00.000Z");
    CHECK_STR(utc_of_local("2023-03-26T01:59:59"), "2023-03-26T00:59:59.000Z");
    CHECK_STR(utc_of_local("2023-03-26T02:30:00"), "2023-03-26T01:30:00.000Z"); /* gap */
    CHECK_STR(utc_of_local("2023-03-26T03:00:00"), "2023-03-26T01:00:00.000Z");
    CHECK_STR(utc_of_local("2023-03-26T23:59:59"), "2023-03-26T21:59:59.000Z");
    CHECK_STR(utc_of_local("2023-03-27T00:00:00"), "2023-03-26T22:00:00.000Z");

    /* fall back: Sunday 2023-10-29, 03:00 local goes back to 02:00 */
    CHECK_STR(utc_of_local("2023-10-29T00:00:00"), "2023-10-28T22:00:00.000Z");
    CHECK_STR(utc_of_local("2023-10-29T02:30:00"), "2023-10-29T00:30:00.000Z"); /* first */
    CHECK_STR(utc_of_local("2023-10-29T03:00:00"), "2023-10-29T02:00:00.000Z");
    CHECK_STR(utc_of_local("2023-10-30T00:00:00"), "2023-10-29T23:00:00.000Z");
    /* another year: 2024 switches on 31 March and 27 October */
    CHECK_STR(utc_of_local("2024-03-31T12:00:00"), "2024-03-31T10:00:00.000Z");
    CHECK_STR(utc_of_local("2024-03-30T12:00:00"), "2024-03-30T11:00:00.000Z");
    CHECK_STR(utc_of_local("2024-10-27T12:00:00"), "2024-10-27T11:00:00.000Z");
    CHECK_STR(utc_of_local("2024-10-26T12:00:00"), "2024-10-26T10:00:00.000Z");

    /* UTC -> local around the switch instants */
    CHECK_STR(local_of_utc("2023-03-26T00:59:59.000Z"), "2023-03-26T01:59:59.000");
    CHECK_STR(local_of_utc("2023-03-26T01:00:00.000Z"), "2023-03-26T03:00:00.000");
    CHECK_STR(local_of_utc("2023-10-29T00:59:59.000Z"), "2023-10-29T02:59:59.000");
    CHECK_STR(local_of_utc("2023-10-29T01:00:00.000Z"), "2023-10-29T02:00:00.000");

    /* the API's fractional seconds: 0 to 3 digits (more are cut to ms) */
    CHECK_STR(utc_of_local("2023-03-02T09:11:14.2"), "2023-03-02T08:11:14.200Z");
    CHECK_STR(utc_of_local("2023-03-02T15:31:48.56"), "2023-03-02T14:31:48.560Z");
    CHECK_STR(utc_of_local("2023-02-28T15:32:29.677"), "2023-02-28T14:32:29.677Z");
    CHECK_STR(utc_of_local("2023-02-28T15:32:29.6779999"), "2023-02-28T14:32:29.677Z");
    CHECK(av_local_stamp_parse("2023-02-28T15:32:29.", 20, &t) == AV_EPARSE);
    CHECK(av_local_stamp_parse("2023-02-28T25:00:00", 19, &t) == AV_EPARSE);
    CHECK(av_local_stamp_parse("2023-02-28 15:00:00", 19, &t) == AV_EPARSE);
    CHECK(av_local_stamp_parse("2023-02-28T15:00:00Z", 20, &t) == AV_EPARSE);
    CHECK(av_stamp_parse("2023-02-28T15:00:00Z", &t) == AV_OK);
}
