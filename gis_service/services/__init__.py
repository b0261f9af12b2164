"""The service layer: one facade per capability, the only thing the faces (API routers, CLI commands)
call. Map and report builders and the monitoring decision package are facades too.

Each facade is a class in its own module, built once per process from the store, the settings and the
facades it needs (:class:`~.container.Services` wires them); it alone resolves rule sets, the road graph,
arrival standards and settings, and it owns its caches — ``cachetools`` caches keyed by
``(layer, store.revision(layer))``, so an edit is never answered from stale data. See docs/architecture.md.
"""
