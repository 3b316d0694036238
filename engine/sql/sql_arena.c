/*
 * sql_arena.c: the bump allocator that owns a query's AST, plan and
 * executor descriptors. Blocks grow geometrically (4 KiB to 1 MiB, or the
 * request when larger); everything is released by sql_arena_cleanup. The
 * ceiling (max_bytes) bounds what one query's structures can take.
 */
#include "strata/sql.h"

#include <stdlib.h>
#include <string.h>

struct sql_arena_block {
    struct sql_arena_block *next;
    size_t cap;
    size_t used;
    _Alignas(16) unsigned char data[];
};

void
sql_arena_init(struct sql_arena *a, size_t max_bytes)
{
    a->head = NULL;
    a->total_bytes = 0;
    a->max_bytes = max_bytes;
}

void
sql_arena_cleanup(struct sql_arena *a)
{
    struct sql_arena_block *b = a->head;
    while (b) {
        struct sql_arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
    a->total_bytes = 0;
}

void
sql_arena_reset(struct sql_arena *a)
{
    /* keep the newest (largest) block, free the rest */
    struct sql_arena_block *b = a->head;
    if (!b)
        return;
    struct sql_arena_block *rest = b->next;
    while (rest) {
        struct sql_arena_block *next = rest->next;
        a->total_bytes -= rest->cap;
        free(rest);
        rest = next;
    }
    b->next = NULL;
    b->used = 0;
}

void *
sql_arena_alloc(struct sql_arena *a, size_t n)
{
    if (n > SIZE_MAX / 2)
        return NULL;
    size_t need = (n + 15) & ~(size_t)15;
    if (need == 0)
        need = 16;
    struct sql_arena_block *b = a->head;
    if (!b || b->cap - b->used < need) {
        size_t cap = b ? b->cap * 2 : 4096;
        if (cap > (1u << 20))
            cap = 1u << 20;
        if (cap < need)
            cap = need;
        if (a->total_bytes + cap > a->max_bytes)
            return NULL;
        b = malloc(sizeof *b + cap);
        if (!b)
            return NULL;
        b->cap = cap;
        b->used = 0;
        b->next = a->head;
        a->head = b;
        a->total_bytes += cap;
    }
    void *p = b->data + b->used;
    b->used += need;
    memset(p, 0, n);
    return p;
}

char *
sql_arena_strndup(struct sql_arena *a, const char *s, size_t n)
{
    char *p = sql_arena_alloc(a, n + 1);
    if (!p)
        return NULL;
    if (n)
        memcpy(p, s, n);
    p[n] = '\0';
    return p;
}
