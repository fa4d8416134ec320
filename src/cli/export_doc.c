/* export_doc.c - the flags and the streamed writing of `export caaml` and
 * `export geojson` (see export_doc.h). */
#include "export_doc.h"

#include <errno.h>
#include <string.h>

#include "../core/buf.h"

int av_cli_doc_query(const struct av_cli *cli, enum av_doc kind, struct av_query *q)
{
    const char *name = kind == AV_DOC_CAAML ? "caaml" : "geojson";
    int langs[2];

    if (cli->format && strcmp(cli->format, "json") != 0) {
        fprintf(stderr, "avalanche: export %s writes one JSON document; drop --format \"%s\"\n",
                name, cli->format);
        return AV_EXIT_USAGE;
    }
    /* without --lang the first of plan.lang (1 for "both"), as serve does */
    if ((av_cli_langs(cli, langs) != 1 && cli->lang_given) || (langs[0] != 1 && langs[0] != 2)) {
        fprintf(stderr, "avalanche: export %s is one language: give --lang 1 or --lang 2\n", name);
        return AV_EXIT_USAGE;
    }
    q->lang = langs[0];
    if (kind == AV_DOC_GEOJSON && (q->from == INT64_MIN || q->from != q->to)) {
        fprintf(stderr, "avalanche: export geojson draws one day: give --date YYYY-MM-DD\n");
        return AV_EXIT_USAGE;
    }
    return AV_EXIT_OK;
}

static av_rc drain(void *ud, struct av_buf *b, char *errbuf)
{
    if (b->len && fwrite(b->data, 1, b->len, ud) != b->len)
        return av_fail(errbuf, AV_EIO, "writing the export: %s", strerror(errno));
    return AV_OK;
}

av_rc av_cli_doc_write(enum av_doc kind, struct av_sink *sink, const struct av_query *q, FILE *out,
                       long *rows, char *errbuf)
{
    struct av_buf b;
    av_rc rc;

    av_buf_init(&b, 0);
    rc = av_doc_write(kind, sink, q, &b, drain, out, rows, errbuf);
    av_buf_free(&b);
    if (rc == AV_OK && fflush(out) != 0)
        rc = av_fail(errbuf, AV_EIO, "writing the export: %s", strerror(errno));
    return rc;
}
