/* test_conf.c - option tables, config file, environment, precedence. */
#include <stdlib.h>

#include "../../src/core/conf.h"
#include "harness.h"

static const struct av_opt opts[] = {
    {"api", "base", AV_OPT_STR, "https://x", 0, 0, NULL, "base"},
    {"api", "endpoint", AV_OPT_ENUM, "detail", 0, 0, "detail|simple", "endpoint"},
    {"fetch", "retries", AV_OPT_INT, "4", 0, 20, NULL, "retries"},
    {"kafka", "*", AV_OPT_STR, NULL, 0, 0, NULL, "passed to librdkafka"},
    {NULL, NULL, 0, NULL, 0, 0, NULL, NULL},
};
static const struct av_opt *const tables[] = {opts, NULL};

static const char *write_file(const char *name, const char *text)
{
    static char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", t_tmpdir(), name);
    f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

static void count_extra(const char *k, const char *v, void *ud)
{
    if (strcmp(k, "bootstrap.servers") == 0 && strcmp(v, "h:9092") == 0)
        (*(int *)ud)++;
}

void suite_conf(void)
{
    struct av_conf c;
    char err[AV_ERRBUF_SIZE];
    const char *p;
    int extras = 0;

    CHECK(av_conf_init(&c, tables, err) == AV_OK);
    CHECK_STR(av_conf_str(&c, "api.base"), "https://x");
    CHECK_INT(av_conf_int(&c, "fetch.retries"), 4);

    p = write_file("ok.conf", "# comment\n[api]\nbase = http://127.0.0.1:1/api\n"
                              "endpoint = \"simple\"\n; other comment\n\n[fetch]\n"
                              "retries=2\n[kafka]\nbootstrap.servers = h:9092\n");
    CHECK(av_conf_load_file(&c, p, err) == AV_OK);
    CHECK_STR(av_conf_str(&c, "api.base"), "http://127.0.0.1:1/api");
    CHECK_STR(av_conf_str(&c, "api.endpoint"), "simple");
    CHECK_INT(av_conf_int(&c, "fetch.retries"), 2);
    av_conf_each_extra(&c, "kafka", count_extra, &extras);
    CHECK_INT(extras, 1);

    /* environment overrides the file, flags override the environment */
    setenv("AVALANCHE_FETCH_RETRIES", "7", 1);
    CHECK(av_conf_load_env(&c, err) == AV_OK);
    CHECK_INT(av_conf_int(&c, "fetch.retries"), 7);
    CHECK(av_conf_set(&c, "fetch.retries", "9", "flag", err) == AV_OK);
    CHECK_INT(av_conf_int(&c, "fetch.retries"), 9);
    setenv("AVALANCHE_FETCH_RETRIES", "99", 1);
    CHECK(av_conf_load_env(&c, err) == AV_EINVAL);
    CHECK(strstr(err, "AVALANCHE_FETCH_RETRIES") != NULL);
    CHECK(strstr(err, "0..20") != NULL);
    unsetenv("AVALANCHE_FETCH_RETRIES");

    /* errors name the file and line */
    p = write_file("bad.conf", "[api]\nbase = x\nbsae = y\n");
    CHECK(av_conf_load_file(&c, p, err) == AV_EINVAL);
    CHECK(strstr(err, "bad.conf:3") != NULL);
    CHECK(strstr(err, "api.bsae") != NULL);
    p = write_file("bad2.conf", "[fetch]\nretries = many\n");
    CHECK(av_conf_load_file(&c, p, err) == AV_EINVAL);
    CHECK(strstr(err, "bad2.conf:2") != NULL);
    p = write_file("bad3.conf", "[api\n");
    CHECK(av_conf_load_file(&c, p, err) == AV_EPARSE);
    p = write_file("bad4.conf", "[api]\njust words\n");
    CHECK(av_conf_load_file(&c, p, err) == AV_EPARSE);
    CHECK(strstr(err, "bad4.conf:2") != NULL);
    p = write_file("bad5.conf", "[nosuch]\nx = 1\n");
    CHECK(av_conf_load_file(&c, p, err) == AV_EINVAL);
    CHECK(av_conf_set(&c, "api.endpoint", "xml", "flag", err) == AV_EINVAL);
    CHECK(strstr(err, "detail|simple") != NULL);
    CHECK(av_conf_set(&c, "noseparator", "1", "flag", err) == AV_EINVAL);
    CHECK(av_conf_load_file(&c, "/nonexistent/avalanche.conf", err) == AV_EIO);
    /* a failed set keeps the old value */
    CHECK_STR(av_conf_str(&c, "api.endpoint"), "simple");
    /* from memory: a NUL no longer cuts "4\0junk" to 4, a key set twice in
     * one file names both lines, a UTF-8 BOM is skipped, CRLF works */
    CHECK(av_conf_load_text(&c, "nul.conf", "[fetch]\nretries = 4\0junk\n", 25, err) ==
          AV_EPARSE);
    CHECK(strstr(err, "nul.conf:2: a NUL byte") != NULL);
    CHECK(av_conf_load_text(&c, "dup.conf", "[fetch]\nretries = 3\n\n[fetch]\nretries = 5\n",
                            41, err) == AV_EPARSE);
    CHECK(strstr(err, "dup.conf:5: fetch.retries is set twice in this file (first on line 2)") !=
          NULL);
    CHECK(av_conf_load_text(&c, "dup2.conf", "fetch.retries = 3\n[fetch]\nretries = 5\n", 37,
                            err) == AV_EPARSE);
    CHECK(av_conf_load_text(&c, "bom.conf", "\xef\xbb\xbf[fetch]\r\nretries = 6\r\n", 25,
                            err) == AV_OK);
    CHECK_INT(av_conf_int(&c, "fetch.retries"), 6);
    CHECK(av_conf_load_text(&c, "nolf.conf", "[fetch]\nretries = 8", 19, err) == AV_OK);
    CHECK_INT(av_conf_int(&c, "fetch.retries"), 8);
    CHECK(av_conf_load_text(&c, "empty.conf", "[ ]\nx = 1\n", 10, err) == AV_EPARSE);
    {
        char big[5000];
        memset(big, 'a', sizeof(big));
        CHECK(av_conf_load_text(&c, "long.conf", big, sizeof(big), err) == AV_EPARSE);
        CHECK(strstr(err, "line longer than 4095 bytes") != NULL);
    }
    av_conf_free(&c);
}
