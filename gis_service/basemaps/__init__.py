"""Basemaps as data: a local MBTiles/PMTiles file served by the service (:mod:`.archive`), Tianditu's WMTS URL
templates (:mod:`.tianditu`) and the list of basemaps offered to the viewer, the maps and the reports with their
attribution and map-review number (审图号) (:mod:`.offers`)."""
