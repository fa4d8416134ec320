/* regions.c - built-in catalog of Varsom forecast regions. */
#include "regions.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct av_region catalog[] = {
    {3001, "Svalbard øst", 'B', 0},
    {3002, "Svalbard vest", 'B', 0},
    {3003, "Nordenskiöld Land", 'A', 1},
    {3004, "Svalbard sør", 'B', 0},
    {3005, "Øst-Finnmark", 'B', 0},
    {3006, "Finnmarkskysten", 'A', 1},
    {3007, "Vest-Finnmark", 'A', 1},
    {3008, "Finnmarksvidda", 'B', 0},
    {3009, "Nord-Troms", 'A', 1},
    {3010, "Lyngen", 'A', 1},
    {3011, "Tromsø", 'A', 1},
    {3012, "Sør-Troms", 'A', 1},
    {3013, "Indre Troms", 'A', 1},
    {3014, "Lofoten og Vesterålen", 'A', 1},
    {3015, "Ofoten", 'A', 1},
    {3016, "Salten", 'A', 1},
    {3017, "Svartisen", 'A', 1},
    {3018, "Helgeland", 'A', 1},
    {3019, "Nord-Trøndelag", 'B', 0},
    {3020, "Sør-Trøndelag", 'B', 0},
    {3021, "Ytre Nordmøre", 'B', 0},
    {3022, "Trollheimen", 'A', 1},
    {3023, "Romsdal", 'A', 1},
    {3024, "Sunnmøre", 'A', 1},
    {3025, "Nord-Gudbrandsdalen", 'B', 0},
    {3026, "Ytre Fjordane", 'B', 0},
    {3027, "Indre Fjordane", 'A', 1},
    {3028, "Jotunheimen", 'A', 1},
    {3029, "Indre Sogn", 'A', 1},
    {3030, "Ytre Sogn", 'B', 0},
    {3031, "Voss", 'A', 1},
    {3032, "Hallingdal", 'A', 1},
    {3033, "Hordalandskysten", 'B', 0},
    {3034, "Hardanger", 'A', 1},
    {3035, "Vest-Telemark", 'A', 1},
    {3036, "Rogalandskysten", 'B', 0},
    {3037, "Heiane", 'A', 1},
    {3038, "Agder sør", 'B', 0},
    {3039, "Telemark sør", 'B', 0},
    {3040, "Vestfold", 'B', 0},
    {3041, "Buskerud sør", 'B', 0},
    {3042, "Oppland sør", 'B', 0},
    {3043, "Hedmark", 'B', 0},
    {3044, "Akershus", 'B', 0},
    {3045, "Oslo", 'B', 0},
    {3046, "Østfold", 'B', 0},
};

#define NREG ((int)(sizeof(catalog) / sizeof(catalog[0])))

int av_regions_count(void)
{
    return NREG;
}

const struct av_region *av_region_at(int i)
{
    return i >= 0 && i < NREG ? &catalog[i] : NULL;
}

const struct av_region *av_region_find(int id)
{
    for (int i = 0; i < NREG; i++)
        if (catalog[i].id == id)
            return &catalog[i];
    return NULL;
}

av_rc av_regions_select(const char *spec, int *ids, int *n, char *errbuf)
{
    char want[NREG];
    const char *p = spec;
    int any = 0;

    memset(want, 0, sizeof(want));
    while (*p) {
        size_t l = strcspn(p, ",");
        char tok[32];

        while (l > 0 && *p == ' ') {
            p++;
            l--;
        }
        if (l == 0 || l >= sizeof(tok))
            return av_fail(errbuf, AV_EINVAL,
                           "bad region selection \"%s\": use A, all, or ids like 3011,3022",
                           spec);
        memcpy(tok, p, l);
        tok[l] = '\0';
        while (l > 0 && tok[l - 1] == ' ')
            tok[--l] = '\0';
        if (strcmp(tok, "A") == 0 || strcmp(tok, "a") == 0) {
            for (int i = 0; i < NREG; i++)
                want[i] |= (char)catalog[i].active;
        } else if (strcmp(tok, "all") == 0) {
            memset(want, 1, sizeof(want));
        } else {
            char *end;
            long id = strtol(tok, &end, 10);
            int found = 0;
            for (int i = 0; *end == '\0' && i < NREG; i++) {
                if (catalog[i].id == id) {
                    want[i] = 1;
                    found = 1;
                }
            }
            if (!found)
                return av_fail(errbuf, AV_EINVAL,
                               "unknown region \"%s\" (see `avalanche regions` for ids)", tok);
        }
        any = 1;
        p += strcspn(p, ",");
        if (*p == ',')
            p++;
    }
    if (!any)
        return av_fail(errbuf, AV_EINVAL, "empty region selection");
    *n = 0;
    for (int i = 0; i < NREG; i++)
        if (want[i])
            ids[(*n)++] = catalog[i].id;
    return AV_OK;
}
