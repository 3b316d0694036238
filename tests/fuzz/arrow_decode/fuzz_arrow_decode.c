/*
 * fuzz_arrow_decode.c: libFuzzer target for the Arrow IPC decoder
 * (gateway/arrow/arrow_decode.c), which the C client runs on FlightData from
 * the network. The input is an IPC stream (either framing); every message is
 * decoded and every value of every decoded batch is read, so a wrong bound
 * shows up as a sanitizer report. Corpus: tests/fuzz/corpus/arrow_decode/.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "strata/arrow_ipc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t
touch(const struct st_batch *b)
{
    uint64_t h = b->n_rows;
    for (uint32_t c = 0; c < b->n_cols; c++) {
        const struct st_column *col = &b->cols[c];
        for (uint32_t r = 0; r < b->n_rows; r++) {
            h = h * 31 + st_column_is_valid(col, r);
            switch (col->type) {
            case ST_TYPE_STRING: {
                int32_t lo = col->v.offsets[r], hi = col->v.offsets[r + 1];
                for (int32_t i = lo; i < hi; i++)
                    h = h * 31 + (uint8_t)col->str_data[i];
                break;
            }
            case ST_TYPE_BOOL:
                h = h * 31 + col->v.b[r];
                break;
            case ST_TYPE_NULL:
                break;
            default:
                h = h * 31 + col->v.u64[r];
                break;
            }
        }
    }
    return h;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct st_error err;
    struct arrow_decoder_limits lim = {.max_rows = 1u << 20};
    struct arrow_decoder *dec = arrow_decoder_new(&lim, &err);
    if (!dec) return 0;
    size_t pos = 0;
    volatile uint64_t sink = 0;
    for (int i = 0; i < 64; i++) {
        enum arrow_msg_type t;
        if (arrow_decode_stream_next(dec, data, size, &pos, &t, &err) != ST_OK) {
            sink += strlen(err.msg);
            break;
        }
        if (t == ARROW_MSG_EOS) break;
        if (t == ARROW_MSG_RECORD_BATCH) sink += touch(arrow_decoder_batch(dec));
    }
    (void)sink;
    arrow_decoder_free(dec);
    return 0;
}
