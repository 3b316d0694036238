/*
 * slt_parse.c: parser of SQL logic test files (format: README.md). It reads
 * the whole file, splits it into records at directive lines, and keeps the
 * SQL, line protocol and expected rows as text; it runs nothing.
 */
#include "slt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct lines {
    char **v;
    size_t n;
};

static int
split_lines(char *buf, struct lines *out)
{
    size_t cap = 64, n = 0;
    char **v = malloc(cap * sizeof *v);
    if (!v)
        return -1;
    char *p = buf;
    while (*p) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        size_t l = strlen(p);
        if (l && p[l - 1] == '\r')
            p[l - 1] = '\0';
        if (n == cap) {
            cap *= 2;
            char **nv = realloc(v, cap * sizeof *nv);
            if (!nv) {
                free(v);
                return -1;
            }
            v = nv;
        }
        v[n++] = p;
        if (!nl)
            break;
        p = nl + 1;
    }
    out->v = v;
    out->n = n;
    return 0;
}

static bool
blank(const char *s)
{
    return s[strspn(s, " \t")] == '\0';
}

static char *
dup(const char *s)
{
    char *d = strdup(s);
    if (!d) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return d;
}

/* Lines from *i until a blank line (or "----" when stop_dashes), joined with '\n'. */
static char *
take_block(struct lines *L, size_t *i, bool stop_dashes)
{
    size_t total = 0, start = *i;
    while (*i < L->n && !blank(L->v[*i]) && !(stop_dashes && strcmp(L->v[*i], "----") == 0)) {
        total += strlen(L->v[*i]) + 1;
        (*i)++;
    }
    char *s = malloc(total + 1);
    if (!s) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    size_t o = 0;
    for (size_t k = start; k < *i; k++) {
        size_t l = strlen(L->v[k]);
        memcpy(s + o, L->v[k], l);
        o += l;
        s[o++] = '\n';
    }
    if (o)
        o--; /* drop the last newline */
    s[o] = '\0';
    return s;
}

static int
fail(const char *path, size_t line, const char *why)
{
    fprintf(stderr, "%s:%zu: %s\n", path, line, why);
    return -1;
}

/* "statement error [@N] [ECODE] fragment" / "write error ..." */
static void
parse_error_spec(const char *rest, struct slt_record *r)
{
    r->err_offset = -1;
    rest += strspn(rest, " ");
    if (*rest == '@') {
        r->err_offset = strtoll(rest + 1, NULL, 10);
        rest += strcspn(rest, " ");
        rest += strspn(rest, " ");
    }
    if (rest[0] == 'E' && rest[1] >= 'A' && rest[1] <= 'Z') {
        size_t n = strcspn(rest, " ");
        bool upper = true;
        for (size_t k = 0; k < n; k++)
            if (!((rest[k] >= 'A' && rest[k] <= 'Z') || rest[k] == '_'))
                upper = false;
        if (upper) {
            r->err_code = strndup(rest, n);
            rest += n;
            rest += strspn(rest, " ");
        }
    }
    r->err_fragment = dup(rest);
}

int
slt_parse_file(const char *path, struct slt_file *out)
{
    memset(out, 0, sizeof *out);
    out->path = path;
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return -1;
    }
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    if (sz < 0 || sz > (64 << 20)) {
        fclose(f);
        return fail(path, 0, "file too large");
    }
    char *buf = malloc((size_t)sz + 1);
    if (!buf || fread(buf, 1, (size_t)sz, f) != (size_t)sz) {
        fclose(f);
        free(buf);
        return fail(path, 0, "cannot read");
    }
    fclose(f);
    buf[sz] = '\0';
    struct lines L;
    if (split_lines(buf, &L) != 0) {
        free(buf);
        return -1;
    }
    size_t cap = 64;
    out->recs = calloc(cap, sizeof *out->recs);
    int rc = 0;
    for (size_t i = 0; i < L.n && rc == 0;) {
        const char *ln = L.v[i];
        if (blank(ln) || ln[0] == '#') {
            i++;
            continue;
        }
        if (out->n_recs == cap) {
            cap *= 2;
            struct slt_record *nr = realloc(out->recs, cap * sizeof *nr);
            if (!nr) {
                rc = -1;
                break;
            }
            out->recs = nr;
        }
        struct slt_record *r = &out->recs[out->n_recs];
        memset(r, 0, sizeof *r);
        r->line = (unsigned)(i + 1);
        r->err_offset = -1;
        size_t dl = i++;
        char word[32] = {0}, a1[256] = {0}, a2[256] = {0}, a3[1024] = {0};
        int nw = sscanf(ln, "%31s %255s %255s %1023[^\n]", word, a1, a2, a3);
        if (strcmp(word, "statement") == 0 && nw >= 2 && strcmp(a1, "ok") == 0) {
            r->kind = SLT_STATEMENT_OK;
            r->text = take_block(&L, &i, false);
        } else if (strcmp(word, "statement") == 0 && nw >= 2 && strcmp(a1, "error") == 0) {
            r->kind = SLT_STATEMENT_ERROR;
            parse_error_spec(ln + strlen("statement error"), r);
            r->text = take_block(&L, &i, false);
        } else if (strcmp(word, "query") == 0 && nw >= 2) {
            r->kind = SLT_QUERY;
            r->types = dup(a1);
            r->sort = nw >= 3 && strcmp(a2, "rowsort") == 0 ? SLT_ROWSORT : SLT_NOSORT;
            if (nw >= 3 && strcmp(a2, "rowsort") != 0 && strcmp(a2, "nosort") != 0)
                rc = fail(path, dl + 1, "expected rowsort or nosort after the types");
            r->text = take_block(&L, &i, true);
            if (i >= L.n || strcmp(L.v[i], "----") != 0) {
                rc = fail(path, dl + 1, "query without a ---- line");
                break;
            }
            i++;
            size_t start = i;
            while (i < L.n && !blank(L.v[i]))
                i++;
            r->n_expected = i - start;
            r->expected = calloc(r->n_expected + 1, sizeof *r->expected);
            for (size_t k = 0; k < r->n_expected; k++)
                r->expected[k] = dup(L.v[start + k]);
        } else if (strcmp(word, "write") == 0) {
            bool is_err = nw >= 2 && strcmp(a1, "error") == 0;
            r->kind = is_err ? SLT_WRITE_ERROR : SLT_WRITE;
            if (is_err)
                parse_error_spec(ln + strlen("write error"), r);
            r->text = take_block(&L, &i, false);
        } else if (strcmp(word, "database") == 0 && nw == 2) {
            r->kind = SLT_DATABASE;
            r->arg1 = dup(a1);
        } else if (strcmp(word, "param") == 0 && nw >= 3) {
            r->kind = SLT_PARAM;
            r->arg1 = dup(a1);
            r->arg2 = dup(a2);
            r->arg3 = dup(nw >= 4 ? a3 : "");
        } else if (strcmp(word, "params") == 0 && nw == 2 && strcmp(a1, "clear") == 0) {
            r->kind = SLT_CLEAR_PARAMS;
        } else if (strcmp(word, "option") == 0 && nw == 3) {
            r->kind = SLT_OPTION;
            r->arg1 = dup(a1);
            r->arg2 = dup(a2);
        } else if (strcmp(word, "restart") == 0 && nw == 1) {
            r->kind = SLT_RESTART;
        } else if (strcmp(word, "persist") == 0 && nw == 1) {
            r->kind = SLT_PERSIST;
        } else if (strcmp(word, "now") == 0 && nw == 2) {
            r->kind = SLT_NOW;
            r->arg1 = dup(a1);
        } else {
            char why[300];
            snprintf(why, sizeof why, "unknown directive \"%.200s\"", ln);
            rc = fail(path, dl + 1, why);
            break;
        }
        out->n_recs++;
    }
    free(L.v);
    free(buf);
    return rc;
}

void
slt_file_free(struct slt_file *f)
{
    for (size_t i = 0; i < f->n_recs; i++) {
        struct slt_record *r = &f->recs[i];
        free(r->text);
        free(r->err_code);
        free(r->err_fragment);
        free(r->types);
        for (size_t k = 0; k < r->n_expected; k++)
            free(r->expected[k]);
        free(r->expected);
        free(r->arg1);
        free(r->arg2);
        free(r->arg3);
    }
    free(f->recs);
    memset(f, 0, sizeof *f);
}
