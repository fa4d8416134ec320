/* record_json.c - a warning with its children as JSON and back (see
 * record_json.h). */
#include "record_json.h"

#include <string.h>

#include "../core/pool.h"

static const struct av_dataset *const families[] = {&av_ds_warning, &av_ds_problem,
                                                     &av_ds_advice, &av_ds_weather, NULL};

static void members(struct av_buf *b, const struct av_dataset *ds, const struct av_warning *w,
                    const void *rec)
{
    int first = 1;

    for (int i = 0; i < ds->nfields; i++) {
        const struct av_field *f = &ds->fields[i];
        const void *p = av_field_ptr(f, w, rec);
        char tmp[32];
        if ((ds->parent && (f->flags & AV_FF_PARENT)) || av_field_is_null(f, p))
            continue;
        av_buf_printf(b, "%s\"%s\":", first ? "" : ",", f->name);
        first = 0;
        if (av_field_is_integer(f))
            av_buf_printf(b, "%lld", (long long)av_field_get_int(f, p));
        else
            av_json_quote(b, av_field_get_text(f, p, tmp));
    }
}

void av_record_json(struct av_buf *b, const struct av_warning *w)
{
    av_buf_putc(b, '{');
    members(b, &av_ds_warning, w, w);
    for (int d = 1; families[d]; d++) {
        const struct av_dataset *ds = families[d];
        int n = av_ds_count(ds, w);
        if (n == 0)
            continue;
        av_buf_printf(b, ",\"%s\":[", ds->name);
        for (int k = 0; k < n; k++) {
            av_buf_puts(b, k ? ",{" : "{");
            members(b, ds, w, av_ds_record(ds, w, k));
            av_buf_putc(b, '}');
        }
        av_buf_putc(b, ']');
    }
    av_buf_putc(b, '}');
}

/* The fields of ds in object obj into rec (w: its warning). */
static av_rc read_members(struct av_json *j, int obj, const struct av_dataset *ds,
                          struct av_warning *w, void *rec, struct av_pool *pool,
                          struct av_buf *tmp, char *errbuf)
{
    for (int i = 0; i < ds->nfields; i++) {
        const struct av_field *f = &ds->fields[i];
        void *p = av_field_ptr(f, w, rec);
        int v;
        if (ds->parent && (f->flags & AV_FF_PARENT))
            continue;
        v = av_json_get(j, obj, f->name);
        if (v < 0 || av_json_type(j, v) == AV_JSON_NULL) {
            if (f->flags & AV_FF_KEY)
                return av_fail(errbuf, AV_EPARSE, "history record without its %s", f->name);
            av_field_set_null(f, p);
        } else if (av_field_is_integer(f)) {
            int64_t x;
            if (av_json_int(j, v, &x) != AV_OK)
                return av_fail(errbuf, AV_EPARSE, "history record: %s is not an integer",
                               f->name);
            av_field_set_int(f, p, x);
        } else {
            size_t off;
            av_buf_reset(tmp);
            if (av_json_str(j, v, tmp, &off) != AV_OK || tmp->failed)
                return av_fail(errbuf, AV_EPARSE, "history record: %s is not a string",
                               f->name);
            /* av_json_str keeps the NUL in len */
            av_field_set_text(f, p, tmp->data + off, strlen(tmp->data + off), pool);
        }
    }
    return AV_OK;
}

av_rc av_record_parse(struct av_json *j, const char *text, size_t len, struct av_warning *w,
                      struct av_pool *pool, char *errbuf)
{
    struct av_buf tmp;
    char why[AV_ERRBUF_SIZE];
    av_rc rc;

    memset(w, 0, AV_WARNING_HEAD_SIZE);
    w->n_problems = w->n_advices = w->has_weather = 0;
    if (av_json_parse(j, text, len, why) != AV_OK || av_json_type(j, 0) != AV_JSON_OBJECT)
        return av_fail(errbuf, AV_EPARSE, "history record is not a JSON object");
    av_buf_init(&tmp, 0);
    rc = read_members(j, 0, &av_ds_warning, w, w, pool, &tmp, errbuf);
    for (int d = 1; rc == AV_OK && families[d]; d++) {
        const struct av_dataset *ds = families[d];
        int *count = (int *)(void *)((char *)w + ds->count_off);
        int a = av_json_get(j, 0, ds->name);
        if (a < 0)
            continue;
        if (av_json_type(j, a) != AV_JSON_ARRAY) {
            rc = av_fail(errbuf, AV_EPARSE, "history record: %s is not an array", ds->name);
            break;
        }
        for (int k = 0, e = av_json_first(a); rc == AV_OK && k < av_json_size(j, a);
             k++, e = av_json_skip(j, e)) {
            void *rec;
            if (*count >= ds->max || av_json_type(j, e) != AV_JSON_OBJECT) {
                rc = av_fail(errbuf, AV_EPARSE, "history record: bad %s", ds->name);
                break;
            }
            rec = av_ds_record(ds, w, *count);
            av_ds_clear(ds, rec);
            rc = read_members(j, e, ds, w, rec, pool, &tmp, errbuf);
            (*count)++;
        }
    }
    av_buf_free(&tmp);
    return rc;
}
