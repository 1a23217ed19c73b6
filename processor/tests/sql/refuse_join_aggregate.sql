CREATE TABLE a (x STRING, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH ('topic' = 'a');
CREATE TABLE b (x STRING, y BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH ('topic' = 'b');
SELECT a.x, COUNT(*) AS n FROM a JOIN b ON a.x = b.x AND b.ts BETWEEN a.ts AND a.ts + INTERVAL '1' MINUTE GROUP BY a.x;
