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
    {"reprocess", "workers", AV_OPT_INT, "0", 0, 16, NULL,
     "threads that decode, parse and transform during reprocess (0 = one per CPU); one "
     "writer applies their work in order"},
    {"run", "workers", AV_OPT_INT, "0", 0, 16, NULL,
     "threads that parse and transform the fetched bodies of run and backfill (0 = one per "
     "CPU); one writer thread stores them in the order they arrived"},
    {"run", "commit_units", AV_OPT_INT, "64", 1, 4096, NULL,
     "fetched units written in one transaction by run and backfill (1 = one each); a unit "
     "is counted stored only once its transaction is committed"},
    {"run", "commit_ms", AV_OPT_INT, "1000", 0, 600000, NULL,
     "longest a transaction of run and backfill stays open (ms, checked as units are "
     "written; the writer also commits whenever it has caught up with the fetches)"},
    {NULL, NULL, 0, NULL, 0, 0, NULL, NULL},
};

void av_ingest_prep_init(struct av_ingest_prep *p, const struct av_conf *c)
{
    memset(p, 0, sizeof(*p));
    av_json_init(&p->doc, c ? (int)av_conf_int(c, "json.max_tokens") : 0,
                 c ? (int)av_conf_int(c, "json.max_depth") : 0);
}

void av_ingest_prep_free(struct av_ingest_prep *p)
{
    av_json_free(&p->doc);
    for (int i = 0; p->el && i < AV_PREP_MAX; i++) {
        av_xform_free(&p->el[i].xf);
        free(p->el[i].w);
    }
    free(p->el);
    p->el = NULL;
}

av_rc av_ingest_init(struct av_ingest *ig, struct av_store *store, struct av_sink *sink,
                     const struct av_conf *c)
{
    memset(ig, 0, sizeof(*ig));
    ig->store = store;
    ig->sink = sink;
    av_ingest_prep_init(&ig->prep, c);
    av_xform_init(&ig->xf);
    ig->w = malloc(sizeof(*ig->w));
    return ig->w ? AV_OK : AV_ENOMEM;
}

void av_ingest_free(struct av_ingest *ig)
{
    av_ingest_prep_free(&ig->prep);
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

static av_rc reject(struct av_ingest *ig, struct av_json *doc, const struct av_raw_meta *m,
                    int64_t raw_id, int tok, const char *stage, const char *why, av_ms now,
                    struct av_ingest_result *res, char *errbuf)
{
    size_t n;
    const char *raw = av_json_span(doc, tok, &n);

    res->rejected++;
    if (res->reason[0] == '\0') {
        snprintf(res->reason, sizeof(res->reason), "%s", why);
        res->stage = stage;
    }
    return av_store_reject(ig->store, stage, why, m->region_id, m->lang, raw, n, raw_id, now,
                           errbuf);
}

/* The transform and the validate stage of the element at tok into el
 * (pure: any thread). */
static void prepare_el(struct av_prep_el *el, struct av_json *doc, int tok,
                       const struct av_raw_meta *m)
{
    el->tok = tok;
    el->stage = "transform";
    el->rc = av_xform_warning(&el->xf, doc, tok, m->lang, el->w, el->why);
    if (el->rc == AV_OK && mismatch(m, el->w, el->why)) {
        el->rc = AV_EREJECT;
        el->stage = "validate";
    }
}

/* One prepared element into the store (a reject) or the sink. */
static av_rc apply_el(struct av_ingest *ig, struct av_json *doc, struct av_prep_el *el,
                      const struct av_raw_meta *m, int64_t raw_id, av_ms now,
                      struct av_ingest_result *res, char *errbuf)
{
    struct av_warning *w = el->w;
    int changed;
    av_rc rc;

    if (el->rc == AV_EREJECT)
        return reject(ig, doc, m, raw_id, el->tok, el->stage, el->why, now, res, errbuf);
    if (el->rc != AV_OK)
        return av_fail(errbuf, el->rc, "transform: %s", av_strerror(el->rc));
    w->endpoint = m->endpoint;
    w->raw_id = raw_id > 0 ? raw_id : AV_NULL_INT;
    w->ingested_at = now;
    /* the history's first_seen: when the response was fetched (reprocess
     * replays the stored fetch times) */
    w->first_seen = m->fetched_at > 0 ? m->fetched_at : now; /* 0: unknown (an old producer) */
    rc = av_sink_put(ig->sink, w, &changed, errbuf);
    if (rc != AV_OK)
        return rc;
    if (changed)
        res->stored++;
    else
        res->unchanged++;
    if (w->valid_date > res->max_date)
        res->max_date = w->valid_date;
    return AV_OK;
}

void av_ingest_prepare(struct av_ingest_prep *p, const struct av_raw_meta *m,
                       const char *body, size_t len)
{
    enum av_json_type t = AV_JSON_NULL;
    int e;

    p->n = p->nel = 0;
    p->why[0] = '\0';
    p->parse_rc = av_json_parse(&p->doc, body, len, p->why);
    if (p->parse_rc == AV_OK) {
        t = av_json_type(&p->doc, 0);
        if (t != AV_JSON_ARRAY && t != AV_JSON_OBJECT)
            p->parse_rc = av_fail(p->why, AV_EPARSE,
                                  "response is JSON but not an array of warnings");
    }
    if (p->parse_rc != AV_OK)
        return;
    if (p->el == NULL) {
        p->el = calloc(AV_PREP_MAX, sizeof(*p->el));
        for (int i = 0; p->el && i < AV_PREP_MAX; i++) {
            av_xform_init(&p->el[i].xf);
            if ((p->el[i].w = malloc(sizeof(*p->el[i].w))) == NULL) {
                av_ingest_prep_free(p);
                break;
            }
        }
        if (p->el == NULL) {
            p->parse_rc = AV_ENOMEM;
            return;
        }
    }
    p->is_array = t == AV_JSON_ARRAY;
    p->nel = p->is_array ? av_json_size(&p->doc, 0) : 1;
    e = p->is_array ? av_json_first(0) : 0;
    for (; p->n < p->nel && p->n < AV_PREP_MAX; p->n++, e = av_json_skip(&p->doc, e))
        prepare_el(&p->el[p->n], &p->doc, e, m);
    p->next_tok = e;
}

av_rc av_ingest_apply(struct av_ingest *ig, struct av_ingest_prep *p,
                      const struct av_raw_meta *m, int64_t raw_id, const char *body,
                      size_t len, av_ms now, struct av_ingest_result *res, char *errbuf)
{
    struct av_prep_el tail;
    av_rc rc;

    memset(res, 0, sizeof(*res));
    res->max_date = -1;
    if (p->parse_rc == AV_ENOMEM)
        return av_fail(errbuf, AV_ENOMEM, "out of memory parsing a response of %zu bytes",
                       len);
    if (p->parse_rc != AV_OK) {
        res->parse_failed = 1;
        res->stage = "parse";
        snprintf(res->reason, sizeof(res->reason), "%s", p->why);
        return av_store_reject(ig->store, "parse", p->why, m->region_id, m->lang, body, len,
                               raw_id, now, errbuf);
    }
    for (int i = 0; i < p->n; i++)
        if ((rc = apply_el(ig, &p->doc, &p->el[i], m, raw_id, now, res, errbuf)) != AV_OK)
            return rc;
    /* a longer body: the rest one at a time, here */
    tail.xf = ig->xf;
    tail.w = ig->w;
    for (int i = p->n, e = p->next_tok; i < p->nel; i++, e = av_json_skip(&p->doc, e)) {
        prepare_el(&tail, &p->doc, e, m);
        ig->xf = tail.xf; /* the arena may have grown */
        if ((rc = apply_el(ig, &p->doc, &tail, m, raw_id, now, res, errbuf)) != AV_OK)
            return rc;
    }
    return AV_OK;
}

av_rc av_ingest_body(struct av_ingest *ig, const struct av_raw_meta *m, int64_t raw_id,
                     const char *body, size_t len, av_ms now, struct av_ingest_result *res,
                     char *errbuf)
{
    av_ingest_prepare(&ig->prep, m, body, len);
    return av_ingest_apply(ig, &ig->prep, m, raw_id, body, len, now, res, errbuf);
}
