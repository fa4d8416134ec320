/* store_json.h - the state store's rows as JSON, one writer per row kind,
 * shared by `status --json` and the HTTP API so both answer the same
 * shape. Appends to a buffer; never fails (a buffer past its ceiling
 * keeps what fit). */
#ifndef AV_STORE_JSON_H
#define AV_STORE_JSON_H

#include "../core/buf.h"
#include "../model/regions.h"
#include "store.h"

/* {"id":..,"kind":..,"status":..,"started_at":..,"ended_at":..,
 *  "units_total":.. .. "warnings_rejected":..,"error":..} */
void av_json_run(struct av_buf *b, const struct av_run_row *r);
/* {"region_id":..,"lang":..,"endpoint":..,"last_date":..,"last_fetch":..,
 *  "last_status":..,"last_error":..,"warnings":..,"rejects":..};
 * warnings < 0 (the sink cannot count) is null. */
void av_json_state(struct av_buf *b, const struct av_state_row *r, long warnings);
/* {"region_id":..,"lang":..,"endpoint":..,"from":..,"to":..,"days":..,
 *  "since":..}: a hole (store.h). */
void av_json_hole(struct av_buf *b, const struct av_hole *h);
/* {"id":..,"name":..,"type":"A","active":true[,"last_date":..]}: with_last
 * adds last_date (NULL -> null). */
void av_json_region(struct av_buf *b, const struct av_region *r, int with_last,
                    const char *last_date);

#endif
