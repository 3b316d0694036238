/*
 * exec_source_stor.c: the executor's data source over a storage read view
 * (storage.h): scans, batches and estimates pass straight through.
 */
#include "exec_int.h"

static enum st_code
src_open(void *ctx, const struct stor_scan_spec *spec, void **scan, struct st_error *err)
{
    struct stor_scan *s = NULL;
    enum st_code rc = stor_scan_open(ctx, spec, &s, err);
    *scan = s;
    return rc;
}

static enum st_code
src_next(void *scan, const struct stor_batch **out, struct st_error *err)
{
    return stor_scan_next(scan, out, err);
}

static void
src_close(void *scan)
{
    stor_scan_close(scan);
}

static enum st_code
src_estimate(void *ctx, const struct stor_scan_spec *spec, struct stor_scan_estimate *out,
             struct st_error *err)
{
    return stor_scan_estimate(ctx, spec, out, err);
}

void
exec_source_storage(struct exec_source *src, struct stor_view *view)
{
    src->ctx = view;
    src->open = src_open;
    src->next = src_next;
    src->close = src_close;
    src->estimate = src_estimate;
}
