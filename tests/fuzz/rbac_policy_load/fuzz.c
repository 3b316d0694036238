/*
 * rbac_policy_load: fuzzes rbac_policy_load (the policy file). Whatever
 * loads must describe, load again, and describe to the same bytes, and must
 * answer rbac_check without crashing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rbac_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rbac_snapshot *s = NULL, *s2 = NULL;
    struct rbac_load_report *rep = malloc(sizeof *rep);
    if (rbac_policy_load(data, size, NULL, 0, &s, rep, NULL) != ST_OK) {
        if (s)
            abort();
        free(rep);
        return 0;
    }
    if (rep->n_errors)
        abort();
    struct st_buf a, b;
    st_buf_init(&a, 1u << 26);
    st_buf_init(&b, 1u << 26);
    if (rbac_policy_describe(s, &a, NULL) != ST_OK)
        abort();
    if (rbac_policy_load(a.data, a.len, NULL, 0, &s2, rep, NULL) != ST_OK)
        abort();
    if (rbac_policy_describe(s2, &b, NULL) != ST_OK)
        abort();
    if (a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
        abort();
    /* decisions over every token principal and privilege */
    for (size_t i = 0; i < s->n_tokens; i++) {
        struct rbac_principal p;
        rbac_principal_init(&p);
        if (rbac_principal_for_token(s, s->tokens[i]->id, &p, NULL) != ST_OK)
            abort();
        for (int k = 0; k < RBAC_PRIV__COUNT; k++) {
            struct rbac_decision d;
            rbac_check(s, &p, (enum rbac_priv)k, NULL, s->n_dbs ? s->dbs[0].name : "x", &d);
            rbac_check(s, &p, (enum rbac_priv)k, NULL, NULL, &d);
        }
        rbac_principal_cleanup(&p);
    }
    st_buf_cleanup(&a);
    st_buf_cleanup(&b);
    rbac_snapshot_unref(s);
    rbac_snapshot_unref(s2);
    free(rep);
    return 0;
}
