/* warning.h - the transform: one raw Varsom warning (JSON) -> a clean record
 * (struct av_warning, src/model/record.h).
 *
 * Pure code: no I/O, no clock, no globals. Input is a parsed JSON document
 * and the token of one warning object (an element of the API's array);
 * output is a struct av_warning whose strings live in the transform's arena
 * until the next call. Accepts API 6.0-6.3 shapes, Simple and Detail:
 * missing keys, nulls and wrong JSON types become absent fields; DangerLevel
 * may be a string or an int; names are trimmed (the API leaves "\r\n" and
 * trailing spaces). Mountain-weather measurements go to their typed member
 * of struct av_weather, the unknown ones to its `other` (JSON).
 *
 * A warning is rejected (AV_EREJECT, reason in errbuf) when it has no
 * usable RegionId, no parseable ValidFrom, no LangKey (and no hint), a
 * danger level outside 0-5, or more problems, advices or measurements than
 * the ceilings of record.h. Everything else is kept. The arena never moves
 * while a warning is filled (its size is fixed per warning from the raw
 * size); a warning that would not fit is rejected, never overrun.
 *
 * Times: the API's local Oslo wall-clock stamps become UTC instants
 * (av_ms); valid_date is the local date of ValidFrom (the natural key).
 * endpoint, raw_id and ingested_at are left for the caller to set.
 */
#ifndef AV_WARNING_H
#define AV_WARNING_H

#include <stdint.h>

#include "../core/buf.h"
#include "../core/json.h"
#include "../model/record.h"

struct av_xform {
    struct av_buf arena; /* strings of the last warning */
    struct av_buf tmp;   /* scratch while building joined strings */
};

void av_xform_init(struct av_xform *x);
void av_xform_free(struct av_xform *x);

/* Transforms the warning object at token tok of doc into *w. lang_hint is
 * the requested language (used when LangKey is absent; 0 = none).
 * AV_OK, AV_EREJECT (reason in errbuf) or AV_ENOMEM. */
av_rc av_xform_warning(struct av_xform *x, struct av_json *doc, int tok,
                       int lang_hint, struct av_warning *w, char *errbuf);

#endif
