/*
 * arrow_fb.c: the flatbuffer primitives under the Arrow IPC encoder and
 * decoder: a forward writer and a bounds-checked reader.
 *
 * Flatbuffer rules used here (all little-endian, positions relative to the
 * start of the buffer):
 *   - the buffer starts with a uint32 offset to the root table;
 *   - a table starts with an int32 soffset; its vtable is at table - soffset;
 *   - a vtable is uint16 vtable_len, uint16 table_inline_len, then one uint16
 *     per field slot: the field's offset from the table start, 0 = absent;
 *   - offset fields (strings, vectors, tables) hold a uint32 distance from
 *     the field's own position forward to the target;
 *   - a string is uint32 length, the bytes, a NUL; a vector is uint32 count,
 *     then the elements (uoffsets relative to each element's slot for
 *     vectors of tables, inline bytes for vectors of structs).
 *
 * The writer emits children after their parents, so every offset points
 * forward and no vtable needs back-patching: a table is written as its
 * vtable followed by the table, whose inline fields go largest first so
 * none needs padding (8-byte fields start 8-aligned because the table is
 * placed at a position = 4 mod 8). This is the algorithm in
 * shared research (arrow-ipc-flight.md, section 2.1).
 *
 * The reader treats the bytes as hostile: every position is checked against
 * the buffer length, with overflow-safe arithmetic, before it is loaded.
 * Loads are byte-wise, so unaligned input is safe.
 */
#include <string.h>

#include "arrow_int.h"

/* ---- writer -------------------------------------------------------------- */

void
fbw_init(struct fbw *w, struct st_buf *b)
{
    w->b = b;
    w->rc = ST_OK;
}

static void
put(struct fbw *w, const void *p, size_t n)
{
    if (w->rc == ST_OK) w->rc = st_buf_append(w->b, p, n);
}

static void
put_zeros(struct fbw *w, size_t n)
{
    if (w->rc == ST_OK && n > 0) w->rc = st_buf_append_zeros(w->b, n);
}

static void
put_u16(struct fbw *w, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    put(w, b, 2);
}

static void
put_u32(struct fbw *w, uint32_t v)
{
    uint8_t b[4];
    st_store_u32le(b, v);
    put(w, b, 4);
}

static void
put_u64(struct fbw *w, uint64_t v)
{
    uint8_t b[8];
    st_store_u64le(b, v);
    put(w, b, 8);
}

static void
store_u16(struct fbw *w, size_t at, uint16_t v)
{
    if (w->rc != ST_OK) return;
    w->b->data[at] = (uint8_t)v;
    w->b->data[at + 1] = (uint8_t)(v >> 8);
}

void
fbw_pad(struct fbw *w, size_t align, size_t phase)
{
    size_t n = 0;
    while ((w->b->len + n + phase) % align != 0)
        n++;
    put_zeros(w, n);
}

size_t
fbw_root(struct fbw *w)
{
    size_t at = w->b->len;
    put_u32(w, 0);
    return at;
}

size_t
fbw_table(struct fbw *w, struct fbw_field *fields, size_t n)
{
    unsigned n_slots = 0;
    bool wide = false;
    for (size_t i = 0; i < n; i++) {
        if (fields[i].slot + 1u > n_slots) n_slots = fields[i].slot + 1u;
        if (fields[i].kind == FBW_I64) wide = true;
    }
    fbw_pad(w, 2, 0);
    size_t vt = w->b->len;
    put_u16(w, (uint16_t)(4 + 2 * n_slots));
    put_u16(w, 0); /* inline length, patched below */
    for (unsigned s = 0; s < n_slots; s++)
        put_u16(w, 0);
    if (wide)
        fbw_pad(w, 8, 4);
    else
        fbw_pad(w, 4, 0);
    size_t t = w->b->len;
    put_u32(w, (uint32_t)(t - vt)); /* soffset: the vtable is before the table */
    static const uint8_t order[] = {FBW_I64, FBW_I32, FBW_OFFSET, FBW_I16, FBW_U8};
    for (size_t o = 0; o < sizeof order; o++) {
        for (size_t i = 0; i < n; i++) {
            struct fbw_field *f = &fields[i];
            if (f->kind != order[o]) continue;
            store_u16(w, vt + 4 + 2u * f->slot, (uint16_t)(w->b->len - t));
            switch (f->kind) {
            case FBW_I64:
                put_u64(w, f->value);
                break;
            case FBW_I32:
                put_u32(w, (uint32_t)f->value);
                break;
            case FBW_OFFSET:
                f->pos = w->b->len;
                put_u32(w, 0);
                break;
            case FBW_I16:
                put_u16(w, (uint16_t)f->value);
                break;
            case FBW_U8: {
                uint8_t v = (uint8_t)f->value;
                put(w, &v, 1);
                break;
            }
            }
        }
    }
    store_u16(w, vt + 2, (uint16_t)(w->b->len - t));
    return t;
}

void
fbw_patch(struct fbw *w, size_t at, size_t target)
{
    if (w->rc != ST_OK) return;
    if (target <= at) { /* a writer bug: offsets are unsigned and point forward */
        w->rc = ST_EINTERNAL;
        return;
    }
    st_store_u32le(w->b->data + at, (uint32_t)(target - at));
}

size_t
fbw_string(struct fbw *w, const char *s, size_t len)
{
    fbw_pad(w, 4, 0);
    size_t at = w->b->len;
    put_u32(w, (uint32_t)len);
    put(w, s, len);
    put_zeros(w, 1);
    return at;
}

size_t
fbw_offset_vector(struct fbw *w, uint32_t n)
{
    fbw_pad(w, 4, 0);
    size_t at = w->b->len;
    put_u32(w, n);
    put_zeros(w, (size_t)n * 4);
    return at;
}

size_t
fbw_struct16_vector(struct fbw *w, const int64_t (*items)[2], uint32_t n)
{
    fbw_pad(w, 8, 4); /* the first element lands 8-aligned */
    size_t at = w->b->len;
    put_u32(w, n);
    for (uint32_t i = 0; i < n; i++) {
        put_u64(w, (uint64_t)items[i][0]);
        put_u64(w, (uint64_t)items[i][1]);
    }
    return at;
}

size_t
fbw_i32_vector(struct fbw *w, const int32_t *v, uint32_t n)
{
    fbw_pad(w, 4, 0);
    size_t at = w->b->len;
    put_u32(w, n);
    for (uint32_t i = 0; i < n; i++)
        put_u32(w, (uint32_t)v[i]);
    return at;
}

/* ---- reader -------------------------------------------------------------- */

/* [pos, pos + n) lies inside the buffer. */
static bool
in_bounds(const struct fbr *fb, size_t pos, size_t n)
{
    return pos <= fb->len && n <= fb->len - pos;
}

static uint16_t
ld16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

int
fbr_table_at(const struct fbr *fb, size_t pos, struct fbr_table *out)
{
    if (!in_bounds(fb, pos, 4)) return -1;
    int32_t soff = (int32_t)st_load_u32le(fb->p + pos);
    int64_t vt = (int64_t)pos - (int64_t)soff;
    if (vt < 0 || !in_bounds(fb, (size_t)vt, 4)) return -1;
    uint16_t vt_len = ld16(fb->p + vt);
    uint16_t inline_len = ld16(fb->p + vt + 2);
    if (vt_len < 4 || (vt_len & 1) || !in_bounds(fb, (size_t)vt, vt_len)) return -1;
    if (inline_len < 4 || !in_bounds(fb, pos, inline_len)) return -1;
    out->fb = fb;
    out->pos = pos;
    out->vt = (size_t)vt;
    out->vt_len = vt_len;
    return 0;
}

int
fbr_root(const struct fbr *fb, struct fbr_table *out)
{
    if (!in_bounds(fb, 0, 4)) return -1;
    return fbr_table_at(fb, st_load_u32le(fb->p), out);
}

/* Position of field `slot` of size `size`, or 0 when absent; -1 if out of bounds. */
static int
field_pos(const struct fbr_table *t, unsigned slot, size_t size, size_t *pos)
{
    size_t e = 4 + 2 * (size_t)slot;
    *pos = 0;
    if (e + 2 > t->vt_len) return 0;
    uint16_t off = ld16(t->fb->p + t->vt + e);
    if (off == 0) return 0;
    if (off < 4 || !in_bounds(t->fb, t->pos + off, size)) return -1;
    *pos = t->pos + off;
    return 0;
}

int
fbr_u8(const struct fbr_table *t, unsigned slot, uint8_t def, uint8_t *out)
{
    size_t p;
    if (field_pos(t, slot, 1, &p) != 0) return -1;
    *out = p ? t->fb->p[p] : def;
    return 0;
}

int
fbr_i16(const struct fbr_table *t, unsigned slot, int16_t def, int16_t *out)
{
    size_t p;
    if (field_pos(t, slot, 2, &p) != 0) return -1;
    *out = p ? (int16_t)ld16(t->fb->p + p) : def;
    return 0;
}

int
fbr_i32(const struct fbr_table *t, unsigned slot, int32_t def, int32_t *out)
{
    size_t p;
    if (field_pos(t, slot, 4, &p) != 0) return -1;
    *out = p ? (int32_t)st_load_u32le(t->fb->p + p) : def;
    return 0;
}

int
fbr_i64(const struct fbr_table *t, unsigned slot, int64_t def, int64_t *out)
{
    size_t p;
    if (field_pos(t, slot, 8, &p) != 0) return -1;
    *out = p ? (int64_t)st_load_u64le(t->fb->p + p) : def;
    return 0;
}

/* Follow the uoffset field `slot`: *target = 0 when absent. */
static int
deref(const struct fbr_table *t, unsigned slot, size_t *target)
{
    size_t p;
    *target = 0;
    if (field_pos(t, slot, 4, &p) != 0) return -1;
    if (!p) return 0;
    uint32_t rel = st_load_u32le(t->fb->p + p);
    if (rel == 0 || !in_bounds(t->fb, p + rel, 4)) return -1;
    *target = p + rel;
    return 0;
}

int
fbr_table_field(const struct fbr_table *t, unsigned slot, struct fbr_table *out, bool *present)
{
    size_t target;
    *present = false;
    if (deref(t, slot, &target) != 0) return -1;
    if (!target) return 0;
    if (fbr_table_at(t->fb, target, out) != 0) return -1;
    *present = true;
    return 0;
}

int
fbr_string_field(const struct fbr_table *t, unsigned slot, const char **s, uint32_t *len,
                 bool *present)
{
    size_t target;
    *present = false;
    *s = "";
    *len = 0;
    if (deref(t, slot, &target) != 0) return -1;
    if (!target) return 0;
    uint32_t n = st_load_u32le(t->fb->p + target);
    if (!in_bounds(t->fb, target + 4, n)) return -1;
    *s = (const char *)t->fb->p + target + 4;
    *len = n;
    *present = true;
    return 0;
}

int
fbr_vector_field(const struct fbr_table *t, unsigned slot, size_t elem_size, size_t *data,
                 uint32_t *n, bool *present)
{
    size_t target;
    *present = false;
    *data = 0;
    *n = 0;
    if (deref(t, slot, &target) != 0) return -1;
    if (!target) return 0;
    uint32_t count = st_load_u32le(t->fb->p + target);
    if (elem_size != 0 && count > (t->fb->len - target - 4) / elem_size) return -1;
    *data = target + 4;
    *n = count;
    *present = true;
    return 0;
}

int
fbr_vector_table(const struct fbr *fb, size_t data, uint32_t i, struct fbr_table *out)
{
    size_t slot = data + 4 * (size_t)i;
    if (!in_bounds(fb, slot, 4)) return -1;
    uint32_t rel = st_load_u32le(fb->p + slot);
    if (rel == 0 || !in_bounds(fb, slot + rel, 4)) return -1;
    return fbr_table_at(fb, slot + rel, out);
}
