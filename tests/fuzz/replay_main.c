/*
 * replay_main.c: runs every file under the given directories (recursively)
 * through LLVMFuzzerTestOneInput once. Linked into fuzz_<name>_replay so
 * ctest replays each fuzz corpus with any compiler. A crash or sanitizer
 * report fails the test; the file being run is printed first.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int n_run;

static int
run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return -1;
    }
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(len > 0 ? (size_t)len : 1);
    if (!buf || (len > 0 && fread(buf, 1, (size_t)len, f) != (size_t)len)) {
        fclose(f);
        free(buf);
        return -1;
    }
    fclose(f);
    fprintf(stderr, "replay %s\n", path);
    LLVMFuzzerTestOneInput(buf, (size_t)len);
    free(buf);
    n_run++;
    return 0;
}

static int
walk(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        perror(path);
        return -1;
    }
    if (!S_ISDIR(st.st_mode))
        return run_file(path);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    struct dirent *de;
    int rc = 0;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char child[4096];
        snprintf(child, sizeof child, "%s/%s", path, de->d_name);
        if (walk(child) != 0)
            rc = -1;
    }
    closedir(d);
    return rc;
}

int
main(int argc, char **argv)
{
    int rc = 0;
    for (int i = 1; i < argc; i++)
        if (walk(argv[i]) != 0)
            rc = 1;
    fprintf(stderr, "replayed %d inputs\n", n_run);
    if (n_run == 0) {
        fprintf(stderr, "no corpus inputs found\n");
        return 1;
    }
    return rc;
}
