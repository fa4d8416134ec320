/* ingest.h - one response body -> clean records in the sink: the step
 * every mode shares.
 *
 * run (fetch), reprocess (stored raw responses) and the Kafka consumer all
 * hand bodies here. The body must be a JSON array of warnings (or a single
 * warning object). Each element is transformed and put into the sink;
 * elements the transform refuses go to the state store's `rejected` (stage
 * "transform") and the rest continue. A body that is not JSON, or not an
 * array/object, is rejected whole (stage "parse"). A clean warning that
 * does not answer its request (meta's region or lang differ, its day is
 * outside meta's from..to, its region is not in the catalog) is rejected
 * with stage "validate" and never reaches the sink: one region's answer
 * cannot overwrite another's. Meta fields left 0 / INT64_MIN are not
 * checked (a Kafka message from an older producer). Store and sink errors
 * are returned: the caller rolls back and nothing of the body is kept.
 *
 * The caller owns the transactions (store and sink begin/commit around a
 * call, see sink.h).
 */
#ifndef AV_INGEST_H
#define AV_INGEST_H

#include "../core/json.h"
#include "../sinks/sink.h"
#include "../sinks/store.h"
#include "../transforms/warning.h"

extern const struct av_opt av_ingest_opts[];

struct av_ingest {
    struct av_store *store; /* rejects */
    struct av_sink *sink;   /* clean records */
    struct av_json doc;
    struct av_xform xf;
    struct av_warning *w;
};

struct av_ingest_result {
    int parse_failed;      /* whole body rejected */
    long stored, unchanged, rejected;
    int64_t max_date;      /* latest valid_date seen in accepted warnings, -1 if none */
    const char *stage;     /* of the first reject: "parse", "transform", "validate" */
    char reason[AV_ERRBUF_SIZE]; /* first reject reason, for the summary */
};

av_rc av_ingest_init(struct av_ingest *ig, struct av_store *store, struct av_sink *sink,
                     const struct av_conf *c);
void av_ingest_free(struct av_ingest *ig);

/* raw_id > 0 links clean rows to a stored raw response. */
av_rc av_ingest_body(struct av_ingest *ig, const struct av_raw_meta *m, int64_t raw_id,
                     const char *body, size_t len, av_ms now, struct av_ingest_result *res,
                     char *errbuf);

#endif
