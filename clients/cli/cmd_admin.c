/*
 * cmd_admin.c: the administration commands of `strata`, one per
 * AdminService area: database, token, role, whoami, check, and ping.
 * Listings print through the shared output formats (cli_out.c). New token
 * secrets go alone to stdout (so `T=$(strata token create ...)` captures
 * exactly the secret) with the explanation on stderr, or into the JSON
 * object with --format json.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "strata/buf.h"

enum {
    O_NAME = 1,
    O_DB,
    O_READ,
    O_WRITE,
    O_MANAGEMENT,
    O_EXPIRES,
    O_DESC,
    O_ALL,
    O_USER,
    O_GROUP,
    O_TOKEN_ID,
    O_YES,
};

/* ---- helpers ------------------------------------------------------------------- */

static struct strata *
conn_or_fail(struct cli *c, int *rc)
{
    struct st_error err;
    struct strata *s = cli_conn(c, &err);
    if (!s) *rc = cli_fail(&err);
    return s;
}

static struct cell
str_cell(const char *s)
{
    struct cell x = {.kind = CELL_STR};
    x.v.s.p = s ? s : "";
    x.v.s.len = strlen(x.v.s.p);
    return x;
}

static struct cell
time_cell(int64_t ns)
{
    struct cell x = {.kind = ns ? CELL_TIME : CELL_NULL};
    x.v.i = ns;
    return x;
}

static struct cell
bool_cell(bool b)
{
    struct cell x = {.kind = CELL_BOOL};
    x.v.b = b;
    return x;
}

static int
finish_out(struct out *o, bool footer)
{
    enum st_code rc = out_end(o, footer);
    if (rc != ST_OK) {
        fprintf(stderr, "strata: writing the output: %s\n", st_strerror(rc));
        return (int)rc;
    }
    return 0;
}

static bool
parse_fmt(const char *cmd, const char *arg, enum out_format *fmt, int *rc)
{
    if (out_format_parse(arg, fmt) != ST_OK) {
        *rc = cli_usage_error(cmd, "unknown format \"%s\" (table, csv, json, jsonl)", arg);
        return false;
    }
    return true;
}

/* "alpha:rw, *:r" */
static void
perms_text(struct st_buf *b, const struct strata_permission *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        st_buf_printf(b, "%s%s:%s%s", i ? "," : "", p[i].database, p[i].read ? "r" : "",
                      p[i].write ? "w" : "");
    }
    st_buf_append_byte(b, 0);
}

static void
principal_text(char *buf, size_t cap, const struct strata_principal *p)
{
    snprintf(buf, cap, "%s:%s", strata_principal_kind_name(p->kind), p->name ? p->name : "");
}

/* ---- database ------------------------------------------------------------------ */

static const char usage_database[] =
    "usage: strata database create NAME\n"
    "       strata database list [--format FORMAT]\n"
    "       strata database delete NAME [--yes]\n"
    "\n"
    "Create, list or delete databases (needs a management or operator token, or\n"
    "Owner on the database to delete it). delete asks to type the name again on a\n"
    "terminal; elsewhere it needs --yes.\n"
    "\n"
    "  -f, --format FORMAT  table (default), csv, json or jsonl\n"
    "  -y, --yes            delete without asking\n"
    "  -h, --help           this text\n";

int
cmd_database(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"format", required_argument, NULL, 'f'},
        {"yes", no_argument, NULL, 'y'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    if (cli_wants_help(argc, argv)) {
        fputs(usage_database, stdout);
        return 0;
    }
    enum out_format fmt = OUT_TABLE;
    bool yes = false;
    int ch, rc = 0;
    while ((ch = cli_getopt(c, argc, argv, "f:yh", opts, "database")) != -1) {
        if (ch == 'f') {
            if (!parse_fmt("database", optarg, &fmt, &rc)) return rc;
        } else if (ch == 'y') {
            yes = true;
        } else {
            return ST_EINVAL;
        }
    }
    if (optind >= argc) return cli_usage_error("database", "say create, list or delete");
    const char *sub = argv[optind];
    int n_args = argc - optind - 1;
    char **args = argv + optind + 1;
    struct st_error err;
    if (strcmp(sub, "list") == 0) {
        if (n_args) return cli_usage_error("database", "list takes no argument");
        struct strata *s = conn_or_fail(c, &rc);
        if (!s) return rc;
        struct strata_database *v;
        size_t n;
        if (strata_database_list(s, &v, &n, &err) != ST_OK) return cli_fail(&err);
        static const char *const names[] = {"name", "created", "created_by"};
        struct out *o = out_begin(stdout, fmt, names, 3);
        for (size_t i = 0; o && i < n; i++) {
            struct cell row[3] = {str_cell(v[i].name), time_cell(v[i].created_at_ns),
                                  str_cell(v[i].created_by)};
            out_row(o, row);
        }
        strata_database_list_free(v, n);
        return finish_out(o, fmt == OUT_TABLE);
    }
    if (strcmp(sub, "create") != 0 && strcmp(sub, "delete") != 0)
        return cli_usage_error("database", "unknown subcommand \"%s\"", sub);
    if (n_args != 1) return cli_usage_error("database", "%s takes one NAME", sub);
    struct strata *s = conn_or_fail(c, &rc);
    if (!s) return rc;
    if (sub[0] == 'c') {
        if (strata_database_create(s, args[0], &err) != ST_OK) return cli_fail(&err);
        printf("created database \"%s\"\n", args[0]);
        return 0;
    }
    if (!yes) {
        char prompt[512];
        snprintf(prompt, sizeof prompt,
                 "Delete database \"%s\" and all its data? Type its name to confirm: ", args[0]);
        if (!isatty(STDIN_FILENO))
            return cli_usage_error("database", "refusing to delete \"%s\" without --yes", args[0]);
        if (!confirm_typed(prompt, args[0])) {
            fprintf(stderr, "strata: not deleted\n");
            return ST_ECANCELLED;
        }
    }
    if (strata_database_delete(s, args[0], &err) != ST_OK) return cli_fail(&err);
    printf("deleted database \"%s\"\n", args[0]);
    return 0;
}

/* ---- token --------------------------------------------------------------------- */

static const char usage_token[] =
    "usage: strata token create --name NAME (--database DB [--read] [--write]...\n"
    "                           | --management) [--expires-in DUR]\n"
    "                           [--description TEXT] [--format table|json]\n"
    "       strata token list [--all] [--database DB] [--format FORMAT]\n"
    "       strata token revoke (ID | --name NAME)\n"
    "       strata token rotate (ID | --name NAME) [--expires-in DUR] [--format table|json]\n"
    "\n"
    "Create, list, revoke and rotate tokens. A database token gets --read and/or\n"
    "--write on each --database given before them (\"*\" means every database); a\n"
    "management token administers databases, tokens and roles but cannot read or\n"
    "write data. The new secret is printed once: alone on stdout (with a note on\n"
    "stderr), or in the JSON object with --format json. Rotation issues a new\n"
    "secret and the old one stops working at once.\n"
    "\n"
    "  --name NAME          the token's name (unique)\n"
    "  --database DB        a database the following --read/--write apply to\n"
    "  --read, --write      permissions on that database\n"
    "  --management         a management token\n"
    "  --expires-in DUR     e.g. 90d, 12h (default: never; rotate: keep)\n"
    "  --description TEXT   a note kept with the token\n"
    "  --all                list: include revoked tokens\n"
    "  -f, --format FORMAT  table (default), csv, json or jsonl\n"
    "  -h, --help           this text\n";

#define MAX_PERMS 64

static void
token_json(const struct strata_token *t, const char *secret)
{
    struct st_buf b;
    st_buf_init(&b, SIZE_MAX);
    perms_text(&b, t->permissions, t->n_permissions);
    static const char *const names[] = {"id",      "name",    "kind", "permissions",
                                        "created", "expires", "token"};
    struct out *o = out_begin(stdout, OUT_JSONL, names, secret ? 7 : 6);
    struct cell row[7] = {str_cell(t->id),
                          str_cell(t->name),
                          str_cell(strata_token_kind_name(t->kind)),
                          str_cell((const char *)b.data),
                          time_cell(t->created_at_ns),
                          time_cell(t->expires_at_ns),
                          str_cell(secret)};
    out_row(o, row);
    out_end(o, false);
    st_buf_cleanup(&b);
}

static int
token_created(const struct strata_token *t, char *secret, enum out_format fmt, const char *what)
{
    if (fmt == OUT_JSON || fmt == OUT_JSONL) {
        token_json(t, secret);
    } else {
        fprintf(stderr, "%s %s token \"%s\" (id %s). The secret below is shown only once:\n", what,
                strata_token_kind_name(t->kind), t->name, t->id);
        printf("%s\n", secret);
    }
    memset(secret, 0, strlen(secret));
    free(secret);
    return 0;
}

static int
token_list(struct strata *s, bool all, const char *db, enum out_format fmt)
{
    struct st_error err;
    struct strata_token *v;
    size_t n;
    if (strata_token_list(s, all, db, &v, &n, &err) != ST_OK) return cli_fail(&err);
    static const char *const names[] = {"id",      "name",    "kind",    "permissions",
                                        "created", "expires", "revoked", "description"};
    struct out *o = out_begin(stdout, fmt, names, 8);
    struct st_buf b;
    st_buf_init(&b, SIZE_MAX);
    for (size_t i = 0; o && i < n; i++) {
        st_buf_reset(&b);
        perms_text(&b, v[i].permissions, v[i].n_permissions);
        struct cell row[8] = {str_cell(v[i].id),
                              str_cell(v[i].name),
                              str_cell(strata_token_kind_name(v[i].kind)),
                              str_cell((const char *)b.data),
                              time_cell(v[i].created_at_ns),
                              time_cell(v[i].expires_at_ns),
                              bool_cell(v[i].revoked),
                              str_cell(v[i].description)};
        out_row(o, row);
    }
    st_buf_cleanup(&b);
    strata_token_list_free(v, n);
    return finish_out(o, fmt == OUT_TABLE);
}

int
cmd_token(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"name", required_argument, NULL, O_NAME},
        {"database", required_argument, NULL, O_DB},
        {"read", no_argument, NULL, O_READ},
        {"write", no_argument, NULL, O_WRITE},
        {"management", no_argument, NULL, O_MANAGEMENT},
        {"expires-in", required_argument, NULL, O_EXPIRES},
        {"description", required_argument, NULL, O_DESC},
        {"all", no_argument, NULL, O_ALL},
        {"format", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    if (cli_wants_help(argc, argv)) {
        fputs(usage_token, stdout);
        return 0;
    }
    struct strata_permission perms[MAX_PERMS];
    size_t n_perms = 0;
    const char *name = NULL, *desc = NULL, *list_db = NULL;
    bool management = false, all = false;
    int64_t expires_ms = 0;
    enum out_format fmt = OUT_TABLE;
    int ch, rc = 0;
    while ((ch = cli_getopt(c, argc, argv, "f:h", opts, "token")) != -1) {
        switch (ch) {
        case O_NAME:
            name = optarg;
            break;
        case O_DB:
            if (n_perms >= MAX_PERMS)
                return cli_usage_error("token", "more than %d databases", MAX_PERMS);
            perms[n_perms++] = (struct strata_permission){optarg, false, false};
            list_db = optarg;
            break;
        case O_READ:
        case O_WRITE:
            if (n_perms == 0)
                return cli_usage_error("token", "--%s must follow a --database",
                                       ch == O_READ ? "read" : "write");
            if (ch == O_READ)
                perms[n_perms - 1].read = true;
            else
                perms[n_perms - 1].write = true;
            break;
        case O_MANAGEMENT:
            management = true;
            break;
        case O_EXPIRES:
            if (parse_duration_ms(optarg, &expires_ms) != ST_OK || expires_ms < 1000)
                return cli_usage_error("token", "bad --expires-in \"%s\" (e.g. 90d, 12h)", optarg);
            break;
        case O_DESC:
            desc = optarg;
            break;
        case O_ALL:
            all = true;
            break;
        case 'f':
            if (!parse_fmt("token", optarg, &fmt, &rc)) return rc;
            break;
        default:
            return ST_EINVAL;
        }
    }
    if (optind >= argc) return cli_usage_error("token", "say create, list, revoke or rotate");
    const char *sub = argv[optind];
    int n_args = argc - optind - 1;
    char **args = argv + optind + 1;
    struct st_error err;
    struct strata_token t;
    char *secret;

    if (strcmp(sub, "create") == 0) {
        if (n_args) return cli_usage_error("token", "create takes options only");
        if (!name) return cli_usage_error("token", "create needs --name");
        if (management == (n_perms > 0))
            return cli_usage_error("token", "create needs either --database ... or --management");
        for (size_t i = 0; i < n_perms; i++)
            if (!perms[i].read && !perms[i].write)
                return cli_usage_error("token", "say --read and/or --write after --database %s",
                                       perms[i].database);
        struct strata_token_spec spec = {
            .name = name,
            .kind = management ? STRATA_TOKEN_MANAGEMENT : STRATA_TOKEN_DATABASE,
            .permissions = perms,
            .n_permissions = n_perms,
            .expires_in_s = (uint64_t)(expires_ms / 1000),
            .description = desc,
        };
        struct strata *s = conn_or_fail(c, &rc);
        if (!s) return rc;
        if (strata_token_create(s, &spec, &t, &secret, &err) != ST_OK) return cli_fail(&err);
        rc = token_created(&t, secret, fmt, "created");
        strata_token_cleanup(&t);
        return rc;
    }
    if (strcmp(sub, "list") == 0) {
        if (n_args) return cli_usage_error("token", "list takes options only");
        struct strata *s = conn_or_fail(c, &rc);
        if (!s) return rc;
        return token_list(s, all, list_db, fmt);
    }
    if (strcmp(sub, "revoke") == 0 || strcmp(sub, "rotate") == 0) {
        const char *id = n_args == 1 ? args[0] : NULL;
        if (n_args > 1 || (!id && !name) || (id && name))
            return cli_usage_error("token", "%s takes a token ID or --name NAME", sub);
        struct strata *s = conn_or_fail(c, &rc);
        if (!s) return rc;
        if (sub[1] == 'e') {
            if (strata_token_revoke(s, id, name, &t, &err) != ST_OK) return cli_fail(&err);
            printf("revoked token \"%s\" (id %s)\n", t.name, t.id);
            strata_token_cleanup(&t);
            return 0;
        }
        if (strata_token_rotate(s, id, name, (uint64_t)(expires_ms / 1000), &t, &secret, &err) !=
            ST_OK)
            return cli_fail(&err);
        rc = token_created(&t, secret, fmt, "rotated");
        strata_token_cleanup(&t);
        return rc;
    }
    return cli_usage_error("token", "unknown subcommand \"%s\"", sub);
}

/* ---- role ---------------------------------------------------------------------- */

static const char usage_role[] =
    "usage: strata role grant ROLE --database DB (--user U | --group G | --token ID)\n"
    "       strata role revoke ROLE --database DB (--user U | --group G | --token ID)\n"
    "       strata role list [--database DB] [--user U | --group G | --token ID]\n"
    "                        [--format FORMAT]\n"
    "\n"
    "Grant or revoke a role on a database to an OIDC user, an OIDC group or a\n"
    "token, and list grants. Roles: owner, write, read (write does not imply read).\n"
    "Nobody grants more than they hold; the last owner of a database stays.\n"
    "\n"
    "  -d, --database DB    the database (grant/revoke: also env STRATA_DATABASE)\n"
    "  --user U, --group G, --token ID   who\n"
    "  -f, --format FORMAT  list: table (default), csv, json or jsonl\n"
    "  -h, --help           this text\n";

int
cmd_role(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"user", required_argument, NULL, O_USER},
        {"group", required_argument, NULL, O_GROUP},
        {"token", required_argument, NULL, O_TOKEN_ID},
        {"format", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    if (cli_wants_help(argc, argv)) {
        fputs(usage_role, stdout);
        return 0;
    }
    struct strata_principal who = {STRATA_PRINCIPAL_NONE, NULL};
    int n_who = 0;
    enum out_format fmt = OUT_TABLE;
    int ch, rc = 0;
    while ((ch = cli_getopt(c, argc, argv, "f:h", opts, "role")) != -1) {
        switch (ch) {
        case O_USER:
        case O_GROUP:
        case O_TOKEN_ID:
            who.kind = ch == O_USER    ? STRATA_PRINCIPAL_USER
                       : ch == O_GROUP ? STRATA_PRINCIPAL_GROUP
                                       : STRATA_PRINCIPAL_TOKEN;
            who.name = optarg;
            n_who++;
            break;
        case 'f':
            if (!parse_fmt("role", optarg, &fmt, &rc)) return rc;
            break;
        default:
            return ST_EINVAL;
        }
    }
    if (n_who > 1) return cli_usage_error("role", "name one of --user, --group, --token");
    if (optind >= argc) return cli_usage_error("role", "say grant, revoke or list");
    const char *sub = argv[optind];
    int n_args = argc - optind - 1;
    char **args = argv + optind + 1;
    struct st_error err;
    if (strcmp(sub, "list") == 0) {
        if (n_args) return cli_usage_error("role", "list takes options only");
        struct strata *s = conn_or_fail(c, &rc);
        if (!s) return rc;
        struct strata_role_binding *v;
        size_t n;
        /* list filters only on an explicit --database, not on STRATA_DATABASE */
        const char *db = c->database_from_env ? NULL : c->database;
        if (strata_role_list(s, db, n_who ? &who : NULL, &v, &n, &err) != ST_OK)
            return cli_fail(&err);
        static const char *const names[] = {"database", "role", "principal", "granted",
                                            "granted_by"};
        struct out *o = out_begin(stdout, fmt, names, 5);
        for (size_t i = 0; o && i < n; i++) {
            char p[512];
            principal_text(p, sizeof p, &v[i].principal);
            struct cell row[5] = {str_cell(v[i].database), str_cell(v[i].role), str_cell(p),
                                  time_cell(v[i].granted_at_ns), str_cell(v[i].granted_by)};
            out_row(o, row);
        }
        strata_role_list_free(v, n);
        return finish_out(o, fmt == OUT_TABLE);
    }
    if (strcmp(sub, "grant") != 0 && strcmp(sub, "revoke") != 0)
        return cli_usage_error("role", "unknown subcommand \"%s\"", sub);
    if (n_args != 1) return cli_usage_error("role", "%s takes one ROLE", sub);
    if (!c->database || !*c->database)
        return cli_usage_error("role", "%s needs --database DB", sub);
    if (!n_who) return cli_usage_error("role", "%s needs --user, --group or --token", sub);
    struct strata *s = conn_or_fail(c, &rc);
    if (!s) return rc;
    enum st_code r = sub[0] == 'g' ? strata_role_grant(s, c->database, args[0], &who, &err)
                                   : strata_role_revoke(s, c->database, args[0], &who, &err);
    if (r != ST_OK) return cli_fail(&err);
    char p[512];
    principal_text(p, sizeof p, &who);
    printf("%s role %s on \"%s\" %s %s\n", sub[0] == 'g' ? "granted" : "revoked", args[0],
           c->database, sub[0] == 'g' ? "to" : "from", p);
    return 0;
}

/* ---- whoami, check, ping ------------------------------------------------------- */

static const char usage_whoami[] = "usage: strata whoami [--format FORMAT]\n"
                                   "\n"
                                   "Show who the server takes the caller for: principal, kind,\n"
                                   "tenant, expiry, permissions, roles and groups.\n"
                                   "\n"
                                   "  -f, --format FORMAT  table (default), csv, json or jsonl\n"
                                   "  -h, --help           this text\n";

int
cmd_whoami(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"format", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    if (cli_wants_help(argc, argv)) {
        fputs(usage_whoami, stdout);
        return 0;
    }
    enum out_format fmt = OUT_TABLE;
    int ch, rc = 0;
    while ((ch = cli_getopt(c, argc, argv, "f:h", opts, "whoami")) != -1) {
        if (ch != 'f' || !parse_fmt("whoami", optarg, &fmt, &rc)) return rc ? rc : ST_EINVAL;
    }
    if (optind < argc) return cli_usage_error("whoami", "takes no argument");
    struct strata *s = conn_or_fail(c, &rc);
    if (!s) return rc;
    struct st_error err;
    struct strata_whoami w;
    if (strata_whoami(s, &w, &err) != ST_OK) return cli_fail(&err);
    struct st_buf perms, roles, groups;
    st_buf_init(&perms, SIZE_MAX);
    st_buf_init(&roles, SIZE_MAX);
    st_buf_init(&groups, SIZE_MAX);
    perms_text(&perms, w.permissions, w.n_permissions);
    for (size_t i = 0; i < w.n_roles; i++) {
        st_buf_printf(&roles, "%s%s:%s", i ? "," : "", w.roles[i].database, w.roles[i].role);
    }
    st_buf_append_byte(&roles, 0);
    for (size_t i = 0; i < w.n_groups; i++)
        st_buf_printf(&groups, "%s%s", i ? "," : "", w.groups[i]);
    st_buf_append_byte(&groups, 0);
    static const char *const names[] = {"principal",   "kind",  "name",   "token_kind",
                                        "tenant",      "expires", "issuer", "permissions",
                                        "roles",       "groups",  "server_version"};
    bool is_token = strcmp(w.kind, "token") == 0;
    struct cell row[11] = {str_cell(w.principal_id),
                           str_cell(w.kind),
                           str_cell(w.name),
                           is_token ? str_cell(strata_token_kind_name(w.token_kind))
                                    : (struct cell){.kind = CELL_NULL},
                           str_cell(w.tenant),
                           time_cell(w.expires_at_ns),
                           str_cell(w.issuer),
                           str_cell((const char *)perms.data),
                           str_cell((const char *)roles.data),
                           str_cell((const char *)groups.data),
                           str_cell(w.server_version)};
    if (fmt == OUT_TABLE) {
        /* one row per property reads better than a very wide table */
        static const char *const kv[] = {"property", "value"};
        struct out *o = out_begin(stdout, OUT_TABLE, kv, 2);
        for (int i = 0; o && i < 11; i++) {
            struct cell pair[2] = {str_cell(names[i]), row[i]};
            out_row(o, pair);
        }
        rc = finish_out(o, false);
    } else {
        struct out *o = out_begin(stdout, fmt, names, 11);
        if (o) out_row(o, row);
        rc = finish_out(o, false);
    }
    st_buf_cleanup(&perms);
    st_buf_cleanup(&roles);
    st_buf_cleanup(&groups);
    strata_whoami_cleanup(&w);
    return rc;
}

static const char usage_check[] =
    "usage: strata check ACTION --database DB [--user U | --group G | --token ID]\n"
    "\n"
    "Ask whether ACTION (read, write or manage) on DB would be allowed for the\n"
    "caller, or for the user, group or token named (that needs manage rights).\n"
    "Nothing is executed. Exit status 0 when allowed, 9 when denied.\n"
    "\n"
    "  -d, --database DB    the database (env STRATA_DATABASE)\n"
    "  -h, --help           this text\n";

int
cmd_check(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"user", required_argument, NULL, O_USER},
        {"group", required_argument, NULL, O_GROUP},
        {"token", required_argument, NULL, O_TOKEN_ID},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    if (cli_wants_help(argc, argv)) {
        fputs(usage_check, stdout);
        return 0;
    }
    struct strata_principal who = {STRATA_PRINCIPAL_NONE, NULL};
    int ch, rc = 0, n_who = 0;
    while ((ch = cli_getopt(c, argc, argv, "h", opts, "check")) != -1) {
        if (ch != O_USER && ch != O_GROUP && ch != O_TOKEN_ID) return ST_EINVAL;
        who.kind = ch == O_USER    ? STRATA_PRINCIPAL_USER
                   : ch == O_GROUP ? STRATA_PRINCIPAL_GROUP
                                   : STRATA_PRINCIPAL_TOKEN;
        who.name = optarg;
        n_who++;
    }
    if (n_who > 1) return cli_usage_error("check", "name one of --user, --group, --token");
    if (argc - optind != 1)
        return cli_usage_error("check", "takes one ACTION (read, write, manage)");
    if (!c->database || !*c->database) return cli_usage_error("check", "needs --database DB");
    struct strata *s = conn_or_fail(c, &rc);
    if (!s) return rc;
    struct st_error err;
    struct strata_check_result res;
    if (strata_check(s, n_who ? &who : NULL, argv[optind], c->database, &res, &err) != ST_OK)
        return cli_fail(&err);
    printf("%s: %s%s%s%s\n", res.allowed ? "allowed" : "denied", res.reason,
           res.detail[0] ? " (" : "", res.detail, res.detail[0] ? ")" : "");
    return res.allowed ? 0 : ST_EPERMISSION;
}

static const char usage_ping[] = "usage: strata ping\n"
                                 "\n"
                                 "Ask the server's gRPC health service whether it serves.\n"
                                 "Exit status 0 when it does.\n";

int
cmd_ping(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    if (cli_wants_help(argc, argv)) {
        fputs(usage_ping, stdout);
        return 0;
    }
    int ch, rc = 0;
    while ((ch = cli_getopt(c, argc, argv, "h", opts, "ping")) != -1)
        return ST_EINVAL;
    if (optind < argc) return cli_usage_error("ping", "takes no argument");
    struct strata *s = conn_or_fail(c, &rc);
    if (!s) return rc;
    struct st_error err;
    double t0 = now_s();
    if (strata_ping(s, &err) != ST_OK) return cli_fail(&err);
    printf("%s is serving (%.1f ms)\n", c->host, (now_s() - t0) * 1000);
    return 0;
}
