/* test_points.c - the weather points of the forecast regions (points.h) and
 * the generated polygons (region_polygons.h). Insideness is checked here
 * another way than points.c does: a winding number per ring (in doubles),
 * inside an outer ring and none of its holes, off every edge; on the
 * generated table (the polygons points.c uses), and on NVE's original
 * GeoJSON for points farther from its border than the 4-decimal rounding
 * can move it. Synthetic polygons cover holes, several outer rings, edges
 * through grid nodes and the interior-point fallback. */
#include <math.h>
#include <stdlib.h>

#include "../../src/core/conf.h"
#include "../../src/core/json.h"
#include "../../src/model/points.h"
#include "../../src/model/regions.h"
#include "harness.h"

#define MAX_RINGS 16

/* A region as the GeoJSON has it: polygons of an outer ring and holes. */
struct fring {
    int n, hole, poly; /* poly: which polygon of the region (MultiPolygon) */
    const double *xy;
    double *own; /* xy when read from the fixture */
};

struct freg {
    int id, nrings, npolys;
    struct fring r[MAX_RINGS];
};

static struct freg fx[AV_MAX_REGIONS];  /* the GeoJSON */
static struct freg tbl[AV_MAX_REGIONS]; /* the generated table, the same way */
static int nfx;

static double num(const struct av_json *j, int t)
{
    size_t len;
    const char *p = av_json_raw(j, t, &len);

    return av_json_type(j, t) == AV_JSON_NUMBER ? strtod(p, NULL) : NAN;
}

static int read_ring(const struct av_json *j, int t, struct freg *g, int hole)
{
    struct fring *r;
    int k = av_json_first(t);

    if (g->nrings >= MAX_RINGS || av_json_type(j, t) != AV_JSON_ARRAY)
        return 0;
    r = &g->r[g->nrings++];
    r->n = av_json_size(j, t);
    r->hole = hole;
    r->poly = g->npolys;
    r->xy = r->own = malloc(2 * (size_t)r->n * sizeof(double));
    for (int i = 0; r->own && i < r->n; i++, k = av_json_skip(j, k)) {
        int c = av_json_first(k);
        r->own[2 * i] = num(j, c);
        r->own[2 * i + 1] = num(j, av_json_skip(j, c));
    }
    return r->own != NULL;
}

static int read_polygon(const struct av_json *j, int t, struct freg *g)
{
    int k = av_json_first(t), ok = 1;

    for (int i = 0; ok && i < av_json_size(j, t); i++, k = av_json_skip(j, k))
        ok = read_ring(j, k, g, i > 0);
    g->npolys++;
    return ok;
}

/* Reads the fixture into fx[]; 0 on any surprise. */
static int load_fixture(void)
{
    struct av_json j;
    char err[AV_ERRBUF_SIZE];
    size_t len = 0;
    char *text = t_read_file(t_fixture("regions/varsom_regions_2019-02-12.geojson"), &len);
    int ok = text != NULL, feats, f;

    av_json_init(&j, 0, 0);
    ok = ok && av_json_parse(&j, text, len, err) == AV_OK;
    feats = ok ? av_json_get(&j, 0, "features") : -1;
    ok = ok && feats >= 0;
    f = av_json_first(feats);
    for (int i = 0; ok && i < av_json_size(&j, feats) && nfx < AV_MAX_REGIONS;
         i++, f = av_json_skip(&j, f)) {
        int geom = av_json_get(&j, f, "geometry"), coords = av_json_get(&j, geom, "coordinates");
        int type = av_json_get(&j, geom, "type"), props = av_json_get(&j, f, "properties");
        int64_t id = 0;
        size_t tl = 0;
        const char *tp = av_json_raw(&j, type, &tl);
        struct freg *g = &fx[nfx++];

        ok = av_json_int(&j, av_json_get(&j, props, "omradeID"), &id) == AV_OK && coords >= 0;
        g->id = (int)id;
        if (ok && tl == 7 && memcmp(tp, "Polygon", 7) == 0) {
            ok = read_polygon(&j, coords, g);
        } else if (ok && tl == 12 && memcmp(tp, "MultiPolygon", 12) == 0) {
            int p = av_json_first(coords);
            for (int k = 0; ok && k < av_json_size(&j, coords); k++, p = av_json_skip(&j, p))
                ok = read_polygon(&j, p, g);
        } else {
            ok = 0;
        }
    }
    av_json_free(&j);
    free(text);
    return ok;
}

static void free_fixture(void)
{
    for (int i = 0; i < nfx; i++)
        for (int k = 0; k < fx[i].nrings; k++)
            free(fx[i].r[k].own);
    nfx = 0;
}

static const struct freg *fixture(int id)
{
    for (int i = 0; i < nfx; i++)
        if (fx[i].id == id)
            return &fx[i];
    return NULL;
}

/* tbl[i]: the generated polygon of fx[i], with fx[i]'s polygon numbers. */
static const struct freg *table(int id)
{
    for (int i = 0; i < nfx; i++) {
        const struct av_region_polygon *p = av_region_polygon_find(fx[i].id);
        if (fx[i].id != id || p == NULL || p->nrings != fx[i].nrings)
            continue;
        tbl[i] = fx[i];
        for (int k = 0; k < p->nrings; k++) {
            tbl[i].r[k].n = p->rings[k].n;
            tbl[i].r[k].hole = p->rings[k].hole;
            tbl[i].r[k].xy = p->rings[k].xy;
            tbl[i].r[k].own = NULL;
        }
        return &tbl[i];
    }
    return NULL;
}

/* Winding number of a ring around (x, y) (Sunday's crossing rule). */
static int winding(const double *xy, int n, double x, double y)
{
    int wn = 0;

    for (int k = 0; k < n; k++) {
        int l = (k + 1) % n;
        double x1 = xy[2 * k], y1 = xy[2 * k + 1], x2 = xy[2 * l], y2 = xy[2 * l + 1];
        double left = (x2 - x1) * (y - y1) - (x - x1) * (y2 - y1);
        if (y1 <= y && y2 > y && left > 0)
            wn++;
        else if (y1 > y && y2 <= y && left < 0)
            wn--;
    }
    return wn;
}

/* Degrees from (x, y) to the nearest edge of the ring (planar). */
static double edge_dist(const double *xy, int n, double x, double y)
{
    double best = INFINITY;

    for (int k = 0; k < n; k++) {
        int l = (k + 1) % n;
        double x1 = xy[2 * k], y1 = xy[2 * k + 1], dx = xy[2 * l] - x1, dy = xy[2 * l + 1] - y1;
        double t = dx || dy ? ((x - x1) * dx + (y - y1) * dy) / (dx * dx + dy * dy) : 0;
        t = t < 0 ? 0 : t > 1 ? 1 : t;
        best = fmin(best, hypot(x - x1 - t * dx, y - y1 - t * dy));
    }
    return best;
}

static double border_dist(const struct freg *g, double x, double y)
{
    double d = INFINITY;

    for (int k = 0; k < g->nrings; k++)
        d = fmin(d, edge_dist(g->r[k].xy, g->r[k].n, x, y));
    return d;
}

/* Inside an outer ring and none of its holes, and more than margin degrees
 * from every edge. */
static int fx_inside(const struct freg *g, double x, double y, double margin)
{
    int in = 0;

    if (!(border_dist(g, x, y) > margin))
        return 0;
    for (int p = 0; p < g->npolys; p++) {
        int here = 0, holed = 0;
        for (int k = 0; k < g->nrings; k++) {
            if (g->r[k].poly != p || winding(g->r[k].xy, g->r[k].n, x, y) == 0)
                continue;
            if (g->r[k].hole)
                holed = 1;
            else
                here = 1;
        }
        in |= here && !holed;
    }
    return in;
}

static int four_decimals(double v) { return fabs(v * 1e4 - round(v * 1e4)) < 1e-6; }

/* Output order (latitude descending, then longitude ascending), all
 * distinct, region_id set, 4 decimals. */
static int well_formed(const struct av_point *p, int n, int id)
{
    for (int k = 0; k < n; k++) {
        if (p[k].region_id != id || !four_decimals(p[k].latitude) || !four_decimals(p[k].longitude))
            return 0;
        if (k && !(p[k - 1].latitude > p[k].latitude ||
                   (p[k - 1].latitude == p[k].latitude && p[k - 1].longitude < p[k].longitude)))
            return 0;
    }
    return 1;
}

static int has_point(const struct av_point *p, int n, const struct av_point *q)
{
    for (int k = 0; k < n; k++)
        if (p[k].latitude == q->latitude && p[k].longitude == q->longitude)
            return 1;
    return 0;
}

/* The generated table is the fixture, ring for ring, to 4 decimals. */
static void generated_matches_fixture(void)
{
    int rings_ok = 1, coords_ok = 1;

    CHECK_INT(nfx, 46);
    for (int i = 0; i < nfx; i++) {
        const struct av_region_polygon *p = av_region_polygon_find(fx[i].id);
        CHECK(p != NULL && av_region_find(fx[i].id) != NULL);
        if (p == NULL)
            continue;
        if (p->nrings != fx[i].nrings) {
            rings_ok = 0;
            continue;
        }
        for (int k = 0; k < p->nrings; k++) {
            if (p->rings[k].n != fx[i].r[k].n || p->rings[k].hole != fx[i].r[k].hole) {
                rings_ok = 0;
                continue;
            }
            for (int v = 0; v < 2 * p->rings[k].n; v++)
                if (!(fabs(p->rings[k].xy[v] - fx[i].r[k].xy[v]) <= 0.5e-4 + 1e-9) ||
                    !four_decimals(p->rings[k].xy[v]))
                    coords_ok = 0;
        }
    }
    CHECK(rings_ok);
    CHECK(coords_ok);
    CHECK(av_region_polygon_find(9999) == NULL);
}

/* Every region, for a grid and a cap: 1..max points, inside, well formed,
 * the same twice. Returns the total. */
static int every_region(int grid_km, int max_points, int *counts)
{
    int total = 0, inside_ok = 1, form_ok = 1, same_ok = 1, count_ok = 1;

    for (int i = 0; i < av_regions_count(); i++) {
        int id = av_region_at(i)->id, n = 0, n2 = 0;
        struct av_point p[AV_POINTS_MAX], q[AV_POINTS_MAX];
        const struct freg *g = fixture(id), *t = table(id);
        char err[AV_ERRBUF_SIZE];

        CHECK(av_region_points(id, grid_km, max_points, p, AV_POINTS_MAX, &n, err) == AV_OK);
        CHECK(av_region_points(id, grid_km, max_points, q, max_points, &n2, err) == AV_OK);
        count_ok &= n >= 1 && n <= max_points;
        same_ok &= n == n2;
        for (int k = 0; k < n && k < n2; k++)
            same_ok &= p[k].region_id == q[k].region_id && p[k].latitude == q[k].latitude &&
                       p[k].longitude == q[k].longitude;
        form_ok &= well_formed(p, n, id);
        for (int k = 0; g && t && k < n; k++) {
            double x = p[k].longitude, y = p[k].latitude;
            /* exactly on an edge is not inside; the nearest a 4-decimal point
             * off an edge can be is over 1e-9 degree */
            int in_table = fx_inside(t, x, y, 1e-11);
            /* the rounding moved the border by under 0.71e-4 degree */
            int in_file = border_dist(g, x, y) < 1e-4 || fx_inside(g, x, y, 0);
            if (!in_table || !in_file) {
                inside_ok = 0;
                fprintf(stderr, "region %d grid %d: %.4f %.4f not inside\n", id, grid_km, y, x);
            }
        }
        CHECK(g != NULL && t != NULL);
        if (counts)
            counts[i] = n;
        total += n;
    }
    CHECK(count_ok);
    CHECK(inside_ok);
    CHECK(form_ok);
    CHECK(same_ok);
    return total;
}

static void regions(void)
{
    int c10[AV_MAX_REGIONS], c25[AV_MAX_REGIONS], c50[AV_MAX_REGIONS], c100[AV_MAX_REGIONS];
    int m10[AV_MAX_REGIONS], m25[AV_MAX_REGIONS], m100[AV_MAX_REGIONS];
    int mono = 1, active = 0, total;

    /* the defaults, and the counts points.c argues them with */
    total = every_region(25, 5, c25);
    CHECK_INT(total, 223);
    for (int i = 0; i < av_regions_count(); i++)
        active += av_region_at(i)->active ? c25[i] : 0;
    CHECK_INT(active, 119);
    CHECK_INT(c25[44], 1); /* 3045 Oslo: the one node inside at 25 km */
    CHECK_INT(av_region_at(44)->id, 3045);
    every_region(10, 5, c10);
    every_region(50, 5, c50);
    every_region(100, 5, c100);
    every_region(10, 50, m10);
    every_region(25, 50, m25);
    every_region(100, 50, m100);
    every_region(7, 3, NULL);
    CHECK_INT(every_region(25, 1, NULL), 46);
    CHECK_INT(every_region(500, 5, NULL), 46); /* a node or the interior point each */
    /* a coarser grid gives fewer or as many points (for grids far enough
     * apart: 3030 Ytre Sogn has 3 nodes at 25 km and 5 at 30 km) */
    for (int i = 0; i < av_regions_count(); i++) {
        mono &= c100[i] <= c50[i] && c50[i] <= c25[i] && c25[i] <= c10[i];
        mono &= m100[i] <= m25[i] && m25[i] <= m10[i];
    }
    CHECK(mono);
}

/* Farthest-point sampling is incremental: the k points are among the k+1,
 * and the points of a region with few nodes are all of them. */
static void sampling(void)
{
    int nested = 1, all_nodes = 1;

    for (int i = 0; i < av_regions_count(); i++) {
        int id = av_region_at(i)->id, na = 0, nb = 0, nall = 0;
        struct av_point a[AV_POINTS_MAX], b[AV_POINTS_MAX], all[AV_POINTS_MAX];
        char err[AV_ERRBUF_SIZE];

        CHECK(av_region_points(id, 25, AV_POINTS_MAX, all, AV_POINTS_MAX, &nall, err) == AV_OK);
        for (int k = 1; k < 8; k++) {
            CHECK(av_region_points(id, 25, k, a, AV_POINTS_MAX, &na, err) == AV_OK);
            CHECK(av_region_points(id, 25, k + 1, b, AV_POINTS_MAX, &nb, err) == AV_OK);
            for (int m = 0; m < na; m++)
                nested &= has_point(b, nb, &a[m]);
            if (nall < AV_POINTS_MAX) /* not capped: every node is in the full list */
                for (int m = 0; m < na; m++)
                    all_nodes &= has_point(all, nall, &a[m]);
            if (nall <= k)
                all_nodes &= na == nall;
        }
    }
    CHECK(nested);
    CHECK(all_nodes);
}

static void small_region(void)
{
    struct av_point p[AV_POINTS_MAX];
    const struct freg *g = fixture(3045), *t = table(3045);
    char err[AV_ERRBUF_SIZE];
    int n = 0;

    /* Oslo has no grid node at 50 km: one point, its centroid */
    CHECK(av_region_points(3045, 50, 5, p, AV_POINTS_MAX, &n, err) == AV_OK);
    CHECK_INT(n, 1);
    CHECK(g != NULL && fx_inside(g, p[0].longitude, p[0].latitude, 1e-4));
    CHECK(t != NULL && fx_inside(t, p[0].longitude, p[0].latitude, 1e-4));
    CHECK(fabs(p[0].latitude - 59.9753) < 1e-9 && fabs(p[0].longitude - 10.7389) < 1e-9);
    CHECK(well_formed(p, n, 3045));
}

static void errors(void)
{
    struct av_point p[AV_POINTS_MAX] = {{-1, 1.5, 2.5}};
    char err[AV_ERRBUF_SIZE] = "";
    int n = -7;

    CHECK(av_region_points(9999, 25, 5, p, AV_POINTS_MAX, &n, err) == AV_EINVAL);
    CHECK(strstr(err, "9999") != NULL);
    CHECK(av_region_points(3011, 0, 5, p, AV_POINTS_MAX, &n, err) == AV_EINVAL);
    CHECK(strstr(err, "grid_km") != NULL);
    CHECK(av_region_points(3011, 25, 0, p, AV_POINTS_MAX, &n, err) == AV_EINVAL);
    CHECK(av_region_points(3011, 25, 5, p, 4, &n, err) == AV_EINVAL); /* cap too small */
    CHECK(strstr(err, "room for 4") != NULL);
    CHECK(av_region_points(3011, 25, 5, NULL, 0, &n, NULL) == AV_EINVAL);
    CHECK_INT(n, -7); /* out-parameters untouched on failure */
    CHECK(p[0].region_id == -1 && p[0].latitude == 1.5);
    CHECK(av_region_points(3011, 25, 5, p, 5, &n, err) == AV_OK);
    CHECK_INT(n, 5);
}

/* ---- synthetic polygons ---- */

static int poly_points(const double *xy, const int *ns, const int *holes, int nr, int grid_km,
                       int max_points, struct av_point *out, int *n, char *err)
{
    struct av_ring r[4];
    struct av_region_polygon poly = {1, nr, r};

    for (int k = 0, off = 0; k < nr; off += 2 * ns[k], k++) {
        r[k].n = ns[k];
        r[k].hole = holes[k];
        r[k].xy = xy + off;
    }
    return av_polygon_points(&poly, grid_km, max_points, out, AV_POINTS_MAX, n, err);
}

static void synthetic(void)
{
    /* a square with a hole in the middle, and a second square to the east */
    static const double frame[] = {
        10.0, 60.0, 11.0, 60.0, 11.0, 61.0, 10.0, 61.0, 10.0, 60.0, /* outer */
        10.3, 60.3, 10.3, 60.7, 10.7, 60.7, 10.7, 60.3, 10.3, 60.3, /* hole */
        12.0, 60.0, 12.5, 60.0, 12.5, 60.5, 12.0, 60.5, 12.0, 60.0, /* another outer */
    };
    static const int fn[] = {5, 5, 5}, fh[] = {0, 1, 0};
    /* a U 0.1 degree wide: its centroid lies between the arms */
    static const double u[] = {10.0,  60.0,  10.1,  60.0,  10.1,  60.1, 10.09, 60.1,
                               10.09, 60.01, 10.01, 60.01, 10.01, 60.1, 10.0,  60.1};
    static const int un[] = {8}, uh[] = {0};
    /* a small square frame (no node at 25 km): the centroid is in the hole */
    static const double ring[] = {10.0,  60.0,  10.1,  60.0,  10.1,  60.1,  10.0,  60.1,
                                  10.02, 60.02, 10.02, 60.08, 10.08, 60.08, 10.08, 60.02};
    static const int rn[] = {4, 4}, rh[] = {0, 1};
    static const double flat[] = {10.0, 60.0, 11.0, 60.0, 10.5, 60.0};
    static const double off[] = {10.0, 60.0, 190.0, 60.0, 10.0, 61.0};
    static const int zn[] = {3}, zh[] = {0};
    static const double world[] = {-179, -80, 179, -80, 179, 80, -179, 80};
    static const int wn[] = {4}, wh[] = {0};
    struct av_point p[AV_POINTS_MAX];
    char err[AV_ERRBUF_SIZE];
    int n = 0, ok = 1, east = 0, west = 0;

    CHECK(poly_points(frame, fn, fh, 3, 10, AV_POINTS_MAX, p, &n, err) == AV_OK);
    CHECK_INT(n, AV_POINTS_MAX);
    for (int k = 0; k < n; k++) {
        double x = p[k].longitude, y = p[k].latitude;
        int in_frame = x > 10 && x < 11 && y > 60 && y < 61 &&
                       !(x >= 10.3 && x <= 10.7 && y >= 60.3 && y <= 60.7);
        int in_east = x > 12 && x < 12.5 && y > 60 && y < 60.5;
        ok &= in_frame || in_east;
        east += in_east;
        west += in_frame;
    }
    CHECK(ok);
    CHECK(east > 0 && west > 0);
    CHECK(well_formed(p, n, 1));

    CHECK(poly_points(u, un, uh, 1, 25, 5, p, &n, err) == AV_OK);
    CHECK_INT(n, 1); /* the widest stretch of the centroid's parallel: the western arm */
    CHECK(fabs(p[0].longitude - 10.005) < 1e-9 && fabs(p[0].latitude - 60.0371) < 1e-9);

    CHECK(poly_points(ring, rn, rh, 2, 25, 5, p, &n, err) == AV_OK);
    CHECK_INT(n, 1);
    CHECK(fabs(p[0].longitude - 10.01) < 1e-9 && fabs(p[0].latitude - 60.05) < 1e-9);

    CHECK(poly_points(flat, zn, zh, 1, 25, 5, p, &n, err) == AV_EINVAL); /* no area */
    CHECK(poly_points(off, zn, zh, 1, 25, 5, p, &n, err) == AV_EINVAL);
    CHECK(strstr(err, "off the globe") != NULL);
    CHECK(poly_points(world, wn, wh, 1, 1, 5, p, &n, err) == AV_ELIMIT); /* too fine */
    CHECK(poly_points(world, wn, wh, 1, 500, 5, p, &n, err) == AV_OK);
    CHECK_INT(n, 5);
}

/* Nodes on an edge are not inside: a polygon with an edge along grid row i
 * and one down the column of a node of row i + 1, both away from its
 * bounding box (whose sides points.c rejects first):
 *
 *            F--------E      lat0 + 1
 *            |        |
 *     H------G        |      lat0 + 0.1
 *     |  C------------D      lat0 (row i)
 *     A--B                   lat0 - 0.5
 *        lon0     lon0 + 2   (lon0: a node of row i + 1; H, A at lon0 - 1) */
static void edges_through_nodes(void)
{
    double dlat = 25 / 111.32, lat0 = round(267 * dlat * 1e4) / 1e4;
    double dlon1 = 25 / (111.32 * cos(268 * dlat * (3.14159265358979323846 / 180)));
    double lon0 = round(40 * dlon1 * 1e4) / 1e4, lat1 = round(268 * dlat * 1e4) / 1e4;
    static const int sn[] = {9}, sh[] = {0};
    struct av_point p[AV_POINTS_MAX], q[AV_POINTS_MAX];
    char err[AV_ERRBUF_SIZE];
    int n = 0, nq = 0, ok = 1, row = 0, col = 0;

    for (int shift = 0; shift < 2; shift++) {
        double d = shift ? 0.001 : 0; /* the second time, C-D and F-G a little out */
        double xy[18] = {lon0 - 1, lat0 - 0.5, lon0 - 0.5, lat0 - 0.5, lon0 - 0.5, lat0 - d,
                         lon0 + 2, lat0 - d,   lon0 + 2,   lat0 + 1,   lon0 - d,   lat0 + 1,
                         lon0 - d, lat0 + 0.1, lon0 - 1,   lat0 + 0.1, lon0 - 1,   lat0 - 0.5};
        CHECK(poly_points(xy, sn, sh, 1, 25, AV_POINTS_MAX, shift ? q : p, shift ? &nq : &n, err) ==
              AV_OK);
    }
    for (int k = 0; k < n; k++) {
        ok &= !(p[k].latitude == lat0 && p[k].longitude > lon0 - 0.5);
        ok &= !(p[k].longitude == lon0 && p[k].latitude > lat0);
    }
    CHECK(ok);
    CHECK(n > 10 && n < AV_POINTS_MAX);
    for (int k = 0; k < nq; k++) {
        row += q[k].latitude == lat0 && q[k].longitude > lon0 - 0.5;
        col += q[k].longitude == lon0 && q[k].latitude == lat1;
    }
    CHECK(row > 2 && col == 1); /* those nodes exist, and are taken when inside */
    CHECK(nq > n && nq < AV_POINTS_MAX);
}

static void options(void)
{
    const struct av_opt *tables[] = {av_points_opts, NULL};
    struct av_conf c;
    char err[AV_ERRBUF_SIZE];

    CHECK(av_conf_init(&c, tables, err) == AV_OK);
    CHECK_INT(av_conf_int(&c, "weather.grid_km"), 25);
    CHECK_INT(av_conf_int(&c, "weather.max_points"), 5);
    CHECK(av_conf_set(&c, "weather.max_points", "51", "test", err) == AV_EINVAL);
    CHECK(av_conf_set(&c, "weather.grid_km", "0", "test", err) == AV_EINVAL);
    CHECK(av_conf_set(&c, "weather.grid_km", "10", "test", err) == AV_OK);
    av_conf_free(&c);
}

void suite_points(void)
{
    int loaded = load_fixture();

    CHECK(loaded);
    if (loaded) {
        generated_matches_fixture();
        regions();
        sampling();
        small_region();
    }
    errors();
    synthetic();
    edges_through_nodes();
    options();
    free_fixture();
}
