/* test_features.c - the pure parts of `export features` (src/export/
 * features.h): the windows of hours before T (their bounds, an hour at T
 * is not before T, sums/means/minima/maxima over SYNTHETIC hours of two
 * points, all or nothing, forecast hours), day D as stored at T (equal to
 * the `weather` dataset's day), and the problem summary. */
#include <math.h>
#include <stdlib.h>

#include "../../src/export/features.h"
#include "../../src/transforms/weather_daily.h"
#include "harness.h"

#define NA NAN

static int same(double a, double b)
{
    return (isnan(a) && isnan(b)) || fabs(a - b) < 1e-12;
}

#define H 3600000LL
/* 2023-03-04T10:00:00Z, a cut-off on the hour */
#define T0 ((av_ms)(av_days_from_civil(2023, 3, 4) * 86400000LL + 10 * H))

/* SYNTHETIC hours of two points, stamped T0 + k h for k in [lo, hi):
 * point A (60.0, 7.0) temperature k, precipitation 1, wind 2 + (k & 1);
 * point B (60.1, 7.0) temperature 10 + k, precipitation 0.5, wind 4.
 * Hours at or after T0 (k >= 0) are poison: precipitation 1000,
 * temperature 500, wind 900, so any leak shows. Archive, fetched at fa. */
static size_t synth(struct av_wx_hour *out, int lo, int hi, av_ms fa)
{
    size_t n = 0;

    for (int k = lo; k < hi; k++) {
        for (int p = 0; p < 2; p++) {
            struct av_wx_hour *h = &out[n++];
            memset(h, 0, sizeof(*h));
            for (int v = 0; v < AV_WX_NVARS; v++)
                h->v[v] = AV_WX_NULL;
            h->region_id = 3022;
            h->latitude = p ? 60.1 : 60.0;
            h->longitude = 7.0;
            h->hour = T0 + (av_ms)k * H;
            h->source = AV_WX_ARCHIVE;
            h->fetched_at = fa;
            h->v[AV_WX_TEMPERATURE] = k >= 0 ? 500 : p ? 10 + k : k;
            h->v[AV_WX_PRECIPITATION] = k >= 0 ? 1000 : p ? 0.5 : 1;
            h->v[AV_WX_SNOWFALL] = k >= 0 ? 1000 : 0;
            h->v[AV_WX_WIND_SPEED] = k >= 0 ? 900 : p ? 4 : 2 + (k & 1);
        }
    }
    return n;
}

static void window_bounds(void)
{
    av_ms first, end;

    av_fx_window_bounds(T0, 24, &first, &end); /* on the hour: the hour at T is not before T */
    CHECK(end == T0 && first == T0 - 24 * H);
    av_fx_window_bounds(T0 + 1, 24, &first, &end); /* 1 ms later: the hour at T0 is */
    CHECK(end == T0 + H && first == T0 - 23 * H);
    av_fx_window_bounds(T0 - 1, 168, &first, &end);
    CHECK(end == T0 && first == T0 - 168 * H);
    av_fx_window_bounds(T0 + H - 1, 72, &first, &end);
    CHECK(end == T0 + H && first == T0 - 71 * H);
}

static void past_windows(void)
{
    static struct av_wx_hour h[2 * 200];
    struct av_fx_win w;
    char err[AV_ERRBUF_SIZE];
    size_t n = synth(h, -30, 6, T0 + 48 * H); /* fetched two days after T: still used */

    /* 24 h before T0: k = -24 .. -1. A: mean temperature -12.5, min -24,
     * max -1, precipitation 24, wind mean 2.5, max 3; B: -2.5, -14, 9, 12,
     * 4, 4; the region: the points' mean */
    CHECK(av_fx_past_window(h, n, T0, 24, &w, err) == AV_OK);
    CHECK(w.hours == 24 && w.forecast_hours == 0);
    CHECK(same(w.v[AV_FX_PRECIP], 18) && same(w.v[AV_FX_SNOWFALL], 0));
    CHECK(same(w.v[AV_FX_TMEAN], -7.5) && same(w.v[AV_FX_TMIN], -19));
    CHECK(same(w.v[AV_FX_TMAX], 4) && same(w.v[AV_FX_WMEAN], 3.25));
    CHECK(same(w.v[AV_FX_WMAX], 3.5));
    /* 1 ms after T0 the hour stamped T0 is before T: its poison is in */
    CHECK(av_fx_past_window(h, n, T0 + 1, 24, &w, err) == AV_OK);
    CHECK(w.hours == 24 && same(w.v[AV_FX_PRECIP], (23 + 1000 + 11.5 + 1000) / 2));
    /* 1 ms before T0 is the same window as T0 */
    CHECK(av_fx_past_window(h, n, T0 - 1, 24, &w, err) == AV_OK);
    CHECK(same(w.v[AV_FX_PRECIP], 18) && same(w.v[AV_FX_TMAX], 4));
    /* the hours reach back 30 h only: 72 h is incomplete, null, counted */
    CHECK(av_fx_past_window(h, n, T0, 72, &w, err) == AV_OK);
    CHECK(w.hours == 30 && isnan(w.v[AV_FX_PRECIP]) && isnan(w.v[AV_FX_TMEAN]));
    /* forecast hours: stamps with a forecast value at some point */
    h[2 * 25].source = AV_WX_FORECAST;     /* k = -5, point A */
    h[2 * 25 + 1].source = AV_WX_FORECAST; /* k = -5, point B: the same hour */
    h[2 * 27 + 1].source = AV_WX_FORECAST; /* k = -3, point B */
    h[2 * 30].source = AV_WX_FORECAST;     /* k = 0: at T, not before */
    CHECK(av_fx_past_window(h, n, T0, 24, &w, err) == AV_OK);
    CHECK(w.hours == 24 && w.forecast_hours == 2 && same(w.v[AV_FX_PRECIP], 18));
    /* a missing hour (k = -3 at both points): the window is null */
    memmove(&h[2 * 27], &h[2 * 28], (n - 2 * 28) * sizeof(h[0]));
    n -= 2;
    CHECK(av_fx_past_window(h, n, T0, 24, &w, err) == AV_OK);
    CHECK(w.hours == 23 && isnan(w.v[AV_FX_PRECIP]) && isnan(w.v[AV_FX_WMAX]));
    /* no cut-off, no hours: empty */
    CHECK(av_fx_past_window(h, n, AV_NULL_MS, 24, &w, err) == AV_OK);
    CHECK(w.hours == 0 && w.forecast_hours == 0 && isnan(w.v[AV_FX_TMEAN]));
    CHECK(av_fx_past_window(h, 0, T0, 24, &w, err) == AV_OK);
    CHECK(w.hours == 0 && isnan(w.v[AV_FX_TMEAN]));
    CHECK(av_fx_win_hours[0] == 24 && av_fx_win_hours[1] == 72 && av_fx_win_hours[2] == 168);
}

static void day_forecast(void)
{
    static struct av_wx_hour h[2 * 72];
    struct av_feature f;
    struct av_wx_day *days = NULL, one;
    char err[AV_ERRBUF_SIZE];
    int64_t d = av_days_from_civil(2023, 3, 5);
    av_ms first, end;
    size_t n, nd = 0;
    int k0;

    /* local 2023-03-05 is 03-04T23:00Z .. 03-05T23:00Z: k = 13 .. 36 */
    av_wx_local_day_hours(d, &first, &end);
    k0 = (int)((first - T0) / H);
    CHECK(k0 == 13);
    n = synth(h, 0, 48, T0 - H);
    for (size_t i = 0; i < n; i++) { /* day values of their own */
        h[i].v[AV_WX_TEMPERATURE] = (double)(i % 7) - 3;
        h[i].source = AV_WX_FORECAST;
    }
    CHECK(av_fx_day_forecast(h, n, d, T0, &f, err) == AV_OK); /* fetched before T */
    CHECK(f.d0_hours == 24 && f.d0_fetched_at == T0 - H);
    CHECK_STR(f.d0_source, "forecast");
    /* the same values as the `weather` dataset's day (span = day, bit for bit) */
    CHECK(av_wx_aggregate(h, n, 0, &days, &nd, err) == AV_OK && nd == 3);
    for (size_t i = 0; i < nd; i++)
        if (days[i].date == d) {
            double v[AV_FX_NVARS];
            av_fx_day_values(&days[i], v);
            CHECK(memcmp(v, f.d0, sizeof(v)) == 0);
            CHECK(av_wx_aggregate_span(h + 2 * k0, 48, &one, err) == AV_OK);
            CHECK(one.hours == days[i].hours && one.points == days[i].points);
            CHECK(memcmp(&one.temperature_min, &days[i].temperature_min,
                         (size_t)((char *)&days[i].computed_at -
                                  (char *)&days[i].temperature_min)) == 0);
        }
    free(days);
    /* one hour of D fetched after T: D is not known at T */
    h[2 * 20].fetched_at = T0 + 1;
    CHECK(av_fx_day_forecast(h, n, d, T0, &f, err) == AV_OK);
    CHECK(isnan(f.d0[AV_FX_TMEAN]) && f.d0_hours == AV_NULL_INT && f.d0_source == NULL);
    CHECK(f.d0_fetched_at == AV_NULL_MS);
    CHECK(av_fx_day_forecast(h, n, d, T0 + 1, &f, err) == AV_OK); /* fetched at T: known */
    CHECK(f.d0_fetched_at == T0 + 1 && !isnan(f.d0[AV_FX_TMEAN]));
    /* no hours of D: null */
    CHECK(av_fx_day_forecast(h, n, d + 5, T0 + 9 * 24 * H, &f, err) == AV_OK);
    CHECK(isnan(f.d0[AV_FX_PRECIP]) && f.d0_source == NULL);
    /* an empty span: every value null */
    CHECK(av_wx_aggregate_span(h, 0, &one, err) == AV_OK);
    CHECK(one.points == 0 && one.hours == 0 && isnan(one.temperature_mean));
}

static void known_at_cutoff(void)
{
    struct av_wx_day d = {0};
    double out[AV_FX_NVARS];

    CHECK(av_fx_day_known(1000, 1000));      /* fetched at T: known */
    CHECK(av_fx_day_known(999, 1000));
    CHECK(!av_fx_day_known(1001, 1000));     /* a millisecond after T: not */
    CHECK(!av_fx_day_known(AV_NULL_MS, 1000)); /* no hours stored */
    CHECK(!av_fx_day_known(5, AV_NULL_MS));
    CHECK(av_fx_cutoff(10, 20) == 10 && av_fx_cutoff(AV_NULL_MS, 20) == 20);
    /* a day's values in column order */
    d.precipitation_sum = 1;
    d.snowfall_sum = 2;
    d.temperature_mean = 3;
    d.temperature_min = 4;
    d.temperature_max = 5;
    d.wind_speed_mean = 6;
    d.wind_speed_max = 7;
    d.gusts_max = 99;
    av_fx_day_values(&d, out);
    for (int v = 0; v < AV_FX_NVARS; v++)
        CHECK(same(out[v], v + 1));
}

static void problem(struct av_problem *p, int id, int type, int size, int prob, int prop,
                    int sens)
{
    memset(p, 0, sizeof(*p));
    p->problem_id = id;
    p->type_id = type;
    p->destructive_size_id = size;
    p->probability_id = prob;
    p->propagation_id = prop;
    p->trigger_sensitivity_id = sens;
    p->aspects = AV_NULL_INT;
    p->exposed_height_fill = p->exposed_height_1 = p->exposed_height_2 = AV_NULL_INT;
    p->exposed_min_m = p->exposed_max_m = AV_NULL_INT;
}

static void problem_summary(void)
{
    static struct av_warning w;
    struct av_feature f;

    memset(&w, 0, sizeof(w));
    memset(&f, 0, sizeof(f));
    av_fx_problems(&f, &w); /* no problems: counts 0, the rest null */
    CHECK(f.problem_count == 0 && f.problem_types[0] == '\0');
    CHECK(f.max_size == AV_NULL_INT && f.main_type == AV_NULL_INT && f.main_aspects == AV_NULL_INT);
    for (int t = 0; t < AV_FX_NTYPES; t++)
        CHECK(f.has_type[t] == 0);

    w.n_problems = 3;
    problem(&w.problems[0], 1, 10, 2, 3, 1, 30);
    w.problems[0].aspects = AV_ASPECT_NE | AV_ASPECT_E;
    w.problems[0].exposed_height_fill = 1;
    w.problems[0].exposed_height_1 = 1000;
    w.problems[0].exposed_min_m = 1000;
    problem(&w.problems[1], 2, 5, 3, AV_NULL_INT, 2, 45);
    problem(&w.problems[2], 3, 99, AV_NULL_INT, 5, AV_NULL_INT, AV_NULL_INT); /* a new type */
    av_fx_problems(&f, &w);
    CHECK(f.problem_count == 3);
    CHECK_STR(f.problem_types, "10,5,99");
    CHECK(f.has_type[3] == 1 && f.has_type[1] == 1); /* 10 and 5 */
    CHECK(f.has_type[0] + f.has_type[2] + f.has_type[4] + f.has_type[5] + f.has_type[6] == 0);
    CHECK(f.max_size == 3 && f.max_probability == 5 && f.max_propagation == 2);
    CHECK(f.max_sensitivity == 45);
    CHECK(f.main_type == 10 && f.main_aspects == (AV_ASPECT_NE | AV_ASPECT_E));
    CHECK(f.main_fill == 1 && f.main_h1 == 1000 && f.main_min_m == 1000);
    CHECK(f.main_h2 == AV_NULL_INT && f.main_max_m == AV_NULL_INT);
    /* the main problem is the lowest problem_id, wherever it is */
    w.problems[0].problem_id = 4;
    av_fx_problems(&f, &w);
    CHECK(f.main_type == 5);
    CHECK(av_fx_types[0] == 3 && av_fx_types[AV_FX_NTYPES - 1] == 50);
}

void suite_features(void)
{
    window_bounds();
    past_windows();
    day_forecast();
    known_at_cutoff();
    problem_summary();
}
