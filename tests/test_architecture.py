"""The picture of docs/architecture.md kept true: the imports of gis_service (read with ast, nothing run) have no
cycle, never run from a lower layer to a higher one, and the renderers and faces keep to their side.

A failure names the importing module, the imported one and the rule."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

PKG = Path(__file__).resolve().parent.parent / "gis_service"

# Lowest first. A module may import its own layer's modules and any lower layer's, never a higher one's.
LAYERS: list[tuple[str, ...]] = [
    ("models", "geodesy", "legend"),                                     # pure science, shared vocabulary
    ("access", "config", "identities", "logs", "catalog", "validation", "geojson_io", "loading", "routing", "crs",
     "cql2", "tiles", "basemaps"),
    ("stores",),
    ("analysis", "monitoring", "processes", "batch"),                    # use cases over a store; job store
    ("maps", "reports"),                                                 # pure renderers of results
    ("services",),                                                       # one facade per capability
    ("api", "commands"),                                                 # the faces
    ("cli",),
]
# (importer prefix, imported prefix, why) — pairs that the layers alone would allow
NEVER = [
    ("gis_service.maps", "gis_service.stores", "renderers never see a store (the layers facade is their source)"),
    ("gis_service.reports", "gis_service.stores", "renderers never see a store"),
    ("gis_service.maps", "gis_service.reports", "the two renderers share only gis_service.legend"),
    ("gis_service.reports", "gis_service.maps", "the two renderers share only gis_service.legend"),
    ("gis_service.api", "gis_service.stores.embedded", "routers call facades, not an engine"),
    ("gis_service.api", "gis_service.stores.postgis", "routers call facades, not an engine"),
    ("gis_service.commands", "gis_service.stores.embedded", "commands call facades, not an engine"),
    ("gis_service.monitoring", "gis_service.analysis", "the decision package is the monitoring facade's"),
    ("gis_service.analysis", "gis_service.monitoring", "analyses do not know about sensors"),
]
# Renderers may import from the analyses only their result and parameter types.
RENDERER_ANALYSIS_OK = ("results", "params", "data")


def _module(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, module: str) -> set[str]:
    """Modules of gis_service imported by ``path`` (anywhere in the file, also inside functions)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("gis_service")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("gis_service"):
                continue
            for a in node.names:  # "from . import x" imports the module x when there is one
                sub = f"{target}.{a.name}"
                out.add(sub if _exists(sub) else target)
    return out


def _exists(module: str) -> bool:
    path = PKG.parent / Path(*module.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def _graph() -> nx.DiGraph:
    g = nx.DiGraph()
    for path in PKG.rglob("*.py"):
        module = _module(path)
        g.add_node(module)
        for target in _imports(path, module):
            if target != module and _exists(target):
                g.add_edge(module, target)
    return g


def _layer(module: str) -> int | None:
    parts = module.split(".")
    top = parts[1] if len(parts) > 1 else ""
    for i, names in enumerate(LAYERS):
        if top in names:
            return i
    return None


def test_no_import_cycle():
    cycles = [sorted(c) for c in nx.strongly_connected_components(_graph()) if len(c) > 1]
    # a package's __init__ importing its own modules is no cycle worth the name, but none does that here
    assert not cycles, f"import cycles: {cycles}"


def test_no_import_runs_back_up():
    upward = []
    for a, b in _graph().edges:
        la, lb = _layer(a), _layer(b)
        if la is not None and lb is not None and lb > la:
            upward.append(f"{a} → {b}")
    assert not upward, "imports from a lower layer to a higher one:\n" + "\n".join(sorted(upward))


def test_every_module_has_a_layer():
    missing = sorted(m for m in _graph().nodes if m != "gis_service" and _layer(m) is None)
    assert not missing, f"modules in no layer of LAYERS (place them, and in docs/architecture.md): {missing}"


def test_forbidden_pairs():
    bad = [f"{a} → {b}: {why}" for a, b in _graph().edges for pa, pb, why in NEVER
           if (a == pa or a.startswith(pa + ".")) and (b == pb or b.startswith(pb + "."))]
    assert not bad, "\n".join(bad)


def test_renderers_import_only_result_types_from_the_analyses():
    bad = []
    for a, b in _graph().edges:
        if a.split(".")[1] in ("maps", "reports") and b.startswith("gis_service.analysis"):
            if b.rsplit(".", 1)[-1] not in RENDERER_ANALYSIS_OK:
                bad.append(f"{a} → {b}")
    assert not bad, f"renderers import analysis engines: {bad}"


def test_faces_reach_no_store_engine_and_no_analysis_engine():
    """Routers and commands call facades; from the analyses they take parameter models, limits and result types."""
    engines = ("engine", "runners", "dispatch", "exposure", "assessment", "network", "context")
    bad = [f"{a} → {b}" for a, b in _graph().edges
           if a.split(".")[1] in ("api", "commands") and b.startswith("gis_service.analysis")
           and b.rsplit(".", 1)[-1] in engines]
    assert not bad, f"faces call analysis engines directly: {bad}"


def test_the_test_can_fail():
    """The checks above see a planted cycle and a planted upward import (so a pass means something)."""
    g = _graph()
    g.add_edge("gis_service.stores.base", "gis_service.services.container")
    assert any(len(c) > 1 for c in nx.strongly_connected_components(g))
    assert _layer("gis_service.stores.base") < _layer("gis_service.services.container")
