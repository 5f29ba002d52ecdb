package pyspark_synth.sql;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * JVM-wide state of the plugin: the Python handler and the procedures it serves.
 *
 * <p>Python installs both when the plugin is activated; {@link SynthCatalog} reads them. One
 * Python driver owns one JVM, so static state is the right scope.
 */
public final class SynthBridge {
  private static volatile SynthHandler handler;
  private static final Map<String, String[]> PROCEDURES = new ConcurrentHashMap<>();

  private SynthBridge() {}

  /** Install (or replace) the Python handler. */
  public static void setHandler(SynthHandler h) {
    handler = h;
  }

  /** The installed handler, or null when no Python driver has activated the plugin. */
  public static SynthHandler handler() {
    return handler;
  }

  /** Remove the handler (the Python driver is going away). */
  public static void clear() {
    handler = null;
  }

  /**
   * Declare a procedure.
   *
   * @param name procedure name, lower case
   * @param parametersDdl its parameters as a DDL column list, in positional order
   * @param description one line shown by DESCRIBE PROCEDURE
   */
  public static void define(String name, String parametersDdl, String description) {
    PROCEDURES.put(name.toLowerCase(java.util.Locale.ROOT), new String[] {parametersDdl, description});
  }

  /** The parameter DDL and description of a procedure, or null when it is unknown. */
  public static String[] procedure(String name) {
    return PROCEDURES.get(name.toLowerCase(java.util.Locale.ROOT));
  }

  /** Names of the declared procedures, sorted. */
  public static String[] procedureNames() {
    return new TreeMap<>(PROCEDURES).keySet().toArray(new String[0]);
  }
}
