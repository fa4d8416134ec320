/* test_store.c - the SQLite store on a real file: idempotent upserts,
 * latest publication wins, children replaced, rejects, state, schema. */
#include <sqlite3.h>
#include <stdlib.h>

#include "../../src/core/json.h"
#include "../../src/sinks/store.h"
#include "../../src/transforms/warning.h"
#include "harness.h"

static struct av_json j;
static struct av_xform x;
static struct av_warning w;

/* SYNTHETIC warning for region 3022, 2023-03-02, lang 2. */
static av_rc upsert(struct av_store *s, const char *publish, const char *text, int nproblems,
                    const char *endpoint, int *changed)
{
    char json[1024], err[AV_ERRBUF_SIZE];
    av_rc rc;

    snprintf(json, sizeof(json),
             "{\"RegId\":1,\"RegionId\":3022,\"DangerLevel\":\"2\",\"LangKey\":2,"
             "\"ValidFrom\":\"2023-03-02T00:00:00\",\"PublishTime\":\"%s\","
             "\"MainText\":\"%s\",\"AvalancheProblems\":[%s]}",
             publish, text,
             nproblems == 2 ? "{\"AvalancheProblemId\":1},{\"AvalancheProblemId\":2}"
             : nproblems == 1 ? "{\"AvalancheProblemId\":1}"
                              : "");
    rc = av_json_parse(&j, json, strlen(json), err);
    if (rc == AV_OK)
        rc = av_xform_warning(&x, &j, 0, 0, &w, err);
    if (rc == AV_OK)
        rc = av_store_upsert(s, &w, endpoint, 0, 0, changed, err);
    if (rc != AV_OK)
        fprintf(stderr, "upsert: %s\n", err);
    return rc;
}

struct seen {
    char main_text[128];
    int n, problems;
};

static int collect(void *ud, const struct av_warning *ww)
{
    struct seen *s = ud;

    s->n++;
    snprintf(s->main_text, sizeof(s->main_text), "%s", ww->main_text ? ww->main_text : "");
    s->problems = ww->n_problems;
    return 0;
}

static struct seen read_back(struct av_store *s)
{
    struct av_query q = {NULL, 0, INT64_MIN, INT64_MAX, 0};
    struct seen r = {{0}, 0, 0};
    char err[AV_ERRBUF_SIZE];

    CHECK(av_store_each_warning(s, &q, collect, &r, err) == AV_OK);
    return r;
}

void suite_store(void)
{
    struct av_store *s = NULL;
    char err[AV_ERRBUF_SIZE], path[512];
    int changed = -1;
    int64_t last;
    long n;

    av_json_init(&j, 0, 0);
    av_xform_init(&x);
    snprintf(path, sizeof(path), "%s/store.db", t_tmpdir());
    CHECK(av_store_open(&s, path, NULL, err) == AV_OK);
    if (s == NULL)
        return;

    CHECK(av_store_begin(s, err) == AV_OK);
    CHECK(upsert(s, "2023-03-01T15:00:00", "first", 2, "detail", &changed) == AV_OK);
    CHECK_INT(changed, 1);
    /* the same record again: nothing changes */
    CHECK(upsert(s, "2023-03-01T15:00:00", "first", 2, "detail", &changed) == AV_OK);
    CHECK_INT(changed, 0);
    /* re-issued later the same day: replaces, children follow */
    CHECK(upsert(s, "2023-03-02T09:11:14.2", "reissued", 1, "detail", &changed) == AV_OK);
    CHECK_INT(changed, 1);
    /* an older publication replayed: ignored */
    CHECK(upsert(s, "2023-03-01T15:00:00", "first", 2, "detail", &changed) == AV_OK);
    CHECK_INT(changed, 0);
    /* same publication from the Simple endpoint: never replaces Detail */
    CHECK(upsert(s, "2023-03-02T09:11:14.2", "simple text", 0, "simple", &changed) == AV_OK);
    CHECK_INT(changed, 0);
    CHECK(av_store_commit(s, err) == AV_OK);
    {
        struct seen r = read_back(s);
        CHECK_INT(r.n, 1);
        CHECK_STR(r.main_text, "reissued");
        CHECK_INT(r.problems, 1);
    }
    CHECK(av_store_count(s, "problem", &n, err) == AV_OK);
    CHECK_INT(n, 1);

    /* rejects are deduplicated by content */
    CHECK(av_store_reject(s, "transform", "bad", 3022, 2, "{}", 2, 0, 0, err) == AV_OK);
    CHECK(av_store_reject(s, "transform", "bad", 3022, 2, "{}", 2, 0, 0, err) == AV_OK);
    CHECK(av_store_count(s, "rejected", &n, err) == AV_OK);
    CHECK_INT(n, 1);

    /* fetch state only moves forward */
    CHECK(av_store_state_get(s, 3022, 2, "detail", &last, err) == AV_OK);
    CHECK_INT(last, -1);
    CHECK(av_store_state_put(s, 3022, 2, "detail", 19420, 0, "ok", NULL, err) == AV_OK);
    CHECK(av_store_state_put(s, 3022, 2, "detail", 19410, 0, "ok", NULL, err) == AV_OK);
    CHECK(av_store_state_put(s, 3022, 2, "detail", -1, 0, "failed", "x", err) == AV_OK);
    CHECK(av_store_state_get(s, 3022, 2, "detail", &last, err) == AV_OK);
    CHECK_INT(last, 19420);

    /* a rolled-back transaction leaves nothing */
    CHECK(av_store_begin(s, err) == AV_OK);
    CHECK(upsert(s, "2023-03-05T09:00:00", "rolled back", 0, "detail", &changed) == AV_OK);
    av_store_rollback(s);
    CHECK_STR(read_back(s).main_text, "reissued");
    av_store_close(s);

    /* reopen: schema is there, data survived */
    s = NULL;
    CHECK(av_store_open(&s, path, NULL, err) == AV_OK);
    if (s) {
        CHECK_STR(read_back(s).main_text, "reissued");
        av_store_close(s);
    }

    /* a database from a newer program is refused, not touched */
    {
        sqlite3 *db;
        sqlite3_open(path, &db);
        sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL);
        sqlite3_close(db);
        s = NULL;
        CHECK(av_store_open(&s, path, NULL, err) == AV_EIO);
        CHECK(strstr(err, "schema version 99") != NULL);
        CHECK(s == NULL);
    }
    /* not a database at all */
    {
        char bad[512];
        FILE *f;
        snprintf(bad, sizeof(bad), "%s/notadb.db", t_tmpdir());
        f = fopen(bad, "w");
        fputs("this is not sqlite, just a text file that is long enough to look like one\n"
              "..............................................................................",
              f);
        fclose(f);
        CHECK(av_store_open(&s, bad, NULL, err) == AV_EIO);
        CHECK(strstr(err, "notadb.db") != NULL);
    }
    CHECK(av_store_open(&s, "/nonexistent-dir/x.db", NULL, err) == AV_EIO);
    CHECK(strstr(err, "/nonexistent-dir/x.db") != NULL);
    av_json_free(&j);
    av_xform_free(&x);
}
