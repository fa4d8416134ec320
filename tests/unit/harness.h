/* harness.h - the in-tree unit test harness.
 *
 * CHECK(c) counts a check and reports a failure with file:line; the run
 * ends with "unit: N passed, N failed" (read by CI) and a non-zero exit
 * when anything failed. Suites are plain functions listed in test_main.c.
 */
#ifndef AV_HARNESS_H
#define AV_HARNESS_H

#include <stdio.h>
#include <string.h>

extern int t_checks, t_failed;

#define CHECK(c)                                                                         \
    do {                                                                                 \
        t_checks++;                                                                      \
        if (!(c)) {                                                                      \
            t_failed++;                                                                  \
            fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #c);       \
        }                                                                                \
    } while (0)

#define CHECK_STR(a, b)                                                                  \
    do {                                                                                 \
        const char *a_ = (a), *b_ = (b);                                                 \
        t_checks++;                                                                      \
        if ((a_ == NULL) != (b_ == NULL) || (a_ && strcmp(a_, b_) != 0)) {               \
            t_failed++;                                                                  \
            fprintf(stderr, "%s:%d: %s == \"%s\", expected \"%s\"\n", __FILE__, __LINE__, \
                    #a, a_ ? a_ : "(null)", b_ ? b_ : "(null)");                         \
        }                                                                                \
    } while (0)

#define CHECK_INT(a, b)                                                                  \
    do {                                                                                 \
        long long a_ = (long long)(a), b_ = (long long)(b);                              \
        t_checks++;                                                                      \
        if (a_ != b_) {                                                                  \
            t_failed++;                                                                  \
            fprintf(stderr, "%s:%d: %s == %lld, expected %lld\n", __FILE__, __LINE__, #a, \
                    a_, b_);                                                             \
        }                                                                                \
    } while (0)

/* Reads a whole file (fixtures); NULL on error. Caller frees. */
char *t_read_file(const char *path, size_t *len);
/* Path of a file under ../shared/fixtures (or $AV_FIXTURES). Static buffer. */
const char *t_fixture(const char *rel);
/* A fresh temporary directory path for this test run (static). */
const char *t_tmpdir(void);

#endif
