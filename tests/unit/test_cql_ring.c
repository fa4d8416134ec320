/* test_cql_ring.c - token-aware routing and the pipelined session of
 * src/cql: Cassandra's Murmur3 against tokens a real Cassandra 5.0.6 node
 * computed (SELECT token(k) FROM ..., recorded below), routing keys (one
 * and several key columns), token strings, replication maps, the ring's
 * replicas (SimpleStrategy, NetworkTopologyStrategy), EVENT bodies; and,
 * against a fake server on a loopback socket (a thread playing Cassandra),
 * many requests in flight on distinct stream ids, answered in reverse
 * order, the window's backpressure and stream reuse. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../src/cql/cql_frame.h"
#include "../../src/cql/cql_ring.h"
#include "harness.h"

/* Tokens from Cassandra 5.0.6 (scripts/cassandra-dev, Murmur3Partitioner):
 *   CREATE TABLE tok.t (k text PRIMARY KEY); INSERT ...; SELECT k, token(k) FROM tok.t */
static void test_murmur3(void)
{
    static const struct {
        const char *k;
        int64_t t;
    } text[] = {
        {"a", INT64_C(-8839064797231613815)},
        {"hello", INT64_C(-3758069500696749310)},
        {"0123456789abcdef", INT64_C(5467490433528156583)},
        {"0123456789abcdefg", INT64_C(-8200385122730116642)},
        {"sn\xc3\xb8 \xe2\x9c\x93 \xc3\x86\xc3\x98\xc3\x85 tail", INT64_C(-3778491600245645086)},
        {"the quick brown fox jumps over", INT64_C(-2200524494342310787)},
    };
    static const struct {
        int32_t k;
        int64_t t;
    } ints[] = { /* tok.i (k int PRIMARY KEY) */
        {0, INT64_C(-3485513579396041028)}, {1, INT64_C(-4069959284402364209)},
        {3022, INT64_C(8334971864591032370)}, {-1, INT64_C(7297452126230313552)},
        {2147483647, INT64_C(-765994672030311617)},
    };
    /* tok.b (k blob PRIMARY KEY): tails with bytes >= 0x80 (Cassandra's
     * sign-extension differs from the reference MurmurHash3 there) */
    static const uint8_t b1[] = {0x80}, b2[] = {0xff, 0x00, 0xff, 0x80};
    static const uint8_t b3[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
                                 0x80, 0x81, 0x82, 0x83};

    for (size_t i = 0; i < sizeof(text) / sizeof(text[0]); i++)
        CHECK(av_cql_murmur3(text[i].k, strlen(text[i].k)) == text[i].t);
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
        struct av_cql_value v = av_cql_int(ints[i].k);
        uint16_t pk = 0;
        struct av_buf b;
        av_buf_init(&b, 0);
        CHECK(av_cql_routing_key(&b, &v, 1, &pk, 1, NULL) == AV_OK && b.len == 4);
        CHECK(av_cql_murmur3(b.data, b.len) == ints[i].t);
        av_buf_free(&b);
    }
    CHECK(av_cql_murmur3(b1, sizeof(b1)) == INT64_C(-5284281814142962636));
    CHECK(av_cql_murmur3(b2, sizeof(b2)) == INT64_C(-3741069756937627004));
    CHECK(av_cql_murmur3(b3, sizeof(b3)) == INT64_C(7168984762287614532));
    {
        /* tok.c (a int, b date, c int, PRIMARY KEY ((a, b))): a composite key,
         * (3022, '2024-01-15') -> -7331828432564488331; values bound in
         * another order than the key's, as the pk indexes say */
        struct av_cql_value v[3] = {av_cql_int(1), av_cql_date(19737), av_cql_int(3022)};
        uint16_t pk[2] = {2, 1};
        struct av_buf b;
        av_buf_init(&b, 0);
        CHECK(av_cql_routing_key(&b, v, 3, pk, 2, NULL) == AV_OK && b.len == 2 + 4 + 1 + 2 + 4 + 1);
        CHECK(av_cql_murmur3(b.data, b.len) == INT64_C(-7331828432564488331));
        av_buf_reset(&b);
        v[2] = av_cql_null();
        CHECK(av_cql_routing_key(&b, v, 3, pk, 2, NULL) == AV_EINVAL); /* no token */
        pk[0] = 7;
        CHECK(av_cql_routing_key(&b, v, 3, pk, 2, NULL) == AV_EINVAL);
        av_buf_free(&b);
    }
}

static void test_tokens(void)
{
    int64_t t;

    CHECK(av_cql_token_parse("0", 1, &t, NULL) == AV_OK && t == 0);
    CHECK(av_cql_token_parse("-9223372036854775808", 20, &t, NULL) == AV_OK && t == INT64_MIN);
    CHECK(av_cql_token_parse("9223372036854775807", 19, &t, NULL) == AV_OK && t == INT64_MAX);
    CHECK(av_cql_token_parse("9223372036854775808", 19, &t, NULL) == AV_EPARSE);
    CHECK(av_cql_token_parse("-9223372036854775809", 20, &t, NULL) == AV_EPARSE);
    CHECK(av_cql_token_parse("", 0, &t, NULL) == AV_EPARSE);
    CHECK(av_cql_token_parse("-", 1, &t, NULL) == AV_EPARSE);
    CHECK(av_cql_token_parse("12a", 3, &t, NULL) == AV_EPARSE);
    CHECK(av_cql_token_parse(" 1", 2, &t, NULL) == AV_EPARSE);
    CHECK(av_cql_token_parse("123456789012345678901", 21, &t, NULL) == AV_EPARSE);
}

/* A map<text,text> cell. */
static size_t map_cell(uint8_t *out, const char *const *kv, int n)
{
    size_t o = 4;

    out[0] = out[1] = out[2] = 0;
    out[3] = (uint8_t)n;
    for (int i = 0; i < 2 * n; i++) {
        size_t l = strlen(kv[i]);
        out[o++] = 0;
        out[o++] = 0;
        out[o++] = 0;
        out[o++] = (uint8_t)l;
        memcpy(out + o, kv[i], l);
        o += l;
    }
    return o;
}

static void test_ring(void)
{
    static const char *const simple[] = {"class", "org.apache.cassandra.locator.SimpleStrategy",
                                         "replication_factor", "2"};
    static const char *const nts[] = {"class", "org.apache.cassandra.locator.NetworkTopologyStrategy",
                                      "dc1", "2", "dc2", "1"};
    static const char *const local[] = {"class", "org.apache.cassandra.locator.LocalStrategy"};
    const char *dcs[4] = {"dc1", "dc1", "dc2", "dc1"};
    struct av_cql_ring_entry *e = malloc(sizeof(*e) * 8);
    struct av_cql_ring ring = {NULL, 0};
    struct av_cql_repl rep;
    uint8_t cell[512];
    int out[8], n;

    CHECK(av_cql_repl_decode(cell, map_cell(cell, simple, 2), &rep, NULL) == AV_OK &&
          rep.simple && rep.rf == 2);
    CHECK(av_cql_repl_decode(cell, map_cell(cell, nts, 3), &rep, NULL) == AV_OK &&
          !rep.simple && rep.ndc == 2 && rep.rf == 3 && strcmp(rep.dc[1], "dc2") == 0 &&
          rep.dcrf[0] == 2);
    CHECK(av_cql_repl_decode(cell, map_cell(cell, local, 1), &rep, NULL) == AV_EINVAL);
    CHECK(av_cql_repl_decode(cell, 3, &rep, NULL) == AV_EPARSE);

    /* tokens (unsorted on purpose): node 0 owns -100 and 300, 1: 0, 2: 100, 3: 200 */
    e[0] = (struct av_cql_ring_entry){300, 0};
    e[1] = (struct av_cql_ring_entry){0, 1};
    e[2] = (struct av_cql_ring_entry){-100, 0};
    e[3] = (struct av_cql_ring_entry){100, 2};
    e[4] = (struct av_cql_ring_entry){200, 3};
    av_cql_ring_set(&ring, e, 5);
    CHECK(ring.e[0].token == -100 && ring.e[4].token == 300);
    av_cql_repl_decode(cell, map_cell(cell, simple, 2), &rep, NULL);
    n = av_cql_ring_replicas(&ring, 50, &rep, dcs, 4, out, 8); /* owner of 100 first */
    CHECK(n == 2 && out[0] == 2 && out[1] == 3);
    n = av_cql_ring_replicas(&ring, 100, &rep, dcs, 4, out, 8); /* == a token: its node */
    CHECK(n == 2 && out[0] == 2 && out[1] == 3);
    n = av_cql_ring_replicas(&ring, 250, &rep, dcs, 4, out, 8); /* 300 (node 0), wrap: -100 is 0 again */
    CHECK(n == 2 && out[0] == 0 && out[1] == 1);
    n = av_cql_ring_replicas(&ring, INT64_MAX, &rep, dcs, 4, out, 8); /* past the last: wraps */
    CHECK(n == 2 && out[0] == 0 && out[1] == 1);
    av_cql_repl_decode(cell, map_cell(cell, nts, 3), &rep, NULL);
    /* from 50: 100 (node 2, dc2), 200 (3, dc1), 300 (0, dc1) -> dc1 full */
    n = av_cql_ring_replicas(&ring, 50, &rep, dcs, 4, out, 8);
    CHECK(n == 3 && out[0] == 2 && out[1] == 3 && out[2] == 0);
    n = av_cql_ring_replicas(&ring, 50, &rep, dcs, 4, out, 1); /* max */
    CHECK(n == 1 && out[0] == 2);
    av_cql_ring_free(&ring);
    CHECK(av_cql_ring_replicas(&ring, 50, &rep, dcs, 4, out, 8) == 0);
}

static void test_events(void)
{
    /* STATUS_CHANGE DOWN 127.0.0.2:9042 */
    static const uint8_t st[] = {0, 13, 'S', 'T', 'A', 'T', 'U', 'S', '_', 'C', 'H', 'A', 'N', 'G', 'E',
                                 0, 4, 'D', 'O', 'W', 'N', 4, 127, 0, 0, 2, 0, 0, 0x23, 0x52};
    static const uint8_t top[] = {0, 15, 'T', 'O', 'P', 'O', 'L', 'O', 'G', 'Y', '_', 'C', 'H', 'A', 'N',
                                  'G', 'E', 0, 8, 'N', 'E', 'W', '_', 'N', 'O', 'D', 'E', 16, 0, 0, 0,
                                  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0x23, 0x52};
    struct av_cql_event ev;
    char out[64];

    CHECK(av_cql_event_decode(st, sizeof(st), &ev, NULL) == AV_OK && ev.kind == AV_CQL_EV_STATUS &&
          strcmp(ev.change, "DOWN") == 0 && strcmp(ev.addr, "127.0.0.2") == 0 && ev.port == 9042);
    CHECK(av_cql_event_decode(top, sizeof(top), &ev, NULL) == AV_OK &&
          ev.kind == AV_CQL_EV_TOPOLOGY && strcmp(ev.addr, "::1") == 0);
    for (size_t cut = 0; cut < sizeof(st); cut++) /* every truncation is an error */
        CHECK(av_cql_event_decode(st, cut, &ev, NULL) == AV_EPARSE);
    CHECK(av_cql_inet_format(st + 22, 3, out, sizeof(out), NULL) == AV_EPARSE);
}

/* ---- a fake server: the session's streams, out of order ---------------- */

#define FAKE_N 40

struct fake {
    int lfd;
    int port;
    int reverse_after; /* answer the first batch of requests in reverse order */
    int streams[FAKE_N];
    int nstreams;
};

static int rd_all(int fd, uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t k = read(fd, p, n);
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

static void answer(int fd, int stream, uint8_t opcode, const uint8_t *body, uint32_t n)
{
    uint8_t h[9] = {0x84, 0, (uint8_t)(stream >> 8), (uint8_t)stream, opcode,
                    (uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};
    if (write(fd, h, 9) != 9 || (n && write(fd, body, n) != (ssize_t)n))
        return;
}

static void *fake_main(void *arg)
{
    struct fake *f = arg;
    /* Prepared: id "ab", global spec ks "k" table "t", 1 marker (int, the key) */
    static const uint8_t prepared[] = {0, 0, 0, 4, 0, 2, 'a', 'b', 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1,
                                       0, 0, 0, 1, 'k', 0, 1, 't', 0, 1, 'x', 0, 9,
                                       0, 0, 0, 4, 0, 0, 0, 0};
    static const uint8_t supported[] = {0, 0};
    static const uint8_t voidres[] = {0, 0, 0, 1};
    int pending[FAKE_N], np = 0;
    int fd = accept(f->lfd, NULL, NULL);

    if (fd < 0)
        return NULL;
    for (;;) {
        uint8_t h[9], *body;
        uint32_t len;
        int stream;
        if (rd_all(fd, h, 9) != 0)
            break;
        len = (uint32_t)h[5] << 24 | (uint32_t)h[6] << 16 | (uint32_t)h[7] << 8 | h[8];
        stream = (int16_t)(h[2] << 8 | h[3]);
        body = malloc(len ? len : 1);
        if (body == NULL || rd_all(fd, body, len) != 0) {
            free(body);
            break;
        }
        free(body);
        switch (h[4]) {
        case AV_CQL_OP_OPTIONS:
            answer(fd, stream, AV_CQL_OP_SUPPORTED, supported, sizeof(supported));
            break;
        case AV_CQL_OP_STARTUP:
            answer(fd, stream, AV_CQL_OP_READY, NULL, 0);
            break;
        case AV_CQL_OP_PREPARE:
            answer(fd, stream, AV_CQL_OP_RESULT, prepared, sizeof(prepared));
            break;
        default: /* EXECUTE: the first reverse_after wait, then go back in reverse */
            if (f->nstreams < FAKE_N)
                f->streams[f->nstreams++] = stream;
            if (np < f->reverse_after) {
                pending[np++] = stream;
                if (np == f->reverse_after)
                    while (np > 0)
                        answer(fd, pending[--np], AV_CQL_OP_RESULT, voidres, sizeof(voidres));
                if (np == 0)
                    f->reverse_after = 0;
            } else {
                answer(fd, stream, AV_CQL_OP_RESULT, voidres, sizeof(voidres));
            }
        }
    }
    close(fd);
    return NULL;
}

struct order {
    int seq[FAKE_N];
    int n;
    int failed;
};
struct tag {
    struct order *o;
    int i;
};

static void done_cb(void *ud, av_rc rc, const char *err)
{
    struct tag *t = ud;
    (void)err;
    if (rc != AV_OK)
        t->o->failed++;
    t->o->seq[t->o->n++] = t->i;
}

static void test_pipelined_session(void)
{
    struct sockaddr_in sa;
    socklen_t sl = sizeof(sa);
    struct fake f;
    pthread_t th;
    struct av_cql *c = NULL;
    struct av_cql_prepared *p = NULL;
    struct av_cql_opts o;
    struct order ord;
    struct tag tags[FAKE_N];
    char hosts[64], err[AV_ERRBUF_SIZE] = "";
    int distinct = 1, reversed = 1;

    memset(&f, 0, sizeof(f));
    memset(&ord, 0, sizeof(ord));
    f.reverse_after = 8;
    f.lfd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(bind(f.lfd, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(f.lfd, 1) == 0);
    getsockname(f.lfd, (struct sockaddr *)&sa, &sl);
    snprintf(hosts, sizeof(hosts), "127.0.0.1:%d", ntohs(sa.sin_port));
    pthread_create(&th, NULL, fake_main, &f);
    memset(&o, 0, sizeof(o));
    o.hosts = hosts;
    o.max_inflight = 8; /* the window: the 9th submit waits for answers */
    o.request_timeout_ms = 5000;
    CHECK(av_cql_connect(&c, &o, err) == AV_OK);
    if (c == NULL) {
        fprintf(stderr, "fake server: %s\n", err);
        goto out;
    }
    CHECK(av_cql_prepare(c, "INSERT INTO k.t (x) VALUES (?)", &p, err) == AV_OK);
    for (int i = 0; p != NULL && i < FAKE_N; i++) {
        struct av_cql_value v = av_cql_int(i);
        struct av_cql_batch_item it = {p, &v, 1};
        struct av_cql_op op = {AV_CQL_OP_EXEC, &it, 1, AV_CQL_ONE, 1};
        tags[i] = (struct tag){&ord, i};
        CHECK(av_cql_submit(c, &op, done_cb, &tags[i], err) == AV_OK);
        CHECK(av_cql_inflight(c) <= 8);
    }
    CHECK(av_cql_drain(c, err) == AV_OK && av_cql_inflight(c) == 0);
    CHECK(ord.n == FAKE_N && ord.failed == 0);
    /* the first 8 answered in reverse: each callback got its own answer */
    for (int i = 0; i < 8 && ord.n == FAKE_N; i++)
        reversed &= ord.seq[i] == 7 - i;
    CHECK(reversed);
    /* the first 8 in flight at once had 8 distinct stream ids; later ones reuse */
    for (int i = 0; i < 8; i++)
        for (int j = 0; j < i; j++)
            distinct &= f.streams[i] != f.streams[j] && f.streams[i] > 0;
    CHECK(distinct);
    CHECK(f.nstreams == FAKE_N && f.streams[FAKE_N - 1] <= 8); /* never beyond the window */
    {
        struct av_cql_op bad = {AV_CQL_OP_EXEC, NULL, 1, AV_CQL_ONE, 1};
        CHECK(av_cql_submit(c, &bad, done_cb, &tags[0], err) == AV_EINVAL);
    }
    av_cql_prepared_free(p);
out:
    av_cql_close(c);
    shutdown(f.lfd, SHUT_RDWR);
    close(f.lfd);
    pthread_join(th, NULL);
}

void suite_cql_ring(void)
{
    test_murmur3();
    test_tokens();
    test_ring();
    test_events();
    test_pipelined_session();
}
