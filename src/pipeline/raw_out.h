/* raw_out.h - where fetched responses go: the seam between the fetch loop
 * of run, backfill and produce (src/cli/cmd_run.c) and the rest of the
 * pipeline. The loop plans, fetches, records failed fetches and keeps the
 * counts; it does not know which of these it feeds:
 *
 *   to_store.c  run, backfill: the body is kept in the state store and its
 *               warnings cleaned into the sink; a unit's raw body, rejects,
 *               clean rows, fetch state and cleared holes land together,
 *               in one transaction with up to run.commit_units other units
 *               (issue 13), so a crash loses at most the units not yet
 *               reported. Pipelined (submit): run.workers threads parse and
 *               transform (ingest_pool.h) and one writer thread stores the
 *               units in arrival order, while the fetching thread fetches
 *   to_kafka.c  produce: one Kafka message per warning and one per weather
 *               response, the body's bytes untouched; a body that is not
 *               an array (weather: does not parse) goes whole to the
 *               dead-letter topic; the fetch state and the holes move only
 *               in finish(), after every message was delivered
 *
 * put() answers for one unit: AV_OK with its outcome (stored, or rejected
 * whole with the reason), or an error when the destination cannot take
 * more (store full or locked, Kafka's queue refused): the run stops.
 *
 * submit() (optional: NULL for produce) is put() pipelined: it queues the
 * unit and returns; each unit's outcome comes later through done(), on the
 * caller's thread and in submission order, once what it stored is
 * committed (within a later submit, a flush, a put or finish). An error from submit or flush means
 * that no unit submitted and not yet reported was stored: the caller
 * counts them failed, and the run stops. put() and finish() flush first,
 * so the order of units through either path is kept. Nothing else may
 * write the store between a submit and the next flush (the caller's own
 * writes, e.g. a failed fetch's state, flush first).
 */
#ifndef AV_RAW_OUT_H
#define AV_RAW_OUT_H

#include "../core/conf.h"
#include "../core/err.h"
#include "../sinks/sink.h"
#include "../sinks/store.h"

struct av_unit_outcome {
    int rejected;                     /* the body was refused whole */
    long stored, unchanged, wrejected; /* warnings (messages, for Kafka); weather: hours */
    long wdays;                       /* weather: region-days aggregated */
    char reason[AV_ERRBUF_SIZE];      /* why it, or its first warning, was refused */
    char kept[96];                    /* where a refused body went, for the log */
};

/* An outcome of a submitted unit (unit: the caller's number for it). */
typedef void (*av_unit_done_fn)(void *ud, size_t unit, const struct av_unit_outcome *o);

struct av_raw_out_ops {
    const char *counts; /* what `stored` counts: "warnings" or "messages" */
    av_rc (*put)(void *ctx, const struct av_raw_meta *m, const char *body, size_t len,
                 struct av_unit_outcome *o, char *errbuf);
    av_rc (*submit)(void *ctx, size_t unit, const struct av_raw_meta *m, const char *body,
                    size_t len, av_unit_done_fn done, void *ud, char *errbuf);
    /* Commits every unit submitted and reports their outcomes. */
    av_rc (*flush)(void *ctx, char *errbuf);
    /* After the last unit (also after an interruption). note gets one line
     * for the user, or stays "". */
    av_rc (*finish)(void *ctx, char *note, size_t cap, char *errbuf);
    void (*close)(void *ctx); /* accepts NULL */
};

struct av_raw_out {
    const struct av_raw_out_ops *ops;
    void *ctx;
};

/* run/backfill: into the state store and the sink (both stay the caller's). */
av_rc av_to_store_open(struct av_raw_out *out, struct av_store *store, struct av_sink *sink,
                       const struct av_conf *c, char *errbuf);
/* produce: warnings to stream.topic, weather to stream.weather_topic (dead
 * letters to stream.dlq_topic), creating the topics when missing; store
 * keeps the fetch state. AV_EINVAL for bad Kafka settings. */
av_rc av_to_kafka_open(struct av_raw_out *out, struct av_store *store, const struct av_conf *c,
                       char *errbuf);

#endif
