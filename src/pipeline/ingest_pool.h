/* ingest_pool.h - the parallel half of reprocess and run: a few worker
 * threads decode stored raw bodies (raw_codec.h; reprocess) or take
 * fetched ones as received (run, to_store.c) and prepare them (parse,
 * transform, validate: av_ingest_prepare, pure), while the one thread that
 * owns the store and sink (the writer, the caller) applies the prepared
 * bodies strictly in the order they were submitted. So the upsert rules,
 * the publication history (first_seen, versions) and the rejects come out
 * exactly as a sequential reprocess or run makes them, whatever the
 * threads do.
 *
 * The workers are named "av-ingest", the writer thread "av-writer" (top -H,
 * /proc/PID/task/N/comm).
 * The only state the threads share is the ring of job slots (the bounded
 * queue, AV_POOL_SLOTS deep) under one mutex: a slot belongs to the writer
 * (free, or done and being applied) or to one worker (being prepared),
 * never both; with open_writer, a free slot is the caller's until queued
 * and a done one the writer thread's. Memory is bounded by the slots: one stored and one decoded
 * body, its tokens and up to AV_PREP_MAX transformed warnings each,
 * whatever the corpus size. With 0 workers nothing is threaded: each body
 * is prepared and applied inside submit (the sequential path).
 *
 * Errors: a body that does not decode, or an apply that fails, is returned
 * by submit or drain (errbuf says which raw response); the caller rolls
 * back and closes the pool, which stops and joins the workers. */
#ifndef AV_INGEST_POOL_H
#define AV_INGEST_POOL_H

#include "../sinks/store.h"
#include "ingest.h"

#define AV_POOL_SLOTS 8
#define AV_POOL_MAX_WORKERS 16

struct av_ingest_pool;

/* The writer's half, called in submission order on the caller's thread (on the
 * writer thread with open_writer):
 * body (len bytes, decoded) and p (prepared from it) under m; id is the
 * raw_id of submit, or the caller's own of submit_body. */
typedef av_rc (*av_pool_apply_fn)(void *ud, int64_t raw_id, const struct av_raw_meta *m,
                                  struct av_ingest_prep *p, const char *body, size_t len,
                                  char *errbuf);

/* workers 0..AV_POOL_MAX_WORKERS; c: the json.* ceilings (NULL: defaults). */
av_rc av_ingest_pool_open(struct av_ingest_pool **out, int workers, const struct av_conf *c,
                          av_pool_apply_fn apply, void *ud, char *errbuf);
/* run's variant (issue 13): besides the workers (at least one), one writer
 * thread applies the prepared bodies in submission order, so that the
 * caller (the fetching thread) only submits: apply is then called on the
 * writer thread, never on the caller's, and idle (may be NULL) too, each
 * time the writer has applied everything submitted so far. An error of
 * apply or idle stops the writer (what is queued behind it is dropped) and
 * is returned by every later submit and drain. When drain returns AV_OK,
 * everything submitted is applied and idle has run: until the next submit
 * the writer touches nothing, and the caller may use what apply uses. */
typedef av_rc (*av_pool_idle_fn)(void *ud, char *errbuf);
av_rc av_ingest_pool_open_writer(struct av_ingest_pool **out, int workers,
                                 const struct av_conf *c, av_pool_apply_fn apply,
                                 av_pool_idle_fn idle, void *ud, char *errbuf);
/* Queues one stored body (copied: b and m may go when this returns),
 * applying the done ones at the head of the queue meanwhile; waits for a
 * free slot when all are taken. */
av_rc av_ingest_pool_submit(struct av_ingest_pool *pl, int64_t raw_id,
                            const struct av_raw_meta *m, const struct av_raw_stored *b,
                            char *errbuf);
/* Queues one fetched body, as received (copied, like m), under the
 * caller's id (run: the unit's index); otherwise as submit. */
av_rc av_ingest_pool_submit_body(struct av_ingest_pool *pl, int64_t id,
                                 const struct av_raw_meta *m, const char *body, size_t len,
                                 char *errbuf);
/* Bodies submitted and not applied yet. */
long av_ingest_pool_pending(struct av_ingest_pool *pl);
/* Applies everything submitted (waits for the workers). */
av_rc av_ingest_pool_drain(struct av_ingest_pool *pl, char *errbuf);
/* Stops the workers (what they hold is dropped) and frees; accepts NULL. */
void av_ingest_pool_close(struct av_ingest_pool *pl);
/* The number of worker threads to use when the configuration says 0: one
 * per online CPU, within 1..AV_POOL_MAX_WORKERS. */
int av_ingest_pool_auto_workers(void);

#endif
