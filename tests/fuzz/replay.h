/* replay.h - main() for the replay builds of the fuzz targets: feeds each
 * file named on the command line to LLVMFuzzerTestOneInput once, in a
 * buffer of exactly its size (as libFuzzer does). Included
 * by a target after its LLVMFuzzerTestOneInput when AV_FUZZ_REPLAY is
 * defined; AV_FUZZ_NAME names it in the closing "N passed, 0 failed" line
 * (an input that returns without a sanitizer abort has passed). */
#ifndef AV_FUZZ_REPLAY_H
#define AV_FUZZ_REPLAY_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    int done = 0;

    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        long n;
        uint8_t *buf;

        if (f == NULL) {
            perror(argv[i]);
            return 2;
        }
        fseek(f, 0, SEEK_END);
        n = ftell(f);
        fseek(f, 0, SEEK_SET);
        /* exactly n bytes, as libFuzzer gives them: a one-byte over-read
         * is an ASan error here too (malloc(0) may be NULL: 1 byte then,
         * of which none is passed) */
        buf = malloc(n > 0 ? (size_t)n : 1);
        if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
            fprintf(stderr, "cannot read %s\n", argv[i]);
            return 2;
        }
        fclose(f);
        LLVMFuzzerTestOneInput(buf, (size_t)n);
        free(buf);
        done++;
    }
    printf("%s: %d passed, 0 failed\n", AV_FUZZ_NAME, done);
    return 0;
}

#endif
