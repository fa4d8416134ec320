/* cmd_run.c - `run`, `backfill` and `produce`: plan, fetch, then either
 * ingest into the store or (produce) write one Kafka message per warning.
 *
 * run/backfill: each fetch unit is stored in its own transaction (raw body,
 * clean rows, rejects, fetch state), so a crash or kill -9 loses at most the
 * unit in flight, and the next run re-plans from the stored state.
 * produce: the store only keeps fetch state and run history; the state
 * moves forward only after every message was delivered (flush), so a
 * failed produce is re-planned in full next time. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "../core/log.h"
#include "../core/tz.h"
#include "../pipeline/ingest.h"
#include "../sinks/cassandra.h"
#include "../sinks/store.h"
#include "../sources/fetch.h"
#include "../sources/regions.h"
#include "../sources/varsom.h"
#include "../transport/kafka.h"
#include "cli.h"
#include "progress.h"

struct region_sum {
    int region_id;
    int units, ok, rejected, failed;
    long stored, unchanged, wrejected;
    char error[AV_ERRBUF_SIZE];
};

struct unit_state {
    int region_id, lang;
    int64_t max_date;
};

struct run_ctx {
    struct av_cli *cli;
    int lock;               /* flock'd "<db>.lock" */
    struct av_kafka *kafka; /* produce mode */
    struct av_cass *cass;   /* store.sink = cassandra */
    const char *topic, *dlq;
    struct unit_state *states;
    int nstates;
    long messages;
    struct av_store *store;
    struct av_ingest ig;
    struct av_unit *units;
    const char *endpoint;
    char api_version[16];
    struct region_sum sums[AV_MAX_REGIONS];
    int nsums;
    struct av_run_counts c;
    struct av_progress prog;
    int fatal;
    char fatal_msg[AV_ERRBUF_SIZE];
};

static struct region_sum *sum_for(struct run_ctx *r, int region)
{
    for (int i = 0; i < r->nsums; i++)
        if (r->sums[i].region_id == region)
            return &r->sums[i];
    r->sums[r->nsums].region_id = region;
    return &r->sums[r->nsums++];
}

static void on_retry(void *ctx, size_t index, const char *why, long delay_ms)
{
    struct run_ctx *r = ctx;

    (void)index;
    if (!r->prog.on)
        av_warn("%s; retrying in %ld ms", why, delay_ms);
}

static struct unit_state *state_for(struct run_ctx *r, int region, int lang)
{
    for (int i = 0; i < r->nstates; i++)
        if (r->states[i].region_id == region && r->states[i].lang == lang)
            return &r->states[i];
    r->states[r->nstates].region_id = region;
    r->states[r->nstates].lang = lang;
    r->states[r->nstates].max_date = -1;
    return &r->states[r->nstates++];
}

/* produce mode: one message per warning, the body's bytes untouched. */
static av_rc produce_body(struct run_ctx *r, const struct av_unit *u,
                          const struct av_fetch_result *fr, av_ms now, int *rejected,
                          char *reason, char *err)
{
    struct av_json *doc = &r->ig.doc;
    char key[16], lang[4], region[16], from[AV_DATE_LEN], to[AV_DATE_LEN], at[AV_STAMP_LEN];
    struct av_kafka_header h[10] = {
        {"source", "varsom"}, {"endpoint", r->endpoint}, {"lang", lang},
        {"api_version", r->api_version[0] ? r->api_version : NULL}, {"url", u->url},
        {"fetched_at", at}, {"region_id", region}, {"from_date", from}, {"to_date", to},
        {NULL, NULL},
    };
    struct unit_state *st = state_for(r, u->region_id, u->lang);
    av_rc rc;
    int n, e;

    snprintf(key, sizeof(key), "%d", u->region_id);
    snprintf(region, sizeof(region), "%d", u->region_id);
    snprintf(lang, sizeof(lang), "%d", u->lang);
    av_date_format(u->from, from);
    av_date_format(u->to, to);
    av_stamp_format(now, at);
    *rejected = 0;
    rc = av_json_parse(doc, fr->body, fr->len, reason);
    if (rc == AV_OK && av_json_type(doc, 0) != AV_JSON_ARRAY)
        rc = av_fail(reason, AV_EPARSE, "response is JSON but not an array of warnings");
    if (rc != AV_OK) {
        h[9].name = "reason";
        h[9].value = reason;
        *rejected = 1;
        return av_kafka_produce(r->kafka, r->dlq, key, fr->body, fr->len, h, 10, err);
    }
    n = av_json_size(doc, 0);
    e = av_json_first(0);
    for (int i = 0; i < n; i++, e = av_json_skip(doc, e)) {
        size_t len;
        const char *span = av_json_span(doc, e, &len);
        int vf = av_json_get(doc, e, "ValidFrom");
        av_ms local;

        if (av_json_type(doc, vf) == AV_JSON_STRING) {
            const char *p = av_json_raw(doc, vf, &len);
            if (av_local_stamp_parse(p, len, &local) == AV_OK && local / 86400000 > st->max_date)
                st->max_date = local / 86400000;
            span = av_json_span(doc, e, &len);
        }
        rc = av_kafka_produce(r->kafka, r->topic, key, span, len, h, 9, err);
        if (rc != AV_OK)
            return rc;
        r->messages++;
    }
    return AV_OK;
}

static void on_done(void *ctx, size_t index, const struct av_fetch_result *fr)
{
    struct run_ctx *r = ctx;
    const struct av_unit *u = &r->units[index];
    struct region_sum *s = sum_for(r, u->region_id);
    struct av_ingest_result res;
    char err[AV_ERRBUF_SIZE], extra[64], f[AV_DATE_LEN], t[AV_DATE_LEN];
    av_ms now = av_now();
    int64_t raw_id = 0;
    av_rc rc;

    av_date_format(u->from, f);
    av_date_format(u->to, t);
    if (r->fatal)
        goto progress;
    if (r->kafka && fr->rc == AV_OK) {
        int rejected = 0;
        long before = r->messages;
        char reason[AV_ERRBUF_SIZE];
        av_rc prc = produce_body(r, u, fr, now, &rejected, reason, err);
        s->stored += r->messages - before; /* messages, in produce mode */
        if (prc != AV_OK) {
            /* The local queue refused: nothing more can be produced. */
            r->fatal = 1;
            snprintf(r->fatal_msg, sizeof(r->fatal_msg), "%s", err);
            s->failed++;
            r->c.units_failed++;
            av_stop = 1;
        } else if (rejected) {
            s->rejected++;
            r->c.units_rejected++;
            snprintf(s->error, sizeof(s->error), "%s", reason);
            av_error("region %d lang %d %s..%s rejected: %s (sent to %s)", u->region_id,
                     u->lang, f, t, reason, r->dlq);
        } else {
            s->ok++;
            r->c.units_ok++;
        }
        goto progress;
    }
    if (fr->rc != AV_OK) {
        s->failed++;
        r->c.units_failed++;
        snprintf(s->error, sizeof(s->error), "%s", fr->error);
        av_error("region %d lang %d %s..%s failed: %s", u->region_id, u->lang, f, t, fr->error);
        if (av_store_begin(r->store, err) == AV_OK &&
            av_store_state_put(r->store, u->region_id, u->lang, r->endpoint, -1, now, "failed",
                               fr->error, err) == AV_OK &&
            av_store_commit(r->store, err) == AV_OK)
            goto progress;
        av_store_rollback(r->store);
        goto store_failed;
    }
    {
        struct av_raw_meta m = {
            .source = "varsom", .endpoint = r->endpoint, .lang = u->lang,
            .api_version = r->api_version[0] ? r->api_version : NULL, .url = u->url,
            .region_id = u->region_id, .from_date = u->from, .to_date = u->to,
            .fetched_at = now, .http_status = (int)fr->http_status,
        };
        rc = av_store_begin(r->store, err);
        if (rc == AV_OK)
            rc = av_store_raw_put(r->store, &m, fr->body, fr->len, &raw_id, err);
        if (rc == AV_OK)
            rc = av_ingest_body(&r->ig, &m, raw_id, fr->body, fr->len, now, &res, err);
        if (rc == AV_OK)
            rc = av_store_state_put(r->store, u->region_id, u->lang, r->endpoint,
                                    res.parse_failed ? -1 : res.max_date, now,
                                    res.parse_failed ? "rejected" : "ok",
                                    res.parse_failed ? res.reason : NULL, err);
        if (rc == AV_OK)
            rc = av_store_commit(r->store, err);
        if (rc != AV_OK) {
            av_store_rollback(r->store);
            goto store_failed;
        }
    }
    if (res.parse_failed) {
        s->rejected++;
        r->c.units_rejected++;
        snprintf(s->error, sizeof(s->error), "%s", res.reason);
        av_error("region %d lang %d %s..%s rejected: %s (raw response kept; see "
                 "`avalanche status`)",
                 u->region_id, u->lang, f, t, res.reason);
    } else {
        s->ok++;
        r->c.units_ok++;
        if (res.rejected)
            av_warn("region %d lang %d %s..%s: %ld warning(s) rejected, first: %s",
                    u->region_id, u->lang, f, t, res.rejected, res.reason);
    }
    s->stored += res.stored;
    s->unchanged += res.unchanged;
    s->wrejected += res.rejected;
    r->c.warnings_stored += res.stored;
    r->c.warnings_unchanged += res.unchanged;
    r->c.warnings_rejected += res.rejected;
    goto progress;

store_failed:
    /* The store cannot take writes (disk full, locked, corrupt): stop. */
    r->fatal = 1;
    snprintf(r->fatal_msg, sizeof(r->fatal_msg), "%s", err);
    s->failed++;
    r->c.units_failed++;
    av_stop = 1;
progress:
    if (r->kafka)
        snprintf(extra, sizeof(extra), "%ld messages", r->messages);
    else
        snprintf(extra, sizeof(extra), "%ld warnings",
                 r->c.warnings_stored + r->c.warnings_unchanged);
    av_progress_step(&r->prog, r->c.units_ok + r->c.units_rejected + r->c.units_failed, extra);
}

/* One run at a time per database: an flock on "<db>.lock" (released by the
 * kernel when the holder exits, however it exits). Returns the fd or -1. */
static int take_lock(const char *db, char *err)
{
    char path[4096];
    int fd;

    snprintf(path, sizeof(path), "%s.lock", db);
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        av_fail(err, AV_EIO, "cannot open lock file %s: %s", path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        av_fail(err, AV_EIO, "another run is in progress on %s (lock %s); try again later",
                db, path);
        close(fd);
        return -1;
    }
    return fd;
}

int av_cmd_run(struct av_cli *cli)
{
    struct run_ctx *r;
    struct av_plan_opts po;
    char err[AV_ERRBUF_SIZE];
    const char **urls = NULL;
    size_t nunits = 0;
    int ids[AV_MAX_REGIONS], nids, langs[2], nlangs, code = AV_EXIT_FAIL;
    int backfill = strcmp(cli->cmd, "backfill") == 0;
    int64_t today = av_oslo_today(), run_id = 0;
    struct av_fetch_stats stats = {0};
    const char *status;

    if (backfill && (cli->from == INT64_MIN || cli->to == INT64_MIN)) {
        fprintf(stderr, "avalanche: backfill needs --from and --to (YYYY-MM-DD)\n");
        return AV_EXIT_USAGE;
    }
    if (av_regions_select(av_conf_str(&cli->conf, "plan.regions"), ids, &nids, err) != AV_OK) {
        fprintf(stderr, "avalanche: %s\n", err);
        return AV_EXIT_USAGE;
    }
    nlangs = av_cli_langs(cli, langs);
    r = calloc(1, sizeof(*r));
    if (r == NULL)
        return AV_EXIT_FAIL;
    r->lock = take_lock(av_conf_str(&cli->conf, "store.path"), err);
    if (r->lock < 0) {
        fprintf(stderr, "avalanche: %s\n", err);
        free(r);
        return AV_EXIT_FAIL;
    }
    r->cli = cli;
    av_plan_opts_from_conf(&po, &cli->conf);
    r->endpoint = po.endpoint;
    av_varsom_api_version(po.base, r->api_version);
    if (av_store_open(&r->store, av_conf_str(&cli->conf, "store.path"), &cli->conf, err) !=
        AV_OK) {
        fprintf(stderr, "avalanche: %s\n", err);
        close(r->lock);
        free(r);
        return AV_EXIT_FAIL;
    }
    if (av_ingest_init(&r->ig, r->store, &cli->conf) != AV_OK)
        goto out;
    r->states = calloc((size_t)(nids * nlangs), sizeof(*r->states));
    if (r->states == NULL)
        goto out;
    if (strcmp(cli->cmd, "produce") != 0 && av_cli_attach_sink(cli, &r->ig, &r->cass) != 0)
        goto out;
    if (strcmp(cli->cmd, "produce") == 0) {
        r->topic = av_conf_str(&cli->conf, "stream.topic");
        r->dlq = av_conf_str(&cli->conf, "stream.dlq_topic");
        if (av_kafka_producer_open(&r->kafka, &cli->conf, err) != AV_OK) {
            fprintf(stderr, "avalanche: %s\n", err);
            code = AV_EXIT_USAGE;
            goto out;
        }
        if (av_kafka_ensure_topic(r->kafka, r->topic, err) != AV_OK ||
            av_kafka_ensure_topic(r->kafka, r->dlq, err) != AV_OK) {
            fprintf(stderr, "avalanche: %s\n", err);
            goto out;
        }
    }
    for (int i = 0; i < nids; i++) {
        for (int l = 0; l < nlangs; l++) {
            int64_t last;
            if (av_store_state_get(r->store, ids[i], langs[l], po.endpoint, &last, err) !=
                    AV_OK ||
                av_plan_region(&po, ids[i], langs[l], last, today, cli->from, cli->to,
                               &r->units, &nunits, err) != AV_OK) {
                fprintf(stderr, "avalanche: %s\n", err);
                code = AV_EXIT_USAGE;
                goto out;
            }
        }
    }
    urls = malloc((nunits ? nunits : 1) * sizeof(*urls));
    if (urls == NULL)
        goto out;
    for (size_t i = 0; i < nunits; i++)
        urls[i] = r->units[i].url;
    r->c.units_total = (int)nunits;
    if (av_store_runs_recover(r->store, av_cli_pid_alive, err) != AV_OK ||
        av_store_run_begin(r->store, cli->cmd, cli->args, av_now(), &run_id, err) != AV_OK) {
        fprintf(stderr, "avalanche: %s\n", err);
        goto out;
    }
    av_info("%s: %zu request(s) for %d region(s) x %d language(s), %s endpoint, %s",
            cli->cmd, nunits, nids, nlangs, po.endpoint, po.base);
    av_progress_start(&r->prog,
                      cli->progress == 1 || (cli->progress == -1 && isatty(STDERR_FILENO)),
                      (long)nunits);
    if (av_fetch_all(&cli->conf, urls, nunits, on_done, on_retry, r, &av_stop, &stats, err) !=
        AV_OK) {
        av_progress_end(&r->prog);
        fprintf(stderr, "avalanche: %s\n", err);
        goto out;
    }
    av_progress_end(&r->prog);
    if (r->kafka) {
        long delivered = 0, failed = 0;
        int timeout = (int)av_conf_int(&cli->conf, "stream.timeout_ms");
        av_rc frc = av_kafka_flush(r->kafka, timeout > 60000 ? timeout : 60000, &delivered,
                                   &failed, err);
        printf("produce: %ld messages to %s, %ld delivered, %ld not delivered\n", r->messages,
               r->topic, delivered, failed);
        if (frc != AV_OK) {
            fprintf(stderr, "avalanche: %s; fetch state not advanced, run produce again\n",
                    err);
            r->fatal = 1;
            snprintf(r->fatal_msg, sizeof(r->fatal_msg), "%s", err);
        } else {
            /* Everything delivered: now the plan may move forward. */
            av_ms now = av_now();
            int ok = av_store_begin(r->store, err) == AV_OK;
            for (int i = 0; ok && i < r->nstates; i++)
                ok = av_store_state_put(r->store, r->states[i].region_id, r->states[i].lang,
                                        r->endpoint, r->states[i].max_date, now, "produced",
                                        NULL, err) == AV_OK;
            if (!ok || av_store_commit(r->store, err) != AV_OK) {
                av_store_rollback(r->store);
                fprintf(stderr, "avalanche: %s\n", err);
            }
        }
    }

    /* Summary: one line per region, then totals. */
    printf("%-6s %-24s %5s %5s %5s %5s %8s %9s %8s\n", "region", "name", "units", "ok",
           "rej", "fail", r->kafka ? "messages" : "stored", "unchanged", "rejected");
    for (int i = 0; i < r->nsums; i++) {
        const struct region_sum *s = &r->sums[i];
        const struct av_region *reg = av_region_find(s->region_id);
        printf("%-6d %-24.24s %5d %5d %5d %5d %8ld %9ld %8ld\n", s->region_id,
               reg ? reg->name : "?", s->ok + s->rejected + s->failed, s->ok, s->rejected,
               s->failed, s->stored, s->unchanged, s->wrejected);
    }
    if (r->kafka)
        printf("total: %d units (%d ok, %d rejected, %d failed), %ld messages; %ld requests, "
               "%ld retries\n",
               r->c.units_total, r->c.units_ok, r->c.units_rejected, r->c.units_failed,
               r->messages, stats.requests, stats.retries);
    else
        printf("total: %d units (%d ok, %d rejected, %d failed), %ld warnings stored, "
           "%ld unchanged, %ld rejected; %ld requests, %ld retries\n",
           r->c.units_total, r->c.units_ok, r->c.units_rejected, r->c.units_failed,
           r->c.warnings_stored, r->c.warnings_unchanged, r->c.warnings_rejected,
           stats.requests, stats.retries);
    fflush(stdout);

    if (r->fatal)
        status = "failed";
    else if (av_stop)
        status = "interrupted";
    else if (r->c.units_failed || r->c.units_rejected)
        status = r->c.units_ok ? "partial" : "failed";
    else
        status = "ok";
    if (r->fatal)
        fprintf(stderr, "avalanche: stopped: %s\n", r->fatal_msg);
    r->c.requests = stats.requests;
    r->c.retries = stats.retries;
    if (av_store_run_end(r->store, run_id, status, &r->c, r->fatal ? r->fatal_msg : NULL,
                         av_now(), err) != AV_OK)
        fprintf(stderr, "avalanche: %s\n", err);
    for (int i = 0; i < r->nsums; i++) {
        const struct region_sum *s = &r->sums[i];
        struct av_run_counts rc = {s->ok + s->rejected + s->failed, s->ok, s->rejected,
                                   s->failed, s->stored, s->unchanged, s->wrejected};
        if (av_store_run_region(r->store, run_id, s->region_id, &rc, s->error, err) != AV_OK) {
            fprintf(stderr, "avalanche: %s\n", err);
            break;
        }
    }
    code = strcmp(status, "ok") == 0            ? AV_EXIT_OK
           : strcmp(status, "interrupted") == 0 ? AV_EXIT_INTERRUPTED
                                                : AV_EXIT_FAIL;
out:
    av_kafka_close(r->kafka);
    av_cass_close(r->cass);
    free(r->states);
    free(urls);
    free(r->units);
    av_ingest_free(&r->ig);
    av_store_close(r->store);
    close(r->lock);
    free(r);
    return code;
}
