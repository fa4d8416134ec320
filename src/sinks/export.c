/* export.c - JSONL and CSV writers driven by the dataset descriptions. */
#include "export.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../core/json.h"
#include "../core/tz.h"

static int exported(const struct av_field *f)
{
    return !(f->flags & (AV_FF_LOCAL | AV_FF_NOEXPORT));
}

/* Whether field f of e->extra is a column of its own (exported, and not
 * one of the dataset's exported fields). */
static int extra_column(const struct av_dataset *ds, const struct av_field *f)
{
    if (!exported(f))
        return 0;
    for (int i = 0; i < ds->nfields; i++)
        if (exported(&ds->fields[i]) && strcmp(ds->fields[i].name, f->name) == 0)
            return 0;
    return 1;
}

void av_export_init(struct av_export *e, FILE *out, const struct av_dataset *ds,
                    enum av_format fmt)
{
    memset(e, 0, sizeof(*e));
    e->out = out;
    e->ds = ds;
    e->fmt = fmt;
    av_buf_init(&e->line, 0);
}

/* A whole JSON number (RFC 8259 grammar) - then it is written unquoted. */
static int json_number(const char *s)
{
    const char *p = s;

    if (*p == '-')
        p++;
    if (*p == '0')
        p++;
    else if (*p >= '1' && *p <= '9')
        while (*p >= '0' && *p <= '9')
            p++;
    else
        return 0;
    if (*p == '.') {
        if (!(*++p >= '0' && *p <= '9'))
            return 0;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!(*p >= '0' && *p <= '9'))
            return 0;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    return *p == '\0';
}

static void json_value(struct av_buf *b, const struct av_field *f, const void *p)
{
    char tmp[32];
    const char *s = av_field_get_text(f, p, tmp);

    if (f->type == AV_FT_ASPECTS) {
        int m = s ? *(const int *)p : 0, first = 1;
        av_buf_putc(b, '[');
        for (int i = 0; i < 8; i++) {
            if (m & (1 << i)) {
                av_buf_printf(b, "%s\"%s\"", first ? "" : ",", av_aspect_names[i]);
                first = 0;
            }
        }
        av_buf_putc(b, ']');
        return;
    }
    if (s == NULL) {
        av_buf_puts(b, "null");
        return;
    }
    switch (f->type) {
    case AV_FT_I8:
    case AV_FT_I32:
    case AV_FT_I64:
    case AV_FT_BOOL:
    case AV_FT_F64:
        av_buf_puts(b, s);
        break;
    case AV_FT_NUMTEXT:
        if (json_number(s))
            av_buf_puts(b, s);
        else
            av_json_quote(b, s);
        break;
    default:
        av_json_quote(b, s);
    }
}

/* A text value a spreadsheet would run as a formula (OWASP's list). */
static int formula_like(const struct av_field *f, const char *s)
{
    switch (f->type) {
    case AV_FT_I8:
    case AV_FT_I32:
    case AV_FT_I64:
    case AV_FT_BOOL:
    case AV_FT_TIME:
    case AV_FT_DATE:
    case AV_FT_F64:
    case AV_FT_WXSRC:
        return 0;
    case AV_FT_NUMTEXT:
        if (json_number(s))
            return 0; /* -5 is a temperature */
        break;
    default:
        break;
    }
    return s[0] && strchr("=+-@\t\r", s[0]) != NULL;
}

/* RFC 4180 cell: quoted when needed, quotes doubled; empty when absent;
 * guarded with a leading ' when it would be a formula (see export.h). */
static void csv_value(struct av_buf *b, const struct av_field *f, const void *p, int raw)
{
    char tmp[32];
    const char *s = av_field_get_text(f, p, tmp);
    int guard;

    if (s == NULL)
        return;
    guard = !raw && formula_like(f, s);
    if (!guard && strpbrk(s, ",\"\r\n") == NULL) {
        av_buf_puts(b, s);
        return;
    }
    av_buf_putc(b, '"');
    if (guard)
        av_buf_putc(b, '\'');
    for (; *s; s++) {
        if (*s == '"')
            av_buf_putc(b, '"');
        av_buf_putc(b, *s);
    }
    av_buf_putc(b, '"');
}

/* The members of one record; without the parent's key when nested. */
static void json_members(struct av_buf *b, const struct av_dataset *ds,
                         const struct av_warning *w, const void *rec, int nested)
{
    int first = 1;

    for (int i = 0; i < ds->nfields; i++) {
        const struct av_field *f = &ds->fields[i];
        if (!exported(f) || (nested && (f->flags & AV_FF_PARENT)))
            continue;
        av_buf_printf(b, "%s\"%s\":", first ? "" : ",", f->name);
        json_value(b, f, av_field_ptr(f, w, rec));
        first = 0;
    }
}

/* The extra dataset's own columns, as members of the object begun. */
static void json_extra(struct av_buf *b, const struct av_dataset *ds,
                       const struct av_dataset *x, const struct av_warning *w)
{
    for (int i = 0; x && i < x->nfields; i++) {
        const struct av_field *f = &x->fields[i];
        if (!extra_column(ds, f))
            continue;
        av_buf_printf(b, ",\"%s\":", f->name);
        json_value(b, f, av_field_ptr(f, w, w));
    }
}

static void export_json(struct av_buf *b, const struct av_dataset *ds,
                        const struct av_dataset *x, const struct av_warning *w, const void *rec)
{
    const struct av_dataset *n = ds->nest;

    av_buf_putc(b, '{');
    json_members(b, ds, w, rec, 0);
    json_extra(b, ds, x, w);
    if (n) {
        av_buf_printf(b, ",\"%s\":[", ds->nest_key);
        for (int k = 0; k < av_ds_count(n, w); k++) {
            av_buf_puts(b, k ? ",{" : "{");
            json_members(b, n, w, av_ds_record(n, w, k), 1);
            av_buf_putc(b, '}');
        }
        av_buf_putc(b, ']');
    }
    av_buf_putc(b, '}');
}

void av_export_json(struct av_buf *b, const struct av_dataset *ds, const struct av_warning *w,
                    const void *rec)
{
    export_json(b, ds, NULL, w, rec);
}

static void csv_header(struct av_export *e, struct av_buf *b)
{
    int first = 1;

    if (e->header_done)
        return;
    e->header_done = 1;
    for (int i = 0; i < e->ds->nfields; i++) {
        if (!exported(&e->ds->fields[i]))
            continue;
        av_buf_printf(b, "%s%s", first ? "" : ",", e->ds->fields[i].name);
        first = 0;
    }
    for (int i = 0; e->extra && i < e->extra->nfields; i++)
        if (extra_column(e->ds, &e->extra->fields[i]))
            av_buf_printf(b, ",%s", e->extra->fields[i].name);
    if (e->ds->nest)
        av_buf_printf(b, ",%s", e->ds->nest_count);
    av_buf_puts(b, "\r\n");
}

static void csv_row(struct av_buf *b, const struct av_dataset *ds, const struct av_dataset *x,
                    const struct av_warning *w, const void *rec, int raw)
{
    int first = 1;

    for (int i = 0; i < ds->nfields; i++) {
        const struct av_field *f = &ds->fields[i];
        if (!exported(f))
            continue;
        if (!first)
            av_buf_putc(b, ',');
        csv_value(b, f, av_field_ptr(f, w, rec), raw);
        first = 0;
    }
    for (int i = 0; x && i < x->nfields; i++) {
        if (!extra_column(ds, &x->fields[i]))
            continue;
        av_buf_putc(b, ',');
        csv_value(b, &x->fields[i], av_field_ptr(&x->fields[i], w, w), raw);
    }
    if (ds->nest)
        av_buf_printf(b, ",%d", av_ds_count(ds->nest, w));
    av_buf_puts(b, "\r\n");
}

/* The records of e->ds in w, or, for a flat dataset, w is the one record. */
static int export_rows(struct av_export *e, const struct av_warning *w, int n)
{
    struct av_buf *b = &e->line;

    av_buf_reset(b);
    if (e->fmt == AV_FMT_CSV)
        csv_header(e, b);
    for (int k = 0; k < n; k++) {
        const void *rec = av_ds_record(e->ds, w, k);
        if (e->fmt == AV_FMT_CSV) {
            csv_row(b, e->ds, e->extra, w, rec, e->csv_raw);
        } else {
            export_json(b, e->ds, e->extra, w, rec);
            av_buf_putc(b, '\n');
        }
        e->rows++;
    }
    if (b->len && fwrite(b->data, 1, b->len, e->out) != b->len) {
        e->io_error = errno ? errno : EIO;
        return -1;
    }
    return 0;
}

int av_export_warning(struct av_export *e, const struct av_warning *w)
{
    return export_rows(e, w, av_ds_count(e->ds, w));
}

int av_export_record(struct av_export *e, const void *rec)
{
    /* a flat dataset has no parent: every field is read from rec itself */
    return export_rows(e, rec, 1);
}

av_rc av_export_finish(struct av_export *e, char *errbuf)
{
    av_buf_reset(&e->line);
    if (e->fmt == AV_FMT_CSV)
        csv_header(e, &e->line);
    if (e->line.len && fwrite(e->line.data, 1, e->line.len, e->out) != e->line.len &&
        !e->io_error)
        e->io_error = errno ? errno : EIO;
    av_buf_free(&e->line);
    if (fflush(e->out) != 0 && !e->io_error)
        e->io_error = errno ? errno : EIO;
    if (e->io_error)
        return av_fail(errbuf, AV_EIO, "writing the export failed: %s", strerror(e->io_error));
    return AV_OK;
}
