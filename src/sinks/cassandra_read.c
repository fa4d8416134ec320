/* cassandra_read.c - the Cassandra sink's read side: warnings (and their
 * problems when asked) in (region_id, valid_date, lang) order, like every
 * sink's read; the weather's records (read_rows) in their key order. One
 * region partition at a time from warnings_by_region, paged; the region
 * list is the query's or every partition (SELECT DISTINCT). Strings are
 * copied into a pool per warning, so a page can be freed while the caller
 * still holds the previous warning. Requests are retried by the sink's
 * policy; a malformed answer is AV_EPARSE. */
#include "cassandra_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/pool.h"
#include "record_json.h"

/* Cell (row, col) into the value at p, by the field's type. */
static void read_field(const struct av_cql_result *r, int row, int col,
                       const struct av_field *f, void *p, struct av_pool *pool)
{
    struct av_cql_value v;
    const char *it;
    size_t n;
    int m = 0;

    if (av_cql_result_get(r, row, col, &v) != AV_OK || v.type == AV_CQL_NULL) {
        av_field_set_null(f, p);
    } else if (v.type == AV_CQL_DOUBLE) {
        av_field_set_f64(f, p, v.u.d);
    } else if (v.type == AV_CQL_TEXT) {
        av_field_set_text(f, p, v.u.s.p, v.u.s.n, pool);
    } else if (v.type == AV_CQL_LIST_TEXT && f->type == AV_FT_ASPECTS) {
        for (int k = 0; av_cql_result_list_item(r, row, col, k, &it, &n) == AV_OK; k++) {
            int a = av_aspects_parse(it, n);
            if (a != AV_NULL_INT)
                m |= a;
        }
        av_field_set_int(f, p, m);
    } else {
        av_field_set_int(f, p, v.u.i); /* ints, booleans, timestamps (ms), dates (days) */
    }
}

/* One record from a row of its table: the n columns (av_cass_columns);
 * a child's parent key is the warning's already. */
static void read_record(const struct av_cql_result *r, int row, const struct av_field *const *cols,
                        int n, struct av_warning *w, void *rec, struct av_pool *pool)
{
    for (int i = 0; i < n; i++)
        if (rec == w || !(cols[i]->flags & AV_FF_PARENT))
            read_field(r, row, i, cols[i], av_field_ptr(cols[i], w, rec), pool);
}

static int cmp_int(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

static int64_t cell_int(const struct av_cql_result *r, int row, int col)
{
    struct av_cql_value v;

    if (av_cql_result_get(r, row, col, &v) != AV_OK || v.type == AV_CQL_NULL)
        return AV_NULL_INT;
    return v.u.i;
}

/* A copy of a page's paging state (the result it points into is freed). */
static av_rc keep_paging(const struct av_cql_result *r, char **ps, size_t *psl)
{
    const void *next = av_cql_result_paging(r, psl);

    *ps = NULL;
    if (next == NULL)
        return AV_OK;
    *ps = malloc(*psl);
    if (*ps == NULL)
        return AV_ENOMEM;
    memcpy(*ps, next, *psl);
    return AV_OK;
}

static av_rc execute(struct av_cass *s, struct av_cql_prepared *p,
                     const struct av_cql_value *v, int n, int page, const char *ps,
                     size_t psl, struct av_cql_result **r, char *errbuf)
{
    struct av_cass_backoff b = {0, 0};
    av_rc rc;

    do {
        av_cql_result_free(*r);
        *r = NULL;
        rc = av_cql_execute(s->cql, p, v, n, s->rcl, page, ps, psl, r, errbuf);
    } while (av_cass_again(s, &b, rc, errbuf));
    return rc;
}

/* Region ids to read: the query's, or every partition of table t (whose
 * partition key is the region). */
static av_rc region_list(struct av_cass *s, const struct av_cass_table *t,
                         const struct av_query *q, int **ids, int *n, char *errbuf)
{
    struct av_cql_result *r = NULL;
    struct av_cql_prepared *st = NULL;
    struct av_cass_backoff b = {0, 0};
    char sql[256], *ps = NULL;
    size_t psl = 0;
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
    snprintf(sql, sizeof(sql), "SELECT DISTINCT %s FROM %s.%s",
             av_ds_key(t->ds, AV_KEY_REGION)->name, s->ks, t->name);
    do
        rc = av_cql_prepare(s->cql, sql, &st, errbuf);
    while (av_cass_again(s, &b, rc, errbuf));
    if (rc != AV_OK)
        return rc;
    do {
        char *cur = ps;
        rc = execute(s, st, NULL, 0, 1000, cur, psl, &r, errbuf);
        free(cur);
        ps = NULL;
        for (int k = 0; rc == AV_OK && k < av_cql_result_rows(r); k++) {
            if (*n == cap) {
                int *g = realloc(*ids, (size_t)cap * 2 * sizeof(int));
                if (g == NULL) {
                    rc = AV_ENOMEM;
                    break;
                }
                *ids = g;
                cap *= 2;
            }
            (*ids)[(*n)++] = (int)cell_int(r, k, 0);
        }
        if (rc == AV_OK)
            rc = keep_paging(r, &ps, &psl);
    } while (rc == AV_OK && ps != NULL);
    free(ps);
    av_cql_result_free(r);
    av_cql_prepared_free(st);
    if (rc == AV_OK)
        qsort(*ids, (size_t)*n, sizeof(int), cmp_int);
    return rc;
}

/* A warning read but not yet handed over (rows of one date are held to be
 * given out by lang ascending). */
struct pending {
    struct av_warning w;
    struct av_pool pool;
};

static av_rc load_problems(struct av_cass *s, struct pending *pd, char *errbuf)
{
    struct av_cql_value v[3];
    struct av_cql_result *r = NULL;
    av_rc rc;

    for (int k = 0; k <= AV_KEY_LANG; k++) {
        const struct av_field *f = av_ds_key(&av_ds_problem, k);
        v[k] = av_cass_value(f, av_field_ptr(f, &pd->w, NULL), NULL);
    }
    rc = execute(s, s->sel_problems, v, 3, 0, NULL, 0, &r, errbuf);
    if (rc != AV_OK)
        return rc;
    pd->w.n_problems = 0;
    for (int k = 0; k < av_cql_result_rows(r) && k < AV_MAX_PROBLEMS; k++) {
        av_ds_clear(&av_ds_problem, &pd->w.problems[k]);
        read_record(r, k, s->pcols, s->npcols, &pd->w, &pd->w.problems[k], &pd->pool);
        if (av_ds_check(&av_ds_problem, &pd->w, &pd->w.problems[k], errbuf) != AV_OK) {
            av_cql_result_free(r);
            return AV_EPARSE;
        }
        pd->w.n_problems++;
    }
    av_cql_result_free(r);
    return AV_OK;
}

/* Whether w comes at or before the query's "after" key (already given). */
static int before_cursor(const struct av_query *q, const struct av_warning *w)
{
    if (!q->after || w->region_id != q->after_region)
        return q->after && w->region_id < q->after_region;
    if (w->valid_date != q->after_date)
        return w->valid_date < q->after_date;
    return w->lang <= q->after_lang;
}

/* Hands over the held warnings of one date, lang ascending. */
static av_rc flush(struct av_cass *s, const struct av_query *q, struct pending *pd, int *npend,
                   av_sink_row_fn fn, void *ud, int *stop, char *errbuf)
{
    av_rc rc = AV_OK;

    for (int e = *npend - 1; e >= 0 && !*stop; e--) {
        if ((q->parts & AV_PART_PROBLEMS) && (rc = load_problems(s, &pd[e], errbuf)) != AV_OK)
            break;
        if (pd[e].pool.oom) {
            rc = av_fail(errbuf, AV_ENOMEM, "out of memory reading warnings");
            break;
        }
        if ((q->lang == 0 || pd[e].w.lang == q->lang) && !before_cursor(q, &pd[e].w))
            *stop = fn(ud, &pd[e].w) != 0;
    }
    *npend = 0;
    return rc;
}

/* Every warning of one region partition in the query's dates. */
static av_rc read_region(struct av_cass *s, const struct av_query *q, int region,
                         struct pending *pd, av_sink_row_fn fn, void *ud, int *stop,
                         char *errbuf)
{
    int64_t from = q->from == INT64_MIN ? av_days_from_civil(1900, 1, 1) : q->from;
    int64_t to = q->to == INT64_MAX ? av_days_from_civil(2200, 1, 1) : q->to;
    struct av_cql_value v[3];
    struct av_cql_result *r = NULL;
    char *ps = NULL;
    size_t psl = 0;
    int npend = 0, dcol = 0;
    int64_t pend_date = -1;
    av_rc rc;

    if (q->after && region == q->after_region && q->after_date > from)
        from = q->after_date; /* the rest of the page's region */
    v[0] = av_cql_int(region);
    v[1] = av_cql_date(from);
    v[2] = av_cql_date(to);
    while (dcol < s->nwcols && s->wcols[dcol] != av_ds_key(&av_ds_warning, AV_KEY_DATE))
        dcol++;
    do {
        char *cur = ps;
        rc = execute(s, s->sel_region, v, 3, 200, cur, psl, &r, errbuf);
        free(cur);
        ps = NULL;
        /* Rows come by date ascending (lang descending within a date). */
        for (int k = 0; rc == AV_OK && !*stop && k < av_cql_result_rows(r); k++) {
            int64_t d = cell_int(r, k, dcol);
            if (npend > 0 && d != pend_date &&
                (rc = flush(s, q, pd, &npend, fn, ud, stop, errbuf)) != AV_OK)
                break;
            if (npend == 2) { /* more than two langs on a date: not ours */
                rc = av_fail(errbuf, AV_EPARSE, "unexpected third language in region %d",
                             region);
                break;
            }
            av_pool_reset(&pd[npend].pool);
            memset(&pd[npend].w, 0, AV_WARNING_HEAD_SIZE);
            av_ds_clear(&av_ds_warning, &pd[npend].w);
            read_record(r, k, s->wcols, s->nwcols, &pd[npend].w, &pd[npend].w, &pd[npend].pool);
            pd[npend].w.n_problems = pd[npend].w.n_advices = pd[npend].w.has_weather = 0;
            if ((rc = av_ds_check(&av_ds_warning, &pd[npend].w, &pd[npend].w, errbuf)) != AV_OK)
                break;
            pend_date = d;
            npend++;
        }
        if (rc == AV_OK && !*stop)
            rc = keep_paging(r, &ps, &psl);
    } while (rc == AV_OK && !*stop && ps != NULL);
    free(ps);
    av_cql_result_free(r);
    if (rc == AV_OK)
        rc = flush(s, q, pd, &npend, fn, ud, stop, errbuf);
    return rc;
}

av_rc av_cass_read(void *impl, const struct av_query *q, av_sink_row_fn fn, void *ud,
                   char *errbuf)
{
    av_cql_drain(((struct av_cass *)impl)->cql, NULL); /* read what was put */
    struct av_cass *s = impl;
    int *ids = NULL, nids = 0, stop = 0;
    struct pending *pd = calloc(2, sizeof(*pd));
    av_rc rc;

    if (pd == NULL)
        return AV_ENOMEM;
    rc = region_list(s, &av_cass_tables[AV_CT_BY_REGION], q, &ids, &nids, errbuf);
    for (int i = 0; rc == AV_OK && !stop && i < nids; i++)
        if (!q->after || ids[i] >= q->after_region)
            rc = read_region(s, q, ids[i], pd, fn, ud, &stop, errbuf);
    av_pool_free(&pd[0].pool);
    av_pool_free(&pd[1].pool);
    free(pd);
    free(ids);
    return rc;
}

/* ---- flat datasets: the weather ----
 * weather_daily_by_region: one slice of the region's partition (date
 * ascending). weather_hourly_by_point: the region's points and years from
 * weather_points_by_region (in (latitude, longitude, year) order), then one
 * slice [from_ms, to_ms) of each point-year partition (time ascending):
 * the records come in key order, a page at a time. */

/* Rows per page. An hour is ~200 bytes in a result: a page ~1 MB (under
 * cassandra.max_frame_bytes, 16 MiB by default); 5000 reads a 365-day
 * backfill's hours back ~20% faster than 1000. A day's null values are
 * cell tombstones (REPLACE writes them), which the node counts per page
 * against tombstone_warn_threshold (1000, then a warning on every read):
 * 200 days with their usual one or two nulls stay well under it. */
#define HOURS_PAGE 5000
#define DAYS_PAGE 200
#define POINTS_PAGE 1000

/* Every row of prepared statement st bound to v, as records of table t
 * (columns of av_cass_table_columns) handed to fn. */
static av_rc each_row(struct av_cass *s, const struct av_cass_table *t,
                      struct av_cql_prepared *st, const struct av_cql_value *v, int nv,
                      int page, void *rec, av_sink_rec_fn fn, void *ud, int *stop,
                      char *errbuf)
{
    const struct av_field *cols[AV_CASS_MAXCOLS];
    int nc = av_cass_table_columns(t, cols);
    struct av_cql_result *r = NULL;
    struct av_pool pool = {NULL, 0};
    char *ps = NULL;
    size_t psl = 0;
    av_rc rc;

    do {
        char *cur = ps;
        rc = execute(s, st, v, nv, page, cur, psl, &r, errbuf);
        free(cur);
        ps = NULL;
        for (int k = 0; rc == AV_OK && !*stop && k < av_cql_result_rows(r); k++) {
            av_pool_reset(&pool);
            av_ds_clear(t->ds, rec);
            for (int i = 0; i < nc; i++)
                read_field(r, k, i, cols[i], (char *)rec + cols[i]->off, &pool);
            if (pool.oom)
                rc = av_fail(errbuf, AV_ENOMEM, "out of memory reading %s", t->name);
            else if ((rc = av_ds_check(t->ds, rec, rec, errbuf)) == AV_OK)
                *stop = fn(ud, rec) != 0;
        }
        if (rc == AV_OK && !*stop)
            rc = keep_paging(r, &ps, &psl);
    } while (rc == AV_OK && !*stop && ps != NULL);
    free(ps);
    av_cql_result_free(r);
    av_pool_free(&pool);
    return rc;
}

/* One point and year of a region (a row of weather_points_by_region). */
struct wx_point {
    double latitude, longitude;
    int year;
};

/* The region's points with hours in the years years[0]..years[1]. */
static av_rc region_points(struct av_cass *s, int region, const int years[2],
                           struct wx_point **pts, int *n, char *errbuf)
{
    struct av_cql_value v = av_cql_int(region);
    struct av_cql_result *r = NULL;
    char *ps = NULL;
    size_t psl = 0;
    int cap = 0;
    av_rc rc;

    *pts = NULL;
    *n = 0;
    do {
        char *cur = ps;
        rc = execute(s, s->sel[AV_CT_WX_POINTS], &v, 1, POINTS_PAGE, cur, psl, &r, errbuf);
        free(cur);
        ps = NULL;
        for (int k = 0; rc == AV_OK && k < av_cql_result_rows(r); k++) {
            struct av_cql_value la, lo;
            int y = (int)cell_int(r, k, 3);
            if (av_cql_result_get(r, k, 1, &la) != AV_OK || la.type != AV_CQL_DOUBLE ||
                av_cql_result_get(r, k, 2, &lo) != AV_OK || lo.type != AV_CQL_DOUBLE) {
                rc = av_fail(errbuf, AV_EPARSE, "%s.%s: a point of region %d without "
                             "coordinates", s->ks, av_cass_tables[AV_CT_WX_POINTS].name, region);
                break;
            }
            if (y < years[0] || y > years[1])
                continue;
            if (*n == cap) {
                struct wx_point *g = realloc(*pts, (size_t)(cap ? cap * 2 : 64) * sizeof(*g));
                if (g == NULL) {
                    rc = av_fail(errbuf, AV_ENOMEM, "out of memory reading points");
                    break;
                }
                *pts = g;
                cap = cap ? cap * 2 : 64;
            }
            (*pts)[(*n)++] = (struct wx_point){la.u.d, lo.u.d, y};
        }
        if (rc == AV_OK)
            rc = keep_paging(r, &ps, &psl);
    } while (rc == AV_OK && ps != NULL);
    free(ps);
    av_cql_result_free(r);
    if (rc != AV_OK) {
        free(*pts);
        *pts = NULL;
        *n = 0;
    }
    return rc;
}

static av_rc read_hours(struct av_cass *s, const struct av_query *q, int region, void *rec,
                        av_sink_rec_fn fn, void *ud, int *stop, char *errbuf)
{
    const struct av_cass_table *t = &av_cass_tables[AV_CT_WX_HOURLY];
    int open = q->from_ms == 0 && q->to_ms == 0;
    av_ms from = open ? INT64_MIN : q->from_ms, to = open ? INT64_MAX : q->to_ms;
    int years[2] = {open ? INT32_MIN : av_cass_year(from),
                    open ? INT32_MAX : av_cass_year(to - 1)};
    struct wx_point *pts = NULL;
    int npts = 0;
    av_rc rc;

    if (to <= from)
        return AV_OK;
    rc = region_points(s, region, years, &pts, &npts, errbuf);
    for (int i = 0; rc == AV_OK && !*stop && i < npts; i++) {
        struct av_cql_value v[6] = {av_cql_int(region),
                                    av_cql_double(pts[i].latitude),
                                    av_cql_double(pts[i].longitude),
                                    av_cql_int(pts[i].year),
                                    av_cql_timestamp(from),
                                    av_cql_timestamp(to)};
        rc = each_row(s, t, s->sel[AV_CT_WX_HOURLY], v, 6, HOURS_PAGE, rec, fn, ud, stop,
                      errbuf);
    }
    free(pts);
    return rc;
}

static av_rc read_days(struct av_cass *s, const struct av_query *q, int region, void *rec,
                       av_sink_rec_fn fn, void *ud, int *stop, char *errbuf)
{
    int64_t from = q->from == INT64_MIN ? av_days_from_civil(1900, 1, 1) : q->from;
    int64_t to = q->to == INT64_MAX ? av_days_from_civil(2200, 1, 1) : q->to;
    struct av_cql_value v[3] = {av_cql_int(region), av_cql_date(from), av_cql_date(to)};

    if (to < from)
        return AV_OK;
    return each_row(s, &av_cass_tables[AV_CT_WX_DAILY], s->sel[AV_CT_WX_DAILY], v, 3,
                    DAYS_PAGE, rec, fn, ud, stop, errbuf);
}

av_rc av_cass_read_rows(void *impl, const struct av_dataset *ds, const struct av_query *q,
                        av_sink_rec_fn fn, void *ud, char *errbuf)
{
    av_cql_drain(((struct av_cass *)impl)->cql, NULL); /* read what was put */
    struct av_cass *s = impl;
    int hourly = ds == &av_ds_wx_hourly, *ids = NULL, nids = 0, stop = 0;
    void *rec;
    av_rc rc;

    if (!hourly && ds != &av_ds_wx_daily)
        return av_fail(errbuf, AV_EINVAL, "the cassandra sink has no flat dataset %s",
                       ds->name);
    rec = calloc(1, ds->elem_size);
    if (rec == NULL)
        return av_fail(errbuf, AV_ENOMEM, "out of memory reading %s", ds->name);
    rc = region_list(s, &av_cass_tables[hourly ? AV_CT_WX_POINTS : AV_CT_WX_DAILY], q, &ids,
                     &nids, errbuf);
    for (int i = 0; rc == AV_OK && !stop && i < nids; i++)
        rc = hourly ? read_hours(s, q, ids[i], rec, fn, ud, &stop, errbuf)
                    : read_days(s, q, ids[i], rec, fn, ud, &stop, errbuf);
    free(ids);
    free(rec);
    return rc;
}

/* ---- the history (warning_versions_by_region) ---- */

av_rc av_cass_read_versions(void *impl, const struct av_query *q, av_sink_version_fn fn,
                            void *ud, char *errbuf)
{
    av_cql_drain(((struct av_cass *)impl)->cql, NULL); /* read what was put */
    struct av_cass *s = impl;
    int64_t from = q->from == INT64_MIN ? av_days_from_civil(1900, 1, 1) : q->from;
    int64_t to = q->to == INT64_MAX ? av_days_from_civil(2200, 1, 1) : q->to;
    int *ids = NULL, nids = 0, stop = 0;
    av_rc rc = region_list(s, &av_cass_tables[AV_CT_VERSIONS], q, &ids, &nids, errbuf);

    for (int i = 0; rc == AV_OK && !stop && i < nids; i++) {
        struct av_cql_value v[3] = {av_cql_int(ids[i]), av_cql_date(from), av_cql_date(to)};
        struct av_cql_result *r = NULL;
        char *ps = NULL;
        size_t psl = 0;
        do { /* (valid_date, lang, publish_time) ascending: the key order */
            char *cur = ps;
            rc = execute(s, s->sel_versions, v, 3, 1000, cur, psl, &r, errbuf);
            free(cur);
            ps = NULL;
            for (int k = 0; rc == AV_OK && !stop && k < av_cql_result_rows(r); k++) {
                struct av_version_row row;
                memset(&row, 0, sizeof(row));
                row.region_id = (int)cell_int(r, k, 0);
                row.valid_date = cell_int(r, k, 1);
                row.lang = (int)cell_int(r, k, 2);
                row.m.publish_time = cell_int(r, k, 3);
                if (row.m.publish_time == AV_CASS_NO_PUB || row.m.publish_time == AV_NULL_INT)
                    row.m.publish_time = AV_NULL_MS;
                row.m.first_seen = cell_int(r, k, 4);
                if (row.m.first_seen == AV_NULL_INT)
                    row.m.first_seen = AV_NULL_MS;
                row.m.superseded_at = AV_NULL_MS;
                if (q->lang && row.lang != q->lang)
                    continue;
                stop = fn(ud, &row) != 0;
            }
            if (rc == AV_OK && !stop)
                rc = keep_paging(r, &ps, &psl);
        } while (rc == AV_OK && !stop && ps != NULL);
        free(ps);
        av_cql_result_free(r);
    }
    free(ids);
    return rc;
}

av_rc av_cass_load_version(void *impl, const struct av_version_row *vr, struct av_warning *w,
                           struct av_pool *pool, char *errbuf)
{
    av_cql_drain(((struct av_cass *)impl)->cql, NULL); /* read what was put */
    struct av_cass *s = impl;
    struct av_cql_value v[4] = {
        av_cql_int(vr->region_id), av_cql_date(vr->valid_date), av_cql_tinyint((int8_t)vr->lang),
        av_cql_timestamp(vr->m.publish_time != AV_NULL_MS ? vr->m.publish_time : AV_CASS_NO_PUB)};
    struct av_cql_result *r = NULL;
    struct av_cql_value c;
    av_rc rc = execute(s, s->sel_record, v, 4, 0, NULL, 0, &r, errbuf);

    if (rc == AV_OK) {
        if (av_cql_result_rows(r) < 1 || av_cql_result_get(r, 0, 0, &c) != AV_OK ||
            c.type != AV_CQL_TEXT)
            rc = av_fail(errbuf, AV_EPARSE, "%s: a version of region %d without its record",
                         av_cass_tables[AV_CT_VERSIONS].name, vr->region_id);
        else
            rc = av_record_parse(&s->doc, c.u.s.p, c.u.s.n, w, pool, errbuf);
    }
    av_cql_result_free(r);
    return rc;
}
