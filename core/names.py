"""Names for runs started without one, W&B style: ``adjective-noun-N``, N counting the project's runs.

>>> run_name(7, random.Random(0)).endswith("-7")
True
"""

from __future__ import annotations

import random

ADJECTIVES = (
    "amber", "brave", "bright", "calm", "clever", "cosmic", "crisp", "daring", "dusty", "eager",
    "fancy", "fluent", "gentle", "golden", "happy", "hidden", "icy", "jolly", "keen", "lively",
    "lucky", "misty", "noble", "olive", "proud", "quiet", "rapid", "royal", "rustic", "silent",
    "silver", "smooth", "snowy", "solar", "steady", "swift", "tidy", "vivid", "warm", "wild",
)
NOUNS = (
    "aurora", "badger", "breeze", "canyon", "cedar", "comet", "dawn", "delta", "dune", "falcon",
    "fern", "field", "forest", "galaxy", "glade", "harbor", "heron", "island", "lake", "lantern",
    "meadow", "moon", "mountain", "nebula", "ocean", "otter", "pine", "planet", "river", "sky",
    "sparrow", "spring", "star", "stone", "sun", "thunder", "tide", "valley", "wave", "willow",
)


def run_name(number: int, rng: random.Random | None = None) -> str:
    """``adjective-noun-number``: readable, and unique in a project when ``number`` counts its runs."""
    rng = rng or random.Random()
    return f"{rng.choice(ADJECTIVES)}-{rng.choice(NOUNS)}-{number}"
