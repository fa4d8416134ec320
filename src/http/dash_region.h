/* dash_region.h - the chosen day of a region page (/region/ID?date=D): the
 * full warning of that day as stored (one language): main message,
 * danger assessment, snow surface, current weak layers, the avalanche
 * problems each with its rose (rose.h), type, cause, size, sensitivity and
 * probability, the advices and the mountain weather; a link to the day on
 * varsom.no and links to the previous and next day. HTML only; every text
 * from the store is escaped. dashboard.c puts it on the page. */
#ifndef AV_DASH_REGION_H
#define AV_DASH_REGION_H

#include <stdint.h>

#include "../core/buf.h"
#include "../core/err.h"

struct av_sink;
struct av_region;

#define AV_DAY_LATEST INT64_MIN /* no ?date=: a link to the latest stored day */

/* Appends the day's section for region reg to b. day = AV_DAY_LATEST (no
 * ?date=): only a link (id="day-latest") to the latest day stored for the
 * region, any language; the full day is one click away, so /region/ID
 * keeps no rose. A day (or a region) without a warning gets a note
 * (id="day-note"), not an error. lang 1|2: the day's warning in that
 * language when stored, else in the other (0 = not asked: 1); a note
 * (id="day-lang") says when the other one is shown. keep is appended to
 * every day link (already escaped: "" or "&amp;season=...&amp;lang=2").
 * Returns AV_OK, or the sink's error after a failed read, which is also
 * written into the section and into errbuf: the caller answers 500. */
av_rc av_region_day(struct av_buf *b, struct av_sink *sink, const struct av_region *reg,
                    int64_t day, int lang, const char *keep, char *errbuf);

#endif
