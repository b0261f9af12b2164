"""Running partitions on Dask distributed with checkpoints.

* ``scheduler``: ``tcp://host:8786`` (``GIS_DASK_SCHEDULER``) → that cluster; ``"local"`` → a ``LocalCluster`` of
  ``workers`` processes (one thread each) started for the batch and closed after it; ``"inline"`` → no Dask, the
  partitions one after the other in this process (the single-process path).
* Each finished partition is written by the driver as ``<run_dir>/<key>.parquet`` (a temporary file renamed into
  place): a partition is either checkpointed whole or not at all. A rerun of the same run (same inputs, same
  parameters → same ``run_dir``) skips the partitions already there. A worker that dies takes its partition's
  result with it; the scheduler runs the partition again elsewhere (``distributed.scheduler.allowed-failures``),
  and since results are keyed by partition, nothing is counted twice.
* Outputs are written by the driver, so a remote cluster's workers need no shared disk — only the inputs they
  read themselves (the population grid) must be reachable at the same path.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]   # (partitions done, partitions in all); may raise to stop the batch
POLL_S = 0.5   # while partitions run on Dask, progress is called again this often (unchanged) so the caller can stop


class SchedulerUnavailable(RuntimeError):
    """The Dask scheduler cannot be reached (the batch did nothing)."""


class BatchFailed(RuntimeError):
    pass


@contextmanager
def dask_client(scheduler: str, workers: int = 2) -> Iterator[Any]:
    """A distributed Client on ``scheduler`` (tcp://…) or on a fresh LocalCluster (``"local"``).

    The LocalCluster's workers start without ``MALLOC_TRIM_THRESHOLD_=65536``, which Dask sets for its workers by
    default (``distributed.nanny.pre-spawn-environ``) so they hand freed memory back to the OS at once. The
    analyses allocate and free large numpy temporaries per grid and per scenario; with that setting every one of
    them is a fresh mmap and page faults (the sample's QRA: 26.1 s instead of 16.4 s in one process, the same user
    time), and the province QRA on one Dask worker took 264 s against 140 s in the single process. A worker's
    memory stays bounded by its partition either way. Dask's one-thread settings for OpenMP/MKL/OpenBLAS are kept
    (one thread per worker is the plan). A remote cluster's workers take their operator's configuration: set
    ``distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_: null`` there for the same speed."""
    import dask
    from distributed import Client, LocalCluster

    if scheduler == "local":
        with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                                   silence_logs=logging.WARNING, memory_limit=0)
        client = Client(cluster)
        try:
            yield client
        finally:
            client.close()
            cluster.close()
        return
    try:
        client = Client(scheduler, timeout="10s")
    except (OSError, TimeoutError) as exc:
        raise SchedulerUnavailable(f"Dask scheduler {scheduler} is unreachable: {exc}") from None
    try:
        yield client
    finally:
        client.close()


def checkpoint_path(run_dir: Path, key: str) -> Path:
    return run_dir / f"{key}.parquet"


def write_checkpoint(run_dir: Path, key: str, out: dict[str, Any]) -> None:
    """The partition's records (and events), problems and warnings in one Parquet file, renamed into place."""
    frame: pd.DataFrame = out["records"]
    meta = {"problems": out.get("problems", []), "warnings": out.get("warnings", []),
            "receptors_read": out.get("receptors_read", 0), "peak_rss_mb": out.get("peak_rss_mb")}
    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.replace_schema_metadata({**(table.schema.metadata or {}),
                                           b"gis_service": json.dumps(meta, ensure_ascii=False).encode()})
    tmp = run_dir / f".{key}.{os.getpid()}.tmp"
    pq.write_table(table, tmp)
    if "events" in out:
        etmp = run_dir / f".{key}.events.{os.getpid()}.tmp"
        pq.write_table(pa.Table.from_pandas(out["events"], preserve_index=False), etmp)
        os.replace(etmp, run_dir / f"{key}.events.parquet")
    os.replace(tmp, checkpoint_path(run_dir, key))   # last: its presence means the partition is done


def read_checkpoint(run_dir: Path, key: str) -> tuple[pd.DataFrame, dict[str, Any]]:
    table = pq.read_table(checkpoint_path(run_dir, key))
    meta = json.loads((table.schema.metadata or {}).get(b"gis_service", b"{}"))
    return table.to_pandas(), meta


Args = tuple | Callable[[], tuple]   # a partition's arguments, or a function that builds them when it is submitted


def run_partitions(task: Callable[..., dict[str, Any]], work: Sequence[tuple[str, Args]], run_dir: Path,
                   scheduler: str, workers: int = 2, progress: Progress | None = None,
                   client: Any | None = None) -> dict[str, int]:
    """Run ``task(*args)`` for each ``(key, args)`` not yet checkpointed in ``run_dir``; returns counts
    (``skipped``: checkpointed before, ``ran``: run now). ``args`` may be a function that builds them: it is called
    only when the partition is submitted, so the driver never holds every partition's inputs at once. ``client``:
    an open Dask client to use (a batch of two passes opens one cluster for both), else one is opened on
    ``scheduler`` for this call."""
    run_dir.mkdir(parents=True, exist_ok=True)
    todo = [(k, a) for k, a in work if not checkpoint_path(run_dir, k).exists()]
    total, done = len(work), len(work) - len(todo)
    if progress:
        progress(done, total)
    if not todo:
        return {"partitions": total, "skipped": done, "ran": 0}
    if scheduler == "inline":
        for key, args in todo:
            write_checkpoint(run_dir, key, task(*_built(args)))
            done += 1
            if progress:
                progress(done, total)
        return {"partitions": total, "skipped": total - len(todo), "ran": len(todo)}
    if client is None:
        with dask_client(scheduler, workers) as own:
            return _on_dask(own, task, todo, run_dir, total, done, progress)
    return _on_dask(client, task, todo, run_dir, total, done, progress)


def _built(args: Args) -> tuple:
    return args() if callable(args) else args


def in_flight_limit(client: Any) -> int:
    """How many partitions are submitted at a time: two per worker thread (one running, one queued behind it, so
    no thread waits for the driver), at least 4. The rest wait in the driver, unbuilt: the scheduler and the driver
    then hold a few partitions' inputs, not the country's."""
    try:
        threads = sum(client.nthreads().values())
    except Exception:  # noqa: BLE001 - a scheduler that cannot say: the floor
        threads = 0
    return max(4, 2 * threads)


def _on_dask(client: Any, task: Callable[..., dict[str, Any]], todo: list[tuple[str, Args]], run_dir: Path,
             total: int, done: int, progress: Progress | None) -> dict[str, int]:
    from distributed import wait

    queue = iter(todo)
    running: dict[Any, str] = {}

    def submit_next() -> None:
        for key, args in queue:
            fut = client.submit(task, *_built(args), key=f"{run_dir.parent.name}/{run_dir.name}-{key}", pure=False)
            running[fut] = key
            return

    try:
        for _ in range(in_flight_limit(client)):
            submit_next()
        while running:
            try:
                wait(list(running), timeout=POLL_S, return_when="FIRST_COMPLETED")
            except TimeoutError:   # nothing finished in this poll: let the caller stop the batch (a dismissed job)
                if progress:
                    progress(done, total)
                continue
            for fut in [f for f in running if f.done()]:
                key = running.pop(fut)
                try:
                    out = fut.result()
                except Exception as exc:  # KilledWorker after the allowed retries, or the task's own error
                    running[fut] = key     # cancelled with the rest below
                    raise BatchFailed(f"partition {key}: {type(exc).__name__}: {exc}") from exc
                write_checkpoint(run_dir, key, out)
                fut.release()
                done += 1
                submit_next()
                if progress:
                    progress(done, total)
    except BaseException:
        client.cancel(list(running))
        raise
    return {"partitions": total, "skipped": total - len(todo), "ran": len(todo)}
