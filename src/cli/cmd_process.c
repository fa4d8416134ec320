/* cmd_process.c - `process`: the streaming half that cleans and stores.
 *
 * A member of a Kafka consumer group (stream.group) reading two topics:
 * the warnings (stream.topic) and the weather responses
 * (stream.weather_topic; only when the sink keeps the weather). Loop: poll
 * up to stream.batch messages (or until a short quiet spell), ingest each
 * one into the configured sink in one transaction with the same code as
 * `run` (pipeline/ingest.h for a warning, pipeline/weather_ingest.h for a
 * weather response), commit the sink and the state store (rejects), make
 * sure every dead-letter message of the batch is delivered, and only then
 * commit the batch's offsets. A crash anywhere re-reads at most one batch,
 * and the idempotent upserts make the replay harmless: each warning and
 * each hourly value is stored once. SIGINT/SIGTERM finish the current
 * batch and leave the group cleanly. --until-idle exits when the group's
 * committed offsets reach the end of every partition of both topics.
 *
 * A message is weather when its "source" header says open-meteo, or, with
 * no source header, when it came from the weather topic. A weather message
 * is read as run reads a response: its headers are the request (endpoint,
 * url naming the points, from_date..to_date, fetched_at); one that lacks
 * them or does not parse goes to the dead-letter topic with stage and
 * reason, and nothing of it is stored. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/log.h"
#include "../core/tz.h"
#include "../model/dataset.h"
#include "../pipeline/ingest.h"
#include "../pipeline/weather_ingest.h"
#include "../sinks/sink.h"
#include "../sinks/store.h"
#include "../sources/openmeteo.h"
#include "../transport/kafka.h"
#include "cli.h"

struct proc {
    struct av_store *store;
    struct av_sink *sink;
    struct av_kafka *k;
    struct av_ingest ig;
    struct av_wx_ingest wx;
    const char *dlq, *wtopic;
    int wx_on; /* the sink keeps the weather: its topic is read */
    struct av_run_counts c;
    long dead, wx_messages, wx_hours, wx_days;
};

/* Re-sends a message to the dead-letter topic with stage and reason. */
static av_rc dead_letter(struct proc *p, const struct av_kafka_msg *m, const char *stage,
                         const char *reason, char *err)
{
    struct av_kafka_header h[24];
    char store[8192];
    int n = av_kafka_msg_headers(m, h, 20, store, sizeof(store));

    h[n].name = "stage";
    h[n++].value = stage;
    h[n].name = "reason";
    h[n++].value = reason;
    p->dead++;
    av_warn("%s[%d]@%lld rejected (sent to %s): %s", m->topic, (int)m->partition,
            (long long)m->offset, p->dlq, reason);
    return av_kafka_produce(p->k, p->dlq, m->key, m->value, m->len, h, n, err);
}

/* A warning: the envelope's headers, then the same ingest as run. */
static av_rc one_warning(struct proc *p, const struct av_kafka_msg *m, char *err)
{
    struct av_ingest_result res;
    struct av_raw_meta meta = {.source = "varsom", .endpoint = "detail",
                               .from_date = INT64_MIN, .to_date = INT64_MIN};
    char lang[8] = "0", endpoint[16] = "detail", version[16] = "", url[600] = "",
         from[16] = "", to[16] = "", at[40] = "";
    av_rc rc;

    /* when produce fetched it: the publication's first_seen in the history
     * (an older producer without the header: the time we process it) */
    if (!av_kafka_msg_header(m, "fetched_at", at, sizeof(at)) ||
        av_stamp_parse(at, &meta.fetched_at) != AV_OK)
        meta.fetched_at = 0;
    av_kafka_msg_header(m, "lang", lang, sizeof(lang));
    av_kafka_msg_header(m, "endpoint", endpoint, sizeof(endpoint));
    av_kafka_msg_header(m, "api_version", version, sizeof(version));
    av_kafka_msg_header(m, "url", url, sizeof(url));
    av_kafka_msg_header(m, "from_date", from, sizeof(from));
    av_kafka_msg_header(m, "to_date", to, sizeof(to));
    if (av_date_parse(from, &meta.from_date) != AV_OK ||
        av_date_parse(to, &meta.to_date) != AV_OK) /* an older producer */
        meta.from_date = meta.to_date = INT64_MIN;
    meta.lang = atoi(lang);
    meta.endpoint = strcmp(endpoint, "simple") == 0 ? "simple" : "detail";
    meta.api_version = version;
    meta.url = url;
    meta.region_id = atoi(m->key);
    rc = av_ingest_body(&p->ig, &meta, 0, m->value, m->len, av_now(), &res, err);
    if (rc == AV_OK && (res.parse_failed || res.rejected))
        rc = dead_letter(p, m, res.stage, res.reason, err);
    if (rc == AV_OK) {
        p->c.warnings_stored += res.stored;
        p->c.warnings_unchanged += res.unchanged;
        p->c.warnings_rejected += res.rejected + res.parse_failed;
    }
    return rc;
}

/* A weather message refused before its body is read: kept in `rejected`
 * and sent to the dead-letter topic, like a body that does not parse. */
static av_rc wx_refuse(struct proc *p, const struct av_kafka_msg *m, const char *why, char *err)
{
    av_rc rc = av_store_reject(p->store, "validate", why, atoi(m->key), 0, m->value, m->len, 0,
                               av_now(), err);

    p->c.warnings_rejected++;
    return rc == AV_OK ? dead_letter(p, m, "validate", why, err) : rc;
}

/* A weather response: its request from the headers, then the same ingest
 * as run (hourly values, then the region's days aggregated again). */
static av_rc one_weather(struct proc *p, const struct av_kafka_msg *m, char *err)
{
    struct av_wx_result res;
    char endpoint[16] = "", url[AV_OM_URL_MAX + 1] = "", from[16] = "", to[16] = "",
         at[40] = "", status[16] = "0", why[AV_ERRBUF_SIZE];
    struct av_raw_meta meta = {.source = AV_WX_SOURCE, .endpoint = endpoint, .url = url,
                               .from_date = INT64_MIN, .to_date = INT64_MIN};
    av_rc rc;

    if (!p->wx_on) {
        snprintf(why, sizeof(why), "the %s sink does not keep the weather yet",
                 av_sink_name(p->sink));
        return wx_refuse(p, m, why, err);
    }
    av_kafka_msg_header(m, "endpoint", endpoint, sizeof(endpoint));
    av_kafka_msg_header(m, "url", url, sizeof(url));
    av_kafka_msg_header(m, "from_date", from, sizeof(from));
    av_kafka_msg_header(m, "to_date", to, sizeof(to));
    av_kafka_msg_header(m, "http_status", status, sizeof(status));
    /* later fetch wins: a weather value without its fetch time cannot be
     * ranked against the stored one */
    if (!av_kafka_msg_header(m, "fetched_at", at, sizeof(at)) ||
        av_stamp_parse(at, &meta.fetched_at) != AV_OK)
        return wx_refuse(p, m, "weather message without a fetched_at header (UTC stamp)", err);
    if (strlen(url) >= AV_OM_URL_MAX)
        return wx_refuse(p, m, "weather message whose url header is too long", err);
    if (av_date_parse(from, &meta.from_date) != AV_OK ||
        av_date_parse(to, &meta.to_date) != AV_OK)
        meta.from_date = meta.to_date = INT64_MIN; /* rejected by the ingest, with why */
    meta.region_id = atoi(m->key);
    meta.http_status = atoi(status);
    rc = av_wx_ingest_body(&p->wx, &meta, 0, m->value, m->len, meta.fetched_at, &res, err);
    if (rc == AV_OK && res.parse_failed) {
        p->c.warnings_rejected++;
        rc = dead_letter(p, m, res.stage, res.reason, err);
    } else if (rc == AV_OK) {
        p->wx_messages++;
        p->wx_hours += res.hours_stored;
        p->wx_days += res.days_stored;
    }
    av_wx_result_free(&res);
    return rc;
}

static av_rc one_message(struct proc *p, const struct av_kafka_msg *m, char *err)
{
    char source[32] = "";
    int weather = av_kafka_msg_header(m, "source", source, sizeof(source))
                      ? strcmp(source, AV_WX_SOURCE) == 0
                      : strcmp(m->topic, p->wtopic) == 0;

    return weather ? one_weather(p, m, err) : one_warning(p, m, err);
}

/* Opens the group member on the warnings topic and, when the sink keeps
 * the weather, the weather topic; creates missing topics first. */
static av_rc open_consumer(struct av_cli *cli, struct proc *p, const char *topic, char *err)
{
    const char *topics[2] = {topic, p->wtopic};
    int n = p->wx_on ? 2 : 1;
    av_rc rc = av_kafka_consumer_open(&p->k, &cli->conf, topics, n, err);

    for (int i = 0; rc == AV_OK && i < n; i++)
        rc = av_kafka_ensure_topic(p->k, topics[i], err);
    if (rc == AV_OK)
        rc = av_kafka_ensure_topic(p->k, p->dlq, err);
    if (rc == AV_OK)
        rc = av_kafka_subscribe(p->k, err);
    return rc;
}

int av_cmd_process(struct av_cli *cli)
{
    struct av_store *store = NULL;
    struct av_sink sink = {NULL, NULL};
    struct proc *p = calloc(1, sizeof(*p));
    const char *topic = av_conf_str(&cli->conf, "stream.topic");
    int batch_max = (int)av_conf_int(&cli->conf, "stream.batch");
    char err[AV_ERRBUF_SIZE];
    int code, ig_ready = 0;
    int64_t run_id = 0;
    long messages = 0;
    const char *status = "failed";

    if (p == NULL)
        return AV_EXIT_FAIL;
    code = av_cli_open(cli, &store, &sink);
    if (code != AV_EXIT_OK) {
        free(p);
        return code;
    }
    code = AV_EXIT_FAIL;
    p->store = store;
    p->sink = &sink;
    p->dlq = av_conf_str(&cli->conf, "stream.dlq_topic");
    p->wtopic = av_conf_str(&cli->conf, "stream.weather_topic");
    p->wx_on = av_sink_keeps(&sink, &av_ds_wx_daily);
    if (av_ingest_init(&p->ig, store, &sink, &cli->conf) != AV_OK ||
        av_wx_ingest_init(&p->wx, store, &sink, &cli->conf) != AV_OK) {
        av_ingest_free(&p->ig);
        goto out;
    }
    ig_ready = 1;
    if (open_consumer(cli, p, topic, err) != AV_OK) {
        fprintf(stderr, "avalanche: %s\n", err);
        code = p->k ? AV_EXIT_FAIL : AV_EXIT_USAGE;
        goto out;
    }
    if (av_store_runs_recover(store, av_cli_pid_alive, err) != AV_OK ||
        av_store_run_begin(store, "process", cli->args, av_now(), &run_id, err) != AV_OK) {
        fprintf(stderr, "avalanche: %s\n", err);
        goto out;
    }
    if (p->wx_on)
        av_info("process: topics %s and %s, group %s, store %s", topic, p->wtopic,
                av_conf_str(&cli->conf, "stream.group"), av_conf_str(&cli->conf, "store.path"));
    else
        av_info("process: topic %s, group %s, store %s (the %s sink does not keep the weather "
                "yet: %s is not read)", topic, av_conf_str(&cli->conf, "stream.group"),
                av_conf_str(&cli->conf, "store.path"), av_sink_name(&sink), p->wtopic);

    while (!av_stop) {
        int n = 0, in_tx = 0, quiet = 0;
        long dead_before = p->dead;
        av_rc rc = AV_OK;

        while (n < batch_max && !av_stop) {
            struct av_kafka_msg m;
            int got;

            rc = av_kafka_poll(p->k, n == 0 ? 500 : 100, &m, &got, err);
            if (rc != AV_OK)
                break;
            if (!got) {
                quiet = 1;
                break;
            }
            if (!in_tx) {
                rc = av_store_begin(store, err);
                if (rc == AV_OK && (rc = av_sink_begin(&sink, err)) != AV_OK)
                    av_store_rollback(store);
                if (rc != AV_OK) {
                    av_kafka_msg_release(&m);
                    break;
                }
                in_tx = 1;
            }
            rc = one_message(p, &m, err);
            if (rc == AV_OK)
                av_kafka_mark(p->k, &m);
            av_kafka_msg_release(&m);
            if (rc != AV_OK)
                break;
            n++;
        }
        if (rc != AV_OK) {
            /* Nothing of this batch is kept or committed: it is re-read. */
            if (in_tx) {
                av_sink_rollback(&sink);
                av_store_rollback(store);
            }
            fprintf(stderr, "avalanche: %s\n", err);
            goto out;
        }
        if (in_tx) {
            long delivered, failed;
            if (av_sink_commit(&sink, err) != AV_OK || av_store_commit(store, err) != AV_OK ||
                (p->dead > dead_before &&
                 av_kafka_flush(p->k, (int)av_conf_int(&cli->conf, "stream.timeout_ms"),
                                &delivered, &failed, err) != AV_OK) ||
                av_kafka_commit(p->k, 1, err) != AV_OK) {
                av_sink_rollback(&sink);
                av_store_rollback(store);
                fprintf(stderr, "avalanche: %s\n", err);
                goto out;
            }
            messages += n;
            av_debug("process: batch of %d committed (%ld so far)", n, messages);
        }
        if (quiet && cli->until_idle) {
            int done = 0;
            if (av_kafka_commit(p->k, 0, err) != AV_OK) { /* wait for the async ones */
                av_warn("%s", err);
                continue;
            }
            if (av_kafka_group_done(p->k, &done, err) != AV_OK) {
                av_warn("%s", err);
                continue;
            }
            if (done)
                break;
        }
    }
    /* Leave with every stored batch committed (and waited for). */
    if (av_kafka_commit(p->k, 0, err) != AV_OK)
        av_warn("%s", err);
    status = av_stop ? "interrupted" : "ok";
    code = AV_EXIT_OK;
out:
    if (run_id) {
        p->c.units_total = p->c.units_ok = (int)messages;
        av_store_run_end(store, run_id, code == AV_EXIT_OK ? status : "failed", &p->c,
                         code == AV_EXIT_OK ? NULL : err, av_now(), NULL);
        printf("process: %ld messages, %ld warnings stored, %ld unchanged, %ld rejected "
               "(%ld to %s)",
               messages, p->c.warnings_stored, p->c.warnings_unchanged, p->c.warnings_rejected,
               p->dead, p->dlq);
        if (p->wx_messages)
            printf("; weather: %ld responses, %ld hourly values, %ld region-days stored",
                   p->wx_messages, p->wx_hours, p->wx_days);
        printf("\n");
    }
    av_kafka_close(p->k);
    if (ig_ready) {
        av_ingest_free(&p->ig);
        av_wx_ingest_free(&p->wx);
    }
    av_cli_close(store, &sink);
    free(p);
    return code;
}
