"""Airflow DAG for teams that keep Airflow: it only calls the avalanche CLI.

Two tasks: `run` (plan, fetch, clean, store), then `export_warnings` (the
warnings valid from the run's day on, as JSON lines, for downstream jobs).
Tested under a real Airflow by tests/integration/test_airflow.sh (3.3.2,
the set pinned in requirements-test.txt; it passes with 2.11.2 too).

Schedule: 07:30 and 16:30 Europe/Oslo (serve.schedule, the systemd timer),
so the runs follow Norwegian local time across the DST changes.

Catch-up: catchup=False, on purpose. The program plans its own catch-up:
each run fetches from the last stored date (minus plan.overlap_days, for
re-issued warnings) through today + plan.forecast_days, plus the days
earlier runs left unstored (`avalanche status` shows them as holes). So
after downtime one run fetches everything missed, and Airflow starting the
latest missed slot once (what catchup=False does) is all it takes. With
catchup=True every missed slot would become a run fetching the same window
again; passing `run --from {{ ds }}` instead would turn each into a fixed
window without the overlap and the horizon. History is `avalanche backfill`.

Failures: exit status 0 is success; 1 (something failed or was rejected,
see the summary lines in the task log and `avalanche status`) and 3
(interrupted) fail the task, and Airflow retries it (safe: upserts are
idempotent, and the next run also fetches what this one missed); 2 is a
usage or configuration error, which fails every try the same way.

The run lock: max_active_runs=1 keeps this DAG's runs apart. Another
process holding the database's lock (the `serve` daemon, the systemd timer,
a manual backfill) makes `run` exit 1 with "another run is in progress on
DB (lock DB.lock); try again later": the task fails that try and the retry,
after the delay, runs once the lock is free. Never delete the lock file.

Configuration, from the environment of the Airflow worker when the task
runs (so the worker's environment decides, not the scheduler's):
  AVALANCHE_BIN         the program (default /usr/bin/avalanche)
  AVALANCHE_CONFIG      configuration file (default /etc/avalanche/avalanche.conf,
                        read by the program itself; see `avalanche help-config`)
  AVALANCHE_DB          the SQLite database (default /var/lib/avalanche/avalanche.db;
                        passed as --db to both tasks, so it wins over store.path)
  AVALANCHE_EXPORT_DIR  where export_warnings writes warnings-YYYY-MM-DD.jsonl
                        (default /var/lib/avalanche/exports; created if missing)
  AVALANCHE_ARGS        extra options for `run`, split on spaces, e.g.
                        "--region 3011,3022 --lang both" or "-X fetch.retries=2"
  AVALANCHE_<SECTION>_<KEY>  any configuration key (the program reads them)
and, when the DAG file is parsed:
  AVALANCHE_AIRFLOW_RETRIES      retries of each task (default 4)
  AVALANCHE_AIRFLOW_RETRY_DELAY  first retry delay in seconds, doubling up to
                                 an hour (default 300, like serve.retry_ms)
"""
import os

import pendulum

try:  # Airflow 3
    from airflow.sdk import DAG
    from airflow.providers.standard.operators.bash import BashOperator
except ImportError:  # Airflow 2
    from airflow import DAG
    from airflow.operators.bash import BashOperator

RETRIES = int(os.environ.get("AVALANCHE_AIRFLOW_RETRIES", "4"))
RETRY_DELAY = int(os.environ.get("AVALANCHE_AIRFLOW_RETRY_DELAY", "300"))

# Resolved by bash on the worker. AVALANCHE_CONFIG is read by the program;
# the default is exported only when the variable is unset.
COMMON = ('export AVALANCHE_CONFIG="${AVALANCHE_CONFIG-/etc/avalanche/avalanche.conf}"\n'
          'bin="${AVALANCHE_BIN:-/usr/bin/avalanche}"\n'
          'db="${AVALANCHE_DB:-/var/lib/avalanche/avalanche.db}"\n')
RUN = COMMON + 'exec "$bin" run --db "$db" --no-progress ${AVALANCHE_ARGS:-}\n'
# the Oslo date of the slot this run stands for (its scheduled time)
DAY = "{{ data_interval_end.in_timezone('Europe/Oslo') | ds }}"
EXPORT = COMMON + (
    'dir="${AVALANCHE_EXPORT_DIR:-/var/lib/avalanche/exports}"\n'
    'mkdir -p "$dir"\n'
    # --out writes a temp file and renames it: readers never see half a file
    'exec "$bin" export warnings --db "$db" --format jsonl --from ' + DAY +
    ' --out "$dir/warnings-' + DAY + '.jsonl"\n')

with DAG(
    dag_id="avalanche_warnings",
    description="NVE avalanche warnings: avalanche run, then export the day's warnings",
    schedule="30 7,16 * * *",
    start_date=pendulum.datetime(2012, 12, 1, tz="Europe/Oslo"),
    catchup=False,
    max_active_runs=1,
    default_args={
        "retries": RETRIES,
        "retry_delay": pendulum.duration(seconds=RETRY_DELAY),
        "retry_exponential_backoff": True,
        "max_retry_delay": pendulum.duration(hours=1),
    },
    tags=["avalanche", "varsom"],
) as dag:
    fetch = BashOperator(task_id="run", bash_command=RUN)
    export = BashOperator(task_id="export_warnings", bash_command=EXPORT)
    fetch >> export
