/* fuzz_cql_frame.c - fuzz target: bytes -> CQL frame header -> response
 * prefixes -> RESULT / ERROR / EVENT / handshake body decoders -> every
 * cell read back through the cql.h accessors, and the cells the cluster
 * metadata reads (cql_ring.h) through their decoders: tokens of set<text>
 * cells (system.local/peers), inet cells (peer, rpc_address), replication
 * maps (system_schema.keyspaces). Everything a Cassandra node (or
 * anything listening on its port) can send our client goes through here.
 *
 * Input layout: the first 9 bytes are a frame header (decoded with a 1 MiB
 * max_frame), the rest is the body. The body is handed to the decoder the
 * opcode names; for other opcodes to all of them, so the corpus needs no
 * valid header to reach the body decoders.
 *
 * libFuzzer:  clang -fsanitize=fuzzer,address,undefined (see below)
 * Replay:     built with -DAV_FUZZ_REPLAY, main() feeds each file named on
 *             the command line and prints "fuzz-cql: N passed, 0 failed".
 *
 *   clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
 *       -o build/fuzz/fuzz_cql_frame tests/fuzz/fuzz_cql_frame.c \
 *       src/cql/cql_wire.c src/cql/cql_result.c src/cql/cql_error.c src/cql/cql_ring.c \
 *       src/core/buf.c src/core/err.c src/core/log.c src/core/tz.c
 *   ./build/fuzz/fuzz_cql_frame -max_total_time=120 build/fuzz/corpus-cql \
 *       tests/fuzz/corpus-cql
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/cql/cql_frame.h"
#include "../../src/cql/cql_ring.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads every cell back, as the pipeline would. */
static void walk_result(const struct av_cql_result *r)
{
    struct av_cql_value v;
    const char *p;
    size_t n;
    volatile size_t sink = 0;

    for (int c = 0; c < av_cql_result_columns(r) && c < 64; c++) {
        const char *name = av_cql_result_column_name(r, c);
        if (name)
            sink += strlen(name);
        sink += av_cql_result_column_type(r, c);
    }
    for (int row = 0; row < av_cql_result_rows(r) && row < 256; row++) {
        for (int c = 0; c < av_cql_result_columns(r) && c < 64; c++) {
            if (av_cql_result_get(r, row, c, &v) != AV_OK)
                continue;
            if (v.type == AV_CQL_TEXT || v.type == AV_CQL_BLOB || v.type == AV_CQL_OTHER) {
                for (size_t i = 0; i < v.u.s.n; i++)
                    sink += (unsigned char)v.u.s.p[i];
            } else if (v.type == AV_CQL_LIST_TEXT) {
                for (int k = 0; k < v.u.list.n && k < 64; k++)
                    if (av_cql_result_list_item(r, row, c, k, &p, &n) == AV_OK && n > 0) {
                        int64_t t;
                        sink += (unsigned char)p[n - 1];
                        if (av_cql_token_parse(p, n, &t, NULL) == AV_OK) /* tokens */
                            sink += (size_t)t;
                    }
            }
            if (v.type == AV_CQL_OTHER || v.type == AV_CQL_BLOB) {
                char addr[64];
                struct av_cql_repl rep;
                if (av_cql_inet_format((const uint8_t *)v.u.s.p, v.u.s.n, addr, sizeof(addr),
                                       NULL) == AV_OK)
                    sink += strlen(addr);
                if (av_cql_repl_decode((const uint8_t *)v.u.s.p, v.u.s.n, &rep, NULL) == AV_OK)
                    sink += (size_t)rep.rf + (size_t)rep.ndc;
                sink += (size_t)av_cql_murmur3(v.u.s.p, v.u.s.n);
            }
        }
    }
    if (av_cql_result_paging(r, &n) != NULL)
        sink += n;
    if (av_cql_result_keyspace(r) != NULL)
        sink += strlen(av_cql_result_keyspace(r));
    (void)sink;
}

static void body(uint8_t opcode, uint8_t flags, const uint8_t *p, size_t n)
{
    char err[AV_ERRBUF_SIZE], small[16];
    struct av_cql_prefix pre;
    struct av_cql_result *r = NULL;
    struct av_cql_error e;
    const uint8_t *tok;
    int32_t tlen;
    int all = 1;

    if (av_cql_body_prefix(flags, p, n, &pre, err) == AV_OK) {
        p += pre.off;
        n -= pre.off;
    }
    if (opcode == AV_CQL_OP_RESULT || opcode == AV_CQL_OP_ERROR ||
        opcode == AV_CQL_OP_SUPPORTED || opcode == AV_CQL_OP_AUTHENTICATE ||
        opcode == AV_CQL_OP_EVENT)
        all = 0;
    if (all || opcode == AV_CQL_OP_EVENT) {
        struct av_cql_event ev;
        struct av_cql_repl rep;
        int64_t t;
        if (av_cql_event_decode(p, n, &ev, err) == AV_OK && strlen(ev.addr) >= sizeof(ev.addr))
            abort();
        av_cql_repl_decode(p, n, &rep, err);
        av_cql_token_parse((const char *)p, n, &t, err);
    }
    if (all || opcode == AV_CQL_OP_RESULT) {
        if (av_cql_result_decode(&r, p, n, err) == AV_OK) {
            walk_result(r);
            av_cql_result_free(r);
        }
    }
    if (all || opcode == AV_CQL_OP_ERROR) {
        if (av_cql_error_decode(&e, p, n, err) == AV_OK)
            av_cql_error_report(&e, err);
    }
    if (all || opcode == AV_CQL_OP_SUPPORTED)
        av_cql_supported_decode(p, n, small, sizeof(small), err);
    if (all || opcode == AV_CQL_OP_AUTHENTICATE)
        av_cql_authenticate_decode(p, n, small, sizeof(small), err);
    if (all)
        av_cql_token_decode(p, n, &tok, &tlen, err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct av_cql_header h;
    char err[AV_ERRBUF_SIZE];
    uint8_t *copy;
    size_t n;

    if (av_cql_header_decode(&h, data, size, 1u << 20, err) != AV_OK) {
        if (size < AV_CQL_HEADER_LEN)
            return 0;
        h.opcode = 0xff; /* bad header: still feed the body to every decoder */
        h.flags = data[1];
    }
    /* the body in its own exact-size allocation, so ASan sees any overread */
    n = size - AV_CQL_HEADER_LEN;
    copy = malloc(n ? n : 1);
    if (copy == NULL)
        return 0;
    memcpy(copy, data + AV_CQL_HEADER_LEN, n);
    body(h.opcode, h.flags, copy, n);
    free(copy);
    return 0;
}

#ifdef AV_FUZZ_REPLAY
#define AV_FUZZ_NAME "fuzz-cql"
#include "replay.h"
#endif
