-- VAR_POP, VAR_SAMP, STDDEV_POP, STDDEV_SAMP over DOUBLE and BIGINT (Flink rewrites them in the
-- argument's type, so BIGINT gives truncated BIGINTs), with NULLs, in a tumbling window.
CREATE TABLE t (k STRING, v BIGINT, d DOUBLE, ts TIMESTAMP(3), WATERMARK FOR ts AS ts)
WITH ('connector' = 'kappa', 'topic' = 't', 'format' = 'json');
SELECT k, TUMBLE_START(ts, INTERVAL '1' MINUTE) AS w, VAR_POP(d) AS vp, VAR_SAMP(d) AS vs,
       STDDEV_POP(d) AS sp, STDDEV_SAMP(d) AS ss, VAR_POP(v) AS vp_i, STDDEV_SAMP(v) AS ss_i
FROM t
GROUP BY TUMBLE(ts, INTERVAL '1' MINUTE), k;
