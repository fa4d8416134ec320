/* sink.h - where clean records go and come back from: one interface, one
 * implementation per store.
 *
 *   sqlite     (sqlite.c, sqlite_read.c)       every dataset, in the state
 *              store's SQLite file and inside its transactions
 *   cassandra  (cassandra.c, cassandra_read.c) warnings, problems and the
 *              weather, in query-first tables of a keyspace
 *
 * Two families of records go through it: warnings with their children
 * (put/read: a struct av_warning) and flat datasets, the weather (put_rows/
 * read_rows: records of the dataset's own struct). A sink that does not
 * keep a dataset (ops->parts) says so when asked for it.
 *
 * The CLI picks one by name (store.sink) and nothing else asks which it
 * is: run, reprocess and process put warnings, export, status, the
 * dashboard and the JSON API read them back. Tables and columns come from
 * the dataset descriptions (src/model/dataset.h) in every sink.
 *
 * Rules every sink keeps: upserts are idempotent by natural key; the
 * latest publication (PublishTime) wins and a Simple warning never
 * replaces the Detail one of the same publication, whatever the order of
 * arrival; a warning's children are replaced with it.
 *
 * History: a sink that keeps AV_PART_VERSIONS also records, in the same
 * put, every distinct publication of the warning (av_ds_version: one per
 * PublishTime of a key, the same rule within one, the earliest first_seen)
 * and reads them back with read_versions/load_version; the clean records
 * stay the latest. av_sink_read_history() answers --history and --as-of
 * from those two, the same for every sink.
 *
 * Transactions: put() between begin() and commit(). commit() returns only
 * when everything put is durable in the sink (the caller may then commit
 * its own state, e.g. the fetch state or Kafka offsets); rollback() drops
 * what the sink can still drop (SQLite: everything since begin; Cassandra:
 * nothing, its writes are durable at put, and idempotent). The SQLite sink
 * shares the state store's connection: its begin/commit nest inside the
 * store's own (av_store_begin/commit), so a unit's raw body, rejects, clean
 * rows and fetch state land or vanish together.
 *
 * Errors (av_rc, one line in errbuf): AV_ENET the sink is unreachable for
 * now (retries with backoff already spent; try again later); AV_EIO local
 * store failure (disk full, locked, corrupt); AV_EINVAL configuration;
 * AV_EREMOTE the server refused for good (permissions, schema). After an
 * error inside a transaction the caller rolls back.
 */
#ifndef AV_SINK_H
#define AV_SINK_H

#include <signal.h>
#include <stdint.h>

#include "../core/conf.h"
#include "../core/err.h"
#include "../model/dataset.h"

struct av_store;

/* What a read returns: warnings in (region_id, valid_date, lang) order. */
struct av_query {
    const int *regions; /* NULL = all */
    int nregions;
    int64_t from, to;   /* days, inclusive; INT64_MIN/INT64_MAX for open */
    int lang;           /* 0 = any */
    unsigned parts;     /* children to load: AV_PART_PROBLEMS | ...; 0 = none */
    /* after != 0: only warnings whose key comes after (region, date, lang),
     * in the read's order (the next page of a paged answer) */
    int after, after_region, after_lang;
    int64_t after_date;
    /* flat datasets with a TIME key (weather_hourly): the UTC instants
     * [from_ms, to_ms) instead of from..to; both 0 = not used */
    av_ms from_ms, to_ms;
};

/* Called for each warning read; strings are valid during the call only.
 * Returns 0 to go on, non-zero to stop the read (not an error). */
typedef int (*av_sink_row_fn)(void *ud, const struct av_warning *w);
/* The same for a record of a flat dataset (struct av_wx_hour, av_wx_day). */
typedef int (*av_sink_rec_fn)(void *ud, const void *rec);

/* One stored publication of a warning (history reads; m.version and
 * m.superseded_at are not set by the sink). */
struct av_version_row {
    int region_id, lang;
    int64_t valid_date;
    struct av_version_meta m;
};
typedef int (*av_sink_version_fn)(void *ud, const struct av_version_row *v);
struct av_pool;

struct av_sink_env {
    const struct av_conf *conf;
    struct av_store *store;        /* the state store (the SQLite sink lives in it) */
    volatile sig_atomic_t *stop;   /* set by a signal handler: retry loops end early */
};

struct av_sink_ops {
    const char *name;
    unsigned parts; /* the datasets it keeps: AV_PART_* bits */
    av_rc (*open)(void **out, const struct av_sink_env *env, char *errbuf);
    av_rc (*begin)(void *s, char *errbuf);
    /* *changed = 0 when the stored publication was newer or identical
     * (a sink that cannot tell says 1). */
    av_rc (*put)(void *s, const struct av_warning *w, int *changed, char *errbuf);
    av_rc (*commit)(void *s, char *errbuf);
    void (*rollback)(void *s);
    /* reprocess: remove every clean record before a rebuild, inside
     * begin/commit; NULL when a rebuild needs no clearing (idempotent). */
    av_rc (*clear)(void *s, char *errbuf);
    av_rc (*read)(void *s, const struct av_query *q, av_sink_row_fn fn, void *ud,
                  char *errbuf);
    /* Flat datasets (the weather; rule RANKED or REPLACE, dataset.h): n
     * records of ds, each stored by its key under the dataset's rule,
     * between begin and commit. */
    av_rc (*put_rows)(void *s, const struct av_dataset *ds, const void *recs, size_t n,
                      char *errbuf);
    /* Records of ds for q's regions (NULL = all) and range (a DATE key:
     * from..to; a TIME key: [from_ms, to_ms)), in key order. */
    av_rc (*read_rows)(void *s, const struct av_dataset *ds, const struct av_query *q,
                       av_sink_rec_fn fn, void *ud, char *errbuf);
    /* Records of ds matching q's regions and lang (dates ignored), for
     * status and /metrics; NULL when the sink cannot count cheaply. */
    av_rc (*count)(void *s, const struct av_dataset *ds, const struct av_query *q, long *n,
                   char *errbuf);
    /* History (AV_PART_VERSIONS): every stored publication of the warnings
     * matching q's regions, dates and lang, in (region_id, valid_date, lang,
     * publish_time) order, an absent publish_time first; fn returning
     * non-zero stops. load_version: the whole warning of one of them,
     * children included, strings in pool. */
    av_rc (*read_versions)(void *s, const struct av_query *q, av_sink_version_fn fn, void *ud,
                           char *errbuf);
    av_rc (*load_version)(void *s, const struct av_version_row *v, struct av_warning *w,
                          struct av_pool *pool, char *errbuf);
    void (*close)(void *s); /* accepts NULL */
};

extern const struct av_sink_ops av_sink_sqlite;
extern const struct av_sink_ops av_sink_cassandra;

/* An open sink. */
struct av_sink {
    const struct av_sink_ops *ops;
    void *impl;
};

/* Options of every sink: [store] sink = ... and each sink's own section. */
extern const struct av_opt av_sink_opts[];

/* Opens the sink named by store.sink. On failure *out is left closed
 * (ops NULL) and errbuf says why. */
av_rc av_sink_open(struct av_sink *out, const struct av_sink_env *env, char *errbuf);
void av_sink_close(struct av_sink *s); /* accepts a closed sink */

static inline const char *av_sink_name(const struct av_sink *s) { return s->ops->name; }
/* Whether the sink keeps dataset ds. */
static inline int av_sink_keeps(const struct av_sink *s, const struct av_dataset *ds)
{
    return (s->ops->parts & ds->part) != 0;
}

av_rc av_sink_begin(struct av_sink *s, char *errbuf);
av_rc av_sink_put(struct av_sink *s, const struct av_warning *w, int *changed, char *errbuf);
av_rc av_sink_commit(struct av_sink *s, char *errbuf);
void av_sink_rollback(struct av_sink *s);
av_rc av_sink_clear(struct av_sink *s, char *errbuf);
av_rc av_sink_read(struct av_sink *s, const struct av_query *q, av_sink_row_fn fn, void *ud,
                   char *errbuf);
/* AV_EINVAL naming the sink when it does not keep ds. */
av_rc av_sink_put_rows(struct av_sink *s, const struct av_dataset *ds, const void *recs,
                       size_t n, char *errbuf);
av_rc av_sink_read_rows(struct av_sink *s, const struct av_dataset *ds,
                        const struct av_query *q, av_sink_rec_fn fn, void *ud, char *errbuf);
/* The history of the warnings matching q (regions, dates, lang), in key
 * order: with as_of == AV_NULL_MS every version, each warning with
 * version, first_seen and superseded_at set (publication order within a
 * key); else per key the version av_versions_as_of(as_of) picks (keys with
 * none are left out). fn as for av_sink_read. AV_EINVAL naming the sink
 * when it keeps no history. */
av_rc av_sink_read_history(struct av_sink *s, const struct av_query *q, av_ms as_of,
                           av_sink_row_fn fn, void *ud, char *errbuf);
/* AV_OK with *n = -1 when the sink cannot count. */
av_rc av_sink_count(struct av_sink *s, const struct av_dataset *ds, const struct av_query *q,
                    long *n, char *errbuf);

#endif
