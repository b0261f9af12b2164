"""National batches on Dask distributed: regrade of every hazard source, QRA of every installation.

Partitioning (:mod:`.partition`): hazard sources are grouped by the 1° lon/lat tile of their anchor; each
partition gets only the receptors whose bounds meet the partition's bounds grown by a halo of the analysis's
reach (500 m for GB 18218 α, ``max_range_m`` for the QRA), computed on the spheroid's shortest degrees, so a
source sees every receptor it can reach and nothing else: no all-to-all join. The existing vectorised code runs
per partition (:mod:`.tasks`). Dask distributed schedules the partitions (:mod:`.runner`); the driver writes each
finished partition as a GeoParquet checkpoint, so a rerun skips finished partitions and a partition whose worker
died is simply run again (it has no output until it is written whole).
"""
