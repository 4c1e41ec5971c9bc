"""The drift analysis Spark job: the entry file Azure ML serverless Spark runs (``SparkJob.entry``), and
``analysis.pushdown.LocalSpark`` runs with pyspark in local mode. It imports only pyspark and the standard
library (the Spark pool has neither the operator nor numpy/scipy of our versions), reads the reference and the
live window where they are, and writes one small JSON summary; the operator computes p-values and verdicts
from it with the same functions as an in-process analysis.

Every number in the summary is exact, not a sketch:

- numerical: per feature, running counts of each window in value order (a window function partitioned by
  feature, its range frame taking in every tie) give both ECDFs at every value, so D = max |F_ref - F_live|
  is the two-sample KS statistic exactly as scipy defines it (same integer counts, same two divisions), and
  sum |F_ref - F_live| * (next value - value) is the Wasserstein distance. The reference's population
  standard deviation normalises it. NaN, null and +-inf are missing, as in-process (and so are values
  that are not numbers).
- numerical bins for PSI and Jensen-Shannon: the reference's deciles as numpy computes them (linear
  interpolation between the two order statistics around (n - 1) * q, each the least value whose running
  reference count exceeds its rank), one more just below the minimum when a tenth of the reference sits at
  it (as in-process), and each window's count of values at or below each edge.
- categorical: the counts of every category in each window (group-bys), from which chi-squared, PSI and
  Jensen-Shannon follow exactly.

The running sums need each feature's values in one task (sorted, spilling to disk when large), so the job
scales with rows per feature on the executors, not with the operator's memory.

Usage: spark_job.py --request REQUEST --output DIR (local paths, or file:// / abfss:// / wasbs:// URIs).
"""

from __future__ import annotations

import argparse
import base64
import json
import math
import re
import time
from typing import Any

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,127}")
# pyarrow.csv's null tokens: the in-process reader takes a CSV text field equal to one as missing (Spark's
# reader takes only the empty field).
CSV_NULLS = ("", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "N/A",
             "NA", "NULL", "NaN", "n/a", "nan", "null")  # fmt: skip


def _read(spark: Any, paths: list[str], fmt: str, options: dict[str, Any] | None = None) -> Any:
    """The files as one DataFrame, read as the operator's in-process reader would (``options``: from
    ``window_files``: the CSV dialect, JSON lines' envelopes and time window, MLTable column steps)."""
    o = options or {}
    reader = spark.read
    if fmt == "parquet":
        df = reader.parquet(*paths)
    elif fmt == "csv":
        header = bool(o.get("header", True))
        reader = (
            reader.option("header", header).option("inferSchema", True).option("sep", o.get("delimiter", ","))
        )
        reader = reader.option("multiLine", bool(o.get("multi_line", False))).option("mode", "FAILFAST")
        df = reader.csv(paths)
        if not header:  # Azure ML's names for headerless columns
            df = df.toDF(*[f"Column{i + 1}" for i in range(len(df.columns))])
        df = _csv_nulls(df)
    elif fmt == "jsonl":
        # A line that is not JSON fails the job (an Inconclusive analysis), as in-process, unless dropped.
        mode = "DROPMALFORMED" if o.get("drop_invalid") else "FAILFAST"
        df = reader.option("mode", mode).json(paths)
        if o.get("envelopes"):
            df = _envelopes(df, o.get("start"), o.get("end"))
    else:
        raise ValueError(f"unknown format {fmt!r}")
    for key, columns in o.get("steps", []):
        missing = [c for c in columns if c not in df.columns]
        if missing:
            raise ValueError(f"{key} names columns not in the data: {missing}")
        quoted = [f"`{c.replace('`', '``')}`" for c in columns]  # a literal name, never an expression
        df = df.select(*quoted) if key == "keep_columns" else df.drop(*columns)
    return df


def _csv_nulls(df: Any) -> Any:
    """Text fields equal to a null token are missing, as the in-process reader has them."""
    from pyspark.sql import functions as F

    def col(name: str, kind: str) -> Any:
        c = F.col(f"`{name.replace('`', '``')}`")
        return (F.when(~c.isin(*CSV_NULLS), c) if kind == "string" else c).alias(name)

    return df.select(*[col(n, kind) for n, kind in df.dtypes])


def _envelopes(df: Any, start: str | None, end: str | None) -> Any:
    """The data collector's lines (CloudEvents envelopes, rows under ``data``) as their rows; with a window,
    only envelopes whose ``time`` is in [start, end) count (one without a readable time is kept, as
    in-process). Files without envelopes are rows as they are."""
    from pyspark.sql import functions as F

    types = dict(df.dtypes)
    if not types.get("data", "").startswith("array<struct<"):
        return df
    keep = F.col("data").isNotNull()
    if start is not None and end is not None and "time" in types:
        t = F.expr("try_cast(`time` AS TIMESTAMP)")
        inside = (t >= F.lit(start).cast("timestamp")) & (t < F.lit(end).cast("timestamp"))
        keep = keep & (t.isNull() | inside)
    return df.where(keep).select(F.explode("data").alias("row")).select("row.*")


def _windowed(df: Any, column: str | None, start: str | None, end: str | None) -> Any:
    from pyspark.sql import functions as F

    if not column or start is None or end is None:
        return df
    t = F.to_timestamp(F.col(column))
    return df.where((t >= F.to_timestamp(F.lit(start))) & (t < F.to_timestamp(F.lit(end))))


def _long(df: Any, names: list[str], side: int) -> Any:
    """(f, v, r, l): one row per valid value; r = 1 for the reference, l = 1 for the live window."""
    from pyspark.sql import functions as F

    types = dict(df.dtypes)

    def number(n: str) -> Any:  # a date as its midnight's seconds since the epoch, as a timestamp casts
        return F.expr(
            f"CAST(unix_date(`{n}`) AS DOUBLE) * 86400"
            if types[n] == "date"
            else f"try_cast(`{n}` AS DOUBLE)"
        )

    cells = F.array(*[F.struct(F.lit(i).alias("f"), number(n).alias("v")) for i, n in enumerate(names)])
    out = df.select(F.explode(cells).alias("c")).select("c.f", "c.v")
    out = out.where(F.col("v").isNotNull() & ~F.isnan("v") & (F.abs(F.col("v")) != float("inf")))
    return out.select("f", "v", F.lit(1 - side).alias("r"), F.lit(side).alias("l"))


def _quantile(n: int, p: float, lo: float | None, hi: float | None) -> float:
    """numpy's default (linear) quantile from the two order statistics around (n - 1) * p, with numpy's own
    arithmetic, so the bin edges are the in-process engine's to the last bit."""
    assert lo is not None
    virtual = (n - 1) * p
    if virtual >= n - 1 or hi is None:
        return lo
    gamma = virtual - math.floor(virtual)
    diff = hi - lo
    return hi - diff * (1 - gamma) if gamma >= 0.5 else lo + diff * gamma


def numerical(ref: Any, live: Any, names: list[str], n_bins: int = 10) -> dict[str, dict[str, Any]]:
    from pyspark import StorageLevel
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    if not names:
        return {}
    rows = _long(ref, names, 0).unionByName(_long(live, names, 1))
    order = Window.partitionBy("f").orderBy("v")
    # A range frame takes in every row equal to the current value: both ECDFs just after it, ties included
    # (searchsorted side="right", as scipy counts).
    upto = order.rangeBetween(Window.unboundedPreceding, Window.currentRow)
    whole = Window.partitionBy("f")
    cum = rows.select(
        "f",
        "v",
        "r",
        F.sum("r").over(upto).alias("ca"),
        F.sum("l").over(upto).alias("cb"),
        F.sum("r").over(whole).alias("n1"),
        F.sum("l").over(whole).alias("n2"),
        F.lead("v").over(order).alias("next"),  # within a run of ties: the same value, a gap of 0
        F.max(F.when(F.col("r") == 1, F.abs("v"))).over(whole).alias("scale"),
    ).persist(StorageLevel.MEMORY_AND_DISK)  # read twice: the statistics, then the bin counts
    both = (F.col("n1") > 0) & (F.col("n2") > 0)  # no division by zero (ANSI mode raises on it)
    diff = F.when(both, F.abs(F.col("ca") / F.col("n1") - F.col("cb") / F.col("n2")))
    qs = [i / n_bins for i in range(1, n_bins)]
    # The k-th smallest reference value (0-based) is the least value whose running reference count exceeds k.
    below = [F.floor((F.col("n1") - 1) * F.lit(q)) for q in qs]
    order_stats = [
        F.min(F.when(F.col("ca") > k + extra, F.col("v"))).alias(f"q{i}_{extra}")
        for i, k in enumerate(below)
        for extra in (0, 1)
    ]
    # The reference's values at unit scale: squares of |v| ~ 1e300 overflow, of ~1e-300 underflow.
    unit = F.when((F.col("r") == 1) & (F.col("scale") > 0), F.col("v") / F.col("scale"))
    per = cum.groupBy("f").agg(
        F.max(diff).alias("d"),
        F.sum(F.when(F.col("next").isNotNull(), diff * (F.col("next") - F.col("v")))).alias("w"),
        F.first("n1").alias("n1"),
        F.first("n2").alias("n2"),
        F.stddev_pop(unit).alias("s1"),
        F.first("scale").alias("scale"),
        F.min(F.when(F.col("r") == 1, F.col("v"))).alias("lo"),
        *order_stats,
    )
    out: dict[str, dict[str, Any]] = {n: {"n1": 0, "n2": 0} for n in names}
    edges: dict[int, list[float]] = {}
    for row in per.collect():
        n1, n2 = int(row["n1"]), int(row["n2"])
        tested = n1 > 0 and n2 > 0
        if n1 > 0:
            qv = [_quantile(n1, q, row[f"q{i}_0"], row[f"q{i}_1"]) for i, q in enumerate(qs)]
            e = sorted(set(qv))
            if e[0] == row["lo"]:  # a tenth or more at the minimum: a bin below it (numerical._edges)
                e.insert(0, math.nextafter(e[0], -math.inf))
            edges[row["f"]] = e
        out[names[row["f"]]] = {
            "n1": n1,
            "n2": n2,
            "d": float(row["d"]) if tested else float("nan"),
            "w": float(row["w"] or 0.0) if tested else float("nan"),
            "std": _std(row["s1"], row["scale"]),
            "edges": edges.get(row["f"], []),
        }
    _bin_counts(cum, edges, names, out)
    cum.unpersist()
    return out


def _std(unit: float | None, scale: float | None) -> float:
    """The reference's standard deviation from its value at unit scale (NaN: no reference value)."""
    if scale == 0.0:
        return 0.0
    return float(unit) * float(scale) if unit is not None and scale is not None else float("nan")


def _bin_counts(cum: Any, edges: dict[int, list[float]], names: list[str], out: dict[str, Any]) -> None:
    """Values <= each edge in each window: the running counts at the last value not above it."""
    from pyspark.sql import functions as F

    width = max((len(e) for e in edges.values()), default=0)
    if width == 0:
        return
    spark = cum.sparkSession
    table = spark.createDataFrame(list(edges.items()), "f int, e array<double>")
    joined = cum.join(F.broadcast(table), "f")
    aggs = []
    for i in range(width):
        edge = F.expr(f"try_element_at(e, {i + 1})")
        aggs.append(F.max(F.when(F.col("v") <= edge, F.col("ca"))).alias(f"a{i}"))
        aggs.append(F.max(F.when(F.col("v") <= edge, F.col("cb"))).alias(f"b{i}"))
    for row in joined.groupBy("f").agg(*aggs).collect():
        k = len(edges[row["f"]])
        feature = out[names[row["f"]]]
        feature["ref_le"] = [int(row[f"a{i}"] or 0) for i in range(k)]
        feature["live_le"] = [int(row[f"b{i}"] or 0) for i in range(k)]


def _typed(spark_type: str) -> Any:
    """Back from the string every category travels as to the value the in-process count would hold."""
    if spark_type in ("tinyint", "smallint", "int", "bigint"):  # in-process, every number is a float64
        return lambda s: float(int(s))
    if spark_type in ("float", "double"):
        return float
    if spark_type == "boolean":
        return lambda s: s == "true"
    return str


def categorical(ref: Any, live: Any, names: list[str]) -> dict[str, dict[str, Any]]:
    """Every category's count in each window: one group-by per window for all features (values as strings,
    converted back by the column's type)."""
    from pyspark.sql import functions as F

    if not names:
        return {}
    out: dict[str, dict[str, Any]] = {n: {"reference": [], "live": []} for n in names}
    for side, df in (("reference", ref), ("live", live)):
        types = dict(df.dtypes)

        def value(n: str, types: dict[str, str] = types) -> Any:
            col = F.col(f"`{n}`")
            if types[n] in ("float", "double"):  # NaN is missing, as in-process, not a category
                return F.when(~F.isnan(col), col.cast("string"))
            return col.cast("string")

        cells = F.array(*[F.struct(F.lit(i).alias("f"), value(n).alias("v")) for i, n in enumerate(names)])
        counts = df.select(F.explode(cells).alias("c")).select("c.f", "c.v").where(F.col("v").isNotNull())
        for row in counts.groupBy("f", "v").count().collect():
            name = names[row["f"]]
            out[name][side].append([_typed(types[name])(row["v"]), int(row["count"])])
    return out


def run(spark: Any, request: dict[str, Any]) -> dict[str, Any]:
    started = time.monotonic()
    num, cat = list(request["numerical"]), list(request["categorical"])
    odd = [n for n in num + cat if not NAME.fullmatch(n)]
    if odd:  # names are quoted into Spark SQL: only the API's column-name alphabet reaches it
        raise ValueError(f"column names {odd[:5]} are not [A-Za-z_][A-Za-z0-9_.-]*")
    spark.conf.set("spark.sql.session.timeZone", "UTC")  # a time without a zone is UTC, as in-process
    ref = _read(spark, request["reference"], request["reference_format"], request.get("reference_options"))
    live_options = request.get("live_options") or {}
    live = _read(spark, request["live"], request["live_format"], live_options)
    live = _windowed(live, request.get("time_column"), request.get("start"), request.get("end"))
    if any(n not in ref.columns for n in num + cat):  # a spec to fix: the operator words it as in-process
        return {"reference_columns": list(ref.columns), "engine": f"spark {spark.version}"}
    live_has = set(live.columns)
    absent = [n for n in num + cat if n not in live_has]
    ref_rows, live_rows = ref.count(), live.count()
    if live_rows == 0 and live_options.get("if_empty"):
        # The in-process reader refuses such a window (Inconclusive), it does not test zero rows.
        return {"unavailable": live_options["if_empty"], "engine": f"spark {spark.version}"}
    # A column the live window lacks is counted in the reference all the same, as in-process (the reason a
    # test was chosen names the reference's size); the summary lists it as absent.
    from pyspark.sql import functions as F

    live = live.select("*", *[F.lit(None).cast("string").alias(n) for n in absent])
    summary = {
        "numerical": numerical(ref, live, num, int(request.get("n_bins", 10))),
        "categorical": categorical(ref, live, cat),
        "absent": absent,
        "reference_rows": ref_rows,
        "live_rows": live_rows,
        "engine": f"spark {spark.version}",
        "seconds": round(time.monotonic() - started, 3),
    }
    return summary


def failure(exc: BaseException) -> str:
    """What went wrong, in a line: Spark's own message, not py4j's 'An error occurred while calling o41.x'
    nor the JVM's stack (the job's log keeps those)."""
    lines = [ln.strip().removeprefix(": ") for ln in str(exc).splitlines()]
    said = [ln for ln in lines if ln and not ln.startswith(("An error occurred while calling", "at "))]
    return f"{type(exc).__name__}: {said[0] if said else ''}"[:500]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    given = parser.add_mutually_exclusive_group(required=True)
    given.add_argument("--request", help="the request JSON: a local file, or a URI (an Azure ML job input)")
    given.add_argument("--request-b64", help="the request JSON, base64 (small requests only: one argument)")
    parser.add_argument("--output", required=True, help="the folder summary.json is written to")
    args = parser.parse_args(argv)
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.appName("kdap-drift").getOrCreate()
    if args.request_b64:
        request = json.loads(base64.b64decode(args.request_b64))
    elif "://" in args.request:
        # A job input on Azure ML (abfss://): read through Spark, as the data is. A request names every file
        # of both windows, far more than the 128 KiB one command-line argument may hold.
        row = spark.read.text(args.request, wholetext=True).first()
        if row is None:
            raise ValueError(f"the request {args.request} is empty")
        request = json.loads(row[0])
    else:
        with open(args.request, encoding="utf-8") as f:
            request = json.load(f)
    try:
        summary = run(spark, request)
    except Exception as exc:  # unreadable or malformed data: the operator is told what, not a stack frame
        summary = {"failed": failure(exc), "engine": f"spark {spark.version}"}
    text = json.dumps(summary, allow_nan=True)
    if "://" in args.output and not args.output.startswith("file://"):
        # On Azure ML the output folder is a storage URI: write through Hadoop's file system, as Spark does.
        jvm: Any = spark.sparkContext._jvm
        path = jvm.org.apache.hadoop.fs.Path(args.output.rstrip("/") + "/summary.json")
        fs = path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
        stream = fs.create(path, True)
        stream.write(bytearray(text.encode()))
        stream.close()
    else:
        import os

        folder = args.output.removeprefix("file://")
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "summary.json"), "w", encoding="utf-8") as f:
            f.write(text)
    spark.stop()


if __name__ == "__main__":
    main()
