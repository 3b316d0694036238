/*
 * client_int.h: internals of libstrata (clients/c), shared by its files and
 * its unit tests; other modules cannot reach it.
 *
 * The gRPC C core is used synchronously: every call gets its own completion
 * queue of the "pluck" kind, so a handle can serve several threads and the
 * caller's thread simply waits for each batch it starts. A call is:
 *   batch 1: SEND_INITIAL_METADATA (authorization), SEND_MESSAGE (request),
 *            SEND_CLOSE_FROM_CLIENT, RECV_INITIAL_METADATA
 *   batch 2: RECV_STATUS_ON_CLIENT (status, details, trailing metadata),
 *            started at once and collected last
 *   then one RECV_MESSAGE batch per reply message until the stream ends.
 */
#ifndef STRATA_CLIENT_INT_H
#define STRATA_CLIENT_INT_H

#include <grpc/grpc.h>
#include <protobuf-c/protobuf-c.h>

#include "strata/client.h"

struct strata {
    grpc_channel *channel;
    char target[300];  /* host:port */
    char *auth_header; /* "Bearer <token>", or NULL */
    int64_t timeout_ms;
};

struct scall {
    const char *target; /* the handle's "host:port", for messages */
    grpc_call *call;
    grpc_completion_queue *cq;
    grpc_metadata_array initial_md;
    grpc_metadata_array trailing_md;
    grpc_status_code status;
    grpc_slice details;
    grpc_byte_buffer *recv;
    bool status_started; /* batch 2 is pending or done */
    bool status_done;
    bool ended; /* the server's message stream ended */
};

/* Start a call of `method` ("/pkg.Service/Method") sending the packed request. */
enum st_code strata__call_start(struct strata *c, const char *method, const uint8_t *req,
                                size_t req_len, struct scall *sc, struct st_error *err);
/* The same with a `database` header (Flight SQL); database NULL: none. The string must
 * stay valid until the call's first batch completed (this function returns). */
enum st_code strata__call_start_md(struct strata *c, const char *method, const uint8_t *req,
                                   size_t req_len, const char *database, struct scall *sc,
                                   struct st_error *err);
/*
 * Receive the next message: *msg (a contiguous copy, free with
 * grpc_slice_unref) is empty with *got false at the end of the stream.
 * Errors end the call: the status is collected and mapped.
 */
enum st_code strata__call_recv(struct scall *sc, grpc_slice *msg, bool *got, struct st_error *err);
/* Collect the final status (after the stream ended) and map it. */
enum st_code strata__call_finish(struct scall *sc, struct st_error *err);
/* Cancel if unfinished, wait for every pending batch, release. */
void strata__call_release(struct scall *sc);

/* One request, one reply: packs req, unpacks the reply with resp_desc. */
enum st_code strata__unary(struct strata *c, const char *method, const ProtobufCMessage *req,
                           const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp,
                           struct st_error *err);

/* Map a gRPC status (and the `strata-code` / `strata-error-offset` trailers). */
enum st_code strata__map_status(grpc_status_code status, const char *details, size_t details_len,
                                const grpc_metadata_array *trailers, const char *target,
                                struct st_error *err);
/* The st_code for a gRPC status without a strata-code trailer. */
enum st_code strata__code_of_grpc(grpc_status_code status);

/*
 * Parse "http://HOST[:PORT][/]" or "https://...": *tls, target = "HOST:PORT"
 * (IPv6 hosts keep their brackets). ST_EINVAL with the reason.
 */
enum st_code strata__parse_url(const char *url, bool *tls, char *target, size_t target_len,
                               struct st_error *err);

/* The InfluxDB 3 JSON ticket for a query. *out is malloc'd. */
enum st_code strata__ticket_json(const char *database, const char *sql,
                                 const struct strata_param *params, size_t n_params, char **out,
                                 size_t *out_len, struct st_error *err);

/* strdup that keeps NULL as "" and aborts nothing: NULL on ENOMEM. */
char *strata__strdup(const char *s);

#endif
