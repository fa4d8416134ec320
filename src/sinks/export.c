/* export.c - JSONL and CSV writers for the warnings/problems datasets. */
#include "export.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "../core/buf.h"
#include "../core/tz.h"

/* The field lists: one table per dataset drives both formats. */
enum kind { K_INT, K_INT64, K_STR, K_CHARS, K_MS, K_DATE, K_ASPECTS };

struct field {
    const char *name;
    enum kind kind;
    size_t off; /* offset into av_warning or av_problem */
};

#define WF(n, k, m) {n, k, offsetof(struct av_warning, m)}
#define PF(n, k, m) {n, k, offsetof(struct av_problem, m)}

static const struct field wfields[] = {
    WF("region_id", K_INT, region_id),
    WF("region_name", K_STR, region_name),
    WF("region_type", K_CHARS, region_type),
    WF("valid_date", K_DATE, valid_date),
    WF("lang", K_INT, lang),
    WF("reg_id", K_INT64, reg_id),
    WF("danger_level", K_INT, danger_level),
    WF("danger_level_name", K_STR, danger_level_name),
    WF("valid_from", K_MS, valid_from),
    WF("valid_to", K_MS, valid_to),
    WF("publish_time", K_MS, publish_time),
    WF("next_warning_time", K_MS, next_warning_time),
    WF("danger_increase_time", K_MS, danger_increase_time),
    WF("danger_decrease_time", K_MS, danger_decrease_time),
    WF("is_tendency", K_INT, is_tendency),
    WF("main_text", K_STR, main_text),
    WF("avalanche_danger", K_STR, avalanche_danger),
    WF("emergency_warning", K_STR, emergency_warning),
    WF("snow_surface", K_STR, snow_surface),
    WF("current_weak_layers", K_STR, current_weak_layers),
    WF("latest_avalanche_activity", K_STR, latest_avalanche_activity),
    WF("latest_observations", K_STR, latest_observations),
    WF("author", K_STR, author),
    WF("utm_zone", K_INT, utm_zone),
    WF("utm_east", K_INT, utm_east),
    WF("utm_north", K_INT, utm_north),
};

static const struct field pfields[] = {
    PF("problem_id", K_INT, problem_id),
    PF("problem_type_id", K_INT, type_id),
    PF("problem_type_name", K_STR, type_name),
    PF("avalanche_type_id", K_INT, aval_type_id),
    PF("avalanche_type_name", K_STR, aval_type_name),
    PF("ext_id", K_INT, ext_id),
    PF("ext_name", K_STR, ext_name),
    PF("cause_id", K_INT, cause_id),
    PF("cause_name", K_STR, cause_name),
    PF("probability_id", K_INT, probability_id),
    PF("probability_name", K_STR, probability_name),
    PF("trigger_simple_id", K_INT, trigger_simple_id),
    PF("trigger_simple_name", K_STR, trigger_simple_name),
    PF("trigger_sensitivity_id", K_INT, trigger_sensitivity_id),
    PF("trigger_sensitivity_name", K_STR, trigger_sensitivity_name),
    PF("destructive_size_id", K_INT, destructive_size_id),
    PF("destructive_size_name", K_STR, destructive_size_name),
    PF("propagation_id", K_INT, propagation_id),
    PF("propagation_name", K_STR, propagation_name),
    PF("aspects", K_ASPECTS, aspects),
    PF("exposed_height_fill", K_INT, exposed_height_fill),
    PF("exposed_height_1", K_INT, exposed_height_1),
    PF("exposed_height_2", K_INT, exposed_height_2),
    PF("exposed_min_m", K_INT, exposed_min_m),
    PF("exposed_max_m", K_INT, exposed_max_m),
    PF("exposed_heights", K_STR, exposed_text),
    PF("danger_level", K_INT, danger_level),
    PF("danger_level_name", K_STR, danger_level_name),
};

#define NW (sizeof(wfields) / sizeof(wfields[0]))
#define NP (sizeof(pfields) / sizeof(pfields[0]))

void av_export_init(struct av_export *e, FILE *out, enum av_dataset ds, enum av_format fmt)
{
    memset(e, 0, sizeof(*e));
    e->out = out;
    e->ds = ds;
    e->fmt = fmt;
}

/* Field value -> JSON text (null when absent). */
static void json_value(struct av_buf *b, const struct field *f, const void *base)
{
    const char *p = (const char *)base + f->off;

    switch (f->kind) {
    case K_INT:
    case K_INT64: {
        int64_t v = f->kind == K_INT64 ? *(const int64_t *)p : *(const int *)p;
        if (v == AV_NULL_INT)
            av_buf_puts(b, "null");
        else
            av_buf_printf(b, "%lld", (long long)v);
        break;
    }
    case K_STR:
    case K_CHARS: {
        const char *s = f->kind == K_CHARS ? p : *(const char *const *)p;
        if (s == NULL || (f->kind == K_CHARS && s[0] == '\0'))
            av_buf_puts(b, "null");
        else
            av_json_quote(b, s);
        break;
    }
    case K_MS: {
        av_ms t = *(const av_ms *)p;
        char s[AV_STAMP_LEN];
        if (t == AV_NULL_MS) {
            av_buf_puts(b, "null");
        } else {
            av_stamp_format(t, s);
            av_buf_printf(b, "\"%s\"", s);
        }
        break;
    }
    case K_DATE: {
        char d[AV_DATE_LEN];
        av_date_format(*(const int64_t *)p, d);
        av_buf_printf(b, "\"%s\"", d);
        break;
    }
    case K_ASPECTS: {
        int m = *(const int *)p, first = 1;
        if (m == AV_NULL_INT) {
            av_buf_puts(b, "[]");
            break;
        }
        av_buf_putc(b, '[');
        for (int i = 0; i < 8; i++) {
            if (m & (1 << i)) {
                av_buf_printf(b, "%s\"%s\"", first ? "" : ",", av_aspect_names[i]);
                first = 0;
            }
        }
        av_buf_putc(b, ']');
        break;
    }
    }
}

/* Field value -> CSV cell (RFC 4180: quote when needed, double quotes). */
static void csv_value(struct av_buf *b, const struct field *f, const void *base)
{
    struct av_buf tmp;
    const char *s;

    av_buf_init(&tmp, 0);
    if (f->kind == K_STR || f->kind == K_CHARS) {
        s = f->kind == K_CHARS ? (const char *)base + f->off
                               : *(const char *const *)((const char *)base + f->off);
        if (s == NULL) {
            av_buf_free(&tmp);
            return;
        }
    } else if (f->kind == K_ASPECTS) {
        int m = *(const int *)((const char *)base + f->off);
        av_buf_puts(&tmp, "");
        for (int i = 0; m != AV_NULL_INT && i < 8; i++)
            if (m & (1 << i))
                av_buf_printf(&tmp, "%s%s", tmp.len ? "," : "", av_aspect_names[i]);
        s = tmp.data ? tmp.data : "";
    } else {
        json_value(&tmp, f, base);
        s = tmp.data;
        if (strcmp(s, "null") == 0)
            s = "";
        else if (s[0] == '"') { /* dates and stamps: drop the JSON quotes */
            tmp.data[tmp.len - 1] = '\0';
            s = tmp.data + 1;
        }
    }
    if (strpbrk(s, ",\"\r\n") == NULL) {
        av_buf_puts(b, s);
    } else {
        av_buf_putc(b, '"');
        for (; *s; s++) {
            if (*s == '"')
                av_buf_putc(b, '"');
            av_buf_putc(b, *s);
        }
        av_buf_putc(b, '"');
    }
    av_buf_free(&tmp);
}

/* The members of a problem object, without braces. */
static void json_problem_members(struct av_buf *b, const struct av_problem *p)
{
    for (size_t i = 0; i < NP; i++) {
        av_buf_printf(b, "%s\"%s\":", i ? "," : "", pfields[i].name);
        json_value(b, &pfields[i], p);
    }
}

static int emit(struct av_export *e, struct av_buf *b)
{
    if (b->len && fwrite(b->data, 1, b->len, e->out) != b->len) {
        e->io_error = errno ? errno : EIO;
        return -1;
    }
    return 0;
}

static void csv_header(struct av_export *e, struct av_buf *b)
{
    if (e->header_done)
        return;
    e->header_done = 1;
    if (e->ds == AV_DS_WARNINGS) {
        for (size_t i = 0; i < NW; i++)
            av_buf_printf(b, "%s%s", i ? "," : "", wfields[i].name);
        av_buf_puts(b, ",problem_count\r\n");
    } else {
        av_buf_puts(b, "region_id,valid_date,lang");
        for (size_t i = 0; i < NP; i++)
            av_buf_printf(b, ",%s", pfields[i].name);
        av_buf_puts(b, "\r\n");
    }
}

int av_export_warning(struct av_export *e, const struct av_warning *w)
{
    struct av_buf b;
    int r;

    av_buf_init(&b, 0);
    if (e->fmt == AV_FMT_CSV)
        csv_header(e, &b);
    if (e->ds == AV_DS_WARNINGS && e->fmt == AV_FMT_JSONL) {
        av_buf_putc(&b, '{');
        for (size_t i = 0; i < NW; i++) {
            av_buf_printf(&b, "%s\"%s\":", i ? "," : "", wfields[i].name);
            json_value(&b, &wfields[i], w);
        }
        av_buf_puts(&b, ",\"problems\":[");
        for (int k = 0; k < w->n_problems; k++) {
            if (k)
                av_buf_putc(&b, ',');
            av_buf_putc(&b, '{');
            json_problem_members(&b, &w->problems[k]);
            av_buf_putc(&b, '}');
        }
        av_buf_puts(&b, "]}\n");
        e->rows++;
    } else if (e->ds == AV_DS_WARNINGS) {
        for (size_t i = 0; i < NW; i++) {
            if (i)
                av_buf_putc(&b, ',');
            csv_value(&b, &wfields[i], w);
        }
        av_buf_printf(&b, ",%d\r\n", w->n_problems);
        e->rows++;
    } else {
        for (int k = 0; k < w->n_problems; k++) {
            const struct av_problem *p = &w->problems[k];
            char d[AV_DATE_LEN];
            av_date_format(w->valid_date, d);
            if (e->fmt == AV_FMT_JSONL) {
                av_buf_printf(&b, "{\"region_id\":%d,\"valid_date\":\"%s\",\"lang\":%d,",
                              w->region_id, d, w->lang);
                json_problem_members(&b, p);
                av_buf_puts(&b, "}\n");
            } else {
                av_buf_printf(&b, "%d,%s,%d", w->region_id, d, w->lang);
                for (size_t i = 0; i < NP; i++) {
                    av_buf_putc(&b, ',');
                    csv_value(&b, &pfields[i], p);
                }
                av_buf_puts(&b, "\r\n");
            }
            e->rows++;
        }
    }
    r = emit(e, &b);
    av_buf_free(&b);
    return r;
}

av_rc av_export_finish(struct av_export *e, char *errbuf)
{
    struct av_buf b;

    av_buf_init(&b, 0);
    if (e->fmt == AV_FMT_CSV)
        csv_header(e, &b);
    emit(e, &b);
    av_buf_free(&b);
    if (fflush(e->out) != 0 && !e->io_error)
        e->io_error = errno ? errno : EIO;
    if (e->io_error)
        return av_fail(errbuf, AV_EIO, "writing the export failed: %s", strerror(e->io_error));
    return AV_OK;
}
