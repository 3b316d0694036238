/*
 * selftest.c: at start, one real gRPC call (grpc.health.v1.Health/Check) from a C-core
 * client to stratad's own public port, through the acceptor, the peek, the hand-off and
 * the `external:` hook of ext_shim.cc. If libgrpc's internal handler ABI ever changes,
 * this fails at start with a clear message instead of hanging clients later.
 * Over TLS the client does not verify the server certificate (it is our own); under
 * mTLS the call cannot be made without a client certificate, so the test is skipped
 * there (a notice says so).
 */
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/support/alloc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>
#include <stdio.h>
#include <string.h>

#include "gw_int.h"
#include "strata/log.h"

enum st_code
gw_selftest(struct gw_server *s, struct st_error *err)
{
    if (s->tls.ca_pem) {
        st_log(ST_LOG_NOTICE, "selftest", "skipped: mTLS is on (--tls-client-ca)");
        return ST_OK;
    }
    const char *h = s->cfg.listen_host;
    char target[300];
    if (!*h || !strcmp(h, "0.0.0.0"))
        snprintf(target, sizeof target, "127.0.0.1:%d", s->bound_port);
    else if (strchr(h, ':'))
        snprintf(target, sizeof target, "[%s]:%d", !strcmp(h, "::") ? "::1" : h, s->bound_port);
    else
        snprintf(target, sizeof target, "%s:%d", h, s->bound_port);

    grpc_channel_credentials *creds;
    if (s->tls_on) {
        grpc_tls_credentials_options *o = grpc_tls_credentials_options_create();
        grpc_tls_credentials_options_set_verify_server_cert(o, 0);
        grpc_tls_credentials_options_set_check_call_host(o, 0);
        creds = grpc_tls_credentials_create(o);
    } else
        creds = grpc_insecure_credentials_create();
    grpc_arg a[] = {{GRPC_ARG_INTEGER, (char *)GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, {.integer = 1}}};
    grpc_channel_args args = {1, a};
    grpc_channel *ch = grpc_channel_create(target, creds, &args);
    grpc_channel_credentials_release(creds);
    grpc_completion_queue *cq = grpc_completion_queue_create_for_pluck(NULL);
    gpr_timespec dl = gpr_time_add(gpr_now(GPR_CLOCK_REALTIME), gpr_time_from_seconds(10, GPR_TIMESPAN));
    grpc_call *call = grpc_channel_create_call(
        ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq,
        grpc_slice_from_static_string("/grpc.health.v1.Health/Check"), NULL, dl, NULL);
    grpc_slice empty = grpc_empty_slice();
    grpc_byte_buffer *req = grpc_raw_byte_buffer_create(&empty, 1);
    grpc_byte_buffer *resp = NULL;
    grpc_metadata_array md_init, md_trail;
    grpc_metadata_array_init(&md_init);
    grpc_metadata_array_init(&md_trail);
    grpc_status_code status = GRPC_STATUS_UNKNOWN;
    grpc_slice details = grpc_empty_slice();
    grpc_op ops[6];
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = req;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &md_init;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &resp;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.trailing_metadata = &md_trail;
    ops[5].data.recv_status_on_client.status = &status;
    ops[5].data.recv_status_on_client.status_details = &details;
    static int tag;
    enum st_code rc = ST_OK;
    if (grpc_call_start_batch(call, ops, 6, &tag, NULL) != GRPC_CALL_OK) {
        rc = st_error_set(err, ST_EINTERNAL, "self-test: cannot start the call");
        grpc_call_cancel(call, NULL);
    }
    grpc_completion_queue_pluck(cq, &tag, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    if (rc == ST_OK && status != GRPC_STATUS_OK) {
        char *d = grpc_slice_to_c_string(details);
        rc = st_error_set(err, ST_EINTERNAL,
                          "self-test: a gRPC call through %s failed with %s: %s (the "
                          "external: hook of libgrpc may have changed; see single-port.md)",
                          target, gw_grpc_code_name(status), d);
        gpr_free(d);
    }
    /* The answer must be HealthCheckResponse{status: SERVING} = 08 01. */
    if (rc == ST_OK) {
        grpc_byte_buffer_reader r;
        bool ok = false;
        if (resp && grpc_byte_buffer_reader_init(&r, resp)) {
            grpc_slice sl = grpc_byte_buffer_reader_readall(&r);
            ok = GRPC_SLICE_LENGTH(sl) == 2 && GRPC_SLICE_START_PTR(sl)[0] == 0x08 &&
                 GRPC_SLICE_START_PTR(sl)[1] == 0x01;
            grpc_slice_unref(sl);
            grpc_byte_buffer_reader_destroy(&r);
        }
        if (!ok)
            rc = st_error_set(err, ST_EINTERNAL, "self-test: unexpected health answer");
    }
    if (resp)
        grpc_byte_buffer_destroy(resp);
    grpc_byte_buffer_destroy(req);
    grpc_slice_unref(details);
    grpc_metadata_array_destroy(&md_init);
    grpc_metadata_array_destroy(&md_trail);
    grpc_call_unref(call);
    grpc_channel_destroy(ch);
    grpc_completion_queue_shutdown(cq);
    while (grpc_completion_queue_pluck(cq, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
           GRPC_QUEUE_SHUTDOWN)
        ;
    grpc_completion_queue_destroy(cq);
    return rc;
}
