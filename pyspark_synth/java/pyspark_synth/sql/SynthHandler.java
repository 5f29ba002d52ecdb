package pyspark_synth.sql;

/**
 * The Python side of the bridge: implemented in Python (pyspark_synth.spark.sql) and handed to the
 * JVM through py4j, so a procedure call runs Python code on the driver, in the caller's session.
 */
public interface SynthHandler {
  /**
   * Run procedure {@code name} with its arguments as a JSON object (absent arguments omitted).
   *
   * @param session the classic SparkSession the CALL statement runs in
   * @param name the procedure name, for example "sample"
   * @param argsJson the arguments, for example {"table": "customers", "num_rows": 1000}
   * @return a Dataset of result rows on success, or a String holding the error message for the
   *     SQL user
   */
  Object call(Object session, String name, String argsJson);
}
