/* sqlite_history.c - the SQLite sink's publication history, write side
 * (av_ds_version, src/model/dataset.h): called by the sink's put before the
 * warning goes to the clean tables, in the same transaction. One row per
 * publication of a key; the clean tables hold the latest one's content, so
 * its row carries no record; when a later publication replaces it, its
 * whole warning (children included, record_json.h) moves into its row.
 * An older publication arriving late gets its row with its record at once.
 * The order is av_pub_replaces(), the clean tables' rule, evaluated here
 * against the stored publication's (publish_time, endpoint, raw_hash) and
 * by the generated upsert within one publication. Reads: sqlite_read.c. */
#include "sqlite_int.h"

#include <stdio.h>
#include <stdlib.h>

#include "../core/pool.h"
#include "record_json.h"

/* The publication the clean tables hold for w's key, into *pub (its
 * strings in k->old's raw_hash and k->json); *found = 0 when none. */
static av_rc current_pub(struct sqlite_sink *k, const struct av_warning *w, struct av_pub *pub,
                         int *found, char *errbuf)
{
    sqlite3_stmt *st = k->cur;
    int r;

    sq_bind_parent_key(k, &k->ds[0], st, w);
    r = sqlite3_step(st);
    *found = r == SQLITE_ROW;
    if (*found) {
        const char *t = (const char *)sqlite3_column_text(st, 0);
        const char *e = (const char *)sqlite3_column_text(st, 1);
        const char *h = (const char *)sqlite3_column_text(st, 2);
        if (t == NULL || av_stamp_parse(t, &pub->publish_time) != AV_OK)
            pub->publish_time = AV_NULL_MS;
        av_buf_reset(&k->json);
        av_buf_puts(&k->json, e ? e : "");
        snprintf(k->old->raw_hash, sizeof(k->old->raw_hash), "%s", h ? h : "");
        pub->endpoint = k->json.data;
        pub->hash = h ? k->old->raw_hash : NULL;
    }
    sqlite3_reset(st);
    if (r != SQLITE_ROW && r != SQLITE_DONE)
        return av_sqlite_err(k->st, errbuf, "read the stored publication");
    return AV_OK;
}

/* The history of w (dataset.h, av_ds_version), before w goes to the clean
 * tables: when w replaces a stored publication of another PublishTime,
 * that one's record moves into its history row (the clean tables keep
 * only the latest); w's own row gets no record when it becomes the clean
 * tables' one, else its whole record. */
av_rc av_sqlite_put_version(struct sqlite_sink *k, const struct av_warning *w, char *errbuf)
{
    struct sq_ds *x = &k->ds[SQ_VER];
    struct av_pub in = {w->publish_time, w->endpoint, w->raw_hash}, cur;
    struct av_pool pool = {NULL, 0};
    int found, wins, n = 0;
    av_rc rc = current_pub(k, w, &cur, &found, errbuf);

    if (rc != AV_OK)
        return rc;
    wins = !found || av_pub_replaces(&in, &cur);
    if (found && wins && av_pub_cmp(cur.publish_time, w->publish_time) != 0) {
        int have;
        char t[AV_STAMP_LEN];
        rc = av_sqlite_load_current(k, w->region_id, w->valid_date, w->lang, k->old, &pool,
                                    &have, errbuf);
        if (rc == AV_OK && pool.oom)
            rc = av_fail(errbuf, AV_ENOMEM, "out of memory keeping a superseded warning");
        if (rc == AV_OK && have) {
            av_buf_reset(&k->json);
            av_record_json(&k->json, k->old);
            sq_bind_parent_key(k, x, k->fill, w);
            if (k->old->publish_time == AV_NULL_MS)
                sqlite3_bind_text(k->fill, 4, "", 0, SQLITE_STATIC);
            else {
                av_stamp_format(k->old->publish_time, t);
                sqlite3_bind_text(k->fill, 4, t, -1, SQLITE_TRANSIENT);
            }
            sqlite3_bind_text64(k->fill, 5, k->json.data, k->json.len, SQLITE_STATIC,
                                SQLITE_UTF8);
            rc = k->json.failed ? av_fail(errbuf, AV_ENOMEM, "out of memory keeping a "
                                          "superseded warning")
                                : av_sqlite_step(k->st, k->fill, errbuf, "keep the history");
        }
        av_pool_free(&pool);
        if (rc != AV_OK)
            return rc;
    }
    av_buf_reset(&k->json);
    if (!wins)
        av_record_json(&k->json, w);
    if (k->json.failed)
        return av_fail(errbuf, AV_ENOMEM, "out of memory keeping the history");
    for (int i = 0; i < x->ds->nfields; i++) {
        const struct av_field *f = &x->ds->fields[i];
        if (f->flags & AV_FF_DERIVED)
            continue;
        n++;
        if (!(f->flags & AV_FF_RECORD))
            sq_bind_field(k, x->ins, n, f, av_field_ptr(f, w, w), x->scratch[i]);
        else if (wins)
            sqlite3_bind_null(x->ins, n);
        else
            sqlite3_bind_text64(x->ins, n, k->json.data, k->json.len, SQLITE_STATIC,
                                SQLITE_UTF8);
    }
    return av_sqlite_step(k->st, x->ins, errbuf, "store the history");
}
