/* tb_run_end.h -- what the tensorboard-events sink writes at a run_end:
 * the results table (a 2-D string tensor for the Text tab) and the run
 * configuration (an HParams session), both read from the results dict of
 * the run's aggregator (docs/sinks/tensorboard-events.md sections 4, 5). */
#ifndef TB_RUN_END_H
#define TB_RUN_END_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "evtrack/sdk/json_write.h"

#define TB_TABLE_COLS 7

/* Append the text Event of the results table of dict (the lm-eval layout
 * of evt_results_to_cjson) to out, unframed. 0, or -1 on OOM. */
int tb_table_event(struct evt_buf *out, const cJSON *dict, const char *tag,
                   double wall_time, int64_t step);

/* Append the session_start_info Event (hparams of dict, sorted by key)
 * and the session_end_info Event (SUCCESS), each framed, to out. 0, or -1
 * on OOM. */
int tb_hparams_records(struct evt_buf *out, const cJSON *dict,
                       double wall_time, double start_secs,
                       double end_secs);

#endif /* TB_RUN_END_H */
