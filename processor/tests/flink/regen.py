#!/usr/bin/env python3
"""Regenerates Flink's expected rows for the differential SQL cases beside this file.

Each case is `<case>.sql` (kappa's SQL text: Flink SQL as written, apart from the connector
options), `<case>.input` (`<topic>/<partition> <append time ms> <JSON value>` lines, `#`
comments) and, written here, `<case>.flink.expected`: Flink's final rows, one JSON object
per line (keys sorted), in the canonical order (`canonical_key`; ORDER BY queries keep
Flink's order). processor/tests/flink_diff.rs runs the same cases on kappa and compares.

Requirements (installs nothing itself):
    pip install apache-flink==1.20.3      # Python 3.8-3.11; Java 11 or 17 as `java`
Usage (from the repository root):
    python3 processor/tests/flink/regen.py            # every case
    python3 processor/tests/flink/regen.py hop arithmetic

How the input reaches Flink, and why it matches kappa:
- Order: the records are fed in kappa's merge order (append time, then partition, then
  offset), through one `filesystem` source (one JSON file, one split, read in order),
  parallelism 1, so every operator sees them in that order.
- Watermarks: `pipeline.auto-watermark-interval` = 0, so the table's watermark assigner emits
  after every record (a record is processed before the watermark it raises, as in kappa).
  Single-partition cases keep the table's `WATERMARK FOR ts AS ts - INTERVAL ...` as written.
  Multi-partition cases model Flink's Kafka source with per-split watermarks and
  `scan.watermark.emit.strategy` = `on-event`: each partition (split) has watermark = its max
  `ts` - delay, the source's watermark is the minimum over all partitions, and a partition
  with no record yet holds it back (no watermark). The script computes that minimum after
  each record into a hidden column `__wm` and rewrites the clause to
  `WATERMARK FOR ts AS __wm`, since a file source has no splits per partition. Idleness is
  not modelled (Flink decides it on the wall clock): partition_late_start and partition_idle
  show where kappa's log-time idleness gives another answer, by design.
- End of input: the bounded source ends with the maximum watermark, so every open window
  fires; kappa's side is a bounded run (end of input = all windows fire), like a backfill.
- Late events are dropped by Flink (kappa writes them to `.late`): only main rows compared.
- Updating results (GROUP BY without a window, Top-N, deduplication): the changelog is applied (+I/+U add a row,
  -U/-D remove one) and the final table is written.
- `-- flink: batch` in a case runs it in Flink's batch mode (ORDER BY a non-time column);
  `-- flink-config: key = value` sets a Flink option for the case (kappa ignores both);
  `-- input: <name>` makes a case read `<name>.input`.
"""

import datetime
import decimal
import json
import math
import os
import re
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))

UNIT_MS = {
    "MILLISECOND": 1, "SECOND": 1000, "MINUTE": 60_000, "HOUR": 3_600_000, "DAY": 86_400_000,
}


def read_input(path):
    """(topic, partition, append_ms, file_index, value_text) per record."""
    records = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            tp, ts, value = line.split(" ", 2)
            topic, partition = tp.split("/")
            records.append((topic, int(partition), int(ts), len(records), value))
    last = {}
    for topic, p, ts, _, _ in records:
        if last.get((topic, p), ts) > ts:
            sys.exit(f"{path}: append times go back in {topic}/{p}")
        last[(topic, p)] = ts
    # kappa's merge order: append time, then partition, then offset (file order).
    return sorted(records, key=lambda r: (r[2], r[0], r[1], r[3]))


def split_statements(sql):
    lines = [l for l in sql.splitlines() if not l.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def parse_ts(text):
    return datetime.datetime.fromisoformat(text.replace("T", " ").rstrip("Z"))


def fmt_ts(dt):
    return dt.strftime("%Y-%m-%d %H:%M:%S.") + f"{dt.microsecond // 1000:03d}"


def rewrite_table(stmt, workdir, records, case):
    """Points a CREATE TABLE at a JSON file of its topic's records (kappa's merge order)."""
    m = re.match(r"CREATE\s+TABLE\s+(`[^`]+`|\"[^\"]+\"|\w+)", stmt, re.I)
    name = m.group(1).strip('`"')
    with_m = re.search(r"\bWITH\s*\((.*)\)\s*$", stmt, re.I | re.S)
    options = dict(re.findall(r"'([^']*)'\s*=\s*'([^']*)'", with_m.group(1)))
    topic = options.get("topic", name)
    mine = [r for r in records if r[0] == topic]
    partitions = sorted({r[1] for r in mine})
    body = stmt[: with_m.start()]
    values = [json.loads(r[4]) for r in mine]
    wm = re.search(
        r"WATERMARK\s+FOR\s+(\w+)\s+AS\s+(\w+)(?:\s*-\s*INTERVAL\s+'(\d+)'\s+(\w+))?", body, re.I
    )
    if len(partitions) > 1 and wm:
        col, delay = wm.group(1), 0
        if wm.group(3):
            delay = int(wm.group(3)) * UNIT_MS[wm.group(4).upper().rstrip("S")]
        per_split = {p: None for p in partitions}
        for r, v in zip(mine, values):
            t = parse_ts(v[col])
            prev = per_split[r[1]]
            per_split[r[1]] = t if prev is None else max(prev, t)
            marks = list(per_split.values())
            if None not in marks:
                v["__wm"] = fmt_ts(min(marks) - datetime.timedelta(milliseconds=delay))
        body = body[: wm.start()] + f"__wm TIMESTAMP(3), WATERMARK FOR {col} AS __wm" + body[wm.end():]
    path = os.path.join(workdir, f"{case}-{name}", "data.json")
    os.makedirs(os.path.dirname(path))
    with open(path, "w", encoding="utf-8") as f:
        for v in values:
            f.write(json.dumps(v) + "\n")
    return body + f" WITH ('connector' = 'filesystem', 'path' = 'file://{path}', 'format' = 'json')"


def to_json(v):
    if isinstance(v, datetime.datetime):
        return v.strftime("%Y-%m-%dT%H:%M:%S.") + f"{v.microsecond // 1000:03d}Z"
    if isinstance(v, datetime.date):
        return v.isoformat()
    if isinstance(v, decimal.Decimal):
        return float(v)
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    return v


def value_key(v):
    """Order of JSON values: null, booleans, numbers, strings, anything else by its text.
    flink_diff.rs orders kappa's rows the same way."""
    if v is None:
        return (0, 0, "")
    if isinstance(v, bool):
        return (1, int(v), "")
    if isinstance(v, (int, float)):
        return (2, float(v), "")
    if isinstance(v, str):
        return (3, 0, v)
    return (4, 0, json.dumps(v, sort_keys=True, separators=(",", ":")))


def canonical_key(row):
    return [value_key(row[k]) for k in sorted(row)]


def has_order_by(query):
    """The query's own ORDER BY: one outside parentheses (an OVER window's is inside them)."""
    depth, top = 0, []
    for c in query:
        depth += c == "("
        if depth == 0:
            top.append(c)
        depth -= c == ")"
    return re.search(r"\bORDER\s+BY\b", "".join(top), re.I) is not None


def input_name(case, sql):
    """`-- input: <name>` reads `<name>.input` (cases sharing a generated input)."""
    m = re.search(r"^--\s*input:\s*(\S+)\s*$", sql, re.M)
    return m.group(1) if m else case


def run_case(case, workdir):
    from pyflink.table import EnvironmentSettings, TableEnvironment
    from pyflink.common import RowKind

    with open(os.path.join(HERE, case + ".sql"), encoding="utf-8") as f:
        sql = f.read()
    batch = re.search(r"^--\s*flink:\s*batch\s*$", sql, re.M) is not None
    records = read_input(os.path.join(HERE, input_name(case, sql) + ".input"))
    settings = (EnvironmentSettings.in_batch_mode() if batch
                else EnvironmentSettings.in_streaming_mode())
    t_env = TableEnvironment.create(settings)
    conf = t_env.get_config()
    conf.set("parallelism.default", "1")
    conf.set("pipeline.auto-watermark-interval", "0")
    conf.set("table.local-time-zone", "UTC")
    for key, value in re.findall(r"^--\s*flink-config:\s*(\S+)\s*=\s*(.+?)\s*$", sql, re.M):
        conf.set(key, value)
    query = None
    for stmt in split_statements(sql):
        if re.match(r"CREATE\s+TABLE", stmt, re.I):
            t_env.execute_sql(rewrite_table(stmt, workdir, records, case))
        else:
            query = re.sub(r"^INSERT\s+INTO\s+(`[^`]+`|\"[^\"]+\"|\S+)\s+", "", stmt, flags=re.I)
    result = t_env.execute_sql(query)
    names = result.get_table_schema().get_field_names()
    rows = []
    with result.collect() as it:
        for r in it:
            row = {n: to_json(v) for n, v in zip(names, list(r))}
            kind = r.get_row_kind()
            if kind in (RowKind.INSERT, RowKind.UPDATE_AFTER):
                rows.append(row)
            else:
                rows.remove(row)
    if not has_order_by(query):
        rows.sort(key=canonical_key)
    out = os.path.join(HERE, case + ".flink.expected")
    with open(out, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n")
    print(f"{case}: {len(rows)} rows -> {os.path.relpath(out)}")


def main():
    cases = sys.argv[1:] or sorted(
        f[: -len(".sql")] for f in os.listdir(HERE) if f.endswith(".sql")
    )
    with tempfile.TemporaryDirectory(prefix="kappa-flink-") as workdir:
        for case in cases:
            run_case(case, workdir)


if __name__ == "__main__":
    main()
