/* record_json.h - a whole warning (its fields and every child record) as
 * one JSON object and back: the `record` of a publication in the history
 * (av_ds_version, src/model/dataset.h).
 *
 * Written from the descriptions: every field of the warning and of each
 * child (bookkeeping included, the history's own fields not), named by
 * field name; absent values are left out. Integers are JSON numbers, the
 * rest strings as av_field_get_text() formats them, so a record read back
 * equals the one written, whatever fields a later schema adds (they read
 * as absent). Children go in arrays named by their dataset ("problems",
 * "advices", "mountain_weather"). Pure; the parse fails with AV_EPARSE
 * (one line in errbuf) on anything that is not such an object.
 */
#ifndef AV_RECORD_JSON_H
#define AV_RECORD_JSON_H

#include "../core/buf.h"
#include "../core/json.h"
#include "../model/dataset.h"

struct av_pool;

/* Appends w as one JSON object (no newline). */
void av_record_json(struct av_buf *b, const struct av_warning *w);
/* Fills w from text (strings copied into pool; j is a reusable
 * tokenizer). The key fields must be present. */
av_rc av_record_parse(struct av_json *j, const char *text, size_t len, struct av_warning *w,
                      struct av_pool *pool, char *errbuf);

#endif
