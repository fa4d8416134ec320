/* api_doc.c - /api/caaml and /api/map.geojson (see api_doc.h). */
#include "api_doc.h"

#include <string.h>

#include "../core/tz.h"
#include "api.h"
#include "params.h"

enum av_doc av_api_doc_route(const char *path)
{
    if (strcmp(path, "/api/caaml") == 0)
        return AV_DOC_CAAML;
    if (strcmp(path, "/api/map.geojson") == 0)
        return AV_DOC_GEOJSON;
    return AV_DOC_NONE;
}

int av_api_doc_params(const struct av_conf *conf, const struct av_http_req *req, enum av_doc kind,
                      struct av_doc_req *d, struct av_http_resp *r)
{
    const char *region = av_http_query(req, "region");
    char err[AV_ERRBUF_SIZE];
    long v;
    int n = 0;

    memset(d, 0, sizeof(*d));
    d->kind = kind;
    d->q.from = av_oslo_today();
    if (av_param_date(av_http_query(req, "date"), &d->q.from) < 0) {
        av_api_error(r, 400, "not a date: use YYYY-MM-DD", "date");
        return 0;
    }
    d->q.to = d->q.from;
    if (region && *region) {
        if (av_regions_select(region, d->ids, &n, err) != AV_OK) {
            av_api_error(r, 400, err, "region");
            return 0;
        }
        d->q.regions = d->ids;
        d->q.nregions = n;
    }
    d->q.lang = strcmp(av_conf_str(conf, "plan.lang"), "2") == 0 ? 2 : 1;
    switch (av_param_int(av_http_query(req, "lang"), 1, 2, &v)) {
    case -1: av_api_error(r, 400, "lang must be 1 or 2", "lang"); return 0;
    case 1: d->q.lang = (int)v;
    }
    return 1;
}

void av_api_doc(struct av_sink *sink, struct av_doc_req *d, struct av_http_resp *r)
{
    char err[AV_ERRBUF_SIZE];
    long items;

    if (d->q.regions)
        d->q.regions = d->ids; /* d may have been copied */
    if (av_doc_write(d->kind, sink, &d->q, &r->body, NULL, NULL, &items, err) != AV_OK) {
        av_api_error(r, 500, err, NULL);
        return;
    }
    if (d->kind == AV_DOC_GEOJSON)
        r->type = "application/geo+json";
}
