-- A filter/map over a PRIMARY KEY table: its output is an upsert stream keyed by the same key.
-- A row replacing its key's row is written again; a row the WHERE rejects, or a tombstone,
-- deletes the key's row (a tombstone out) if one was written; a tombstone of a key never
-- written writes nothing.
CREATE TABLE rates (currency STRING, rate DOUBLE, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts, PRIMARY KEY (currency) NOT ENFORCED)
  WITH ('connector' = 'kappa', 'topic' = 'rates', 'format' = 'json');
SELECT currency, rate, ROUND(1 / rate, 4) AS inverse
FROM rates
WHERE rate < 2;
