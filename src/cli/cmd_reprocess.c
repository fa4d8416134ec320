/* cmd_reprocess.c - `reprocess`: rebuild the clean records from the stored
 * raw responses, without the network (like replaying a topic), into the
 * configured sink. One transaction: the sink is cleared first where a
 * rebuild needs it (SQLite) and either the whole rebuild lands or the old
 * records stay; Cassandra's idempotent upserts simply overwrite. The
 * rejects derived from raw responses are derived again, and so is the
 * publication history (every distinct publication the raw responses hold,
 * first_seen = the fetch time of the earliest response carrying it, as
 * the original runs recorded it). It takes the run
 * lock of `run` (<db>.lock): never while a run or another rebuild writes.
 *
 * Parallel (issue 13): reprocess.workers threads decode and prepare the
 * stored bodies (ingest_pool.h) while this thread, the one writer, applies
 * them in raw_response order, so the result is the sequential one. A
 * weather body is applied here after everything before it (it reads back
 * what it stored). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/log.h"
#include "../core/tz.h"
#include "../pipeline/ingest.h"
#include "../pipeline/ingest_pool.h"
#include "../pipeline/weather_ingest.h"
#include "../sinks/raw_codec.h"
#include "../sinks/sink.h"
#include "../sinks/store.h"
#include "cli.h"
#include "progress.h"

struct rp_ctx {
    struct av_ingest ig;
    struct av_wx_ingest wx;
    struct av_ingest_pool *pool;
    struct av_buf wxbody; /* a weather body, decoded */
    struct av_raw_codec z;
    long hours, days; /* weather: hourly values and region-days stored */
    struct av_run_counts c;
    struct av_progress prog;
    av_ms now;
    long done;
    av_rc rc;
    char err[AV_ERRBUF_SIZE];
};

static void count(struct rp_ctx *r, const struct av_ingest_result *res)
{
    char extra[64];

    r->c.units_total++;
    if (res->parse_failed)
        r->c.units_rejected++;
    else
        r->c.units_ok++;
    r->c.warnings_stored += res->stored;
    r->c.warnings_unchanged += res->unchanged;
    r->c.warnings_rejected += res->rejected;
    r->done++;
    snprintf(extra, sizeof(extra), "%ld warnings", r->c.warnings_stored);
    av_progress_step(&r->prog, r->done, extra);
}

/* The writer's half of a warnings body (the pool calls it in order). */
static av_rc apply(void *ud, int64_t raw_id, const struct av_raw_meta *m,
                   struct av_ingest_prep *p, const char *body, size_t len, char *errbuf)
{
    struct rp_ctx *r = ud;
    struct av_ingest_result res;
    av_rc rc = av_ingest_apply(&r->ig, p, m, raw_id, body, len, r->now, &res, errbuf);

    if (rc == AV_OK)
        count(r, &res);
    return rc;
}

static int each(void *ud, int64_t raw_id, const struct av_raw_meta *m,
                const struct av_raw_stored *b)
{
    struct rp_ctx *r = ud;
    struct av_ingest_result res;
    struct av_wx_result wr;

    if (av_stop) {
        r->rc = av_fail(r->err, AV_EINVAL, "interrupted");
        return 1;
    }
    if (strcmp(m->source, AV_WX_SOURCE) != 0) {
        r->rc = av_ingest_pool_submit(r->pool, raw_id, m, b, r->err);
        return r->rc != AV_OK;
    }
    /* weather: after everything before it, here */
    r->rc = av_ingest_pool_drain(r->pool, r->err);
    if (r->rc == AV_OK &&
        (r->rc = av_raw_decode(&r->z, b->codec, b->data, b->len, b->size, &r->wxbody, r->err)) !=
            AV_OK) {
        char why[AV_ERRBUF_SIZE];
        snprintf(why, sizeof(why), "%s", r->err);
        av_fail(r->err, r->rc, "raw response %lld: %s (changed outside avalanche?); restore "
                "a backup", (long long)raw_id, why);
    }
    if (r->rc != AV_OK)
        return 1;
    r->rc = av_wx_ingest_body(&r->wx, m, raw_id, r->wxbody.data, r->wxbody.len, r->now, &wr,
                              r->err);
    av_wx_result_free(&wr);
    if (r->rc != AV_OK)
        return 1;
    memset(&res, 0, sizeof(res));
    res.parse_failed = wr.parse_failed;
    r->hours += wr.hours_stored;
    r->days += wr.days_stored;
    count(r, &res);
    return 0;
}

int av_cmd_reprocess(struct av_cli *cli)
{
    struct av_store *store;
    struct av_sink sink;
    struct rp_ctx *r;
    char err[AV_ERRBUF_SIZE];
    int64_t run_id = 0;
    long nraw = 0;
    int code, lock;

    if ((code = av_cli_need_db(cli)) != AV_EXIT_OK)
        return code;
    /* The same lock as run: a rebuild and a run never overlap. */
    lock = av_cli_lock(av_conf_str(&cli->conf, "store.path"), err);
    if (lock < 0) {
        fprintf(stderr, "avalanche: %s\n", err);
        return AV_EXIT_FAIL;
    }
    code = av_cli_open(cli, &store, &sink);
    if (code != AV_EXIT_OK) {
        close(lock);
        return code;
    }
    code = AV_EXIT_FAIL;
    r = calloc(1, sizeof(*r));
    if (r == NULL || av_ingest_init(&r->ig, store, &sink, &cli->conf) != AV_OK ||
        av_wx_ingest_init(&r->wx, store, &sink, &cli->conf) != AV_OK)
        goto out;
    {
        int workers = (int)av_conf_int(&cli->conf, "reprocess.workers");
        if (workers == 0)
            workers = av_ingest_pool_auto_workers();
        av_buf_init(&r->wxbody, 0);
        if (av_ingest_pool_open(&r->pool, workers, &cli->conf, apply, r, err) != AV_OK) {
            fprintf(stderr, "avalanche: %s\n", err);
            goto out;
        }
    }
    r->now = av_now();
    if (av_store_count(store, "raw_response", &nraw, err) != AV_OK ||
        av_store_runs_recover(store, av_cli_pid_alive, err) != AV_OK ||
        av_store_run_begin(store, "reprocess", cli->args, r->now, &run_id, err) != AV_OK) {
        fprintf(stderr, "avalanche: %s\n", err);
        goto out;
    }
    av_progress_start(&r->prog, cli->progress == 1 || (cli->progress == -1 && isatty(2)), nraw);
    if (av_store_begin(store, err) != AV_OK || av_sink_begin(&sink, err) != AV_OK ||
        av_store_clear_derived_rejects(store, err) != AV_OK ||
        av_sink_clear(&sink, err) != AV_OK) {
        av_sink_rollback(&sink);
        av_store_rollback(store);
        fprintf(stderr, "avalanche: %s\n", err);
        goto out;
    }
    if (av_store_each_raw_stored(store, each, r, err) != AV_OK || r->rc != AV_OK ||
        (r->rc = av_ingest_pool_drain(r->pool, r->err)) != AV_OK ||
        av_sink_commit(&sink, err) != AV_OK || av_store_commit(store, err) != AV_OK) {
        av_sink_rollback(&sink);
        av_store_rollback(store);
        av_progress_end(&r->prog);
        fprintf(stderr, "avalanche: reprocess failed, clean tables unchanged: %s\n",
                r->rc != AV_OK ? r->err : err);
        av_store_run_end(store, run_id, av_stop ? "interrupted" : "failed", &r->c,
                         r->rc != AV_OK ? r->err : err, av_now(), NULL);
        code = av_stop ? AV_EXIT_INTERRUPTED : AV_EXIT_FAIL;
        goto out;
    }
    av_progress_end(&r->prog);
    printf("reprocess: %d raw responses (%d rejected whole), %ld warnings stored, "
           "%ld rejected; weather: %ld hourly values, %ld region-days\n",
           r->c.units_total, r->c.units_rejected, r->c.warnings_stored,
           r->c.warnings_rejected, r->hours, r->days);
    av_store_run_end(store, run_id, "ok", &r->c, NULL, av_now(), NULL);
    code = AV_EXIT_OK;
out:
    if (r) {
        av_ingest_pool_close(r->pool); /* the workers stop before what they use goes */
        av_buf_free(&r->wxbody);
        av_raw_codec_free(&r->z);
        av_ingest_free(&r->ig);
        av_wx_ingest_free(&r->wx);
        free(r);
    }
    av_cli_close(store, &sink);
    close(lock);
    return code;
}
