/*
 * test_policy.c: decisions and guard rails (security-anchors.md s. 2.3): the
 * full role matrix (every principal kind x every privilege), write without
 * read, management tokens without data, tenant isolation, indistinguishable
 * denials, escalation attempts, last Owner, database deletion, MFA gating,
 * listings and dry-run.
 */
#include "tu.h"

#include <stdlib.h>

#define P(x) (RBAC_PRIV_##x)
static const enum rbac_priv privs[] = {P(HEALTH),       P(WHOAMI),     P(QUERY),
                                       P(WRITE),        P(DB_LIST),    P(DB_CREATE),
                                       P(DB_DELETE),    P(TOKEN_CREATE), P(TOKEN_LIST),
                                       P(TOKEN_REVOKE), P(ROLE_GRANT), P(ROLE_LIST),
                                       P(AUDIT_READ),   P(TENANT_ADMIN), P(METRICS)};
#undef P

static void
row(const struct rbac_snapshot *s, const struct rbac_principal *p, const char *tenant,
    const char *db, const char *want, const char *who)
{
    for (size_t i = 0; i < sizeof privs / sizeof *privs; i++) {
        struct rbac_decision d;
        enum rbac_reason r = rbac_check(s, p, privs[i], tenant, db, &d);
        if ((r == RBAC_OK) != (want[i] == '1'))
            th_fail(__FILE__, __LINE__, "%s %s on %s: got %s (%s)", who, rbac_priv_name(privs[i]),
                    db ? db : "-", rbac_reason_name(r), d.text);
        ASSERT_EQ_INT(d.reason, r);
    }
}

TEST(policy_role_matrix_on_a_database)
{
    struct tu_fx fx;
    tu_fx_init(&fx);
    /*                                      H W Q W L C D T T T R R A T M */
    row(fx.s, &fx.op, NULL, "metrics",        "111111111111111", "operator");
    row(fx.s, &fx.mgmt, NULL, "metrics",      "110011111111100", "management");
    row(fx.s, &fx.owner_tok, NULL, "metrics", "111110111111000", "owner token");
    row(fx.s, &fx.read_tok, NULL, "metrics",  "111010000000000", "read token");
    row(fx.s, &fx.write_tok, NULL, "metrics", "110110000000000", "write token");
    row(fx.s, &fx.rw_tok, NULL, "metrics",    "111110000000000", "rw token");
    row(fx.s, &fx.star_tok, NULL, "metrics",  "111110000000000", "star token");
    row(fx.s, &fx.beta_read, NULL, "metrics", "111010000000000", "beta token at home");
    row(fx.s, &fx.alice, NULL, "metrics",     "111110111111000", "alice (owner)");
    row(fx.s, &fx.bob, NULL, "metrics",       "111010000000000", "bob (read)");
    row(fx.s, &fx.carol, NULL, "metrics",     "110110000000000", "carol (group write)");
    row(fx.s, &fx.dave, NULL, "metrics",      "110011111111100", "dave (tenant admin)");
    row(fx.s, &fx.eve, NULL, "metrics",       "110010000000000", "eve (nothing)");
    /* the other database of the tenant: only "*" and administrators reach it */
    row(fx.s, &fx.owner_tok, NULL, "logs",    "110010000000000", "owner token on logs");
    row(fx.s, &fx.star_tok, NULL, "logs",     "111110000000000", "star token on logs");
    row(fx.s, &fx.alice, NULL, "logs",        "110010000000000", "alice on logs");
    row(fx.s, &fx.mgmt, NULL, "logs",         "110011111111100", "management on logs");
    /* tenant-level forms of the db-or-tenant privileges (no database) */
    row(fx.s, &fx.mgmt, NULL, NULL,           "110011011111100", "management (tenant)");
    row(fx.s, &fx.owner_tok, NULL, NULL,      "110010000000000", "owner token (tenant)");
    row(fx.s, &fx.alice, NULL, NULL,          "110010000000000", "alice (tenant)");
    row(fx.s, &fx.dave, NULL, NULL,           "110011011111100", "dave (tenant)");
    tu_fx_cleanup(&fx);
}

TEST(policy_write_does_not_imply_read)
{
    struct tu_fx fx;
    tu_fx_init(&fx);
    struct rbac_decision d;
    ASSERT_EQ_INT(rbac_check(fx.s, &fx.write_tok, RBAC_PRIV_QUERY, NULL, "metrics", &d),
                  RBAC_DENY_PRIVILEGE);
    ASSERT_CONTAINS(d.text, "write does not imply read");
    ASSERT_EQ_INT(rbac_check(fx.s, &fx.read_tok, RBAC_PRIV_WRITE, NULL, "metrics", &d),
                  RBAC_DENY_PRIVILEGE);
    ASSERT_EQ_INT(rbac_check(fx.s, &fx.mgmt, RBAC_PRIV_QUERY, NULL, "metrics", &d),
                  RBAC_DENY_NO_DATA);
    ASSERT_EQ_INT(rbac_check(fx.s, &fx.mgmt, RBAC_PRIV_WRITE, NULL, "metrics", &d),
                  RBAC_DENY_NO_DATA);
    ASSERT_EQ_INT(rbac_check(fx.s, &fx.dave, RBAC_PRIV_QUERY, NULL, "metrics", &d),
                  RBAC_DENY_NO_DATA);
    tu_fx_cleanup(&fx);
}

/* Replace every occurrence of `a` in s by `b` (same length not required). */
static void
subst(char *s, size_t cap, const char *a, const char *b)
{
    char tmp[512];
    char *p = strstr(s, a);
    if (!p)
        return;
    snprintf(tmp, sizeof tmp, "%.*s%s%s", (int)(p - s), s, b, p + strlen(a));
    snprintf(s, cap, "%s", tmp);
}

TEST(policy_missing_and_forbidden_databases_look_the_same)
{
    struct tu_fx fx;
    tu_fx_init(&fx);
    struct rbac_principal *ps[] = {&fx.read_tok, &fx.write_tok, &fx.owner_tok, &fx.alice,
                                   &fx.bob,      &fx.eve,       &fx.beta_read};
    for (size_t i = 0; i < sizeof ps / sizeof *ps; i++)
        for (size_t k = 0; k < sizeof privs / sizeof *privs; k++) {
            if (rbac_priv_scope(privs[k]) != RBAC_SCOPE_DATABASE &&
                rbac_priv_scope(privs[k]) != RBAC_SCOPE_DB_OR_TENANT)
                continue;
            struct rbac_decision a, b;
            /* "logs" exists in acme; "nosuchdb" exists nowhere; for beta's token, "logs"
             * does not exist in its tenant either */
            enum rbac_reason ra = rbac_check(fx.s, ps[i], privs[k], NULL, "logs", &a);
            enum rbac_reason rb = rbac_check(fx.s, ps[i], privs[k], NULL, "nosuchdb", &b);
            if (ps[i] == &fx.star_tok)
                continue;
            ASSERT_TRUE(ra != RBAC_OK);
            ASSERT_EQ_INT(ra, rb);
            subst(b.text, sizeof b.text, "nosuchdb", "logs");
            ASSERT_EQ_STR(a.text, b.text);
        }
    tu_fx_cleanup(&fx);
}

TEST(policy_tenants_are_isolated)
{
    struct tu_fx fx;
    tu_fx_init(&fx);
    struct rbac_decision d;
    /* beta's read token names acme (same database name exists there) */
    for (size_t k = 2; k < sizeof privs / sizeof *privs; k++)
        ASSERT_TRUE(rbac_check(fx.s, &fx.beta_read, privs[k], "acme", "metrics", &d) != RBAC_OK);
    ASSERT_EQ_INT(rbac_check(fx.s, &fx.beta_read, RBAC_PRIV_QUERY, "acme", "metrics", &d),
                  RBAC_DENY_TENANT);
    /* same for acme principals towards beta, including administrators */
    struct rbac_principal *ps[] = {&fx.mgmt, &fx.dave, &fx.alice, &fx.star_tok};
    for (size_t i = 0; i < 4; i++)
        for (size_t k = 2; k < sizeof privs / sizeof *privs; k++)
            ASSERT_TRUE(rbac_check(fx.s, ps[i], privs[k], "beta", "metrics", &d) != RBAC_OK);
    /* beta's management token cannot see acme's databases or tokens */
    char **names;
    size_t n;
    ASSERT_OK(rbac_db_list(fx.s, &fx.beta_mgmt, NULL, &names, &n, &d, NULL));
    ASSERT_EQ_INT(n, 1);
    ASSERT_EQ_STR(names[0], "metrics");
    rbac_strv_free(names, n);
    ASSERT_CODE(rbac_db_list(fx.s, &fx.beta_mgmt, "acme", &names, &n, &d, NULL), ST_EPERMISSION);
    struct rbac_snapshot *out;
    struct st_error e;
    /* revoking another tenant's token looks exactly like revoking a missing one */
    ASSERT_CODE(rbac_policy_token_revoke(fx.s, &fx.beta_mgmt, fx.read_id, TU_NOW, &out, &d, &e),
                ST_ENOTFOUND);
    char msg1[sizeof e.msg];
    strcpy(msg1, e.msg);
    ASSERT_CODE(rbac_policy_token_revoke(fx.s, &fx.beta_mgmt, 12345, TU_NOW, &out, &d, &e),
                ST_ENOTFOUND);
    ASSERT_EQ_STR(msg1, e.msg);
    /* and for a principal without authority, both are plain denials */
    ASSERT_CODE(rbac_policy_token_revoke(fx.s, &fx.beta_read, fx.read_id, TU_NOW, &out, &d, &e),
                ST_EPERMISSION);
    ASSERT_CODE(rbac_policy_token_revoke(fx.s, &fx.beta_read, 12345, TU_NOW, &out, &d, &e),
                ST_EPERMISSION);
    /* minting or granting in another tenant */
    struct rbac_perm perm = {"metrics", RBAC_ROLE_READ};
    struct rbac_token_spec spec = {RBAC_TOKEN_DATABASE, "beta", "x", 0, &perm, 1};
    struct rbac_secret sec;
    ASSERT_CODE(rbac_policy_token_create(fx.s, &fx.mgmt, &spec, TU_NOW, &out, NULL, &sec, &d, &e),
                ST_EPERMISSION);
    ASSERT_CODE(rbac_policy_grant(fx.s, &fx.alice, "beta", "metrics", RBAC_SUBJECT_USER, "alice",
                                  RBAC_ROLE_READ, TU_NOW, &out, &d, &e),
                ST_EPERMISSION);
    /* the operator works in any tenant */
    ASSERT_EQ_INT(rbac_check(fx.s, &fx.op, RBAC_PRIV_QUERY, "beta", "metrics", &d), RBAC_OK);
    ASSERT_EQ_INT(rbac_check(fx.s, &fx.op, RBAC_PRIV_QUERY, "nosuch", "metrics", &d),
                  RBAC_DENY_NOT_FOUND);
    tu_fx_cleanup(&fx);
}

/* Assert a refused mutation changed nothing. */
#define REFUSED(call, code)                                                                        \
    do {                                                                                           \
        struct rbac_snapshot *out_ = (struct rbac_snapshot *)1;                                    \
        uint64_t gen_ = rbac_snapshot_generation(fx.s);                                            \
        size_t nt_ = fx.s->n_tokens, ng_ = fx.s->n_grants;                                         \
        ASSERT_CODE(call, code);                                                                   \
        ASSERT_TRUE(out_ == NULL);                                                                 \
        ASSERT_EQ_INT(rbac_snapshot_generation(fx.s), gen_);                                       \
        ASSERT_EQ_INT(fx.s->n_tokens, nt_);                                                        \
        ASSERT_EQ_INT(fx.s->n_grants, ng_);                                                        \
    } while (0)

TEST(policy_no_escalation)
{
    struct tu_fx fx;
    tu_fx_init(&fx);
    struct rbac_decision d;
    struct st_error e;
    struct rbac_secret sec;
    struct rbac_perm owner = {"metrics", RBAC_ROLE_OWNER}, star = {"*", RBAC_ROLE_READ},
                     rd = {"metrics", RBAC_ROLE_READ}, logs = {"logs", RBAC_ROLE_READ};
    struct rbac_token_spec s_owner = {RBAC_TOKEN_DATABASE, NULL, "o2", 0, &owner, 1};
    struct rbac_token_spec s_star = {RBAC_TOKEN_DATABASE, NULL, "s2", 0, &star, 1};
    struct rbac_token_spec s_rd = {RBAC_TOKEN_DATABASE, NULL, "r2", 0, &rd, 1};
    struct rbac_token_spec s_logs = {RBAC_TOKEN_DATABASE, NULL, "l2", 0, &logs, 1};
    struct rbac_token_spec s_mgmt = {RBAC_TOKEN_MANAGEMENT, NULL, "m2", 0, NULL, 0};
    /* a write token creating an Owner or "*" token, or any token */
    REFUSED(rbac_policy_token_create(fx.s, &fx.write_tok, &s_owner, TU_NOW, &out_, NULL, &sec, &d,
                                     &e),
            ST_EPERMISSION);
    REFUSED(rbac_policy_token_create(fx.s, &fx.write_tok, &s_star, TU_NOW, &out_, NULL, &sec, &d,
                                     &e),
            ST_EPERMISSION);
    REFUSED(rbac_policy_token_create(fx.s, &fx.read_tok, &s_rd, TU_NOW, &out_, NULL, &sec, &d, &e),
            ST_EPERMISSION);
    /* a database token creating a management token */
    REFUSED(rbac_policy_token_create(fx.s, &fx.owner_tok, &s_mgmt, TU_NOW, &out_, NULL, &sec, &d,
                                     &e),
            ST_EPERMISSION);
    /* an Owner minting beyond its database, or "*" */
    REFUSED(rbac_policy_token_create(fx.s, &fx.owner_tok, &s_logs, TU_NOW, &out_, NULL, &sec, &d,
                                     &e),
            ST_EPERMISSION);
    REFUSED(rbac_policy_token_create(fx.s, &fx.alice, &s_star, TU_NOW, &out_, NULL, &sec, &d, &e),
            ST_EPERMISSION);
    /* a reader adding write to itself, or granting itself a role */
    char hex[17];
    snprintf(hex, sizeof hex, "%016llx", (unsigned long long)fx.read_id);
    REFUSED(rbac_policy_grant(fx.s, &fx.read_tok, NULL, "metrics", RBAC_SUBJECT_TOKEN, hex,
                              RBAC_ROLE_WRITE, TU_NOW, &out_, &d, &e),
            ST_EPERMISSION);
    REFUSED(rbac_policy_grant(fx.s, &fx.bob, NULL, "metrics", RBAC_SUBJECT_USER, "bob",
                              RBAC_ROLE_OWNER, TU_NOW, &out_, &d, &e),
            ST_EPERMISSION);
    /* an Owner handing out tenant admin or "*" */
    REFUSED(rbac_policy_grant(fx.s, &fx.alice, NULL, NULL, RBAC_SUBJECT_USER, "bob",
                              RBAC_ROLE_TENANT_ADMIN, TU_NOW, &out_, &d, &e),
            ST_EPERMISSION);
    REFUSED(rbac_policy_grant(fx.s, &fx.alice, NULL, "*", RBAC_SUBJECT_USER, "bob", RBAC_ROLE_READ,
                              TU_NOW, &out_, &d, &e),
            ST_EPERMISSION);
    /* a management token cannot be given data roles */
    snprintf(hex, sizeof hex, "%016llx", (unsigned long long)fx.mgmt_id);
    REFUSED(rbac_policy_grant(fx.s, &fx.op, NULL, "metrics", RBAC_SUBJECT_TOKEN, hex,
                              RBAC_ROLE_READ, TU_NOW, &out_, &d, &e),
            ST_EINVAL);
    /* malformed requests */
    REFUSED(rbac_policy_grant(fx.s, &fx.mgmt, NULL, "*", RBAC_SUBJECT_USER, "bob", RBAC_ROLE_OWNER,
                              TU_NOW, &out_, &d, &e),
            ST_EINVAL);
    REFUSED(rbac_policy_grant(fx.s, &fx.mgmt, NULL, "metrics", RBAC_SUBJECT_USER, "bob",
                              RBAC_ROLE_TENANT_ADMIN, TU_NOW, &out_, &d, &e),
            ST_EINVAL);
    REFUSED(rbac_policy_grant(fx.s, &fx.mgmt, NULL, "metrics", RBAC_SUBJECT_USER, "b\nob",
                              RBAC_ROLE_READ, TU_NOW, &out_, &d, &e),
            ST_EINVAL);
    REFUSED(rbac_policy_grant(fx.s, &fx.mgmt, NULL, "../x", RBAC_SUBJECT_USER, "bob",
                              RBAC_ROLE_READ, TU_NOW, &out_, &d, &e),
            ST_EINVAL);
    REFUSED(rbac_policy_grant(fx.s, &fx.mgmt, NULL, "nosuch", RBAC_SUBJECT_USER, "bob",
                              RBAC_ROLE_READ, TU_NOW, &out_, &d, &e),
            ST_ENOTFOUND);
    /* allowed: an Owner hands out what it holds on its database */
    struct rbac_snapshot *n;
    ASSERT_OK_E(rbac_policy_token_create(fx.s, &fx.owner_tok, &s_rd, TU_NOW, &n, NULL, &sec, &d,
                                         &e),
                &e);
    rbac_snapshot_unref(n);
    ASSERT_OK_E(rbac_policy_grant(fx.s, &fx.alice, NULL, "metrics", RBAC_SUBJECT_USER, "bob",
                                  RBAC_ROLE_OWNER, TU_NOW, &n, &d, &e),
                &e);
    rbac_snapshot_unref(n);
    /* management tokens mint management tokens and "*" tokens in their tenant */
    ASSERT_OK(rbac_policy_token_create(fx.s, &fx.mgmt, &s_mgmt, TU_NOW, &n, NULL, &sec, &d, &e));
    rbac_snapshot_unref(n);
    ASSERT_OK(rbac_policy_token_create(fx.s, &fx.mgmt, &s_star, TU_NOW, &n, NULL, &sec, &d, &e));
    rbac_snapshot_unref(n);
    /* duplicate names */
    s_rd.name = "read";
    REFUSED(rbac_policy_token_create(fx.s, &fx.mgmt, &s_rd, TU_NOW, &out_, NULL, &sec, &d, &e),
            ST_EEXISTS);
    tu_fx_cleanup(&fx);
}

TEST(policy_last_owner_cannot_be_removed)
{
    struct tu_fx fx;
    tu_fx_init(&fx);
    struct rbac_decision d;
    struct st_error e;
    struct rbac_snapshot *n;
    /* metrics has two Owners: alice (user) and the owner token */
    ASSERT_EQ_INT(rbac__count_owners(fx.s, "acme", "metrics", NULL, TU_NOW), 2);
    ASSERT_OK_E(rbac_policy_token_revoke(fx.s, &fx.alice, fx.owner_id, TU_NOW, &n, &d, &e), &e);
    tu_fx_swap(&fx, n);
    /* alice is now the last: she cannot drop her own role, nor can an admin */
    REFUSED(rbac_policy_revoke(fx.s, &fx.alice, NULL, "metrics", RBAC_SUBJECT_USER, "alice",
                               RBAC_ROLE_OWNER, TU_NOW, &out_, &d, &e),
            ST_EPRECONDITION);
    ASSERT_EQ_INT(d.reason, RBAC_DENY_LAST_OWNER);
    REFUSED(rbac_policy_revoke(fx.s, &fx.mgmt, NULL, "metrics", RBAC_SUBJECT_USER, "alice",
                               RBAC_ROLE_OWNER | RBAC_ROLE_READ, TU_NOW, &out_, &d, &e),
            ST_EPRECONDITION);
    /* two Owners revoking each other: whichever goes first wins, the other is refused */
    ASSERT_OK(rbac_policy_grant(fx.s, &fx.alice, NULL, "metrics", RBAC_SUBJECT_USER, "bob",
                                RBAC_ROLE_OWNER, TU_NOW, &n, &d, &e));
    tu_fx_swap(&fx, n);
    struct rbac_snapshot *s0 = rbac_snapshot_ref(fx.s);
    struct rbac_principal bob;
    rbac_principal_init(&bob);
    ASSERT_OK(rbac_principal_for_user("acme", "bob", NULL, 0, false, &bob, NULL));
    struct rbac_snapshot *n2;
    ASSERT_OK(rbac_policy_revoke(s0, &fx.alice, NULL, "metrics", RBAC_SUBJECT_USER, "bob",
                                 RBAC_ROLE_OWNER, TU_NOW, &n, &d, &e));
    ASSERT_CODE(rbac_policy_revoke(n, &bob, NULL, "metrics", RBAC_SUBJECT_USER, "alice",
                                   RBAC_ROLE_OWNER, TU_NOW, &n2, &d, &e),
                ST_EPERMISSION);
    rbac_snapshot_unref(n);
    ASSERT_OK(rbac_policy_revoke(s0, &bob, NULL, "metrics", RBAC_SUBJECT_USER, "alice",
                                 RBAC_ROLE_OWNER, TU_NOW, &n, &d, &e));
    ASSERT_CODE(rbac_policy_revoke(n, &fx.alice, NULL, "metrics", RBAC_SUBJECT_USER, "bob",
                                   RBAC_ROLE_OWNER, TU_NOW, &n2, &d, &e),
                ST_EPERMISSION);
    rbac_snapshot_unref(n);
    rbac_snapshot_unref(s0);
    rbac_principal_cleanup(&bob);
    /* a token holding the last Owner role cannot be revoked */
    ASSERT_OK(rbac_policy_db_create(fx.s, &fx.mgmt, NULL, "solo", NULL, TU_NOW, &n, &d, &e));
    tu_fx_swap(&fx, n);
    struct rbac_perm owner = {"solo", RBAC_ROLE_OWNER};
    struct rbac_token_spec spec = {RBAC_TOKEN_DATABASE, NULL, "solo-owner", 0, &owner, 1};
    struct rbac_secret sec;
    uint64_t id;
    ASSERT_OK(rbac_policy_token_create(fx.s, &fx.mgmt, &spec, TU_NOW, &n, &id, &sec, &d, &e));
    tu_fx_swap(&fx, n);
    REFUSED(rbac_policy_token_revoke(fx.s, &fx.mgmt, id, TU_NOW, &out_, &d, &e), ST_EPRECONDITION);
    tu_fx_cleanup(&fx);
}

TEST(policy_deleting_a_database_revokes_its_grants_and_tokens)
{
    struct tu_fx fx;
    tu_fx_init(&fx);
    struct rbac_decision d;
    struct st_error e;
    struct rbac_snapshot *n;
    REFUSED(rbac_policy_db_delete(fx.s, &fx.rw_tok, NULL, "metrics", TU_NOW, &out_, &d, &e),
            ST_EPERMISSION);
    ASSERT_OK_E(rbac_policy_db_delete(fx.s, &fx.alice, NULL, "metrics", TU_NOW, &n, &d, &e), &e);
    tu_fx_swap(&fx, n);
    ASSERT_FALSE(rbac_snapshot_has_database(fx.s, "acme", "metrics"));
    ASSERT_TRUE(rbac_snapshot_has_database(fx.s, "beta", "metrics"));
    struct rbac_principal p;
    rbac_principal_init(&p);
    ASSERT_CODE(tu_auth(&fx, &fx.read_sec, &p), ST_EUNAUTHENTICATED);
    ASSERT_CODE(tu_auth(&fx, &fx.owner_sec, &p), ST_EUNAUTHENTICATED);
    ASSERT_OK(tu_auth(&fx, &fx.star_sec, &p));      /* "*" survives */
    ASSERT_OK(tu_auth(&fx, &fx.logs_read_sec, &p)); /* other database */
    ASSERT_OK(tu_auth(&fx, &fx.beta_read_sec, &p)); /* other tenant */
    ASSERT_TRUE(rbac__find_grant(fx.s, "acme", "metrics", RBAC_SUBJECT_USER, "bob") == NULL);
    /* re-creating the name does not bring old rights back */
    ASSERT_OK(rbac_policy_db_create(fx.s, &fx.mgmt, NULL, "metrics", NULL, TU_NOW, &n, &d, &e));
    tu_fx_swap(&fx, n);
    ASSERT_TRUE(rbac_check(fx.s, &fx.bob, RBAC_PRIV_QUERY, NULL, "metrics", &d) != RBAC_OK);
    ASSERT_TRUE(rbac_check(fx.s, &fx.alice, RBAC_PRIV_QUERY, NULL, "metrics", &d) != RBAC_OK);
    REFUSED(rbac_policy_db_create(fx.s, &fx.mgmt, NULL, "metrics", NULL, TU_NOW, &out_, &d, &e),
            ST_EEXISTS);
    REFUSED(rbac_policy_db_create(fx.s, &fx.rw_tok, NULL, "newdb", NULL, TU_NOW, &out_, &d, &e),
            ST_EPERMISSION);
    REFUSED(rbac_policy_db_create(fx.s, &fx.mgmt, NULL, "*", NULL, TU_NOW, &out_, &d, &e),
            ST_EINVAL);
    /* a user who creates a database owns it */
    ASSERT_OK(rbac_policy_db_create(fx.s, &fx.dave, NULL, "daves", NULL, TU_NOW, &n, &d, &e));
    tu_fx_swap(&fx, n);
    ASSERT_EQ_INT(rbac_check(fx.s, &fx.dave, RBAC_PRIV_QUERY, NULL, "daves", &d), RBAC_OK);
    rbac_principal_cleanup(&p);
    tu_fx_cleanup(&fx);
}

TEST(policy_tenants_are_managed_by_the_operator)
{
    struct tu_fx fx;
    tu_fx_init(&fx);
    struct rbac_decision d;
    struct st_error e;
    struct rbac_snapshot *n;
    REFUSED(rbac_policy_tenant_create(fx.s, &fx.mgmt, "gamma", TU_NOW, &out_, &d, &e),
            ST_EPERMISSION);
    REFUSED(rbac_policy_tenant_create(fx.s, &fx.op, "beta", TU_NOW, &out_, &d, &e), ST_EEXISTS);
    REFUSED(rbac_policy_tenant_create(fx.s, &fx.op, "../g", TU_NOW, &out_, &d, &e), ST_EINVAL);
    REFUSED(rbac_policy_tenant_delete(fx.s, &fx.op, "beta", &out_, &d, &e), ST_EPRECONDITION);
    REFUSED(rbac_policy_tenant_delete(fx.s, &fx.op, "acme", &out_, &d, &e), ST_EINVAL);
    ASSERT_OK(rbac_policy_db_delete(fx.s, &fx.beta_mgmt, NULL, "metrics", TU_NOW, &n, &d, &e));
    tu_fx_swap(&fx, n);
    ASSERT_OK_E(rbac_policy_tenant_delete(fx.s, &fx.op, "beta", &n, &d, &e), &e);
    tu_fx_swap(&fx, n);
    struct rbac_principal p;
    rbac_principal_init(&p);
    ASSERT_CODE(tu_auth(&fx, &fx.beta_mgmt_sec, &p), ST_EUNAUTHENTICATED);
    ASSERT_FALSE(rbac_snapshot_has_tenant(fx.s, "beta"));
    rbac_principal_cleanup(&p);
    tu_fx_cleanup(&fx);
}

TEST(policy_mfa_gates_administration_only)
{
    struct tu_fx fx;
    tu_fx_init(&fx);
    struct rbac_decision d;
    fx.dave.mfa_for_admin = true;
    fx.alice.mfa_for_admin = true;
    ASSERT_EQ_INT(rbac_check(fx.s, &fx.dave, RBAC_PRIV_DB_CREATE, NULL, NULL, &d), RBAC_DENY_MFA);
    ASSERT_EQ_INT(rbac_check(fx.s, &fx.alice, RBAC_PRIV_ROLE_GRANT, NULL, "metrics", &d),
                  RBAC_DENY_MFA);
    ASSERT_EQ_INT(rbac_check(fx.s, &fx.alice, RBAC_PRIV_QUERY, NULL, "metrics", &d), RBAC_OK);
    fx.dave.mfa = fx.alice.mfa = true;
    ASSERT_EQ_INT(rbac_check(fx.s, &fx.dave, RBAC_PRIV_DB_CREATE, NULL, NULL, &d), RBAC_OK);
    ASSERT_EQ_INT(rbac_check(fx.s, &fx.alice, RBAC_PRIV_ROLE_GRANT, NULL, "metrics", &d), RBAC_OK);
    tu_fx_cleanup(&fx);
}

TEST(policy_listings_never_show_secrets_and_respect_authority)
{
    struct tu_fx fx;
    tu_fx_init(&fx);
    struct rbac_decision d;
    struct st_error e;
    struct rbac_token_info *t;
    size_t n;
    ASSERT_CODE(rbac_policy_token_list(fx.s, &fx.read_tok, NULL, NULL, &t, &n, &d, &e),
                ST_EPERMISSION);
    ASSERT_CODE(rbac_policy_token_list(fx.s, &fx.read_tok, NULL, "metrics", &t, &n, &d, &e),
                ST_EPERMISSION);
    ASSERT_OK(rbac_policy_token_list(fx.s, &fx.mgmt, NULL, NULL, &t, &n, &d, &e));
    ASSERT_EQ_INT(n, 7); /* mgmt, owner, read, write, rw, star, logs-read; not the operator */
    for (size_t i = 0; i < n; i++)
        ASSERT_TRUE(t[i].kind != RBAC_TOKEN_OPERATOR);
    free(t);
    ASSERT_OK(rbac_policy_token_list(fx.s, &fx.op, NULL, NULL, &t, &n, &d, &e));
    ASSERT_EQ_INT(n, 8);
    free(t);
    ASSERT_OK(rbac_policy_token_list(fx.s, &fx.alice, NULL, "metrics", &t, &n, &d, &e));
    ASSERT_EQ_INT(n, 4); /* owner, read, write, rw */
    free(t);
    struct rbac_grant_info *g;
    ASSERT_CODE(rbac_policy_grant_list(fx.s, &fx.bob, NULL, "metrics", &g, &n, &d, &e),
                ST_EPERMISSION);
    ASSERT_OK(rbac_policy_grant_list(fx.s, &fx.alice, NULL, "metrics", &g, &n, &d, &e));
    ASSERT_TRUE(n >= 3);
    for (size_t i = 0; i < n; i++)
        ASSERT_TRUE(!strcmp(g[i].database, "metrics") || !strcmp(g[i].database, "*"));
    free(g);
    char **names;
    ASSERT_OK(rbac_db_list(fx.s, &fx.read_tok, NULL, &names, &n, &d, &e));
    ASSERT_EQ_INT(n, 1);
    rbac_strv_free(names, n);
    ASSERT_OK(rbac_db_list(fx.s, &fx.star_tok, NULL, &names, &n, &d, &e));
    ASSERT_EQ_INT(n, 2);
    rbac_strv_free(names, n);
    ASSERT_OK(rbac_db_list(fx.s, &fx.eve, NULL, &names, &n, &d, &e));
    ASSERT_EQ_INT(n, 0);
    rbac_strv_free(names, n);
    tu_fx_cleanup(&fx);
}

TEST(policy_dry_run_with_described_principals)
{
    struct tu_fx fx;
    tu_fx_init(&fx);
    struct rbac_principal p;
    struct rbac_decision d;
    rbac_principal_init(&p);
    ASSERT_OK(rbac_principal_for_token(fx.s, fx.write_id, &p, NULL));
    ASSERT_EQ_INT(rbac_check(fx.s, &p, RBAC_PRIV_WRITE, NULL, "metrics", &d), RBAC_OK);
    ASSERT_EQ_INT(rbac_check(fx.s, &p, RBAC_PRIV_QUERY, NULL, "metrics", &d), RBAC_DENY_PRIVILEGE);
    ASSERT_CODE(rbac_principal_for_token(fx.s, 42, &p, NULL), ST_ENOTFOUND);
    const char *g[] = {"eng"};
    ASSERT_OK(rbac_principal_for_user("acme", "zed", g, 1, false, &p, NULL));
    ASSERT_EQ_INT(rbac_check(fx.s, &p, RBAC_PRIV_WRITE, NULL, "metrics", &d), RBAC_OK);
    ASSERT_CODE(rbac_principal_for_user("acme", "", NULL, 0, false, &p, NULL), ST_EINVAL);
    ASSERT_EQ_INT(rbac_check(fx.s, NULL, RBAC_PRIV_HEALTH, NULL, NULL, &d),
                  RBAC_DENY_UNAUTHENTICATED);
    ASSERT_EQ_INT(rbac_check(fx.s, &fx.op, (enum rbac_priv)99, NULL, NULL, &d), RBAC_DENY_INVALID);
    ASSERT_EQ_INT(rbac_check(fx.s, &fx.op, RBAC_PRIV_QUERY, NULL, NULL, &d), RBAC_DENY_INVALID);
    rbac_principal_cleanup(&p);
    for (int i = 0; i < RBAC_PRIV__COUNT; i++)
        ASSERT_TRUE(strcmp(rbac_priv_name((enum rbac_priv)i), "unknown") != 0);
    for (int r = 0; r <= RBAC_DENY_NOT_EMPTY; r++)
        ASSERT_TRUE(strcmp(rbac_reason_name((enum rbac_reason)r), "unknown") != 0);
    tu_fx_cleanup(&fx);
}
