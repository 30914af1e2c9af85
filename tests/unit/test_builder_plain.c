/* test_builder_plain.c -- test_builder.c built with EVT_NO_KEY_MACROS
 * (tests/CMakeLists.txt): every builder test through the exported
 * functions, without the inline routes of evtrack.h. */
#include "test_builder.c"
