/* cassandra.h - the Cassandra sink (av_sink_cassandra in sink.h): clean
 * warnings and problems, and the weather (hourly and daily), into Apache
 * Cassandra through our CQL v4 client (src/cql/), and the same datasets
 * read back.
 *
 * Tables (query-first, design.md §3), created idempotently in
 * cassandra.keyspace with the configured replication; their columns are
 * the datasets' (src/model/dataset.c) without the embedded store's
 * bookkeeping, and columns a newer description adds are added to existing
 * tables when the sink opens (ALTER TABLE):
 *   warnings_by_region  PRIMARY KEY ((region_id), valid_date, lang),
 *                       newest first: "the history of one region"
 *   warnings_by_date    PRIMARY KEY ((valid_date), region_id, lang):
 *                       "the map for one day"
 *   problems_by_region  PRIMARY KEY ((region_id), valid_date, lang, problem_id)
 *   warning_versions_by_region  PRIMARY KEY ((region_id), valid_date, lang,
 *                       publish_time): every publication of a warning with
 *                       its whole record as JSON (the history, dataset.h);
 *                       an absent PublishTime clusters as AV_CASS_NO_PUB
 *   weather_hourly_by_point   PRIMARY KEY ((region_id, latitude, longitude,
 *                       year), time): one point in one UTC year (8,760 rows,
 *                       ~1-2 MB, whatever weather.max_points is)
 *   weather_points_by_region  PRIMARY KEY ((region_id), latitude, longitude,
 *                       year): the point-years a region has hours in; "one
 *                       region, a range of hours" reads it, then one slice
 *                       per point and year, and the rows come in the
 *                       dataset's key order (region, point, time)
 *   weather_daily_by_region   PRIMARY KEY ((region_id), date): "the weather
 *                       of one region, a range of days" (~5,000 rows for
 *                       14 seasons)
 * Keyspaces of an older avalanche get the tables they lack when the sink
 * opens (CREATE TABLE IF NOT EXISTS).
 *
 * Latest publication wins by Cassandra's last-write-wins: every write of a
 * warning uses USING TIMESTAMP = PublishTime in microseconds (+1 us for the
 * Detail endpoint, so a Simple warning of the same publication never
 * replaces it). The warning's old problems are removed by a range delete at
 * that timestamp - 1, so an older replay can neither resurrect nor remove
 * anything newer; a problem's null values are bound unset (no cell
 * tombstones: that delete already covers every older cell), a warning
 * row's are bound null (a newer publication that lacks a field must not
 * keep the older one's value). The history row takes the warning's
 * timestamp (within one publication the same rule); its first_seen is
 * written apart with USING TIMESTAMP 2^62 - first_seen in us, so the
 * earliest fetch wins whatever the order of arrival (a DELETE at server
 * time cannot remove that cell: drop the keyspace to start over).
 *
 * Few, large requests: the writes of many warnings are gathered per
 * partition into unlogged batches (cassandra_int.h, struct av_cass_open):
 * a region's batch holds its warnings' rows, problems' deletes, problems,
 * history rows and first_seen (three tables, one partition key: one
 * mutation on the node, which checks no batch size for it,
 * CASSANDRA-10876), a date's batch its warnings_by_date rows; each is sent
 * with cassandra.batch_warnings warnings or cassandra.batch_kib in it, at commit,
 * routed to a replica of its partition, many in flight at once. The write
 * timestamps, not the order inside a batch or of arrival, decide between
 * two publications of a key, also within one batch. A commit waits for
 * every answer; a failed batch fails the transaction (process re-reads it;
 * the upserts are idempotent).
 *
 * The weather's rules by the same last-write-wins, per cell: an hour is
 * written USING TIMESTAMP rank * 2^52 + fetched_at in microseconds (the
 * archive over any forecast, then the later fetch) and its null values
 * unset (no cell written: a null never replaces a value); a day is written
 * whole, nulls included, with the server's timestamp (the last computation
 * wins). Rows go in unlogged batches of one partition, pipelined.
 *
 * Failures: connection loss, timeouts, unavailable/overloaded nodes are
 * retried with backoff (cassandra.retries, cassandra.backoff_max_ms; the
 * stop flag ends the wait); schema or permission errors are final, with
 * the server's message. Advices and mountain weather (the forecaster's,
 * in a warning) are not kept here; raw responses, rejects, fetch state,
 * runs and the weather's API usage stay in the local state store.
 */
#ifndef AV_CASSANDRA_H
#define AV_CASSANDRA_H

#include "../core/conf.h"

extern const struct av_opt av_cassandra_opts[];

#endif
