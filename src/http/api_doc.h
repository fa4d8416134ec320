/* api_doc.h - serve's document routes, the same bytes as `export caaml`
 * and `export geojson` (src/export/doc.h):
 *
 *   GET /api/caaml?date=D[&region=SPEC][&lang=1|2]
 *                       CAAMLv6 bulletins of day D (default today, Oslo),
 *                       application/json
 *   GET /api/map.geojson?date=D[&region=SPEC][&lang=1|2]
 *                       the regions with day D's warnings (RFC 7946),
 *                       application/geo+json
 *
 * region: A, all or ids as --region (default: every stored region; the
 * map: every region of the catalog); lang default: the first language of
 * plan.lang (1 for "both"). A bad parameter is 400 naming it, before any
 * store is touched. Not cached (api.h).
 */
#ifndef AV_API_DOC_H
#define AV_API_DOC_H

#include "../core/conf.h"
#include "../export/doc.h"
#include "../model/regions.h"
#include "http.h"

struct av_doc_req {
    enum av_doc kind;
    struct av_query q;
    int ids[AV_MAX_REGIONS];
};

/* The route of path (AV_DOC_NONE: not one of these). */
enum av_doc av_api_doc_route(const char *path);
/* Parses the parameters into d: 1 good, 0 answered (400). */
int av_api_doc_params(const struct av_conf *conf, const struct av_http_req *req, enum av_doc kind,
                      struct av_doc_req *d, struct av_http_resp *r);
/* Writes the document read through sink as r's body (500 on a failure). */
void av_api_doc(struct av_sink *sink, struct av_doc_req *d, struct av_http_resp *r);

#endif
