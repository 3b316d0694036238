/*
 * arrow_frame.c: how one encoded Arrow IPC message travels.
 *
 * Flight: one arrow.flight.protocol.FlightData protobuf per message, written
 * by hand because its layout is fixed and small:
 *   0x12 varint(len) data_header        field 2, the padded flatbuffer, never empty
 *   0x1a varint(len) app_metadata       field 3, only when the caller gives one
 *   0xc2 0x3e varint(len) data_body     field 1000, only when the body is non-empty
 * The IPC stream prefix (FF FF FF FF + length) is NOT part of data_header.
 *
 * IPC stream (files, tests, SchemaResult): each message is FF FF FF FF, the
 * int32 little-endian length of the padded flatbuffer (a multiple of 8, the
 * padding counted), the flatbuffer, then the body; the stream ends with
 * FF FF FF FF 00 00 00 00.
 */
#include "arrow_int.h"

static size_t
varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

size_t
arrow__flightdata_size(size_t header_len, size_t body_len, bool has_app, size_t app_len)
{
    size_t n = 1 + varint_len(header_len) + header_len;
    if (has_app) n += 1 + varint_len(app_len) + app_len;
    if (body_len > 0) n += 2 + varint_len(body_len) + body_len;
    return n;
}

size_t
arrow_flightdata_size(const struct arrow_msg *m, size_t app_metadata_len)
{
    return arrow__flightdata_size(m->header_len, m->body_len, app_metadata_len > 0,
                                  app_metadata_len);
}

enum st_code
arrow_flightdata_append(struct st_buf *out, const struct arrow_msg *m, const uint8_t *app_metadata,
                        size_t app_metadata_len, struct st_error *err)
{
    if (m->header_len == 0)
        return st_error_set(err, ST_EINVAL, "flight data without a data header");
    size_t need =
        arrow__flightdata_size(m->header_len, m->body_len, app_metadata != NULL, app_metadata_len);
    size_t start = out->len;
    enum st_code rc = st_buf_reserve(out, need);
    if (rc == ST_OK) rc = st_buf_append_byte(out, 0x12);
    if (rc == ST_OK) rc = st_buf_put_uvarint(out, m->header_len);
    if (rc == ST_OK) rc = st_buf_append(out, m->header, m->header_len);
    if (rc == ST_OK && app_metadata) {
        rc = st_buf_append_byte(out, 0x1a);
        if (rc == ST_OK) rc = st_buf_put_uvarint(out, app_metadata_len);
        if (rc == ST_OK && app_metadata_len)
            rc = st_buf_append(out, app_metadata, app_metadata_len);
    }
    if (rc == ST_OK && m->body_len > 0) {
        rc = st_buf_append(out, "\xc2\x3e", 2);
        if (rc == ST_OK) rc = st_buf_put_uvarint(out, m->body_len);
        if (rc == ST_OK) rc = st_buf_append(out, m->body, m->body_len);
    }
    if (rc != ST_OK) {
        out->len = start;
        return st_error_set(err, rc, "framing flight data: %s", st_strerror(rc));
    }
    return ST_OK;
}

enum st_code
arrow_stream_append(struct st_buf *out, const struct arrow_msg *m, struct st_error *err)
{
    if (m->header_len == 0 || m->header_len % 8 != 0 || m->header_len > INT32_MAX)
        return st_error_set(err, ST_EINVAL, "arrow message header of %zu bytes cannot be framed",
                            m->header_len);
    size_t start = out->len;
    enum st_code rc = st_buf_reserve(out, 8 + m->header_len + m->body_len);
    if (rc == ST_OK) rc = st_buf_put_u32le(out, 0xFFFFFFFFu);
    if (rc == ST_OK) rc = st_buf_put_u32le(out, (uint32_t)m->header_len);
    if (rc == ST_OK) rc = st_buf_append(out, m->header, m->header_len);
    if (rc == ST_OK && m->body_len) rc = st_buf_append(out, m->body, m->body_len);
    if (rc != ST_OK) {
        out->len = start;
        return st_error_set(err, rc, "framing arrow stream: %s", st_strerror(rc));
    }
    return ST_OK;
}

enum st_code
arrow_stream_append_eos(struct st_buf *out, struct st_error *err)
{
    enum st_code rc = st_buf_append(out, "\xff\xff\xff\xff\x00\x00\x00\x00", 8);
    if (rc != ST_OK) return st_error_set(err, rc, "framing arrow stream: %s", st_strerror(rc));
    return ST_OK;
}
