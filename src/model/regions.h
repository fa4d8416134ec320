/* regions.h - the built-in catalog of Varsom forecast regions.
 *
 * Ids, names and A/B types of the 46 regions (3001-3046) as of the 2025-26
 * season; "active" = A regions, which get a daily warning in season (the
 * default set). Source: ../shared/varsom-api.md §9. Static data, no I/O.
 */
#ifndef AV_REGIONS_H
#define AV_REGIONS_H

#include "../core/err.h"

struct av_region {
    int id;
    const char *name;
    char type; /* 'A' or 'B' */
    int active;
};

#define AV_MAX_REGIONS 64

int av_regions_count(void);
const struct av_region *av_region_at(int i);
const struct av_region *av_region_find(int id);

/* Parses a selection: "A" (active regions), "all", or ids separated by
 * commas ("3011,3022"); several specs can be combined with commas.
 * Writes unique ids in catalog order to ids (AV_MAX_REGIONS), count to *n.
 * Unknown ids are an error naming the id. */
av_rc av_regions_select(const char *spec, int *ids, int *n, char *errbuf);

#endif
