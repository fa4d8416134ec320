/* ingest_pool.c - worker threads preparing stored bodies, applied in order
 * by the caller. See ingest_pool.h. */
#include "ingest_pool.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../sinks/raw_codec.h"

enum slot_state { FREE, QUEUED, WORKING, DONE };

struct slot {
    enum slot_state state;
    int64_t raw_id;
    struct av_raw_meta m;  /* strings in strs */
    struct av_buf strs;
    struct av_buf stored;  /* as stored */
    int codec;
    size_t size;
    struct av_buf body;    /* decoded */
    struct av_raw_codec z; /* its decoder */
    av_rc rc;              /* of the decode */
    char err[AV_ERRBUF_SIZE];
    struct av_ingest_prep prep;
};

struct av_ingest_pool {
    pthread_mutex_t mu;
    pthread_cond_t work;  /* a slot was queued, or stop */
    pthread_cond_t done;  /* a slot is done, or a worker took one */
    int stop;
    int nworkers;
    pthread_t th[AV_POOL_MAX_WORKERS];
    long head, take, tail; /* next to fill, next for a worker, next to apply */
    struct slot slot[AV_POOL_SLOTS];
    av_pool_apply_fn apply;
    void *ud;
};

int av_ingest_pool_auto_workers(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);

    return n < 1 ? 1 : n > AV_POOL_MAX_WORKERS ? AV_POOL_MAX_WORKERS : (int)n;
}

/* Decodes and prepares one slot (a worker's, or the writer's with 0
 * workers): touches nothing but the slot. */
static void prepare(struct slot *s)
{
    s->rc = av_raw_decode(&s->z, s->codec, s->stored.data, s->stored.len, s->size, &s->body, s->err);
    if (s->rc == AV_OK)
        av_ingest_prepare(&s->prep, &s->m, s->body.data, s->body.len);
}

static void *worker(void *arg)
{
    struct av_ingest_pool *pl = arg;

    pthread_mutex_lock(&pl->mu);
    for (;;) {
        struct slot *s;
        while (!pl->stop && (pl->take == pl->head ||
                             pl->slot[pl->take % AV_POOL_SLOTS].state != QUEUED))
            pthread_cond_wait(&pl->work, &pl->mu);
        if (pl->stop)
            break;
        s = &pl->slot[pl->take % AV_POOL_SLOTS];
        pl->take++;
        s->state = WORKING;
        pthread_mutex_unlock(&pl->mu);
        prepare(s);
        pthread_mutex_lock(&pl->mu);
        s->state = DONE;
        pthread_cond_signal(&pl->done);
    }
    pthread_mutex_unlock(&pl->mu);
    return NULL;
}

av_rc av_ingest_pool_open(struct av_ingest_pool **out, int workers, const struct av_conf *c,
                          av_pool_apply_fn apply, void *ud, char *errbuf)
{
    struct av_ingest_pool *pl;

    if (workers < 0 || workers > AV_POOL_MAX_WORKERS)
        return av_fail(errbuf, AV_EINVAL, "%d workers: between 0 and %d", workers,
                       AV_POOL_MAX_WORKERS);
    pl = calloc(1, sizeof(*pl));
    if (pl == NULL)
        return av_fail(errbuf, AV_ENOMEM, "out of memory");
    pthread_mutex_init(&pl->mu, NULL);
    pthread_cond_init(&pl->work, NULL);
    pthread_cond_init(&pl->done, NULL);
    pl->apply = apply;
    pl->ud = ud;
    for (int i = 0; i < AV_POOL_SLOTS; i++) {
        av_buf_init(&pl->slot[i].strs, 0);
        av_buf_init(&pl->slot[i].stored, 0);
        av_buf_init(&pl->slot[i].body, 0);
        av_ingest_prep_init(&pl->slot[i].prep, c);
    }
    for (; pl->nworkers < workers; pl->nworkers++)
        if (pthread_create(&pl->th[pl->nworkers], NULL, worker, pl) != 0) {
            av_ingest_pool_close(pl);
            return av_fail(errbuf, AV_ENOMEM, "cannot start a worker thread");
        }
    *out = pl;
    return AV_OK;
}

/* Applies the slot at the tail (done) and frees it; the writer's thread,
 * without the lock (the slot is the writer's once done). */
static av_rc apply_tail(struct av_ingest_pool *pl, char *errbuf)
{
    struct slot *s = &pl->slot[pl->tail % AV_POOL_SLOTS];
    av_rc rc = s->rc;

    if (rc != AV_OK)
        av_fail(errbuf, rc, "raw response %lld: %s (changed outside avalanche?); restore a "
                "backup", (long long)s->raw_id, s->err);
    else
        rc = pl->apply(pl->ud, s->raw_id, &s->m, &s->prep, s->body.data, s->body.len, errbuf);
    pthread_mutex_lock(&pl->mu);
    s->state = FREE;
    pl->tail++;
    pthread_mutex_unlock(&pl->mu);
    return rc;
}

/* Applies done slots at the tail; with wait, until the tail reaches upto. */
static av_rc apply_ready(struct av_ingest_pool *pl, long upto, int wait, char *errbuf)
{
    for (;;) {
        int ready;
        pthread_mutex_lock(&pl->mu);
        while (wait && pl->tail < upto && pl->slot[pl->tail % AV_POOL_SLOTS].state != DONE)
            pthread_cond_wait(&pl->done, &pl->mu);
        ready = pl->tail < pl->head && pl->slot[pl->tail % AV_POOL_SLOTS].state == DONE;
        pthread_mutex_unlock(&pl->mu);
        if (!ready)
            return AV_OK;
        av_rc rc = apply_tail(pl, errbuf);
        if (rc != AV_OK)
            return rc;
    }
}

static av_rc copy_meta(struct slot *s, const struct av_raw_meta *m)
{
    const char *src[4] = {m->source, m->endpoint, m->api_version, m->url};
    size_t off[4];

    av_buf_reset(&s->strs);
    for (int i = 0; i < 4; i++) {
        off[i] = s->strs.len;
        if (src[i] && av_buf_append(&s->strs, src[i], strlen(src[i]) + 1) != AV_OK)
            return AV_ENOMEM;
    }
    s->m = *m;
    s->m.source = m->source ? s->strs.data + off[0] : NULL;
    s->m.endpoint = m->endpoint ? s->strs.data + off[1] : NULL;
    s->m.api_version = m->api_version ? s->strs.data + off[2] : NULL;
    s->m.url = m->url ? s->strs.data + off[3] : NULL;
    return AV_OK;
}

av_rc av_ingest_pool_submit(struct av_ingest_pool *pl, int64_t raw_id,
                            const struct av_raw_meta *m, const struct av_raw_stored *b,
                            char *errbuf)
{
    struct slot *s;
    av_rc rc;

    /* the slot to fill must be free: apply the oldest until it is */
    if (pl->head - pl->tail >= AV_POOL_SLOTS &&
        (rc = apply_ready(pl, pl->head - AV_POOL_SLOTS + 1, 1, errbuf)) != AV_OK)
        return rc;
    s = &pl->slot[pl->head % AV_POOL_SLOTS]; /* FREE: only the writer touches it */
    s->raw_id = raw_id;
    s->codec = b->codec;
    s->size = b->size;
    av_buf_reset(&s->stored);
    if (copy_meta(s, m) != AV_OK || av_buf_append(&s->stored, b->data, b->len) != AV_OK)
        return av_fail(errbuf, AV_ENOMEM, "out of memory queueing a raw response");
    if (pl->nworkers == 0) {
        prepare(s);
        s->state = DONE;
        pl->head++;
        return apply_tail(pl, errbuf);
    }
    pthread_mutex_lock(&pl->mu);
    s->state = QUEUED;
    pl->head++;
    pthread_cond_signal(&pl->work);
    pthread_mutex_unlock(&pl->mu);
    return apply_ready(pl, 0, 0, errbuf);
}

av_rc av_ingest_pool_drain(struct av_ingest_pool *pl, char *errbuf)
{
    return apply_ready(pl, pl->head, 1, errbuf);
}

void av_ingest_pool_close(struct av_ingest_pool *pl)
{
    if (pl == NULL)
        return;
    pthread_mutex_lock(&pl->mu);
    pl->stop = 1;
    pthread_cond_broadcast(&pl->work);
    pthread_mutex_unlock(&pl->mu);
    for (int i = 0; i < pl->nworkers; i++)
        pthread_join(pl->th[i], NULL);
    for (int i = 0; i < AV_POOL_SLOTS; i++) {
        av_buf_free(&pl->slot[i].strs);
        av_buf_free(&pl->slot[i].stored);
        av_buf_free(&pl->slot[i].body);
        av_raw_codec_free(&pl->slot[i].z);
        av_ingest_prep_free(&pl->slot[i].prep);
    }
    pthread_cond_destroy(&pl->work);
    pthread_cond_destroy(&pl->done);
    pthread_mutex_destroy(&pl->mu);
    free(pl);
}
