/* fuzz_weather.c - fuzz target: bytes -> what the weather side reads from
 * the network: the Open-Meteo verdict on an answer (av_om_judge, for a few
 * statuses), the strict parse of a body for one to three requested points
 * (av_om_parse), the daily aggregation of what it accepted
 * (av_wx_aggregate), and the bytes as a request URL whose points reprocess
 * reads back (av_om_url_points). Besides the sanitizers, what is accepted
 * must obey the contract: every hour inside the requested GMT days and in
 * increasing order per point, values finite or null; days with 1..25 hours
 * and at most the requested points; aggregates finite or null.
 *
 * libFuzzer:  make fuzz; make -f tests/fuzz/Makefile run-weather
 * Replay:     -DAV_FUZZ_REPLAY (tests/fuzz/run-corpus, tests/fuzz/corpus-weather/ and
 *             the recorded fixtures) */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/core/json.h"
#include "../../src/sources/openmeteo.h"
#include "../../src/transforms/weather_daily.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void finite_or_null(double v)
{
    if (!isnan(v) && !isfinite(v))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const long statuses[] = {200, 400, 429, 503};
    static const struct av_point pts[3] = {
        {3022, 62.5, 9.0}, {3022, 62.6, 9.1}, {3022, 62.7, 9.2}};
    struct av_json j;
    struct av_wx_hour *h = NULL;
    struct av_wx_day *days = NULL;
    size_t n = 0, nd = 0;
    char why[200], err[AV_ERRBUF_SIZE];
    long long wait = 0;
    int64_t from = av_days_from_civil(2025, 1, 11), to = av_days_from_civil(2025, 1, 12);
    int npts = size ? 1 + data[0] % 3 : 1;

    for (size_t s = 0; s < sizeof(statuses) / sizeof(statuses[0]); s++) {
        enum av_om_verdict v = av_om_judge(statuses[s], (const char *)data, size,
                                           1700000000000LL, &wait, why, sizeof(why));
        if (v == AV_OM_WAIT && (wait <= 0 || wait > 3601000))
            abort();
        if (v == AV_OM_ACCEPT && statuses[s] != 200)
            abort();
    }
    av_json_init(&j, 1 << 16, 64);
    if (av_om_parse(&j, (const char *)data, size, pts, npts, from, to, AV_WX_ARCHIVE, 1, &h, &n,
                    err) == AV_OK) {
        for (size_t i = 0; i < n; i++) {
            if (h[i].hour < (from - 1) * 86400000LL || h[i].hour >= (to + 1) * 86400000LL)
                abort();
            if (i > 0 && h[i].latitude == h[i - 1].latitude && h[i].hour <= h[i - 1].hour)
                abort();
            for (int k = 0; k < AV_WX_NVARS; k++)
                finite_or_null(h[i].v[k]);
        }
        if (av_wx_aggregate(h, n, 1, &days, &nd, err) == AV_OK) {
            for (size_t d = 0; d < nd; d++) {
                if (days[d].hours < 0 || days[d].hours > 25 || days[d].points < 1 ||
                    days[d].points > npts)
                    abort();
                finite_or_null(days[d].temperature_mean);
                finite_or_null(days[d].precipitation_sum);
                finite_or_null(days[d].wind_direction_dominant);
                if (!isnan(days[d].wind_direction_dominant) &&
                    (days[d].wind_direction_dominant < 0 || days[d].wind_direction_dominant >= 360))
                    abort();
            }
            free(days);
        }
    } else if (n != 0) {
        abort(); /* a refused body appends nothing */
    }
    free(h);
    av_json_free(&j);
    {
        char *url = malloc(size + 1);
        struct av_point back[AV_OM_MAX_POINTS];
        int nb = 0;
        if (url) {
            memcpy(url, data, size);
            url[size] = '\0';
            if (av_om_url_points(url, 3022, back, AV_OM_MAX_POINTS, &nb, err) == AV_OK &&
                (nb < 1 || nb > AV_OM_MAX_POINTS))
                abort();
            free(url);
        }
    }
    return 0;
}

#ifdef AV_FUZZ_REPLAY
#define AV_FUZZ_NAME "fuzz-weather"
#include "replay.h"
#endif
