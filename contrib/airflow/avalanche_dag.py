"""Airflow DAG for teams that keep Airflow: it only calls the avalanche CLI.

The program does its own planning (from the last stored date, with overlap),
retries, rejects and run history, so the DAG is two small tasks: run, then
export the day's dataset for downstream jobs. Exit status 1 (something
failed or was rejected; see `avalanche status`) fails the task; Airflow's
retry then runs it again, which is safe (upserts are idempotent).

Set AVALANCHE_BIN and AVALANCHE_DB in the Airflow environment.
"""
import os

import pendulum
from airflow import DAG
from airflow.operators.bash import BashOperator

BIN = os.environ.get("AVALANCHE_BIN", "/usr/local/bin/avalanche")
DB = os.environ.get("AVALANCHE_DB", "/var/lib/avalanche/avalanche.db")

with DAG(
    dag_id="avalanche_warnings",
    schedule="30 7,16 * * *",
    start_date=pendulum.datetime(2024, 12, 1, tz="Europe/Oslo"),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 3, "retry_delay": pendulum.duration(minutes=10)},
    tags=["avalanche", "varsom"],
) as dag:
    fetch = BashOperator(
        task_id="run",
        bash_command=f"{BIN} run --db {DB} --lang both --no-progress",
    )
    export = BashOperator(
        task_id="export_warnings",
        bash_command=(f"{BIN} export warnings --db {DB} --format jsonl "
                      "--from {{ ds }} --out /var/lib/avalanche/exports/warnings-{{ ds }}.jsonl"),
    )
    fetch >> export
