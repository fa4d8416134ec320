/* ingest.c - response body -> transform -> sink. See ingest.h. */
#include "ingest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/tz.h"
#include "../model/regions.h"

const struct av_opt av_ingest_opts[] = {
    {"json", "max_depth", AV_OPT_INT, "64", 4, 1024, NULL, "deepest JSON nesting accepted"},
    {"json", "max_tokens", AV_OPT_INT, "8388608", 1024, 268435456, NULL,
     "most JSON tokens in one response"},
    {NULL, NULL, 0, NULL, 0, 0, NULL, NULL},
};

av_rc av_ingest_init(struct av_ingest *ig, struct av_store *store, struct av_sink *sink,
                     const struct av_conf *c)
{
    memset(ig, 0, sizeof(*ig));
    ig->store = store;
    ig->sink = sink;
    av_json_init(&ig->doc, c ? (int)av_conf_int(c, "json.max_tokens") : 0,
                 c ? (int)av_conf_int(c, "json.max_depth") : 0);
    av_xform_init(&ig->xf);
    ig->w = malloc(sizeof(*ig->w));
    return ig->w ? AV_OK : AV_ENOMEM;
}

void av_ingest_free(struct av_ingest *ig)
{
    av_json_free(&ig->doc);
    av_xform_free(&ig->xf);
    free(ig->w);
    ig->w = NULL;
}

/* A clean warning that does not answer the request it came with: another
 * region or language, a day outside the asked range, a region the catalog
 * does not know. 1 with the reason in why. */
static int mismatch(const struct av_raw_meta *m, const struct av_warning *w, char *why)
{
    char d[AV_DATE_LEN], f[AV_DATE_LEN], t[AV_DATE_LEN];

    if (av_region_find(w->region_id) == NULL) {
        snprintf(why, AV_ERRBUF_SIZE,
                 "RegionId %d is not a region of the catalog (see avalanche regions)",
                 w->region_id);
        return 1;
    }
    if (m->region_id > 0 && w->region_id != m->region_id) {
        snprintf(why, AV_ERRBUF_SIZE, "RegionId %d in the answer to a request for region %d",
                 w->region_id, m->region_id);
        return 1;
    }
    if (m->lang > 0 && w->lang != m->lang) {
        snprintf(why, AV_ERRBUF_SIZE, "LangKey %d in the answer to a request for lang %d",
                 w->lang, m->lang);
        return 1;
    }
    if (m->from_date != INT64_MIN && m->to_date != INT64_MIN &&
        (w->valid_date < m->from_date || w->valid_date > m->to_date)) {
        av_date_format(w->valid_date, d);
        av_date_format(m->from_date, f);
        av_date_format(m->to_date, t);
        snprintf(why, AV_ERRBUF_SIZE, "ValidFrom %s outside the requested %s..%s", d, f, t);
        return 1;
    }
    return 0;
}

static av_rc reject(struct av_ingest *ig, const struct av_raw_meta *m, int64_t raw_id, int tok,
                    const char *stage, const char *why, av_ms now,
                    struct av_ingest_result *res, char *errbuf)
{
    size_t n;
    const char *raw = av_json_span(&ig->doc, tok, &n);

    res->rejected++;
    if (res->reason[0] == '\0') {
        snprintf(res->reason, sizeof(res->reason), "%s", why);
        res->stage = stage;
    }
    return av_store_reject(ig->store, stage, why, m->region_id, m->lang, raw, n, raw_id, now,
                           errbuf);
}

static av_rc one(struct av_ingest *ig, const struct av_raw_meta *m, int64_t raw_id, int tok,
                 av_ms now, struct av_ingest_result *res, char *errbuf)
{
    char why[AV_ERRBUF_SIZE];
    int changed;
    av_rc rc;

    rc = av_xform_warning(&ig->xf, &ig->doc, tok, m->lang, ig->w, why);
    if (rc == AV_EREJECT)
        return reject(ig, m, raw_id, tok, "transform", why, now, res, errbuf);
    if (rc != AV_OK)
        return av_fail(errbuf, rc, "transform: %s", av_strerror(rc));
    if (mismatch(m, ig->w, why))
        return reject(ig, m, raw_id, tok, "validate", why, now, res, errbuf);
    ig->w->endpoint = m->endpoint;
    ig->w->raw_id = raw_id > 0 ? raw_id : AV_NULL_INT;
    ig->w->ingested_at = now;
    rc = av_sink_put(ig->sink, ig->w, &changed, errbuf);
    if (rc != AV_OK)
        return rc;
    if (changed)
        res->stored++;
    else
        res->unchanged++;
    if (ig->w->valid_date > res->max_date)
        res->max_date = ig->w->valid_date;
    return AV_OK;
}

av_rc av_ingest_body(struct av_ingest *ig, const struct av_raw_meta *m, int64_t raw_id,
                     const char *body, size_t len, av_ms now, struct av_ingest_result *res,
                     char *errbuf)
{
    char why[AV_ERRBUF_SIZE];
    enum av_json_type t;
    av_rc rc;

    memset(res, 0, sizeof(*res));
    res->max_date = -1;
    rc = av_json_parse(&ig->doc, body, len, why);
    if (rc == AV_OK) {
        t = av_json_type(&ig->doc, 0);
        if (t != AV_JSON_ARRAY && t != AV_JSON_OBJECT)
            rc = av_fail(why, AV_EPARSE, "response is JSON but not an array of warnings");
    }
    if (rc == AV_ENOMEM)
        return av_fail(errbuf, rc, "out of memory parsing a response of %zu bytes", len);
    if (rc != AV_OK) {
        res->parse_failed = 1;
        res->stage = "parse";
        snprintf(res->reason, sizeof(res->reason), "%s", why);
        return av_store_reject(ig->store, "parse", why, m->region_id, m->lang, body, len,
                               raw_id, now, errbuf);
    }
    if (t == AV_JSON_OBJECT)
        return one(ig, m, raw_id, 0, now, res, errbuf);
    for (int i = 0, e = av_json_first(0), n = av_json_size(&ig->doc, 0); i < n;
         i++, e = av_json_skip(&ig->doc, e)) {
        rc = one(ig, m, raw_id, e, now, res, errbuf);
        if (rc != AV_OK)
            return rc;
    }
    return AV_OK;
}
