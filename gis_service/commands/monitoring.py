"""`gis-service ingest` — the MQTT ingest worker; `gis-service monitoring-maintain` — retention roll-up;
`gis-service escalate` — pass overdue unacknowledged alarms up (once, or every N seconds)."""

from __future__ import annotations

import logging
import time

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def ingest(client_id: str = typer.Option("riskmap-ingest-1", help="MQTT client id (one per worker; the "
                                             "broker keeps its session across restarts)"),
               batch: int = typer.Option(5000, help="readings per database transaction at most"),
               group: str = typer.Option(None, help="shared-subscription group (default GIS_MQTT_GROUP; '' = none)"),
               seconds: float = typer.Option(None, help="stop after this many seconds (default: run until Ctrl-C)"),
               report: float = typer.Option(10.0, help="print counters every N seconds")):
        """Subscribe to GIS_MQTT_URL (topic GIS_MQTT_TOPIC/{sensor_id}, QoS 1) and store readings and alarms."""
        from ..config import get_settings
        from ..monitoring import mqtt
        from ..monitoring.ingest import Pipeline, reading_store
        from ..monitoring.storebase import MonitoringUnavailable
        from .common import err, fail, open_services

        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
        settings = get_settings()
        for attempt in range(10):   # several workers starting at once may race on the schema DDL
            try:
                layers = open_services(settings).store
                break
            except typer.Exit:
                raise
            except Exception:  # noqa: BLE001 - e.g. "tuple concurrently updated" from a concurrent init
                if attempt == 9:
                    raise
                time.sleep(0.5 + attempt)
        readings = reading_store(settings)
        for attempt in range(30):
            try:
                readings.init()
                break
            except MonitoringUnavailable as exc:
                if attempt == 29:
                    fail(str(exc), 3)
                time.sleep(1)
        pipeline = Pipeline(readings, layers, settings)
        try:
            n = len(pipeline.rules())
        except Exception as exc:  # noqa: BLE001 - the sensors layer is unreadable: say so, exit 3
            fail(f"cannot read the sensors layer: {exc}", 3)
        err.print(f"ingest: {n} sensors; broker {settings.mqtt_url}; store {settings.store}")
        stats = mqtt.run(pipeline, settings, client_id, batch, seconds=seconds, group=group, report_every_s=report,
                         echo=err.print)
        err.print(f"stopped: stored {stats.stored}, dropped {dict(stats.rejected)}")

    app.command()(escalate)

    @app.command("monitoring-maintain")
    def maintain(retention_days: float = typer.Option(None, help="default GIS_MONITORING_RETENTION_DAYS")):
        """Roll readings older than the retention up to hourly rows and drop them (PostgreSQL: whole partitions)."""
        from ..config import get_settings
        from ..monitoring.ingest import reading_store
        from .common import out

        settings = get_settings()
        readings = reading_store(settings)
        readings.init()
        days = settings.monitoring_retention_days if retention_days is None else retention_days
        out.print(readings.maintain(days, time.time()))


def escalate(every: float = typer.Option(None, min=0.1, help="repeat every N seconds (default: once)"),
             seconds: float = typer.Option(None, help="with --every: stop after this many seconds")):
    """Pass every open alarm nobody acknowledged within its escalation time up a level (county → city →
    province), as the API's streams and the ingest worker do — for deployments where neither runs (cron, a
    systemd timer). Safe beside them: each step is recorded once. Prints the steps taken."""
    import orjson

    from ..monitoring.storebase import MonitoringUnavailable
    from .common import err, fail, open_services, out

    monitoring = open_services().monitoring
    t0 = time.monotonic()
    while True:
        try:
            events = monitoring.escalate()
        except MonitoringUnavailable as exc:
            if every is None:
                fail(str(exc), 3)
            err.print(f"[yellow]monitoring store unavailable: {exc}[/]")
            events = []
        for _seq, doc in events:
            ev = orjson.loads(doc)
            out.print(f"alarm {ev['alarm']['id']}: escalated to {ev.get('to')} (step {ev.get('step')})")
        if every is None or (seconds is not None and time.monotonic() - t0 >= seconds):
            return
        time.sleep(every)
