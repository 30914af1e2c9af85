/* wb_samples.h -- the wandb sink's per-task samples (formats.md section
 * 7.2): a table "{task}_eval_results" (columns id, data, input_len,
 * labels, output_type, raw_predictions, filtered_predictions, filter,
 * then one column per metric, first seen first) and the samples file
 * "samples/{task}_eval_samples.json" (a JSON array, indent 2, of each
 * sample's fields after the event header).
 *
 * Memory does not grow with the samples: a sample leaves here only its
 * task and its metric names (O(tasks + metric names)). At run_end the
 * tables and files are written to temporary files (wb_files.h) from the
 * run's journal, which holds every sample the run took, in order
 * (wb_journal_each): the journal read back up to the run_end gives the
 * same samples in any process. */
#ifndef WB_SAMPLES_H
#define WB_SAMPLES_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "wb_files.h"
#include "wb_journal.h"
#include "wb_json.h"

struct wb_samples;

struct wb_samples *wb_samples_new(void);
void wb_samples_free(struct wb_samples *s);

/* Take one decoded sample event (it is in the journal, or queued there,
 * before the next wb_samples_finish). 0, or -1 on OOM. */
int wb_samples_add(struct wb_samples *s, const msgpack_object *ev);

/* For every task with samples, from the sample events of j: the table
 * "{task}_eval_results" at step into fs and row, and the file
 * "samples/{task}_eval_samples.json" into fs. dict (the results dict, or
 * NULL) gives each task's output_type. 0, or -1 with err (out of memory,
 * or "path: step: reason" of a file). */
int wb_samples_finish(struct wb_samples *s, struct wb_journal *j,
                      const msgpack_object *dict, int64_t step,
                      struct wb_files *fs, struct wb_kvs *row, char *err,
                      size_t errlen);

#endif /* WB_SAMPLES_H */
