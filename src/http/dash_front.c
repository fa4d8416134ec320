/* dash_front.c - the front page's grid (see dash_front.h). Pure code. */
#include "dash_front.h"

#include <string.h>

void av_dash_grid_init(struct av_dash_grid *g, int64_t day, int lang)
{
    memset(g->level, -1, sizeof(g->level));
    memset(g->lang, 0, sizeof(g->lang));
    g->first = day - AV_DASH_BEFORE;
    g->want_lang = lang == 2 ? 2 : 1;
}

int av_dash_grid_put(struct av_dash_grid *g, int ri, int64_t date, int lang, int level)
{
    int64_t k = date - g->first;

    if (ri < 0 || ri >= AV_MAX_REGIONS || k < 0 || k >= AV_DASH_DAYS || level < 0 || level > 5)
        return 0;
    if (g->level[ri][k] >= 0 && (g->lang[ri][k] == g->want_lang || lang != g->want_lang))
        return 0;
    g->level[ri][k] = (signed char)level;
    g->lang[ri][k] = (signed char)(lang == 1 || lang == 2 ? lang : 0);
    return 1;
}

int av_dash_grid_at(const struct av_dash_grid *g, int ri, int64_t date, int *lang)
{
    int64_t k = date - g->first;
    int in = ri >= 0 && ri < AV_MAX_REGIONS && k >= 0 && k < AV_DASH_DAYS;

    if (lang)
        *lang = in ? g->lang[ri][k] : 0;
    return in ? g->level[ri][k] : -1;
}

int av_dash_grid_counts(const struct av_dash_grid *g, int nregions, int64_t date, int counts[7])
{
    int with = 0;

    memset(counts, 0, 7 * sizeof(counts[0]));
    if (nregions > AV_MAX_REGIONS)
        nregions = AV_MAX_REGIONS;
    for (int i = 0; i < nregions; i++) {
        int l = av_dash_grid_at(g, i, date, NULL);
        counts[l >= 0 ? l : 6]++;
        with += l >= 0;
    }
    return with;
}
