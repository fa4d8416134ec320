/* weather_ingest.c - Open-Meteo body -> weather_hourly -> weather_daily.
 * See weather_ingest.h. */
#include "weather_ingest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../model/dataset.h"
#include "../model/regions.h"
#include "../sources/openmeteo.h"
#include "../transforms/weather_daily.h"
#include "wx_complete.h"

av_rc av_wx_ingest_init(struct av_wx_ingest *ig, struct av_store *store, struct av_sink *sink,
                        const struct av_conf *c)
{
    memset(ig, 0, sizeof(*ig));
    ig->store = store;
    ig->sink = sink;
    av_json_init(&ig->doc, c ? (int)av_conf_int(c, "json.max_tokens") : 0,
                 c ? (int)av_conf_int(c, "json.max_depth") : 0);
    return AV_OK;
}

void av_wx_ingest_free(struct av_wx_ingest *ig)
{
    av_json_free(&ig->doc);
    free(ig->hours);
    free(ig->back);
    ig->hours = ig->back = NULL;
}

void av_wx_result_free(struct av_wx_result *res)
{
    free(res->complete);
    res->complete = NULL;
}

static av_rc reject(struct av_wx_ingest *ig, const struct av_raw_meta *m, int64_t raw_id,
                    const char *stage, const char *why, const char *body, size_t len,
                    av_ms now, struct av_wx_result *res, char *errbuf)
{
    res->parse_failed = 1;
    res->stage = stage;
    snprintf(res->reason, sizeof(res->reason), "%s", why);
    return av_store_reject(ig->store, stage, why, m->region_id, 0, body, len, raw_id, now,
                           errbuf);
}

static int all_null(const struct av_wx_hour *h)
{
    for (int v = 0; v < AV_WX_NVARS; v++)
        if (!av_wx_isnull(h->v[v]))
            return 0;
    return 1;
}

/* Read back: the sink's hours of the request's points. */
static int keep_back(void *ud, const void *rec)
{
    struct av_wx_ingest *ig = ud;
    const struct av_wx_hour *h = rec;
    int mine = 0;

    for (int i = 0; i < ig->npts && !mine; i++)
        mine = ig->pts[i].latitude == h->latitude && ig->pts[i].longitude == h->longitude;
    if (!mine)
        return 0;
    if (ig->nback == ig->cap_back) {
        size_t cap = ig->cap_back ? ig->cap_back * 2 : 1024;
        struct av_wx_hour *g = realloc(ig->back, cap * sizeof(*g));
        if (g == NULL) {
            ig->oom = 1;
            return 1;
        }
        ig->back = g;
        ig->cap_back = cap;
    }
    ig->back[ig->nback++] = *h;
    return 0;
}

av_rc av_wx_ingest_body(struct av_wx_ingest *ig, const struct av_raw_meta *m, int64_t raw_id,
                        const char *body, size_t len, av_ms now, struct av_wx_result *res,
                        char *errbuf)
{
    struct av_point pts[AV_OM_MAX_POINTS];
    struct av_wx_day *days = NULL;
    size_t n = 0, kept = 0, ndays = 0;
    int npts, source;
    char why[AV_ERRBUF_SIZE];
    struct av_query q = {0};
    av_rc rc;

    memset(res, 0, sizeof(*res));
    res->last_complete = -1;
    if (m->from_date == INT64_MIN || m->to_date == INT64_MIN || m->to_date < m->from_date ||
        m->to_date - m->from_date > 3660)
        return reject(ig, m, raw_id, "validate", "weather response without a usable day range",
                      body, len, now, res, errbuf);
    if (av_region_find(m->region_id) == NULL) {
        snprintf(why, sizeof(why), "weather for region %d, which is not in the catalog",
                 m->region_id);
        return reject(ig, m, raw_id, "validate", why, body, len, now, res, errbuf);
    }
    source = strcmp(m->endpoint, "archive") == 0    ? AV_WX_ARCHIVE
             : strcmp(m->endpoint, "forecast") == 0 ? AV_WX_FORECAST
                                                    : 0;
    if (source == 0) {
        snprintf(why, sizeof(why), "weather response from \"%.40s\", neither archive nor forecast",
                 m->endpoint);
        return reject(ig, m, raw_id, "validate", why, body, len, now, res, errbuf);
    }
    if (av_om_url_points(m->url ? m->url : "", m->region_id, pts, AV_OM_MAX_POINTS, &npts,
                         why) != AV_OK)
        return reject(ig, m, raw_id, "validate", why, body, len, now, res, errbuf);
    res->ndays = (int)(m->to_date - m->from_date + 1);
    res->complete = calloc((size_t)res->ndays, 1);
    if (res->complete == NULL)
        return av_fail(errbuf, AV_ENOMEM, "out of memory");
    if (av_om_parse(&ig->doc, body, len, pts, npts, m->from_date, m->to_date, source,
                    m->fetched_at, &ig->hours, &n, why) != AV_OK)
        return reject(ig, m, raw_id, "parse", why, body, len, now, res, errbuf);
    /* The request's local days only: the GMT day before `from` is asked
     * for local midnight, its other hours belong to the day before (another
     * unit's), and an hour of nulls carries nothing. */
    av_wx_local_day_hours(m->from_date, &q.from_ms, &q.to_ms);
    {
        av_ms first, end;
        av_wx_local_day_hours(m->to_date, &first, &end);
        q.to_ms = end;
    }
    for (size_t i = 0; i < n; i++)
        if (ig->hours[i].hour >= q.from_ms && ig->hours[i].hour < q.to_ms &&
            !all_null(&ig->hours[i]))
            ig->hours[kept++] = ig->hours[i];
    rc = av_sink_put_rows(ig->sink, &av_ds_wx_hourly, ig->hours, kept, errbuf);
    if (rc != AV_OK)
        return rc;
    res->hours_stored = (long)kept;

    /* each local day again from what the sink holds for these points */
    q.regions = &m->region_id;
    q.nregions = 1;
    ig->pts = pts;
    ig->npts = npts;
    ig->nback = 0;
    ig->oom = 0;
    rc = av_sink_read_rows(ig->sink, &av_ds_wx_hourly, &q, keep_back, ig, errbuf);
    ig->pts = NULL;
    if (rc == AV_OK && ig->oom)
        rc = av_fail(errbuf, AV_ENOMEM, "out of memory reading back region %d's hours",
                     m->region_id);
    if (rc != AV_OK)
        return rc;
    rc = av_wx_aggregate(ig->back, ig->nback, now, &days, &ndays, errbuf);
    if (rc != AV_OK)
        return rc;
    rc = av_sink_put_rows(ig->sink, &av_ds_wx_daily, days, ndays, errbuf);
    free(days);
    if (rc != AV_OK)
        return rc;
    res->days_stored = (long)ndays;
    /* out of memory here marks nothing complete: the days stay holes */
    (void)av_wx_complete_days(ig->back, ig->nback, pts, npts, m->from_date, res->ndays,
                              res->complete, &res->last_complete);
    return AV_OK;
}
