package pyspark_synth.sql;

import java.util.Collections;
import java.util.Iterator;
import org.apache.spark.QueryContext;
import org.apache.spark.SparkException;
import org.apache.spark.SparkRuntimeException;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.classic.Dataset;
import org.apache.spark.sql.classic.SparkSession;
import org.apache.spark.sql.connector.catalog.procedures.BoundProcedure;
import org.apache.spark.sql.connector.catalog.procedures.ProcedureParameter;
import org.apache.spark.sql.connector.catalog.procedures.UnboundProcedure;
import org.apache.spark.sql.connector.read.LocalScan;
import org.apache.spark.sql.connector.read.Scan;
import org.apache.spark.sql.types.BooleanType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DoubleType;
import org.apache.spark.sql.types.IntegerType;
import org.apache.spark.sql.types.LongType;
import org.apache.spark.sql.types.StringType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * One procedure of the synth catalog: binds its declared parameters, turns the call's arguments
 * into JSON and runs the Python handler; the Dataset it returns becomes the CALL's result rows.
 */
public class SynthProcedure implements UnboundProcedure, BoundProcedure {
  static final String NOT_ACTIVE =
      "pyspark_synth is not active in this JVM: run pyspark_synth.spark.sql.activate(spark) "
          + "(or spark.synth.activate()) in the Python driver that owns this Spark session";

  private final String catalog;
  private final String name;
  private final StructType params;
  private final String description;

  SynthProcedure(String catalog, String name, String parametersDdl, String description) {
    this.catalog = catalog;
    this.name = name;
    this.params = StructType.fromDDL(parametersDdl);
    this.description = description;
  }

  /** An error whose message reaches the SQL user as is: [USER_RAISED_EXCEPTION] message. */
  static SparkRuntimeException userError(String message) {
    return new SparkRuntimeException(
        "USER_RAISED_EXCEPTION",
        SparkException.constructMessageParams(Collections.singletonMap("errorMessage", message)),
        null,
        new QueryContext[0],
        "");
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public String description() {
    return description;
  }

  @Override
  public BoundProcedure bind(StructType inputType) {
    return this;
  }

  @Override
  public ProcedureParameter[] parameters() {
    StructField[] fields = params.fields();
    ProcedureParameter[] out = new ProcedureParameter[fields.length];
    for (int i = 0; i < fields.length; i++) {
      ProcedureParameter.Builder b = ProcedureParameter.in(fields[i].name(), fields[i].dataType());
      b.defaultValue("NULL");
      if (fields[i].getComment().isDefined()) {
        b.comment(fields[i].getComment().get());
      }
      out[i] = b.build();
    }
    return out;
  }

  @Override
  public boolean isDeterministic() {
    return false;
  }

  @Override
  public Iterator<Scan> call(InternalRow input) {
    SynthHandler h = SynthBridge.handler();
    if (h == null) {
      throw userError(NOT_ACTIVE + ".");
    }
    Object result;
    try {
      result = h.call(SparkSession.active(), name, argsJson(input));
    } catch (RuntimeException e) {
      throw userError(
          catalog + "." + name + " could not reach the Python driver (" + e.getMessage()
              + "). Is the Python process that activated pyspark_synth still running? "
              + NOT_ACTIVE + ".");
    }
    if (result instanceof String) {
      throw userError((String) result);
    }
    if (result == null) {
      return Collections.emptyIterator();
    }
    Dataset<?> ds = (Dataset<?>) result;
    StructType schema = ds.schema();
    InternalRow[] rows = ds.queryExecution().executedPlan().executeCollect();
    Scan scan = new ResultScan(schema, rows);
    return Collections.singletonList(scan).iterator();
  }

  private String argsJson(InternalRow input) {
    StringBuilder sb = new StringBuilder("{");
    StructField[] fields = params.fields();
    boolean first = true;
    for (int i = 0; i < fields.length; i++) {
      if (input.isNullAt(i)) {
        continue;
      }
      if (!first) {
        sb.append(',');
      }
      first = false;
      quote(sb, fields[i].name());
      sb.append(':');
      DataType t = fields[i].dataType();
      if (t instanceof StringType) {
        quote(sb, input.getUTF8String(i).toString());
      } else if (t instanceof LongType) {
        sb.append(input.getLong(i));
      } else if (t instanceof IntegerType) {
        sb.append(input.getInt(i));
      } else if (t instanceof DoubleType) {
        double d = input.getDouble(i);
        if (Double.isNaN(d) || Double.isInfinite(d)) {
          quote(sb, Double.toString(d));
        } else {
          sb.append(d);
        }
      } else if (t instanceof BooleanType) {
        sb.append(input.getBoolean(i));
      } else {
        quote(sb, String.valueOf(input.get(i, t)));
      }
    }
    return sb.append('}').toString();
  }

  private static void quote(StringBuilder sb, String s) {
    sb.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"':
          sb.append("\\\"");
          break;
        case '\\':
          sb.append("\\\\");
          break;
        case '\n':
          sb.append("\\n");
          break;
        case '\r':
          sb.append("\\r");
          break;
        case '\t':
          sb.append("\\t");
          break;
        default:
          if (c < 0x20) {
            sb.append(String.format("\\u%04x", (int) c));
          } else {
            sb.append(c);
          }
      }
    }
    sb.append('"');
  }

  /** The result rows of a call, already on the driver. */
  private static final class ResultScan implements LocalScan {
    private final StructType schema;
    private final InternalRow[] rows;

    ResultScan(StructType schema, InternalRow[] rows) {
      this.schema = schema;
      this.rows = rows;
    }

    @Override
    public StructType readSchema() {
      return schema;
    }

    @Override
    public InternalRow[] rows() {
      return rows;
    }

    @Override
    public String description() {
      return "synth procedure result";
    }
  }
}
