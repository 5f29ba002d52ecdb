-- pyspark_synth from SQL. Prerequisites: spark.synth.activate() ran once in the Python driver (see
-- setup.sql); the real tables are shop.customers and shop.orders; the metadata set 'shop' (tables
-- customers and orders, orders.customer_id -> customers.customer_id) is in the metadata table
-- (spark.synth.save_metadata(metadata, name='shop')).
-- Every statement can be re-run: mode => 'overwrite' replaces earlier output.

-- Fit one table: rows from shop.customers, metadata from the set named after its schema ('shop').
-- backend defaults to 'ctgan'; 'copula' fits in seconds.
CALL synth.fit(table => 'shop.customers', backend => 'copula');

-- Fit a whole database, parents first (tables read from shop.<table>).
CALL synth.fit(tables => 'shop', backend => 'copula');

-- The fitted models.
CALL synth.models();

-- 1000 synthetic customers, reproducible with the seed, written as a table.
CALL synth.sample(table => 'customers', num_rows => 1000, seed => 7, output => 'sandbox.customers_synth',
                  mode => 'overwrite');

-- A synthetic copy of the whole database at 10% of its size: sandbox.customers, sandbox.orders,
-- every order pointing at a synthetic customer.
CALL synth.sample(tables => 'shop', scale => 0.1, seed => 7, output_schema => 'sandbox', mode => 'overwrite');

-- How close is the synthetic table to the real one? One row per metric.
CALL synth.validate(real => 'shop.customers', synthetic => 'sandbox.customers_synth');

-- Synthetic rows as a table function (same rows as CALL synth.sample with the same seed).
SELECT * FROM synth_sample('customers', 1000, 7);
SELECT city, count(*) AS n FROM synth_sample('customers', 1000) GROUP BY city;
