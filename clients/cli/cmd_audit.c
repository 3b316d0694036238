/*
 * cmd_audit.c: `strata audit read` pages through the server's audit log
 * (AdminService/ReadAudit) and prints each record as the JSON line it is
 * stored as; `strata audit verify` checks audit files locally with rbac's
 * verifier (rbac_audit_verify): every line's hash, the chain from line to
 * line and from file to file (the files in the order given), consecutive
 * sequence numbers, and optionally an anchor for the last line.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "strata/buf.h"
#ifdef STRATA_CLI_HAVE_RBAC
#include "strata/rbac.h"
#endif

#define AUDIT_FILE_MAX ((size_t)1 << 30)

enum { O_AFTER = 1, O_LIMIT, O_SINCE, O_UNTIL, O_KEY_FILE, O_PREV, O_ANCHOR };

static const char usage[] =
    "usage: strata audit read [--after SEQ] [--limit N] [--since TIME] [--until TIME]\n"
    "       strata audit verify [--key-file FILE] [--prev HEX] [--anchor HEX] FILE...\n"
    "\n"
    "read: print the server's audit records as JSON lines, oldest first (needs the\n"
    "audit privilege). TIME is RFC 3339 (2024-05-01T00:00:00Z) or nanoseconds.\n"
    "verify: check audit files offline: every line's hash, the chain between lines\n"
    "and between the files (give them in order), sequence numbers. Exit status 0\n"
    "when intact, 12 (corrupt) with the first bad line otherwise.\n"
    "\n"
    "  --after SEQ       records after this sequence number\n"
    "  --limit N         at most N records (default: all)\n"
    "  --since/--until   time bounds\n"
    "  --key-file FILE   the HMAC key the server chains with (raw bytes)\n"
    "  --prev HEX        hash the first file's genesis line must carry\n"
    "  --anchor HEX      hash the last line of the last file must have\n"
    "  -h, --help        this text\n";

static int
audit_read(struct cli *c, uint64_t after, uint64_t limit, int64_t since, int64_t until)
{
    struct st_error err;
    struct strata *s = cli_conn(c, &err);
    if (!s) return cli_fail(&err);
    uint64_t printed = 0;
    for (;;) {
        uint32_t ask = 1000;
        if (limit && limit - printed < ask) ask = (uint32_t)(limit - printed);
        struct strata_audit_page p;
        if (strata_audit_read(s, after, ask, since, until, &p, &err) != ST_OK)
            return cli_fail(&err);
        for (size_t i = 0; i < p.n_records; i++) {
            size_t n = strlen(p.records[i]);
            fputs(p.records[i], stdout);
            if (n == 0 || p.records[i][n - 1] != '\n') fputc('\n', stdout);
        }
        printed += p.n_records;
        bool more = p.more && p.n_records > 0 && p.last_seq > after;
        after = p.last_seq;
        strata_audit_page_cleanup(&p);
        if (!more || (limit && printed >= limit)) break;
    }
    if (ferror(stdout)) {
        fprintf(stderr, "strata: writing the output failed\n");
        return ST_EIO;
    }
    return 0;
}

#ifdef STRATA_CLI_HAVE_RBAC
static uint8_t *
slurp(const char *path, size_t max, size_t *len, struct st_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        st_error_set(err, ST_EIO, "opening \"%s\": %s", path, strerror(errno));
        return NULL;
    }
    struct st_buf b;
    st_buf_init(&b, max);
    char tmp[65536];
    size_t n;
    enum st_code rc = ST_OK;
    while (rc == ST_OK && (n = fread(tmp, 1, sizeof tmp, f)) > 0)
        rc = st_buf_append(&b, tmp, n);
    bool bad = ferror(f);
    fclose(f);
    if (rc != ST_OK || bad) {
        st_buf_cleanup(&b);
        st_error_set(err, bad ? ST_EIO : ST_ELIMIT, "%s \"%s\"",
                     bad ? "reading" : "too large:", path);
        return NULL;
    }
    return st_buf_take(&b, len);
}

static bool
unhex32(const char *s, uint8_t out[32])
{
    if (strlen(s) != 64) return false;
    for (int i = 0; i < 32; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1) return false;
        out[i] = (uint8_t)v;
    }
    return true;
}

static void
hex32(const uint8_t h[32], char out[65])
{
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", h[i]);
}

static int
audit_verify(char **files, int n_files, const char *key_file, const char *prev_hex,
             const char *anchor_hex)
{
    struct st_error err;
    uint8_t prev[32], anchor[32];
    bool have_prev = false, have_anchor = false;
    uint8_t *key = NULL;
    size_t key_len = 0;
    if (prev_hex && !(have_prev = unhex32(prev_hex, prev)))
        return cli_usage_error("audit", "--prev takes 64 hex digits");
    if (anchor_hex && !(have_anchor = unhex32(anchor_hex, anchor)))
        return cli_usage_error("audit", "--anchor takes 64 hex digits");
    if (key_file) {
        key = slurp(key_file, 4096, &key_len, &err);
        if (!key) return cli_fail(&err);
    }
    int rc = 0;
    for (int i = 0; i < n_files && rc == 0; i++) {
        size_t len;
        uint8_t *bytes = slurp(files[i], AUDIT_FILE_MAX, &len, &err);
        if (!bytes) {
            rc = cli_fail(&err);
            break;
        }
        struct rbac_audit_verify_result res;
        memset(&res, 0, sizeof res);
        bool last = i == n_files - 1;
        enum st_code vrc = rbac_audit_verify(bytes, len, key, key_len, have_prev ? prev : NULL,
                                             last && have_anchor ? anchor : NULL, &res, &err);
        free(bytes);
        if (vrc != ST_OK) {
            if (res.bad_line)
                fprintf(stderr, "%s:%llu: %s\n", files[i], (unsigned long long)res.bad_line,
                        res.reason[0] ? res.reason : err.msg);
            else
                cli_fail(&err);
            rc = (int)vrc;
            break;
        }
        char h[65];
        hex32(res.last_hash, h);
        printf("%s: ok, %llu lines, last seq %llu, last hash %s\n", files[i],
               (unsigned long long)res.n_lines, (unsigned long long)res.last_seq, h);
        memcpy(prev, res.last_hash, 32);
        have_prev = true;
    }
    if (key) {
        memset(key, 0, key_len);
        free(key);
    }
    return rc;
}
#endif

int
cmd_audit(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"after", required_argument, NULL, O_AFTER},
        {"limit", required_argument, NULL, O_LIMIT},
        {"since", required_argument, NULL, O_SINCE},
        {"until", required_argument, NULL, O_UNTIL},
        {"key-file", required_argument, NULL, O_KEY_FILE},
        {"prev", required_argument, NULL, O_PREV},
        {"anchor", required_argument, NULL, O_ANCHOR},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    if (cli_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return 0;
    }
    uint64_t after = 0, limit = 0;
    int64_t since = 0, until = 0;
    const char *key_file = NULL, *prev = NULL, *anchor = NULL;
    int ch;
    while ((ch = cli_getopt(c, argc, argv, "h", opts, "audit")) != -1) {
        switch (ch) {
        case O_AFTER:
        case O_LIMIT: {
            char *end;
            errno = 0;
            unsigned long long v = strtoull(optarg, &end, 10);
            if (errno || *end || optarg[0] == '-' || !optarg[0])
                return cli_usage_error("audit", "bad number \"%s\"", optarg);
            if (ch == O_AFTER)
                after = v;
            else
                limit = v;
            break;
        }
        case O_SINCE:
        case O_UNTIL:
            if (parse_time_ns(optarg, ch == O_SINCE ? &since : &until) != ST_OK)
                return cli_usage_error("audit", "bad time \"%s\" (RFC 3339 or nanoseconds)",
                                       optarg);
            break;
        case O_KEY_FILE:
            key_file = optarg;
            break;
        case O_PREV:
            prev = optarg;
            break;
        case O_ANCHOR:
            anchor = optarg;
            break;
        default:
            return ST_EINVAL;
        }
    }
    if (optind >= argc) return cli_usage_error("audit", "say read or verify");
    const char *sub = argv[optind];
    if (strcmp(sub, "read") == 0) {
        if (argc - optind != 1) return cli_usage_error("audit", "read takes options only");
        return audit_read(c, after, limit, since, until);
    }
    if (strcmp(sub, "verify") == 0) {
        if (argc - optind < 2) return cli_usage_error("audit", "verify needs at least one FILE");
#ifdef STRATA_CLI_HAVE_RBAC
        return audit_verify(argv + optind + 1, argc - optind - 1, key_file, prev, anchor);
#else
        (void)key_file;
        (void)prev;
        (void)anchor;
        fprintf(stderr, "strata: this build has no audit verifier (rbac was not built)\n");
        return ST_EUNSUPPORTED;
#endif
    }
    return cli_usage_error("audit", "unknown subcommand \"%s\"", sub);
}
