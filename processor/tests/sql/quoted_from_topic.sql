-- A bare FROM of a topic whose name needs quoting (no CREATE TABLE).
SELECT category FROM "order-events" WHERE status = 'completed';
