/* pool.c - the string pool (see pool.h). */
#include "pool.h"

#include <stdlib.h>
#include <string.h>

struct av_pool_block {
    struct av_pool_block *next;
    size_t used, cap;
    char data[];
};

const char *av_pool_dup(struct av_pool *p, const char *s, size_t n)
{
    struct av_pool_block *b;

    if (s == NULL)
        return NULL;
    b = p->head;
    if (b == NULL || b->cap - b->used < n + 1) {
        size_t cap = n + 1 > 65536 ? n + 1 : 65536;
        b = malloc(sizeof(*b) + cap);
        if (b == NULL) {
            p->oom = 1;
            return NULL;
        }
        b->next = p->head;
        b->used = 0;
        b->cap = cap;
        p->head = b;
    }
    memcpy(b->data + b->used, s, n);
    b->data[b->used + n] = '\0';
    b->used += n + 1;
    return b->data + b->used - n - 1;
}

void av_pool_reset(struct av_pool *p)
{
    while (p->head && p->head->next) {
        struct av_pool_block *next = p->head->next;
        free(p->head);
        p->head = next;
    }
    if (p->head)
        p->head->used = 0;
    p->oom = 0;
}

void av_pool_free(struct av_pool *p)
{
    av_pool_reset(p);
    free(p->head);
    p->head = NULL;
}
