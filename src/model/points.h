/* points.h - the weather points of a forecast region: where the Open-Meteo
 * requests of a region ask for weather.
 *
 * A region's points are nodes of one regular grid over the whole globe that
 * lie strictly inside the region's polygon (region_polygons.h), so a point
 * never depends on which region asks and neighbours never share one:
 *
 *   rows     latitude  = i * g / 111.32 degrees           (i integer, from 0)
 *   columns  longitude = j * g / (111.32 * cos(row lat))  (j integer, from 0)
 *
 * g = grid_km; each node rounded to 4 decimals (round(x * 1e4) / 1e4, the
 * text the requests send and the key of the hourly rows), and the rounded
 * point is what is tested. Strictly inside: by the even-odd rule over every
 * ring (holes are outside), and not on any edge; the test is exact (integer
 * arithmetic in units of 1e-4 degree, the polygons' own precision).
 *
 * More than max_points nodes inside: max_points of them, spread out by
 * farthest-point sampling (great-circle km, R = 6371.0088): first the node
 * nearest the area centroid, then each time the node farthest from those
 * chosen; ties go to the lower latitude, then the lower longitude. No node
 * inside (a region small against the grid): one interior point, the area
 * centroid (rings in degrees, holes subtracted) when it is inside, else the
 * midpoint of the widest inside stretch of the parallel through it.
 * Output order: latitude descending, then longitude ascending.
 *
 * Pure computation over static data: no I/O, no global state; it allocates
 * scratch memory and frees it before returning. Polygons must not cross
 * the antimeridian (none of Norway's do).
 */
#ifndef AV_POINTS_H
#define AV_POINTS_H

#include "../core/conf.h"
#include "../core/err.h"
#include "region_polygons.h"
#include "weather.h"

/* weather.grid_km and weather.max_points (the defaults are argued in
 * points.c); max_points is at most AV_POINTS_MAX, so an array of that many
 * holds any region's points. */
extern const struct av_opt av_points_opts[];
#define AV_POINTS_MAX 50

/* The points of region region_id for a grid of grid_km (>= 1) and at most
 * max_points (>= 1) points: writes 1..max_points points to out (room for
 * cap >= max_points) and their count to *n. Errors (AV_EINVAL, a line in
 * errbuf naming the value): unknown region, grid_km or max_points below 1,
 * cap below max_points; AV_ENOMEM when the scratch memory is refused. On
 * failure out and *n are untouched. */
av_rc av_region_points(int region_id, int grid_km, int max_points, struct av_point *out, int cap,
                       int *n, char *errbuf);

/* The same for any polygon (the points get poly->id as region_id); for tests
 * and other shapes. A polygon without an inside (zero area) or with a vertex
 * off the globe is AV_EINVAL; a grid too fine for its size (over 4 million
 * nodes in its bounding box) is AV_ELIMIT. */
av_rc av_polygon_points(const struct av_region_polygon *poly, int grid_km, int max_points,
                        struct av_point *out, int cap, int *n, char *errbuf);

#endif
