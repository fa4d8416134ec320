/* test_rawpool.c - issue 13: raw bodies as zstd frames (raw_codec.h), a
 * schema 8 file's bodies read back after its migration, and the parallel
 * reprocess's pool (ingest_pool.h) applying in submission order whatever
 * its workers do, also for run's fetched bodies (submit_body). Bodies: the
 * recorded Detail fixture and SYNTHETIC ones made here. */
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/pipeline/ingest_pool.h"
#include "../../src/sinks/raw_codec.h"
#include "../../src/sinks/sink.h"
#include "../../src/sinks/store.h"
#include "harness.h"

static void test_codec(void)
{
    const char *body = "[{\"RegionId\": 3022}, {\"RegionId\": 3022}, {\"RegionId\": 3022}]";
    struct av_raw_codec zc = {NULL, NULL};
    struct av_buf z, d;
    char err[AV_ERRBUF_SIZE];

    av_buf_init(&z, 0);
    av_buf_init(&d, 0);
    CHECK(av_raw_encode(&zc, body, strlen(body), &z, err) == AV_OK);
    CHECK(z.len > 0 && z.len < strlen(body));
    CHECK(av_raw_decode(&zc, AV_CODEC_ZSTD, z.data, z.len, strlen(body), &d, err) == AV_OK);
    CHECK_STR(d.data, body);
    /* the size stored must be the frame's */
    CHECK(av_raw_decode(&zc, AV_CODEC_ZSTD, z.data, z.len, strlen(body) + 1, &d, err) == AV_EIO);
    CHECK(av_raw_decode(&zc, AV_CODEC_ZSTD, z.data, z.len - 3, strlen(body), &d, err) == AV_EIO);
    CHECK(av_raw_decode(&zc, AV_CODEC_ZSTD, body, strlen(body), strlen(body), &d, err) == AV_EIO);
    CHECK(av_raw_decode(&zc, 7, z.data, z.len, strlen(body), &d, err) == AV_EIO);
    CHECK(strstr(err, "codec 7") != NULL);
    /* codec 0: as received */
    CHECK(av_raw_decode(&zc, AV_CODEC_NONE, body, 5, 5, &d, err) == AV_OK);
    CHECK_INT((long)d.len, 5);
    CHECK(av_raw_decode(&zc, AV_CODEC_NONE, body, 5, 6, &d, err) == AV_EIO);
    /* empty bodies round-trip */
    CHECK(av_raw_encode(&zc, "", 0, &z, err) == AV_OK);
    CHECK(av_raw_decode(&zc, AV_CODEC_ZSTD, z.data, z.len, 0, &d, err) == AV_OK);
    CHECK_INT((long)d.len, 0);
    av_buf_free(&z);
    av_buf_free(&d);
    av_raw_codec_free(&zc);
}

struct cat {
    struct av_buf all;
};

static int cat(void *ud, int64_t raw_id, const struct av_raw_meta *m, const char *body,
               size_t len)
{
    struct cat *c = ud;
    (void)raw_id;
    (void)m;
    av_buf_append(&c->all, body, len);
    av_buf_putc(&c->all, ';');
    return 0;
}

/* New bodies are stored compressed; a file's rows from before schema 9
 * (codec 0, set back here by hand) read back the same. */
static void test_store_codec(void)
{
    struct av_raw_meta m = {"varsom", "detail", 2, NULL, "u", 3022, INT64_MIN, INT64_MIN, 0, 200};
    char path[512], err[AV_ERRBUF_SIZE], *big = malloc(50000);
    struct av_store *s;
    struct cat c;
    sqlite3 *db;
    sqlite3_stmt *st;
    int64_t id;

    snprintf(path, sizeof(path), "%s/codec.db", t_tmpdir());
    memset(big, 'y', 50000); /* SYNTHETIC, compresses well */
    CHECK(av_store_open(&s, path, NULL, err) == AV_OK);
    CHECK(av_store_raw_put(s, &m, big, 50000, &id, err) == AV_OK);
    CHECK(av_store_raw_put(s, &m, big, 50000, &id, err) == AV_OK); /* kept once */
    av_store_close(s);
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(sqlite3_prepare_v2(db, "SELECT count(*), max(codec), max(length(body)), max(size) "
                             "FROM raw_body", -1, &st, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(st) == SQLITE_ROW);
    CHECK_INT(sqlite3_column_int(st, 0), 1);
    CHECK_INT(sqlite3_column_int(st, 1), AV_CODEC_ZSTD);
    CHECK(sqlite3_column_int(st, 2) < 1000);
    CHECK_INT(sqlite3_column_int(st, 3), 50000);
    sqlite3_finalize(st);
    /* a row as schema 8 wrote it, and the file set back to 8 by hand (the
     * column is there already: the migration must not add it twice) */
    CHECK(sqlite3_exec(db, "INSERT INTO raw_body (hash, size, body) VALUES ('old', 9, "
                       "CAST('[\"plain\"]' AS BLOB)); INSERT INTO raw_response (source, "
                       "endpoint, url, fetched_at, body, body_id) VALUES ('varsom', 'detail', "
                       "'u', '2023-01-01T00:00:00.000Z', X'', last_insert_rowid()); "
                       "PRAGMA user_version = 8;",
                       NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    CHECK(av_store_open(&s, path, NULL, err) == AV_OK);
    av_buf_init(&c.all, 0);
    CHECK(av_store_each_raw(s, cat, &c, err) == AV_OK);
    CHECK_INT((long)c.all.len, 2 * 50000 + 2 + 10);
    CHECK(c.all.len > 10 && strcmp(c.all.data + c.all.len - 10, "[\"plain\"];") == 0);
    /* the same body again dedupes against the compressed copy */
    CHECK(av_store_raw_put(s, &m, big, 50000, &id, err) == AV_OK);
    av_store_close(s);
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(sqlite3_prepare_v2(db, "SELECT count(*) FROM raw_body", -1, &st, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(st) == SQLITE_ROW);
    CHECK_INT(sqlite3_column_int(st, 0), 2);
    sqlite3_finalize(st);
    sqlite3_close(db);
    av_buf_free(&c.all);
    free(big);
}

struct order {
    int64_t ids[64];
    int n, warnings, parse_failed;
    int bad_meta; /* the meta applied is not the one submitted */
};

static av_rc record(void *ud, int64_t raw_id, const struct av_raw_meta *m,
                    struct av_ingest_prep *p, const char *body, size_t len, char *errbuf)
{
    struct order *o = ud;
    (void)body;
    (void)len;
    o->bad_meta += strcmp(m->endpoint, "detail") != 0 || m->url[0] != 'u';
    if (raw_id == 99)
        return av_fail(errbuf, AV_EIO, "apply of %lld failed", (long long)raw_id);
    if (o->n < 64)
        o->ids[o->n++] = raw_id;
    o->warnings += p->n;
    o->parse_failed += p->parse_rc != AV_OK;
    return AV_OK;
}

/* 40 bodies (the fixture, compressed or not, and broken ones) through 0, 1
 * and 3 workers: the same order and the same work every time. */
static void test_pool(void)
{
    struct av_raw_meta m = {"varsom", "detail", 2, NULL, "u", 3022, INT64_MIN, INT64_MIN, 0, 200};
    size_t len;
    char *fx = t_read_file(t_fixture("varsom/detail_3022_2023-03-01_to_2023-03-05_lang2_"
                                     "v6.2.1.json"), &len);
    char err[AV_ERRBUF_SIZE];
    struct av_raw_codec zc = {NULL, NULL};
    struct av_buf z;

    CHECK(fx != NULL);
    if (fx == NULL)
        return;
    av_buf_init(&z, 0);
    CHECK(av_raw_encode(&zc, fx, len, &z, err) == AV_OK);
    for (int workers = 0; workers <= 3; workers += workers ? 2 : 1) {
        struct av_ingest_pool *pl = NULL;
        struct order o = {{0}, 0, 0, 0};
        int in_order = 1;
        CHECK(av_ingest_pool_open(&pl, workers, NULL, record, &o, err) == AV_OK);
        for (int i = 0; i < 40; i++) {
            struct av_raw_stored b = {fx, len, AV_CODEC_NONE, len};
            if (i % 3 == 1)
                b = (struct av_raw_stored){z.data, z.len, AV_CODEC_ZSTD, len};
            if (i % 7 == 6)
                b = (struct av_raw_stored){"[{\"a\": ", 7, AV_CODEC_NONE, 7}; /* not JSON */
            CHECK(av_ingest_pool_submit(pl, i + 1, &m, &b, err) == AV_OK);
        }
        CHECK(av_ingest_pool_drain(pl, err) == AV_OK);
        for (int i = 0; i < o.n; i++)
            in_order &= o.ids[i] == i + 1;
        CHECK_INT(o.n, 40);
        CHECK(in_order);
        CHECK_INT(o.parse_failed, 5);
        CHECK_INT(o.warnings, 35 * 5);
        /* a body that does not decode fails at its turn, naming its row */
        {
            struct av_raw_stored bad = {z.data, z.len - 1, AV_CODEC_ZSTD, len};
            av_rc rc = av_ingest_pool_submit(pl, 41, &m, &bad, err);
            if (rc == AV_OK)
                rc = av_ingest_pool_drain(pl, err);
            CHECK(rc == AV_EIO);
            CHECK(strstr(err, "raw response 41") != NULL);
        }
        av_ingest_pool_close(pl);
        /* an apply error stops the queue where it happened */
        o.n = 0;
        CHECK(av_ingest_pool_open(&pl, workers, NULL, record, &o, err) == AV_OK);
        {
            struct av_raw_stored b = {fx, len, AV_CODEC_NONE, len};
            av_rc rc = AV_OK;
            for (int i = 95; i < 105 && rc == AV_OK; i++)
                rc = av_ingest_pool_submit(pl, i, &m, &b, err);
            if (rc == AV_OK)
                rc = av_ingest_pool_drain(pl, err);
            CHECK(rc == AV_EIO);
            CHECK(strstr(err, "apply of 99") != NULL);
            CHECK_INT(o.n, 4); /* 95..98 */
        }
        av_ingest_pool_close(pl); /* with work queued: the workers stop and join */
    }
    CHECK(av_ingest_pool_open(NULL, AV_POOL_MAX_WORKERS + 1, NULL, record, NULL, err) ==
          AV_EINVAL);
    CHECK(av_ingest_pool_auto_workers() >= 1);
    av_buf_free(&z);
    av_raw_codec_free(&zc);
    free(fx);
}

/* run's half (issue 13): fetched bodies as received, under the caller's
 * ids, mixed with stored ones; copied at submit (the caller's buffers are
 * overwritten at once), applied in order, at most AV_POOL_SLOTS pending. */
static void test_pool_fetched(void)
{
    size_t len;
    char *fx = t_read_file(t_fixture("varsom/detail_3022_2023-03-01_to_2023-03-05_lang2_"
                                     "v6.2.1.json"), &len);
    char err[AV_ERRBUF_SIZE];

    CHECK(fx != NULL);
    if (fx == NULL)
        return;
    for (int workers = 0; workers <= 3; workers += workers ? 2 : 1) {
        struct av_ingest_pool *pl = NULL;
        struct order o = {{0}, 0, 0, 0};
        int in_order = 1, bounded = 1;
        char *copy = malloc(len);
        CHECK(copy != NULL && av_ingest_pool_open(&pl, workers, NULL, record, &o, err) == AV_OK);
        if (copy == NULL || pl == NULL)
            break;
        for (int i = 0; i < 50; i++) {
            char url[32], endpoint[16];
            struct av_raw_meta m = {"varsom", endpoint, 2, NULL, url, 3022, INT64_MIN,
                                    INT64_MIN, 0, 200};
            snprintf(url, sizeof(url), "u%d", i);
            snprintf(endpoint, sizeof(endpoint), "detail");
            memcpy(copy, fx, len);
            if (i % 10 == 3) {
                struct av_raw_stored b = {fx, len, AV_CODEC_NONE, len};
                CHECK(av_ingest_pool_submit(pl, i + 1, &m, &b, err) == AV_OK);
            } else if (i % 7 == 6) {
                CHECK(av_ingest_pool_submit_body(pl, i + 1, &m, "[{\"a\": ", 7, err) == AV_OK);
            } else {
                CHECK(av_ingest_pool_submit_body(pl, i + 1, &m, copy, len, err) == AV_OK);
            }
            memset(copy, 'x', len); /* what the pool keeps is its own copy */
            memset(url, 'y', sizeof(url) - 1);
            memset(endpoint, 'z', sizeof(endpoint) - 1);
            bounded &= av_ingest_pool_pending(pl) <= AV_POOL_SLOTS;
        }
        CHECK(av_ingest_pool_drain(pl, err) == AV_OK);
        CHECK_INT(av_ingest_pool_pending(pl), 0);
        for (int i = 0; i < o.n; i++)
            in_order &= o.ids[i] == i + 1;
        CHECK(bounded);
        CHECK_INT(o.n, 50);
        CHECK(in_order);
        CHECK_INT(o.parse_failed, 6); /* i = 6, 20, 27, 34, 41, 48 (13 is a stored one) */
        CHECK_INT(o.warnings, 44 * 5);
        CHECK_INT(o.bad_meta, 0);
        /* an apply error is returned by the submit or the drain after it */
        o.n = 0;
        {
            struct av_raw_meta m = {"varsom", "detail", 2, NULL, "u", 3022, INT64_MIN,
                                    INT64_MIN, 0, 200};
            av_rc rc = AV_OK;
            for (int i = 95; i < 105 && rc == AV_OK; i++)
                rc = av_ingest_pool_submit_body(pl, i, &m, fx, len, err);
            if (rc == AV_OK)
                rc = av_ingest_pool_drain(pl, err);
            CHECK(rc == AV_EIO);
            CHECK(strstr(err, "apply of 99") != NULL);
            CHECK_INT(o.n, 4);
        }
        av_ingest_pool_close(pl);
        free(copy);
    }
    free(fx);
}

/* open_writer: apply and idle run on the writer thread, in order; drain
 * returns with everything applied and idle run; an apply error is returned
 * by the next submit or drain and what is queued behind it is dropped. */
struct wr {
    struct order o;
    pthread_t caller;
    int off_thread, on_caller, idles, idle_fail;
};

static av_rc wr_apply(void *ud, int64_t id, const struct av_raw_meta *m,
                      struct av_ingest_prep *p, const char *body, size_t len, char *errbuf)
{
    struct wr *w = ud;
    if (pthread_equal(pthread_self(), w->caller))
        w->on_caller++;
    else
        w->off_thread++;
    return record(&w->o, id, m, p, body, len, errbuf);
}

static av_rc wr_idle(void *ud, char *errbuf)
{
    struct wr *w = ud;
    w->idles++;
    if (w->idle_fail)
        return av_fail(errbuf, AV_EIO, "idle failed");
    return AV_OK;
}

static void test_pool_writer(void)
{
    struct av_raw_meta m = {"varsom", "detail", 2, NULL, "u", 3022, INT64_MIN, INT64_MIN, 0, 200};
    size_t len;
    char *fx = t_read_file(t_fixture("varsom/detail_3022_2023-03-01_to_2023-03-05_lang2_"
                                     "v6.2.1.json"), &len);
    char err[AV_ERRBUF_SIZE];

    CHECK(fx != NULL);
    if (fx == NULL)
        return;
    CHECK(av_ingest_pool_open_writer(NULL, 0, NULL, wr_apply, wr_idle, NULL, err) == AV_EINVAL);
    for (int workers = 1; workers <= 3; workers += 2) {
        struct av_ingest_pool *pl = NULL;
        struct wr w;
        int in_order = 1;
        av_rc rc = AV_OK;
        memset(&w, 0, sizeof(w));
        w.caller = pthread_self();
        CHECK(av_ingest_pool_open_writer(&pl, workers, NULL, wr_apply, wr_idle, &w, err) ==
              AV_OK);
        if (pl == NULL)
            break;
        for (int i = 0; i < 30; i++)
            CHECK(av_ingest_pool_submit_body(pl, i + 1, &m, i % 9 == 8 ? "[1," : fx,
                                             i % 9 == 8 ? 3 : len, err) == AV_OK);
        CHECK(av_ingest_pool_drain(pl, err) == AV_OK);
        /* after drain the writer is idle: this thread may read what it wrote */
        CHECK_INT(av_ingest_pool_pending(pl), 0);
        for (int i = 0; i < w.o.n; i++)
            in_order &= w.o.ids[i] == i + 1;
        CHECK_INT(w.o.n, 30);
        CHECK(in_order);
        CHECK_INT(w.o.parse_failed, 3);
        CHECK_INT(w.off_thread, 30);
        CHECK_INT(w.on_caller, 0);
        CHECK(w.idles >= 1);
        /* an apply error (id 99): returned later, the rest dropped */
        w.o.n = 0;
        for (int i = 95; i < 110 && rc == AV_OK; i++)
            rc = av_ingest_pool_submit_body(pl, i, &m, fx, len, err);
        if (rc == AV_OK)
            rc = av_ingest_pool_drain(pl, err);
        CHECK(rc == AV_EIO);
        CHECK(strstr(err, "apply of 99") != NULL);
        CHECK_INT(w.o.n, 4);
        CHECK(av_ingest_pool_submit_body(pl, 200, &m, fx, len, err) == AV_EIO);
        CHECK(av_ingest_pool_drain(pl, err) == AV_EIO);
        CHECK_INT(w.o.n, 4);
        av_ingest_pool_close(pl);
        /* an idle error too */
        memset(&w, 0, sizeof(w));
        w.caller = pthread_self();
        w.idle_fail = 1;
        CHECK(av_ingest_pool_open_writer(&pl, workers, NULL, wr_apply, wr_idle, &w, err) ==
              AV_OK);
        CHECK(av_ingest_pool_submit_body(pl, 1, &m, fx, len, err) == AV_OK);
        CHECK(av_ingest_pool_drain(pl, err) == AV_EIO);
        CHECK(strstr(err, "idle failed") != NULL);
        av_ingest_pool_close(pl);
        /* closed with work queued: the threads stop and join */
        memset(&w, 0, sizeof(w));
        w.caller = pthread_self();
        CHECK(av_ingest_pool_open_writer(&pl, workers, NULL, wr_apply, NULL, &w, err) == AV_OK);
        for (int i = 0; i < 12; i++)
            CHECK(av_ingest_pool_submit_body(pl, i + 1, &m, fx, len, err) == AV_OK);
        av_ingest_pool_close(pl);
    }
    free(fx);
}

/* A body longer than a prep holds (AV_PREP_MAX): apply transforms the
 * rest itself, in order, rejects included. SYNTHETIC: 69 copies of the
 * fixture's first warning and an empty object at element 66. */
static void test_long_body(void)
{
    struct av_raw_meta m = {"varsom", "detail", 2, NULL, "u", 3022, INT64_MIN, INT64_MIN, 0, 200};
    const struct av_opt *const opts[] = {av_store_opts, av_sink_opts, av_ingest_opts, NULL};
    char path[512], err[AV_ERRBUF_SIZE];
    size_t len, n;
    char *fx = t_read_file(t_fixture("varsom/detail_3022_2023-03-01_to_2023-03-05_lang2_"
                                     "v6.2.1.json"), &len);
    struct av_ingest_result res;
    struct av_ingest ig;
    struct av_store *s = NULL;
    struct av_sink k;
    struct av_conf c;
    struct av_json doc;
    struct av_buf body;
    const char *el;

    CHECK(fx != NULL);
    if (fx == NULL)
        return;
    av_json_init(&doc, 0, 0);
    CHECK(av_json_parse(&doc, fx, len, err) == AV_OK);
    el = av_json_span(&doc, av_json_first(0), &n);
    av_buf_init(&body, 0);
    av_buf_putc(&body, '[');
    for (int i = 0; i < 70; i++) {
        if (i)
            av_buf_putc(&body, ',');
        if (i == 65)
            av_buf_puts(&body, "{}");
        else
            av_buf_append(&body, el, n);
    }
    av_buf_putc(&body, ']');
    CHECK(!body.failed);
    snprintf(path, sizeof(path), "%s/long.db", t_tmpdir());
    CHECK(av_conf_init(&c, opts, err) == AV_OK);
    CHECK(av_store_open(&s, path, &c, err) == AV_OK);
    CHECK(av_sink_open(&k, &(struct av_sink_env){&c, s, NULL}, err) == AV_OK);
    CHECK(av_ingest_init(&ig, s, &k, &c) == AV_OK);
    CHECK(av_store_begin(s, err) == AV_OK);
    CHECK(av_ingest_body(&ig, &m, 0, body.data, body.len, 1700000000000LL, &res, err) ==
          AV_OK);
    CHECK(av_store_commit(s, err) == AV_OK);
    CHECK_INT(ig.prep.nel, 70);
    CHECK_INT(ig.prep.n, AV_PREP_MAX);
    CHECK_INT(res.stored, 1);
    CHECK_INT(res.unchanged, 68);
    CHECK_INT(res.rejected, 1);
    CHECK(res.stage != NULL && strcmp(res.stage, "transform") == 0);
    av_ingest_free(&ig);
    av_sink_close(&k);
    av_store_close(s);
    av_conf_free(&c);
    av_buf_free(&body);
    av_json_free(&doc);
    free(fx);
}

void suite_rawpool(void)
{
    test_codec();
    test_store_codec();
    test_pool();
    test_pool_fetched();
    test_pool_writer();
    test_long_body();
}
