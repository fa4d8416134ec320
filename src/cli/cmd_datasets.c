/* cmd_datasets.c - `datasets`: every dataset's fields, their types and
 * meaning, straight from the descriptions (src/model/dataset.c). Text for
 * people, --json for tools, --markdown for docs/datasets.md (a test checks
 * that file against this output). */
#include <stdio.h>
#include <string.h>

#include "../core/buf.h"
#include "../core/json.h"
#include "../model/dataset.h"
#include "../sinks/store.h"
#include "cli.h"

/* The type as the export shows it. */
static const char *type_name(const struct av_field *f, char *tmp, size_t cap)
{
    switch (f->type) {
    case AV_FT_I8:
    case AV_FT_I32:
    case AV_FT_I64:
        if (f->lo < f->hi) {
            snprintf(tmp, cap, "int %d-%d", f->lo, f->hi);
            return tmp;
        }
        return "int";
    case AV_FT_BOOL:
        return "0/1";
    case AV_FT_TEXT:
    case AV_FT_CHARS:
        return "string";
    case AV_FT_NUMTEXT:
        return "number or string";
    case AV_FT_TIME:
        return "UTC instant";
    case AV_FT_DATE:
        return "YYYY-MM-DD";
    case AV_FT_ASPECTS:
        return "aspect list";
    case AV_FT_F64:
        return "number";
    case AV_FT_WXSRC:
        return "archive, forecast or mixed";
    }
    return "?";
}

/* "key", "not exported", "stored only in SQLite", "since schema 4". */
static void notes(const struct av_field *f, char *out, size_t cap)
{
    size_t n = 0;

    out[0] = '\0';
    if (f->flags & AV_FF_KEY)
        n += (size_t)snprintf(out + n, cap - n, ", key");
    if (f->flags & AV_FF_LOCAL)
        n += (size_t)snprintf(out + n, cap - n, ", SQLite only, not exported");
    else if (f->flags & AV_FF_NOEXPORT)
        n += (size_t)snprintf(out + n, cap - n, ", not exported");
    if (f->since > 1 && n < cap)
        snprintf(out + n, cap - n, ", since schema %d", f->since);
}

static void markdown(void)
{
    for (int d = 0; av_datasets_described[d]; d++) {
        const struct av_dataset *ds = av_datasets_described[d];
        char base[64];
        if (av_store_view_base(ds, base))
            printf("## %s\n\n%s SQLite view `%s` (over table `%s`, whose names are kept once "
                   "in `names`).", ds->name, ds->doc, ds->table, base);
        else if (ds->table)
            printf("## %s\n\n%s SQLite table `%s`.", ds->name, ds->doc, ds->table);
        else
            printf("## %s\n\n%s Not stored.", ds->name, ds->doc);
        if (ds->nest)
            printf(" JSONL records carry their %s as an array `%s` (without the key fields, "
                   "`[]` when none); CSV rows count them in `%s`.",
                   ds->nest->name, ds->nest_key, ds->nest_count);
        printf("\n\n| field | type | meaning |\n|---|---|---|\n");
        for (int i = 0; i < ds->nfields; i++) {
            const struct av_field *f = &ds->fields[i];
            char tmp[32], extra[96];
            notes(f, extra, sizeof(extra));
            printf("| %s | %s%s | ", f->name, type_name(f, tmp, sizeof(tmp)), extra);
            for (const char *p = f->doc; *p; p++) { /* a | would end the cell */
                if (*p == '|')
                    putchar('\\');
                putchar(*p);
            }
            printf(" |\n");
        }
        if (av_datasets_described[d + 1])
            putchar('\n');
    }
}

static void json(void)
{
    struct av_buf b;

    av_buf_init(&b, 0);
    av_buf_putc(&b, '[');
    for (int d = 0; av_datasets_described[d]; d++) {
        const struct av_dataset *ds = av_datasets_described[d];
        char base[64];
        av_buf_printf(&b, "%s{\"name\":\"%s\",\"table\":%s%s%s,", d ? "," : "",
                      ds->name, ds->table ? "\"" : "", ds->table ? ds->table : "null",
                      ds->table ? "\"" : "");
        if (av_store_view_base(ds, base)) /* ds->table is a view over it */
            av_buf_printf(&b, "\"base_table\":\"%s\",", base);
        av_buf_puts(&b, "\"doc\":");
        av_json_quote(&b, ds->doc);
        av_buf_puts(&b, ",\"fields\":[");
        for (int i = 0; i < ds->nfields; i++) {
            const struct av_field *f = &ds->fields[i];
            char tmp[32];
            av_buf_printf(&b,
                          "%s{\"name\":\"%s\",\"type\":\"%s\",\"key\":%s,\"exported\":%s,"
                          "\"since\":%d,\"doc\":",
                          i ? "," : "", f->name, type_name(f, tmp, sizeof(tmp)),
                          f->flags & AV_FF_KEY ? "true" : "false",
                          f->flags & (AV_FF_LOCAL | AV_FF_NOEXPORT) ? "false" : "true",
                          f->since);
            av_json_quote(&b, f->doc);
            av_buf_putc(&b, '}');
        }
        av_buf_puts(&b, "]}");
    }
    av_buf_puts(&b, "]\n");
    fputs(b.data, stdout);
    av_buf_free(&b);
}

int av_cmd_datasets(struct av_cli *c)
{
    if (c->markdown) {
        markdown();
    } else if (c->json) {
        json();
    } else {
        for (int d = 0; av_datasets_described[d]; d++) {
            const struct av_dataset *ds = av_datasets_described[d];
            char base[64];
            int view = av_store_view_base(ds, base);
            printf("%s%s (%s%s): %s\n", d ? "\n" : "", ds->name,
                   view ? "view " : ds->table ? "table " : "not stored",
                   ds->table ? ds->table : "", ds->doc);
            for (int i = 0; i < ds->nfields; i++) {
                const struct av_field *f = &ds->fields[i];
                char tmp[32], extra[96];
                notes(f, extra, sizeof(extra));
                printf("  %-26s %-18s %s", f->name, type_name(f, tmp, sizeof(tmp)), f->doc);
                if (extra[0])
                    printf(" (%s)", extra + 2);
                putchar('\n');
            }
        }
    }
    return fflush(stdout) == 0 ? AV_EXIT_OK : AV_EXIT_FAIL;
}
