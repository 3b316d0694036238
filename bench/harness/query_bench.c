/*
 * query_bench.c: runs the TSBS query instances on our engine for the
 * benchmark. Opens a data directory written by ingest_bench, loads the
 * instances (tsbs_gen --queries ours: "<type>\t<index>\t<sql>" lines), and
 * runs them through eng_query, pulling every batch of every answer.
 *
 *   query_bench --data-dir DIR --queries FILE [--db benchmark] MODE
 *   MODE:  --serve                  answer commands on stdin (the node driver)
 *          --print [--type T]       print every answer in canonical form
 *          --bench [--type T] [--passes N]
 *                                   1 warm-up + N timed passes, p50/p99 per type
 *
 * Serve protocol (one line per command and per reply, '\n'-terminated):
 *   at start                -> "ready <n_instances> <open_ms> <rss_bytes>"
 *   "time <type>"           -> per instance, in file order, either
 *                              "t <index> <ns> <rows>" or "e <index> <CODE> <message>";
 *                              then "done". ns covers eng_query to eng_cursor_free.
 *   "result <type> <index>" -> "cols <n>", n x "col <type>\t<name>", one
 *                              "r\t<v1>\t<v2>..." per row, "end <rows>";
 *                              or "e <index> <CODE> <message>" at any point.
 *   "stats"                 -> "stats <rss_bytes> <peak_rss_bytes>"
 *   "quit"
 * Canonical values: time as int64 ns, int/uint in decimal, float as %.17g
 * (NaN, Infinity, -Infinity), bool 0/1, strings with \\ \t \n \r escaped,
 * NULL as \N. Column types: time, string, float, int, uint, bool.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "strata/clock.h"
#include "strata/engine.h"

#define MAX_QUERY_FILE (64u << 20)
#define MAX_INSTANCES 100000

struct instance {
    char *type;
    unsigned index;
    char *sql;
};

static struct instance *inst;
static size_t n_inst;
static struct eng *eng;
static const char *db = "benchmark";

static int
load_queries(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "query_bench: cannot open \"%s\": %s\n", path, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0, total = 0, lineno = 0;
    ssize_t len;
    inst = calloc(MAX_INSTANCES, sizeof *inst);
    if (!inst) {
        fclose(f);
        fprintf(stderr, "query_bench: out of memory\n");
        return -1;
    }
    while ((len = getline(&line, &cap, f)) > 0) {
        lineno++;
        total += (size_t)len;
        if (total > MAX_QUERY_FILE || n_inst == MAX_INSTANCES) {
            fprintf(stderr, "query_bench: %s: too large (limits: 64 MiB, %d instances)\n", path,
                    MAX_INSTANCES);
            goto fail;
        }
        if (line[len - 1] == '\n')
            line[--len] = '\0';
        if (!len)
            continue;
        char *t1 = strchr(line, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
        char *end;
        if (!t2) {
            fprintf(stderr, "query_bench: %s:%zu: expected <type>\\t<index>\\t<sql>\n", path,
                    lineno);
            goto fail;
        }
        *t1 = *t2 = '\0';
        unsigned long idx = strtoul(t1 + 1, &end, 10);
        if (*end || end == t1 + 1 || idx > 1000000) {
            fprintf(stderr, "query_bench: %s:%zu: bad instance index\n", path, lineno);
            goto fail;
        }
        inst[n_inst].type = strdup(line);
        inst[n_inst].index = (unsigned)idx;
        inst[n_inst].sql = strdup(t2 + 1);
        if (!inst[n_inst].type || !inst[n_inst].sql) {
            fprintf(stderr, "query_bench: out of memory\n");
            goto fail;
        }
        n_inst++;
    }
    free(line);
    fclose(f);
    return 0;
fail:
    free(line);
    fclose(f);
    return -1;
}

/* One line of text safe for the protocol: no newline or tab. */
static void
put_msg(FILE *out, const char *s)
{
    for (; *s; s++)
        fputc(*s == '\n' || *s == '\r' || *s == '\t' ? ' ' : *s, out);
}

static void
put_escaped(FILE *out, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        switch (c) {
        case '\\': fputs("\\\\", out); break;
        case '\t': fputs("\\t", out); break;
        case '\n': fputs("\\n", out); break;
        case '\r': fputs("\\r", out); break;
        default: fputc(c, out);
        }
    }
}

static const char *
canon_type(enum st_type t)
{
    switch (t) {
    case ST_TYPE_TIME: return "time";
    case ST_TYPE_STRING: return "string";
    case ST_TYPE_FLOAT: return "float";
    case ST_TYPE_INT: return "int";
    case ST_TYPE_UINT: return "uint";
    case ST_TYPE_BOOL: return "bool";
    default: return "null";
    }
}

static void
put_value(FILE *out, const struct st_column *c, uint32_t row)
{
    if (!st_column_is_valid(c, row)) {
        fputs("\\N", out);
        return;
    }
    switch (c->type) {
    case ST_TYPE_TIME:
    case ST_TYPE_INT: fprintf(out, "%" PRId64, c->v.i64[row]); break;
    case ST_TYPE_UINT: fprintf(out, "%" PRIu64, c->v.u64[row]); break;
    case ST_TYPE_BOOL: fputc(c->v.b[row] ? '1' : '0', out); break;
    case ST_TYPE_FLOAT: {
        double d = c->v.f64[row];
        if (isnan(d))
            fputs("NaN", out);
        else if (isinf(d))
            fputs(d > 0 ? "Infinity" : "-Infinity", out);
        else
            fprintf(out, "%.17g", d);
        break;
    }
    case ST_TYPE_STRING:
        put_escaped(out, c->str_data + c->v.offsets[row],
                    (size_t)(c->v.offsets[row + 1] - c->v.offsets[row]));
        break;
    default: fputs("\\N", out); break;
    }
}

static enum st_code
start(const struct instance *q, struct eng_cursor **cur, struct st_error *err)
{
    struct eng_query_opts qo = {.read_only = true};
    return eng_query(eng, db, q->sql, strlen(q->sql), &qo, cur, err);
}

static void
put_error(FILE *out, const struct instance *q, enum st_code rc, const struct st_error *err)
{
    fprintf(out, "e %u %s ", q->index, st_code_name(rc));
    if (err->offset >= 0)
        fprintf(out, "at offset %" PRId64 ": ", err->offset);
    put_msg(out, err->msg);
    fputc('\n', out);
}

/* Time one instance; 0 and *ns, *rows on success. */
static enum st_code
run_timed(const struct instance *q, int64_t *ns, uint64_t *rows, struct st_error *err)
{
    struct eng_cursor *cur = NULL;
    uint64_t n = 0;
    int64_t t0 = st_mono_ns();
    enum st_code rc = start(q, &cur, err);
    if (rc == ST_OK) {
        const struct st_batch *b;
        while ((rc = eng_cursor_next(cur, &b, err)) == ST_OK && b)
            n += b->n_rows;
        eng_cursor_free(cur);
    }
    *ns = st_mono_ns() - t0;
    *rows = n;
    return rc;
}

static void
print_result(FILE *out, const struct instance *q)
{
    struct st_error err;
    st_error_clear(&err);
    struct eng_cursor *cur = NULL;
    enum st_code rc = start(q, &cur, &err);
    if (rc != ST_OK) {
        put_error(out, q, rc, &err);
        return;
    }
    const struct st_schema *s = eng_cursor_schema(cur);
    fprintf(out, "cols %u\n", s->n_fields);
    for (uint32_t i = 0; i < s->n_fields; i++) {
        fprintf(out, "col %s\t", canon_type(s->fields[i].type));
        put_escaped(out, s->fields[i].name, strlen(s->fields[i].name));
        fputc('\n', out);
    }
    uint64_t rows = 0;
    const struct st_batch *b;
    while ((rc = eng_cursor_next(cur, &b, &err)) == ST_OK && b) {
        for (uint32_t r = 0; r < b->n_rows; r++) {
            fputc('r', out);
            for (uint32_t c = 0; c < b->n_cols; c++) {
                fputc('\t', out);
                put_value(out, &b->cols[c], r);
            }
            fputc('\n', out);
        }
        rows += b->n_rows;
    }
    if (rc != ST_OK)
        put_error(out, q, rc, &err);
    else
        fprintf(out, "end %" PRIu64 "\n", rows);
    eng_cursor_free(cur);
}

static void
time_type(FILE *out, const char *type)
{
    for (size_t i = 0; i < n_inst; i++) {
        if (strcmp(inst[i].type, type))
            continue;
        struct st_error err;
        st_error_clear(&err);
        int64_t ns;
        uint64_t rows;
        enum st_code rc = run_timed(&inst[i], &ns, &rows, &err);
        if (rc != ST_OK)
            put_error(out, &inst[i], rc, &err);
        else
            fprintf(out, "t %u %" PRId64 " %" PRIu64 "\n", inst[i].index, ns, rows);
    }
    fputs("done\n", out);
}

static int
serve(void)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, stdin)) > 0) {
        if (line[len - 1] == '\n')
            line[--len] = '\0';
        char type[128];
        unsigned index;
        if (!strcmp(line, "quit"))
            break;
        if (!strcmp(line, "stats")) {
            printf("stats %" PRIu64 " %" PRIu64 "\n", bu_proc_status_bytes("VmRSS"),
                   bu_proc_status_bytes("VmHWM"));
        } else if (sscanf(line, "time %127s", type) == 1) {
            time_type(stdout, type);
        } else if (sscanf(line, "result %127s %u", type, &index) == 2) {
            size_t i;
            for (i = 0; i < n_inst; i++)
                if (!strcmp(inst[i].type, type) && inst[i].index == index)
                    break;
            if (i == n_inst)
                printf("e %u ENOTFOUND no instance %s #%u\n", index, type, index);
            else
                print_result(stdout, &inst[i]);
        } else {
            printf("e 0 EINVAL unknown command\n");
        }
        fflush(stdout);
    }
    free(line);
    return 0;
}

static int
bench(const char *only, long passes)
{
    /* types in file order */
    const char *types[64];
    size_t n_types = 0;
    for (size_t i = 0; i < n_inst; i++) {
        size_t k;
        for (k = 0; k < n_types && strcmp(types[k], inst[i].type); k++)
            ;
        if (k == n_types && n_types < 64 && (!only || !strcmp(only, inst[i].type)))
            types[n_types++] = inst[i].type;
    }
    int status = 0;
    printf("%-24s %6s %10s %10s %10s %10s\n", "type", "runs", "min ms", "p50 ms", "p99 ms",
           "rows");
    for (size_t k = 0; k < n_types; k++) {
        int64_t *ns = malloc(n_inst * (size_t)passes * sizeof *ns);
        size_t n = 0;
        uint64_t rows = 0;
        bool failed = false;
        for (long p = 0; p <= passes && !failed; p++) {
            for (size_t i = 0; i < n_inst && !failed; i++) {
                if (strcmp(inst[i].type, types[k]))
                    continue;
                struct st_error err;
                st_error_clear(&err);
                int64_t t;
                enum st_code rc = run_timed(&inst[i], &t, &rows, &err);
                if (rc != ST_OK) {
                    printf("%-24s ", types[k]);
                    put_error(stdout, &inst[i], rc, &err);
                    failed = true;
                    status = 1;
                } else if (p > 0) {
                    ns[n++] = t;
                }
            }
        }
        if (!failed) {
            int64_t p50 = bu_percentile(ns, n, 50), p99 = bu_percentile(ns, n, 99);
            printf("%-24s %6zu %10.3f %10.3f %10.3f %10" PRIu64 "\n", types[k], n,
                   (double)ns[0] / 1e6, (double)p50 / 1e6, (double)p99 / 1e6, rows);
        }
        fflush(stdout);
        free(ns);
    }
    return status;
}

int
main(int argc, char **argv)
{
    const char *data_dir = NULL, *queries = NULL, *only = NULL;
    enum { M_NONE, M_SERVE, M_PRINT, M_BENCH } mode = M_NONE;
    long passes = 3;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--data-dir") && i + 1 < argc)
            data_dir = argv[++i];
        else if (!strcmp(a, "--queries") && i + 1 < argc)
            queries = argv[++i];
        else if (!strcmp(a, "--db") && i + 1 < argc)
            db = argv[++i];
        else if (!strcmp(a, "--type") && i + 1 < argc)
            only = argv[++i];
        else if (!strcmp(a, "--passes") && i + 1 < argc) {
            char *end;
            passes = strtol(argv[++i], &end, 10);
            if (*end || passes < 1 || passes > 1000) {
                fprintf(stderr, "query_bench: --passes: expected 1..1000\n");
                return 2;
            }
        } else if (!strcmp(a, "--serve"))
            mode = M_SERVE;
        else if (!strcmp(a, "--print"))
            mode = M_PRINT;
        else if (!strcmp(a, "--bench"))
            mode = M_BENCH;
        else {
            mode = M_NONE;
            break;
        }
    }
    if (!data_dir || !queries || mode == M_NONE) {
        fprintf(stderr, "usage: query_bench --data-dir DIR --queries FILE [--db NAME]\n"
                        "                   --serve | --print [--type T] | --bench [--type T] "
                        "[--passes N]\n");
        return 2;
    }
    if (load_queries(queries) != 0)
        return 1;
    struct st_error err;
    st_error_clear(&err);
    struct eng_options eo = {.data_dir = data_dir, .background = false};
    int64_t t0 = st_mono_ns();
    eng = eng_open(&eo, &err);
    if (!eng) {
        fprintf(stderr, "query_bench: eng_open \"%s\": %s\n", data_dir, err.msg);
        return 1;
    }
    double open_ms = (double)(st_mono_ns() - t0) / 1e6;
    int rc = 0;
    if (mode == M_SERVE) {
        printf("ready %zu %.3f %" PRIu64 "\n", n_inst, open_ms, bu_proc_status_bytes("VmRSS"));
        fflush(stdout);
        rc = serve();
    } else if (mode == M_PRINT) {
        for (size_t i = 0; i < n_inst; i++) {
            if (only && strcmp(only, inst[i].type))
                continue;
            printf("# %s %u\n", inst[i].type, inst[i].index);
            print_result(stdout, &inst[i]);
        }
    } else {
        rc = bench(only, passes);
    }
    eng_close(eng);
    for (size_t i = 0; i < n_inst; i++) {
        free(inst[i].type);
        free(inst[i].sql);
    }
    free(inst);
    return rc;
}
