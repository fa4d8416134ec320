/* cmd_export.c - `export DATASET --format jsonl|csv`: any dataset the
 * configured sink keeps (`avalanche datasets`), read back through the sink
 * and formatted by export.c. warnings and problems also as published at
 * an instant (--as-of T) or with every publication (--history), from the
 * sink's publication history (av_sink_read_history). Writes to stdout, or
 * to --out: a file atomically (a temp file renamed on success; through a
 * symlink to its target), a FIFO or character device directly. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../export/features.h"
#include "../model/regions.h"
#include "../sinks/export.h"
#include "../sinks/sink.h"
#include "../sinks/store.h"
#include "../transforms/weather_daily.h"
#include "cli.h"
#include "export_doc.h"

static int each(void *ud, const struct av_warning *w)
{
    return av_export_warning(ud, w) != 0;
}

static int each_rec(void *ud, const void *rec)
{
    return av_export_record(ud, rec) != 0;
}

static int each_feature(void *ud, const struct av_feature *f)
{
    return av_export_record(ud, f) != 0;
}

/* A flat dataset keyed by a UTC hour (weather-hourly): --from/--to are
 * local dates, so the range is from's local midnight to the one after to. */
static void hour_range(struct av_query *q)
{
    av_ms first, end;

    if (q->from == INT64_MIN && q->to == INT64_MAX)
        return;
    av_wx_local_day_hours(q->from != INT64_MIN ? q->from : av_days_from_civil(1, 1, 1),
                          &q->from_ms, &end);
    av_wx_local_day_hours(q->to != INT64_MAX ? q->to : av_days_from_civil(9999, 12, 30),
                          &first, &q->to_ms);
}

/* The query from --region, --lang, --from and --to; AV_EXIT_OK or usage. */
static int query_from_flags(const struct av_cli *cli, struct av_query *q, int *ids)
{
    char err[AV_ERRBUF_SIZE];
    int langs[2], nids;

    /* Export everything unless --region was given explicitly. */
    if (cli->region_given) {
        if (av_regions_select(av_conf_str(&cli->conf, "plan.regions"), ids, &nids, err) !=
            AV_OK) {
            fprintf(stderr, "avalanche: %s\n", err);
            return AV_EXIT_USAGE;
        }
        q->regions = ids;
        q->nregions = nids;
    }
    q->from = cli->from == INT64_MIN ? INT64_MIN : cli->from;
    q->to = cli->to == INT64_MIN ? INT64_MAX : cli->to;
    q->lang = cli->lang_given && av_cli_langs(cli, langs) == 1 ? langs[0] : 0;
    return AV_EXIT_OK;
}

/* Where --out really goes. A symlink is followed (its target is written,
 * the link stays); a regular file or a new name gets a temp file renamed
 * over it (*direct = 0: readers never see half an export), keeping an
 * existing file's mode; a FIFO or a character device (/dev/stdout, a pipe
 * to another program) is written directly (*direct = 1). Directories,
 * sockets and block devices are refused. AV_EXIT_OK or AV_EXIT_USAGE. */
static int out_target(const char *out, char *path, size_t cap, int *direct, mode_t *mode)
{
    struct stat st;
    char *real = NULL;

    *direct = 0;
    *mode = 0;
    snprintf(path, cap, "%s", out);
    if (lstat(out, &st) != 0)
        return AV_EXIT_OK; /* a new file */
    if (S_ISLNK(st.st_mode)) {
        char link[4096];
        ssize_t n = readlink(out, link, sizeof(link) - 1);
        if (n < 0) {
            fprintf(stderr, "avalanche: --out %s: %s\n", out, strerror(errno));
            return AV_EXIT_USAGE;
        }
        link[n] = '\0';
        real = realpath(out, NULL);
        if (real == NULL && errno != ENOENT) {
            fprintf(stderr, "avalanche: --out %s: %s\n", out, strerror(errno));
            return AV_EXIT_USAGE;
        }
        if (real == NULL) { /* a dangling link: create its target */
            const char *slash = strrchr(out, '/');
            int w = link[0] == '/' || slash == NULL
                        ? snprintf(path, cap, "%s", link)
                        : snprintf(path, cap, "%.*s/%s", (int)(slash - out), out, link);
            if (w < 0 || (size_t)w >= cap) {
                fprintf(stderr, "avalanche: --out %s: the link's target is too long\n", out);
                return AV_EXIT_USAGE;
            }
            return AV_EXIT_OK;
        }
        snprintf(path, cap, "%s", real);
        free(real);
        if (stat(path, &st) != 0)
            return AV_EXIT_OK;
    }
    if (S_ISREG(st.st_mode)) {
        *mode = st.st_mode & 07777;
        return AV_EXIT_OK;
    }
    if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)) {
        *direct = 1;
        return AV_EXIT_OK;
    }
    fprintf(stderr, "avalanche: --out %s is %s; give a file name\n", out,
            S_ISDIR(st.st_mode) ? "a directory" : "not a regular file, FIFO or character device");
    return AV_EXIT_USAGE;
}

int av_cmd_export(struct av_cli *cli)
{
    struct av_store *store = NULL;
    struct av_sink sink;
    struct av_export e;
    struct av_query q = {0};
    const struct av_dataset *ds = cli->dataset ? av_dataset_find(cli->dataset) : NULL;
    char err[AV_ERRBUF_SIZE], tmp[4200], target[4096] = "";
    int ids[AV_MAX_REGIONS], code, direct = 0;
    mode_t mode = 0;
    enum av_format fmt;
    FILE *out = stdout;
    av_rc rc;
    enum av_doc doc = av_doc_kind(cli->dataset); /* caaml, geojson: export_doc.h */

    if (doc)
        ds = &av_ds_warning;
    if (cli->dataset && strcmp(cli->dataset, av_ds_features.name) == 0)
        ds = &av_ds_features; /* computed: src/export/features.h */
    if (ds == NULL) {
        fprintf(stderr, "avalanche: export needs a dataset: warnings, problems, advices, "
                        "mountain_weather, weather, weather-hourly, features (avalanche "
                        "datasets), caaml or geojson\n");
        return AV_EXIT_USAGE;
    }
    if (doc || cli->format == NULL || strcmp(cli->format, "jsonl") == 0)
        fmt = AV_FMT_JSONL;
    else if (strcmp(cli->format, "csv") == 0)
        fmt = AV_FMT_CSV;
    else {
        fprintf(stderr, "avalanche: --format \"%s\": use jsonl or csv\n", cli->format);
        return AV_EXIT_USAGE;
    }
    if (ds == &av_ds_version) {
        fprintf(stderr, "avalanche: %s is read through its warnings: export warnings (or "
                        "problems) --history, or --as-of T\n", ds->name);
        return AV_EXIT_USAGE;
    }
    if (ds == &av_ds_features && cli->history) {
        fprintf(stderr, "avalanche: --history does not apply to export features (each row "
                        "is one version: the latest, or with --as-of T the one published "
                        "by T)\n");
        return AV_EXIT_USAGE;
    }
    if ((cli->history || cli->as_of != INT64_MIN) && ds != &av_ds_features &&
        (doc || (ds != &av_ds_warning && ds != &av_ds_problem) ||
         (cli->history && cli->as_of != INT64_MIN))) {
        fprintf(stderr, "avalanche: %s\n",
                cli->history && cli->as_of != INT64_MIN
                    ? "--history and --as-of exclude each other: every version, or the one "
                      "published by T"
                    : "--history and --as-of apply to export warnings and export problems");
        return AV_EXIT_USAGE;
    }
    code = query_from_flags(cli, &q, ids);
    if (code == AV_EXIT_OK && doc)
        code = av_cli_doc_query(cli, doc, &q);
    if (code != AV_EXIT_OK)
        return code;
    if (cli->out && strcmp(cli->out, "-") != 0 &&
        (code = out_target(cli->out, target, sizeof(target), &direct, &mode)) != AV_EXIT_OK)
        return code;
    q.parts = ds->part | (ds->nest ? ds->nest->part : 0);
    /* the SQLite sink's records are in that file: never create it empty */
    if (strcmp(av_conf_str(&cli->conf, "store.sink"), "sqlite") == 0 &&
        (code = av_cli_need_db(cli)) != AV_EXIT_OK)
        return code;
    code = av_cli_open(cli, &store, &sink);
    if (code != AV_EXIT_OK)
        return code;
    code = AV_EXIT_FAIL;
    if (ds != &av_ds_features && !av_sink_keeps(&sink, ds)) {
        fprintf(stderr, "avalanche: the %s sink does not keep %s; export them from the SQLite "
                        "store (--sink sqlite)\n",
                av_sink_name(&sink), ds->name);
        code = AV_EXIT_USAGE;
        goto out;
    }
    if (target[0]) {
        if (direct)
            snprintf(tmp, sizeof(tmp), "%s", target);
        else
            snprintf(tmp, sizeof(tmp), "%s.tmp.%d", target, (int)getpid());
        out = fopen(tmp, "w");
        if (out == NULL) {
            fprintf(stderr, "avalanche: cannot write %s: %s\n", tmp, strerror(errno));
            goto out;
        }
        if (mode && fchmod(fileno(out), mode) != 0) {
            fprintf(stderr, "avalanche: cannot give %s the mode of %s: %s\n", tmp, target,
                    strerror(errno));
            fclose(out);
            unlink(tmp);
            goto out;
        }
    }
    if (doc) {
        rc = av_cli_doc_write(doc, &sink, &q, out, &e.rows, err);
        goto written;
    }
    av_export_init(&e, out, ds, fmt);
    e.csv_raw = cli->csv_raw;
    if (cli->history)
        e.extra = &av_ds_version; /* version, first_seen, superseded_at (publish_time) */
    if (ds == &av_ds_features) { /* computed from the history and the hourly weather */
        rc = av_features_read(&sink, &q, cli->as_of, each_feature, &e, err);
    } else if (cli->history || cli->as_of != INT64_MIN) { /* the publication history */
        rc = av_sink_read_history(&sink, &q, cli->history ? AV_NULL_MS : cli->as_of, each, &e,
                                  err);
    } else if (ds->parent == NULL && ds != &av_ds_warning) { /* a flat dataset: the weather */
        if (ds->rule == AV_RULE_RANKED)
            hour_range(&q);
        rc = av_sink_read_rows(&sink, ds, &q, each_rec, &e, err);
    } else {
        rc = av_sink_read(&sink, &q, each, &e, err);
    }
    if (rc == AV_OK || e.io_error)
        rc = av_export_finish(&e, err);
    else
        av_buf_free(&e.line); /* a failed read writes nothing more */
written:
    if (out != stdout) {
        if (fclose(out) != 0 && rc == AV_OK)
            rc = av_fail(err, AV_EIO, "writing %s: %s", tmp, strerror(errno));
        if (!direct && rc == AV_OK && rename(tmp, target) != 0)
            rc = av_fail(err, AV_EIO, "rename %s to %s: %s", tmp, target, strerror(errno));
        if (!direct && rc != AV_OK)
            unlink(tmp);
    }
    if (rc != AV_OK) {
        fprintf(stderr, "avalanche: export failed: %s\n", err);
        goto out;
    }
    if (cli->out)
        fprintf(stderr, "avalanche: exported %ld %s to %s\n", e.rows, cli->dataset, cli->out);
    code = AV_EXIT_OK;
out:
    av_cli_close(store, &sink);
    return code;
}
