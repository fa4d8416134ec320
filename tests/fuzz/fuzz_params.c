/* fuzz_params.c - fuzz target: bytes -> what `serve` parses from the
 * network (src/http/params.c): the request target split as a path and a
 * query string (parameters arrive percent-decoded, so the bytes are the
 * values), the paging cursor, dates, integers, the region and season
 * paths, and the bytes as a --listen address. Besides the sanitizers, every value a
 * parser accepts must be canonical: formatting it gives back the input
 * (no sign, no leading zeros, no out-of-range id can alias a region), and
 * accepted text has no NUL and decodes as UTF-8.
 *
 * libFuzzer:  make fuzz; make -f tests/fuzz/Makefile run-params
 * Replay:     -DAV_FUZZ_REPLAY (tests/fuzz/run-corpus, tests/fuzz/corpus-params/) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/core/tz.h"
#include "../../src/http/params.h"
#include "../../src/model/regions.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void one_value(const char *v)
{
    char back[64], d[AV_DATE_LEN];
    long x;
    int64_t day;
    int region, lang;

    switch (av_param_int(v, 1, 10000, &x)) {
    case 1:
        snprintf(back, sizeof(back), "%ld", x);
        if (x < 1 || x > 10000 || strcmp(back, v) != 0)
            abort();
        break;
    case 0:
        if (v[0] != '\0')
            abort();
        break;
    }
    if (av_param_date(v, &day) == 1) {
        av_date_format(day, d);
        if (strcmp(d, v) != 0)
            abort();
    }
    {
        int y;
        if (av_param_season(v, &y) == 1) {
            snprintf(back, sizeof(back), "%04d-%02d", y, (y + 1) % 100);
            if (strcmp(back, v) != 0)
                abort();
        }
    }
    if (av_param_after(v, &region, &day, &lang) == 1) {
        av_date_format(day, d);
        snprintf(back, sizeof(back), "%d:%s:%d", region, d, lang);
        if (strcmp(back, v) != 0 || (lang != 1 && lang != 2))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1), *q, *p, host[64];
    int id, port;

    if (s == NULL)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    if (av_param_text_ok((const char *)data, size) && memchr(data, 0, size) != NULL)
        abort();
    if (strlen(s) == size) { /* the parsers take C strings (NUL already refused) */
        char back[32];
        if (av_param_listen(s, host, sizeof(host), &port, NULL) == AV_OK &&
            (port < 0 || port > 65535 || strlen(host) >= sizeof(host)))
            abort();
        q = strchr(s, '?');
        if (q)
            *q++ = '\0';
        id = av_param_region_path(s);
        if (id) {
            snprintf(back, sizeof(back), "/region/%d", id);
            if (av_region_find(id) == NULL || strcmp(back, s) != 0)
                abort();
        }
        {
            int y, r = av_param_season_path(s, &y);
            if (r == 1) { /* a season path spells its season canonically */
                snprintf(back, sizeof(back), "/season/%04d-%02d", y, (y + 1) % 100);
                if (y < 1900 || y > 2198 || strcmp(back, s) != 0)
                    abort();
            }
        }
        for (p = q; p && *p;) {
            char *amp = strchr(p, '&'), *eq;
            if (amp)
                *amp = '\0';
            eq = strchr(p, '=');
            one_value(eq ? eq + 1 : p);
            p = amp ? amp + 1 : NULL;
        }
    }
    free(s);
    return 0;
}

#ifdef AV_FUZZ_REPLAY
#define AV_FUZZ_NAME "fuzz-params"
#include "replay.h"
#endif
