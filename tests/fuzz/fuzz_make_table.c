/* fuzz_make_table.c -- `evtrack table RESULTS.json` (sdk/src/make_table.c):
 * any JSON text, parsed as the command parses it, rendered as the table of
 * each tool and column. Invariant: a table is returned with a trailing
 * '\n', or NULL with a message. */
#include "fuzz_util.h"

#include <cjson/cJSON.h>

#include "evtrack/sdk/make_table.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts((const char *)data, size, &end, 0);
    if (!root)
        return 0;
    static const char *const cols[] = {"results", "groups", "bogus"};
    for (int s = EVT_TABLE_LMMS_EVAL; s <= EVT_TABLE_LIGHTEVAL; s++)
        for (int c = 0; c < 3; c++) {
            char err[512];
            err[0] = '\0';
            char *t = evt_make_table(root, (enum evt_table_style)s, cols[c],
                                     err, sizeof err);
            if (t) {
                size_t n = strlen(t);
                FZ_CHECK(n == 0 || t[n - 1] == '\n');
            } else {
                FZ_CHECK(err[0] != '\0');
            }
            free(t);
        }
    cJSON_Delete(root);
    return 0;
}
