"""The word lists of the offline extractor: they stand in for a grammar, so they are small and generic
(nothing in them is about a particular corpus). The stop words it shares with the rest of kgbot are in
kg/text/stopwords.py.
"""

from __future__ import annotations

from kg.text.stopwords import words

# Words about the document rather than its subject ("Figure 2", "Table 1", "Chapter IV"): never entities.
STRUCTURE_WORDS = words("""
    figure figures fig table tables section sections chapter chapters page pages appendix equation equations eq
    footnote footnotes illustration illustrations contents preface abstract introduction conclusion conclusions
    references reference acknowledgements acknowledgments bibliography note notes row rows column columns
    line lines paragraph volume vol pp ibid cf
""")

# Nouns too vague, and adjectives too common, to stand alone as an entity. They may still be part of a
# longer phrase ("training time", "old man").
COMMON_ADJECTIVES = words(
    "good bad great little old young new small large big long short high low full poor dear"
)
VAGUE_WORDS = COMMON_ADJECTIVES | words("""
    thing things way ways part parts case cases fact facts number numbers kind kinds sort sorts time times
    place places end side sides use order terms term example examples result results work works form forms
    point points deal sense matter course reason reasons manner lot set sets amount amounts type types
    instance instances aspect aspects effect effects other others rest bit piece pieces hand hands head eyes
    face man woman people person day days night year years moment minute minutes hour hours
    value values position positions level levels size sizes length lengths input inputs output outputs step
    steps stage stages role roles area areas problem problems issue issues change changes model models system
    systems method methods approach approaches technique techniques
""")

# "-ly" words that are nouns, not adverbs.
LY_NOUNS = words("family assembly supply reply anomaly monopoly butterfly holly folly ally rally jelly belly")

# A small list of common given names: one of them in a capitalised phrase makes it a PERSON.
FIRST_NAMES = words("""
    adam alan albert alex alexander alice amy andrew ann anna anne anthony arthur ben benjamin bill bob
    catherine charles charlie charlotte chris christopher daniel david dick donald edward eliza elizabeth emily
    emma eric fanny frank fred frederick george grace hannah harry helen henry jack jacob james jane jennifer
    jim joe john jonathan joseph julia kate laura lucy margaret maria mark martha mary matthew michael nancy
    oliver paul peter philip rachel richard robert rose ruth sam samuel sarah sophie susan thomas tim tom
    victoria walter william
""")

SPEECH_VERBS = words("""
    said says cried replied returned asked exclaimed answered whispered muttered growled observed added
    continued rejoined shouted remarked thought
""")

ORG_WORDS = words("""
    university universities institute institution company corporation corp inc ltd llc plc bank society
    association council committee department ministry agency foundation laboratory laboratories lab labs
    group school college church club team research press publishers authority
""")
GEO_WORDS = words("""
    street road lane avenue square river lake mountain mount island city county kingdom republic ocean sea
    bay valley hill park bridge town village country province state states
""")
EVENT_WORDS = words("conference workshop symposium summit war festival olympics eve day")

CONNECTORS = words("of de da del della di du van von der den la le")  # inside names: "Bank of England"
DETERMINERS = words("the a an this these that those our its their his her my your each every all some any no")
# After these a run of words starts with a verb or a participle: "to draw ...", "was carried home".
VERB_CUES = words("""
    to we they i you he she it can could will would should must may might shall not is are was were be been
    being has have had
""")
PREPOSITIONS = words(
    "of in on at with for from by into through over under about between among within without via"
)
