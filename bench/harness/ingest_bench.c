/*
 * ingest_bench.c: our engine's ingest figures for the benchmark. Reads a
 * line-protocol file (tsbs_gen --format lp), writes it through eng_write in
 * batches of N lines (10,000 by default, TSBS's batch size) with durable
 * acknowledgements into a fresh data directory, then eng_persist; prints the
 * figures as one JSON object on stdout and a summary on stderr.
 *
 *   ingest_bench --lp cpu.lp --data-dir DIR [--db benchmark] [--batch-lines 10000]
 *                [--writers N] [--no-sync] [--no-background]
 *   ingest_bench --generate large --data-dir DIR ...
 *
 * With --lp the file is read batch by batch with pread into one reusable
 * buffer, as a server reads a request body, so the input does not count in
 * the peak RSS (the copy from the page cache does count in the CPU time, a
 * few ms). With --generate SIZE (smoke, standard, large) the batches are
 * generated in memory (strata/tsbs.h), nothing is stored, and the
 * generator's own wall and CPU time (measured around each fill) are taken
 * out of the figures: the way to run the 12 GB "large" size.
 * --writers N runs N writer threads taking batches in file order from a
 * shared cursor (concurrent requests, as a server sees them; group commit
 * can share fsyncs between them).
 * Figures: rows/s and LP MB/s of the write phase and of write + persist,
 * CPU seconds per million rows (getrusage: every thread of the process),
 * per-batch acknowledgement latency p50/p99/max, bytes on disk per row after
 * the persist (apparent and allocated), peak RSS (VmHWM).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "strata/clock.h"
#include "strata/engine.h"
#include "strata/tsbs.h"

struct batch {
    uint64_t off;
    uint32_t len;
    uint32_t lines;
};

__attribute__((format(printf, 1, 2), noreturn)) static void
die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "ingest_bench: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

/* Split the file into batches of `per` lines without keeping it in memory. */
static struct batch *
scan_batches(int fd, uint32_t per, size_t *n_out, uint64_t *lines_out, uint64_t *bytes_out,
             uint32_t *max_len)
{
    size_t cap = 1024, n = 0;
    struct batch *b = malloc(cap * sizeof *b);
    char *buf = malloc(8u << 20);
    if (!b || !buf)
        die("out of memory");
    uint64_t off = 0, start = 0, lines = 0;
    uint32_t in_batch = 0;
    *max_len = 0;
    for (;;) {
        ssize_t r = pread(fd, buf, 8u << 20, (off_t)off);
        if (r < 0)
            die("reading the line protocol: %s", strerror(errno));
        if (r == 0)
            break;
        for (ssize_t i = 0; i < r; i++) {
            if (buf[i] != '\n')
                continue;
            lines++;
            if (++in_batch == per) {
                uint64_t end = off + (uint64_t)i + 1;
                if (end - start > UINT32_MAX)
                    die("a batch is larger than 4 GiB");
                if (n == cap) {
                    cap *= 2;
                    b = realloc(b, cap * sizeof *b);
                    if (!b)
                        die("out of memory");
                }
                b[n++] = (struct batch){start, (uint32_t)(end - start), in_batch};
                if (end - start > *max_len)
                    *max_len = (uint32_t)(end - start);
                start = end;
                in_batch = 0;
            }
        }
        off += (uint64_t)r;
    }
    if (off > start) {
        if (n == cap) {
            b = realloc(b, (cap + 1) * sizeof *b);
            if (!b)
                die("out of memory");
        }
        if (off - start > UINT32_MAX)
            die("a batch is larger than 4 GiB");
        if (in_batch == 0) /* a last line without '\n' */
            in_batch = 1, lines++;
        b[n++] = (struct batch){start, (uint32_t)(off - start), in_batch};
        if (off - start > *max_len)
            *max_len = (uint32_t)(off - start);
    }
    free(buf);
    *n_out = n;
    *lines_out = lines;
    *bytes_out = off;
    return b;
}

static double
thread_cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
dir_is_fresh(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return errno == ENOENT;
    return 0;
}

/* Where the batches come from: a file (--lp) or the generator (--generate). */
struct source {
    int fd;
    struct batch *batches;
    size_t n_batches;
    struct tsbs_gen *gen;
    uint32_t per;
    size_t cap; /* bytes a batch buffer needs */
    /* generator cost, taken out of the figures (one writer only) */
    int64_t gen_wall_ns;
    double gen_cpu_s;
};

/* State shared by the writer threads. */
struct run {
    struct eng *e;
    const char *db;
    struct eng_write_opts wo;
    struct source *src;
    pthread_mutex_t mu;
    size_t next;         /* next file batch to take */
    size_t max_batches;
    size_t n_done;
    int64_t *ack_ns;     /* per acknowledged batch */
    uint64_t rows_ok, lines_sent, bytes_sent;
    bool failed;
};

/* The next batch into buf: its length and line count; false at the end. */
static bool
source_next(struct run *r, char *buf, size_t *len, uint64_t *lines)
{
    struct source *s = r->src;
    bool ok = false;
    pthread_mutex_lock(&r->mu);
    if (r->failed) {
        pthread_mutex_unlock(&r->mu);
        return false;
    }
    if (s->gen) {
        int64_t w0 = st_mono_ns();
        double c0 = thread_cpu_seconds();
        size_t n = tsbs_gen_fill(s->gen, TSBS_FMT_LP, buf, s->cap, s->per, len);
        s->gen_cpu_s += thread_cpu_seconds() - c0;
        s->gen_wall_ns += st_mono_ns() - w0;
        *lines = n;
        pthread_mutex_unlock(&r->mu);
        return n > 0;
    }
    const struct batch *b = NULL;
    if (r->next < s->n_batches)
        b = &s->batches[r->next++];
    pthread_mutex_unlock(&r->mu);
    if (b) {
        ssize_t n = pread(s->fd, buf, b->len, (off_t)b->off);
        if (n != (ssize_t)b->len)
            die("reading the line protocol: %s", n < 0 ? strerror(errno) : "short read");
        *len = b->len;
        *lines = b->lines;
        ok = true;
    }
    return ok;
}

static void *
writer(void *arg)
{
    struct run *r = arg;
    char *buf = malloc(r->src->cap);
    if (!buf)
        die("out of memory");
    size_t len;
    uint64_t lines;
    struct st_error err;
    st_error_clear(&err);
    while (source_next(r, buf, &len, &lines)) {
        struct eng_write_result res;
        memset(&res, 0, sizeof res);
        int64_t b0 = st_mono_ns();
        enum st_code rc = eng_write(r->e, r->db, buf, len, &r->wo, &res, &err);
        int64_t ack = st_mono_ns() - b0;
        pthread_mutex_lock(&r->mu);
        if (rc != ST_OK) {
            if (!r->failed) {
                fprintf(stderr, "ingest_bench: batch %zu: %s: %s\n", r->n_done, st_code_name(rc),
                        err.msg);
                for (uint32_t k = 0; k < res.n_errors && k < 5; k++)
                    fprintf(stderr, "  line %u col %u: %s\n", res.errors[k].line,
                            res.errors[k].column, res.errors[k].msg);
            }
            r->failed = true;
        } else if (r->n_done < r->max_batches) {
            r->ack_ns[r->n_done++] = ack;
            r->lines_sent += lines;
            r->bytes_sent += len;
            r->rows_ok += res.lines_ok;
        }
        pthread_mutex_unlock(&r->mu);
        eng_write_result_cleanup(&res);
    }
    free(buf);
    return NULL;
}

int
main(int argc, char **argv)
{
    const char *lp_path = NULL, *gen_size = NULL, *data_dir = NULL, *db = "benchmark";
    long batch_lines = 10000, writers = 1;
    bool no_sync = false, background = true;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--lp") && i + 1 < argc)
            lp_path = argv[++i];
        else if (!strcmp(a, "--generate") && i + 1 < argc)
            gen_size = argv[++i];
        else if (!strcmp(a, "--data-dir") && i + 1 < argc)
            data_dir = argv[++i];
        else if (!strcmp(a, "--db") && i + 1 < argc)
            db = argv[++i];
        else if (!strcmp(a, "--batch-lines") && i + 1 < argc) {
            char *end;
            batch_lines = strtol(argv[++i], &end, 10);
            if (*end || batch_lines < 1 || batch_lines > 1000000)
                die("--batch-lines: expected 1..1000000: \"%s\"", argv[i]);
        } else if (!strcmp(a, "--writers") && i + 1 < argc) {
            char *end;
            writers = strtol(argv[++i], &end, 10);
            if (*end || writers < 1 || writers > 64)
                die("--writers: expected 1..64: \"%s\"", argv[i]);
        } else if (!strcmp(a, "--no-sync"))
            no_sync = true;
        else if (!strcmp(a, "--no-background"))
            background = false;
        else {
            fprintf(stderr, "usage: ingest_bench (--lp FILE | --generate SIZE) --data-dir DIR "
                            "[--db NAME] [--batch-lines N] [--writers N] [--no-sync] [--no-background]\n");
            return 2;
        }
    }
    if (!data_dir || !lp_path == !gen_size) {
        fprintf(stderr, "ingest_bench: --data-dir and one of --lp or --generate are required\n");
        return 2;
    }
    if (gen_size && writers > 1)
        die("--writers > 1 needs --lp (the in-memory generator feeds one writer)");
    if (!dir_is_fresh(data_dir))
        die("data directory \"%s\" already exists: the benchmark needs a fresh one", data_dir);

    struct st_error err;
    st_error_clear(&err);
    struct source src = {.fd = -1, .per = (uint32_t)batch_lines};
    uint64_t n_lines = 0, lp_bytes = 0;
    size_t max_batches;
    if (lp_path) {
        src.fd = open(lp_path, O_RDONLY | O_CLOEXEC);
        if (src.fd < 0)
            die("cannot open \"%s\": %s", lp_path, strerror(errno));
        uint32_t max_len;
        src.batches = scan_batches(src.fd, src.per, &src.n_batches, &n_lines, &lp_bytes, &max_len);
        src.cap = max_len ? max_len : 1;
        max_batches = src.n_batches;
    } else {
        struct tsbs_config cfg;
        if (tsbs_config_preset(gen_size, &cfg, &err) != ST_OK)
            die("--generate: %s", err.msg);
        src.gen = tsbs_gen_new(&cfg, &err);
        if (!src.gen)
            die("--generate: %s", err.msg);
        src.cap = (size_t)batch_lines * TSBS_ROW_MAX;
        n_lines = tsbs_config_rows(&cfg);
        max_batches = (size_t)((n_lines + (uint64_t)batch_lines - 1) / (uint64_t)batch_lines);
    }
    int64_t *ack_ns = malloc((max_batches ? max_batches : 1) * sizeof *ack_ns);
    if (!ack_ns)
        die("out of memory");

    struct eng_options eo = {.data_dir = data_dir, .background = background};
    int64_t o0 = st_mono_ns();
    struct eng *e = eng_open(&eo, &err);
    if (!e)
        die("eng_open \"%s\": %s", data_dir, err.msg);
    if (eng_db_create(e, db, &err) != ST_OK)
        die("creating database \"%s\": %s", db, err.msg);
    int64_t open_ns = st_mono_ns() - o0;
    uint64_t rss_open = bu_proc_status_bytes("VmRSS");

    struct run run = {.e = e, .db = db, .src = &src, .max_batches = max_batches, .ack_ns = ack_ns};
    run.wo = (struct eng_write_opts){.precision = ENG_PREC_NS, .partial = false, .no_sync = no_sync};
    pthread_mutex_init(&run.mu, NULL);
    pthread_t tid[64];
    double cpu0 = bu_cpu_seconds();
    int64_t t0 = st_mono_ns();
    if (writers == 1) {
        writer(&run);
    } else {
        for (long w = 0; w < writers; w++)
            if (pthread_create(&tid[w], NULL, writer, &run) != 0)
                die("cannot start writer threads");
        for (long w = 0; w < writers; w++)
            pthread_join(tid[w], NULL);
    }
    if (run.failed) {
        eng_close(e);
        return 1;
    }
    size_t n_batches = run.n_done;
    uint64_t rows_ok = run.rows_ok, lines_sent = run.lines_sent, gen_bytes = run.bytes_sent;
    int64_t t1 = st_mono_ns() - src.gen_wall_ns;
    double cpu1 = bu_cpu_seconds() - src.gen_cpu_s;
    if (eng_persist(e, &err) != ST_OK)
        die("eng_persist: %s", err.msg);
    int64_t t2 = st_mono_ns() - src.gen_wall_ns;
    double cpu2 = bu_cpu_seconds() - src.gen_cpu_s;
    if (src.gen)
        lp_bytes = gen_bytes;

    struct eng_stats es;
    memset(&es, 0, sizeof es);
    eng_get_stats(e, &es);
    uint64_t du_app = 0, du_alloc = 0;
    if (bu_dir_usage(data_dir, &du_app, &du_alloc) != 0)
        die("measuring \"%s\": %s", data_dir, strerror(errno));
    uint64_t hwm = bu_proc_status_bytes("VmHWM");
    int64_t c0 = st_mono_ns();
    eng_close(e);
    int64_t close_ns = st_mono_ns() - c0;
    uint64_t du_app_closed = 0, du_alloc_closed = 0;
    bu_dir_usage(data_dir, &du_app_closed, &du_alloc_closed);
    if (src.fd >= 0)
        close(src.fd);
    tsbs_gen_free(src.gen);

    if (rows_ok != n_lines || lines_sent != n_lines) {
        fprintf(stderr, "ingest_bench: %llu lines expected, %llu sent, %llu accepted\n",
                (unsigned long long)n_lines, (unsigned long long)lines_sent,
                (unsigned long long)rows_ok);
        return 1;
    }
    double w_s = (double)(t1 - t0) / 1e9, tot_s = (double)(t2 - t0) / 1e9;
    double rows = (double)rows_ok, mrows = rows / 1e6;
    int64_t p50 = bu_percentile(ack_ns, n_batches, 50), p99 = bu_percentile(ack_ns, n_batches, 99);
    int64_t pmax = n_batches ? ack_ns[n_batches - 1] : 0;
    const char *from = lp_path ? "file" : "generated in memory";

    fprintf(stderr,
            "ingest_bench: %llu rows (%.1f MB LP, %s) in %zu batches of %ld lines, %ld writer(s)%s\n"
            "  write    %.3f s  %.0f rows/s  %.1f MB/s LP  ack p50 %.2f ms p99 %.2f ms\n"
            "  +persist %.3f s  %.0f rows/s  CPU %.2f s = %.3f CPU-s/M rows\n"
            "  disk %.2f B/row (%llu bytes; allocated %llu)  peak RSS %.1f MB\n",
            (unsigned long long)rows_ok, (double)lp_bytes / 1e6, from, n_batches, batch_lines,
            writers, no_sync ? " (no fsync)" : "", w_s, rows / w_s, (double)lp_bytes / 1e6 / w_s,
            (double)p50 / 1e6, (double)p99 / 1e6, tot_s, rows / tot_s, cpu2 - cpu0,
            (cpu2 - cpu0) / mrows, (double)du_app_closed / rows,
            (unsigned long long)du_app_closed, (unsigned long long)du_alloc_closed,
            (double)hwm / 1e6);

    printf("{\"engine\":\"strata\",\"path\":\"eng_write line protocol, %ld-line batches%s\","
           "\"source\":\"%s\",\"writers\":%ld,\"rows\":%llu,\"lp_bytes\":%llu,\"batches\":%zu,\"batch_lines\":%ld,"
           "\"durable_acks\":%s,"
           "\"open_seconds\":%.6f,\"write_seconds\":%.6f,\"persist_seconds\":%.6f,"
           "\"seconds\":%.6f,\"close_seconds\":%.6f,"
           "\"rows_per_s_write\":%.1f,\"rows_per_s\":%.1f,\"lp_mb_per_s_write\":%.2f,"
           "\"cpu_seconds_write\":%.4f,\"cpu_seconds\":%.4f,\"cpu_s_per_m_rows\":%.4f,"
           "\"ack_p50_ms\":%.4f,\"ack_p99_ms\":%.4f,\"ack_max_ms\":%.4f,"
           "\"disk_bytes_after_persist\":%llu,\"disk_bytes\":%llu,\"disk_bytes_allocated\":%llu,"
           "\"bytes_per_row\":%.4f,\"peak_rss_bytes\":%llu,\"rss_after_open_bytes\":%llu,"
           "\"engine_stats\":{\"rows_written\":%llu,\"bytes_written\":%llu,\"wal_bytes\":%llu,"
           "\"buffer_bytes\":%llu,\"chunks\":%llu,\"chunk_bytes\":%llu,\"persists\":%llu}}\n",
           batch_lines, no_sync ? ", no fsync" : "", from, writers, (unsigned long long)rows_ok,
           (unsigned long long)lp_bytes, n_batches, batch_lines, no_sync ? "false" : "true",
           (double)open_ns / 1e9, w_s, (double)(t2 - t1) / 1e9, tot_s, (double)close_ns / 1e9,
           rows / w_s, rows / tot_s, (double)lp_bytes / 1e6 / w_s, cpu1 - cpu0, cpu2 - cpu0,
           (cpu2 - cpu0) / mrows, (double)p50 / 1e6, (double)p99 / 1e6, (double)pmax / 1e6,
           (unsigned long long)du_app, (unsigned long long)du_app_closed,
           (unsigned long long)du_alloc_closed, (double)du_app_closed / rows,
           (unsigned long long)hwm, (unsigned long long)rss_open,
           (unsigned long long)es.rows_written, (unsigned long long)es.bytes_written,
           (unsigned long long)es.wal_bytes, (unsigned long long)es.buffer_bytes,
           (unsigned long long)es.chunks, (unsigned long long)es.chunk_bytes,
           (unsigned long long)es.persists);
    pthread_mutex_destroy(&run.mu);
    free(src.batches);
    free(ack_ns);
    return 0;
}
