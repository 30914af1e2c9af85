/* hub_card.c -- the dataset card (README.md) of a results/details repo:
 * YAML front matter whose `configs` the Hub's dataset viewer reads
 * (protocols.md 1.8), built from the repo's file list, never from
 * positional parsing of file names that breaks on other layouts
 * (formats.md 9, row 3). */
#define _GNU_SOURCE /* memrchr */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub.h"

struct entry {
    char *config; /* config name */
    char *date;   /* the run's date, as in the file name */
    char *split;  /* split name from the date */
    const char *path;
};

static int word(char c)
{
    return isalnum((unsigned char)c) || c == '_';
}

char *hub_config_name(const char *s, size_t len)
{
    char *o = malloc(len + 2);
    if (!o)
        return NULL;
    for (size_t i = 0; i < len; i++)
        o[i] = word(s[i]) || s[i] == '-' ? s[i] : '_';
    if (len == 0)
        o[len++] = '_';
    o[len] = '\0';
    return o;
}

/* ^\w+(\.\w+)*$ */
static int valid_split(const char *s)
{
    if (!word(*s))
        return 0;
    for (; *s; s++)
        if (!word(*s) && !(*s == '.' && word(s[1]) && word(s[-1])))
            return 0;
    return 1;
}

char *hub_split_name(const char *date, size_t len)
{
    char *o = malloc(len + 2);
    if (!o)
        return NULL;
    for (size_t i = 0; i < len; i++)
        o[i] = word(date[i]) || date[i] == '.' ? date[i] : '_';
    if (len == 0)
        o[len++] = '_';
    o[len] = '\0';
    if (!valid_split(o))
        for (char *p = o; *p; p++)
            *p = *p == '.' ? '_' : *p;
    return o;
}

/* Compare dates with digit runs as numbers ("..._10" after "..._2"). */
static int natural_cmp(const char *a, const char *b)
{
    while (*a && *b) {
        if (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
            while (*a == '0' && isdigit((unsigned char)a[1]))
                a++;
            while (*b == '0' && isdigit((unsigned char)b[1]))
                b++;
            size_t na = strspn(a, "0123456789"), nb = strspn(b, "0123456789");
            if (na != nb)
                return na < nb ? -1 : 1;
            int c = strncmp(a, b, na);
            if (c)
                return c;
            a += na;
            b += nb;
            continue;
        }
        if (*a != *b)
            return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
        a++, b++;
    }
    return *a ? 1 : *b ? -1 : 0;
}

static int ends_with(const char *s, size_t n, const char *suf)
{
    size_t k = strlen(suf);
    return n >= k && memcmp(s + n - k, suf, k) == 0;
}

/* What a file name says: *what is "results" or the task (heap), *date its
 * run's date (heap). 1 recognised, 0 not ours, -1 OOM. */
static int classify(const char *base, char **what, char **date)
{
    size_t n = strlen(base);
    const char *s = strstr(base, "_samples_");
    const char *w = NULL, *d = NULL;
    size_t wn = 0, dn = 0;
    if (ends_with(base, n, "_results.json") && n > 13) { /* lmms-eval */
        w = "results", wn = 7, d = base, dn = n - 13;
    } else if (s && s > base && ends_with(base, n, ".jsonl") &&
               (size_t)(s + 9 - base) < n - 6) {
        d = base, dn = (size_t)(s - base);
        w = s + 9, wn = n - 6 - (size_t)(w - base);
    } else if (strncmp(base, "results_", 8) == 0 && n > 13 &&
               ends_with(base, n, ".json")) { /* lm-eval */
        w = "results", wn = 7, d = base + 8, dn = n - 13;
    } else if (strncmp(base, "samples_", 8) == 0 &&
               ends_with(base, n, ".jsonl")) {
        const char *u = memrchr(base + 8, '_', n - 14);
        if (!u || u == base + 8 || (size_t)(u - base) + 1 >= n - 6)
            return 0;
        w = base + 8, wn = (size_t)(u - w);
        d = u + 1, dn = n - 6 - (size_t)(d - base);
    } else {
        return 0;
    }
    *what = strndup(w, wn);
    *date = strndup(d, dn);
    return *what && *date ? 1 : -1;
}

/* "<model>__<what>" (or <what> alone for files at the repo root); a task
 * named "results" becomes "results_samples" so it cannot take the results
 * config. */
static char *config_for(const char *path, const char *base, const char *what,
                        int is_results)
{
    size_t dn = base > path ? (size_t)(base - path - 1) : 0;
    char *model = hub_config_name(path, dn);
    char *w = hub_config_name(what, strlen(what));
    char *out = NULL;
    if (model && w) {
        size_t n = strlen(model) + strlen(w) + 16;
        const char *extra = !is_results && strcmp(w, "results") == 0
                                ? "_samples"
                                : "";
        if ((out = malloc(n)))
            snprintf(out, n, "%s%s%s%s", dn ? model : "", dn ? "__" : "", w,
                     extra);
    }
    free(model);
    free(w);
    return out;
}

static int entry_of(const char *path, struct entry *e)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    char *what = NULL, *date = NULL;
    int rc = classify(base, &what, &date);
    memset(e, 0, sizeof *e);
    if (rc == 1) {
        e->path = path;
        e->date = date;
        e->config = config_for(path, base, what,
                               ends_with(base, strlen(base), ".json"));
        e->split = hub_split_name(date, strlen(date));
        date = NULL;
        rc = e->config && e->split ? 1 : -1;
    }
    free(what);
    free(date);
    return rc;
}

static int entry_cmp(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;
    int c = strcmp(x->config, y->config);
    if (!c)
        c = natural_cmp(x->date, y->date);
    if (!c)
        c = strcmp(x->split, y->split);
    return c ? c : strcmp(x->path, y->path);
}

/* A YAML single-quoted scalar. */
static void yq(struct evt_buf *b, const char *s)
{
    evt_buf_puts(b, "'");
    for (; *s; s++)
        evt_buf_puts(b, *s == '\'' ? "''" : (char[2]){*s, 0});
    evt_buf_puts(b, "'");
}

/* A data_files path: a glob for the Hub, so [ * ? are escaped. */
static void ypath(struct evt_buf *b, const char *path)
{
    struct evt_buf t;
    evt_buf_init(&t);
    for (const char *p = path; *p; p++) {
        if (*p == '[' || *p == '*' || *p == '?') {
            char cls[4] = {'[', *p, ']', 0};
            evt_buf_puts(&t, cls);
        } else {
            evt_buf_put(&t, p, 1);
        }
    }
    evt_buf_puts(b, "    - ");
    yq(b, t.data ? t.data : "");
    evt_buf_puts(b, "\n");
    b->oom |= t.oom;
    evt_buf_free(&t);
}

/* The paths of one split: entries e[i..j) share config and split. */
static void split_block(struct evt_buf *b, const char *split,
                        const struct entry *e, size_t i, size_t j)
{
    evt_buf_puts(b, "  - split: ");
    yq(b, split);
    evt_buf_puts(b, "\n    path:\n");
    for (size_t k = i; k < j; k++)
        ypath(b, e[k].path);
}

/* One config: entries e[i..j), sorted by date; the last date's files are
 * also the "latest" split. */
static void config_block(struct evt_buf *b, const struct entry *e, size_t i,
                         size_t j)
{
    evt_buf_puts(b, "- config_name: ");
    yq(b, e[i].config);
    evt_buf_puts(b, "\n  data_files:\n");
    size_t k = i, top = i;
    while (k < j) {
        size_t m = k + 1;
        while (m < j && strcmp(e[m].split, e[k].split) == 0)
            m++;
        split_block(b, e[k].split, e, k, m);
        k = m;
    }
    /* the newest split: the one holding the greatest date */
    for (k = i; k < j; k++)
        if (natural_cmp(e[k].date, e[top].date) >= 0)
            top = k;
    evt_buf_puts(b, "  - split: 'latest'\n    path:\n");
    for (k = i; k < j; k++)
        if (strcmp(e[k].split, e[top].split) == 0)
            ypath(b, e[k].path);
}

/* Entries of a path listed twice (the repo's listing and the push) are
 * adjacent once sorted: keep one. The new count. */
static size_t drop_repeats(struct entry *e, size_t m)
{
    size_t k = 0;
    for (size_t i = 0; i < m; i++) {
        if (k && strcmp(e[k - 1].path, e[i].path) == 0) {
            free(e[i].config), free(e[i].date), free(e[i].split);
            continue;
        }
        e[k++] = e[i];
    }
    return k;
}

static const char card_text[] =
    "# Evaluation results\n"
    "\n"
    "Evaluation outputs pushed by evtrack, in the file layout of "
    "lmms-eval.\n"
    "\n"
    "- `<model>__results`: the aggregated results file of each run.\n"
    "- `<model>__<task>`: the per-sample records of one task.\n"
    "\n"
    "Each run is a split named after its time stamp; the split `latest` "
    "is the most recent run.\n";

int hub_card_build(const char *const *paths, size_t n, struct evt_buf *out)
{
    struct entry *e = calloc(n ? n : 1, sizeof *e);
    size_t m = 0;
    int rc = e ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        int c = entry_of(paths[i], &e[m]);
        if (c < 0) {
            free(e[m].config), free(e[m].date), free(e[m].split);
            rc = -1;
        }
        m += c == 1;
    }
    if (rc == 0) {
        qsort(e, m, sizeof *e, entry_cmp);
        m = drop_repeats(e, m);
        evt_buf_puts(out, "---\npretty_name: 'Evaluation results'\n");
        evt_buf_puts(out, m ? "configs:\n" : "");
        for (size_t i = 0; i < m;) {
            size_t j = i + 1;
            while (j < m && strcmp(e[j].config, e[i].config) == 0)
                j++;
            config_block(out, e, i, j);
            i = j;
        }
        evt_buf_puts(out, "---\n\n");
        evt_buf_puts(out, card_text);
        rc = out->oom ? -1 : 0;
    }
    for (size_t i = 0; e && i < m; i++)
        free(e[i].config), free(e[i].date), free(e[i].split);
    free(e);
    return rc;
}
