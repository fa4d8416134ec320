/* cassandra.c - the Cassandra sink (see cassandra.h). Uses only cql.h. */
#include "cassandra.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/log.h"
#include "../core/tz.h"
#include "../cql/cql.h"
#include "../sources/regions.h"

const struct av_opt av_cassandra_opts[] = {
    {"cassandra", "hosts", AV_OPT_STR, "127.0.0.1:9042", 0, 0, NULL,
     "contact points, host[:port][,host[:port]]"},
    {"cassandra", "keyspace", AV_OPT_STR, "avalanche", 0, 0, NULL, "keyspace"},
    {"cassandra", "user", AV_OPT_STR, "", 0, 0, NULL,
     "user for PasswordAuthenticator (or AVALANCHE_CASSANDRA_USER)"},
    {"cassandra", "password", AV_OPT_STR, "", 0, 0, NULL,
     "password (or AVALANCHE_CASSANDRA_PASSWORD)"},
    {"cassandra", "replication", AV_OPT_STR, "SimpleStrategy:1", 0, 0, NULL,
     "keyspace replication when creating it: SimpleStrategy:N or "
     "NetworkTopologyStrategy:dc1=3,dc2=2"},
    {"cassandra", "write_consistency", AV_OPT_STR, "local_quorum", 0, 0, NULL,
     "consistency of writes (one, quorum, local_quorum, all, ...)"},
    {"cassandra", "read_consistency", AV_OPT_STR, "local_quorum", 0, 0, NULL,
     "consistency of reads (export)"},
    {"cassandra", "connect_timeout_ms", AV_OPT_INT, "5000", 100, 600000, NULL,
     "TCP connect timeout per contact point"},
    {"cassandra", "request_timeout_ms", AV_OPT_INT, "12000", 100, 600000, NULL,
     "timeout of one request"},
    {"cassandra", "max_frame_bytes", AV_OPT_INT, "16777216", 65536, 268435456, NULL,
     "largest frame accepted from the server"},
    {"cassandra", "retries", AV_OPT_INT, "12", 0, 1000, NULL,
     "retries of a write or read on connection loss, timeouts, unavailable nodes"},
    {"cassandra", "backoff_max_ms", AV_OPT_INT, "5000", 10, 600000, NULL,
     "longest wait between retries (starts at 100 ms, doubles)"},
    {NULL, NULL, 0, NULL, 0, 0, NULL, NULL},
};

/* Warning columns, in bind order (same for both warning tables). */
static const char *const wcols[] = {
    "region_id", "valid_date", "lang", "reg_id", "previous_reg_id", "region_name",
    "region_type", "danger_level", "danger_level_name", "valid_from", "valid_to",
    "publish_time", "next_warning_time", "danger_increase_time", "danger_decrease_time",
    "is_tendency", "main_text", "avalanche_danger", "emergency_warning", "snow_surface",
    "current_weak_layers", "latest_avalanche_activity", "latest_observations", "author",
    "utm_zone", "utm_east", "utm_north", "county_ids", "municipality_ids", "endpoint",
};
#define NW ((int)(sizeof(wcols) / sizeof(wcols[0])))

static const char wtypes[] =
    "region_id int, valid_date date, lang tinyint, reg_id bigint, previous_reg_id bigint, "
    "region_name text, region_type text, danger_level tinyint, danger_level_name text, "
    "valid_from timestamp, valid_to timestamp, publish_time timestamp, "
    "next_warning_time timestamp, danger_increase_time timestamp, "
    "danger_decrease_time timestamp, is_tendency boolean, main_text text, "
    "avalanche_danger text, emergency_warning text, snow_surface text, "
    "current_weak_layers text, latest_avalanche_activity text, latest_observations text, "
    "author text, utm_zone int, utm_east int, utm_north int, county_ids text, "
    "municipality_ids text, endpoint text";

static const char *const pcols[] = {
    "region_id", "valid_date", "lang", "problem_id", "problem_type_id", "problem_type_name",
    "avalanche_type_id", "avalanche_type_name", "ext_id", "ext_name", "cause_id",
    "cause_name", "probability_id", "probability_name", "trigger_simple_id",
    "trigger_simple_name", "trigger_sensitivity_id", "trigger_sensitivity_name",
    "destructive_size_id", "destructive_size_name", "propagation_id", "propagation_name",
    "aspects_raw", "aspects", "exposed_height_fill", "exposed_height_1", "exposed_height_2",
    "exposed_min_m", "exposed_max_m", "exposed_heights", "danger_level",
    "danger_level_name", "text",
};
#define NP ((int)(sizeof(pcols) / sizeof(pcols[0])))

static const char ptypes[] =
    "region_id int, valid_date date, lang tinyint, problem_id int, problem_type_id int, "
    "problem_type_name text, avalanche_type_id int, avalanche_type_name text, ext_id int, "
    "ext_name text, cause_id int, cause_name text, probability_id int, "
    "probability_name text, trigger_simple_id int, trigger_simple_name text, "
    "trigger_sensitivity_id int, trigger_sensitivity_name text, destructive_size_id int, "
    "destructive_size_name text, propagation_id int, propagation_name text, "
    "aspects_raw text, aspects list<text>, exposed_height_fill int, exposed_height_1 int, "
    "exposed_height_2 int, exposed_min_m int, exposed_max_m int, exposed_heights text, "
    "danger_level int, danger_level_name text, text text";

struct av_cass {
    struct av_cql *cql;
    char ks[64];
    int wcl, rcl, retries;
    volatile sig_atomic_t *stop;
    long backoff_max;
    struct av_cql_prepared *ins_by_region, *ins_by_date, *ins_problem, *del_problems;
    struct av_cql_prepared *sel_region, *sel_problems;
};

static int ident_ok(const char *s)
{
    if (*s == '\0' || strlen(s) > 48)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return 0;
    return 1;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

/* Runs op until it succeeds, fails for good, or retries run out. */
#define RETRY(s, rc, errbuf, call)                                                        \
    do {                                                                                  \
        long wait_ = 100;                                                                 \
        for (int try_ = 0;; try_++) {                                                     \
            rc = (call);                                                                  \
            if (rc != AV_ENET || try_ >= (s)->retries || ((s)->stop && *(s)->stop))       \
                break;                                                                    \
            av_warn("cassandra: %s; retrying in %ld ms", errbuf, wait_);                  \
            sleep_ms(wait_);                                                              \
            wait_ = wait_ * 2 > (s)->backoff_max ? (s)->backoff_max : wait_ * 2;          \
        }                                                                                 \
    } while (0)

static av_rc replication_literal(const char *spec, char *out, size_t cap, char *errbuf)
{
    const char *colon = strchr(spec, ':');
    size_t used;

    if (colon == NULL)
        goto bad;
    if (strncmp(spec, "SimpleStrategy", (size_t)(colon - spec)) == 0 &&
        colon - spec == 14) {
        int n = atoi(colon + 1);
        if (n < 1 || n > 100)
            goto bad;
        snprintf(out, cap, "{'class': 'SimpleStrategy', 'replication_factor': %d}", n);
        return AV_OK;
    }
    if (strncmp(spec, "NetworkTopologyStrategy", (size_t)(colon - spec)) != 0 ||
        colon - spec != 23)
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

static av_rc ddl(struct av_cass *s, const char *cql, char *errbuf)
{
    av_rc rc;

    RETRY(s, rc, errbuf, av_cql_query(s->cql, cql, NULL, 0, AV_CQL_ONE, NULL, errbuf));
    return rc;
}

static av_rc create_schema(struct av_cass *s, const char *repl, char *errbuf)
{
    char q[2048], lit[512];
    av_rc rc = replication_literal(repl, lit, sizeof(lit), errbuf);

    if (rc != AV_OK)
        return rc;
    snprintf(q, sizeof(q), "CREATE KEYSPACE IF NOT EXISTS %s WITH replication = %s", s->ks,
             lit);
    if ((rc = ddl(s, q, errbuf)) != AV_OK)
        return rc;
    snprintf(q, sizeof(q),
             "CREATE TABLE IF NOT EXISTS %s.warnings_by_region (%s, "
             "PRIMARY KEY ((region_id), valid_date, lang)) "
             "WITH CLUSTERING ORDER BY (valid_date DESC, lang ASC)",
             s->ks, wtypes);
    if ((rc = ddl(s, q, errbuf)) != AV_OK)
        return rc;
    snprintf(q, sizeof(q),
             "CREATE TABLE IF NOT EXISTS %s.warnings_by_date (%s, "
             "PRIMARY KEY ((valid_date), region_id, lang))",
             s->ks, wtypes);
    if ((rc = ddl(s, q, errbuf)) != AV_OK)
        return rc;
    snprintf(q, sizeof(q),
             "CREATE TABLE IF NOT EXISTS %s.problems_by_region (%s, "
             "PRIMARY KEY ((region_id), valid_date, lang, problem_id))",
             s->ks, ptypes);
    return ddl(s, q, errbuf);
}

static av_rc prepare(struct av_cass *s, struct av_cql_prepared **p, const char *q,
                     char *errbuf)
{
    av_rc rc;

    RETRY(s, rc, errbuf, av_cql_prepare(s->cql, q, p, errbuf));
    return rc;
}

static void insert_sql(char *q, size_t cap, const char *ks, const char *table,
                       const char *const *cols, int n)
{
    size_t u = (size_t)snprintf(q, cap, "INSERT INTO %s.%s (", ks, table);

    for (int i = 0; i < n; i++)
        u += (size_t)snprintf(q + u, cap - u, "%s%s", i ? ", " : "", cols[i]);
    u += (size_t)snprintf(q + u, cap - u, ") VALUES (");
    for (int i = 0; i < n; i++)
        u += (size_t)snprintf(q + u, cap - u, "%s?", i ? ", " : "");
    snprintf(q + u, cap - u, ") USING TIMESTAMP ?");
}

static void select_sql(char *q, size_t cap, const char *ks, const char *table,
                       const char *const *cols, int n, const char *where)
{
    size_t u = (size_t)snprintf(q, cap, "SELECT ");

    for (int i = 0; i < n; i++)
        u += (size_t)snprintf(q + u, cap - u, "%s%s", i ? ", " : "", cols[i]);
    snprintf(q + u, cap - u, " FROM %s.%s WHERE %s", ks, table, where);
}

av_rc av_cass_open(struct av_cass **out, const struct av_conf *c,
                   volatile sig_atomic_t *stop, char *errbuf)
{
    struct av_cass *s = calloc(1, sizeof(*s));
    struct av_cql_opts o;
    char q[4096];
    const char *ks = av_conf_str(c, "cassandra.keyspace");
    av_rc rc;

    if (s == NULL)
        return AV_ENOMEM;
    if (!ident_ok(ks)) {
        free(s);
        return av_fail(errbuf, AV_EINVAL, "cassandra.keyspace \"%s\": use lower-case letters, "
                       "digits and _", ks);
    }
    snprintf(s->ks, sizeof(s->ks), "%s", ks);
    s->stop = stop;
    s->wcl = av_cql_consistency_parse(av_conf_str(c, "cassandra.write_consistency"));
    s->rcl = av_cql_consistency_parse(av_conf_str(c, "cassandra.read_consistency"));
    if (s->wcl < 0 || s->rcl < 0) {
        free(s);
        return av_fail(errbuf, AV_EINVAL, "cassandra.*_consistency: unknown level (use one, "
                       "two, three, quorum, all, local_quorum, each_quorum, local_one)");
    }
    s->retries = (int)av_conf_int(c, "cassandra.retries");
    s->backoff_max = (long)av_conf_int(c, "cassandra.backoff_max_ms");
    memset(&o, 0, sizeof(o));
    o.hosts = av_conf_str(c, "cassandra.hosts");
    o.user = av_conf_str(c, "cassandra.user")[0] ? av_conf_str(c, "cassandra.user") : NULL;
    o.password = av_conf_str(c, "cassandra.password");
    o.connect_timeout_ms = (int)av_conf_int(c, "cassandra.connect_timeout_ms");
    o.request_timeout_ms = (int)av_conf_int(c, "cassandra.request_timeout_ms");
    o.max_frame = (size_t)av_conf_int(c, "cassandra.max_frame_bytes");
    RETRY(s, rc, errbuf, av_cql_connect(&s->cql, &o, errbuf));
    if (rc != AV_OK)
        goto fail;
    rc = create_schema(s, av_conf_str(c, "cassandra.replication"), errbuf);
    if (rc != AV_OK)
        goto fail;
    insert_sql(q, sizeof(q), s->ks, "warnings_by_region", wcols, NW);
    if ((rc = prepare(s, &s->ins_by_region, q, errbuf)) != AV_OK)
        goto fail;
    insert_sql(q, sizeof(q), s->ks, "warnings_by_date", wcols, NW);
    if ((rc = prepare(s, &s->ins_by_date, q, errbuf)) != AV_OK)
        goto fail;
    insert_sql(q, sizeof(q), s->ks, "problems_by_region", pcols, NP);
    if ((rc = prepare(s, &s->ins_problem, q, errbuf)) != AV_OK)
        goto fail;
    snprintf(q, sizeof(q),
             "DELETE FROM %s.problems_by_region USING TIMESTAMP ? "
             "WHERE region_id = ? AND valid_date = ? AND lang = ?",
             s->ks);
    if ((rc = prepare(s, &s->del_problems, q, errbuf)) != AV_OK)
        goto fail;
    select_sql(q, sizeof(q), s->ks, "warnings_by_region", wcols, NW,
               "region_id = ? AND valid_date >= ? AND valid_date <= ? "
               "ORDER BY valid_date ASC");
    if ((rc = prepare(s, &s->sel_region, q, errbuf)) != AV_OK)
        goto fail;
    select_sql(q, sizeof(q), s->ks, "problems_by_region", pcols, NP,
               "region_id = ? AND valid_date = ? AND lang = ?");
    if ((rc = prepare(s, &s->sel_problems, q, errbuf)) != AV_OK)
        goto fail;
    *out = s;
    return AV_OK;
fail:
    av_cass_close(s);
    return rc;
}

void av_cass_close(struct av_cass *s)
{
    if (s == NULL)
        return;
    av_cql_prepared_free(s->ins_by_region);
    av_cql_prepared_free(s->ins_by_date);
    av_cql_prepared_free(s->ins_problem);
    av_cql_prepared_free(s->del_problems);
    av_cql_prepared_free(s->sel_region);
    av_cql_prepared_free(s->sel_problems);
    av_cql_close(s->cql);
    free(s);
}

/* ---- write ---- */

static struct av_cql_value vint(int v)
{
    return v == AV_NULL_INT ? av_cql_null() : av_cql_int(v);
}

static struct av_cql_value vms(av_ms t)
{
    return t == AV_NULL_MS ? av_cql_null() : av_cql_timestamp(t);
}

static void warning_values(const struct av_warning *w, const char *endpoint,
                           struct av_cql_value *v)
{
    int i = 0;

    v[i++] = av_cql_int(w->region_id);
    v[i++] = av_cql_date(w->valid_date);
    v[i++] = av_cql_tinyint((int8_t)w->lang);
    v[i++] = w->reg_id == AV_NULL_INT ? av_cql_null() : av_cql_bigint(w->reg_id);
    v[i++] = w->previous_reg_id == AV_NULL_INT ? av_cql_null()
                                               : av_cql_bigint(w->previous_reg_id);
    v[i++] = av_cql_text(w->region_name);
    v[i++] = av_cql_text(w->region_type[0] ? w->region_type : NULL);
    v[i++] = av_cql_tinyint((int8_t)w->danger_level);
    v[i++] = av_cql_text(w->danger_level_name);
    v[i++] = vms(w->valid_from);
    v[i++] = vms(w->valid_to);
    v[i++] = vms(w->publish_time);
    v[i++] = vms(w->next_warning_time);
    v[i++] = vms(w->danger_increase_time);
    v[i++] = vms(w->danger_decrease_time);
    v[i++] = w->is_tendency == AV_NULL_INT ? av_cql_null() : av_cql_bool(w->is_tendency);
    v[i++] = av_cql_text(w->main_text);
    v[i++] = av_cql_text(w->avalanche_danger);
    v[i++] = av_cql_text(w->emergency_warning);
    v[i++] = av_cql_text(w->snow_surface);
    v[i++] = av_cql_text(w->current_weak_layers);
    v[i++] = av_cql_text(w->latest_avalanche_activity);
    v[i++] = av_cql_text(w->latest_observations);
    v[i++] = av_cql_text(w->author);
    v[i++] = vint(w->utm_zone);
    v[i++] = vint(w->utm_east);
    v[i++] = vint(w->utm_north);
    v[i++] = av_cql_text(w->county_ids);
    v[i++] = av_cql_text(w->municipality_ids);
    v[i++] = av_cql_text(endpoint);
}

static void problem_values(const struct av_warning *w, const struct av_problem *p,
                           const char **asp, int *nasp, struct av_cql_value *v)
{
    int i = 0;

    *nasp = 0;
    for (int k = 0; p->aspects != AV_NULL_INT && k < 8; k++)
        if (p->aspects & (1 << k))
            asp[(*nasp)++] = av_aspect_names[k];
    v[i++] = av_cql_int(w->region_id);
    v[i++] = av_cql_date(w->valid_date);
    v[i++] = av_cql_tinyint((int8_t)w->lang);
    v[i++] = av_cql_int(p->problem_id);
    v[i++] = vint(p->type_id);
    v[i++] = av_cql_text(p->type_name);
    v[i++] = vint(p->aval_type_id);
    v[i++] = av_cql_text(p->aval_type_name);
    v[i++] = vint(p->ext_id);
    v[i++] = av_cql_text(p->ext_name);
    v[i++] = vint(p->cause_id);
    v[i++] = av_cql_text(p->cause_name);
    v[i++] = vint(p->probability_id);
    v[i++] = av_cql_text(p->probability_name);
    v[i++] = vint(p->trigger_simple_id);
    v[i++] = av_cql_text(p->trigger_simple_name);
    v[i++] = vint(p->trigger_sensitivity_id);
    v[i++] = av_cql_text(p->trigger_sensitivity_name);
    v[i++] = vint(p->destructive_size_id);
    v[i++] = av_cql_text(p->destructive_size_name);
    v[i++] = vint(p->propagation_id);
    v[i++] = av_cql_text(p->propagation_name);
    v[i++] = av_cql_text(p->aspects_raw);
    v[i++] = p->aspects == AV_NULL_INT ? av_cql_null() : av_cql_list_text(asp, *nasp);
    v[i++] = vint(p->exposed_height_fill);
    v[i++] = vint(p->exposed_height_1);
    v[i++] = vint(p->exposed_height_2);
    v[i++] = vint(p->exposed_min_m);
    v[i++] = vint(p->exposed_max_m);
    v[i++] = av_cql_text(p->exposed_text);
    v[i++] = vint(p->danger_level);
    v[i++] = av_cql_text(p->danger_level_name);
    v[i++] = av_cql_text(p->text);
}

av_rc av_cass_upsert(void *ctx, const struct av_warning *w, const char *endpoint, int *changed,
                     char *errbuf)
{
    struct av_cass *s = ctx;
    struct av_cql_value wv[NW + 1], pv[AV_MAX_PROBLEMS][NP + 1], dv[4];
    const char *asp[AV_MAX_PROBLEMS][8];
    int nasp[AV_MAX_PROBLEMS];
    struct av_cql_batch_item items[AV_MAX_PROBLEMS + 2];
    int n = 0;
    av_ms pub = w->publish_time != AV_NULL_MS ? w->publish_time : w->valid_from;
    int64_t ts = pub * 1000 + (strcmp(endpoint, "detail") == 0 ? 1 : 0);
    av_rc rc;

    warning_values(w, endpoint, wv);
    wv[NW] = av_cql_bigint(ts);
    dv[0] = av_cql_bigint(ts - 1);
    dv[1] = av_cql_int(w->region_id);
    dv[2] = av_cql_date(w->valid_date);
    dv[3] = av_cql_tinyint((int8_t)w->lang);
    items[n++] = (struct av_cql_batch_item){s->del_problems, dv, 4};
    for (int k = 0; k < w->n_problems; k++) {
        problem_values(w, &w->problems[k], asp[k], &nasp[k], pv[k]);
        pv[k][NP] = av_cql_bigint(ts);
        items[n++] = (struct av_cql_batch_item){s->ins_problem, pv[k], NP + 1};
    }
    items[n++] = (struct av_cql_batch_item){s->ins_by_region, wv, NW + 1};
    RETRY(s, rc, errbuf, av_cql_batch(s->cql, 1, items, n, s->wcl, errbuf));
    if (rc != AV_OK)
        return rc;
    RETRY(s, rc, errbuf,
          av_cql_execute(s->cql, s->ins_by_date, wv, NW + 1, s->wcl, 0, NULL, 0, NULL, errbuf));
    if (rc == AV_OK)
        *changed = 1;
    return rc;
}

/* ---- read ---- */

/* Owned copies of one result row's strings (results are freed per page). */
struct pool {
    char *buf;
    size_t used, cap;
};

static const char *pdup(struct pool *p, const char *s, size_t n)
{
    char *d;

    if (p->used + n + 1 > p->cap) {
        /* Fixed capacity per warning: grow only between warnings. */
        return NULL;
    }
    d = p->buf + p->used;
    memcpy(d, s, n);
    d[n] = '\0';
    p->used += n + 1;
    return d;
}

static const char *gtext(const struct av_cql_result *r, int row, int col, struct pool *p)
{
    struct av_cql_value v;

    if (av_cql_result_get(r, row, col, &v) != AV_OK || v.type == AV_CQL_NULL)
        return NULL;
    if (v.type != AV_CQL_TEXT)
        return NULL;
    return pdup(p, v.u.s.p, v.u.s.n);
}

static int64_t gint(const struct av_cql_result *r, int row, int col)
{
    struct av_cql_value v;

    if (av_cql_result_get(r, row, col, &v) != AV_OK || v.type == AV_CQL_NULL)
        return AV_NULL_INT;
    return v.u.i;
}

static av_ms gms(const struct av_cql_result *r, int row, int col)
{
    struct av_cql_value v;

    if (av_cql_result_get(r, row, col, &v) != AV_OK || v.type == AV_CQL_NULL)
        return AV_NULL_MS;
    return v.u.i;
}

static void read_warning(const struct av_cql_result *r, int row, struct av_warning *w,
                         struct pool *p)
{
    int i = 0;
    const char *rt;

    memset(w, 0, offsetof(struct av_warning, problems));
    w->region_id = (int)gint(r, row, i++);
    w->valid_date = gint(r, row, i++);
    w->lang = (int)gint(r, row, i++);
    w->reg_id = gint(r, row, i++);
    w->previous_reg_id = gint(r, row, i++);
    w->region_name = gtext(r, row, i++, p);
    rt = gtext(r, row, i++, p);
    w->region_type[0] = rt && (rt[0] == 'A' || rt[0] == 'B') ? rt[0] : '\0';
    w->danger_level = (int)gint(r, row, i++);
    w->danger_level_name = gtext(r, row, i++, p);
    w->valid_from = gms(r, row, i++);
    w->valid_to = gms(r, row, i++);
    w->publish_time = gms(r, row, i++);
    w->next_warning_time = gms(r, row, i++);
    w->danger_increase_time = gms(r, row, i++);
    w->danger_decrease_time = gms(r, row, i++);
    w->is_tendency = (int)gint(r, row, i++);
    w->main_text = gtext(r, row, i++, p);
    w->avalanche_danger = gtext(r, row, i++, p);
    w->emergency_warning = gtext(r, row, i++, p);
    w->snow_surface = gtext(r, row, i++, p);
    w->current_weak_layers = gtext(r, row, i++, p);
    w->latest_avalanche_activity = gtext(r, row, i++, p);
    w->latest_observations = gtext(r, row, i++, p);
    w->author = gtext(r, row, i++, p);
    w->utm_zone = (int)gint(r, row, i++);
    w->utm_east = (int)gint(r, row, i++);
    w->utm_north = (int)gint(r, row, i++);
    w->county_ids = gtext(r, row, i++, p);
    w->municipality_ids = gtext(r, row, i++, p);
    w->mw_last_saved = AV_NULL_MS;
    w->mw_cloud_cover_id = AV_NULL_INT;
}

static void read_problem(const struct av_cql_result *r, int row, struct av_problem *q,
                         struct pool *p)
{
    int i = 3;
    const char *raw;

    q->problem_id = (int)gint(r, row, i++);
    q->type_id = (int)gint(r, row, i++);
    q->type_name = gtext(r, row, i++, p);
    q->aval_type_id = (int)gint(r, row, i++);
    q->aval_type_name = gtext(r, row, i++, p);
    q->ext_id = (int)gint(r, row, i++);
    q->ext_name = gtext(r, row, i++, p);
    q->cause_id = (int)gint(r, row, i++);
    q->cause_name = gtext(r, row, i++, p);
    q->probability_id = (int)gint(r, row, i++);
    q->probability_name = gtext(r, row, i++, p);
    q->trigger_simple_id = (int)gint(r, row, i++);
    q->trigger_simple_name = gtext(r, row, i++, p);
    q->trigger_sensitivity_id = (int)gint(r, row, i++);
    q->trigger_sensitivity_name = gtext(r, row, i++, p);
    q->destructive_size_id = (int)gint(r, row, i++);
    q->destructive_size_name = gtext(r, row, i++, p);
    q->propagation_id = (int)gint(r, row, i++);
    q->propagation_name = gtext(r, row, i++, p);
    raw = gtext(r, row, i++, p);
    q->aspects_raw = raw;
    q->aspects = AV_NULL_INT;
    {
        /* the decoded list is the source of truth for aspects */
        const char *it;
        size_t n;
        struct av_cql_value v;
        if (av_cql_result_get(r, row, i, &v) == AV_OK && v.type != AV_CQL_NULL) {
            q->aspects = 0;
            for (int k = 0; av_cql_result_list_item(r, row, i, k, &it, &n) == AV_OK; k++)
                for (int a = 0; a < 8; a++)
                    if (strlen(av_aspect_names[a]) == n &&
                        memcmp(av_aspect_names[a], it, n) == 0)
                        q->aspects |= 1 << a;
        }
        i++;
    }
    q->exposed_height_fill = (int)gint(r, row, i++);
    q->exposed_height_1 = (int)gint(r, row, i++);
    q->exposed_height_2 = (int)gint(r, row, i++);
    q->exposed_min_m = (int)gint(r, row, i++);
    q->exposed_max_m = (int)gint(r, row, i++);
    q->exposed_text = gtext(r, row, i++, p);
    q->danger_level = (int)gint(r, row, i++);
    q->danger_level_name = gtext(r, row, i++, p);
    q->text = gtext(r, row, i++, p);
}

static int cmp_int(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

/* Region ids to read: the query's, or every partition in the table. */
static av_rc region_list(struct av_cass *s, const struct av_query *q, int **ids, int *n,
                         char *errbuf)
{
    char sql[256];
    struct av_cql_result *r = NULL;
    const void *ps = NULL;
    size_t psl = 0;
    struct av_cql_prepared *st = NULL;
    int cap = 64;
    av_rc rc;

    *n = 0;
    *ids = malloc((size_t)cap * sizeof(int));
    if (*ids == NULL)
        return AV_ENOMEM;
    if (q->regions && q->nregions > 0) {
        for (int i = 0; i < q->nregions && i < cap; i++)
            (*ids)[(*n)++] = q->regions[i];
        qsort(*ids, (size_t)*n, sizeof(int), cmp_int);
        return AV_OK;
    }
    snprintf(sql, sizeof(sql), "SELECT DISTINCT region_id FROM %s.warnings_by_region", s->ks);
    rc = prepare(s, &st, sql, errbuf);
    if (rc != AV_OK)
        return rc;
    do {
        char *saved = NULL;
        if (ps) {
            saved = malloc(psl);
            if (saved == NULL) {
                rc = AV_ENOMEM;
                break;
            }
            memcpy(saved, ps, psl);
        }
        av_cql_result_free(r);
        r = NULL;
        RETRY(s, rc, errbuf,
              av_cql_execute(s->cql, st, NULL, 0, s->rcl, 1000, saved, psl, &r, errbuf));
        free(saved);
        if (rc != AV_OK)
            break;
        for (int k = 0; k < av_cql_result_rows(r); k++) {
            if (*n == cap) {
                int *g = realloc(*ids, (size_t)cap * 2 * sizeof(int));
                if (g == NULL) {
                    rc = AV_ENOMEM;
                    break;
                }
                *ids = g;
                cap *= 2;
            }
            (*ids)[(*n)++] = (int)gint(r, k, 0);
        }
        ps = av_cql_result_paging(r, &psl);
    } while (rc == AV_OK && ps != NULL);
    av_cql_result_free(r);
    av_cql_prepared_free(st);
    if (rc == AV_OK)
        qsort(*ids, (size_t)*n, sizeof(int), cmp_int);
    return rc;
}

struct pending {
    struct av_warning w;
    struct pool pool;
};

static av_rc load_problems(struct av_cass *s, struct pending *pd, char *errbuf)
{
    struct av_cql_value v[3] = {av_cql_int(pd->w.region_id), av_cql_date(pd->w.valid_date),
                                av_cql_tinyint((int8_t)pd->w.lang)};
    struct av_cql_result *r = NULL;
    av_rc rc;

    RETRY(s, rc, errbuf,
          av_cql_execute(s->cql, s->sel_problems, v, 3, s->rcl, 0, NULL, 0, &r, errbuf));
    if (rc != AV_OK)
        return rc;
    pd->w.n_problems = 0;
    for (int k = 0; k < av_cql_result_rows(r) && k < AV_MAX_PROBLEMS; k++)
        read_problem(r, k, &pd->w.problems[pd->w.n_problems++], &pd->pool);
    av_cql_result_free(r);
    return AV_OK;
}

av_rc av_cass_each_warning(struct av_cass *s, const struct av_query *q,
                           int (*fn)(void *ud, const struct av_warning *w), void *ud,
                           char *errbuf)
{
    int *ids = NULL, nids = 0, stop = 0;
    struct pending *pd = calloc(2, sizeof(*pd));
    int64_t from = q->from == INT64_MIN ? av_days_from_civil(1900, 1, 1) : q->from;
    int64_t to = q->to == INT64_MAX ? av_days_from_civil(2200, 1, 1) : q->to;
    av_rc rc;

    if (pd == NULL)
        return AV_ENOMEM;
    for (int k = 0; k < 2; k++) {
        pd[k].pool.cap = 1 << 20;
        pd[k].pool.buf = malloc(pd[k].pool.cap);
        if (pd[k].pool.buf == NULL) {
            rc = AV_ENOMEM;
            goto out;
        }
    }
    rc = region_list(s, q, &ids, &nids, errbuf);
    for (int i = 0; rc == AV_OK && !stop && i < nids; i++) {
        struct av_cql_value v[3] = {av_cql_int(ids[i]), av_cql_date(from), av_cql_date(to)};
        struct av_cql_result *r = NULL;
        char *ps = NULL;
        size_t psl = 0;
        int npend = 0;
        int64_t pend_date = -1;

        do {
            const void *next;
            av_cql_result_free(r);
            r = NULL;
            RETRY(s, rc, errbuf,
                  av_cql_execute(s->cql, s->sel_region, v, 3, s->rcl, 200, ps, psl, &r,
                                 errbuf));
            free(ps);
            ps = NULL;
            if (rc != AV_OK)
                break;
            /* Rows come by date ascending (lang descending within a date):
             * hold one date's rows, emit them by lang ascending. */
            for (int k = 0; !stop && k <= av_cql_result_rows(r); k++) {
                int last = k == av_cql_result_rows(r);
                int64_t d = last ? -1 : gint(r, k, 1);
                int lang = last ? 0 : (int)gint(r, k, 2);
                if (last)
                    break;
                if (npend > 0 && d != pend_date) {
                    for (int e = npend - 1; e >= 0 && !stop; e--) {
                        if ((rc = load_problems(s, &pd[e], errbuf)) != AV_OK)
                            break;
                        if (q->lang == 0 || pd[e].w.lang == q->lang)
                            stop = fn(ud, &pd[e].w) != 0;
                    }
                    npend = 0;
                    if (rc != AV_OK)
                        break;
                }
                if (npend == 2) { /* more than two langs on a date: not ours */
                    rc = av_fail(errbuf, AV_EPARSE, "unexpected lang %d in region %d", lang,
                                 ids[i]);
                    break;
                }
                pd[npend].pool.used = 0;
                read_warning(r, k, &pd[npend].w, &pd[npend].pool);
                pend_date = d;
                npend++;
            }
            next = rc == AV_OK ? av_cql_result_paging(r, &psl) : NULL;
            if (next) {
                ps = malloc(psl);
                if (ps == NULL) {
                    rc = AV_ENOMEM;
                    break;
                }
                memcpy(ps, next, psl);
            }
        } while (rc == AV_OK && !stop && ps != NULL);
        free(ps);
        av_cql_result_free(r);
        for (int e = npend - 1; rc == AV_OK && e >= 0 && !stop; e--) {
            if ((rc = load_problems(s, &pd[e], errbuf)) != AV_OK)
                break;
            if (q->lang == 0 || pd[e].w.lang == q->lang)
                stop = fn(ud, &pd[e].w) != 0;
        }
    }
out:
    if (pd) {
        free(pd[0].pool.buf);
        free(pd[1].pool.buf);
    }
    free(pd);
    free(ids);
    return rc;
}
