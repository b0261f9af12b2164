"""Printable PDF reports of the analyses (siting, exposure, rescue).

``labels`` — the Chinese/English label catalogue of verdicts, outcomes, rules' fields and levels
(also served to the viewer in /viewer/config.json); ``mapimage`` — an offline map image of a result
drawn with matplotlib from the result and the project's own layers (no tiles); ``pdf`` — the PDF
writer (reportlab, CJK TrueType font embedded); ``content`` — one report per analysis.
"""
