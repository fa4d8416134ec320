/* export.h - the dataset contract: warnings and problems as JSONL or CSV.
 *
 * Formatting only: rows come from any store's reader (struct av_warning
 * with problems filled), text goes to a stdio stream. Output is a pure
 * function of the rows, so equal stores give byte-identical exports.
 *
 * warnings.jsonl  one object per warning, problems nested (array, [] when
 *                 none); times UTC ISO-8601 "...Z", valid_date local date.
 * warnings.csv    one row per warning, header row, RFC 4180 quoting.
 * problems.*      one record per problem, keyed by region_id/valid_date/lang.
 * Columns and meaning: docs/datasets.md.
 */
#ifndef AV_EXPORT_H
#define AV_EXPORT_H

#include <stdio.h>

#include "../core/err.h"
#include "../transforms/warning.h"

enum av_dataset { AV_DS_WARNINGS, AV_DS_PROBLEMS };
enum av_format { AV_FMT_JSONL, AV_FMT_CSV };

struct av_export {
    FILE *out;
    enum av_dataset ds;
    enum av_format fmt;
    long rows;
    int header_done;
    int io_error;
};

void av_export_init(struct av_export *e, FILE *out, enum av_dataset ds, enum av_format fmt);
/* Writes one warning (or its problems); 0 on success, -1 on a write error. */
int av_export_warning(struct av_export *e, const struct av_warning *w);
/* Writes the header if no row was written (CSV), flushes; AV_EIO on error. */
av_rc av_export_finish(struct av_export *e, char *errbuf);

#endif
