/* test_main.c - runs every unit suite; prints the closing line CI reads. */
#include <stdlib.h>
#include <unistd.h>

#include "harness.h"

int t_checks, t_failed;

void suite_harness(void);
void suite_tz(void);
void suite_json(void);
void suite_conf(void);
void suite_regions(void);
void suite_varsom(void);
void suite_warning(void);
void suite_store(void);
void suite_schema(void);
void suite_export(void);
void suite_schedule(void);
void suite_cql(void);
void suite_cql_ring(void);
void suite_openmeteo(void);
void suite_wxcomplete(void);
void suite_points(void);
void suite_wxdaily(void);
void suite_wxchart(void);
void suite_dash_front(void);
void suite_rose(void);
void suite_season(void);
void suite_regionchart(void);
void suite_check(void);
void suite_quality(void);
void suite_caaml(void);
void suite_history(void);
void suite_cache(void);
void suite_features(void);
void suite_rawpool(void);
void suite_pagesize(void);

char *t_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *p;
    long n;

    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    p = malloc((size_t)n + 1);
    if (p && fread(p, 1, (size_t)n, f) != (size_t)n) {
        free(p);
        p = NULL;
    }
    if (p) {
        p[n] = '\0';
        *len = (size_t)n;
    }
    fclose(f);
    return p;
}

const char *t_fixture(const char *rel)
{
    static char buf[1024];
    const char *base = getenv("AV_FIXTURES");

    snprintf(buf, sizeof(buf), "%s/%s", base ? base : "../shared/fixtures", rel);
    return buf;
}

const char *t_tmpdir(void)
{
    static char dir[256];

    if (dir[0] == '\0') {
        snprintf(dir, sizeof(dir), "%s/avalanche-unit-XXXXXX",
                 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        if (mkdtemp(dir) == NULL) {
            perror("mkdtemp");
            exit(2);
        }
    }
    return dir;
}

int main(void)
{
    suite_harness();
    suite_tz();
    suite_json();
    suite_conf();
    suite_regions();
    suite_varsom();
    suite_warning();
    suite_store();
    suite_schema();
    suite_export();
    suite_schedule();
    suite_cql();
    suite_cql_ring();
    suite_openmeteo();
    suite_wxcomplete();
    suite_points();
    suite_wxdaily();
    suite_wxchart();
    suite_dash_front();
    suite_rose();
    suite_season();
    suite_regionchart();
    suite_check();
    suite_quality();
    suite_caaml();
    suite_history();
    suite_cache();
    suite_features();
    suite_rawpool();
    suite_pagesize();
    printf("unit: %d passed, %d failed\n", t_checks - t_failed, t_failed);
    return t_failed != 0;
}
