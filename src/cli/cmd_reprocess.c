/* cmd_reprocess.c - `reprocess`: rebuild the clean records from the stored
 * raw responses, without the network (like replaying a topic), into the
 * configured sink. One transaction: the sink is cleared first where a
 * rebuild needs it (SQLite) and either the whole rebuild lands or the old
 * records stay; Cassandra's idempotent upserts simply overwrite. The
 * rejects derived from raw responses are derived again. It takes the run
 * lock of `run` (<db>.lock): never while a run or another rebuild writes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/log.h"
#include "../core/tz.h"
#include "../pipeline/ingest.h"
#include "../pipeline/weather_ingest.h"
#include "../sinks/sink.h"
#include "../sinks/store.h"
#include "cli.h"
#include "progress.h"

struct rp_ctx {
    struct av_ingest ig;
    struct av_wx_ingest wx;
    long hours, days; /* weather: hourly values and region-days stored */
    struct av_run_counts c;
    struct av_progress prog;
    av_ms now;
    long done;
    av_rc rc;
    char err[AV_ERRBUF_SIZE];
};

static int each(void *ud, int64_t raw_id, const struct av_raw_meta *m, const char *body,
                size_t len)
{
    struct rp_ctx *r = ud;
    struct av_ingest_result res;
    char extra[64];

    if (av_stop) {
        r->rc = av_fail(r->err, AV_EINVAL, "interrupted");
        return 1;
    }
    if (strcmp(m->source, AV_WX_SOURCE) == 0) {
        struct av_wx_result wr;
        r->rc = av_wx_ingest_body(&r->wx, m, raw_id, body, len, r->now, &wr, r->err);
        av_wx_result_free(&wr);
        memset(&res, 0, sizeof(res));
        res.parse_failed = wr.parse_failed;
        r->hours += wr.hours_stored;
        r->days += wr.days_stored;
    } else {
        r->rc = av_ingest_body(&r->ig, m, raw_id, body, len, r->now, &res, r->err);
    }
    if (r->rc != AV_OK)
        return 1;
    r->c.units_total++;
    if (res.parse_failed)
        r->c.units_rejected++;
    else
        r->c.units_ok++;
    r->c.warnings_stored += res.stored;
    r->c.warnings_unchanged += res.unchanged;
    r->c.warnings_rejected += res.rejected;
    r->done++;
    snprintf(extra, sizeof(extra), "%ld warnings", r->c.warnings_stored);
    av_progress_step(&r->prog, r->done, extra);
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
    if (av_store_each_raw(store, each, r, err) != AV_OK || r->rc != AV_OK ||
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
        av_ingest_free(&r->ig);
        av_wx_ingest_free(&r->wx);
        free(r);
    }
    av_cli_close(store, &sink);
    close(lock);
    return code;
}
