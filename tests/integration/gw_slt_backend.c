/*
 * gw_slt_backend.c: the SQL logic test files (tests/sql/ files) run through the real
 * stratad instead of the in-process engine. The runner (tests/sqllogic: runner.c,
 * slt_parse.c, slt_result.c) is linked unchanged with this file, which provides the
 * backend the runner asks for (`slt_engine_backend`): the same records, the same
 * expected rows, but every write goes through strata.v1.WriteService/Write and every
 * statement through Flight DoGet, using the C client library (clients/c), so results
 * cross the Arrow encoder, gRPC and the Arrow decoder.
 *
 *   open      start $STRATAD (or STRATA_BIN_DIR/stratad) on the data directory,
 *             127.0.0.1:0, --port-file, and connect with the operator token
 *   restart   SIGTERM, wait for exit 0, start again on the same directory (WAL replay)
 *   persist   nothing: there is no persist RPC; results must not depend on it
 *
 * Directives the gateway cannot express (`now`, `option cancel|deadline_ns|read_only|
 * max_result_bytes|batch_rows`, TIME parameters, DELETE, which Flight refuses as a
 * read-only server, and `database -`: the C client sends no query without a database)
 * make a file ineligible: gw_tests.cmake registers only the others.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "slt.h"
#include "strata/client.h"

struct srv {
    char dir[4096];
    char port_file[4200];
    char token_file[4200];
    pid_t pid;
    struct strata *c;
};

static struct srv the_srv;

static int
start(struct srv *s, char *err, size_t errlen)
{
    char bin[4200];
    const char *env = getenv("STRATAD");
    if (env && *env)
        snprintf(bin, sizeof bin, "%s", env);
    else
        snprintf(bin, sizeof bin, "%s/stratad",
                 getenv("STRATA_BIN_DIR") ? getenv("STRATA_BIN_DIR") : "build/bin");
    unlink(s->port_file);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        execl(bin, bin, "--data-dir", s->dir, "--listen", "127.0.0.1:0", "--port-file",
              s->port_file, "--admin-token-file", s->token_file, "--log-level", "error",
              "--shutdown-grace", "2s", (char *)NULL);
        _exit(127);
    }
    s->pid = pid;
    int port = 0;
    for (int i = 0; i < 3000 && !port; i++) {
        FILE *f = fopen(s->port_file, "r");
        if (f) {
            if (fscanf(f, "%d", &port) != 1)
                port = 0;
            fclose(f);
        }
        int st;
        if (!port && waitpid(pid, &st, WNOHANG) == pid) {
            snprintf(err, errlen, "%s exited during start (status %d)", bin, st);
            s->pid = 0;
            return -1;
        }
        if (!port) {
            struct timespec ts = {0, 10000000};
            nanosleep(&ts, NULL);
        }
    }
    if (!port) {
        snprintf(err, errlen, "%s did not write its port file", bin);
        return -1;
    }
    char token[512] = "", url[64];
    FILE *f = fopen(s->token_file, "r");
    if (!f || !fgets(token, sizeof token, f)) {
        if (f)
            fclose(f);
        snprintf(err, errlen, "cannot read the operator token");
        return -1;
    }
    fclose(f);
    token[strcspn(token, "\r\n")] = 0;
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    struct st_error e;
    s->c = strata_connect(url, token, NULL, &e);
    if (!s->c) {
        snprintf(err, errlen, "connect: %s", e.msg);
        return -1;
    }
    return 0;
}

static int
stop(struct srv *s)
{
    strata_close(s->c);
    s->c = NULL;
    if (s->pid <= 0)
        return 0;
    kill(s->pid, SIGTERM);
    int st = 0;
    waitpid(s->pid, &st, 0);
    s->pid = 0;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static int
be_open(void *ctx, const char *dir, char *err, size_t errlen)
{
    struct srv *s = ctx;
    snprintf(s->dir, sizeof s->dir, "%s", dir);
    snprintf(s->port_file, sizeof s->port_file, "%s.port", dir);
    snprintf(s->token_file, sizeof s->token_file, "%s.token", dir);
    return start(s, err, errlen);
}

static void
be_close(void *ctx)
{
    if (stop(ctx) != 0)
        fprintf(stderr, "gw_slt_backend: stratad did not exit 0\n");
}

static int
be_restart(void *ctx, char *err, size_t errlen)
{
    if (stop(ctx) != 0) {
        snprintf(err, errlen, "stratad did not exit 0 on SIGTERM");
        return -1;
    }
    return start(ctx, err, errlen);
}

static int
be_persist(void *ctx, char *err, size_t errlen)
{
    (void)ctx;
    (void)err;
    (void)errlen;
    return 0;
}

static void
set_error(struct slt_result *res, enum st_code code, const struct st_error *e)
{
    res->ok = false;
    snprintf(res->code, sizeof res->code, "%s", st_code_name(code));
    res->offset = e->offset;
    snprintf(res->message, sizeof res->message, "%s", e->msg);
}

static void
be_write(void *ctx, const char *db, const char *lp, size_t len, struct slt_result *res)
{
    struct srv *s = ctx;
    struct strata_write_result wr;
    memset(&wr, 0, sizeof wr);
    struct st_error e;
    st_error_clear(&e);
    slt_result_reset(res);
    enum st_code rc = strata_write(s->c, db, lp, len, NULL, &wr, &e);
    if (rc != ST_OK) {
        set_error(res, rc, &e);
        if (wr.n_errors)
            snprintf(res->message, sizeof res->message, "line %u: %s", wr.errors[0].line,
                     wr.errors[0].message);
    } else
        res->ok = true;
    strata_write_result_cleanup(&wr);
}

static int
param_value(const struct slt_param *p, struct strata_param *out)
{
    memset(out, 0, sizeof *out);
    out->name = p->name;
    if (!strcmp(p->type, "int")) {
        out->type = ST_TYPE_INT;
        out->v.i = strtoll(p->value, NULL, 10);
    } else if (!strcmp(p->type, "uint")) {
        out->type = ST_TYPE_UINT;
        out->v.u = strtoull(p->value, NULL, 10);
    } else if (!strcmp(p->type, "float")) {
        out->type = ST_TYPE_FLOAT;
        out->v.f = strtod(p->value, NULL);
    } else if (!strcmp(p->type, "string")) {
        out->type = ST_TYPE_STRING;
        out->v.s = p->value;
    } else if (!strcmp(p->type, "bool")) {
        out->type = ST_TYPE_BOOL;
        out->v.b = !strcmp(p->value, "true");
    } else if (!strcmp(p->type, "null")) {
        out->type = ST_TYPE_NULL;
    } else
        return -1; /* time parameters do not travel in the JSON ticket */
    return 0;
}

static void
be_query(void *ctx, const char *db, const char *sql, size_t len, const struct slt_options *o,
         struct slt_result *res)
{
    struct srv *s = ctx;
    slt_result_reset(res);
    struct strata_param *params = calloc(o->n_params + 1, sizeof *params);
    for (size_t i = 0; i < o->n_params; i++)
        if (param_value(&o->params[i], &params[i]) != 0) {
            res->ok = false;
            snprintf(res->code, sizeof res->code, "EINVAL");
            snprintf(res->message, sizeof res->message,
                     "test file: parameter type '%s' cannot go through the gateway",
                     o->params[i].type);
            free(params);
            return;
        }
    char *text = strndup(sql, len);
    struct strata_result *r = NULL;
    struct st_error e;
    st_error_clear(&e);
    enum st_code rc = strata_query(s->c, db && *db ? db : NULL, text, params, o->n_params, &r, &e);
    free(text);
    free(params);
    if (rc != ST_OK) {
        set_error(res, rc, &e);
        return;
    }
    const struct st_schema *sc = strata_result_schema(r);
    size_t nt = 0;
    for (uint32_t i = 0; i < sc->n_fields && nt + 1 < sizeof res->types; i++)
        res->types[nt++] = slt_type_letter(sc->fields[i].type);
    res->types[nt] = 0;
    bool more = true;
    while ((rc = strata_result_next(r, &more, &e)) == ST_OK && more) {
        const struct st_batch *b = strata_result_batch(r);
        if (b && b->n_rows)
            slt_result_add_batch(res, b);
    }
    if (rc != ST_OK)
        set_error(res, rc, &e);
    else
        res->ok = true;
    strata_result_free(r);
}

void
slt_engine_backend(struct slt_backend *b)
{
    b->ctx = &the_srv;
    b->open = be_open;
    b->close = be_close;
    b->restart = be_restart;
    b->persist = be_persist;
    b->write = be_write;
    b->query = be_query;
}
