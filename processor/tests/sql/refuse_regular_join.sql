CREATE TABLE a (x STRING, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH ('topic' = 'a');
CREATE TABLE b (x STRING, y BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH ('topic' = 'b');
SELECT a.x, b.y FROM a JOIN b ON a.x = b.x;
