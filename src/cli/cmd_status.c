/* cmd_status.c - `status` (state per region and lang, rejects, last runs)
 * and `regions` (the built-in catalog). Text for people, --json for tools. */
#include <stdio.h>
#include <string.h>

#include "../core/buf.h"
#include "../core/json.h"
#include "../sinks/store.h"
#include "../sources/regions.h"
#include "../transport/kafka.h"
#include "cli.h"

static void jstr(const char *s)
{
    struct av_buf b;

    if (s == NULL) {
        fputs("null", stdout);
        return;
    }
    av_buf_init(&b, 0);
    av_json_quote(&b, s);
    fputs(b.data, stdout);
    av_buf_free(&b);
}

int av_cmd_regions(struct av_cli *cli)
{
    if (cli->json)
        putchar('[');
    else
        printf("%-6s %-24s %-4s %s\n", "id", "name", "type", "active");
    for (int i = 0; i < av_regions_count(); i++) {
        const struct av_region *r = av_region_at(i);
        if (cli->json) {
            printf("%s{\"id\":%d,\"name\":", i ? "," : "", r->id);
            jstr(r->name);
            printf(",\"type\":\"%c\",\"active\":%s}", r->type, r->active ? "true" : "false");
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
    return AV_EXIT_OK;
}

struct st_ctx {
    int json, n;
};

static int state_row(void *ud, const struct av_state_row *r)
{
    struct st_ctx *c = ud;

    if (c->json) {
        printf("%s{\"region_id\":%d,\"lang\":%d,\"endpoint\":", c->n ? "," : "", r->region_id,
               r->lang);
        jstr(r->endpoint);
        fputs(",\"last_date\":", stdout);
        jstr(r->last_date);
        fputs(",\"last_fetch\":", stdout);
        jstr(r->last_fetch);
        fputs(",\"last_status\":", stdout);
        jstr(r->last_status);
        fputs(",\"last_error\":", stdout);
        jstr(r->last_error);
        printf(",\"warnings\":%ld,\"rejects\":%ld}", r->warnings, r->rejects);
    } else {
        const struct av_region *reg = av_region_find(r->region_id);
        printf("%-6d %-20.20s %4d %-7s %-10s %-24s %-9s %8ld %7ld%s%s\n", r->region_id,
               reg ? reg->name : "?", r->lang, r->endpoint ? r->endpoint : "",
               r->last_date ? r->last_date : "-", r->last_fetch ? r->last_fetch : "-",
               r->last_status ? r->last_status : "-", r->warnings, r->rejects,
               r->last_error ? "  " : "", r->last_error ? r->last_error : "");
    }
    c->n++;
    return 0;
}

static int run_row(void *ud, const struct av_run_row *r)
{
    struct st_ctx *c = ud;

    if (c->json) {
        printf("%s{\"id\":%lld,\"kind\":", c->n ? "," : "", (long long)r->id);
        jstr(r->kind);
        fputs(",\"status\":", stdout);
        jstr(r->status);
        fputs(",\"started_at\":", stdout);
        jstr(r->started_at);
        fputs(",\"ended_at\":", stdout);
        jstr(r->ended_at);
        printf(",\"units_total\":%d,\"units_ok\":%d,\"units_rejected\":%d,"
               "\"units_failed\":%d,\"warnings_stored\":%ld,\"warnings_unchanged\":%ld,"
               "\"warnings_rejected\":%ld,\"error\":",
               r->c.units_total, r->c.units_ok, r->c.units_rejected, r->c.units_failed,
               r->c.warnings_stored, r->c.warnings_unchanged, r->c.warnings_rejected);
        jstr(r->error);
        putchar('}');
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

int av_cmd_status(struct av_cli *cli)
{
    struct av_store *store;
    struct st_ctx c = {cli->json, 0};
    char err[AV_ERRBUF_SIZE];
    long nw = 0, np = 0, nr = 0, nraw = 0;
    int code = AV_EXIT_FAIL;

    if (av_store_open(&store, av_conf_str(&cli->conf, "store.path"), &cli->conf, err) != AV_OK) {
        fprintf(stderr, "avalanche: %s\n", err);
        return AV_EXIT_FAIL;
    }
    if (av_store_count(store, "warning", &nw, err) != AV_OK ||
        av_store_count(store, "problem", &np, err) != AV_OK ||
        av_store_count(store, "rejected", &nr, err) != AV_OK ||
        av_store_count(store, "raw_response", &nraw, err) != AV_OK)
        goto fail;
    if (cli->json) {
        printf("{\"db\":");
        jstr(av_conf_str(&cli->conf, "store.path"));
        printf(",\"warnings\":%ld,\"problems\":%ld,\"rejected\":%ld,\"raw_responses\":%ld,"
               "\"regions\":[",
               nw, np, nr, nraw);
    } else {
        printf("database %s: %ld warnings, %ld problems, %ld rejected, %ld raw responses\n\n",
               av_conf_str(&cli->conf, "store.path"), nw, np, nr, nraw);
        printf("%-6s %-20s %4s %-7s %-10s %-24s %-9s %8s %7s\n", "region", "name", "lang",
               "source", "last date", "last fetch (UTC)", "status", "warnings", "rejects");
    }
    if (av_store_each_state(store, state_row, &c, err) != AV_OK)
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
        struct av_kafka_lag lag[256];
        const char *topic = av_conf_str(&cli->conf, "stream.topic");
        int n = 0;
        long total = 0;
        if (av_kafka_lag(&cli->conf, topic, lag, 256, &n, err) != AV_OK)
            goto fail;
        if (cli->json) {
            fputs("],\"kafka\":{\"topic\":", stdout);
            jstr(topic);
            fputs(",\"group\":", stdout);
            jstr(av_conf_str(&cli->conf, "stream.group"));
            fputs(",\"partitions\":[", stdout);
        } else {
            printf("\nconsumer group %s on %s:\n%-9s %12s %12s %10s\n",
                   av_conf_str(&cli->conf, "stream.group"), topic, "partition", "committed",
                   "end", "lag");
        }
        for (int i = 0; i < n; i++) {
            total += (long)lag[i].lag;
            if (cli->json)
                printf("%s{\"partition\":%d,\"committed\":%lld,\"end\":%lld,\"lag\":%lld}",
                       i ? "," : "", (int)lag[i].partition, (long long)lag[i].committed,
                       (long long)lag[i].end, (long long)lag[i].lag);
            else
                printf("%-9d %12lld %12lld %10lld\n", (int)lag[i].partition,
                       (long long)lag[i].committed, (long long)lag[i].end,
                       (long long)lag[i].lag);
        }
        if (cli->json)
            printf("],\"lag\":%ld}}\n", total);
        else
            printf("total lag: %ld\n", total);
    } else if (cli->json) {
        puts("]}");
    }
    code = AV_EXIT_OK;
    goto out;
fail:
    fprintf(stderr, "avalanche: %s\n", err);
out:
    av_store_close(store);
    return code;
}
