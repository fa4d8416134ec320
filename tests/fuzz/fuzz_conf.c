/* fuzz_conf.c - fuzz target: bytes -> the configuration file parser
 * (av_conf_load_text) with a table of every option kind (string, bounded
 * integer, enum, a wildcard section). A config file is operator input, but
 * one copied from the internet or cut by a full disk is as hostile as the
 * network. Besides the sanitizers' checks, every value that was accepted
 * must obey its table: integers within bounds, enums one of the choices.
 *
 * libFuzzer:  make fuzz; make -f tests/fuzz/Makefile run-conf
 * Replay:     -DAV_FUZZ_REPLAY (tests/fuzz/run-corpus, tests/fuzz/corpus-conf/) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/core/conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct av_opt opts[] = {
    {"api", "base", AV_OPT_STR, "https://x", 0, 0, NULL, "base"},
    {"api", "endpoint", AV_OPT_ENUM, "detail", 0, 0, "detail|simple", "endpoint"},
    {"plan", "lang", AV_OPT_ENUM, "1", 0, 0, "1|2|both", "lang"},
    {"fetch", "retries", AV_OPT_INT, "4", 0, 20, NULL, "retries"},
    {"fetch", "timeout_ms", AV_OPT_INT, "60000", 100, 3600000, NULL, "timeout"},
    {"kafka", "*", AV_OPT_STR, NULL, 0, 0, NULL, "passed to librdkafka"},
    {NULL, NULL, 0, NULL, 0, 0, NULL, NULL},
};
static const struct av_opt *const tables[] = {opts, NULL};

static void extra(const char *k, const char *v, void *ud)
{
    /* every wildcard key and value is a C string the parser made */
    *(size_t *)ud += strlen(k) + strlen(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct av_conf c;
    char err[AV_ERRBUF_SIZE];
    size_t n = 0;
    const char *e;
    long long r, t;

    if (av_conf_init(&c, tables, err) != AV_OK)
        abort();
    if (av_conf_load_text(&c, "fuzz.conf", (const char *)data, size, err) == AV_OK) {
        r = av_conf_int(&c, "fetch.retries");
        t = av_conf_int(&c, "fetch.timeout_ms");
        e = av_conf_str(&c, "api.endpoint");
        if (r < 0 || r > 20 || t < 100 || t > 3600000)
            abort();
        if (strcmp(e, "detail") != 0 && strcmp(e, "simple") != 0)
            abort();
        e = av_conf_str(&c, "plan.lang");
        if (strcmp(e, "1") != 0 && strcmp(e, "2") != 0 && strcmp(e, "both") != 0)
            abort();
        if (memchr(av_conf_str(&c, "api.base"), '\n', strlen(av_conf_str(&c, "api.base"))))
            abort(); /* one line, one value */
        av_conf_each_extra(&c, "kafka", extra, &n);
    } else if (err[0] == '\0') {
        abort(); /* every refusal says why */
    }
    av_conf_free(&c);
    return 0;
}

#ifdef AV_FUZZ_REPLAY
#define AV_FUZZ_NAME "fuzz-conf"
#include "replay.h"
#endif
