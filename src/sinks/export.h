/* export.h - the datasets as JSONL or CSV, formatted from their description
 * (src/model/dataset.c): the same columns, in the same order, whatever
 * store the records come from.
 *
 * Formatting only: records come from any sink's reader (struct av_warning
 * with the children the dataset needs), text goes to a stdio stream or a
 * buffer. Output is a pure function of the records, so equal stores give
 * byte-identical exports. Fields flagged AV_FF_LOCAL or AV_FF_NOEXPORT are
 * left out.
 *
 * JSONL  one object per record; absent values are null; times UTC
 *        ISO-8601 "...Z"; a dataset with a nested child (warnings) carries
 *        its records as an array ([] when none) without the parent's key.
 * CSV    RFC 4180: a header row, CRLF, fields with commas, quotes or line
 *        breaks quoted, quotes doubled; absent values are empty; a nested
 *        child is counted in one column (problem_count). A text cell that
 *        begins with = + - @ TAB or CR (a formula to a spreadsheet: CSV
 *        injection) gets a leading ' and is quoted, unless csv_raw is set;
 *        numbers are never changed.
 * With extra (the history, av_ds_version) its exported fields that the
 * dataset has not (warnings: version, first_seen, superseded_at; problems:
 * publish_time too) follow the dataset's own columns.
 * Columns and meaning: `avalanche datasets`, docs/datasets.md.
 */
#ifndef AV_EXPORT_H
#define AV_EXPORT_H

#include <stdio.h>

#include "../core/buf.h"
#include "../core/err.h"
#include "../model/dataset.h"

enum av_format { AV_FMT_JSONL, AV_FMT_CSV };

struct av_export {
    FILE *out;
    const struct av_dataset *ds;
    enum av_format fmt;
    long rows;
    int header_done;
    int io_error;
    int csv_raw; /* 1: text cells exactly as stored (no formula guard) */
    /* history: this dataset's exported fields (in the warning) that ds
     * lacks go after ds's own, in each row and top-level JSON object */
    const struct av_dataset *extra;
    struct av_buf line; /* reused for every warning */
};

void av_export_init(struct av_export *e, FILE *out, const struct av_dataset *ds,
                    enum av_format fmt);
/* Writes the records of e->ds that w holds; 0 on success, -1 on a write
 * error (remembered in io_error). */
int av_export_warning(struct av_export *e, const struct av_warning *w);
/* The same for one record of a flat dataset (the weather: struct
 * av_wx_day, av_wx_hour). */
int av_export_record(struct av_export *e, const void *rec);
/* Writes the header if no row was written (CSV), flushes, frees the line
 * buffer; AV_EIO when any write failed. */
av_rc av_export_finish(struct av_export *e, char *errbuf);

/* Appends record rec of ds (w: its warning) as one JSON object, no newline. */
void av_export_json(struct av_buf *b, const struct av_dataset *ds, const struct av_warning *w,
                    const void *rec);

#endif
