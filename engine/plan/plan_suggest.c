/*
 * plan_suggest.c: "did you mean ...?" for unknown tables, columns and
 * functions. The candidate with the smallest Levenshtein edit distance to
 * the misspelt name is suggested when the distance is at most a third of
 * the name's length (at least 1, at most 3); ties go to the earlier
 * candidate. Names longer than 64 bytes are not compared.
 */
#include "plan_int.h"

#include <string.h>

#define SUGGEST_MAX_LEN 64

static unsigned
edit_distance(const char *a, size_t na, const char *b, size_t nb)
{
    unsigned row[SUGGEST_MAX_LEN + 1];
    for (size_t j = 0; j <= nb; j++)
        row[j] = (unsigned)j;
    for (size_t i = 1; i <= na; i++) {
        unsigned diag = row[0];
        row[0] = (unsigned)i;
        for (size_t j = 1; j <= nb; j++) {
            unsigned up = row[j];
            unsigned best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[nb];
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
