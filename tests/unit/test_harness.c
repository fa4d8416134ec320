/* test_harness.c - the harness can fail: a failing CHECK is counted. */
#include "harness.h"

void suite_harness(void)
{
    int before_checks = t_checks, before_failed = t_failed;

    /* Run a failing check, then undo its effect on the totals only if it
     * was counted exactly as a failure. If CHECK could not fail, the
     * assertion below fails the run. */
    fprintf(stderr, "(the next line is an intended failure of the harness self-test)\n");
    CHECK(1 == 2);
    int counted = t_checks == before_checks + 1 && t_failed == before_failed + 1;
    t_checks = before_checks;
    t_failed = before_failed;
    CHECK(counted);
    CHECK_INT(2 + 2, 4);
    CHECK_STR("a", "a");
}
