/* pyrepr.h -- Python str() and repr() of msgpack values, as the harnesses
 * produce them when they stringify sample fields (lmms-eval and lm-eval
 * sanitize_list, target = str(target)).
 *
 * Mapping (a msgpack value stands for the Python object msgpack-python
 * would decode it to):
 *   str    -> str() is the text itself; repr() quotes and escapes it
 *   int    -> decimal
 *   float  -> repr(float) (evt_py_float_repr: "0.5", "1e-05", "nan", "inf")
 *   bool   -> True / False;  nil -> None
 *   array  -> [a, b] (a list);  map -> {k: v} (a dict)
 *   bin    -> b'...' (bytes);  ext -> ExtType(code=N, data=b'...')
 * Containers show their members with repr(), as Python does. */
#ifndef JSONL_PYREPR_H
#define JSONL_PYREPR_H

#include "evtrack/sdk/json_write.h"
#include "mpread.h"

/* Deepest nesting the functions below follow; deeper values fail. */
#define JL_PY_MAX_DEPTH 64

/* Append Python str() / repr() of the value at c to b and move c past
 * it. Returns 0, or -1 when the value nests deeper than JL_PY_MAX_DEPTH
 * or its bytes are malformed (b may then hold a partial text). Out of
 * memory is reported through b->oom. */
int jl_py_str(struct evt_buf *b, struct jl_cur *c);
int jl_py_repr(struct evt_buf *b, struct jl_cur *c);

#endif
