/*
 * mock_main.c: the scripted server of mock_server.h as a program, for the
 * CLI tests (tests/unit/client/cli_mock.sh).
 *
 *   strata_mock_server --port-file FILE [--tls-cert PEM --tls-key PEM]
 *
 * Writes the port to FILE once listening, serves until SIGTERM or SIGINT.
 * Set STRATA_MOCK_LOG=FILE to log one line per request.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mock_server.h"

int
main(int argc, char **argv)
{
    const char *port_file = NULL, *cert = NULL, *key = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--port-file") == 0 && i + 1 < argc)
            port_file = argv[++i];
        else if (strcmp(argv[i], "--tls-cert") == 0 && i + 1 < argc)
            cert = argv[++i];
        else if (strcmp(argv[i], "--tls-key") == 0 && i + 1 < argc)
            key = argv[++i];
        else {
            fprintf(stderr,
                    "usage: strata_mock_server --port-file FILE [--tls-cert C --tls-key K]\n");
            return 2;
        }
    }
    if (!port_file) {
        fprintf(stderr, "strata_mock_server: --port-file is required\n");
        return 2;
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    struct mock_server *m = mock_server_start(cert, key);
    if (!m) return 1;
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", port_file);
    FILE *f = fopen(tmp, "w");
    if (!f || fprintf(f, "%d\n", mock_server_port(m)) < 0 || fclose(f) != 0 ||
        rename(tmp, port_file) != 0) {
        perror(port_file);
        return 1;
    }
    int sig;
    sigwait(&set, &sig);
    mock_server_stop(m);
    return 0;
}
