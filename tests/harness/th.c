/*
 * th.c: test registry and the fork-per-test runner (see th.h).
 */
#include "th.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TH_MAX_TESTS 4096

static struct {
    const char *name;
    th_fn fn;
} tests[TH_MAX_TESTS];
static int n_tests;
static char tmpdir[4096];

void
th_register(const char *name, th_fn fn)
{
    if (n_tests < TH_MAX_TESTS) {
        tests[n_tests].name = name;
        tests[n_tests].fn = fn;
        n_tests++;
    }
}

const char *
th_tmpdir(void)
{
    return tmpdir;
}

const char *
th_path(const char *name)
{
    static char bufs[8][4096];
    static int slot;
    char *b = bufs[slot++ & 7];
    snprintf(b, 4096, "%s/%s", tmpdir, name);
    return b;
}

const char *
th_source_dir(void)
{
    const char *e = getenv("TH_SOURCE_DIR");
#ifdef TH_SOURCE_DIR_DEFAULT
    return e ? e : TH_SOURCE_DIR_DEFAULT;
#else
    return e ? e : ".";
#endif
}

const char *
th_bin_dir(void)
{
    const char *e = getenv("TH_BIN_DIR");
#ifdef TH_BIN_DIR_DEFAULT
    return e ? e : TH_BIN_DIR_DEFAULT;
#else
    return e ? e : ".";
#endif
}

void
th_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "  %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
    _exit(1);
}

static void
rm_rf(const char *path)
{
    DIR *d = opendir(path);
    if (!d) {
        unlink(path);
        return;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        char child[4096];
        snprintf(child, sizeof child, "%s/%s", path, de->d_name);
        struct stat st;
        if (lstat(child, &st) == 0 && S_ISDIR(st.st_mode))
            rm_rf(child);
        else
            unlink(child);
    }
    closedir(d);
    rmdir(path);
}

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
    const char *filter = NULL;
    int timeout = 120, failed = 0, ran = 0;
    const char *tenv = getenv("TH_TIMEOUT");
    const char *base = getenv("TMPDIR");

    if (tenv)
        timeout = atoi(tenv);
    if (argc > 1 && strcmp(argv[1], "--list") == 0) {
        for (int i = 0; i < n_tests; i++)
            printf("%s\n", tests[i].name);
        return 0;
    }
    if (argc > 1)
        filter = argv[1];
    if (!base)
        base = "/tmp";
    signal(SIGPIPE, SIG_IGN);

    for (int i = 0; i < n_tests; i++) {
        if (filter && !strstr(tests[i].name, filter))
            continue;
        snprintf(tmpdir, sizeof tmpdir, "%s/th-%s-XXXXXX", base, tests[i].name);
        if (!mkdtemp(tmpdir)) {
            perror("mkdtemp");
            return 2;
        }
        double t0 = now_s();
        fflush(stdout);
        fflush(stderr);
        pid_t pid = fork();
        if (pid == 0) {
            alarm((unsigned)timeout);
            tests[i].fn();
            fflush(stdout);
            fflush(stderr);
            _exit(0);
        }
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        double dt = now_s() - t0;
        ran++;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
            printf("ok   %-60s %.3fs\n", tests[i].name, dt);
            rm_rf(tmpdir);
        } else {
            failed++;
            if (WIFSIGNALED(status))
                printf("FAIL %-60s signal %d%s (tmp kept: %s)\n", tests[i].name,
                       WTERMSIG(status), WTERMSIG(status) == SIGALRM ? " (timeout)" : "", tmpdir);
            else
                printf("FAIL %-60s exit %d (tmp kept: %s)\n", tests[i].name, WEXITSTATUS(status),
                       tmpdir);
        }
        fflush(stdout);
    }
    printf("%d tests, %d failed\n", ran, failed);
    if (ran == 0 && filter) {
        printf("no test matches \"%s\"\n", filter);
        return 1;
    }
    return failed ? 1 : 0;
}
