/* sink.c - picking a sink by name and the calls through its ops table. */
#include "sink.h"

#include <string.h>

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
