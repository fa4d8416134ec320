/* sink.c - picking a sink by name and the calls through its ops table. */
#include "sink.h"

#include <stdlib.h>
#include <string.h>

#include "../core/pool.h"

static const struct av_sink_ops *const sinks[] = {&av_sink_sqlite, &av_sink_cassandra, NULL};

const struct av_opt av_sink_opts[] = {
    {"store", "sink", AV_OPT_ENUM, "sqlite", 0, 0, "sqlite|cassandra",
     "where clean warnings go (raw, rejects, state and runs stay in store.path)"},
    {NULL, NULL, 0, NULL, 0, 0, NULL, NULL},
};

av_rc av_sink_open(struct av_sink *out, const struct av_sink_env *env, char *errbuf)
{
    const char *name = av_conf_str(env->conf, "store.sink");
    void *impl = NULL;
    av_rc rc;

    out->ops = NULL;
    out->impl = NULL;
    for (int i = 0; sinks[i]; i++) {
        if (strcmp(sinks[i]->name, name) != 0)
            continue;
        rc = sinks[i]->open(&impl, env, errbuf);
        if (rc != AV_OK)
            return rc;
        out->ops = sinks[i];
        out->impl = impl;
        return AV_OK;
    }
    return av_fail(errbuf, AV_EINVAL, "store.sink = \"%s\": use sqlite or cassandra", name);
}

void av_sink_close(struct av_sink *s)
{
    if (s->ops)
        s->ops->close(s->impl);
    s->ops = NULL;
    s->impl = NULL;
}

av_rc av_sink_begin(struct av_sink *s, char *errbuf)
{
    return s->ops->begin(s->impl, errbuf);
}

av_rc av_sink_put(struct av_sink *s, const struct av_warning *w, int *changed, char *errbuf)
{
    return s->ops->put(s->impl, w, changed, errbuf);
}

av_rc av_sink_commit(struct av_sink *s, char *errbuf)
{
    return s->ops->commit(s->impl, errbuf);
}

void av_sink_rollback(struct av_sink *s)
{
    s->ops->rollback(s->impl);
}

av_rc av_sink_clear(struct av_sink *s, char *errbuf)
{
    return s->ops->clear ? s->ops->clear(s->impl, errbuf) : AV_OK;
}

av_rc av_sink_read(struct av_sink *s, const struct av_query *q, av_sink_row_fn fn, void *ud,
                   char *errbuf)
{
    return s->ops->read(s->impl, q, fn, ud, errbuf);
}

av_rc av_sink_count(struct av_sink *s, const struct av_dataset *ds, const struct av_query *q,
                    long *n, char *errbuf)
{
    *n = -1;
    if (s->ops->count == NULL || !av_sink_keeps(s, ds))
        return AV_OK;
    return s->ops->count(s->impl, ds, q, n, errbuf);
}

static av_rc not_kept(struct av_sink *s, const struct av_dataset *ds, char *errbuf)
{
    return av_fail(errbuf, AV_EINVAL, "the %s sink does not keep %s (store.sink = sqlite does)",
                   av_sink_name(s), ds->name);
}

av_rc av_sink_put_rows(struct av_sink *s, const struct av_dataset *ds, const void *recs,
                       size_t n, char *errbuf)
{
    if (s->ops->put_rows == NULL || !av_sink_keeps(s, ds))
        return not_kept(s, ds, errbuf);
    return n ? s->ops->put_rows(s->impl, ds, recs, n, errbuf) : AV_OK;
}

av_rc av_sink_read_rows(struct av_sink *s, const struct av_dataset *ds,
                        const struct av_query *q, av_sink_rec_fn fn, void *ud, char *errbuf)
{
    if (s->ops->read_rows == NULL || !av_sink_keeps(s, ds))
        return not_kept(s, ds, errbuf);
    return s->ops->read_rows(s->impl, ds, q, fn, ud, errbuf);
}

/* ---- history: --history and --as-of over read_versions/load_version ---- */

struct hist {
    struct av_sink *s;
    av_ms as_of;
    int history;
    av_sink_row_fn fn;
    void *ud;
    struct av_version_row key;   /* the group's key */
    struct av_version_meta *v;  /* its versions */
    int n, cap, stop;
    struct av_warning *w;
    struct av_pool pool;
    av_rc rc;
    char *errbuf;
};

/* Hands over the chosen versions of the group held. */
static void hist_flush(struct hist *h)
{
    int lo = 0, hi = h->n;

    if (h->n == 0 || h->stop || h->rc != AV_OK)
        return;
    av_versions_order(h->v, h->n);
    if (!h->history) {
        lo = av_versions_as_of(h->v, h->n, h->as_of);
        hi = lo + 1;
    }
    for (int i = lo; i >= 0 && i < hi && !h->stop; i++) {
        struct av_version_row r = h->key;
        r.m = h->v[i];
        av_pool_reset(&h->pool);
        h->rc = h->s->ops->load_version(h->s->impl, &r, h->w, &h->pool, h->errbuf);
        if (h->rc == AV_OK && h->pool.oom)
            h->rc = av_fail(h->errbuf, AV_ENOMEM, "out of memory reading the history");
        if (h->rc != AV_OK) {
            h->stop = 1;
            break;
        }
        h->w->version = r.m.version;
        h->w->first_seen = r.m.first_seen;
        h->w->superseded_at = r.m.superseded_at;
        h->stop = h->fn(h->ud, h->w) != 0;
    }
    h->n = 0;
}

static int hist_row(void *ud, const struct av_version_row *r)
{
    struct hist *h = ud;

    if (h->n > 0 && (r->region_id != h->key.region_id || r->valid_date != h->key.valid_date ||
                     r->lang != h->key.lang))
        hist_flush(h);
    if (h->stop)
        return 1;
    if (h->n == h->cap) {
        int cap = h->cap ? h->cap * 2 : 8;
        struct av_version_meta *g = realloc(h->v, (size_t)cap * sizeof(*g));
        if (g == NULL) {
            h->rc = av_fail(h->errbuf, AV_ENOMEM, "out of memory reading the history");
            h->stop = 1;
            return 1;
        }
        h->v = g;
        h->cap = cap;
    }
    h->key = *r;
    h->v[h->n++] = r->m;
    return 0;
}

av_rc av_sink_read_history(struct av_sink *s, const struct av_query *q, av_ms as_of,
                           av_sink_row_fn fn, void *ud, char *errbuf)
{
    struct hist h;
    av_rc rc;

    if (s->ops->read_versions == NULL || s->ops->load_version == NULL ||
        !(s->ops->parts & AV_PART_VERSIONS))
        return av_fail(errbuf, AV_EINVAL, "the %s sink keeps no publication history "
                       "(--as-of, --history)", av_sink_name(s));
    memset(&h, 0, sizeof(h));
    h.s = s;
    h.as_of = as_of;
    h.history = as_of == AV_NULL_MS;
    h.fn = fn;
    h.ud = ud;
    h.errbuf = errbuf;
    h.w = malloc(sizeof(*h.w));
    if (h.w == NULL)
        return av_fail(errbuf, AV_ENOMEM, "out of memory reading the history");
    rc = s->ops->read_versions(s->impl, q, hist_row, &h, errbuf);
    if (rc == AV_OK)
        hist_flush(&h);
    if (rc == AV_OK)
        rc = h.rc;
    av_pool_free(&h.pool);
    free(h.v);
    free(h.w);
    return rc;
}
