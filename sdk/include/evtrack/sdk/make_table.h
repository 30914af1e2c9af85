/* evtrack/sdk/make_table.h -- the Markdown results tables of lmms-eval,
 * lm-evaluation-harness and lighteval, byte for byte.
 *
 * evt_make_table() renders what the tool's make_table(result_dict, column)
 * returns: the row builder of the chosen tool, then the pytablewriter
 * MarkdownTableWriter rules (cell typing, per-column decimal places,
 * East-Asian widths, alignment, pipe escaping). The rules and the quirks
 * kept or fixed are in docs/TABLE.md; the upstream reference is
 * shared/reference/formats.md sections 5 and 6.
 *
 * The function is pure: it reads result_dict and never changes it, keeps no
 * state and is thread-safe. Missing maps (n-shot, versions,
 * higher_is_better, group_subtasks, the column itself) are tolerated. */
#ifndef EVTRACK_SDK_MAKE_TABLE_H
#define EVTRACK_SDK_MAKE_TABLE_H

#include <stddef.h>

#include <cjson/cJSON.h>

#ifdef __cplusplus
extern "C" {
#endif

enum evt_table_style {
    EVT_TABLE_LMMS_EVAL, /* lmms-eval 0.7 lmms_eval/utils.py::make_table */
    EVT_TABLE_LM_EVAL,   /* lm-evaluation-harness lm_eval/utils.py::make_table */
    EVT_TABLE_LIGHTEVAL  /* lighteval utils.py::make_results_table */
};

/* Render make_table(result_dict, column) of the given tool. Returns a heap
 * string (free with free()) or NULL with a message in err (err may be NULL
 * when errlen is 0). column is "results" or "groups" (lighteval: "results"
 * only). The string ends with "\n" (no extra newline of print()). The
 * input is not modified. */
char *evt_make_table(const cJSON *result_dict, enum evt_table_style style,
                     const char *column, char *err, size_t errlen);

/* "lmms-eval", "lm-eval" or "lighteval" -> *out; returns 0, or -1 for any
 * other name (then *out is unchanged). */
int evt_table_style_from_name(const char *name, enum evt_table_style *out);

#ifdef __cplusplus
}
#endif
#endif /* EVTRACK_SDK_MAKE_TABLE_H */
