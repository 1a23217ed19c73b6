//! The OpenAPI 3.1 description of the HTTP API: every operation with its parameters, request
//! schema (names with their pattern, required fields, ranges from limits.rs) and response
//! schemas. tests/tests/meta.rs checks every path here against the running server, and CI runs
//! schemathesis against it (.ci/schemathesis.sh), so the document and the server cannot drift.

use serde_json::{json, Value};

use crate::limits;

/// `[A-Za-z0-9._-]{1,200}`, not `.` or `..` (DESIGN.md §5 names).
const NAME_PATTERN: &str = r"^(?!\.\.?$)[A-Za-z0-9._-]{1,200}$";
/// A name a user may create: not ending in `.late` or `.v<digits>` (processors' own topics).
const NEW_NAME_PATTERN: &str = r"^(?!\.\.?$)(?!.*\.late$)(?!.*\.v[0-9]+$)[A-Za-z0-9._-]{1,200}$";

fn schema(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn json_body(s: Value) -> Value {
    json!({"application/json": {"schema": s}})
}

struct Op {
    summary: &'static str,
    params: Vec<Value>,
    body: Option<Value>,
    responses: Vec<(&'static str, &'static str, Option<Value>)>,
}

impl Op {
    fn new(summary: &'static str) -> Op {
        Op {
            summary,
            params: Vec::new(),
            body: None,
            responses: Vec::new(),
        }
    }
    fn path(mut self, name: &str, what: &str) -> Op {
        self.params.push(
            json!({"name": name, "in": "path", "required": true, "description": what,
            "schema": {"type": "string", "pattern": NAME_PATTERN}}),
        );
        self
    }
    fn query(mut self, name: &str, s: Value, what: &str) -> Op {
        self.params.push(
            json!({"name": name, "in": "query", "required": false, "description": what, "schema": s}),
        );
        self
    }
    fn required_query(mut self, name: &str, s: Value, what: &str) -> Op {
        self.params.push(
            json!({"name": name, "in": "query", "required": true, "description": what, "schema": s}),
        );
        self
    }
    fn header(mut self, name: &str, s: Value, what: &str) -> Op {
        self.params.push(
            json!({"name": name, "in": "header", "required": false, "description": what, "schema": s}),
        );
        self
    }
    fn body(mut self, content: Value) -> Op {
        self.body = Some(json!({"required": true, "content": content}));
        self
    }
    fn ok(mut self, code: &'static str, what: &'static str, content: Value) -> Op {
        self.responses.push((code, what, Some(content)));
        self
    }
    fn err(mut self, code: &'static str, what: &'static str) -> Op {
        self.responses.push((code, what, None));
        self
    }
    fn build(self) -> Value {
        let mut responses = serde_json::Map::new();
        for (code, what, content) in self.responses {
            let content = content.unwrap_or_else(|| json_body(schema("Error")));
            responses.insert(
                code.into(),
                json!({"description": what, "content": content}),
            );
        }
        responses.insert(
            "401".into(),
            json!({"description": "a token is required (--token)", "content": json_body(schema("Error"))}),
        );
        responses.insert(
            "405".into(),
            json!({"description": "method not allowed on this path (see the Allow header)",
                   "headers": {"Allow": {"schema": {"type": "string"}}},
                   "content": json_body(schema("Error"))}),
        );
        responses.insert(
            "default".into(),
            json!({"description": "error", "content": json_body(schema("Error"))}),
        );
        let mut op =
            json!({"summary": self.summary, "parameters": self.params, "responses": responses});
        if let Some(b) = self.body {
            op["requestBody"] = b;
        }
        op
    }
}

fn uint() -> Value {
    json!({"type": "integer", "minimum": 0, "maximum": u64::MAX})
}

fn uint32() -> Value {
    json!({"type": "integer", "minimum": 0, "maximum": u32::MAX})
}

fn version() -> Value {
    json!({"type": "integer", "minimum": 1, "maximum": u32::MAX})
}

fn nullable(s: Value) -> Value {
    json!({"anyOf": [s, {"type": "null"}]})
}

/// RFC 3339 UTC from 1970 on (`2026-03-25T10:00:00.000Z`). The server also takes offsets, a
/// space for `T`, and plain dates; the schema states the form every client can rely on.
const TIME_PATTERN: &str = r"^(19[7-9][0-9]|2[0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,3})?Z$";

/// An event time: RFC 3339 text (see `TIME_PATTERN`), or epoch milliseconds.
fn time() -> Value {
    json!({"anyOf": [{"type": "string", "pattern": TIME_PATTERN}, {"type": "integer", "minimum": 0}]})
}

fn components() -> Value {
    let counts = |names: &[&str]| -> Value {
        let props: serde_json::Map<String, Value> =
            names.iter().map(|n| (n.to_string(), uint())).collect();
        json!({"type": "object", "required": names, "properties": props})
    };
    let input = json!({"type": "object", "required": ["topic", "partition", "next_offset", "end_offset", "watermark"],
        "properties": {"topic": {"type": "string"}, "partition": uint(), "next_offset": uint(),
                       "end_offset": uint(), "watermark": nullable(json!({"type": "string"}))}});
    let log = nullable(json!({"type": "object",
        "required": ["connector", "bootstrap_servers", "timestamps", "deterministic"],
        "properties": {"connector": {"enum": ["kappa", "kafka"]},
            "bootstrap_servers": nullable(json!({"type": "string"})),
            "timestamps": {"enum": ["unknown", "log_append_time", "create_time", "mixed"]},
            "deterministic": {"type": "boolean"}}}));
    let state = json!({"type": "array", "items": {"type": "object",
        "required": ["state", "entries", "max", "limit"],
        "properties": {"state": {"type": "string"}, "entries": uint(), "max": uint(),
            "limit": {"type": "string"}}}});
    let run_status = json!({"type": "string", "enum": ["running", "caught_up", "finished", "failed", "stopped"]});
    json!({
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "object",
                "required": ["code", "message"],
                "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}},
            "Name": {"type": "string", "pattern": NAME_PATTERN},
            "NewName": {"type": "string", "pattern": NEW_NAME_PATTERN},
            "CreateTopic": {"type": "object", "required": ["name"], "additionalProperties": false, "properties": {
                "name": schema("NewName"),
                "partitions": {"type": "integer", "minimum": 1, "maximum": log_store::PARTITIONS_MAX},
                "retention_ms": nullable(uint()),
                "retention_bytes": nullable(uint()),
                "segment_bytes": nullable(json!({"type": "integer", "minimum": log_store::SEGMENT_BYTES_MIN,
                                                 "maximum": log_store::SEGMENT_BYTES_MAX}))}},
            "Topic": {"type": "object",
                "required": ["name", "partition_count", "partitions", "retention_ms", "retention_bytes", "segment_bytes"],
                "properties": {"name": {"type": "string"}, "partition_count": uint(),
                    "partitions": {"type": "array", "items": counts(&["partition", "start_offset", "end_offset", "bytes", "segments"])},
                    "retention_ms": nullable(uint()), "retention_bytes": nullable(uint()), "segment_bytes": uint()}},
            "TopicList": {"type": "object", "required": ["topics", "next"],
                "properties": {"topics": {"type": "array", "items": schema("Topic")},
                               "next": nullable(json!({"type": "string"}))}},
            "Deleted": {"type": "object", "required": ["deleted"], "properties": {"deleted": {"type": "string"}}},
            "Produced": {"type": "object", "required": ["count", "partitions"], "properties": {
                "count": uint(),
                "partitions": {"type": "array", "items": counts(&["partition", "base_offset", "count"])}}},
            "Commit": {"type": "object", "required": ["topic", "partition", "offset"], "properties": {
                "topic": schema("Name"), "partition": uint32(), "offset": uint()}},
            "Committed": {"type": "object", "required": ["group", "topic", "partition", "offset"], "properties": {
                "group": {"type": "string"}, "topic": {"type": "string"}, "partition": uint(), "offset": uint()}},
            "GroupList": {"type": "object", "required": ["groups"],
                "properties": {"groups": {"type": "array", "items": {"type": "string"}}}},
            "Group": {"type": "object", "required": ["group", "lag", "offsets"], "properties": {
                "group": {"type": "string"}, "lag": uint(),
                "offsets": {"type": "array", "items": {"type": "object",
                    "required": ["topic", "partition", "offset", "end_offset", "lag"],
                    "properties": {"topic": {"type": "string"}, "partition": uint(), "offset": uint(),
                                   "end_offset": nullable(uint()), "lag": nullable(uint())}}}}},
            "CreateProcessor": {"type": "object", "required": ["name", "sql"], "additionalProperties": false, "properties": {
                "name": schema("NewName"),
                "sql": {"type": "string", "minLength": 1, "maxLength": limits::SQL_BODY_BYTES_MAX},
                "from": time(), "to": time()}},
            "Version": {"type": "object", "required": ["version", "status", "current", "output", "late_topic", "lag",
                    "records_in", "records_out"],
                "properties": {"version": uint(), "status": run_status, "current": {"type": "boolean"},
                    "output": {"type": "string"}, "late_topic": {"type": "string"}, "lag": uint(),
                    "records_in": uint(), "records_out": uint(), "late_records": uint(),
                    "watermark": nullable(json!({"type": "string"})), "inputs": {"type": "array", "items": input},
                    "events_per_s": {"type": "number"}, "eta_s": nullable(json!({"type": "number"})),
                    "error": nullable(json!({"type": "string"}))}},
            "Processor": {"type": "object",
                "required": ["name", "version", "status", "sql", "output", "late_topic", "inputs", "lag", "watermark",
                    "records_in", "records_out", "late_records", "state_bytes", "error", "versions"],
                "properties": {"name": {"type": "string"}, "version": uint(), "status": run_status,
                    "sql": {"type": "string"}, "output": {"type": "string"}, "late_topic": {"type": "string"},
                    "inputs": {"type": "array", "items": input}, "lag": uint(),
                    "watermark": nullable(json!({"type": "string"})), "records_in": uint(), "records_out": uint(),
                    "late_records": uint(), "invalid_records": uint(), "state_bytes": uint(),
                    "error": nullable(json!({"type": "string"})),
                    "versions": {"type": "array", "items": schema("Version")},
                    "log": log, "state": state}},
            "ProcessorList": {"type": "object", "required": ["processors"],
                "properties": {"processors": {"type": "array", "items": schema("Processor")}}},
            "Results": {"type": "object", "required": ["processor", "results"], "properties": {
                "processor": {"type": "string"}, "results": {"type": "array", "items": {}}}},
            "Replay": {"type": "object", "additionalProperties": false, "properties": {
                "sql": {"type": "string", "minLength": 1, "maxLength": limits::SQL_BODY_BYTES_MAX},
                "from": {"anyOf": [{"const": "earliest"},
                                   {"type": "object", "required": ["offset"], "properties": {"offset": uint()}},
                                   {"type": "string", "pattern": TIME_PATTERN}, {"type": "integer", "minimum": 0}]},
                "to": time()}},
            "Replayed": {"type": "object", "required": ["version", "output"], "properties": {
                "version": uint(), "output": {"type": "string"}, "late_topic": {"type": "string"}, "status": run_status}},
            "Promote": {"type": "object", "required": ["version"], "additionalProperties": false, "properties": {"version": version()}},
            "Diff": {"type": "object", "required": ["added", "removed", "changed", "counts", "truncated"], "properties": {
                "added": {"type": "array"}, "removed": {"type": "array"},
                "changed": {"type": "array", "items": {"type": "object", "required": ["live", "new"]}},
                "counts": counts(&["added", "removed", "changed", "unchanged"]),
                "truncated": {"type": "boolean"}, "version": uint(), "live_version": uint()}},
            "Health": {"type": "object", "required": ["status"], "properties": {"status": {"const": "ok"}}}
        }
    })
}

pub fn document() -> Value {
    let (t, p, g) = ("t", "p", "g");
    let topic = "the topic";
    let proc_ = "the processor";
    let offset_q =
        json!({"anyOf": [{"type": "integer", "minimum": 0}, {"enum": ["earliest", "latest"]}]});
    let text = |ct: &str| json!({ct: {"schema": {"type": "string"}}});
    json!({
        "openapi": "3.1.0",
        "info": {"title": "kappa", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Produce events into a durable log, run streaming SQL processors over it, replay them."},
        "components": components(),
        "security": [{"bearer": []}, {}],
        "paths": {
            "/healthz": {"get": {"summary": "liveness (no token needed)", "security": [],
                "responses": {"200": {"description": "ok", "content": json_body(schema("Health"))}}}},
            "/metrics": {"get": Op::new("Prometheus text format metrics")
                .ok("200", "metrics", text("text/plain")).build()},
            "/openapi.json": {"get": Op::new("this document")
                .ok("200", "OpenAPI 3.1", json_body(json!({"type": "object"}))).build()},
            "/v1/topics": {
                "get": Op::new("list topics, one page in name order; `next` is the `after` of the next page")
                    .query("limit", json!({"type": "integer", "minimum": 1, "maximum": limits::TOPICS_PAGE_MAX}), "topics per page")
                    .query("after", json!({"type": "string"}), "list names after this one")
                    .ok("200", "one page of topics", json_body(schema("TopicList"))).err("400", "bad parameter").build(),
                "post": Op::new("create a topic").body(json_body(schema("CreateTopic")))
                    .ok("201", "created", json_body(schema("Topic")))
                    .err("400", "bad body, name or config").err("409", "topic_exists").err("413", "body too large")
                    .err("429", "at the topic limit").build()
            },
            "/v1/topics/{t}": {
                "get": Op::new("describe a topic").path(t, topic)
                    .ok("200", "the topic", json_body(schema("Topic"))).err("400", "bad name").err("404", "unknown topic").build(),
                "delete": Op::new("delete a topic (refused while a processor reads or writes it)").path(t, topic)
                    .ok("200", "deleted", json_body(schema("Deleted")))
                    .err("400", "bad name").err("404", "unknown topic").err("409", "topic_in_use").build()
            },
            "/v1/topics/{t}/events": {
                "post": Op::new("produce one JSON value, a JSON array (one event each) or NDJSON").path(t, topic)
                    .query("key", json!({"type": "string"}), "a field whose value picks the partition (empty: none)")
                    .header("Idempotency-Key", json!({"type": "string", "pattern": format!("^[!-~]{{1,{}}}$", limits::IDEMPOTENCY_KEY_BYTES_MAX)}),
                        "a retry with the same key and body appends nothing; another body is 422")
                    .body(json!({"application/json": {"schema": {}}, "application/x-ndjson": {"schema": {"type": "string"}}}))
                    .ok("200", "appended", json_body(schema("Produced")))
                    .err("400", "bad JSON (line and column) or name").err("404", "unknown topic")
                    .err("409", "a request with this Idempotency-Key is in progress").err("413", "over a limit")
                    .err("422", "Idempotency-Key reused with a different body").err("507", "disk full").build(),
                "get": Op::new("consume records as NDJSON").path(t, topic)
                    .query("partition", uint32(), "only this partition (default: all)")
                    .query("offset", offset_q.clone(), "first offset, earliest or latest")
                    .query("from_time", time(), "first record at or after this append time")
                    .query("limit", json!({"type": "integer", "minimum": 1, "maximum": limits::CONSUME_LIMIT_MAX}), "records at most")
                    .query("wait_ms", uint(), "long-poll up to this long, in ms (capped at 60000)")
                    .query("group", json!({"type": "string", "pattern": NAME_PATTERN}), "start at this group's committed offsets")
                    .ok("200", "NDJSON lines {partition, offset, timestamp, key, value}; a value that is not JSON (produced over Kafka) comes as value_b64, an empty value (a tombstone) as a null value, a key that is not UTF-8 as key_b64", text("application/x-ndjson"))
                    .err("400", "bad parameter").err("404", "unknown topic or partition")
                    .err("416", "offset below the start (retention) or past the end").build()
            },
            "/v1/topics/{t}/stream": {"get": Op::new("Server-Sent Events live tail").path(t, topic)
                .query("offset", offset_q, "where to start (default latest)")
                .query("partition", uint32(), "only this partition")
                .header("Last-Event-ID", json!({"type": "string", "pattern": "^[0-9]{1,10}-[0-9]{1,19}$"}), "resume after this <partition>-<offset>")
                .ok("200", "text/event-stream", text("text/event-stream"))
                .err("400", "bad parameter").err("404", "unknown topic").build()},
            "/v1/groups": {"get": Op::new("list consumer groups").ok("200", "the groups", json_body(schema("GroupList"))).build()},
            "/v1/groups/{g}": {
                "get": Op::new("describe a consumer group with lag per partition").path(g, "the group")
                    .ok("200", "the group", json_body(schema("Group"))).err("400", "bad name").err("404", "unknown group").build(),
                "delete": Op::new("delete a consumer group and its committed offsets").path(g, "the group")
                    .ok("200", "deleted", json_body(schema("Deleted"))).err("400", "bad name").err("404", "unknown group").build()
            },
            "/v1/groups/{g}/offsets": {"post": Op::new("commit the next offset to read").path(g, "the group")
                .body(json_body(schema("Commit")))
                .ok("200", "committed", json_body(schema("Committed")))
                .err("400", "bad body").err("404", "unknown topic or partition").err("413", "too many groups or offsets").build()},
            "/v1/processors": {
                "get": Op::new("list processors").ok("200", "statuses", json_body(schema("ProcessorList"))).build(),
                "post": Op::new("create a processor; with `to` a bounded batch run over event time [from, to)")
                    .body(json_body(schema("CreateProcessor")))
                    .ok("201", "its status", json_body(schema("Processor")))
                    .err("400", "SQL outside the subset, bad name or time").err("404", "an input topic does not exist")
                    .err("409", "processor or topic exists").err("413", "SQL too large").build()
            },
            "/v1/processors/{p}": {
                "get": Op::new("describe a processor").path(p, proc_)
                    .ok("200", "its status", json_body(schema("Processor"))).err("400", "bad name").err("404", "unknown processor").build(),
                "delete": Op::new("delete a processor (its output topics stay), or one version with ?version=N").path(p, proc_)
                    .query("version", version(), "delete only this (non-live) version")
                    .ok("200", "deleted, or the status after deleting a version",
                        json_body(json!({"anyOf": [schema("Deleted"), schema("Processor")]})))
                    .err("400", "bad name or version").err("404", "unknown processor or version").err("409", "the live version").build()
            },
            "/v1/processors/{p}/results": {"get": Op::new("the processor's materialized results, columns in SELECT order").path(p, proc_)
                .query("key", json!({"type": "string"}), "only this group key")
                .query("window_start", time(), "only this window")
                .query("version", version(), "this version's results")
                .query("limit", uint(), "rows at most")
                .ok("200", "rows", json_body(schema("Results")))
                .err("400", "bad parameter").err("404", "unknown processor or version").build()},
            "/v1/processors/{p}/replay": {"post": Op::new("start version N+1, or a bounded backfill when `to` is given").path(p, proc_)
                .body(json_body(schema("Replay")))
                .ok("201", "the new version", json_body(schema("Replayed")))
                .err("400", "bad SQL or time").err("404", "unknown processor").err("409", "conflict").err("413", "SQL too large").build()},
            "/v1/processors/{p}/promote": {"post": Op::new("make a caught-up version live").path(p, proc_)
                .body(json_body(schema("Promote")))
                .ok("200", "the status after promote", json_body(schema("Processor")))
                .err("400", "bad body").err("404", "unknown processor or version").err("409", "not caught up").build()},
            "/v1/processors/{p}/diff": {"get": Op::new("how version N's results differ from the live version's").path(p, proc_)
                .required_query("version", version(), "the version to compare")
                .ok("200", "rows added, removed, changed, with counts", json_body(schema("Diff")))
                .err("400", "bad parameter").err("404", "unknown processor or version").build()}
        }
    })
}
