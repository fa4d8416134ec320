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
    int fetched;           /* submit_body: body holds it as received, nothing to decode */
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
    /* open_writer: the writer thread (the caller's thread otherwise) */
    int has_writer;
    pthread_t wth;
    pthread_cond_t applied; /* the writer freed a slot, went idle, or failed */
    int busy;               /* the writer is applying or in idle() */
    av_pool_idle_fn idle;
    av_rc wrc;              /* the writer's first error (then it drops the rest) */
    char werr[AV_ERRBUF_SIZE];
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
    if (s->fetched) {
        s->rc = AV_OK;
        av_ingest_prepare(&s->prep, &s->m, s->body.data, s->body.len);
        return;
    }
    s->rc = av_raw_decode(&s->z, s->codec, s->stored.data, s->stored.len, s->size, &s->body, s->err);
    if (s->rc == AV_OK)
        av_ingest_prepare(&s->prep, &s->m, s->body.data, s->body.len);
}

static void *worker(void *arg)
{
    struct av_ingest_pool *pl = arg;

    pthread_setname_np(pthread_self(), "av-ingest"); /* visible in top -H, /proc */
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

static av_rc apply_slot(struct av_ingest_pool *pl, struct slot *s, char *errbuf);

/* open_writer's thread: applies done slots in order; idle() when it has
 * applied everything queued. */
static void *writer(void *arg)
{
    struct av_ingest_pool *pl = arg;
    char err[AV_ERRBUF_SIZE];

    pthread_setname_np(pthread_self(), "av-writer");
    pthread_mutex_lock(&pl->mu);
    for (;;) {
        struct slot *s;
        av_rc rc;
        while (!pl->stop &&
               !(pl->tail < pl->head && pl->slot[pl->tail % AV_POOL_SLOTS].state == DONE))
            pthread_cond_wait(&pl->done, &pl->mu);
        if (pl->stop)
            break;
        s = &pl->slot[pl->tail % AV_POOL_SLOTS];
        rc = pl->wrc;
        pl->busy = 1;
        pthread_mutex_unlock(&pl->mu);
        if (rc == AV_OK) /* after an error what is queued is dropped */
            rc = apply_slot(pl, s, err);
        pthread_mutex_lock(&pl->mu);
        s->state = FREE;
        pl->tail++;
        if (rc == AV_OK && pl->wrc == AV_OK && pl->idle && pl->tail == pl->head) {
            pthread_mutex_unlock(&pl->mu); /* caught up: the caller's idle work */
            rc = pl->idle(pl->ud, err);
            pthread_mutex_lock(&pl->mu);
        }
        if (rc != AV_OK && pl->wrc == AV_OK) {
            pl->wrc = rc;
            memcpy(pl->werr, err, sizeof(pl->werr));
        }
        pl->busy = 0;
        pthread_cond_broadcast(&pl->applied);
    }
    pthread_mutex_unlock(&pl->mu);
    return NULL;
}

av_rc av_ingest_pool_open_writer(struct av_ingest_pool **out, int workers,
                                 const struct av_conf *c, av_pool_apply_fn apply,
                                 av_pool_idle_fn idle, void *ud, char *errbuf)
{
    struct av_ingest_pool *pl = NULL;
    av_rc rc;

    if (workers < 1)
        return av_fail(errbuf, AV_EINVAL, "a writer thread needs at least one worker");
    if ((rc = av_ingest_pool_open(&pl, workers, c, apply, ud, errbuf)) != AV_OK)
        return rc;
    pl->idle = idle;
    if (pthread_create(&pl->wth, NULL, writer, pl) != 0) {
        av_ingest_pool_close(pl);
        return av_fail(errbuf, AV_ENOMEM, "cannot start the writer thread");
    }
    pl->has_writer = 1;
    *out = pl;
    return AV_OK;
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
    pthread_cond_init(&pl->applied, NULL);
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
static av_rc apply_slot(struct av_ingest_pool *pl, struct slot *s, char *errbuf)
{
    av_rc rc = s->rc;

    if (rc != AV_OK)
        return av_fail(errbuf, rc, "raw response %lld: %s (changed outside avalanche?); "
                       "restore a backup", (long long)s->raw_id, s->err);
    return pl->apply(pl->ud, s->raw_id, &s->m, &s->prep, s->body.data, s->body.len, errbuf);
}

static av_rc apply_tail(struct av_ingest_pool *pl, char *errbuf)
{
    struct slot *s = &pl->slot[pl->tail % AV_POOL_SLOTS];
    av_rc rc = apply_slot(pl, s, errbuf);

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

/* With the writer thread: waits until cond() or the writer failed (then
 * its error). */
static av_rc wait_writer(struct av_ingest_pool *pl, int (*cond)(const struct av_ingest_pool *),
                         char *errbuf)
{
    av_rc rc;

    pthread_mutex_lock(&pl->mu);
    while (pl->wrc == AV_OK && !cond(pl))
        pthread_cond_wait(&pl->applied, &pl->mu);
    rc = pl->wrc;
    if (rc != AV_OK)
        memcpy(errbuf, pl->werr, AV_ERRBUF_SIZE);
    pthread_mutex_unlock(&pl->mu);
    return rc;
}

static int slot_free(const struct av_ingest_pool *pl)
{
    return pl->head - pl->tail < AV_POOL_SLOTS;
}

static int all_applied(const struct av_ingest_pool *pl)
{
    return pl->tail == pl->head && !pl->busy;
}

/* The slot at the head, free (applying the oldest until it is). */
static av_rc free_head(struct av_ingest_pool *pl, struct slot **out, char *errbuf)
{
    av_rc rc;

    if (pl->has_writer) {
        if ((rc = wait_writer(pl, slot_free, errbuf)) != AV_OK)
            return rc;
        *out = &pl->slot[pl->head % AV_POOL_SLOTS]; /* FREE: the caller's until queued */
        return AV_OK;
    }
    if (pl->head - pl->tail >= AV_POOL_SLOTS &&
        (rc = apply_ready(pl, pl->head - AV_POOL_SLOTS + 1, 1, errbuf)) != AV_OK)
        return rc;
    *out = &pl->slot[pl->head % AV_POOL_SLOTS]; /* FREE: only the writer touches it */
    return AV_OK;
}

/* Hands the filled slot at the head to a worker (or, with none, prepares
 * and applies it here), then applies what is done. */
static av_rc queue_head(struct av_ingest_pool *pl, struct slot *s, char *errbuf)
{
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
    return pl->has_writer ? AV_OK : apply_ready(pl, 0, 0, errbuf);
}

av_rc av_ingest_pool_submit(struct av_ingest_pool *pl, int64_t raw_id,
                            const struct av_raw_meta *m, const struct av_raw_stored *b,
                            char *errbuf)
{
    struct slot *s;
    av_rc rc;

    if ((rc = free_head(pl, &s, errbuf)) != AV_OK)
        return rc;
    s->raw_id = raw_id;
    s->fetched = 0;
    s->codec = b->codec;
    s->size = b->size;
    av_buf_reset(&s->stored);
    if (copy_meta(s, m) != AV_OK || av_buf_append(&s->stored, b->data, b->len) != AV_OK)
        return av_fail(errbuf, AV_ENOMEM, "out of memory queueing a raw response");
    return queue_head(pl, s, errbuf);
}

av_rc av_ingest_pool_submit_body(struct av_ingest_pool *pl, int64_t id,
                                 const struct av_raw_meta *m, const char *body, size_t len,
                                 char *errbuf)
{
    struct slot *s;
    av_rc rc;

    if ((rc = free_head(pl, &s, errbuf)) != AV_OK)
        return rc;
    s->raw_id = id;
    s->fetched = 1;
    s->size = len;
    av_buf_reset(&s->body);
    if (copy_meta(s, m) != AV_OK || av_buf_append(&s->body, body, len) != AV_OK)
        return av_fail(errbuf, AV_ENOMEM, "out of memory queueing a response of %zu bytes",
                       len);
    return queue_head(pl, s, errbuf);
}

long av_ingest_pool_pending(struct av_ingest_pool *pl)
{
    long n;

    if (!pl->has_writer)
        return pl->head - pl->tail; /* both move on the caller's thread only */
    pthread_mutex_lock(&pl->mu);
    n = pl->head - pl->tail;
    pthread_mutex_unlock(&pl->mu);
    return n;
}

av_rc av_ingest_pool_drain(struct av_ingest_pool *pl, char *errbuf)
{
    if (pl->has_writer)
        return wait_writer(pl, all_applied, errbuf);
    return apply_ready(pl, pl->head, 1, errbuf);
}

void av_ingest_pool_close(struct av_ingest_pool *pl)
{
    if (pl == NULL)
        return;
    pthread_mutex_lock(&pl->mu);
    pl->stop = 1;
    pthread_cond_broadcast(&pl->work);
    pthread_cond_broadcast(&pl->done);
    pthread_mutex_unlock(&pl->mu);
    for (int i = 0; i < pl->nworkers; i++)
        pthread_join(pl->th[i], NULL);
    if (pl->has_writer)
        pthread_join(pl->wth, NULL); /* after the apply it may be in */
    for (int i = 0; i < AV_POOL_SLOTS; i++) {
        av_buf_free(&pl->slot[i].strs);
        av_buf_free(&pl->slot[i].stored);
        av_buf_free(&pl->slot[i].body);
        av_raw_codec_free(&pl->slot[i].z);
        av_ingest_prep_free(&pl->slot[i].prep);
    }
    pthread_cond_destroy(&pl->work);
    pthread_cond_destroy(&pl->done);
    pthread_cond_destroy(&pl->applied);
    pthread_mutex_destroy(&pl->mu);
    free(pl);
}
