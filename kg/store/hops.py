"""Two-hop passages, one definition for both stores (entity -> relationship -> entity -> passage).

The passage-entity graph of kg.search.passages reaches a passage through an entity it names; a multi-hop
question's next passage often names neither the question's entities nor those of its top passages, only
an entity related to them (the graph's relationships). Local search's second read (`GraphRead.hop_limit`)
returns those passages, so they cost no further round trip:
- the seeds are `GraphRead.hop_titles`, but for those of degree above MAX_HOP_SEED_DEGREE: a hub's
  neighbours are many and say little about the question, and walking them is what costs (HotpotQA's
  'American', 645 relationships: 9 ms of SQLite for one question);
- their neighbours are the other ends of those relationships (not seeds themselves), each linked to
  `links` distinct seeds;
- a neighbour whose list of passages is longer than MAX_HOP_ENTITY_PASSAGES is skipped (it says little about
  any one of them, and expanding the lists of common neighbours is what costs);
- a passage scores the sum, over the neighbours it is a passage of, of links / the neighbour's passages (one
  step of spreading activation, as kg.search.passages spreads the question's seeds), rounded to
  SCORE_DIGITS decimals so that both stores order equal scores the same way (by short id) whatever order
  they add in.
"""

from __future__ import annotations

MAX_HOP_ENTITY_PASSAGES = 30
MAX_HOP_SEED_DEGREE = 100
SCORE_DIGITS = 9
