-- pyspark_synth: the catalog metadata table, and how to turn on CALL synth.* in a session.
--
-- 1. Activate the plugin once per Spark application, from the Python driver that owns the session
--    (the procedures run in that Python process):
--
--      import pyspark_synth
--      spark.synth.activate()                  # or pyspark_synth.spark.sql.activate(spark)
--
--    No spark.sql.extensions are needed. To have the catalog class on the classpath from the start
--    (instead of activate() running ADD JAR), build the session with:
--      spark.jars                   = <pyspark_synth.spark.sql.jar_path()>
--      spark.sql.catalog.synth      = pyspark_synth.sql.SynthCatalog
--    and still call activate() (it installs the Python handler the procedures call).
--    JDBC/ODBC clients: start the Thrift server from that driver with
--      pyspark_synth.spark.thrift.start_thrift_server(spark, port=10000)
--
-- 2. The metadata table. save_metadata() creates it; create it yourself to pick its name, format
--    or location (then point spark.synth.catalogTable at it). One row per table, column, foreign
--    key and fitted model version; metadata_name names a database's metadata set (the
--    `tables => 'shop'` of CALL synth.sample / synth.fit). Same columns as
--    pyspark_synth.io.catalog.CATALOG_SCHEMA.

CREATE TABLE IF NOT EXISTS synth_metadata (
  metadata_name   STRING    COMMENT 'name of the metadata set (one database), e.g. shop',
  record_type     STRING    COMMENT 'table | column | foreign_key | model',
  table_name      STRING    COMMENT 'table the row describes',
  column_name     STRING    COMMENT 'the column (column rows), or the comma-separated columns (foreign_key rows)',
  position        INT       COMMENT 'order among rows of the same type (model rows: the model version)',
  sql_type        STRING    COMMENT 'Spark SQL type of the column, e.g. bigint',
  semantic_type   STRING    COMMENT 'numerical | categorical | datetime | boolean | id | text (model rows: the backend)',
  nullable        BOOLEAN   COMMENT 'whether the column may hold NULL',
  primary_key     STRING    COMMENT 'comma-separated primary-key columns (table rows)',
  pii_kind        STRING    COMMENT 'detected or declared PII kind, e.g. email',
  pii_action      STRING    COMMENT 'drop | mask | hash | fake | keep | custom',
  detail          STRING    COMMENT 'JSON: constraints, PII options, foreign-key target, model manifest',
  library_version STRING    COMMENT 'pyspark_synth version that wrote the row',
  updated_at      TIMESTAMP COMMENT 'when the row was written (UTC)'
) USING parquet;

-- Which metadata sets and fitted models are there?
SELECT metadata_name, count(DISTINCT table_name) AS tables FROM synth_metadata
WHERE record_type = 'table' GROUP BY metadata_name;
