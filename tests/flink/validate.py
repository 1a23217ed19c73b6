# Plans every Flink SQL script given on the command line on PyFlink without running it: the
# tables are created and the INSERT is explained, so Flink's planner checks the script (types of
# the query against the sink's columns, the watermark, the connector options). One line per
# script: `ok <path>` or `FAIL <path>: <Flink's message>`; exit 1 if any failed.
import re
import sys

from pyflink.common import Configuration
from pyflink.table import EnvironmentSettings, TableEnvironment

sys.path.insert(0, __import__("os").path.dirname(__file__))
from run_script import statements  # noqa: E402


def plan(path):
    conf = Configuration()
    rest = []
    for s in statements(open(path).read()):
        m = re.fullmatch(r"SET\s+'([^']+)'\s*=\s*'([^']*)'", s, re.I | re.S)
        if m:
            conf.set_string(m.group(1), m.group(2))
        else:
            rest.append(s)
    t_env = TableEnvironment.create(EnvironmentSettings.new_instance().with_configuration(conf).build())
    for s in rest[:-1]:
        t_env.execute_sql(s)
    t_env.explain_sql(rest[-1])


def main():
    failed = 0
    for path in sys.argv[1:]:
        try:
            plan(path)
            print(f"ok {path}", flush=True)
        except Exception as e:  # Flink's validation error, reported per script
            failed += 1
            msg = str(e).strip().splitlines()
            first = next((l for l in msg if "Exception" in l or "Error" in l), msg[0] if msg else "")
            print(f"FAIL {path}: {first[:400]}", flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
