//! The OpenAPI 3.1 description of the HTTP API. A test checks every path here against the
//! running server, and that every route the server answers is described.

use serde_json::{json, Value};

fn op(
    summary: &str,
    params: &[(&str, &str, &str)],
    body: Option<&str>,
    responses: &[(&str, &str)],
) -> Value {
    let parameters: Vec<Value> = params
        .iter()
        .map(|(name, loc, ty)| json!({"name": name, "in": loc, "required": *loc == "path", "schema": {"type": ty}}))
        .collect();
    let mut responses_obj = serde_json::Map::new();
    for (code, desc) in responses {
        responses_obj.insert(code.to_string(), json!({"description": desc}));
    }
    responses_obj.insert("default".into(), json!({"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}));
    let mut o = json!({"summary": summary, "parameters": parameters, "responses": responses_obj});
    if let Some(ct) = body {
        o["requestBody"] = json!({"required": true, "content": {ct: {"schema": {}}}});
    }
    o
}

pub fn document() -> Value {
    let t = ("t", "path", "string");
    let p = ("p", "path", "string");
    let g = ("g", "path", "string");
    json!({
        "openapi": "3.1.0",
        "info": {"title": "kappa", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Produce events into a durable log, run streaming SQL processors over it, replay them."},
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "object",
                "required": ["code", "message"], "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}}}
        },
        "security": [{"bearer": []}],
        "paths": {
            "/healthz": {"get": {"summary": "liveness (no token needed)", "security": [], "responses": {"200": {"description": "ok"}}}},
            "/metrics": {"get": op("Prometheus text format metrics", &[], None, &[("200", "metrics")])},
            "/openapi.json": {"get": op("this document", &[], None, &[("200", "OpenAPI 3.1")])},
            "/v1/topics": {
                "get": op("list topics, one page in name order", &[("limit", "query", "integer"), ("after", "query", "string")], None, &[("200", "{topics: [...], next: name or null}")]),
                "post": op("create a topic {name, partitions, retention_ms, retention_bytes, segment_bytes}", &[], Some("application/json"), &[("201", "created"), ("409", "topic_exists"), ("429", "at the topic limit")])
            },
            "/v1/topics/{t}": {
                "get": op("describe a topic", &[t], None, &[("200", "topic"), ("404", "unknown topic")]),
                "delete": op("delete a topic (refused while a processor reads it)", &[t], None, &[("200", "deleted"), ("409", "in use")])
            },
            "/v1/topics/{t}/events": {
                "post": op("produce one JSON value, a JSON array or NDJSON", &[t, ("key", "query", "string"), ("Idempotency-Key", "header", "string")], Some("application/json"), &[("200", "{count, partitions: [{partition, base_offset, count}]}"), ("400", "bad JSON"), ("413", "over a limit"), ("507", "disk full")]),
                "get": op("consume NDJSON records", &[t, ("partition", "query", "integer"), ("offset", "query", "string"), ("from_time", "query", "string"), ("limit", "query", "integer"), ("wait_ms", "query", "integer"), ("group", "query", "string")], None, &[("200", "NDJSON lines {partition, offset, timestamp, key, value}; a value that is not JSON (produced over Kafka) comes as value_b64, a key that is not UTF-8 as key_b64")])
            },
            "/v1/topics/{t}/stream": {"get": op("Server-Sent Events live tail", &[t, ("offset", "query", "string"), ("partition", "query", "integer"), ("Last-Event-ID", "header", "string")], None, &[("200", "text/event-stream")])},
            "/v1/groups": {"get": op("list consumer groups", &[], None, &[("200", "{groups: [...]}")])},
            "/v1/groups/{g}": {
                "get": op("describe a consumer group with lag", &[g], None, &[("200", "group"), ("404", "unknown group")]),
                "delete": op("delete a consumer group and its committed offsets", &[g], None, &[("200", "{deleted}"), ("404", "unknown group")])
            },
            "/v1/groups/{g}/offsets": {"post": op("commit {topic, partition, offset}", &[g], Some("application/json"), &[("200", "committed")])},
            "/v1/processors": {
                "get": op("list processors", &[], None, &[("200", "{processors: [status, ...]}")]),
                "post": op("create a processor {name, sql}", &[], Some("application/json"), &[("201", "status"), ("400", "SQL outside the subset"), ("409", "exists")])
            },
            "/v1/processors/{p}": {
                "get": op("describe a processor", &[p], None, &[("200", "status"), ("404", "unknown")]),
                "delete": op("delete a processor", &[p, ("version", "query", "integer")], None, &[("200", "deleted")])
            },
            "/v1/processors/{p}/results": {"get": op("current materialized results", &[p, ("key", "query", "string"), ("window_start", "query", "string"), ("version", "query", "integer")], None, &[("200", "{results: [...]}")])},
            "/v1/processors/{p}/replay": {"post": op("start version N+1 or a bounded backfill {sql?, from?, to?}", &[p], Some("application/json"), &[("201", "{version, output}")])},
            "/v1/processors/{p}/promote": {"post": op("promote a caught-up version {version}", &[p], Some("application/json"), &[("200", "status"), ("409", "not caught up")])},
            "/v1/processors/{p}/diff": {"get": op("how version N's results differ from the live one's", &[p, ("version", "query", "integer")], None, &[("200", "{added, removed, changed, ...}")])}
        }
    })
}
