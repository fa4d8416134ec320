/* doc.c - CAAML and GeoJSON documents read through a sink (see doc.h). */
#include "doc.h"

#include <stdlib.h>
#include <string.h>

#include "../model/regions.h"
#include "caaml.h"
#include "geojson.h"

#define DRAIN_AT ((size_t)64 << 10)

enum av_doc av_doc_kind(const char *name)
{
    if (name && strcmp(name, "caaml") == 0)
        return AV_DOC_CAAML;
    if (name && strcmp(name, "geojson") == 0)
        return AV_DOC_GEOJSON;
    return AV_DOC_NONE;
}

struct ctx {
    struct av_buf *out;
    av_doc_drain_fn drain;
    void *ud;
    av_rc rc;
    char *errbuf;
    struct av_caaml_doc caaml;
    struct av_geojson geo;
    const int *regions; /* geojson: the regions to draw, ascending */
    int nregions, next; /* the next one not yet written */
    int64_t date;
    int lang;
};

static int drain_maybe(struct ctx *c, int force)
{
    if (c->rc == AV_OK && c->out->failed)
        c->rc = av_fail(c->errbuf, AV_ELIMIT, "the document is larger than its ceiling");
    if (c->rc == AV_OK && c->drain && (force || c->out->len > DRAIN_AT)) {
        c->rc = c->drain(c->ud, c->out, c->errbuf);
        av_buf_reset(c->out);
    }
    return c->rc != AV_OK;
}

static int each_caaml(void *ud, const struct av_warning *w)
{
    struct ctx *c = ud;

    av_caaml_doc_add(&c->caaml, w);
    return drain_maybe(c, 0);
}

/* The regions before id that have no warning, then w's. */
static int each_geojson(void *ud, const struct av_warning *w)
{
    struct ctx *c = ud;

    while (c->next < c->nregions && c->regions[c->next] < w->region_id)
        av_geojson_feature(&c->geo, c->regions[c->next++], NULL, c->date, c->lang);
    if (c->next < c->nregions && c->regions[c->next] == w->region_id)
        c->next++;
    av_geojson_feature(&c->geo, w->region_id, w, c->date, c->lang);
    return drain_maybe(c, 0);
}

static int by_id(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

av_rc av_doc_write(enum av_doc kind, struct av_sink *sink, const struct av_query *q,
                   struct av_buf *out, av_doc_drain_fn drain, void *ud, long *items, char *errbuf)
{
    struct ctx c = {out, drain, ud, AV_OK, errbuf};
    struct av_query r = *q;
    int ids[AV_MAX_REGIONS];
    av_rc rc;

    *items = 0;
    if (q->lang != 1 && q->lang != 2)
        return av_fail(errbuf, AV_EINVAL, "a CAAML or GeoJSON document is one language: 1 or 2");
    if (kind == AV_DOC_CAAML) {
        r.parts = AV_PART_WARNINGS & sink->ops->parts;
        if (r.to != INT64_MAX)
            r.to++; /* the next day: the last day's tendency */
        av_caaml_doc_begin(&c.caaml, out, q->to);
        rc = av_sink_read(sink, &r, each_caaml, &c, errbuf);
        av_caaml_doc_end(&c.caaml);
        *items = c.caaml.bulletins;
    } else if (kind == AV_DOC_GEOJSON) {
        if (q->from != q->to || q->from == INT64_MIN)
            return av_fail(errbuf, AV_EINVAL, "a GeoJSON map is one day: give its date");
        c.nregions = q->regions ? q->nregions : av_regions_count();
        for (int i = 0; i < c.nregions && i < AV_MAX_REGIONS; i++)
            ids[i] = q->regions ? q->regions[i] : av_region_at(i)->id;
        qsort(ids, (size_t)c.nregions, sizeof(ids[0]), by_id);
        c.regions = ids;
        c.date = q->from;
        c.lang = q->lang;
        r.parts = AV_PART_PROBLEMS & sink->ops->parts;
        if (av_geojson_begin(&c.geo, out) != AV_OK)
            return av_fail(errbuf, AV_ENOMEM, "out of memory");
        rc = av_sink_read(sink, &r, each_geojson, &c, errbuf);
        while (rc == AV_OK && c.rc == AV_OK && c.next < c.nregions)
            av_geojson_feature(&c.geo, c.regions[c.next++], NULL, c.date, c.lang);
        *items = c.geo.features;
        av_geojson_end(&c.geo);
    } else {
        return av_fail(errbuf, AV_EINVAL, "not a document export");
    }
    if (rc != AV_OK)
        return rc;
    if (c.rc != AV_OK)
        return c.rc;
    if (out->failed)
        return av_fail(errbuf, AV_ELIMIT, "the document is larger than its ceiling");
    drain_maybe(&c, 1);
    return c.rc;
}
