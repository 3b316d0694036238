/*
 * plan_suggest.c: "did you mean ...?" for unknown tables, columns and
 * functions. The candidate with the smallest Levenshtein edit distance to
 * the misspelt name (a transposition of two neighbours counts as one edit)
 * is suggested when the distance is at most a third of
 * the name's length (at least 1, at most 3); ties go to the earlier
 * candidate. Names longer than 64 bytes are not compared.
 */
#include "plan_int.h"

#include <string.h>

#define SUGGEST_MAX_LEN 64

/* Optimal string alignment distance: insertions, deletions, substitutions
 * and transpositions of adjacent bytes each cost 1. */
static unsigned
edit_distance(const char *a, size_t na, const char *b, size_t nb)
{
    unsigned rows[3][SUGGEST_MAX_LEN + 1];
    unsigned *pp = rows[0], *prev = rows[1], *cur = rows[2];
    for (size_t j = 0; j <= nb; j++)
        prev[j] = (unsigned)j;
    for (size_t i = 1; i <= na; i++) {
        cur[0] = (unsigned)i;
        for (size_t j = 1; j <= nb; j++) {
            unsigned best = prev[j - 1] + (a[i - 1] != b[j - 1]);
            if (prev[j] + 1 < best)
                best = prev[j] + 1;
            if (cur[j - 1] + 1 < best)
                best = cur[j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                pp[j - 2] + 1 < best)
                best = pp[j - 2] + 1;
            cur[j] = best;
        }
        unsigned *t = pp;
        pp = prev;
        prev = cur;
        cur = t;
    }
    return prev[nb];
}

const char *
plan__suggest(const char *name, const char *const *cands, uint32_t n)
{
    size_t nl = strlen(name);
    if (nl == 0 || nl > SUGGEST_MAX_LEN)
        return NULL;
    unsigned limit = (unsigned)(nl / 3);
    if (limit < 1)
        limit = 1;
    if (limit > 3)
        limit = 3;
    const char *best = NULL;
    unsigned best_d = limit + 1;
    for (uint32_t i = 0; i < n; i++) {
        size_t cl = strlen(cands[i]);
        if (cl > SUGGEST_MAX_LEN || strcmp(cands[i], name) == 0)
            continue;
        size_t diff = cl > nl ? cl - nl : nl - cl;
        if (diff > limit)
            continue;
        unsigned d = edit_distance(name, nl, cands[i], cl);
        if (d < best_d) {
            best_d = d;
            best = cands[i];
        }
    }
    return best;
}
