/* wx_chart.c - the weather chart's layout (see wx_chart.h): days in, bounded
 * scales and coordinates out. */
#include "wx_chart.h"

#include <math.h>
#include <string.h>

void av_wxc_init(struct av_wxc *c, int64_t first, int ndays)
{
    memset(c, 0, sizeof(*c));
    /* first + ndays must not overflow in av_wxc_index() */
    if (first > INT64_MAX - AV_WXC_MAX_DAYS)
        first = INT64_MAX - AV_WXC_MAX_DAYS;
    c->first = first;
    c->ndays = ndays < 1 ? 1 : ndays > AV_WXC_MAX_DAYS ? AV_WXC_MAX_DAYS : ndays;
    for (int k = 0; k < AV_WXC_MAX_DAYS; k++) {
        struct av_wxc_day *d = &c->day[k];
        d->tmin = d->tmean = d->tmax = d->precip = d->snow = NAN;
        d->level = -1;
    }
    c->t_lo = -10;
    c->t_hi = 10;
    c->t_step = 5;
    c->a_hi = 5;
    c->a_step = 1;
    c->t_coldest = c->t_warmest = NAN;
}

int av_wxc_index(const struct av_wxc *c, int64_t date)
{
    if (date < c->first || date > c->first + (c->ndays - 1))
        return -1;
    return (int)(date - c->first);
}

/* v when weather can be that (lo..hi), else NaN; counts the refused. */
static double plausible(struct av_wxc *c, double v, double lo, double hi)
{
    if (isnan(v))
        return NAN;
    if (!(v >= lo && v <= hi)) { /* also an infinity */
        c->rejected++;
        return NAN;
    }
    return v;
}

int av_wxc_add_weather(struct av_wxc *c, const struct av_wx_day *w)
{
    int k = av_wxc_index(c, w->date);
    struct av_wxc_day *d;

    if (k < 0 || c->day[k].wx)
        return 0;
    d = &c->day[k];
    d->wx = 1;
    d->tmin = plausible(c, w->temperature_min, AV_WXC_T_MIN, AV_WXC_T_MAX);
    d->tmean = plausible(c, w->temperature_mean, AV_WXC_T_MIN, AV_WXC_T_MAX);
    d->tmax = plausible(c, w->temperature_max, AV_WXC_T_MIN, AV_WXC_T_MAX);
    d->precip = plausible(c, w->precipitation_sum, 0, AV_WXC_AMOUNT_MAX);
    d->snow = plausible(c, w->snowfall_sum, 0, AV_WXC_AMOUNT_MAX);
    c->nwx++;
    return 1;
}

int av_wxc_set_level(struct av_wxc *c, int64_t date, int level)
{
    int k = av_wxc_index(c, date);

    if (k < 0 || level < 0 || level > 5 || c->day[k].level >= 0)
        return 0;
    c->day[k].level = level;
    return 1;
}

static void widen(double *lo, double *hi, double v)
{
    if (isnan(v))
        return;
    if (isnan(*lo) || v < *lo)
        *lo = v;
    if (isnan(*hi) || v > *hi)
        *hi = v;
}

/* The smallest round axis top that holds m (m in 0..AV_WXC_AMOUNT_MAX). */
static double amount_top(double m)
{
    static const double tops[] = {5, 10, 20, 30, 50, 100, 200, 300, 500, 1000, AV_WXC_AMOUNT_MAX};

    for (size_t i = 0; i < sizeof(tops) / sizeof(tops[0]); i++)
        if (m <= tops[i])
            return tops[i];
    return AV_WXC_AMOUNT_MAX;
}

void av_wxc_layout(struct av_wxc *c)
{
    double lo = NAN, hi = NAN, amax = 0, span;

    c->precip_total = c->snow_total = 0;
    for (int k = 0; k < c->ndays; k++) {
        const struct av_wxc_day *d = &c->day[k];
        widen(&lo, &hi, d->tmin);
        widen(&lo, &hi, d->tmean);
        widen(&lo, &hi, d->tmax);
        if (!isnan(d->precip)) {
            c->precip_total += d->precip;
            amax = d->precip > amax ? d->precip : amax;
        }
        if (!isnan(d->snow)) {
            c->snow_total += d->snow;
            amax = d->snow > amax ? d->snow : amax;
        }
    }
    c->t_coldest = lo;
    c->t_warmest = hi;
    if (isnan(lo)) { /* no temperature at all */
        lo = -10;
        hi = 10;
    }
    if (hi - lo < 10) { /* at least 10 °C tall, around the values */
        double mid = (lo + hi) / 2;
        lo = mid - 5;
        hi = mid + 5;
    }
    span = hi - lo;
    c->t_step = span <= 25 ? 5 : span <= 60 ? 10 : 20;
    c->t_lo = floor(lo / c->t_step) * c->t_step;
    c->t_hi = ceil(hi / c->t_step) * c->t_step;
    c->a_hi = amount_top(amax);
    c->a_step = c->a_hi / 5;
}

static double clamp(double v, double lo, double hi)
{
    return isnan(v) ? hi : v < lo ? lo : v > hi ? hi : v;
}

double av_wxc_slot(const struct av_wxc *c) { return (AV_WXC_PR - AV_WXC_PL) / c->ndays; }

double av_wxc_x(const struct av_wxc *c, int k)
{
    k = k < 0 ? 0 : k > c->ndays ? c->ndays : k;
    return AV_WXC_PL + k * av_wxc_slot(c);
}

double av_wxc_ty(const struct av_wxc *c, double celsius)
{
    double f = (celsius - c->t_lo) / (c->t_hi - c->t_lo);

    return clamp(AV_WXC_PB - f * (AV_WXC_PB - AV_WXC_PT), AV_WXC_PT, AV_WXC_PB);
}

double av_wxc_ay(const struct av_wxc *c, double amount)
{
    double f = amount / c->a_hi;

    return clamp(AV_WXC_PB - f * (AV_WXC_PB - AV_WXC_PT), AV_WXC_PT, AV_WXC_PB);
}
