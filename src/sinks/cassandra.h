/* cassandra.h - the Cassandra sink: clean warnings into Apache Cassandra
 * through our CQL v4 client (src/cql/), and the same datasets read back.
 *
 * Tables (query-first, design.md §3), created idempotently in
 * cassandra.keyspace with the configured replication:
 *   warnings_by_region  PRIMARY KEY ((region_id), valid_date, lang),
 *                       newest first: "the history of one region"
 *   warnings_by_date    PRIMARY KEY ((valid_date), region_id, lang):
 *                       "the map for one day"
 *   problems_by_region  PRIMARY KEY ((region_id), valid_date, lang, problem_id)
 *
 * Latest publication wins by Cassandra's last-write-wins: every write of a
 * warning uses USING TIMESTAMP = PublishTime in microseconds (+1 us for the
 * Detail endpoint, so a Simple warning of the same publication never
 * replaces it). The warning's old problems are removed by a range delete at
 * that timestamp - 1, so an older replay can neither resurrect nor remove
 * anything newer. The warning and its problems (one partition, region_id)
 * go in one unlogged batch; the by-date row in a second write.
 *
 * Failures: connection loss, timeouts, unavailable/overloaded nodes are
 * retried with backoff (cassandra.retries); schema or permission errors
 * are final, with the server's message. Raw responses, rejects, fetch
 * state and runs stay in the local SQLite store.
 */
#ifndef AV_CASSANDRA_H
#define AV_CASSANDRA_H

#include <signal.h>

#include "../core/conf.h"
#include "../core/err.h"
#include "../transforms/warning.h"
#include "store.h"

extern const struct av_opt av_cassandra_opts[];

struct av_cass;

/* Connects, creates keyspace and tables if missing, prepares statements.
 * stop (may be NULL): a flag set by a signal handler that ends every retry
 * loop early; the call then returns its last AV_ENET, so nothing is
 * acknowledged upstream. */
av_rc av_cass_open(struct av_cass **out, const struct av_conf *c,
                   volatile sig_atomic_t *stop, char *errbuf);
void av_cass_close(struct av_cass *s); /* accepts NULL */

/* av_clean_sink_fn for av_ingest: ctx is the struct av_cass. *changed is
 * always 1 (last-write-wins decides on the server). */
av_rc av_cass_upsert(void *ctx, const struct av_warning *w, const char *endpoint, int *changed,
                     char *errbuf);

/* Reads warnings (with problems) in (region_id, valid_date, lang) order,
 * like av_store_each_warning(). */
av_rc av_cass_each_warning(struct av_cass *s, const struct av_query *q,
                           int (*fn)(void *ud, const struct av_warning *w), void *ud,
                           char *errbuf);

#endif
