/* geojson.h - the forecast regions with one day's warnings as a GeoJSON
 * FeatureCollection (RFC 7946), for QGIS and web maps.
 *
 * One Feature per region: "id" the region id, the geometry NVE's polygon
 * (src/model/region_polygons.h: WGS84 lon/lat, every vertex) as a Polygon,
 * or a MultiPolygon when the region has several outer rings, with the
 * winding RFC 7946 asks for (outer rings counter-clockwise, holes
 * clockwise; the 2019 export has them the other way round), and as
 * properties the day's warning exactly as `export warnings --format jsonl`
 * writes it (danger_level, main_text, ... and its problems as an array).
 * A region without a stored warning that day keeps the same property names
 * with nulls (region_id, region_name, valid_date and lang set), so every
 * feature has one attribute table's columns.
 *
 * Pure code: appends to an av_buf; no I/O. Features are written in the
 * order the caller gives them.
 */
#ifndef AV_GEOJSON_H
#define AV_GEOJSON_H

#include <stdint.h>

#include "../core/buf.h"
#include "../core/err.h"
#include "../model/record.h"
#include "../model/region_polygons.h"

/* The signed area of a closed ring (lon/lat pairs) by the shoelace
 * formula: > 0 counter-clockwise. */
double av_geojson_ring_area(const double *xy, int n);

/* Appends the geometry object of p (Polygon or MultiPolygon). */
void av_geojson_geometry(struct av_buf *b, const struct av_region_polygon *p);

struct av_geojson {
    struct av_buf *out;
    long features;
    struct av_warning *blank; /* a region's properties without a warning */
};

/* Starts the FeatureCollection in out. AV_ENOMEM when the blank record
 * cannot be had. */
av_rc av_geojson_begin(struct av_geojson *g, struct av_buf *out);
/* Appends the feature of region_id (skipped: no polygon) for warning w,
 * or, w NULL, the region without a warning on date in lang. */
void av_geojson_feature(struct av_geojson *g, int region_id, const struct av_warning *w,
                        int64_t date, int lang);
/* Closes the collection and frees what begin took. */
void av_geojson_end(struct av_geojson *g);

#endif
