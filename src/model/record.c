/* record.c - the aspect codec shared by the transform, the sinks and the
 * export (see record.h). Pure; bad input gives AV_NULL_INT. */
#include "record.h"

#include <string.h>

const char *const av_aspect_names[8] = {"N", "NE", "E", "SE", "S", "SW", "W", "NW"};

int av_aspects_from_raw(const char *raw)
{
    int m = 0;

    if (raw == NULL || strlen(raw) != 8)
        return AV_NULL_INT;
    for (int i = 0; i < 8; i++) {
        if (raw[i] == '1')
            m |= 1 << i;
        else if (raw[i] != '0')
            return AV_NULL_INT;
    }
    return m;
}

void av_aspects_format(int mask, char out[AV_ASPECTS_TEXT_LEN])
{
    size_t n = 0;

    for (int i = 0; i < 8; i++) {
        size_t l;
        if (!(mask & (1 << i)))
            continue;
        if (n)
            out[n++] = ',';
        l = strlen(av_aspect_names[i]);
        memcpy(out + n, av_aspect_names[i], l);
        n += l;
    }
    out[n] = '\0';
}

int av_aspects_parse(const char *text, size_t len)
{
    int m = 0;

    for (size_t i = 0; i < len;) {
        size_t l = 0;
        int a;
        while (i + l < len && text[i + l] != ',')
            l++;
        for (a = 0; a < 8; a++)
            if (strlen(av_aspect_names[a]) == l && memcmp(av_aspect_names[a], text + i, l) == 0)
                break;
        if (a == 8)
            return AV_NULL_INT;
        m |= 1 << a;
        i += l + 1;
    }
    return m;
}
