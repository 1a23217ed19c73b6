-- JSON_VALUE on a STRING column: nested paths, array elements, missing paths, non-scalars,
-- numbers and booleans as text.
CREATE TABLE t (id STRING, payload STRING)
WITH ('connector' = 'kappa', 'topic' = 't', 'format' = 'json');
SELECT id, JSON_VALUE(payload, '$.a.b') AS ab, JSON_VALUE(payload, '$.list[1]') AS l1,
       JSON_VALUE(payload, '$.missing') AS m, JSON_VALUE(payload, '$.obj') AS o,
       JSON_VALUE(payload, '$.n') AS n, JSON_VALUE(payload, '$.flag') AS f
FROM t;
