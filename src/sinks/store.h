/* store.h - the state store: one SQLite file with what the pipeline knows
 * about its own work, whatever sink holds the clean records.
 *
 * What it owns (tables in README.md; DDL and migrations in sqlite.c):
 *   raw_response    bronze: every API response as received (envelope), its
 *                   body in raw_body, one copy per distinct content, as a
 *                   zstd frame since schema 9 (raw_codec.h; older rows as
 *                   received: both read back the same)
 *   rejected        everything refused, with stage, reason and raw text
 *   fetch_state     per (region, lang, endpoint): last stored date, last fetch
 *   fetch_hole      per (region, lang, endpoint): days planned, not yet stored
 *   api_usage       per API and UTC hour: requests and weight sent (budgets)
 *   run             run history; run_region: its counts per region
 * The same file holds the SQLite sink's clean tables (sink.h; their DDL
 * comes from the dataset descriptions), so that one transaction can cover
 * a fetch unit's raw body, rejects, clean rows and fetch state.
 *
 * Transactions nest: av_store_begin/commit count their depth and only the
 * outermost pair talks to SQLite; a rollback at any depth ends the whole
 * transaction (a later commit at an outer depth then fails). On any error
 * the caller rolls back, so nothing half-written is ever committed.
 *
 * The only users of libsqlite3 are sqlite.c (write side, schema),
 * sqlite_state.c (fetch state, holes, runs) and sqlite_read.c (queries for
 * export, status and reprocess).
 */
#ifndef AV_STORE_H
#define AV_STORE_H

#include <stdint.h>

#include "../core/conf.h"
#include "../core/err.h"
#include "../core/tz.h"
#include "../model/record.h"

extern const struct av_opt av_store_opts[];

struct av_store;
struct av_dataset;

struct av_raw_meta {
    const char *source;      /* "varsom" | "open-meteo" */
    const char *endpoint;    /* "detail" | "simple"; weather: "archive" | "forecast" */
    int lang;
    const char *api_version; /* "6.3.0" or NULL */
    const char *url;
    int region_id;
    int64_t from_date, to_date; /* days */
    av_ms fetched_at;
    int http_status;
};

/* Opens (creating if needed) and migrates the schema. On failure *out is
 * untouched and errbuf says why (path, SQLite's message, what to do). */
av_rc av_store_open(struct av_store **out, const char *path, const struct av_conf *conf,
                    char *errbuf);
/* The schema version this avalanche writes (PRAGMA user_version). */
int av_store_schema_version(void);
/* Where ds's records live in the file: 1 when ds->table is a view over the
 * table written into base (its names kept once in `names`, schema 10),
 * 0 when ds->table is the table itself. */
int av_store_view_base(const struct av_dataset *ds, char base[64]);
void av_store_close(struct av_store *s); /* accepts NULL */

av_rc av_store_begin(struct av_store *s, char *errbuf);
av_rc av_store_commit(struct av_store *s, char *errbuf);
void av_store_rollback(struct av_store *s);

av_rc av_store_raw_put(struct av_store *s, const struct av_raw_meta *m, const char *body,
                       size_t len, int64_t *raw_id, char *errbuf);

/* Records a rejected input (deduplicated by stage + content hash). With a
 * raw_id (the whole input is a stored raw response) only the first
 * AV_REJECT_RAW_MAX bytes are kept in rejected.raw. */
#define AV_REJECT_RAW_MAX 65536
av_rc av_store_reject(struct av_store *s, const char *stage, const char *reason,
                      int region_id, int lang, const char *raw, size_t len, int64_t raw_id,
                      av_ms now, char *errbuf);

/* Fetch state. *last_date = -1 when nothing was stored yet. */
av_rc av_store_state_get(struct av_store *s, int region_id, int lang, const char *endpoint,
                         int64_t *last_date, char *errbuf);
/* Records a fetch outcome; last_date (if >= 0) only ever moves forward. */
av_rc av_store_state_put(struct av_store *s, int region_id, int lang, const char *endpoint,
                         int64_t last_date, av_ms at, const char *status, const char *error,
                         char *errbuf);

/* Holes: days (inclusive ranges) of a (region, lang, endpoint) that a run
 * planned and that are not stored yet. A run records each unit it plans
 * as a hole before fetching, and a unit's days stop being a hole in the
 * transaction that commits its records (produce: once delivered). What a
 * failure, a rejected body or a kill leaves behind stays a hole, which
 * later runs plan again and `status` shows. Adding merges with
 * overlapping and adjacent holes; clearing splits them. */
struct av_hole {
    int region_id, lang;
    const char *endpoint;
    int64_t from, to; /* days, inclusive */
    av_ms since;      /* when the oldest part was first planned */
};
av_rc av_store_hole_add(struct av_store *s, int region_id, int lang, const char *endpoint,
                        int64_t from, int64_t to, av_ms now, char *errbuf);
av_rc av_store_hole_clear(struct av_store *s, int region_id, int lang, const char *endpoint,
                          int64_t from, int64_t to, char *errbuf);
/* Holes in (region, lang, endpoint, from) order; region_id 0 = every one.
 * fn returning non-zero stops. */
av_rc av_store_each_hole(struct av_store *s, int region_id, int lang, const char *endpoint,
                         int (*fn)(void *ud, const struct av_hole *h), void *ud, char *errbuf);

/* API usage per UTC hour (the weather budget): weight and requests sent,
 * failed ones included (the free API counts them too). */
av_rc av_store_usage_add(struct av_store *s, const char *api, av_ms at, double weight,
                         long requests, char *errbuf);
/* Sums over the hours from the one holding `since` on. */
av_rc av_store_usage_sum(struct av_store *s, const char *api, av_ms since, double *weight,
                         long *requests, char *errbuf);

struct av_run_counts {
    int units_total, units_ok, units_rejected, units_failed;
    long warnings_stored, warnings_unchanged, warnings_rejected;
    long requests, retries; /* HTTP requests made (with retries), retries */
};

/* Records a run as 'running' with the caller's pid. */
av_rc av_store_run_begin(struct av_store *s, const char *kind, const char *args, av_ms now,
                         int64_t *run_id, char *errbuf);
av_rc av_store_run_end(struct av_store *s, int64_t run_id, const char *status,
                       const struct av_run_counts *c, const char *error, av_ms now,
                       char *errbuf);
/* Per-region counts of a run (run_region table). */
av_rc av_store_run_region(struct av_store *s, int64_t run_id, int region_id,
                          const struct av_run_counts *c, const char *error, char *errbuf);
/* A run that could not be recorded while it happened (its database was
 * busy): one row, status failed, with the reason. */
av_rc av_store_run_failed(struct av_store *s, const char *kind, const char *args,
                          av_ms started, av_ms ended, const char *error, char *errbuf);
/* Marks runs left 'running' as 'interrupted' when alive(pid) says their
 * process is gone (killed, crashed; or, for the caller's own pid, a run of
 * the same process that could not record its end). */
av_rc av_store_runs_recover(struct av_store *s, int (*alive)(long pid), char *errbuf);

/* ---- read side (sqlite_read.c) ---- */

/* Calls fn for each raw response in insertion order (for reprocess), with
 * its body decoded (raw_codec.h). fn returning non-zero stops. */
av_rc av_store_each_raw(struct av_store *s,
                        int (*fn)(void *ud, int64_t raw_id, const struct av_raw_meta *m,
                                  const char *body, size_t len),
                        void *ud, char *errbuf);
/* The same, with each body as stored: the bytes of codec (raw_codec.h)
 * that decode to size bytes, for a caller that decodes elsewhere (the
 * parallel reprocess decodes in its workers). The bytes live until fn
 * returns. */
struct av_raw_stored {
    const void *data;
    size_t len;  /* stored bytes */
    int codec;   /* AV_CODEC_NONE or AV_CODEC_ZSTD */
    size_t size; /* the body's size */
};
typedef int (*av_raw_stored_fn)(void *ud, int64_t raw_id, const struct av_raw_meta *m,
                                const struct av_raw_stored *b);
av_rc av_store_each_raw_stored(struct av_store *s, av_raw_stored_fn fn, void *ud,
                               char *errbuf);
/* Deletes the rejects derived from stored raw responses (parse and
 * transform stages with a raw_id), which reprocess derives again; rejects
 * of Kafka messages (no raw response) and of fetches stay. */
av_rc av_store_clear_derived_rejects(struct av_store *s, char *errbuf);

struct av_state_row {
    int region_id, lang;
    const char *endpoint;
    const char *last_date;  /* NULL if none */
    const char *last_fetch; /* UTC stamp */
    const char *last_status;
    const char *last_error;
    long rejects;
};
av_rc av_store_each_state(struct av_store *s,
                          int (*fn)(void *ud, const struct av_state_row *r), void *ud,
                          char *errbuf);

struct av_run_row {
    int64_t id;
    const char *kind, *status, *started_at, *ended_at, *error, *args;
    struct av_run_counts c;
};
av_rc av_store_each_run(struct av_store *s, int limit,
                        int (*fn)(void *ud, const struct av_run_row *r), void *ud,
                        char *errbuf);

/* Raw storage: responses kept, distinct bodies, and their bytes. */
struct av_raw_stats {
    long responses, bodies;
    long long bytes;
};
av_rc av_store_raw_stats(struct av_store *s, struct av_raw_stats *st, char *errbuf);

/* Rows of one of the state store's own tables ("raw_response", "rejected"). */
av_rc av_store_count(struct av_store *s, const char *table, long *n, char *errbuf);

/* SQLite's PRAGMA data_version of this connection: a value that differs
 * from the one this same connection read before when another connection
 * (in this process or another) committed to the file in between; its own
 * writes do not change it. For caches of what was read (src/http/cache.h). */
av_rc av_store_data_version(struct av_store *s, int64_t *v, char *errbuf);

/* Start time of the latest run of kind with status 'ok' or 'partial'
 * (work was done); -1 when none. */
av_rc av_store_last_good_run(struct av_store *s, const char *kind, av_ms *started,
                             char *errbuf);
/* Totals over all runs: by status, and summed counters (for /metrics). */
struct av_run_totals {
    long ok, partial, failed, interrupted, running;
    long warnings_stored, warnings_rejected, units_failed, requests, retries;
};
av_rc av_store_run_totals(struct av_store *s, struct av_run_totals *t, char *errbuf);

/* ---- the data-quality page (sqlite_read.c) ---- */

/* Rejects grouped by (stage, reason), most rows first, at most limit
 * groups: rows, times seen (sum of seen), the latest last_seen, and the
 * raw text of the group's first row cut to AV_REJECT_SAMPLE_MAX bytes
 * (bytes, may end inside a UTF-8 sequence; not NUL-terminated). The
 * strings live until fn returns; fn returning non-zero stops. */
#define AV_REJECT_SAMPLE_MAX 200
struct av_reject_group {
    const char *stage, *reason, *last_seen;
    long rows, seen;
    const char *sample; /* NULL when the row kept no text */
    size_t sample_len;
};
av_rc av_store_each_reject_group(struct av_store *s, int limit,
                                 int (*fn)(void *ud, const struct av_reject_group *g),
                                 void *ud, char *errbuf);
/* Days with a warning (any language) stored in the SQLite sink's warning
 * table, per (region, season) from the season starting in first_season
 * on, counting only 1 Dec .. 31 May (season = the year of its December).
 * One GROUP BY, at most limit rows, in (region, season) order. Only
 * meaningful when the sink is the SQLite one (another sink leaves the
 * table empty). */
av_rc av_store_each_coverage(struct av_store *s, int first_season, int limit,
                             int (*fn)(void *ud, int region_id, int season, long days),
                             void *ud, char *errbuf);

#endif
