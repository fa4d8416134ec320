/* parse_bench.c - parse-only throughput, one warning at a time: Debian's
 * jsmn (strict, parent links: the configuration avalanche used first) vs
 * avalanche's own tokenizer (src/core/json.c). Both produce a full token
 * array with subtree links; ours also checks the grammar strictly.
 *
 *   parse_bench CORPUS.json [ROUNDS]
 *
 * The corpus is a JSON array of warnings (bench/gen_corpus.py); element
 * spans are found once, then each element is parsed ROUNDS times by each
 * parser. Prints warnings/s and MB/s for both. */
#define JSMN_STATIC
#define JSMN_STRICT
#define JSMN_PARENT_LINKS
#include <jsmn.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../src/core/json.h"

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    FILE *f;
    char *text;
    long n;
    struct av_json doc;
    int rounds = argc > 2 ? atoi(argv[2]) : 1, count, e;
    size_t total = 0, *off, *len;
    jsmntok_t *toks;
    unsigned tcap = 1 << 16;
    double t0, t_jsmn, t_ours;
    long sink = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: parse_bench CORPUS.json [ROUNDS]\n");
        return 2;
    }
    f = fopen(argv[1], "rb");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    text = malloc((size_t)n);
    if (fread(text, 1, (size_t)n, f) != (size_t)n)
        return 1;
    fclose(f);

    av_json_init(&doc, 1 << 30, 64);
    if (av_json_parse(&doc, text, (size_t)n, NULL) != AV_OK)
        return 1;
    count = av_json_size(&doc, 0);
    off = malloc(count * sizeof(*off));
    len = malloc(count * sizeof(*len));
    e = av_json_first(0);
    for (int i = 0; i < count; i++, e = av_json_skip(&doc, e)) {
        const char *p = av_json_span(&doc, e, &len[i]);
        off[i] = (size_t)(p - text);
        total += len[i];
    }
    av_json_free(&doc);

    toks = malloc(tcap * sizeof(*toks));
    t0 = now();
    for (int r = 0; r < rounds; r++) {
        for (int i = 0; i < count; i++) {
            jsmn_parser jp;
            jsmn_init(&jp);
            int k = jsmn_parse(&jp, text + off[i], len[i], toks, tcap);
            if (k < 0)
                return 1;
            sink += k;
        }
    }
    t_jsmn = now() - t0;

    av_json_init(&doc, 0, 64);
    t0 = now();
    for (int r = 0; r < rounds; r++) {
        for (int i = 0; i < count; i++) {
            if (av_json_parse(&doc, text + off[i], len[i], NULL) != AV_OK)
                return 1;
            sink += doc.ntok;
        }
    }
    t_ours = now() - t0;
    printf("{\"warnings\": %d, \"rounds\": %d, \"mb\": %.1f, \"tokens\": %ld,\n"
           " \"jsmn\": {\"seconds\": %.3f, \"warnings_per_s\": %.0f, \"mb_per_s\": %.0f},\n"
           " \"avalanche\": {\"seconds\": %.3f, \"warnings_per_s\": %.0f, \"mb_per_s\": %.0f}}\n",
           count, rounds, total / 1e6, sink / 2 / rounds, t_jsmn,
           count * (double)rounds / t_jsmn, total * (double)rounds / 1e6 / t_jsmn, t_ours,
           count * (double)rounds / t_ours, total * (double)rounds / 1e6 / t_ours);
    av_json_free(&doc);
    return 0;
}
