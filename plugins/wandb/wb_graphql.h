/* wb_graphql.h -- the two GraphQL operations of the wandb sink
 * (protocols.md sections 2.2, 2.3, 2.5): POST {base}/graphql with
 * {"query": <document>, "variables": {...}, "operationName": <name>}.
 *
 *  - UpsertBucket creates or resumes a run. Every variable is sent, null
 *    when unset; config is a JSON *string* of {"key": {"value": v}}.
 *  - CreateRunFiles returns an upload URL (and headers) per run file.
 *
 * A response with a non-empty "errors" array is a failure even with
 * HTTP 200 (outcome EVT_HTTP_FINAL, err holds the first message). */
#ifndef WB_GRAPHQL_H
#define WB_GRAPHQL_H

#include <stddef.h>
#include <stdint.h>

#include "evtrack/sdk/json_write.h"

struct wb_conn;

/* UpsertBucket's variables; NULL strings are sent as null. */
struct wb_upsert {
    const char *id;     /* storage id of the bucket (null on the first call) */
    const char *name;   /* the run id */
    const char *project, *entity, *group, *display_name, *notes, *job_type;
    const char *commit, *host;
    const char *const *tags; /* sent as null when has_tags is 0 */
    size_t ntags;
    int has_tags;
    const char *config; /* JSON text of the config object, or NULL */
};

extern const char wb_gql_upsert_doc[];
extern const char wb_gql_files_doc[];

/* The request body of UpsertBucket. */
void wb_gql_upsert_body(struct evt_buf *out, const struct wb_upsert *u);

/* What the server says about the run (heap strings). */
struct wb_bucket {
    char *id, *name, *project, *entity;
    int64_t history_lines; /* historyLineCount, 0 when absent */
    int inserted;
};
void wb_bucket_free(struct wb_bucket *b);

/* Parse an UpsertBucket response. 0, or -1 with err (GraphQL errors, or
 * a body without data.upsertBucket.bucket). */
int wb_gql_upsert_parse(const char *body, struct wb_bucket *b, char *err,
                        size_t errlen);

/* POST UpsertBucket and parse the answer: the evt_http outcome. */
int wb_gql_upsert(struct wb_conn *c, const struct wb_upsert *u, int attempts,
                  int64_t deadline_ns, struct wb_bucket *out, char *err,
                  size_t errlen);

/* One file's upload target: the URL and the headers to send with the PUT
 * ("Name: value", NULL-terminated). */
struct wb_upload {
    char *name, *url;
    char **headers;
};

void wb_gql_files_body(struct evt_buf *out, const char *entity,
                       const char *project, const char *run,
                       const char *const *names, size_t n);

/* CreateRunFiles for names; *ups gets n entries (free with
 * wb_uploads_free even on failure). The evt_http outcome. */
int wb_gql_create_run_files(struct wb_conn *c, const char *entity,
                            const char *project, const char *run,
                            const char *const *names, size_t n,
                            int64_t deadline_ns, struct wb_upload **ups,
                            char *err, size_t errlen);

const struct wb_upload *wb_upload_find(const struct wb_upload *ups, size_t n,
                                       const char *name);
void wb_uploads_free(struct wb_upload *ups, size_t n);

#endif /* WB_GRAPHQL_H */
