/* cmd_serve.c - `serve`: the daemon. Runs the schedule (serve.schedule,
 * local Europe/Oslo times; a catch-up run at start when the last good run
 * is older than the last scheduled time) and the HTTP server (dashboard,
 * JSON API, /metrics, /healthz) in one process. Runs go through the same
 * code as `avalanche run`, which holds a lock file next to the database, so
 * a failed or partial run is tried again before the next scheduled time,
 * after 5, 10, 20 ... minutes (at most 60) while it keeps failing; and
 * a daemon and a manual run never overlap (the kernel drops the lock if a
 * process dies). SIGINT/SIGTERM: the current run stops cleanly (see run),
 * then the server stops. */
#include <stdio.h>
#include <string.h>

#include "../core/clock.h"
#include "../core/log.h"
#include "../core/tz.h"
#include "../http/api.h"
#include "../http/http.h"
#include "../sched/schedule.h"
#include "../sinks/store.h"
#include "cli.h"

const struct av_opt av_serve_opts[] = {
    {"serve", "listen", AV_OPT_STR, "127.0.0.1:8080", 0, 0, NULL,
     "HTTP address (IPv4 ADDR:PORT; loopback by default)"},
    {"serve", "schedule", AV_OPT_STR, "07:30,16:30", 0, 0, NULL,
     "local Europe/Oslo times of the daily runs (the afternoon warning is out by 16:00)"},
    {"serve", "retry_ms", AV_OPT_INT, "300000", 1000, 86400000, NULL,
     "first retry of a failed run (doubles while it keeps failing)"},
    {"serve", "retry_max_ms", AV_OPT_INT, "3600000", 1000, 86400000, NULL,
     "longest wait before retrying a failed run"},
    {"serve", "max_connections", AV_OPT_INT, "512", 16, 65536, NULL,
     "HTTP connections at once (a thread each)"},
    {"serve", "max_per_ip", AV_OPT_INT, "32", 0, 65536, NULL,
     "HTTP connections at once per non-loopback client address (0 = no limit)"},
    {"serve", "header_timeout_ms", AV_OPT_INT, "5000", 100, 600000, NULL,
     "time a client has for a request line and its headers (also between kept-alive "
     "requests)"},
    {"serve", "lag_interval_ms", AV_OPT_INT, "15000", 1000, 3600000, NULL,
     "how often the consumer group's lag is fetched for /metrics (with --brokers)"},
    {"serve", "token", AV_OPT_STR, "", 0, 0, NULL,
     "bearer token for POST /api/runs (AVALANCHE_SERVE_TOKEN); empty = refused"},
    {"serve", "cache_mb", AV_OPT_INT, "64", 0, 65536, NULL,
     "memory for answers computed once per data change (pages, /metrics; at most 512 "
     "of them, each at most a quarter of it); 0 = every request computes its answer"},
    {"serve", "cache_ttl_ms", AV_OPT_INT, "5000", 0, 86400000, NULL,
     "how long such an answer is kept at most when store.sink is not sqlite (another "
     "process's writes there are not seen); 0 = not kept"},
    {NULL, NULL, 0, NULL, 0, 0, NULL, NULL},
};

/* Runs that failed before they could write their row (the database was
 * locked by another process, say): kept here and written as failed runs,
 * with the reason, as soon as the database takes them. */
struct pending_runs {
    int n;
    struct {
        av_ms started, ended;
        char error[AV_ERRBUF_SIZE + 64];
    } run[8];
};

static void unrecorded(const struct av_cli *cli, av_ms started, struct pending_runs *p)
{
    int i = p->n < 8 ? p->n++ : 7; /* keep the newest when many pile up */

    p->run[i].started = started;
    p->run[i].ended = av_now();
    snprintf(p->run[i].error, sizeof(p->run[i].error), "%s",
             cli->run_error[0] ? cli->run_error : "the run failed before it was recorded");
}

static void record_pending(struct av_store *store, struct pending_runs *p)
{
    char err[AV_ERRBUF_SIZE];
    int done = 0;

    while (done < p->n && av_store_run_failed(store, "run", "serve (scheduled)",
                                              p->run[done].started, p->run[done].ended,
                                              p->run[done].error, err) == AV_OK)
        done++;
    if (done < p->n)
        av_warn("serve: %d failed run(s) not recorded yet: %s", p->n - done, err);
    memmove(p->run, p->run + done, (size_t)(p->n - done) * sizeof(p->run[0]));
    p->n -= done;
}

int av_cmd_serve(struct av_cli *cli)
{
    struct pending_runs pending = {0};
    struct av_sched sched;
    struct av_api api;
    struct av_http *http = NULL;
    struct av_store *store = NULL;
    char err[AV_ERRBUF_SIZE], when[AV_STAMP_LEN];
    const char *db = av_conf_str(&cli->conf, "store.path");
    int first = 1, failures = 0;

    if (av_sched_parse(&sched, av_conf_str(&cli->conf, "serve.schedule"), err) != AV_OK) {
        fprintf(stderr, "avalanche: serve.schedule: %s\n", err);
        return AV_EXIT_USAGE;
    }
    if (av_store_open(&store, db, &cli->conf, err) != AV_OK) {
        fprintf(stderr, "avalanche: %s\n", err);
        return AV_EXIT_FAIL;
    }
    av_api_init(&api, &cli->conf, db, av_conf_str(&cli->conf, "serve.token"), &av_stop);
    {
        struct av_http_opts ho = {
            av_conf_str(&cli->conf, "serve.listen"),
            (int)av_conf_int(&cli->conf, "serve.max_connections"),
            (int)av_conf_int(&cli->conf, "serve.max_per_ip"),
            (int)av_conf_int(&cli->conf, "serve.header_timeout_ms"), 30};
        if (av_http_start(&http, &ho, av_api_handle, &api, err) != AV_OK) {
            fprintf(stderr, "avalanche: %s\n", err);
            av_api_close(&api);
            av_store_close(store);
            return AV_EXIT_FAIL;
        }
    }
    av_api_lag_start(&api);
    printf("serving on http://%.*s:%d/\n",
           (int)strcspn(av_conf_str(&cli->conf, "serve.listen"), ":"),
           av_conf_str(&cli->conf, "serve.listen"), av_http_port(http));
    fflush(stdout);

    while (!av_stop) {
        av_ms now = av_now(), last_ok = -1, next;
        int due, asked = av_api_take_run_request(&api);

        if (av_store_last_good_run(store, "run", &last_ok, err) != AV_OK)
            av_warn("%s", err);
        due = asked || (first && av_sched_due(&sched, last_ok, now));
        first = 0;
        if (!due) {
            next = av_sched_next(&sched, now);
            if (failures > 0) { /* retry a failed run before the next tick */
                av_ms retry = now + av_sched_backoff(failures,
                                                     (long)av_conf_int(&cli->conf, "serve.retry_ms"),
                                                     (long)av_conf_int(&cli->conf,
                                                                       "serve.retry_max_ms"));
                if (retry < next)
                    next = retry;
            }
            av_stamp_format(next, when);
            av_info("serve: next run at %s", when);
            av_api_set_next_run(&api, next);
            while (!av_stop && !(asked = av_api_take_run_request(&api)) && av_now() < next)
                av_sleep_ms(200);
            if (av_stop)
                break;
        }
        av_api_set_next_run(&api, -1);
        av_api_set_run_active(&api, 1);
        cli->cmd = "run";
        cli->from = cli->to = INT64_MIN;
        av_info("serve: run starts");
        now = av_now();
        failures = av_cmd_run(cli) == AV_EXIT_OK ? 0 : failures + 1;
        av_api_set_run_active(&api, 0);
        if (failures > 0 && !cli->run_recorded)
            unrecorded(cli, now, &pending);
        if (pending.n > 0)
            record_pending(store, &pending);
    }
    av_http_stop(http);
    av_api_close(&api);
    av_store_close(store);
    return av_stop ? AV_EXIT_OK : AV_EXIT_FAIL;
}
