/* make_table.c -- evt_make_table(): the make_table renderers of lmms-eval
 * 0.7, lm-evaluation-harness and lighteval, as a pure function.
 *
 * Layout: a growable string; Python-like number formatting (repr, "%.Nf",
 * str); a small table of Python cell values; the pytablewriter 1.2.1
 * MarkdownTableWriter rules R1-R9 of shared/reference/formats.md section 5
 * (cell classes with the type hint, column type, per-column decimal places,
 * East-Asian widths, alignment, pipe escaping); then the three row builders
 * of section 6. docs/TABLE.md lists what is reproduced and what is decided
 * where upstream crashes.
 *
 * Every JSON number is a double here (cJSON keeps no int/float
 * distinction). Where Python would treat an int and a float differently,
 * the choice is the one the tools' real files make likely: metric values
 * are floats ("%.4f"), n-shot / versions / counts are ints.
 *
 * printf's radix character depends on the locale, so numbers are printed
 * with snprintf and rebuilt from their digits, and read back from text of
 * the form "<digits>e<exp>", which has no radix character. */
#include "evtrack/sdk/make_table.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PLACES 100 /* R3: decimal places are capped at 100 */
#define MAX_DEPTH 64   /* group_subtasks levels walked at most */
#define MAX_INT_DIGITS 400 /* longer integers in strings stay text */
#define REPR_SIZE 64       /* room for any repr(float) */

#define UP_ARROW "\xe2\x86\x91"   /* U+2191 */
#define DOWN_ARROW "\xe2\x86\x93" /* U+2193 */
#define PLUS_MINUS "\xc2\xb1"     /* U+00B1 */

/* ---- growable string ------------------------------------------------- */

struct sbuf {
    char *p;
    size_t len, cap;
    int oom;
};

/* Room for n more bytes and the NUL: 0, or -1 with b->oom set. */
static int sb_reserve(struct sbuf *b, size_t n)
{
    if (b->oom)
        return -1;
    if (n >= SIZE_MAX / 2 - b->len) {
        b->oom = 1;
        return -1;
    }
    size_t need = b->len + n + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 128;
    while (cap < need)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        b->oom = 1;
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

static void sb_putn(struct sbuf *b, const char *s, size_t n)
{
    if (sb_reserve(b, n))
        return;
    if (n)
        memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_puts(struct sbuf *b, const char *s)
{
    sb_putn(b, s, strlen(s));
}

static void sb_putc(struct sbuf *b, char c)
{
    sb_putn(b, &c, 1);
}

static void sb_repeat(struct sbuf *b, char c, size_t n)
{
    if (sb_reserve(b, n))
        return;
    memset(b->p + b->len, c, n);
    b->len += n;
    b->p[b->len] = '\0';
}

/* The string built so far (never NULL unless out of memory); b is left
 * empty. */
static char *sb_take(struct sbuf *b)
{
    char *p = b->p;
    if (!b->oom && !p) {
        p = malloc(1);
        if (p)
            p[0] = '\0';
    }
    if (b->oom) {
        free(p);
        p = NULL;
    }
    b->p = NULL;
    b->len = b->cap = 0;
    b->oom = 0;
    return p;
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ---- East-Asian width (R5) ------------------------------------------- */

/* Code points whose East_Asian_Width is W or F in Python 3.11's
 * unicodedata (Unicode 14.0.0), which pytablewriter sums as 2 columns.
 * CPython reports unassigned code points as "F", so they are listed too.
 * Generated with unicodedata.east_asian_width over U+0000..U+10FFFF. */
struct cp_range {
    uint32_t lo, hi;
};

static const struct cp_range wide_ranges[] = {
    {0x378, 0x379}, {0x380, 0x383}, {0x38B, 0x38B}, {0x38D, 0x38D},
    {0x3A2, 0x3A2}, {0x530, 0x530}, {0x557, 0x558}, {0x58B, 0x58C},
    {0x590, 0x590}, {0x5C8, 0x5CF}, {0x5EB, 0x5EE}, {0x5F5, 0x5FF},
    {0x70E, 0x70E}, {0x74B, 0x74C}, {0x7B2, 0x7BF}, {0x7FB, 0x7FC},
    {0x82E, 0x82F}, {0x83F, 0x83F}, {0x85C, 0x85D}, {0x85F, 0x85F},
    {0x86B, 0x86F}, {0x88F, 0x88F}, {0x892, 0x897}, {0x984, 0x984},
    {0x98D, 0x98E}, {0x991, 0x992}, {0x9A9, 0x9A9}, {0x9B1, 0x9B1},
    {0x9B3, 0x9B5}, {0x9BA, 0x9BB}, {0x9C5, 0x9C6}, {0x9C9, 0x9CA},
    {0x9CF, 0x9D6}, {0x9D8, 0x9DB}, {0x9DE, 0x9DE}, {0x9E4, 0x9E5},
    {0x9FF, 0xA00}, {0xA04, 0xA04}, {0xA0B, 0xA0E}, {0xA11, 0xA12},
    {0xA29, 0xA29}, {0xA31, 0xA31}, {0xA34, 0xA34}, {0xA37, 0xA37},
    {0xA3A, 0xA3B}, {0xA3D, 0xA3D}, {0xA43, 0xA46}, {0xA49, 0xA4A},
    {0xA4E, 0xA50}, {0xA52, 0xA58}, {0xA5D, 0xA5D}, {0xA5F, 0xA65},
    {0xA77, 0xA80}, {0xA84, 0xA84}, {0xA8E, 0xA8E}, {0xA92, 0xA92},
    {0xAA9, 0xAA9}, {0xAB1, 0xAB1}, {0xAB4, 0xAB4}, {0xABA, 0xABB},
    {0xAC6, 0xAC6}, {0xACA, 0xACA}, {0xACE, 0xACF}, {0xAD1, 0xADF},
    {0xAE4, 0xAE5}, {0xAF2, 0xAF8}, {0xB00, 0xB00}, {0xB04, 0xB04},
    {0xB0D, 0xB0E}, {0xB11, 0xB12}, {0xB29, 0xB29}, {0xB31, 0xB31},
    {0xB34, 0xB34}, {0xB3A, 0xB3B}, {0xB45, 0xB46}, {0xB49, 0xB4A},
    {0xB4E, 0xB54}, {0xB58, 0xB5B}, {0xB5E, 0xB5E}, {0xB64, 0xB65},
    {0xB78, 0xB81}, {0xB84, 0xB84}, {0xB8B, 0xB8D}, {0xB91, 0xB91},
    {0xB96, 0xB98}, {0xB9B, 0xB9B}, {0xB9D, 0xB9D}, {0xBA0, 0xBA2},
    {0xBA5, 0xBA7}, {0xBAB, 0xBAD}, {0xBBA, 0xBBD}, {0xBC3, 0xBC5},
    {0xBC9, 0xBC9}, {0xBCE, 0xBCF}, {0xBD1, 0xBD6}, {0xBD8, 0xBE5},
    {0xBFB, 0xBFF}, {0xC0D, 0xC0D}, {0xC11, 0xC11}, {0xC29, 0xC29},
    {0xC3A, 0xC3B}, {0xC45, 0xC45}, {0xC49, 0xC49}, {0xC4E, 0xC54},
    {0xC57, 0xC57}, {0xC5B, 0xC5C}, {0xC5E, 0xC5F}, {0xC64, 0xC65},
    {0xC70, 0xC76}, {0xC8D, 0xC8D}, {0xC91, 0xC91}, {0xCA9, 0xCA9},
    {0xCB4, 0xCB4}, {0xCBA, 0xCBB}, {0xCC5, 0xCC5}, {0xCC9, 0xCC9},
    {0xCCE, 0xCD4}, {0xCD7, 0xCDC}, {0xCDF, 0xCDF}, {0xCE4, 0xCE5},
    {0xCF0, 0xCF0}, {0xCF3, 0xCFF}, {0xD0D, 0xD0D}, {0xD11, 0xD11},
    {0xD45, 0xD45}, {0xD49, 0xD49}, {0xD50, 0xD53}, {0xD64, 0xD65},
    {0xD80, 0xD80}, {0xD84, 0xD84}, {0xD97, 0xD99}, {0xDB2, 0xDB2},
    {0xDBC, 0xDBC}, {0xDBE, 0xDBF}, {0xDC7, 0xDC9}, {0xDCB, 0xDCE},
    {0xDD5, 0xDD5}, {0xDD7, 0xDD7}, {0xDE0, 0xDE5}, {0xDF0, 0xDF1},
    {0xDF5, 0xE00}, {0xE3B, 0xE3E}, {0xE5C, 0xE80}, {0xE83, 0xE83},
    {0xE85, 0xE85}, {0xE8B, 0xE8B}, {0xEA4, 0xEA4}, {0xEA6, 0xEA6},
    {0xEBE, 0xEBF}, {0xEC5, 0xEC5}, {0xEC7, 0xEC7}, {0xECE, 0xECF},
    {0xEDA, 0xEDB}, {0xEE0, 0xEFF}, {0xF48, 0xF48}, {0xF6D, 0xF70},
    {0xF98, 0xF98}, {0xFBD, 0xFBD}, {0xFCD, 0xFCD}, {0xFDB, 0xFFF},
    {0x10C6, 0x10C6}, {0x10C8, 0x10CC}, {0x10CE, 0x10CF}, {0x1100, 0x115F},
    {0x1249, 0x1249}, {0x124E, 0x124F}, {0x1257, 0x1257}, {0x1259, 0x1259},
    {0x125E, 0x125F}, {0x1289, 0x1289}, {0x128E, 0x128F}, {0x12B1, 0x12B1},
    {0x12B6, 0x12B7}, {0x12BF, 0x12BF}, {0x12C1, 0x12C1}, {0x12C6, 0x12C7},
    {0x12D7, 0x12D7}, {0x1311, 0x1311}, {0x1316, 0x1317}, {0x135B, 0x135C},
    {0x137D, 0x137F}, {0x139A, 0x139F}, {0x13F6, 0x13F7}, {0x13FE, 0x13FF},
    {0x169D, 0x169F}, {0x16F9, 0x16FF}, {0x1716, 0x171E}, {0x1737, 0x173F},
    {0x1754, 0x175F}, {0x176D, 0x176D}, {0x1771, 0x1771}, {0x1774, 0x177F},
    {0x17DE, 0x17DF}, {0x17EA, 0x17EF}, {0x17FA, 0x17FF}, {0x181A, 0x181F},
    {0x1879, 0x187F}, {0x18AB, 0x18AF}, {0x18F6, 0x18FF}, {0x191F, 0x191F},
    {0x192C, 0x192F}, {0x193C, 0x193F}, {0x1941, 0x1943}, {0x196E, 0x196F},
    {0x1975, 0x197F}, {0x19AC, 0x19AF}, {0x19CA, 0x19CF}, {0x19DB, 0x19DD},
    {0x1A1C, 0x1A1D}, {0x1A5F, 0x1A5F}, {0x1A7D, 0x1A7E}, {0x1A8A, 0x1A8F},
    {0x1A9A, 0x1A9F}, {0x1AAE, 0x1AAF}, {0x1ACF, 0x1AFF}, {0x1B4D, 0x1B4F},
    {0x1B7F, 0x1B7F}, {0x1BF4, 0x1BFB}, {0x1C38, 0x1C3A}, {0x1C4A, 0x1C4C},
    {0x1C89, 0x1C8F}, {0x1CBB, 0x1CBC}, {0x1CC8, 0x1CCF}, {0x1CFB, 0x1CFF},
    {0x1F16, 0x1F17}, {0x1F1E, 0x1F1F}, {0x1F46, 0x1F47}, {0x1F4E, 0x1F4F},
    {0x1F58, 0x1F58}, {0x1F5A, 0x1F5A}, {0x1F5C, 0x1F5C}, {0x1F5E, 0x1F5E},
    {0x1F7E, 0x1F7F}, {0x1FB5, 0x1FB5}, {0x1FC5, 0x1FC5}, {0x1FD4, 0x1FD5},
    {0x1FDC, 0x1FDC}, {0x1FF0, 0x1FF1}, {0x1FF5, 0x1FF5}, {0x1FFF, 0x1FFF},
    {0x2065, 0x2065}, {0x2072, 0x2073}, {0x208F, 0x208F}, {0x209D, 0x209F},
    {0x20C1, 0x20CF}, {0x20F1, 0x20FF}, {0x218C, 0x218F}, {0x231A, 0x231B},
    {0x2329, 0x232A}, {0x23E9, 0x23EC}, {0x23F0, 0x23F0}, {0x23F3, 0x23F3},
    {0x2427, 0x243F}, {0x244B, 0x245F}, {0x25FD, 0x25FE}, {0x2614, 0x2615},
    {0x2648, 0x2653}, {0x267F, 0x267F}, {0x2693, 0x2693}, {0x26A1, 0x26A1},
    {0x26AA, 0x26AB}, {0x26BD, 0x26BE}, {0x26C4, 0x26C5}, {0x26CE, 0x26CE},
    {0x26D4, 0x26D4}, {0x26EA, 0x26EA}, {0x26F2, 0x26F3}, {0x26F5, 0x26F5},
    {0x26FA, 0x26FA}, {0x26FD, 0x26FD}, {0x2705, 0x2705}, {0x270A, 0x270B},
    {0x2728, 0x2728}, {0x274C, 0x274C}, {0x274E, 0x274E}, {0x2753, 0x2755},
    {0x2757, 0x2757}, {0x2795, 0x2797}, {0x27B0, 0x27B0}, {0x27BF, 0x27BF},
    {0x2B1B, 0x2B1C}, {0x2B50, 0x2B50}, {0x2B55, 0x2B55}, {0x2B74, 0x2B75},
    {0x2B96, 0x2B96}, {0x2CF4, 0x2CF8}, {0x2D26, 0x2D26}, {0x2D28, 0x2D2C},
    {0x2D2E, 0x2D2F}, {0x2D68, 0x2D6E}, {0x2D71, 0x2D7E}, {0x2D97, 0x2D9F},
    {0x2DA7, 0x2DA7}, {0x2DAF, 0x2DAF}, {0x2DB7, 0x2DB7}, {0x2DBF, 0x2DBF},
    {0x2DC7, 0x2DC7}, {0x2DCF, 0x2DCF}, {0x2DD7, 0x2DD7}, {0x2DDF, 0x2DDF},
    {0x2E5E, 0x303E}, {0x3040, 0x3247}, {0x3250, 0x4DBF}, {0x4E00, 0xA4CF},
    {0xA62C, 0xA63F}, {0xA6F8, 0xA6FF}, {0xA7CB, 0xA7CF}, {0xA7D2, 0xA7D2},
    {0xA7D4, 0xA7D4}, {0xA7DA, 0xA7F1}, {0xA82D, 0xA82F}, {0xA83A, 0xA83F},
    {0xA878, 0xA87F}, {0xA8C6, 0xA8CD}, {0xA8DA, 0xA8DF}, {0xA954, 0xA95E},
    {0xA960, 0xA97F}, {0xA9CE, 0xA9CE}, {0xA9DA, 0xA9DD}, {0xA9FF, 0xA9FF},
    {0xAA37, 0xAA3F}, {0xAA4E, 0xAA4F}, {0xAA5A, 0xAA5B}, {0xAAC3, 0xAADA},
    {0xAAF7, 0xAB00}, {0xAB07, 0xAB08}, {0xAB0F, 0xAB10}, {0xAB17, 0xAB1F},
    {0xAB27, 0xAB27}, {0xAB2F, 0xAB2F}, {0xAB6C, 0xAB6F}, {0xABEE, 0xABEF},
    {0xABFA, 0xD7AF}, {0xD7C7, 0xD7CA}, {0xD7FC, 0xD7FF}, {0xF900, 0xFAFF},
    {0xFB07, 0xFB12}, {0xFB18, 0xFB1C}, {0xFB37, 0xFB37}, {0xFB3D, 0xFB3D},
    {0xFB3F, 0xFB3F}, {0xFB42, 0xFB42}, {0xFB45, 0xFB45}, {0xFBC3, 0xFBD2},
    {0xFD90, 0xFD91}, {0xFDC8, 0xFDCE}, {0xFDD0, 0xFDEF}, {0xFE10, 0xFE1F},
    {0xFE30, 0xFE6F}, {0xFE75, 0xFE75}, {0xFEFD, 0xFEFE}, {0xFF00, 0xFF60},
    {0xFFBF, 0xFFC1}, {0xFFC8, 0xFFC9}, {0xFFD0, 0xFFD1}, {0xFFD8, 0xFFD9},
    {0xFFDD, 0xFFE7}, {0xFFEF, 0xFFF8}, {0xFFFE, 0xFFFF}, {0x1000C, 0x1000C},
    {0x10027, 0x10027}, {0x1003B, 0x1003B}, {0x1003E, 0x1003E},
    {0x1004E, 0x1004F}, {0x1005E, 0x1007F}, {0x100FB, 0x100FF},
    {0x10103, 0x10106}, {0x10134, 0x10136}, {0x1018F, 0x1018F},
    {0x1019D, 0x1019F}, {0x101A1, 0x101CF}, {0x101FE, 0x1027F},
    {0x1029D, 0x1029F}, {0x102D1, 0x102DF}, {0x102FC, 0x102FF},
    {0x10324, 0x1032C}, {0x1034B, 0x1034F}, {0x1037B, 0x1037F},
    {0x1039E, 0x1039E}, {0x103C4, 0x103C7}, {0x103D6, 0x103FF},
    {0x1049E, 0x1049F}, {0x104AA, 0x104AF}, {0x104D4, 0x104D7},
    {0x104FC, 0x104FF}, {0x10528, 0x1052F}, {0x10564, 0x1056E},
    {0x1057B, 0x1057B}, {0x1058B, 0x1058B}, {0x10593, 0x10593},
    {0x10596, 0x10596}, {0x105A2, 0x105A2}, {0x105B2, 0x105B2},
    {0x105BA, 0x105BA}, {0x105BD, 0x105FF}, {0x10737, 0x1073F},
    {0x10756, 0x1075F}, {0x10768, 0x1077F}, {0x10786, 0x10786},
    {0x107B1, 0x107B1}, {0x107BB, 0x107FF}, {0x10806, 0x10807},
    {0x10809, 0x10809}, {0x10836, 0x10836}, {0x10839, 0x1083B},
    {0x1083D, 0x1083E}, {0x10856, 0x10856}, {0x1089F, 0x108A6},
    {0x108B0, 0x108DF}, {0x108F3, 0x108F3}, {0x108F6, 0x108FA},
    {0x1091C, 0x1091E}, {0x1093A, 0x1093E}, {0x10940, 0x1097F},
    {0x109B8, 0x109BB}, {0x109D0, 0x109D1}, {0x10A04, 0x10A04},
    {0x10A07, 0x10A0B}, {0x10A14, 0x10A14}, {0x10A18, 0x10A18},
    {0x10A36, 0x10A37}, {0x10A3B, 0x10A3E}, {0x10A49, 0x10A4F},
    {0x10A59, 0x10A5F}, {0x10AA0, 0x10ABF}, {0x10AE7, 0x10AEA},
    {0x10AF7, 0x10AFF}, {0x10B36, 0x10B38}, {0x10B56, 0x10B57},
    {0x10B73, 0x10B77}, {0x10B92, 0x10B98}, {0x10B9D, 0x10BA8},
    {0x10BB0, 0x10BFF}, {0x10C49, 0x10C7F}, {0x10CB3, 0x10CBF},
    {0x10CF3, 0x10CF9}, {0x10D28, 0x10D2F}, {0x10D3A, 0x10E5F},
    {0x10E7F, 0x10E7F}, {0x10EAA, 0x10EAA}, {0x10EAE, 0x10EAF},
    {0x10EB2, 0x10EFF}, {0x10F28, 0x10F2F}, {0x10F5A, 0x10F6F},
    {0x10F8A, 0x10FAF}, {0x10FCC, 0x10FDF}, {0x10FF7, 0x10FFF},
    {0x1104E, 0x11051}, {0x11076, 0x1107E}, {0x110C3, 0x110CC},
    {0x110CE, 0x110CF}, {0x110E9, 0x110EF}, {0x110FA, 0x110FF},
    {0x11135, 0x11135}, {0x11148, 0x1114F}, {0x11177, 0x1117F},
    {0x111E0, 0x111E0}, {0x111F5, 0x111FF}, {0x11212, 0x11212},
    {0x1123F, 0x1127F}, {0x11287, 0x11287}, {0x11289, 0x11289},
    {0x1128E, 0x1128E}, {0x1129E, 0x1129E}, {0x112AA, 0x112AF},
    {0x112EB, 0x112EF}, {0x112FA, 0x112FF}, {0x11304, 0x11304},
    {0x1130D, 0x1130E}, {0x11311, 0x11312}, {0x11329, 0x11329},
    {0x11331, 0x11331}, {0x11334, 0x11334}, {0x1133A, 0x1133A},
    {0x11345, 0x11346}, {0x11349, 0x1134A}, {0x1134E, 0x1134F},
    {0x11351, 0x11356}, {0x11358, 0x1135C}, {0x11364, 0x11365},
    {0x1136D, 0x1136F}, {0x11375, 0x113FF}, {0x1145C, 0x1145C},
    {0x11462, 0x1147F}, {0x114C8, 0x114CF}, {0x114DA, 0x1157F},
    {0x115B6, 0x115B7}, {0x115DE, 0x115FF}, {0x11645, 0x1164F},
    {0x1165A, 0x1165F}, {0x1166D, 0x1167F}, {0x116BA, 0x116BF},
    {0x116CA, 0x116FF}, {0x1171B, 0x1171C}, {0x1172C, 0x1172F},
    {0x11747, 0x117FF}, {0x1183C, 0x1189F}, {0x118F3, 0x118FE},
    {0x11907, 0x11908}, {0x1190A, 0x1190B}, {0x11914, 0x11914},
    {0x11917, 0x11917}, {0x11936, 0x11936}, {0x11939, 0x1193A},
    {0x11947, 0x1194F}, {0x1195A, 0x1199F}, {0x119A8, 0x119A9},
    {0x119D8, 0x119D9}, {0x119E5, 0x119FF}, {0x11A48, 0x11A4F},
    {0x11AA3, 0x11AAF}, {0x11AF9, 0x11BFF}, {0x11C09, 0x11C09},
    {0x11C37, 0x11C37}, {0x11C46, 0x11C4F}, {0x11C6D, 0x11C6F},
    {0x11C90, 0x11C91}, {0x11CA8, 0x11CA8}, {0x11CB7, 0x11CFF},
    {0x11D07, 0x11D07}, {0x11D0A, 0x11D0A}, {0x11D37, 0x11D39},
    {0x11D3B, 0x11D3B}, {0x11D3E, 0x11D3E}, {0x11D48, 0x11D4F},
    {0x11D5A, 0x11D5F}, {0x11D66, 0x11D66}, {0x11D69, 0x11D69},
    {0x11D8F, 0x11D8F}, {0x11D92, 0x11D92}, {0x11D99, 0x11D9F},
    {0x11DAA, 0x11EDF}, {0x11EF9, 0x11FAF}, {0x11FB1, 0x11FBF},
    {0x11FF2, 0x11FFE}, {0x1239A, 0x123FF}, {0x1246F, 0x1246F},
    {0x12475, 0x1247F}, {0x12544, 0x12F8F}, {0x12FF3, 0x12FFF},
    {0x1342F, 0x1342F}, {0x13439, 0x143FF}, {0x14647, 0x167FF},
    {0x16A39, 0x16A3F}, {0x16A5F, 0x16A5F}, {0x16A6A, 0x16A6D},
    {0x16ABF, 0x16ABF}, {0x16ACA, 0x16ACF}, {0x16AEE, 0x16AEF},
    {0x16AF6, 0x16AFF}, {0x16B46, 0x16B4F}, {0x16B5A, 0x16B5A},
    {0x16B62, 0x16B62}, {0x16B78, 0x16B7C}, {0x16B90, 0x16E3F},
    {0x16E9B, 0x16EFF}, {0x16F4B, 0x16F4E}, {0x16F88, 0x16F8E},
    {0x16FA0, 0x1BBFF}, {0x1BC6B, 0x1BC6F}, {0x1BC7D, 0x1BC7F},
    {0x1BC89, 0x1BC8F}, {0x1BC9A, 0x1BC9B}, {0x1BCA4, 0x1CEFF},
    {0x1CF2E, 0x1CF2F}, {0x1CF47, 0x1CF4F}, {0x1CFC4, 0x1CFFF},
    {0x1D0F6, 0x1D0FF}, {0x1D127, 0x1D128}, {0x1D1EB, 0x1D1FF},
    {0x1D246, 0x1D2DF}, {0x1D2F4, 0x1D2FF}, {0x1D357, 0x1D35F},
    {0x1D379, 0x1D3FF}, {0x1D455, 0x1D455}, {0x1D49D, 0x1D49D},
    {0x1D4A0, 0x1D4A1}, {0x1D4A3, 0x1D4A4}, {0x1D4A7, 0x1D4A8},
    {0x1D4AD, 0x1D4AD}, {0x1D4BA, 0x1D4BA}, {0x1D4BC, 0x1D4BC},
    {0x1D4C4, 0x1D4C4}, {0x1D506, 0x1D506}, {0x1D50B, 0x1D50C},
    {0x1D515, 0x1D515}, {0x1D51D, 0x1D51D}, {0x1D53A, 0x1D53A},
    {0x1D53F, 0x1D53F}, {0x1D545, 0x1D545}, {0x1D547, 0x1D549},
    {0x1D551, 0x1D551}, {0x1D6A6, 0x1D6A7}, {0x1D7CC, 0x1D7CD},
    {0x1DA8C, 0x1DA9A}, {0x1DAA0, 0x1DAA0}, {0x1DAB0, 0x1DEFF},
    {0x1DF1F, 0x1DFFF}, {0x1E007, 0x1E007}, {0x1E019, 0x1E01A},
    {0x1E022, 0x1E022}, {0x1E025, 0x1E025}, {0x1E02B, 0x1E0FF},
    {0x1E12D, 0x1E12F}, {0x1E13E, 0x1E13F}, {0x1E14A, 0x1E14D},
    {0x1E150, 0x1E28F}, {0x1E2AF, 0x1E2BF}, {0x1E2FA, 0x1E2FE},
    {0x1E300, 0x1E7DF}, {0x1E7E7, 0x1E7E7}, {0x1E7EC, 0x1E7EC},
    {0x1E7EF, 0x1E7EF}, {0x1E7FF, 0x1E7FF}, {0x1E8C5, 0x1E8C6},
    {0x1E8D7, 0x1E8FF}, {0x1E94C, 0x1E94F}, {0x1E95A, 0x1E95D},
    {0x1E960, 0x1EC70}, {0x1ECB5, 0x1ED00}, {0x1ED3E, 0x1EDFF},
    {0x1EE04, 0x1EE04}, {0x1EE20, 0x1EE20}, {0x1EE23, 0x1EE23},
    {0x1EE25, 0x1EE26}, {0x1EE28, 0x1EE28}, {0x1EE33, 0x1EE33},
    {0x1EE38, 0x1EE38}, {0x1EE3A, 0x1EE3A}, {0x1EE3C, 0x1EE41},
    {0x1EE43, 0x1EE46}, {0x1EE48, 0x1EE48}, {0x1EE4A, 0x1EE4A},
    {0x1EE4C, 0x1EE4C}, {0x1EE50, 0x1EE50}, {0x1EE53, 0x1EE53},
    {0x1EE55, 0x1EE56}, {0x1EE58, 0x1EE58}, {0x1EE5A, 0x1EE5A},
    {0x1EE5C, 0x1EE5C}, {0x1EE5E, 0x1EE5E}, {0x1EE60, 0x1EE60},
    {0x1EE63, 0x1EE63}, {0x1EE65, 0x1EE66}, {0x1EE6B, 0x1EE6B},
    {0x1EE73, 0x1EE73}, {0x1EE78, 0x1EE78}, {0x1EE7D, 0x1EE7D},
    {0x1EE7F, 0x1EE7F}, {0x1EE8A, 0x1EE8A}, {0x1EE9C, 0x1EEA0},
    {0x1EEA4, 0x1EEA4}, {0x1EEAA, 0x1EEAA}, {0x1EEBC, 0x1EEEF},
    {0x1EEF2, 0x1EFFF}, {0x1F004, 0x1F004}, {0x1F02C, 0x1F02F},
    {0x1F094, 0x1F09F}, {0x1F0AF, 0x1F0B0}, {0x1F0C0, 0x1F0C0},
    {0x1F0CF, 0x1F0D0}, {0x1F0F6, 0x1F0FF}, {0x1F18E, 0x1F18E},
    {0x1F191, 0x1F19A}, {0x1F1AE, 0x1F1E5}, {0x1F200, 0x1F320},
    {0x1F32D, 0x1F335}, {0x1F337, 0x1F37C}, {0x1F37E, 0x1F393},
    {0x1F3A0, 0x1F3CA}, {0x1F3CF, 0x1F3D3}, {0x1F3E0, 0x1F3F0},
    {0x1F3F4, 0x1F3F4}, {0x1F3F8, 0x1F43E}, {0x1F440, 0x1F440},
    {0x1F442, 0x1F4FC}, {0x1F4FF, 0x1F53D}, {0x1F54B, 0x1F54E},
    {0x1F550, 0x1F567}, {0x1F57A, 0x1F57A}, {0x1F595, 0x1F596},
    {0x1F5A4, 0x1F5A4}, {0x1F5FB, 0x1F64F}, {0x1F680, 0x1F6C5},
    {0x1F6CC, 0x1F6CC}, {0x1F6D0, 0x1F6D2}, {0x1F6D5, 0x1F6DF},
    {0x1F6EB, 0x1F6EF}, {0x1F6F4, 0x1F6FF}, {0x1F774, 0x1F77F},
    {0x1F7D9, 0x1F7FF}, {0x1F80C, 0x1F80F}, {0x1F848, 0x1F84F},
    {0x1F85A, 0x1F85F}, {0x1F888, 0x1F88F}, {0x1F8AE, 0x1F8AF},
    {0x1F8B2, 0x1F8FF}, {0x1F90C, 0x1F93A}, {0x1F93C, 0x1F945},
    {0x1F947, 0x1F9FF}, {0x1FA54, 0x1FA5F}, {0x1FA6E, 0x1FAFF},
    {0x1FB93, 0x1FB93}, {0x1FBCB, 0x1FBEF}, {0x1FBFA, 0xE0000},
    {0xE0002, 0xE001F}, {0xE0080, 0xE00FF}, {0xE01F0, 0xEFFFF},
    {0xFFFFE, 0xFFFFF}, {0x10FFFE, 0x10FFFF},
};

static int is_wide(uint32_t cp)
{
    size_t lo = 0, hi = sizeof wide_ranges / sizeof wide_ranges[0];
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cp > wide_ranges[mid].hi)
            lo = mid + 1;
        else if (cp < wide_ranges[mid].lo)
            hi = mid;
        else
            return 1;
    }
    return 0;
}

/* The code point at s[*i] (advancing *i). A byte that does not start a
 * valid UTF-8 sequence counts as one code point U+FFFD. */
static uint32_t utf8_next(const char *s, size_t *i)
{
    const unsigned char *u = (const unsigned char *)s + *i;
    int n = u[0] < 0x80 ? 0 : u[0] >= 0xF0 && u[0] < 0xF5 ? 3
            : u[0] >= 0xE0 ? 2 : u[0] >= 0xC2 && u[0] < 0xE0 ? 1 : -1;
    if (n < 0) {
        (*i)++;
        return u[0] < 0x80 ? u[0] : 0xFFFD;
    }
    uint32_t cp = n == 0 ? u[0] : u[0] & (0x3Fu >> n);
    for (int k = 1; k <= n; k++) {
        if ((u[k] & 0xC0) != 0x80) {
            (*i)++;
            return 0xFFFD;
        }
        cp = cp << 6 | (u[k] & 0x3Fu);
    }
    *i += (size_t)n + 1;
    return cp;
}

/* Display width: 2 per W/F code point, 1 for every other. */
static size_t display_width(const char *s)
{
    size_t w = 0, i = 0;
    while (s[i])
        w += is_wide(utf8_next(s, &i)) ? 2 : 1;
    return w;
}

/* Python's str.isspace() for the code points str.strip() removes. */
static int is_py_space(uint32_t cp)
{
    return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20) ||
           cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 ||
           cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

/* The byte range [*b, *e) of s without Python whitespace at either end. */
static void py_strip(const char *s, size_t *b, size_t *e)
{
    size_t i = 0, start = 0, end = 0;
    int seen = 0;
    while (s[i]) {
        size_t at = i;
        uint32_t cp = utf8_next(s, &i);
        if (is_py_space(cp))
            continue;
        if (!seen)
            start = at;
        seen = 1;
        end = i;
    }
    *b = seen ? start : 0;
    *e = seen ? end : 0;
}

/* ---- Python-like numbers --------------------------------------------- */

/* Is m * 10^q read back as x? */
static int reads_back(uint64_t m, int q, double x)
{
    char t[48];
    snprintf(t, sizeof t, "%" PRIu64 "e%d", m, q);
    return strtod(t, NULL) == x;
}

/* The k-digit decimal nearest to x > 0 (printf rounds correctly), as
 * m * 10^q. */
static void nearest_digits(double x, int k, uint64_t *m, int *q)
{
    char t[48];
    snprintf(t, sizeof t, "%.*e", k - 1, x);
    uint64_t v = 0;
    const char *p = t;
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9')
            v = v * 10 + (uint64_t)(*p - '0');
    long e = p[0] == 'e' ? strtol(p + 1, NULL, 10) : 0;
    *m = v;
    *q = (int)e - (k - 1);
}

/* Shortest decimal that reads back as x > 0 (finite), ties to the nearest,
 * as CPython's repr: x == m * 10^q with m free of trailing zeros. The
 * nearest k-digit decimal may miss at a power of two, where its neighbour
 * on x's other side can still read back. */
static void shortest_decimal(double x, uint64_t *m, int *q)
{
    for (int k = 1; k <= 17; k++) {
        uint64_t d;
        int e;
        nearest_digits(x, k, &d, &e);
        if (!reads_back(d, e, x)) {
            char t[48];
            snprintf(t, sizeof t, "%" PRIu64 "e%d", d, e);
            d = strtod(t, NULL) > x ? d - 1 : d + 1;
            if (k == 17 || !reads_back(d, e, x))
                continue;
        }
        while (d && d % 10 == 0) {
            d /= 10;
            e++;
        }
        *m = d;
        *q = e;
        return;
    }
    nearest_digits(x, 17, m, q); /* not reached for finite x */
}

/* Python repr(float(x)) into out (REPR_SIZE bytes fit any double). */
static void py_repr_double(double x, char *out, size_t n)
{
    if (isnan(x) || isinf(x)) {
        snprintf(out, n, "%s", isnan(x) ? "nan" : x < 0 ? "-inf" : "inf");
        return;
    }
    const char *sign = signbit(x) ? "-" : "";
    if (x == 0) {
        snprintf(out, n, "%s0.0", sign);
        return;
    }
    uint64_t m;
    int q;
    shortest_decimal(fabs(x), &m, &q);
    char ds[24];
    int nd = snprintf(ds, sizeof ds, "%" PRIu64, m);
    int e10 = q + nd - 1; /* exponent of the first digit */
    if (e10 < -4 || e10 >= 16)
        snprintf(out, n, "%s%c%s%se%c%02d", sign, ds[0], nd > 1 ? "." : "",
                 ds + 1, e10 < 0 ? '-' : '+', abs(e10));
    else if (e10 < 0)
        snprintf(out, n, "%s0.%.*s%s", sign, -e10 - 1, "0000", ds);
    else if (nd <= e10 + 1)
        snprintf(out, n, "%s%s%.*s.0", sign, ds, e10 + 1 - nd,
                 "0000000000000000");
    else
        snprintf(out, n, "%s%.*s.%s", sign, e10 + 1, ds, ds + e10 + 1);
}

/* Python "%.{prec}f" % x (with "%+..." when plus), appended to b. */
static void sb_fixed(struct sbuf *b, double x, int prec, int plus)
{
    if (isnan(x) || isinf(x)) { /* Python drops a NaN's sign */
        if (plus && (isnan(x) || x > 0))
            sb_putc(b, '+');
        sb_puts(b, isnan(x) ? "nan" : x < 0 ? "-inf" : "inf");
        return;
    }
    char t[512]; /* 309 integer digits + MAX_PLACES + sign and point */
    snprintf(t, sizeof t, plus ? "%+.*f" : "%.*f", prec, x);
    int radix_done = 0;
    for (const char *p = t; *p;) {
        if ((*p >= '0' && *p <= '9') || *p == '-' || *p == '+') {
            sb_putc(b, *p++);
            continue;
        }
        if (!radix_done)
            sb_putc(b, '.');
        radix_done = 1;
        while (*p && !(*p >= '0' && *p <= '9'))
            p++;
    }
}

/* Is x a finite whole number printable as a Python int? */
static int is_int_like(double x)
{
    return isfinite(x) && x == floor(x) && fabs(x) < 1e18;
}

/* str() of a JSON number: whole numbers as the int they most likely were,
 * others as repr(float). */
static void sb_py_num(struct sbuf *b, double x)
{
    char t[REPR_SIZE];
    if (is_int_like(x))
        snprintf(t, sizeof t, "%.0f", x == 0 ? 0.0 : x);
    else
        py_repr_double(x, t, sizeof t);
    sb_puts(b, t);
}

/* ---- Python str() / repr() of JSON values ---------------------------- */

static void sb_py_repr(struct sbuf *b, const cJSON *v, int depth);

/* repr(str): single quotes unless the text has ' and no ". */
static void sb_py_repr_str(struct sbuf *b, const char *s)
{
    char q = strchr(s, '\'') && !strchr(s, '"') ? '"' : '\'';
    sb_putc(b, q);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char t[8];
        if (*p == '\\' || *p == (unsigned char)q) {
            sb_putc(b, '\\');
            sb_putc(b, (char)*p);
        } else if (*p == '\n' || *p == '\r' || *p == '\t') {
            sb_putc(b, '\\');
            sb_putc(b, *p == '\n' ? 'n' : *p == '\r' ? 'r' : 't');
        } else if (*p < 0x20 || *p == 0x7F) {
            snprintf(t, sizeof t, "\\x%02x", *p);
            sb_puts(b, t);
        } else {
            sb_putc(b, (char)*p);
        }
    }
    sb_putc(b, q);
}

static void sb_py_repr_container(struct sbuf *b, const cJSON *v, int depth)
{
    int obj = cJSON_IsObject(v);
    sb_putc(b, obj ? '{' : '[');
    for (const cJSON *it = v->child; it; it = it->next) {
        if (it != v->child)
            sb_puts(b, ", ");
        if (obj) {
            sb_py_repr_str(b, it->string ? it->string : "");
            sb_puts(b, ": ");
        }
        sb_py_repr(b, it, depth + 1);
    }
    sb_putc(b, obj ? '}' : ']');
}

/* repr() of the Python value json.load gives for v. */
static void sb_py_repr(struct sbuf *b, const cJSON *v, int depth)
{
    if (cJSON_IsString(v))
        sb_py_repr_str(b, v->valuestring);
    else if (cJSON_IsNumber(v))
        sb_py_num(b, v->valuedouble);
    else if (cJSON_IsBool(v))
        sb_puts(b, cJSON_IsTrue(v) ? "True" : "False");
    else if (cJSON_IsArray(v) || cJSON_IsObject(v))
        depth < MAX_DEPTH ? sb_py_repr_container(b, v, depth)
                          : sb_puts(b, "...");
    else
        sb_puts(b, "None");
}

/* str() of the Python value of v. */
static void sb_py_str(struct sbuf *b, const cJSON *v)
{
    if (cJSON_IsString(v))
        sb_puts(b, v->valuestring);
    else
        sb_py_repr(b, v, 0);
}

static int is_truthy(const cJSON *v)
{
    if (cJSON_IsString(v))
        return v->valuestring[0] != '\0';
    if (cJSON_IsNumber(v))
        return v->valuedouble != 0;
    if (cJSON_IsArray(v) || cJSON_IsObject(v))
        return v->child != NULL;
    return cJSON_IsTrue(v);
}

/* ---- the table handed to the writer ----------------------------------- */

/* A Python cell value: None, bool, a number (int or float) or str. */
enum pyk { PK_NONE, PK_BOOL, PK_NUM, PK_STR };

struct cell {
    enum pyk k;
    int b;
    double num;
    char *s; /* PK_STR, owned */
};

struct table {
    size_t ncols, nrows, cap;
    struct cell *cells;
    int oom;
};

static void tbl_free(struct table *t)
{
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i].s);
    free(t->cells);
    t->cells = NULL;
    t->nrows = t->cap = 0;
}

/* A new row of None cells, or NULL (t->oom set). */
static struct cell *tbl_row(struct table *t)
{
    if (t->oom)
        return NULL;
    if (t->nrows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        struct cell *c = NULL;
        if (cap < SIZE_MAX / sizeof *c / t->ncols)
            c = realloc(t->cells, cap * t->ncols * sizeof *c);
        if (!c) {
            t->oom = 1;
            return NULL;
        }
        t->cells = c;
        t->cap = cap;
    }
    struct cell *row = t->cells + t->nrows * t->ncols;
    for (size_t j = 0; j < t->ncols; j++)
        row[j] = (struct cell){PK_NONE, 0, 0, NULL};
    t->nrows++;
    return row;
}

static void cell_str(struct table *t, struct cell *c, const char *s)
{
    c->k = PK_STR;
    c->s = dup_str(s);
    if (!c->s)
        t->oom = 1;
}

static void cell_take(struct table *t, struct cell *c, struct sbuf *b)
{
    c->k = PK_STR;
    c->s = sb_take(b);
    if (!c->s)
        t->oom = 1;
}

/* The str "%.4f" % x. */
static void cell_f4(struct table *t, struct cell *c, double x)
{
    struct sbuf b = {0};
    sb_fixed(&b, x, 4, 0);
    cell_take(t, c, &b);
}

/* The Python value of v as it is (containers as their repr text). */
static void cell_json(struct table *t, struct cell *c, const cJSON *v)
{
    if (cJSON_IsNumber(v)) {
        c->k = PK_NUM;
        c->num = v->valuedouble;
    } else if (cJSON_IsBool(v)) {
        c->k = PK_BOOL;
        c->b = cJSON_IsTrue(v);
    } else if (cJSON_IsString(v)) {
        cell_str(t, c, v->valuestring);
    } else if (cJSON_IsArray(v) || cJSON_IsObject(v)) {
        struct sbuf b = {0};
        sb_py_repr(&b, v, 0);
        cell_take(t, c, &b);
    }
}

/* ---- decimal strings (R1, R4) ----------------------------------------- */

/* value = (-1)^neg * dig * 10^exp; dig has no leading or trailing zeros
 * and is empty (nd == 0) for zero. */
struct dec {
    int neg;
    char *dig;
    size_t nd;
    long exp;
};

/* [0-9]+ with single '_' between digits (Python's grouping), appended to
 * out; returns the digit count. */
static size_t scan_digits(const char *s, size_t *i, size_t e, struct sbuf *out)
{
    size_t n = 0;
    while (*i < e) {
        char c = s[*i];
        if (c >= '0' && c <= '9') {
            sb_putc(out, c);
            n++;
        } else if (!(c == '_' && n > 0 && *i + 1 < e && s[*i + 1] >= '0' &&
                     s[*i + 1] <= '9')) {
            break;
        }
        (*i)++;
    }
    return n;
}

/* The exponent part after 'e' at s[*i]: 0 with *x set, or -1. Huge
 * exponents are clamped (the string then stays text anyway). */
static int scan_exponent(const char *s, size_t *i, size_t e, long *x)
{
    int neg = 0;
    if (*i < e && (s[*i] == '+' || s[*i] == '-'))
        neg = s[(*i)++] == '-';
    struct sbuf d = {0};
    size_t n = scan_digits(s, i, e, &d);
    long v = 0;
    for (size_t k = 0; k < n && d.p; k++)
        v = v < 100000000L ? v * 10 + (d.p[k] - '0') : v;
    free(d.p);
    *x = neg ? -v : v;
    return n ? 0 : -1;
}

/* Strip the leading and trailing zeros of the digits in b into d. */
static void dec_normalize(struct dec *d, struct sbuf *b, long exp)
{
    size_t lo = 0, hi = b->len;
    while (lo < hi && b->p[lo] == '0')
        lo++;
    while (hi > lo && b->p[hi - 1] == '0') {
        hi--;
        exp++;
    }
    d->nd = hi - lo;
    d->exp = d->nd ? exp : 0;
    if (lo)
        memmove(b->p, b->p + lo, d->nd);
    if (b->p)
        b->p[d->nd] = '\0';
    d->dig = b->p;
}

/* Parse s[b..e) as Python's Decimal() would (sign, digits, point,
 * exponent; no NaN/Infinity here): 0, or -1 (d->dig is then NULL). */
static int dec_parse(const char *s, size_t b, size_t e, struct dec *d)
{
    struct sbuf dg = {0};
    size_t i = b, nf = 0, ni;
    long ex = 0;
    d->neg = 0;
    d->dig = NULL;
    if (i < e && (s[i] == '+' || s[i] == '-'))
        d->neg = s[i++] == '-';
    ni = scan_digits(s, &i, e, &dg);
    if (i < e && s[i] == '.') {
        i++;
        nf = scan_digits(s, &i, e, &dg);
    }
    int ok = ni + nf > 0;
    if (ok && i < e && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        ok = scan_exponent(s, &i, e, &ex) == 0;
    }
    if (!ok || i != e || dg.oom) {
        free(dg.p);
        return -1;
    }
    sb_putc(&dg, '\0'); /* make sure there is a buffer */
    dg.len--;
    if (dg.oom) {
        free(dg.p);
        return -1;
    }
    dec_normalize(d, &dg, ex - (long)nf);
    return 0;
}

/* float(value): read back from "<digits>e<exp>". */
static double dec_to_double(const struct dec *d)
{
    if (d->nd == 0)
        return d->neg ? -0.0 : 0.0;
    struct sbuf b = {0};
    char t[32];
    sb_puts(&b, d->dig);
    snprintf(t, sizeof t, "e%ld", d->exp);
    sb_puts(&b, t);
    double x = b.p && !b.oom ? strtod(b.p, NULL) : 0.0;
    free(b.p);
    return d->neg ? -x : x;
}

/* int(Decimal(value)): truncated toward zero; no sign on 0. */
static void sb_dec_int(struct sbuf *b, const struct dec *d)
{
    long ilen = (long)d->nd + d->exp; /* digits before the point */
    if (d->nd == 0 || ilen <= 0) {
        sb_putc(b, '0');
        return;
    }
    if (d->neg)
        sb_putc(b, '-');
    size_t keep = (size_t)ilen < d->nd ? (size_t)ilen : d->nd;
    sb_putn(b, d->dig, keep);
    if (d->exp > 0)
        sb_repeat(b, '0', (size_t)d->exp);
}

/* Add one to the decimal digit string in b (carrying). */
static void digits_increment(struct sbuf *b)
{
    size_t i = b->len;
    while (i > 0 && b->p[i - 1] == '9')
        b->p[--i] = '0';
    if (i > 0) {
        b->p[i - 1]++;
        return;
    }
    sb_putc(b, '0');
    if (!b->oom) {
        memmove(b->p + 1, b->p, b->len - 1);
        b->p[0] = '1';
    }
}

/* The digits of round_half_even(|value| * 10^places) into r. */
static void dec_scaled(const struct dec *d, int places, struct sbuf *r)
{
    long shift = d->exp + places;
    if (shift >= 0) {
        sb_putn(r, d->dig, d->nd);
        sb_repeat(r, '0', (size_t)shift);
        return;
    }
    long keep = (long)d->nd + shift; /* digits left of the cut */
    if (keep < 0)
        return;
    sb_putn(r, d->dig, (size_t)keep);
    char first = d->dig[keep];
    int odd = keep > 0 && ((d->dig[keep - 1] - '0') & 1);
    int more = (size_t)keep + 1 < d->nd;
    if (first > '5' || (first == '5' && (more || odd)))
        digits_increment(r);
}

/* "{:.{places}f}" of the exact decimal (ROUND_HALF_EVEN, sign kept). */
static void sb_dec_fixed(struct sbuf *b, const struct dec *d, int places)
{
    struct sbuf r = {0};
    if (d->nd)
        dec_scaled(d, places, &r);
    size_t lead = 0;
    while (lead + 1 < r.len && r.p[lead] == '0')
        lead++;
    size_t n = r.len - lead;
    const char *p = r.p ? r.p + lead : "";
    if (d->neg)
        sb_putc(b, '-');
    if (n <= (size_t)places) {
        sb_putc(b, '0');
        if (places > 0) {
            sb_putc(b, '.');
            sb_repeat(b, '0', (size_t)places - n);
            sb_putn(b, p, n);
        }
    } else {
        sb_putn(b, p, n - (size_t)places);
        if (places > 0) {
            sb_putc(b, '.');
            sb_putn(b, p + n - (size_t)places, (size_t)places);
        }
    }
    if (r.oom)
        b->oom = 1;
    free(r.p);
}

/* ---- cell classes (R1, R2) -------------------------------------------- */

enum cls { CL_NULL, CL_BOOL, CL_INT, CL_REAL, CL_NAN, CL_INF, CL_STR, CL_N };

#define BIT(c) (1u << (c))

/* Tabs become two spaces; \r\n, \n and \r one space. */
static char *replace_breaks(const char *s)
{
    struct sbuf b = {0};
    for (; *s; s++) {
        if (*s == '\t')
            sb_puts(&b, "  ");
        else if (*s == '\r' || *s == '\n') {
            sb_putc(&b, ' ');
            if (s[0] == '\r' && s[1] == '\n')
                s++;
        } else
            sb_putc(&b, *s);
    }
    return sb_take(&b);
}

static int is_blank(const char *s)
{
    size_t b, e;
    py_strip(s, &b, &e);
    return b == e;
}

/* typepy's scientific-notation pattern on the whole string:
 * ^-?\d+(\.\d*)?[eE][+-]?\d{lo,hi}$ */
static int match_sci(const char *s, size_t lo, size_t hi)
{
    size_t i = s[0] == '-', n = 0;
    while (s[i] >= '0' && s[i] <= '9')
        i++, n++;
    if (n == 0)
        return 0;
    if (s[i] == '.')
        for (i++; s[i] >= '0' && s[i] <= '9'; i++)
            ;
    if (s[i] != 'e' && s[i] != 'E')
        return 0;
    i++;
    if (s[i] == '+' || s[i] == '-')
        i++;
    for (n = 0; s[i] >= '0' && s[i] <= '9'; i++)
        n++;
    return s[i] == '\0' && n >= lo && n <= hi;
}

/* The class of a string that Decimal() accepts (typepy's integer and
 * real-number checks at strict level 1). */
static enum cls dec_class(const char *s, const struct dec *d)
{
    double f = dec_to_double(d);
    int whole = isfinite(f) && f == floor(f);
    if (strpbrk(s, "eE")) {
        if (match_sci(s, 0, 2) && isfinite(f) && !whole)
            return CL_REAL;
        if (match_sci(s, 3, SIZE_MAX))
            return CL_STR;
    } else if (!isfinite(f)) {
        return CL_STR;
    } else if (!whole) {
        return CL_REAL;
    }
    return (long)d->nd + d->exp > MAX_INT_DIGITS ? CL_STR : CL_INT;
}

/* Case-insensitive s[0..n) == word, after an optional sign when signed. */
static int word_is(const char *s, size_t n, const char *word, int signed_ok)
{
    if (signed_ok && n > 0 && (s[0] == '+' || s[0] == '-'))
        s++, n--;
    size_t w = strlen(word);
    if (n != w)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] + 32) : s[i];
        if (c != word[i])
            return 0;
    }
    return 1;
}

/* R1, natural class of a (break-replaced) string. */
static enum cls str_class(const char *s)
{
    size_t b, e;
    py_strip(s, &b, &e);
    if (b == e)
        return CL_NULL;
    struct dec d;
    if (dec_parse(s, b, e, &d) == 0) {
        enum cls c = dec_class(s, &d);
        free(d.dig);
        if (c != CL_STR)
            return c;
    }
    if (word_is(s + b, e - b, "inf", 1) || word_is(s + b, e - b, "infinity", 1))
        return CL_INF;
    if (word_is(s + b, e - b, "nan", 1))
        return CL_NAN;
    if (word_is(s, strlen(s), "true", 0) || word_is(s, strlen(s), "false", 0))
        return CL_BOOL;
    return CL_STR;
}

/* R1: the class of one cell, given the column's hint so far. */
static enum cls cell_class(const struct cell *c, const char *src,
                           enum cls hint)
{
    switch (c->k) {
    case PK_NONE:
        return CL_NULL;
    case PK_BOOL:
        return CL_BOOL;
    case PK_NUM:
        return isnan(c->num)   ? CL_NAN
               : isinf(c->num) ? CL_INF
               : c->num == floor(c->num) ? CL_INT
                                         : CL_REAL;
    case PK_STR:
        break;
    }
    if (hint == CL_STR && !is_blank(src))
        return CL_STR;
    return str_class(src);
}

/* The class counted most often so far; ties go to the one seen first. */
static enum cls hint_of(const size_t *count, const size_t *first)
{
    int best = -1;
    for (int c = 0; c < CL_N; c++) {
        if (!count[c])
            continue;
        if (best < 0 || count[c] > count[best] ||
            (count[c] == count[best] && first[c] < first[best]))
            best = c;
    }
    return best < 0 ? CL_N : (enum cls)best;
}

static int bits_set(unsigned m)
{
    int n = 0;
    for (; m; m &= m - 1)
        n++;
    return n;
}

/* R2: the column type from the set of classes, or -1 for no rows. */
static int column_type(unsigned set)
{
    static const enum cls order[] = {CL_STR, CL_REAL, CL_INT, CL_BOOL,
                                     CL_INF, CL_NAN, CL_NULL};
    unsigned num = BIT(CL_INT) | BIT(CL_REAL) | BIT(CL_NAN) | BIT(CL_INF);
    unsigned odd = BIT(CL_REAL) | BIT(CL_NAN) | BIT(CL_INF) | BIT(CL_NULL);
    if (!set)
        return -1;
    if (!(set & ~(num | BIT(CL_NULL))) &&
        (bits_set(set & odd) >= 2 || bits_set(set & num) >= 2))
        return CL_REAL;
    if ((set & BIT(CL_BOOL)) && (set & ~BIT(CL_BOOL)))
        return CL_STR;
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
        if (set & BIT(order[i]))
            return (int)order[i];
    return CL_STR;
}

/* ---- cell text (R3, R4) ------------------------------------------------ */

/* float(value) of a cell classed INTEGER or REAL. */
static double cell_float(const struct cell *c, const char *src)
{
    if (c->k == PK_NUM)
        return c->num;
    size_t b, e;
    struct dec d;
    py_strip(src, &b, &e);
    if (dec_parse(src, b, e, &d))
        return 0;
    double x = dec_to_double(&d);
    free(d.dig);
    return x;
}

/* R3: digits after the '.' of repr(abs(x)); "1e-05" counts 5. */
static int repr_places(double x)
{
    char r[REPR_SIZE];
    py_repr_double(fabs(x), r, sizeof r);
    const char *dot = strchr(r, '.'), *em = strstr(r, "e-");
    long n = 0;
    if (dot)
        n = (long)strlen(dot + 1);
    else if (em)
        n = strtol(em + 2, NULL, 10);
    return n > MAX_PLACES ? MAX_PLACES : (int)n;
}

/* int(value) of an INTEGER cell. */
static void sb_cell_int(struct sbuf *b, const struct cell *c, const char *src)
{
    if (c->k == PK_NUM) {
        char t[400];
        snprintf(t, sizeof t, "%.0f", c->num == 0 ? 0.0 : c->num);
        sb_puts(b, t);
        return;
    }
    size_t lo, hi;
    struct dec d;
    py_strip(src, &lo, &hi);
    if (dec_parse(src, lo, hi, &d)) {
        sb_putc(b, '0');
        return;
    }
    sb_dec_int(b, &d);
    free(d.dig);
}

/* A REAL cell with `places` decimals. */
static void sb_cell_real(struct sbuf *b, const struct cell *c, const char *src,
                         int places)
{
    if (c->k == PK_NUM) {
        sb_fixed(b, c->num, places, 0);
        return;
    }
    size_t lo, hi;
    struct dec d;
    py_strip(src, &lo, &hi);
    if (dec_parse(src, lo, hi, &d)) {
        sb_putc(b, '0');
        return;
    }
    sb_dec_fixed(b, &d, places);
    free(d.dig);
}

/* R4: the text of one cell. */
static char *cell_text(const struct cell *c, const char *src, enum cls cl,
                       int coltype, int places)
{
    struct sbuf b = {0};
    switch (cl) {
    case CL_STR:
        sb_puts(&b, src ? src : "");
        break;
    case CL_BOOL:
        sb_puts(&b, c->k == PK_BOOL ? (c->b ? "True" : "False")
                    : word_is(src, strlen(src), "true", 0) ? "True"
                                                            : "False");
        break;
    case CL_NAN:
        sb_puts(&b, "NaN");
        break;
    case CL_INF:
        sb_puts(&b, "Infinity");
        break;
    case CL_INT:
        sb_cell_int(&b, c, src);
        if (coltype == CL_REAL && places > 0) {
            sb_putc(&b, '.');
            sb_repeat(&b, '0', (size_t)places);
        }
        break;
    case CL_REAL:
        sb_cell_real(&b, c, src, places < 0 ? 0 : places);
        break;
    default: /* CL_NULL */
        break;
    }
    return sb_take(&b);
}

/* ---- the writer (R5-R9) ------------------------------------------------ */

/* One column laid out: its cells' texts and alignment, width, type. */
struct column {
    char **text;          /* per row */
    unsigned char *right; /* per row */
    size_t width;
    int right_col; /* separator ends in ':' */
};

/* Classify column j top to bottom (R1): cls[i] and the set of classes. */
static unsigned classify_column(const struct table *t, size_t j, char **src,
                                enum cls *cls)
{
    size_t count[CL_N] = {0}, first[CL_N] = {0};
    unsigned set = 0;
    for (size_t i = 0; i < t->nrows; i++) {
        const struct cell *c = &t->cells[i * t->ncols + j];
        cls[i] = cell_class(c, src[i], hint_of(count, first));
        if (!count[cls[i]]++)
            first[cls[i]] = i;
        set |= BIT(cls[i]);
    }
    return set;
}

/* R3: the column's decimal places, -1 when no cell is INTEGER or REAL. */
static int column_places(const struct table *t, size_t j, char **src,
                         const enum cls *cls)
{
    int n = -1;
    for (size_t i = 0; i < t->nrows; i++) {
        int p = -1;
        if (cls[i] == CL_INT)
            p = 0;
        else if (cls[i] == CL_REAL)
            p = repr_places(cell_float(&t->cells[i * t->ncols + j], src[i]));
        if (p > n)
            n = p;
    }
    return n;
}

/* Texts, alignment and width of column j (R1-R6). 0, or -1 out of
 * memory. */
static int layout_column(const struct table *t, size_t j, const char *hdr,
                         struct column *col)
{
    size_t n = t->nrows;
    char **src = calloc(n ? n : 1, sizeof *src);
    enum cls *cls = calloc(n ? n : 1, sizeof *cls);
    int rc = src && cls ? 0 : -1;
    for (size_t i = 0; i < n && !rc; i++) {
        const struct cell *c = &t->cells[i * t->ncols + j];
        if (c->k == PK_STR && !(src[i] = replace_breaks(c->s)))
            rc = -1;
    }
    if (!rc) {
        int type = column_type(classify_column(t, j, src, cls));
        int places = column_places(t, j, src, cls);
        col->right_col = type == CL_INT || type == CL_REAL;
        col->width = display_width(hdr);
        col->width = col->width < 3 ? 3 : col->width;
        for (size_t i = 0; i < n && !rc; i++) {
            const struct cell *c = &t->cells[i * t->ncols + j];
            col->text[i] = cell_text(c, src[i], cls[i], type, places);
            col->right[i] = col->right_col ||
                            (type == CL_STR &&
                             (cls[i] == CL_INT || cls[i] == CL_REAL));
            if (!col->text[i])
                rc = -1;
            else if (display_width(col->text[i]) > col->width)
                col->width = display_width(col->text[i]);
        }
    }
    for (size_t i = 0; src && i < n; i++)
        free(src[i]);
    free(src);
    free(cls);
    return rc;
}

enum align { AL_LEFT, AL_RIGHT, AL_CENTRE };

/* R7, R8: text padded to width display columns, then '|' escaped. */
static void put_cell(struct sbuf *b, const char *text, size_t width,
                     enum align al)
{
    size_t dw = display_width(text);
    size_t pad = width > dw ? width - dw : 0;
    size_t left = al == AL_RIGHT ? pad : al == AL_CENTRE ? pad / 2 : 0;
    sb_repeat(b, ' ', left);
    for (const char *p = text; *p; p++) {
        if (*p == '|')
            sb_putc(b, '\\');
        sb_putc(b, *p);
    }
    sb_repeat(b, ' ', pad - left);
}

/* R9: header line, separator line, then one line per row. */
static void write_lines(struct sbuf *out, const struct table *t,
                        const char *const *hdr, const unsigned char *show,
                        const struct column *cols)
{
    for (size_t j = 0; j < t->ncols; j++)
        if (show[j]) {
            sb_putc(out, '|');
            put_cell(out, hdr[j], cols[j].width, AL_CENTRE);
        }
    sb_puts(out, "|\n");
    for (size_t j = 0; j < t->ncols; j++)
        if (show[j]) {
            sb_putc(out, '|');
            sb_repeat(out, '-', cols[j].width - (cols[j].right_col ? 1 : 0));
            if (cols[j].right_col)
                sb_putc(out, ':');
        }
    sb_puts(out, "|\n");
    for (size_t i = 0; i < t->nrows; i++) {
        for (size_t j = 0; j < t->ncols; j++)
            if (show[j]) {
                sb_putc(out, '|');
                put_cell(out, cols[j].text[i], cols[j].width,
                         cols[j].right[i] ? AL_RIGHT : AL_LEFT);
            }
        sb_puts(out, "|\n");
    }
}

static void free_columns(struct column *cols, size_t ncols, size_t nrows)
{
    for (size_t j = 0; cols && j < ncols; j++) {
        for (size_t i = 0; cols[j].text && i < nrows; i++)
            free(cols[j].text[i]);
        free(cols[j].text);
        free(cols[j].right);
    }
    free(cols);
}

/* MarkdownTableWriter(headers=hdr, value_matrix=t).dumps(), the columns
 * with show[j] == 0 left out, appended to out. */
static void render(struct sbuf *out, const struct table *t,
                   const char *const *hdr, const unsigned char *show)
{
    size_t n = t->nrows ? t->nrows : 1;
    struct column *cols = calloc(t->ncols, sizeof *cols);
    int rc = cols ? 0 : -1;
    for (size_t j = 0; j < t->ncols && !rc; j++) {
        cols[j].text = calloc(n, sizeof *cols[j].text);
        cols[j].right = calloc(n, 1);
        if (!cols[j].text || !cols[j].right)
            rc = -1;
        else if (show[j])
            rc = layout_column(t, j, hdr[j], &cols[j]);
    }
    if (rc)
        out->oom = 1;
    else
        write_lines(out, t, hdr, show, cols);
    free_columns(cols, t->ncols, t->nrows);
}

/* ---- helpers shared by the row builders -------------------------------- */

static const cJSON *get(const cJSON *obj, const char *key)
{
    if (!cJSON_IsObject(obj) || !key)
        return NULL;
    return cJSON_GetObjectItemCaseSensitive(obj, key);
}

static const char *key_of(const cJSON *it)
{
    return it->string ? it->string : "";
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

struct member {
    const cJSON *it;
    const char *key; /* the key sorted on */
    size_t idx;
};

/* Python's sorted(): code point order (UTF-8 byte order), stable. */
static int member_cmp(const void *a, const void *b)
{
    const struct member *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int in_list(const char *s, const char *const *list)
{
    for (; list && *list; list++)
        if (strcmp(s, *list) == 0)
            return 1;
    return 0;
}

/* The members of obj whose key is not in skip (NULL-terminated), sorted
 * by key when sorted is set: a heap array of *n (NULL when there are
 * none; *oom set when out of memory). */
static struct member *members(const cJSON *obj, const char *const *skip,
                              int sorted, size_t *n, int *oom)
{
    size_t cnt = 0, k = 0;
    *n = 0;
    if (!cJSON_IsObject(obj))
        return NULL;
    for (const cJSON *it = obj->child; it; it = it->next)
        cnt++;
    struct member *m = cnt ? malloc(cnt * sizeof *m) : NULL;
    if (cnt && !m) {
        *oom = 1;
        return NULL;
    }
    for (const cJSON *it = obj->child; it; it = it->next)
        if (!in_list(key_of(it), skip))
            m[k] = (struct member){it, key_of(it), k}, k++;
    if (sorted && k > 1)
        qsort(m, k, sizeof *m, member_cmp);
    *n = k;
    return m;
}

/* The metric of a "metric,filter" key (heap) and *filter: the text after
 * the first comma, or "" (Python's str.partition). */
static char *split_metric(const char *key, const char **filter)
{
    const char *comma = strchr(key, ',');
    size_t n = comma ? (size_t)(comma - key) : strlen(key);
    char *m = malloc(n + 1);
    if (m) {
        memcpy(m, key, n);
        m[n] = '\0';
    }
    *filter = comma ? comma + 1 : "";
    return m;
}

/* dic[m + suffix + "," + f], or NULL. */
static const cJSON *companion(const cJSON *dic, const char *m,
                              const char *suffix, const char *f, int *oom)
{
    struct sbuf b = {0};
    sb_puts(&b, m);
    sb_puts(&b, suffix);
    sb_putc(&b, ',');
    sb_puts(&b, f);
    if (b.oom)
        *oom = 1;
    const cJSON *v = b.oom ? NULL : get(dic, b.p);
    free(b.p);
    return v;
}

/* HIGHER_IS_BETTER_SYMBOLS.get(hib.get(m), ""): 1 and 0 hash as True
 * and False in Python, so they get arrows too. */
static const char *arrow(const cJSON *hib, const char *m)
{
    const cJSON *v = get(hib, m);
    if (cJSON_IsTrue(v) || (cJSON_IsNumber(v) && v->valuedouble == 1))
        return UP_ARROW;
    if (cJSON_IsFalse(v) || (cJSON_IsNumber(v) && v->valuedouble == 0))
        return DOWN_ARROW;
    return "";
}

/* str(n-shot[k]), or " " (a blank cell) when the task or the whole
 * n-shot map is missing. */
static void cell_nshot(struct table *t, struct cell *c, const cJSON *rd,
                       const char *k)
{
    const cJSON *v = get(get(rd, "n-shot"), k);
    struct sbuf b = {0};
    if (v)
        sb_py_str(&b, v);
    else
        sb_putc(&b, ' ');
    cell_take(t, c, &b);
}

/* "%.4f" % se for a number (bool is an int in Python), else na. */
static void cell_se(struct table *t, struct cell *c, const cJSON *v,
                    const char *na)
{
    if (cJSON_IsNumber(v))
        cell_f4(t, c, v->valuedouble);
    else if (cJSON_IsBool(v))
        cell_f4(t, c, cJSON_IsTrue(v) ? 1 : 0);
    else
        cell_str(t, c, na);
}

/* Render t into a heap string (NULL out of memory); frees t. */
static void render_into(struct sbuf *out, struct table *t,
                        const char *const *hdr, const unsigned char *show)
{
    if (t->oom)
        out->oom = 1;
    else
        render(out, t, hdr, show);
    tbl_free(t);
}

/* ---- lmms-eval 0.7 (formats.md 6.1) ------------------------------------ */

#define LMMS_COLS 18
#define LMMS_FIRST_OPTIONAL 8

static const char *const lmms_suffixes[] = {
    "_stderr",           "_stderr_clt",         "_stderr_clustered",
    "_expected_accuracy", "_consensus_accuracy", "_internal_variance",
    "_consistency_rate"};
#define LMMS_NSUFFIX (sizeof lmms_suffixes / sizeof lmms_suffixes[0])

struct lmms_task {
    const char *key;
    const cJSON *dic, *hib, *alias;
};

static int lmms_skipped(const char *m)
{
    if (strncmp(m, "paired_", 7) == 0)
        return 1;
    for (size_t i = 0; i < LMMS_NSUFFIX; i++)
        if (ends_with(m, lmms_suffixes[i]))
            return 1;
    return 0;
}

/* "%.4f" for a float; "" and None become "N/A"; the rest as it is. */
static void lmms_value(struct table *t, struct cell *c, const cJSON *v)
{
    if (cJSON_IsNumber(v))
        cell_f4(t, c, v->valuedouble);
    else if (!v || cJSON_IsNull(v) || cJSON_IsInvalid(v) ||
             (cJSON_IsString(v) && !v->valuestring[0]))
        cell_str(t, c, "N/A");
    else
        cell_json(t, c, v);
}

/* Baseline, Diff, CI and P_Value: task-level, Diff also from the raw
 * value. */
static void lmms_paired(struct table *t, struct cell *c,
                        const struct lmms_task *tk, const cJSON *value)
{
    const cJSON *base = get(tk->dic, "paired_baseline");
    const cJSON *score = get(tk->dic, "paired_baseline_score");
    const cJSON *lo = get(tk->dic, "paired_ci_lower");
    const cJSON *hi = get(tk->dic, "paired_ci_upper");
    const cJSON *p = get(tk->dic, "paired_pvalue");
    struct sbuf b = {0};
    if (is_truthy(base))
        sb_py_str(&b, base);
    else
        sb_puts(&b, "N/A");
    cell_take(t, &c[0], &b);
    if (cJSON_IsNumber(value) && cJSON_IsNumber(score)) {
        sb_fixed(&b, value->valuedouble - score->valuedouble, 1, 1);
        sb_putc(&b, '%');
    } else
        sb_puts(&b, "N/A");
    cell_take(t, &c[1], &b);
    if (cJSON_IsNumber(lo) && cJSON_IsNumber(hi)) {
        sb_putc(&b, '[');
        sb_fixed(&b, lo->valuedouble, 1, 1);
        sb_puts(&b, "%, ");
        sb_fixed(&b, hi->valuedouble, 1, 1);
        sb_puts(&b, "%]");
    } else
        sb_puts(&b, "N/A");
    cell_take(t, &c[2], &b);
    if (cJSON_IsNumber(p)) {
        sb_fixed(&b, p->valuedouble, 4, 0);
        sb_puts(&b, p->valuedouble < 0.05 ? "*" : "");
    } else
        sb_puts(&b, "N/A");
    cell_take(t, &c[3], &b);
}

static int is_empty_container(const cJSON *v)
{
    return (cJSON_IsArray(v) || cJSON_IsObject(v)) && !v->child;
}

/* One row for the metric item (skipped keys add none). */
static void lmms_row(struct table *t, const cJSON *rd,
                     const struct lmms_task *tk, const cJSON *item)
{
    const char *f;
    char *m = split_metric(key_of(item), &f);
    struct cell *r = NULL;
    if (!m)
        t->oom = 1;
    else if (!lmms_skipped(m) && !is_empty_container(item))
        r = tbl_row(t);
    if (r) {
        if (tk->alias)
            cell_json(t, &r[0], tk->alias);
        else
            cell_str(t, &r[0], tk->key);
        cell_str(t, &r[1], f);
        cell_nshot(t, &r[2], rd, tk->key);
        cell_str(t, &r[3], m);
        cell_str(t, &r[4], arrow(tk->hib, m));
        lmms_value(t, &r[5], item);
        cell_str(t, &r[6], PLUS_MINUS);
        for (size_t s = 0; s < LMMS_NSUFFIX; s++)
            cell_se(t, &r[7 + s],
                    companion(tk->dic, m, lmms_suffixes[s], f, &t->oom),
                    "N/A");
        lmms_paired(t, &r[7 + LMMS_NSUFFIX], tk, item);
    }
    free(m);
}

static void lmms_rows(struct table *t, const cJSON *rd, const char *column)
{
    static const char *const skip[] = {"alias", NULL};
    const cJSON *tasks = get(rd, column);
    if (!cJSON_IsObject(tasks))
        return;
    for (const cJSON *task = tasks->child; task; task = task->next) {
        if (!cJSON_IsObject(task))
            continue;
        struct lmms_task tk = {key_of(task), task,
                               get(get(rd, "higher_is_better"), key_of(task)),
                               get(task, "alias")};
        size_t n;
        struct member *ms = members(task, skip, 1, &n, &t->oom);
        for (size_t i = 0; i < n; i++)
            lmms_row(t, rd, &tk, ms[i].it);
        free(ms);
    }
}

/* Columns from Stderr_CLT on are hidden when every row has "N/A" there
 * (or there are no rows). */
static void lmms_hide(const struct table *t, unsigned char *show)
{
    for (size_t j = 0; j < t->ncols; j++) {
        int all_na = j >= LMMS_FIRST_OPTIONAL;
        for (size_t i = 0; i < t->nrows && all_na; i++) {
            const struct cell *c = &t->cells[i * t->ncols + j];
            all_na = c->k == PK_STR && strcmp(c->s, "N/A") == 0;
        }
        show[j] = !all_na;
    }
}

static const char *const tp_first[] = {"total_gen_tokens",
                                       "total_elapsed_time", "avg_latency",
                                       "avg_speed", NULL};
static const char *const tp_units[] = {"tokens", "seconds",
                                       "seconds/request", "tokens/s"};

static void tp_row(struct table *t, const char *key, const cJSON *v,
                   const char *unit)
{
    struct cell *r = tbl_row(t);
    if (!r)
        return;
    cell_str(t, &r[0], key);
    if (cJSON_IsNumber(v) && !is_int_like(v->valuedouble)) {
        cell_f4(t, &r[1], v->valuedouble);
    } else {
        struct sbuf b = {0};
        sb_py_str(&b, v);
        cell_take(t, &r[1], &b);
    }
    cell_str(t, &r[2], unit);
}

/* The "Throughput Summary" table after the results table. */
static void lmms_throughput(struct sbuf *out, const cJSON *rd)
{
    static const char *const hdr[] = {"Metric", "Value", "Unit"};
    static const unsigned char show[] = {1, 1, 1};
    const cJSON *tp = get(rd, "throughput");
    if (!cJSON_IsObject(tp) || !tp->child)
        return;
    struct table t = {.ncols = 3};
    for (size_t i = 0; tp_first[i]; i++) {
        const cJSON *v = get(tp, tp_first[i]);
        if (v)
            tp_row(&t, tp_first[i], v, tp_units[i]);
    }
    size_t n;
    struct member *ms = members(tp, tp_first, 1, &n, &t.oom);
    for (size_t i = 0; i < n; i++)
        tp_row(&t, ms[i].key, ms[i].it, "varies");
    free(ms);
    sb_puts(out, "\n\nThroughput Summary\n\n");
    render_into(out, &t, hdr, show);
}

static char *lmms_table(const cJSON *rd, const char *column, int groups)
{
    const char *hdr[LMMS_COLS] = {
        groups ? "Groups" : "Tasks", "Filter", "n-shot", "Metric", "",
        "Value", "", "Stderr", "Stderr_CLT", "Stderr_Clustered", "EA", "CA",
        "IV", "CR", "Baseline", "Diff", "CI", "P_Value"};
    unsigned char show[LMMS_COLS];
    struct table t = {.ncols = LMMS_COLS};
    struct sbuf out = {0};
    lmms_rows(&t, rd, column);
    lmms_hide(&t, show);
    render_into(&out, &t, hdr, show);
    if (!groups)
        lmms_throughput(&out, rd);
    return sb_take(&out);
}

/* ---- lm-evaluation-harness (formats.md 6.2) ----------------------------- */

#define LMEVAL_COLS 9

/* The order of the tasks: the group_subtasks tree, then the rest. */
struct emitted {
    const cJSON *task;
    size_t depth;
};

struct walk {
    const cJSON *col, *gs;
    const char *path[MAX_DEPTH + 1]; /* the nodes being visited */
    size_t plen;
    unsigned char *done; /* per member of col */
    struct emitted *out;
    size_t n, cap;
    int oom;
};

static void walk_emit(struct walk *w, const char *key, size_t depth)
{
    size_t idx = 0;
    const cJSON *it = w->col->child;
    for (; it && strcmp(key_of(it), key) != 0; it = it->next)
        idx++;
    if (!it || w->oom)
        return;
    if (w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 32;
        struct emitted *p = realloc(w->out, cap * sizeof *p);
        if (!p) {
            w->oom = 1;
            return;
        }
        w->out = p;
        w->cap = cap;
    }
    w->out[w->n++] = (struct emitted){it, depth};
    w->done[idx] = 1;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The strings of a JSON array, sorted (heap; NULL when none). */
static const char **sorted_strings(const cJSON *arr, size_t *n, int *oom)
{
    size_t cnt = 0, k = 0;
    *n = 0;
    for (const cJSON *it = cJSON_IsArray(arr) ? arr->child : NULL; it;
         it = it->next)
        cnt += cJSON_IsString(it) ? 1 : 0;
    const char **v = cnt ? malloc(cnt * sizeof *v) : NULL;
    if (cnt && !v)
        *oom = 1;
    for (const cJSON *it = v ? arr->child : NULL; it; it = it->next)
        if (cJSON_IsString(it))
            v[k++] = it->valuestring;
    if (k > 1)
        qsort(v, k, sizeof *v, cmp_str);
    *n = k;
    return v;
}

/* Emit key if it is in the column, then its children, sorted, one level
 * deeper. A node already on the path (a cycle) is not entered again. */
static void walk_node(struct walk *w, const char *key, size_t depth)
{
    if (depth > MAX_DEPTH)
        return;
    for (size_t i = 0; i < w->plen; i++)
        if (strcmp(w->path[i], key) == 0)
            return;
    walk_emit(w, key, depth);
    size_t n;
    const char **kids = sorted_strings(get(w->gs, key), &n, &w->oom);
    w->path[w->plen++] = key;
    for (size_t i = 0; i < n; i++)
        walk_node(w, kids[i], depth + 1);
    w->plen--;
    free(kids);
}

static int is_child(const cJSON *gs, const char *key)
{
    for (const cJSON *g = gs->child; g; g = g->next)
        for (const cJSON *c = cJSON_IsArray(g) ? g->child : NULL; c;
             c = c->next)
            if (cJSON_IsString(c) && strcmp(c->valuestring, key) == 0)
                return 1;
    return 0;
}

/* Roots of group_subtasks (no one's child) sorted, each walked; then the
 * column's keys not emitted yet, sorted, at depth 0. */
static void walk_all(struct walk *w)
{
    size_t n = 0;
    struct member *roots = NULL;
    if (cJSON_IsObject(w->gs)) {
        roots = members(w->gs, NULL, 1, &n, &w->oom);
        for (size_t i = 0; i < n; i++)
            if (!is_child(w->gs, roots[i].key))
                walk_node(w, roots[i].key, 0);
        free(roots);
    }
    struct member *rest = members(w->col, NULL, 1, &n, &w->oom);
    for (size_t i = 0; i < n; i++)
        if (!w->done[rest[i].idx])
            walk_emit(w, rest[i].key, 0);
    free(rest);
}

/* The task's name: the alias (or key), indented " "*depth + "- " below
 * the top level. */
static void lmeval_name(struct table *t, struct cell *c, const cJSON *task,
                        size_t depth)
{
    const cJSON *alias = get(task, "alias");
    if (depth == 0) {
        if (alias)
            cell_json(t, c, alias);
        else
            cell_str(t, c, key_of(task));
        return;
    }
    struct sbuf b = {0};
    sb_repeat(&b, ' ', depth);
    sb_puts(&b, "- ");
    if (alias)
        sb_py_str(&b, alias);
    else
        sb_puts(&b, key_of(task));
    cell_take(t, c, &b);
}

/* Value, "±" and Stderr of one lm-eval row. */
static void lmeval_value(struct table *t, struct cell *r, const cJSON *task,
                         const char *m, const char *f, const cJSON *v)
{
    const cJSON *se = companion(task, m, "_stderr", f, &t->oom);
    if (cJSON_IsNumber(v))
        cell_f4(t, &r[6], v->valuedouble);
    else
        cell_json(t, &r[6], v);
    cell_str(t, &r[7], se ? PLUS_MINUS : "");
    if (!se)
        cell_str(t, &r[8], "");
    else if (cJSON_IsString(se) && strcmp(se->valuestring, "N/A") == 0)
        cell_str(t, &r[8], "   N/A");
    else
        cell_se(t, &r[8], se, "   N/A");
}

/* The rows of one task; name and version only on its first row. */
static void lmeval_task(struct table *t, const cJSON *rd, const cJSON *task,
                        size_t depth)
{
    static const char *const skip[] = {"alias", "name", "sample_len",
                                       "sample_count", NULL};
    const char *k = key_of(task);
    const cJSON *hib = get(get(rd, "higher_is_better"), k);
    const cJSON *ver = get(get(rd, "versions"), k);
    size_t n, rows = 0;
    struct member *ms = members(task, skip, 1, &n, &t->oom);
    for (size_t i = 0; i < n; i++) {
        const char *f;
        char *m = split_metric(ms[i].key, &f);
        struct cell *r = m && !ends_with(m, "_stderr") ? tbl_row(t) : NULL;
        t->oom |= !m;
        if (r && rows++ == 0) {
            lmeval_name(t, &r[0], task, depth);
            if (ver)
                cell_json(t, &r[1], ver);
            else
                cell_str(t, &r[1], "    N/A");
        } else if (r) {
            cell_str(t, &r[0], "");
            cell_str(t, &r[1], "");
        }
        if (r) {
            cell_str(t, &r[2], f);
            cell_nshot(t, &r[3], rd, k);
            cell_str(t, &r[4], m);
            cell_str(t, &r[5], arrow(hib, m));
            lmeval_value(t, r, task, m, f, ms[i].it);
        }
        free(m);
    }
    free(ms);
}

static char *lmeval_table(const cJSON *rd, const char *column, int groups)
{
    static const unsigned char show[LMEVAL_COLS] = {1, 1, 1, 1, 1,
                                                    1, 1, 1, 1};
    const char *hdr[LMEVAL_COLS] = {groups ? "Groups" : "Tasks", "Version",
                                    "Filter", "n-shot", "Metric", "",
                                    "Value", "", "Stderr"};
    struct table t = {.ncols = LMEVAL_COLS};
    struct sbuf out = {0};
    struct walk w = {.col = get(rd, column), .gs = get(rd, "group_subtasks")};
    if (cJSON_IsObject(w.col)) {
        w.done = calloc((size_t)cJSON_GetArraySize(w.col) + 1, 1);
        w.oom = !w.done;
        if (w.done)
            walk_all(&w);
    }
    for (size_t i = 0; i < w.n; i++)
        if (cJSON_IsObject(w.out[i].task))
            lmeval_task(&t, rd, w.out[i].task, w.out[i].depth);
    t.oom |= w.oom;
    free(w.done);
    free(w.out);
    render_into(&out, &t, hdr, show);
    return sb_take(&out);
}

/* ---- lighteval (formats.md 6.3) ----------------------------------------- */

#define LIGHT_COLS 6

/* s with every '|' replaced by ':' (generate_final_dict), heap. */
static char *colon_key(const char *s)
{
    char *p = dup_str(s);
    for (char *q = p; q && *q; q++)
        if (*q == '|')
            *q = ':';
    return p;
}

/* versions[k], matching keys after the same '|' -> ':' replacement. */
static const cJSON *light_version(const cJSON *versions, const char *k)
{
    for (const cJSON *v = cJSON_IsObject(versions) ? versions->child : NULL;
         v; v = v->next) {
        const char *a = key_of(v), *b = k;
        while (*a && *b && (*a == '|' ? ':' : *a) == *b)
            a++, b++;
        if (!*a && !*b)
            return v;
    }
    return NULL;
}

/* "%.4f" for numbers; other values (a crash upstream) as text. */
static void light_cell(struct table *t, struct cell *c, const cJSON *v)
{
    if (cJSON_IsNumber(v) || cJSON_IsBool(v))
        cell_se(t, c, v, "");
    else if (!v || cJSON_IsNull(v))
        cell_str(t, c, "N/A");
    else
        cell_json(t, c, v);
}

static void light_task(struct table *t, const cJSON *rd, const char *k,
                       const cJSON *task)
{
    const cJSON *ver = light_version(get(rd, "versions"), k);
    size_t rows = 0;
    for (const cJSON *it = task->child; it; it = it->next) {
        const char *m = key_of(it);
        if (ends_with(m, "_stderr"))
            continue;
        struct cell *r = tbl_row(t);
        if (!r)
            return;
        int first = rows++ == 0;
        cell_str(t, &r[0], first ? k : "");
        if (first && ver)
            cell_json(t, &r[1], ver);
        else
            cell_str(t, &r[1], "");
        cell_str(t, &r[2], m);
        light_cell(t, &r[3], it);
        struct sbuf b = {0};
        sb_puts(&b, m);
        sb_puts(&b, "_stderr");
        const cJSON *se = b.oom ? NULL : get(task, b.p);
        free(b.p);
        cell_str(t, &r[4], se ? PLUS_MINUS : "");
        if (se)
            light_cell(t, &r[5], se);
        else
            cell_str(t, &r[5], "");
    }
}

static char *lighteval_table(const cJSON *rd)
{
    static const char *const hdr[LIGHT_COLS] = {"Task",  "Version", "Metric",
                                                "Value", "",        "Stderr"};
    static const unsigned char show[LIGHT_COLS] = {1, 1, 1, 1, 1, 1};
    struct table t = {.ncols = LIGHT_COLS};
    struct sbuf out = {0};
    size_t n;
    struct member *ms = members(get(rd, "results"), NULL, 0, &n, &t.oom);
    for (size_t i = 0; i < n; i++)
        if (!(ms[i].key = colon_key(ms[i].key)))
            t.oom = 1;
    if (!t.oom && n > 1)
        qsort(ms, n, sizeof *ms, member_cmp);
    for (size_t i = 0; i < n && !t.oom; i++)
        if (cJSON_IsObject(ms[i].it))
            light_task(&t, rd, ms[i].key, ms[i].it);
    for (size_t i = 0; i < n; i++)
        free((char *)ms[i].key);
    free(ms);
    render_into(&out, &t, hdr, show);
    return sb_take(&out);
}

/* ---- public API --------------------------------------------------------- */

int evt_table_style_from_name(const char *name, enum evt_table_style *out)
{
    static const struct {
        const char *name;
        enum evt_table_style style;
    } names[] = {{"lmms-eval", EVT_TABLE_LMMS_EVAL},
                 {"lm-eval", EVT_TABLE_LM_EVAL},
                 {"lighteval", EVT_TABLE_LIGHTEVAL}};
    for (size_t i = 0; name && i < sizeof names / sizeof names[0]; i++)
        if (strcmp(name, names[i].name) == 0) {
            *out = names[i].style;
            return 0;
        }
    return -1;
}

char *evt_make_table(const cJSON *result_dict, enum evt_table_style style,
                     const char *column, char *err, size_t errlen)
{
    const char *col = column ? column : "results";
    int groups = strcmp(col, "groups") == 0;
    char *s = NULL;
    if (!cJSON_IsObject(result_dict)) {
        set_err(err, errlen, "the results are not a JSON object");
        return NULL;
    }
    if (!groups && strcmp(col, "results") != 0) {
        set_err(err, errlen, "unknown column \"%s\" (results or groups)", col);
        return NULL;
    }
    switch (style) {
    case EVT_TABLE_LMMS_EVAL:
        s = lmms_table(result_dict, col, groups);
        break;
    case EVT_TABLE_LM_EVAL:
        s = lmeval_table(result_dict, col, groups);
        break;
    case EVT_TABLE_LIGHTEVAL:
        if (groups) {
            set_err(err, errlen, "lighteval has no groups table");
            return NULL;
        }
        s = lighteval_table(result_dict);
        break;
    default:
        set_err(err, errlen, "unknown table style %d", (int)style);
        return NULL;
    }
    if (!s)
        set_err(err, errlen, "out of memory");
    return s;
}
