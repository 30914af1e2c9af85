/* wb_flatten.h -- what the eval trackers log to W&B, computed from the
 * run's results dict (the sdk aggregator's rendering, lmms-eval or lm-eval
 * layout, redacted; shared/reference/formats.md section 7.1):
 *
 *  - the flattened metrics: "{task}/{metric}" for each member of every
 *    results entry (groups included), ",none" cut from the end of a key
 *    and those keys moved after the others of their task; string values
 *    (alias, "N/A" stderrs) go to the summary only;
 *  - the run config: model, model_name, model_args, cli_configs,
 *    task_configs, n-shot, versions (sent as {"key": {"value": v}});
 *  - the results tables evaluation/eval_results and
 *    evaluation/group_eval_results.
 *
 * The dict is a msgpack map; nothing here keeps a pointer into it. */
#ifndef WB_FLATTEN_H
#define WB_FLATTEN_H

#include <stddef.h>

#include <msgpack.h>

#include "evtrack/sdk/json_write.h"
#include "wb_json.h"

/* Append the flattened metrics of dict to row (numbers, null, maps,
 * arrays) and summary (strings). 0, or -1 on OOM. */
int wb_flatten_results(const msgpack_object *dict, struct wb_kvs *row,
                       struct wb_kvs *summary);

/* The key of one flattened metric: "{task}/{metric}" with a final ",none"
 * removed. Appends to out. */
void wb_flat_key(struct evt_buf *out, const char *task, size_t tn,
                 const char *metric, size_t mn);

/* The run config as top-level key -> JSON of its value: model (the
 * dict's config.model, else model_source), model_name, model_args
 * (config.model_args), cli_configs (config), task_configs (configs),
 * n-shot, versions; members the dict lacks are left out. 0 or -1 (OOM). */
int wb_run_config(const msgpack_object *dict, struct wb_kvs *out);

/* The config object as W&B stores it, {"k": {"value": v}, ...}. */
void wb_config_text(const struct wb_kvs *cfg, struct evt_buf *out);

/* The results table as {"columns": [...], "data": [[...], ...]}: groups 0
 * gives evaluation/eval_results (tasks that are not groups), 1 gives
 * evaluation/group_eval_results (the dict's "groups"). *nrows gets the
 * row count; returns 0, 1 when the table would have no rows (nothing
 * appended), or -1 on OOM. */
int wb_results_table(const msgpack_object *dict, int groups,
                     struct evt_buf *out, size_t *nrows);

#define WB_RESULTS_TABLE_COLS 7

#endif /* WB_FLATTEN_H */
