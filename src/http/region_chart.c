/* region_chart.c - the region page's window and danger charts, pure (see
 * region_chart.h). */
#include "region_chart.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/tz.h"
#include "dash_quality.h" /* av_quality_utf8_trim */
#include "dash_region.h"  /* AV_DAY_LATEST */

/* Danger level colours used by the European avalanche warning services. */
static const char *const level_colour[6] = {"#d9d9d9", "#ccff66", "#ffff00",
                                            "#ff9900", "#ff0000", "#000000"};
static const char *const level_name[6] = {"not assessed", "1 low", "2 moderate",
                                          "3 considerable", "4 high", "5 very high"};

const char *av_level_colour(int l) { return l >= 0 && l <= 5 ? level_colour[l] : "#ffffff"; }

const char *av_level_name(int l) { return l >= 0 && l <= 5 ? level_name[l] : "no data"; }

void av_rgc_window(int season, int64_t day, int64_t today, int64_t *first, int *ndays)
{
    if (season > 0) {
        *first = av_days_from_civil(season, 10, 1);
        *ndays = (int)(av_days_from_civil(season + 1, 7, 1) - *first);
        return;
    }
    if (day == AV_DAY_LATEST)
        day = today;
    *first = day - AV_RGC_AROUND;
    *ndays = AV_RGC_AROUND + 1 + AV_RGC_AFTER;
}

void av_rgc_init(struct av_rgc *c, int64_t first, int ndays, int lang)
{
    memset(c, 0, sizeof(*c));
    if (first > INT64_MAX - AV_RGC_MAX_DAYS) /* first + ndays must not overflow */
        first = INT64_MAX - AV_RGC_MAX_DAYS;
    c->first = first;
    c->ndays = ndays < 1 ? 1 : ndays > AV_RGC_MAX_DAYS ? AV_RGC_MAX_DAYS : ndays;
    c->want_lang = lang == 2 ? 2 : 1;
    memset(c->level, -1, sizeof(c->level));
}

int av_rgc_index(const struct av_rgc *c, int64_t date)
{
    if (date < c->first || date > c->first + (c->ndays - 1))
        return -1;
    return (int)(date - c->first);
}

/* s cut to fit AV_RGC_NAME_LEN, never inside a UTF-8 sequence. */
static void copy_name(char out[AV_RGC_NAME_LEN], const char *s)
{
    size_t n = strlen(s);

    if (n > AV_RGC_NAME_LEN - 1)
        n = av_quality_utf8_trim(s, AV_RGC_NAME_LEN - 1);
    memcpy(out, s, n);
    out[n] = '\0';
}

/* The row of type id, a new one when there is room; -1 when not. */
static int type_row(struct av_rgc *c, int id)
{
    for (int i = 0; i < c->ntypes; i++)
        if (c->type[i].id == id)
            return i;
    if (c->ntypes == AV_RGC_MAX_TYPES)
        return -1;
    c->type[c->ntypes].id = id;
    c->type[c->ntypes].name_lang = 0;
    c->type[c->ntypes].name[0] = '\0';
    memset(c->type[c->ntypes].size, -1, sizeof(c->type[0].size));
    return c->ntypes++;
}

int av_rgc_put(struct av_rgc *c, const struct av_warning *w)
{
    int k = av_rgc_index(c, w->valid_date), np;
    int lang = w->lang == 1 || w->lang == 2 ? w->lang : 0;

    if (k < 0)
        return 0;
    if (c->lang[k] && (c->lang[k] == c->want_lang || lang != c->want_lang))
        return 0;
    c->lang[k] = (signed char)(lang ? lang : 3 - c->want_lang); /* unknown: never wanted */
    c->level[k] = (signed char)(w->danger_level >= 0 && w->danger_level <= 5 ? w->danger_level
                                                                            : -1);
    for (int i = 0; i < c->ntypes; i++) /* the other language's problems go */
        c->type[i].size[k] = -1;
    np = w->n_problems < 0 ? 0 : w->n_problems;
    if (np > AV_MAX_PROBLEMS) {
        c->dropped += np - AV_MAX_PROBLEMS;
        np = AV_MAX_PROBLEMS;
    }
    for (int j = 0; j < np; j++) {
        const struct av_problem *p = &w->problems[j];
        int size = p->destructive_size_id >= 1 && p->destructive_size_id <= 5
                       ? p->destructive_size_id
                       : 0;
        int row = type_row(c, p->type_id);
        if (row < 0) {
            c->dropped++;
            continue;
        }
        if (c->type[row].size[k] < size) /* one type twice that day: the larger size */
            c->type[row].size[k] = (signed char)size;
        if (p->type_name && *p->type_name &&
            (c->type[row].name_lang == 0 ||
             (lang == c->want_lang && c->type[row].name_lang != c->want_lang))) {
            copy_name(c->type[row].name, p->type_name);
            c->type[row].name_lang = lang ? lang : 3 - c->want_lang;
        }
        if (size && p->destructive_size_name && *p->destructive_size_name &&
            (c->size_name[size][0] == '\0' || lang == c->want_lang))
            copy_name(c->size_name[size], p->destructive_size_name);
    }
    return 1;
}

int av_rgc_lang_of(const struct av_rgc *c, int64_t date)
{
    int k = av_rgc_index(c, date);

    return k < 0 ? 0 : c->lang[k];
}

static int by_id(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b; /* id is the first member */

    return (x > y) - (x < y);
}

void av_rgc_layout(struct av_rgc *c)
{
    int n = 0;

    for (int i = 0; i < c->ntypes; i++) {
        int used = 0;
        for (int k = 0; k < c->ndays && !used; k++)
            used = c->type[i].size[k] >= 0;
        if (!used)
            continue;
        if (n != i)
            c->type[n] = c->type[i];
        n++;
    }
    c->ntypes = n;
    qsort(c->type, (size_t)n, sizeof(c->type[0]), by_id);
}

double av_rgc_x(const struct av_rgc *c, int k)
{
    k = k < 0 ? 0 : k > c->ndays ? c->ndays : k;
    return AV_WXC_PL + k * ((AV_WXC_PR - AV_WXC_PL) / c->ndays);
}

double av_rgc_level_y(int level)
{
    if (level < 0 || level > 5)
        level = 0;
    return AV_RGC_DB - level * ((AV_RGC_DB - AV_RGC_DT) / 5.0);
}

double av_rgc_timeline_h(const struct av_rgc *c)
{
    int rows = c->ntypes < 1 ? 1 : c->ntypes > AV_RGC_MAX_TYPES ? AV_RGC_MAX_TYPES : c->ntypes;

    return AV_RGC_TT + rows * AV_RGC_ROW_H + 48; /* day labels and the legend below */
}

double av_rgc_row_base(const struct av_rgc *c, int row)
{
    int rows = c->ntypes < 1 ? 1 : c->ntypes;

    row = row < 0 ? 0 : row >= rows ? rows - 1 : row;
    return AV_RGC_TT + (row + 1) * AV_RGC_ROW_H - 2;
}
