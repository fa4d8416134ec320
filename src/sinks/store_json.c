/* store_json.c - JSON writers for runs, fetch state and regions (see
 * store_json.h). */
#include "store_json.h"

#include "../core/json.h"

static void str(struct av_buf *b, const char *key, const char *v, int comma)
{
    av_buf_printf(b, "%s\"%s\":", comma ? "," : "", key);
    if (v)
        av_json_quote(b, v);
    else
        av_buf_puts(b, "null");
}

void av_json_run(struct av_buf *b, const struct av_run_row *r)
{
    av_buf_printf(b, "{\"id\":%lld", (long long)r->id);
    str(b, "kind", r->kind, 1);
    str(b, "status", r->status, 1);
    str(b, "started_at", r->started_at, 1);
    str(b, "ended_at", r->ended_at, 1);
    av_buf_printf(b,
                  ",\"units_total\":%d,\"units_ok\":%d,\"units_rejected\":%d,"
                  "\"units_failed\":%d,\"warnings_stored\":%ld,\"warnings_unchanged\":%ld,"
                  "\"warnings_rejected\":%ld",
                  r->c.units_total, r->c.units_ok, r->c.units_rejected, r->c.units_failed,
                  r->c.warnings_stored, r->c.warnings_unchanged, r->c.warnings_rejected);
    str(b, "error", r->error, 1);
    av_buf_putc(b, '}');
}

void av_json_state(struct av_buf *b, const struct av_state_row *r, long warnings)
{
    av_buf_printf(b, "{\"region_id\":%d,\"lang\":%d", r->region_id, r->lang);
    str(b, "endpoint", r->endpoint, 1);
    str(b, "last_date", r->last_date, 1);
    str(b, "last_fetch", r->last_fetch, 1);
    str(b, "last_status", r->last_status, 1);
    str(b, "last_error", r->last_error, 1);
    if (warnings < 0)
        av_buf_puts(b, ",\"warnings\":null");
    else
        av_buf_printf(b, ",\"warnings\":%ld", warnings);
    av_buf_printf(b, ",\"rejects\":%ld}", r->rejects);
}

void av_json_hole(struct av_buf *b, const struct av_hole *h)
{
    char f[AV_DATE_LEN], t[AV_DATE_LEN], since[AV_STAMP_LEN];

    av_date_format(h->from, f);
    av_date_format(h->to, t);
    av_stamp_format(h->since, since);
    av_buf_printf(b, "{\"region_id\":%d,\"lang\":%d", h->region_id, h->lang);
    str(b, "endpoint", h->endpoint, 1);
    av_buf_printf(b, ",\"from\":\"%s\",\"to\":\"%s\",\"days\":%lld,\"since\":\"%s\"}", f, t,
                  (long long)(h->to - h->from + 1), since);
}

void av_json_region(struct av_buf *b, const struct av_region *r, int with_last,
                    const char *last_date)
{
    av_buf_printf(b, "{\"id\":%d", r->id);
    str(b, "name", r->name, 1);
    av_buf_printf(b, ",\"type\":\"%c\",\"active\":%s", r->type, r->active ? "true" : "false");
    if (with_last)
        str(b, "last_date", last_date, 1);
    av_buf_putc(b, '}');
}
