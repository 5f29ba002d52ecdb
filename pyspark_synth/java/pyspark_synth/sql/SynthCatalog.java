package pyspark_synth.sql;

import org.apache.spark.sql.connector.catalog.Identifier;
import org.apache.spark.sql.connector.catalog.ProcedureCatalog;
import org.apache.spark.sql.connector.catalog.procedures.UnboundProcedure;
import org.apache.spark.sql.util.CaseInsensitiveStringMap;

/**
 * A procedure-only DSv2 catalog: {@code spark.sql.catalog.synth=pyspark_synth.sql.SynthCatalog}
 * makes {@code CALL synth.sample(...)} resolve. It holds no tables.
 */
public class SynthCatalog implements ProcedureCatalog {
  private String name = "synth";

  @Override
  public void initialize(String name, CaseInsensitiveStringMap options) {
    this.name = name;
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public UnboundProcedure loadProcedure(Identifier ident) {
    String[] spec = ident.namespace().length == 0 ? SynthBridge.procedure(ident.name()) : null;
    if (spec == null) {
      throw SynthProcedure.userError(
          "Unknown procedure " + name + "." + String.join(".", ident.namespace())
              + (ident.namespace().length == 0 ? "" : ".") + ident.name()
              + ". Procedures: " + String.join(", ", SynthBridge.procedureNames())
              + (SynthBridge.handler() == null ? ". " + SynthProcedure.NOT_ACTIVE : "."));
    }
    return new SynthProcedure(name, ident.name().toLowerCase(java.util.Locale.ROOT), spec[0], spec[1]);
  }

  @Override
  public Identifier[] listProcedures(String[] namespace) {
    if (namespace.length != 0) {
      return new Identifier[0];
    }
    String[] names = SynthBridge.procedureNames();
    Identifier[] out = new Identifier[names.length];
    for (int i = 0; i < names.length; i++) {
      out[i] = Identifier.of(new String[0], names[i]);
    }
    return out;
  }
}
