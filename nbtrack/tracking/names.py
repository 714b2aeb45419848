"""Random run names in MLflow's ``adjective-noun-NNN`` style."""

from __future__ import annotations

import random

_ADJECTIVES = ["able", "amazing", "bold", "brave", "bright", "calm", "capable", "carefree", "casual", "clean", "clever", "colorful", "crisp", "curious", "dapper", "defiant", "delicate", "dashing", "eager", "enchanting", "fearless", "fun", "gentle", "glamorous", "gregarious", "handsome", "honorable", "illustrious", "industrious", "judicious", "kindly", "languid", "likeable", "luminous", "masked", "merciful", "nebulous", "omniscient", "orderly", "polite", "powerful", "rare", "redolent", "resilient", "rogue", "rumbling", "salty", "secretive", "selective", "serious", "shivering", "skillful", "sneaky", "spiffy", "stylish", "suave", "thoughtful", "trusting", "unequaled", "upbeat", "useful", "valuable", "victorious", "vaunted", "welcoming", "wise"]
_NOUNS = ["ant", "ape", "asp", "auk", "bass", "bat", "bear", "bee", "bird", "boar", "bug", "calf", "carp", "cat", "chimp", "cod", "colt", "conch", "cow", "crab", "crane", "croc", "crow", "cub", "deer", "doe", "dog", "dolphin", "donkey", "dove", "duck", "eel", "elk", "finch", "fish", "flea", "fly", "foal", "fowl", "fox", "frog", "gnat", "gnu", "goat", "goose", "grouse", "grub", "gull", "hare", "hawk", "hen", "hog", "horse", "hound", "jay", "kit", "kite", "koi", "lamb", "lark", "loon", "lynx", "mare", "midge", "mink", "mole", "moose", "moth", "mouse", "mule", "newt", "owl", "ox", "panda", "penguin", "perch", "pig", "pug", "quail", "ram", "rat", "ray", "robin", "roo", "rook", "seal", "shad", "shark", "sheep", "shrew", "skink", "slug", "snail", "snake", "sow", "squid", "stag", "steed", "stoat", "stork", "swan", "tern", "toad", "trout", "turtle", "vole", "wasp", "whale", "wolf", "worm", "wren", "yak", "zebra"]


def random_name() -> str:
    return f"{random.choice(_ADJECTIVES)}-{random.choice(_NOUNS)}-{random.randint(0, 999)}"
