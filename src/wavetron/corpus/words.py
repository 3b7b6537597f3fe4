"""Word lists of the sentence grammar, by role. Every word is in the CMU pronouncing dictionary
(a test checks it), so espeak-ng and the phoneme coverage both know how to say it.

Kept as whitespace-separated strings: short to read, and easy to extend.
"""
from __future__ import annotations


def _split(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# Who can do things (subjects) and what things are done to (objects); both serve as nouns.
ANIMATE = _split("""
    teacher doctor lawyer farmer painter sailor soldier student nurse pirate queen knight
    wizard shepherd nephew engineer chemist horse rabbit giraffe leopard lion monkey owl
    parrot spider squirrel tiger turtle zebra dolphin lobster dragon
""")

THINGS = _split("""
    apple garden window river mountain letter kitchen village bottle pencil engine blanket
    castle basket island ladder candle wagon museum jacket violin compass bridge tunnel
    forest meadow lantern pillow hammer mirror carpet clock camera coat cottage desert
    feather fountain guitar helmet jungle kettle lemon magnet orange planet pumpkin puzzle
    rocket saddle scarf shovel statue tulip tower trumpet umbrella valley wallet whistle
    anchor badge bench biscuit blossom boulder cabin canvas chimney cushion envelope fence
    hedge insect jewel marble oyster peach pebble pudding quilt ribbon sponge voyage walnut
    yacht journal orchestra telescope volcano treasure
""")

NOUNS = ANIMATE + THINGS

ADJECTIVES = _split("""
    old young quiet bright heavy narrow gentle clever yellow purple golden frozen wooden
    ancient modern curious careful honest noisy polite rough smooth sharp shiny sleepy
    strange sudden tiny enormous fragile hungry lazy lucky lonely muddy proud rapid rusty
    silver sticky stubborn tidy warm wild wise brave calm cheerful crooked dusty eager
    famous fancy fierce foolish fresh graceful grumpy handsome hollow humble jolly juicy
    loyal mighty mysterious nervous patient peaceful precious royal scary shallow thirsty
    thoughtful usual valuable vivid weary wicked zealous
""")

# (base form, past tense) of transitive verbs.
VERBS = tuple(tuple(pair.split("/")) for pair in _split("""
    carry/carried open/opened close/closed paint/painted watch/watched bring/brought
    build/built catch/caught choose/chose draw/drew find/found hold/held keep/kept
    leave/left lose/lost meet/met pull/pulled push/pushed read/read sell/sold send/sent
    throw/threw wash/washed fix/fixed borrow/borrowed follow/followed gather/gathered
    polish/polished repair/repaired measure/measured visit/visited deliver/delivered
    examine/examined forget/forgot hide/hid lift/lifted notice/noticed protect/protected
    question/questioned rescue/rescued shake/shook steal/stole taste/tasted touch/touched
    weigh/weighed wrap/wrapped describe/described imagine/imagined decorate/decorated
    judge/judged chase/chased feed/fed
"""))

ADVERBS = _split("""
    quickly slowly quietly loudly carefully happily suddenly gently proudly angrily
    eagerly bravely calmly rarely usually yesterday tonight outside everywhere nearby
    smoothly politely honestly warmly boldly
""")

PREPOSITIONS = _split("near behind beside under above inside across beyond through toward into along")

FIRST_NAMES = _split("""
    Anna Oliver Maria James Sofia Lucas Emma Noah Olivia Henry Grace Samuel Chloe Daniel
    Isabel Thomas Ruby George Alice Victor Nora Peter Julia Martin Helen Arthur Clara Oscar
    Rachel Joseph Laura Kevin Sarah Michael Hannah Edward Zoe Patrick Vivian Walter
""")

SURNAMES = _split("""
    Smith Johnson Brown Taylor Miller Wilson Moore Clark Lewis Walker Young King Wright
    Hughes Green Baker Adams Nelson Carter Mitchell Roberts Turner Phillips Campbell Parker
    Evans Edwards Collins Stewart Morris Murphy Cook Rogers Morgan Cooper Peterson Bailey
""")

TITLES = _split("Dr. Mr. Mrs. Ms.")

CITIES = _split("""
    Boston Chicago Denver Dallas Seattle Houston Atlanta Phoenix Miami Portland London Paris
    Berlin Madrid Dublin Vienna Prague Lisbon Tokyo Sydney Toronto Chester Oxford Cairo
""")

MONTHS = _split("January February March April May June July August September October November December")

WEEKDAYS = _split("Monday Tuesday Wednesday Thursday Friday Saturday Sunday")

EVENTS = _split("meeting concert wedding lecture festival party interview rehearsal auction ceremony")

VEHICLES = _split("train bus ferry flight coach")

INTERJECTIONS = _split("Wow Oh Hey Look Goodness Hooray Alas Ouch")

CONJUNCTIONS = (", and", ", but", " because", " while", " although", ", so", " before", " after", " until")


# The "everyday" style's words (sentences.py): the pronouns, function words and common nouns and verbs of
# ordinary read text, which the grammar above never says.
SUBJECTS = _split("I you he she we they")
OBJECTS = _split("me you him her us them")
POSSESSIVES = _split("my your his her our their")
MODALS = _split("can could should would will might must")

HOUSEHOLD = _split("""
    coffee bread water table chair door key phone book car road street house room floor wall box bag cup
    plate bowl glass shirt shoe hat paper picture song story dinner lunch breakfast school office shop
    station hospital library park beach hill lake sea sky rain snow wind storm ticket map list message
    answer problem idea plan job team game class friend family mother father brother sister uncle aunt
    child neighbor driver pilot waiter manager keys radio sandwich soup cheese milk sugar salt towel
    drawer shelf stairs yard truck boat bicycle newspaper dress sweater coin stamp gift bill
""")

PEOPLE = _split("mother father brother sister uncle aunt neighbor friend teacher doctor driver pilot waiter manager")

# (base, past) of verbs taking an object, and of verbs without one.
EVERYDAY_VERBS = VERBS + tuple(tuple(pair.split("/")) for pair in _split("""
    make/made take/took give/gave put/put buy/bought cook/cooked clean/cleaned drop/dropped order/ordered
    pack/packed plant/planted pour/poured hang/hung fold/folded check/checked finish/finished move/moved
    call/called answer/answered sign/signed fill/filled count/counted heat/heated bake/baked mend/mended
    show/showed teach/taught tell/told ask/asked help/helped need/needed want/wanted like/liked
"""))
INTRANSITIVE = tuple(tuple(pair.split("/")) for pair in _split("""
    arrive/arrived laugh/laughed smile/smiled wait/waited sleep/slept walk/walked run/ran swim/swam
    sing/sang listen/listened agree/agreed stay/stayed rest/rested work/worked travel/traveled
    return/returned begin/began cry/cried dance/danced shout/shouted knock/knocked
"""))

EVERYDAY_PREPOSITIONS = _split("on in at with without for from over under behind near after before around against")

TIMES = ("this morning", "last night", "every day", "on Sunday", "after dinner", "before lunch",
         "in the evening", "at noon", "next week", "all afternoon", "for an hour", "twice a week",
         "yesterday", "tomorrow", "last summer", "in the spring", "early today", "late at night")


def vocabulary() -> frozenset[str]:
    """Every word the grammar can use, lower-cased, plural nouns and both verb forms included."""
    words: set[str] = set()
    for group in (NOUNS, ADJECTIVES, ADVERBS, PREPOSITIONS, FIRST_NAMES, SURNAMES, TITLES, CITIES, MONTHS,
                  WEEKDAYS, EVENTS, VEHICLES, INTERJECTIONS):
        words.update(word.lower() for word in group)
    words.update(plural(noun) for noun in NOUNS)
    words.update(form for pair in VERBS for form in pair)
    words.update(word for conjunction in CONJUNCTIONS for word in conjunction.strip(", ").split())
    # The fixed words of the sentence frames.
    words.update("""a an the this that my our your their is are was were did why would where have you ever
        seen can it before how many what look at there counted in about percent of weighed pounds year
        cost market paid for too much moved to on born by had changed completely leaves up and meet me
        or later drove from told ask woke""".split())
    return frozenset(words)


def everyday_vocabulary() -> frozenset[str]:
    """Every word the everyday style can use: the grammar's and its own."""
    words = set(vocabulary())
    for group in (SUBJECTS, OBJECTS, POSSESSIVES, MODALS, HOUSEHOLD, PEOPLE, EVERYDAY_PREPOSITIONS):
        words.update(word.lower() for word in group)
    words.update(plural(noun) for noun in HOUSEHOLD if not noun.endswith("s"))
    words.update(form for pairs in (EVERYDAY_VERBS, INTRANSITIVE) for pair in pairs for form in pair)
    words.update(word for phrase in TIMES for word in phrase.lower().split())
    words.update("""said that when as soon if please don't forget remember to there were some so
        then not no be been has just still again always never often because while with it its""".split())
    return frozenset(words)


def plural(noun: str) -> str:
    """English plural by the regular rules (the noun lists avoid irregular nouns)."""
    if noun.endswith(("s", "x", "z", "ch", "sh")):
        return noun + "es"
    if noun.endswith("y") and noun[-2] not in "aeiou":
        return noun[:-1] + "ies"
    if noun.endswith("f") and not noun.endswith("ff"):
        return noun[:-1] + "ves"
    if noun.endswith("fe") and not noun.endswith("ffe"):
        return noun[:-2] + "ves"
    return noun + "s"


def ordinal_suffix(number: int) -> str:
    """``21`` -> ``"21st"``; ``12`` -> ``"12th"``."""
    if 10 <= number % 100 <= 20:
        return f"{number}th"
    return f"{number}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(number % 10, 'th')}"
