/*
 * mock_server.h: a scripted Strata gRPC server for the client and CLI tests.
 *
 * It speaks the real wire formats (Flight DoGet with Arrow IPC from the real
 * encoder, strata.v1 Write and Admin, grpc.health.v1) but answers from a
 * script instead of an engine, so the client library and the CLI can be
 * tested on exact bytes, errors and timings without stratad. The script is
 * keyed on the SQL text, the database name or the request fields; see
 * mock_server.c for every scenario. Tokens: "good-token" may do everything,
 * "read-only" gets PERMISSION_DENIED on admin and write calls, anything else
 * is UNAUTHENTICATED.
 */
#ifndef STRATA_MOCK_SERVER_H
#define STRATA_MOCK_SERVER_H

#include <stdbool.h>

struct mock_server;

/* Start on 127.0.0.1 with an ephemeral port, serving on its own thread.
 * cert_file/key_file non-NULL: TLS. NULL on failure (message on stderr). */
struct mock_server *mock_server_start(const char *cert_file, const char *key_file);
int mock_server_port(const struct mock_server *m);
/* Stop serving and free. */
void mock_server_stop(struct mock_server *m);

#endif
