/* ingest.h - one response body -> the store: the step every mode shares.
 *
 * run (fetch), reprocess (stored raw responses) and, later, the Kafka
 * consumer all hand bodies here. The body must be a JSON array of warnings
 * (or a single warning object). Each element is transformed and upserted;
 * elements the transform refuses go to `rejected` (stage "transform") and
 * the rest continue. A body that is not JSON, or not an array/object, is
 * rejected whole (stage "parse"). Store errors are returned: the caller
 * rolls the transaction back and nothing of the body is kept.
 *
 * The caller owns the transaction (av_store_begin/commit around a call).
 */
#ifndef AV_INGEST_H
#define AV_INGEST_H

#include "../core/json.h"
#include "../sinks/store.h"
#include "../transforms/warning.h"

extern const struct av_opt av_ingest_opts[];

/* Where clean warnings go when not into the SQLite store (the Cassandra
 * sink): same contract as av_store_upsert(); AV_ENET = retry later. */
typedef av_rc (*av_clean_sink_fn)(void *ctx, const struct av_warning *w, const char *endpoint,
                                  int *changed, char *errbuf);

struct av_ingest {
    struct av_store *store;  /* raw, rejects, state; clean rows unless sink */
    av_clean_sink_fn sink;   /* NULL: clean rows into store */
    void *sink_ctx;
    struct av_json doc;
    struct av_xform xf;
    struct av_warning *w;
};

struct av_ingest_result {
    int parse_failed;      /* whole body rejected */
    long stored, unchanged, rejected;
    int64_t max_date;      /* latest valid_date seen in accepted warnings, -1 if none */
    char reason[AV_ERRBUF_SIZE]; /* first reject reason, for the summary */
};

av_rc av_ingest_init(struct av_ingest *ig, struct av_store *store, const struct av_conf *c);
void av_ingest_free(struct av_ingest *ig);

/* raw_id > 0 links clean rows to a stored raw response. */
av_rc av_ingest_body(struct av_ingest *ig, const struct av_raw_meta *m, int64_t raw_id,
                     const char *body, size_t len, av_ms now, struct av_ingest_result *res,
                     char *errbuf);

#endif
