/*
 * fuzz_sniff.c: feeds arbitrary bytes to the acceptor's classifiers, as every prefix a
 * client could have sent so far (the acceptor re-peeks as bytes arrive). Checks that the
 * verdict is one of the defined values and that a verdict other than MORE never changes
 * when more bytes arrive (classification is decided once).
 */
#include <stdint.h>
#include <stdlib.h>

#include "gw_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    enum gw_sniff first_plain = GW_SNIFF_MORE, first_tls = GW_SNIFF_MORE;
    size_t step = size > 4096 ? size / 64 : 1;
    for (size_t n = 0; n <= size; n += step) {
        enum gw_sniff p = gw_sniff_plain(data, n);
        enum gw_sniff t = gw_sniff_tls(data, n);
        if (p != GW_SNIFF_MORE && p != GW_SNIFF_GRPC && p != GW_SNIFF_HTTP)
            abort();
        if (t != GW_SNIFF_MORE && t != GW_SNIFF_BAD && t != GW_SNIFF_TLS_GRPC &&
            t != GW_SNIFF_TLS_HTTP)
            abort();
        if (first_plain != GW_SNIFF_MORE && p != first_plain)
            abort();
        if (first_tls != GW_SNIFF_MORE && t != first_tls && n < GW_SNIFF_TLS_MAX)
            abort();
        if (first_plain == GW_SNIFF_MORE)
            first_plain = p;
        if (first_tls == GW_SNIFF_MORE)
            first_tls = t;
    }
    return 0;
}
