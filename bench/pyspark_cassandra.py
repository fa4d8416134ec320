#!/usr/bin/env python3
"""The comparator of issue 12: the system we replace, written the way its
users write it. PySpark 3.5 Structured Streaming reads the raw warning topic
that `avalanche produce` filled (key = region id, value = the warning JSON
as the API sent it, headers endpoint/lang/fetched_at: src/transport/kafka.h)
from the earliest offsets until it is drained (trigger availableNow), parses
the same warning fields `process --sink cassandra` stores, and writes them
with the Spark Cassandra connector into the same four tables of a keyspace
of its own (src/sinks/cassandra.h): warnings_by_region, warnings_by_date,
problems_by_region and warning_versions_by_region (the whole warning as JSON
in `record`). Not part of the product.

    pyspark_cassandra.py --brokers HOST:PORT --topic T --cassandra HOST:PORT
                         --keyspace KS --checkpoint DIR [--max-offsets 20000]

Same rules as our sink where the DataFrame API can say them: every row is
written USING TIMESTAMP PublishTime in microseconds (+1 for the Detail
endpoint; the connector's `writetime` option), so the latest publication
wins; absent values are not written (spark.cassandra.output.ignoreNulls,
our UNSET); write consistency ONE; strings trimmed, stamps read as
Europe/Oslo local time, the problems' aspects and exposed heights decoded,
records that our transform rejects (no RegionId, ValidFrom, LangKey 1/2 or
DangerLevel 0-5) dropped. Not said: the range delete of a warning's old
problems (no DataFrame form; nothing to delete in a new keyspace anyway),
first_seen's own timestamp (written with the row's), the region catalog's
fallback for region_type, the dead-letter topic.

Each micro-batch (at most --max-offsets messages) is parsed once and
cached, then written to the four tables (four Spark jobs, the connector's
default batching: unlogged batches grouped by partition key, 5 in flight
per task). Keyspace and tables are made through the connector's Spark SQL
catalog (CassandraCatalog), in the measured time as our sink makes its own.

Runs under the venv bench/run makes (~/.cache/avalanche/pyspark-venv: `pip
install pyspark==3.5.7`; pip's newest pyspark is Scala 2.13 and cannot load
the 2.12 connector); the connector and the Kafka source come with
--packages from Maven Central into the ivy cache ~/.cache/avalanche/spark-ivy.
OpenJDK 17 needs no extra flags: Spark 3.5's launcher adds its --add-opens
itself (no security manager is involved before Java 18). At the end the
driver JVM is shut down and waited for, so that the rusage of this process
(os.wait4 in bench.py) includes the JVM's CPU and peak RSS (ru_maxrss is
the larger of the two processes', not their sum). Prints one JSON line:
warnings and problems written, micro-batches, versions, seconds before the stream
started (setup_s: JVM, packages from the ivy cache, DDL) and after
(stream_s), CPU and peak RSS of the Python driver and of the JVM apart.
"""
import argparse
import json
import os
import resource
import shutil
import time

PACKAGES = ("com.datastax.spark:spark-cassandra-connector_2.12:3.5.1,"
            "org.apache.spark:spark-sql-kafka-0-10_2.12:3.5.7")
JAVA17 = "/usr/lib/jvm/java-17-openjdk-amd64"
CASS = "org.apache.spark.sql.cassandra"
ASPECTS = "array('N', 'NE', 'E', 'SE', 'S', 'SW', 'W', 'NW')"

NAMES = "ARRAY<STRUCT<Id: STRING, Name: STRING>>"
PROBLEM = ("STRUCT<AvalancheProblemId: INT, AvalancheExtId: INT, AvalancheExtName: STRING, "
           "AvalCauseId: INT, AvalCauseName: STRING, AvalProbabilityId: INT, "
           "AvalProbabilityName: STRING, AvalTriggerSimpleId: INT, "
           "AvalTriggerSimpleName: STRING, AvalTriggerSensitivityId: INT, "
           "AvalTriggerSensitivityName: STRING, DestructiveSizeExtId: INT, "
           "DestructiveSizeExtName: STRING, AvalPropagationId: INT, "
           "AvalPropagationName: STRING, AvalancheTypeId: INT, AvalancheTypeName: STRING, "
           "AvalancheProblemTypeId: INT, AvalancheProblemTypeName: STRING, "
           "ValidExpositions: STRING, ExposedHeight1: INT, ExposedHeight2: INT, "
           "ExposedHeightFill: INT, TriggerSenitivityPropagationDestuctiveSizeText: STRING, "
           "DangerLevel: INT, DangerLevelName: STRING>")
# The members read (the JSON reader skips the others). DangerLevel is a
# string in the warning ("2"), MountainWeather is kept as its JSON text.
WARNING = ("CountyList %s, MunicipalityList %s, PreviousWarningRegId BIGINT, "
           "DangerLevelName STRING, UtmZone INT, UtmEast INT, UtmNorth INT, Author STRING, "
           "AvalancheDanger STRING, EmergencyWarning STRING, SnowSurface STRING, "
           "CurrentWeaklayers STRING, LatestAvalancheActivity STRING, "
           "LatestObservations STRING, ExposedHeightFill INT, ExposedHeight1 INT, "
           "MountainWeather STRING, AvalancheProblems ARRAY<%s>, "
           "AvalancheAdvices ARRAY<STRUCT<AdviceID: INT, ImageUrl: STRING, Text: STRING>>, "
           "ExtremWeatherId INT, ExtremWeatherName STRING, RegId BIGINT, RegionId INT, "
           "RegionName STRING, RegionTypeId INT, RegionTypeName STRING, DangerLevel STRING, "
           "ValidFrom STRING, ValidTo STRING, NextWarningTime STRING, PublishTime STRING, "
           "DangerIncreaseTime STRING, DangerDecreaseTime STRING, MainText STRING, "
           "LangKey INT, IsTendency BOOLEAN" % (NAMES, NAMES, PROBLEM))


def T(x):
    """Trimmed like our transform's strings (spaces, tabs, CR, LF)."""
    return "trim(BOTH ' \\t\\r\\n' FROM %s)" % x


def TS(x):
    """A local Oslo stamp (the session's time zone) as an instant."""
    return "to_timestamp(%s)" % T(x)


def JOIN(arr, member):
    """CountyList/MunicipalityList's Ids or Names joined with commas."""
    return ("IF(%s IS NULL, NULL, concat_ws(',', transform(%s, e -> %s)))"
            % (arr, arr, T("e." + member)))


KEY = [("region_id", "INT"), ("valid_date", "DATE"), ("lang", "TINYINT")]
# warnings_by_region / warnings_by_date: (column, Spark type, expression over w.*)
WCOLS = [
    ("region_name", "STRING", T("w.RegionName")),
    ("region_type", "STRING", "CASE WHEN %s IN ('A', 'B') THEN %s WHEN w.RegionTypeId = 10 "
     "THEN 'A' WHEN w.RegionTypeId = 20 THEN 'B' END" % (T("w.RegionTypeName"),
                                                         T("w.RegionTypeName"))),
    ("reg_id", "BIGINT", "w.RegId"),
    ("danger_level", "TINYINT", "CAST(%s AS TINYINT)" % T("w.DangerLevel")),
    ("danger_level_name", "STRING", T("w.DangerLevelName")),
    ("valid_from", "TIMESTAMP", TS("w.ValidFrom")),
    ("valid_to", "TIMESTAMP", TS("w.ValidTo")),
    ("publish_time", "TIMESTAMP", TS("w.PublishTime")),
    ("next_warning_time", "TIMESTAMP", TS("w.NextWarningTime")),
    ("danger_increase_time", "TIMESTAMP", TS("w.DangerIncreaseTime")),
    ("danger_decrease_time", "TIMESTAMP", TS("w.DangerDecreaseTime")),
    ("is_tendency", "BOOLEAN", "w.IsTendency"),
    ("main_text", "STRING", T("w.MainText")),
    ("avalanche_danger", "STRING", T("w.AvalancheDanger")),
    ("emergency_warning", "STRING", T("w.EmergencyWarning")),
    ("snow_surface", "STRING", T("w.SnowSurface")),
    ("current_weak_layers", "STRING", T("w.CurrentWeaklayers")),
    ("latest_avalanche_activity", "STRING", T("w.LatestAvalancheActivity")),
    ("latest_observations", "STRING", T("w.LatestObservations")),
    ("author", "STRING", T("w.Author")),
    ("utm_zone", "INT", "w.UtmZone"),
    ("utm_east", "INT", "w.UtmEast"),
    ("utm_north", "INT", "w.UtmNorth"),
    ("previous_reg_id", "BIGINT", "w.PreviousWarningRegId"),
    ("county_ids", "STRING", JOIN("w.CountyList", "Id")),
    ("municipality_ids", "STRING", JOIN("w.MunicipalityList", "Id")),
    ("county_names", "STRING", JOIN("w.CountyList", "Name")),
    ("municipality_names", "STRING", JOIN("w.MunicipalityList", "Name")),
    ("exposed_height_1", "INT", "w.ExposedHeight1"),
    ("exposed_height_fill", "INT", "w.ExposedHeightFill"),
    ("extreme_weather_id", "INT", "w.ExtremWeatherId"),
    ("extreme_weather_name", "STRING", T("w.ExtremWeatherName")),
    ("endpoint", "STRING", "endpoint"),
]
# problems_by_region, over p (the problem) and pos (its place)
PCOLS = [
    ("problem_type_id", "INT", "p.AvalancheProblemTypeId"),
    ("problem_type_name", "STRING", T("p.AvalancheProblemTypeName")),
    ("avalanche_type_id", "INT", "p.AvalancheTypeId"),
    ("avalanche_type_name", "STRING", T("p.AvalancheTypeName")),
    ("ext_id", "INT", "p.AvalancheExtId"),
    ("ext_name", "STRING", T("p.AvalancheExtName")),
    ("cause_id", "INT", "p.AvalCauseId"),
    ("cause_name", "STRING", T("p.AvalCauseName")),
    ("probability_id", "INT", "p.AvalProbabilityId"),
    ("probability_name", "STRING", T("p.AvalProbabilityName")),
    ("trigger_simple_id", "INT", "p.AvalTriggerSimpleId"),
    ("trigger_simple_name", "STRING", T("p.AvalTriggerSimpleName")),
    ("trigger_sensitivity_id", "INT", "p.AvalTriggerSensitivityId"),
    ("trigger_sensitivity_name", "STRING", T("p.AvalTriggerSensitivityName")),
    ("destructive_size_id", "INT", "p.DestructiveSizeExtId"),
    ("destructive_size_name", "STRING", T("p.DestructiveSizeExtName")),
    ("propagation_id", "INT", "p.AvalPropagationId"),
    ("propagation_name", "STRING", T("p.AvalPropagationName")),
    ("aspects", "ARRAY<STRING>", "filter(transform(sequence(0, 7), i -> IF(substr("
     "p.ValidExpositions, i + 1, 1) = '1', element_at(%s, i + 1), NULL)), x -> x IS NOT "
     "NULL)" % ASPECTS),
    ("exposed_height_fill", "INT", "p.ExposedHeightFill"),
    ("exposed_height_1", "INT", "p.ExposedHeight1"),
    ("exposed_height_2", "INT", "p.ExposedHeight2"),
    ("exposed_min_m", "INT", "CASE p.ExposedHeightFill WHEN 1 THEN p.ExposedHeight1 "
     "WHEN 4 THEN least(p.ExposedHeight1, p.ExposedHeight2) END"),
    ("exposed_max_m", "INT", "CASE p.ExposedHeightFill WHEN 2 THEN p.ExposedHeight1 "
     "WHEN 4 THEN greatest(p.ExposedHeight1, p.ExposedHeight2) END"),
    ("exposed_heights", "STRING", "CASE p.ExposedHeightFill "
     "WHEN 1 THEN format_string('above %d m', p.ExposedHeight1) "
     "WHEN 2 THEN format_string('below %d m', p.ExposedHeight1) "
     "WHEN 3 THEN format_string('below %d m and above %d m', p.ExposedHeight2, "
     "p.ExposedHeight1) "
     "WHEN 4 THEN format_string('%d-%d m', least(p.ExposedHeight1, p.ExposedHeight2), "
     "greatest(p.ExposedHeight1, p.ExposedHeight2)) END"),
    ("danger_level", "INT", "p.DangerLevel"),
    ("danger_level_name", "STRING", T("p.DangerLevelName")),
    ("text", "STRING", T("p.TriggerSenitivityPropagationDestuctiveSizeText")),
    ("aspects_raw", "STRING", T("p.ValidExpositions")),
]
VCOLS = [("publish_time", "TIMESTAMP"), ("endpoint", "STRING"), ("first_seen", "TIMESTAMP"),
         ("record", "STRING")]


def ddl(spark, ks):
    cols = lambda extra: ", ".join("%s %s" % (c, t) for c, t in KEY + extra)  # noqa: E731
    w = [(c, t) for c, t, _ in WCOLS]
    spark.sql("CREATE DATABASE IF NOT EXISTS cass.%s WITH DBPROPERTIES "
              "(class = 'SimpleStrategy', replication_factor = '1')" % ks)
    for table, extra, part, clustering in (
            ("warnings_by_region", w, "region_id", "valid_date.desc,lang.asc"),
            ("warnings_by_date", w, "valid_date", "region_id.asc,lang.asc"),
            ("problems_by_region", [("problem_id", "INT")] + [(c, t) for c, t, _ in PCOLS],
             "region_id", "valid_date.asc,lang.asc,problem_id.asc"),
            ("warning_versions_by_region", VCOLS, "region_id",
             "valid_date.asc,lang.asc,publish_time.asc")):
        spark.sql("CREATE TABLE IF NOT EXISTS cass.%s.%s (%s) USING cassandra PARTITIONED BY "
                  "(%s) TBLPROPERTIES (clustering_key = '%s')"
                  % (ks, table, cols(extra), part, clustering))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--brokers")
    ap.add_argument("--topic")
    ap.add_argument("--cassandra", help="HOST:PORT of a contact point")
    ap.add_argument("--keyspace", help="made if missing (SimpleStrategy, RF 1)")
    ap.add_argument("--checkpoint", help="the stream's checkpoint dir (wiped)")
    ap.add_argument("--user", default="cassandra")
    ap.add_argument("--password", default="cassandra")
    ap.add_argument("--max-offsets", type=int, default=20000,
                    help="messages per micro-batch (maxOffsetsPerTrigger)")
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--driver-memory", default="1g")
    ap.add_argument("--ivy", default=os.path.expanduser("~/.cache/avalanche/spark-ivy"))
    ap.add_argument("--resolve-only", action="store_true",
                    help="only fetch the packages into the ivy cache (bench/run does it once)")
    a = ap.parse_args()
    if not a.resolve_only and not (a.brokers and a.topic and a.cassandra and a.keyspace and
                                   a.checkpoint):
        ap.error("--brokers, --topic, --cassandra, --keyspace and --checkpoint are needed")
    t0 = time.time()
    if "JAVA_HOME" not in os.environ and os.path.isdir(JAVA17):
        os.environ["JAVA_HOME"] = JAVA17
    if a.checkpoint:
        shutil.rmtree(a.checkpoint, ignore_errors=True)
    host, port = (a.cassandra or "127.0.0.1:9042").rsplit(":", 1)

    import pyspark
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    spark = (SparkSession.builder.master(a.master).appName("avalanche-comparator")
             .config("spark.jars.packages", PACKAGES)
             .config("spark.jars.ivy", a.ivy)
             .config("spark.driver.memory", a.driver_memory)
             .config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false")
             .config("spark.sql.session.timeZone", "Europe/Oslo")
             .config("spark.sql.catalog.cass",
                     "com.datastax.spark.connector.datasource.CassandraCatalog")
             .config("spark.cassandra.connection.host", host)
             .config("spark.cassandra.connection.port", port)
             .config("spark.cassandra.auth.username", a.user)
             .config("spark.cassandra.auth.password", a.password)
             .config("spark.cassandra.output.consistency.level", "ONE")
             .config("spark.cassandra.output.ignoreNulls", "true")
             .getOrCreate())
    spark.sparkContext.setLogLevel("WARN")
    if a.resolve_only:
        spark.stop()
        return
    ddl(spark, a.keyspace)

    raw = (spark.readStream.format("kafka")
           .option("kafka.bootstrap.servers", a.brokers)
           .option("subscribe", a.topic)
           .option("startingOffsets", "earliest")
           .option("includeHeaders", "true")
           .option("maxOffsetsPerTrigger", str(a.max_offsets))
           .option("failOnDataLoss", "true")
           .load())
    hdr = "CAST(element_at(map_from_entries(headers), '%s') AS STRING)"
    parsed = raw.selectExpr("from_json(CAST(value AS STRING), '%s') AS w" % WARNING,
                            "IF(%s = 'simple', 'simple', 'detail') AS endpoint"
                            % (hdr % "endpoint"),
                            "CAST(%s AS INT) AS hdr_lang" % (hdr % "lang"),
                            "to_timestamp(%s) AS first_seen" % (hdr % "fetched_at"))
    key = ["w.RegionId AS region_id",
           "to_date(substr(%s, 1, 10)) AS valid_date" % T("w.ValidFrom"),
           "CAST(coalesce(w.LangKey, hdr_lang) AS TINYINT) AS lang"]
    # what our transform rejects is dropped here (valid_from, lang, level checked below)
    rows = parsed.where("w.RegionId > 0").selectExpr(
        *(key + [e + " AS " + c for c, _, e in WCOLS] +
          ["w.AvalancheProblems AS problems", "w.AvalancheAdvices AS advices",
           "w.MountainWeather AS mountain_weather", "first_seen"])).where(
        "valid_from IS NOT NULL AND lang IN (1, 2) AND danger_level BETWEEN 0 AND 5")
    # the write time of every row of a warning: PublishTime (ValidFrom when
    # absent) in microseconds, +1 for Detail
    rows = rows.selectExpr("*", "unix_micros(coalesce(publish_time, valid_from)) + "
                           "IF(endpoint = 'detail', 1, 0) AS wt")
    keys = [c for c, _ in KEY]
    wnames = keys + [c for c, _, _ in WCOLS]
    pexprs = ["coalesce(p.AvalancheProblemId, pos + 1) AS problem_id"] + \
        [e + " AS " + c for c, _, e in PCOLS]
    record = ("to_json(named_struct(%s, 'problems', problems, 'advices', advices, "
              "'mountain_weather', mountain_weather))"
              % ", ".join("'%s', %s" % (c, c) for c in wnames))
    totals = {"warnings": 0, "problems": 0, "batches": 0}

    def write(df, table):
        (df.write.format(CASS).options(keyspace=a.keyspace, table=table, writetime="wt")
         .mode("append").save())

    def batch(df, batch_id):
        w = df.persist()
        n, p = w.selectExpr("count(*)", "coalesce(sum(size(problems)), 0)").first()
        if n:
            write(w.select(*(wnames + ["wt"])), "warnings_by_region")
            write(w.select(*(wnames + ["wt"])), "warnings_by_date")
            write(w.selectExpr(*(keys + ["wt", "posexplode(problems) AS (pos, p)"]))
                  .selectExpr(*(keys + ["wt"] + pexprs)), "problems_by_region")
            write(w.selectExpr(*(keys + ["coalesce(publish_time, timestamp'1970-01-01 "
                                         "00:00:00Z') AS publish_time", "endpoint",
                                         "first_seen", record + " AS record", "wt"])),
                  "warning_versions_by_region")
        w.unpersist()
        totals["warnings"] += n
        totals["problems"] += p
        totals["batches"] += 1

    setup = time.time() - t0
    q = (rows.writeStream.foreachBatch(batch).trigger(availableNow=True)
         .option("checkpointLocation", a.checkpoint).start())
    q.awaitTermination()
    totals.update({"setup_s": round(setup, 2), "stream_s": round(time.time() - t0 - setup, 2),
                   "pyspark": pyspark.__version__, "packages": PACKAGES,
                   "max_offsets": a.max_offsets, "master": a.master})
    # Shut the driver JVM down and wait for it: its CPU and RSS then count
    # in this process's rusage of children.
    proc = getattr(SparkContext._gateway, "proc", None)
    spark.stop()
    SparkContext._gateway.shutdown()
    if proc is not None:
        proc.stdin.close()
        proc.wait()
    me = resource.getrusage(resource.RUSAGE_SELF)
    jvm = resource.getrusage(resource.RUSAGE_CHILDREN)
    totals.update({"python_cpu_s": round(me.ru_utime + me.ru_stime, 2),
                   "python_rss_mb": round(me.ru_maxrss / 1024, 1),
                   "jvm_cpu_s": round(jvm.ru_utime + jvm.ru_stime, 2),
                   "jvm_rss_mb": round(jvm.ru_maxrss / 1024, 1)})
    print(json.dumps(totals), flush=True)


if __name__ == "__main__":
    main()
