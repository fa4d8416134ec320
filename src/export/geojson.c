/* geojson.c - regions and their day's warnings as an RFC 7946
 * FeatureCollection (see geojson.h). */
#include "geojson.h"

#include <stdlib.h>
#include <string.h>

#include "../model/dataset.h"
#include "../model/regions.h"
#include "../sinks/export.h"

double av_geojson_ring_area(const double *xy, int n)
{
    double s = 0;

    for (int i = 0; i + 1 < n; i++)
        s += xy[2 * i] * xy[2 * i + 3] - xy[2 * i + 2] * xy[2 * i + 1];
    return s / 2;
}

/* A ring with the winding RFC 7946 §3.1.6 asks for: ccw = 1 for an outer
 * ring, 0 for a hole. The vertices are the file's 4-decimal degrees. */
static void ring(struct av_buf *b, const struct av_ring *r, int ccw)
{
    int reverse = (av_geojson_ring_area(r->xy, r->n) > 0) != ccw;

    av_buf_putc(b, '[');
    for (int i = 0; i < r->n; i++) {
        int k = reverse ? r->n - 1 - i : i;
        av_buf_printf(b, "%s[%.4f,%.4f]", i ? "," : "", r->xy[2 * k], r->xy[2 * k + 1]);
    }
    av_buf_putc(b, ']');
}

void av_geojson_geometry(struct av_buf *b, const struct av_region_polygon *p)
{
    int outers = 0, open = 0;

    for (int i = 0; i < p->nrings; i++)
        outers += !p->rings[i].hole;
    av_buf_printf(b, "{\"type\":\"%s\",\"coordinates\":[", outers > 1 ? "MultiPolygon" : "Polygon");
    /* the rings come as in the file: each outer ring, then its holes */
    for (int i = 0; i < p->nrings; i++) {
        const struct av_ring *r = &p->rings[i];
        if (!r->hole) {
            if (open)
                av_buf_puts(b, outers > 1 ? "]," : ",");
            if (outers > 1)
                av_buf_putc(b, '[');
            open = 1;
        } else {
            av_buf_putc(b, ',');
        }
        ring(b, r, !r->hole);
    }
    if (open && outers > 1)
        av_buf_putc(b, ']');
    av_buf_puts(b, "]}");
}

av_rc av_geojson_begin(struct av_geojson *g, struct av_buf *out)
{
    memset(g, 0, sizeof(*g));
    g->out = out;
    g->blank = malloc(sizeof(*g->blank));
    if (g->blank == NULL)
        return AV_ENOMEM;
    av_buf_puts(out, "{\"type\":\"FeatureCollection\",\"features\":[");
    return AV_OK;
}

void av_geojson_feature(struct av_geojson *g, int region_id, const struct av_warning *w,
                        int64_t date, int lang)
{
    const struct av_region_polygon *p = av_region_polygon_find(region_id);
    const struct av_region *reg = av_region_find(region_id);

    if (p == NULL)
        return;
    if (w == NULL) { /* the same properties, without a warning */
        struct av_warning *x = g->blank;
        memset(x, 0, AV_WARNING_HEAD_SIZE);
        av_ds_clear(&av_ds_warning, x);
        x->region_id = region_id;
        x->valid_date = date;
        x->lang = lang;
        x->region_name = reg ? reg->name : NULL;
        x->n_problems = x->n_advices = x->has_weather = 0;
        w = x;
    }
    av_buf_puts(g->out, g->features++ ? ",\n" : "\n");
    av_buf_printf(g->out, "{\"type\":\"Feature\",\"id\":%d,\"geometry\":", region_id);
    av_geojson_geometry(g->out, p);
    av_buf_puts(g->out, ",\"properties\":");
    av_export_json(g->out, &av_ds_warning, w, w);
    av_buf_putc(g->out, '}');
}

void av_geojson_end(struct av_geojson *g)
{
    av_buf_puts(g->out, g->features ? "\n]}\n" : "]}\n");
    free(g->blank);
    g->blank = NULL;
}
