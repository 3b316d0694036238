/*
 * fuzz_pbstrings.c: arbitrary bytes through protobuf-c's unpack and then the gateway's
 * NUL check on strings (gw_pb_strings_ok), for a message with strings, a nested repeated
 * message and enums (CreateTokenRequest) and one with bytes next to a string
 * (WriteRequest). Checks: no crash and no read outside the input (ASan, UBSan), and the
 * exact verdict for an input that is a single string field.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gw_call.h"
#include "strata/v1/admin.pb-c.h"
#include "strata/v1/write.pb-c.h"

struct gw_server *gw_srv;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Unpack (the gateway only checks what protobuf-c accepted), then the check. When the
 * input is one string field, the verdict is exactly "it holds no NUL". */
static void
check(const ProtobufCMessageDescriptor *d, const uint8_t *data, size_t size)
{
    ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, size, data);
    if (!m)
        return;
    bool ok = gw_pb_strings_ok(d, data, size);
    if (size >= 2 && data[0] == 0x0a && data[1] < 0x80 && (size_t)data[1] + 2 == size &&
        ok != (memchr(data + 2, 0, data[1]) == NULL))
        abort(); /* field 1 is a string in all three messages */
    protobuf_c_message_free_unpacked(m, NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check(&strata__v1__create_token_request__descriptor, data, size);
    check(&strata__v1__write_request__descriptor, data, size);
    check(&strata__v1__grant_role_request__descriptor, data, size);
    return 0;
}
