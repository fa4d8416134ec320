/* test_varsom.c - URLs and the fetch plan (overlap, horizon, chunks). */
#include <stdlib.h>

#include "../../src/core/tz.h"
#include "../../src/sources/varsom.h"
#include "harness.h"

static int64_t D(const char *s)
{
    int64_t d = 0;

    av_date_parse(s, &d);
    return d;
}

static const char *date(int64_t d)
{
    static char b[4][AV_DATE_LEN];
    static int k;

    k = (k + 1) % 4;
    av_date_format(d, b[k]);
    return b[k];
}

void suite_varsom(void)
{
    struct av_plan_opts o = {"https://api01.nve.no/hydrology/forecast/avalanche/v6.3.0/api/",
                             "detail", 30, 3, 2, 7};
    struct av_unit *u = NULL;
    size_t n = 0;
    char url[AV_URL_MAX], v[16];
    int64_t today = D("2026-11-24");

    CHECK(av_varsom_url(url, sizeof(url), "http://h/api", "detail", 3022, 2, D("2023-03-01"),
                        D("2023-03-05")) == AV_OK);
    CHECK_STR(url, "http://h/api/AvalancheWarningByRegion/Detail/3022/2/2023-03-01/2023-03-05");
    CHECK(av_varsom_url(url, sizeof(url), "http://h/api/", "simple", 3011, 1, D("2026-03-01"),
                        D("2026-03-01")) == AV_OK);
    CHECK_STR(url, "http://h/api/AvalancheWarningByRegion/Simple/3011/1/2026-03-01/2026-03-01");
    CHECK(av_varsom_url(url, 40, "http://h/api", "detail", 3011, 1, 0, 0) == AV_ELIMIT);
    av_varsom_api_version(o.base, v);
    CHECK_STR(v, "6.3.0");
    av_varsom_api_version("http://127.0.0.1:8080/api", v);
    CHECK_STR(v, "");

    /* nothing stored: default window, today - 7 .. today + 2, one chunk */
    CHECK(av_plan_region(&o, 3011, 1, -1, today, INT64_MIN, INT64_MIN, &u, &n, NULL) == AV_OK);
    CHECK_INT(n, 1);
    CHECK_STR(date(u[0].from), "2026-11-17");
    CHECK_STR(date(u[0].to), "2026-11-26");
    CHECK_STR(u[0].url, "https://api01.nve.no/hydrology/forecast/avalanche/v6.3.0/api/"
                        "AvalancheWarningByRegion/Detail/3011/1/2026-11-17/2026-11-26");

    /* stored through 2026-11-25: overlap of 3 days */
    n = 0;
    CHECK(av_plan_region(&o, 3011, 2, D("2026-11-25"), today, INT64_MIN, INT64_MIN, &u, &n,
                         NULL) == AV_OK);
    CHECK_INT(n, 1);
    CHECK_STR(date(u[0].from), "2026-11-22");
    CHECK_STR(date(u[0].to), "2026-11-26");
    CHECK_INT(u[0].lang, 2);

    /* stale state: 65 days of catch-up -> chunks of 30, 30, rest */
    n = 0;
    CHECK(av_plan_region(&o, 3022, 1, D("2026-09-23"), today, INT64_MIN, INT64_MIN, &u, &n,
                         NULL) == AV_OK);
    CHECK_INT(n, 3);
    CHECK_STR(date(u[0].from), "2026-09-20");
    CHECK_STR(date(u[0].to), "2026-10-19");
    CHECK_STR(date(u[1].from), "2026-10-20");
    CHECK_STR(date(u[2].to), "2026-11-26");
    CHECK_INT(u[2].to - u[0].from + 1, 68);

    /* explicit range wins over state; appends to the list */
    CHECK(av_plan_region(&o, 3022, 2, D("2026-11-20"), today, D("2023-03-01"), D("2023-03-05"),
                         &u, &n, NULL) == AV_OK);
    CHECK_INT(n, 4);
    CHECK_STR(date(u[3].from), "2023-03-01");
    CHECK_STR(date(u[3].to), "2023-03-05");
    /* only --from: through the forecast horizon */
    n = 0;
    CHECK(av_plan_region(&o, 3022, 2, -1, today, D("2026-11-20"), INT64_MIN, &u, &n, NULL) ==
          AV_OK);
    CHECK_STR(date(u[n - 1].to), "2026-11-26");
    /* bad range */
    n = 0;
    CHECK(av_plan_region(&o, 3022, 2, -1, today, D("2026-11-20"), D("2026-11-19"), &u, &n,
                         NULL) == AV_EINVAL);
    /* one-day chunks */
    o.chunk_days = 1;
    n = 0;
    CHECK(av_plan_region(&o, 3022, 2, -1, today, D("2026-11-20"), D("2026-11-22"), &u, &n,
                         NULL) == AV_OK);
    CHECK_INT(n, 3);
    CHECK(u[1].from == u[1].to);
    free(u);
}
