/* points.c - the weather points of a forecast region (see points.h): grid
 * nodes strictly inside its polygon, spread out by farthest-point sampling,
 * or one interior point; and the weather.grid_km / max_points options. */
#include "points.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#define UNIT 1e4           /* integer coordinates: 1e-4 degree (4 decimals) */
#define KM_PER_DEG 111.32  /* km per degree of latitude (of longitude at 0 N) */
#define EARTH_KM 6371.0088 /* mean Earth radius (IUGG), for distances */
#define RAD (3.14159265358979323846 / 180)
#define MAX_NODES (1 << 22) /* grid nodes in a polygon's bounding box, at most */

/* Defaults (the counts are `avalanche regions --points` at these values):
 *
 * grid_km = 25. Open-Meteo's archive best match mixes ECMWF IFS (9 km),
 * ERA5-Land (0.1 deg, ~11 km) and ERA5 (0.25 deg: ~28 km north-south,
 * 4-15 km east-west at 58-81 N); points closer than a model's cells get
 * the same cell and only cost API weight. 25 km, about ERA5's nominal
 * spacing, keeps even the points of a small region (which are then all its
 * nodes, 25 km apart) in different IFS and ERA5-Land cells, and still puts
 * a node inside every region: the fewest are 3045 Oslo (1), 3030 Ytre Sogn
 * (3) and 3003 Nordenskiöld Land (4). At 50 km Oslo has none and gets its
 * centroid; at 100 km eleven regions do.
 *
 * max_points = 5, as in the system we replace. 43 regions get 5 points:
 * 223 points for the 46 regions, 119 for the 24 A regions. A point's weight
 * is max(1, days/14 * vars/10) (open-meteo.md §7): with ten variables the
 * daily refresh costs one call per point, 223 a day (119 for A) of the
 * free 10,000; a 14-season backfill of 182-day seasons is 13 per point and
 * season, 40,586 calls (21,658 for A): over four (two) days of the daily
 * quota. More points would multiply both; fewer would leave the long
 * regions (Hedmark is over 300 km from north to south) a point per 100 km.
 */
const struct av_opt av_points_opts[] = {
    {"weather", "grid_km", AV_OPT_INT, "25", 1, 500, NULL,
     "spacing in km of the global grid whose nodes inside a region are its weather points"},
    {"weather", "max_points", AV_OPT_INT, "5", 1, AV_POINTS_MAX, NULL,
     "weather points per region at most (the grid nodes farthest apart; each costs API weight)"},
    {NULL, NULL, 0, NULL, 0, 0, NULL, NULL},
};

/* The polygon in integer units: every ring's edges, the closing one too. */
struct edge {
    int64_t x1, y1, x2, y2;
};

struct shape {
    struct edge *e;
    int ne;
    int64_t x0, y0, x1, y1; /* bounding box */
};

struct node {
    int64_t x, y;            /* lon, lat in units */
    double lat, lon, coslat; /* radians, for distances */
    double mind;             /* km to the nearest chosen node */
    int chosen;
};

static int64_t units(double deg) { return (int64_t)llround(deg * UNIT); }

/* On failure s->e may still need freeing. */
static av_rc shape_init(struct shape *s, const struct av_region_polygon *p, char *errbuf)
{
    int ne = 0;

    for (int r = 0; r < p->nrings; r++) {
        const struct av_ring *g = &p->rings[r];
        for (int k = 0; k < 2 * g->n; k++)
            if (!(fabs(g->xy[k]) <= (k % 2 ? 90 : 180)))
                return av_fail(errbuf, AV_EINVAL, "region %d: ring %d has a vertex off the globe",
                               p->id, r);
        ne += g->n > 0 ? g->n : 0;
    }
    s->e = malloc((size_t)(ne > 0 ? ne : 1) * sizeof(*s->e));
    if (s->e == NULL)
        return AV_ENOMEM;
    s->ne = 0;
    s->x0 = s->y0 = INT64_MAX;
    s->x1 = s->y1 = INT64_MIN;
    for (int r = 0; r < p->nrings; r++) {
        const struct av_ring *g = &p->rings[r];
        for (int k = 0; k < g->n; k++) {
            struct edge *e = &s->e[s->ne++];
            int l = (k + 1) % g->n;
            e->x1 = units(g->xy[2 * k]);
            e->y1 = units(g->xy[2 * k + 1]);
            e->x2 = units(g->xy[2 * l]);
            e->y2 = units(g->xy[2 * l + 1]);
            s->x0 = e->x1 < s->x0 ? e->x1 : s->x0;
            s->x1 = e->x1 > s->x1 ? e->x1 : s->x1;
            s->y0 = e->y1 < s->y0 ? e->y1 : s->y0;
            s->y1 = e->y1 > s->y1 ? e->y1 : s->y1;
        }
    }
    return AV_OK;
}

static int64_t lo(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t hi(int64_t a, int64_t b) { return a > b ? a : b; }

/* Strictly inside: not on an edge, and an odd number of edges cross the
 * parallel east of the point (half-open in latitude, so a vertex on the
 * parallel counts once). Exact: coordinates are within +-1.8e6 units, so
 * |products| < 2^44. */
static int inside(const struct shape *s, int64_t x, int64_t y)
{
    int odd = 0;

    if (x <= s->x0 || x >= s->x1 || y <= s->y0 || y >= s->y1)
        return 0;
    for (int k = 0; k < s->ne; k++) {
        const struct edge *e = &s->e[k];
        int64_t dx = e->x2 - e->x1, dy = e->y2 - e->y1;
        int64_t cross = dx * (y - e->y1) - dy * (x - e->x1); /* dy * (x_edge(y) - x) */

        if (cross == 0 && x >= lo(e->x1, e->x2) && x <= hi(e->x1, e->x2) && y >= lo(e->y1, e->y2) &&
            y <= hi(e->y1, e->y2))
            return 0;
        if ((e->y1 > y) != (e->y2 > y) && (cross > 0) == (dy > 0))
            odd ^= 1;
    }
    return odd;
}

/* Area centroid in degrees (planar in lon/lat, which an east-west scale
 * does not move): outer rings add, holes subtract. 0 without area. */
static int centroid(const struct av_region_polygon *p, double *cx, double *cy)
{
    double a = 0, sx = 0, sy = 0;

    for (int r = 0; r < p->nrings; r++) {
        const struct av_ring *g = &p->rings[r];
        double ar = 0, mx = 0, my = 0, w;

        if (g->n < 3)
            continue;
        for (int k = 0; k < g->n; k++) { /* relative to vertex 0, for precision */
            int l = (k + 1) % g->n;
            double xa = g->xy[2 * k] - g->xy[0], ya = g->xy[2 * k + 1] - g->xy[1];
            double xb = g->xy[2 * l] - g->xy[0], yb = g->xy[2 * l + 1] - g->xy[1];
            double c = xa * yb - xb * ya;
            ar += c;
            mx += (xa + xb) * c;
            my += (ya + yb) * c;
        }
        if (ar == 0)
            continue;
        w = (g->hole ? -0.5 : 0.5) * fabs(ar);
        a += w;
        sx += w * (g->xy[0] + mx / (3 * ar));
        sy += w * (g->xy[1] + my / (3 * ar));
    }
    if (!(a > 0))
        return 0;
    *cx = sx / a;
    *cy = sy / a;
    return 1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* No node inside: the centroid if it is inside, else the midpoint of the
 * widest inside stretch of its parallel, or of the next parallels north
 * and south (1e-4 degree apart) when that midpoint rounds onto an edge.
 * xs has room for s->ne crossings. 0 when there is no inside at all. */
static int interior(const struct shape *s, double cx, double cy, double *xs, int64_t *px,
                    int64_t *py)
{
    int64_t x = units(cx), y = units(cy);

    if (inside(s, x, y)) {
        *px = x;
        *py = y;
        return 1;
    }
    for (int64_t d = 0; d <= s->y1 - s->y0; d++) {
        for (int side = 0; side < (d ? 2 : 1); side++) {
            int64_t yy = side ? y - d : y + d, mid;
            double best = -1, bx = 0;
            int m = 0;

            if (yy <= s->y0 || yy >= s->y1)
                continue;
            for (int k = 0; k < s->ne; k++) {
                const struct edge *e = &s->e[k];
                if ((e->y1 > yy) != (e->y2 > yy))
                    xs[m++] = (double)e->x1 + (double)(yy - e->y1) * (double)(e->x2 - e->x1) /
                                                  (double)(e->y2 - e->y1);
            }
            qsort(xs, (size_t)m, sizeof(*xs), cmp_double);
            for (int k = 0; k + 1 < m; k += 2) {
                if (xs[k + 1] - xs[k] > best) {
                    best = xs[k + 1] - xs[k];
                    bx = (xs[k] + xs[k + 1]) / 2;
                }
            }
            mid = (int64_t)llround(bx);
            if (best > 0 && inside(s, mid, yy)) {
                *px = mid;
                *py = yy;
                return 1;
            }
        }
    }
    return 0;
}

/* Row i of the grid: its latitude and the columns that can fall in the box.
 * 0 when the row misses the box (or is a pole). */
static int row(const struct shape *s, long i, double dlat, int grid_km, int64_t *y, double *dlon,
               long *j0, long *j1)
{
    double lat = (double)i * dlat, c = cos(lat * RAD);

    *y = units(lat);
    if (*y <= s->y0 || *y >= s->y1 || c < 1e-6)
        return 0;
    *dlon = grid_km / (KM_PER_DEG * c);
    *j0 = (long)floor((double)s->x0 / UNIT / *dlon);
    *j1 = (long)ceil((double)s->x1 / UNIT / *dlon);
    return 1;
}

static double km(const struct node *a, const struct node *b)
{
    double s1 = sin((b->lat - a->lat) / 2), s2 = sin((b->lon - a->lon) / 2);
    double h = s1 * s1 + a->coslat * b->coslat * s2 * s2;

    return 2 * EARTH_KM * asin(sqrt(h < 1 ? h : 1));
}

static void set_node(struct node *v, int64_t x, int64_t y)
{
    v->x = x;
    v->y = y;
    v->lat = (double)y / UNIT * RAD;
    v->lon = (double)x / UNIT * RAD;
    v->coslat = cos(v->lat);
    v->mind = 0;
    v->chosen = 0;
}

/* The tie-break: lower latitude, then lower longitude. */
static int before(const struct node *a, const struct node *b)
{
    return a->y < b->y || (a->y == b->y && a->x < b->x);
}

/* Farthest-point sampling of want of the m nodes into pick[]. */
static void spread(struct node *v, int m, int want, double cx, double cy, int *pick)
{
    struct node c;
    int best = 0;
    double bd = 0;

    c.lat = cy * RAD;
    c.lon = cx * RAD;
    c.coslat = cos(c.lat);
    for (int k = 0; k < m; k++) {
        double d = km(&v[k], &c);
        if (k == 0 || d < bd || (d == bd && before(&v[k], &v[best]))) {
            best = k;
            bd = d;
        }
    }
    for (int p = 0;; p++) {
        pick[p] = best;
        v[best].chosen = 1;
        if (p + 1 == want)
            break;
        for (int k = 0; k < m; k++) {
            double d = km(&v[k], &v[pick[p]]);
            if (p == 0 || d < v[k].mind)
                v[k].mind = d;
        }
        best = -1;
        for (int k = 0; k < m; k++)
            if (!v[k].chosen && (best < 0 || v[k].mind > v[best].mind ||
                                 (v[k].mind == v[best].mind && before(&v[k], &v[best]))))
                best = k;
    }
}

/* Output order: latitude descending, then longitude ascending. */
static int cmp_out(const void *a, const void *b)
{
    const struct node *p = a, *q = b;

    if (p->y != q->y)
        return p->y < q->y ? 1 : -1;
    return (p->x > q->x) - (p->x < q->x);
}

av_rc av_polygon_points(const struct av_region_polygon *poly, int grid_km, int max_points,
                        struct av_point *out, int cap, int *n, char *errbuf)
{
    struct shape s = {NULL, 0, 0, 0, 0, 0};
    struct node *v = NULL, *res = NULL;
    double *xs = NULL, cx, cy, dlat = grid_km / KM_PER_DEG, dlon;
    int *pick = NULL, m = 0, nres;
    long i0, i1, j0, j1;
    int64_t y, room = 0;
    av_rc rc;

    if (grid_km < 1)
        return av_fail(errbuf, AV_EINVAL, "weather points: grid_km %d is below 1", grid_km);
    if (max_points < 1)
        return av_fail(errbuf, AV_EINVAL, "weather points: max_points %d is below 1", max_points);
    if (cap < max_points)
        return av_fail(errbuf, AV_EINVAL,
                       "weather points: room for %d points, fewer than max_points %d", cap,
                       max_points);
    rc = shape_init(&s, poly, errbuf);
    if (rc != AV_OK)
        goto fail;
    if (!centroid(poly, &cx, &cy)) {
        rc = av_fail(errbuf, AV_EINVAL, "region %d: its polygon has no area", poly->id);
        goto fail;
    }
    i0 = (long)floor((double)s.y0 / UNIT / dlat);
    i1 = (long)ceil((double)s.y1 / UNIT / dlat);
    for (long i = i0; i <= i1 && room <= MAX_NODES; i++)
        if (row(&s, i, dlat, grid_km, &y, &dlon, &j0, &j1))
            room += j1 - j0 + 1;
    if (room > MAX_NODES) {
        rc = av_fail(errbuf, AV_ELIMIT, "region %d: grid_km %d is too fine (over %d nodes)",
                     poly->id, grid_km, MAX_NODES);
        goto fail;
    }
    v = malloc((size_t)(room > 0 ? room : 1) * sizeof(*v));
    res = malloc((size_t)max_points * sizeof(*res));
    pick = malloc((size_t)max_points * sizeof(*pick));
    xs = malloc((size_t)(s.ne > 0 ? s.ne : 1) * sizeof(*xs));
    if (v == NULL || res == NULL || pick == NULL || xs == NULL) {
        rc = AV_ENOMEM;
        goto fail;
    }
    for (long i = i0; i <= i1; i++) {
        if (!row(&s, i, dlat, grid_km, &y, &dlon, &j0, &j1))
            continue;
        for (long j = j0; j <= j1; j++) {
            int64_t x = units((double)j * dlon);
            if (inside(&s, x, y))
                set_node(&v[m++], x, y);
        }
    }
    if (m == 0) {
        int64_t px, py;
        if (!interior(&s, cx, cy, xs, &px, &py)) {
            rc = av_fail(errbuf, AV_EINVAL, "region %d: no point inside its polygon", poly->id);
            goto fail;
        }
        set_node(&res[0], px, py);
        nres = 1;
    } else if (m <= max_points) {
        for (int k = 0; k < m; k++)
            res[k] = v[k];
        nres = m;
    } else {
        spread(v, m, max_points, cx, cy, pick);
        for (int k = 0; k < max_points; k++)
            res[k] = v[pick[k]];
        nres = max_points;
    }
    qsort(res, (size_t)nres, sizeof(*res), cmp_out);
    for (int k = 0; k < nres; k++) {
        out[k].region_id = poly->id;
        out[k].latitude = (double)res[k].y / UNIT;
        out[k].longitude = (double)res[k].x / UNIT;
    }
    *n = nres;
    rc = AV_OK;
fail:
    free(xs);
    free(pick);
    free(res);
    free(v);
    free(s.e);
    return rc;
}

av_rc av_region_points(int region_id, int grid_km, int max_points, struct av_point *out, int cap,
                       int *n, char *errbuf)
{
    const struct av_region_polygon *p = av_region_polygon_find(region_id);

    if (p == NULL)
        return av_fail(errbuf, AV_EINVAL,
                       "unknown region %d: no polygon (see `avalanche regions` for ids)",
                       region_id);
    return av_polygon_points(p, grid_km, max_points, out, cap, n, errbuf);
}
