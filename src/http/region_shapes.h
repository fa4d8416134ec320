/* region_shapes.h - simplified SVG outlines of the forecast regions for
 * the dashboard map (viewBox 0 0 400 560; Svalbard in an inset), generated
 * from NVE's polygons by scripts/gen-region-shapes.py. */
#ifndef AV_REGION_SHAPES_H
#define AV_REGION_SHAPES_H

struct av_region_shape {
    int id;
    const char *path; /* SVG path data */
};

extern const struct av_region_shape av_region_shapes[];
extern const int av_region_shapes_count;

#endif
