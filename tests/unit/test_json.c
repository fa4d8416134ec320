/* test_json.c - the JSON layer: grammar checks, limits, unescaping. */
#include <stdlib.h>

#include "../../src/core/json.h"
#include "harness.h"

static av_rc parse(const char *s, int max_tokens, int max_depth)
{
    struct av_json j;
    av_rc rc;

    av_json_init(&j, max_tokens, max_depth);
    rc = av_json_parse(&j, s, strlen(s), NULL);
    av_json_free(&j);
    return rc;
}

void suite_json(void)
{
    struct av_json j;
    struct av_buf b;
    char err[AV_ERRBUF_SIZE];
    const char *doc = "{\"a\": [1, 2, {\"b\": \"x\"}], \"n\": null, \"s\": \"3\", \"t\": true,"
                      " \"u\": \"\\u00e5\\ud83d\\ude00\\n\", \"f\": 3.0, \"g\": 3.5}";
    int64_t v;
    size_t off;
    int flag, a;

    CHECK(parse(doc, 0, 0) == AV_OK);
    av_json_init(&j, 0, 0);
    av_buf_init(&b, 0);
    CHECK(av_json_parse(&j, doc, strlen(doc), err) == AV_OK);
    CHECK(av_json_type(&j, 0) == AV_JSON_OBJECT);
    a = av_json_get(&j, 0, "a");
    CHECK(av_json_type(&j, a) == AV_JSON_ARRAY);
    CHECK_INT(av_json_size(&j, a), 3);
    /* skip over the nested object to reach "n" */
    CHECK(av_json_type(&j, av_json_get(&j, 0, "n")) == AV_JSON_NULL);
    CHECK(av_json_int(&j, av_json_get(&j, 0, "s"), &v) == AV_OK && v == 3);
    CHECK(av_json_int(&j, av_json_get(&j, 0, "f"), &v) == AV_OK && v == 3);
    CHECK(av_json_int(&j, av_json_get(&j, 0, "g"), &v) == AV_EPARSE);
    CHECK(av_json_int(&j, av_json_get(&j, 0, "n"), &v) == AV_EPARSE);
    CHECK(av_json_int(&j, av_json_get(&j, 0, "missing"), &v) == AV_EPARSE);
    CHECK(av_json_bool(&j, av_json_get(&j, 0, "t"), &flag) == AV_OK && flag == 1);
    CHECK(av_json_str(&j, av_json_get(&j, 0, "u"), &b, &off) == AV_OK);
    CHECK_STR(b.data + off, "\xc3\xa5\xf0\x9f\x98\x80\n");
    CHECK(av_json_get(&j, a, "b") == -1); /* not an object */
    {
        int obj = av_json_first(a);
        obj = av_json_skip(&j, obj);
        obj = av_json_skip(&j, obj);
        CHECK(av_json_type(&j, obj) == AV_JSON_OBJECT);
        CHECK(av_json_str(&j, av_json_get(&j, obj, "b"), &b, &off) == AV_OK);
        CHECK_STR(b.data + off, "x");
    }
    /* invalid UTF-8 and lone surrogates become U+FFFD */
    {
        const char *bad = "[\"a\xff" "b\", \"\\ud800x\", \"\\u0000\"]";
        CHECK(av_json_parse(&j, bad, strlen(bad), err) == AV_OK);
        CHECK(av_json_str(&j, 1, &b, &off) == AV_OK);
        CHECK_STR(b.data + off, "a\xef\xbf\xbd" "b");
        CHECK(av_json_str(&j, 2, &b, &off) == AV_OK);
        CHECK_STR(b.data + off, "\xef\xbf\xbdx");
        CHECK(av_json_str(&j, 3, &b, &off) == AV_OK);
        CHECK_STR(b.data + off, "\xef\xbf\xbd");
    }
    av_json_free(&j);
    av_buf_free(&b);

    /* raw control bytes inside strings are refused (both scan paths: the
     * 16-byte SIMD loop and the tail), escapes and UTF-8 are not */
    CHECK(parse("[\"a\nb\"]", 0, 0) == AV_EPARSE);
    CHECK(parse("[\"0123456789abcdefghij\x01xyz0123456789\"]", 0, 0) == AV_EPARSE);
    CHECK(parse("[\"0123456789abcdefghij\x1fxyz0123456789\"]", 0, 0) == AV_EPARSE);
    CHECK(parse("[\"tab\there\"]", 0, 0) == AV_EPARSE);
    {
        struct av_json k;
        av_json_init(&k, 0, 0);
        CHECK(av_json_parse(&k, "[\"a\rb\"]", 7, err) == AV_EPARSE);
        CHECK(strstr(err, "raw control byte 0x0d inside a string at byte 3") != NULL);
        av_json_free(&k);
    }
    CHECK(parse("[\"a\\nb\\t\\u0001\"]", 0, 0) == AV_OK);
    CHECK(parse("[\"\x7f s\xc3\xb8r-tr\xc3\xb8ndelag \xc3\xa6\xc3\xb8\xc3\xa5 \xe2\x82\xac\"]", 0, 0) == AV_OK);
    {
        struct av_json k;
        const char *nul = "[\"0123456789abcdef\0zz\"]";
        av_json_init(&k, 0, 0);
        CHECK(av_json_parse(&k, nul, 23, err) == AV_EPARSE);
        CHECK(strstr(err, "NUL byte at offset 18") != NULL);
        av_json_free(&k);
    }

    /* malformed documents are errors, never crashes */
    CHECK(parse("[1, 2", 0, 0) == AV_EPARSE);          /* truncated */
    CHECK(parse("[\"abc", 0, 0) == AV_EPARSE);         /* truncated string */
    CHECK(parse("[1] x", 0, 0) == AV_EPARSE);          /* trailing garbage */
    CHECK(parse("[1] [2]", 0, 0) == AV_EPARSE);        /* two roots */
    CHECK(parse("[tru]", 0, 0) == AV_EPARSE);          /* bad literal */
    CHECK(parse("[01]", 0, 0) == AV_EPARSE);           /* bad number */
    CHECK(parse("[1.]", 0, 0) == AV_EPARSE);
    CHECK(parse("[-]", 0, 0) == AV_EPARSE);
    CHECK(parse("{\"a\" 1}", 0, 0) == AV_EPARSE);      /* missing colon */
    CHECK(parse("{1: 2}", 0, 0) == AV_EPARSE);         /* non-string key */
    CHECK(parse("{\"a\"}", 0, 0) == AV_EPARSE);        /* key without value */
    CHECK(parse("[1}", 0, 0) == AV_EPARSE);            /* mismatched */
    CHECK(parse("]", 0, 0) == AV_EPARSE);
    CHECK(parse("", 0, 0) == AV_EPARSE);
    CHECK(parse("   ", 0, 0) == AV_EPARSE);
    CHECK(parse("<html>502 Bad Gateway</html>", 0, 0) == AV_EPARSE);
    CHECK(parse("[\"\\x\"]", 0, 0) == AV_EPARSE);      /* bad escape */
    CHECK(parse("[1,]", 0, 0) == AV_EPARSE);           /* trailing comma */
    CHECK(parse("{\"a\":1,}", 0, 0) == AV_EPARSE);
    CHECK(parse("[,1]", 0, 0) == AV_EPARSE);
    CHECK(parse("[1 2]", 0, 0) == AV_EPARSE);          /* missing comma */
    CHECK(parse("{\"a\":1 \"b\":2}", 0, 0) == AV_EPARSE);
    CHECK(parse("{\"a\"::1}", 0, 0) == AV_EPARSE);
    CHECK(parse("{\"a\":}", 0, 0) == AV_EPARSE);
    CHECK(parse("{:1}", 0, 0) == AV_EPARSE);
    CHECK(parse("[\"a\":1]", 0, 0) == AV_EPARSE);      /* colon in array */
    CHECK(parse("[\"abc\\", 0, 0) == AV_EPARSE);       /* ends in an escape */
    CHECK(parse("[\"\\u12\"]", 0, 0) == AV_EPARSE);    /* short \u */
    CHECK(parse("[1]]", 0, 0) == AV_EPARSE);
    CHECK(parse("{\"a\":[1,{\"b\":null}],\"c\":\"\\\"}\"}", 0, 0) == AV_OK);
    CHECK(parse(" [ 1 , { \"a\" : true } ] ", 0, 0) == AV_OK); /* whitespace */
    CHECK(parse("\"just a string\"", 0, 0) == AV_OK);  /* scalar roots are JSON */
    CHECK(parse("-0.5e+3", 0, 0) == AV_OK);
    CHECK(parse("[\"\\u12G4\"]", 0, 0) == AV_EPARSE);
    {
        const char nul[] = "[1,\0 2]";
        av_json_init(&j, 0, 0);
        CHECK(av_json_parse(&j, nul, sizeof(nul) - 1, NULL) == AV_EPARSE);
        av_json_free(&j);
    }
    /* ceilings: depth and token count */
    {
        char deep[300];
        memset(deep, '[', 100);
        memset(deep + 100, ']', 100);
        deep[200] = '\0';
        CHECK(parse(deep, 0, 64) == AV_ELIMIT);
        CHECK(parse(deep, 0, 128) == AV_OK);
        CHECK(parse("[1,2,3,4,5,6,7,8,9,10]", 1024, 0) == AV_OK);
    }
    {
        size_t n = 5000 * 2 + 2;
        char *many = malloc(n + 1);
        many[0] = '[';
        for (size_t i = 0; i < 5000; i++) {
            many[1 + 2 * i] = '1';
            many[2 + 2 * i] = i + 1 < 5000 ? ',' : ']';
        }
        many[10001] = '\0';
        CHECK(parse(many, 1024, 0) == AV_ELIMIT);
        CHECK(parse(many, 8192, 0) == AV_OK);
        free(many);
    }
    /* quoting for output */
    av_buf_init(&b, 0);
    CHECK(av_json_quote(&b, "a\"b\\c\n\x01") == AV_OK);
    CHECK_STR(b.data, "\"a\\\"b\\\\c\\n\\u0001\"");
    av_buf_free(&b);
}
