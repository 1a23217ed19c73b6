-- A plain filter/map over an inferred table: projections, aliases, arithmetic, IN, AND/OR/NOT.
SELECT order_id, total * 2 AS doubled, UPPER(category) AS cat, total / 4 AS quarter
FROM orders
WHERE (total > 10 AND category IN ('books', 'toys')) OR NOT (status <> 'vip');
