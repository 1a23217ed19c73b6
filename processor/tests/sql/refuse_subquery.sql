-- A subquery in FROM other than the Top-N form is refused at its position (issue 14).
SELECT order_id FROM (SELECT order_id FROM orders) WHERE order_id = 'a';
