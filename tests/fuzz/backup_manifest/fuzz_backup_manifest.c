/*
 * fuzz_backup_manifest.c: manifest.json validation and SHA256SUMS lookup
 * (clients/c/backup_manifest.c) on arbitrary bytes. A manifest that is
 * accepted must encode to text that decodes to the same manifest (encode
 * of it is byte-identical), name only safe file names, and give a schema
 * for every table.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backup_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct bk_manifest m, back;
    struct st_error err;
    bool found;
    char hex[BK_SHA256_HEX];
    (void)bk_sums_find((const char *)data, size, "manifest.json", &found, hex, &err);
    if (bk_manifest_decode((const char *)data, size, &m, &err) != ST_OK) return 0;
    for (uint32_t i = 0; i < m.n_tables; i++) {
        if (!bk_file_name_ok(m.tables[i].file) || strchr(m.tables[i].file, '/')) abort();
        struct bk_schema s;
        if (bk_manifest_schema(&m.tables[i], &s, &err) != ST_OK) abort();
        bk_schema_cleanup(&s);
    }
    char *t1, *t2;
    size_t l1, l2;
    if (bk_manifest_encode(&m, &t1, &l1, &err) != ST_OK) abort();
    if (bk_manifest_decode(t1, l1, &back, &err) != ST_OK) abort();
    if (bk_manifest_encode(&back, &t2, &l2, &err) != ST_OK) abort();
    if (l1 != l2 || memcmp(t1, t2, l1) != 0) abort();
    free(t1);
    free(t2);
    bk_manifest_cleanup(&m);
    bk_manifest_cleanup(&back);
    return 0;
}
