"""A picture of an answer's evidence: the cited entities, the relationships between them and the neighbours
that linked them (or, for a global answer, the cited communities and their top entities), as PNG or SVG.

evidence.py decides what to draw, gather.py reads it from the store, labels.py makes document text safe to
draw, scene.py chooses what fits and lays it out, png.py and svg.py draw. Everything but gather.py is pure.
"""
