/* export_doc.h - `export caaml` and `export geojson`: the command line's
 * side of the document exports (src/export/doc.h), hooked into
 * cmd_export.c, which keeps opening the sink and the atomic --out.
 *
 * Flags: --date D (= --from D --to D) or --from/--to; --region; --lang 1|2
 * (default: the first language of plan.lang, 1 for "both", as serve's
 * /api/caaml; --lang both is refused: a document is one language);
 * --format is json or absent. geojson needs one day.
 * Usage errors are printed here (exit 2).
 */
#ifndef AV_EXPORT_DOC_H
#define AV_EXPORT_DOC_H

#include <stdio.h>

#include "../export/doc.h"
#include "../sinks/sink.h"
#include "cli.h"

/* Checks the flags of a document export and sets q->lang; q has the
 * regions and dates of the flags already. AV_EXIT_OK or AV_EXIT_USAGE. */
int av_cli_doc_query(const struct av_cli *cli, enum av_doc kind, struct av_query *q);

/* Writes the document for q to out (streamed); *rows = bulletins or
 * features. */
av_rc av_cli_doc_write(enum av_doc kind, struct av_sink *sink, const struct av_query *q, FILE *out,
                       long *rows, char *errbuf);

#endif
