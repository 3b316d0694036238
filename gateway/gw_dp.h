/*
 * gw_dp.h: data protection inside stratad, the gateway half of issue 6 (the engine's half
 * is engine.h: keyrings, eng_rotate_key, eng_verify, quarantine counters):
 *
 *   keys.c        the master keys the engine is opened with (declared in gw_int.h, since
 *                 main needs them before anything else);
 *   integrity.c   the integrity service: canary points written to an internal database on
 *                 an interval and read back through the query path, the outcome exported
 *                 as metrics, log lines and audit events;
 *   h_maint.c     AdminService RotateKey and Verify: long-running engine jobs on a thread
 *                 of their own, streamed to the caller as progress;
 *   h_update.c    Flight SQL CommandStatementUpdate through DoPut (DELETE statements).
 *
 * Included by gw_int.h; nothing here needs gRPC types.
 */
#ifndef GW_DP_H
#define GW_DP_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

struct gw_server;
struct st_buf;

/* ---- the integrity service (integrity.c) -------------------------------------------------- */

/*
 * The storage name of the integrity service's database. No (tenant, database) pair maps to
 * it (gw_engine_name never produces a name with "--" on both sides of a valid split), so no
 * client can name it: it is in no listing, and nobody can read or write it.
 */
#define GW_INTEGRITY_DB "strata--integrity--canary"
/* Whether an engine database name belongs to the server itself (hidden from everyone). */
static inline bool
gw_is_internal_db(const char *engine_name)
{
    return engine_name && !strcmp(engine_name, GW_INTEGRITY_DB);
}

/* Start the service thread (no-op with --integrity-interval 0): the first check runs at
 * once, then one per interval. */
enum st_code gw_integrity_start(struct gw_server *s, struct st_error *err);
/* Stop it (a check in progress finishes first). Before eng_close and gw_audit_close. */
void gw_integrity_stop(void);
/* Run one check now and wait for it (tests, and the first check). Returns its outcome. */
enum st_code gw_integrity_check_now(struct st_error *err);

/* ---- the policy store under the master key (policy_store.c) --------------------------------- */

/* After a key rotation: write the access policy and a sealed token pepper again, sealed
 * under the keyring's current key (no-op without encryption). */
enum st_code gw_policy_reseal(struct st_error *err);

/* ---- maintenance jobs (h_maint.c) --------------------------------------------------------- */

/* Wait for a running key rotation or verify job to end (before eng_close). */
void gw_maint_stop(void);

/* ---- metrics: every data-protection counter, appended to /metrics (metrics.c) ------------ */
void gw_dp_metrics_render(struct st_buf *b);
void gw__integrity_metrics(struct st_buf *b);
void gw__maint_metrics(struct st_buf *b);

#endif
