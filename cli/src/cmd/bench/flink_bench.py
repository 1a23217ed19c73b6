"""The PyFlink side of `kappa bench --only flink` (written next to the data and run by it).

Usage: python flink_bench.py <events.ndjson> <cases.json>
cases.json: [{"name": ..., "sql": ..., "paths": {topic: file}}], kappa's SQL text. Each case's
CREATE TABLE is pointed at the NDJSON file of its 'topic' option (or the events file when the
topic has none listed; the `filesystem` connector, `json` format), its query is inserted into a
`blackhole` table, and the job runs in streaming mode with parallelism 1 and the table's
watermark (Flink's default periodic emission). For each case one JSON line goes to stdout:
{"name", "cpu_s", "wall_s", "startup_cpu_s"}: the CPU seconds (user + system) the JVM and any
other descendant of this process used while the job ran (planning, the mini-cluster and the
job), wall seconds, and the CPU used before it (JVM start, gateway, table environment).
"""

import json
import os
import re
import sys
import time


def descendants_cpu_s():
    """User + system CPU seconds of every live descendant of this process (the JVM)."""
    tick = os.sysconf("SC_CLK_TCK")
    children = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        ppid = int(fields[1])
        ticks = sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
        children.setdefault(ppid, []).append((int(pid), ticks))
    total, stack = 0, [os.getpid()]
    while stack:
        for pid, ticks in children.get(stack.pop(), []):
            total += ticks
            stack.append(pid)
    return total / tick


def statements(sql):
    lines = [l for l in sql.splitlines() if not l.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def run_case(name, sql, path, paths, before):
    from pyflink.table import EnvironmentSettings, Schema, TableDescriptor, TableEnvironment

    t_env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
    conf = t_env.get_config()
    conf.set("parallelism.default", "1")
    conf.set("table.local-time-zone", "UTC")
    query = None
    for stmt in statements(sql):
        if re.match(r"CREATE\s+TABLE", stmt, re.I):
            with_m = re.search(r"\bWITH\s*\((.*)\)\s*$", stmt, re.I | re.S)
            topic = re.search(r"'topic'\s*=\s*'([^']*)'", with_m.group(1))
            table_path = paths.get(topic.group(1), path) if topic else path
            t_env.execute_sql(
                stmt[: with_m.start()]
                + f" WITH ('connector' = 'filesystem', 'path' = 'file://{table_path}', 'format' = 'json')"
            )
        else:
            query = re.sub(r"^INSERT\s+INTO\s+(`[^`]+`|\"[^\"]+\"|\S+)\s+", "", stmt, flags=re.I)
    table = t_env.sql_query(query)
    t_env.create_temporary_table(
        "bench_sink",
        TableDescriptor.for_connector("blackhole")
        .schema(Schema.new_builder().from_row_data_type(table.get_schema().to_row_data_type()).build())
        .build(),
    )
    start_cpu, start_wall = descendants_cpu_s(), time.monotonic()
    table.execute_insert("bench_sink").wait()
    cpu, wall = descendants_cpu_s() - start_cpu, time.monotonic() - start_wall
    print(json.dumps({"name": name, "cpu_s": cpu, "wall_s": wall,
                      "startup_cpu_s": start_cpu - before}), flush=True)


def main():
    path, cases_path = os.path.abspath(sys.argv[1]), sys.argv[2]
    with open(cases_path, encoding="utf-8") as f:
        cases = json.load(f)
    for case in cases:
        run_case(case["name"], case["sql"], path, case.get("paths", {}), descendants_cpu_s())


if __name__ == "__main__":
    main()
