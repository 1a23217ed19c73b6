# The seed article's PyFlink job, as written there, with one change: the seed's
# 'properties.bootstrap.servers' = 'kafka:9092' points at kappa's Kafka listener
# (`kappa serve --kafka-listen 127.0.0.1:9092`). tests/flink/run.py checks that this is the
# only difference from the seed and runs it against kappa (on the port the test picked).
from pyflink.datastream import StreamExecutionEnvironment
from pyflink.table import StreamTableEnvironment
env = StreamExecutionEnvironment.get_execution_environment()
env.set_parallelism(4) # Process in parallel across 4 workers
t_env = StreamTableEnvironment.create(env)
# Read from Kafka topic in real time
t_env.execute_sql("""
CREATE TABLE orders (
order_id STRING,
user_id STRING,
total DOUBLE,
category STRING,
ts TIMESTAMP(3),
WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH (
'connector' = 'kafka',
'topic' = 'order-events',
'properties.bootstrap.servers' = '127.0.0.1:9092',
'properties.group.id' = 'flink-revenue-processor',
'scan.startup.mode' = 'latest-offset',
'format' = 'json'
)
""")
# Real-time revenue windows: tumbling 1-minute windows
result = t_env.execute_sql("""
SELECT
TUMBLE_START(ts, INTERVAL '1' MINUTE) AS window_start,
category,
SUM(total) AS revenue,
COUNT(*) AS order_count,
AVG(total) AS avg_order_value
FROM orders
GROUP BY
TUMBLE(ts, INTERVAL '1' MINUTE),
category
""")
result.print()
