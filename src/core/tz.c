/* tz.c - calendar arithmetic and Europe/Oslo offsets. */
#include "tz.h"

#define AV_NULL_MS_TZ INT64_MIN /* offset not known yet */

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MS_PER_DAY 86400000LL

/* Howard Hinnant's days_from_civil / civil_from_days. */
int64_t av_days_from_civil(int y, int m, int d)
{
    int64_t yy = y - (m <= 2);
    int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
    int64_t yoe = yy - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    return era * 146097 + doe - 719468;
}

void av_civil_from_days(int64_t z, int *y, int *m, int *d)
{
    int64_t era, doe, yoe, doy, mp, yy;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    yy = yoe + era * 400;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yy + (*m <= 2));
}

int av_weekday(int64_t days)
{
    int64_t w = (days + 4) % 7; /* 1970-01-01 was a Thursday */

    return (int)(w < 0 ? w + 7 : w);
}

static int days_in_month(int y, int m)
{
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    return m == 2 ? 28 + leap : dim[m - 1];
}

static int digits(const char *s, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

static int parse_ymd(const char *s, int *y, int *m, int *d)
{
    if (digits(s, 4, y) || s[4] != '-' || digits(s + 5, 2, m) || s[7] != '-' ||
        digits(s + 8, 2, d))
        return -1;
    if (*y < 1900 || *y > 2200 || *m < 1 || *m > 12 || *d < 1 ||
        *d > days_in_month(*y, *m))
        return -1;
    return 0;
}

av_rc av_date_parse(const char *s, int64_t *days)
{
    int y, m, d;

    if (s == NULL || strlen(s) != 10 || parse_ymd(s, &y, &m, &d))
        return AV_EPARSE;
    *days = av_days_from_civil(y, m, d);
    return AV_OK;
}

static void put2(char *p, int v)
{
    p[0] = (char)('0' + v / 10 % 10);
    p[1] = (char)('0' + v % 10);
}

void av_date_format(int64_t days, char out[AV_DATE_LEN])
{
    int y, m, d;

    av_civil_from_days(days, &y, &m, &d);
    put2(out, y / 100);
    put2(out + 2, y % 100);
    out[4] = '-';
    put2(out + 5, m);
    out[7] = '-';
    put2(out + 8, d);
    out[10] = '\0';
}

/* Last Sunday of month m in year y, at 01:00 UTC, as ms. */
static av_ms last_sunday_0100(int y, int m)
{
    int64_t last = av_days_from_civil(y, m, days_in_month(y, m));

    last -= av_weekday(last);
    return last * MS_PER_DAY + 3600 * 1000LL;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;

    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

int av_oslo_is_dst(av_ms t)
{
    int y, m, d;

    av_civil_from_days(floor_div(t, MS_PER_DAY), &y, &m, &d);
    return t >= last_sunday_0100(y, 3) && t < last_sunday_0100(y, 10);
}

int av_oslo_offset(av_ms t)
{
    return av_oslo_is_dst(t) ? 7200 : 3600;
}

av_ms av_oslo_local_to_utc(av_ms local)
{
    av_ms winter = local - 3600 * 1000LL; /* read as CET  */
    av_ms summer = local - 7200 * 1000LL; /* read as CEST */

    if (av_oslo_is_dst(summer))
        return summer; /* a summer time, or the first of a repeated hour */
    return winter;     /* a winter time, or a time in the skipped hour */
}

av_ms av_oslo_utc_to_local(av_ms t)
{
    return t + av_oslo_offset(t) * 1000LL;
}

av_rc av_local_stamp_parse(const char *s, size_t len, av_ms *local)
{
    int y, m, d, hh, mm, ss, ms = 0;
    size_t i;

    if (len < 19 || parse_ymd(s, &y, &m, &d) || s[10] != 'T' || digits(s + 11, 2, &hh) ||
        s[13] != ':' || digits(s + 14, 2, &mm) || s[16] != ':' || digits(s + 17, 2, &ss))
        return AV_EPARSE;
    if (hh > 23 || mm > 59 || ss > 59)
        return AV_EPARSE;
    if (len > 19) {
        if (s[19] != '.' || len == 20 || len > 27)
            return AV_EPARSE;
        for (i = 20; i < len; i++) {
            if (s[i] < '0' || s[i] > '9')
                return AV_EPARSE;
            if (i < 23)
                ms = ms * 10 + (s[i] - '0');
        }
        for (i = len; i < 23; i++)
            ms *= 10;
    }
    *local = av_days_from_civil(y, m, d) * MS_PER_DAY +
             ((hh * 60LL + mm) * 60 + ss) * 1000 + ms;
    return AV_OK;
}

void av_stamp_format(av_ms t, char out[AV_STAMP_LEN])
{
    int64_t days = floor_div(t, MS_PER_DAY);
    int64_t rem = t - days * MS_PER_DAY;
    int ms = (int)(rem % 1000), sec = (int)(rem / 1000);

    av_date_format(days, out);
    out[10] = 'T';
    put2(out + 11, sec / 3600);
    out[13] = ':';
    put2(out + 14, sec / 60 % 60);
    out[16] = ':';
    put2(out + 17, sec % 60);
    out[19] = '.';
    out[20] = (char)('0' + ms / 100);
    put2(out + 21, ms % 100);
    out[23] = 'Z';
    out[24] = '\0';
}

av_rc av_stamp_parse(const char *s, av_ms *t)
{
    size_t n;

    if (s == NULL)
        return AV_EPARSE;
    n = strlen(s);
    if (n < 20 || s[n - 1] != 'Z')
        return AV_EPARSE;
    return av_local_stamp_parse(s, n - 1, t);
}

av_ms av_now(void)
{
    const char *fake = getenv("AV_FAKE_NOW");
    struct timespec ts;
    av_ms t, real;
    char stamp[40];
    size_t n;

    clock_gettime(CLOCK_REALTIME, &ts);
    real = (av_ms)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    if (fake == NULL || (n = strlen(fake)) >= sizeof(stamp))
        return real;
    /* "...Z": the clock stands still; "...Z+": it starts there and runs */
    memcpy(stamp, fake, n + 1);
    if (n > 0 && stamp[n - 1] == '+') {
        static av_ms offset = AV_NULL_MS_TZ; /* set once, by whichever thread is first */
        av_ms none = AV_NULL_MS_TZ;
        stamp[n - 1] = '\0';
        if (av_stamp_parse(stamp, &t) != AV_OK)
            return real;
        __atomic_compare_exchange_n(&offset, &none, t - real, 0, __ATOMIC_SEQ_CST,
                                    __ATOMIC_SEQ_CST);
        return real + __atomic_load_n(&offset, __ATOMIC_SEQ_CST);
    }
    return av_stamp_parse(stamp, &t) == AV_OK ? t : real;
}

int64_t av_oslo_today(void)
{
    return floor_div(av_oslo_utc_to_local(av_now()), MS_PER_DAY);
}
