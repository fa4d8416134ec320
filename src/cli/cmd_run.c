/* cmd_run.c - `run`, `backfill` and `produce`: plan, fetch, and hand each
 * fetched body to a raw_out (src/pipeline/raw_out.h): the state store and
 * the sink for run/backfill, Kafka for produce. This loop does the rest
 * the same way for all three: the run lock, the run's row, failed fetches
 * recorded in the fetch state, counts per region, the progress bar and
 * the summary. A destination that cannot take more (store full or locked,
 * Kafka's queue refused) stops the fetches and fails the run; nothing sets
 * the process-wide stop flag but a signal.
 *
 * run and backfill submit (raw_out.h): a unit is counted, logged and shown
 * in the progress bar when its outcome comes back, i.e. once it is
 * committed, in fetch order; a failed fetch flushes what was submitted
 * before its own state is recorded, so the store sees the same sequence
 * as with one transaction per unit. When the destination fails, every
 * unit submitted and not yet reported counts as failed (none of it was
 * kept). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/log.h"
#include "../core/tz.h"
#include "../model/regions.h"
#include "../pipeline/raw_out.h"
#include "../sinks/sink.h"
#include "../sinks/store.h"
#include "../sources/fetch.h"
#include "../sources/varsom.h"
#include "cli.h"
#include "progress.h"
#include "run_weather.h"

struct region_sum {
    int region_id;
    int units, ok, rejected, failed;
    long stored, unchanged, wrejected;
    char error[AV_ERRBUF_SIZE];
};

struct run_ctx {
    struct av_store *store;
    struct av_sink sink;
    struct av_raw_out out;
    struct av_unit *units;
    const char *endpoint;
    char api_version[16];
    struct region_sum sums[AV_MAX_REGIONS];
    int nsums;
    struct av_run_counts c;
    struct av_progress prog;
    int fatal;
    char fatal_msg[AV_ERRBUF_SIZE];
    struct av_wx_run *wx; /* the weather half, NULL when not wanted */
    unsigned char *sent;  /* per unit: 1 submitted, its outcome not back yet */
    size_t nunits;
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

/* A fetch that failed after its retries: recorded in the fetch state. */
static av_rc record_failure(struct run_ctx *r, const struct av_unit *u, const char *why,
                            av_ms now, char *err)
{
    av_rc rc = av_store_begin(r->store, err);

    if (rc == AV_OK)
        rc = av_store_state_put(r->store, u->region_id, u->lang, r->endpoint, -1, now, "failed",
                                why, err);
    if (rc == AV_OK)
        rc = av_store_commit(r->store, err);
    if (rc != AV_OK)
        av_store_rollback(r->store);
    return rc;
}

static void show_progress(struct run_ctx *r)
{
    char extra[64];

    snprintf(extra, sizeof(extra), "%ld %s", r->c.warnings_stored + r->c.warnings_unchanged,
             r->out.ops->counts);
    av_progress_step(&r->prog, r->c.units_ok + r->c.units_rejected + r->c.units_failed, extra);
}

/* A unit's outcome (stored, or rejected whole): the counts and the log. */
static void count_outcome(struct run_ctx *r, const struct av_unit *u,
                          const struct av_unit_outcome *o)
{
    struct region_sum *s = sum_for(r, u->region_id);
    char f[AV_DATE_LEN], t[AV_DATE_LEN];

    av_date_format(u->from, f);
    av_date_format(u->to, t);
    if (o->rejected) {
        s->rejected++;
        r->c.units_rejected++;
        snprintf(s->error, sizeof(s->error), "%s", o->reason);
        av_error("region %d lang %d %s..%s rejected: %s (%s)", u->region_id, u->lang, f, t,
                 o->reason, o->kept);
    } else {
        s->ok++;
        r->c.units_ok++;
        if (o->wrejected)
            av_warn("region %d lang %d %s..%s: %ld warning(s) rejected, first: %s",
                    u->region_id, u->lang, f, t, o->wrejected, o->reason);
    }
    s->stored += o->stored;
    s->unchanged += o->unchanged;
    s->wrejected += o->wrejected;
    r->c.warnings_stored += o->stored;
    r->c.warnings_unchanged += o->unchanged;
    r->c.warnings_rejected += o->wrejected;
}

/* raw_out's done(): a submitted unit is committed. */
static void on_outcome(void *ud, size_t index, const struct av_unit_outcome *o)
{
    struct run_ctx *r = ud;

    r->sent[index] = 0;
    count_outcome(r, &r->units[index], o);
    show_progress(r);
}

/* The destination failed: the units submitted and not reported were not
 * kept; they count as failed (as a unit whose put failed always did). */
static void fail_unreported(struct run_ctx *r)
{
    for (size_t i = 0; r->sent && i < r->nunits; i++)
        if (r->sent[i]) {
            r->sent[i] = 0;
            sum_for(r, r->units[i].region_id)->failed++;
            r->c.units_failed++;
        }
}

/* Each fetched unit: to the raw_out, then the counts. Returns non-zero to
 * stop fetching when the destination failed. */
static int on_done(void *ctx, size_t index, const struct av_fetch_result *fr)
{
    struct run_ctx *r = ctx;
    const struct av_unit *u = &r->units[index];
    struct region_sum *s = sum_for(r, u->region_id);
    struct av_unit_outcome o;
    char err[AV_ERRBUF_SIZE], f[AV_DATE_LEN], t[AV_DATE_LEN];
    struct av_raw_meta m = {
        .source = "varsom", .endpoint = r->endpoint, .lang = u->lang,
        .api_version = r->api_version[0] ? r->api_version : NULL, .url = u->url,
        .region_id = u->region_id, .from_date = u->from, .to_date = u->to,
        .fetched_at = av_now(), .http_status = (int)fr->http_status,
    };
    av_rc rc;

    av_date_format(u->from, f);
    av_date_format(u->to, t);
    if (r->fatal) {
        show_progress(r); /* abandoned after a failure: already counted */
        return 1;
    }
    if (fr->rc != AV_OK) {
        /* what came before it first (stored, counted and logged): the store
         * and the counts see the units in order */
        rc = r->out.ops->flush ? r->out.ops->flush(r->out.ctx, err) : AV_OK;
        s->failed++;
        r->c.units_failed++;
        snprintf(s->error, sizeof(s->error), "%s", fr->error);
        av_error("region %d lang %d %s..%s failed: %s", u->region_id, u->lang, f, t, fr->error);
        if (rc == AV_OK)
            rc = record_failure(r, u, fr->error, m.fetched_at, err);
    } else if (r->out.ops->submit) {
        r->sent[index] = 1;
        rc = r->out.ops->submit(r->out.ctx, index, &m, fr->body, fr->len, on_outcome, r, err);
        if (rc == AV_OK)
            return 0; /* counted when its outcome comes back */
    } else {
        rc = r->out.ops->put(r->out.ctx, &m, fr->body, fr->len, &o, err);
    }
    if (rc != AV_OK) {
        /* The destination cannot take writes (disk full, locked, corrupt,
         * Kafka's queue): stop. */
        r->fatal = 1;
        snprintf(r->fatal_msg, sizeof(r->fatal_msg), "%s", err);
        if (fr->rc == AV_OK && !r->out.ops->submit) {
            s->failed++;
            r->c.units_failed++;
        }
        fail_unreported(r);
    } else if (fr->rc == AV_OK) {
        count_outcome(r, u, &o);
    }
    show_progress(r);
    return r->fatal;
}

/* Holes of one (region, lang) older than the default plan's first day:
 * planned first, in chunks (see av_store_each_hole). */
struct hole_plan {
    const struct av_plan_opts *po;
    struct run_ctx *r;
    size_t *nunits;
    int64_t start, today;
    av_rc rc;
    char *err;
};

static int plan_hole(void *ud, const struct av_hole *h)
{
    struct hole_plan *hp = ud;

    if (h->from >= hp->start)
        return 0; /* the default plan covers it */
    hp->rc = av_plan_region(hp->po, h->region_id, h->lang, -1, hp->today, h->from,
                            h->to < hp->start ? h->to : hp->start - 1, &hp->r->units,
                            hp->nunits, hp->err);
    return hp->rc != AV_OK;
}

/* The plan: units of every (region, lang) from the stored fetch state;
 * without --from, first the holes earlier runs left (*nholes units). */
static int plan(struct av_cli *cli, struct run_ctx *r, const struct av_plan_opts *po,
                size_t *nunits, size_t *nholes, int *nids, int *nlangs)
{
    int ids[AV_MAX_REGIONS], langs[2];
    int64_t today = av_oslo_today();
    char err[AV_ERRBUF_SIZE];

    if (av_regions_select(av_conf_str(&cli->conf, "plan.regions"), ids, nids, err) != AV_OK) {
        fprintf(stderr, "avalanche: %s\n", err);
        return AV_EXIT_USAGE;
    }
    *nlangs = av_cli_langs(cli, langs);
    *nholes = 0;
    for (int i = 0; i < *nids; i++) {
        for (int l = 0; l < *nlangs; l++) {
            int64_t last;
            av_rc rc = av_store_state_get(r->store, ids[i], langs[l], po->endpoint, &last, err);
            if (rc == AV_OK && cli->from == INT64_MIN) {
                size_t before = *nunits;
                struct hole_plan hp = {po, r, nunits, av_plan_default_start(po, last, today),
                                       today, AV_OK, err};
                rc = av_store_each_hole(r->store, ids[i], langs[l], po->endpoint, plan_hole,
                                        &hp, err);
                if (rc == AV_OK)
                    rc = hp.rc;
                *nholes += *nunits - before;
            }
            if (rc == AV_OK)
                rc = av_plan_region(po, ids[i], langs[l], last, today, cli->from, cli->to,
                                    &r->units, nunits, err);
            if (rc != AV_OK) {
                fprintf(stderr, "avalanche: %s\n", err);
                snprintf(cli->run_error, sizeof(cli->run_error), "%s", err);
                return AV_EXIT_USAGE;
            }
        }
    }
    return AV_EXIT_OK;
}

/* Every planned unit is a hole until its records are committed (or, for
 * produce, delivered): a failure or a kill leaves it for the next run. */
static av_rc mark_planned(struct run_ctx *r, size_t nunits, char *err)
{
    av_ms now = av_now();
    av_rc rc = av_store_begin(r->store, err);

    for (size_t i = 0; rc == AV_OK && i < nunits; i++)
        rc = av_store_hole_add(r->store, r->units[i].region_id, r->units[i].lang, r->endpoint,
                               r->units[i].from, r->units[i].to, now, err);
    if (rc == AV_OK)
        return av_store_commit(r->store, err);
    av_store_rollback(r->store);
    return rc;
}

static void summary(const struct run_ctx *r, const struct av_fetch_stats *stats)
{
    int messages = strcmp(r->out.ops->counts, "messages") == 0;

    printf("%-6s %-24s %5s %5s %5s %5s %8s %9s %8s\n", "region", "name", "units", "ok",
           "rej", "fail", messages ? "messages" : "stored", "unchanged", "rejected");
    for (int i = 0; i < r->nsums; i++) {
        const struct region_sum *s = &r->sums[i];
        const struct av_region *reg = av_region_find(s->region_id);
        printf("%-6d %-24.24s %5d %5d %5d %5d %8ld %9ld %8ld\n", s->region_id,
               reg ? reg->name : "?", s->ok + s->rejected + s->failed, s->ok, s->rejected,
               s->failed, s->stored, s->unchanged, s->wrejected);
    }
    if (messages)
        printf("total: %d units (%d ok, %d rejected, %d failed), %ld messages; %ld requests, "
               "%ld retries\n",
               r->c.units_total, r->c.units_ok, r->c.units_rejected, r->c.units_failed,
               r->c.warnings_stored, stats->requests, stats->retries);
    else
        printf("total: %d units (%d ok, %d rejected, %d failed), %ld warnings stored, "
               "%ld unchanged, %ld rejected; %ld requests, %ld retries\n",
               r->c.units_total, r->c.units_ok, r->c.units_rejected, r->c.units_failed,
               r->c.warnings_stored, r->c.warnings_unchanged, r->c.warnings_rejected,
               stats->requests, stats->retries);
    fflush(stdout);
}

/* Ends the run's row: its status, counts and the counts per region. */
static int end_run(struct run_ctx *r, int64_t run_id, const struct av_fetch_stats *stats)
{
    char err[AV_ERRBUF_SIZE];
    const char *status;

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
    r->c.requests = stats->requests;
    r->c.retries = stats->retries;
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
    return strcmp(status, "ok") == 0            ? AV_EXIT_OK
           : strcmp(status, "interrupted") == 0 ? AV_EXIT_INTERRUPTED
                                                : AV_EXIT_FAIL;
}

/* A --from before the API existed is a typo, not a plan: refused (with
 * the number of requests it would make) unless --force. */
static int check_earliest(struct av_cli *cli, const struct av_plan_opts *po)
{
    const char *e = av_conf_str(&cli->conf, "plan.earliest");
    int64_t earliest, to, per;
    int ids[AV_MAX_REGIONS], langs[2], n;
    char d[AV_DATE_LEN], err[AV_ERRBUF_SIZE];

    if (av_date_parse(e, &earliest) != AV_OK) {
        fprintf(stderr, "avalanche: plan.earliest = \"%s\" is not a date (YYYY-MM-DD)\n", e);
        return AV_EXIT_USAGE;
    }
    if (cli->from == INT64_MIN || cli->from >= earliest || cli->force)
        return AV_EXIT_OK;
    if (av_regions_select(av_conf_str(&cli->conf, "plan.regions"), ids, &n, err) != AV_OK)
        n = 0;
    to = cli->to != INT64_MIN ? cli->to : av_oslo_today() + po->forecast_days;
    per = to >= cli->from ? (to - cli->from) / po->chunk_days + 1 : 0;
    av_date_format(cli->from, d);
    fprintf(stderr, "avalanche: --from %s is before the first season of the warnings (%s, "
                    "plan.earliest): this plan is %lld requests; use a later --from, or "
                    "--force\n", d, e, (long long)per * n * av_cli_langs(cli, langs));
    snprintf(cli->run_error, sizeof(cli->run_error), "--from %s is before %s", d, e);
    return AV_EXIT_USAGE;
}

int av_cmd_run(struct av_cli *cli)
{
    struct run_ctx *r;
    struct av_plan_opts po;
    char err[AV_ERRBUF_SIZE], note[256] = "";
    const char **urls = NULL;
    size_t nunits = 0, nholes = 0;
    size_t nwx = 0;
    int nids = 0, nlangs = 0, lock, code;
    int produce = strcmp(cli->cmd, "produce") == 0;
    int64_t run_id = 0;
    struct av_fetch_stats stats = {0};
    av_rc rc;

    if (strcmp(cli->cmd, "backfill") == 0 && (cli->from == INT64_MIN || cli->to == INT64_MIN)) {
        fprintf(stderr, "avalanche: backfill needs --from and --to (YYYY-MM-DD)\n");
        return AV_EXIT_USAGE;
    }
    {
        int ids[AV_MAX_REGIONS], n;
        if (av_regions_select(av_conf_str(&cli->conf, "plan.regions"), ids, &n, err) != AV_OK) {
            fprintf(stderr, "avalanche: %s\n", err);
            return AV_EXIT_USAGE;
        }
    }
    cli->run_recorded = 0;
    cli->run_error[0] = '\0';
    av_plan_opts_from_conf(&po, &cli->conf);
    /* the weather archive reaches back to 1940: the check is the warnings' */
    if (av_wx_varsom_wanted(cli) && (code = check_earliest(cli, &po)) != AV_EXIT_OK)
        return code;
    lock = av_cli_lock(av_conf_str(&cli->conf, "store.path"), err);
    if (lock < 0) {
        fprintf(stderr, "avalanche: %s\n", err);
        snprintf(cli->run_error, sizeof(cli->run_error), "%s", err);
        return AV_EXIT_FAIL;
    }
    r = calloc(1, sizeof(*r));
    if (r == NULL) {
        close(lock);
        return AV_EXIT_FAIL;
    }
    r->endpoint = po.endpoint;
    av_varsom_api_version(po.base, r->api_version);
    /* produce keeps no clean records: it opens the state store only */
    code = av_cli_open(cli, &r->store, produce ? NULL : &r->sink);
    if (code != AV_EXIT_OK)
        goto out;
    code = AV_EXIT_FAIL;
    rc = produce ? av_to_kafka_open(&r->out, r->store, &cli->conf, err)
                 : av_to_store_open(&r->out, r->store, &r->sink, &cli->conf, err);
    if (rc != AV_OK) {
        fprintf(stderr, "avalanche: %s\n", err);
        snprintf(cli->run_error, sizeof(cli->run_error), "%s", err);
        code = rc == AV_EINVAL ? AV_EXIT_USAGE : AV_EXIT_FAIL;
        goto out;
    }
    if (av_wx_varsom_wanted(cli)) {
        code = plan(cli, r, &po, &nunits, &nholes, &nids, &nlangs);
        if (code != AV_EXIT_OK)
            goto out;
    }
    /* produce has no sink: the weather goes to stream.weather_topic */
    if (av_wx_wanted(cli) && !produce && !av_sink_keeps(&r->sink, &av_ds_wx_daily)) {
        av_info("%s: the %s sink does not keep the weather yet; fetching the warnings only",
                cli->cmd, av_sink_name(&r->sink));
    } else if (av_wx_wanted(cli)) {
        code = av_wx_plan(cli, r->store, &r->wx, &nwx);
        if (code != AV_EXIT_OK)
            goto out;
    }
    code = AV_EXIT_FAIL;
    urls = malloc((nunits ? nunits : 1) * sizeof(*urls));
    if (urls == NULL)
        goto out;
    for (size_t i = 0; i < nunits; i++)
        urls[i] = r->units[i].url;
    if ((r->sent = calloc(nunits ? nunits : 1, 1)) == NULL)
        goto out;
    r->nunits = nunits;
    r->c.units_total = (int)(nunits + nwx);
    if (av_store_runs_recover(r->store, av_cli_pid_alive, err) != AV_OK ||
        av_store_run_begin(r->store, cli->cmd, cli->args, av_now(), &run_id, err) != AV_OK) {
        fprintf(stderr, "avalanche: %s\n", err);
        snprintf(cli->run_error, sizeof(cli->run_error), "%s", err);
        goto out;
    }
    cli->run_recorded = 1;
    if (mark_planned(r, nunits, err) != AV_OK ||
        (r->wx && av_wx_mark_planned(r->wx, err) != AV_OK)) {
        r->fatal = 1;
        snprintf(r->fatal_msg, sizeof(r->fatal_msg), "%s", err);
    }
    if (av_wx_varsom_wanted(cli))
        av_info("%s: %zu request(s) for %d region(s) x %d language(s), %s endpoint, %s",
                cli->cmd, nunits, nids, nlangs, po.endpoint, po.base);
    if (r->wx)
        av_wx_describe(r->wx, cli->cmd);
    if (nholes)
        av_info("%s: %zu of them for days earlier runs left unstored (see avalanche status)",
                cli->cmd, nholes);
    av_progress_start(&r->prog,
                      cli->progress == 1 || (cli->progress == -1 && isatty(STDERR_FILENO)),
                      (long)(nunits + nwx));
    rc = r->fatal ? AV_OK
                  : av_fetch_all(&cli->conf, urls, nunits, NULL, on_done, on_retry, r, &av_stop,
                                 &stats, err);
    /* the warnings committed before the weather writes its own state */
    if (rc == AV_OK && !r->fatal && r->wx && r->out.ops->flush &&
        r->out.ops->flush(r->out.ctx, err) != AV_OK) {
        r->fatal = 1;
        snprintf(r->fatal_msg, sizeof(r->fatal_msg), "%s", err);
        fail_unreported(r);
    }
    if (rc == AV_OK && !r->fatal && !av_stop && r->wx &&
        av_wx_fetch(r->wx, &r->out, &r->c, &r->prog, &stats, r->fatal_msg,
                    sizeof(r->fatal_msg)) != 0)
        r->fatal = 1;
    av_progress_end(&r->prog);
    if (r->fatal) {
        /* the plan could not be recorded: nothing was fetched */
    } else if (rc != AV_OK) {
        /* could not even start: the run ends failed, not 'running' */
        r->fatal = 1;
        snprintf(r->fatal_msg, sizeof(r->fatal_msg), "%s", err);
    } else if (r->out.ops->finish(r->out.ctx, note, sizeof(note), err) != AV_OK) {
        if (note[0])
            printf("%s\n", note);
        note[0] = '\0';
        fprintf(stderr, "avalanche: %s; fetch state not advanced, run %s again\n", err,
                cli->cmd);
        fail_unreported(r);
        r->fatal = 1;
        snprintf(r->fatal_msg, sizeof(r->fatal_msg), "%s", err);
    }
    if (note[0])
        printf("%s\n", note);
    summary(r, &stats);
    if (r->wx) {
        char line[AV_ERRBUF_SIZE + 256];
        av_wx_summary(r->wx, line, sizeof(line));
        printf("%s\n", line);
        fflush(stdout);
    }
    code = end_run(r, run_id, &stats);
out:
    if (r->out.ops)
        r->out.ops->close(r->out.ctx);
    free(urls);
    free(r->sent);
    free(r->units);
    av_wx_free(r->wx);
    av_cli_close(r->store, produce ? NULL : &r->sink);
    close(lock);
    free(r);
    return code;
}
