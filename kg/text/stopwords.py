"""Every stop-word list of kgbot, built from one base list of English function words.

Each use needs a different cut, and each cut is kept exactly as it was measured, because these lists decide
rankings and stored keys: the full-text query words of both stores (which must stay alike), the content terms
the extractive answerer and the router score on, the words a name never starts or ends with (they shape the
link keys stored for every entity), and the words that end a key phrase in the offline extractor.
"""

from __future__ import annotations


def words(text: str) -> frozenset[str]:
    """The whitespace-separated words of `text`, as a set: how the lists below are written."""
    return frozenset(text.split())


# English function words: pronouns, determiners, auxiliaries, conjunctions, prepositions, common adverbs.
FUNCTION_WORDS = words("""
    a about above after again against all am an and any are as at be because been before being below between
    both but by can could did do does doing down during each few for from further had has have having he her
    here hers herself him himself his how i if in into is it its itself just me more most my myself no nor
    not now of off on once only or other our ours ourselves out over own same she should so some such than
    that the their theirs them themselves then there these they this those through to too under until up
    very was we were what when where which while who whom why will with would you your yours yourself
    yourselves
""")
# Words asking for an answer rather than naming its subject ("tell me about ...").
REQUEST_WORDS = words("tell explain describe")

# Full-text queries, in both stores: what matches most rows and means nothing for a lookup.
QUERY_STOP_WORDS = FUNCTION_WORDS | REQUEST_WORDS

# Content terms (the extractive answerer, routing, global search relevance). Negations, quantifiers and
# prepositions stay content here ("not", "between", "more" tell sentences apart); the verbs of a question
# ("how does X work", "what is X used for") do not.
_CONTENT_KEPT = words("""
    above after again against all am any because been before being below between both but doing down during
    each few further having here herself himself itself just more most myself no nor not now off once only
    other ours ourselves out over own same should some such theirs themselves those through too under until
    up very while whom yours yourself yourselves
""")
CONTENT_STOP_WORDS = (
    (FUNCTION_WORDS - _CONTENT_KEPT) | REQUEST_WORDS | words("give many mean much use used using work works")
)

# Words a name linked in a question never starts or ends with, and that its initials skip
# ("Attention Deficit Hyperactivity Disorder" -> "ADHD").
NAME_BOUNDARY_WORDS = words("""
    a an and as at by for from in into is are was were of on or the to with without what which who whom
    whose when where why how did does do that this these those it its be been has have had
""")

# Words that end a key phrase of the offline extractor and are never entities, capitalised or not: the
# function words and, beyond them, pronouns, very common verbs and adverbs, number words and interjections.
PHRASE_STOP_WORDS = FUNCTION_WORDS | words("""
    across afterwards ago ah al almost alone along already also although always among amongst another anyone
    anything anywhere around away aye became become becomes beforehand behind beside besides beyond cannot
    done due eg e.g either else elsewhere enough especially et etc even ever every everyone everything
    everywhere except former formerly furthermore hallo halloa hello hence hereby herein however ie i.e
    indeed instead last latter latterly least less like likewise ll lot lots may meanwhile might mine
    moreover mostly much must namely nay neither never nevertheless next nobody none noone nothing nowhere o
    oft often oh one ones onto others otherwise ought per perhaps quite rather re sha shall since somebody
    someone something sometime sometimes somewhat somewhere still thence thereafter thereby therefore
    therein thereupon though throughout thus till together toward towards unless unlike upon us via vs well
    whatever whence whenever whereas whereby wherein whether whilst whither whoever whole whose within
    without yes yet two three four five six seven eight nine ten eleven twelve twenty thirty forty fifty
    hundred hundreds thousand thousands million millions billion first second third fourth fifth many
    several various different similar certain specific particular respective corresponding given entire main
    certainly sure surely really simply merely twice thrice ha hey hem alas bah pooh say says said saying
    tell tells told ask asks asked make makes made making use uses used using get gets got getting go goes
    going gone went come comes came coming take takes took taken give gives gave given see sees saw seen
    know knows knew known think thinks thought look looks looked looking find finds found want wants wanted
    seem seems seemed feel feels felt try tries tried leave leaves left call calls called keep keeps kept
    let lets put puts mean means meant become becoming began begin begins begun show shows showed shown
    allow allows allowed require requires required propose proposes proposed achieve achieves achieved
    perform performs performed apply applies applied consider considers considered include includes included
    including contain contains contained consist consists consisted describe describes described follow
    follows followed following obtain obtains obtained yield yields yielded reach reaches reached remain
    remains remained provide provides provided compute computes computed produce produces produced represent
    represents represented cried replied returned exclaimed answered whispered muttered growled grew stood
    sat ran fell held brought bought caught taught spoke wrote rose drew threw lay laid led met paid sent
    spent struck stuck swept wore won woke broke chose drove ate fought hung heard hid lost rode sang shook
    shone shot shut slept slid sprang stole swore swung tore understood wept observed added continued
    rejoined hath doth thou thee thy art january february march april june july august september october
    november december monday tuesday wednesday thursday friday saturday sunday today tomorrow yesterday
    tonight to-day to-morrow to-night need needs needed round back forth
""")

# Honorifics mark a person. The first group is dropped from a name's key ("Mr. Scrooge" is "Scrooge"); the
# second is kept, because in one text "Mrs. X" or "Miss X" is usually someone other than "X".
HONORIFICS_DROPPED = words("mr mister dr doctor prof professor sir")
HONORIFICS = HONORIFICS_DROPPED | words("mrs ms miss madam madame lady lord master uncle aunt captain rev")
