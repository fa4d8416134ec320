/* test_schedule.c - schedule times across both DST switch days, catch-up
 * after downtime, backoff. The clock is a parameter (no sleeping). */
#include "../../src/sched/schedule.h"
#include "harness.h"

static av_ms T(const char *utc)
{
    av_ms t = 0;

    av_stamp_parse(utc, &t);
    return t;
}

static const char *S(av_ms t)
{
    static char b[4][AV_STAMP_LEN];
    static int k;

    k = (k + 1) % 4;
    av_stamp_format(t, b[k]);
    return b[k];
}

void suite_schedule(void)
{
    struct av_sched s;
    char err[AV_ERRBUF_SIZE];

    CHECK(av_sched_parse(&s, "16:30, 07:30,16:30", err) == AV_OK);
    CHECK_INT(s.n, 2);
    CHECK_INT(s.minutes[0], 7 * 60 + 30);
    CHECK(av_sched_parse(&s, "25:00", err) == AV_EINVAL);
    CHECK(av_sched_parse(&s, "7:30", err) == AV_EINVAL);
    CHECK(av_sched_parse(&s, "07:61", err) == AV_EINVAL);
    CHECK(av_sched_parse(&s, "", err) == AV_EINVAL);
    CHECK(strstr(err, "HH:MM") != NULL);

    CHECK(av_sched_parse(&s, "07:30,16:30", err) == AV_OK);
    /* winter: CET, 16:30 local = 15:30Z */
    CHECK_STR(S(av_sched_next(&s, T("2023-01-10T12:00:00Z"))), "2023-01-10T15:30:00.000Z");
    CHECK_STR(S(av_sched_next(&s, T("2023-01-10T15:30:00Z"))), "2023-01-11T06:30:00.000Z");
    /* summer: CEST */
    CHECK_STR(S(av_sched_next(&s, T("2023-07-10T12:00:00Z"))), "2023-07-10T14:30:00.000Z");
    /* across the spring switch (Sun 2023-03-26): Saturday evening CET, then
     * Sunday morning already CEST */
    CHECK_STR(S(av_sched_next(&s, T("2023-03-25T16:00:00Z"))), "2023-03-26T05:30:00.000Z");
    CHECK_STR(S(av_sched_next(&s, T("2023-03-25T14:00:00Z"))), "2023-03-25T15:30:00.000Z");
    /* across the fall switch (Sun 2023-10-29) */
    CHECK_STR(S(av_sched_next(&s, T("2023-10-28T15:00:00Z"))), "2023-10-29T06:30:00.000Z");
    CHECK_STR(S(av_sched_next(&s, T("2023-10-29T07:00:00Z"))), "2023-10-29T15:30:00.000Z");

    /* times inside the switch hours */
    CHECK(av_sched_parse(&s, "02:30", err) == AV_OK);
    /* spring: 02:30 does not exist; it runs at 03:30 CEST = 01:30Z, once */
    CHECK_STR(S(av_sched_next(&s, T("2023-03-25T12:00:00Z"))), "2023-03-26T01:30:00.000Z");
    CHECK_STR(S(av_sched_next(&s, T("2023-03-26T01:30:00Z"))), "2023-03-27T00:30:00.000Z");
    /* fall: 02:30 happens twice; it runs at the first one only */
    CHECK_STR(S(av_sched_next(&s, T("2023-10-28T12:00:00Z"))), "2023-10-29T00:30:00.000Z");
    CHECK_STR(S(av_sched_next(&s, T("2023-10-29T00:30:00Z"))), "2023-10-30T01:30:00.000Z");

    /* last and catch-up */
    CHECK(av_sched_parse(&s, "07:30,16:30", err) == AV_OK);
    CHECK_STR(S(av_sched_last(&s, T("2023-01-10T12:00:00Z"))), "2023-01-10T06:30:00.000Z");
    CHECK_STR(S(av_sched_last(&s, T("2023-01-10T06:30:00Z"))), "2023-01-10T06:30:00.000Z");
    CHECK_STR(S(av_sched_last(&s, T("2023-01-10T05:00:00Z"))), "2023-01-09T15:30:00.000Z");
    CHECK(av_sched_due(&s, -1, T("2023-01-10T12:00:00Z")));                      /* never ran */
    CHECK(av_sched_due(&s, T("2023-01-09T15:31:00Z"), T("2023-01-10T12:00:00Z"))); /* missed 07:30 */
    CHECK(!av_sched_due(&s, T("2023-01-10T06:31:00Z"), T("2023-01-10T12:00:00Z")));
    CHECK(av_sched_due(&s, T("2023-01-01T06:31:00Z"), T("2023-01-10T12:00:00Z"))); /* days down */

    CHECK_INT(av_sched_backoff(1, 1000, 60000), 1000);
    CHECK_INT(av_sched_backoff(3, 1000, 60000), 4000);
    CHECK_INT(av_sched_backoff(20, 1000, 60000), 60000);
}
