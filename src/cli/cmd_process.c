/* cmd_process.c - `process`: the streaming half that cleans and stores.
 *
 * A member of a Kafka consumer group (stream.group). Loop: poll up to
 * stream.batch messages (or until a short quiet spell), ingest each one
 * into the configured sink in one transaction with the same code as `run`,
 * commit the sink and the state store (rejects),
 * make sure every dead-letter message of the batch is delivered, and only
 * then commit the batch's offsets. A crash anywhere re-reads at most one
 * batch, and the idempotent upserts make the replay harmless: each warning
 * is stored once. SIGINT/SIGTERM finish the current batch and leave the
 * group cleanly. --until-idle exits when the group's committed offsets
 * reach the end of every partition. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/log.h"
#include "../core/tz.h"
#include "../pipeline/ingest.h"
#include "../sinks/sink.h"
#include "../sinks/store.h"
#include "../transport/kafka.h"
#include "cli.h"

/* Re-sends a message to the dead-letter topic with stage and reason. */
static av_rc dead_letter(struct av_kafka *k, const char *dlq, const struct av_kafka_msg *m,
                         const char *stage, const char *reason, char *err)
{
    struct av_kafka_header h[24];
    char store[8192];
    int n = av_kafka_msg_headers(m, h, 20, store, sizeof(store));

    h[n].name = "stage";
    h[n++].value = stage;
    h[n].name = "reason";
    h[n++].value = reason;
    return av_kafka_produce(k, dlq, m->key, m->value, m->len, h, n, err);
}

int av_cmd_process(struct av_cli *cli)
{
    struct av_store *store = NULL;
    struct av_sink sink = {NULL, NULL};
    struct av_kafka *k = NULL;
    struct av_ingest ig;
    struct av_run_counts c = {0};
    const char *topic = av_conf_str(&cli->conf, "stream.topic");
    const char *dlq = av_conf_str(&cli->conf, "stream.dlq_topic");
    int batch_max = (int)av_conf_int(&cli->conf, "stream.batch");
    char err[AV_ERRBUF_SIZE];
    int code, ig_ready = 0;
    int64_t run_id = 0;
    long messages = 0, dead = 0;
    const char *status = "failed";

    code = av_cli_open(cli, &store, &sink);
    if (code != AV_EXIT_OK)
        return code;
    code = AV_EXIT_FAIL;
    if (av_ingest_init(&ig, store, &sink, &cli->conf) != AV_OK)
        goto out;
    ig_ready = 1;
    if (av_kafka_consumer_open(&k, &cli->conf, topic, err) != AV_OK ||
        av_kafka_ensure_topic(k, topic, err) != AV_OK ||
        av_kafka_ensure_topic(k, dlq, err) != AV_OK || av_kafka_subscribe(k, err) != AV_OK) {
        fprintf(stderr, "avalanche: %s\n", err);
        code = k ? AV_EXIT_FAIL : AV_EXIT_USAGE;
        goto out;
    }
    if (av_store_runs_recover(store, av_cli_pid_alive, err) != AV_OK ||
        av_store_run_begin(store, "process", cli->args, av_now(), &run_id, err) != AV_OK) {
        fprintf(stderr, "avalanche: %s\n", err);
        goto out;
    }
    av_info("process: topic %s, group %s, store %s", topic,
            av_conf_str(&cli->conf, "stream.group"), av_conf_str(&cli->conf, "store.path"));

    while (!av_stop) {
        int n = 0, in_tx = 0, quiet = 0;
        av_rc rc = AV_OK;

        while (n < batch_max && !av_stop) {
            struct av_kafka_msg m;
            struct av_ingest_result res;
            struct av_raw_meta meta = {.source = "varsom", .endpoint = "detail",
                                       .from_date = INT64_MIN, .to_date = INT64_MIN};
            char lang[8] = "0", endpoint[16] = "detail", version[16] = "", url[600] = "",
                 from[16] = "", to[16] = "";
            int got;

            rc = av_kafka_poll(k, n == 0 ? 500 : 100, &m, &got, err);
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
            av_kafka_msg_header(&m, "lang", lang, sizeof(lang));
            av_kafka_msg_header(&m, "endpoint", endpoint, sizeof(endpoint));
            av_kafka_msg_header(&m, "api_version", version, sizeof(version));
            av_kafka_msg_header(&m, "url", url, sizeof(url));
            av_kafka_msg_header(&m, "from_date", from, sizeof(from));
            av_kafka_msg_header(&m, "to_date", to, sizeof(to));
            if (av_date_parse(from, &meta.from_date) != AV_OK ||
                av_date_parse(to, &meta.to_date) != AV_OK) /* an older producer */
                meta.from_date = meta.to_date = INT64_MIN;
            meta.lang = atoi(lang);
            meta.endpoint = strcmp(endpoint, "simple") == 0 ? "simple" : "detail";
            meta.api_version = version;
            meta.url = url;
            meta.region_id = atoi(m.key);
            rc = av_ingest_body(&ig, &meta, 0, m.value, m.len, av_now(), &res, err);
            if (rc == AV_OK && (res.parse_failed || res.rejected)) {
                rc = dead_letter(k, dlq, &m, res.stage, res.reason, err);
                dead++;
                av_warn("%s[%d]@%lld rejected (sent to %s): %s", m.topic, (int)m.partition,
                        (long long)m.offset, dlq, res.reason);
            }
            if (rc == AV_OK) {
                av_kafka_mark(k, &m);
                c.warnings_stored += res.stored;
                c.warnings_unchanged += res.unchanged;
                c.warnings_rejected += res.rejected + res.parse_failed;
            }
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
                (dead && av_kafka_flush(k, (int)av_conf_int(&cli->conf, "stream.timeout_ms"),
                                        &delivered, &failed, err) != AV_OK) ||
                av_kafka_commit(k, 1, err) != AV_OK) {
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
            if (av_kafka_commit(k, 0, err) != AV_OK) { /* wait for the async ones */
                av_warn("%s", err);
                continue;
            }
            if (av_kafka_group_done(k, &done, err) != AV_OK) {
                av_warn("%s", err);
                continue;
            }
            if (done)
                break;
        }
    }
    /* Leave with every stored batch committed (and waited for). */
    if (av_kafka_commit(k, 0, err) != AV_OK)
        av_warn("%s", err);
    status = av_stop ? "interrupted" : "ok";
    code = AV_EXIT_OK;
out:
    if (run_id) {
        c.units_total = c.units_ok = (int)messages;
        av_store_run_end(store, run_id, code == AV_EXIT_OK ? status : "failed", &c,
                         code == AV_EXIT_OK ? NULL : err, av_now(), NULL);
        printf("process: %ld messages, %ld warnings stored, %ld unchanged, %ld rejected "
               "(%ld to %s)\n",
               messages, c.warnings_stored, c.warnings_unchanged, c.warnings_rejected, dead, dlq);
    }
    av_kafka_close(k);
    if (ig_ready)
        av_ingest_free(&ig);
    av_cli_close(store, &sink);
    return code;
}
