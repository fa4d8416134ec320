/* fuzz_ingest.c - fuzz target: bytes -> JSON tokenizer -> transform of
 * every element (and of the root when it is an object). Everything the
 * network can hand the pipeline goes through this path before the store.
 *
 * libFuzzer:  make fuzz            (clang, -fsanitize=fuzzer,address,undefined)
 * Replay:     built with -DAV_FUZZ_REPLAY, main() feeds each file named on
 *             the command line; tests/fuzz/run-corpus replays the corpus
 *             (and the recorded fixtures) under ASan/UBSan on every test run. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "../../src/core/json.h"
#include "../../src/transforms/warning.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct av_json j;
    static struct av_xform x;
    static struct av_warning w;
    static int ready;
    char err[AV_ERRBUF_SIZE];

    if (!ready) {
        av_json_init(&j, 1 << 16, 32);
        av_xform_init(&x);
        ready = 1;
    }
    if (av_json_parse(&j, (const char *)data, size, err) != AV_OK)
        return 0;
    if (av_json_type(&j, 0) == AV_JSON_OBJECT) {
        av_xform_warning(&x, &j, 0, 1, &w, err);
    } else if (av_json_type(&j, 0) == AV_JSON_ARRAY) {
        int n = av_json_size(&j, 0), e = av_json_first(0);
        for (int i = 0; i < n; i++, e = av_json_skip(&j, e))
            av_xform_warning(&x, &j, e, 2, &w, err);
    }
    return 0;
}

#ifdef AV_FUZZ_REPLAY
#define AV_FUZZ_NAME "fuzz-replay"
#include "replay.h"
#endif
