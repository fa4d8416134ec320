/* cmd_status.c - `status` (state per region and lang, rejects, last runs,
 * the consumer group's lag with --brokers) and `regions` (the built-in
 * catalog, or with --points the weather points of the regions). Text for
 * people, --json for tools (the HTTP API's shapes), --check for monitoring
 * (the facts gathered here, judged by src/pipeline/check.c). */
#include <stdio.h>
#include <string.h>

#include "../core/buf.h"
#include "../core/json.h"
#include "../model/points.h"
#include "../model/regions.h"
#include "../pipeline/check.h"
#include "../sinks/sink.h"
#include "../sinks/store.h"
#include "../sinks/store_json.h"
#include "../transport/kafka.h"
#include "cli.h"

static int out_cut; /* a buffer could not grow (out of memory): the output is wrong */

/* Writes b to stdout and empties it; never a cut row (stdout errors are
 * checked once, in main.c). */
static void out(struct av_buf *b)
{
    if (b->failed)
        out_cut = 1;
    else if (b->len)
        fwrite(b->data, 1, b->len, stdout);
    av_buf_reset(b);
}

static int out_result(int code)
{
    if (out_cut && code == AV_EXIT_OK) {
        fprintf(stderr, "avalanche: out of memory formatting the output; it is incomplete\n");
        return AV_EXIT_FAIL;
    }
    return code;
}

/* regions --points: the weather points of every region, or of those
 * --region names, for weather.grid_km and weather.max_points. */
static int region_points(struct av_cli *cli)
{
    struct av_point pts[AV_POINTS_MAX];
    int ids[AV_MAX_REGIONS], nids = 0, first = 1;
    int grid_km = (int)av_conf_int(&cli->conf, "weather.grid_km");
    int max_points = (int)av_conf_int(&cli->conf, "weather.max_points");
    char err[AV_ERRBUF_SIZE];
    struct av_buf b;

    if (cli->region_given) {
        if (av_regions_select(av_conf_str(&cli->conf, "plan.regions"), ids, &nids, err) !=
            AV_OK) {
            fprintf(stderr, "avalanche: %s\n", err);
            return AV_EXIT_USAGE;
        }
    } else {
        for (int i = 0; i < av_regions_count(); i++)
            ids[nids++] = av_region_at(i)->id;
    }
    av_buf_init(&b, 0);
    if (cli->json)
        putchar('[');
    else
        printf("%-9s %9s %10s\n", "region_id", "latitude", "longitude");
    for (int i = 0; i < nids; i++) {
        int n = 0;
        if (av_region_points(ids[i], grid_km, max_points, pts, AV_POINTS_MAX, &n, err) != AV_OK) {
            if (cli->json)
                puts("]");
            fprintf(stderr, "avalanche: %s\n", err);
            av_buf_free(&b);
            return AV_EXIT_FAIL;
        }
        for (int k = 0; k < n; k++) {
            if (cli->json)
                av_buf_printf(&b, "%s{\"region_id\":%d,\"latitude\":%.4f,\"longitude\":%.4f}",
                              first ? "" : ",", pts[k].region_id, pts[k].latitude,
                              pts[k].longitude);
            else
                av_buf_printf(&b, "%-9d %9.4f %10.4f\n", pts[k].region_id, pts[k].latitude,
                              pts[k].longitude);
            first = 0;
            out(&b);
        }
    }
    if (cli->json)
        puts("]");
    av_buf_free(&b);
    return out_result(AV_EXIT_OK);
}

int av_cmd_regions(struct av_cli *cli)
{
    struct av_buf b;

    if (cli->points)
        return region_points(cli);
    av_buf_init(&b, 0);
    if (cli->json)
        putchar('[');
    else
        printf("%-6s %-24s %-4s %s\n", "id", "name", "type", "active");
    for (int i = 0; i < av_regions_count(); i++) {
        const struct av_region *r = av_region_at(i);
        if (cli->json) {
            if (i)
                av_buf_putc(&b, ',');
            av_json_region(&b, r, 0, NULL);
            out(&b);
        } else {
            /* pad by characters, not bytes (names are UTF-8) */
            int chars = 0;
            for (const char *p = r->name; *p; p++)
                chars += ((unsigned char)*p & 0xC0) != 0x80;
            printf("%-6d %s%*s %-4c %s\n", r->id, r->name, 24 - chars, "", r->type,
                   r->active ? "yes" : "no");
        }
    }
    if (cli->json)
        puts("]");
    av_buf_free(&b);
    return out_result(AV_EXIT_OK);
}

struct st_ctx {
    int json, n, wx;
    struct av_sink *sink;
    struct av_buf b;
    av_rc rc;
    char err[AV_ERRBUF_SIZE];
};

static int state_row(void *ud, const struct av_state_row *r)
{
    struct st_ctx *c = ud;
    struct av_query q = {&r->region_id, 1, INT64_MIN, INT64_MAX, r->lang, 0};
    long nw = -1;
    char count[24] = "-";
    /* the weather's rows (lang 0): the archive's last date is the last
     * complete weather day; the count is the region's weather days */
    int wx = r->lang == 0;

    c->wx += wx;

    c->rc = av_sink_count(c->sink, wx ? &av_ds_wx_daily : &av_ds_warning, &q, &nw, c->err);
    if (c->rc != AV_OK)
        return 1;
    if (nw >= 0)
        snprintf(count, sizeof(count), "%ld", nw);
    if (c->json) {
        if (c->n)
            av_buf_putc(&c->b, ',');
        av_json_state(&c->b, r, wx ? -1 : nw); /* "warnings": none for the weather */
        out(&c->b);
    } else {
        const struct av_region *reg = av_region_find(r->region_id);
        char lang[8];
        snprintf(lang, sizeof(lang), wx ? "wx" : "%d", r->lang);
        printf("%-6d %-20.20s %4s %-8s %-10s %-24s %-9s %8s %7ld%s%s\n", r->region_id,
               reg ? reg->name : "?", lang, r->endpoint ? r->endpoint : "",
               r->last_date ? r->last_date : "-", r->last_fetch ? r->last_fetch : "-",
               r->last_status ? r->last_status : "-", count, r->rejects,
               r->last_error ? "  " : "", r->last_error ? r->last_error : "");
    }
    c->n++;
    return 0;
}

static int hole_row(void *ud, const struct av_hole *h)
{
    struct st_ctx *c = ud;

    if (c->json) {
        if (c->n)
            av_buf_putc(&c->b, ',');
        av_json_hole(&c->b, h);
        out(&c->b);
    } else {
        char f[AV_DATE_LEN], t[AV_DATE_LEN], since[AV_STAMP_LEN];
        const struct av_region *reg = av_region_find(h->region_id);
        av_date_format(h->from, f);
        av_date_format(h->to, t);
        av_stamp_format(h->since, since);
        if (c->n == 0)
            printf("\nholes (days planned but not stored; the next run without --from fetches "
                   "them again):\n%-6s %-20s %4s %-7s %-10s %-10s %5s %s\n",
                   "region", "name", "lang", "source", "from", "to", "days", "since (UTC)");
        printf("%-6d %-20.20s %4d %-7s %-10s %-10s %5lld %s\n", h->region_id,
               reg ? reg->name : "?", h->lang, h->endpoint, f, t,
               (long long)(h->to - h->from + 1), since);
    }
    c->n++;
    return 0;
}

static int run_row(void *ud, const struct av_run_row *r)
{
    struct st_ctx *c = ud;

    if (c->json) {
        if (c->n)
            av_buf_putc(&c->b, ',');
        av_json_run(&c->b, r);
        out(&c->b);
    } else {
        printf("%-5lld %-10s %-12s %-24s %5d %5d %5d %5d %8ld %8ld%s%s\n", (long long)r->id,
               r->kind, r->status, r->started_at, r->c.units_total, r->c.units_ok,
               r->c.units_rejected, r->c.units_failed, r->c.warnings_stored,
               r->c.warnings_rejected, r->error ? "  " : "", r->error ? r->error : "");
        putchar('\n');
    }
    c->n++;
    return 0;
}

/* One topic's lag per partition for the group: JSON members "partitions"
 * and "lag" (the caller opens and closes the object), or a text table. */
static void lag_rows(const struct av_cli *cli, const struct av_kafka_lag *lag, int n)
{
    long total = 0;

    if (cli->json)
        fputs("\"partitions\":[", stdout);
    for (int i = 0; i < n; i++) {
        total += (long)lag[i].lag;
        if (cli->json)
            printf("%s{\"partition\":%d,\"committed\":%lld,\"end\":%lld,\"lag\":%lld}",
                   i ? "," : "", (int)lag[i].partition, (long long)lag[i].committed,
                   (long long)lag[i].end, (long long)lag[i].lag);
        else
            printf("%-9d %12lld %12lld %10lld\n", (int)lag[i].partition,
                   (long long)lag[i].committed, (long long)lag[i].end, (long long)lag[i].lag);
    }
    if (cli->json)
        printf("],\"lag\":%ld", total);
    else
        printf("total lag: %ld\n", total);
}

/* The consumer group's lag per partition (streaming mode): the warnings'
 * topic, and the weather's when the broker knows it (a weather topic
 * nobody produced to yet is said, not an error). */
static int kafka_lag(struct av_cli *cli, char *err)
{
    static struct av_kafka_lag lag[256];
    const char *topic = av_conf_str(&cli->conf, "stream.topic");
    const char *wtopic = av_conf_str(&cli->conf, "stream.weather_topic");
    const char *group = av_conf_str(&cli->conf, "stream.group");
    char werr[AV_ERRBUF_SIZE];
    struct av_buf b;
    int n = 0;

    if (av_kafka_lag(&cli->conf, topic, lag, 256, &n, err) != AV_OK)
        return 1;
    av_buf_init(&b, 0);
    if (cli->json) {
        av_buf_puts(&b, "],\"kafka\":{\"topic\":");
        av_json_quote(&b, topic);
        av_buf_puts(&b, ",\"group\":");
        av_json_quote(&b, group);
        av_buf_putc(&b, ',');
        out(&b);
    } else
        printf("\nconsumer group %s on %s:\n%-9s %12s %12s %10s\n", group, topic, "partition",
               "committed", "end", "lag");
    lag_rows(cli, lag, n);
    if (av_kafka_lag(&cli->conf, wtopic, lag, 256, &n, werr) == AV_OK) {
        if (cli->json) {
            av_buf_puts(&b, ",\"weather\":{\"topic\":");
            av_json_quote(&b, wtopic);
            av_buf_putc(&b, ',');
            out(&b);
        } else
            printf("\nconsumer group %s on %s (weather):\n%-9s %12s %12s %10s\n", group, wtopic,
                   "partition", "committed", "end", "lag");
        lag_rows(cli, lag, n);
        if (cli->json)
            putchar('}');
    } else if (!cli->json) {
        printf("\nweather topic %s: %s\n", wtopic, werr);
    }
    if (cli->json)
        puts("}}");
    av_buf_free(&b);
    return 0;
}

/* ---- status --check: gather the facts, print the verdict ---- */

struct ck_ctx {
    struct av_check_region regions[AV_MAX_REGIONS];
    int nregions;
    int64_t wx_last;
    int wx_region;
    long holes;
    int hole_region;
    int64_t hole_from, hole_to;
    char run_status[16], run_error[AV_ERRBUF_SIZE];
    long long run_id;
};

static struct av_check_region *ck_region(struct ck_ctx *c, int id)
{
    for (int i = 0; i < c->nregions; i++)
        if (c->regions[i].region_id == id)
            return &c->regions[i];
    return NULL; /* not one of the regions checked (plan.regions) */
}

static int ck_state(void *ud, const struct av_state_row *r)
{
    struct ck_ctx *c = ud;
    struct av_check_region *reg = ck_region(c, r->region_id);
    int64_t d;

    if (reg == NULL || r->last_date == NULL || av_date_parse(r->last_date, &d) != AV_OK)
        return 0;
    if (r->lang != 0) {
        if (d > reg->last_date)
            reg->last_date = d;
    } else if (r->endpoint && strcmp(r->endpoint, "archive") == 0) {
        if (c->wx_last < 0 || d < c->wx_last) {
            c->wx_last = d;
            c->wx_region = r->region_id;
        }
    }
    return 0;
}

static int ck_hole(void *ud, const struct av_hole *h)
{
    struct ck_ctx *c = ud;

    if (ck_region(c, h->region_id) == NULL)
        return 0;
    if (c->holes++ == 0) {
        c->hole_region = h->region_id;
        c->hole_from = h->from;
        c->hole_to = h->to;
    }
    return 0;
}

/* The latest run that has ended (one in progress says nothing yet). */
static int ck_run(void *ud, const struct av_run_row *r)
{
    struct ck_ctx *c = ud;

    if (c->run_status[0] != '\0' || strcmp(r->status, "running") == 0)
        return 0;
    snprintf(c->run_status, sizeof(c->run_status), "%s", r->status);
    snprintf(c->run_error, sizeof(c->run_error), "%s", r->error ? r->error : "");
    c->run_id = (long long)r->id;
    return 0;
}

static int ck_unknown(const char *why)
{
    printf("AVALANCHE UNKNOWN - %s\n", why);
    return AV_CHECK_UNKNOWN;
}

/* The consumer group's lag summed over both topics (the weather's only when
 * the broker knows it). */
static int ck_lag(struct av_cli *cli, long long *total, char *err)
{
    static struct av_kafka_lag lag[256];
    const char *topics[2] = {av_conf_str(&cli->conf, "stream.topic"),
                             av_conf_str(&cli->conf, "stream.weather_topic")};
    char werr[AV_ERRBUF_SIZE];

    *total = 0;
    for (int t = 0; t < 2; t++) {
        int n = 0;
        if (av_kafka_lag(&cli->conf, topics[t], lag, 256, &n, t ? werr : err) != AV_OK) {
            if (t == 0)
                return 1;
            break;
        }
        for (int i = 0; i < n; i++)
            *total += (long long)lag[i].lag;
    }
    return 0;
}

static int check_status(struct av_cli *cli)
{
    static struct ck_ctx c;
    struct av_check_limits lim;
    struct av_check_facts f;
    struct av_store *store;
    char err[AV_ERRBUF_SIZE], why[AV_ERRBUF_SIZE + 64], msg[2048];
    int ids[AV_MAX_REGIONS], nids = 0, level;

    memset(&c, 0, sizeof(c));
    c.wx_last = -1;
    lim.stale_hours = (int)av_conf_int(&cli->conf, "check.stale_hours");
    lim.archive_lag_days = (int)av_conf_int(&cli->conf, "weather.archive_lag_days");
    lim.weather_behind_days = (int)av_conf_int(&cli->conf, "check.weather_behind_days");
    lim.max_lag = av_conf_int(&cli->conf, "check.max_lag");
    if (av_check_mmdd(av_conf_str(&cli->conf, "check.season_start"), &lim.season_start) ||
        av_check_mmdd(av_conf_str(&cli->conf, "check.season_end"), &lim.season_end))
        return ck_unknown("check.season_start and check.season_end want MM-DD");
    if (av_regions_select(av_conf_str(&cli->conf, "plan.regions"), ids, &nids, err) != AV_OK)
        return ck_unknown(err);
    for (int i = 0; i < nids; i++) {
        c.regions[i].region_id = ids[i];
        c.regions[i].last_date = -1;
    }
    c.nregions = nids;
    if (av_cli_need_db(cli) != AV_EXIT_OK || av_cli_open(cli, &store, NULL) != AV_EXIT_OK) {
        snprintf(why, sizeof(why), "cannot open the database %s",
                 av_conf_str(&cli->conf, "store.path"));
        return ck_unknown(why);
    }
    if (av_store_each_state(store, ck_state, &c, err) != AV_OK ||
        av_store_each_hole(store, 0, 0, NULL, ck_hole, &c, err) != AV_OK ||
        av_store_each_run(store, 20, ck_run, &c, err) != AV_OK) {
        av_cli_close(store, NULL);
        return ck_unknown(err);
    }
    av_cli_close(store, NULL);
    memset(&f, 0, sizeof(f));
    f.now = av_now();
    f.today = av_oslo_today();
    f.regions = c.regions;
    f.nregions = c.nregions;
    f.wx_last_complete = c.wx_last;
    f.wx_region = c.wx_region;
    f.run_status = c.run_status[0] ? c.run_status : NULL;
    f.run_error = c.run_error[0] ? c.run_error : NULL;
    f.run_id = c.run_id;
    f.holes = c.holes;
    f.hole_region = c.hole_region;
    f.hole_from = c.hole_from;
    f.hole_to = c.hole_to;
    f.lag = -1;
    if (av_conf_str(&cli->conf, "stream.brokers")[0] != '\0' && ck_lag(cli, &f.lag, err) != 0) {
        snprintf(why, sizeof(why), "consumer lag unknown: %s", err);
        return ck_unknown(why);
    }
    level = (int)av_check_eval(&f, &lim, msg, sizeof(msg));
    printf("%s\n", msg);
    return level;
}

int av_cmd_status(struct av_cli *cli)
{
    struct av_store *store;
    struct av_sink sink;
    struct st_ctx c = {cli->json, 0, 0, &sink, {0}, AV_OK, ""};
    struct av_query all = {NULL, 0, INT64_MIN, INT64_MAX, 0, 0};
    char err[AV_ERRBUF_SIZE], nws[24] = "-", nps[24] = "-";
    long nw = -1, np = -1, nr = 0;
    struct av_raw_stats raw = {0, 0, 0};
    int code;

    if (cli->check)
        return check_status(cli);
    code = av_cli_need_db(cli);
    if (code == AV_EXIT_OK)
        code = av_cli_open(cli, &store, &sink);
    if (code != AV_EXIT_OK)
        return code;
    code = AV_EXIT_FAIL;
    av_buf_init(&c.b, 0);
    if (av_sink_count(&sink, &av_ds_warning, &all, &nw, err) != AV_OK ||
        av_sink_count(&sink, &av_ds_problem, &all, &np, err) != AV_OK ||
        av_store_count(store, "rejected", &nr, err) != AV_OK ||
        av_store_raw_stats(store, &raw, err) != AV_OK)
        goto fail;
    if (nw >= 0)
        snprintf(nws, sizeof(nws), "%ld", nw);
    if (np >= 0)
        snprintf(nps, sizeof(nps), "%ld", np);
    if (cli->json) {
        av_buf_puts(&c.b, "{\"db\":");
        av_json_quote(&c.b, av_conf_str(&cli->conf, "store.path"));
        av_buf_printf(&c.b, ",\"sink\":\"%s\",\"warnings\":%s,\"problems\":%s,\"rejected\":%ld,"
                            "\"raw_responses\":%ld,\"raw_bodies\":%ld,\"raw_bytes\":%lld,"
                            "\"regions\":[",
                      av_sink_name(&sink), nw >= 0 ? nws : "null", np >= 0 ? nps : "null", nr,
                      raw.responses, raw.bodies, raw.bytes);
        out(&c.b);
    } else {
        printf("database %s: %s warnings, %s problems, %ld rejected, %ld raw responses "
               "(%ld distinct bodies, %.1f MiB)",
               av_conf_str(&cli->conf, "store.path"), nws, nps, nr, raw.responses, raw.bodies,
               (double)raw.bytes / (1024.0 * 1024.0));
        if (nw < 0)
            printf(" (the %s sink does not count its records)", av_sink_name(&sink));
        printf("\n\n%-6s %-20s %4s %-8s %-10s %-24s %-9s %8s %7s\n", "region", "name", "lang",
               "source", "last date", "last fetch (UTC)", "status", "records", "rejects");
    }
    if (av_store_each_state(store, state_row, &c, err) != AV_OK)
        goto fail;
    if (c.rc != AV_OK) {
        snprintf(err, sizeof(err), "%s", c.err);
        goto fail;
    }
    if (c.wx && !cli->json)
        printf("(lang wx: the weather; its archive's last date is the last complete weather "
               "day, records are weather days)\n");
    c.n = 0;
    if (cli->json)
        fputs("],\"holes\":[", stdout);
    if (av_store_each_hole(store, 0, 0, NULL, hole_row, &c, err) != AV_OK)
        goto fail;
    c.n = 0;
    if (cli->json)
        fputs("],\"runs\":[", stdout);
    else
        printf("\nlast runs:\n%-5s %-10s %-12s %-24s %5s %5s %5s %5s %8s %8s\n", "id", "kind",
               "status", "started (UTC)", "units", "ok", "rej", "fail", "stored", "rejected");
    if (av_store_each_run(store, cli->limit, run_row, &c, err) != AV_OK)
        goto fail;
    if (av_conf_str(&cli->conf, "stream.brokers")[0] != '\0') {
        if (kafka_lag(cli, err) != 0)
            goto fail;
    } else if (cli->json) {
        puts("]}");
    }
    code = AV_EXIT_OK;
    goto done;
fail:
    fprintf(stderr, "avalanche: %s\n", err);
done:
    av_buf_free(&c.b);
    av_cli_close(store, &sink);
    return out_result(code);
}
