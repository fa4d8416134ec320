/* params.c - strict parsers of the HTTP side. See params.h. */
#include "params.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/tz.h"
#include "../model/regions.h"

int av_param_text_ok(const char *p, size_t n)
{
    const unsigned char *s = (const unsigned char *)p;

    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        size_t k = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3
                                                         : (c & 0xF8) == 0xF0 ? 4 : 0;
        unsigned cp;
        if (c == 0 || k == 0 || i + k > n)
            return 0;
        cp = k == 1 ? c : c & (0x7F >> k);
        for (size_t j = 1; j < k; j++) {
            if ((s[i + j] & 0xC0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + j] & 0x3F);
        }
        if ((k == 2 && cp < 0x80) || (k == 3 && cp < 0x800) || (k == 4 && cp < 0x10000) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += k;
    }
    return 1;
}

int av_param_int(const char *v, long lo, long hi, long *out)
{
    size_t n;
    long x;

    if (v == NULL || *v == '\0')
        return 0;
    n = strspn(v, "0123456789");
    if (n == 0 || n > 9 || v[n] != '\0' || (v[0] == '0' && n > 1))
        return -1;
    x = strtol(v, NULL, 10);
    if (x < lo || x > hi)
        return -1;
    *out = x;
    return 1;
}

int av_param_date(const char *v, int64_t *out)
{
    if (v == NULL || *v == '\0')
        return 0;
    return strlen(v) == 10 && av_date_parse(v, out) == AV_OK ? 1 : -1;
}

int av_param_after(const char *v, int *region, int64_t *date, int *lang)
{
    char rs[16], d[AV_DATE_LEN];
    const char *c1, *c2;
    long r, l;
    int64_t day;

    if (v == NULL || *v == '\0')
        return 0;
    c1 = strchr(v, ':');
    c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (c2 == NULL || c2 - c1 != 11 || c1 - v <= 0 || c1 - v >= (long)sizeof(rs))
        return -1;
    memcpy(rs, v, (size_t)(c1 - v));
    rs[c1 - v] = '\0';
    memcpy(d, c1 + 1, 10);
    d[10] = '\0';
    if (av_param_int(rs, 1, 99999, &r) != 1 || av_param_int(c2 + 1, 1, 2, &l) != 1 ||
        av_date_parse(d, &day) != AV_OK)
        return -1;
    *region = (int)r;
    *date = day;
    *lang = (int)l;
    return 1;
}

int av_param_region_path(const char *path)
{
    long id;

    if (strncmp(path, "/region/", 8) != 0 || av_param_int(path + 8, 1, 99999, &id) != 1 ||
        av_region_find((int)id) == NULL)
        return 0;
    return (int)id;
}

/* Exactly "DDDD-DD" (digits only, no sign, nothing after). */
static int season_shape(const char *v)
{
    return strlen(v) == 7 && strspn(v, "0123456789") == 4 && v[4] == '-' &&
           strspn(v + 5, "0123456789") == 2;
}

/* v of season_shape(): 1 a season (*first_year set), else -1. */
static int season_value(const char *v, int *first_year)
{
    int y = (v[0] - '0') * 1000 + (v[1] - '0') * 100 + (v[2] - '0') * 10 + (v[3] - '0');
    int next = (v[5] - '0') * 10 + (v[6] - '0');

    if (y < AV_SEASON_MIN || y > AV_SEASON_MAX || (y + 1) % 100 != next)
        return -1;
    *first_year = y;
    return 1;
}

int av_param_season(const char *v, int *first_year)
{
    if (v == NULL || *v == '\0')
        return 0;
    return season_shape(v) ? season_value(v, first_year) : -1;
}

int av_param_season_path(const char *path, int *first_year)
{
    if (strncmp(path, "/season/", 8) != 0 || !season_shape(path + 8))
        return 0;
    return season_value(path + 8, first_year);
}

av_rc av_param_listen(const char *listen, char *host, size_t cap, int *port, char *errbuf)
{
    const char *colon = strrchr(listen, ':');
    size_t digits;
    struct in_addr a;
    long p;

    if (colon == NULL || (size_t)(colon - listen) >= cap)
        return av_fail(errbuf, AV_EINVAL, "listen address \"%s\": use ADDR:PORT", listen);
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = '\0';
    digits = strspn(colon + 1, "0123456789");
    p = digits > 0 && digits <= 5 && colon[1 + digits] == '\0' ? strtol(colon + 1, NULL, 10) : -1;
    if (p < 0 || p > 65535 || inet_pton(AF_INET, host, &a) != 1)
        return av_fail(errbuf, AV_EINVAL,
                       "listen address \"%s\": use an IPv4 ADDR:PORT with a port 0-65535",
                       listen);
    *port = (int)p;
    return AV_OK;
}
