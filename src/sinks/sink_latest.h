/* sink_latest.h - the latest stored day of some warnings, through any
 * sink's read (sink.h), without reading their whole history.
 *
 * Reads windows going back from a day the caller expects to be near the
 * latest (today): [near - 31, open end], then the 4x longer stretch before
 * it, and so on until a window holds a warning; past 1900-01-01 one last
 * read covers everything before. The common case (something stored in
 * the last month) is one read of about a month per region and language;
 * a region with nothing stored costs about a dozen empty reads. Only keys
 * are loaded (parts 0). Errors: the sink's, as its read returns them.
 */
#ifndef AV_SINK_LATEST_H
#define AV_SINK_LATEST_H

#include <stdint.h>

#include "sink.h"

/* The latest valid_date (days) of the warnings matching q's regions and
 * lang (q's dates, parts and after are ignored) into *day, *found = 1; or
 * *found = 0 when none is stored. */
av_rc av_sink_latest_day(struct av_sink *s, const struct av_query *q, int64_t near,
                         int64_t *day, int *found, char *errbuf);

#endif
