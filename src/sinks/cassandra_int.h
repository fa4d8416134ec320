/* cassandra_int.h - private to the Cassandra sink (cassandra.c,
 * cassandra_schema.c, cassandra_read.c). */
#ifndef AV_CASSANDRA_INT_H
#define AV_CASSANDRA_INT_H

#include <signal.h>
#include <stdint.h>

#include "../core/buf.h"

#include "../core/json.h"
#include "../cql/cql.h"
#include "cassandra.h"
#include "sink.h"

/* The tables, and how each lays out its dataset's key: the partition key
 * is the key fields of `partition` (bits 1 << key index) in key order, the
 * other key fields cluster in key order (`desc`: that one descending, -1
 * none). `year`: a column year int, the UTC year of the dataset's TIME key
 * field, computed by the sink:
 *   AV_CY_NONE       no such column;
 *   AV_CY_PARTITION  it closes the partition key (a bucket: one partition
 *                    per point and year);
 *   AV_CY_POINTS     the table holds only the key columns, without the
 *                    TIME field, and year clusters last (the points that
 *                    have hours in a year: what to read for a region). */
enum av_cass_year { AV_CY_NONE, AV_CY_PARTITION, AV_CY_POINTS };
struct av_cass_table {
    const struct av_dataset *ds;
    const char *name;
    unsigned partition;
    int desc;
    enum av_cass_year year;
};
enum {
    AV_CT_BY_REGION,
    AV_CT_BY_DATE,
    AV_CT_PROBLEMS,
    AV_CT_VERSIONS,  /* warning_versions_by_region: the publication history */
    AV_CT_WX_HOURLY, /* weather_hourly_by_point */
    AV_CT_WX_POINTS, /* weather_points_by_region */
    AV_CT_WX_DAILY,  /* weather_daily_by_region */
    AV_CT_N
};
extern const struct av_cass_table av_cass_tables[AV_CT_N];

#define AV_CASS_MAXCOLS 48 /* columns of any table (checked by a unit test) */

/* An open batch of put() (cassandra.c): the writes of many warnings to one
 * partition, gathered into one unlogged BATCH (one mutation on the node):
 * part AV_CASS_PART_REGION holds a region's warnings_by_region rows,
 * problems (their deletes too) and history rows with first_seen (the three
 * tables are partitioned by region_id), AV_CASS_PART_DATE a date's
 * warnings_by_date rows. Sent when it holds cassandra.batch_warnings
 * warnings or cassandra.batch_kib, when its slot is needed for another
 * partition (the one used least recently goes), when all of them hold more
 * than AV_CASS_OPEN_BYTES, and at commit. A slot whose batch is empty is
 * free. */
enum { AV_CASS_PART_REGION, AV_CASS_PART_DATE };
struct av_cass_open {
    int part;
    int64_t key;   /* region_id or valid_date (days) */
    int warnings;  /* warnings with statements in it */
    uint64_t last; /* s->tick of its last append */
    struct av_cql_obatch *b;
};
#define AV_CASS_OPEN_MAX 64
#define AV_CASS_OPEN_BYTES ((size_t)16 << 20)

struct av_cass {
    struct av_cql *cql;
    av_rc wrc;               /* first failed write since the last commit */
    char werr[AV_ERRBUF_SIZE];
    char ks[64];
    int wcl, rcl, retries;
    long backoff_max;
    volatile sig_atomic_t *stop;
    /* the columns of the warning and problem tables (av_cass_columns) */
    const struct av_field *wcols[AV_CASS_MAXCOLS], *pcols[AV_CASS_MAXCOLS];
    int nwcols, npcols;
    struct av_cql_prepared *ins[AV_CT_N];
    struct av_cql_prepared *del_problems, *sel_region, *sel_problems;
    /* the history: first_seen (written with a timestamp that lets the
     * earliest win), a region's versions in a date range, one record */
    struct av_cql_prepared *seen_version, *sel_versions, *sel_record;
    struct av_json doc;
    /* put()'s open batches (memory: at most AV_CASS_OPEN_BYTES plus one
     * warning's statements) and its scratch for the history's record */
    struct av_cass_open open[AV_CASS_OPEN_MAX];
    int nopen, batch_warnings;
    size_t batch_bytes;      /* cassandra.batch_kib */
    uint64_t tick;
    long nput, nreq; /* warnings put and batches sent since the last commit */
    struct av_buf json;
    /* the weather: a table's rows of one partition (a TIME or DATE key
     * clustering: within a range), by table; NULL for the others */
    struct av_cql_prepared *sel[AV_CT_N];
};

/* The retry policy of every request: AV_ENET (connection lost, timeouts,
 * unavailable or overloaded nodes) is tried again after 100 ms, doubling up
 * to backoff_max, at most `retries` times, never once *stop is set. Use:
 *     struct av_cass_backoff b = {0, 0};
 *     do rc = request(...); while (av_cass_again(s, &b, rc, errbuf));   */
struct av_cass_backoff {
    int tries;
    long wait_ms;
};
int av_cass_again(struct av_cass *s, struct av_cass_backoff *b, av_rc rc, const char *errbuf);
/* Waits for every write in flight; the first failure since the last call
 * (errbuf may be NULL), which it then forgets. */
av_rc av_cass_settle(struct av_cass *s, char *errbuf);

/* The columns of a dataset in Cassandra: its fields without the embedded
 * store's bookkeeping (AV_FF_LOCAL) and the readers' DERIVED ones, in
 * description order. */
int av_cass_columns(const struct av_dataset *ds, const struct av_field **cols);
/* The dataset columns of table t (AV_CY_POINTS: its key fields but TIME;
 * the year column is not among them). */
int av_cass_table_columns(const struct av_cass_table *t, const struct av_field **cols);
/* The key index of ds's TIME or DATE key field (the clustering range of
 * the weather tables), or -1. */
int av_cass_range_key(const struct av_dataset *ds);
/* The UTC year of instant t: the `year` column. */
int av_cass_year(av_ms t);
/* Whether table t is written USING TIMESTAMP (warnings: the publication;
 * weather hours: rank and fetch) or with the server's (the daily weather,
 * the points). */
int av_cass_client_ts(const struct av_cass_table *t);
const char *av_cass_type(enum av_ftype t);
/* The value at p as a bound value (asp holds an aspect list's names). */
struct av_cql_value av_cass_value(const struct av_field *f, const void *p, const char *asp[8]);

struct av_buf;
/* CREATE TABLE IF NOT EXISTS of table t in keyspace ks, appended to b. */
void av_cass_create_table(struct av_buf *b, const char *ks, const struct av_cass_table *t);
/* Keyspace, tables and missing columns (cassandra_schema.c). */
av_rc av_cass_create_schema(struct av_cass *s, const char *replication, char *errbuf);
/* Every statement the sink uses. */
av_rc av_cass_prepare_all(struct av_cass *s, char *errbuf);

/* The read side (cassandra_read.c). */
av_rc av_cass_read(void *s, const struct av_query *q, av_sink_row_fn fn, void *ud,
                   char *errbuf);
av_rc av_cass_read_rows(void *s, const struct av_dataset *ds, const struct av_query *q,
                        av_sink_rec_fn fn, void *ud, char *errbuf);
av_rc av_cass_read_versions(void *s, const struct av_query *q, av_sink_version_fn fn, void *ud,
                            char *errbuf);
av_rc av_cass_load_version(void *s, const struct av_version_row *v, struct av_warning *w,
                           struct av_pool *pool, char *errbuf);

/* The history's clustering publish_time for an absent PublishTime: before
 * every real instant (the clean tables' order). */
#define AV_CASS_NO_PUB (-(INT64_C(1) << 53))
/* first_seen's write timestamp: an earlier fetch writes a later one. */
#define AV_CASS_SEEN_TS(ms) ((INT64_C(1) << 62) - (int64_t)(ms) * 1000)

#endif
