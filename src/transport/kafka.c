/* kafka.c - librdkafka behind the av_kafka interface. See kafka.h. */
#include "kafka.h"

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../core/log.h"

const struct av_opt av_kafka_opts[] = {
    {"stream", "brokers", AV_OPT_STR, "", 0, 0, NULL,
     "Kafka bootstrap servers, host:port[,host:port]"},
    {"stream", "topic", AV_OPT_STR, "avalanche.raw", 0, 0, NULL, "raw warnings topic"},
    {"stream", "weather_topic", AV_OPT_STR, "avalanche.weather", 0, 0, NULL,
     "raw weather topic: one message per Open-Meteo response"},
    {"stream", "max_message_bytes", AV_OPT_INT, "16777216", 1048576, 1000000000, NULL,
     "largest message produce sends (librdkafka message.max.bytes; topics we create hold "
     "it): a larger weather response is rejected, not sent"},
    {"stream", "dlq_topic", AV_OPT_STR, "avalanche.dlq", 0, 0, NULL,
     "dead-letter topic for rejected messages"},
    {"stream", "group", AV_OPT_STR, "avalanche-process", 0, 0, NULL, "consumer group"},
    {"stream", "partitions", AV_OPT_INT, "6", 1, 10000, NULL,
     "partitions when creating a missing topic"},
    {"stream", "replication", AV_OPT_INT, "1", 1, 100, NULL,
     "replication factor when creating a missing topic"},
    {"stream", "batch", AV_OPT_INT, "500", 1, 100000, NULL,
     "messages per store transaction in process"},
    {"stream", "timeout_ms", AV_OPT_INT, "30000", 100, 3600000, NULL,
     "how long to wait for the brokers (metadata, flush, commit)"},
    {"kafka", "*", AV_OPT_STR, NULL, 0, 0, NULL,
     "passed verbatim to librdkafka, except settings the design depends on "
     "(enable.auto.commit, enable.idempotence, acks, group.id, bootstrap.servers): refused"},
    {NULL, NULL, 0, NULL, 0, 0, NULL, NULL},
};

#define MAX_MARKS 4096
#define MAX_TOPICS 4

struct av_kafka {
    rd_kafka_t *rk;   /* producer or consumer */
    rd_kafka_t *prod; /* producer used by av_kafka_produce (== rk, or a DLQ one) */
    const struct av_conf *conf;
    char topics[MAX_TOPICS][256]; /* a consumer's subscription */
    int ntopics;
    int timeout_ms;
    long delivered, failed;
    char last_error[AV_ERRBUF_SIZE];
    rd_kafka_topic_partition_list_t *marks;     /* since the last commit */
    rd_kafka_topic_partition_list_t *all_marks; /* highest ever, per partition */
};

struct pass_ctx {
    rd_kafka_conf_t *kc;
    char *errbuf;
    av_rc rc;
};

/* librdkafka settings the design depends on: kafka.* may not change them
 * (ok: the values allowed, '|'-separated; NULL: none, use our option). */
static const struct {
    const char *key, *ok, *why;
} guarded[] = {
    {"enable.auto.commit", "false",
     "process commits offsets itself, only after the records are stored"},
    {"enable.idempotence", "true", "produce delivers each message once across broker restarts"},
    {"acks", "all|-1", "a message counts as delivered only once every in-sync replica has it"},
    {"group.id", NULL, "use --group (stream.group)"},
    {"bootstrap.servers", NULL, "use --brokers (stream.brokers)"},
    {"metadata.broker.list", NULL, "use --brokers (stream.brokers)"},
};

static int allowed(const char *ok, const char *value)
{
    size_t n = strlen(value);

    for (const char *p = ok; p && *p;) {
        size_t l = strcspn(p, "|");
        if (l == n && strncasecmp(p, value, n) == 0)
            return 1;
        p += l + (p[l] == '|');
    }
    return 0;
}

static void pass_one(const char *key, const char *value, void *ud)
{
    struct pass_ctx *p = ud;
    char err[256];

    if (p->rc != AV_OK)
        return;
    for (size_t i = 0; i < sizeof(guarded) / sizeof(guarded[0]); i++) {
        if (strcmp(key, guarded[i].key) != 0 || allowed(guarded[i].ok, value))
            continue;
        p->rc = av_fail(p->errbuf, AV_EINVAL, "kafka.%s = %s is refused: %s%s%s", key, value,
                        guarded[i].why, guarded[i].ok ? "; allowed: " : "",
                        guarded[i].ok ? guarded[i].ok : "");
        return;
    }
    if (rd_kafka_conf_set(p->kc, key, value, err, sizeof(err)) != RD_KAFKA_CONF_OK)
        p->rc = av_fail(p->errbuf, AV_EINVAL, "kafka.%s: %s", key, err);
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    struct av_kafka *k = opaque;

    (void)rk;
    if (m->err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE) {
        k->failed++;
        snprintf(k->last_error, sizeof(k->last_error),
                 "%s: a message of %zu bytes is over %s's max.message.bytes (a topic "
                 "created elsewhere?): raise it, or lower weather.chunk_days",
                 rd_kafka_err2str(m->err), m->len, rd_kafka_topic_name(m->rkt));
    } else if (m->err) {
        k->failed++;
        snprintf(k->last_error, sizeof(k->last_error), "%s", rd_kafka_err2str(m->err));
    } else {
        k->delivered++;
    }
}

static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    /* CONFWARN: a kafka.* key meant for the other role (consumer settings
     * reach the dead-letter producer too): harmless, keep it quiet. */
    if (level <= 4 && strcmp(fac, "CONFWARN") != 0)
        av_warn("kafka: %s: %s", fac, buf);
    else
        av_debug("kafka: %s: %s", fac, buf);
}

/* Common settings: brokers, logging, then kafka.* on top. */
static av_rc base_conf(rd_kafka_conf_t **out, struct av_kafka *k, const struct av_conf *c,
                       char *errbuf)
{
    rd_kafka_conf_t *kc = rd_kafka_conf_new();
    const char *brokers = av_conf_str(c, "stream.brokers");
    struct pass_ctx p = {kc, errbuf, AV_OK};
    char err[256];

    if (brokers[0] == '\0') {
        rd_kafka_conf_destroy(kc);
        return av_fail(errbuf, AV_EINVAL,
                       "no Kafka brokers: pass --brokers HOST:PORT or set stream.brokers");
    }
    if (rd_kafka_conf_set(kc, "bootstrap.servers", brokers, err, sizeof(err)) ||
        rd_kafka_conf_set(kc, "client.id", "avalanche", err, sizeof(err))) {
        rd_kafka_conf_destroy(kc);
        return av_fail(errbuf, AV_EINVAL, "stream.brokers: %s", err);
    }
    rd_kafka_conf_set_log_cb(kc, on_log);
    rd_kafka_conf_set_opaque(kc, k);
    av_conf_each_extra(c, "kafka", pass_one, &p);
    if (p.rc != AV_OK) {
        rd_kafka_conf_destroy(kc);
        return p.rc;
    }
    *out = kc;
    return AV_OK;
}

static av_rc make_producer(rd_kafka_t **out, struct av_kafka *k, const struct av_conf *c,
                           char *errbuf)
{
    rd_kafka_conf_t *kc;
    char err[512], num[24];
    av_rc rc = base_conf(&kc, k, c, errbuf);
    static const char *const defaults[][2] = {
        {"enable.idempotence", "true"},
        {"acks", "all"},
        {"compression.type", "lz4"},
        {"linger.ms", "20"},
        {"allow.auto.create.topics", "false"}, /* we create topics, with our settings */
        {"queue.buffering.max.kbytes", "16384"}, /* bounded memory; produce blocks */
        {"message.timeout.ms", "300000"},
    };

    if (rc != AV_OK)
        return rc;
    /* Our defaults go first so that kafka.* can override them: re-apply
     * the user's keys after. */
    for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
        rd_kafka_conf_set(kc, defaults[i][0], defaults[i][1], err, sizeof(err));
    /* A weather response is one message (~0.6 MB for 92 days of 5 points,
     * more with more days or points): librdkafka's default ceiling is 1 MB,
     * uncompressed. */
    snprintf(num, sizeof(num), "%lld", av_conf_int(c, "stream.max_message_bytes"));
    rd_kafka_conf_set(kc, "message.max.bytes", num, err, sizeof(err));
    {
        struct pass_ctx p = {kc, errbuf, AV_OK};
        av_conf_each_extra(c, "kafka", pass_one, &p);
        if (p.rc != AV_OK) {
            rd_kafka_conf_destroy(kc);
            return p.rc;
        }
    }
    rd_kafka_conf_set_dr_msg_cb(kc, on_delivery);
    *out = rd_kafka_new(RD_KAFKA_PRODUCER, kc, err, sizeof(err));
    if (*out == NULL)
        return av_fail(errbuf, AV_EINVAL, "cannot create Kafka producer: %s", err);
    return AV_OK;
}

static struct av_kafka *alloc_k(const struct av_conf *c)
{
    struct av_kafka *k = calloc(1, sizeof(*k));

    if (k) {
        k->conf = c;
        k->timeout_ms = (int)av_conf_int(c, "stream.timeout_ms");
    }
    return k;
}

av_rc av_kafka_producer_open(struct av_kafka **out, const struct av_conf *c, char *errbuf)
{
    struct av_kafka *k = alloc_k(c);
    av_rc rc;

    if (k == NULL)
        return AV_ENOMEM;
    rc = make_producer(&k->rk, k, c, errbuf);
    if (rc != AV_OK) {
        free(k);
        return rc;
    }
    k->prod = k->rk;
    *out = k;
    return AV_OK;
}

/* The producer of a consumer handle (DLQ, admin) is made on first use. */
static av_rc need_prod(struct av_kafka *k, char *errbuf)
{
    return k->prod ? AV_OK : make_producer(&k->prod, k, k->conf, errbuf);
}

av_rc av_kafka_ensure_topic(struct av_kafka *k, const char *topic, char *errbuf)
{
    const rd_kafka_metadata_t *md = NULL;
    rd_kafka_resp_err_t e;
    rd_kafka_NewTopic_t *nt;
    rd_kafka_queue_t *q;
    rd_kafka_event_t *ev;
    char err[512];
    int exists = 0;
    av_rc rc = need_prod(k, errbuf);

    if (rc != AV_OK)
        return rc;
    /* Ask for all topics: a request naming the topic could make a broker
     * with auto.create.topics.enable create it with its own defaults. */
    e = rd_kafka_metadata(k->prod, 1, NULL, &md, k->timeout_ms);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
        return av_fail(errbuf, AV_ENET, "Kafka metadata for %s: %s (are the brokers up? "
                       "check stream.brokers)", topic, rd_kafka_err2str(e));
    for (int i = 0; i < md->topic_cnt; i++)
        if (strcmp(md->topics[i].topic, topic) == 0 && md->topics[i].partition_cnt > 0)
            exists = 1;
    rd_kafka_metadata_destroy(md);
    if (exists)
        return AV_OK;
    nt = rd_kafka_NewTopic_new(topic, (int)av_conf_int(k->conf, "stream.partitions"),
                               (int)av_conf_int(k->conf, "stream.replication"), err,
                               sizeof(err));
    if (nt == NULL)
        return av_fail(errbuf, AV_EINVAL, "topic %s: %s", topic, err);
    {
        /* The broker checks the compressed batch against max.message.bytes
         * (its default is ~1 MB): room for the largest message produce
         * sends, plus lz4's worst-case growth and the batch framing. */
        long long mx = av_conf_int(k->conf, "stream.max_message_bytes");
        char v[24];
        snprintf(v, sizeof(v), "%lld", mx + mx / 128 + 65536);
        if (rd_kafka_NewTopic_set_config(nt, "max.message.bytes", v)) {
            rd_kafka_NewTopic_destroy(nt);
            return av_fail(errbuf, AV_EINVAL, "topic %s: max.message.bytes %s refused", topic,
                           v);
        }
    }
    q = rd_kafka_queue_new(k->prod);
    rd_kafka_CreateTopics(k->prod, &nt, 1, NULL, q);
    ev = rd_kafka_queue_poll(q, k->timeout_ms);
    if (ev == NULL) {
        rc = av_fail(errbuf, AV_ENET, "creating topic %s: no answer from the brokers", topic);
    } else {
        const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(ev);
        size_t n = 0;
        const rd_kafka_topic_result_t **tr =
            res ? rd_kafka_CreateTopics_result_topics(res, &n) : NULL;
        if (rd_kafka_event_error(ev))
            rc = av_fail(errbuf, AV_ENET, "creating topic %s: %s", topic,
                         rd_kafka_event_error_string(ev));
        else if (n == 1 && rd_kafka_topic_result_error(tr[0]) ==
                               RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
            ; /* created meanwhile by another process: fine */
        else if (n == 1 && rd_kafka_topic_result_error(tr[0]))
            rc = av_fail(errbuf, AV_ENET, "creating topic %s: %s", topic,
                         rd_kafka_topic_result_error_string(tr[0]));
        else
            av_info("created topic %s (%lld partitions, replication %lld)", topic,
                    av_conf_int(k->conf, "stream.partitions"),
                    av_conf_int(k->conf, "stream.replication"));
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_queue_destroy(q);
    rd_kafka_NewTopic_destroy(nt);
    return rc;
}

av_rc av_kafka_produce(struct av_kafka *k, const char *topic, const char *key,
                       const void *value, size_t len, const struct av_kafka_header *h,
                       int nh, char *errbuf)
{
    rd_kafka_headers_t *hdrs = rd_kafka_headers_new((size_t)(nh > 0 ? nh : 1));
    rd_kafka_resp_err_t e;

    {
        av_rc rc = need_prod(k, errbuf);
        if (rc != AV_OK) {
            rd_kafka_headers_destroy(hdrs);
            return rc;
        }
    }
    for (int i = 0; i < nh; i++)
        if (h[i].value != NULL)
            rd_kafka_header_add(hdrs, h[i].name, -1, h[i].value, -1);
    for (;;) {
        e = rd_kafka_producev(k->prod, RD_KAFKA_V_TOPIC(topic),
                              RD_KAFKA_V_KEY(key, key ? strlen(key) : 0),
                              RD_KAFKA_V_VALUE((void *)value, len),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                              RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END);
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL)
            break;
        rd_kafka_poll(k->prod, 100); /* backpressure: wait for deliveries */
    }
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_headers_destroy(hdrs); /* not taken over on failure */
        if (e == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE)
            return av_fail(errbuf, AV_ELIMIT,
                           "a message of %zu bytes to %s is over stream.max_message_bytes "
                           "(%lld): lower weather.chunk_days or weather.max_points, or raise it",
                           len, topic, av_conf_int(k->conf, "stream.max_message_bytes"));
        return av_fail(errbuf, AV_ENET, "produce to %s: %s", topic, rd_kafka_err2str(e));
    }
    rd_kafka_poll(k->prod, 0);
    return AV_OK;
}

av_rc av_kafka_flush(struct av_kafka *k, int timeout_ms, long *delivered, long *failed,
                     char *errbuf)
{
    rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;

    if (k->prod)
        e = rd_kafka_flush(k->prod, timeout_ms);
    if (delivered)
        *delivered = k->delivered;
    if (failed)
        *failed = k->failed + (k->prod ? rd_kafka_outq_len(k->prod) : 0);
    if (e == RD_KAFKA_RESP_ERR__TIMED_OUT)
        return av_fail(errbuf, AV_ENET, "%d message(s) still undelivered after %d ms",
                       k->prod ? rd_kafka_outq_len(k->prod) : 0, timeout_ms);
    if (k->failed)
        return av_fail(errbuf, AV_ENET, "%ld message(s) not delivered: %s", k->failed,
                       k->last_error);
    return AV_OK;
}

/* The group gave or took partitions: say which (an operator sees who
 * consumes what; tests wait on it) and apply it, eager or cooperative as
 * the group's protocol is (librdkafka's default handler does the same). */
static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    int coop = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    int assign = err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS;
    char list[1024];
    size_t n = 0;
    rd_kafka_error_t *e = NULL;

    (void)opaque;
    /* "[0,1] of avalanche.raw, [2] of avalanche.weather" */
    snprintf(list, sizeof(list), "[] of the topics");
    for (int i = 0; i < parts->cnt && n < sizeof(list) - 300; i++) {
        const rd_kafka_topic_partition_t *p = &parts->elems[i];
        int next = i + 1 < parts->cnt && strcmp(parts->elems[i + 1].topic, p->topic) == 0;
        int first = i == 0 || strcmp(parts->elems[i - 1].topic, p->topic) != 0;
        n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%d%s%s", first ? (i ? ", [" : "[")
                              : ",", (int)p->partition, next ? "" : "] of ",
                              next ? "" : p->topic);
    }
    av_info("kafka: %s partitions %s", assign ? "assigned" : "revoked", list);
    if (coop)
        e = assign ? rd_kafka_incremental_assign(rk, parts)
                   : rd_kafka_incremental_unassign(rk, parts);
    else
        rd_kafka_assign(rk, assign ? parts : NULL);
    if (e) {
        av_warn("kafka: rebalance: %s", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
    }
}

av_rc av_kafka_consumer_open(struct av_kafka **out, const struct av_conf *c,
                             const char *const *topics, int ntopics, char *errbuf)
{
    struct av_kafka *k;
    rd_kafka_conf_t *kc;
    char err[512];
    long long recv;
    av_rc rc;

    if (ntopics < 1 || ntopics > MAX_TOPICS)
        return av_fail(errbuf, AV_EINVAL, "a consumer reads 1 to %d topics, not %d", MAX_TOPICS,
                       ntopics);
    for (int i = 0; i < ntopics; i++)
        if (topics[i][0] == '\0' || strlen(topics[i]) >= sizeof(k->topics[0]))
            return av_fail(errbuf, AV_EINVAL, "topic name \"%.40s\" is empty or too long",
                           topics[i]);
    k = alloc_k(c);
    if (k == NULL)
        return AV_ENOMEM;
    for (int i = 0; i < ntopics; i++) { /* each once */
        int dup = 0;
        for (int j = 0; j < k->ntopics; j++)
            dup |= strcmp(k->topics[j], topics[i]) == 0;
        if (!dup)
            snprintf(k->topics[k->ntopics++], sizeof(k->topics[0]), "%s", topics[i]);
    }
    rc = base_conf(&kc, k, c, errbuf);
    if (rc != AV_OK) {
        free(k);
        return rc;
    }
    rd_kafka_conf_set(kc, "group.id", av_conf_str(c, "stream.group"), err, sizeof(err));
    rd_kafka_conf_set(kc, "enable.auto.commit", "false", err, sizeof(err));
    rd_kafka_conf_set(kc, "auto.offset.reset", "earliest", err, sizeof(err));
    /* Bounded prefetch (librdkafka's default is 64 MB per consumer). */
    rd_kafka_conf_set(kc, "queued.max.messages.kbytes", "8192", err, sizeof(err));
    rd_kafka_conf_set(kc, "fetch.max.bytes", "8388608", err, sizeof(err));
    /* Do not let the broker hold a fetch for 500 ms while other partitions
     * of the same request still have data (measured: 2x throughput). */
    rd_kafka_conf_set(kc, "fetch.wait.max.ms", "50", err, sizeof(err));
    /* A batch larger than fetch.max.bytes is still returned whole (one
     * weather response per message): the response must fit the receive
     * buffer (librdkafka's default: 100 MB). */
    recv = av_conf_int(c, "stream.max_message_bytes") + 8388608 + 65536;
    if (recv > 100000000) {
        char v[24];
        snprintf(v, sizeof(v), "%lld", recv);
        rd_kafka_conf_set(kc, "receive.message.max.bytes", v, err, sizeof(err));
    }
    rd_kafka_conf_set_rebalance_cb(kc, on_rebalance);
    {
        struct pass_ctx p = {kc, errbuf, AV_OK};
        av_conf_each_extra(c, "kafka", pass_one, &p);
        if (p.rc != AV_OK) {
            rd_kafka_conf_destroy(kc);
            free(k);
            return p.rc;
        }
    }
    k->rk = rd_kafka_new(RD_KAFKA_CONSUMER, kc, err, sizeof(err));
    if (k->rk == NULL) {
        free(k);
        return av_fail(errbuf, AV_EINVAL, "cannot create Kafka consumer: %s", err);
    }
    rd_kafka_poll_set_consumer(k->rk);
    k->marks = rd_kafka_topic_partition_list_new(16);
    k->all_marks = rd_kafka_topic_partition_list_new(16);
    *out = k;
    return AV_OK;
}

av_rc av_kafka_subscribe(struct av_kafka *k, char *errbuf)
{
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(k->ntopics);
    rd_kafka_resp_err_t e;

    for (int i = 0; i < k->ntopics; i++)
        rd_kafka_topic_partition_list_add(sub, k->topics[i], RD_KAFKA_PARTITION_UA);
    e = rd_kafka_subscribe(k->rk, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    if (e)
        return av_fail(errbuf, AV_ENET, "subscribe to %s%s: %s", k->topics[0],
                       k->ntopics > 1 ? " and more" : "", rd_kafka_err2str(e));
    return AV_OK;
}

av_rc av_kafka_poll(struct av_kafka *k, int timeout_ms, struct av_kafka_msg *m, int *got,
                    char *errbuf)
{
    rd_kafka_message_t *rm = rd_kafka_consumer_poll(k->rk, timeout_ms);

    (void)errbuf; /* no fatal consumer errors today; kept for the interface */
    *got = 0;
    if (k->prod && k->prod != k->rk)
        rd_kafka_poll(k->prod, 0);
    if (rm == NULL)
        return AV_OK;
    if (rm->err) {
        rd_kafka_resp_err_t e = rm->err;
        if (e == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            rd_kafka_message_destroy(rm);
            return AV_OK;
        }
        /* Everything else (broker down, a topic not yet known to every
         * broker) is retried by the library: report and go on. */
        av_warn("kafka consumer: %s", rd_kafka_message_errstr(rm));
        rd_kafka_message_destroy(rm);
        return AV_OK; /* the library retries */
    }
    m->topic = rd_kafka_topic_name(rm->rkt);
    m->partition = rm->partition;
    m->offset = rm->offset;
    m->value = rm->payload ? rm->payload : "";
    m->len = rm->len;
    m->opaque = rm;
    {
        size_t n = rm->key_len < sizeof(m->key_buf) - 1 ? rm->key_len : sizeof(m->key_buf) - 1;
        memcpy(m->key_buf, rm->key ? rm->key : "", rm->key ? n : 0);
        m->key_buf[rm->key ? n : 0] = '\0';
        m->key = m->key_buf;
    }
    *got = 1;
    return AV_OK;
}

int av_kafka_msg_header(const struct av_kafka_msg *m, const char *name, char *out, size_t cap)
{
    rd_kafka_headers_t *h = NULL;
    const void *v;
    size_t n;

    if (rd_kafka_message_headers(m->opaque, &h) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        rd_kafka_header_get_last(h, name, &v, &n) != RD_KAFKA_RESP_ERR_NO_ERROR || v == NULL)
        return 0;
    if (n >= cap)
        n = cap - 1;
    memcpy(out, v, n);
    out[n] = '\0';
    return 1;
}

int av_kafka_msg_headers(const struct av_kafka_msg *m, struct av_kafka_header *hd, int max,
                         char *store, size_t cap)
{
    rd_kafka_headers_t *h = NULL;
    const char *name;
    const void *v;
    size_t n, used = 0;
    int count = 0;

    if (rd_kafka_message_headers(m->opaque, &h) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return 0;
    for (size_t i = 0; count < max && rd_kafka_header_get_all(h, i, &name, &v, &n) == 0; i++) {
        size_t nl = strlen(name);
        if (v == NULL || used + nl + n + 2 > cap)
            continue;
        memcpy(store + used, name, nl + 1);
        hd[count].name = store + used;
        used += nl + 1;
        memcpy(store + used, v, n);
        store[used + n] = '\0';
        hd[count].value = store + used;
        used += n + 1;
        count++;
    }
    return count;
}

void av_kafka_msg_release(struct av_kafka_msg *m)
{
    if (m->opaque)
        rd_kafka_message_destroy(m->opaque);
    m->opaque = NULL;
}

static void mark_in(rd_kafka_topic_partition_list_t *l, const struct av_kafka_msg *m)
{
    rd_kafka_topic_partition_t *p = rd_kafka_topic_partition_list_find(l, m->topic, m->partition);

    if (p == NULL)
        p = rd_kafka_topic_partition_list_add(l, m->topic, m->partition);
    if (m->offset + 1 > p->offset)
        p->offset = m->offset + 1; /* the next offset to read */
}

void av_kafka_mark(struct av_kafka *k, const struct av_kafka_msg *m)
{
    mark_in(k->marks, m);
    mark_in(k->all_marks, m);
}

av_rc av_kafka_commit(struct av_kafka *k, int async, char *errbuf)
{
    rd_kafka_resp_err_t e;

    if (!async) { /* everything ever marked, and wait for the answer */
        if (k->all_marks->cnt == 0)
            return AV_OK;
        e = rd_kafka_commit(k->rk, k->all_marks, 0);
        rd_kafka_topic_partition_list_destroy(k->marks);
        k->marks = rd_kafka_topic_partition_list_new(16);
        if (e && e != RD_KAFKA_RESP_ERR__NO_OFFSET)
            return av_fail(errbuf, AV_ENET, "commit offsets: %s", rd_kafka_err2str(e));
        return AV_OK;
    }
    if (k->marks->cnt == 0)
        return AV_OK;
    e = rd_kafka_commit(k->rk, k->marks, async);
    rd_kafka_topic_partition_list_destroy(k->marks);
    k->marks = rd_kafka_topic_partition_list_new(16);
    if (e && e != RD_KAFKA_RESP_ERR__NO_OFFSET)
        return av_fail(errbuf, AV_ENET, "commit offsets: %s (the batch will be re-read and "
                       "re-applied; upserts make that harmless)", rd_kafka_err2str(e));
    return AV_OK;
}

/* Committed offsets and end offsets of every partition of topic. */
static av_rc offsets(rd_kafka_t *rk, const char *topic, int timeout_ms,
                     rd_kafka_topic_partition_list_t **out, int64_t **ends, char *errbuf)
{
    const rd_kafka_metadata_t *md = NULL;
    rd_kafka_topic_t *t = rd_kafka_topic_new(rk, topic, NULL);
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, t, &md, timeout_ms);
    rd_kafka_topic_partition_list_t *l;
    int np;

    rd_kafka_topic_destroy(t);
    if (e)
        return av_fail(errbuf, AV_ENET, "Kafka metadata for %s: %s", topic,
                       rd_kafka_err2str(e));
    if (md->topic_cnt != 1 || md->topics[0].err) {
        rd_kafka_metadata_destroy(md);
        return av_fail(errbuf, AV_EINVAL, "topic %s does not exist", topic);
    }
    np = md->topics[0].partition_cnt;
    l = rd_kafka_topic_partition_list_new(np);
    for (int i = 0; i < np; i++)
        rd_kafka_topic_partition_list_add(l, topic, md->topics[0].partitions[i].id);
    rd_kafka_metadata_destroy(md);
    e = rd_kafka_committed(rk, l, timeout_ms);
    if (e) {
        rd_kafka_topic_partition_list_destroy(l);
        return av_fail(errbuf, AV_ENET, "committed offsets: %s", rd_kafka_err2str(e));
    }
    *ends = calloc(np > 0 ? (size_t)np : 1, sizeof(int64_t));
    for (int i = 0; i < np; i++) {
        int64_t lo = 0, hi = 0;
        e = rd_kafka_query_watermark_offsets(rk, topic, l->elems[i].partition, &lo, &hi,
                                             timeout_ms);
        if (e) {
            free(*ends);
            rd_kafka_topic_partition_list_destroy(l);
            return av_fail(errbuf, AV_ENET, "end offsets: %s", rd_kafka_err2str(e));
        }
        (*ends)[i] = hi;
    }
    *out = l;
    return AV_OK;
}

av_rc av_kafka_group_done(struct av_kafka *k, int *done, char *errbuf)
{
    int all = 1;

    for (int t = 0; t < k->ntopics; t++) {
        rd_kafka_topic_partition_list_t *l;
        int64_t *ends;
        av_rc rc = offsets(k->rk, k->topics[t], k->timeout_ms, &l, &ends, errbuf);

        if (rc != AV_OK)
            return rc;
        for (int i = 0; i < l->cnt; i++) {
            int64_t c = l->elems[i].offset;
            if (ends[i] > 0 && (c < 0 || c < ends[i]))
                all = 0;
        }
        free(ends);
        rd_kafka_topic_partition_list_destroy(l);
    }
    *done = all;
    return AV_OK;
}

av_rc av_kafka_lag(const struct av_conf *c, const char *topic, struct av_kafka_lag *out,
                   int max, int *n, char *errbuf)
{
    struct av_kafka k0 = {0};
    rd_kafka_conf_t *kc;
    rd_kafka_t *rk;
    rd_kafka_topic_partition_list_t *l;
    int64_t *ends;
    char err[512];
    av_rc rc = base_conf(&kc, &k0, c, errbuf);

    if (rc != AV_OK)
        return rc;
    rd_kafka_conf_set(kc, "group.id", av_conf_str(c, "stream.group"), err, sizeof(err));
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, kc, err, sizeof(err));
    if (rk == NULL)
        return av_fail(errbuf, AV_EINVAL, "cannot create Kafka client: %s", err);
    rc = offsets(rk, topic, (int)av_conf_int(c, "stream.timeout_ms"), &l, &ends, errbuf);
    if (rc == AV_OK) {
        *n = 0;
        for (int i = 0; i < l->cnt && *n < max; i++) {
            struct av_kafka_lag *g = &out[(*n)++];
            g->partition = l->elems[i].partition;
            g->committed = l->elems[i].offset >= 0 ? l->elems[i].offset : -1;
            g->end = ends[i];
            g->lag = ends[i] - (g->committed >= 0 ? g->committed : 0);
        }
        free(ends);
        rd_kafka_topic_partition_list_destroy(l);
    }
    rd_kafka_destroy(rk);
    return rc;
}

void av_kafka_close(struct av_kafka *k)
{
    if (k == NULL)
        return;
    if (k->prod && k->prod != k->rk) {
        rd_kafka_flush(k->prod, k->timeout_ms);
        rd_kafka_destroy(k->prod);
    }
    if (k->rk) {
        if (k->marks) /* a consumer */
            rd_kafka_consumer_close(k->rk);
        rd_kafka_destroy(k->rk);
    }
    if (k->marks)
        rd_kafka_topic_partition_list_destroy(k->marks);
    if (k->all_marks)
        rd_kafka_topic_partition_list_destroy(k->all_marks);
    free(k);
}
