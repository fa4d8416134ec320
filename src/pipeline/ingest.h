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
 * Each warning carries meta's fetched_at as first_seen (its publication's
 * entry in the history; the call's `now` when meta has none, as from
 * a Kafka message of an older producer without the fetched_at header).
 *
 * The caller owns the transactions (store and sink begin/commit around a
 * call, see sink.h).
 *
 * The work comes in two halves, for the parallel reprocess and run (ingest_pool.h):
 * av_ingest_prepare (parse, transform, validate: pure, no store or sink,
 * any thread, into a struct av_ingest_prep the caller owns) and
 * av_ingest_apply (rejects and sink puts in the body's order: the thread
 * that owns the store). av_ingest_body is the two in a row. A prep holds
 * at most AV_PREP_MAX transformed elements (bounded memory whatever the
 * body); apply transforms the rest of a longer body itself, one at a time.
 */
#ifndef AV_INGEST_H
#define AV_INGEST_H

#include "../core/json.h"
#include "../sinks/sink.h"
#include "../sinks/store.h"
#include "../transforms/warning.h"

extern const struct av_opt av_ingest_opts[];

#define AV_PREP_MAX 64

/* One body, parsed and its first elements transformed (and validated). */
struct av_prep_el {
    int tok;    /* the element's token in doc */
    av_rc rc;   /* AV_OK, or AV_EREJECT with stage and why */
    const char *stage;
    char why[AV_ERRBUF_SIZE];
    struct av_xform xf; /* w's strings */
    struct av_warning *w;
};
struct av_ingest_prep {
    struct av_json doc;
    av_rc parse_rc;            /* AV_OK, AV_EPARSE (rejected whole), AV_ENOMEM */
    char why[AV_ERRBUF_SIZE];  /* of a parse failure */
    int is_array, nel;         /* elements in the body (1 for an object) */
    int n;                     /* elements prepared: min(nel, AV_PREP_MAX) */
    int next_tok;              /* the token of element n (the rest) */
    struct av_prep_el *el;     /* [AV_PREP_MAX], allocated on first use */
};

void av_ingest_prep_init(struct av_ingest_prep *p, const struct av_conf *c);
void av_ingest_prep_free(struct av_ingest_prep *p);
/* body must stay unchanged until the prep is applied or prepared again. */
void av_ingest_prepare(struct av_ingest_prep *p, const struct av_raw_meta *m,
                       const char *body, size_t len);

struct av_ingest {
    struct av_store *store; /* rejects */
    struct av_sink *sink;   /* clean records */
    struct av_ingest_prep prep; /* av_ingest_body's own */
    struct av_xform xf;     /* apply's, past AV_PREP_MAX elements */
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

/* Stores what p holds (prepared from body, len under m): the rejects and
 * the sink's puts, in the body's order. */
av_rc av_ingest_apply(struct av_ingest *ig, struct av_ingest_prep *p,
                      const struct av_raw_meta *m, int64_t raw_id, const char *body,
                      size_t len, av_ms now, struct av_ingest_result *res, char *errbuf);

/* raw_id > 0 links clean rows to a stored raw response. */
av_rc av_ingest_body(struct av_ingest *ig, const struct av_raw_meta *m, int64_t raw_id,
                     const char *body, size_t len, av_ms now, struct av_ingest_result *res,
                     char *errbuf);

#endif
