/* kafka.h - the Kafka transport: the only user of librdkafka.
 *
 * Producer: idempotent (acks=all, no duplicates on retry), compressed,
 * per-message delivery reports counted; av_kafka_flush() waits for every
 * message and reports how many were not delivered. Creates the topic when
 * missing (stream.partitions, stream.replication).
 *
 * Message size: one weather response is one message (~0.6 MB for 92 days
 * of 5 points; librdkafka and the broker default to ~1 MB). The producer's
 * message.max.bytes is stream.max_message_bytes (16 MiB: more than the
 * largest request weather.budget_minute's default lets through), topics we
 * create get a max.message.bytes that holds such a message after
 * compression, and consumers read a batch of that size whole. A message
 * over the ceiling is refused before it is queued (AV_ELIMIT); a topic
 * created elsewhere with a smaller max.message.bytes fails its delivery,
 * and the error says so.
 *
 * Consumer: a member of a consumer group, subscribed to one or more
 * topics, with manual offset commits: the
 * caller commits a batch's offsets only after its store has committed
 * (at-least-once delivery; idempotent upserts make it exactly-once in the
 * store). av_kafka_group_done() asks the brokers whether the group's
 * committed offsets have reached the end of every partition of every
 * subscribed topic (--until-idle).
 *
 * Configuration: the [stream] options below, plus every kafka.* key passed
 * verbatim to librdkafka (e.g. kafka.security.protocol = SASL_SSL). Errors
 * are librdkafka's strings, prefixed with what we were doing.
 *
 * Message format on the raw topic (design.md §3):
 *   key     region id, decimal text ("3022")
 *   value   the warning object exactly as the API sent it (JSON bytes)
 *   headers source, endpoint, lang, api_version, url, fetched_at (UTC stamp),
 *           region_id, from_date, to_date   (text)
 * On the weather topic (stream.weather_topic), one message per response:
 *   key     region id, decimal text
 *   value   the Open-Meteo response body exactly as received (JSON bytes)
 *   headers source ("open-meteo"), endpoint ("archive" | "forecast"), lang
 *           ("0"), url (its latitude/longitude lists name the points the
 *           answer's array follows), fetched_at (UTC stamp: the hourly rows'
 *           fetch time, which decides "later fetch wins"), region_id,
 *           from_date, to_date (the local Oslo days asked), http_status
 * On the dead-letter topic: the original key/value/headers plus "reason"
 * and "stage".
 */
#ifndef AV_KAFKA_H
#define AV_KAFKA_H

#include <stddef.h>
#include <stdint.h>

#include "../core/conf.h"
#include "../core/err.h"

extern const struct av_opt av_kafka_opts[];

struct av_kafka;

struct av_kafka_header {
    const char *name;
    const char *value; /* NUL-terminated text */
};

/* ---- producer ---- */
av_rc av_kafka_producer_open(struct av_kafka **out, const struct av_conf *c, char *errbuf);
/* Creates topic if missing (partitions/replication from the config). */
av_rc av_kafka_ensure_topic(struct av_kafka *k, const char *topic, char *errbuf);
/* Queues one message (copies everything). Blocks while the local queue is
 * full (backpressure), never drops. AV_ELIMIT (nothing queued) when it is
 * larger than stream.max_message_bytes; AV_ENET for other refusals. */
av_rc av_kafka_produce(struct av_kafka *k, const char *topic, const char *key,
                       const void *value, size_t len, const struct av_kafka_header *h,
                       int nh, char *errbuf);
/* Waits up to timeout_ms for all deliveries. *failed = messages that could
 * not be delivered (so far, in total). */
av_rc av_kafka_flush(struct av_kafka *k, int timeout_ms, long *delivered, long *failed,
                     char *errbuf);

/* ---- consumer ---- */
struct av_kafka_msg {
    const char *topic;
    int32_t partition;
    int64_t offset;
    const char *key;   /* NUL-terminated copy in key_buf (may be ""; truncated to 63 bytes) */
    const char *value; /* bytes, not NUL-terminated */
    size_t len;
    void *opaque;      /* the library's message */
    char key_buf[64];
};

/* Opens a group member for topics[0..ntopics) (1 to 4; a name given twice
 * counts once); av_kafka_subscribe() joins the group (after
 * av_kafka_ensure_topic() of each, so a new topic has its partitions). */
av_rc av_kafka_consumer_open(struct av_kafka **out, const struct av_conf *c,
                             const char *const *topics, int ntopics, char *errbuf);
av_rc av_kafka_subscribe(struct av_kafka *k, char *errbuf);
/* Next message or AV_OK with *got = 0 after timeout_ms. Errors that the
 * library recovers from (broker down) are logged and reported as no message. */
av_rc av_kafka_poll(struct av_kafka *k, int timeout_ms, struct av_kafka_msg *m, int *got,
                    char *errbuf);
/* Header of a polled message as text into out (cap bytes); 0 if absent. */
int av_kafka_msg_header(const struct av_kafka_msg *m, const char *name, char *out, size_t cap);
/* Copies every header of m into dst list for re-producing (DLQ). */
int av_kafka_msg_headers(const struct av_kafka_msg *m, struct av_kafka_header *h, int max,
                         char *store, size_t cap);
void av_kafka_msg_release(struct av_kafka_msg *m);
/* Remembers m's offset for the next commit. */
void av_kafka_mark(struct av_kafka *k, const struct av_kafka_msg *m);
/* Commits the marked offsets (no-op when none). async = 1 does not wait
 * for the coordinator's answer (a lost commit only means a batch is read
 * again, which the idempotent store absorbs); use 0 before leaving. */
av_rc av_kafka_commit(struct av_kafka *k, int async, char *errbuf);
/* *done = 1 when the group's committed offset is at the end of every
 * partition of every subscribed topic. */
av_rc av_kafka_group_done(struct av_kafka *k, int *done, char *errbuf);

/* Per-partition lag of the configured group on topic (for status). */
struct av_kafka_lag {
    int32_t partition;
    int64_t committed; /* -1 none */
    int64_t end;
    int64_t lag;
};
av_rc av_kafka_lag(const struct av_conf *c, const char *topic, struct av_kafka_lag *out,
                   int max, int *n, char *errbuf);

void av_kafka_close(struct av_kafka *k); /* accepts NULL; leaves the group */

#endif
