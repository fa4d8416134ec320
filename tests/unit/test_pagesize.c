/* test_pagesize.c - the page size of SQLite files (issue 13): a new file
 * gets 16 KiB pages (AV_SQLITE_PAGE_SIZE), one made before with 4 KiB
 * pages keeps them and works the same. Real files in the test's
 * temporary directory. */
#include <sqlite3.h>
#include <stdio.h>

#include "../../src/sinks/store.h"
#include "harness.h"

/* PRAGMA name of the file at path, read by a connection of its own. */
static int pragma_int(const char *path, const char *name)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    char sql[64];
    int v = -1;

    if (sqlite3_open(path, &db) != SQLITE_OK)
        return -1;
    snprintf(sql, sizeof(sql), "PRAGMA %s", name);
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW)
            v = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return v;
}

/* Stores one raw response and counts them back. */
static long store_one(struct av_store *s)
{
    struct av_raw_meta m = {"varsom", "detail", 2, "6.3.0", "http://x/", 3022, 19417, 19418,
                            0, 200};
    char err[AV_ERRBUF_SIZE];
    int64_t id = 0;
    long n = -1;

    if (av_store_raw_put(s, &m, "[]", 2, &id, err) != AV_OK)
        fprintf(stderr, "raw_put: %s\n", err);
    if (av_store_count(s, "raw_response", &n, err) != AV_OK)
        fprintf(stderr, "count: %s\n", err);
    return n;
}

void suite_pagesize(void)
{
    char fresh[512], old[512], err[AV_ERRBUF_SIZE];
    struct av_store *s = NULL;
    sqlite3 *db;

    snprintf(fresh, sizeof(fresh), "%s/pagesize-new.db", t_tmpdir());
    snprintf(old, sizeof(old), "%s/pagesize-4k.db", t_tmpdir());
    remove(fresh);
    remove(old);

    /* a new file */
    CHECK(av_store_open(&s, fresh, NULL, err) == AV_OK);
    if (s) {
        CHECK_INT(store_one(s), 1);
        av_store_close(s);
        s = NULL;
    }
    CHECK_INT(pragma_int(fresh, "page_size"), 16384);

    /* a file made with SQLite's 4 KiB pages before (WAL, like avalanche's) */
    CHECK(sqlite3_open(old, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, "PRAGMA page_size = 4096; PRAGMA journal_mode = WAL; "
                           "CREATE TABLE t (x); DROP TABLE t;",
                       NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    CHECK_INT(pragma_int(old, "page_size"), 4096);
    CHECK(av_store_open(&s, old, NULL, err) == AV_OK);
    if (s) {
        CHECK_INT(store_one(s), 1);
        av_store_close(s);
        s = NULL;
    }
    CHECK_INT(pragma_int(old, "page_size"), 4096); /* kept: nothing to migrate */
    CHECK(av_store_open(&s, old, NULL, err) == AV_OK); /* and opens again */
    if (s) {
        CHECK_INT(store_one(s), 2);
        av_store_close(s);
    }
}
