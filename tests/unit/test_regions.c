/* test_regions.c - the built-in catalog and region selections. */
#include "../../src/model/regions.h"
#include "harness.h"

void suite_regions(void)
{
    int ids[AV_MAX_REGIONS], n = 0;
    char err[AV_ERRBUF_SIZE];

    CHECK_INT(av_regions_count(), 46);
    CHECK(av_regions_select("A", ids, &n, err) == AV_OK);
    CHECK_INT(n, 24);
    CHECK(av_regions_select("all", ids, &n, err) == AV_OK);
    CHECK_INT(n, 46);
    CHECK(av_regions_select("3022,3011", ids, &n, err) == AV_OK);
    CHECK_INT(n, 2);
    CHECK_INT(ids[0], 3011); /* catalog order, unique */
    CHECK(av_regions_select("3011,3011,A", ids, &n, err) == AV_OK);
    CHECK_INT(n, 24);
    CHECK(av_regions_select("3001, 3011", ids, &n, err) == AV_OK);
    CHECK_INT(n, 2);
    CHECK(av_regions_select("9999", ids, &n, err) == AV_EINVAL);
    CHECK(strstr(err, "9999") != NULL);
    CHECK(av_regions_select("", ids, &n, err) == AV_EINVAL);
    CHECK(av_regions_select("3011,,3022", ids, &n, err) == AV_EINVAL);
    CHECK(av_region_find(3018)->type == 'A');
    CHECK(av_region_find(3019)->active == 0);
    CHECK_STR(av_region_find(3022)->name, "Trollheimen");
}
