/*
 * cmd_write.c: `strata write`: send line protocol from files or standard
 * input through the gRPC write RPC, in chunks.
 *
 *   strata write [--database DB] [--precision P] [--partial] [--no-sync]
 *                [--chunk-size SIZE] [--quiet] [FILE|-]...
 *
 * Input is cut into chunks of about --chunk-size bytes (1 MiB by default) at
 * line ends, and each chunk is one Write request; a line is never split. A
 * chunk is all or nothing unless --partial, so without --partial the first
 * chunk with a bad line stops the command: the chunks before it are written,
 * the rest is not sent, and the message says from which line. With --partial
 * the good lines of every chunk are written and every bad line is reported.
 * Errors name the file, line and column: `data.lp:12:5: message (excerpt)`.
 * On a terminal a progress bar shows on stderr for inputs of several chunks.
 * Exit status: 0, ST_EPARTIAL (18) when --partial rejected lines, or the
 * error's code.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "strata/buf.h"

#define DEFAULT_CHUNK ((uint64_t)1 << 20)
#define MAX_CHUNK ((uint64_t)64 << 20)
#define MAX_LINE ((size_t)64 << 20)

static const char usage[] =
    "usage: strata write [--database DB] [--precision P] [--partial] [--no-sync]\n"
    "                    [--chunk-size SIZE] [--quiet] [FILE|-]...\n"
    "\n"
    "Write line protocol from FILEs (or standard input: '-' or no FILE).\n"
    "\n"
    "  -d, --database DB    the database (env STRATA_DATABASE)\n"
    "  -p, --precision P    timestamp unit: ns (default), us, ms, s or auto\n"
    "      --partial        write the good lines even when some are bad\n"
    "      --no-sync        do not wait for the server's WAL fsync\n"
    "      --chunk-size N   bytes per request, e.g. 512k, 4M (default 1M)\n"
    "  -q, --quiet          no summary, no progress bar\n"
    "  -h, --help           this text\n";

enum { O_PARTIAL = 1, O_NO_SYNC, O_CHUNK };

struct wstate {
    struct cli *c;
    struct strata *conn;
    struct strata_write_opts opts;
    uint64_t chunk;
    bool quiet;
    bool progress;
    /* totals */
    uint64_t accepted, rejected, fields, bytes_sent;
    bool partial_hit;
    double t0;
    double last_draw;
};

static enum st_code
parse_precision(const char *s, enum strata_precision *p)
{
    static const struct {
        const char *name;
        enum strata_precision p;
    } t[] = {{"ns", STRATA_PRECISION_NS},         {"n", STRATA_PRECISION_NS},
             {"nanosecond", STRATA_PRECISION_NS}, {"us", STRATA_PRECISION_US},
             {"u", STRATA_PRECISION_US},          {"microsecond", STRATA_PRECISION_US},
             {"ms", STRATA_PRECISION_MS},         {"millisecond", STRATA_PRECISION_MS},
             {"s", STRATA_PRECISION_S},           {"second", STRATA_PRECISION_S},
             {"auto", STRATA_PRECISION_AUTO}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (strcmp(s, t[i].name) == 0) {
            *p = t[i].p;
            return ST_OK;
        }
    return ST_EINVAL;
}

static void
draw_progress(struct wstate *w, uint64_t done, uint64_t total, bool final)
{
    if (!w->progress) return;
    double now = now_s();
    if (!final && now - w->last_draw < 0.1) return;
    w->last_draw = now;
    double el = now - w->t0;
    double rate = el > 0 ? (double)done / el / 1048576.0 : 0;
    if (total) {
        int pct = (int)(done * 100 / total);
        int bar = (int)(done * 30 / total);
        char b[31];
        for (int i = 0; i < 30; i++)
            b[i] = i < bar ? '#' : ' ';
        b[30] = '\0';
        fprintf(stderr, "\r%3d%% [%s] %.1f/%.1f MiB  %.1f MiB/s", pct, b, done / 1048576.0,
                total / 1048576.0, rate);
    } else {
        fprintf(stderr, "\r%.1f MiB sent  %.1f MiB/s", done / 1048576.0, rate);
    }
    if (final) fputs("\r\033[K", stderr);
    fflush(stderr);
}

static bool
blank(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\n' && p[i] != '\r') return false;
    return true;
}

/* Send one chunk; line_base = lines of this input before the chunk. */
static int
send_chunk(struct wstate *w, const char *name, const uint8_t *p, size_t n, uint64_t line_base)
{
    struct st_error err;
    struct strata_write_result res;
    if (blank(p, n)) return 0;
    enum st_code rc =
        strata_write(w->conn, w->c->database, (const char *)p, n, &w->opts, &res, &err);
    w->bytes_sent += n;
    w->accepted += res.lines_accepted;
    w->rejected += res.lines_rejected;
    w->fields += res.fields_written;
    if (res.n_errors && w->progress) fputs("\r\033[K", stderr);
    for (uint32_t i = 0; i < res.n_errors; i++) {
        const struct strata_line_error *e = &res.errors[i];
        fprintf(stderr, "%s:%llu:%u: %s", name, (unsigned long long)(line_base + e->line),
                e->column, e->message);
        if (e->excerpt[0]) fprintf(stderr, " (%s)", e->excerpt);
        fputc('\n', stderr);
    }
    if (w->opts.partial && res.lines_rejected > res.n_errors)
        fprintf(stderr, "%s: %llu more rejected lines not listed\n", name,
                (unsigned long long)(res.lines_rejected - res.n_errors));
    strata_write_result_cleanup(&res);
    if (rc == ST_EPARTIAL) {
        w->partial_hit = true;
        return 0;
    }
    if (rc != ST_OK) {
        if (w->progress) fputs("\r\033[K", stderr);
        cli_fail(&err);
        if (rc == ST_EPARSE || rc == ST_ETYPE || rc == ST_ELIMIT || rc == ST_EINVAL)
            fprintf(stderr,
                    "strata: nothing from %s line %llu on was written (%llu lines before "
                    "it were)\n",
                    name, (unsigned long long)line_base + 1, (unsigned long long)w->accepted);
        return (int)rc;
    }
    return 0;
}

static uint64_t
count_lines(const uint8_t *p, size_t n)
{
    uint64_t k = 0;
    for (const uint8_t *q = p; (q = memchr(q, '\n', (size_t)(p + n - q))) != NULL; q++)
        k++;
    return k;
}

static int
write_input(struct wstate *w, const char *path)
{
    bool is_stdin = strcmp(path, "-") == 0;
    const char *name = is_stdin ? "stdin" : path;
    int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "strata: opening \"%s\": %s\n", path, strerror(errno));
        return ST_EIO;
    }
    struct stat st;
    uint64_t total = 0;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) total = (uint64_t)st.st_size;
    bool was_progress = w->progress;
    if (total && total <= w->chunk) w->progress = false; /* small inputs: no bar */

    struct st_buf b;
    st_buf_init(&b, w->chunk + MAX_LINE);
    uint64_t lines_before = 0, done = 0;
    bool eof = false;
    int rc = 0;
    while (rc == 0) {
        /* fill to at least one chunk, or to the end */
        while (!eof && b.len < w->chunk) {
            if (st_buf_reserve(&b, 65536) != ST_OK) {
                rc = ST_ENOMEM;
                break;
            }
            ssize_t r = read(fd, b.data + b.len, 65536);
            if (r < 0 && errno == EINTR) continue;
            if (r < 0) {
                fprintf(stderr, "strata: reading %s: %s\n", name, strerror(errno));
                rc = ST_EIO;
                break;
            }
            if (r == 0) eof = true;
            b.len += (size_t)r;
        }
        if (rc) break;
        size_t cut;
        if (eof) {
            cut = b.len;
        } else {
            /* the last line end within the chunk; past it when a line is longer */
            size_t lim = b.len < w->chunk ? b.len : (size_t)w->chunk;
            const uint8_t *nl = NULL;
            for (size_t i = lim; i > 0; i--)
                if (b.data[i - 1] == '\n') {
                    nl = b.data + i - 1;
                    break;
                }
            while (!nl && !eof) {
                nl = memchr(b.data + lim, '\n', b.len - lim);
                if (nl) break;
                if (b.len >= MAX_LINE) {
                    fprintf(stderr, "strata: %s:%llu: a line is longer than 64 MiB\n", name,
                            (unsigned long long)lines_before + 1);
                    rc = ST_ELIMIT;
                    break;
                }
                lim = b.len;
                if (st_buf_reserve(&b, 65536) != ST_OK) {
                    rc = ST_ENOMEM;
                    break;
                }
                ssize_t r = read(fd, b.data + b.len, 65536);
                if (r < 0 && errno == EINTR) continue;
                if (r < 0) {
                    fprintf(stderr, "strata: reading %s: %s\n", name, strerror(errno));
                    rc = ST_EIO;
                    break;
                }
                if (r == 0) eof = true;
                b.len += (size_t)r;
            }
            if (rc) break;
            cut = nl ? (size_t)(nl - b.data) + 1 : b.len;
        }
        if (cut == 0) break;
        rc = send_chunk(w, name, b.data, cut, lines_before);
        lines_before += count_lines(b.data, cut);
        done += cut;
        draw_progress(w, done, total, false);
        memmove(b.data, b.data + cut, b.len - cut);
        b.len -= cut;
        if (eof && b.len == 0) break;
    }
    draw_progress(w, done, total, true);
    w->progress = was_progress;
    st_buf_cleanup(&b);
    if (!is_stdin) close(fd);
    return rc;
}

int
cmd_write(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"precision", required_argument, NULL, 'p'},
        {"partial", no_argument, NULL, O_PARTIAL},
        {"no-sync", no_argument, NULL, O_NO_SYNC},
        {"chunk-size", required_argument, NULL, O_CHUNK},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    if (cli_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return 0;
    }
    struct wstate w = {.c = c, .chunk = DEFAULT_CHUNK};
    int ch;
    while ((ch = cli_getopt(c, argc, argv, "p:qh", opts, "write")) != -1) {
        switch (ch) {
        case 'p':
            if (parse_precision(optarg, &w.opts.precision) != ST_OK)
                return cli_usage_error("write", "unknown precision \"%s\" (ns, us, ms, s, auto)",
                                       optarg);
            break;
        case O_PARTIAL:
            w.opts.partial = true;
            break;
        case O_NO_SYNC:
            w.opts.no_sync = true;
            break;
        case O_CHUNK:
            if (parse_size(optarg, &w.chunk) != ST_OK || w.chunk < 1024 || w.chunk > MAX_CHUNK)
                return cli_usage_error("write", "bad --chunk-size \"%s\" (1k to 64M)", optarg);
            break;
        case 'q':
            w.quiet = true;
            break;
        default:
            return ST_EINVAL;
        }
    }
    if (!c->database || !*c->database)
        return cli_usage_error("write", "no database: give --database DB or set STRATA_DATABASE");
    struct st_error err;
    w.conn = cli_conn(c, &err);
    if (!w.conn) return cli_fail(&err);
    w.progress = !w.quiet && isatty(STDERR_FILENO);
    w.t0 = now_s();
    int rc = 0;
    if (optind >= argc) {
        rc = write_input(&w, "-");
    } else {
        for (int i = optind; i < argc && rc == 0; i++)
            rc = write_input(&w, argv[i]);
    }
    if (!w.quiet && (rc == 0 || w.accepted)) {
        printf("wrote %llu line%s (%llu fields) to \"%s\" in %.2f s",
               (unsigned long long)w.accepted, w.accepted == 1 ? "" : "s",
               (unsigned long long)w.fields, c->database, now_s() - w.t0);
        if (w.rejected)
            printf("; %llu line%s rejected", (unsigned long long)w.rejected,
                   w.rejected == 1 ? "" : "s");
        putchar('\n');
    }
    if (rc == 0 && w.partial_hit) rc = ST_EPARTIAL;
    return rc;
}
