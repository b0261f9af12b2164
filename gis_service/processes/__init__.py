"""OGC API – Processes Part 1 support: the job store (state in the store's database, so a job survives a
restart of the API), process descriptions generated from the analyses' pydantic request models, and the
input models of each process. The processes themselves (which facade answers each) are
:mod:`gis_service.services.processes`; the routes are :mod:`gis_service.api.processes`."""
