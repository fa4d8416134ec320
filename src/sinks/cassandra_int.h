/* cassandra_int.h - private to the Cassandra sink (cassandra.c,
 * cassandra_schema.c, cassandra_read.c). */
#ifndef AV_CASSANDRA_INT_H
#define AV_CASSANDRA_INT_H

#include <signal.h>

#include "../cql/cql.h"
#include "cassandra.h"
#include "sink.h"

/* The tables, and how each lays out its dataset's key: the partition key
 * is key field `partition`, the other key fields cluster in key order
 * (`desc`: that one descending, -1 none). */
struct av_cass_table {
    const struct av_dataset *ds;
    const char *name;
    int partition, desc;
};
enum { AV_CT_BY_REGION, AV_CT_BY_DATE, AV_CT_PROBLEMS, AV_CT_N };
extern const struct av_cass_table av_cass_tables[AV_CT_N];

#define AV_CASS_MAXCOLS 48 /* columns of any table (checked by a unit test) */

struct av_cass {
    struct av_cql *cql;
    char ks[64];
    int wcl, rcl, retries;
    long backoff_max;
    volatile sig_atomic_t *stop;
    /* the columns of the warning and problem tables (av_cass_columns) */
    const struct av_field *wcols[AV_CASS_MAXCOLS], *pcols[AV_CASS_MAXCOLS];
    int nwcols, npcols;
    struct av_cql_prepared *ins[AV_CT_N];
    struct av_cql_prepared *del_problems, *sel_region, *sel_problems;
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

/* The columns of a dataset in Cassandra: its fields without the embedded
 * store's bookkeeping (AV_FF_LOCAL), in description order. */
int av_cass_columns(const struct av_dataset *ds, const struct av_field **cols);
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

#endif
