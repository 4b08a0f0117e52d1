/* alert.h: the alert engine the daemon drives: rules from the config, alert_on_change, and the notifier worker round. */
#ifndef PW_ALERT_ALERT_H
#define PW_ALERT_ALERT_H

#include <stdbool.h>
#include <stddef.h>

#include "alert/queue.h"
#include "alert/rules.h"
#include "common/config.h"
#include "store/store.h"

struct alert_engine;           /* opaque: compiled rules and the notifier channels */

/*
 * Builds the engine from a loaded config (rules and notifiers). The config must
 * outlive the engine (channel names and secrets are borrowed). On a bad rule
 * returns false with err naming it. Call curl_global_init (fetch_global_init)
 * before the first delivery.
 */
bool alert_engine_new(struct alert_engine **out, const struct config *cfg, char *err, size_t errlen);
void alert_engine_free(struct alert_engine *e);
/* The channels, for alert_worker_run_once. Owned by the engine. */
const struct alert_channel *alert_engine_channels(const struct alert_engine *e, size_t *n);

/*
 * Evaluates every rule in scope against one recorded change and appends the
 * alerts that fire to pw:alerts, each together with its rule state in one
 * atomic step: a crash never loses an alert whose state was written, and a
 * change handled twice (a retry, two daemons) raises its alerts once.
 * *fired (may be NULL) gets the number of alerts appended.
 */
enum store_status alert_on_change(struct alert_engine *e, struct store *st, const struct change *c,
    size_t *fired);

/* One worker round over the engine's channels (see alert_worker_run_once in queue.h). */
enum store_status alert_engine_work(struct alert_engine *e, struct store *st, const struct alert_worker_opts *opts,
    struct alert_worker_stats *stats);

#endif
