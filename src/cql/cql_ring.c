/* cql_ring.c - see cql_ring.h: Cassandra's Murmur3 token, routing keys,
 * token strings, keyspace replication maps, the ring and its replicas,
 * EVENT bodies and inet cells. Pure functions, fuzzed. */
#include "cql_ring.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cql_frame.h"

/* ---- Murmur3 (org.apache.cassandra.utils.MurmurHash.hash3_x64_128) ---- */

static uint64_t rotl64(uint64_t v, int n)
{
    return (v << n) | (v >> (64 - n));
}

static uint64_t fmix(uint64_t k)
{
    k ^= k >> 33;
    k *= UINT64_C(0xff51afd7ed558ccd);
    k ^= k >> 33;
    k *= UINT64_C(0xc4ceb9fe1a85ec53);
    k ^= k >> 33;
    return k;
}

static uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;

    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* Java's (long) of a byte: sign-extended. */
static uint64_t sx(uint8_t b)
{
    return (uint64_t)(int64_t)(int8_t)b;
}

int64_t av_cql_murmur3(const void *key, size_t len)
{
    const uint8_t *p = key;
    const uint64_t c1 = UINT64_C(0x87c37b91114253d5), c2 = UINT64_C(0x4cf5ad432745937f);
    uint64_t h1 = 0, h2 = 0, k1 = 0, k2 = 0;
    size_t nblocks = len / 16;
    int64_t t;

    for (size_t i = 0; i < nblocks; i++) {
        k1 = le64(p + i * 16);
        k2 = le64(p + i * 16 + 8);
        k1 *= c1;
        k1 = rotl64(k1, 31);
        k1 *= c2;
        h1 ^= k1;
        h1 = rotl64(h1, 27);
        h1 += h2;
        h1 = h1 * 5 + 0x52dce729;
        k2 *= c2;
        k2 = rotl64(k2, 33);
        k2 *= c1;
        h2 ^= k2;
        h2 = rotl64(h2, 31);
        h2 += h1;
        h2 = h2 * 5 + 0x38495ab5;
    }
    p += nblocks * 16;
    k1 = k2 = 0;
    switch (len & 15) {
    case 15: k2 ^= sx(p[14]) << 48; /* fall through */
    case 14: k2 ^= sx(p[13]) << 40; /* fall through */
    case 13: k2 ^= sx(p[12]) << 32; /* fall through */
    case 12: k2 ^= sx(p[11]) << 24; /* fall through */
    case 11: k2 ^= sx(p[10]) << 16; /* fall through */
    case 10: k2 ^= sx(p[9]) << 8;   /* fall through */
    case 9:
        k2 ^= sx(p[8]);
        k2 *= c2;
        k2 = rotl64(k2, 33);
        k2 *= c1;
        h2 ^= k2;
        /* fall through */
    case 8: k1 ^= sx(p[7]) << 56; /* fall through */
    case 7: k1 ^= sx(p[6]) << 48; /* fall through */
    case 6: k1 ^= sx(p[5]) << 40; /* fall through */
    case 5: k1 ^= sx(p[4]) << 32; /* fall through */
    case 4: k1 ^= sx(p[3]) << 24; /* fall through */
    case 3: k1 ^= sx(p[2]) << 16; /* fall through */
    case 2: k1 ^= sx(p[1]) << 8;  /* fall through */
    case 1:
        k1 ^= sx(p[0]);
        k1 *= c1;
        k1 = rotl64(k1, 31);
        k1 *= c2;
        h1 ^= k1;
        break;
    default:
        break;
    }
    h1 ^= (uint64_t)len;
    h2 ^= (uint64_t)len;
    h1 += h2;
    h2 += h1;
    h1 = fmix(h1);
    h2 = fmix(h2);
    h1 += h2;
    memcpy(&t, &h1, sizeof(t));
    return t == INT64_MIN ? INT64_MAX : t;
}

/* ---- tokens and routing keys ------------------------------------------- */

av_rc av_cql_token_parse(const char *s, size_t n, int64_t *out, char *errbuf)
{
    uint64_t v = 0, lim;
    size_t i = 0;
    int neg = 0;

    if (n > 0 && s[0] == '-') {
        neg = 1;
        i = 1;
    }
    if (i == n || n - i > 19)
        goto bad;
    lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            goto bad;
        if (v > (lim - (uint64_t)(s[i] - '0')) / 10)
            goto bad;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (neg)
        *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
    else
        *out = (int64_t)v;
    return AV_OK;
bad:
    return av_fail(errbuf, AV_EPARSE, "cassandra: bad token \"%.*s\"", (int)(n > 40 ? 40 : n),
                   s);
}

av_rc av_cql_routing_key(struct av_buf *out, const struct av_cql_value *vals, int n,
                         const uint16_t *pk, int npk, char *errbuf)
{
    struct av_cql_w w;
    av_rc rc = AV_OK;

    if (npk < 1)
        return av_fail(errbuf, AV_EINVAL, "cassandra: no partition key");
    av_cql_w_init(&w, 0);
    for (int i = 0; i < npk && rc == AV_OK; i++) {
        const uint8_t *b;
        size_t len;

        if (pk[i] >= n || vals[pk[i]].type == AV_CQL_NULL || vals[pk[i]].type == AV_CQL_UNSET) {
            rc = av_fail(errbuf, AV_EINVAL, "cassandra: partition key value %d missing", i);
            break;
        }
        av_cql_w_begin(&w, AV_CQL_OP_EXECUTE, 0);
        av_cql_put_value(&w, &vals[pk[i]]);
        if ((rc = av_cql_w_end(&w)) != AV_OK) {
            av_fail(errbuf, rc, "cassandra: partition key value %d not encodable", i);
            break;
        }
        b = av_cql_w_body(&w, &len);
        if (len < 4) {
            rc = av_fail(errbuf, AV_EINVAL, "cassandra: empty partition key value");
            break;
        }
        b += 4;
        len -= 4;
        if (npk == 1) {
            rc = av_buf_append(out, b, len);
        } else if (len > 65535) {
            rc = av_fail(errbuf, AV_EINVAL, "cassandra: partition key component too long");
        } else {
            uint8_t hdr[2] = {(uint8_t)(len >> 8), (uint8_t)len}, eoc = 0;
            if ((rc = av_buf_append(out, hdr, 2)) == AV_OK &&
                (rc = av_buf_append(out, b, len)) == AV_OK)
                rc = av_buf_append(out, &eoc, 1);
        }
    }
    av_cql_w_free(&w);
    return rc;
}

/* ---- replication ------------------------------------------------------- */

/* The map cell: [int] n, n x ([bytes] key, [bytes] value), each non-null. */
av_rc av_cql_repl_decode(const uint8_t *p, size_t n, struct av_cql_repl *out, char *errbuf)
{
    struct av_cql_rd r;
    int32_t count;
    int simple = -1;
    av_rc rc;

    memset(out, 0, sizeof(*out));
    av_cql_rd_init(&r, p, n, errbuf);
    if ((rc = av_cql_rd_int(&r, &count, "replication map size")) != AV_OK)
        return rc;
    if (count < 0 || (size_t)count > n / 8)
        return av_fail(errbuf, AV_EPARSE, "malformed replication map: %ld entries",
                       (long)count);
    for (int32_t i = 0; i < count; i++) {
        const uint8_t *k, *v;
        int32_t kl, vl;
        char num[16];
        long rf;
        char *end;

        if ((rc = av_cql_rd_bytes(&r, &k, &kl, "replication key")) != AV_OK ||
            (rc = av_cql_rd_bytes(&r, &v, &vl, "replication value")) != AV_OK)
            return rc;
        if (kl < 0 || vl < 0)
            return av_fail(errbuf, AV_EPARSE, "malformed replication map: null entry");
        if (kl == 5 && memcmp(k, "class", 5) == 0) {
            const char *cls = (const char *)v;
            size_t cl = (size_t)vl;
            /* "org.apache.cassandra.locator.SimpleStrategy" or the short name */
            const char *dot = memrchr(cls, '.', cl);
            if (dot) {
                cl -= (size_t)(dot + 1 - cls);
                cls = dot + 1;
            }
            if (cl == 14 && memcmp(cls, "SimpleStrategy", 14) == 0)
                simple = 1;
            else if (cl == 23 && memcmp(cls, "NetworkTopologyStrategy", 23) == 0)
                simple = 0;
            else
                return av_fail(errbuf, AV_EINVAL, "replication class %.*s: not routed by token",
                               (int)(cl > 60 ? 60 : cl), cls);
            continue;
        }
        if (vl == 0 || vl >= (int32_t)sizeof(num))
            continue; /* not a number: e.g. a future option */
        memcpy(num, v, (size_t)vl);
        num[vl] = '\0';
        rf = strtol(num, &end, 10);
        if (*end != '\0' || rf < 0 || rf > 1000)
            continue; /* "3/1" (transient replicas) and other forms: not a plain count */
        if (kl == 18 && memcmp(k, "replication_factor", 18) == 0) {
            out->rf = (int)rf;
        } else if (out->ndc < AV_CQL_MAX_DCS && kl > 0 && kl < 64) {
            memcpy(out->dc[out->ndc], k, (size_t)kl);
            out->dc[out->ndc][kl] = '\0';
            out->dcrf[out->ndc++] = (int)rf;
        }
    }
    if (simple < 0)
        return av_fail(errbuf, AV_EPARSE, "malformed replication map: no class");
    out->simple = simple;
    if (simple && out->rf < 1)
        return av_fail(errbuf, AV_EPARSE, "SimpleStrategy without replication_factor");
    if (!simple) {
        out->rf = 0;
        for (int i = 0; i < out->ndc; i++)
            out->rf += out->dcrf[i];
    }
    return AV_OK;
}

/* ---- the ring ---------------------------------------------------------- */

static int cmp_entry(const void *a, const void *b)
{
    const struct av_cql_ring_entry *x = a, *y = b;

    if (x->token != y->token)
        return x->token < y->token ? -1 : 1;
    return x->node - y->node;
}

void av_cql_ring_set(struct av_cql_ring *r, struct av_cql_ring_entry *e, int n)
{
    free(r->e);
    r->e = e;
    r->n = n;
    if (n > 1)
        qsort(e, (size_t)n, sizeof(*e), cmp_entry);
}

void av_cql_ring_free(struct av_cql_ring *r)
{
    free(r->e);
    r->e = NULL;
    r->n = 0;
}

int av_cql_ring_replicas(const struct av_cql_ring *r, int64_t t, const struct av_cql_repl *rep,
                         const char *const *node_dc, int nnodes, int *out, int max)
{
    int lo = 0, hi = r->n, got = 0, want = rep->simple ? rep->rf : 0;
    int taken[AV_CQL_MAX_DCS] = {0};

    if (r->n == 0 || max < 1)
        return 0;
    if (!rep->simple)
        for (int d = 0; d < rep->ndc; d++)
            want += rep->dcrf[d];
    if (want > max)
        want = max;
    while (lo < hi) { /* first entry with token >= t */
        int mid = lo + (hi - lo) / 2;
        if (r->e[mid].token < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (int k = 0; k < r->n && got < want; k++) {
        int node = r->e[(lo + k) % r->n].node, dup = 0, d = -1;

        if (node < 0 || node >= nnodes)
            continue;
        for (int j = 0; j < got && !dup; j++)
            dup = out[j] == node;
        if (dup)
            continue;
        if (!rep->simple) {
            for (int i = 0; i < rep->ndc && d < 0; i++)
                if (node_dc[node] && strcmp(node_dc[node], rep->dc[i]) == 0)
                    d = i;
            if (d < 0 || taken[d] >= rep->dcrf[d])
                continue;
            taken[d]++;
        }
        out[got++] = node;
    }
    return got;
}

/* ---- events and inet ----------------------------------------------------- */

av_rc av_cql_inet_format(const uint8_t *p, size_t n, char *out, size_t cap, char *errbuf)
{
    char tmp[INET6_ADDRSTRLEN];

    if ((n != 4 && n != 16) || inet_ntop(n == 4 ? AF_INET : AF_INET6, p, tmp, sizeof(tmp)) ==
                                   NULL)
        return av_fail(errbuf, AV_EPARSE, "malformed inet of %zu bytes", n);
    snprintf(out, cap, "%s", tmp);
    return AV_OK;
}

static av_rc rd_fixed_string(struct av_cql_rd *r, char *out, size_t cap, const char *what)
{
    const char *s;
    size_t n;
    av_rc rc;

    if ((rc = av_cql_rd_string(r, &s, &n, what)) != AV_OK)
        return rc;
    snprintf(out, cap, "%.*s", (int)(n >= cap ? cap - 1 : n), s);
    return AV_OK;
}

av_rc av_cql_event_decode(const uint8_t *p, size_t n, struct av_cql_event *ev, char *errbuf)
{
    struct av_cql_rd r;
    char type[32];
    const uint8_t *a;
    uint8_t alen;
    int32_t port;
    av_rc rc;

    memset(ev, 0, sizeof(*ev));
    av_cql_rd_init(&r, p, n, errbuf);
    if ((rc = rd_fixed_string(&r, type, sizeof(type), "event type")) != AV_OK ||
        (rc = rd_fixed_string(&r, ev->change, sizeof(ev->change), "event change")) != AV_OK)
        return rc;
    if (strcmp(type, "SCHEMA_CHANGE") == 0) {
        ev->kind = AV_CQL_EV_SCHEMA;
        return AV_OK;
    }
    if (strcmp(type, "TOPOLOGY_CHANGE") == 0)
        ev->kind = AV_CQL_EV_TOPOLOGY;
    else if (strcmp(type, "STATUS_CHANGE") == 0)
        ev->kind = AV_CQL_EV_STATUS;
    else
        return av_fail(errbuf, AV_EPARSE, "unknown event type %s", type);
    if ((rc = av_cql_rd_byte(&r, &alen, "event address size")) != AV_OK ||
        (rc = av_cql_rd_raw(&r, alen, &a, "event address")) != AV_OK ||
        (rc = av_cql_rd_int(&r, &port, "event port")) != AV_OK)
        return rc;
    if (port < 0 || port > 65535)
        return av_fail(errbuf, AV_EPARSE, "event port %ld", (long)port);
    ev->port = port;
    return av_cql_inet_format(a, alen, ev->addr, sizeof(ev->addr), errbuf);
}
