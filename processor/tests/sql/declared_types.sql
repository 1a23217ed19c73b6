-- Declared types coerce JSON values; ROW columns are nested objects; CAST to DATE, BIGINT, STRING.
CREATE TABLE people (id STRING, address ROW<city STRING>, created_at TIMESTAMP(3), amount DOUBLE)
WITH ('connector' = 'kappa', 'topic' = 'people', 'format' = 'json');
SELECT id, address.city AS city, CAST(created_at AS DATE) AS day, CAST(amount AS BIGINT) AS whole,
       CAST(created_at AS STRING) AS created, created_at, amount
FROM people WHERE amount BETWEEN 1 AND 100;
