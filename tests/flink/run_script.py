# Runs a Flink SQL script (as `kappa export flink` writes it) on PyFlink, statement by statement,
# as Flink's SQL client would: SET statements configure the session, the rest go to
# execute_sql, and the INSERT's job is awaited (a bounded job ends; a live one runs until killed).
import re
import sys

from pyflink.common import Configuration
from pyflink.table import EnvironmentSettings, TableEnvironment


def statements(sql):
    out, cur, i = [], [], 0
    while i < len(sql):
        c = sql[i]
        if c in "'\"`":
            j = sql.index(c, i + 1)
            cur.append(sql[i:j + 1])
            i = j + 1
            continue
        if sql.startswith("--", i):
            j = sql.find("\n", i)
            i = len(sql) if j < 0 else j + 1
            continue
        if c == ";":
            out.append("".join(cur).strip())
            cur = []
        else:
            cur.append(c)
        i += 1
    out.append("".join(cur).strip())
    return [s for s in out if s]


def main():
    sql = open(sys.argv[1]).read()
    conf = Configuration()
    rest = []
    for s in statements(sql):
        m = re.fullmatch(r"SET\s+'([^']+)'\s*=\s*'([^']*)'", s, re.I | re.S)
        if m:
            conf.set_string(m.group(1), m.group(2))
        else:
            rest.append(s)
    settings = EnvironmentSettings.new_instance().with_configuration(conf).build()
    t_env = TableEnvironment.create(settings)
    result = None
    for s in rest:
        print(f"-- executing: {s.splitlines()[0]}", file=sys.stderr, flush=True)
        result = t_env.execute_sql(s)
    result.wait()


if __name__ == "__main__":
    main()
