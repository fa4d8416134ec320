/* cassandra_schema.c - the Cassandra sink's schema and statements, from the
 * dataset descriptions: the keyspace, the query-first tables (warnings and
 * the weather; a keyspace made by an older avalanche gets the tables it
 * lacks), the columns a newer description adds to existing tables (ALTER
 * TABLE ... ADD), and the prepared inserts, deletes and selects. Fails
 * with the server's message (AV_EREMOTE: permissions, bad replication) or
 * AV_ENET once retries are spent; nothing here is written twice, every DDL
 * is idempotent. */
#include "cassandra_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/buf.h"

#define KB(k) (1u << (k))

/* The weather's key fields: region_id, latitude, longitude, time (hourly);
 * region_id, date (daily). Partition sizes, with weather.max_points = 5
 * (at most 50):
 *   weather_hourly_by_point   one point in one UTC year: 8,760 rows (10
 *                             doubles, source, fetched_at), ~1-2 MB,
 *                             whatever max_points is; a region's hours of a
 *                             range are one slice per point and year, in
 *                             key order
 *   weather_points_by_region  a region's points per year: 5 x 14 seasons
 *   weather_daily_by_region   a region's days: 365 x 14 seasons = 5,110 rows */
const struct av_cass_table av_cass_tables[AV_CT_N] = {
    [AV_CT_BY_REGION] = {&av_ds_warning, "warnings_by_region", KB(AV_KEY_REGION), AV_KEY_DATE,
                         AV_CY_NONE},
    [AV_CT_BY_DATE] = {&av_ds_warning, "warnings_by_date", KB(AV_KEY_DATE), -1, AV_CY_NONE},
    [AV_CT_PROBLEMS] = {&av_ds_problem, "problems_by_region", KB(AV_KEY_REGION), -1,
                        AV_CY_NONE},
    /* a region's publications: (valid_date, lang, publish_time) ascending */
    [AV_CT_VERSIONS] = {&av_ds_version, "warning_versions_by_region", KB(AV_KEY_REGION), -1,
                        AV_CY_NONE},
    [AV_CT_WX_HOURLY] = {&av_ds_wx_hourly, "weather_hourly_by_point", KB(0) | KB(1) | KB(2), -1,
                         AV_CY_PARTITION},
    [AV_CT_WX_POINTS] = {&av_ds_wx_hourly, "weather_points_by_region", KB(0), -1,
                         AV_CY_POINTS},
    [AV_CT_WX_DAILY] = {&av_ds_wx_daily, "weather_daily_by_region", KB(0), -1, AV_CY_NONE},
};

const char *av_cass_type(enum av_ftype t)
{
    switch (t) {
    case AV_FT_I8:
        return "tinyint";
    case AV_FT_I32:
        return "int";
    case AV_FT_I64:
        return "bigint";
    case AV_FT_BOOL:
        return "boolean";
    case AV_FT_TIME:
        return "timestamp";
    case AV_FT_DATE:
        return "date";
    case AV_FT_ASPECTS:
        return "list<text>";
    case AV_FT_F64:
        return "double";
    default: /* TEXT, CHARS, NUMTEXT, WXSRC (its names) */
        return "text";
    }
}

int av_cass_columns(const struct av_dataset *ds, const struct av_field **cols)
{
    int n = 0;

    for (int i = 0; i < ds->nfields && n < AV_CASS_MAXCOLS; i++)
        if (!(ds->fields[i].flags & (AV_FF_LOCAL | AV_FF_DERIVED)))
            cols[n++] = &ds->fields[i];
    return n;
}

int av_cass_range_key(const struct av_dataset *ds)
{
    int r = -1;

    for (int k = 0; k < ds->nkeys; k++)
        if (av_ds_key(ds, k)->type == AV_FT_TIME || av_ds_key(ds, k)->type == AV_FT_DATE)
            r = k;
    return r;
}

int av_cass_table_columns(const struct av_cass_table *t, const struct av_field **cols)
{
    int n = 0, r = av_cass_range_key(t->ds);

    if (t->year != AV_CY_POINTS)
        return av_cass_columns(t->ds, cols);
    for (int k = 0; k < t->ds->nkeys && n < AV_CASS_MAXCOLS; k++)
        if (k != r)
            cols[n++] = av_ds_key(t->ds, k);
    return n;
}

int av_cass_year(av_ms t)
{
    int64_t days = t / 86400000 - (t % 86400000 < 0);
    int y, m, d;

    av_civil_from_days(days, &y, &m, &d);
    return y;
}

int av_cass_client_ts(const struct av_cass_table *t)
{
    return t->ds->rule != AV_RULE_REPLACE && t->year != AV_CY_POINTS;
}

static av_rc query(struct av_cass *s, const char *cql, const struct av_cql_value *v, int n,
                   struct av_cql_result **res, char *errbuf)
{
    struct av_cass_backoff b = {0, 0};
    av_rc rc;

    do {
        if (res) {
            av_cql_result_free(*res);
            *res = NULL;
        }
        rc = av_cql_query(s->cql, cql, v, n, AV_CQL_ONE, res, errbuf);
    } while (av_cass_again(s, &b, rc, errbuf));
    return rc;
}

static av_rc replication_literal(const char *spec, char *out, size_t cap, char *errbuf)
{
    const char *colon = strchr(spec, ':');
    size_t used;

    if (colon == NULL)
        goto bad;
    if (colon - spec == 14 && strncmp(spec, "SimpleStrategy", 14) == 0) {
        int n = atoi(colon + 1);
        if (n < 1 || n > 100)
            goto bad;
        snprintf(out, cap, "{'class': 'SimpleStrategy', 'replication_factor': %d}", n);
        return AV_OK;
    }
    if (colon - spec != 23 || strncmp(spec, "NetworkTopologyStrategy", 23) != 0)
        goto bad;
    used = (size_t)snprintf(out, cap, "{'class': 'NetworkTopologyStrategy'");
    for (const char *p = colon + 1; *p;) {
        size_t l = strcspn(p, ",");
        char dc[64];
        const char *eq = memchr(p, '=', l);
        int n;
        if (eq == NULL || (size_t)(eq - p) >= sizeof(dc) || eq == p)
            goto bad;
        memcpy(dc, p, (size_t)(eq - p));
        dc[eq - p] = '\0';
        for (char *q = dc; *q; q++)
            if (*q == '\'')
                goto bad;
        n = atoi(eq + 1);
        if (n < 1 || n > 100 || used + strlen(dc) + 16 >= cap)
            goto bad;
        used += (size_t)snprintf(out + used, cap - used, ", '%s': %d", dc, n);
        p += l + (p[l] == ',');
    }
    snprintf(out + used, cap - used, "}");
    return AV_OK;
bad:
    return av_fail(errbuf, AV_EINVAL,
                   "cassandra.replication = \"%s\": use SimpleStrategy:N or "
                   "NetworkTopologyStrategy:dc1=N,dc2=M",
                   spec);
}

/* Key field k of table t. */
static const struct av_field *tkey(const struct av_cass_table *t, int k)
{
    return av_ds_key(t->ds, k);
}

/* Whether key field k of t clusters (is neither in the partition key nor
 * left out of a points table). */
static int clusters(const struct av_cass_table *t, int k)
{
    return !(t->partition & (1u << k)) &&
           !(t->year == AV_CY_POINTS && k == av_cass_range_key(t->ds));
}

void av_cass_create_table(struct av_buf *b, const char *ks, const struct av_cass_table *t)
{
    const struct av_field *cols[AV_CASS_MAXCOLS];
    int n = av_cass_table_columns(t, cols), first = 1;

    av_buf_printf(b, "CREATE TABLE IF NOT EXISTS %s.%s (", ks, t->name);
    for (int i = 0; i < n; i++)
        av_buf_printf(b, "%s %s, ", cols[i]->name, av_cass_type(cols[i]->type));
    if (t->year != AV_CY_NONE)
        av_buf_puts(b, "year int, ");
    av_buf_puts(b, "PRIMARY KEY ((");
    for (int k = 0; k < t->ds->nkeys; k++)
        if (t->partition & (1u << k)) {
            av_buf_printf(b, "%s%s", first ? "" : ", ", tkey(t, k)->name);
            first = 0;
        }
    av_buf_puts(b, t->year == AV_CY_PARTITION ? ", year)" : ")");
    for (int k = 0; k < t->ds->nkeys; k++)
        if (clusters(t, k))
            av_buf_printf(b, ", %s", tkey(t, k)->name);
    av_buf_puts(b, t->year == AV_CY_POINTS ? ", year)" : ")");
    if (t->desc >= 0) {
        first = 1;
        av_buf_puts(b, ") WITH CLUSTERING ORDER BY (");
        for (int k = 0; k < t->ds->nkeys; k++) {
            if (!clusters(t, k))
                continue;
            av_buf_printf(b, "%s%s %s", first ? "" : ", ", tkey(t, k)->name,
                          k == t->desc ? "DESC" : "ASC");
            first = 0;
        }
    }
    av_buf_puts(b, ")");
}

/* Adds the description's columns that table t lacks (a newer avalanche
 * opening an older keyspace). Another process adding the same column at
 * the same time is fine: the column is looked up again before failing. */
static av_rc add_missing_columns(struct av_cass *s, const struct av_cass_table *t,
                                 char *errbuf)
{
    const struct av_field *cols[AV_CASS_MAXCOLS];
    struct av_cql_value v[2] = {av_cql_text(s->ks), av_cql_text(t->name)};
    struct av_cql_result *r = NULL;
    int n = av_cass_table_columns(t, cols);
    char why[AV_ERRBUF_SIZE] = "";
    av_rc rc = AV_OK;

    for (int pass = 0; pass < 2 && rc == AV_OK; pass++) {
        int missing = 0;
        rc = query(s, "SELECT column_name FROM system_schema.columns WHERE keyspace_name = ? "
                      "AND table_name = ?",
                   v, 2, &r, errbuf);
        for (int i = 0; rc == AV_OK && i < n; i++) {
            int have = 0;
            char q[512];
            for (int row = 0; !have && row < av_cql_result_rows(r); row++) {
                struct av_cql_value c;
                have = av_cql_result_get(r, row, 0, &c) == AV_OK && c.type == AV_CQL_TEXT &&
                       c.u.s.n == strlen(cols[i]->name) &&
                       memcmp(c.u.s.p, cols[i]->name, c.u.s.n) == 0;
            }
            if (have)
                continue;
            missing++;
            if (pass == 1) {
                rc = av_fail(errbuf, AV_EREMOTE, "%s.%s has no column %s and adding it failed: %s",
                             s->ks, t->name, cols[i]->name, why);
                break;
            }
            snprintf(q, sizeof(q), "ALTER TABLE %s.%s ADD %s %s", s->ks, t->name,
                     cols[i]->name, av_cass_type(cols[i]->type));
            if (query(s, q, NULL, 0, NULL, why) != AV_OK)
                continue; /* raced with another process? look again */
        }
        av_cql_result_free(r);
        r = NULL;
        if (missing == 0)
            break;
    }
    return rc;
}

av_rc av_cass_create_schema(struct av_cass *s, const char *replication, char *errbuf)
{
    char lit[512];
    struct av_buf b;
    av_rc rc = replication_literal(replication, lit, sizeof(lit), errbuf);

    if (rc != AV_OK)
        return rc;
    av_buf_init(&b, 0);
    av_buf_printf(&b, "CREATE KEYSPACE IF NOT EXISTS %s WITH replication = %s", s->ks, lit);
    rc = b.data ? query(s, b.data, NULL, 0, NULL, errbuf) : AV_ENOMEM;
    for (int t = 0; rc == AV_OK && t < AV_CT_N; t++) {
        av_buf_reset(&b);
        av_cass_create_table(&b, s->ks, &av_cass_tables[t]);
        rc = b.data ? query(s, b.data, NULL, 0, NULL, errbuf) : AV_ENOMEM;
        if (rc == AV_OK)
            rc = add_missing_columns(s, &av_cass_tables[t], errbuf);
    }
    av_buf_free(&b);
    return rc;
}

static av_rc prepare(struct av_cass *s, struct av_cql_prepared **p, struct av_buf *b,
                     char *errbuf)
{
    struct av_cass_backoff bo = {0, 0};
    av_rc rc;

    if (b->data == NULL)
        return AV_ENOMEM;
    do
        rc = av_cql_prepare(s->cql, b->data, p, errbuf);
    while (av_cass_again(s, &bo, rc, errbuf));
    return rc;
}

/* The columns an INSERT of t writes (an EARLIEST one has its own UPDATE). */
static void column_list(struct av_buf *b, const struct av_cass_table *t)
{
    const struct av_field *cols[AV_CASS_MAXCOLS];
    int n = av_cass_table_columns(t, cols), first = 1;

    for (int i = 0; i < n; i++) {
        if (cols[i]->flags & AV_FF_EARLIEST)
            continue;
        av_buf_printf(b, "%s%s", first ? "" : ", ", cols[i]->name);
        first = 0;
    }
}

/* How many of them. */
static int insert_columns(const struct av_cass_table *t)
{
    const struct av_field *cols[AV_CASS_MAXCOLS];
    int n = av_cass_table_columns(t, cols), m = 0;

    for (int i = 0; i < n; i++)
        m += !(cols[i]->flags & AV_FF_EARLIEST);
    return m;
}

/* "region_id = ? AND valid_date = ? AND lang = ?": the warning's key. */
static void parent_match(struct av_buf *b, const struct av_dataset *ds)
{
    for (int k = 0; k <= AV_KEY_LANG; k++)
        av_buf_printf(b, "%s%s = ?", k ? " AND " : "", av_ds_key(ds, k)->name);
}

/* INSERT of every column of t (then year, then the write timestamp when
 * the table takes the client's). */
static void insert_sql(struct av_buf *b, const char *ks, const struct av_cass_table *t)
{
    int n = insert_columns(t);

    av_buf_printf(b, "INSERT INTO %s.%s (", ks, t->name);
    column_list(b, t);
    av_buf_puts(b, t->year != AV_CY_NONE ? ", year) VALUES (" : ") VALUES (");
    for (int i = 0; i < n + (t->year != AV_CY_NONE); i++)
        av_buf_puts(b, i ? ", ?" : "?");
    av_buf_puts(b, av_cass_client_ts(t) ? ") USING TIMESTAMP ?" : ")");
}

/* The weather's reads, one partition each: the columns of t WHERE every
 * partition column = ? (year last), and a TIME key in [?, ?) or a DATE key
 * in [?, ?] when it clusters. */
static void select_sql(struct av_buf *b, const char *ks, const struct av_cass_table *t)
{
    int r = av_cass_range_key(t->ds);
    const char *and = " WHERE ";

    av_buf_puts(b, "SELECT ");
    column_list(b, t);
    av_buf_printf(b, "%s FROM %s.%s", t->year == AV_CY_POINTS ? ", year" : "", ks, t->name);
    for (int k = 0; k < t->ds->nkeys; k++)
        if (t->partition & (1u << k)) {
            av_buf_printf(b, "%s%s = ?", and, tkey(t, k)->name);
            and = " AND ";
        }
    if (t->year == AV_CY_PARTITION)
        av_buf_puts(b, " AND year = ?");
    if (r >= 0 && clusters(t, r))
        av_buf_printf(b, " AND %s >= ? AND %s %s ?", tkey(t, r)->name, tkey(t, r)->name,
                      tkey(t, r)->type == AV_FT_TIME ? "<" : "<=");
}

av_rc av_cass_prepare_all(struct av_cass *s, char *errbuf)
{
    const struct av_cass_table *pt = &av_cass_tables[AV_CT_PROBLEMS];
    const struct av_cass_table *rt = &av_cass_tables[AV_CT_BY_REGION];
    const char *date = av_ds_key(rt->ds, AV_KEY_DATE)->name;
    struct av_buf b;
    av_rc rc = AV_OK;

    av_buf_init(&b, 0);
    for (int t = 0; rc == AV_OK && t < AV_CT_N; t++) {
        av_buf_reset(&b);
        insert_sql(&b, s->ks, &av_cass_tables[t]);
        rc = prepare(s, &s->ins[t], &b, errbuf);
    }
    for (int t = AV_CT_WX_HOURLY; rc == AV_OK && t < AV_CT_N; t++) {
        av_buf_reset(&b);
        select_sql(&b, s->ks, &av_cass_tables[t]);
        rc = prepare(s, &s->sel[t], &b, errbuf);
    }
    if (rc == AV_OK) {
        av_buf_reset(&b);
        av_buf_printf(&b, "DELETE FROM %s.%s USING TIMESTAMP ? WHERE ", s->ks, pt->name);
        parent_match(&b, pt->ds);
        rc = prepare(s, &s->del_problems, &b, errbuf);
    }
    if (rc == AV_OK) {
        av_buf_reset(&b);
        av_buf_puts(&b, "SELECT ");
        column_list(&b, rt);
        av_buf_printf(&b, " FROM %s.%s WHERE %s = ? AND %s >= ? AND %s <= ? ORDER BY %s ASC",
                      s->ks, rt->name, tkey(rt, AV_KEY_REGION)->name, date, date, date);
        rc = prepare(s, &s->sel_region, &b, errbuf);
    }
    if (rc == AV_OK) {
        av_buf_reset(&b);
        av_buf_puts(&b, "SELECT ");
        column_list(&b, pt);
        av_buf_printf(&b, " FROM %s.%s WHERE ", s->ks, pt->name);
        parent_match(&b, pt->ds);
        rc = prepare(s, &s->sel_problems, &b, errbuf);
    }
    if (rc == AV_OK) { /* the history (av_ds_version) */
        const struct av_cass_table *vt = &av_cass_tables[AV_CT_VERSIONS];
        const char *pub = av_ds_role(vt->ds, AV_FF_VERSION)->name;
        const char *seen = av_ds_role(vt->ds, AV_FF_EARLIEST)->name;
        av_buf_reset(&b);
        av_buf_printf(&b, "UPDATE %s.%s USING TIMESTAMP ? SET %s = ? WHERE ", s->ks, vt->name,
                      seen);
        parent_match(&b, vt->ds);
        av_buf_printf(&b, " AND %s = ?", pub);
        rc = prepare(s, &s->seen_version, &b, errbuf);
        if (rc == AV_OK) {
            av_buf_reset(&b);
            av_buf_printf(&b, "SELECT %s, %s, %s, %s, %s FROM %s.%s WHERE %s = ? AND %s >= ? "
                          "AND %s <= ?", tkey(vt, AV_KEY_REGION)->name,
                          tkey(vt, AV_KEY_DATE)->name, tkey(vt, AV_KEY_LANG)->name, pub, seen,
                          s->ks, vt->name, tkey(vt, AV_KEY_REGION)->name,
                          tkey(vt, AV_KEY_DATE)->name, tkey(vt, AV_KEY_DATE)->name);
            rc = prepare(s, &s->sel_versions, &b, errbuf);
        }
        if (rc == AV_OK) {
            av_buf_reset(&b);
            av_buf_printf(&b, "SELECT record FROM %s.%s WHERE ", s->ks, vt->name);
            parent_match(&b, vt->ds);
            av_buf_printf(&b, " AND %s = ?", pub);
            rc = prepare(s, &s->sel_record, &b, errbuf);
        }
    }
    av_buf_free(&b);
    return rc;
}
