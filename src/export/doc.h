/* doc.h - the whole-document exports, CAAML and GeoJSON, read through any
 * sink: what `export caaml|geojson` and serve's /api/caaml and
 * /api/map.geojson write, so that both give the same bytes for the same
 * selection.
 *
 *   caaml    one CAAMLv6 bulletin per stored warning of q's regions, days
 *            from..to and language (caaml.h); the day after `to` is read
 *            too, for the last day's tendency
 *   geojson  one feature per region (q's, or every region of the
 *            catalog), with that region's warning of the one day from ==
 *            to in q's language, or nulls (geojson.h)
 *
 * q->lang must be 1 or 2 (a document is one language). The text goes to
 * out; when drain is given it is called whenever out holds more than
 * 64 KiB and at the end (the CLI writes to its file there, so memory stays
 * small), else everything stays in out (HTTP). Errors: the sink's read,
 * AV_ELIMIT when out's ceiling cut the document, AV_EIO when drain failed
 * (its errbuf line).
 */
#ifndef AV_DOC_H
#define AV_DOC_H

#include "../core/buf.h"
#include "../core/err.h"
#include "../sinks/sink.h"

enum av_doc { AV_DOC_NONE = 0, AV_DOC_CAAML, AV_DOC_GEOJSON };

/* "caaml" or "geojson" (export DATASET names); AV_DOC_NONE otherwise. */
enum av_doc av_doc_kind(const char *name);

/* Called with the text so far; returns AV_OK or a failure (line in errbuf). */
typedef av_rc (*av_doc_drain_fn)(void *ud, struct av_buf *out, char *errbuf);

/* Writes the document; *items = bulletins or features written. */
av_rc av_doc_write(enum av_doc kind, struct av_sink *sink, const struct av_query *q,
                   struct av_buf *out, av_doc_drain_fn drain, void *ud, long *items, char *errbuf);

#endif
